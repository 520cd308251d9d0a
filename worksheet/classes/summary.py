"""Summary stage: a graded class (`grade.Gradebook`) in, the class summary as one HTML page out.

Contract: pure (no files). `summary_html(book, title)` renders `class_summary.html.j2`
from the package's templates (beside the worksheet's, sharing its `style.css`) in the same
sandboxed environment as the worksheet (`render.environment`): values escaped, the page
self-contained. Its plots are inline SVG drawn as the loss plot is (`figures`: the same
fonts, axes, grid and blue): the distribution of scores, the catalogued slips by the number
of students who made them, and the first wrong steps. `pdf.to_pdf` prints it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from markupsafe import Markup
from markupsafe import escape as markup_escape

from ..figures import nice_ticks
from ..spec import POINT_NAMES
from .grade import BINS, Gradebook, number

WIDTH = 640
_STYLE = (
    "<style>"
    "line.axis{stroke:#111;stroke-width:1}line.grid{stroke:#ccc;stroke-width:0.6}"
    "rect.bar{fill:#1f4e99}rect.bar.hi{fill:#b03000}"
    "text{font-family:'DejaVu Serif',serif;fill:#111}text.tick{font-size:11px}text.axis{font-size:12px}"
    "text.count{font-size:11px;fill:#1f4e99}text.label{font-size:11px}"
    "</style>"
)


def _text(x: float, y: float, text: str, cls: str, anchor: str = "middle") -> str:
    return f'<text x="{x:.1f}" y="{y:.1f}" class="{cls}" text-anchor="{anchor}">{escape(text)}</text>'


def _count_ticks(top: int) -> list[int]:
    """Whole-number ticks from 0 covering `top` students."""
    ticks = [int(t) for t in nice_ticks(0, max(top, 1), min(5, max(top, 1))) if t == int(t)]
    return ticks if ticks[-1] >= top else [*ticks, top]


def histogram_svg(counts: Sequence[int]) -> str:
    """Students per tenth of the points: a bar per 10 %, its count above it."""
    width, height = WIDTH, 240
    left, right, top, bottom = 56, 16, 20, 44
    ticks = _count_ticks(max(counts, default=0))
    hi = ticks[-1]
    inner = width - left - right
    slot = inner / len(counts)

    def py(v: float) -> float:
        return top + (height - top - bottom) * (1 - v / hi)

    parts = [f'<line x1="{left}" y1="{top}" x2="{left}" y2="{height - bottom}" class="axis"/>']
    for v in ticks:
        parts.append(f'<line x1="{left}" y1="{py(v):.1f}" x2="{width - right}" y2="{py(v):.1f}" class="grid"/>')
        parts.append(_text(left - 6, py(v) + 4, str(v), "tick", "end"))
    for k, n in enumerate(counts):
        x = left + k * slot
        if n:
            parts.append(f'<rect x="{x + 3:.1f}" y="{py(n):.1f}" width="{slot - 6:.1f}" '
                         f'height="{py(0) - py(n):.1f}" class="bar"/>')
            parts.append(_text(x + slot / 2, py(n) - 4, str(n), "count"))
    for k in range(len(counts) + 1):
        parts.append(_text(left + k * slot, height - bottom + 16, f"{k * 100 // len(counts)}", "tick"))
    parts.append(f'<line x1="{left}" y1="{height - bottom}" x2="{width - right}" y2="{height - bottom}" '
                 'class="axis"/>')
    parts.append(_text((left + width - right) / 2, height - 8, "score, % of the points", "axis"))
    mid = (top + height - bottom) / 2
    parts.append(f'<text x="14" y="{mid:.1f}" class="axis" text-anchor="middle" '
                 f'transform="rotate(-90 14 {mid:.1f})">students</text>')
    return (f'<svg xmlns="http://www.w3.org/2000/svg" class="plot" viewBox="0 0 {width} {height}" '
            f'width="{width}" height="{height}" role="img" aria-label="distribution of scores">'
            f"{_STYLE}{''.join(parts)}</svg>")


def bars_svg(items: Sequence[tuple[str, int]], label: str, highlight_first: bool = True) -> str:
    """Horizontal bars: each (label, students), most first; the first in the accent colour."""
    row = 24
    width = WIDTH
    left = min(300, 18 + 6.2 * max((len(t) for t, _ in items), default=4))
    right, top, bottom = 36, 8, 40
    height = top + bottom + row * len(items)
    ticks = _count_ticks(max((n for _, n in items), default=0))
    hi = ticks[-1]

    def px(v: float) -> float:
        return left + (width - left - right) * v / hi

    parts = []
    for v in ticks:
        parts.append(f'<line x1="{px(v):.1f}" y1="{top}" x2="{px(v):.1f}" y2="{height - bottom}" class="grid"/>')
        parts.append(_text(px(v), height - bottom + 16, str(v), "tick"))
    for k, (text, n) in enumerate(items):
        y = top + k * row
        cls = "bar hi" if highlight_first and k == 0 else "bar"
        parts.append(f'<rect x="{left}" y="{y + 4}" width="{px(n) - left:.1f}" height="{row - 8}" class="{cls}"/>')
        shown = text if len(text) <= 46 else text[:45] + "…"
        parts.append(_text(left - 8, y + row / 2 + 4, shown, "label", "end"))
        parts.append(_text(px(n) + 5, y + row / 2 + 4, str(n), "count", "start"))
    parts.append(f'<line x1="{left}" y1="{top}" x2="{left}" y2="{height - bottom}" class="axis"/>')
    parts.append(f'<line x1="{left}" y1="{height - bottom}" x2="{width - right}" y2="{height - bottom}" '
                 'class="axis"/>')
    parts.append(_text((left + width - right) / 2, height - 8, label, "axis"))
    return (f'<svg xmlns="http://www.w3.org/2000/svg" class="plot" viewBox="0 0 {width} {height}" '
            f'width="{width}" height="{height}" role="img" aria-label="{escape(label)}">'
            f"{_STYLE}{''.join(parts)}</svg>")


@dataclass(frozen=True)
class Page:
    """What the template reads: plain values and the plots as Markup."""

    title: str
    book: Gradebook
    histogram: Markup
    slips_plot: Markup
    first_plot: Markup
    parts: str  # the first wrong answers counted by part, as a sentence ("" when none)
    mean: str
    median: str
    bins: int

    def pct(self, value: float | None) -> str:
        return "" if value is None else f"{value:.0f}\u00a0%"


def page(book: Gradebook, title: str = "") -> Page:
    s = book.summary
    slips = [(mid, n) for mid, _, n in s.slips]
    firsts = [(key.replace("step", "step ", 1).replace(".", ": ", 1), n) for key, _, n in s.first_wrong[:12]]
    return Page(
        title=title or "Class summary",
        book=book,
        histogram=Markup(histogram_svg(s.histogram)),
        slips_plot=Markup(bars_svg(slips, "students who made the slip")) if slips else Markup(""),
        first_plot=Markup(bars_svg(firsts, "students whose first wrong answer it is")) if firsts else Markup(""),
        parts=by_part(s.first_wrong_parts),
        mean="" if s.mean is None else f"{s.mean:.0f}\u00a0%",  # a no-break space: "0 %" never split by a line end
        median="" if s.median is None else f"{s.median:.0f}\u00a0%",
        bins=BINS,
    )


# a part as a sentence names it ("went wrong in the forward pass"); the sheet's headings are POINT_NAMES
_IN_PART = {"forward": "the forward pass", "loss": "the loss", "backward": "the backward pass (∂L/∂ŷ and δ)",
            "gradients": "the gradients", "momentum": "the momentum buffers", "eta": "the products η·gradient",
            "updates": "the updated parameters"}


def by_part(counts: Sequence[tuple[str, int]]) -> str:
    """Where the students first went wrong, counted by part, as a person says it: `Counted by part, 3 students
    first went wrong in the forward pass, 2 in the gradients and 1 in the updated parameters.` A count and
    its word are joined by a no-break space: a line never ends on a bare "2"."""
    if not counts:
        return ""
    places = []
    for k, (part, n) in enumerate(counts):
        said = f"{n}\u00a0{'student' if n == 1 else 'students'} first went wrong" if k == 0 else f"{n}"
        places.append(f"{said} in\u00a0{_IN_PART.get(part, POINT_NAMES.get(part, part))}")
    listed = places[0] if len(places) == 1 else ", ".join(places[:-1]) + " and " + places[-1]
    return f"Counted by part, {listed}."


def keys(text: str) -> Markup:
    """`text` escaped, a line allowed to break after each dot: a key (step1.new_W1_1_1) then wraps as
    `step1.` and `new_W1_1_1` in a narrow column, not anywhere inside the name."""
    return Markup(".<wbr>").join(markup_escape(part) for part in text.split("."))


def summary_html(book: Gradebook, title: str = "", paper: str = "a4") -> str:
    """The class summary page: counts, the plots, and every student's line."""
    from ..render import environment, external_references

    env = environment()
    env.globals["number"] = number
    env.filters["keys"] = keys
    html = env.get_template("class_summary.html.j2").render(p=page(book, title), paper=paper)
    outside = external_references(html)
    if outside:  # the package's own template: a bug, not input
        raise AssertionError(f"the class summary refers to {outside[0]}")
    return html

