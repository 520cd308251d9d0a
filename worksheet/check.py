"""Check stage: a student's answers in, a marking out, as a human marker would.

Contract: pure. `check(sol, answers, weights)` gives every quantity
(`quantities`) a verdict, in the order the computation runs:

- right: within half a unit of the last decimal written (at least
  `MIN_DECIMALS` decimals are asked for), of the exact value or of the value a
  student gets who rounds every earlier quantity to that many decimals; an
  exact fraction must be exact;
- carried: wrong against the key, but right when this quantity is recomputed
  from the student's own earlier answers (error carried forward); the mark
  names the earlier answers it follows from;
- wrong: neither; the mark gives the expected value and, when recomputing
  with one of the catalogued mistakes reproduces the student's number, names
  the mistake;
- missing.

Recomputation uses each quantity's one-step formula (z from the w's, a's and
b's before it; δ from the next layer's δ's; a gradient from δ and a; the
update from η and the gradient) in float64, with a lookup that answers with
the student's value where they gave one and the key's elsewhere.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from .answers import Answer
from .derive import loss_scale, sample_suffix
from .notation import round_half_up
from .quantities import Quantity, eta_name, param_name, quantities
from .solve import Solution

MIN_DECIMALS = 2  # "14" is held to 14.00 ± 0.005, not to ± 0.5
VERDICTS = ("right", "carried", "wrong", "missing")
DEFAULT_WEIGHTS = {"right": Fraction(1), "carried": Fraction(1), "wrong": Fraction(0), "missing": Fraction(0)}


@dataclass(frozen=True)
class Mark:
    quantity: Quantity
    verdict: str  # one of VERDICTS
    answer: Answer | None
    note: str = ""  # the mistake, or what a carried answer follows from
    follows: tuple[str, ...] = ()  # keys of the wrong earlier answers a carried one follows from
    mistake: str = ""  # the catalogue's id

    @property
    def expected(self) -> Fraction:
        return self.quantity.value


@dataclass(frozen=True)
class Marking:
    marks: tuple[Mark, ...]
    weights: Mapping[str, Fraction]

    @property
    def counts(self) -> dict[str, int]:
        return {v: sum(1 for m in self.marks if m.verdict == v) for v in VERDICTS}

    @property
    def first_wrong(self) -> Mark | None:
        return next((m for m in self.marks if m.verdict == "wrong"), None)

    @property
    def score(self) -> Fraction:
        return sum((self.weights[m.verdict] for m in self.marks), Fraction(0))

    @property
    def out_of(self) -> int:
        return len(self.marks)

    def by_key(self) -> dict[str, Mark]:
        return {m.quantity.key: m for m in self.marks}


def tolerance(answer: Answer, exact: float) -> float:
    if answer.decimals is None:  # a fraction is exact
        return 1e-9 * max(1.0, abs(exact))
    return 0.5 * 10.0 ** -max(answer.decimals, MIN_DECIMALS) + 1e-12 * max(1.0, abs(exact))


def _close(answer: Answer, value: float | None, slack: float = 0.0) -> bool:
    """The answer is `value` to its precision, give or take `slack`."""
    return (value is not None and math.isfinite(value)
            and abs(float(answer.value) - value) <= tolerance(answer, value) + slack)


# -- the one-step formulas -----------------------------------------------

Lookup = Callable[[int, str], float]


class _Calc:
    """Each quantity from the ones it is computed from, through `get`."""

    def __init__(self, sol: Solution, get: Lookup):
        self.sol, self.spec, self.get = sol, sol.spec, get
        self.depth = len(self.spec.layers)
        self.scale = float(loss_scale(self.spec))

    # values the formulas read
    def param(self, step: int, group: str, index: tuple[int, ...]) -> float:
        if step == 1:
            values = self.spec.weights[int(group[1:]) - 1] if group[0] == "W" else \
                self.spec.biases[int(group[1:]) - 1]
            for i in index:
                values = values[i - 1]
            return float(values)
        if group in self.spec.frozen:
            return self.param(1, group, index)
        return self.get(step - 1, f"new_{param_name(group, index)}")

    def w(self, step, l, i, j) -> float:
        return self.param(step, f"W{l}", (i, j))

    def b(self, step, l, i) -> float:
        return self.param(step, f"b{l}", (i,)) if self.spec.layers[l - 1].bias else 0.0

    def sfx(self, s: int) -> str:
        return sample_suffix(self.spec, s)

    def a(self, step, l, j, s) -> float:
        if l == 0:
            return float(self.spec.x[s - 1][j - 1])
        return self.get(step, f"a{l}_{j}{self.sfx(s)}")

    def z(self, step, l, i, s) -> float:
        return self.get(step, f"z{l}_{i}{self.sfx(s)}")

    def delta(self, step, l, i, s) -> float:
        return self.get(step, f"delta{l}_{i}{self.sfx(s)}")

    def dyhat(self, step, k, s) -> float:
        return self.get(step, f"dL_dyhat{k}{self.sfx(s)}")

    def fan_in(self, l: int) -> int:
        return self.spec.inputs if l == 1 else self.spec.layers[l - 2].units

    def units(self, l: int) -> int:
        return self.spec.layers[l - 1].units

    # activations
    def f(self, l: int, zs: list[float], i: int) -> float:
        layer = self.spec.layers[l - 1]
        z = zs[i - 1]
        kind = layer.activation
        if kind == "identity":
            return z
        if kind == "relu":
            return max(z, 0.0)
        if kind == "leaky_relu":
            return z if z > 0 else float(layer.slope) * z
        if kind == "sigmoid":
            return 1 / (1 + math.exp(-z)) if z > -700 else 0.0
        if kind == "tanh":
            return math.tanh(z)
        top = max(zs)
        es = [math.exp(v - top) for v in zs]
        return es[i - 1] / sum(es)

    def fprime(self, l: int, z: float, a: float) -> float:
        layer = self.spec.layers[l - 1]
        kind = layer.activation
        if kind == "identity":
            return 1.0
        if kind == "relu":
            return 1.0 if z > 0 else 0.0
        if kind == "leaky_relu":
            return 1.0 if z > 0 else float(layer.slope)
        if kind == "sigmoid":
            return a * (1 - a)
        return 1 - a * a  # tanh

    def element_loss(self, yhat: float, y: float) -> float:
        kind = self.spec.loss
        if kind == "half_sse":
            return (yhat - y) ** 2 / 2
        if kind in ("sse", "mse"):
            return (yhat - y) ** 2
        if kind == "bce":
            return -(y * math.log(yhat) + (1 - y) * math.log(1 - yhat))
        return -y * math.log(yhat)

    def element_grad(self, yhat: float, y: float) -> float:
        kind = self.spec.loss
        if kind == "half_sse":
            return yhat - y
        if kind in ("sse", "mse"):
            return 2 * (yhat - y)
        if kind == "bce":
            return -y / yhat + (1 - y) / (1 - yhat)
        return -y / yhat

    def upstream(self, step, l, i, s, weight=None) -> float:
        """Σ_k δ^(l+1)_k · w^(l+1)_ki, the part of δ^(l)_i that comes from above."""
        weight = weight or self.w
        return sum(self.delta(step, l + 1, k, s) * weight(step, l + 1, k, i) for k in range(1, self.units(l + 1) + 1))

    def delta_output(self, step, i, s, derivative=True) -> float:
        l = self.depth
        if self.spec.layers[-1].activation == "softmax":
            ak = [self.a(step, l, k, s) for k in range(1, self.units(l) + 1)]
            return sum(self.dyhat(step, k, s) * ak[k - 1] * ((1 if k == i else 0) - ak[i - 1])
                       for k in range(1, len(ak) + 1))
        d = self.fprime(l, self.z(step, l, i, s), self.a(step, l, i, s)) if derivative else 1.0
        return self.dyhat(step, i, s) * d

    def grad_of(self, step, group, index) -> float:
        return self.get(step, f"d{param_name(group, index)}")

    def velocity_of(self, step, group, index) -> float:
        if self.spec.momentum:
            return self.get(step, f"v_{param_name(group, index)}")
        return self.grad_of(step, group, index)

    # the formula of each kind
    def value(self, q: Quantity) -> float:
        n, l, i, s = q.step, q.layer, q.unit, q.sample
        spec = self.spec
        if q.kind == "z":
            return sum(self.w(n, l, i, j) * self.a(n, l - 1, j, s) for j in range(1, self.fan_in(l) + 1)) + \
                self.b(n, l, i)
        if q.kind == "a":
            if spec.layers[l - 1].activation == "softmax":  # every z of the layer, written before any a
                return self.f(l, [self.z(n, l, k, s) for k in range(1, self.units(l) + 1)], i)
            return self.f(l, [self.z(n, l, i, s)], 1)
        if q.kind == "loss":
            return self.scale * sum(self.element_loss(self.a(n, self.depth, k, t), float(spec.y[t - 1][k - 1]))
                                    for t in range(1, len(spec.x) + 1) for k in range(1, self.units(self.depth) + 1))
        if q.kind == "dyhat":
            return self.scale * self.element_grad(self.a(n, self.depth, i, s), float(spec.y[s - 1][i - 1]))
        if q.kind == "delta":
            if l == self.depth:
                return self.delta_output(n, i, s)
            return self.upstream(n, l, i, s) * self.fprime(l, self.z(n, l, i, s), self.a(n, l, i, s))
        if q.kind == "grad":
            samples = range(1, len(spec.x) + 1)
            if q.group[0] == "W":
                j = q.index[1]
                return sum(self.delta(n, l, i, t) * self.a(n, l - 1, j, t) for t in samples)
            return sum(self.delta(n, l, i, t) for t in samples)
        if q.kind == "velocity":
            g = self.grad_of(n, q.group, q.index)
            if n == 1:
                return g
            return float(spec.momentum) * self.get(n - 1, f"v_{param_name(q.group, q.index)}") + g
        if q.kind == "eta":
            return float(spec.learning_rate) * self.velocity_of(n, q.group, q.index)
        if q.kind == "new":
            return self.param(n, q.group, q.index) - self.get(n, eta_name(param_name(q.group, q.index),
                                                                          bool(spec.momentum)))
        raise ValueError(f"unknown kind {q.kind}")


# -- the catalogue of mistakes --------------------------------------------

@dataclass(frozen=True)
class Mistake:
    id: str
    kinds: tuple[str, ...]
    words: str  # {l} is the quantity's layer, {next} the one above
    values: Callable[[_Calc, Quantity], list[float]]  # what the slip gives; empty where it cannot apply


def _half(c: _Calc, q: Quantity) -> list[float]:
    return [2 * c.value(q)] if c.spec.loss == "half_sse" else []


def _mean_sum(c: _Calc, q: Quantity) -> list[float]:
    n = len(c.spec.x)
    k = c.units(c.depth) if c.spec.loss in ("mse", "bce") else 1
    factors = {n, n * k, k} - {1}
    v = c.value(q)
    return [v * f for f in factors] + [v / f for f in factors]


def _no_derivative(c: _Calc, q: Quantity) -> list[float]:
    if c.spec.layers[q.layer - 1].activation in ("identity", "softmax"):
        return []
    if q.layer == c.depth:
        return [c.delta_output(q.step, q.unit, q.sample, derivative=False)]
    return [c.upstream(q.step, q.layer, q.unit, q.sample)]


def _upstream_times(c: _Calc, q: Quantity, factor: float) -> float:
    if q.layer == c.depth:
        return c.dyhat(q.step, q.unit, q.sample) * factor
    return c.upstream(q.step, q.layer, q.unit, q.sample) * factor


def _sigma_for_derivative(c: _Calc, q: Quantity) -> list[float]:
    if c.spec.layers[q.layer - 1].activation not in ("sigmoid", "tanh"):
        return []
    a = c.a(q.step, q.layer, q.unit, q.sample)
    return [_upstream_times(c, q, a)]


def _derivative_at_a(c: _Calc, q: Quantity) -> list[float]:
    kind = c.spec.layers[q.layer - 1].activation
    a = c.a(q.step, q.layer, q.unit, q.sample)
    z = c.z(q.step, q.layer, q.unit, q.sample)
    if kind == "sigmoid":  # σ′ taken at a instead of z, or a(1 − a) written with z
        s = 1 / (1 + math.exp(-a))
        return [_upstream_times(c, q, s * (1 - s)), _upstream_times(c, q, z * (1 - z))]
    if kind == "tanh":
        return [_upstream_times(c, q, 1 - math.tanh(a) ** 2), _upstream_times(c, q, 1 - z * z)]
    return []


def _sign(c: _Calc, q: Quantity) -> list[float]:
    old = c.param(q.step, q.group, q.index)
    return [old + c.get(q.step, eta_name(param_name(q.group, q.index), bool(c.spec.momentum)))]


def _no_rate(c: _Calc, q: Quantity) -> list[float]:
    g = c.velocity_of(q.step, q.group, q.index)
    return [g] if q.kind == "eta" else [c.param(q.step, q.group, q.index) - g]


def _rate_twice(c: _Calc, q: Quantity) -> list[float]:
    lr = float(c.spec.learning_rate)
    g = c.velocity_of(q.step, q.group, q.index)
    return [lr * lr * g] if q.kind == "eta" else [c.param(q.step, q.group, q.index) - lr * lr * g]


def _sequential(c: _Calc, q: Quantity) -> list[float]:
    if q.layer == c.depth or f"W{q.layer + 1}" in c.spec.frozen:
        return []

    def updated(step, l, i, j):
        return c.get(step, f"new_W{l}_{i}_{j}")

    up = c.upstream(q.step, q.layer, q.unit, q.sample, weight=updated)
    return [up * c.fprime(q.layer, c.z(q.step, q.layer, q.unit, q.sample),
                          c.a(q.step, q.layer, q.unit, q.sample))]


def _transposed(c: _Calc, q: Quantity) -> list[float]:
    """w_ji for w_ij: only a square weight matrix lets a student swap them."""
    n, l, i, s = q.step, q.layer, q.unit, q.sample
    if q.kind == "z":
        if c.fan_in(l) != c.units(l):
            return []
        return [sum(c.w(n, l, j, i) * c.a(n, l - 1, j, s) for j in range(1, c.fan_in(l) + 1)) + c.b(n, l, i)]
    if q.layer == c.depth or c.units(l + 1) != c.units(l):
        return []
    up = sum(c.delta(n, l + 1, k, s) * c.w(n, l + 1, i, k) for k in range(1, c.units(l + 1) + 1))
    return [up * c.fprime(l, c.z(n, l, i, s), c.a(n, l, i, s))]


def _input_left_out(c: _Calc, q: Quantity) -> list[float]:
    if q.group[0] != "W":
        return []
    return [sum(c.delta(q.step, q.layer, q.unit, t) for t in range(1, len(c.spec.x) + 1))]


def _bias_as_weight(c: _Calc, q: Quantity) -> list[float]:
    if q.group[0] != "b":
        return []
    samples = range(1, len(c.spec.x) + 1)
    return [sum(c.delta(q.step, q.layer, q.unit, t) * c.a(q.step, q.layer - 1, j, t) for t in samples)
            for j in range(1, c.fan_in(q.layer) + 1)]


def _before_activation(c: _Calc, q: Quantity) -> list[float]:
    if c.spec.layers[q.layer - 1].activation == "identity":
        return []
    return [c.z(q.step, q.layer, q.unit, q.sample)]


def _after_activation(c: _Calc, q: Quantity) -> list[float]:
    if c.spec.layers[q.layer - 1].activation in ("identity", "softmax"):
        return []
    z = c.value(q)
    return [c.f(q.layer, [z], 1)]


CATALOGUE: tuple[Mistake, ...] = (
    Mistake("half", ("loss", "dyhat"), "the ½ of the loss is left out (a factor 2)", _half),
    Mistake("mean_sum", ("loss", "dyhat"), "the mean and the sum are confused (a factor of the number of "
            "samples or outputs)", _mean_sum),
    Mistake("no_derivative", ("delta",), "the activation's derivative (ReLU′ or σ′) is left out of δ", _no_derivative),
    Mistake("sigma_for_derivative", ("delta",), "σ(z) is used where its derivative σ′(z) = σ(z)(1 − σ(z)) belongs",
            _sigma_for_derivative),
    Mistake("derivative_at_a", ("delta",), "the activation's derivative is taken at a instead of at z",
            _derivative_at_a),
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
    Mistake("sign", ("new",), "η·∂L/∂p is added instead of subtracted (the update's sign is flipped)", _sign),
    Mistake("no_rate", ("eta", "new"), "the learning rate η is left out", _no_rate),
    Mistake("rate_twice", ("eta", "new"), "the learning rate η is applied twice", _rate_twice),
)


# -- marking ---------------------------------------------------------------

def _rounded_chain(sol: Solution, qs: tuple[Quantity, ...], decimals: int) -> dict[str, float]:
    """What a student gets who rounds every quantity to `decimals` as they go."""
    chain: dict[str, float] = {}

    def get(step: int, name: str) -> float:
        return chain[f"step{step}.{name}"]

    calc = _Calc(sol, get)
    for q in qs:
        try:
            # as a student rounds the decimals they see: repr, not the binary value
            chain[q.key] = float(round_half_up(Decimal(repr(calc.value(q))), decimals))
        except (ValueError, ZeroDivisionError, OverflowError, KeyError):
            chain[q.key] = float(q.value)
    return chain


def check(sol: Solution, answers: Mapping[str, Answer],
          weights: Mapping[str, Fraction] | None = None) -> Marking:
    qs = quantities(sol)
    key = {q.key: float(q.value) for q in qs}
    chains = {d: _rounded_chain(sol, qs, d) for d in {a.decimals for a in answers.values()
                                                      if a.decimals is not None and a.decimals >= MIN_DECIMALS}}
    verdicts: dict[str, str] = {}
    used: list[str] = []
    nudged: dict[str, float] = {}

    def own(step: int, name: str) -> float:
        k = f"step{step}.{name}"
        used.append(k)
        if k in nudged:
            return nudged[k]
        answer = answers.get(k)
        return float(answer.value) if answer is not None else key[k]

    def recompute(fn: Callable[[], list[float]]) -> tuple[list[tuple[float, float]], list[str]]:
        """(value, allowance) pairs and the answers they were computed from. The
        allowance is what the written answers' own rounding can move the value:
        each input nudged by half a unit of its last decimal, in turn."""
        used.clear()
        values = _safe(fn) or []
        inputs = list(dict.fromkeys(used))
        allowance = [0.0] * len(values)
        for k in inputs:
            answer = answers.get(k)
            if answer is None or answer.decimals is None:
                continue
            nudged[k] = float(answer.value) + tolerance(answer, float(answer.value))
            moved = _safe(fn) or []
            del nudged[k]
            for n, (v, w) in enumerate(zip(values, moved)):
                allowance[n] += abs(w - v)
        return list(zip(values, allowance)), inputs

    def matches(answer: Answer, candidates: list[tuple[float, float]]) -> bool:
        return any(_close(answer, v, slack) for v, slack in candidates)

    calc = _Calc(sol, own)
    marks = []
    for q in qs:
        answer = answers.get(q.key)
        if answer is None:
            verdicts[q.key] = "missing"
            marks.append(Mark(q, "missing", None))
            continue
        exact = key[q.key]
        rounded = answer.decimals is not None and answer.decimals >= MIN_DECIMALS
        if _close(answer, exact) or (rounded and _close(answer, chains[answer.decimals][q.key])):
            verdicts[q.key] = "right"
            marks.append(Mark(q, "right", answer))
            continue
        candidates, used_keys = recompute(lambda: [calc.value(q)])  # noqa: B023
        inputs = [k for k in used_keys if verdicts.get(k) in ("wrong", "carried")]
        if inputs and matches(answer, candidates):
            verdicts[q.key] = "carried"
            names = ", ".join(f"{k.split('.', 1)[1]} = {answers[k].text}" +
                              (f" (step {k[4:].split('.')[0]})" if not k.startswith(f"step{q.step}.") else "")
                              for k in inputs)
            marks.append(Mark(q, "carried", answer, f"right from your {names}", tuple(inputs)))
            continue
        verdicts[q.key] = "wrong"
        mistake = next((m for m in CATALOGUE if q.kind in m.kinds
                        and matches(answer, recompute(lambda: m.values(calc, q))[0])), None)  # noqa: B023
        note = mistake.words.format(l=q.layer, next=q.layer + 1) if mistake is not None else ""
        marks.append(Mark(q, "wrong", answer, note, mistake=mistake.id if mistake else ""))
    return Marking(tuple(marks), dict(weights or DEFAULT_WEIGHTS))


def _safe(fn):
    try:
        return fn()
    except (ValueError, ZeroDivisionError, OverflowError, KeyError, IndexError):
        return None
