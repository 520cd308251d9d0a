"""The fillable blank sheet: its form fields, filled in by a simulated student
(pypdf, as a PDF reader saves them), are marked exactly as the same numbers
typed into an answers file."""

from __future__ import annotations

import io
from functools import cache

import pypdf
import pytest
from conftest import ROOT, load
from test_check import Student, answers_text, written

from worksheet import solve
from worksheet.answers import AnswersError, parse_answers
from worksheet.check import check
from worksheet.cli import main
from worksheet.document import Options, build
from worksheet.forms import read_filled
from worksheet.pdf import to_pdf
from worksheet.quantities import quantities
from worksheet.render import to_html
from worksheet.spec import builtin_text, parse_spec
from worksheet.trace import run


@cache
def blank_pdf(name: str = "builtin", formulas: bool = True) -> bytes:
    spec = parse_spec(builtin_text()) if name == "builtin" else load(name)
    sol = solve(spec)
    return to_pdf(to_html(build(sol, run(spec, spec.steps), Options(blank=True, formulas=formulas))))


def fill(pdf: bytes, values: dict[str, str]) -> bytes:
    """What a PDF reader saves after the student typed `values` (key -> text) into the fields."""
    writer = pypdf.PdfWriter(clone_from=pypdf.PdfReader(io.BytesIO(pdf)))
    for page in writer.pages:
        writer.update_page_form_field_values(page, values, auto_regenerate=False)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def typed(values: dict, decimals: int = 4) -> dict[str, str]:
    return {key: written(v, decimals) for key, v in values.items()}


def test_every_quantity_is_one_field_named_by_its_key_in_the_sheets_order():
    sol = solve(parse_spec(builtin_text()))
    reader = pypdf.PdfReader(io.BytesIO(blank_pdf()))
    names = []
    for page in reader.pages:  # the order a reader tabs through them
        for annot in page.get("/Annots") or []:
            field = annot.get_object()
            if field.get("/FT") == "/Tx":
                names.append(field["/T"])
    assert names == [q.key for q in quantities(sol)]


@pytest.mark.parametrize("slip", [(None, None), ("step1.dL_dyhat1", "half")])
def test_a_filled_pdf_is_marked_as_the_same_answers_file(slip):
    spec = parse_spec(builtin_text())
    sol = solve(spec)
    values = Student(spec, slip=slip).work()
    filled = fill(blank_pdf(), typed(values))
    from_pdf = check(sol, read_filled(filled, "filled.pdf", sol))
    from_toml = check(sol, parse_answers(answers_text(sol, values), "answers.toml", sol))
    assert [(m.quantity.key, m.verdict, m.mistake) for m in from_pdf.marks] == \
        [(m.quantity.key, m.verdict, m.mistake) for m in from_toml.marks]
    if slip[0] is None:
        assert from_pdf.counts["right"] == len(from_pdf.marks)
    else:
        assert from_pdf.first_wrong.quantity.key == slip[0] and from_pdf.first_wrong.mistake == "half"


def test_empty_fields_are_missing_and_a_sheet_without_formulas_has_the_same_fields():
    spec = parse_spec(builtin_text())
    sol = solve(spec)
    values = typed(Student(spec).work())
    some = {k: v for k, v in values.items() if k.startswith("step1.")}
    marking = check(sol, read_filled(fill(blank_pdf("builtin", formulas=False), some), "filled.pdf", sol))
    assert marking.counts["right"] == len(some) and marking.counts["missing"] == len(values) - len(some)


def test_what_is_not_a_filled_sheet_is_named(tmp_path):
    sol = solve(parse_spec(builtin_text()))
    with pytest.raises(AnswersError, match="not a readable PDF"):
        read_filled(b"%PDF-1.7\n garbage", "x.pdf", sol)
    key = to_pdf(to_html(build(sol, run(sol.spec, 2), Options())))
    with pytest.raises(AnswersError, match="no form fields"):
        read_filled(key, "key.pdf", sol)
    with pytest.raises(AnswersError, match="made for another problem"):
        read_filled(fill(blank_pdf("mazur"), {}), "mazur.pdf", sol)
    with pytest.raises(AnswersError, match=r"filled.pdf: field step1.z1_1: \"one and a half\" is not a number"):
        read_filled(fill(blank_pdf(), {"step1.z1_1": "one and a half"}), "filled.pdf", sol)


def test_check_and_answers_take_the_filled_pdf(capsys, tmp_path):
    spec = parse_spec(builtin_text())
    filled = tmp_path / "filled.pdf"
    filled.write_bytes(fill(blank_pdf(), typed(Student(spec).work())))
    assert main(["check", str(filled)]) == 0
    assert "Score" in capsys.readouterr().out
    out = tmp_path / "answers.toml"
    assert main(["answers", "--from", str(filled), "-o", str(out)]) == 0
    capsys.readouterr()
    assert main(["check", str(out)]) == 0
    assert 'z1_1 = "1.5000"' in out.read_text(encoding="utf-8")
    # another problem's spec before it: named, exit 2, no traceback
    code = main(["check", str(ROOT / "examples" / "mazur.toml"), str(filled)])
    err = capsys.readouterr().err
    assert code == 2 and "filled.pdf" in err and "another problem" in err and "Traceback" not in err
