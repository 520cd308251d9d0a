"""Feedback stage: a `Marking` in, the marker's report for a terminal out.

Contract: `print_marking(marking, console, decimals, exact)` writes only to
the rich `Console` it is given: first the first wrong quantity in the order
the computation runs (with the expected value and the mistake where one
is named), then the score, then every quantity with its verdict.
"""

from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text

from .check import Mark, Marking
from .notation import value_text

STYLE = {"right": "green", "carried": "yellow", "wrong": "bold red", "missing": "dim"}
LABEL = {"right": "right", "carried": "carried forward", "wrong": "wrong", "missing": "missing"}


def _number(n) -> str:
    return str(int(n)) if n == int(n) else f"{float(n):g}"


def summary(marking: Marking) -> str:
    c = marking.counts
    return (f"Score {_number(marking.score)} of {_number(marking.out_of * max(marking.weights.values()))}: "
            f"{c['right']} right, {c['carried']} carried forward, {c['wrong']} wrong, {c['missing']} missing.")


def first_wrong_text(mark: Mark, decimals: int, exact: bool) -> str:
    q = mark.quantity
    text = (f"First wrong: step {q.step}, {q.name} ({q.words}): you wrote {mark.answer.text}, "
            f"expected {value_text(q.value, decimals, exact)}.")
    if mark.note:
        text += f" It looks as if {mark.note}."
    return text


def print_marking(marking: Marking, console: Console, decimals: int = 4, exact: bool = True) -> None:
    first = marking.first_wrong
    if first is not None:
        console.print(Text(first_wrong_text(first, decimals, exact), style="bold"))
    elif marking.counts["missing"] == marking.out_of:
        console.print(Text("No answers given yet.", style="bold"))
    else:
        console.print(Text("Nothing is wrong.", style="bold green"))
    console.print(summary(marking))
    table = Table(box=None, pad_edge=False, show_edge=False, header_style="bold")
    for head, justify in (("step", "right"), ("quantity", "left"), ("yours", "right"), ("verdict", "left"),
                          ("expected", "right"), ("note", "left")):
        table.add_column(head, justify=justify, overflow="fold")
    for m in marking.marks:
        q = m.quantity
        expected = value_text(q.value, decimals, exact) if m.verdict in ("wrong", "missing") else ""
        table.add_row(str(q.step), q.name, m.answer.text if m.answer else "",
                      Text(LABEL[m.verdict], style=STYLE[m.verdict]), expected, m.note)
    console.print(table)
