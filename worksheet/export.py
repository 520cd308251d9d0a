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
from .quantities import quantities
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


# 2: `given`, per-step `quantities` (the answers file's names), the LaTeX of every
# line; a field is only ever added within one schema version, never renamed or dropped
SCHEMA = 2


def _given(sol: Solution) -> dict[str, Any]:
    """The problem as stated: shapes, data and training, numbers as JSON numbers and exact strings."""
    spec = sol.spec

    def both(values) -> dict[str, Any]:
        return {"value": _map(float, values), "exact": _map(lambda v: exact_text(v, True), values)}

    return {
        "inputs": spec.inputs,
        "layers": [{"units": layer.units, "activation": layer.activation, "bias": layer.bias,
                    **({"slope": float(layer.slope)} if layer.activation == "leaky_relu" else {})}
                   for layer in spec.layers],
        "x": both(spec.x), "y": both(spec.y),
        "loss": spec.loss, "reduction": spec.reduction,
        "learning_rate": both(spec.learning_rate), "momentum": both(spec.momentum),
        "steps": spec.steps, "frozen": sorted(spec.frozen),
    }


def to_json(sol: Solution, decimals: int = 4) -> dict[str, Any]:
    printer = TextPrinter(decimals)
    forms = TextPrinter(decimals, fractions=True)  # a formula's constants exact: ⅓·…, never 0.3333·…
    der = sol.derivation
    latex = LatexPrinter(der.symbols)
    latex_numbers = LatexPrinter(der.symbols, decimals)
    equations = der.forward + (der.loss,) + der.output_grads + der.deltas + der.grads

    def text(expr):
        return None if expr is None else forms.doprint(expr)

    def tex(expr):
        return None if expr is None else latex.doprint(expr)

    by_step: dict[int, list] = {}
    for q in quantities(sol):
        by_step.setdefault(q.step, []).append(
            {"key": q.key, "name": q.name, "kind": q.kind, "words": q.words,
             "value": float(q.value), "exact": exact_text(q.value, sol.exact)})
    steps = []
    for step in sol.steps:
        record = {"step": step.number, **_step(sol, step, float)}
        record["exact"] = _step(sol, step, lambda v: exact_text(v, sol.exact))
        record["equations"] = [
            {"name": eq.name, "numbers": printer.doprint(step.substituted[eq.name]),
             "latex": latex_numbers.doprint(step.substituted[eq.name]),
             "value": float(step.values[eq.name]), "exact": exact_text(step.values[eq.name], sol.exact)}
            for eq in equations
        ]
        record["quantities"] = by_step[step.number]
        steps.append(record)
    return {
        "schema": SCHEMA,
        "title": sol.spec.title,
        "given": _given(sol),
        "arithmetic": "exact" if sol.exact else arithmetic_text(sol),
        # steps 1..exact_steps were exact fractions before they grew too long ("exact" strings then
        # hold SHOWN_DIGITS digits throughout, as "arithmetic" says)
        "exact_steps": sol.exact_steps,
        "conventions": list(sol.conventions),
        "derivation": [
            {"name": eq.name, "lhs": text(eq.lhs), "chain": text(eq.chain), "symbolic": text(eq.symbolic),
             "latex": " = ".join(latex.doprint(f) for f in (eq.lhs, eq.chain, eq.symbolic) if f is not None),
             "latex_lhs": tex(eq.lhs), "latex_chain": tex(eq.chain), "latex_symbolic": tex(eq.symbolic),
             "note": eq.note or None}
            for eq in equations
        ],
        "steps": steps,
    }
