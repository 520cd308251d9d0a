"""Spec stage: TOML text in, a validated, frozen `Spec` out.

Contract: `parse_spec(text, source)` touches no files. Every number is kept
exact as a `Fraction`, taken from the text the user wrote (0.1 is 1/10, "7/2"
is 7/2), never from a binary float, and lies in the one range every given
number shares (`MAX_GIVEN`, `MIN_GIVEN`, `MAX_DIGITS`), checked on its digits
and exponent before anything is converted. Text fields hold no control
characters and at most `MAX_TEXT` characters. Anything wrong raises
`SpecError` naming the source, the key path, the bad value (as TOML writes
it) and what is allowed; nothing else escapes for bad input, however large
or deeply nested.
"""

from __future__ import annotations

import datetime
import hashlib
import re
import tomllib
from dataclasses import dataclass, fields
from decimal import Decimal, localcontext
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
# samples x steps x parameters: a worksheet's pages grow with it (about 0.3 a quantity, each page
# ~0.25 s of WeasyPrint on the 2-core machine); at most this renders HTML+PDF in under a minute
MAX_QUANTITIES = 500
MAX_TRACE_ITERS = 10_000
DEFAULT_LEAKY_SLOPE = Fraction(1, 100)  # PyTorch's negative_slope default

# One range for every given number: a hand calculation's numbers, short
# enough to write and far enough inside float32 that a few layers of products
# stay finite. Checked on the digits and the exponent before converting, as
# 1e999999999 would otherwise become a billion-digit integer.
MAX_GIVEN = 10**6
MIN_GIVEN = Fraction(1, 10**12)  # smallest nonzero size
MAX_DIGITS = 12  # significant digits of a decimal; digits of a fraction's numerator and denominator
MAX_NUMBER_TEXT = 40  # a number written as a string (in a spec, or by a student in an answers file)
MAX_TEXT = 200  # title, course, instructor, due: a 100 KB title took minutes to render
MAX_INSTRUCTIONS = 1000  # the blank sheet's instructions: a paragraph or a few
MAX_POINTS = 1000
# The parts of a worksheet, by the kinds of quantity in them: `worksheet answers
# --only` asks for some, and `[marking] points` gives each its points ("update":
# the whole update table, momentum and η·g included).
PARTS: dict[str, tuple[str, ...]] = {
    "forward": ("z", "a"),
    "loss": ("loss",),
    "backward": ("dyhat", "delta"),
    "gradients": ("grad",),
    "momentum": ("velocity",),
    "eta": ("eta",),
    "updates": ("new",),
}
POINT_PARTS: dict[str, tuple[str, ...]] = {**PARTS, "update": ("velocity", "eta", "new")}
POINT_NAMES = {"forward": "forward pass", "loss": "loss", "backward": "∂L/∂ŷ and δ", "gradients": "gradients",
               "momentum": "momentum buffers", "eta": "η·gradient", "updates": "updated parameters",
               "update": "the update"}  # as the sheet and the report name the parts

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
    instructions: str = ""  # for the blank sheet; "" gives the default
    points: tuple[tuple[str, Fraction], ...] = ()  # [marking] points, by part (POINT_PARTS), in order

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
        doc = tomllib.loads(quote_fractions(text), parse_float=Decimal)
    except tomllib.TOMLDecodeError as exc:
        hint = ' (a fraction inside a list goes in quotes: ["1/2", 3])' if _LOOSE_FRACTION.search(text) else ""
        raise SpecError(source, "", f"not valid TOML: {exc}{hint}") from None
    except RecursionError:  # tomllib recurses once per bracket: [[[[...]]]]
        raise SpecError(source, "", "not valid here: arrays or tables nested too deeply") from None
    except ValueError:  # int() refuses more than 4300 digits, before any limit of ours
        raise SpecError(
            source, "", f"a whole number has thousands of digits; numbers in a spec are at most {MAX_GIVEN} in size"
        ) from None
    return _Parser(source).spec(doc)


# `learning_rate = 1/2` is not TOML; the person who wrote it means the fraction,
# so a whole value that is a fraction is read as "1/2" (in a spec and an answers file alike)
_BARE_FRACTION = re.compile(r"^(\s*[A-Za-z0-9_\-]+\s*=\s*)([+-]?\d+\s*/\s*\d+)(\s*(?:#.*)?)$", re.M)
_LOOSE_FRACTION = re.compile(r"[\[,]\s*[+-]?\d+\s*/\s*\d+\s*[,\]]")


def fingerprint(spec: Spec) -> str:
    """A short name for the problem a sheet was made for: the same spec gives the same 8 hex digits,
    in any process (a set is written sorted: its own order changes with Python's hash seed)."""
    canonical = [(f.name, sorted(v) if isinstance(v, frozenset) else v)
                 for f in fields(spec) for v in (getattr(spec, f.name),)]
    return hashlib.sha256(repr(canonical).encode("utf-8")).hexdigest()[:8]


def quote_fractions(text: str) -> str:
    """TOML text with each `key = 3/2` written `key = "3/2"`."""
    return _BARE_FRACTION.sub(r'\1"\2"\3', text)


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
            if abs(value) > MAX_GIVEN:
                raise self.fail(where, f"{_show(value)} is too large; {_RANGE}")
            return Fraction(value)
        if isinstance(value, Decimal):
            return self.decimal(value, _show(value), where)
        if isinstance(value, str):
            shown = _show(value)
            if len(value) > MAX_NUMBER_TEXT and _FRACTION_TEXT.fullmatch(value[:MAX_NUMBER_TEXT]):
                raise self.fail(where, f"{shown} has too many digits; {_RANGE}")
            if len(value) > MAX_NUMBER_TEXT or not _FRACTION_TEXT.fullmatch(value):
                raise self.fail(where, f"{shown} is not a number; write a decimal or a fraction like \"7/2\"")
            if "/" not in value:
                return self.decimal(Decimal(value.strip()), shown, where)
            num, den = (part.strip().lstrip("+-") for part in value.split("/"))
            if max(len(num.lstrip("0")), len(den.lstrip("0"))) > MAX_DIGITS:
                raise self.fail(where, f"{shown} has too many digits; {_RANGE}")
            if not den.strip("0"):
                raise self.fail(where, f"{shown} divides by zero")
            return self.in_range(Fraction(value.replace(" ", "")), shown, where)
        raise self.fail(where, f"expected a number, got {_show(value)}")

    def decimal(self, value: Decimal, shown: str, where: str) -> Fraction:
        """A decimal as written, judged by its digits and exponent before it becomes a Fraction."""
        if not value.is_finite():
            raise self.fail(where, f"{shown} is not a finite number")
        if value.is_zero():
            return Fraction(0)
        significant = len("".join(map(str, value.as_tuple().digits)).rstrip("0"))
        if value.adjusted() > 6 or abs(value) > MAX_GIVEN:
            raise self.fail(where, f"{shown} is too large; {_RANGE}")
        if value.adjusted() < -12:
            raise self.fail(where, f"{shown} is too small; {_RANGE}")
        if significant > MAX_DIGITS:
            raise self.fail(where, f"{shown} has more than {MAX_DIGITS} significant digits; {_RANGE}")
        return self.in_range(Fraction(value), shown, where)

    def in_range(self, q: Fraction, shown: str, where: str) -> Fraction:
        if abs(q) > MAX_GIVEN:
            raise self.fail(where, f"{shown} is too large; {_RANGE}")
        if q and abs(q) < MIN_GIVEN:
            raise self.fail(where, f"{shown} is too small; {_RANGE}")
        return q

    def integer(self, value: Any, where: str, low: int, high: int) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(where, f"expected a whole number, got {_show(value)}")
        if not low <= value <= high:
            raise self.fail(where, f"{_show(value)} is out of range; allowed is {low} to {high}")
        return value

    def choice(self, value: Any, where: str, allowed: tuple[str, ...]) -> str:
        if value not in allowed:
            raise self.fail(where, f"{_show(value)} is not one of {', '.join(allowed)}")
        return value

    def text(self, value: Any, where: str, longest: int = MAX_TEXT, lines: bool = False) -> str:
        """Text as given; with `lines`, line breaks between paragraphs are allowed (it never goes into code)."""
        if not isinstance(value, str):
            raise self.fail(where, f"expected a string, got {_show(value)}")
        if len(value) > longest:
            raise self.fail(where, f"is {len(value)} characters long; at most {longest} are allowed")
        for n, ch in enumerate(value):
            # a newline would become code in a generated script, an escape a terminal command
            if _control(ch) and not (lines and ch == "\n"):
                raise self.fail(
                    where, f"holds the control character U+{ord(ch):04X} at position {n + 1}; "
                    "text here is one line without tabs, escapes or other control characters"
                )
        return value

    def vector(self, value: Any, where: str, length: int, what: str) -> tuple[Fraction, ...]:
        if not isinstance(value, list):
            raise self.fail(where, f"expected a list of {length} numbers ({what}), got {_show(value)}")
        if len(value) != length:
            raise self.fail(
                where, f"has {_count(len(value), 'value')}; expected {length} ({what})"
            )
        return tuple(self.number(v, f"{where}[{i}]") for i, v in enumerate(value))

    def matrix(self, value: Any, where: str, rows: int, cols: int, what: str) -> tuple:
        if not isinstance(value, list) or not all(isinstance(r, list) for r in value):
            raise self.fail(
                where,
                f"expected a list of {_count(rows, 'row')} of {_count(cols, 'number')} ({what}), got {_show(value)}"
            )
        if len(value) != rows:
            raise self.fail(where, f"has {_count(len(value), 'row')}; expected {rows} ({what})")
        return tuple(
            self.vector(r, f"{where}[{i}]", cols, what) for i, r in enumerate(value)
        )

    # -- sections ----------------------------------------------------------
    def spec(self, doc: dict[str, Any]) -> Spec:
        self.table(
            doc, "", ("title", "course", "instructor", "due", "instructions", "network", "init", "data", "training",
                      "marking", "variants")
        )
        for key in ("network", "data", "training"):
            if key not in doc:
                raise self.fail(key, "missing; every spec needs [network], [data] and [training]")
        texts = {k: self.text(doc.get(k, ""), k) for k in ("title", "course", "instructor", "due")}
        inputs, layers = self.network(doc["network"])
        weights, biases = self.init(doc.get("init", {}), inputs, layers)
        x, y, batched = self.data(doc["data"], inputs, layers[-1].units)
        training = self.training(doc["training"], layers, y)
        n_params = sum(len(W) * len(W[0]) + (len(b) if b is not None else 0) for W, b in zip(weights, biases))
        quantities = len(x) * training["steps"] * n_params
        if quantities > MAX_QUANTITIES:
            raise self.fail(
                "training.steps",
                f"{len(x)} sample{'s' if len(x) > 1 else ''} x {training['steps']} steps x {n_params} parameters "
                f"make {quantities} quantities to work by hand; a worksheet allows at most {MAX_QUANTITIES} "
                "(it renders in under a minute): use fewer samples, steps or units",
            )
        spec = Spec(
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
            instructions=self.text(doc.get("instructions", ""), "instructions", MAX_INSTRUCTIONS, lines=True),
            points=self.points(doc.get("marking", {})),
            **training,
        )
        if "variants" in doc:  # a class set's table: checked here, so every command refuses a bad one; the
            # Spec is the base problem (worksheet.classes.variants draws each student's numbers from it)
            from .classes.variants import read_variants

            read_variants(doc["variants"], spec, self.source)
        return spec

    def points(self, marking: Any) -> tuple[tuple[str, Fraction], ...]:
        self.table(marking, "marking", ("points",))
        raw = marking.get("points", {})
        self.table(raw, "marking.points", tuple(POINT_PARTS))
        out, kinds = [], set()
        for name, value in raw.items():
            where = f"marking.points.{name}"
            points = self.number(value, where)
            if not 0 <= points <= MAX_POINTS:
                raise self.fail(where, f"{_num(points)} points: give 0 to {MAX_POINTS}")
            if kinds & set(POINT_PARTS[name]):
                raise self.fail(where, "overlaps another part given points (update is momentum, eta and "
                                       "updates together): give one or the other")
            kinds |= set(POINT_PARTS[name])
            out.append((name, points))
        return tuple(out)

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
                        "\"softmax\" is allowed on the output layer only "
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
                got = (f"has {len(per_layer)} tables" if isinstance(per_layer, list)
                       else f"is {_show(per_layer)}")
                raise self.fail(
                    "init.layers",
                    f"{got}; expected one [[init.layers]] table per layer ({len(layers)}), in order",
                )
        weights, biases = [], []
        fan_in = inputs
        for n, layer in enumerate(layers):
            given = self.table(per_layer[n], f"init.layers[{n}]", ("W", "b")) if per_layer else {}
            shape = f"layer {n + 1}: {_count(layer.units, 'unit')} x {_count(fan_in, 'input')}"
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
                    "data.y", f"expected one list of {outputs} target{'s' if outputs > 1 else ''} per sample, "
                    "as data.x is a batch"
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
                "training.loss", f"\"bce\" needs a sigmoid output layer; the output layer is {_show(out)}"
            )
        if loss == "cross_entropy" and out != "softmax":
            raise self.fail(
                "training.loss",
                f"\"cross_entropy\" needs a softmax output layer; the output layer is {_show(out)}",
            )
        if loss in ("bce", "cross_entropy"):
            for s, row in enumerate(y):
                for k, v in enumerate(row):
                    if not 0 <= v <= 1:
                        raise self.fail(
                            "data.y", f"target {_num(v)} (sample {s + 1}, output {k + 1}) "
                            f"is outside 0 to 1, which {_show(loss)} needs"
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
        if set(groups) <= set(frozen_raw):
            # nothing would be trained: the steps would repeat one forward pass
            raise self.fail(
                "training.frozen", f"freezes every parameter group ({', '.join(groups)}); leave at least one to train"
            )
        return dict(
            loss=loss,
            reduction=reduction,
            learning_rate=lr,
            momentum=momentum,
            steps=steps,
            frozen=frozenset(frozen_raw),
        )


_RANGE = (f"a spec's numbers are 0 or 1e-12 to 1e6 in size, with at most {MAX_DIGITS} significant digits "
          f"(a fraction: at most {MAX_DIGITS} digits over {MAX_DIGITS})")
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
# What text may not carry into code, a terminal or a one-line message: C0, DEL
# and C1 controls (ESC, CSI), line breaks of every kind, and the bidirectional
# marks and overrides that reorder what is shown (CVE-2021-42574).
UNSAFE_TEXT = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _control(ch: str) -> bool:
    return UNSAFE_TEXT.match(ch) is not None


def one_line(text: str) -> str:
    """Text fit for one line (a comment, a message): unsafe characters and runs of space made one space."""
    return " ".join(UNSAFE_TEXT.sub(" ", str(text)).split())


def _join(where: str, key: str) -> str:
    key = key if _BARE_KEY.fullmatch(key) and len(key) <= 40 else _show(key, 40)
    return f"{where}.{key}" if where else key


def _num(v: Fraction) -> str:
    """A number as a spec writes it: -0.5 for -1/2 (a decimal where it has one), 1/3 where it has none."""
    if v.denominator == 1:
        return str(v.numerator)
    d = v.denominator
    for p in (2, 5):
        while d % p == 0:
            d //= p
    if d != 1:
        return str(v)
    with localcontext() as ctx:
        ctx.prec = 60
        return format(Decimal(v.numerator) / Decimal(v.denominator), "f")


def _count(n: int, noun: str) -> str:
    """1 row, 2 rows."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _show(value: Any, limit: int = 60) -> str:
    """A value as TOML writes it, cut to about `limit` characters; control characters escaped."""
    text = _toml(value, limit + 1)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _toml(value: Any, budget: int) -> str:
    # the budget stops a long or deeply nested value early: only its start is shown
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        if value.bit_length() > 200:  # str() of a huge int is slow, and refused past 4300 digits
            return f"a whole number of about {int(value.bit_length() * 0.30103)} digits"
        return str(value)
    if isinstance(value, Decimal):
        if value.is_nan():
            return "nan"
        if value.is_infinite():
            return "-inf" if value.is_signed() else "inf"
        sign, digits, exp = value.as_tuple()
        if len(digits) > budget:
            return ("-" if sign else "") + "".join(map(str, digits[:budget])) + "..."
        return str(value).replace("E+", "e").replace("E", "e")
    if isinstance(value, str):
        out = ['"']
        for ch in value[:budget]:
            if ch in '"\\':
                out.append("\\" + ch)
            elif not ch.isprintable():
                out.append(f"\\u{ord(ch):04X}" if ord(ch) <= 0xFFFF else f"\\U{ord(ch):08X}")
            else:
                out.append(ch)
        return "".join(out) + ('"' if len(value) <= budget else "...")
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, list):
        parts, used = [], 1
        for item in value:
            if used > budget:
                parts.append("...")
                break
            parts.append(_toml(item, budget - used))
            used += len(parts[-1]) + 2
        return "[" + ", ".join(parts) + "]"
    if isinstance(value, dict):
        parts, used = [], 2
        for key, item in value.items():
            if used > budget:
                parts.append("...")
                break
            name = key if _BARE_KEY.fullmatch(key) else _toml(key, budget - used)
            parts.append(f"{name} = {_toml(item, budget - used - len(name))}")
            used += len(parts[-1]) + 2
        return "{ " + ", ".join(parts) + " }" if parts else "{}"
    return "a value"
