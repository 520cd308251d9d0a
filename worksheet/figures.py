"""Figures stage: the network's picture and the loss curve, as SVG text.

Contract: pure. `network_svg(spec, decimals)` draws units in columns (input,
hidden layers, output), every connection labelled with its weight symbol
and initial value while the labels stay readable, biases under their units
and each layer's activation over its column. `loss_svg(losses, marked)`
draws the loss over iterations with the worksheet's own steps marked. Both
return complete <svg> elements for inline use; any text in them is escaped.
Sizes are in CSS px; the document scales them to the text width.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from fractions import Fraction
from html import escape

from .notation import ACTIVATION_NAMES, Symbols, format_decimal, given_text
from .spec import Spec

# Weight labels on the edges stop being readable past this many edges between two
# columns; beyond it the picture leaves them to the Given table, and says so.
MAX_LABELLED_EDGES = 4

WIDTH = 640
ROW = 74  # px between units of a column
TOP = 46  # room for the column headings
RADIUS = 19


def _text(x: float, y: float, text: str, cls: str, anchor: str = "middle") -> str:
    return f'<text x="{x:.1f}" y="{y:.1f}" class="{cls}" text-anchor="{anchor}">{escape(text)}</text>'


def network_svg(spec: Spec, decimals: int = 4) -> str:
    counts = [spec.inputs] + [layer.units for layer in spec.layers]
    S = Symbols(spec.inputs, tuple(counts[1:]), counts[-1], 1)  # the labels: x₁, a¹₁, ŷ, w²₁₂, b¹₁
    tallest = max(counts)
    height = TOP + tallest * ROW + 10
    gap = (WIDTH - 2 * 60) / (len(counts) - 1)
    centre = {}
    for col, n in enumerate(counts):
        x = 60 + col * gap
        offset = TOP + (tallest - n) * ROW / 2 + ROW / 2
        for i in range(1, n + 1):
            centre[col, i] = (x, offset + (i - 1) * ROW)

    edges, labels, nodes = [], [], []
    for col in range(1, len(counts)):
        n_in, n_out = counts[col - 1], counts[col]
        labelled = n_in * n_out <= MAX_LABELLED_EDGES
        W = spec.weights[col - 1]
        for j in range(1, n_in + 1):
            # each source's labels sit at their own distance along the edges, so they do not collide
            t = 0.5 if n_in == 1 else 0.3 + 0.4 * (j - 1) / (n_in - 1)
            for i in range(1, n_out + 1):
                (x0, y0), (x1, y1) = centre[col - 1, j], centre[col, i]
                edges.append(f'<line x1="{x0 + RADIUS:.1f}" y1="{y0:.1f}" x2="{x1 - RADIUS:.1f}" y2="{y1:.1f}"/>')
                if labelled:
                    lx, ly = x0 + t * (x1 - x0), y0 + t * (y1 - y0)
                    text = f"{S.w(col, i, j)} = {given_text(W[i - 1][j - 1], decimals)}"
                    labels.append(f'<rect x="{lx - 3.1 * len(text):.1f}" y="{ly - 7:.1f}" '
                                  f'width="{6.2 * len(text):.1f}" height="12" class="halo"/>')
                    labels.append(_text(lx, ly + 3.5, text, "w"))
    for (col, i), (x, y) in centre.items():
        nodes.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{RADIUS}" class="{"in" if col == 0 else "unit"}"/>')
        nodes.append(_text(x, y + 5, str(S.a(col, i)), "u"))
        if col > 0 and spec.biases[col - 1] is not None:
            b = spec.biases[col - 1][i - 1]
            nodes.append(_text(x, y + RADIUS + 13, f"{S.b(col, i)} = {given_text(b, decimals)}", "b"))
    if any(a * b > MAX_LABELLED_EDGES for a, b in zip(counts, counts[1:])):
        height += 16
        nodes.append(_text(WIDTH / 2, height - 6, "Weights w⁽ˡ⁾ᵢⱼ of the unlabelled connections: "
                           "the Given table, row i, column j.", "note"))
    heads = [_text(60, 16, "input", "h")]
    for col, layer in enumerate(spec.layers, start=1):
        x = 60 + col * gap
        heads.append(_text(x, 16, f"layer {col}", "h"))
        heads.append(_text(x, 31, ACTIVATION_NAMES[layer.activation], "act"))
    body = "".join(["<g class=\"edges\">", *edges, "</g>", *labels, *nodes, *heads])
    return (f'<svg xmlns="http://www.w3.org/2000/svg" class="network" viewBox="0 0 {WIDTH} {height:.0f}" '
            f'width="{WIDTH}" height="{height:.0f}" role="img" aria-label="the network">{_NETWORK_STYLE}{body}</svg>')


_NETWORK_STYLE = (
    "<style>"
    ".edges line{stroke:#555;stroke-width:1}"
    "circle.unit{fill:#fff;stroke:#111;stroke-width:1.4}circle.in{fill:#eef;stroke:#111;stroke-width:1.4}"
    "text{font-family:'DejaVu Serif',serif;fill:#111}"
    "text.u{font-size:14px;font-style:italic}text.w{font-size:10px}text.b{font-size:10px;fill:#333}"
    "text.h{font-size:12px;font-weight:bold}text.act{font-size:11px;fill:#333}"
    "rect.halo{fill:#fff;stroke:none;opacity:0.9}text.note{font-size:10px;fill:#333}"
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
    width, height = WIDTH, 260
    left, right, top, bottom = 64, 20, 16, 44
    finite = [v for v in losses if math.isfinite(v)]
    ticks_y = nice_ticks(min(0.0, min(finite, default=0.0)), max(finite, default=1.0))
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
    for i, exact in marked:
        v = float(exact)
        parts.append(f'<circle cx="{px(i):.1f}" cy="{py(v):.1f}" r="6" class="mark"/>')
        parts.append(_text(px(i) + 9, py(v) - 8, f"step {i + 1}: {format_decimal(exact, decimals)}", "mark", "start"))
    return (f'<svg xmlns="http://www.w3.org/2000/svg" class="plot" viewBox="0 0 {width} {height}" '
            f'width="{width}" height="{height}" role="img" aria-label="loss over iterations">'
            f"{_PLOT_STYLE}{''.join(parts)}</svg>")


_PLOT_STYLE = (
    "<style>"
    "line.axis{stroke:#111;stroke-width:1}line.grid{stroke:#ccc;stroke-width:0.6}"
    "polyline.curve{fill:none;stroke:#1f4e99;stroke-width:1.8}circle.dot{fill:#1f4e99}"
    "circle.mark{fill:none;stroke:#b03000;stroke-width:1.6}"
    "text{font-family:'DejaVu Serif',serif;fill:#111}text.tick{font-size:11px}text.axis{font-size:12px}"
    "text.mark{font-size:11px;fill:#b03000}"
    "</style>"
)
