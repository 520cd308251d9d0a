"""Readers written in the tests, not taken from the tool: a spec read with tomllib as its README
states it, a page's HTML read with html.parser, a PDF's Given lines read from its text, and a
2-layer ReLU network worked by hand in exact fractions. What the tool writes is compared with
these, so that a test's expected value never comes from the code under test."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from fractions import Fraction
from html.parser import HTMLParser
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# -- the spec, as the README states it ---------------------------------------------------------------


def spec_path(name: str) -> Path:
    """A problem of conftest.PROBLEMS as a file: the built-in one is the package's hw2-1.toml."""
    return ROOT / "worksheet" / "problems" / "hw2-1.toml" if name == "builtin" else ROOT / "examples" / f"{name}.toml"


def spec_text(name: str) -> str:
    return spec_path(name).read_text(encoding="utf-8")


def number(value) -> Fraction:
    """A spec's number (1, 0.15, "1/3") or a printed one ("−0.5", "1/3")."""
    if isinstance(value, float):
        return Fraction(repr(value))
    if isinstance(value, str):
        return Fraction(value.replace("−", "-").strip())
    return Fraction(value)


@dataclass
class Given:
    x: list[list[Fraction]]  # one list per sample
    y: list[list[Fraction]]
    W: list[list[list[Fraction]]]  # per layer: W[i][j], row i = unit, column j = input
    b: list[list[Fraction] | None]  # per layer; None where the layer has bias = false
    eta: Fraction
    steps: int
    activations: list[str]
    loss: str
    slopes: dict[int, Fraction] = field(default_factory=dict)  # layer -> a leaky ReLU's slope


# PyTorch's LeakyReLU(negative_slope=0.01), what the README says a leaky layer without `slope` takes
LEAKY_DEFAULT = Fraction(1, 100)


def read_spec(text: str) -> Given:
    """A spec file's givens: W[i][j] the weight from input j to unit i, `[init] weight`/`bias` every
    weight/bias a layer's [[init.layers]] does not give, a single sample written as a plain list."""
    doc = tomllib.loads(text)
    net, init, data, training = doc["network"], doc.get("init", {}), doc["data"], doc["training"]
    fan_in = net["inputs"]
    W, b = [], []
    for n, layer in enumerate(net["layers"]):
        own = init["layers"][n] if "layers" in init else {}
        rows = own.get("W") or [[init["weight"]] * fan_in for _ in range(layer["units"])]
        W.append([[number(v) for v in row] for row in rows])
        if layer.get("bias", True) is False:
            b.append(None)
        else:
            b.append([number(v) for v in (own.get("b") or [init["bias"]] * layer["units"])])
        fan_in = layer["units"]

    def samples(values):
        return [[number(v) for v in s] for s in (values if isinstance(values[0], list) else [values])]

    slopes = {n: number(layer.get("slope", LEAKY_DEFAULT)) for n, layer in enumerate(net["layers"], start=1)
              if layer["activation"] == "leaky_relu"}
    return Given(samples(data["x"]), samples(data["y"]), W, b, number(training["learning_rate"]),
                 int(training["steps"]), [layer["activation"] for layer in net["layers"]], training["loss"], slopes)


# -- HTML, as a browser's parser reads it -------------------------------------------------------------

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class Node:
    def __init__(self, tag: str, attrs: dict):
        self.tag, self.attrs, self.children = tag, attrs, []

    @property
    def classes(self) -> list[str]:
        return (self.attrs.get("class") or "").split()

    def elements(self):
        for child in self.children:
            if isinstance(child, Node):
                yield child
                yield from child.elements()

    def find_all(self, tag: str | None = None, cls: str | None = None) -> list[Node]:
        return [e for e in self.elements() if (tag is None or e.tag == tag) and (cls is None or cls in e.classes)]

    def text(self) -> str:
        return "".join(c if isinstance(c, str) else c.text() for c in self.children)

    def own_text(self) -> str:
        """The text directly inside, not inside a child element."""
        return "".join(c for c in self.children if isinstance(c, str))


class _TreeBuilder(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.root = Node("#root", {})
        self.stack = [self.root]

    def handle_starttag(self, tag, attrs):
        node = Node(tag, dict(attrs))
        self.stack[-1].children.append(node)
        if tag not in VOID:
            self.stack.append(node)

    def handle_startendtag(self, tag, attrs):
        self.stack[-1].children.append(Node(tag, dict(attrs)))

    def handle_endtag(self, tag):
        # an end tag whose element is not open (a page cut in the middle) is left alone
        if any(n.tag == tag for n in self.stack[1:]):
            while self.stack.pop().tag != tag:
                pass

    def handle_data(self, data):
        self.stack[-1].children.append(data)


def parse_html(text: str) -> Node:
    builder = _TreeBuilder()
    builder.feed(text)
    builder.close()
    return builder.root


def _rows(table: Node) -> list[Node]:
    """A table's own rows, not those of a table inside one of its cells."""
    out = []

    def walk(node):
        for child in node.children:
            if isinstance(child, Node) and child.tag != "table":
                if child.tag == "tr":
                    out.append(child)
                walk(child)

    walk(table)
    return out


def _cells(row: Node) -> list[Node]:
    return [c for c in row.children if isinstance(c, Node) and c.tag in ("th", "td")]


def read_given_table(html: str) -> dict:
    """The Given table of a page (the answer key, a Moodle question, a Canvas statement), by what a
    reader sees: each row's label and its numbers. Keys: ("input", sample), ("target", sample),
    ("W", layer) a list of rows, ("b", layer), "eta"; each a list of Fractions."""
    start = re.search(r">\s*Given\s*<", html)
    assert start, "no Given table"
    out: dict = {}
    tables = [t for t in parse_html(html[start.start() + 1:]).find_all("table")]
    nested = {id(inner) for t in tables for inner in t.find_all("table")}
    for table in (t for t in tables if id(t) not in nested):
        for row in _rows(table):
            head, *values = _cells(row)
            label = " ".join(head.text().split())
            [value] = values
            if label.startswith("updates"):
                return out
            sample = int(m.group(1)) if (m := re.search(r"\(sample (\d+)\)", label)) else 1
            layer = int(m.group(1)) if (m := re.search(r"\((\d+)\)$", label)) else None
            if label.startswith("input"):
                out["input", sample] = _vector(value.text())
            elif label.startswith("target"):
                out["target", sample] = _vector(value.text())
            elif label.startswith("weights"):
                [matrix] = value.find_all("table")
                out["W", layer] = [[number(c.text()) for c in _cells(r) if c.text().strip()] for r in _rows(matrix)]
            elif label.startswith("biases"):
                out["b", layer] = _vector(value.text())
            elif label.startswith("learning rate"):
                out["eta"] = _vector(value.text())
            elif label.startswith("LeakyReLU slope"):  # "LeakyReLU slope", or one a layer: "…, layer 2"
                out["slope", int(m.group(1)) if (m := re.search(r"layer (\d+)$", label)) else None] = \
                    _vector(value.text())
    raise AssertionError("the Given table has no 'updates' row")


def _vector(text: str) -> list[Fraction]:
    return [number(v) for v in text.strip().strip("()").split(",")]


def expected_given(given: Given) -> dict:
    """What read_given_table should read for a spec."""
    out: dict = {}
    for s, (x, y) in enumerate(zip(given.x, given.y), start=1):
        out["input", s], out["target", s] = x, y
    for n, (W, b) in enumerate(zip(given.W, given.b), start=1):
        out["W", n] = W
        if b is not None:
            out["b", n] = b
    out["eta"] = [given.eta]
    if len(set(given.slopes.values())) == 1:  # one slope for every leaky layer: said once
        out["slope", None] = [next(iter(given.slopes.values()))]
    else:
        out.update({("slope", n): [s] for n, s in given.slopes.items()})
    return out


# -- a PDF page's text ------------------------------------------------------------------------------------

PRINTED = re.compile(r"(?<![\w.])−?\d+(?:\.\d+)?(?:/\d+)?(?![\w.])")


def printed_numbers(text: str) -> list[Fraction]:
    """The numbers in a line of text (ASCII digits only: a label's sub- and superscripts are not)."""
    return [number(n) for n in PRINTED.findall(text)]


def read_given_lines(text: str) -> dict:
    """The Given table as a PDF's text gives it, a row a line ("weights W(1) −0.75 0.25 1 1", a
    matrix row after row); keys as read_given_table's."""
    lines = text[text.index("Given ("):].splitlines()[1:]
    out: dict = {}
    for line in lines:
        if line.startswith("updates"):
            return out
        sample = int(m.group(1)) if (m := re.search(r"\(sample (\d+)\)", line)) else 1
        line = re.sub(r"\(sample \d+\)", "", line)
        if m := re.match(r"(weights W|biases b)\((\d+)\)(.*)", line):
            out["W" if m.group(1).startswith("w") else "b", int(m.group(2))] = printed_numbers(m.group(3))
        elif line.startswith(("input", "target")):
            out[line.split()[0], sample] = printed_numbers(line)
        elif line.startswith("learning rate"):
            out["eta"] = printed_numbers(line)
    raise AssertionError("no 'updates' line after the Given table")


def flat_given(given: Given) -> dict:
    """expected_given with each matrix flattened row after row, as a PDF's text runs."""
    return {k: [v for row in value for v in row] if k[0] == "W" else value
            for k, value in expected_given(given).items()}


# -- a small network worked by hand ------------------------------------------------------------------------


def hand_worked(given: Given) -> list[dict[str, Fraction]]:
    """Each step's numbers for one sample through ReLU/identity layers with ½·Σ(ŷ − y)² and plain
    SGD, by the answers file's names (z1_1, delta2_1, dW1_2_1, eta_db1_1, new_W2_1_1 ...)."""
    assert len(given.x) == 1 and given.loss == "half_sse", "worked here for one sample and half_sse only"
    assert set(given.activations) <= {"relu", "identity"}
    W = [[row[:] for row in layer] for layer in given.W]
    b = [bias[:] if bias is not None else None for bias in given.b]
    out = []
    for _ in range(given.steps):
        v: dict[str, Fraction] = {}
        a, zs, acts = given.x[0], [], [given.x[0]]
        for n, act in enumerate(given.activations):
            z = [sum((w * x for w, x in zip(W[n][i], a)), Fraction(0)) + (b[n][i] if b[n] else 0)
                 for i in range(len(W[n]))]
            a = [max(t, Fraction(0)) if act == "relu" else t for t in z]
            zs.append(z)
            acts.append(a)
            for i, (zi, ai) in enumerate(zip(z, a), start=1):
                v[f"z{n + 1}_{i}"], v[f"a{n + 1}_{i}"] = zi, ai
        y = given.y[0]
        v["L"] = sum(((p - t) ** 2 for p, t in zip(a, y)), Fraction(0)) / 2
        grad = [p - t for p, t in zip(a, y)]  # ∂L/∂ŷ
        for k, g in enumerate(grad, start=1):
            v[f"dL_dyhat{k}"] = g
        new_W, new_b = [], []
        for n in reversed(range(len(W))):
            relu = given.activations[n] == "relu"
            delta = [g * (1 if not relu or zi > 0 else 0) for g, zi in zip(grad, zs[n])]
            grad = [sum((delta[i] * W[n][i][j] for i in range(len(delta))), Fraction(0))
                    for j in range(len(W[n][0]))]
            rows, biases = [], None
            for i, d in enumerate(delta, start=1):
                v[f"delta{n + 1}_{i}"] = d
                row = []
                for j, (w, x) in enumerate(zip(W[n][i - 1], acts[n]), start=1):
                    key = f"W{n + 1}_{i}_{j}"
                    v[f"d{key}"], v[f"eta_d{key}"] = d * x, given.eta * d * x
                    v[f"new_{key}"] = w - given.eta * d * x
                    row.append(v[f"new_{key}"])
                rows.append(row)
            if b[n] is not None:
                biases = []
                for i, d in enumerate(delta, start=1):
                    key = f"b{n + 1}_{i}"
                    v[f"d{key}"], v[f"eta_d{key}"], v[f"new_{key}"] = d, given.eta * d, b[n][i - 1] - given.eta * d
                    biases.append(v[f"new_{key}"])
            new_W.insert(0, rows)
            new_b.insert(0, biases)
        W, b = new_W, new_b
        out.append(v)
    return out


# -- an answer key's boxes, from its PDF's text ------------------------------------------------------------

_BOXED = re.compile(r"(?<!\S)((?:step\d+\.)?[A-Za-z][A-Za-z0-9_]*)[ \n](−?\d+(?:\.\d+)?(?:/\d+)?)(?!\S)")


def boxed_values(text: str) -> dict[int, dict[str, set[str]]]:
    """Each step's boxes as an answer key's PDF text gives them, a box's label then its number, on its line
    or the next ("= z1_1 1.5", "new_W1_1_1 0.86"): {step: {label: the numbers printed beside it}}, the check
    section (PyTorch's numbers beside the worksheet's) left out."""
    text = text[:text.index("Check against PyTorch")] if "Check against PyTorch" in text else text
    parts = re.split(r"Step (\d+) of \d+", text)
    out: dict[int, dict[str, set[str]]] = {}
    for step, part in zip(parts[1::2], parts[2::2]):
        boxes = out.setdefault(int(step), {})
        for label, value in _BOXED.findall(part):
            boxes.setdefault(label, set()).add(value)
    return out


def agrees(shown: str, value, slack: float = 0.0) -> bool:
    """A printed number against a value: within the printed number's own rounding, and `slack`."""
    decimals = len(shown.partition(".")[2]) if "/" not in shown else 30
    return abs(number(shown) - Fraction(value)) <= Fraction(1, 2 * 10**decimals) + Fraction(slack)
