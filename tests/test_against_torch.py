"""Random small networks, solved exactly (or to 30 digits), against PyTorch
autograd in float64: every forward value, loss, gradient and update."""

from fractions import Fraction

import torch
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from worksheet import parse_spec, solve
from worksheet.solve import SolveError

RELATIVE = 1e-9
# Below this size a difference counts against the floor, not the value: float64 leaves
# ~1e-15 where terms of size ~10 cancel to an exact 0 (hypothesis found 1.1e-15).
FLOOR = 1e-3


def torch_steps(spec):
    """The problem run by torch: a functional network and torch.optim.SGD."""
    dt = torch.float64
    params = {}
    for n, (W, b) in enumerate(zip(spec.weights, spec.biases), start=1):
        params[f"W{n}"] = torch.tensor([[float(v) for v in r] for r in W], dtype=dt)
        if b is not None:
            params[f"b{n}"] = torch.tensor([float(v) for v in b], dtype=dt)
    for name, p in params.items():
        p.requires_grad_(name not in spec.frozen)
    trainable = [p for name, p in params.items() if name not in spec.frozen]
    opt = torch.optim.SGD(trainable, lr=float(spec.learning_rate), momentum=float(spec.momentum))
    X = torch.tensor([[float(v) for v in r] for r in spec.x], dtype=dt)
    Y = torch.tensor([[float(v) for v in r] for r in spec.y], dtype=dt)
    n, K = Y.shape
    F = torch.nn.functional
    out = []
    for _ in range(spec.steps):
        rec = {"params": {k: v.detach().clone() for k, v in params.items()}, "z": [], "a": []}
        opt.zero_grad()
        a = X
        for l, layer in enumerate(spec.layers, start=1):
            z = a @ params[f"W{l}"].T + (params[f"b{l}"] if f"b{l}" in params else 0)
            a = {"identity": lambda t: t, "relu": F.relu, "sigmoid": torch.sigmoid, "tanh": torch.tanh,
                 "leaky_relu": lambda t, s=float(layer.slope): F.leaky_relu(t, s),
                 "softmax": lambda t: torch.softmax(t, dim=1)}[layer.activation](z)
            rec["z"].append(z.detach())
            rec["a"].append(a.detach())
        if spec.loss == "half_sse":
            L = 0.5 * ((a - Y) ** 2).sum()
            L = L / n if spec.reduction == "mean" else L
        elif spec.loss == "sse":
            L = ((a - Y) ** 2).sum()
            L = L / n if spec.reduction == "mean" else L
        elif spec.loss == "mse":
            L = torch.nn.MSELoss(reduction=spec.reduction)(a, Y)
        elif spec.loss == "bce":
            L = torch.nn.BCELoss(reduction=spec.reduction)(a, Y)
        else:  # PyTorch's own loss on the logits: the same L as -Σ y·log softmax(z)
            L = torch.nn.CrossEntropyLoss(reduction=spec.reduction)(z, Y)
        L.backward()
        rec["loss"] = L.item()
        rec["grads"] = {k: p.grad.clone() for k, p in params.items() if k not in spec.frozen}
        opt.step()
        rec["updated"] = {k: v.detach().clone() for k, v in params.items()}
        out.append(rec)
    return out


def close(ours, theirs, what):
    theirs = theirs.flatten().tolist() if hasattr(theirs, "flatten") else [theirs]
    ours = _flat(ours)
    assert len(ours) == len(theirs), what
    for a, b in zip(ours, theirs):
        assert abs(float(a) - b) <= RELATIVE * max(abs(b), FLOOR), (what, float(a), b)


def _flat(v):
    if isinstance(v, tuple):
        return [x for item in v for x in _flat(item)]
    return [v]


def check(spec):
    sol = solve(spec)
    ref = torch_steps(spec)
    assert len(sol.steps) == len(ref)
    for step, rec in zip(sol.steps, ref):
        for name, value in rec["params"].items():
            close(step.params[name], value, f"step {step.number} params {name}")
        for l in range(len(spec.layers)):
            close(tuple(s[l] for s in step.z), rec["z"][l], f"step {step.number} z{l + 1}")
            close(tuple(s[l] for s in step.a), rec["a"][l], f"step {step.number} a{l + 1}")
        close(step.loss, rec["loss"], f"step {step.number} loss")
        assert set(step.grads) == set(rec["grads"])
        for name, value in rec["grads"].items():
            close(step.grads[name], value, f"step {step.number} grad {name}")
        for name, value in rec["updated"].items():
            close(step.updated[name], value, f"step {step.number} updated {name}")
    return sol


# -- random problems ---------------------------------------------------------

def fractions(lo, hi, denominators=(1, 2, 4, 5, 8, 10)):
    return st.builds(lambda n, d: Fraction(n, d), st.integers(lo, hi), st.sampled_from(denominators))


def toml_value(q: Fraction) -> str:
    return f'"{q.numerator}/{q.denominator}"' if q.denominator != 1 else str(q.numerator)


@st.composite
def problems(draw):
    inputs = draw(st.integers(1, 3))
    depth = draw(st.integers(1, 3))
    hidden_kinds = ["identity", "relu", "leaky_relu", "sigmoid", "tanh"]
    loss = draw(st.sampled_from(["half_sse", "sse", "mse", "bce", "cross_entropy"]))
    out_kind = {"bce": "sigmoid", "cross_entropy": "softmax"}.get(loss) or draw(
        st.sampled_from(hidden_kinds + ["softmax"]))
    layers = []
    for l in range(depth):
        last = l == depth - 1
        units = draw(st.integers(2, 3)) if last and out_kind == "softmax" else draw(st.integers(1, 3))
        kind = out_kind if last else draw(st.sampled_from(hidden_kinds))
        layers.append((units, kind, draw(st.booleans()), draw(fractions(1, 5, (10,)))))
    samples = draw(st.integers(1, 3))
    batched = samples > 1 or draw(st.booleans())
    lines = ["[network]", f"inputs = {inputs}", "layers = ["]
    for units, kind, bias, slope in layers:
        extra = f", slope = {toml_value(slope)}" if kind == "leaky_relu" else ""
        lines.append(f'  {{ units = {units}, activation = "{kind}", bias = {str(bias).lower()}{extra} }},')
    lines.append("]")
    fan_in = inputs
    groups = []
    for n, (units, _kind, bias, _) in enumerate(layers, start=1):
        W = draw(st.lists(st.lists(fractions(-12, 12), min_size=fan_in, max_size=fan_in),
                          min_size=units, max_size=units))
        lines += ["[[init.layers]]", "W = [" + ", ".join("[" + ", ".join(map(toml_value, r)) + "]" for r in W) + "]"]
        groups.append(f"W{n}")
        if bias:
            b = draw(st.lists(fractions(-8, 8), min_size=units, max_size=units))
            lines.append("b = [" + ", ".join(map(toml_value, b)) + "]")
            groups.append(f"b{n}")
        fan_in = units
    outputs = layers[-1][0]
    xs = draw(st.lists(st.lists(fractions(-16, 16), min_size=inputs, max_size=inputs),
                       min_size=samples, max_size=samples))
    target = fractions(0, 10, (10,)) if loss in ("bce", "cross_entropy") else fractions(-10, 10)
    ys = draw(st.lists(st.lists(target, min_size=outputs, max_size=outputs), min_size=samples, max_size=samples))
    row = lambda r: "[" + ", ".join(map(toml_value, r)) + "]"  # noqa: E731
    if batched:
        lines += ["[data]", "x = [" + ", ".join(map(row, xs)) + "]", "y = [" + ", ".join(map(row, ys)) + "]"]
    else:
        lines += ["[data]", f"x = {row(xs[0])}", f"y = {row(ys[0])}"]
    frozen = draw(st.lists(st.sampled_from(groups), unique=True, max_size=max(0, len(groups) - 1)))
    lines += ["[training]", f'loss = "{loss}"',
              f"learning_rate = {draw(st.sampled_from(['0.01', '0.1', '0.5', '1']))}",
              f"momentum = {draw(st.sampled_from(['0', '0.5', '0.9']))}",
              f"steps = {draw(st.integers(1, 3))}",
              "frozen = [" + ", ".join(f'"{g}"' for g in frozen) + "]"]
    if draw(st.booleans()):
        lines.append(f'reduction = "{draw(st.sampled_from(["sum", "mean"]))}"')
    return "\n".join(lines) + "\n"


def max_abs_z_float64(spec) -> float:
    """The largest |z| PyTorch meets in float64 over every step (inf if it overflows)."""
    top = 0.0
    for rec in torch_steps(spec):
        for z in rec["z"]:
            if not torch.isfinite(z).all():
                return float("inf")
            top = max(top, float(z.abs().max()))
    return top


def ill_conditioned(sol) -> bool:
    """Where float64 itself cannot reach 1e-9. PyTorch computes σ′ = a(1 − a),
    tanh′ = 1 − a², log(1 − ŷ) and 1/(1 − ŷ) from a float64 a: when a unit
    saturates (a within 1e-6 of its bound) the cancellation costs float64 more
    than 6 of its 16 digits. The solution keeps its digits there; the test
    cannot hold PyTorch to them."""
    for step in sol.steps:
        for sample in step.a:
            for layer, units in zip(sol.spec.layers, sample):
                for a in units:
                    if layer.activation in ("sigmoid", "softmax") and min(a, 1 - a) < 1e-6:
                        return True
                    if layer.activation == "tanh" and 1 - abs(a) < 1e-6:
                        return True
    return False


def kinked(sol) -> bool:
    """A ReLU-type unit exactly at (or within float64's reach of) its kink: PyTorch's
    float64 z may land on the other side, so the two legitimately differ there."""
    for step in sol.steps:
        for sample in step.z:
            for layer, zs in zip(sol.spec.layers, sample):
                if layer.activation in ("relu", "leaky_relu") and any(abs(z) < 1e-9 for z in zs):
                    return True
    return False


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problems())
def test_random_networks_match_pytorch_float64(text):
    spec = parse_spec(text, "<generated>")
    try:
        sol = solve(spec)
    except SolveError:
        # The documented limit, only for a unit pushed far into saturation at some
        # step: past |z| = 20 a sigmoid is within 2e-9 of its bound, a log loss's
        # 1/(1 − ŷ) carries 1e8 or more into the update, and the next step's z runs
        # away (hypothesis found z = 66 at step 1 and a refused step 2; and a
        # diverging run whose σ(−10⁶) took the solver minutes before it refused).
        assert max_abs_z_float64(spec) > 20
        return
    assume(not kinked(sol) and not ill_conditioned(sol))
    check(spec)


def test_every_example_matches_pytorch(problem):
    check(problem)
