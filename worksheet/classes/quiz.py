"""A solved problem as an online quiz: what every learning platform's export shares.

Contract: pure. The pieces an export (`moodle`, `canvas`) builds its questions
from, each a function of a `Solution`: which quantities are asked (`asked`,
all or those of some of the answers file's parts) under which heading
(`section_of`, `section_heading`: a part, or the update as one section, as the
sheet's update table), each one's value as plain decimal digits
(`number_text`) and its tolerance (`tolerances`), the
problem's statement as HTML (`statement`: title, what to work out, the
network's picture, the Given table, how to type the numbers) with the
picture's SVG (`picture`), and the sheet's version line. The HTML is plain:
text HTML-escaped, the worksheet's stylesheet classes turned into inline
styles (no platform has the stylesheet); a platform that reads more into the
text (Moodle's Cloze braces) escapes that itself.

The tolerance: the checker marks right an answer within half a unit of its
last decimal of the exact value or of the value a student gets who rounds
every number to the decimals written as they go (`check.rounded_chain`), and
the sheet asks for 4 decimals. A platform compares with one value and an
absolute tolerance, so each quantity's tolerance is half a unit of the 4th
decimal plus that quantity's own rounding drift (the farthest of
`check.rounded_chains`: rounding each number, and each product too; every
tie broken each way; a softmax/CE or sigmoid/BCE output δ in the taught form
or by the chain rule), rounded up to 2 significant digits: a
student who works correctly to 4 decimals and carries their own rounded
numbers on is marked right, and nobody is given more room than the rounding
accounts for.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal, localcontext
from fractions import Fraction

from ..check import rounded_chains
from ..document import given_rows
from ..figures import network_svg
from ..notation import ACTIVATION_NAMES, HtmlPrinter, round_half_up
from ..quantities import Quantity, quantities
from ..solve import Solution
from ..spec import PARTS, POINT_NAMES, POINT_PARTS, fingerprint

DECIMALS = 4  # the decimals the sheet asks for
VALUE_DECIMALS = 10  # the key's value as written for a platform: far inside any tolerance


# -- numbers -------------------------------------------------------------------

def number_text(value: Fraction | Decimal, decimals: int = VALUE_DECIMALS) -> str:
    """A value as a quiz's numeric answer: plain decimal digits, a point, a leading '-' (no exponent,
    no Unicode minus); rounded half up to `decimals`, trailing zeros dropped."""
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
    # every chain the checker marks right: a tie in a rounded number (½·(0.4289 − 1) = −0.28555) may go
    # either way, and a softmax/CE or sigmoid/BCE output δ may be worked by the chain rule
    chains = rounded_chains(sol, decimals)
    out = {}
    for q in quantities(sol):
        drift = max((abs(c[q.key] - q.value) for c in chains if c.get(q.key) is not None), default=Fraction(0))
        out[q.key] = _round_up(half + drift)
    return out


# -- what is asked -----------------------------------------------------------------

def asked(sol: Solution, parts: Iterable[str] | None = None) -> tuple[Quantity, ...]:
    """The quantities a quiz asks for: all, or those of `parts` (spec.PARTS names)."""
    qs = quantities(sol)
    if parts is None:
        return qs
    kinds = {k for p in parts for k in PARTS[p]}
    return tuple(q for q in qs if q.kind in kinds)


def part_of(q: Quantity) -> str:
    """The answers file's part a quantity belongs to (forward, loss, … updates)."""
    return next(part for part, kinds in PARTS.items() if q.kind in kinds)


def part_heading(part: str) -> str:
    """A part's name as a heading: 'Forward pass', '∂L/∂ŷ and δ', 'η·gradient'."""
    name = POINT_NAMES[part]
    # only a word is capitalised: a leading symbol is part of the notation (Η·gradient is not η·gradient)
    return name[:1].upper() + name[1:] if name[:1].isascii() and name[:1].isalpha() else name


UPDATE = "update"  # the section holding the update's parts (POINT_PARTS["update"]: momentum, eta, updates)
UPDATE_HEADING = "Update"  # as the sheet heads its update table


def section_of(q: Quantity) -> str:
    """The section of a quiz a quantity is asked in: its part (forward, loss, backward, gradients), or
    UPDATE for the update's parts. The worksheet asks the update parameter by parameter (v, η·g, the new
    value: a row of the sheet's update table), so headed by part it would change heading at every box."""
    return UPDATE if q.kind in POINT_PARTS[UPDATE] else part_of(q)


def section_heading(section: str) -> str:
    """A section's heading: the part's (`part_heading`), or 'Update' as on the sheet."""
    return UPDATE_HEADING if section == UPDATE else part_heading(section)


# -- text ------------------------------------------------------------------------

XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def xml_text(text: str) -> str:
    """Text with the characters XML 1.0 cannot hold (control characters, lone surrogates) left out."""
    return XML_INVALID.sub("", text)


# the worksheet's stylesheet classes, as inline styles: a platform's page has none of them
_STYLES = {
    "matrix": "border-collapse:collapse;display:inline-table;vertical-align:middle;margin:2px 0",
    "lb": "border:1px solid #333;border-right:none;width:3px;padding:0",
    "rb": "border:1px solid #333;border-left:none;width:3px;padding:0",
    "frac": "display:inline-block;vertical-align:middle;text-align:center",
    "n": "display:block;border-bottom:1px solid;padding:0 2px",
    "d": "display:block;padding:0 2px",
}
_CLASS = re.compile(r' class="([^"]*)"')
CELL = "padding:2px 8px;vertical-align:middle"  # a table cell's inline style


def _inline_styles(markup: str) -> str:
    markup = _CLASS.sub(lambda m: f' style="{_STYLES[m.group(1)]}"' if m.group(1) in _STYLES else "", markup)
    return markup.replace("<td>", '<td style="padding:1px 6px;text-align:right">')


def given_table(sol: Solution) -> str:
    """The Given table (inputs, targets, each layer's W and b, the loss, η, momentum, the updates) as HTML."""
    printer = HtmlPrinter(sol.derivation.symbols, DECIMALS, fractions=True)
    rows = "".join(f'<tr><th style="{CELL};text-align:left;font-weight:normal">{g.label}</th>'
                   f'<td style="{CELL}">{_inline_styles(str(g.value))}</td></tr>'
                   for g in given_rows(sol.spec, sol, DECIMALS, printer))
    return ("<p><b>Given</b> (a weight matrix <i>W</i><sup>(<i>l</i>)</sup>: row <i>i</i> = unit, "
            f"column <i>j</i> = input)</p><table style=\"border-collapse:collapse\"><tbody>{rows}</tbody></table>")


def shape(sol: Solution) -> str:
    """The network's shape: 1-2-2-1."""
    spec = sol.spec
    return "-".join(str(n) for n in (spec.inputs, *(layer.units for layer in spec.layers)))


def summary(sol: Solution) -> str:
    """One sentence: the network and what to work out."""
    spec = sol.spec
    acts = ", ".join(ACTIVATION_NAMES[layer.activation] for layer in spec.layers)
    updates = f"{spec.steps} SGD update{'s' if spec.steps > 1 else ''}"
    return (f"A {shape(sol)} network ({acts}). Work out the forward pass, the loss, backpropagation and "
            f"{updates} by hand, and type each number asked for below.")


INSTRUCTIONS = (
    f"Type each number with at least {DECIMALS} decimals, rounded half up, with a decimal point "
    "(a fraction such as 2/3 is typed 0.6667), and carry on with the numbers you wrote: rounding as you go "
    "is allowed for. Each box is marked on its own against the key, so a number computed from an "
    "earlier wrong one is marked wrong too."
)


@dataclass(frozen=True)
class Picture:
    """The network's picture: the SVG file's content, its size and a text for those who cannot see it."""

    svg: bytes
    width: str
    height: str
    alt: str

    def img(self, src: str) -> str:
        """The <img> that shows it from `src`, as a paragraph that shrinks to the page."""
        return (f'<p><img src="{html.escape(src)}" alt="{html.escape(self.alt)}" width="{self.width}" '
                f'height="{self.height}" style="max-width:100%;height:auto"></p>')


def picture(sol: Solution) -> Picture:
    """The network's picture as the worksheet draws it, as a standalone SVG file."""
    svg = network_svg(sol.spec, DECIMALS)
    size = re.search(r'width="([\d.]+)" height="([\d.]+)"', svg)
    width, height = (size.group(1), size.group(2)) if size else ("480", "240")
    spec = sol.spec
    layers = ", ".join(f"{layer.units} ({ACTIVATION_NAMES[layer.activation]})" for layer in spec.layers)
    alt = (f"The {shape(sol)} network: {spec.inputs} input{'s' if spec.inputs > 1 else ''}, then layers of "
           f"{layers} units, each connection labelled with its weight where there is room (else see Given)")
    return Picture(('<?xml version="1.0" encoding="UTF-8"?>\n' + svg + "\n").encode("utf-8"), width, height, alt)


def statement(sol: Solution, img: str) -> str:
    """The problem as HTML: the title (and the spec's course, instructor and due date), what to work
    out, the picture (`img`, the platform's <img> of it), the Given table and how to type the numbers."""
    spec = sol.spec
    # worded as the sheet's header words them (templates/header.html.j2: "Due …")
    about = [t for t in (spec.course, spec.instructor, spec.due and f"Due {spec.due}") if t]
    head = [f"<h3>{html.escape(spec.title)}</h3>"]
    if about:
        head.append(f"<p>{html.escape(' · '.join(about))}</p>")
    head += [f"<p>{html.escape(summary(sol))}</p>", img, given_table(sol), f"<p>{html.escape(INSTRUCTIONS)}</p>"]
    return "\n".join(head)


def sheet_line(sol: Solution) -> str:
    """The sheet's version (the spec's fingerprint, as on the printed sheet), as a small paragraph."""
    return f'<p style="font-size:small;color:#555">Sheet {html.escape(fingerprint(sol.spec))}</p>'
