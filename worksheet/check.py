"""Check stage: a student's answers in, a marking out, as a careful human marker would.

Contract: pure. `check(sol, answers, weights, parts)` gives every quantity
(`quantities`) that was asked for or answered a verdict, in the order the
computation runs:

- right: within half a unit of the last decimal written (at least
  `MIN_DECIMALS` decimals are asked for; a number pasted from a computer,
  with more than `MACHINE_DIGITS` significant digits, within half a unit of
  its 10th or of the 12th decimal, a float32's of its 6th or the 8th, so
  that float noise is not wrong) of the
  exact value, of the value a student gets who rounds every earlier
  quantity to that many decimals, or of
  the value that follows from the student's own right answers (a student who
  rounds as they go is never wrong); an exact fraction must be exact;
- carried: wrong against the key, but right when recomputed from the
  student's own earlier answers, one of which was wrong (error carried
  forward); the mark names the wrong answers it follows from;
- wrong: follows from nothing the student wrote; the mark gives the expected
  value, the value that would follow from the student's own numbers, and the
  catalogued mistake that explains the number where exactly one does better
  than the right formula (a slip that gives the right formula's value on this
  problem is never named);
- missing: asked for and not answered.

"Recomputed from the student's own answers" means each quantity's one-step
formula (z from the w's, a's and b's before it; δ from the next layer's δ's;
a gradient from δ and a; the update from η and the gradient), reading the
student's number where they wrote one, and where they did not, the value that
follows from their numbers (so a sheet of only the updated parameters gets
step 2 recomputed from the student's own step-1 parameters). The allowance is
how far the written inputs' own rounding can move the result.

Arithmetic is exact (`Fraction`): rounding is decided in decimal, never in
binary floats. exp, log and tanh are evaluated with mpmath to `DIGITS`
digits and taken back as exact binary fractions.
"""

from __future__ import annotations

import struct
from collections import ChainMap
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from decimal import ROUND_HALF_DOWN, ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal, localcontext
from fractions import Fraction

import mpmath

from .answers import Answer
from .derive import CANCELLING, loss_scale, sample_suffix
from .notation import round_half_up
from .quantities import Quantity, eta_name, param_name, quantities
from .solve import Solution
from .spec import PARTS, POINT_PARTS, Spec

MIN_DECIMALS = 2  # "14" is held to 14.00 ± 0.005, not to ± 0.5
# A number written with more significant digits than MACHINE_DIGITS was pasted from a computer: held
# to that many, or MACHINE_PLACES decimals (float64 noise is about 1e-16 of the numbers it came from).
MACHINE_DIGITS = 10
MACHINE_PLACES = 12
# One that is exactly a float32 (PyTorch's default: w.grad.item() prints 0.3499999940395355 for 0.35)
# carries float32's rounding, about 6e-8 of each number a step used: held to 6 digits or 8 decimals.
FLOAT32_DIGITS = 6
FLOAT32_PLACES = 8
VERDICTS = ("right", "carried", "wrong", "missing")
DEFAULT_WEIGHTS = {"right": Fraction(1), "carried": Fraction(1), "wrong": Fraction(0), "missing": Fraction(0)}
DIGITS = 40  # working digits of exp, log and tanh
_BITS = 400  # a computed value's denominator is kept under 2**_BITS (about 120 digits)
_LARGEST = Fraction(10) ** 12  # beyond this a recomputed value means nothing to a hand calculation


@dataclass(frozen=True)
class Mark:
    quantity: Quantity
    verdict: str  # one of VERDICTS
    answer: Answer | None
    note: str = ""  # on a wrong answer: the mistake's words, or why a fraction is wrong
    follows: tuple[str, ...] = ()  # keys of the wrong earlier answers this one is computed from
    follows_written: tuple[str, ...] = ()  # those answers as the student wrote them
    mistake: str = ""  # the catalogue's id
    from_yours: Fraction | None = None  # what follows from the student's own numbers, where that is not the key
    at: str = ""  # the key of the unwritten quantity where the named mistake was made, if not this one

    @property
    def expected(self) -> Fraction:
        return self.quantity.value


@dataclass(frozen=True)
class Marking:
    marks: tuple[Mark, ...]
    weights: Mapping[str, Fraction]
    # the spec's [marking] points by part; empty: every quantity scores its verdict's weight
    part_points: tuple[tuple[str, Fraction], ...] = ()

    @property
    def counts(self) -> dict[str, int]:
        return {v: sum(1 for m in self.marks if m.verdict == v) for v in VERDICTS}

    @property
    def first_wrong(self) -> Mark | None:
        return next((m for m in self.marks if m.verdict == "wrong"), None)

    def by_part(self) -> list[tuple[str, Fraction, Fraction]]:
        """(part, score, points) for each part given points that the sheet asked for: a part's
        points are shared equally by its quantities, each scoring its verdict's share."""
        out = []
        for name, points in self.part_points:
            marks = [m for m in self.marks if m.quantity.kind in POINT_PARTS[name]]
            if marks:
                earned = sum((self.weights[m.verdict] for m in marks), Fraction(0))
                out.append((name, points * earned / (len(marks) * self.weights["right"]), points))
        return out

    @property
    def score(self) -> Fraction:
        if self.part_points:
            return sum((score for _, score, _ in self.by_part()), Fraction(0))
        return sum((self.weights[m.verdict] for m in self.marks), Fraction(0))

    @property
    def points(self) -> Fraction:
        """The score of a sheet with every answer right."""
        if self.part_points:
            return sum((points for *_, points in self.by_part()), Fraction(0))
        return len(self.marks) * self.weights["right"]

    @property
    def out_of(self) -> int:
        return len(self.marks)

    def by_key(self) -> dict[str, Mark]:
        return {m.quantity.key: m for m in self.marks}


def significant_digits(text: str) -> int:
    """The significant digits a decimal is written with: 0.0250 has 3, −0.7000000000000001 has 16."""
    digits = "".join(ch for ch in text if ch.isdigit()).lstrip("0")
    return len(digits)


def machine_written(answer: Answer) -> bool:
    """A decimal with more significant digits than any hand writes: pasted from a computer, whose
    last digits are binary floating-point noise (0.1 + 0.2 = 0.30000000000000004)."""
    return answer.decimals is not None and significant_digits(answer.text) > MACHINE_DIGITS


def float32_written(answer: Answer) -> bool:
    """A machine-written number that is exactly a float32: printed from float32 work."""
    if not machine_written(answer):
        return False
    try:
        value = float(answer.text.strip())
        return struct.unpack("f", struct.pack("f", value))[0] == value
    except (ValueError, OverflowError, struct.error):
        return False


def _machine_hold(answer: Answer) -> tuple[int, int]:
    """The significant digits and decimals a machine-written number is held to."""
    return (FLOAT32_DIGITS, FLOAT32_PLACES) if float32_written(answer) else (MACHINE_DIGITS, MACHINE_PLACES)


def tolerance(answer: Answer) -> Fraction:
    """Half a unit of the last decimal written; nothing for a fraction, which must be exact. A
    machine-written number is held to its first `MACHINE_DIGITS` significant digits or
    `MACHINE_PLACES` decimals, whichever is looser (a float32's to `FLOAT32_DIGITS` or
    `FLOAT32_PLACES`): a marker does not mark float noise wrong."""
    if answer.decimals is None:
        return Fraction(0)
    half = Fraction(1, 2 * 10 ** max(answer.decimals, MIN_DECIMALS))
    if not machine_written(answer):
        return half
    digits, places = _machine_hold(answer)
    lead = Decimal(answer.text.strip()).adjusted()  # the power of ten of the first significant digit
    return max(half, Fraction(1, 2) * Fraction(10) ** (lead - digits + 1), Fraction(1, 2 * 10 ** places))


def held_places(answer: Answer) -> int | None:
    """The decimals an answer is compared to a rounded chain at: those written, at least
    `MIN_DECIMALS` and, for a machine-written number, at most `MACHINE_PLACES` (past those its
    digits are noise, and every other count of decimals is another chain to compute)."""
    if answer.decimals is None:
        return None
    places = max(answer.decimals, MIN_DECIMALS)
    return min(places, _machine_hold(answer)[1]) if machine_written(answer) else places


# How a student may break a tie (a value exactly halfway, 0.28555 to 4 decimals): away from zero as
# taught; toward zero; to even (Python's round, a spreadsheet's); up and down (a float's noise on
# either side of the half decides it, as for ½·(0.4289 − 1) in float64).
TIES = ("away", "toward", "even", "up", "down")
_TIE_MODES = {"away": ROUND_HALF_UP, "toward": ROUND_HALF_DOWN, "even": ROUND_HALF_EVEN}


def _tie(value: Fraction, decimals: int) -> bool:
    """Whether `value` lies exactly halfway between two numbers of `decimals` decimals."""
    return (value * 10**decimals).denominator == 2


def _rounded(value: Fraction, decimals: int, ties: str = "away") -> Fraction:
    if ties == "away":
        return Fraction(round_half_up(value, decimals))
    mode = _TIE_MODES.get(ties) or (ROUND_HALF_UP if (value > 0) == (ties == "up") else ROUND_HALF_DOWN)
    with localcontext() as ctx:
        ctx.prec = 80
        d = Decimal(value.numerator) / Decimal(value.denominator)
        return Fraction(d.quantize(Decimal(1).scaleb(-decimals), rounding=mode))


# -- exact arithmetic with a few transcendental functions -----------------------

class _Unknown(Exception):
    """A value that cannot be recomputed (it follows from a number a formula cannot take)."""


def _bounded(x: Fraction) -> Fraction:
    """x, with its denominator cut to _BITS bits where a transcendental chain made it longer."""
    if abs(x) > _LARGEST:
        raise _Unknown
    if x.denominator.bit_length() <= _BITS:
        return x
    return Fraction(round(x * (1 << _BITS)), 1 << _BITS)


def _mpmath(fn: Callable, *args: Fraction) -> Fraction:
    with mpmath.workdps(DIGITS):
        value = fn(*(mpmath.mpf(a.numerator) / a.denominator for a in args))
        if not mpmath.isfinite(value) or abs(value) > int(_LARGEST):
            raise _Unknown
        sign, man, exp, _ = mpmath.mpf(value)._mpf_  # exactly (−1)^sign · man · 2^exp
    return _bounded((-1) ** sign * Fraction(int(man)) * Fraction(2) ** int(exp))


def _exp(x: Fraction) -> Fraction:
    if x > 27:  # e^27 > _LARGEST
        raise _Unknown
    return _mpmath(mpmath.exp, x) if x > -1000 else Fraction(0)


def _log(x: Fraction) -> Fraction:
    """PyTorch's BCELoss and CrossEntropy clamp log at −100."""
    if x <= 0:
        return Fraction(-100)
    return max(_mpmath(mpmath.log, x), Fraction(-100))


def _sigmoid(z: Fraction) -> Fraction:
    """σ(z), written so that no e^x it takes is large: σ(−30) is 9e-14, not an overflow."""
    if z >= 0:
        return 1 / (1 + _exp(-z))
    e = _exp(z)
    return e / (1 + e)


# -- the one-step formulas -----------------------------------------------

Lookup = Callable[[int, str], Fraction]


class _Formulas:
    """Each quantity from the ones it is computed from, through `get`. With
    `places`, every term of a sum is rounded to that many decimals first, as a
    student does who writes each product down before adding."""

    def __init__(self, sol: Solution, get: Lookup, places: int | None = None, ties: str = "away",
                 taught: bool = True):
        self.sol, self.spec, self.get, self.places, self.ties = sol, sol.spec, get, places, ties
        self.taught = taught  # a cancelling pair's output δ as scale·(ŷ − y); False: by the chain rule
        self.tied = False  # whether a term rounded was a tie (the other `ties` would round it otherwise)
        self.depth = len(self.spec.layers)
        self.scale = loss_scale(self.spec)

    def t(self, term: Fraction) -> Fraction:
        if self.places is None:
            return term
        self.tied = self.tied or _tie(term, self.places)
        return _rounded(term, self.places, self.ties)

    # values the formulas read
    def param(self, step: int, group: str, index: tuple[int, ...]) -> Fraction:
        if step == 1 or group in self.spec.frozen:
            values = self.spec.weights[int(group[1:]) - 1] if group[0] == "W" else \
                self.spec.biases[int(group[1:]) - 1]
            for i in index:
                values = values[i - 1]
            return values
        return self.get(step - 1, f"new_{param_name(group, index)}")

    def w(self, step, l, i, j) -> Fraction:
        return self.param(step, f"W{l}", (i, j))

    def b(self, step, l, i) -> Fraction:
        return self.param(step, f"b{l}", (i,)) if self.spec.layers[l - 1].bias else Fraction(0)

    def sfx(self, s: int) -> str:
        return sample_suffix(self.spec, s)

    def a(self, step, l, j, s) -> Fraction:
        if l == 0:
            return self.spec.x[s - 1][j - 1]
        return self.get(step, f"a{l}_{j}{self.sfx(s)}")

    def z(self, step, l, i, s) -> Fraction:
        return self.get(step, f"z{l}_{i}{self.sfx(s)}")

    def delta(self, step, l, i, s) -> Fraction:
        return self.get(step, f"delta{l}_{i}{self.sfx(s)}")

    def dyhat(self, step, k, s) -> Fraction:
        return self.get(step, f"dL_dyhat{k}{self.sfx(s)}")

    def fan_in(self, l: int) -> int:
        return self.spec.inputs if l == 1 else self.spec.layers[l - 2].units

    def units(self, l: int) -> int:
        return self.spec.layers[l - 1].units

    @property
    def samples(self) -> range:
        return range(1, len(self.spec.x) + 1)

    # activations
    def f(self, l: int, zs: list[Fraction], i: int) -> Fraction:
        layer = self.spec.layers[l - 1]
        z = zs[i - 1]
        kind = layer.activation
        if kind == "identity":
            return z
        if kind == "relu":
            return max(z, Fraction(0))
        if kind == "leaky_relu":
            return z if z > 0 else layer.slope * z
        if kind == "sigmoid":
            return _sigmoid(z)
        if kind == "tanh":
            return _mpmath(mpmath.tanh, z)
        top = max(zs)
        es = [_exp(v - top) for v in zs]
        return es[i - 1] / sum(es)

    def fprime(self, step: int, l: int, i: int, s: int) -> Fraction:
        """f′(z) of a unit, reading only what a student reads for it: z for the
        piecewise-linear ones, a for σ′ = a(1 − a) and tanh′ = 1 − a²."""
        layer = self.spec.layers[l - 1]
        kind = layer.activation
        if kind == "identity":
            return Fraction(1)
        if kind in ("relu", "leaky_relu"):
            positive = self.z(step, l, i, s) > 0
            return Fraction(1) if positive else (layer.slope if kind == "leaky_relu" else Fraction(0))
        a = self.a(step, l, i, s)
        return a * (1 - a) if kind == "sigmoid" else 1 - a * a

    def element_loss(self, yhat: Fraction, y: Fraction) -> Fraction:
        kind = self.spec.loss
        if kind == "half_sse":
            return (yhat - y) ** 2 / 2
        if kind in ("sse", "mse"):
            return (yhat - y) ** 2
        if kind == "bce":
            return -(y * _log(yhat) + (1 - y) * _log(1 - yhat))
        return -y * _log(yhat)

    def element_grad(self, yhat: Fraction, y: Fraction) -> Fraction:
        kind = self.spec.loss
        if kind == "half_sse":
            return yhat - y
        if kind in ("sse", "mse"):
            return 2 * (yhat - y)
        if kind == "bce":
            return -y / yhat + (1 - y) / (1 - yhat)
        return -y / yhat

    def upstream(self, step, l, i, s, weight=None) -> Fraction:
        """Σ_k δ^(l+1)_k · w^(l+1)_ki, the part of δ^(l)_i that comes from above."""
        weight = weight or self.w
        return sum(self.t(self.delta(step, l + 1, k, s) * weight(step, l + 1, k, i))
                   for k in range(1, self.units(l + 1) + 1))

    @property
    def cancelling(self) -> bool:
        """Whether the output δ has the taught form scale·(ŷ − y) (softmax with CE, sigmoid with BCE)."""
        return (self.spec.layers[-1].activation, self.spec.loss) in CANCELLING

    def delta_output(self, step, i, s, derivative=True, taught: bool | None = None) -> Fraction:
        """The output layer's δ; `taught` False (None: as the calculation was set up): by the chain
        rule from ∂L/∂ŷ even where the taught form scale·(ŷ − y) is what the key writes (a student
        may work it either way)."""
        l = self.depth
        if derivative and (self.taught if taught is None else taught) and self.cancelling:
            # the taught form the key writes: scale·(ŷᵢ·Σₖ yₖ − yᵢ), from the student's ŷ alone
            ys = self.spec.y[s - 1]
            total = sum(ys) if self.spec.loss == "cross_entropy" else 1
            return self.scale * (self.a(step, l, i, s) * total - ys[i - 1])
        if self.spec.layers[-1].activation == "softmax":
            ak = [self.a(step, l, k, s) for k in range(1, self.units(l) + 1)]
            return sum(self.t(self.dyhat(step, k, s) * ak[k - 1] * ((1 if k == i else 0) - ak[i - 1]))
                       for k in range(1, len(ak) + 1))
        d = self.fprime(step, l, i, s) if derivative else 1
        return self.dyhat(step, i, s) * d

    def grad_of(self, step, group, index) -> Fraction:
        return self.get(step, f"d{param_name(group, index)}")

    def velocity_of(self, step, group, index) -> Fraction:
        if self.spec.momentum:
            return self.get(step, f"v_{param_name(group, index)}")
        return self.grad_of(step, group, index)

    def eta(self, step, group, index) -> Fraction:
        return self.get(step, eta_name(param_name(group, index), bool(self.spec.momentum)))

    # the formula of each kind
    def value(self, q: Quantity) -> Fraction:
        return _bounded(self._value(q))

    def _value(self, q: Quantity) -> Fraction:
        n, l, i, s = q.step, q.layer, q.unit, q.sample
        spec = self.spec
        if q.kind == "z":
            return sum(self.t(self.w(n, l, i, j) * self.a(n, l - 1, j, s)) for j in range(1, self.fan_in(l) + 1)) + \
                self.b(n, l, i)
        if q.kind == "a":
            if spec.layers[l - 1].activation == "softmax":  # every z of the layer, written before any a
                return self.f(l, [self.z(n, l, k, s) for k in range(1, self.units(l) + 1)], i)
            return self.f(l, [self.z(n, l, i, s)], 1)
        if q.kind == "loss":
            return self.scale * sum(self.t(self.element_loss(self.a(n, self.depth, k, t), spec.y[t - 1][k - 1]))
                                    for t in self.samples for k in range(1, self.units(self.depth) + 1))
        if q.kind == "dyhat":
            return self.scale * self.element_grad(self.a(n, self.depth, i, s), spec.y[s - 1][i - 1])
        if q.kind == "delta":
            if l == self.depth:
                return self.delta_output(n, i, s)
            return self.upstream(n, l, i, s) * self.fprime(n, l, i, s)
        if q.kind == "grad":
            if q.group[0] == "W":
                j = q.index[1]
                return sum(self.t(self.delta(n, l, i, t) * self.a(n, l - 1, j, t)) for t in self.samples)
            return sum(self.delta(n, l, i, t) for t in self.samples)
        if q.kind == "velocity":
            g = self.grad_of(n, q.group, q.index)
            if n == 1:
                return g
            return self.t(spec.momentum * self.get(n - 1, f"v_{param_name(q.group, q.index)}")) + g
        if q.kind == "eta":
            return spec.learning_rate * self.velocity_of(n, q.group, q.index)
        if q.kind == "new":
            return self.param(n, q.group, q.index) - self.eta(n, q.group, q.index)
        raise ValueError(f"unknown kind {q.kind}")


# -- the catalogue of mistakes --------------------------------------------

# What a note calls each activation: the function's name as the worksheet's formulas write it.
FN_NAME = {"relu": "ReLU", "leaky_relu": "LReLU", "sigmoid": "σ", "tanh": "tanh"}
# (f(z), f′(z) written with a, f′ written with z) for the activations whose f′ is written with a
_PRIME_BY_A = {"sigmoid": ("σ(z)", "a(1 − a)", "z(1 − z)"), "tanh": ("tanh(z)", "1 − a²", "1 − z²")}


@dataclass(frozen=True)
class Mistake:
    """A catalogued slip. `words` is general (it fits any problem: a class summary across variants
    prints it); `specific`, where the words depend on the network, says it for one problem, at one
    quantity (None: wherever it applies) and by the value of `values` that explained the number
    (None: any). Every message about a slip comes from `text`."""

    id: str
    kinds: tuple[str, ...]
    words: str  # {l} is the quantity's layer, {next} the one above, {g} what η multiplies (∂L/∂p or v)
    values: Callable[[_Formulas, Quantity], list[Fraction]]  # what the slip gives; empty where it cannot apply
    specific: Callable[[Spec, Quantity | None, int | None], str] | None = None

    def text(self, spec: Spec, q: Quantity | None = None, variant: int | None = None) -> str:
        """The words for this problem, at q (None: in general) for the `variant`-th value."""
        if self.specific is not None:
            return self.specific(spec, q, variant)
        if q is None:
            return self.words.format(l="l", next="l + 1", g="v" if spec.momentum else "∂L/∂p")
        return self.words.format(l=q.layer, next=q.layer + 1, g="v" if spec.momentum else "∂L/∂p")


def _activations(spec: Spec, q: Quantity | None, kinds: Iterable[str]) -> list[str]:
    """The activations a slip at q (None: anywhere in the network) is about, in layer order."""
    layers = [spec.layers[q.layer - 1]] if q is not None else spec.layers
    return list(dict.fromkeys(layer.activation for layer in layers if layer.activation in kinds))


def _or(names: list[str]) -> str:
    return ", ".join(names[:-1]) + " or " + names[-1] if len(names) > 1 else "".join(names)


def _say_no_derivative(spec: Spec, q: Quantity | None, variant: int | None) -> str:
    names = [FN_NAME[a] + "′" for a in _activations(spec, q, FN_NAME)]
    if not names:
        return "the activation's derivative is left out of δ"
    return f"{_or(names)} is left out of δ" if q is not None else \
        f"the activation's derivative ({_or(names)}) is left out of δ"


def _say_sigma_for_derivative(spec: Spec, q: Quantity | None, variant: int | None) -> str:
    acts = _activations(spec, q, _PRIME_BY_A) or list(_PRIME_BY_A)
    return "; or ".join(f"{_PRIME_BY_A[a][0]} is used where its derivative {FN_NAME[a]}′(z) = {_PRIME_BY_A[a][1]} "
                        "belongs" for a in acts)


def _say_derivative_at_a(spec: Spec, q: Quantity | None, variant: int | None) -> str:
    """Which way round the student went, decided by the formula that gave their number:
    value 0 is f′ evaluated at a, value 1 the formula in a written with z."""
    acts = _activations(spec, q, _PRIME_BY_A) or list(_PRIME_BY_A)
    out = []
    for a in acts:
        f, by_a, by_z = FN_NAME[a], _PRIME_BY_A[a][1], _PRIME_BY_A[a][2]
        at_a = f"{f}′ is taken at a instead of at z ({f}′(a)); {f}′(z) = {by_a}"
        with_z = f"{f}′ is written {by_z}; {f}′(z) = {by_a}"
        out += [at_a] if variant == 0 else [with_z] if variant == 1 else [with_z, at_a]
    return "; or ".join(out)


def _half(c: _Formulas, q: Quantity) -> list[Fraction]:
    return [2 * c.value(q)] if c.spec.loss == "half_sse" else []


def _square_two(c: _Formulas, q: Quantity) -> list[Fraction]:
    return [c.value(q) / 2] if c.spec.loss in ("sse", "mse") else []


def _mean_sum(c: _Formulas, q: Quantity) -> list[Fraction]:
    if q.kind == "delta" and q.layer != c.depth:
        return []  # only the output δ carries the loss's factor; a hidden δ takes it from there
    n = len(c.spec.x)
    k = c.units(c.depth) if c.spec.loss in ("mse", "bce") else 1
    factors = {n, n * k, k} - {1}
    v = c.value(q)
    return [v * f for f in factors] + [v / f for f in factors]


def _no_derivative(c: _Formulas, q: Quantity) -> list[Fraction]:
    if c.spec.layers[q.layer - 1].activation in ("identity", "softmax"):
        return []
    if q.layer == c.depth:
        return [c.delta_output(q.step, q.unit, q.sample, derivative=False)]
    return [c.upstream(q.step, q.layer, q.unit, q.sample)]


def _upstream_times(c: _Formulas, q: Quantity, factor: Fraction) -> Fraction:
    if q.layer == c.depth:
        return c.dyhat(q.step, q.unit, q.sample) * factor
    return c.upstream(q.step, q.layer, q.unit, q.sample) * factor


def _sigma_for_derivative(c: _Formulas, q: Quantity) -> list[Fraction]:
    if c.spec.layers[q.layer - 1].activation not in ("sigmoid", "tanh"):
        return []
    return [_upstream_times(c, q, c.a(q.step, q.layer, q.unit, q.sample))]


def _derivative_at_a(c: _Formulas, q: Quantity) -> list[Fraction]:
    kind = c.spec.layers[q.layer - 1].activation
    a = c.a(q.step, q.layer, q.unit, q.sample)
    z = c.z(q.step, q.layer, q.unit, q.sample)
    if kind == "sigmoid":  # σ′ taken at a instead of z, or a(1 − a) written with z
        s = _sigmoid(a)
        return [_upstream_times(c, q, s * (1 - s)), _upstream_times(c, q, z * (1 - z))]
    if kind == "tanh":
        t = _mpmath(mpmath.tanh, a)
        return [_upstream_times(c, q, 1 - t * t), _upstream_times(c, q, 1 - z * z)]
    return []


def _flipped(c: _Formulas, q: Quantity) -> list[Fraction]:
    return [-c.value(q)]


def _say_flipped(spec: Spec, q: Quantity | None, variant: int | None) -> str:
    if q is not None and q.kind == "delta" and q.layer < len(spec.layers):
        return "the sign of δ is flipped (a minus lost in its product)"
    return "the sign of the output's error is flipped (y − ŷ where ŷ − y belongs)"


def _sign(c: _Formulas, q: Quantity) -> list[Fraction]:
    return [c.param(q.step, q.group, q.index) + c.eta(q.step, q.group, q.index)]


def _no_rate(c: _Formulas, q: Quantity) -> list[Fraction]:
    g = c.velocity_of(q.step, q.group, q.index)
    return [g] if q.kind == "eta" else [c.param(q.step, q.group, q.index) - g]


def _rate_twice(c: _Formulas, q: Quantity) -> list[Fraction]:
    lr = c.spec.learning_rate
    g = c.velocity_of(q.step, q.group, q.index)
    return [lr * lr * g] if q.kind == "eta" else [c.param(q.step, q.group, q.index) - lr * lr * g]


def _sequential(c: _Formulas, q: Quantity) -> list[Fraction]:
    if q.layer == c.depth or f"W{q.layer + 1}" in c.spec.frozen:
        return []

    def updated(step, l, i, j):
        return c.get(step, f"new_W{l}_{i}_{j}")

    up = c.upstream(q.step, q.layer, q.unit, q.sample, weight=updated)
    return [up * c.fprime(q.step, q.layer, q.unit, q.sample)]


def _transposed(c: _Formulas, q: Quantity) -> list[Fraction]:
    """w_ji for w_ij: only a square weight matrix lets a student swap them."""
    n, l, i, s = q.step, q.layer, q.unit, q.sample
    if q.kind == "z":
        if c.fan_in(l) != c.units(l):
            return []
        return [sum(c.w(n, l, j, i) * c.a(n, l - 1, j, s) for j in range(1, c.fan_in(l) + 1)) + c.b(n, l, i)]
    if q.layer == c.depth or c.units(l + 1) != c.units(l):
        return []
    up = sum(c.delta(n, l + 1, k, s) * c.w(n, l + 1, i, k) for k in range(1, c.units(l + 1) + 1))
    return [up * c.fprime(n, l, i, s)]


def _input_left_out(c: _Formulas, q: Quantity) -> list[Fraction]:
    if q.group[0] != "W":
        return []
    return [sum(c.delta(q.step, q.layer, q.unit, t) for t in c.samples)]


def _bias_as_weight(c: _Formulas, q: Quantity) -> list[Fraction]:
    if q.group[0] != "b":
        return []
    return [sum(c.delta(q.step, q.layer, q.unit, t) * c.a(q.step, q.layer - 1, j, t) for t in c.samples)
            for j in range(1, c.fan_in(q.layer) + 1)]


def _before_activation(c: _Formulas, q: Quantity) -> list[Fraction]:
    if c.spec.layers[q.layer - 1].activation == "identity":
        return []
    return [c.z(q.step, q.layer, q.unit, q.sample)]


def _after_activation(c: _Formulas, q: Quantity) -> list[Fraction]:
    if c.spec.layers[q.layer - 1].activation in ("identity", "softmax"):
        return []
    return [c.f(q.layer, [c.value(q)], 1)]


CATALOGUE: tuple[Mistake, ...] = (
    Mistake("half", ("loss", "dyhat"), "the ½ of the loss is left out (a factor 2)", _half),
    # before mean_sum: with 2 samples or outputs both halve ∂L/∂ŷ, and the lost 2 is the likelier slip
    Mistake("square_two", ("dyhat",), "the 2 from differentiating the square (ŷ − y)² is left out", _square_two),
    Mistake("mean_sum", ("loss", "dyhat", "delta"), "the mean and the sum are confused (a factor of the number of "
            "samples or outputs)", _mean_sum),
    # before the δ slips: a δ of the right size and the wrong sign fell to the nearest of them (tanh′ as 1 − z²
    # where z is near 1), by the allowance for how the student rounded
    Mistake("flipped", ("dyhat", "delta"), "the sign of ∂L/∂ŷ or of δ is flipped (y − ŷ where ŷ − y belongs, or a "
            "minus lost)", _flipped, _say_flipped),
    Mistake("no_derivative", ("delta",), "the activation's derivative f′ is left out of δ", _no_derivative,
            _say_no_derivative),
    Mistake("sigma_for_derivative", ("delta",), "the activation f(z) is used where its derivative f′(z) belongs",
            _sigma_for_derivative, _say_sigma_for_derivative),
    Mistake("derivative_at_a", ("delta",), "the activation's derivative is written with z where a belongs, or "
            "taken at a instead of at z", _derivative_at_a, _say_derivative_at_a),
    Mistake("sequential", ("delta",), "layer {next}'s already-updated weights are used (a sequential update); "
            "every gradient of a step uses the step's old weights", _sequential),
    Mistake("transposed", ("z", "delta"), "the weight indices are swapped (w_ji for w_ij)", _transposed),
    Mistake("input_left_out", ("grad",), "the input or previous activation a is left out of the weight gradient",
            _input_left_out),
    Mistake("bias_as_weight", ("grad",), "the bias gradient is multiplied by an input, as a weight's is",
            _bias_as_weight),
    Mistake("before_activation", ("a",), "z (before the activation) is written where a = f(z) is asked",
            _before_activation),
    Mistake("after_activation", ("z",), "the activation is applied where z (before it) is asked", _after_activation),
    Mistake("sign", ("new",), "η·{g} is added instead of subtracted (the update's sign is flipped)", _sign),
    Mistake("no_rate", ("eta", "new"), "the learning rate η is left out", _no_rate),
    Mistake("rate_twice", ("eta", "new"), "the learning rate η is applied twice", _rate_twice),
)


# -- the chains a marker recomputes ------------------------------------------

def _chain(sol: Solution, qs: tuple[Quantity, ...], given: Mapping[str, Fraction],
           decimals: int | None, terms: bool = False, ties: str = "away", taught: bool = True,
           met: list[str] | None = None) -> dict[str, Fraction | None]:
    """Every quantity as a student gets it who writes `given` and computes the
    rest from it, rounding each to `decimals` as they go (None: not at all),
    with `terms` each product inside a sum too, a tie broken as `ties` says,
    a cancelling pair's output δ in the taught form or (`taught` False) by the
    chain rule. `met` collects the keys of the quantities where a tie was met.
    None where it cannot be computed (it follows from an impossible number)."""
    values: dict[str, Fraction | None] = {}
    calc = _Formulas(sol, _reader(values), decimals if terms else None, ties, taught)
    for q in qs:
        if q.key in given:
            values[q.key] = given[q.key]
            continue
        calc.tied = False
        v = _attempt(lambda: calc.value(q))  # noqa: B023
        if met is not None and v is not None and decimals is not None and (calc.tied or _tie(v, decimals)):
            met.append(q.key)
        values[q.key] = v if v is None or decimals is None else _rounded(v, decimals, ties)
    return values


def rounded_chain(sol: Solution, decimals: int, terms: bool = False,
                  ties: str = "away") -> dict[str, Fraction | None]:
    """Every quantity (by key) as a student gets it who works the whole sheet correctly and rounds
    each number to `decimals` as they go (`terms`: each product inside a sum too), breaking a tie
    as `ties` (one of `TIES`) says; the checker marks these right, whichever way the ties go, and
    an export that cannot carry the checker compares with them."""
    return _chain(sol, quantities(sol), {}, decimals, terms, ties)


def rounded_chains(sol: Solution, decimals: int) -> list[dict[str, Fraction | None]]:
    """Every way a student who works the whole sheet correctly, rounding each number to `decimals`
    as they go, may get each quantity, and the checker marks right: each number rounded, or each
    product inside a sum too; a cancelling pair's output δ in the taught form or by the chain rule
    from the rounded ∂L/∂ŷ; where a tie is met, broken each way of `TIES` (the same chain elsewhere)."""
    qs = quantities(sol)
    cancelling = (sol.spec.layers[-1].activation, sol.spec.loss) in CANCELLING
    out = []
    for terms in (False, True):
        for taught in (True, False) if cancelling else (True,):
            met: list[str] = []
            out.append(_chain(sol, qs, {}, decimals, terms, "away", taught, met))
            if met:
                out += [_chain(sol, qs, {}, decimals, terms, ties, taught) for ties in TIES[1:]]
    return out


def _reader(values: Mapping[str, Fraction | None], used: list[str] | None = None,
            nudge: tuple[str, Fraction] | None = None) -> Lookup:
    """A lookup into `values` that records what it read and moves one value by a nudge."""
    def get(step: int, name: str) -> Fraction:
        key = f"step{step}.{name}"
        if used is not None:
            used.append(key)
        v = values.get(key)
        if v is None:
            raise _Unknown
        return v + nudge[1] if nudge is not None and nudge[0] == key else v
    return get


def _attempt(fn: Callable[[], Fraction]) -> Fraction | None:
    try:
        return fn()
    except (_Unknown, ZeroDivisionError, ArithmeticError, KeyError, IndexError):
        return None


@dataclass(frozen=True)
class _Recomputed:
    values: tuple[Fraction, ...]  # what the formula gives from the student's numbers
    allowance: Fraction  # how far the written inputs' rounding can move it
    inputs: tuple[str, ...]  # the keys it read


class _Marker:
    """Marks one sheet; holds the chains every quantity is compared with."""

    def __init__(self, sol: Solution, answers: Mapping[str, Answer]):
        self.sol, self.answers = sol, answers
        self.qs = quantities(sol)
        self.by_key = {q.key: q for q in self.qs}
        self.written = {k: a.value for k, a in answers.items()}
        self.own = _chain(sol, self.qs, self.written, None)
        self._chains: dict[tuple[str, int, bool, str], dict] = {}
        self.sources: dict[str, frozenset[str]] = {}  # the wrong written answers each value follows from
        self._inputs: dict[str, tuple[str, ...]] = {}
        self._own_values: dict[str, _Recomputed] = {}
        self.place = {q.key: n for n, q in enumerate(self.qs)}

    def chain(self, which: str, decimals: int, terms: bool = False, ties: str = "away") -> dict[str, Fraction | None]:
        """The key's rounded chain, or the student's own rounded one (`terms`: each product too;
        `ties`: a tie broken that way)."""
        if (which, decimals, terms, ties) not in self._chains:
            given = self.written if which == "own" else {}
            self._chains[which, decimals, terms, ties] = _chain(self.sol, self.qs, given, decimals, terms, ties)
        return self._chains[which, decimals, terms, ties]

    def rounded_own(self, q: Quantity, places: int, ties: str) -> list[Fraction | None]:
        """q from the student's own numbers, the unwritten ones rounded to `places` as they go, and
        then each product too, a tie broken as `ties` says."""
        out = []
        for terms in (False, True):
            chain = self.chain("own", places, terms, ties)
            out.append(_attempt(lambda: _Formulas(self.sol, _reader(chain), places if terms else None,  # noqa: B023
                                                  ties).value(q)))
        return out

    def recompute(self, fn: Callable[[_Formulas], list[Fraction]]) -> _Recomputed:
        """`fn` over the student's own numbers, with the allowance: each written
        decimal input nudged by half a unit of its last decimal, in turn."""
        values = self.own
        used: list[str] = []
        out = _attempt(lambda: fn(_Formulas(self.sol, _reader(values, used)))) or []
        inputs = tuple(dict.fromkeys(used))
        allowance = Fraction(0)
        for k in inputs:
            answer = self.answers.get(k)
            if answer is None or answer.decimals is None:
                continue
            moved = _attempt(lambda: fn(_Formulas(self.sol, _reader(values, nudge=(k, tolerance(answer))))))  # noqa: B023
            if moved:
                allowance += max(abs(w - v) for v, w in zip(out, moved))
        return _Recomputed(tuple(out), allowance, inputs)

    def own_value(self, q: Quantity) -> _Recomputed:
        """q recomputed from the student's own numbers (once: marking and naming both ask)."""
        if q.key not in self._own_values:
            self._own_values[q.key] = self.recompute(lambda c: [c.value(q)])
        return self._own_values[q.key]

    def inputs_of(self, q: Quantity) -> tuple[str, ...]:
        """The keys q's formula reads."""
        if q.key not in self._inputs:
            used: list[str] = []
            _attempt(lambda: _Formulas(self.sol, _reader(self.own, used)).value(q))
            self._inputs[q.key] = tuple(dict.fromkeys(used))
        return self._inputs[q.key]

    def follows(self, inputs: Iterable[str]) -> frozenset[str]:
        return frozenset().union(*(self.sources.get(k, frozenset()) for k in inputs))

    # -- one quantity ----------------------------------------------------
    def mark(self, q: Quantity) -> Mark | None:
        """The verdict on a written answer (no mistake named yet), or None for an unwritten one."""
        answer = self.answers.get(q.key)
        if answer is None:
            self.sources[q.key] = self.follows(self.inputs_of(q))
            return None
        tol = tolerance(answer)
        near = lambda v: v is not None and abs(answer.value - v) <= tol  # noqa: E731
        own = self.own_value(q)
        follows = self.follows(own.inputs)
        from_yours = own.values[0] if own.values and follows else None
        # "0.2" is held to 0.20 ± 0.005, and so is compared with the chain rounded to 2 places
        places = held_places(answer)
        if near(q.value) or (places is not None and near(self.chain("key", places)[q.key])):
            self.sources[q.key] = frozenset()
            return Mark(q, "right", answer)
        candidates = list(own.values)
        # the student rounded the unwritten quantities too, and maybe each term; a tie either way
        # (tried only when the usual rounding does not explain the number: it costs more chains)
        for ties in TIES if places is not None else ():
            candidates += self.rounded_own(q, places, ties)
            known = [v for v in candidates if v is not None]
            # anything between the exact and the rounded recomputation: a student may round some
            # unwritten numbers and carry others in full
            if known and min(known) - tol - own.allowance <= answer.value <= max(known) + tol + own.allowance:
                return self._follows(q, answer, follows, from_yours)
        known = [v for v in candidates if v is not None]
        if known and min(known) - tol - own.allowance <= answer.value <= max(known) + tol + own.allowance:
            return self._follows(q, answer, follows, from_yours)
        # an output δ the key writes as scale·(ŷ − y) may be worked by the chain rule from the
        # student's own ∂L/∂ŷ instead: after a wrong ∂L/∂ŷ, that δ follows from it (carried)
        chained = self.chained_delta(q)
        if chained is not None and chained.values and \
                abs(answer.value - chained.values[0]) <= tol + chained.allowance:
            return self._follows(q, answer, self.follows(chained.inputs), from_yours)
        self.sources[q.key] = frozenset({q.key})
        order = tuple(sorted(follows, key=self.position))
        return Mark(q, "wrong", answer, follows=order, follows_written=self.texts(order), from_yours=from_yours)

    def _follows(self, q: Quantity, answer: Answer, follows: frozenset[str], from_yours: Fraction | None) -> Mark:
        """Right when computed from right answers only, else carried forward from the wrong ones."""
        if not follows:
            self.sources[q.key] = frozenset()
            return Mark(q, "right", answer)
        self.sources[q.key] = frozenset({q.key})
        order = tuple(sorted(follows, key=self.position))
        return Mark(q, "carried", answer, "", order, self.texts(order), from_yours=from_yours)

    def chained_delta(self, q: Quantity) -> _Recomputed | None:
        """An output δ of a cancelling pair by the chain rule from the student's ∂L/∂ŷ; None elsewhere."""
        if q.kind != "delta" or q.layer != len(self.sol.spec.layers) or \
                (self.sol.spec.layers[-1].activation, self.sol.spec.loss) not in CANCELLING:
            return None
        return self.recompute(lambda c: [c.delta_output(q.step, q.unit, q.sample, taught=False)])

    def texts(self, keys: Iterable[str]) -> tuple[str, ...]:
        return tuple(self.answers[k].text for k in keys)

    def position(self, key: str) -> int:
        return self.place[key]

    # -- naming the mistake ----------------------------------------------
    def explain(self, mark: Mark) -> Mark:
        """The wrong mark with the catalogued mistake made in it that explains its number, if any."""
        q, answer = mark.quantity, mark.answer
        tol = tolerance(answer)
        right = self.own_value(q)
        correct = (*right.values, q.value)
        for m in CATALOGUE:
            if q.kind not in m.kinds:
                continue
            slip = self.recompute(lambda c: m.values(c, q))  # noqa: B023
            for variant, v in enumerate(slip.values):
                if any(abs(v - c) <= tol + right.allowance for c in correct):
                    continue  # on this problem the slip gives the right number: it explains nothing
                if abs(answer.value - v) <= tol + slip.allowance:
                    return _named(mark, m, q, self.sol.spec, variant)
        return mark

    def unwritten_before(self, q: Quantity) -> set[str]:
        """The unwritten quantities q is computed from, through unwritten ones only."""
        seen: set[str] = set()
        todo = list(self.inputs_of(q))
        while todo:
            k = todo.pop()
            if k in seen or k in self.answers or k not in self.by_key:
                continue
            seen.add(k)
            todo.extend(self.inputs_of(self.by_key[k]))
        return seen

    def explain_unwritten(self, marks: list[Mark]) -> dict[str, tuple[Mistake, tuple[Quantity, ...], int]]:
        """Catalogued mistakes made in quantities the student did not write that
        explain wrong answers computed from them. A candidate is one slip at one
        unwritten quantity, or the same slip at every unwritten quantity it
        applies to in a step (a student who forgets the 2 forgets it each time);
        every unwritten quantity after it is recomputed from the slipped values.
        The candidate that explains the most answers is named on them, then the
        next, as a marker looks for the one mistake behind a run of wrong numbers."""
        pending = {m.quantity.key: m for m in marks}
        unwritten = sorted(set().union(*(self.unwritten_before(m.quantity) for m in pending.values())),
                           key=self.position)
        if not unwritten:
            return {}
        readers: dict[str, list[str]] = {}  # key -> the unwritten quantities and pending answers that read it
        for k in (*unwritten, *pending):
            for i in self.inputs_of(self.by_key[k]):
                readers.setdefault(i, []).append(k)
        limits = {}
        for k, m in pending.items():
            right = self.own_value(m.quantity)
            limits[k] = (tolerance(m.answer) + right.allowance, (*right.values, m.quantity.value))
        base = _Formulas(self.sol, _reader(self.own))
        # the unwritten work recomputed exactly, and rounded as the student wrote their answers
        variants = [None, *sorted({held_places(m.answer) for m in pending.values()
                                   if m.answer.decimals is not None})]
        candidates = []  # (seeds, catalogue index, mistake, which of its values)
        for n, m in enumerate(CATALOGUE):
            for step in {self.by_key[k].step for k in unwritten}:
                seeds = tuple(self.by_key[k] for k in unwritten
                              if self.by_key[k].kind in m.kinds and self.by_key[k].step == step)
                for p in seeds:
                    values = _attempt(lambda: m.values(base, p)) or []  # noqa: B023
                    candidates += [((p,), n, m, i) for i, v in enumerate(values)
                                   if v not in (self.own[p.key], p.value)]
                if len(seeds) > 1:
                    candidates += [(seeds, n, m, i) for i in range(2)]
        hypotheses = []
        for seeds, n, m, i in candidates:
            got = [self._slipped(seeds, m, i, places, pending, readers) for places in variants]
            explained = frozenset(k for k in got[0] if _explains(pending[k].answer.value, limits[k],
                                                                 [g.get(k) for g in got]))
            if explained:  # most explained, then one slip before many, then the earliest, then the catalogue's order
                hypotheses.append(((len(explained), -len(seeds), -self.position(seeds[0].key), -n),
                                   m, seeds, explained, i))
        named: dict[str, tuple[Mistake, tuple[Quantity, ...], int]] = {}
        hypotheses.sort(key=lambda h: h[0], reverse=True)
        doubtful: set[str] = set()
        for rank, m, seeds, explained, i in hypotheses:
            if explained & (named.keys() | doubtful):  # a slip is named only where no likelier one was
                continue
            # nor where another slip, somewhere else or of another kind, explains as many of these answers:
            # a lone wrong loss fits many slips made in work not shown, and a marker names none of them
            rivals = [h for h in hypotheses if h[3] & explained and h[0][0] >= rank[0]
                      and (h[1].id != m.id or not {q.key for q in h[2]} & {q.key for q in seeds})]
            if rivals or self._any_number_there_explains(seeds, explained, pending, limits, readers):
                doubtful |= explained
                continue
            named.update(dict.fromkeys(explained, (m, seeds, i)))
        return named

    def _any_number_there_explains(self, seeds: tuple[Quantity, ...], explained: frozenset[str],
                                   pending: Mapping[str, Mark], limits: Mapping[str, tuple[Fraction, tuple]],
                                   readers: Mapping[str, list[str]]) -> bool:
        """Whether the answers come out the same with 0 where the slip was: then they tell nothing of
        what was written there. L = 0.5, and nothing before it, is ½(0 − 1)²: any z¹₂ ≤ 0 gives it
        through a dead ReLU, swapped weight indices as well as any other mistake, and a marker names none."""
        zeroed = self._slipped(seeds, _ZERO, 0, None, pending, readers)
        return all(k in zeroed and _explains(pending[k].answer.value, limits[k], [zeroed[k]]) for k in explained)

    def _slipped(self, seeds: tuple[Quantity, ...], m: Mistake, variant: int, places: int | None,
                 pending: Mapping[str, Mark], readers: Mapping[str, list[str]]) -> dict[str, Fraction]:
        """The pending answers' values when the student makes mistake `m` (its
        `variant`-th value) at each of `seeds` and computes every other unwritten
        quantity after them rightly (rounded to `places`; None: not)."""
        base = self.own if places is None else self.chain("own", places, terms=True)
        values = ChainMap({}, base)
        calc = _Formulas(self.sol, _reader(values), places)
        slipped = {p.key for p in seeds}
        changed: set[str] = set()
        todo = sorted(slipped, key=self.position)
        out = {}
        while todo:
            k = todo.pop(0)
            if k in changed:
                continue
            q = self.by_key[k]
            if k in slipped:
                options = _attempt(lambda: m.values(calc, q)) or []  # noqa: B023
                got = options[variant] if variant < len(options) else _attempt(lambda: calc.value(q))  # noqa: B023
            else:
                got = _attempt(lambda: calc.value(q))  # noqa: B023
            if k in pending:
                if got is not None:
                    out[k] = got
                continue
            values.maps[0][k] = got if got is None or places is None else _rounded(got, places)
            changed.add(k)
            todo = sorted(set(todo) | set(readers.get(k, [])), key=self.position)
        return out


# not a slip: a quantity taken as 0, to see whether a slip's number tells anything (_any_number_there_explains)
_ZERO = Mistake("zero", (), "", lambda calc, q: [Fraction(0)])


def _explains(answer: Fraction, limit: tuple[Fraction, tuple], slipped: list[Fraction | None]) -> bool:
    """Whether a slip's values (exact first, then rounded) take in the answer, and
    the exact one is not what the right formula gives."""
    slack, right = limit
    known = [g for g in slipped if g is not None]
    return bool(known) and slipped[0] is not None and all(abs(slipped[0] - c) > slack for c in right) and \
        min(known) - slack <= answer <= max(known) + slack


def mistake_text(mistake_id: str, spec: Spec) -> str:
    """A catalogued mistake in words for this problem, wherever it was made (a class summary's line)."""
    return next(m for m in CATALOGUE if m.id == mistake_id).text(spec)


def _named(mark: Mark, m: Mistake, at: Quantity | tuple[Quantity, ...], spec: Spec, variant: int) -> Mark:
    """The mark with mistake `m` named, made at `at` (this quantity, or unwritten ones), by the
    `variant`-th value of the slip."""
    where = at if isinstance(at, tuple) else (at,)
    words = m.text(spec, where[0], variant)
    if where == (mark.quantity,):
        return replace(mark, note=words, mistake=m.id)
    if len(where) == 1:
        words += f", in {where[0].name} ({where[0].words}, not written down)"
    else:
        names = ", ".join(p.name for p in where[:2]) + (f" and {len(where) - 2} more" if len(where) > 2 else "")
        words += f", each time: in {names} (not written down)"
    return replace(mark, note=words, mistake=m.id, at=where[0].key)


def asked(q: Quantity, parts: Iterable[str] | None) -> bool:
    """Whether an answers file that asks for `parts` (None: everything) asks for q."""
    return parts is None or any(q.kind in PARTS[p] for p in parts)


def check(sol: Solution, answers: Mapping[str, Answer], weights: Mapping[str, Fraction] | None = None,
          parts: Iterable[str] | None = None) -> Marking:
    """Mark every quantity asked for (`parts`, None for all) or answered."""
    parts = None if parts is None else tuple(parts)
    marker = _Marker(sol, answers)
    marks = []
    for q in marker.qs:
        mark = marker.mark(q)
        if mark is None:
            if asked(q, parts):
                marks.append(Mark(q, "missing", None))
            continue
        marks.append(mark)
    marks = [marker.explain(m) if m.verdict == "wrong" else m for m in marks]
    unnamed = [m for m in marks if m.verdict == "wrong" and not m.mistake]
    upstream = marker.explain_unwritten(unnamed) if unnamed else {}
    marks = [_named(m, *upstream[m.quantity.key][:2], sol.spec, upstream[m.quantity.key][2])
             if m.quantity.key in upstream else m for m in marks]
    marks = [_inexact_fraction(m, marker) for m in marks]
    return Marking(tuple(marks), dict(weights or DEFAULT_WEIGHTS), sol.spec.points)


def _inexact_fraction(mark: Mark, marker: _Marker) -> Mark:
    """A wrong fraction that is the value rounded says why it is wrong: a fraction is exact."""
    if mark.verdict != "wrong" or mark.mistake or mark.answer.decimals is not None:
        return mark
    near = [c for c in (*marker.own_value(mark.quantity).values, mark.quantity.value)
            if abs(mark.answer.value - c) <= max(abs(c) / 1000, Fraction(1, 20000))]
    if not near:
        return mark
    return replace(mark, note="a fraction is taken as exact, and this is not the exact value; write a decimal "
                              "for a rounded one")
