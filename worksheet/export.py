"""Export stage: a `Solution` in, a JSON-ready dict out.

Contract: pure. Every number is a JSON number (the nearest double); beside
each step's numbers, `exact` holds the same values as strings, "49/8" when
the solution is exact, else a decimal string of SHOWN_DIGITS significant
digits (also when exact fractions gave way to decimals after `exact_steps`
steps); no huge integer is ever turned into text. Matrices are lists of rows; with a batch, z, a and output hold one
list per sample.
"""

from __future__ import annotations

from decimal import Decimal, localcontext
from fractions import Fraction
from typing import Any

from .notation import LatexPrinter, TextPrinter
from .solve import SHOWN_DIGITS, Solution, Step, arithmetic_text


def exact_text(value: Fraction, exact: bool) -> str:
    """"49/8" for an exact value, else SHOWN_DIGITS significant digits."""
    if exact:
        return str(value)
    with localcontext() as ctx:
        ctx.prec = SHOWN_DIGITS
        return str(+(Decimal(value.numerator) / Decimal(value.denominator)))


def _map(fn, value):
    if isinstance(value, tuple):
        return [_map(fn, v) for v in value]
    return fn(value)


def _step(sol: Solution, step: Step, fn) -> dict[str, Any]:
    batched = sol.spec.batched

    def per_sample(rows):  # [sample][...] -> as is for a batch, else the one sample
        return _map(fn, rows if batched else rows[0])

    depth = len(sol.spec.layers)
    out: dict[str, Any] = {
        "params": {k: _map(fn, v) for k, v in step.params.items()},
        "forward": [
            {"layer": n + 1,
             "z": per_sample(tuple(s[n] for s in step.z)),
             "a": per_sample(tuple(s[n] for s in step.a))}
            for n in range(depth)
        ],
        "output": per_sample(step.output),
        "loss": fn(step.loss),
        "dL_dyhat": per_sample(step.dL_dyhat),
        "deltas": [
            {"layer": n + 1, "delta": per_sample(tuple(s[n] for s in step.deltas))}
            for n in range(depth - 1, -1, -1)
        ],
        "grads": {k: _map(fn, v) for k, v in step.grads.items()},
        "updated": {k: _map(fn, v) for k, v in step.updated.items()},
    }
    if sol.spec.momentum:
        out["momentum_buffer"] = {k: _map(fn, v) for k, v in step.velocity.items()}
    return out


def to_json(sol: Solution, decimals: int = 4) -> dict[str, Any]:
    printer = TextPrinter(decimals)
    der = sol.derivation
    latex = LatexPrinter(der.symbols)
    equations = der.forward + (der.loss,) + der.output_grads + der.deltas + der.grads

    def text(expr):
        return None if expr is None else printer.doprint(expr)

    steps = []
    for step in sol.steps:
        record = {"step": step.number, **_step(sol, step, float)}
        record["exact"] = _step(sol, step, lambda v: exact_text(v, sol.exact))
        record["equations"] = [
            {"name": eq.name, "numbers": printer.doprint(step.substituted[eq.name]),
             "value": float(step.values[eq.name]), "exact": exact_text(step.values[eq.name], sol.exact)}
            for eq in equations
        ]
        steps.append(record)
    return {
        "title": sol.spec.title,
        "arithmetic": "exact" if sol.exact else arithmetic_text(sol),
        # steps 1..exact_steps were exact fractions before they grew too long ("exact" strings then
        # hold SHOWN_DIGITS digits throughout, as "arithmetic" says)
        "exact_steps": sol.exact_steps,
        "conventions": list(sol.conventions),
        "derivation": [
            {"name": eq.name, "lhs": text(eq.lhs), "chain": text(eq.chain), "symbolic": text(eq.symbolic),
             "latex": " = ".join(latex.doprint(f) for f in (eq.lhs, eq.chain, eq.symbolic) if f is not None)}
            for eq in equations
        ],
        "steps": steps,
    }
