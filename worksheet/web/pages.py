"""The student page's sheet: the blank sheet's `Document` as rows of inputs.

Pure: `sheet_view(sol, doc)` reads a blank sheet's document model (the one
`worksheet render --blank` prints) and returns plain data for the page's
template: per step, the groups of lines (left-hand side, formula, and the
box's answers-file key, `step1.z1_1`) and the update table, whose boxes are
inputs too. A number the sheet writes twice (the update table's gradient, step
2's "old p", which is step 1's "new p") is asked for once: the second box shows
a copy of the first. Every formula is `unbroken`: a narrow screen wraps it at
its spaces only, never inside a symbol.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from markupsafe import Markup, escape

from ..document import Box, Document, Group
from ..quantities import quantities
from ..solve import Solution


@dataclass(frozen=True)
class Cell:
    text: str | Markup = ""  # a given value, or "frozen"
    key: str = ""  # an input: step1.new_W1_1_1
    name: str = ""
    words: str = ""
    mirror: str = ""  # a copy of an earlier box: its key


@dataclass(frozen=True)
class LineView:
    lhs: Markup
    symbolic: Markup
    cell: Cell


@dataclass(frozen=True)
class GroupView:
    heading: str
    lines: tuple[LineView, ...]


@dataclass(frozen=True)
class PartView:
    number: int
    forward: tuple[GroupView, ...]
    backward: tuple[GroupView, ...]
    update_rule: Markup
    update_heads: tuple[Markup, ...]
    updates: tuple[tuple[Markup, tuple[Cell, ...]], ...]
    keys: tuple[str, ...] = field(default=())


_TAG = re.compile(r"(<[^>]*>)")
_RUN = re.compile(r"[^\s<>]+")
_BEFORE_OPERATOR = re.compile(r"(?<=\S) (?=[+\-−=×](?:\s|$))")


def unbroken(markup: Markup | str) -> Markup:
    """Formula markup whose lines may break at its spaces only, and never before an operator: each run
    of text without a space is kept whole (`.u`, white-space: nowrap), and the space before a + − = ×
    that stands alone is a no-break space, so a term keeps its operator as the printed sheet's `.t`
    groups do. A browser otherwise breaks a symbol after a superscript's parenthesis, ∂L/∂w⁽²⁾ on one
    line and its subscript ₁₁ alone on the next."""
    # escape() leaves Markup as it is and escapes plain text; then the odd parts are tags, kept as they are
    parts = _TAG.split(str(escape(markup)))

    def text(part: str) -> str:
        return _RUN.sub(r'<span class="u">\g<0></span>', _BEFORE_OPERATOR.sub("\u00a0", part))

    return Markup("".join(part if n % 2 else text(part) for n, part in enumerate(parts)))


def sheet_view(sol: Solution, doc: Document) -> tuple[PartView, ...]:
    words = {q.key: q.words for q in quantities(sol)}
    seen: set[str] = set()

    def cell(box: Box | str | None, step: int, repeat: bool = False) -> Cell | None:
        if box is None:
            return None
        if isinstance(box, str):
            return Cell(text=box)
        key = f"step{step - 1 if repeat else step}.{box.name}"
        if key in seen:  # written again: the old p (the last step's new p), the update table's gradient
            return Cell(name=box.name, mirror=key)
        seen.add(key)
        return Cell(key=key, name=box.name, words=words.get(key, ""))

    def groups(gs: tuple[Group, ...], step: int) -> tuple[GroupView, ...]:
        return tuple(GroupView(g.heading, tuple(LineView(unbroken(line.lhs), unbroken(line.symbolic),
                                                        cell(line.value, step))
                                               for line in g.lines)) for g in gs)

    parts = []
    for part in doc.parts:
        n = part.number
        forward = groups((*part.forward, part.loss), n)  # first: the update table repeats their gradients
        backward = groups((*part.backward, *part.gradients), n)
        rows = []
        for r in part.updates:
            cells = [cell(r.old, n, repeat=not isinstance(r.old, str)), cell(r.grad, n)]
            if r.velocity is not None:
                cells.append(cell(r.velocity, n))
            cells += [cell(r.step, n), cell(r.new, n)]
            rows.append((unbroken(r.param), tuple(cells)))
        view = PartView(n, forward, backward, unbroken(part.update_rule),
                        tuple(unbroken(h) for h in part.update_heads), tuple(rows))
        keys = [line.cell.key for g in (*view.forward, *view.backward) for line in g.lines]
        keys += [c.key for _, cells in rows for c in cells if c.key]
        parts.append(PartView(**{**view.__dict__, "keys": tuple(keys)}))
    return tuple(parts)
