"""Moodle export: a question bank in Moodle XML, one Cloze (embedded answers) question per problem.

Contract: pure. `moodle_xml(questions, parts, partial, category)` takes (name, Solution)
pairs and returns the text of a Moodle XML file (`<quiz>`): for each pair one
`<question type="cloze">` whose HTML text states the problem (title, what to
work out, the network's picture, the Given table) and then asks every
quantity a student computes (`quantities`; or only those of `parts`, the
answers file's parts), in the worksheet's order, each labelled with its
stable name and its words and answered in a box `{1:NUMERICAL:=value:tolerance}`.

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
plus that box's own rounding drift (the farther of rounding each number, and
rounding each product too), rounded up to 2 significant digits: a student who
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
from decimal import ROUND_CEILING, Decimal, localcontext
from fractions import Fraction

from ..check import MIN_DECIMALS, rounded_chain
from ..document import _given
from ..figures import network_svg
from ..notation import ACTIVATION_NAMES, HtmlPrinter, round_half_up
from ..quantities import Quantity, quantities
from ..solve import Solution
from ..spec import PARTS, POINT_NAMES, fingerprint

DECIMALS = 4  # the decimals the sheet asks for
VALUE_DECIMALS = 10  # the key's value as written in a box: far inside any tolerance
PENALTY = "0.3333333"  # Moodle's default: a third of a box's mark per retry, in an interactive quiz
PICTURE = "network.svg"
DEFAULT_NAME = "worksheet"
_NAME_LIMIT = 255  # Moodle's question name column


# -- numbers -------------------------------------------------------------------

def number_text(value: Fraction | Decimal, decimals: int = VALUE_DECIMALS) -> str:
    """A value as a Cloze answer reads it: plain decimal digits, a point, a leading '-' (no
    exponent, no Unicode minus); rounded half up to `decimals`, trailing zeros dropped."""
    d = round_half_up(value if isinstance(value, Fraction) else Fraction(value), decimals)
    text = format(d, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _round_up(value: Fraction, digits: int = 2) -> Decimal:
    """`value` (> 0) rounded up to `digits` significant digits."""
    with localcontext() as ctx:
        ctx.prec = 60
        d = Decimal(value.numerator) / Decimal(value.denominator)
        return d.quantize(Decimal(1).scaleb(d.adjusted() - digits + 1), rounding=ROUND_CEILING)


def tolerances(sol: Solution, decimals: int = DECIMALS) -> dict[str, Decimal]:
    """Each quantity's tolerance (by key) for answers written to `decimals`: half a unit of the
    last decimal plus how far rounding as you go moves it, rounded up to 2 significant digits."""
    half = Fraction(1, 2 * 10**decimals)
    chains = [rounded_chain(sol, decimals, terms) for terms in (False, True)]
    out = {}
    for q in quantities(sol):
        drift = max((abs(c[q.key] - q.value) for c in chains if c.get(q.key) is not None), default=Fraction(0))
        out[q.key] = _round_up(half + drift)
    return out


# -- text ------------------------------------------------------------------------

_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
_ASTRAL = re.compile("[\U00010000-\U0010ffff]")


def _xml(text: str) -> str:
    """Plain text as XML character data (a question's name)."""
    return html.escape(_XML_INVALID.sub("", text), quote=False)


def _cdata(markup: str) -> str:
    """HTML inside a CDATA section, as Moodle writes it; a ']]>' in it is split across two."""
    return "<![CDATA[" + _XML_INVALID.sub("", markup).replace("]]>", "]]]]><![CDATA[>") + "]]>"


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
    name = " ".join(_XML_INVALID.sub("", name).split())
    return name[:_NAME_LIMIT] or DEFAULT_NAME


# -- the question text ---------------------------------------------------------------

# the worksheet's stylesheet classes, as inline styles: Moodle's page has none of them
_STYLES = {
    "matrix": "border-collapse:collapse;display:inline-table;vertical-align:middle;margin:2px 0",
    "lb": "border:1px solid #333;border-right:none;width:3px;padding:0",
    "rb": "border:1px solid #333;border-left:none;width:3px;padding:0",
    "frac": "display:inline-block;vertical-align:middle;text-align:center",
    "n": "display:block;border-bottom:1px solid;padding:0 2px",
    "d": "display:block;padding:0 2px",
}
_CLASS = re.compile(r' class="([^"]*)"')
_CELL = "padding:2px 8px;vertical-align:middle"


def _inline_styles(markup: str) -> str:
    markup = _CLASS.sub(lambda m: f' style="{_STYLES[m.group(1)]}"' if m.group(1) in _STYLES else "", markup)
    return markup.replace("<td>", '<td style="padding:1px 6px;text-align:right">')


def _given_table(sol: Solution) -> str:
    printer = HtmlPrinter(sol.derivation.symbols, DECIMALS, fractions=True)
    rows = "".join(f'<tr><th style="{_CELL};text-align:left;font-weight:normal">{g.label}</th>'
                   f'<td style="{_CELL}">{_inline_styles(str(g.value))}</td></tr>'
                   for g in _given(sol.spec, sol, DECIMALS, printer))
    return ("<p><b>Given</b> (a weight matrix <i>W</i><sup>(<i>l</i>)</sup>: row <i>i</i> = unit, "
            f"column <i>j</i> = input)</p><table style=\"border-collapse:collapse\"><tbody>{rows}</tbody></table>")


def _shape(sol: Solution) -> str:
    spec = sol.spec
    return "-".join(str(n) for n in (spec.inputs, *(layer.units for layer in spec.layers)))


def _summary(sol: Solution) -> str:
    spec = sol.spec
    acts = ", ".join(ACTIVATION_NAMES[layer.activation] for layer in spec.layers)
    updates = f"{spec.steps} SGD update{'s' if spec.steps > 1 else ''}"
    return (f"A {_shape(sol)} network ({acts}). Work out the forward pass, the loss, backpropagation and "
            f"{updates} by hand, and type each number asked for below.")


INSTRUCTIONS = (
    f"Type each number with at least {DECIMALS} decimals, rounded half up, with a decimal point "
    "(a fraction such as 7/2 is typed 3.5), and carry on with the numbers you wrote: rounding as you go "
    "is allowed for. Each box is marked on its own against the key, so a number computed from an "
    "earlier wrong one is marked wrong too."
)


def _picture(sol: Solution) -> tuple[str, str]:
    """The <img> of the network and its file's content (base64)."""
    svg = network_svg(sol.spec, DECIMALS)
    size = re.search(r'width="([\d.]+)" height="([\d.]+)"', svg)
    width, height = (size.group(1), size.group(2)) if size else ("480", "240")
    spec = sol.spec
    layers = ", ".join(f"{layer.units} ({ACTIVATION_NAMES[layer.activation]})" for layer in spec.layers)
    alt = (f"The {_shape(sol)} network: {spec.inputs} input{'s' if spec.inputs > 1 else ''}, then layers of "
           f"{layers} units, each connection labelled with its weight where there is room (else see Given)")
    img = (f'<p><img src="@@PLUGINFILE@@/{PICTURE}" alt="{html.escape(alt)}" width="{width}" height="{height}" '
           'style="max-width:100%;height:auto"></p>')
    data = ('<?xml version="1.0" encoding="UTF-8"?>\n' + svg + "\n").encode("utf-8")
    return img, base64.b64encode(data).decode("ascii")


def _part_of(kind: str) -> str:
    return next(part for part, kinds in PARTS.items() if kind in kinds)


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
    group: tuple[int, str] | None = None
    for q in asked:
        here = (q.step, _part_of(q.kind))
        if here != group:
            if group is not None:
                out.append("</tbody></table>")
            if group is None or group[0] != q.step:
                out.append(f"<h4>Step {q.step}</h4>")
            heading = POINT_NAMES[here[1]]
            out.append(f"<p><b>{safe_text(heading[:1].upper() + heading[1:])}</b></p>"
                       '<table style="border-collapse:collapse"><tbody>')
            group = here
        out.append(f'<tr><td style="{_CELL}"><code>{safe_text(q.name)}</code></td>'
                   f'<td style="{_CELL}">{safe_text(q.words)}</td>'
                   f'<td style="{_CELL}">{box(q.value, tol[q.key], partial, wide.get(q.key))}</td></tr>')
    if group is not None:
        out.append("</tbody></table>")
    return "".join(out)


def asked(sol: Solution, parts: Iterable[str] | None = None) -> tuple[Quantity, ...]:
    """The quantities a question asks for: all, or those of `parts` (spec.PARTS names)."""
    qs = quantities(sol)
    if parts is None:
        return qs
    kinds = {k for p in parts for k in PARTS[p]}
    return tuple(q for q in qs if q.kind in kinds)


def question_text(sol: Solution, parts: Iterable[str] | None = None, partial: int = 0) -> tuple[str, str]:
    """A question's HTML (with its Cloze boxes) and its picture file's content (base64)."""
    spec = sol.spec
    img, picture = _picture(sol)
    about = [t for t in (spec.course, spec.instructor, spec.due and f"due {spec.due}") if t]
    head = [f"<h3>{safe_text(spec.title)}</h3>"]
    if about:
        head.append(f"<p>{safe_text(' · '.join(about))}</p>")
    head += [f"<p>{safe_text(_summary(sol))}</p>", img, safe_markup(_given_table(sol)),
             f"<p>{safe_text(INSTRUCTIONS)}</p>"]
    tail = f'<p style="font-size:small;color:#555">Sheet {safe_text(fingerprint(spec))}</p>'
    return "\n".join(head) + "\n" + _boxes(sol, asked(sol, parts), partial) + "\n" + tail, picture


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
