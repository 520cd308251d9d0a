"""Form (2) of every gradient equals sympy.diff of the loss written out in the
parameters; form (3), evaluated, equals the recorded value."""

import random
from fractions import Fraction

import pytest
import sympy as sp

from worksheet import solve
from worksheet.notation import ACTIVATION_FN, DERIVATIVE_FN


def meaning(expr, spec):
    """Give the notation's function names their mathematical meaning."""
    slope = {l.activation: sp.Rational(l.slope.numerator, l.slope.denominator) for l in spec.layers}
    k = slope.get("leaky_relu", 0)
    table = {
        ACTIVATION_FN["relu"]: lambda z: sp.Max(0, z),
        DERIVATIVE_FN["relu"]: lambda z: sp.Heaviside(z, 0),
        ACTIVATION_FN["leaky_relu"]: lambda z: sp.Piecewise((z, z > 0), (k * z, True)),
        DERIVATIVE_FN["leaky_relu"]: lambda z: sp.Piecewise((1, z > 0), (k, True)),
        ACTIVATION_FN["sigmoid"]: lambda z: 1 / (1 + sp.exp(-z)),
        ACTIVATION_FN["tanh"]: sp.tanh,
    }
    for fn, real in table.items():
        expr = expr.replace(fn, real)
    return expr


def loss_in_parameters(spec, S):
    """L as an expression in w, b, x, y, built here from the spec alone."""
    n, K = len(spec.x), spec.layers[-1].units
    forward = {}
    for s in range(1, n + 1):
        a = [S.x(j, s) for j in range(1, spec.inputs + 1)]
        for l, layer in enumerate(spec.layers, start=1):
            z = [sum(S.w(l, i, j) * a[j - 1] for j in range(1, len(a) + 1)) + (S.b(l, i) if layer.bias else 0)
                 for i in range(1, layer.units + 1)]
            act = layer.activation
            if act == "identity":
                a = z
            elif act == "relu":
                a = [sp.Max(0, zi) for zi in z]
            elif act == "leaky_relu":
                k = sp.Rational(layer.slope.numerator, layer.slope.denominator)
                a = [sp.Piecewise((zi, zi > 0), (k * zi, True)) for zi in z]
            elif act == "sigmoid":
                a = [1 / (1 + sp.exp(-zi)) for zi in z]
            elif act == "tanh":
                a = [sp.tanh(zi) for zi in z]
            else:
                total = sum(sp.exp(zi) for zi in z)
                a = [sp.exp(zi) / total for zi in z]
            for i in range(1, layer.units + 1):
                forward[S.z(l, i, s)] = z[i - 1]
                forward[S.a(l, i, s)] = a[i - 1]
    yh = lambda k, s: forward[S.a(len(spec.layers), k, s)]  # noqa: E731
    pairs = [(yh(k, s), S.y(k, s)) for s in range(1, n + 1) for k in range(1, K + 1)]
    mean = spec.reduction == "mean"
    if spec.loss == "half_sse":
        L = sum((p - t) ** 2 for p, t in pairs) / 2 / (n if mean else 1)
    elif spec.loss == "sse":
        L = sum((p - t) ** 2 for p, t in pairs) / (n if mean else 1)
    elif spec.loss == "mse":
        L = sum((p - t) ** 2 for p, t in pairs) / (n * K if mean else 1)
    elif spec.loss == "bce":
        L = -sum(t * sp.log(p) + (1 - t) * sp.log(1 - p) for p, t in pairs) / (n * K if mean else 1)
    else:
        L = -sum(t * sp.log(p) for p, t in pairs) / (n if mean else 1)
    return L, forward


def form2_at(point, der, spec, forward):
    """Every delta's and gradient's form (2), evaluated at `point`: the forward
    values first, then the deltas from the output layer down, each from its
    own form (2), as the derivation defines them."""
    values = dict(point)
    for sym, expr in forward.items():
        values[sym] = sp.N(expr.xreplace(point), 50)
    for eq in der.deltas:  # output layer first, so every δ it uses is known
        values[eq.lhs] = sp.N(meaning(eq.symbolic, spec).xreplace(values), 50)
    return {eq.name: sp.N(meaning(eq.symbolic, spec).xreplace(values), 50) for eq in der.grads}


def random_point(spec, S, rng):
    point = {}
    for l, layer in enumerate(spec.layers, start=1):
        fan_in = spec.inputs if l == 1 else spec.layers[l - 2].units
        for i in range(1, layer.units + 1):
            for j in range(1, fan_in + 1):
                point[S.w(l, i, j)] = sp.Rational(rng.randint(-20, 20), rng.randint(5, 13))
            point[S.b(l, i)] = sp.Rational(rng.randint(-10, 10), rng.randint(5, 13))
    for s in range(1, len(spec.x) + 1):
        for j in range(1, spec.inputs + 1):
            point[S.x(j, s)] = sp.Rational(rng.randint(-20, 20), rng.randint(3, 7))
        ys = [sp.Rational(rng.randint(1, 9), 10) for _ in range(spec.layers[-1].units)]
        if spec.loss == "cross_entropy" and sum(spec.y[s - 1]) == 1:
            # the targets of a softmax sum to 1, as the problem's do: the key's δ = ŷ − y
            # holds under that condition only, so the point must keep it
            ys = [v / sum(ys) for v in ys]
        for k, v in enumerate(ys, start=1):
            point[S.y(k, s)] = v
    return point


# Points drawn per gradient at most: a ReLU network's gradient is 0 wherever a unit on its path is dead
# (for the built-in problem, ∂L/∂w²₁₁ is 0 at all of the first 3 points), so more are drawn until each
# gradient is checked where it is not 0.
MAX_POINTS = 40


def test_symbolic_gradient_equals_sympy_diff(problem):
    sol = solve(problem)
    der, S = sol.derivation, sol.derivation.symbols
    L, forward = loss_in_parameters(problem, S)
    rng = random.Random(2)
    points, ours = [], []

    def point(n):
        while len(points) <= n:
            points.append(random_point(problem, S, rng))
            ours.append(form2_at(points[-1], der, problem, forward))
        return points[n], ours[n]

    assert der.grads, "no gradients to check"
    for eq in der.grads:
        param = _param_of(eq, S)
        nonzero, n = 0, 0
        while n < 3 or not nonzero:
            assert n < MAX_POINTS, f"{eq.name}: sympy.diff gives 0 at all {MAX_POINTS} random points: nothing checked"
            at, ours_at = point(n)
            n += 1
            # L as a function of this one parameter, the others fixed at the
            # point (as 50-digit floats, so sympy folds them), then sympy.diff
            others = {k: sp.Float(v, 50) for k, v in at.items() if k != param}
            truth = sp.N(sp.diff(L.xreplace(others), param).xreplace({param: at[param]}), 40)
            assert abs(ours_at[eq.name] - truth) <= sp.Float("1e-30", 40) * max(1, abs(truth)), (
                eq.name, ours_at[eq.name], truth)
            nonzero += truth != 0


def _param_of(eq, S):
    """The parameter's symbol: ("W2", 2, (1, 2)) -> w²₁₂"""
    group, layer, index = eq.param
    return S.w(layer, *index) if group.startswith("W") else S.b(layer, *index)


def test_substituted_numbers_evaluate_to_the_recorded_value(problem):
    sol = solve(problem)
    der = sol.derivation
    equations = der.forward + (der.loss,) + der.output_grads + der.deltas + der.grads
    for step in sol.steps:
        for eq in equations:
            expr = meaning(step.substituted[eq.name], problem)
            value = step.values[eq.name]
            assert not expr.free_symbols, (eq.name, expr)
            if sol.exact:
                assert expr.doit() == sp.Rational(value.numerator, value.denominator), eq.name
            else:
                got = sp.N(expr, 40)
                want = sp.Float(sp.Rational(value.numerator, value.denominator), 40)
                # the substituted numbers are rounded to 30 digits; the chain adds a little
                assert abs(got - want) <= sp.Float("1e-26") * max(1, abs(want)), (eq.name, got, want)


@pytest.mark.parametrize("kind", ["relu", "leaky_relu"])
def test_kink_derivative_is_pytorchs(kind):
    """ReLU′(0) = 0 and LeakyReLU′(0) = slope, as PyTorch's backward."""
    from worksheet.spec import parse_spec
    slope = ", slope = 0.25" if kind == "leaky_relu" else ""
    spec = parse_spec(f"""
[network]
inputs = 1
layers = [{{ units = 1, activation = "{kind}"{slope} }}, {{ units = 1 }}]
[init]
weight = 1
bias = 0
[data]
x = [0]
y = [1]
[training]
loss = "half_sse"
learning_rate = 0.1
""")
    step = solve(spec).steps[0]
    assert step.z[0][0] == (Fraction(0),)
    # ∂L/∂b¹ = δ¹ = δ²·w²·f′(0); δ² = ŷ − y = −1, w² = 1
    assert step.grads["b1"] == ((Fraction(0) if kind == "relu" else Fraction(-1, 4)),)


def test_a_kink_in_a_network_worked_to_30_digits_is_exactly_at_0():
    """0.1·0.3 − 0.03 = 0: with a sigmoid output the problem is worked in binary working digits, where that
    sum left a residue (the key showed z¹₁ = −3.025·10⁻¹²³, and ReLU′ followed the residue's sign, or the
    solve gave up as diverging); the z is 0, and ReLU′(0) = 0 as PyTorch's backward."""
    from worksheet.spec import parse_spec

    spec = parse_spec("""
[network]
inputs = 1
layers = [{ units = 2, activation = "relu" }, { units = 1, activation = "sigmoid" }]
[[init.layers]]
W = [[0.1], [0.2]]
b = [-0.03, 0.1]
[[init.layers]]
W = [[0.5, -0.5]]
b = [0.1]
[data]
x = [0.3]
y = [1]
[training]
loss = "half_sse"
learning_rate = 0.1
""")
    sol = solve(spec)
    assert not sol.exact
    z = sp.Rational(1, 10) * sp.Rational(3, 10) - sp.Rational(3, 100)
    first = sol.steps[0].z[0][0]
    assert z == 0 and first[0] == 0 and abs(first[1] - Fraction(16, 100)) < Fraction(1, 10**30)
    for step in sol.steps:  # unit 1 stays at its kink, learning nothing; unit 2 learns
        assert step.z[0][0][0] == 0
        assert step.grads["b1"][0] == 0 and step.grads["W1"][0] == (0,)
        assert step.grads["b1"][1] != 0


SOFT_TARGETS = """
[network]
inputs = 1
layers = [{ units = 2, activation = "tanh" }, { units = 3, activation = "softmax" }]
[init]
weight = 0.5
bias = 0.1
[data]
x = [[1], [-2]]
y = [[0.2, 0.3, 0.1], [0, 1, 0]]
[training]
loss = "cross_entropy"
learning_rate = 0.1
"""


def test_softmax_targets_that_do_not_sum_to_one():
    """δ = ŷᵢ·Σₖ yₖ − yᵢ where a sample's targets do not sum to 1, ŷᵢ − yᵢ where they do;
    both equal sympy.diff, and the numbers substituted give the recorded value."""
    from worksheet.spec import parse_spec
    spec = parse_spec(SOFT_TARGETS)
    test_symbolic_gradient_equals_sympy_diff(spec)
    test_substituted_numbers_evaluate_to_the_recorded_value(spec)
    der = solve(spec).derivation
    first, second = (next(eq for eq in der.deltas if eq.name == f"delta2_1_s{s}") for s in (1, 2))
    assert len(first.symbolic.free_symbols) == 4 and "do not sum to 1" in first.note
    assert len(second.symbolic.free_symbols) == 2 and "Σₖ yₖ = 1" in second.note


def test_symbolic_forms_carry_no_factor_of_one(problem):
    """An identity's derivative and ∂z/∂b are 1: the symbolic form leaves them out
    (y·1/ŷ reads y/ŷ); the chain form keeps its ∂z/∂b."""
    from worksheet.notation import TextPrinter, is_constant
    der = solve(problem).derivation
    printer = TextPrinter(fractions=True)
    for eq in der.forward + (der.loss,) + der.output_grads + der.deltas + der.grads:
        for node in sp.preorder_traversal(eq.symbolic):
            if isinstance(node, sp.Mul):
                assert sp.Integer(1) not in node.args or is_constant(node), (eq.name, node)
        text = printer.doprint(eq.symbolic)
        assert "·1/" not in text and not text.endswith("·1") and "·1·" not in text, (eq.name, text)


def test_cancelling_output_delta_is_the_taught_form(problem):
    """Softmax with cross-entropy and sigmoid with binary cross-entropy: the output δ is
    (ŷ − y) scaled as the loss averages, in ŷ and y alone, with a note saying why."""
    from worksheet.derive import CANCELLING
    der = solve(problem).derivation
    depth = len(problem.layers)
    outputs = [eq for eq in der.deltas if eq.layer == depth]
    if (problem.layers[-1].activation, problem.loss) not in CANCELLING:
        assert all(not eq.note for eq in outputs)
        return
    S = der.symbols
    for eq in outputs:
        allowed = {S.yhat(eq.unit, eq.sample)} | {S.y(k, eq.sample) for k in range(1, problem.layers[-1].units + 1)}
        assert eq.symbolic.free_symbols <= allowed, (eq.name, eq.symbolic)
        assert eq.note and eq.chain is not None
