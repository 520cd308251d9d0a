"""Solve stage: a `Spec` in, the frozen record of every hand-calculation step out.

Contract: `solve(spec)` is pure (no files, no printing). For each SGD step it
records the parameters before the step, every z and a per sample, the loss,
∂L/∂ŷ, the backward deltas, every trainable parameter's gradient, the
momentum buffer and the updated parameters; and for every equation of the
`Derivation` the form with this step's numbers substituted, not multiplied
out. All of a step's gradients use that step's old parameters (simultaneous
update, as PyTorch's SGD), and ReLU′(0) = 0 as in PyTorch.

Numbers are `Fraction`s throughout. They are exact when the problem's
arithmetic is rational (piecewise-linear activations and a squared-error
loss) and every numerator and denominator of a step stays within
`MAX_EXACT_DIGITS`; from the first step where one would not, that step and
the rest are computed as an irrational problem's are (`exact_steps` says how
many steps were exact). Those are computed with `WORKING_DIGITS` significant
decimal digits and are correct to at least `SHOWN_DIGITS`; the Fraction is
then the exact binary value of the high-precision result. In both paths a
value beyond `MAX_VALUE` in size (or, nonzero, below 2^−`MAX_MAGNITUDE_BITS`)
stops the solve with a `SolveError`: no huge number reaches a printer.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from fractions import Fraction
from types import MappingProxyType

import mpmath
import sympy as sp

from .derive import Derivation, derive, loss_scale
from .notation import DERIVATIVE_FN, fraction_text, given_text, number_value
from .spec import Spec

WORKING_DIGITS = 60
SHOWN_DIGITS = 30

# group name -> rows of a weight matrix, or a bias vector
Params = Mapping[str, tuple]


@dataclass(frozen=True)
class Step:
    number: int  # from 1
    params: Params  # before this step's update
    z: tuple  # [sample][layer][unit]
    a: tuple  # [sample][layer][unit]; the last layer is ŷ
    loss: Fraction
    dL_dyhat: tuple  # [sample][output]
    deltas: tuple  # [sample][layer][unit], δ = ∂L/∂z
    grads: Params  # trainable groups only
    velocity: Params  # what the update multiplies by the learning rate (= grads without momentum)
    updated: Params
    values: Mapping[str, Fraction]  # every equation's value, by its stable name
    substituted: Mapping[str, sp.Expr]  # every equation with this step's numbers, by name

    @property
    def output(self) -> tuple:
        return tuple(sample[-1] for sample in self.a)


@dataclass(frozen=True)
class Solution:
    spec: Spec
    derivation: Derivation
    steps: tuple[Step, ...]
    exact: bool  # False: values correct to SHOWN_DIGITS significant digits
    conventions: tuple[str, ...]
    # steps 1..exact_steps hold exact fractions; with exact False and exact_steps > 0, the
    # fractions grew too long after them and the rest are SHOWN_DIGITS decimals
    exact_steps: int = 0

    @property
    def final(self) -> Params:
        return self.steps[-1].updated


def solve(spec: Spec) -> Solution:
    """Every step's numbers; raises SolveError when they leave what a worksheet can hold."""
    derivation = derive(spec)
    params = _initial_params(spec)
    buffers: dict[str, tuple] = {}
    steps = []
    exact_steps = 0
    for number in range(1, spec.steps + 1):
        numbers = None
        if spec.exact and exact_steps == number - 1:
            try:
                numbers, arith = _numbers(spec, params, buffers), _Exact()
                exact_steps = number
            except _TooLong:  # exact fractions grow ~5-fold in digits a step; past this, decimals
                numbers = None
            except _OutOfRange as exc:
                raise _diverges(number, exc) from None
        if numbers is None:
            numbers, arith = _checked_numbers(spec, params, buffers, number), _HighPrecision()
        if spec.loss == "bce":
            _check_bce(numbers, number)
        step = _step(spec, derivation, arith, params, numbers, number)
        steps.append(step)
        params = dict(step.updated)
        buffers = dict(step.velocity) if spec.momentum else {}
    exact = exact_steps == spec.steps
    return Solution(spec, derivation, tuple(steps), exact, conventions(spec, exact_steps=exact_steps), exact_steps)


def arithmetic_text(sol: Solution) -> str:
    """The arithmetic a solution's numbers come from, in words, for every face of it."""
    if sol.exact:
        return "exact fractions"
    if not sol.exact_steps:
        return f"{SHOWN_DIGITS} significant digits"
    steps = "step 1" if sol.exact_steps == 1 else f"steps 1 to {sol.exact_steps}"
    return (f"exact fractions in {steps}, then {SHOWN_DIGITS} significant digits (from step "
            f"{sol.exact_steps + 1} on the fractions would run past {MAX_EXACT_DIGITS} digits)")


def conventions(spec: Spec, notation: bool = True, exact_steps: int | None = None,
                rules: bool = True) -> tuple[str, ...]:
    """The conventions that change the numbers; with `notation`, also what the
    symbols mean (a rendered worksheet has its own notation section); without
    `rules`, the optimiser is named but its update rule left to the student
    (a sheet with its formulas hidden).
    `exact_steps` below spec.steps: the exact fractions gave way to decimals after it."""
    scale = loss_scale(spec)
    loss_text = {
        "half_sse": "L = ½·Σ(ŷ − y)², half the sum of squared errors",
        "sse": "L = Σ(ŷ − y)², the sum of squared errors",
        "mse": "L = mean of (ŷ − y)² over every output of every sample (PyTorch's MSELoss)",
        "bce": "L = −mean of y·log ŷ + (1 − y)·log(1 − ŷ) over every output (PyTorch's BCELoss)",
        "cross_entropy": "L = −Σ y·log ŷ per sample, with ŷ = softmax(z) (PyTorch's CrossEntropyLoss)",
    }[spec.loss]
    lines = [
        loss_text,
        f"Over the {len(spec.x)} samples the loss is reduced by {spec.reduction} ("
        + (f"factor {fraction_text(scale)} in front of the sum)." if scale != 1 else "no factor in front of it).")
        if len(spec.x) > 1 or spec.reduction == "mean" and spec.loss in ("half_sse", "sse") else "",
        _kinks(spec),
        "Simultaneous update: every gradient of a step uses that step's old parameters, as PyTorch's SGD.",
    ]
    if notation:
        lines += [
            "w^(l)_ij connects input j of layer l to its unit i (PyTorch's weight[i][j]).",
            "δ^(l)_i = ∂L/∂z^(l)_i, carried backwards from the output layer.",
        ]
    mu = given_text(spec.momentum, 12)
    if spec.momentum and rules:
        lines.append(f"SGD with momentum μ = {mu} (PyTorch's): v = g on the first step, v = μ·v + g after; "
                     "p ← p − η·v.")
    elif spec.momentum:  # which momentum is a convention the student cannot derive: said without its formula
        lines.append(f"SGD with momentum μ = {mu}, as PyTorch's optim.SGD: its first step's velocity is the "
                     "gradient itself.")
    else:
        lines.append("SGD: p ← p − η·∂L/∂p." if rules else "Plain SGD (no momentum), as PyTorch's optim.SGD.")
    if spec.frozen:
        lines.append(f"Frozen (not updated): {', '.join(sorted(spec.frozen))}.")
    if not spec.exact:
        lines.append(
            f"Values are irrational: computed with at least {WORKING_DIGITS} working digits, "
            f"and checked at twice as many, correct to {SHOWN_DIGITS} significant digits."
        )
    elif exact_steps is not None and exact_steps < spec.steps:
        lines.append(
            f"Exact fractions for {'step 1' if exact_steps == 1 else f'steps 1 to {exact_steps}'}; from step "
            f"{exact_steps + 1} on they would run past {MAX_EXACT_DIGITS} digits, so the values are computed "
            f"with at least {WORKING_DIGITS} working digits, checked at twice as many, correct to "
            f"{SHOWN_DIGITS} significant digits."
        )
    return tuple(line for line in lines if line)


def _kinks(spec: Spec) -> str:
    """What ReLU and LeakyReLU are at 0, and the leaky slope itself, which the homework sets: "" without them."""
    leaky = {n: layer.slope for n, layer in enumerate(spec.layers, start=1) if layer.activation == "leaky_relu"}
    parts = ["ReLU′(0) = 0"] if any(layer.activation == "relu" for layer in spec.layers) else []
    if len(set(leaky.values())) == 1:
        slope = given_text(next(iter(leaky.values())), 12)
        parts.append(f"LReLU(z) = z for z > 0 and {slope}·z otherwise (LeakyReLU, slope {slope}), "
                     f"so LReLU′(0) = {slope}")
    elif leaky:
        slopes = ", ".join(f"{given_text(s, 12)} in layer {n}" for n, s in leaky.items())
        parts.append(f"LReLU(z) = z for z > 0 and slope·z otherwise (LeakyReLU; slope {slopes}), "
                     "so LReLU′(0) = slope")
    return "; ".join(parts) + ", as in PyTorch." if parts else ""


def _initial_params(spec: Spec) -> dict[str, tuple]:
    params: dict[str, tuple] = {}
    for n, (W, b) in enumerate(zip(spec.weights, spec.biases), start=1):
        params[f"W{n}"] = W
        if b is not None:
            params[f"b{n}"] = b
    return params


# Exact fractions are kept while every numerator and denominator of a step has at most this
# many digits: past it nobody reads them, and they grow about 5-fold in digits a step
# (weights 0.37: 4300 digits by step 5, where int -> str conversion refuses).
MAX_EXACT_DIGITS = 100
_MAX_EXACT_BITS = int(MAX_EXACT_DIGITS * 3.3219280948873626)  # log2(10)
# The one bound on a computed value's size, in both arithmetic paths: float32's range (trace
# and the PyTorch script run in float32), and within round_half_up's 80 digits with 30 decimals.
MAX_VALUE = Fraction(10**38)


class _TooLong(ArithmeticError):
    """An exact fraction past MAX_EXACT_DIGITS: the step is redone in decimals."""


class _Exact:
    """Rational arithmetic on Fractions; only piecewise-linear functions occur."""

    def lift(self, q: Fraction):
        return q

    def lower(self, v) -> Fraction:
        if abs(v) > MAX_VALUE:
            raise _OutOfRange(_size(v))
        if v.numerator.bit_length() > _MAX_EXACT_BITS or v.denominator.bit_length() > _MAX_EXACT_BITS:
            raise _TooLong()
        return v

    def sympy(self, q: Fraction) -> sp.Expr:
        return sp.Rational(q.numerator, q.denominator)


class _PrecisionLost(ArithmeticError):
    """A value is not finite, or a division by zero, at the working precision in force."""


# nonzero values below 2^-1000, about 10^-301, are refused: float64 cannot hold them, and the
# Fraction of such an mpf (2**exp) would take minutes and gigabytes when a run diverges
MAX_MAGNITUDE_BITS = 1000


class _OutOfRange(ArithmeticError):
    """A value beyond MAX_VALUE or a nonzero one below 2^-MAX_MAGNITUDE_BITS: the training
    diverges, or a unit saturates completely."""


def _size(v) -> str:
    """A huge or tiny value's size in a few digits, without converting a huge integer to text."""
    with mpmath.workdps(15):
        q = mpmath.mpf(v.numerator) / v.denominator if isinstance(v, Fraction) else mpmath.mpf(v)
        return mpmath.nstr(q, 3)


def _diverges(number: int, exc: _OutOfRange) -> SolveError:
    return SolveError(
        f"step {number}: a value reaches {exc}, beyond what a worksheet holds (sizes up to 1e38, "
        "float32's range, and nonzero ones above 1e-300): the training diverges or a sigmoid or tanh is "
        "saturated (its z is far from 0); lower the learning rate or scale the inputs or initial weights down")


@dataclass(frozen=True)
class _Numbers:
    """One step's numbers, as Fractions; nested [sample][layer][unit] where it applies."""

    z: tuple
    a: tuple
    dy: tuple  # ∂L/∂ŷ, [sample][output]
    delta: tuple
    derivs: tuple  # ∂a/∂z of elementwise activations; None for a softmax layer
    loss: Fraction
    grads: dict
    velocity: dict
    updated: dict


class _HighPrecision:
    """mpmath at the working precision in force; results lowered to exact Fractions."""

    def lift(self, q: Fraction):
        return mpmath.mpf(q.numerator) / q.denominator

    def lower(self, v) -> Fraction:
        v = mpmath.mpf(v)
        if not mpmath.isfinite(v):
            raise _PrecisionLost(str(v))
        man, exp = v.man_exp  # the magnitude's; the sign is apart
        if man and abs(exp + man.bit_length()) > MAX_MAGNITUDE_BITS:
            # before the Fraction: 2**exp for a diverging run (σ(−10⁶)) would take minutes and gigabytes
            raise _OutOfRange(mpmath.nstr(v, 3))
        q = (-1 if v < 0 else 1) * Fraction(man) * Fraction(2) ** exp
        if abs(q) > MAX_VALUE:
            raise _OutOfRange(mpmath.nstr(v, 3))
        return q

    def sympy(self, q: Fraction) -> sp.Expr:
        return sp.Float(sp.Rational(q.numerator, q.denominator), SHOWN_DIGITS)


def _activate(kind: str, zs: list, slope):
    if kind == "identity":
        return list(zs)
    if kind == "relu":
        return [z if z > 0 else 0 * z for z in zs]
    if kind == "leaky_relu":
        return [z if z > 0 else slope * z for z in zs]
    if kind == "sigmoid":
        return [1 / (1 + mpmath.exp(-z)) for z in zs]
    if kind == "tanh":
        return [mpmath.tanh(z) for z in zs]
    top = max(zs)  # softmax, shifted so exp cannot overflow
    es = [mpmath.exp(z - top) for z in zs]
    total = sum(es)
    return [e / total for e in es]


def _derivative(kind: str, z, a, slope):
    """∂a/∂z of an elementwise activation; 0 at a ReLU's kink, as PyTorch."""
    if kind == "identity":
        return 1
    if kind == "relu":
        return 1 if z > 0 else 0
    if kind == "leaky_relu":
        return 1 if z > 0 else slope
    if kind == "sigmoid":
        return a * (1 - a)
    return 1 - a * a  # tanh


def _numbers(spec: Spec, params, buffers, arith=None) -> _Numbers:
    """One step's numbers, lowered to Fractions; exact arithmetic unless `arith` says otherwise."""
    arith = arith or _Exact()
    lift, lower = arith.lift, arith.lower
    layers, depth = spec.layers, len(spec.layers)
    W = [[[lift(v) for v in row] for row in params[f"W{n}"]] for n in range(1, depth + 1)]
    B = [[lift(v) for v in params[f"b{n}"]] if f"b{n}" in params else None for n in range(1, depth + 1)]
    slopes = [lift(layer.slope) for layer in layers]
    scale = lift(loss_scale(spec))

    zs, acts, shown_acts, dys, deltas, derivs = [], [], [], [], [], []
    total = 0
    for xs, ys in zip(spec.x, spec.y):
        a_prev = [lift(v) for v in xs]
        # The same inputs as fractions while every layer so far is piecewise linear: their z's are summed
        # exactly, since in binary working digits 0.1·0.3 − 0.03 leaves ±1e-120, not the 0 that a key shows
        # and that decides ReLU′ at its kink.
        exact_prev: list[Fraction] | None = list(xs)
        z_s, a_s, d_s, shown_a = [], [], [], []
        for n, layer in enumerate(layers):
            exact_z = None
            if exact_prev is not None:
                bias = params.get(f"b{n + 1}")
                exact = [sum((w * a for w, a in zip(row, exact_prev)), Fraction(0)) + (bias[i] if bias else 0)
                         for i, row in enumerate(params[f"W{n + 1}"])]
                z, exact_z = [lift(v) for v in exact], exact
                exact_prev = (exact if layer.activation == "identity" else
                              [v if v > 0 else 0 * v for v in exact] if layer.activation == "relu" else
                              [v if v > 0 else layer.slope * v for v in exact] if layer.activation == "leaky_relu"
                              else None)
            else:
                z = [sum((w * a for w, a in zip(row, a_prev)), 0 * a_prev[0]) for row in W[n]]
                if B[n] is not None:
                    z = [zi + bi for zi, bi in zip(z, B[n])]
            a = _activate(layer.activation, z, slopes[n])
            # shown as the fractions they are (0.05, not 0.05000 from binary working digits)
            z_s.append(exact_z if exact_z is not None else z)
            a_s.append(a)
            shown_a.append(exact_prev if exact_prev is not None else a)
            d_s.append(None if layer.activation == "softmax" else
                       [_derivative(layer.activation, zi, ai, slopes[n]) for zi, ai in zip(z, a)])
            a_prev = a
        yhat, target = a_s[-1], [lift(v) for v in ys]
        if spec.loss in ("half_sse", "sse", "mse"):
            sq = sum((p - t) * (p - t) for p, t in zip(yhat, target))
            total += sq / 2 if spec.loss == "half_sse" else sq
            dy = [scale * (p - t) * (1 if spec.loss == "half_sse" else 2) for p, t in zip(yhat, target)]
        elif spec.loss == "bce":
            total += -sum(t * mpmath.log(p) + (1 - t) * mpmath.log(1 - p) for p, t in zip(yhat, target))
            dy = [scale * (-t / p + (1 - t) / (1 - p)) for p, t in zip(yhat, target)]
        else:
            total += -sum(t * mpmath.log(p) for p, t in zip(yhat, target))
            dy = [-scale * t / p for p, t in zip(yhat, target)]
        # backward: δ of the output layer, then each hidden layer from the next one's
        delta = [None] * depth
        if layers[-1].activation == "softmax":
            delta[-1] = [sum(dy[k] * yhat[k] * ((1 if k == i else 0) - yhat[i]) for k in range(len(yhat)))
                         for i in range(len(yhat))]
        else:
            delta[-1] = [g * d for g, d in zip(dy, d_s[-1])]
        for n in range(depth - 2, -1, -1):
            nxt = W[n + 1]
            delta[n] = [sum(nxt[k][i] * delta[n + 1][k] for k in range(len(nxt))) * d_s[n][i]
                        for i in range(len(z_s[n]))]
        zs.append(z_s)
        acts.append(a_s)
        shown_acts.append(shown_a)
        dys.append(dy)
        deltas.append(delta)
        derivs.append(d_s)
    loss = scale * total

    inputs = [[lift(v) for v in xs] for xs in spec.x]
    grads, velocity, updated = {}, {}, {}
    lr, mu = lift(spec.learning_rate), lift(spec.momentum)
    for n in range(depth):
        below = [inputs[s] if n == 0 else acts[s][n - 1] for s in range(len(spec.x))]
        groups = [(f"W{n + 1}", lambda i, j: sum(deltas[s][n][i] * below[s][j] for s in range(len(below))))]
        if B[n] is not None:
            groups.append((f"b{n + 1}", lambda i, _: sum(deltas[s][n][i] for s in range(len(below)))))
        for name, grad_of in groups:
            if name in spec.frozen:
                updated[name] = params[name]
                continue
            old = params[name]
            is_matrix = name.startswith("W")
            g = [[grad_of(i, j) for j in range(len(old[0]))] if is_matrix else grad_of(i, None)
                 for i in range(len(old))]
            grads[name] = _lower_nested(g, lower)
            if name in buffers:  # PyTorch: v = μ·v + g; the first step takes v = g
                prev = buffers[name]
                v = _zip_nested(lambda p, gi: mu * lift(p) + gi, prev, g)
            else:
                v = g
            velocity[name] = _lower_nested(v, lower)
            # a parameter that does not move stays the fraction it was (in binary working digits 0.1 would
            # not, and the next step's z at a ReLU's kink would leave the kink)
            updated[name] = _lower_nested(_zip_nested(lambda p, vi: p if vi == 0 else lift(p) - lr * vi, old, v),
                                          lower)

    return _Numbers(
        z=_lower_nested(zs, lower), a=_lower_nested(shown_acts, lower), dy=_lower_nested(dys, lower),
        delta=_lower_nested(deltas, lower), derivs=_lower_nested(derivs, lower),
        loss=lower(loss), grads=grads, velocity=velocity, updated=updated,
    )


MAX_WORKING_DIGITS = 1920


class SolveError(ValueError):
    """The numbers run away from what a worksheet can hold."""


def _checked_numbers(spec: Spec, params, buffers, number: int) -> _Numbers:
    """Numbers correct to SHOWN_DIGITS: computed at d and 2d working digits and
    taken when the two agree, doubling d until they do. Saturated sigmoids
    (1 − σ(z) for large z) and other cancellations need more than WORKING_DIGITS."""
    digits, previous = WORKING_DIGITS, None
    while digits <= MAX_WORKING_DIGITS:
        with mpmath.workdps(digits):
            try:
                current = _numbers(spec, params, buffers, _HighPrecision())
            except (ZeroDivisionError, _PrecisionLost):  # 1 − σ(z) rounded to 0 here
                current = None
            except _OutOfRange as exc:
                raise _diverges(number, exc) from None
        if current is not None and previous is not None and _agree(previous, current, digits // 2):
            return current
        previous, digits = current, digits * 2
    raise SolveError(
        f"step {number}: the values cannot be computed to {SHOWN_DIGITS} digits within "
        f"{MAX_WORKING_DIGITS} working digits; a sigmoid or tanh is saturated (its z is far "
        "from 0): scale the inputs or initial weights down"
    )


# PyTorch's BCELoss clamps log at −100 and its backward divides by max(ŷ(1 − ŷ), 1e-12): past
# that the formula the worksheet writes and PyTorch part ways, so such a problem is refused
BCE_EPSILON = Fraction(1, 10**12)


def _check_bce(numbers: _Numbers, number: int) -> None:
    for s, sample in enumerate(numbers.a, start=1):
        for k, p in enumerate(sample[-1], start=1):
            if p * (1 - p) < BCE_EPSILON:
                raise SolveError(
                    f"step {number}: output {k} of sample {s} has ŷ(1 − ŷ) = {_size(p * (1 - p))}, ŷ within "
                    f"1e-12 of {'1' if p > Fraction(1, 2) else '0'}, where PyTorch's BCELoss clamps (log at −100, its "
                    "gradient's denominator ŷ(1 − ŷ) at 1e-12) and no longer computes the formula; scale the "
                    "inputs or initial weights down so the output's z stays within about ±27")


def _agree(a, b, digits: int) -> bool:
    if isinstance(a, _Numbers):
        return all(_agree(getattr(a, f.name), getattr(b, f.name), digits) for f in fields(a))
    if isinstance(a, dict):
        return all(_agree(a[k], b[k], digits) for k in a)
    if isinstance(a, tuple):
        return all(_agree(x, y, digits) for x, y in zip(a, b))
    if a is None:
        return b is None
    # relative to SHOWN_DIGITS, or absolute at the coarser precision's reach for values near 0
    return abs(a - b) <= abs(b) / Fraction(10) ** (SHOWN_DIGITS + 2) + Fraction(1, 10 ** (digits - 10))


def _step(spec: Spec, der: Derivation, arith, params, numbers: _Numbers, number: int) -> Step:
    values, symbol_values = _name_values(spec, der, params, numbers)
    with sp.evaluate(False):
        mapping = {sym: number_value(arith.sympy(v)) for sym, v in symbol_values.items()}
        equations = der.forward + (der.loss,) + der.output_grads + der.deltas + der.grads
        substituted = {eq.name: eq.symbolic.xreplace(mapping) for eq in equations}
    return Step(
        number=number,
        params=MappingProxyType(dict(params)),
        z=numbers.z,
        a=numbers.a,
        loss=numbers.loss,
        dL_dyhat=numbers.dy,
        deltas=numbers.delta,
        grads=MappingProxyType(numbers.grads),
        velocity=MappingProxyType(numbers.velocity),
        updated=MappingProxyType(numbers.updated),
        values=MappingProxyType(values),
        substituted=MappingProxyType(substituted),
    )


def _lower_nested(value, lower):
    if isinstance(value, (list, tuple)):
        return tuple(_lower_nested(v, lower) for v in value)
    if value is None:  # a softmax layer has no elementwise derivative
        return None
    if isinstance(value, Fraction):  # exact already
        return value
    return lower(value) if not isinstance(value, int) else Fraction(value)


def _zip_nested(fn, a, b):
    if isinstance(a, (list, tuple)):
        return [_zip_nested(fn, x, y) for x, y in zip(a, b)]
    return fn(a, b)


def _name_values(spec, der, params, numbers: _Numbers):
    """Values by equation name, and by symbol for substitution."""
    z, a, delta, derivs, grads = numbers.z, numbers.a, numbers.delta, numbers.derivs, numbers.grads
    S = der.symbols
    by_symbol: dict[sp.Expr, Fraction] = {}
    for s, (xs, ys) in enumerate(zip(spec.x, spec.y), start=1):
        for j, v in enumerate(xs, start=1):
            by_symbol[S.x(j, s)] = v
        for k, v in enumerate(ys, start=1):
            by_symbol[S.y(k, s)] = v
    for n, layer in enumerate(spec.layers, start=1):
        for i, row in enumerate(params[f"W{n}"], start=1):
            for j, v in enumerate(row, start=1):
                by_symbol[S.w(n, i, j)] = v
        if layer.bias:
            for i, v in enumerate(params[f"b{n}"], start=1):
                by_symbol[S.b(n, i)] = v
    for s in range(1, len(spec.x) + 1):
        for n, layer in enumerate(spec.layers, start=1):
            for i in range(1, layer.units + 1):
                zv = z[s - 1][n - 1][i - 1]
                by_symbol[S.z(n, i, s)] = zv
                by_symbol[S.a(n, i, s)] = a[s - 1][n - 1][i - 1]
                by_symbol[S.delta(n, i, s)] = delta[s - 1][n - 1][i - 1]
                if layer.activation in DERIVATIVE_FN:
                    d = derivs[s - 1][n - 1][i - 1]
                    by_symbol[DERIVATIVE_FN[layer.activation](S.z(n, i, s))] = d
    named: dict[str, Fraction] = {}
    for eq in der.forward + der.deltas:
        named[eq.name] = by_symbol[eq.lhs]
    named["L"] = numbers.loss
    for eq, v in zip(der.output_grads, (v for sample in numbers.dy for v in sample)):
        named[eq.name] = v
    for eq in der.grads:
        group, _, index = eq.param
        value = grads[group]
        for i in index:
            value = value[i - 1]
        named[eq.name] = value
    return named, by_symbol
