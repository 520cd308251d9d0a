"""Moodle export: a question bank in Moodle XML, one Cloze (embedded answers) question per problem.

Contract: pure. `moodle_xml(questions, parts, partial, category)` takes (name, Solution)
pairs and returns the text of a Moodle XML file (`<quiz>`): for each pair one
`<question type="cloze">` whose HTML text states the problem (title, what to
work out, the network's picture, the Given table) and then asks every
quantity a student computes (`quantities`; or only those of `parts`, the
answers file's parts), in the worksheet's order, a table per step and section
(a part, or the update as one, `quiz.section_of`) headed once, each row
labelled with its stable name and its words and answered in a box
`{1:NUMERICAL:=value:tolerance}`.

The format is as Moodle's importer (question/format/xml) reads it: the
question's `name/text`, `questiontext format="html"` with its `text` and the
picture as a `<file name="network.svg" path="/" encoding="base64">` the text
points at with `@@PLUGINFILE@@/network.svg` (Moodle's own way: the file is
stored with the question, shown by any browser, and survives the question
being edited, where an inline <svg> might not), `generalfeedback`, `penalty`
and `hidden`. A Cloze question's mark is the sum of its boxes' weights (1 each).

Cloze syntax (question/type/multianswer): a box is `{weight:TYPE:alternatives}`,
alternatives split by `~`, each `=` (full credit) or `%n%` then the answer,
then `#feedback`; a NUMERICAL answer is `number:tolerance`, the tolerance
absolute, with a decimal point. The importer finds boxes anywhere in the
text, so every `{` and `}` of the text itself is written as an HTML character
reference (`&#123;`), which the browser shows as the brace and the Cloze
parser never sees; feedback, which Moodle decodes once as HTML entities, has
`{ } ~ # \\` written the same way. Characters outside Unicode's basic plane
(the worksheet's math italic 𝑥, 𝑦) are written as references too, so a site
whose database stores 3-byte UTF-8 only takes them.

The tolerance: the checker marks right an answer within half a unit of its
last decimal of the exact value or of the value a student gets who rounds
every number to the decimals written as they go (`check.rounded_chain`), and
the sheet asks for 4 decimals. Moodle compares with one value and an
absolute tolerance, so each box's tolerance is half a unit of the 4th decimal
plus that box's own rounding drift (the farthest of `check.rounded_chains`,
as `quiz.tolerances` computes it), rounded up to 2 significant digits: a student who
works correctly to 4 decimals and carries their own rounded numbers on is
marked right, and nobody is given more room than the rounding accounts for.
With `partial` (percent), a second answer with the same allowance at 2
decimals (the fewest the checker holds a number to) earns that share.
"""

from __future__ import annotations

import base64
import html
import re
import unicodedata
from collections.abc import Iterable, Sequence
from decimal import Decimal
from fractions import Fraction

from ..check import MIN_DECIMALS
from ..quantities import Quantity
from ..solve import Solution
from .quiz import (
    CELL,
    DECIMALS,
    asked,
    number_text,
    picture,
    section_heading,
    section_of,
    sheet_line,
    statement,
    tolerances,
    xml_text,
)

__all__ = ["box", "feedback_text", "moodle_xml", "number_text", "question_name", "question_text", "safe_markup",
           "safe_text", "tolerances"]

PENALTY = "0.3333333"  # Moodle's default: a third of a box's mark per retry, in an interactive quiz
PICTURE = "network.svg"
DEFAULT_NAME = "worksheet"
_NAME_LIMIT = 255  # Moodle's question name column


# -- text ------------------------------------------------------------------------

_ASTRAL = re.compile("[\U00010000-\U0010ffff]")


def _xml(text: str) -> str:
    """Plain text as XML character data (a question's name)."""
    return html.escape(xml_text(text), quote=False)


def _cdata(markup: str) -> str:
    """HTML inside a CDATA section, as Moodle writes it; a ']]>' in it is split across two."""
    return "<![CDATA[" + xml_text(markup).replace("]]>", "]]]]><![CDATA[>") + "]]>"


def safe_markup(markup: str) -> str:
    """HTML the Cloze parser reads as text only: braces and characters beyond the basic plane as
    character references (a browser shows the same characters)."""
    markup = markup.replace("{", "&#123;").replace("}", "&#125;")
    return _ASTRAL.sub(lambda m: f"&#x{ord(m.group()):X};", markup)


def safe_text(text: str) -> str:
    """Plain text as HTML the Cloze parser reads as text only."""
    return safe_markup(html.escape(text, quote=True))


_FEEDBACK = str.maketrans({"{": "&#123;", "}": "&#125;", "~": "&#126;", "#": "&#35;", "\\": "&#92;"})


def feedback_text(text: str) -> str:
    """Plain text as a Cloze answer's feedback. Moodle cuts the feedback at an unescaped `~` or `}`,
    then decodes HTML entities once and shows the result as HTML: so the text is HTML-escaped, its
    '&'s escaped once more, and the Cloze characters written as references."""
    return _ASTRAL.sub(lambda m: f"&#x{ord(m.group()):X};",
                       html.escape(text, quote=False).replace("&", "&amp;").translate(_FEEDBACK))


def question_name(name: str) -> str:
    """A question's name as plain text on one line: compatibility forms for characters beyond the
    basic plane (𝑥 as x), at most Moodle's 255 characters."""
    name = _ASTRAL.sub(lambda m: unicodedata.normalize("NFKC", m.group()), name)
    name = " ".join(xml_text(name).split())
    return name[:_NAME_LIMIT] or DEFAULT_NAME


# -- the question text ---------------------------------------------------------------

def box(value: Fraction, tolerance: Decimal, partial: int = 0, wide: Decimal | None = None) -> str:
    """A NUMERICAL box worth 1 mark: full credit within `tolerance` of the value, and with `partial`
    that percentage within `wide`."""
    answers = f"={number_text(value)}:{number_text(tolerance, 12)}"
    if partial and wide is not None:
        note = feedback_text(f"Close, but not to {DECIMALS} decimals: write at least {DECIMALS}, rounded half up.")
        answers += f"~%{partial}%{number_text(value)}:{number_text(wide, 12)}#{note}"
    return f"{{1:NUMERICAL:{answers}}}"


def _boxes(sol: Solution, asked: Sequence[Quantity], partial: int) -> str:
    tol = tolerances(sol, DECIMALS)
    wide = tolerances(sol, MIN_DECIMALS) if partial else {}
    out: list[str] = []
    group: tuple[int, str] | None = None  # (step, section) of the table being written
    for q in asked:
        here = (q.step, section_of(q))
        if here != group:
            if group is not None:
                out.append("</tbody></table>")
            if group is None or group[0] != q.step:
                out.append(f"<h4>Step {q.step}</h4>")
            out.append(f"<p><b>{safe_text(section_heading(here[1]))}</b></p>"
                       '<table style="border-collapse:collapse"><tbody>')
            group = here
        out.append(f'<tr><td style="{CELL}"><code>{safe_text(q.name)}</code></td>'
                   f'<td style="{CELL}">{safe_text(q.words)}</td>'
                   f'<td style="{CELL}">{box(q.value, tol[q.key], partial, wide.get(q.key))}</td></tr>')
    if group is not None:
        out.append("</tbody></table>")
    return "".join(out)


def question_text(sol: Solution, parts: Iterable[str] | None = None, partial: int = 0) -> tuple[str, str]:
    """A question's HTML (with its Cloze boxes) and its picture file's content (base64)."""
    pic = picture(sol)
    # the statement is plain HTML: its braces become references before any box is added
    head = safe_markup(statement(sol, pic.img(f"@@PLUGINFILE@@/{PICTURE}")))
    return (head + "\n" + _boxes(sol, asked(sol, parts), partial) + "\n" + safe_markup(sheet_line(sol)),
            base64.b64encode(pic.svg).decode("ascii"))


# -- the file --------------------------------------------------------------------------

def _question(name: str, sol: Solution, parts: Iterable[str] | None, partial: int) -> str:
    text, picture = question_text(sol, parts, partial)
    return (
        '  <question type="cloze">\n'
        f"    <name>\n      <text>{_xml(question_name(name))}</text>\n    </name>\n"
        '    <questiontext format="html">\n'
        f"      <text>{_cdata(text)}</text>\n"
        f'      <file name="{PICTURE}" path="/" encoding="base64">{picture}</file>\n'
        "    </questiontext>\n"
        '    <generalfeedback format="html">\n      <text></text>\n    </generalfeedback>\n'
        f"    <penalty>{PENALTY}</penalty>\n"
        "    <hidden>0</hidden>\n"
        "  </question>\n"
    )


def _category(path: str) -> str:
    full = path if path.startswith("$") else f"$course$/top/{path}"
    return ('  <question type="category">\n'
            f"    <category>\n      <text>{_xml(full)}</text>\n    </category>\n"
            '    <info format="html">\n      <text></text>\n    </info>\n'
            "  </question>\n")


def moodle_xml(questions: Iterable[tuple[str, Solution]], parts: Iterable[str] | None = None,
               partial: int = 0, category: str = "") -> str:
    """A Moodle XML question bank: one Cloze question per (name, solution), in the order given;
    with `category`, a category element first, which Moodle creates and imports them into."""
    if not 0 <= partial < 100:
        raise ValueError(f"partial credit {partial}%: give 0 (none) to 99")
    parts = tuple(parts) if parts is not None else None
    body = "".join(_question(name, sol, parts, partial) for name, sol in questions)
    head = _category(category) if category else ""
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<quiz>\n{head}{body}</quiz>\n'
