"""Trace stage: a `Spec` in, the homework's PyTorch printout out, in float32.

Contract: `run(spec, iters)` is pure and returns one `Snapshot` per iteration
0..iters, computed in float32 the way the homework's script does (zero the
gradients, forward, loss, backward, print, step), so that exact fractions,
which grow about fivefold in digits per step, are never needed.
`format_trace` writes them in the homework's blocks, with PyTorch's own rules
for printing a tensor (4 decimals, integer and scientific modes, line
wrapping at 80 columns), so the two can be laid side by side.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .derive import loss_scale
from .spec import Spec

F32 = np.float32
MODULE_NAMES = {
    "relu": ("ReLU", "ReluBackward0"),
    "leaky_relu": ("LeakyReLU", "LeakyReluBackward0"),
    "sigmoid": ("Sigmoid", "SigmoidBackward0"),
    "tanh": ("Tanh", "TanhBackward0"),
    "softmax": ("Softmax", "SoftmaxBackward0"),
}


@dataclass(frozen=True)
class Snapshot:
    iteration: int
    params: dict[str, np.ndarray]  # before this iteration's step
    grads: dict[str, np.ndarray]  # trainable groups only
    outputs: tuple[np.ndarray, ...]  # per module: linear output, then activation output
    loss: float


def run(spec: Spec, iters: int) -> tuple[Snapshot, ...]:
    depth = len(spec.layers)
    params: dict[str, np.ndarray] = {}
    for n, (W, b) in enumerate(zip(spec.weights, spec.biases), start=1):
        params[f"W{n}"] = np.array([[float(v) for v in row] for row in W], dtype=F32)
        if b is not None:
            params[f"b{n}"] = np.array([float(v) for v in b], dtype=F32)
    X = np.array([[float(v) for v in row] for row in spec.x], dtype=F32)
    Y = np.array([[float(v) for v in row] for row in spec.y], dtype=F32)
    lr, mu = F32(float(spec.learning_rate)), F32(float(spec.momentum))
    scale = F32(float(loss_scale(spec)))
    buffers: dict[str, np.ndarray] = {}
    snapshots = []
    for it in range(iters + 1):
        # forward, keeping what backward needs
        acts, zs, outs = [X], [], []
        for n, layer in enumerate(spec.layers, start=1):
            z = acts[-1] @ params[f"W{n}"].T
            if f"b{n}" in params:
                z = z + params[f"b{n}"]
            a = _activate(layer.activation, z, F32(float(layer.slope)))
            zs.append(z)
            acts.append(a)
            outs.append(z)
            if layer.activation != "identity":
                outs.append(a)
        yhat = acts[-1]
        loss, dy = _loss(spec.loss, yhat, Y, scale)
        delta = [None] * depth
        for n in range(depth - 1, -1, -1):
            layer = spec.layers[n]
            g = dy if n == depth - 1 else delta[n + 1] @ params[f"W{n + 2}"]
            delta[n] = _backward(layer.activation, g, zs[n], acts[n + 1], F32(float(layer.slope)))
        grads = {}
        for n in range(depth):
            if f"W{n + 1}" not in spec.frozen:
                grads[f"W{n + 1}"] = (delta[n].T @ acts[n]).astype(F32)
            if f"b{n + 1}" in params and f"b{n + 1}" not in spec.frozen:
                grads[f"b{n + 1}"] = delta[n].sum(axis=0, dtype=F32)
        squeeze = (lambda arr: arr[0]) if not spec.batched else (lambda arr: arr)
        snapshots.append(Snapshot(it, {k: v.copy() for k, v in params.items()}, grads,
                                  tuple(squeeze(o) for o in outs), float(loss)))
        for name, g in grads.items():  # optimizer.step(), PyTorch's SGD
            v = g if name not in buffers or not mu else (mu * buffers[name] + g).astype(F32)
            if mu:
                buffers[name] = v
            params[name] = (params[name] - lr * v).astype(F32)
    return tuple(snapshots)


def _activate(kind: str, z: np.ndarray, slope) -> np.ndarray:
    if kind == "identity":
        return z
    if kind == "relu":
        return np.maximum(z, F32(0))
    if kind == "leaky_relu":
        return np.where(z > 0, z, z * slope).astype(F32)
    if kind == "sigmoid":
        return (F32(1) / (F32(1) + np.exp(-z))).astype(F32)
    if kind == "tanh":
        return np.tanh(z)
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return (e / e.sum(axis=1, keepdims=True)).astype(F32)


def _backward(kind: str, g: np.ndarray, z: np.ndarray, a: np.ndarray, slope) -> np.ndarray:
    if kind == "identity":
        return g
    if kind == "relu":
        return np.where(z > 0, g, F32(0)).astype(F32)
    if kind == "leaky_relu":
        return np.where(z > 0, g, g * slope).astype(F32)
    if kind == "sigmoid":
        return (g * a * (F32(1) - a)).astype(F32)
    if kind == "tanh":
        return (g * (F32(1) - a * a)).astype(F32)
    return (a * (g - (g * a).sum(axis=1, keepdims=True))).astype(F32)  # softmax


def _loss(kind: str, yhat: np.ndarray, y: np.ndarray, scale) -> tuple[np.float32, np.ndarray]:
    if kind in ("half_sse", "sse", "mse"):
        d = yhat - y
        half = kind == "half_sse"
        total = (d * d).sum(dtype=F32) * scale
        return (total / F32(2) if half else total), (d * scale * (F32(1) if half else F32(2))).astype(F32)
    if kind == "bce":
        total = -(y * np.log(yhat) + (F32(1) - y) * np.log(F32(1) - yhat)).sum(dtype=F32) * scale
        return total, (scale * (yhat - y) / (yhat * (F32(1) - yhat))).astype(F32)
    total = -(y * np.log(yhat)).sum(dtype=F32) * scale
    return total, (-scale * y / yhat).astype(F32)


# -- printing, as PyTorch prints ------------------------------------------------

LINE_WIDTH = 80


class _Formatter:
    """torch._tensor_str._Formatter for float tensors at precision 4."""

    def __init__(self, values: np.ndarray):
        flat = [float(v) for v in values.reshape(-1)]
        finite = [v for v in flat if math.isfinite(v) and v != 0]
        self.int_mode, self.sci_mode, self.width = True, False, 1
        if not finite:
            return
        absolute = [abs(v) for v in finite]
        lo, hi = min(absolute), max(absolute)
        self.int_mode = all(v == math.ceil(v) for v in finite)
        self.sci_mode = hi / lo > 1000.0 or hi > 1.0e8 or lo < 1.0e-4
        for v in finite:
            if self.sci_mode:
                self.width = max(self.width, len(f"{v:.4e}"))
            elif self.int_mode:
                self.width = max(self.width, len(f"{v:.0f}") + 1)
            else:
                self.width = max(self.width, len(f"{v:.4f}"))

    def format(self, v: float) -> str:
        if self.sci_mode:
            text = f"{v:{self.width}.4e}"
        elif self.int_mode:
            text = f"{v:.0f}" + ("" if math.isinf(v) or math.isnan(v) else ".")
        else:
            text = f"{v:.4f}"
        return " " * (self.width - len(text)) + text


def _vector(values, indent: int, fmt: _Formatter) -> str:
    per_line = max(1, math.floor((LINE_WIDTH - indent) / (fmt.width + 2)))
    data = [fmt.format(float(v)) for v in values]
    lines = [", ".join(data[i:i + per_line]) for i in range(0, len(data), per_line)]
    return "[" + (",\n" + " " * (indent + 1)).join(lines) + "]"


def _body(values: np.ndarray, indent: int, fmt: _Formatter) -> str:
    if values.ndim == 0:  # a scalar: tensor(6.1250)
        return fmt.format(float(values)).strip()
    if values.ndim == 1:
        return _vector(values, indent, fmt)
    rows = [_body(row, indent + 1, fmt) for row in values]
    return "[" + (",\n" + " " * (indent + 1)).join(rows) + "]"


def format_tensor(values: np.ndarray, suffix: str | None = None) -> str:
    """str(torch.tensor(values)), with an optional `requires_grad=True` or `grad_fn=<...>`."""
    values = np.asarray(values)
    prefix, indent = "tensor(", len("tensor(")
    text = prefix + _body(values, indent, _Formatter(values))
    if suffix:
        last_line = len(text) - text.rfind("\n") + 1  # torch's own reckoning, quirks kept
        text += (",\n" + " " * indent + suffix) if last_line + len(suffix) + 2 > LINE_WIDTH else ", " + suffix
    return text + ")"


def format_trace(spec: Spec, snapshots: tuple[Snapshot, ...]) -> str:
    lines: list[str] = []
    X = np.array([[float(v) for v in row] for row in spec.x], dtype=F32)
    shown_x = X if spec.batched else X[0]
    for snap in snapshots:
        lines += [f"Iters {snap.iteration}", "Input:", format_tensor(shown_x), "-----"]
        outputs = iter(snap.outputs)
        tracked = False  # an output has a grad_fn once a parameter before it requires grad
        for n, layer in enumerate(spec.layers, start=1):
            lines.append("-----")
            for group, kind in ((f"W{n}", "weight"), (f"b{n}", "bias")):
                if group not in snap.params:
                    continue
                trainable = group in snap.grads
                tracked = tracked or trainable
                lines.append(f"Layer{n} {kind} Parameter containing:")
                lines.append(format_tensor(snap.params[group], "requires_grad=True" if trainable else None))
                lines.append(f"Layer{n} {kind} Gradient")
                lines.append(format_tensor(snap.grads[group]) if trainable else "None")
            # PyTorch 2.13's names; the homework's 2022 printout says AddBackward0 for ViewBackward0
            linear_fn = ("AddmmBackward0" if spec.batched else "ViewBackward0") if layer.bias else (
                "MmBackward0" if spec.batched else "SqueezeBackward4")
            lines.append(f"Layer{n} output:")
            lines.append(format_tensor(next(outputs), f"grad_fn=<{linear_fn}>" if tracked else None))
            if layer.activation != "identity":
                name, fn = MODULE_NAMES[layer.activation]
                lines += ["-----", f"{name}{n} output:",
                          format_tensor(next(outputs), f"grad_fn=<{fn}>" if tracked else None)]
        lines.append("=====")
    return "\n".join(lines) + "\n"
