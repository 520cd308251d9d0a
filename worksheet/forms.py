"""Forms stage: a filled-in fillable blank sheet (PDF) in, the student's answers out.

Contract: pure (bytes in, no files). `read_filled(data, source, sol)` returns the
same `AnswerSheet` that `answers.parse_answers` makes of an answers file with the
same numbers, so a PDF is marked exactly as the TOML file would be. The blank
sheet's form fields are named by the answers file's keys (`step1.z1_1`), and the
PDF's keywords carry the sheet's version (`spec.fingerprint`), so a PDF of
another problem is named as such rather than marked against the wrong key.
Every refusal is an `AnswersError` naming the file, the field and what is allowed.
"""

from __future__ import annotations

import io
import logging
import re

from .answers import IN_A_BOX, Answer, AnswersError, AnswerSheet, parse_number
from .quantities import quantities
from .solve import Solution
from .spec import fingerprint, one_line

# What the blank sheet's PDF keywords say, and how they are read back.
KEYWORD = "worksheet-sheet"
_SHEET = re.compile(rf"\b{KEYWORD}:([0-9a-f]{{8}})\b")
PDF_MAGIC = b"%PDF-"
MAX_FIELDS = 5000  # a blank sheet has at most MAX_QUANTITIES fields; anything far beyond is not one


def keywords(sol: Solution) -> str:
    """The blank sheet's PDF keywords: its version, for `read_filled` to find."""
    return f"{KEYWORD}:{fingerprint(sol.spec)}"


def is_pdf(data: bytes) -> bool:
    return data[:1024].lstrip().startswith(PDF_MAGIC)


def read_filled(data: bytes, source: str, sol: Solution) -> AnswerSheet:
    """The answers typed into a fillable blank sheet; empty fields are left out."""
    import pypdf
    from pypdf.errors import PyPdfError

    # pypdf logs its repairs of a damaged file as warnings; the message below says what matters
    logging.getLogger("pypdf").setLevel(logging.ERROR)
    try:
        reader = pypdf.PdfReader(io.BytesIO(data), strict=False)
        meta = reader.metadata or {}
        fields = reader.get_fields() or {}
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, RecursionError) as exc:
        raise AnswersError(source, None, f"not a readable PDF ({one_line(str(exc))[:80]}); give the fillable "
                                         "blank sheet `worksheet render --blank` wrote, filled in and saved") from None
    found = _SHEET.search(str(meta.get("/Keywords", "") or ""))
    if not fields:
        what = "the answer key, a marked sheet or a printed one" if found else "not a worksheet"
        raise AnswersError(source, None, f"this PDF has no form fields to read ({what}?): give the fillable "
                                         "blank sheet `worksheet render --blank` wrote, filled in and saved")
    if found is None:
        raise AnswersError(source, None, "this PDF has form fields, but it is not a worksheet's blank sheet: give "
                                         "the one `worksheet render --blank` wrote, filled in and saved")
    expected = fingerprint(sol.spec)
    if found[1] != expected:
        # named by its title as well as its version, and in words that fit `check` and `answers --from` alike
        # its <title> is the problem's title and " (blank sheet)" (templates/worksheet.html.j2)
        title = re.sub(r" \(blank sheet\)$", "", one_line(str(meta.get("/Title", "") or "")))[:120]
        made_for = f'"{title}" (sheet {found[1]})' if title else f"sheet {found[1]}"
        raise AnswersError(source, None, f"this PDF is the blank sheet of {made_for}, made for another problem "
                                         f'(or another version of it) than the spec given, "'
                                         f'{one_line(sol.spec.title)[:120]}" (sheet {expected}); give the spec the '
                                         "sheet was made from")
    if len(fields) > MAX_FIELDS:
        raise AnswersError(source, None, f"{len(fields)} form fields; a worksheet has at most {MAX_FIELDS}")
    order = {q.key: n for n, q in enumerate(quantities(sol))}  # the sheet's order, and what a field may be
    answers: dict[str, Answer] = {}
    for name, field in fields.items():
        if name not in order:
            raise AnswersError(source, None, f"field {one_line(str(name))[:60]} is not a quantity of this "
                                             "problem; the fields are the blank sheet's boxes")
        raw = field.get("/V")
        text = "" if raw is None else str(raw)
        if not text.strip():
            continue
        value, decimals, written = parse_number(text, source, None, f"field {name}", IN_A_BOX)
        answers[name] = Answer(name, written, value, decimals, 0)
    return AnswerSheet(dict(sorted(answers.items(), key=lambda kv: order[kv[0]])), None, expected)
