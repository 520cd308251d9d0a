"""Figures stage: the network's picture and the loss curve, as SVG text.

Contract: pure. `network_svg(spec, decimals)` draws units in columns (input,
hidden layers, output), every connection labelled with its weight symbol
and initial value while the labels stay readable, biases beside their units
(above the upper half of a column, below the rest) and each layer's
activation over its column. Each weight label lies on its own edge on a
white ground, clear of every other edge, crossing, unit and label (the
layout searches for such places and widens the spacing until it finds them;
a layer without them leaves its weights to the Given table, and says so). `loss_svg(losses, marked)`
draws the loss over iterations with the worksheet's own steps marked. Both
return complete <svg> elements for inline use; any text in them is escaped.
Sizes are in CSS px; the document scales them to the text width.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from html import escape

from .notation import ACTIVATION_NAMES, Symbols, format_decimal, given_text
from .spec import Spec

# Weight labels on the edges stop being readable past this many edges between two
# columns; beyond it the picture leaves them to the Given table, and says so.
MAX_LABELLED_EDGES = 4

# The network's picture is WIDTH px wide and printed at the text width (170 mm on A4,
# 176 mm on letter), so 1 px is about 1 pt there and a font size in px is its printed
# size in pt: every label is at least 9 pt.
WIDTH = 480
PLOT_WIDTH = 640  # the loss plot's width
SIDE = 44  # px from either side of the picture to the first and the last column
RADIUS = 15
TOP_ROW = 61  # centre of the highest unit; the column headings and its bias are above it
# px between units of a column, tried in turn from the least one allowed until every label
# has a place of its own: weight labels on crossing edges need room, and a short column
# gets more of it (1-2 units, 3, 4 or more)
ROWS = (52, 56, 60, 64, 72, 80, 88, 100, 120)
LEAST_ROW = {"labelled": (80, 72, 64), "plain": (60, 52, 52)}
FONT = {"w": 9, "b": 9, "u": 13, "h": 10, "act": 9, "note": 9}  # px
CHAR_WIDTH = 0.6  # em a character takes at most on average (DejaVu Serif: 0.52-0.56 for these labels)
PAD = 2.0  # white around a label's text, hiding the edge under it
CLEAR = 2.5  # px a label keeps from other lines, the units and other labels
CROSSING_CLEAR = 6.0  # px a label keeps from where two edges cross
SEARCH_LIMIT = 5_000  # label placements tried for one spacing before trying a wider one

Box = tuple[float, float, float, float]  # x0, y0, x1, y1
Point = tuple[float, float]


def _text(x: float, y: float, text: str, cls: str, anchor: str = "middle") -> str:
    return f'<text x="{x:.1f}" y="{y:.1f}" class="{cls}" text-anchor="{anchor}">{escape(text)}</text>'


def text_box(x: float, y: float, text: str, size: float, anchor: str = "middle") -> Box:
    """The box a one-line text at (x, y) covers (y its baseline), judged from its length."""
    width = CHAR_WIDTH * len(text) * size
    left = x - width / 2 if anchor == "middle" else x if anchor == "start" else x - width
    return (left, y - 0.8 * size, left + width, y + 0.25 * size)


def _grow(box: Box, by: float) -> Box:
    return (box[0] - by, box[1] - by, box[2] + by, box[3] + by)


def boxes_overlap(a: Box, b: Box) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def segment_hits_box(p: Point, q: Point, box: Box) -> bool:
    """Whether the segment pq passes through the box (Liang-Barsky clipping)."""
    (x0, y0), (x1, y1) = p, q
    if max(x0, x1) < box[0] or min(x0, x1) > box[2] or max(y0, y1) < box[1] or min(y0, y1) > box[3]:
        return False
    dx, dy = x1 - x0, y1 - y0
    low, high = 0.0, 1.0
    for pk, qk in ((-dx, x0 - box[0]), (dx, box[2] - x0), (-dy, y0 - box[1]), (dy, box[3] - y0)):
        if pk == 0:
            if qk < 0:
                return False
            continue
        r = qk / pk
        if pk < 0:
            low = max(low, r)
        else:
            high = min(high, r)
        if low > high:
            return False
    return True


def circle_hits_box(centre: Point, r: float, box: Box) -> bool:
    nx = min(max(centre[0], box[0]), box[2])
    ny = min(max(centre[1], box[1]), box[3])
    return (nx - centre[0]) ** 2 + (ny - centre[1]) ** 2 < r * r


@dataclass(frozen=True)
class _Spot:
    """One place a label could go: its text's centre and the box it keeps clear."""
    x: float
    y: float
    clear: Box
    conflicts: int  # with the lines, units, crossings and headings


@dataclass(frozen=True)
class _Label:
    text: str
    cls: str  # "w" (a weight, on its edge) or "b" (a bias, by its unit)
    layer: int
    spots: tuple[_Spot, ...]  # in order of preference


@dataclass(frozen=True)
class _Layout:
    centre: dict[tuple[int, int], Point]  # (column, unit) -> centre
    edges: list[tuple[Point, Point]]  # centre to centre
    heads: list[tuple[float, float, str, str]]  # x, baseline, text, class
    labels: list[_Label]


def _label_box(x: float, y: float, text: str, size: float) -> Box:
    """The text box of a label centred on (x, y), grown by its white background and its clearance."""
    half_w, half_h = CHAR_WIDTH * len(text) * size / 2, 0.525 * size
    return _grow((x - half_w, y - half_h, x + half_w, y + half_h), PAD + CLEAR)


def _baseline(y: float, size: float) -> float:
    return y + 0.275 * size  # puts the middle of text_box's box on y


def crossing(a: tuple[Point, Point], b: tuple[Point, Point]) -> Point | None:
    """Where two segments cross, away from their ends (edges meeting at a unit do not cross)."""
    (x1, y1), (x2, y2) = a
    (x3, y3), (x4, y4) = b
    d = (x2 - x1) * (y4 - y3) - (y2 - y1) * (x4 - x3)
    if d == 0:
        return None
    s = ((x3 - x1) * (y4 - y3) - (y3 - y1) * (x4 - x3)) / d
    u = ((x3 - x1) * (y2 - y1) - (y3 - y1) * (x2 - x1)) / d
    if 1e-9 < s < 1 - 1e-9 and 1e-9 < u < 1 - 1e-9:
        return (x1 + s * (x2 - x1), y1 + s * (y2 - y1))
    return None


def _layout(spec: Spec, decimals: int, counts: list[int], row: float, unlabelled: set[int]) -> _Layout:
    """Units, edges and the places each label could go, with `row` px between units; the
    layers in `unlabelled` leave their weights to the Given table."""
    S = Symbols(spec.inputs, tuple(counts[1:]), counts[-1], 1)  # the labels: x₁, a¹₁, ŷ, w²₁₂, b¹₁
    tallest = max(counts)
    gap = (WIDTH - 2 * SIDE) / (len(counts) - 1)
    centre: dict[tuple[int, int], Point] = {}
    for col, n in enumerate(counts):
        for i in range(1, n + 1):
            centre[col, i] = (SIDE + col * gap, TOP_ROW + (tallest - n) * row / 2 + (i - 1) * row)

    heads = [(SIDE, 10.0, "input", "h")]
    for col, layer in enumerate(spec.layers, start=1):
        heads.append((SIDE + col * gap, 10.0, f"layer {col}", "h"))
        heads.append((SIDE + col * gap, 21.5, ACTIVATION_NAMES[layer.activation], "act"))
    blocked = [_grow(text_box(x, y, t, FONT[c]), CLEAR) for x, y, t, c in heads]

    edges: list[tuple[Point, Point]] = []
    wanted: list[tuple[int, int, str]] = []  # labelled edges: layer, index, text
    for col in range(1, len(counts)):
        W = spec.weights[col - 1]
        for j in range(1, counts[col - 1] + 1):
            for i in range(1, counts[col] + 1):
                if col not in unlabelled:
                    wanted.append((col, len(edges), f"{S.w(col, i, j)} = {given_text(W[i - 1][j - 1], decimals)}"))
                edges.append((centre[col - 1, j], centre[col, i]))
    # edges cross only between the same two columns; only a weight label's spots need them
    labelled_edges = [edges[k] for _, k, _ in wanted]
    crossings = [p for e in labelled_edges for f in edges if (p := crossing(e, f)) is not None]
    obstacles = ([("circle", c, RADIUS) for c in centre.values()]
                 + [("crossing", c, CROSSING_CLEAR) for c in crossings]
                 + [("edge", e, k) for k, e in enumerate(edges)] + [("box", b, None) for b in blocked])

    def near(area: Box) -> list:
        """The obstacles that may touch a box inside `area`."""
        found = []
        for kind, what, extra in obstacles:
            if kind == "box":
                hit = boxes_overlap(area, what)
            elif kind == "edge":
                (x0, y0), (x1, y1) = what
                hit = boxes_overlap(area, (min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)))
            else:
                hit = boxes_overlap(area, _grow((*what, *what), extra))
            if hit:
                found.append((kind, what, extra))
        return found

    def conflicts(box: Box, around: list, own: int | None) -> int:
        hits = int(box[0] < 0 or box[2] > WIDTH)
        for kind, what, extra in around:
            if kind == "box":
                hits += boxes_overlap(box, what)
            elif kind == "edge":
                hits += extra != own and segment_hits_box(*what, box)
            else:
                hits += circle_hits_box(what, extra, box)
        return hits

    def spots(places: list[Point], text: str, cls: str, own: int | None = None) -> tuple[_Spot, ...]:
        boxes = [_label_box(x, y, text, FONT[cls]) for x, y in places]
        area = (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes))
        around = near(area)
        return tuple(_Spot(x, y, box, conflicts(box, around, own)) for (x, y), box in zip(places, boxes))

    # a weight label sits on its edge, as near its middle as it can: t is the way along it
    ts = sorted((0.5 + k / 25 for k in range(-8, 9)), key=lambda t: (abs(t - 0.5), t))
    weights: dict[int, list[_Label]] = {}
    for col, k, text in wanted:
        (x0, y0), (x1, y1) = edges[k]
        places = [(x0 + t * (x1 - x0), y0 + t * (y1 - y0)) for t in ts]
        weights.setdefault(col, []).append(_Label(text, "w", col, spots(places, text, "w", k)))
    # a bias label sits by its unit on the column's outer side: above the units of the upper
    # half, below the others, where no line runs; a little further off or aside when one does
    offsets = sorted(((dx, dy) for dx in (0, -6, 6, -12, 12) for dy in range(0, min(int(row / 3), 25), 4)),
                     key=lambda o: abs(o[0]) * 1.5 + o[1])
    close = RADIUS + PAD + CLEAR + 0.525 * FONT["b"]
    labels: list[_Label] = []
    for col in range(1, len(counts)):
        labels.extend(weights.get(col, []))
        if spec.biases[col - 1] is not None:
            n = counts[col]
            for i in range(1, n + 1):
                x, y = centre[col, i]
                text = f"{S.b(col, i)} = {given_text(spec.biases[col - 1][i - 1], decimals)}"
                sides = (-1, 1) if 2 * i <= n else (1, -1)
                places = [(x + dx, y + side * (close + dy)) for side in sides for dx, dy in offsets]
                labels.append(_Label(text, "b", col, spots(places, text, "b")))
    return _Layout(centre, edges, heads, labels)


def _place(labels: list[_Label]) -> list[_Spot] | None:
    """Spots for all labels, none touching another, a line, a unit, a crossing or a heading;
    None when the search finds none within SEARCH_LIMIT tries."""
    if any(all(spot.conflicts for spot in label.spots) for label in labels):
        return None
    chosen: list[_Spot] = []
    tries = 0

    def fits(k: int) -> bool:
        nonlocal tries
        if k == len(labels):
            return True
        for spot in labels[k].spots:
            if spot.conflicts:
                continue
            tries += 1
            if tries > SEARCH_LIMIT:
                return False
            if not any(boxes_overlap(spot.clear, other.clear) for other in chosen):
                chosen.append(spot)
                if fits(k + 1):
                    return True
                chosen.pop()
        return False

    return chosen if fits(0) else None


def _place_roughly(labels: list[_Label]) -> tuple[list[_Spot], list[int]]:
    """Spots one label at a time, each with the fewest collisions; and each one's collisions."""
    chosen: list[_Spot] = []
    costs: list[int] = []
    for label in labels:
        def cost(spot: _Spot) -> int:
            return spot.conflicts + sum(boxes_overlap(spot.clear, other.clear) for other in chosen)
        best = min(label.spots, key=cost)
        costs.append(cost(best))
        chosen.append(best)
    return chosen, costs


def _arrange(spec: Spec, decimals: int, counts: list[int]) -> tuple[_Layout, list[_Spot], set[int]]:
    """The most compact layout whose labels all have clean places. Failing that, a layer whose
    weight labels collide at every spacing is left unlabelled, and when only bias labels still
    collide (a dense network), the most compact layout with the fewest collisions is taken.
    Returns the layout, the spots and the unlabelled layers."""
    unlabelled = {col for col in range(1, len(counts)) if counts[col - 1] * counts[col] > MAX_LABELLED_EDGES}
    while True:
        crowded = any(counts[col - 1] * counts[col] > 1 and col not in unlabelled for col in range(1, len(counts)))
        rough = []
        least = LEAST_ROW["labelled" if crowded else "plain"][min(max(max(counts), 2), 4) - 2]
        # bias labels alone rarely find more room further apart: a few spacings only
        for row in [r for r in ROWS if r >= least][:None if crowded else 3]:
            layout = _layout(spec, decimals, counts, row, unlabelled)
            spots = _place(layout.labels)
            if spots is not None:
                return layout, spots, unlabelled
            rough.append((layout, *_place_roughly(layout.labels)))
        troubled = [{label.layer for label, cost in zip(layout.labels, costs) if label.cls == "w" and cost}
                    for layout, _, costs in rough]
        for (layout, spots, _), layers in zip(rough, troubled):
            if not layers:  # only bias labels collide (a dense network): the most compact spacing
                return layout, spots, unlabelled
        # weight labels collide at every spacing: the layers where they always do, or else the
        # one where they do most often, leave their weights to the Given table
        unlabelled |= set.intersection(*troubled) or {max(set.union(*troubled),
                                                          key=lambda col: sum(col in t for t in troubled))}


def network_svg(spec: Spec, decimals: int = 4) -> str:
    counts = [spec.inputs] + [layer.units for layer in spec.layers]
    layout, spots, unlabelled = _arrange(spec, decimals, counts)

    lines, texts, nodes = [], [], []
    for (x0, y0), (x1, y1) in layout.edges:
        d = math.hypot(x1 - x0, y1 - y0)
        ux, uy = (x1 - x0) / d * RADIUS, (y1 - y0) / d * RADIUS
        lines.append(f'<line x1="{x0 + ux:.1f}" y1="{y0 + uy:.1f}" x2="{x1 - ux:.1f}" y2="{y1 - uy:.1f}"/>')
    for label, s in zip(layout.labels, spots):
        size = FONT[label.cls]
        # on a white ground: a weight label lies on top of its edge
        b = _grow(text_box(s.x, _baseline(s.y, size), label.text, size), PAD)
        texts.append(f'<rect x="{b[0]:.1f}" y="{b[1]:.1f}" width="{b[2] - b[0]:.1f}" '
                     f'height="{b[3] - b[1]:.1f}" class="halo"/>')
        texts.append(_text(s.x, _baseline(s.y, size), label.text, label.cls))
    S = Symbols(spec.inputs, tuple(counts[1:]), counts[-1], 1)
    for (col, i), (x, y) in layout.centre.items():
        nodes.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{RADIUS}" class="{"in" if col == 0 else "unit"}"/>')
        nodes.append(_text(x, _baseline(y, FONT["u"]), str(S.a(col, i)), "u"))
    height = max([y + RADIUS for _, y in layout.centre.values()] + [s.clear[3] - CLEAR for s in spots]) + 3
    if unlabelled:
        height += 14
        nodes.append(_text(WIDTH / 2, height - 4, "Weights w⁽ˡ⁾ᵢⱼ of the unlabelled connections: "
                           "the Given table, row i, column j.", "note"))
    body = "".join(["<g class=\"edges\">", *lines, "</g>", *texts, *nodes,
                    *(_text(x, y, t, c) for x, y, t, c in layout.heads)])
    return (f'<svg xmlns="http://www.w3.org/2000/svg" class="network" viewBox="0 0 {WIDTH} {height:.0f}" '
            f'width="{WIDTH}" height="{height:.0f}" role="img" aria-label="the network">{_NETWORK_STYLE}{body}</svg>')


# Grey-scale safe: the text is #111 or #333, the lines #333, and the inputs differ from
# the other units by their lightness (a light grey fill), not by a hue.
_NETWORK_STYLE = (
    "<style>"
    ".edges line{stroke:#333;stroke-width:0.9}"
    "circle.unit{fill:#fff;stroke:#111;stroke-width:1.3}circle.in{fill:#e4e4e4;stroke:#111;stroke-width:1.3}"
    "text{font-family:'DejaVu Serif',serif;fill:#111}"
    f"text.u{{font-size:{FONT['u']}px;font-style:italic}}text.w{{font-size:{FONT['w']}px}}"
    f"text.b{{font-size:{FONT['b']}px;fill:#333}}"
    f"text.h{{font-size:{FONT['h']}px;font-weight:bold}}text.act{{font-size:{FONT['act']}px;fill:#333}}"
    f"rect.halo{{fill:#fff;stroke:none}}text.note{{font-size:{FONT['note']}px;fill:#333}}"
    "</style>"
)


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values covering [low, high] (1, 2 or 5 times a power of ten apart)."""
    if high <= low:
        high = low + 1
    raw = (high - low) / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    ticks = [round(math.floor(low / step) * step, 12)]
    while ticks[-1] < high:
        ticks.append(round(ticks[-1] + step, 12))
    return ticks


def _tick_text(value: float) -> str:
    text = f"{value:.6g}"
    return text.replace("-", "−")


def loss_svg(losses: Sequence[float], marked: Sequence[tuple[int, Fraction]] = (), decimals: int = 4) -> str:
    """The loss at iterations 0..len-1 as a line; `marked` are the worksheet's
    own steps (iteration, exact loss), drawn as rings with their values."""
    width, height = PLOT_WIDTH, 260
    left, right, top, bottom = 72, 20, 16, 48
    finite = [v for v in losses if math.isfinite(v)]
    low, high = min(0.0, min(finite, default=0.0)), max(finite, default=1.0)
    # headroom above the first loss: at a round number it sat on the top tick's label
    ticks_y = nice_ticks(low, high + 0.04 * (high - low))
    lo, hi = ticks_y[0], ticks_y[-1]
    n = max(len(losses) - 1, 1)

    def px(i: float) -> float:
        return left + (width - left - right) * i / n

    def py(v: float) -> float:
        return top + (height - top - bottom) * (1 - (v - lo) / (hi - lo))

    parts = [f'<line x1="{left}" y1="{top}" x2="{left}" y2="{height - bottom}" class="axis"/>',
             f'<line x1="{left}" y1="{height - bottom}" x2="{width - right}" y2="{height - bottom}" class="axis"/>']
    for v in ticks_y:
        parts.append(f'<line x1="{left}" y1="{py(v):.1f}" x2="{width - right}" y2="{py(v):.1f}" class="grid"/>')
        parts.append(_text(left - 6, py(v) + 4, _tick_text(v), "tick", "end"))
    every = max(1, math.ceil(n / 10))
    for i in range(0, n + 1, every):
        parts.append(_text(px(i), height - bottom + 16, str(i), "tick"))
    parts.append(_text((left + width - right) / 2, height - 6, "iteration", "axis"))
    parts.append(f'<text x="14" y="{(top + height - bottom) / 2:.1f}" class="axis" text-anchor="middle" '
                 f'transform="rotate(-90 14 {(top + height - bottom) / 2:.1f})">loss</text>')
    points = " ".join(f"{px(i):.1f},{py(v):.1f}" for i, v in enumerate(losses) if math.isfinite(v))
    parts.append(f'<polyline points="{points}" class="curve"/>')
    for i, v in enumerate(losses):
        if math.isfinite(v):
            parts.append(f'<circle cx="{px(i):.1f}" cy="{py(v):.1f}" r="2.6" class="dot"/>')
    # the worksheet's steps ringed on the curve, their values listed top right: written beside the
    # rings, two steps' labels overprinted each other where the loss barely moved
    for k, (i, exact) in enumerate(marked):
        v = float(exact)
        parts.append(f'<circle cx="{px(i):.1f}" cy="{py(v):.1f}" r="6" class="mark"/>')
        y = top + 16 + 20 * k
        parts.append(f'<circle cx="{width - right - 196}" cy="{y - 5}" r="6" class="mark"/>')
        parts.append(_text(width - right - 184, y, f"step {i + 1}: {format_decimal(exact, decimals)}", "mark", "start"))
    return (f'<svg xmlns="http://www.w3.org/2000/svg" class="plot" viewBox="0 0 {width} {height}" '
            f'width="{width}" height="{height}" role="img" aria-label="loss over iterations">'
            f"{_PLOT_STYLE}{''.join(parts)}</svg>")


_PLOT_STYLE = (
    "<style>"
    "line.axis{stroke:#111;stroke-width:1}line.grid{stroke:#ccc;stroke-width:0.6}"
    "polyline.curve{fill:none;stroke:#1f4e99;stroke-width:1.8}circle.dot{fill:#1f4e99}"
    "circle.mark{fill:none;stroke:#b03000;stroke-width:1.6}"
    "text{font-family:'DejaVu Serif',serif;fill:#111}text.tick{font-size:15px}text.axis{font-size:16px}"
    "text.mark{font-size:15px;fill:#b03000}"
    "</style>"
)
