"""The answer checker, against a simulated student written here from scratch:
a student who works the whole sheet by hand (exactly, as with pencil and
paper; e^x from a calculator), optionally makes one catalogued slip at one
place and carries their own numbers on from there, optionally rounds every
number as they go, half up, as taught."""

import functools
import html as html_module
import math
import random
import re
from decimal import ROUND_HALF_DOWN, ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal, localcontext
from fractions import Fraction as F

import numpy
import pytest
from conftest import EXAMPLES, ROOT, load

from worksheet.answers import AnswersError, answers_template, parse_answers
from worksheet.check import check
from worksheet.cli import main
from worksheet.quantities import quantities
from worksheet.solve import solve
from worksheet.spec import builtin_text, parse_spec

BATCH_SIGMOID = """
title = "two samples, a sigmoid layer, mean squared error"
[network]
inputs = 2
layers = [{ units = 2, activation = "sigmoid" }, { units = 1, activation = "identity" }]
[[init.layers]]
W = [[0.3, -0.2], [0.1, 0.4]]
b = [0.1, -0.1]
[[init.layers]]
W = [[0.5, -0.6]]
b = [0.2]
[data]
x = [[1, 2], [-1, 0.5]]
y = [[0.5], [-0.5]]
[training]
loss = "mse"
learning_rate = 0.1
steps = 2
"""


# Ties broken toward +∞ or −∞ whatever the sign (JavaScript's Math.round breaks them toward +∞): the
# decimal module has no such half-rounding mode, so `rounded` breaks those ties itself.
HALF_CEILING, HALF_FLOOR = "half toward +inf", "half toward -inf"


def rounded(v: F, decimals: int | None, ties: str = ROUND_HALF_UP) -> F:
    """Schoolbook rounding of an exact value: a tie goes away from zero (or as `ties` says:
    ROUND_HALF_DOWN toward zero, ROUND_HALF_EVEN to even, HALF_CEILING up, HALF_FLOOR down)."""
    if decimals is None:
        return v
    if ties in (HALF_CEILING, HALF_FLOOR):
        scaled = v * 10**decimals
        if scaled.denominator == 2:
            return F(math.ceil(scaled) if ties == HALF_CEILING else math.floor(scaled), 10**decimals)
        ties = ROUND_HALF_UP  # not a tie: every half rule gives the nearest
    with localcontext() as ctx:
        ctx.prec = 100
        d = Decimal(v.numerator) / Decimal(v.denominator)
        return F(d.quantize(Decimal(1).scaleb(-decimals), rounding=ties))


class Student:
    """Works a dense network by hand: any activation the README lists, any
    loss, plain SGD or momentum. `slip` = (key, mistake) makes one mistake at
    one quantity; every later number is computed, correctly, from the
    student's own. e^x, log and tanh come from a calculator (float64). `ties`: how they round a
    tie; `taught`: softmax with cross-entropy and sigmoid with BCE, each output δ written as the
    course's scale·(ŷ − y) from their own ŷ, not by the chain rule from their ∂L/∂ŷ."""

    def __init__(self, spec, slip=(None, None), decimals=None, terms=False, ties=ROUND_HALF_UP, taught=False):
        self.spec, self.slip, self.decimals, self.terms = spec, slip, decimals, terms
        self.ties, self.taught = ties, taught
        self.values: dict[str, F] = {}

    def term(self, v: F) -> F:
        """A product or one sample's loss inside a sum: written down (rounded) first by a student who
        works that way."""
        return rounded(v, self.decimals, self.ties) if self.terms else v

    def put(self, key: str, correct: F, wrong=None) -> F:
        v = wrong() if self.slip[0] == key and wrong is not None else correct
        v = rounded(v, self.decimals(key) if callable(self.decimals) else self.decimals, self.ties)
        self.values[key] = v
        return v

    def mistake(self, key: str, name: str) -> bool:
        return self.slip == (key, name)

    def alternative(self, key: str, slips: dict):
        """The slip's computation when this quantity is where the student slips."""
        return slips.get(self.slip[1]) if self.slip[0] == key else None

    def scale(self) -> F:
        """The factor before the sum of per-element losses (the README's table)."""
        spec = self.spec
        n, k = len(spec.x), spec.layers[-1].units
        if spec.reduction == "sum":
            return F(1)
        return F(1, n * k) if spec.loss in ("mse", "bce") else F(1, n)

    def work(self) -> dict[str, F]:
        spec = self.spec
        L = len(spec.layers)
        W = [[[F(v) for v in row] for row in w] for w in spec.weights]
        B = [[F(v) for v in b] if b is not None else None for b in spec.biases]
        V: dict[tuple, F] = {}  # momentum buffers
        n_samples = len(spec.x)
        K = spec.layers[-1].units
        scale = self.scale()
        for step in range(1, spec.steps + 1):
            p = f"step{step}."

            def sfx(s):
                return f"_s{s}" if n_samples > 1 else ""

            acts, zs = {}, {}
            for s in range(1, n_samples + 1):
                a_prev = [F(v) for v in spec.x[s - 1]]
                acts[0, s] = a_prev
                for l, layer in enumerate(spec.layers, start=1):
                    z_list = []
                    for i in range(layer.units):
                        w, bias = W[l - 1], (B[l - 1][i] if B[l - 1] else 0)
                        correct = sum(self.term(w[i][j] * a_prev[j]) for j in range(len(a_prev))) + bias
                        key = f"{p}z{l}_{i + 1}{sfx(s)}"
                        z_list.append(self.put(key, correct, self.alternative(key, {
                            "transposed": lambda w=w, i=i, a_prev=a_prev, bias=bias: sum(
                                w[j][i] * a_prev[j] for j in range(len(a_prev))) + bias,
                            "after_activation": lambda c=correct, layer=layer: act(layer, [c], 0),
                        })))
                    a_list = []
                    for i in range(layer.units):
                        key = f"{p}a{l}_{i + 1}{sfx(s)}"
                        a_list.append(self.put(key, act(layer, z_list, i), (lambda z=z_list[i]: z)
                                               if self.mistake(key, "before_activation") else None))
                    zs[l, s], acts[l, s] = z_list, a_list
                    a_prev = a_list
            ys = [[F(v) for v in row] for row in spec.y]
            correct_loss = scale * sum(self.term(element_loss(spec.loss, acts[L, s][k], ys[s - 1][k]))
                                       for s in range(1, n_samples + 1) for k in range(K))
            key = p + "L"
            self.put(key, correct_loss, (lambda: 2 * correct_loss) if self.mistake(key, "half") else
                     (lambda: correct_loss * n_samples) if self.mistake(key, "mean_sum") else None)
            deltas = {}
            for s in range(1, n_samples + 1):
                dys = []
                for k in range(K):
                    correct = scale * element_grad(spec.loss, acts[L, s][k], ys[s - 1][k])
                    key = f"{p}dL_dyhat{k + 1}{sfx(s)}"
                    dys.append(self.put(key, correct, (lambda c=correct: 2 * c) if self.mistake(key, "half") else
                                        (lambda c=correct: c / 2) if self.mistake(key, "square_two") else
                                        (lambda c=correct: -c) if self.mistake(key, "flipped") else None))
                for l in range(L, 0, -1):
                    layer = spec.layers[l - 1]
                    d_list = []
                    for i in range(layer.units):
                        z, a = zs[l, s][i], acts[l, s][i]
                        key = f"{p}delta{l}_{i + 1}{sfx(s)}"
                        if l == L and self.taught and (layer.activation, spec.loss) in (
                                ("softmax", "cross_entropy"), ("sigmoid", "bce")):
                            ys_ = ys[s - 1]
                            total = sum(ys_) if spec.loss == "cross_entropy" else 1
                            taught = scale * (acts[L, s][i] * total - ys_[i])
                            d_list.append(self.put(key, taught, (lambda t=taught: -t)  # y − ŷ for ŷ − y
                                                   if self.mistake(key, "flipped") else None))
                            continue
                        if l == L and layer.activation == "softmax":
                            ak = acts[L, s]
                            d_list.append(self.put(key, sum(dys[k] * ak[k] * ((1 if k == i else 0) - ak[i])
                                                            for k in range(K))))
                            continue
                        if l == L:
                            up = dys[i]
                        else:
                            up = sum(self.term(deltas[l + 1, s][k] * W[l][k][i]) for k in range(spec.layers[l].units))

                        def sequential(l=l, s=s, i=i, z=z, a=a, layer=layer):
                            # layer l+1's weights already updated with its own gradient
                            new = [[W[l][k][j] - F(spec.learning_rate) * sum(
                                deltas[l + 1, t][k] * acts[l, t][j] for t in range(1, n_samples + 1))
                                for j in range(len(W[l][k]))] for k in range(len(W[l]))]
                            return sum(deltas[l + 1, s][k] * new[k][i] for k in range(len(new))) * deriv(layer, z, a)

                        wrong = self.alternative(key, {
                            "no_derivative": lambda up=up: up,
                            "sigma_for_derivative": lambda up=up, a=a: up * a,
                            "derivative_at_a": lambda up=up, a=a, layer=layer: up * deriv(layer, a, act(layer, [a], 0)),
                            # σ′ = a(1 − a) or tanh′ = 1 − a² written with z for a
                            "derivative_with_z": lambda up=up, z=z, layer=layer: up * deriv(layer, z, z),
                            "sequential": sequential,
                            "transposed": lambda l=l, s=s, i=i, z=z, a=a, layer=layer: sum(
                                deltas[l + 1, s][k] * W[l][i][k] for k in range(spec.layers[l].units))
                                * deriv(layer, z, a),
                            "flipped": lambda up=up, z=z, a=a, layer=layer: -up * deriv(layer, z, a),
                        })
                        d_list.append(self.put(key, up * deriv(layer, z, a), wrong))
                    deltas[l, s] = d_list
            grads = {}
            for l in range(L, 0, -1):
                units, fan = spec.layers[l - 1].units, len(acts[l - 1, 1])
                if f"W{l}" not in spec.frozen:
                    for i in range(units):
                        for j in range(fan):
                            correct = sum(self.term(deltas[l, s][i] * acts[l - 1, s][j])
                                          for s in range(1, n_samples + 1))
                            key = f"{p}dW{l}_{i + 1}_{j + 1}"
                            grads[f"W{l}", i, j] = self.put(key, correct, (lambda l=l, i=i: sum(
                                deltas[l, s][i] for s in range(1, n_samples + 1)))
                                if self.mistake(key, "input_left_out") else None)
                if B[l - 1] is not None and f"b{l}" not in spec.frozen:
                    for i in range(units):
                        correct = sum(deltas[l, s][i] for s in range(1, n_samples + 1))
                        key = f"{p}db{l}_{i + 1}"
                        grads[f"b{l}", i, None] = self.put(key, correct, (lambda l=l, i=i: sum(
                            deltas[l, s][i] * acts[l - 1, s][0] for s in range(1, n_samples + 1)))
                            if self.mistake(key, "bias_as_weight") else None)
            lr, mu = F(spec.learning_rate), F(spec.momentum)
            for l in range(1, L + 1):
                for group in (f"W{l}", f"b{l}"):
                    if group in spec.frozen or (group[0] == "b" and B[l - 1] is None):
                        continue
                    cells = ([(i, j) for i in range(len(W[l - 1])) for j in range(len(W[l - 1][0]))]
                             if group[0] == "W" else [(i, None) for i in range(len(B[l - 1]))])
                    for i, j in cells:
                        name = f"{group}_{i + 1}" + (f"_{j + 1}" if j is not None else "")
                        g = grads[group, i, j]
                        if mu:
                            v = self.term(mu * V[group, i, j]) + g if step > 1 else g
                            g = V[group, i, j] = self.put(f"{p}v_{name}", v)
                        key = f"{p}eta_{'v_' if mu else 'd'}{name}"
                        eta = self.put(key, lr * g, (lambda g=g: g) if self.mistake(key, "no_rate") else
                                       (lambda g=g: lr * lr * g) if self.mistake(key, "rate_twice") else None)
                        old = W[l - 1][i][j] if j is not None else B[l - 1][i]
                        key = f"{p}new_{name}"
                        new = self.put(key, old - eta, (lambda old=old, eta=eta: old + eta)
                                       if self.mistake(key, "sign") else None)
                        if j is not None:
                            W[l - 1][i][j] = new
                        else:
                            B[l - 1][i] = new
        return self.values


def act(layer, zs: list[F], i: int) -> F:
    """Unit i's activation from its layer's z's."""
    z = zs[i]
    if layer.activation == "sigmoid":  # a calculator's e^x
        return F(1 / (1 + math.exp(-float(z))))
    if layer.activation == "tanh":
        return F(math.tanh(float(z)))
    if layer.activation == "softmax":
        es = [math.exp(float(v)) for v in zs]
        return F(es[i] / sum(es))
    if layer.activation == "relu":
        return max(z, F(0))
    if layer.activation == "leaky_relu":
        return z if z > 0 else F(layer.slope) * z
    return z


def deriv(layer, z: F, a: F) -> F:
    if layer.activation == "sigmoid":
        return a * (1 - a)
    if layer.activation == "tanh":
        return 1 - a * a
    if layer.activation == "relu":
        return F(1 if z > 0 else 0)
    if layer.activation == "leaky_relu":
        return F(1) if z > 0 else F(layer.slope)
    return F(1)


def element_loss(loss: str, yhat: F, y: F) -> F:
    if loss == "half_sse":
        return (yhat - y) ** 2 / 2
    if loss in ("sse", "mse"):
        return (yhat - y) ** 2
    if loss == "bce":
        return -(y * F(math.log(float(yhat))) + (1 - y) * F(math.log(float(1 - yhat))))
    return -y * F(math.log(float(yhat)))


def element_grad(loss: str, yhat: F, y: F) -> F:
    if loss == "half_sse":
        return yhat - y
    if loss in ("sse", "mse"):
        return 2 * (yhat - y)
    if loss == "bce":
        return -y / yhat + (1 - y) / (1 - yhat)
    return -y / yhat


def answers_text(sol, values: dict[str, F], decimals=4, leave_out=(), trim=False) -> str:
    """The template `worksheet answers` writes, filled in as the student would type it."""
    out, step = [], 0
    for line in answers_template(sol).splitlines():
        if m := re.match(r"\[step(\d+)\]", line):
            step = int(m[1])
        if (m := re.match(r'(\w+) = ""', line)) and step:
            key = f"step{step}.{m[1]}"
            if key not in leave_out:
                places = decimals(key) if callable(decimals) else decimals
                line = f'{m[1]} = "{written(values[key], places, trim)}"' + line[line.index("  #"):]
        out.append(line)
    return "\n".join(out) + "\n"


def written(v: F, decimals: int, trim: bool = False) -> str:
    """v to `decimals` places as a student writes it (rounded half up); with
    `trim`, without trailing zeros, as many do (0.2 for 0.20, 3 for 3.00)."""
    text = f"{Decimal(rounded(v, decimals).numerator) / Decimal(rounded(v, decimals).denominator):.{decimals}f}"
    text = "0." + "0" * decimals if text.strip("-0.") == "" else text
    return text.rstrip("0").rstrip(".") if trim and "." in text else text


def mark(spec, values, decimals=4, leave_out=()):
    sol = solve(spec)
    return check(sol, parse_answers(answers_text(sol, values, decimals, leave_out), "answers.toml", sol))


def assert_marked_as_worked(marking, values: dict[str, F], right: dict[str, F], slipped: set[str]) -> None:
    """Every written number as a careful marker marks it: wrong where the student slipped, carried
    forward (never right) where the slip moved it beyond what rounding to 4 decimals as you go can
    (0.001), right where it did not move it at all; in between, right or carried (a number moved by
    less than rounding can go either way)."""
    for m in marking.marks:
        if m.answer is None:
            continue
        key = m.quantity.key
        moved = abs(values[key] - right[key])
        if key in slipped:
            assert m.verdict == "wrong", (key, m.verdict, m.note)
        elif moved > F(1, 1000):
            assert m.verdict == "carried" and m.follows, (key, m.verdict, m.note)
        elif moved == 0:
            assert m.verdict == "right", (key, m.verdict, m.note)
        else:
            assert m.verdict in ("right", "carried"), (key, m.verdict, m.note)


SPECS = {
    "builtin": lambda: parse_spec(builtin_text(), "builtin"),
    "batch": lambda: parse_spec(BATCH_SIGMOID, "batch"),
    **{path.stem: (lambda path=path: load(path.stem)) for path in EXAMPLES},
}


@pytest.mark.parametrize("name", SPECS)
def test_the_simulated_student_agrees_with_the_engine(name):
    """The test's own student and the solver are written apart; they must agree first."""
    spec = SPECS[name]()
    values = Student(spec).work()
    key = {q.key: float(q.value) for q in quantities(solve(spec))}
    assert values.keys() == key.keys()
    for k, v in values.items():
        assert float(v) == pytest.approx(key[k], rel=1e-12, abs=1e-12), k


@pytest.mark.parametrize("name", SPECS)
def test_a_fully_right_sheet_is_all_right(name):
    spec = SPECS[name]()
    marking = mark(spec, Student(spec).work())
    assert marking.counts == {"right": len(marking.marks), "carried": 0, "wrong": 0, "missing": 0}
    assert marking.first_wrong is None


@pytest.mark.parametrize("decimals", [2, 3, 4])
@pytest.mark.parametrize("name", SPECS)
def test_rounding_every_step_as_you_go_is_all_right(name, decimals):
    spec = SPECS[name]()
    marking = mark(spec, Student(spec, decimals=decimals).work(), decimals=decimals)
    wrong = [(m.quantity.key, m.answer.text, float(m.quantity.value), m.note)
             for m in marking.marks if m.verdict != "right" or m.mistake]
    assert not wrong


# Distinct weights everywhere (no symmetric matrix hides a transposition) and
# one dead ReLU unit (z²₁ < 0), so that leaving ReLU′ out changes a number.
DISTINCT_RELU = """
title = "2-2-2-1 ReLU, distinct weights"
[network]
inputs = 2
layers = [{ units = 2, activation = "relu" }, { units = 2, activation = "relu" },
          { units = 1, activation = "identity" }]
[[init.layers]]
W = [[0.5, -0.3], [0.2, 0.8]]
b = [0.1, -0.2]
[[init.layers]]
W = [[0.6, -0.5], [0.3, 0.9]]
b = [0.05, 0.1]
[[init.layers]]
W = [[0.7, -0.4]]
b = [0.2]
[data]
x = [1.5, 1]
y = [0.5]
[training]
loss = "half_sse"
learning_rate = 0.1
steps = 2
"""
SPECS["distinct"] = lambda: parse_spec(DISTINCT_RELU, "distinct")

SLIPS = [  # (problem, where, mistake): each changes the number there
    ("distinct", "step1.L", "half"),
    ("distinct", "step1.dL_dyhat1", "half"),
    ("distinct", "step1.delta2_1", "no_derivative"),
    ("distinct", "step1.delta1_1", "sequential"),
    ("distinct", "step1.z2_2", "transposed"),
    ("distinct", "step2.delta1_1", "transposed"),
    ("distinct", "step1.dW1_2_1", "input_left_out"),
    ("distinct", "step1.db2_2", "bias_as_weight"),
    ("distinct", "step1.z2_1", "after_activation"),
    ("distinct", "step1.a2_1", "before_activation"),
    ("distinct", "step1.eta_dW3_1_2", "no_rate"),
    ("distinct", "step2.eta_dW1_1_2", "rate_twice"),
    ("distinct", "step1.new_W2_2_1", "sign"),
    ("builtin", "step1.L", "half"),
    ("builtin", "step1.dL_dyhat1", "half"),
    ("builtin", "step1.delta2_1", "sequential"),
    ("builtin", "step1.dW1_1_1", "input_left_out"),
    ("builtin", "step1.db1_2", "bias_as_weight"),
    ("builtin", "step1.eta_dW3_1_1", "no_rate"),
    ("builtin", "step2.eta_dW2_1_2", "rate_twice"),
    ("builtin", "step1.new_W3_1_2", "sign"),
    ("mazur", "step1.z2_1", "transposed"),
    ("mazur", "step1.z1_2", "after_activation"),
    ("mazur", "step1.a1_1", "before_activation"),
    ("mazur", "step1.delta1_1", "no_derivative"),
    ("mazur", "step1.delta2_2", "sigma_for_derivative"),
    ("mazur", "step1.delta1_2", "derivative_at_a"),
    ("mazur", "step1.delta2_1", "no_derivative"),
    ("batch", "step1.L", "mean_sum"),
    ("batch", "step1.dL_dyhat1_s2", "square_two"),
    ("batch-momentum", "step2.dL_dyhat1_s3", "square_two"),
    ("batch", "step2.delta1_2_s2", "sigma_for_derivative"),
    ("mazur", "step1.delta1_1", "sequential"),
    ("distinct", "step1.dL_dyhat1", "flipped"),
    ("mazur", "step1.dL_dyhat2", "flipped"),
    ("bce", "step1.delta2_1_s1", "flipped"),  # the taught δ = ŷ − y written y − ŷ (a trial's student did)
    # a hidden δ of the right size and the wrong sign, which was named "tanh′ written 1 − z²" (z¹₁ near 1)
    ("bce", "step1.delta1_1_s1", "flipped"),
]


@pytest.mark.parametrize("name, where, mistake", SLIPS)
def test_one_slip_is_named_there_and_carried_forward_after(name, where, mistake):
    spec = SPECS[name]()
    right = Student(spec).work()
    values = Student(spec, slip=(where, mistake)).work()
    assert values[where] != pytest.approx(right[where], abs=1e-4), "the slip must change the number"
    marking = mark(spec, values)
    by_key = marking.by_key()
    slip = by_key[where]
    assert slip.verdict == "wrong" and slip.mistake == mistake, (slip.verdict, slip.mistake, slip.note)
    assert marking.first_wrong is slip
    assert_marked_as_worked(marking, values, right, {where})


def test_random_noise_is_wrong_where_it_was_added_and_nowhere_else():
    rng = random.Random(7)
    for name in SPECS:
        spec = SPECS[name]()
        values = Student(spec).work()
        noisy = rng.sample(sorted(values), 5)
        for k in noisy:
            values[k] += F(rng.choice([-1, 1]) * rng.uniform(0.05, 3))
        marking = mark(spec, values)
        wrong = {m.quantity.key for m in marking.marks if m.verdict == "wrong"}
        assert wrong == set(noisy), name


def test_partial_answers_are_missing_and_the_rest_still_marked():
    spec = SPECS["builtin"]()
    values = Student(spec).work()
    leave_out = {"step1.z1_1", "step1.L", "step2.dW2_2_1", "step2.new_b3_1"}
    marking = mark(spec, values, leave_out=leave_out)
    assert {m.quantity.key for m in marking.marks if m.verdict == "missing"} == leave_out
    assert marking.counts["right"] == len(marking.marks) - len(leave_out)


def test_fractions_count_as_exact():
    sol = solve(SPECS["builtin"]())
    text = answers_template(sol).replace('L = ""', 'L = "49/8"').replace('dL_dyhat1 = ""', 'dL_dyhat1 = "7/3"', 1)
    marks = check(sol, parse_answers(text, "a.toml", sol)).by_key()
    assert marks["step1.L"].verdict == "right" and marks["step1.dL_dyhat1"].verdict == "wrong"


def test_a_whole_number_is_held_to_two_decimals():
    sol = solve(SPECS["mazur"]())
    value = float(sol.steps[0].values["z1_1"])  # 0.3775
    text = answers_template(sol).replace('z1_1 = ""', 'z1_1 = "0"', 1)
    assert check(sol, parse_answers(text, "a.toml", sol)).by_key()["step1.z1_1"].verdict == "wrong"
    text = answers_template(sol).replace('z1_1 = ""', f'z1_1 = "{value:.2f}"', 1)
    assert check(sol, parse_answers(text, "a.toml", sol)).by_key()["step1.z1_1"].verdict == "right"


# -- bad answers files -----------------------------------------------------

@pytest.mark.parametrize("edit, message", [
    (lambda t: t.replace('z1_1 = ""', 'z1_l = "1.5"', 1),
     r"answers.toml:9: \[step1\] z1_l is not a quantity of this problem; did you mean .*z1_1"),
    (lambda t: t.replace('z1_1 = ""', 'z1_1 = "one and a half"', 1),
     r'answers.toml:9: \[step1\] z1_1: "one and a half" is not a number; write a decimal'),
    (lambda t: t.replace('a1_1 = ""', 'a1_1 = "1.5"\nz1_1 = "1.5"', 1), r"answers.toml:11: z1_1 is given twice"),
    (lambda t: t.replace("1-2-2-1 relu relu identity", "2-3-3-2 sigmoid tanh softmax"),
     r"answers.toml:5: network: this file was made for '2-3-3-2 sigmoid tanh softmax, half_sse, 2 steps', "
     r"but the spec is '1-2-2-1"),
    (lambda t: t + "\n[step3]\nz1_1 = \"1\"\n", r"answers.toml:\d+: \[step3\] is not a step of this problem; "
     r"the steps are \[step1\], \[step2\]"),
    (lambda t: t.replace('z1_1 = ""', 'z1_1 = "1/0"', 1), r"answers.toml:9: \[step1\] z1_1: 1/0 divides by zero"),
])
def test_bad_answers_files_name_the_line_key_and_value(edit, message):
    sol = solve(SPECS["builtin"]())
    with pytest.raises(AnswersError, match=message):
        parse_answers(edit(answers_template(sol)), "answers.toml", sol)


def run(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_answers_command_prints_and_refuses_to_overwrite(capsys, tmp_path):
    code, out, _ = run(capsys, "answers")
    assert code == 0 and out.startswith("# Answers for: HW2-1") and 'dW1_1_1 = ""' in out
    target = tmp_path / "mine.toml"
    target.write_text("my typed answers", encoding="utf-8")
    code, _, err = run(capsys, "answers", "-o", str(target))
    assert code == 2 and "already exists" in err
    assert target.read_text(encoding="utf-8") == "my typed answers"


def test_check_command_reports_the_first_wrong_step_and_writes_the_marked_sheet(capsys, tmp_path):
    spec = SPECS["builtin"]()
    sol = solve(spec)
    values = Student(spec, slip=("step1.dL_dyhat1", "half")).work()
    answers = tmp_path / "a.toml"
    answers.write_text(answers_text(sol, values), encoding="utf-8")
    html, pdf = tmp_path / "marked.html", tmp_path / "marked.pdf"
    code, out, err = run(capsys, "check", str(answers), "--html", str(html), "--pdf", str(pdf),
                         "--weights", "carried=0.5")
    assert code == 1, err
    assert out.startswith("First wrong: step 1, dL_dyhat1")
    flat = " ".join(out.split())  # rich wraps at the terminal's width
    assert "expected 3.5" in flat and "the ½ of the loss is left out" in flat
    # every number the slip changed afterwards is carried forward, the rest right (the student's own count)
    right = Student(spec).work()
    carried = sum(1 for k in values if k != "step1.dL_dyhat1" and abs(values[k] - right[k]) > 1e-3)
    total = len(values)
    assert f"Score {total - 1 - carried + carried / 2:g} of {total}" in flat
    page = html.read_text(encoding="utf-8")
    assert 'class="box wrong"' in page and "expected 3.5" in page and 'class="box carried"' in page
    # a carried box says what it is right from, as the report does: the δ after the slip, from the 7 written
    delta = re.search(r'<span class="box carried"[^>]*data-name="delta3_1">.*?<span class="exp"[^>]*>(.*?)</span>',
                      page)
    assert delta and html_module.unescape(delta[1]).replace("\xa0", " ") == "right from your dL_dyhat1 = 7.0000", delta
    # a wrong box's note grows its update-table row: the row's boxes stay level at its top
    assert '<body class="blank marked">' in page and "body.marked table.updates td" in page
    assert pdf.read_bytes().startswith(b"%PDF")


def test_check_command_bad_input_exits_2(capsys, tmp_path):
    answers = tmp_path / "a.toml"
    answers.write_text('[step1]\nz1_1 = "x"\n', encoding="utf-8")
    code, _, err = run(capsys, "check", str(answers), "--html", str(tmp_path / "m.html"))
    assert code == 2 and f"{answers}:2:" in err and "Traceback" not in err
    assert not (tmp_path / "m.html").exists()
    code, _, err = run(capsys, "check", str(answers), "--weights", "great=2")
    assert code == 2 and "'great' is not a verdict" in err
    code, _, err = run(capsys, "check", str(ROOT / "examples" / "mazur.toml"), str(tmp_path / "none.toml"))
    assert code == 2 and "none.toml: no such file" in err


def test_all_right_exits_0(capsys, tmp_path):
    spec = SPECS["builtin"]()
    answers = tmp_path / "a.toml"
    answers.write_text(answers_text(solve(spec), Student(spec).work()), encoding="utf-8")
    code, out, _ = run(capsys, "check", str(answers))
    assert code == 0 and out.startswith("Nothing is wrong.")
    # half the sheet, all right: not "Nothing is wrong." above "56 missing", which read as done
    values = Student(spec).work()
    answers.write_text(answers_text(solve(spec), values, leave_out={k for k in values if k.startswith("step2.")}),
                       encoding="utf-8")
    code, out, _ = run(capsys, "check", str(answers))
    assert code == 1 and out.startswith("Nothing you wrote is wrong; some boxes are still empty.")


# -- a careful human marker (the reproducers of issue 8) -------------------------

def sheet(sol, text: str):
    answers = parse_answers(text, "answers.toml", sol)
    return check(sol, answers, parts=answers.parts)


def test_a_rounded_chain_is_rounded_in_decimal_not_binary():
    """0.95·1.15 + 0.95·1.15 − 0.54 = 1.645 exactly: a student writes 1.65; in
    binary floats it is 1.6449999… and rounds to 1.64."""
    sol = solve(SPECS["builtin"]())
    marks = sheet(sol, '[step1]\nnew_W2_1_1 = "0.95"\nnew_W2_1_2 = "0.95"\nnew_b2_1 = "-0.54"\n'
                       '[step2]\na1_1 = "1.15"\na1_2 = "1.15"\nz2_1 = "1.65"\n').by_key()
    assert marks["step2.z2_1"].verdict == "right" and not marks["step2.z2_1"].mistake
    assert all(m.verdict == "right" for m in marks.values() if m.answer)
    # alone, 1.65 is 0.00575 from the exact 1.64425: only the chain rounded in decimal (…1.645) makes it right
    assert sheet(sol, '[step2]\nz2_1 = "1.65"\n').by_key()["step2.z2_1"].verdict == "right"


def test_numbers_written_without_trailing_zeros_are_held_to_two_decimals():
    """"-2" is -2.00 ± 0.005, the value a student rounding to 2 places as they go gets (−2.0099…)."""
    spec = SPECS["sigmoid-softmax"]()
    sol = solve(spec)
    values = Student(spec, decimals=2).work()
    assert written(values["step1.dL_dyhat1"], 2, trim=True) == "-2"
    marking = mark(spec, values, decimals=2)
    trimmed = check(sol, parse_answers(answers_text(sol, values, 2, trim=True), "answers.toml", sol))
    assert [m.verdict for m in trimmed.marks] == [m.verdict for m in marking.marks] == ["right"] * len(marking.marks)


SATURATED = """
[network]
inputs = 1
layers = [{ units = 2, activation = "sigmoid" }, { units = 1, activation = "identity" }]
[[init.layers]]
W = [[-1], [0.05]]
b = [0, 0.1]
[[init.layers]]
W = [[0.5, 0.3]]
b = [0.1]
[data]
x = [30]
y = [1]
[training]
loss = "half_sse"
learning_rate = 0.1
steps = 2
"""


def test_a_saturated_sigmoid_unit_is_recomputed_like_any_other():
    """σ(−30) ≈ 9e-14: no e^30 on the way."""
    spec = parse_spec(SATURATED, "saturated")
    sol = solve(spec)
    for slip, decimals in (((None, None), 2), (("step1.dL_dyhat1", "half"), 4)):
        values = Student(spec, slip=slip, decimals=decimals).work()
        marking = sheet(sol, fill(answers_template(sol, ("updates",)), values, decimals))
        if slip[0] is None:
            assert marking.counts["right"] == marking.out_of
        else:
            assert {m.mistake for m in marking.marks if m.verdict == "wrong"} == {"half"}
            assert all(m.verdict in ("right", "carried") for m in marking.marks if m.quantity.step == 2)


def test_an_answer_worked_from_right_but_rounded_answers_is_right():
    sol = solve(SPECS["builtin"]())
    marks = sheet(sol, '[step2]\ndelta1_1 = "2.53"\ndW1_1_1 = "5.06"\n').by_key()
    assert [marks[k].verdict for k in ("step2.delta1_1", "step2.dW1_1_1")] == ["right", "right"]
    spec = parse_spec(MAZUR_TWO_STEPS, "mazur")
    sol = solve(spec)
    marks = sheet(sol, '[step1]\nnew_W1_2_1 = "0.2498"\n[step2]\neta_dW1_2_1 = "0.0002"\nnew_W1_2_1 = "0.2496"\n')
    assert {k: m.verdict for k, m in marks.by_key().items() if m.answer} == dict.fromkeys(
        ("step1.new_W1_2_1", "step2.eta_dW1_2_1", "step2.new_W1_2_1"), "right")
    assert not any(m.mistake for m in marks.marks)


MAZUR_TWO_STEPS = (ROOT / "examples" / "mazur.toml").read_text().replace("steps = 1", "steps = 2")


def test_the_builtin_sheet_rounded_to_2_decimals_scores_full_marks(capsys, tmp_path):
    spec = SPECS["builtin"]()
    answers = tmp_path / "a.toml"
    answers.write_text(answers_text(solve(spec), Student(spec, decimals=2).work(), 2), encoding="utf-8")
    code, out, _ = run(capsys, "check", str(answers))
    assert code == 0 and "Score 112 of 112: 112 right" in out


def test_a_slip_that_gives_the_right_number_on_this_problem_is_never_named():
    """Every weight of the built-in problem is 1 and every ReLU′ is 1: swapped
    indices and a left-out ReLU′ give the right formula's number there. A
    number that is wrong some other way must not be blamed on them."""
    sol = solve(SPECS["builtin"]())
    marks = sheet(sol, '[step1]\nz2_1 = "2.6"\ndelta1_1 = "7.5"\n').by_key()
    assert marks["step1.z2_1"].verdict == "wrong" and marks["step1.z2_1"].mistake == ""
    assert marks["step1.delta1_1"].verdict == "wrong" and marks["step1.delta1_1"].mistake == ""


def test_a_wrong_answer_after_a_wrong_one_shows_what_follows_from_the_students_numbers(capsys, tmp_path):
    sol = solve(SPECS["builtin"]())
    # ŷ wrong (4.6 for 4.5), then ∂L/∂ŷ wrong even from the student's own ŷ (3.6 would follow)
    marks = sheet(sol, '[step1]\na3_1 = "4.6"\ndL_dyhat1 = "3.9"\n').by_key()
    m = marks["step1.dL_dyhat1"]
    assert m.verdict == "wrong" and m.follows == ("step1.a3_1",)
    assert m.from_yours == F(36, 10)
    answers = tmp_path / "a.toml"
    answers.write_text('[step1]\na3_1 = "4.6"\ndL_dyhat1 = "3.9"\n', encoding="utf-8")
    html = tmp_path / "m.html"
    code, out, _ = run(capsys, "check", str(answers), "--html", str(html))
    flat = " ".join(out.split())
    assert "3.6 follows from your a3_1 = 4.6" in flat
    # the marked sheet's note holds "a3_1 = 4.6" together with no-break spaces, to wrap between numbers only
    assert "3.6 follows from your a3_1\u00a0=\u00a04.6" in html.read_text(encoding="utf-8")


def fill(template: str, values: dict[str, F], decimals: int = 4) -> str:
    """Any answers template, filled in from the student's numbers."""
    out, step = [], 0
    for line in template.splitlines():
        if m := re.match(r"\[step(\d+)\]", line):
            step = int(m[1])
        if (m := re.match(r'(\w+) = ""', line)) and step:
            line = f'{m[1]} = "{written(values[f"step{step}.{m[1]}"], decimals)}"'
        out.append(line)
    return "\n".join(out) + "\n"


@pytest.mark.parametrize("loss, slip", [("half_sse", "half"), ("sse", "square_two"), ("mse", "square_two")])
def test_an_updates_only_sheet_with_one_slip_finds_it_and_carries_step_2_forward(loss, slip):
    spec = parse_spec(DISTINCT_RELU.replace('"half_sse"', f'"{loss}"'), "distinct")
    sol = solve(spec)
    right = Student(spec).work()
    values = Student(spec, slip=("step1.dL_dyhat1", slip), decimals=4).work()
    marking = sheet(sol, fill(answers_template(sol, ("updates",)), values))
    assert {m.quantity.kind for m in marking.marks} == {"new"}
    assert marking.out_of == 2 * 15  # every parameter, both steps
    for m in marking.marks:
        changed = abs(values[m.quantity.key] - right[m.quantity.key]) > F(1, 1000)
        if m.quantity.step == 1:
            assert m.verdict == ("wrong" if changed else "right"), m.quantity.key
            if changed:
                assert m.mistake == slip and m.at == "step1.dL_dyhat1", (m.quantity.key, m.note)
        else:
            assert m.verdict == ("carried" if changed else "right"), (m.quantity.key, m.verdict)
    assert "rate_twice" not in {m.mistake for m in marking.marks}


def test_an_updates_only_sheet_worked_right_is_all_right():
    """Also by a student who writes each product down, rounded, before adding:
    0.0341 + (−0.0123) = 0.0218 for a sum that is 0.021850 exactly."""
    for name in ("builtin", "mazur", "distinct", "batch-momentum", "batch"):
        spec = SPECS[name]()
        sol = solve(spec)
        for decimals, terms in ((2, False), (4, False), (2, True), (4, True)):
            marking = sheet(sol, fill(answers_template(sol, ("gradients", "updates")),
                                      Student(spec, decimals=decimals, terms=terms).work(), decimals))
            wrong = [(m.quantity.key, m.answer.text) for m in marking.marks if m.verdict != "right"]
            assert not wrong, (name, decimals, terms, wrong)


@pytest.mark.parametrize("written_as, verdict", [("7/2", "right"), ("3500000001/1000000000", "wrong"),
                                                 ("3.5", "right"), ("3.50001", "wrong")])
def test_a_fraction_must_be_exact(written_as, verdict):
    sol = solve(SPECS["builtin"]())
    assert sheet(sol, f'[step1]\ndL_dyhat1 = "{written_as}"\n').by_key()["step1.dL_dyhat1"].verdict == verdict


def test_an_unquoted_fraction_is_read_as_the_fraction():
    sol = solve(SPECS["builtin"]())
    marks = sheet(sol, "[step1]\nL = 49/8  # as written\ndL_dyhat1 = -7/2\n").by_key()
    assert marks["step1.L"].verdict == "right" and marks["step1.L"].answer.value == F(49, 8)
    assert marks["step1.dL_dyhat1"].answer.value == F(-7, 2)


@pytest.mark.parametrize("value", ['"' + "1" * 400 + '"', '"0.' + "0" * 88 + '1"', "1" * 5000, "1e999999999",
                                   '"' + "9" * 10_000_000 + '"', "[[[[1]]]]", "true", "1979-05-27"])
def test_extreme_written_numbers_are_refused_at_once(value):
    import time
    sol = solve(SPECS["builtin"]())
    start = time.perf_counter()
    with pytest.raises(AnswersError, match=r"answers.toml(:2)?: .*(too long|not a number|a hand calculation)"):
        parse_answers(f"[step1]\nz1_1 = {value}\n", "answers.toml", sol)
    assert time.perf_counter() - start < 5


def test_answers_only_writes_the_parts_asked_and_check_scores_them(capsys, tmp_path):
    code, out, _ = run(capsys, "answers", "--only", "gradients,updates")
    assert code == 0 and 'only = ["gradients", "updates"]' in out
    assert "dW1_1_1 = " in out and "new_W1_1_1 = " in out and "z1_1 = " not in out and "eta_dW1_1_1" not in out
    code, _, err = run(capsys, "answers", "--only", "gradient")
    assert code == 2 and "gradient: not a part" in err and "gradients" in err
    answers = tmp_path / "a.toml"
    answers.write_text(out, encoding="utf-8")
    code, out, _ = run(capsys, "check", str(answers))
    assert code == 1 and "Score 0 of 52: 0 right, 0 carried forward, 0 wrong, 52 missing." in " ".join(out.split())


def test_spec_and_answers_in_the_wrong_order_say_so(capsys, tmp_path):
    spec = ROOT / "examples" / "mazur.toml"
    answers = tmp_path / "a.toml"
    answers.write_text('[step1]\nz1_1 = "0.3775"\n', encoding="utf-8")
    code, _, err = run(capsys, "check", str(answers), str(spec))
    assert code == 2 and "the spec comes first" in err and "Traceback" not in err
    code, _, err = run(capsys, "check", str(spec))
    assert code == 2 and "is a problem spec, not an answers file" in err


def test_weights_must_be_sensible_points(capsys, tmp_path):
    answers = tmp_path / "a.toml"
    answers.write_text('[step1]\nz1_1 = "1.5"\n', encoding="utf-8")
    for bad in ("right=-1", "wrong=-2", "carried=2", "right=0"):
        code, _, err = run(capsys, "check", str(answers), "--weights", bad)
        assert code == 2 and "Traceback" not in err, bad


def test_check_json_is_the_marking_as_data(capsys, tmp_path):
    import json
    answers = tmp_path / "a.toml"
    answers.write_text('[step1]\na3_1 = "4.6"\ndL_dyhat1 = "3.9"\nL = "49/8"\n', encoding="utf-8")
    code, out, _ = run(capsys, "check", str(answers), "--json")
    data = json.loads(out)
    assert code == 1 and data["first_wrong"] == "step1.a3_1"
    assert data["counts"] == {"right": 1, "carried": 0, "wrong": 2, "missing": 109}
    assert data["score"] == 1 and data["points"] == 112
    rows = {r["key"]: r for r in data["quantities"]}
    assert rows["step1.L"]["verdict"] == "right" and rows["step1.L"]["expected_exact"] == "49/8"
    dy = rows["step1.dL_dyhat1"]
    assert dy["yours"] == "3.9" and dy["expected"] == 3.5 and dy["from_yours"] == pytest.approx(3.6)
    assert dy["follows"] == ["step1.a3_1"]
    assert set(dy) >= {"step", "name", "yours", "verdict", "expected", "from_yours", "mistake", "follows"}


# -- a property: a student who works correctly is never marked wrong ------------

def random_problem(draw) -> str:
    """A random small problem the simulated student can work, as spec text: any hidden activation (a
    leaky ReLU with its own slope), a layer without bias, an identity or sigmoid output with a squared
    error, sigmoid with BCE, softmax with cross-entropy, either reduction, momentum, frozen groups, 1 to
    3 samples and 1 to 3 steps."""
    from hypothesis import strategies as st
    decimal = st.integers(-20, 20).map(lambda n: f"{n * 5 / 100:.2f}")  # −1.00 … 1.00 in steps of 0.05
    inputs = draw(st.integers(1, 2))
    hidden = draw(st.lists(st.sampled_from(["relu", "sigmoid", "tanh", "identity", "leaky_relu"]),
                           min_size=1, max_size=2))
    out, loss = draw(st.sampled_from([("identity", "half_sse"), ("identity", "sse"), ("identity", "mse"),
                                      ("sigmoid", "half_sse"), ("sigmoid", "mse"), ("sigmoid", "bce"),
                                      ("softmax", "cross_entropy")]))
    units = [draw(st.integers(1, 2)) for _ in hidden] + [draw(st.integers(2 if out == "softmax" else 1, 2))]
    biased = [draw(st.booleans()) for _ in units]
    layers = []
    for u, a, bias in zip(units, [*hidden, out], biased):
        slope = f", slope = {draw(st.sampled_from(['0.01', '0.1', '0.25']))}" if a == "leaky_relu" else ""
        layers.append(f'{{ units = {u}, activation = "{a}"{slope}{"" if bias else ", bias = false"} }}')
    fan = [inputs] + units
    init = "".join(
        "\n[[init.layers]]\nW = [" + ", ".join("[" + ", ".join(draw(decimal) for _ in range(fan[l])) + "]"
                                               for _ in range(fan[l + 1])) + "]\n"
        + (f"b = [{', '.join(draw(decimal) for _ in range(fan[l + 1]))}]\n" if biased[l] else "")
        for l in range(len(units)))
    samples = draw(st.integers(1, 3))
    xs = [[draw(decimal) for _ in range(inputs)] for _ in range(samples)]
    if loss == "bce":  # a target from 0 to 1
        target = lambda: draw(st.sampled_from(["0", "1", "0.25", "0.5", "0.8"]))  # noqa: E731
        ys = [[target() for _ in range(units[-1])] for _ in range(samples)]
    elif loss == "cross_entropy":  # a one-hot class, or a spread that sums to 1
        ys = []
        for _ in range(samples):
            row = ["0"] * units[-1]
            if draw(st.booleans()):
                row[draw(st.integers(0, units[-1] - 1))] = "1"
            else:
                row[0], row[1] = draw(st.sampled_from([("0.25", "0.75"), ("0.5", "0.5"), ("0.9", "0.1")]))
            ys.append(row)
    else:
        ys = [[draw(decimal) for _ in range(units[-1])] for _ in range(samples)]
    rate = draw(st.sampled_from(["0.1", "0.05", "0.5"]))
    steps = draw(st.integers(1, 3))
    training = f'loss = "{loss}"\nlearning_rate = {rate}\nsteps = {steps}\n'
    if draw(st.booleans()):
        training += f'reduction = "{draw(st.sampled_from(["mean", "sum"]))}"\n'
    if draw(st.booleans()):
        training += f"momentum = {draw(st.sampled_from(['0.5', '0.9']))}\n"
    groups = [f"{kind}{l + 1}" for l in range(len(units)) for kind in "Wb" if kind == "W" or biased[l]]
    frozen = draw(st.lists(st.sampled_from(groups), unique=True, max_size=len(groups) - 1))
    if frozen:
        training += "frozen = [" + ", ".join(f'"{g}"' for g in frozen) + "]\n"
    return (f'title = "random"\n[network]\ninputs = {inputs}\nlayers = [{", ".join(layers)}]\n{init}'
            f"[data]\nx = [{', '.join('[' + ', '.join(x) + ']' for x in xs)}]\n"
            f"y = [{', '.join('[' + ', '.join(y) + ']' for y in ys)}]\n"
            f"[training]\n{training}")


def test_a_correctly_working_student_is_never_marked_wrong_nor_told_of_a_mistake():
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    @settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(st.data(), st.sampled_from([2, 3, 4]), st.sampled_from(["as they go", "at the end", "mixed", "each term"]),
           st.randoms(use_true_random=False), st.booleans(), st.sampled_from(sorted(TIE_RULES)), st.booleans())
    def prop(data, decimals, how, rng, trim, ties, taught):
        spec = parse_spec(data.draw(st.composite(lambda draw: random_problem(draw))()), "random.toml")
        sol = solve(spec)
        if how == "mixed":  # each number rounded to its own 2 to 4 places, and carried on as written
            places = {}
            decimals = lambda key: places.setdefault(key, rng.choice([2, 3, 4]))  # noqa: E731
        values = Student(spec, decimals=None if how == "at the end" else decimals, terms=how == "each term",
                         ties=TIE_RULES[ties], taught=taught).work()
        marking = check(sol, parse_answers(answers_text(sol, values, decimals, trim=trim), "answers.toml", sol))
        bad = [(m.quantity.key, m.answer.text, m.verdict, m.note) for m in marking.marks
               if m.verdict != "right" or m.mistake]
        assert not bad, (decimals, bad)

    prop()


def test_any_toml_value_in_an_answers_file_is_marked_or_refused_quickly():
    """Fuzz: random TOML values under random keys of the built-in answers file
    give a marking or an AnswersError, never another exception, in seconds."""
    import time

    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    sol = solve(SPECS["builtin"]())
    names = [q.name for q in quantities(sol) if q.step == 1]
    scalar = st.one_of(
        st.integers(-10**50, 10**50).map(str),
        st.integers(1, 6000).map(lambda n: "1" * n),
        st.decimals(allow_nan=False, allow_infinity=False).map(lambda d: format(d, "f")[:80]),
        st.floats(allow_nan=True, allow_infinity=True).map(lambda f: repr(f).lower()),
        st.text(max_size=30).map(lambda t: '"' + t.replace("\\", "\\\\").replace('"', '\\"') + '"'),
        st.sampled_from(['"1/0"', '"-7/2"', "7/2", "true", "1979-05-27", "[1, 2]", "{ a = 1 }", '""', '"1e5"',
                         '" 3.5 "', '"−0.5"', "0x1F", "1_000", "+1.5", "-0", "nan", "-inf", '"' + "9" * 50 + '"']),
    )

    @settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(st.lists(st.tuples(st.sampled_from(names + ["zz", "network", "only"]), scalar), max_size=6),
           st.sampled_from(["step1", "step2", "step9", ""]))
    def prop(entries, table):
        lines = [f"[{table}]"] if table else []
        seen = set()
        for name, value in entries:
            if name not in seen:
                seen.add(name)
                lines.append(f"{name} = {value}")
        text = "\n".join(lines) + "\n"
        start = time.perf_counter()
        try:
            answers = parse_answers(text, "answers.toml", sol)
            check(sol, answers, parts=answers.parts)
        except AnswersError as exc:
            assert str(exc).startswith("answers.toml") and "\n" not in str(exc)
        assert time.perf_counter() - start < 5

    prop()


def test_what_a_user_gets_wrong_is_named_plainly(capsys, tmp_path):
    spec = tmp_path / "half.toml"
    spec.write_text((ROOT / "worksheet" / "problems" / "hw2-1.toml").read_text().replace(
        "learning_rate = 0.01", "learning_rate = 1/100"), encoding="utf-8")
    code, out, _ = run(capsys, "solve", str(spec))
    assert code == 0 and "η = 0.01" in out  # an unquoted fraction in a spec is the fraction
    spec.write_text((ROOT / "worksheet" / "problems" / "hw2-1.toml").read_text().replace("x = [2]", "x = [1/2]"),
                    encoding="utf-8")
    code, _, err = run(capsys, "solve", str(spec))
    assert code == 2 and '["1/2", 3]' in err
    code, _, err = run(capsys, "answers", "--only", "momentum")
    assert code == 2 and "this problem has no momentum" in err
    answers = tmp_path / "a.toml"
    for text, message in (('only = ["momentum"]\n', "only: this problem has no momentum"),
                          ("step1 = 3\n", "step1 must be a table"),
                          ('network = "2-2-2 sigmoid sigmoid, half_sse, 1 step"\n',
                           "give the spec it was made for first")):
        answers.write_text(text, encoding="utf-8")
        code, _, err = run(capsys, "check", str(answers))
        assert code == 2 and message in err, err
    answers.write_text("[step1]\nL = 6126/1000\n", encoding="utf-8")
    code, out, _ = run(capsys, "check", str(answers))
    assert code == 1 and "A fraction is taken as exact" in " ".join(out.split())


def test_a_huge_file_is_refused_without_reading_it_whole(capsys, tmp_path):
    import time
    answers = tmp_path / "a.toml"
    answers.write_text("[step1]\n" + "# " + "x" * 3_000_000 + "\n", encoding="utf-8")
    start = time.perf_counter()
    code, _, err = run(capsys, "check", str(answers))
    assert code == 2 and "larger than 2 MB" in err and time.perf_counter() - start < 5


POINTED = (ROOT / "worksheet" / "problems" / "hw2-1.toml").read_text() + """
[marking]
points = { forward = 2, loss = 1, backward = 4, gradients = 3, update = 3 }
"""


def test_points_per_part_make_the_score():
    spec = parse_spec(POINTED, "pointed.toml")
    values = Student(spec).work()
    values["step1.dL_dyhat1"] += 1  # one wrong number; the rest right
    marking = mark(spec, values, leave_out={"step2.z1_1"})
    # forward: 19 of its 20 quantities (z and a, 2 steps); backward: 11 of 12 (∂L/∂ŷ and 5 δ's, 2 steps)
    expected = {"forward": F(2) * 19 / 20, "loss": F(1), "backward": F(4) * 11 / 12, "gradients": F(3),
                "update": F(3)}
    assert {name: score for name, score, _ in marking.by_part()} == expected
    assert marking.score == sum(expected.values()) and marking.points == 13


@pytest.mark.parametrize("marking, message", [
    ("points = { forwards = 2 }", "marking.points.forwards: unknown key; allowed keys are forward, loss"),
    ("points = { update = 3, updates = 1 }", "overlaps another part"),
    ("points = { loss = -1 }", "give 0 to 1000"),
])
def test_bad_points_are_named(marking, message):
    from worksheet.spec import SpecError

    text = (ROOT / "worksheet" / "problems" / "hw2-1.toml").read_text() + f"\n[marking]\n{marking}\n"
    with pytest.raises(SpecError, match=message):
        parse_spec(text, "p.toml")


@pytest.mark.parametrize("name", ["sigmoid-softmax", "bce"])
def test_an_output_delta_worked_the_taught_way_follows_from_the_students_yhat(name):
    """Softmax with cross-entropy, sigmoid with BCE: a student writes δ = (ŷ − y), scaled as the
    loss averages, from their own ŷ and never uses ∂L/∂ŷ. After a slip in ŷ that δ is carried
    forward, not wrong; a slip in ∂L/∂ŷ alone leaves it right."""
    spec = SPECS[name]()
    values = Student(spec).work()
    L, scale = len(spec.layers), Student(spec).scale()
    sfx = "_s1" if len(spec.x) > 1 else ""
    yhat_key, dy_key, delta_key = f"step1.a{L}_1{sfx}", f"step1.dL_dyhat1{sfx}", f"step1.delta{L}_1{sfx}"
    ys = [F(v) for v in spec.y[0]]
    total = sum(ys) if spec.loss == "cross_entropy" else 1
    values[yhat_key] += F(1, 10)  # the slip
    values[dy_key] *= 3  # inconsistent with that ŷ: a student going by the taught form ignores it
    values[delta_key] = scale * (values[yhat_key] * total - ys[0])
    by_key = mark(spec, values).by_key()
    assert by_key[yhat_key].verdict == "wrong"
    assert by_key[delta_key].verdict == "carried", by_key[delta_key].note
    assert yhat_key in by_key[delta_key].follows


# A student's own problem as in the class trial: a tanh hidden layer, a softmax output, cross-entropy
# averaged over 2 samples.
SOFTMAX_MEAN = """
title = "2-3-2 tanh, softmax, cross-entropy over 2 samples"
[network]
inputs = 2
layers = [{ units = 3, activation = "tanh" }, { units = 2, activation = "softmax" }]
[[init.layers]]
W = [[0.3, 0.4], [0.2, -0.5], [-0.5, -0.3]]
b = [0.1, 0, -0.1]
[[init.layers]]
W = [[0.4, 0.1, -0.3], [-0.5, 0.3, 0.4]]
b = [0, 0.05]
[data]
x = [[1, 1], [1, -1]]
y = [[1, 0], [0, 1]]
[training]
loss = "cross_entropy"
reduction = "mean"
learning_rate = 0.1
steps = 1
"""
SPECS["softmax-mean"] = lambda: parse_spec(SOFTMAX_MEAN, "softmax-mean")


class SumStudent(Student):
    """Leaves the mean's factor out everywhere: the loss is summed, and so is every ∂L/∂ŷ."""

    def scale(self) -> F:
        return F(1)


def output_deltas(spec) -> list[str]:
    L, sfx = len(spec.layers), (lambda s: f"_s{s}" if len(spec.x) > 1 else "")
    return [f"step1.delta{L}_{i}{sfx(s)}" for s in range(1, len(spec.x) + 1)
            for i in range(1, spec.layers[-1].units + 1)]


@pytest.mark.parametrize("name", ["softmax-mean", "bce", "batch"])
def test_a_mean_left_out_throughout_is_named_once_and_carried_through_the_deltas(name):
    """The student writes L and ∂L/∂ŷ without the mean's factor, then each output δ by the chain
    rule from their own ∂L/∂ŷ: the slip is named on L and ∂L/∂ŷ, and the δ's and everything after
    them are carried forward from those ∂L/∂ŷ's, not wrong."""
    spec = SPECS[name]()
    values = SumStudent(spec).work()
    right = Student(spec).work()
    marking = mark(spec, values)
    by_key = marking.by_key()
    wrong = {m.quantity.key: m.mistake for m in marking.marks if m.verdict == "wrong"}
    assert set(wrong.values()) == {"mean_sum"}, wrong
    assert {k.split(".")[1].split("_")[0] for k in wrong} <= {"L", "dL"}, wrong
    assert all(abs(values[k] - right[k]) > F(1, 10**4) for k in output_deltas(spec)), "the slip must move every δ"
    for key in output_deltas(spec):
        assert by_key[key].verdict == "carried" and all("dL_dyhat" in k for k in by_key[key].follows), key
    # a number the slip moved is never right: the slip itself (at L, ∂L/∂ŷ) or carried forward from it
    assert_marked_as_worked(marking, values, right, set(wrong))


@pytest.mark.parametrize("name", ["softmax-mean", "bce"])
@pytest.mark.parametrize("wrote_dyhat", [True, False])
def test_a_taught_delta_without_the_means_factor_names_the_slip_on_the_delta(name, wrote_dyhat):
    """δ = ŷ − y where the mean needs (ŷ − y)/n, with ∂L/∂ŷ right (or not written): the δ's are
    wrong with the mean and the sum confused named on them; what follows is carried forward."""
    spec = SPECS[name]()
    n, L = len(spec.x), len(spec.layers)

    class TaughtSumStudent(Student):
        def put(self, key, correct, wrong=None):
            return super().put(key, correct * n if key in output_deltas(spec) else correct, wrong)

    values = TaughtSumStudent(spec).work()
    marking = mark(spec, values, leave_out=() if wrote_dyhat else
                   {q.key for q in quantities(solve(spec)) if q.kind in ("loss", "dyhat")})
    by_key = marking.by_key()
    for key in output_deltas(spec):
        assert by_key[key].verdict == "wrong" and by_key[key].mistake == "mean_sum", (key, by_key[key].note)
    assert_marked_as_worked(marking, values, Student(spec).work(), set(output_deltas(spec)))
    assert any(m.verdict == "carried" and m.quantity.layer < L for m in marking.marks)


@pytest.mark.parametrize("name, where, fn, other", [("softmax-mean", "step1.delta1_1_s1", "tanh", "σ"),
                                                     ("batch", "step1.delta1_2_s2", "σ", "tanh")])
@pytest.mark.parametrize("way", ["derivative_with_z", "derivative_at_a"])
def test_the_derivative_slip_says_which_way_round_with_the_networks_activation(name, where, fn, other, way):
    """tanh′ written 1 − z² is not "taken at a instead of at z": the note says what the student did,
    in the activation the network has."""
    spec = SPECS[name]()
    marking = mark(spec, Student(spec, slip=(where, way)).work())
    slip = marking.by_key()[where]
    assert slip.verdict == "wrong" and slip.mistake == "derivative_at_a", slip.note
    assert f"{fn}′" in slip.note and other not in slip.note, slip.note
    if way == "derivative_with_z":
        assert ("1 − z²" if fn == "tanh" else "z(1 − z)") in slip.note and "taken at a" not in slip.note, slip.note
    else:
        assert "taken at a" in slip.note and "z²" not in slip.note and "z(1 − z)" not in slip.note, slip.note


@pytest.mark.parametrize("name, where, names, absent", [
    ("softmax-mean", "step1.delta1_2_s2", ["tanh′"], ["ReLU", "σ"]),
    ("distinct", "step1.delta2_1", ["ReLU′"], ["σ", "tanh"]),
    ("mazur", "step1.delta1_1", ["σ′"], ["ReLU", "tanh"]),
])
def test_a_left_out_derivative_names_the_activation_the_network_uses(name, where, names, absent):
    """Not "(ReLU′ or σ′)" in a tanh network: the note, and the words for the whole problem (a class
    summary's), name the activations this network has."""
    from worksheet.check import mistake_text

    spec = SPECS[name]()
    marking = mark(spec, Student(spec, slip=(where, "no_derivative")).work())
    slip = marking.by_key()[where]
    assert slip.mistake == "no_derivative"
    for text in (slip.note, mistake_text("no_derivative", spec)):
        assert all(n in text for n in names) and not any(a in text for a in absent), text
    both = mistake_text("no_derivative", SPECS["sigmoid-softmax"]())
    assert "σ′" in both and "tanh′" in both and "ReLU" not in both, both


class PythonStudent(Student):
    """Works in Python floats and pastes what Python prints: each number is the nearest double to
    what it is computed from (the student's own doubles), written as repr() writes it, up to 17
    significant digits with binary noise in the last ones (0.30000000000000004)."""

    def put(self, key, correct, wrong=None):
        v = super().put(key, correct, wrong)
        self.values[key] = F(float(v))
        return self.values[key]


def pasted(sol, values: dict[str, F]) -> str:
    lines, step = [], 0
    for q in quantities(sol):
        if q.step != step:
            step = q.step
            lines.append(f"[step{step}]")
        lines.append(f'{q.name} = "{float(values[q.key])!r}"')
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("name", ["softmax-mean", "batch", "mazur", "bce"])
def test_numbers_pasted_from_python_are_not_marked_wrong_for_float_noise(name):
    """-0.7000000000000001 is −0.7 to a marker: float noise in the 16th digit is not a mistake."""
    spec = SPECS[name]()
    sol = solve(spec)
    values = PythonStudent(spec).work()
    answers = parse_answers(pasted(sol, values), "answers.toml", sol)
    noisy = [k for k, a in answers.items() if abs(a.value - sol_value(sol, k)) > F(1, 2 * 10 ** a.decimals)]
    assert noisy, "the student's numbers must carry float noise for this test to mean anything"
    bad = [(m.quantity.key, m.answer.text, m.verdict, m.note) for m in check(sol, answers).marks
           if m.verdict != "right" or m.mistake]
    assert not bad


class Float32Student(Student):
    """Works in float32, PyTorch's default, and pastes what Python prints of each number
    (`w.grad.item()`): the nearest float32 to what it is computed from, as a double's repr,
    0.3499999940395355 for 0.35."""

    def put(self, key, correct, wrong=None):
        v = super().put(key, correct, wrong)
        self.values[key] = F(float(numpy.float32(float(v))))
        return self.values[key]


@pytest.mark.parametrize("name", ["softmax-mean", "batch", "mazur", "bce"])
def test_numbers_pasted_from_float32_work_are_not_marked_wrong(name):
    """A float32's noise is in its 8th digit: a number that is exactly a float32 is held to 6
    significant digits (or 8 decimals), so PyTorch's printout is right and a slip still is not."""
    spec = SPECS[name]()
    sol = solve(spec)
    values = Float32Student(spec).work()
    answers = parse_answers(pasted(sol, values), "answers.toml", sol)
    assert any(abs(a.value - sol_value(sol, k)) > F(1, 10 ** 10) for k, a in answers.items())
    bad = [(m.quantity.key, m.answer.text, m.verdict, m.note) for m in check(sol, answers).marks
           if m.verdict != "right" or m.mistake]
    assert not bad
    # a number 1e-5 off (in its 6th digit) is a slip, float32 or not
    first = next(q for q in quantities(sol) if abs(q.value) > F(1, 10))
    off = F(float(numpy.float32(float(values[first.key] * F(100001, 100000)))))
    text = f'[step1]\n{first.name} = "{float(off)!r}"\n'
    assert check(sol, parse_answers(text, "a.toml", sol)).by_key()[first.key].verdict == "wrong"


def sol_value(sol, key: str) -> F:
    return next(q.value for q in quantities(sol) if q.key == key)


def test_a_pasted_number_is_still_held_to_its_first_ten_significant_digits():
    """Float noise is forgiven, a wrong 8th digit is not: 16 digits of a wrong number are wrong."""
    spec = SPECS["softmax-mean"]()
    sol = solve(spec)
    q = next(q for q in quantities(sol) if q.name == "a1_1_s1")
    for factor, verdict in ((1 + 1e-7, "wrong"), (1 - 1e-7, "wrong"), (1 + 1e-14, "right")):
        text = f'[step1]\na1_1_s1 = "{float(q.value) * factor!r}"\n'
        mark_ = check(sol, parse_answers(text, "a.toml", sol)).by_key()[q.key]
        assert mark_.verdict == verdict, (factor, mark_.answer.text)


def test_a_pasted_number_is_shown_short_in_the_report_and_on_the_sheet():
    """At 80 columns each quantity keeps one line: the yours column shows the number rounded to the
    sheet's 4 decimals and an ellipsis (the box on the marked sheet shows the same), the first-wrong sentence
    the number as written."""
    import io

    from rich.console import Console

    from worksheet.feedback import print_marking, shown

    assert shown("-0.7000000000000001") == "−0.7000…"
    assert shown("0.09999999999999998") == "0.1000…"  # rounded, at least 4 significant digits
    assert shown("12.345678901234567") == "12.3457…"
    assert shown("1.1499999999999999") == "1.1500…"  # right, and it looks it (cut, 1.1499… looked wrong)
    assert shown("0.00012345678901234") == "0.0001235…"
    assert shown("-0.7000") == "−0.7000" and shown("0.1234567") == "0.1234567"  # a hand's number as written
    spec = SPECS["softmax-mean"]()
    sol = solve(spec)
    values = PythonStudent(spec).work()
    values["step1.z1_1_s1"] += F(1, 100)  # one wrong number, pasted with all its digits
    marking = check(sol, parse_answers(pasted(sol, values), "answers.toml", sol))
    out = io.StringIO()
    print_marking(marking, Console(file=out, width=80, color_system=None))
    text = out.getvalue()
    rows = [line for line in text.splitlines() if re.match(r"\s+1\s+\w+\s", line)]
    assert len(rows) == len(marking.marks), "a row split over lines"
    assert f"you wrote {float(values['step1.z1_1_s1'])!r}".replace("-", "−") in " ".join(text.split())


# A class trial's variant where rounding as you go meets a tie: ŷ = 0.4289 gives the taught
# δ = ½·(0.4289 − 1) = −0.28555, which one student rounds to −0.2856 and another to −0.2855.
TIE = """
title = "a tie: ½·(0.4289 − 1)"
[network]
inputs = 2
layers = [{ units = 3, activation = "tanh" }, { units = 2, activation = "softmax" }]
[[init.layers]]
W = [[0.2, -0.3], [-0.5, -0.3], [0.3, -0.5]]
b = [0.1, 0, -0.1]
[[init.layers]]
W = [[0.2, 0.2, 0.1], [-0.5, -0.2, 0.2]]
b = [0, 0.05]
[data]
x = [[1, 1], [1, -0.5]]
y = [[1, 0], [0, 1]]
[training]
loss = "cross_entropy"
reduction = "mean"
learning_rate = 0.5
steps = 1
"""
SPECS["tie"] = lambda: parse_spec(TIE, "tie")
TIE_RULES = {"away": ROUND_HALF_UP, "toward": ROUND_HALF_DOWN, "even": ROUND_HALF_EVEN, "up": HALF_CEILING,
             "down": HALF_FLOOR}


def tie_students(spec) -> dict[str, dict[str, F]]:
    """The same correct work to 4 decimals, each tie broken each way; taught δ's and chain-rule ones."""
    return {f"{rule}-{'taught' if taught else 'chain'}-{'terms' if terms else 'numbers'}":
            Student(spec, decimals=4, terms=terms, ties=mode, taught=taught).work()
            for rule, mode in TIE_RULES.items() for taught in (True, False) for terms in (False, True)}


def test_a_tie_rounded_either_way_is_right():
    spec = SPECS["tie"]()
    students = tie_students(spec)
    assert students["away-taught-numbers"]["step1.delta2_1_s1"] == F("-0.2856")
    assert students["toward-taught-numbers"]["step1.delta2_1_s1"] == F("-0.2855")
    for name, values in students.items():
        bad = [(m.quantity.key, m.answer.text) for m in mark(spec, values).marks if m.verdict != "right"]
        assert not bad, name


# -- what a quiz's box must allow, from simulated students (test_moodle, test_canvas) ----------------

def rounding_allowance(students, key: str, value: F) -> F:
    """Half a unit of the 4th decimal plus the farthest any of `students` (each correct, rounding to 4
    decimals as they go) gets from `value`: what a box must allow to mark them all right."""
    return F(1, 20000) + max(abs(s[key] - value) for s in students if s.get(key) is not None)


def rounded_up(v: F, digits: int = 2) -> F:
    """v > 0 rounded up to `digits` significant digits: 0.000341 → 0.00035."""
    exponent = math.floor(math.log10(v))
    while F(10) ** exponent > v:  # log10 of a Fraction near a power of 10 may be off by one
        exponent -= 1
    while F(10) ** (exponent + 1) <= v:
        exponent += 1
    unit = F(10) ** (exponent - digits + 1)
    return math.ceil(v / unit) * unit


# The slips the simulated student can make at each kind of quantity.
SLIPS_AT = {
    "z": ("transposed", "after_activation"), "a": ("before_activation",), "loss": ("half", "mean_sum"),
    "dyhat": ("half", "square_two", "flipped"),
    "delta": ("no_derivative", "sigma_for_derivative", "derivative_at_a", "derivative_with_z", "sequential",
              "transposed", "flipped"),
    "grad": ("input_left_out", "bias_as_weight"), "eta": ("no_rate", "rate_twice"), "new": ("sign",),
}


def one_slip_numbers(spec) -> list[tuple[str, str, F]]:
    """(quantity, slip, the number written there) for every quantity and every slip the simulated
    student can make at it, the student rounding to 4 decimals as they go."""
    out = []
    for q in quantities(solve(spec)):
        for mistake in SLIPS_AT.get(q.kind, ()):
            student = Student(spec, slip=(q.key, mistake), decimals=4)
            try:
                student.work()
            except (IndexError, KeyError):
                # the slip needs a shape this network lacks (a transposed 2×3 matrix), or, updating the
                # layer above first in a batch, the δ's of samples this student works later
                continue
            except (ValueError, ZeroDivisionError):  # a later log of a slipped ŷ outside (0, 1)
                pass
            if q.key in student.values:
                out.append((q.key, mistake, student.values[q.key]))
    return out


@functools.cache
def simulated(name: str) -> tuple[list[dict[str, F]], list[tuple[str, str, F]]]:
    """SPECS[name]'s correct students (`tie_students`) and one-slip numbers, worked once per test run."""
    spec = SPECS[name]()
    return list(tie_students(spec).values()), one_slip_numbers(spec)


def assert_slips_marked_wrong(name: str, accepts) -> None:
    """For SPECS[name]: every one-slip number that moves its quantity by more than twice what rounding can
    (so no rounding explains it) is refused by `accepts(key, number)`, an export's answer box; and enough
    slips of enough kinds were tried for that to mean something."""
    students, slips = simulated(name)
    value = {q.key: q.value for q in quantities(solve(SPECS[name]()))}
    seen = []
    for key, mistake, number in slips:
        if abs(number - value[key]) > 2 * rounding_allowance(students, key, value[key]):
            seen.append(mistake)
            assert not accepts(key, number), (key, mistake, number)
    assert len(seen) >= 40 and len(set(seen)) >= 8, "too few slips that change a number to mean anything"


README_HW3 = """[network]
inputs = 2
layers = [{ units = 2, activation = "relu" }, { units = 1, activation = "identity" }]
[[init.layers]]
W = [[0.5, -1], [1, 0.25]]
b = [0.1, 0.1]
[[init.layers]]
W = [[1, -0.5]]
b = [0]
[data]
x = [1, 2]
y = [1]
[training]
loss = "half_sse"
learning_rate = 0.1
steps = 1
"""


def test_a_slip_in_work_not_shown_is_named_when_it_explains_several_written_numbers():
    """z¹₁ = −1.4, so ReLU′(z¹₁) = 0 and δ¹₁ = 0. A student who leaves δ¹₁ off the sheet and forgets
    ReLU′ in it writes ∂L/∂w¹₁₁, ∂L/∂w¹₁₂ and ∂L/∂b¹₁ from δ¹₁ = −1.8: three wrong numbers that one
    slip in the unwritten δ¹₁ explains, and a marker names it there."""
    spec = parse_spec(README_HW3, "hw3.toml")
    values = Student(spec, slip=("step1.delta1_1", "no_derivative"), decimals=4).work()
    assert values["step1.delta1_1"] == F("-1.8") and values["step1.dW1_1_2"] == F("-3.6")  # by hand: −1.8·1·2
    marks = mark(spec, values, leave_out={"step1.delta1_1"}).by_key()
    for key in ("step1.dW1_1_1", "step1.dW1_1_2", "step1.db1_1"):
        assert marks[key].verdict == "wrong" and marks[key].mistake == "no_derivative", (key, marks[key].note)
        assert "delta1_1" in marks[key].note and "not written down" in marks[key].note


def test_one_wrong_number_with_no_work_shown_before_it_names_no_slip():
    """Only L = 0.5 written: that is ½(0 − 1)², what any mistake that makes ŷ 0 gives. A careful
    marker marks it wrong and does not guess which of the unwritten steps went wrong (the checker
    named swapped weight indices in z¹₂)."""
    spec = parse_spec(README_HW3, "hw3.toml")
    sol = solve(spec)
    marking = check(sol, parse_answers('[step1]\nL = "0.5"\n', "answers.toml", sol))
    [written] = [m for m in marking.marks if m.answer is not None]
    assert written.quantity.key == "step1.L" and written.verdict == "wrong"
    assert not written.mistake and not written.note, written.note
