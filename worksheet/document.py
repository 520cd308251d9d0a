"""Document stage: a `Solution` in, the worksheet's content model out.

Contract: pure (no files). `build(solution, snapshots, options)` returns a
frozen `Document` holding everything the templates print, in reading order:
the problem statement, the network's picture, notation and conventions, the
derivation once, one part per update step, and the check against the
PyTorch trace. Formulas from SymPy arrive as HTML made only from symbols and
numbers (`Markup`); text from the spec stays plain `str`, for the templates
to escape.

The answer key and the blank sheet are the same model with `blank` set:
every number a student computes is a `Box`, of one width decided from the
key's own numbers in both cases, and the two carry the same boxes under the
same headings in the same order; a blank sheet's boxes carry only their
label, a marked one the student's answers. A blank sheet is sized for
handwriting (taller boxes and lines, wider working areas), the key for print,
so the key is shorter.
"""

from __future__ import annotations

import functools
import html
import math
import re
from dataclasses import dataclass, replace
from fractions import Fraction

import sympy as sp
from markupsafe import Markup

from .check import Marking
from .derive import Equation
from .feedback import first_wrong_text, from_yours_text, note_text, shown, summary
from .figures import loss_svg, network_svg
from .notation import (
    ACTIVATION_NAMES,
    HtmlPrinter,
    TextPrinter,
    format_decimal,
    given_text,
    precision_text,
    symbol_html,
    value_text,
)
from .quantities import at, entries, eta_name, neuron_order, param_name, sections
from .solve import Solution, Step, arithmetic_text, conventions
from .spec import POINT_NAMES, Spec, fingerprint
from .spec import one_line as _one_line
from .trace import Snapshot, format_tensor

# Handwriting is wider than print: millimetres a written character takes, and a line's height.
HAND_MM_PER_CHAR = 2.9
# a number of a working as printed (4.5, −0.4004, (−0.5), 7/2), and what a blank sheet makes room for in
# its place, whatever the number: a 4-decimal one (the widest, "(−0.0000)", cost the built-in sheet 2 pages)
_NUMBER = re.compile(r"(?<![\w′])\(−\d[\d./]*\)|−?\d[\d./]*")  # not a function's (): tanh(−0.4)
ANY_NUMBER = "0.0000"
TIGHT_PT = 10.0  # a key's working that just misses one line at 10.5 pt (style.css .working.tight)
PRINT_MM_PER_CHAR = 2.2  # 11pt serif, a formula's average character
PT_MM = 25.4 / 72
# DejaVu Serif's advance widths in em (the key's printed text); any other character counts as 0.62 em
NBSP = "\u00a0"
_EM = {**dict.fromkeys("0123456789", 0.636), **dict.fromkeys(".,·: ′" + NBSP, 0.318), **dict.fromkeys("+−-=×", 0.838),
       **dict.fromkeys("()[]", 0.39), "/": 0.337, "e": 0.592, "R": 0.73, "L": 0.637, "U": 0.733,
       **dict.fromkeys("⁰¹²³⁴⁵⁶⁷⁸⁹⁽⁾₀₁₂₃₄₅₆₇₈₉₍₎ᵀ", 0.35)}
_FRAC = re.compile(r'<span class="frac"><span class="n">(.*?)</span><span class="d">(.*?)</span></span>')
LINE_MM = 7.0  # the key's lines: printed text
BOX_PT, BOX_PAD_MM = 11.0, 3.6  # a value box's text and its padding and borders (style.css .box)
HAND_LINE_MM = 12.0  # a blank sheet's lines are for handwriting
BOX_MM, HAND_BOX_MM = 8.0, 10.0  # a value box's height on the key and on a blank sheet (style.css .box)
# A wrong box's note on a marked sheet (style.css .box .exp): 6.5 pt lines of 1.2, right-aligned under the box and
# at most NOTE_MM wide, a gap between it and the ink above; "= " and " = " as a line prints them (11 pt).
NOTE_PT, NOTE_MM, NOTE_GAP_MM = 6.5, 90.0, 1.0
NOTE_LINE_MM = NOTE_PT * 1.2 * 25.4 / 72
EQ_MM, SPACE_MM = 4.5, 1.1
TEXT_MM = {"a4": 170.0, "letter": 175.9}  # the page's width inside its margins (20 mm a side)
# A line is its left-hand side (22 mm and a gap), then the rest; the equation number hangs in the page's margin.
RHS_OFF_MM = 24.5
LHS_MM = 23.5  # where a line's right-hand side starts (style.css .q's left padding)
PAPER = ("a4", "letter")
UPDATE_PARAM_MM = 19.0  # the update table's parameter column


@dataclass(frozen=True)
class Options:
    decimals: int = 4
    blank: bool = False
    paper: str = "a4"
    formulas: bool = True  # False: no derivation and no formula beside a box; the student writes them
    student_name: str = ""  # a blank sheet made for one student (`worksheet class`): printed in its header
    student_id: str = ""


@dataclass(frozen=True)
class Box:
    """A number the student writes; `text` is empty on a blank sheet, the
    student's answer on a marked one."""

    name: str  # the stable label: z1_1, dW2_1_2, new_W1_1_1 ...
    text: str
    width_mm: float
    lines: int = 1
    mark: str = ""  # on a marked sheet: right, carried, wrong or missing
    note: str = ""  # under a wrong answer: the expected value, and what follows from the student's own numbers
    slip: str = ""  # under that: the mistake that explains the number, where one does
    line_mm: float = LINE_MM  # a working area's line: typeset on the key, handwritten on a blank sheet
    field: str = ""  # on a blank sheet: the PDF form field's name, the answers file's key (step1.z1_1)
    tight: bool = False  # the key's working set a little smaller (TIGHT_PT) to keep it on one line
    label: str = ""  # the label printed on the box when not its name: step1.new_W1_1_1 written again in step 2
    note_width_mm: float = NOTE_MM  # the note's width, leftwards from the box's right edge
    note_drop_mm: float = 0.0  # how far below the box its note starts: under the working area beside it, when taller

    @property
    def height_mm(self) -> float:
        return self.lines * self.line_mm

    @property
    def note_lines(self) -> int:
        """Lines of the note under a marked box, the mistake on a line of its own."""
        return _wrapped_lines(self.note, self.note_width_mm) + _wrapped_lines(self.slip, self.note_width_mm)

    @property
    def note_top_mm(self) -> float:
        """Where the note starts, below the box's bottom edge."""
        return self.note_drop_mm + NOTE_GAP_MM

    @property
    def note_mm(self) -> float:
        """Room the note takes under the lowest ink of its line: a gap, then its lines."""
        return NOTE_GAP_MM + self.note_lines * NOTE_LINE_MM if self.note else 0.0


@dataclass(frozen=True)
class Line:
    """One quantity of a step: lhs = symbolic = working = value."""

    name: str
    lhs: Markup
    symbolic: Markup
    working: Box | None  # the formula with this step's numbers; None when it would repeat the value
    value: Box
    ref: int  # the derivation's equation number
    compact: bool  # all on one line; else the working and value go on a second


@dataclass(frozen=True)
class Group:
    heading: str
    lines: tuple[Line, ...]


@dataclass(frozen=True)
class UpdateRow:
    param: Markup
    old: Box | str  # a given value is text
    grad: Box | str  # "frozen" for a frozen parameter
    velocity: Box | str | None  # with momentum only
    step: Box | str
    new: Box | str


@dataclass(frozen=True)
class Part:
    """One SGD update step."""

    number: int
    forward: tuple[Group, ...]
    loss: Group
    backward: tuple[Group, ...]
    gradients: tuple[Group, ...]
    update_rule: Markup
    update_heads: tuple[Markup, ...]
    updates: tuple[UpdateRow, ...]


@dataclass(frozen=True)
class Derived:
    number: int
    name: str
    lhs: Markup
    # the chain rule in ∂ factors, then in the network's symbols, as (sign, formula)
    # rows: "=" opens a form; a sum over the samples of a batch goes on with "+" rows
    rows: tuple[tuple[str, Markup], ...]
    one_line: bool = False  # two short forms, printed one after the other on one line
    note: str = ""  # why the symbolic form is simpler than the product above it


@dataclass(frozen=True)
class DerivationGroup:
    heading: str
    items: tuple[Derived, ...]


@dataclass(frozen=True)
class Given:
    label: Markup
    value: Markup
    width_mm: float = 0.0  # label and value, printed
    height: int = 1  # in lines: a matrix's rows


@dataclass(frozen=True)
class CheckRow:
    quantity: Markup
    torch: str  # as PyTorch prints the float32 tensor
    ours: str
    agree: bool


@dataclass(frozen=True)
class CheckBlock:
    heading: str
    rows: tuple[CheckRow, ...]


@dataclass(frozen=True)
class ScriptLine:
    """A line of the printed PyTorch script in the pieces it is printed on: the first where the line
    starts, each further one under it, `hang` characters in and marked as going on. The pieces are the
    line's own characters, split only for print: copied from the page, it is the line as written."""

    pieces: tuple[str, ...]
    hang: int = 0

    @property
    def text(self) -> str:
        return "".join(self.pieces)


@dataclass(frozen=True)
class Document:
    title: str
    course: str
    instructor: str
    due: str
    blank: bool
    paper: str
    rhs_mm: float  # a line's width right of its left-hand side
    decimals: int
    summary: str
    given: tuple[Given, ...]
    network: Markup
    notation: tuple[Markup, ...]
    conventions: tuple[str, ...]
    derivation_note: str
    derivation: tuple[DerivationGroup, ...]
    parts: tuple[Part, ...]
    checks: tuple[CheckBlock, ...]
    loss_plot: Markup
    iterations: int
    torch_script: str  # the PyTorch script that checks the numbers, printed after the check ("": left out)
    boxes: tuple[str, ...]  # every box's step-qualified label, in order: 1:z1_1 ...
    marking: tuple[str, ...] = ()  # a marked sheet's summary lines
    version: str = ""  # the problem's fingerprint, printed so a sheet can be matched to its key
    instructions: tuple[str, ...] = ()  # the blank sheet's, paragraph by paragraph
    points: tuple[tuple[str, str], ...] = ()  # (part, points) from the spec's [marking], then ("total", …)
    given_split: int = 0  # the Given rows in the left of two columns, when every row fits half the page; 0: one
    # the script's lines in two columns of about equal height, a page's worth at a time (a spread)
    script_spreads: tuple[tuple[tuple[ScriptLine, ...], ...], ...] = ()
    student_name: str = ""  # a blank sheet's student, printed in place of the empty Name / Student ID rules
    student_id: str = ""


DEFAULT_INSTRUCTIONS = (
    "Work out every box, in order, and show your working in the dashed area beside it. Write each number with "
    "at least 4 decimals, rounded half up, or as an exact fraction such as 2/3, and carry on with the number "
    "you wrote: a later answer that follows from your own earlier ones gets its credit."
)


def _points(spec: Spec) -> tuple[tuple[str, str], ...]:
    if not spec.points:
        return ()
    rows = [(POINT_NAMES[name], format_decimal(points, 2)) for name, points in spec.points]
    return (*rows, ("total", format_decimal(sum((p for _, p in spec.points), Fraction(0)), 2)))


def _text_length(markup: str) -> int:
    """Characters a reader sees in a piece of markup."""
    return len(html.unescape(re.sub(r"<[^>]+>", "", markup)))


def _mm_for(chars: int) -> float:
    return chars * HAND_MM_PER_CHAR


def _printed_mm(text: str, pt: float = 10.5) -> float:
    """The width of printed text (the key's working is 10.5 pt), in mm, a little generously."""
    return 1.04 * pt * PT_MM * sum(_EM.get(c, 0.62) for c in text)


def _wrapped_lines(text: str, width_mm: float, pt: float = NOTE_PT) -> int:
    """Lines a text takes wrapped at its spaces in `width_mm` (by the printed widths, a little generously)."""
    lines, used, space = 0, 0.0, _printed_mm(" ", pt)
    for word in filter(None, text.split(" ")):  # at spaces only: a no-break space holds its two sides together
        width = _printed_mm(word, pt)
        if lines and used + space + width <= width_mm:
            used += space + width
        else:
            lines, used = lines + 1, width
    return lines


def _markup_mm(markup: str, pt: float = 11.0) -> float:
    """The printed width of a formula's markup: a stacked fraction is as wide as its longer part."""
    def wider(m: re.Match) -> str:
        parts = [html.unescape(re.sub(r"<[^>]+>", "", part)) for part in m.groups()]
        return max(parts, key=lambda part: _printed_mm(part))
    return _printed_mm(html.unescape(re.sub(r"<[^>]+>", "", _FRAC.sub(wider, markup))), pt)


class _Builder:
    def __init__(self, sol: Solution, options: Options, marking: Marking | None = None):
        self.sol, self.spec, self.opt = sol, sol.spec, options
        self.marks = marking.by_key() if marking is not None else None
        self.der = sol.derivation
        S = self.der.symbols
        self.display = HtmlPrinter(S, options.decimals, fractions=True, display=True)
        self.html = HtmlPrinter(S, options.decimals, fractions=True)
        self.numbers = HtmlPrinter(S, options.decimals)
        self.text = TextPrinter(options.decimals)
        self.boxes: list[str] = []
        # one width for every value box, so no box's size hints at its number
        # wide enough to write the decimal by hand, and to print it with its fraction
        values = [v for step in sol.steps for v in step.values.values()]
        hand = max(len(format_decimal(v, options.decimals)) for v in values) * HAND_MM_PER_CHAR
        printed = max(len(value_text(v, options.decimals, sol.exact)) for v in values) * PRINT_MM_PER_CHAR
        self.value_mm = max(24.0, hand + 6, printed + 6)
        self.rhs_mm = TEXT_MM[options.paper] - RHS_OFF_MM
        self.work_mm = self.rhs_mm - self.value_mm - 12
        self.step_no = 0
        self.line_mm = HAND_LINE_MM if options.blank else LINE_MM

    def box(self, name: str, text: str, width_mm: float | None = None, lines: int = 1, repeat: bool = False,
            label: str = "", in_row: bool = False) -> Box:
        """A value box; `repeat`: a number written again (the old p of step 2), marked without its note;
        `label`: what its label says when not its name; `in_row`: in an update table's row, which shows
        what a carried number follows from (a note saying so doubled the rows' height, 10 pages to 12)."""
        self.boxes.append(f"{self.step_no}:{name}")
        width = width_mm or self.value_mm
        if self.marks is not None:
            mark = self.marks.get(f"step{self.step_no}.{name}")
            if mark is not None:
                note = slip = ""
                if mark.verdict == "wrong" and not repeat:
                    own = from_yours_text(mark, self.opt.decimals)
                    note = f"expected {self.value(mark.expected)}" + (f"; {own}" if own else "")
                    slip = mark.note
                elif mark.verdict == "carried" and not repeat and not in_row:  # what it is right from
                    note = note_text(mark)
                # a note wraps between its numbers, not inside "a1_2 = 0.5225", "0.1433 (43/300)" nor "(step 1)"
                for space, kept in ((" = ", NBSP + "=" + NBSP), (" (", NBSP + "("), ("(step ", "(step" + NBSP)):
                    note = note.replace(space, kept)
                text = shown(mark.answer.text) if mark.answer else ""
                return Box(name, text, width, lines, mark.verdict, note, slip, label=label)
        # a number written again (the old p of step 2) is the earlier field's: one field per key
        field = f"step{self.step_no}.{name}" if self.opt.blank and self.marks is None and not repeat else ""
        return Box(name, "" if self.opt.blank else text, width, lines, field=field, label=label)

    def value(self, v: Fraction, width_mm: float | None = None) -> str:
        """The value as a box shows it; in a box `width_mm` wide, without its exact fraction when the
        two do not fit (the update table's narrow cells: 0.02583, not 0.02583 (31/1200) over the next)."""
        text = value_text(v, self.opt.decimals, self.sol.exact)
        if width_mm is not None and " (" in text and _printed_mm(text, BOX_PT) + BOX_PAD_MM > width_mm:
            return format_decimal(v, self.opt.decimals)
        return text

    # -- derivation ------------------------------------------------------
    def derivation(self) -> tuple[tuple[DerivationGroup, ...], dict[tuple, int]]:
        der, spec = self.der, self.spec
        numbers: dict[tuple, int] = {}
        groups: list[DerivationGroup] = []

        def items(eqs) -> tuple[Derived, ...]:
            out = []
            for eq in eqs:
                numbers[_same_in_every_sample(eq)] = n = len(numbers) + 1
                rows = []
                for form in (eq.chain, eq.symbolic):
                    if form is None:
                        continue
                    whole = self.display.doprint(form)
                    # a batch's gradient puts a sample's term a row when the sum is too long for one
                    per_sample = (eq.param is not None and len(spec.x) > 1 and isinstance(form, sp.Add)
                                  and _markup_mm(whole) + 6 > self.rhs_mm)
                    for k, term in enumerate(form.args if per_sample else (form,)):
                        rows.append(("=" if k == 0 else "+", self.display.doprint(term) if per_sample else whole))
                # two short forms share a line: = chain = symbols
                one_line = len(rows) == 2 and sum(_markup_mm(form) + 6 for _, form in rows) <= self.rhs_mm
                out.append(Derived(n, eq.name, Markup(self.display.doprint(eq.lhs)),
                                   tuple((sign, Markup(form)) for sign, form in rows), one_line, eq.note))
            return tuple(out)

        for n, layer in enumerate(spec.layers, start=1):
            eqs = [eq for eq in der.forward if eq.sample == 1 and eq.layer == n]
            groups.append(DerivationGroup(f"Forward, layer {n} ({ACTIVATION_NAMES[layer.activation]})",
                                          items(neuron_order(eqs, layer.activation))))
        groups.append(DerivationGroup("Loss", items([der.loss])))
        backward = [eq for eq in der.output_grads + der.deltas if eq.sample == 1]
        groups.append(DerivationGroup("Backward: δ = ∂L/∂z, from the output layer down", items(backward)))
        for n in range(len(spec.layers), 0, -1):
            eqs = [eq for eq in der.grads if eq.param[1] == n]
            if eqs:
                groups.append(DerivationGroup(f"Gradients, layer {n}", items(eqs)))
        return tuple(groups), numbers

    # -- steps -----------------------------------------------------------
    def line(self, eq: Equation, step: Step, refs: dict[tuple, int]) -> Line:
        sym = self.html.doprint(eq.symbolic)
        worked = step.substituted[eq.name]
        plain = self.text.doprint(worked)
        value = self.value(step.values[eq.name])
        working = None
        # one line when it all fits: left side, formula, working, value; the key's working is printed,
        # narrower than a student's handwriting, so a key puts more on one line than its blank sheet
        sym_mm = (_text_length(sym) * PRINT_MM_PER_CHAR if self.opt.blank else _markup_mm(sym))
        # a blank sheet's room must not give the answer away: sized for the working's shape, every number
        # alike ("(−0.4004)·1" and "0.2053·1" got 40 and 30 mm, telling the student which δ is negative)
        shape = _NUMBER.sub(ANY_NUMBER, plain)
        work_mm = _mm_for(len(shape)) + 6 if self.opt.blank else _printed_mm(plain) + 5
        if self.opt.blank:  # on a 10 mm grid: tanh(0.55) and tanh(−0.4) get the same room, boxes line up
            work_mm = 10 * math.ceil(work_mm / 10)
        compact = sym_mm + work_mm + self.value_mm + (18 if self.opt.blank else 16.5) <= self.rhs_mm
        if not self.opt.formulas:  # the symbol, room to write the formula and the working, the box
            lines = max(1, math.ceil((sym_mm + _mm_for(len(shape)) + 6) / self.work_mm))
            working = Box("", "", self.work_mm, lines, line_mm=self.line_mm)
            return Line(eq.name, Markup(self.html.doprint(eq.lhs)), Markup(""), working,
                        self.noted(self.box(eq.name, value), LHS_MM + EQ_MM + self.work_mm + SPACE_MM + EQ_MM,
                                   working), 0, True)
        if plain != format_decimal(step.values[eq.name], self.opt.decimals) and not isinstance(eq.symbolic, sp.Symbol):
            # a blank sheet's long working gets the whole line; the key's is as wide as its text
            width = work_mm if compact else self.work_mm if self.opt.blank else min(work_mm, self.work_mm)
            text_mm, room = (work_mm - 6, width) if self.opt.blank else (work_mm - 5, width - 4)
            lines = max(1, math.ceil(text_mm / room))
            # a key's working a few percent too long for its line took two, the second empty or holding
            # a lone "+ 0.05": set at TIGHT_PT it keeps one (by the font's own widths, with 2 % to spare)
            tight = (not self.opt.blank and lines == 2
                     and _printed_mm(plain, TIGHT_PT) / 1.04 <= 0.98 * room)
            if tight:
                lines, width = 1, self.work_mm
            # the working is not marked, only its result: an unlabelled area
            text = "" if self.opt.blank else Markup(self.numbers.doprint(worked))
            working = Box("", text, width, lines, line_mm=self.line_mm, tight=tight)
        # where the box starts: after "= formula " on a compact line, then "= working " and "= "
        start = LHS_MM + (EQ_MM + _markup_mm(sym) + SPACE_MM if compact else 0) + EQ_MM
        if working is not None:
            start += working.width_mm + SPACE_MM + EQ_MM
        return Line(eq.name, Markup(self.html.doprint(eq.lhs)), Markup(sym), working,
                    self.noted(self.box(eq.name, value), start, working), refs[_same_in_every_sample(eq)], compact)

    def noted(self, value: Box, start_mm: float, working: Box | None) -> Box:
        """A marked box's note placed under it: at most as wide as its line from the left to the box's right
        edge (`start_mm`: where the box starts), and below the working area beside it when that reaches lower
        (both are centred on the line): a note that started under the box crossed the working's border."""
        if not value.note:
            return value
        box_mm = HAND_BOX_MM if self.opt.blank else BOX_MM
        drop = max(0.0, (working.height_mm - box_mm) / 2) if working is not None else 0.0
        return replace(value, note_width_mm=min(NOTE_MM, start_mm + value.width_mm - 1), note_drop_mm=drop)

    def part(self, step: Step, refs: dict[tuple, int]) -> Part:
        self.step_no = step.number
        groups: dict[str, list[Group]] = {"forward": [], "loss": [], "backward": [], "gradients": []}
        for section in sections(self.spec, self.der):
            lines = tuple(self.line(eq, step, refs) for eq in section.equations)
            groups[section.part].append(Group(section.heading, lines))
        rule, heads, rows = self.updates(step)
        return Part(step.number, tuple(groups["forward"]), groups["loss"][0], tuple(groups["backward"]),
                    tuple(groups["gradients"]), rule, heads, rows)

    def updates(self, step: Step):
        spec, dec = self.spec, self.opt.decimals
        mom = bool(spec.momentum)
        lr = given_text(spec.learning_rate, 12)
        g = "∂L/∂<i>p</i>"
        if mom:
            rule = Markup(f"<i>v</i> ← {given_text(spec.momentum, 12)}·<i>v</i> + {g} "
                          f"(<i>v</i> = {g} on step 1); <i>p</i> ← <i>p</i> − η·<i>v</i>, η = {lr}")
            heads = ("old <i>p</i>", g, "<i>v</i>", "η·<i>v</i>", "new <i>p</i>")
        else:
            rule = Markup(f"<i>p</i> ← <i>p</i> − η·{g}, η = {lr}")
            heads = ("old <i>p</i>", g, f"η·{g}", "new <i>p</i>")
        if not self.opt.formulas:  # the update rule is the student's to write
            rule = Markup(f"η = {lr}" + (f", momentum μ = {given_text(spec.momentum, 12)}" if mom else ""))
        # the table's boxes share the text's width with the parameter column and the cells' padding (3 mm)
        cell_mm = min(self.value_mm, (TEXT_MM[self.opt.paper] - UPDATE_PARAM_MM) / len(heads) - 3)
        rows = []
        for group in spec.group_names:
            for index, old in entries(step.params[group]):
                key = param_name(group, index)
                label = Markup(self.html.doprint(_param_symbol(self.der.symbols, group, index)))
                if step.number == 1:
                    old_cell: Box | str = given_text(old, dec)
                else:  # the previous step's result, written again
                    self.step_no -= 1
                    # labelled with its step: beside it, this step's new p is new_{key} too
                    old_cell = self.box(f"new_{key}", self.value(old, cell_mm), cell_mm, repeat=True,
                                        label=f"step{self.step_no}.new_{key}")
                    self.step_no += 1
                if group not in step.grads:
                    rows.append(UpdateRow(label, old_cell, "frozen", "" if mom else None, "", format_decimal(old, dec)))
                    continue
                grad = at(step.grads[group], index)
                vel = at(step.velocity[group], index)
                new = at(step.updated[group], index)
                d = f"d{key}"
                rows.append(UpdateRow(
                    label, old_cell, self.box(d, self.value(grad, cell_mm), cell_mm, repeat=True),  # the gradient above
                    self.box(f"v_{key}", self.value(vel, cell_mm), cell_mm, in_row=True) if mom else None,
                    self.box(eta_name(key, mom), self.value(spec.learning_rate * vel, cell_mm), cell_mm, in_row=True),
                    self.box(f"new_{key}", self.value(new, cell_mm), cell_mm, in_row=True),
                ))
        return rule, tuple(Markup(h) for h in heads), tuple(rows)


def _same_in_every_sample(eq: Equation) -> tuple:
    """What names an equation's derivation number: sample 2's z¹₁ is written like sample 1's."""
    return eq.kind, eq.layer, eq.unit, eq.param


def _param_symbol(S, group: str, index: tuple[int, ...]) -> sp.Symbol:
    layer = int(group[1:])
    return S.w(layer, *index) if group[0] == "W" else S.b(layer, *index)


def given_rows(spec: Spec, sol: Solution, dec: int, printer: HtmlPrinter) -> tuple[Given, ...]:
    """The Given table's rows: each given (inputs, targets, weights, biases, loss, η ...) as a label and its value."""
    S = sol.derivation.symbols

    def vector(values) -> str:
        return "(" + ", ".join(given_text(v, dec) for v in values) + ")" if len(values) > 1 else \
            given_text(values[0], dec)

    def matrix(rows) -> str:
        # square brackets: a cell as tall as the matrix on each side, bordered on three sides
        side = f' rowspan="{len(rows)}"'
        body = "".join("<tr>" + (f'<td class="lb"{side}></td>' if n == 0 else "")
                       + "".join(f"<td>{given_text(v, dec)}</td>" for v in row)
                       + (f'<td class="rb"{side}></td>' if n == 0 else "") + "</tr>" for n, row in enumerate(rows))
        return f'<table class="matrix"><tbody>{body}</tbody></table>'

    def sym(s) -> str:
        return printer.doprint(s)

    out: list[Given] = []

    def add(label: str, value: str, cells: tuple[int, int] | None = None) -> None:
        """A row; `cells`: a matrix's rows and columns, whose numbers stand in cells 4 mm apart."""
        plain = html.unescape(re.sub(r"<[^>]+>", " ", value))
        if cells is None:
            value_mm = _markup_mm(value)
        else:
            value_mm = cells[1] * (max(_printed_mm(n, 11) for n in plain.split()) + 4) + 4
        out.append(Given(Markup(label), Markup(value), _markup_mm(label) + 4 + value_mm,
                         cells[0] if cells else 1))

    for s, (xs, ys) in enumerate(zip(spec.x, spec.y), start=1):
        where = f" (sample {s})" if len(spec.x) > 1 else ""
        xsyms = _listed([sym(S.x(j, s)) for j in range(1, spec.inputs + 1)])
        ysyms = _listed([sym(S.y(k, s)) for k in range(1, spec.layers[-1].units + 1)])
        add(f"input {xsyms}{where}", vector(xs))
        add(f"target {ysyms}{where}", vector(ys))
    for n, (W, b) in enumerate(zip(spec.weights, spec.biases), start=1):
        # which index is the row is said once, in the table's caption
        add(f"weights <i>W</i><sup>({n})</sup>", matrix(W), (len(W), len(W[0])))
        if b is not None:
            add(f"biases <i>b</i><sup>({n})</sup>", vector(b))
    # W1, b2 as the page writes them: W⁽¹⁾, b⁽²⁾
    frozen = ", ".join(f"<i>{html.escape(g[0])}</i><sup>({html.escape(g[1:])})</sup>" for g in sorted(spec.frozen))
    leaky = {n: layer.slope for n, layer in enumerate(spec.layers, start=1) if layer.activation == "leaky_relu"}
    if len(set(leaky.values())) == 1:
        add("LeakyReLU slope", given_text(next(iter(leaky.values())), 12))
    else:
        for n, slope in leaky.items():
            add(f"LeakyReLU slope, layer {n}", given_text(slope, 12))
    loss = sol.derivation.loss
    add("loss", f"{printer.doprint(loss.lhs)} = {printer.doprint(loss.symbolic)}")
    add("learning rate η", given_text(spec.learning_rate, 12))
    if spec.momentum:
        add("momentum μ", given_text(spec.momentum, 12))
    add("updates", f"{spec.steps}" + (f"; frozen: {frozen}" if frozen else ""))
    return tuple(out)


def _listed(symbols: list[str]) -> str:
    """x₁, x₂, x₃; or x₁, …, x₈: eight inputs' names took half the Given table's width, and the 8 columns of
    a weight matrix beside them ran off the page."""
    return ", ".join(symbols) if len(symbols) <= 3 else f"{symbols[0]}, …, {symbols[-1]}"


GIVEN_COLUMN_MM = 80.0  # half the text's width, less a gap
SCRIPT_COLUMN_CHARS = 54  # characters on a line of a script's column (6.8 pt DejaVu Sans Mono, 80 mm)
# A continuation goes on this much further in than its line, after its mark (style.css .script .more::before).
SCRIPT_HANG, SCRIPT_MARK = 4, 2


def _script_breaks(line: str) -> dict[int, float]:
    """Where a long line of Python may go on to the next printed line (the index its next piece starts at),
    and what the break costs a reader: least between the arguments of the outermost call (a comma's bracket
    depth), then after an opening bracket, then between the words of a comment, more at any other space,
    much more inside a string (it splits a token)."""
    breaks: dict[int, float] = {}
    quote, comment, depth, last = "", False, 0, ""
    indent = len(line) - len(line.lstrip())
    for i, c in enumerate(line):
        if comment:
            pass
        elif quote:
            if c == quote and line[i - 1] != "\\":
                quote = ""
        elif c in "'\"":
            quote = c
        elif c == "#":
            comment = True
        elif c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
        if i + 1 < len(line) and i >= indent and line[i + 1] != " ":
            if c == " ":
                breaks[i + 1] = (100 if quote else 1 if comment else depth if last == "," and depth
                                 else 5 + depth)
            elif c in "([{" and not quote and not comment and line[i + 1] not in ")]}":
                breaks[i + 1] = depth + 0.5
        if c != " " and not comment:
            last = c
    return breaks


def _script_line(line: str, width: int = SCRIPT_COLUMN_CHARS) -> ScriptLine:
    """A line of the script in printed pieces of at most `width` characters (a continuation's hang and mark
    counted): as few pieces as its breaks allow, then the cheapest breaks (_script_breaks), then the fullest
    first pieces; cut mid-token only where no break fits."""
    if len(line) <= width:
        return ScriptLine((line,))
    hang = len(line) - len(line.lstrip()) + SCRIPT_HANG
    breaks = _script_breaks(line)
    n = len(line)

    @functools.cache
    def best(i: int) -> tuple[int, float, tuple[int, ...]]:
        """(pieces, cost, cuts) of the rest of the line from i, a piece starting there."""
        if i == n:
            return 0, 0.0, ()
        room = width if i == 0 else max(width - hang - SCRIPT_MARK, width // 4)  # a deep line still goes on
        if n - i <= room:
            return 1, 0.0, ()
        options = [(j, breaks[j]) for j in breaks if i < j <= i + room] or [(i + room, 1000.0)]
        found = []
        for j, cost in options:
            pieces, rest, cuts = best(j)
            found.append((pieces + 1, cost + rest - j / 1000, (j, *cuts)))
        return min(found)

    cuts = (0, *best(0)[2], n)
    return ScriptLine(tuple(line[a:b] for a, b in zip(cuts, cuts[1:])), hang)


SPREAD_LINES = 140  # printed lines of script two columns under its heading hold on a page (6.8 pt, 1.15)


def _script_spreads(script: str) -> tuple[tuple[tuple[ScriptLine, ...], ...], ...]:
    """The script in spreads of two columns, each spread at most a page: a spread cannot break (its columns
    are inline blocks), and an 8-unit network's script, longer than a page, left its heading alone on one."""
    if not script.strip():
        return ()
    lines = script.rstrip().split("\n")
    printed = [_script_line(line) for line in lines]
    spreads, start, used = [], 0, 0
    for k, line in enumerate(printed):
        if used + len(line.pieces) > SPREAD_LINES and k > start:
            # at the last blank line of this spread's second half, when there is one
            blank = [j for j in range(k - 1, start + (k - start) // 2, -1) if not lines[j - 1].strip()]
            cut = blank[0] if blank else k
            spreads.append(_script_columns(lines[start:cut], printed[start:cut]))
            start, used = cut, sum(len(p.pieces) for p in printed[cut:k])
        used += len(line.pieces)
    spreads.append(_script_columns(lines[start:], printed[start:]))
    return tuple(spread for spread in spreads if spread)


def _script_columns(lines: list[str], printed: list[ScriptLine]) -> tuple[tuple[ScriptLine, ...], ...]:
    """Lines in two columns of about the same printed height (a long line goes on under itself). Two
    columns side by side cost WeasyPrint a tenth of what CSS columns do, which it balances by trial."""
    heights = [len(line.pieces) for line in printed]
    total = sum(heights)

    def imbalance(k: int) -> int:
        return abs(2 * sum(heights[:k]) - total)

    # after a blank line, between two blocks of code, when that keeps the columns within a sixth of each other
    blank = [k for k in range(1, len(lines)) if not lines[k - 1].strip()]
    k = min(blank or range(len(lines) + 1), key=imbalance)
    if imbalance(k) > total / 6:
        k = min(range(len(lines) + 1), key=imbalance)
    columns = []
    for column in (printed[:k], printed[k:]):
        while column and not column[-1].text.strip():  # the blank line between the two blocks ends neither
            column = column[:-1]
        if column:
            columns.append(tuple(column))
    return tuple(columns)


def _given_split(given: tuple[Given, ...]) -> int:
    """Where the Given table splits into two columns of about equal height; 0 (one column) when the
    table is short or no split fits: a half's labels and values are columns, so a half is as wide as
    its widest label and its widest value together (mazur's loss beside "learning rate η" wrapped
    inside (ŷ₂ − y₂)² when only each row's own width was counted)."""
    if len(given) < 6:
        return 0
    labels = [_markup_mm(g.label) + 4 for g in given]
    values = [g.width_mm - label for g, label in zip(given, labels)]

    def fits(rows: range) -> bool:
        return max(labels[i] for i in rows) + max(values[i] for i in rows) <= GIVEN_COLUMN_MM

    heights = [g.height + 0.4 for g in given]
    total = sum(heights)
    splits = [k for k in range(1, len(given)) if fits(range(k)) and fits(range(k, len(given)))]
    return min(splits, key=lambda k: abs(2 * sum(heights[:k]) - total), default=0)


def _notation(spec: Spec, formulas: bool = True) -> tuple[Markup, ...]:
    """What the symbols mean; with `formulas`, also how δ gives the gradients (a sheet that hides
    the formulas leaves that to the student)."""
    w = symbol_html("w^{(l)}_{ij}")
    z, a, b, d = (symbol_html(f"{c}^{{(l)}}_{{i}}") for c in ("z", "a", "b", r"\delta"))
    items = [
        f"{w}: the weight from input <i>j</i> of layer <i>l</i> to its unit <i>i</i> "
        "(PyTorch's <code>weight[i][j]</code>); "
        f"{b}: the bias of unit <i>i</i>.",
        f"{z} = Σ<sub><i>j</i></sub> {w}·{symbol_html('a^{(l-1)}_{j}')} + {b}: the unit's input, "
        f"with {symbol_html('a^{(0)}_{j}')} = {symbol_html('x_{j}')}; {a} = <i>f</i>({z}): its output; "
        "the last layer's outputs are <i>ŷ</i>.",
        f"{d} = ∂<i>L</i>/∂{z}: how the loss changes with the unit's input, carried back from the output"
        + (f"; then ∂<i>L</i>/∂{w} = {d}·{symbol_html('a^{(l-1)}_{j}')} and ∂<i>L</i>/∂{b} = {d}."
           if formulas else "."),
    ]
    if len(spec.x) > 1:
        items.append("A superscript [<i>s</i>] names sample <i>s</i> of the batch.")
    return tuple(Markup(item) for item in items)


def _checks(sol: Solution, snapshots: tuple[Snapshot, ...], dec: int) -> tuple[CheckBlock, ...]:
    """The worksheet's numbers beside PyTorch's float32 printout, iteration by iteration."""
    blocks = []
    spec = sol.spec

    def agree(ours, theirs) -> bool:
        import numpy as np

        a = np.array([float(v) for v in _flatten(ours)])
        b = np.asarray(theirs, dtype=float).ravel()
        # float32 carries about 7 digits
        return bool(np.all(np.abs(a - b) <= 1e-5 * np.maximum(1.0, np.abs(a))))

    def ours_text(values) -> str:
        return ", ".join(format_decimal(v, dec) for v in _flatten(values))

    for step, snap, after in zip(sol.steps, snapshots, snapshots[1:]):
        rows = [CheckRow(Markup("loss <i>L</i>"), format_tensor(_np(snap.loss)), ours_text((step.loss,)),
                         agree((step.loss,), snap.loss))]
        out = step.output if spec.batched else step.output[0]
        rows.append(CheckRow(Markup("output <i>ŷ</i>"), format_tensor(snap.outputs[-1]), ours_text(out),
                             agree(out, snap.outputs[-1])))
        for group in spec.group_names:
            label = f"<i>{group[0]}</i><sup>({group[1:]})</sup>"
            if group in step.grads:
                rows.append(CheckRow(Markup(f"∂<i>L</i>/∂{label}"), format_tensor(snap.grads[group]),
                                     ours_text(step.grads[group]), agree(step.grads[group], snap.grads[group])))
        for group in spec.group_names:
            label = f"<i>{group[0]}</i><sup>({group[1:]})</sup>"
            rows.append(CheckRow(Markup(f"{label} after the update"), format_tensor(after.params[group]),
                                 ours_text(step.updated[group]), agree(step.updated[group], after.params[group])))
        blocks.append(CheckBlock(f"Step {step.number} = PyTorch's iteration {snap.iteration}", tuple(rows)))
    return tuple(blocks)


def _np(value):
    import numpy as np

    return np.float32(value)


def _flatten(values) -> list:
    if isinstance(values, tuple):
        return [v for item in values for v in _flatten(item)]
    return [values]


def build(sol: Solution, snapshots: tuple[Snapshot, ...], options: Options = Options(),
          torch_script: str = "", marking: Marking | None = None) -> Document:
    """The worksheet's content; `snapshots` is the float32 trace for iterations 0..N (N ≥ steps).
    With a `marking`, a blank sheet carries the student's answers, each box marked."""
    spec = sol.spec
    if options.paper not in PAPER:
        raise ValueError(f"paper {options.paper!r}: expected one of {', '.join(PAPER)}")
    b = _Builder(sol, options, marking)
    derivation, refs = b.derivation()
    if not options.formulas:
        derivation = ()
    parts = tuple(b.part(step, refs) for step in sol.steps)
    shape = "-".join(str(n) for n in (spec.inputs, *(layer.units for layer in spec.layers)))
    acts = ", ".join(ACTIVATION_NAMES[layer.activation] for layer in spec.layers)
    summary = (f"A {shape} network ({acts}). Work out the forward pass, the loss, backpropagation and "
               f"{spec.steps} SGD update{'s' if spec.steps > 1 else ''} by hand.")
    if not options.blank:  # how the key computed; the sheet's instructions say how a student writes numbers
        summary += f" Arithmetic: {arithmetic_text(sol)}, shown to {precision_text(options.decimals)}."
    note = ("The same equations hold for every sample s of the batch; they are written once, for sample 1."
            if len(spec.x) > 1 else "")
    marked = [(step.number - 1, step.loss) for step in sol.steps]
    return Document(
        title=spec.title, course=spec.course, instructor=spec.instructor, due=spec.due,
        blank=options.blank, paper=options.paper, rhs_mm=b.rhs_mm,
        decimals=options.decimals, summary=summary,
        given=(given := given_rows(spec, sol, options.decimals, b.html)), given_split=_given_split(given),
        network=Markup(network_svg(spec, options.decimals)),
        version=fingerprint(spec), points=_points(spec),
        instructions=tuple(p.strip() for p in (spec.instructions or DEFAULT_INSTRUCTIONS).split("\n\n") if p.strip()),
        notation=_notation(spec, options.formulas),
        conventions=conventions(spec, notation=False, rules=options.formulas),
        derivation_note=note, derivation=derivation, parts=parts,
        checks=_checks(sol, snapshots, options.decimals),
        loss_plot=Markup(loss_svg([s.loss for s in snapshots], marked, options.decimals)),
        iterations=len(snapshots) - 1, torch_script=torch_script, script_spreads=_script_spreads(torch_script),
        boxes=tuple(b.boxes),
        marking=_marking_lines(marking, options.decimals, sol.exact) if marking is not None else (),
        student_name=_one_line(options.student_name), student_id=_one_line(options.student_id),
    )


def _marking_lines(marking: Marking, decimals: int, exact: bool) -> tuple[str, ...]:
    first = marking.first_wrong
    return (summary(marking),) + ((first_wrong_text(first, decimals, exact),) if first is not None else ())
