"""Verify stage: a `Solution` against PyTorch autograd in float64.

Contract: `reference(spec)` runs the problem through `torch.nn` and
`torch.optim.SGD` (importing torch only when called) and returns, per step,
the same quantities the solution records, as floats. `compare` gives the
largest absolute and relative difference per quantity. Neither prints.
"""

from __future__ import annotations

from dataclasses import dataclass

from .solve import Solution
from .spec import Spec

TOLERANCE = 1e-9  # relative
# Below this magnitude a difference is measured against the floor, not the value:
# a gradient that cancels to almost 0 keeps only float64's absolute accuracy.
FLOOR = 1e-3  # 1e-12 absolute: what float64 keeps where terms of size ~10 cancel


class TorchMissing(RuntimeError):
    pass


@dataclass(frozen=True)
class Difference:
    quantity: str
    count: int
    abs_diff: float
    rel_diff: float

    @property
    def ok(self) -> bool:
        return self.rel_diff <= TOLERANCE


def reference(spec: Spec) -> list[dict[str, list[float]]]:
    """Per step: params_<group>, z<l>, a<l>, loss, grad_<group>, updated_<group>, flattened."""
    try:
        import torch
    except ImportError:
        raise TorchMissing(
            "PyTorch is not installed; install it with: pip install torch==2.13.0"
        ) from None
    f64 = torch.float64  # passed everywhere: the default dtype is global state, not ours
    acts = {"identity": torch.nn.Identity, "relu": torch.nn.ReLU, "sigmoid": torch.nn.Sigmoid,
            "tanh": torch.nn.Tanh}
    layers, fan_in = [], spec.inputs
    for layer, W, b in zip(spec.layers, spec.weights, spec.biases):
        lin = torch.nn.Linear(fan_in, layer.units, bias=layer.bias, dtype=f64)
        with torch.no_grad():
            lin.weight.copy_(torch.tensor([[float(v) for v in row] for row in W], dtype=f64))
            if b is not None:
                lin.bias.copy_(torch.tensor([float(v) for v in b], dtype=f64))
        if layer.activation == "leaky_relu":
            act = torch.nn.LeakyReLU(float(layer.slope))
        elif layer.activation == "softmax":
            act = torch.nn.Softmax(dim=1)
        else:
            act = acts[layer.activation]()
        layers.append((lin, act))
        fan_in = layer.units
    named = {}
    for n, (lin, _) in enumerate(layers, start=1):
        named[f"W{n}"] = lin.weight
        if lin.bias is not None:
            named[f"b{n}"] = lin.bias
    for name, p in named.items():
        p.requires_grad_(name not in spec.frozen)
    trainable = [p for name, p in named.items() if name not in spec.frozen]
    opt = torch.optim.SGD(trainable, lr=float(spec.learning_rate), momentum=float(spec.momentum))
    X = torch.tensor([[float(v) for v in row] for row in spec.x], dtype=f64)
    Y = torch.tensor([[float(v) for v in row] for row in spec.y], dtype=f64)
    n, k = Y.shape
    mean = spec.reduction == "mean"

    def loss_fn(pred):
        F = torch.nn.functional
        if spec.loss == "half_sse":
            return ((pred - Y) ** 2).sum() / 2 / (n if mean else 1)
        if spec.loss == "sse":
            return ((pred - Y) ** 2).sum() / (n if mean else 1)
        if spec.loss == "mse":
            return F.mse_loss(pred, Y, reduction=spec.reduction)
        if spec.loss == "bce":
            return F.binary_cross_entropy(pred, Y, reduction=spec.reduction)
        return -(Y * torch.log(pred)).sum() / (n if mean else 1)

    steps = []
    for _ in range(spec.steps):
        record: dict[str, list[float]] = {}
        for name, p in named.items():
            record[f"params_{name}"] = p.detach().flatten().tolist()
        opt.zero_grad()
        a = X
        for i, (lin, act) in enumerate(layers, start=1):
            z = lin(a)
            a = act(z)
            record[f"z{i}"] = z.detach().flatten().tolist()
            record[f"a{i}"] = a.detach().flatten().tolist()
        loss = loss_fn(a)
        loss.backward()
        record["loss"] = [loss.item()]
        for name, p in named.items():
            if name not in spec.frozen:
                record[f"grad_{name}"] = p.grad.flatten().tolist()
        opt.step()
        for name, p in named.items():
            record[f"updated_{name}"] = p.detach().flatten().tolist()
        steps.append(record)
    return steps


def _flatten(value) -> list[float]:
    if isinstance(value, tuple):
        return [x for v in value for x in _flatten(v)]
    return [float(value)]


def ours(sol: Solution) -> list[dict[str, list[float]]]:
    """The solution's numbers in the shape `reference` returns."""
    out = []
    for step in sol.steps:
        record: dict[str, list[float]] = {}
        for name, v in step.params.items():
            record[f"params_{name}"] = _flatten(v)
        for n in range(len(sol.spec.layers)):
            record[f"z{n + 1}"] = _flatten(tuple(s[n] for s in step.z))
            record[f"a{n + 1}"] = _flatten(tuple(s[n] for s in step.a))
        record["loss"] = [float(step.loss)]
        for name, v in step.grads.items():
            record[f"grad_{name}"] = _flatten(v)
        for name, v in step.updated.items():
            record[f"updated_{name}"] = _flatten(v)
        out.append(record)
    return out


def compare(sol: Solution, ref: list[dict[str, list[float]]]) -> list[Difference]:
    mine = ours(sol)
    keys = list(mine[0])
    if set(keys) != set(ref[0]):
        raise ValueError(f"quantities differ: {sorted(set(keys) ^ set(ref[0]))}")
    rows = []
    for key in keys:
        count, worst_abs, worst_rel = 0, 0.0, 0.0
        for m, r in zip(mine, ref):
            for a, b in zip(m[key], r[key], strict=True):
                count += 1
                diff = abs(a - b)
                worst_abs = max(worst_abs, diff)
                worst_rel = max(worst_rel, diff / max(abs(b), FLOOR))
        rows.append(Difference(key, count, worst_abs, worst_rel))
    return rows
