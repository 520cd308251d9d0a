"""Spec stage: TOML text in, a validated, frozen `Spec` out.

Contract: `parse_spec(text, source)` touches no files. Every number is kept
exact as a `Fraction`, taken from the text the user wrote (0.1 is 1/10, "7/2"
is 7/2), never from a binary float. Anything wrong raises `SpecError` naming
the source, the key path, the bad value and what is allowed; nothing else
escapes for bad input.
"""

from __future__ import annotations

import math
import re
import tomllib
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from importlib import resources
from typing import Any

ACTIVATIONS = ("identity", "relu", "leaky_relu", "sigmoid", "tanh", "softmax")
LOSSES = ("half_sse", "sse", "mse", "bce", "cross_entropy")
REDUCTIONS = ("sum", "mean")
# Losses that sum over samples by default; the rest average (as PyTorch's).
SUMMING_LOSSES = ("half_sse", "sse")
# Rational arithmetic stays rational through these; anything else is irrational.
PIECEWISE_LINEAR = ("identity", "relu", "leaky_relu")

# A worksheet is a hand calculation: these bounds keep it one.  `trace` runs
# in float32 and is bounded separately (MAX_TRACE_ITERS).
MAX_LAYERS = 6
MAX_UNITS = 8
MAX_INPUTS = 8
MAX_SAMPLES = 16
MAX_PARAMETERS = 200
MAX_STEPS = 5
MAX_TRACE_ITERS = 10_000
DEFAULT_LEAKY_SLOPE = Fraction(1, 100)  # PyTorch's negative_slope default

BUILTIN_NAME = "hw2-1.toml"


class SpecError(ValueError):
    """A problem in a spec file, phrased for the person who wrote it."""

    def __init__(self, source: str, where: str, message: str):
        self.source, self.where, self.message = source, where, message
        prefix = f"{source}: {where}: " if where else f"{source}: "
        super().__init__(prefix + message)


@dataclass(frozen=True)
class Layer:
    units: int
    activation: str
    bias: bool = True
    slope: Fraction = DEFAULT_LEAKY_SLOPE  # leaky_relu only


@dataclass(frozen=True)
class Spec:
    title: str
    inputs: int
    layers: tuple[Layer, ...]
    weights: tuple[tuple[tuple[Fraction, ...], ...], ...]  # per layer, units x inputs
    biases: tuple[tuple[Fraction, ...] | None, ...]  # per layer; None: no bias
    x: tuple[tuple[Fraction, ...], ...]  # samples x inputs
    y: tuple[tuple[Fraction, ...], ...]  # samples x outputs
    loss: str
    reduction: str
    learning_rate: Fraction
    momentum: Fraction
    steps: int
    frozen: frozenset[str]
    batched: bool  # x was written as a list of samples
    course: str = ""
    instructor: str = ""
    due: str = ""

    @property
    def exact(self) -> bool:
        """True when every value of the solution is a rational number."""
        return all(layer.activation in PIECEWISE_LINEAR for layer in self.layers) and (
            self.loss in ("half_sse", "sse", "mse")
        )

    @property
    def group_names(self) -> tuple[str, ...]:
        """Parameter groups in PyTorch's order: W1, b1, W2, b2, ..."""
        names: list[str] = []
        for n, layer in enumerate(self.layers, start=1):
            names.append(f"W{n}")
            if layer.bias:
                names.append(f"b{n}")
        return tuple(names)


def builtin_text() -> str:
    """The shipped HW2-1 problem, as TOML text."""
    return resources.files("worksheet").joinpath("problems", BUILTIN_NAME).read_text()


def parse_spec(text: str, source: str = "<spec>") -> Spec:
    """Parse and validate a spec; raise SpecError on anything wrong."""
    try:
        doc = tomllib.loads(text, parse_float=Decimal)
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(source, "", f"not valid TOML: {exc}") from None
    return _Parser(source).spec(doc)


_FRACTION_TEXT = re.compile(r"\s*[-+]?\d+\s*/\s*\d+\s*|\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*")


class _Parser:
    def __init__(self, source: str):
        self.source = source

    def fail(self, where: str, message: str) -> SpecError:
        return SpecError(self.source, where, message)

    # -- scalars ---------------------------------------------------------
    def table(self, value: Any, where: str, allowed: tuple[str, ...]) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(where, f"expected a table, got {_show(value)}")
        for key in value:
            if key not in allowed:
                raise self.fail(
                    _join(where, key), f"unknown key; allowed keys are {', '.join(allowed)}"
                )
        return value

    def number(self, value: Any, where: str) -> Fraction:
        if isinstance(value, bool):
            raise self.fail(where, f"expected a number, got {_show(value)}")
        if isinstance(value, int):
            return Fraction(value)
        if isinstance(value, Decimal):
            if not value.is_finite():
                raise self.fail(where, f"{_show(value)} is not a finite number")
            return Fraction(value)
        if isinstance(value, str):
            if _FRACTION_TEXT.fullmatch(value):
                try:
                    return Fraction(value.replace(" ", ""))
                except ZeroDivisionError:
                    raise self.fail(where, f"{_show(value)} divides by zero") from None
            raise self.fail(
                where, f"{_show(value)} is not a number; write a decimal or a fraction like \"7/2\""
            )
        raise self.fail(where, f"expected a number, got {_show(value)}")

    def integer(self, value: Any, where: str, low: int, high: int) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(where, f"expected a whole number, got {_show(value)}")
        if not low <= value <= high:
            raise self.fail(where, f"{value} is out of range; allowed is {low} to {high}")
        return value

    def choice(self, value: Any, where: str, allowed: tuple[str, ...]) -> str:
        if value not in allowed:
            raise self.fail(where, f"{_show(value)} is not one of {', '.join(allowed)}")
        return value

    def text(self, value: Any, where: str) -> str:
        if not isinstance(value, str):
            raise self.fail(where, f"expected a string, got {_show(value)}")
        return value

    def vector(self, value: Any, where: str, length: int, what: str) -> tuple[Fraction, ...]:
        if not isinstance(value, list):
            raise self.fail(where, f"expected a list of {length} numbers ({what}), got {_show(value)}")
        if len(value) != length:
            raise self.fail(
                where, f"has {len(value)} values; expected {length} ({what})"
            )
        return tuple(self.number(v, f"{where}[{i}]") for i, v in enumerate(value))

    def matrix(self, value: Any, where: str, rows: int, cols: int, what: str) -> tuple:
        if not isinstance(value, list) or not all(isinstance(r, list) for r in value):
            raise self.fail(
                where, f"expected a list of {rows} rows of {cols} numbers ({what}), got {_show(value)}"
            )
        if len(value) != rows:
            raise self.fail(where, f"has {len(value)} rows; expected {rows} ({what})")
        return tuple(
            self.vector(r, f"{where}[{i}]", cols, what) for i, r in enumerate(value)
        )

    # -- sections ----------------------------------------------------------
    def spec(self, doc: dict[str, Any]) -> Spec:
        self.table(
            doc, "", ("title", "course", "instructor", "due", "network", "init", "data", "training")
        )
        for key in ("network", "data", "training"):
            if key not in doc:
                raise self.fail(key, "missing; every spec needs [network], [data] and [training]")
        texts = {k: self.text(doc.get(k, ""), k) for k in ("title", "course", "instructor", "due")}
        inputs, layers = self.network(doc["network"])
        weights, biases = self.init(doc.get("init", {}), inputs, layers)
        x, y, batched = self.data(doc["data"], inputs, layers[-1].units)
        training = self.training(doc["training"], layers, y)
        return Spec(
            title=texts["title"] or "Forward pass and backpropagation",
            inputs=inputs,
            layers=layers,
            weights=weights,
            biases=biases,
            x=x,
            y=y,
            batched=batched,
            course=texts["course"],
            instructor=texts["instructor"],
            due=texts["due"],
            **training,
        )

    def network(self, net: Any) -> tuple[int, tuple[Layer, ...]]:
        self.table(net, "network", ("inputs", "layers"))
        if "inputs" not in net:
            raise self.fail("network.inputs", "missing; give the number of inputs")
        inputs = self.integer(net["inputs"], "network.inputs", 1, MAX_INPUTS)
        raw = net.get("layers")
        if not isinstance(raw, list) or not raw:
            raise self.fail(
                "network.layers",
                f"expected a list of 1 to {MAX_LAYERS} layers like "
                '{ units = 2, activation = "relu" }, got ' + _show(raw),
            )
        if len(raw) > MAX_LAYERS:
            raise self.fail(
                "network.layers",
                f"has {len(raw)} layers; a hand calculation allows at most {MAX_LAYERS}",
            )
        layers = []
        for i, item in enumerate(raw):
            where = f"network.layers[{i}]"
            self.table(item, where, ("units", "activation", "bias", "slope"))
            if "units" not in item:
                raise self.fail(f"{where}.units", "missing; give the number of units")
            units = self.integer(item["units"], f"{where}.units", 1, MAX_UNITS)
            activation = self.choice(item.get("activation", "identity"), f"{where}.activation", ACTIVATIONS)
            bias = item.get("bias", True)
            if not isinstance(bias, bool):
                raise self.fail(f"{where}.bias", f"{_show(bias)} is not one of true, false")
            slope = DEFAULT_LEAKY_SLOPE
            if "slope" in item:
                if activation != "leaky_relu":
                    raise self.fail(f"{where}.slope", "only a leaky_relu layer takes a slope")
                slope = self.number(item["slope"], f"{where}.slope")
            if activation == "softmax":
                if i != len(raw) - 1:
                    raise self.fail(
                        f"{where}.activation",
                        "'softmax' is allowed on the output layer only "
                        f"(layer {len(raw)}), not on layer {i + 1}",
                    )
                if units < 2:
                    raise self.fail(f"{where}.units", "a softmax layer needs at least 2 units")
            layers.append(Layer(units, activation, bias, slope))
        n_params = sum(
            l.units * (fan_in + l.bias)
            for l, fan_in in zip(layers, [inputs] + [l.units for l in layers])
        )
        if n_params > MAX_PARAMETERS:
            raise self.fail(
                "network",
                f"has {n_params} parameters; a hand calculation allows at most {MAX_PARAMETERS}",
            )
        return inputs, tuple(layers)

    def init(self, init: Any, inputs: int, layers: tuple[Layer, ...]):
        self.table(init, "init", ("weight", "bias", "layers"))
        default_w = self.number(init["weight"], "init.weight") if "weight" in init else None
        default_b = self.number(init["bias"], "init.bias") if "bias" in init else None
        per_layer = init.get("layers")
        if per_layer is not None:
            if not isinstance(per_layer, list) or len(per_layer) != len(layers):
                n = len(per_layer) if isinstance(per_layer, list) else _show(per_layer)
                raise self.fail(
                    "init.layers",
                    f"has {n} tables; expected one [[init.layers]] per layer ({len(layers)}), in order",
                )
        weights, biases = [], []
        fan_in = inputs
        for n, layer in enumerate(layers):
            given = self.table(per_layer[n], f"init.layers[{n}]", ("W", "b")) if per_layer else {}
            shape = f"layer {n + 1}: {layer.units} units x {fan_in} inputs"
            if "W" in given:
                W = self.matrix(given["W"], f"init.layers[{n}].W", layer.units, fan_in, shape)
            elif default_w is not None:
                W = tuple((default_w,) * fan_in for _ in range(layer.units))
            else:
                raise self.fail(
                    f"init.layers[{n}].W" if per_layer else "init.weight",
                    f"missing; give init.weight or W for layer {n + 1}",
                )
            if not layer.bias:
                if "b" in given:
                    raise self.fail(f"init.layers[{n}].b", f"layer {n + 1} has bias = false")
                b = None
            elif "b" in given:
                b = self.vector(given["b"], f"init.layers[{n}].b", layer.units, f"layer {n + 1}: one per unit")
            elif default_b is not None:
                b = (default_b,) * layer.units
            else:
                raise self.fail(
                    f"init.layers[{n}].b" if per_layer else "init.bias",
                    f"missing; give init.bias, b for layer {n + 1}, or bias = false on the layer",
                )
            weights.append(W)
            biases.append(b)
            fan_in = layer.units
        return tuple(weights), tuple(biases)

    def data(self, data: Any, inputs: int, outputs: int):
        self.table(data, "data", ("x", "y"))
        for key in ("x", "y"):
            if key not in data:
                raise self.fail(f"data.{key}", "missing")
        raw_x, raw_y = data["x"], data["y"]
        batched = isinstance(raw_x, list) and bool(raw_x) and all(isinstance(r, list) for r in raw_x)
        if batched:
            if len(raw_x) > MAX_SAMPLES:
                raise self.fail(
                    "data.x", f"has {len(raw_x)} samples; a hand calculation allows at most {MAX_SAMPLES}"
                )
            x = self.matrix(raw_x, "data.x", len(raw_x), inputs, f"{inputs} inputs per sample")
            if not (isinstance(raw_y, list) and all(isinstance(r, list) for r in raw_y)):
                raise self.fail(
                    "data.y", f"expected one list of {outputs} targets per sample, as data.x is a batch"
                )
            if len(raw_y) != len(x):
                raise self.fail("data.y", f"has {len(raw_y)} samples; data.x has {len(x)}")
            y = self.matrix(raw_y, "data.y", len(x), outputs, f"{outputs} outputs per sample")
        else:
            x = (self.vector(raw_x, "data.x", inputs, "network.inputs"),)
            y = (self.vector(raw_y, "data.y", outputs, "units of the output layer"),)
        return x, y, batched

    def training(self, tr: Any, layers: tuple[Layer, ...], y) -> dict[str, Any]:
        self.table(
            tr, "training", ("loss", "learning_rate", "steps", "reduction", "momentum", "frozen")
        )
        for key in ("loss", "learning_rate"):
            if key not in tr:
                raise self.fail(f"training.{key}", "missing")
        loss = self.choice(tr["loss"], "training.loss", LOSSES)
        out = layers[-1].activation
        if loss == "bce" and out != "sigmoid":
            raise self.fail(
                "training.loss", f"'bce' needs a sigmoid output layer; the output layer is {out!r}"
            )
        if loss == "cross_entropy" and out != "softmax":
            raise self.fail(
                "training.loss",
                f"'cross_entropy' needs a softmax output layer; the output layer is {out!r}",
            )
        if loss in ("bce", "cross_entropy"):
            for s, row in enumerate(y):
                for k, v in enumerate(row):
                    if not 0 <= v <= 1:
                        raise self.fail(
                            "data.y", f"target {_num(v)} (sample {s + 1}, output {k + 1}) "
                            f"is outside 0 to 1, which {loss!r} needs"
                        )
        default_reduction = "sum" if loss in SUMMING_LOSSES else "mean"
        reduction = self.choice(tr.get("reduction", default_reduction), "training.reduction", REDUCTIONS)
        lr = self.number(tr["learning_rate"], "training.learning_rate")
        if lr <= 0:
            raise self.fail("training.learning_rate", f"{_num(lr)} must be greater than 0")
        momentum = self.number(tr.get("momentum", 0), "training.momentum")
        if not 0 <= momentum < 1:
            raise self.fail("training.momentum", f"{_num(momentum)} must be at least 0 and below 1")
        steps = self.integer(tr.get("steps", 2), "training.steps", 1, MAX_STEPS)
        frozen_raw = tr.get("frozen", [])
        groups = []
        for n, layer in enumerate(layers, start=1):
            groups.append(f"W{n}")
            if layer.bias:
                groups.append(f"b{n}")
        if not isinstance(frozen_raw, list):
            raise self.fail("training.frozen", f"expected a list of group names, got {_show(frozen_raw)}")
        for i, name in enumerate(frozen_raw):
            self.choice(name, f"training.frozen[{i}]", tuple(groups))
        return dict(
            loss=loss,
            reduction=reduction,
            learning_rate=lr,
            momentum=momentum,
            steps=steps,
            frozen=frozenset(frozen_raw),
        )


def _join(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def _num(v: Fraction) -> str:
    return str(v.numerator) if v.denominator == 1 else str(v)


def _show(value: Any) -> str:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and math.isnan(value):
        return "nan"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
