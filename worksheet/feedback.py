"""Feedback stage: a `Marking` in, the marker's report out.

Contract: `print_marking(marking, console, decimals, exact)` writes only to
the rich `Console` it is given: first the first wrong quantity in the order
the computation runs (with the expected value, the value that follows from
the student's own numbers, and the mistake where one is named), then the
score, then every quantity with its verdict. `marking_json(marking, …)` is
the same marking as plain data (what `check --json` prints, and what a
gradebook or a web page builds on).
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from rich.console import Console
from rich.table import Table
from rich.text import Text

from .check import MACHINE_DIGITS, Mark, Marking, significant_digits
from .export import exact_text
from .notation import format_decimal, value_text
from .report import emit
from .spec import POINT_NAMES

STYLE = {"right": "green", "carried": "yellow", "wrong": "bold red", "missing": "dim"}
LABEL = {"right": "right", "carried": "carried forward", "wrong": "wrong", "missing": "missing"}


def _number(n) -> str:
    """A score: 12, 8.5, 2.67 (points shared over a part's quantities rarely come out whole)."""
    return str(int(n)) if n == int(n) else f"{float(n):.2f}".rstrip("0").rstrip(".")


# a machine-written number is shown to the decimals the sheet asks for (or 4 significant digits) and
# an ellipsis: one character more than the key's number, which its box is sized for, with room for a sign
SHOWN_DECIMALS = 4


def shown(written: str, cut: bool = True) -> str:
    """A student's number as the worksheet prints numbers: with a true minus sign. One pasted from a
    computer (`check.machine_written`: −0.7000000000000001) is rounded (half up) to its 4th decimal,
    or its 4th significant digit if that comes later, with an ellipsis for the digits written beyond
    (−0.7000…, and 1.1500… for 1.1499999999999999, which cut would show as a wrong-looking 1.1499…):
    it then fits its box on the marked sheet and a column of the report, and the digits it loses are
    noise the marking ignores too. `cut` False (a sentence, which wraps) and `--json` keep the whole
    number."""
    text = written.strip()
    if cut and "." in text and significant_digits(text) > MACHINE_DIGITS:
        value = Decimal(text)
        keep = max(SHOWN_DECIMALS, 3 - value.adjusted())
        if len(text) - text.index(".") - 1 > keep:
            rounded = value.quantize(Decimal(1).scaleb(-keep), rounding=ROUND_HALF_UP)
            if rounded and rounded.adjusted() > value.adjusted():  # 0.09999… came to 0.1000…, not 0.10000…
                keep = max(SHOWN_DECIMALS, 3 - rounded.adjusted())
                rounded = value.quantize(Decimal(1).scaleb(-keep), rounding=ROUND_HALF_UP)
            text = f"{rounded:f}…"
    return text.replace("-", "−")


def summary(marking: Marking) -> str:
    c = marking.counts
    text = (f"Score {_number(marking.score)} of {_number(marking.points)}: "
            f"{c['right']} right, {c['carried']} carried forward, {c['wrong']} wrong, {c['missing']} missing.")
    if marking.part_points:
        text += " Points: " + ", ".join(f"{POINT_NAMES[name]} {_number(score)} of {_number(points)}"
                                        for name, score, points in marking.by_part()) + "."
    return text


def your_numbers(mark: Mark) -> str:
    """'a3_1 = 4.6, dL_dyhat1 = 3.9 and 2 more': the student's answers a mark follows from."""
    def named(key: str, text: str) -> str:
        step, name = key.split(".", 1)
        return f"{name} = {shown(text)}" + (f" ({step[:4]} {step[4:]})" if step != f"step{mark.quantity.step}" else "")

    names = ", ".join(named(k, t) for k, t in zip(mark.follows[:3], mark.follows_written))
    return names + (f" and {len(mark.follows) - 3} more" if len(mark.follows) > 3 else "")


def from_yours_text(mark: Mark, decimals: int) -> str:
    """'−0.1477 follows from your a3_1 = 0.8523': what the student's own earlier numbers give."""
    if mark.from_yours is None or not mark.follows:
        return ""
    return f"{format_decimal(mark.from_yours, decimals)} follows from your {your_numbers(mark)}"


def note_text(mark: Mark) -> str:
    """What the report says beside a mark: the mistake, or what a carried answer follows from."""
    if mark.verdict == "carried":
        return f"right from your {your_numbers(mark)}"
    return mark.note


def first_wrong_text(mark: Mark, decimals: int, exact: bool) -> str:
    q = mark.quantity
    text = (f"First wrong: step {q.step}, {q.name} ({q.words}): you wrote {shown(mark.answer.text, cut=False)}, "
            f"expected {value_text(q.value, decimals, exact)}")
    own = from_yours_text(mark, decimals)
    text += f" ({own})." if own else "."
    if mark.mistake:
        text += f" It looks as if {mark.note}."
    elif mark.note:
        text += f" {mark.note[0].upper()}{mark.note[1:]}."
    return text


def print_marking(marking: Marking, console: Console, decimals: int = 4, exact: bool = True) -> None:
    first = marking.first_wrong
    if first is not None:
        emit(console, Text(first_wrong_text(first, decimals, exact), style="bold"))
    elif marking.counts["missing"] == marking.out_of:
        emit(console, Text("No answers given yet.", style="bold"))
    elif marking.counts["missing"]:  # "Nothing is wrong." above "37 missing" read as all done
        emit(console, Text("Nothing you wrote is wrong; some boxes are still empty.", style="bold green"))
    else:
        emit(console, Text("Nothing is wrong.", style="bold green"))
    emit(console, summary(marking))
    table = Table(box=None, pad_edge=False, show_edge=False, header_style="bold")
    for head, justify in (("step", "right"), ("quantity", "left"), ("yours", "right"), ("verdict", "left"),
                          ("expected", "right"), ("note", "left")):
        table.add_column(head, justify=justify, overflow="fold")
    for m in marking.marks:
        q = m.quantity
        expected = value_text(q.value, decimals, exact) if m.verdict in ("wrong", "missing") else ""
        note = "; ".join(part for part in (from_yours_text(m, decimals) if m.verdict == "wrong" else "", note_text(m))
                         if part)
        table.add_row(str(q.step), q.name, shown(m.answer.text) if m.answer else "",
                      Text(LABEL[m.verdict], style=STYLE[m.verdict]), expected, note)
    emit(console, table)


def marking_json(marking: Marking, decimals: int = 4, exact: bool = True) -> dict:
    """The marking as JSON-ready data: per quantity, the first wrong, the score."""
    first = marking.first_wrong
    rows = []
    for m in marking.marks:
        q = m.quantity
        rows.append({
            "step": q.step, "name": q.name, "key": q.key, "words": q.words,
            "yours": m.answer.text if m.answer else None,
            "verdict": m.verdict,
            "expected": float(q.value), "expected_exact": exact_text(q.value, exact),
            "expected_text": value_text(q.value, decimals, exact),
            "from_yours": float(m.from_yours) if m.from_yours is not None else None,
            "mistake": {"id": m.mistake, "words": m.note, "at": m.at or q.key} if m.mistake else None,
            "note": note_text(m),
            "follows": list(m.follows),
        })
    return {
        "score": float(marking.score), "points": float(marking.points),
        "parts": [{"part": name, "score": float(score), "points": float(points)}
                  for name, score, points in marking.by_part()],
        "counts": marking.counts,
        "first_wrong": first.quantity.key if first is not None else None,
        "quantities": rows,
    }
