"""The network's picture, checked from the SVG it writes: labels big enough in print, each
weight label on its own edge and clear of every other edge, crossing, unit and label, and
nothing told by colour alone. Text boxes are judged as a reader's eye would roughly see them:
0.6 em a character (DejaVu Serif averages 0.52-0.56 on these labels), from 0.8 em above the
baseline to 0.25 em below it."""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from fractions import Fraction

import pytest
from conftest import PROBLEMS, load

from worksheet.figures import MAX_LABELLED_EDGES, loss_svg, network_svg
from worksheet.spec import parse_spec

NS = {"s": "http://www.w3.org/2000/svg"}
PRINTED_WIDTH_PT = 170 / 25.4 * 72  # the text width of an A4 page with 20 mm margins
SUP = {c: i for i, c in enumerate("⁰¹²³⁴⁵⁶⁷⁸⁹")}
SUB = {c: i for i, c in enumerate("₀₁₂₃₄₅₆₇₈₉")}
SUPS, SUBS = "⁰¹²³⁴⁵⁶⁷⁸⁹", "₀₁₂₃₄₅₆₇₈₉"


def net(inputs: int, layers: list[tuple[int, str]], weight: str, bias: str) -> str:
    units = ", ".join(f'{{ units = {n}, activation = "{a}" }}' for n, a in layers)
    return (f'title = "t"\n[network]\ninputs = {inputs}\nlayers = [{units}]\n'
            f"[init]\nweight = {weight}\nbias = {bias}\n"
            f"[data]\nx = {[1] * inputs}\ny = {[1] * layers[-1][0]}\n"
            f'[training]\nloss = "mse"\nlearning_rate = 0.1\nsteps = 1\n')


# nets beyond the examples: (spec text, every layer of at most MAX_LABELLED_EDGES edges is labelled)
EXTRA = {
    "3-3-3": (net(3, [(3, "relu"), (3, "sigmoid")], "0.5", "-0.25"), True),
    "1-4-1": (net(1, [(4, "tanh"), (1, "identity")], '"-1/3"', "-0.125"), True),
    "4-1-4": (net(4, [(1, "relu"), (4, "relu")], "-0.3333", "-0.25"), True),
    "2-2-2 long values": (net(2, [(2, "tanh"), (2, "identity")], "-0.1234", "-0.5678"), True),
    "1-2-2-2-1": (net(1, [(2, "relu"), (2, "relu"), (2, "relu"), (1, "identity")], "-0.75", "-0.5"), False),
    "1-4-4-1": (net(1, [(4, "relu"), (4, "relu"), (1, "identity")], "0.5", "-0.25"), True),
}
NETS = PROBLEMS + list(EXTRA)


def spec_of(name: str):
    return parse_spec(EXTRA[name][0], name) if name in EXTRA else load(name)


# -- reading the picture back ----------------------------------------------------------------------


def font_sizes(root) -> dict[str, float]:
    style = root.find("s:style", NS).text
    return {cls: float(size) for cls, size in re.findall(r"text\.(\w+)\{[^}]*font-size:([\d.]+)px", style)}


def text_box(el, sizes) -> tuple[float, float, float, float]:
    size = sizes[el.get("class")]
    x, y, text = float(el.get("x")), float(el.get("y")), el.text
    width = 0.6 * len(text) * size
    anchor = el.get("text-anchor", "start")
    left = x - width / 2 if anchor == "middle" else x if anchor == "start" else x - width
    return (left, y - 0.8 * size, left + width, y + 0.25 * size)


def overlap(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def inside(p, box) -> bool:
    return box[0] <= p[0] <= box[2] and box[1] <= p[1] <= box[3]


def segment_hits(p, q, box) -> bool:
    """Whether segment pq meets the box: an end inside, or crossing one of its sides."""
    if inside(p, box) or inside(q, box):
        return True
    corners = [(box[0], box[1]), (box[2], box[1]), (box[2], box[3]), (box[0], box[3])]
    return any(cross(p, q, corners[k], corners[(k + 1) % 4]) is not None for k in range(4))


def cross(p, q, r, s):
    """Where segments pq and rs cross (not at their ends), or None."""
    d = (q[0] - p[0]) * (s[1] - r[1]) - (q[1] - p[1]) * (s[0] - r[0])
    if d == 0:
        return None
    t = ((r[0] - p[0]) * (s[1] - r[1]) - (r[1] - p[1]) * (s[0] - r[0])) / d
    u = ((r[0] - p[0]) * (q[1] - p[1]) - (r[1] - p[1]) * (q[0] - p[0])) / d
    eps = 1e-6
    return (p[0] + t * (q[0] - p[0]), p[1] + t * (q[1] - p[1])) if eps < t < 1 - eps and eps < u < 1 - eps else None


def circle_hits(c, r, box) -> bool:
    nx, ny = min(max(c[0], box[0]), box[2]), min(max(c[1], box[1]), box[3])
    return math.hypot(nx - c[0], ny - c[1]) < r


def distance_to_segment(p, a, b) -> float:
    (px, py), (ax, ay), (bx, by) = p, a, b
    t = max(0.0, min(1.0, ((px - ax) * (bx - ax) + (py - ay) * (by - ay)) / ((bx - ax) ** 2 + (by - ay) ** 2)))
    return math.hypot(px - ax - t * (bx - ax), py - ay - t * (by - ay))


def centre(box):
    return ((box[0] + box[2]) / 2, (box[1] + box[3]) / 2)


class Picture:
    def __init__(self, svg: str):
        self.root = ET.fromstring(svg)  # well-formed XML: the text in it is escaped
        self.width = float(self.root.get("viewBox").split()[2])
        self.sizes = font_sizes(self.root)
        self.circles = [((float(c.get("cx")), float(c.get("cy"))), float(c.get("r")))
                        for c in self.root.iter(f"{{{NS['s']}}}circle")]
        self.lines = [((float(e.get("x1")), float(e.get("y1"))), (float(e.get("x2")), float(e.get("y2"))))
                      for e in self.root.find("s:g[@class='edges']", NS)]
        self.texts = [(t.get("class"), t.text, text_box(t, self.sizes)) for t in self.root.iter(f"{{{NS['s']}}}text")]
        xs = sorted({c[0] for c, _ in self.circles})
        self.columns = [sorted((c for c, _ in self.circles if c[0] == x), key=lambda c: c[1]) for x in xs]

    def of(self, *classes):
        return [(cls, text, box) for cls, text, box in self.texts if cls in classes]

    def edge(self, label: str):
        """The centres an edge runs between, from its weight label: w²₁₂ joins unit 2 of
        column 1 to unit 1 of column 2."""
        symbol = label.split(" = ")[0]
        layer, (i, j) = SUP[symbol[1]], (SUB[symbol[2]], SUB[symbol[3]])
        return self.columns[layer - 1][j - 1], self.columns[layer][i - 1]


def picture(name: str) -> Picture:
    return Picture(network_svg(spec_of(name), 4))


# -- the tests -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", NETS)
def test_labels_are_at_least_8_pt_in_print(name):
    pic = picture(name)
    for cls in ("w", "b", "u", "h", "act", "note"):
        assert pic.sizes[cls] * PRINTED_WIDTH_PT / pic.width >= 8, (cls, pic.sizes[cls], pic.width)


@pytest.mark.parametrize("name", NETS)
def test_every_weight_label_is_on_its_own_edge_and_clear_of_the_rest(name):
    pic = picture(name)
    crossings = [p for k, a in enumerate(pic.lines) for b in pic.lines[k + 1:] if (p := cross(*a, *b))]
    for _, text, box in pic.of("w"):
        start, end = pic.edge(text)
        assert distance_to_segment(centre(box), start, end) < 1, f"{text} is off its edge"
        own = [line for line in pic.lines if all(distance_to_segment(p, start, end) < 0.5 for p in line)]
        assert len(own) == 1, text
        for line in pic.lines:
            assert line in own or not segment_hits(*line, box), f"{text} covers another edge {line}"
        for p in crossings:
            assert not inside(p, box), f"{text} covers the crossing at {p}"
        for c, r in pic.circles:
            assert not circle_hits(c, r, box), f"{text} covers the unit at {c}"


@pytest.mark.parametrize("name", NETS)
def test_bias_labels_and_headings_touch_no_line_and_no_unit(name):
    pic = picture(name)
    for _, text, box in pic.of("b", "h", "act", "note"):
        for line in pic.lines:
            assert not segment_hits(*line, box), f"{text} covers the edge {line}"
        for c, r in pic.circles:
            assert not circle_hits(c, r, box), f"{text} covers the unit at {c}"


@pytest.mark.parametrize("name", NETS)
def test_no_two_labels_overlap_and_unit_names_stay_in_their_circles(name):
    pic = picture(name)
    labels = pic.of("w", "b", "h", "act", "note")
    for k, (_, a, box_a) in enumerate(labels):
        for _, b, box_b in labels[k + 1:]:
            assert not overlap(box_a, box_b), f"{a!r} overlaps {b!r}"
    for _, text, box in pic.of("u"):
        (c, r), = [(c, r) for c, r in pic.circles if inside(c, box)]
        for corner in ((box[0], box[1]), (box[2], box[1]), (box[0], box[3]), (box[2], box[3])):
            assert math.dist(corner, c) < r, text
        for _, other, other_box in labels:
            assert not overlap(box, other_box), f"{text} overlaps {other!r}"


@pytest.mark.parametrize("name", NETS)
def test_labelled_layers_label_every_edge_once_and_the_rest_are_said_to_be_in_the_given_table(name):
    spec = spec_of(name)
    pic = picture(name)
    counts = [spec.inputs] + [layer.units for layer in spec.layers]
    labels = [text.split(" = ")[0] for _, text, _ in pic.of("w")]
    assert len(labels) == len(set(labels))
    complete = EXTRA[name][1] if name in EXTRA else True
    unlabelled = False
    for layer in range(1, len(counts)):
        here = [t for t in labels if SUP[t[1]] == layer]
        edges = counts[layer - 1] * counts[layer]
        if edges > MAX_LABELLED_EDGES or not complete:
            assert len(here) in (0, edges), (layer, here)
        else:
            assert len(here) == edges, (layer, here)
        unlabelled |= not here
    assert bool(pic.of("note")) == unlabelled
    biased = sum(counts[layer] for layer, b in enumerate(spec.biases, start=1) if b is not None)
    assert len(pic.of("b")) == biased


@pytest.mark.parametrize("name", NETS)
def test_each_label_is_the_weight_or_bias_the_spec_gives_where_it_sits(name):
    """Which edge a weight label sits on is read from the picture's geometry (the unit-to-unit segment
    nearest its centre: input j in the left column, unit i in the right); its value must be W[i][j] of
    the spec read with tomllib, and its name w with those indices."""
    from independent import number, read_spec, spec_text

    given = read_spec(EXTRA[name][0] if name in EXTRA else spec_text(name))
    pic = picture(name)
    labels = pic.of("w")
    for _, text, box in labels:
        symbol, value = text.split(" = ")
        edges = [(distance_to_segment(centre(box), source, target), layer, i, j)
                 for layer in range(1, len(pic.columns))
                 for j, source in enumerate(pic.columns[layer - 1], start=1)
                 for i, target in enumerate(pic.columns[layer], start=1)]
        (distance, layer, i, j), (runner_up, *_) = sorted(edges)[:2]
        assert distance < 1 < runner_up, text
        assert number(value) == given.W[layer - 1][i - 1][j - 1], (text, layer, i, j)
        assert symbol == f"w{SUPS[layer]}{SUBS[i]}{SUBS[j]}", (text, layer, i, j)
    assert len(labels) == len({text.split(" = ")[0] for _, text, _ in labels})
    # a bias label may stand on either side of its unit, between two units: it is read by its name
    for _, text, _ in pic.of("b"):
        symbol, value = text.split(" = ")
        assert number(value) == given.b[SUP[symbol[1]] - 1][SUB[symbol[2]] - 1], text


def test_the_built_in_picture_is_not_much_taller_than_needed():
    pic = picture("builtin")
    height_mm = float(pic.root.get("viewBox").split()[3]) / pic.width * 170
    assert height_mm <= 75, height_mm


def luminance(colour: str) -> float:
    colour = colour.lstrip("#")
    if len(colour) == 3:
        colour = "".join(c * 2 for c in colour)
    r, g, b = (int(colour[k:k + 2], 16) / 255 for k in (0, 2, 4))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def test_the_picture_reads_in_grey_scale():
    style = picture("builtin").root.find("s:style", NS).text
    rules = dict(re.findall(r"([^{}]+)\{([^}]*)\}", style))
    for selector, body in rules.items():
        colours = dict(re.findall(r"(fill|stroke):(#[0-9a-fA-F]{3,6})", body))
        if selector.startswith("text"):  # text: #333 or darker
            assert luminance(colours.get("fill", "#000")) <= luminance("#333"), selector
        if "line" in selector or selector.startswith("circle"):  # lines and unit outlines: dark
            assert luminance(colours["stroke"]) <= luminance("#555"), selector
    # inputs and hidden/output units differ in lightness, not only in hue
    fill = {sel: dict(re.findall(r"(fill|stroke):(#[0-9a-fA-F]{3,6})", body))["fill"]
            for sel, body in rules.items() if sel.startswith("circle")}
    assert abs(luminance(fill["circle.in"]) - luminance(fill["circle.unit"])) >= 0.05


def test_the_loss_plot_is_still_a_complete_svg():
    svg = loss_svg([1.0, 0.5, 0.25, 0.2], [(0, Fraction(1)), (1, Fraction(1, 2))])
    root = ET.fromstring(svg)
    assert root.tag == f"{{{NS['s']}}}svg" and root.find("s:polyline", NS) is not None


def test_the_loss_plots_step_labels_never_overprint_and_its_first_point_clears_the_top():
    """bce's two steps have losses 0.4180 and 0.4076: written beside their rings the labels
    overprinted each other; listed, each is a line of its own. A first loss at a round number (0.5)
    sat on the top tick's label: the axis goes a little above it."""
    svg = loss_svg([0.5, 0.4950, 0.49, 0.3], [(0, Fraction(1, 2)), (1, Fraction(99, 200))])
    root = ET.fromstring(svg)
    marks = [t for t in root.iter(f"{{{NS['s']}}}text") if t.get("class") == "mark"]
    assert [t.text for t in marks] == ["step 1: 0.5", "step 2: 0.495"]
    assert abs(float(marks[0].get("y")) - float(marks[1].get("y"))) >= 15  # the labels' font size
    ticks = [float(t.text) for t in root.iter(f"{{{NS['s']}}}text") if t.get("class") == "tick"
             and t.get("text-anchor") == "end"]
    assert max(ticks) > 0.5
