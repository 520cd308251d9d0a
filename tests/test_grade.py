"""Grading a class (`worksheet grade`): a class directory built here (variants from
examples/class-variants.toml, class.csv), submissions by simulated students (test_check's
`Student`): right, slipped, none, another student's variant, a filled PDF, and the gradebook,
the marked sheets and the class summary read back."""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
from fractions import Fraction
from pathlib import Path

import pytest
from conftest import ROOT
from test_check import Student, answers_text
from test_forms import fill, typed

from worksheet.classes.grade import Submission, grade, id_of_name, sheet_version
from worksheet.classes.roster import Entry, Layout, class_csv
from worksheet.classes.variants import parse_variants, roster_variants, to_toml
from worksheet.cli import main
from worksheet.document import Options, build
from worksheet.pdf import to_pdf
from worksheet.render import to_html
from worksheet.solve import solve
from worksheet.spec import fingerprint
from worksheet.trace import run as trace_run

IDS = ("s01", "s02", "s03", "s04", "s05")
NAMES = {"s01": "Ada Lovelace", "s02": "Alan Turing", "s03": "Grace Hopper", "s04": "=Edsger", "s05": "Emmy Noether"}
SLIP = ("step1.dL_dyhat1", "half")


def make_class(folder: Path) -> dict:
    """A class directory as `worksheet class` lays it out, its keys and sheets left out (grading needs none)."""
    text = (ROOT / "examples" / "class-variants.toml").read_text(encoding="utf-8")
    base, variants = parse_variants(text, "class-variants.toml")
    specs = roster_variants(base, variants, IDS, seed="test-grade")
    (folder / "variants").mkdir(parents=True)
    entries = []
    for sid, spec in specs.items():
        layout = Layout(sid)
        (folder / layout.variant).write_text(to_toml(spec), encoding="utf-8")
        entries.append(Entry(sid, NAMES[sid], fingerprint(spec), layout.variant, layout.key, layout.sheet))
    (folder / "class.csv").write_text(class_csv(entries), encoding="utf-8")
    return specs


def blank_pdf(spec) -> bytes:
    sol = solve(spec)
    return to_pdf(to_html(build(sol, trace_run(spec, spec.steps), Options(blank=True))))


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """The class graded once: s01 right (TOML), s02 the ½ slip (named S02-answers.toml), s03 nothing,
    s04 s01's variant under s04's name, s05 a filled PDF named by nothing but its sheet; one stray file."""
    root = tmp_path_factory.mktemp("grade")
    specs = make_class(root / "class")
    subs = root / "submissions"
    subs.mkdir()
    sols = {sid: solve(spec) for sid, spec in specs.items()}
    right = {sid: Student(spec).work() for sid, spec in specs.items()}
    slipped = Student(specs["s02"], slip=SLIP).work()
    assert slipped[SLIP[0]] != right["s02"][SLIP[0]], "the slip must change the number"
    (subs / "s01.toml").write_text(answers_text(sols["s01"], right["s01"]), encoding="utf-8")
    (subs / "S02-answers.toml").write_text(answers_text(sols["s02"], slipped), encoding="utf-8")
    (subs / "s04.toml").write_text(answers_text(sols["s01"], right["s01"]), encoding="utf-8")
    s05 = dict(right["s05"])
    s05.pop("step2.L", None)
    (subs / "scan-0042.pdf").write_bytes(fill(blank_pdf(specs["s05"]), typed(s05)))
    (subs / "notes.txt").write_text("not a submission", encoding="utf-8")
    out = root / "gradebook.csv"
    code = main(["grade", str(root / "class"), str(subs), "-o", str(out), "--marked", str(root / "marked"),
                 "--report", str(root / "summary.pdf")])
    assert code == 0
    assert out.read_bytes().startswith(b"\xef\xbb\xbfid,name,")  # a BOM: Excel on Windows then reads UTF-8
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8-sig"))))
    return root, specs, {r["id"]: r for r in rows}


def test_every_student_has_a_row_in_class_order(graded):
    root, _, rows = graded
    assert list(rows) == list(IDS)
    assert rows["s04"]["name"] == "'=Edsger"  # never a spreadsheet formula
    assert rows["s01"]["status"] == "marked" and rows["s01"]["wrong"] == "0" and rows["s01"]["missing"] == "0"
    assert rows["s01"]["score"] == rows["s01"]["points"]


def check_json(capsys, spec_path: Path, answers: Path) -> dict:
    capsys.readouterr()
    main(["check", str(spec_path), str(answers), "--json"])
    return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("sid, file", [("s01", "s01.toml"), ("s02", "S02-answers.toml"), ("s05", "scan-0042.pdf")])
def test_scores_are_what_check_gives_for_the_same_file(graded, capsys, sid, file):
    root, _, rows = graded
    marked = check_json(capsys, root / "class" / "variants" / f"{sid}.toml", root / "submissions" / file)
    row = rows[sid]
    assert row["files"] == file and row["status"] == "marked"
    assert float(row["score"]) == pytest.approx(marked["score"]) and float(row["points"]) == marked["points"]
    for verdict, column in (("right", "right"), ("carried", "carried_forward"), ("wrong", "wrong"),
                            ("missing", "missing")):
        assert int(row[column]) == marked["counts"][verdict]
    assert row["first_wrong"] == (marked["first_wrong"] or "")


def moved(spec, slip) -> set[str]:
    """The numbers a one-slip student writes differently from a right one, the slip's own included."""
    right, slipped = Student(spec).work(), Student(spec, slip=slip).work()
    return {k for k in right if slipped[k] != right[k]}


def test_scores_are_what_the_students_work_earns(graded):
    """Counted here from the simulated students, by the README's rule (1 point for right and for carried
    forward, 0 for wrong and missing): the right student scores every quantity, the one with the ½ slip
    at ∂L/∂ŷ every quantity but that one (what it moved after it carried forward), and the one who left a
    number out every quantity but that one."""
    _, specs, rows = graded
    n = {sid: len(Student(spec).work()) for sid, spec in specs.items()}
    assert all(count > 50 for count in n.values())
    counts = lambda row: tuple(int(row[c]) for c in ("right", "carried_forward", "wrong", "missing"))  # noqa: E731
    assert float(rows["s01"]["score"]) == float(rows["s01"]["points"]) == n["s01"]
    assert counts(rows["s01"]) == (n["s01"], 0, 0, 0)
    after = moved(specs["s02"], SLIP) - {SLIP[0]}
    assert len(after) > 10, "the slip must move what follows it"
    assert float(rows["s02"]["score"]) == n["s02"] - 1 and float(rows["s02"]["points"]) == n["s02"]
    assert counts(rows["s02"]) == (n["s02"] - 1 - len(after), len(after), 1, 0)
    assert float(rows["s05"]["score"]) == n["s05"] - 1 and counts(rows["s05"]) == (n["s05"] - 1, 0, 0, 1)


# README: "each part's points shared equally over its quantities"; the parts by the answers file's names
POINTS = {"forward": 4, "loss": 2, "backward": 6, "gradients": 4, "update": 4}
PART_OF = (("z", "forward"), ("a", "forward"), ("L", "loss"), ("dL_dyhat", "backward"), ("delta", "backward"),
           ("dW", "gradients"), ("db", "gradients"), ("eta", "update"), ("new", "update"), ("v_", "update"))


def part_of(key: str) -> str:
    name = key.split(".")[1]
    return next(part for prefix, part in sorted(PART_OF, key=lambda p: -len(p[0])) if name.startswith(prefix))


@pytest.mark.parametrize("carried", [1, 0.5])
def test_points_per_part_are_shared_over_each_parts_quantities(carried):
    """With [marking] points, a slip at ∂L/∂ŷ costs that part's points over its number of quantities, and
    each number carried forward from it the share the weight takes off, as counted here."""
    from fractions import Fraction as F

    text = (ROOT / "examples" / "class-variants.toml").read_text()
    points = ", ".join(f"{part} = {value}" for part, value in POINTS.items())
    base, variants = parse_variants(text + f"\n[marking]\npoints = {{ {points} }}\n", "cv.toml")
    specs = roster_variants(base, variants, IDS[:2], seed="points")
    entries = [Entry(s, "", fingerprint(specs[s]), Layout(s).variant, "", "") for s in specs]
    subs = [Submission(f"{s}.toml", answers_text(solve(specs[s]), Student(specs[s], slip=SLIP).work()).encode())
            for s in specs]
    book = grade(entries, specs, subs, weights={"right": F(1), "carried": F(carried), "wrong": F(0),
                                                "missing": F(0)})
    for row in book.rows:
        spec = specs[row.entry.id]
        keys = list(Student(spec).work())
        share = {part: F(POINTS[part], sum(part_of(k) == part for k in keys)) for part in POINTS}
        after = moved(spec, SLIP) - {SLIP[0]}
        lost = share[part_of(SLIP[0])] + sum((1 - F(carried)) * share[part_of(k)] for k in after)
        assert row.points == sum(POINTS.values()) and row.score == sum(POINTS.values()) - lost, row.entry.id


def test_the_slip_is_named_in_the_row(graded):
    _, _, rows = graded
    assert rows["s02"]["first_wrong"] == SLIP[0]
    assert rows["s02"]["slips"] == f"half at {SLIP[0]}"
    assert int(rows["s05"]["missing"]) == 1 and rows["s05"]["wrong"] == "0"


def test_no_submission_is_all_missing_and_says_so(graded):
    _, _, rows = graded
    row = rows["s03"]
    assert row["status"] == "no submission" and row["score"] == "0" and row["missing"] == row["points"]
    assert row["notes"] == "every answer missing"  # what it counts as; the status says "no submission" once


def test_another_students_variant_is_flagged_not_marked(graded):
    _, specs, rows = graded
    row = rows["s04"]
    assert row["status"] == "wrong variant" and row["score"] == "" and row["right"] == ""
    assert fingerprint(specs["s01"]) in row["notes"] and "s01's" in row["notes"]


def test_marked_sheets_for_the_marked_students_only(graded):
    root, _, _ = graded
    assert sorted(p.name for p in (root / "marked").iterdir()) == ["s01.pdf", "s02.pdf", "s05.pdf"]
    assert (root / "marked" / "s02.pdf").read_bytes().startswith(b"%PDF")


def test_the_summary_counts_the_slip_and_the_first_wrong_steps(graded):
    root, specs, _ = graded
    pdf = (root / "summary.pdf").read_bytes()
    assert pdf.startswith(b"%PDF")
    import pypdf

    text = " ".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(pdf)).pages)
    flat = " ".join(text.split())
    assert "5 students" in flat and "1 wrong variant" in flat and "notes.txt" in flat
    assert "the ½ of the loss is left out" in flat
    if shutil.which("pdftoppm"):  # the page as a picture, for a person to look at (docs/class.md)
        subprocess.run(["pdftoppm", "-png", "-r", "80", str(root / "summary.pdf"), str(root / "summary")],
                       check=True)


def test_the_summary_model():
    base, variants = parse_variants((ROOT / "examples" / "class-variants.toml").read_text(), "cv.toml")
    specs = roster_variants(base, variants, IDS[:3], seed="x")
    entries = [Entry(s, "", fingerprint(specs[s]), Layout(s).variant, "", "") for s in specs]
    sols = {s: solve(spec) for s, spec in specs.items()}
    subs = [Submission("s01.toml", answers_text(sols["s01"], Student(specs["s01"], slip=SLIP).work()).encode()),
            Submission("s02.toml", answers_text(sols["s02"], Student(specs["s02"], slip=SLIP).work()).encode())]
    book = grade(entries, specs, subs)
    s = book.summary
    assert s.slips[0][0] == "half" and s.slips[0][2] == 2
    # a slip in the class's own activations (ReLU′, not a general f′), as each student's note says it
    from worksheet.classes.grade import mistake_words

    assert "ReLU′" in mistake_words("no_derivative", specs["s01"]) and "f′" in mistake_words("no_derivative")
    assert s.first_wrong[0][0] == SLIP[0] and s.first_wrong[0][2] == 2
    assert dict(s.first_wrong_parts) == {"backward": 2}
    assert sum(s.histogram) == 3 and s.histogram[0] == 1  # s03, no submission, at 0
    from worksheet.classes.summary import summary_html

    html = summary_html(book, "HW3 <b>")
    assert "HW3 &lt;b&gt;" in html and "<svg" in html and "the ½ of the loss is left out" in html
    # in a browser the page is a column with margins, not text against the window's edge
    assert "@media screen { body { max-width: 180mm; margin: 0 auto; padding: 8mm 6mm 12mm; } }" in html
    assert "3 students</span> <span>2 marked</span> <span>1 no submission</span>" in html  # may wrap between
    assert ("Counted by part, 2\u00a0students first went wrong in\u00a0the backward pass (∂L/∂ŷ and δ).</p>" in html
            and "by part:" not in html)


def test_file_names_match_leniently():
    ids = ["s01", "s010", "Bob", "j.doe", "x-1"]
    assert id_of_name("s01.toml", ids) == "s01"
    assert id_of_name("S01.PDF", ids) == "s01"
    assert id_of_name("s01-answers.toml", ids) == "s01"
    assert id_of_name("s010_filled.pdf", ids) == "s010"
    assert id_of_name("bob.toml", ids) == "Bob"
    assert id_of_name("j.doe.toml", ids) == "j.doe"
    assert id_of_name("x-1-final.pdf", ids) == "x-1"
    assert id_of_name("s0.toml", ids) is None and id_of_name("s01x.toml", ids) is None
    assert id_of_name("a.toml", ["a", "A"]) == "a" and id_of_name("A.toml", ["a", "A"]) == "A"
    assert id_of_name("a-x.toml", ["a", "A"]) is None


def class_of(tmp_path, specs=None):
    base, variants = parse_variants((ROOT / "examples" / "class-variants.toml").read_text(), "cv.toml")
    specs = specs or roster_variants(base, variants, IDS[:2], seed="y")
    entries = [Entry(s, "", fingerprint(specs[s]), Layout(s).variant, "", "") for s in specs]
    return specs, entries


def test_two_files_unmatched_and_unreadable(tmp_path):
    specs, entries = class_of(tmp_path)
    sols = {s: solve(spec) for s, spec in specs.items()}
    good = answers_text(sols["s01"], Student(specs["s01"]).work()).encode()
    subs = [Submission("s01.toml", good), Submission("s01-v2.toml", good),
            Submission("s02.toml", b'[step1]\nz1_1 = "x"\n'),
            Submission("stray.toml", b"[step1]\n"), Submission("other.toml", good)]
    book = grade(entries, specs, subs)
    rows = {r.entry.id: r for r in book.rows}
    assert rows["s01"].status == "several files" and rows["s01"].marking is None
    assert rows["s02"].status == "unreadable" and "z1_1" in rows["s02"].notes[0]
    assert [u.name for u in book.unmatched] == ["stray.toml"]
    # other.toml names nobody, but carries s01's sheet: s01's third file
    assert rows["s01"].files == ("s01.toml", "s01-v2.toml", "other.toml")
    assert rows["s01"].notes[0] == "s01.toml, s01-v2.toml and other.toml; keep one, none is marked"


def test_a_shared_sheet_falls_back_to_the_file_name(tmp_path):
    """Without variants every student has the same sheet: the name decides."""
    text = (ROOT / "examples" / "class-variants.toml").read_text()
    base, _ = parse_variants(text, "cv.toml")
    specs = {"s01": base, "s02": base}
    entries = [Entry(s, "", fingerprint(base), Layout(s).variant, "", "") for s in specs]
    sol = solve(base)
    good = answers_text(sol, Student(base).work()).encode()
    book = grade(entries, specs, [Submission("s02.toml", good), Submission("mine.toml", good)])
    rows = {r.entry.id: r for r in book.rows}
    assert rows["s02"].status == "marked" and rows["s01"].status == "no submission"
    assert len(book.unmatched) == 1 and "shared by s01, s02" in book.unmatched[0].reason


def test_a_sheet_of_no_one_in_the_class_is_flagged(tmp_path):
    specs, entries = class_of(tmp_path)
    sol = solve(specs["s01"])
    text = answers_text(sol, Student(specs["s01"]).work()).replace(fingerprint(specs["s01"]), "00000000")
    book = grade(entries, specs, [Submission("s01.toml", text.encode())])
    row = book.rows[0]
    assert row.status == "wrong variant" and "no student's in this class" in row.notes[0]
    assert sheet_version(text.encode()) == "00000000"


def test_bad_input(tmp_path, capsys):
    (tmp_path / "subs").mkdir()
    code = main(["grade", str(tmp_path), str(tmp_path / "subs")])
    err = capsys.readouterr().err
    assert code == 2 and "no class.csv" in err and "worksheet class" in err
    code = main(["grade", str(tmp_path / "nope"), str(tmp_path / "subs")])
    assert code == 2 and "no such folder" in capsys.readouterr().err
    make_class(tmp_path / "class")
    code = main(["grade", str(tmp_path / "class"), str(tmp_path / "none")])
    assert code == 2 and "submissions" in capsys.readouterr().err
    code = main(["grade", str(tmp_path / "class"), str(tmp_path / "subs"), "--report", str(tmp_path / "r.txt")])
    assert code == 2 and ".html or .pdf" in capsys.readouterr().err
    (tmp_path / "class" / "class.csv").write_text("id,name\n", encoding="utf-8")
    code = main(["grade", str(tmp_path / "class"), str(tmp_path / "subs")])
    assert code == 2 and "not a class directory's class.csv" in capsys.readouterr().err


def test_an_empty_folder_grades_everyone_missing(tmp_path, capsys):
    make_class(tmp_path / "class")
    (tmp_path / "subs").mkdir()
    out = tmp_path / "book.csv"
    code = main(["grade", str(tmp_path / "class"), str(tmp_path / "subs"), "-o", str(out),
                 "--report", str(tmp_path / "r.html")])
    assert code == 0
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert [r["status"] for r in rows] == ["no submission"] * len(IDS)
    assert "<svg" in (tmp_path / "r.html").read_text(encoding="utf-8")
    code = main(["grade", str(tmp_path / "class"), str(tmp_path / "subs"), "-o",
                 str(tmp_path / "class" / "class.csv")])
    assert code == 2 and "is the input" in capsys.readouterr().err


def sign_slipped(spec) -> dict:
    """A student who works every number right but adds η·∂L/∂p in each update of the last step (nothing
    follows it, so the slip is named at every updated parameter)."""
    right = Student(spec).work()
    last = f"step{spec.steps}."
    before = f"step{spec.steps - 1}." if spec.steps > 1 else None
    out = dict(right)
    for key in right:
        if key.startswith(last + "new_"):
            name = key.removeprefix(last + "new_")
            old = right[before + "new_" + name] if before else None
            if old is None:
                continue
            out[key] = old + spec.learning_rate * right[last + "d" + name]
    return out


def test_one_slip_repeated_is_one_entry_in_the_gradebook_and_the_report(tmp_path):
    """A flipped update sign is named at every parameter: the row says it once, with the count and where first."""
    from worksheet.classes.grade import gradebook_csv
    from worksheet.classes.summary import summary_html

    base, variants = parse_variants((ROOT / "examples" / "class-variants.toml").read_text(), "cv.toml")
    specs = roster_variants(base, variants, IDS[:2], seed="x")
    entries = [Entry(s, "", fingerprint(specs[s]), Layout(s).variant, "", "") for s in specs]
    spec = specs["s01"]
    answers = answers_text(solve(spec), sign_slipped(spec))
    book = grade(entries, specs, [Submission("s01.toml", answers.encode())])
    row = book.rows[0]
    updated = len(row.slips)  # every update whose gradient is not 0 (those the flipped sign changes)
    assert updated >= 4 and {m for m, _ in row.slips} == {"sign"}
    assert row.slip_counts == (("sign", updated, "step2.new_W1_1_1"),)
    assert row.slips_text == f"sign ×{updated}, first at step2.new_W1_1_1"
    cells = next(r for r in csv.DictReader(io.StringIO(gradebook_csv(book).removeprefix("\ufeff"))))
    assert cells["slips"] == f"sign ×{updated}, first at step2.new_W1_1_1"
    html = summary_html(book)
    assert html.count("sign ×") == 1 and "sign at" not in html


def test_the_slips_cell_lists_each_slip_once_in_sheet_order():
    from types import SimpleNamespace as NS

    from worksheet.classes.grade import MARKED, Row

    marks = [NS(mistake=m, quantity=NS(key=k)) for m, k in
             [("half", "step1.dL_dyhat1"), ("sign", "step1.new_W1_1_1"), ("", "step1.new_W1_1_2"),
              ("sign", "step1.new_W1_1_2"), ("half", "step2.dL_dyhat1"), ("sign", "step1.new_b1_1")]]
    row = Row(Entry("s01", "", "", "", "", ""), MARKED, marking=NS(marks=marks))
    assert row.slips_text == "half ×2, first at step1.dL_dyhat1; sign ×3, first at step1.new_W1_1_1"
    one = Row(Entry("s01", "", "", "", "", ""), MARKED, marking=NS(marks=marks[:1]))
    assert one.slips_text == "half at step1.dL_dyhat1"


def test_a_formula_like_name_is_escaped_in_both_csvs_alike(graded):
    """class.csv and the gradebook write a formula-like name the same way (and class.csv reads it back)."""
    from worksheet.classes.roster import parse_class_csv

    root, _, rows = graded
    text = (root / "class" / "class.csv").read_text(encoding="utf-8-sig")
    raw = {row[0]: row[1] for row in csv.reader(io.StringIO(text))}
    assert raw["s04"] == rows["s04"]["name"] == "'=Edsger"
    assert {e.id: e.name for e in parse_class_csv(text)}["s04"] == "=Edsger"


def words(pdf: Path) -> list[tuple[float, float, float, float, str, float]]:
    """Every word of a PDF with its box (x0, y0, x1, y1) and the width of its page, by poppler's pdftotext."""
    import re

    html = subprocess.run(["pdftotext", "-bbox", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    out = []
    for page in re.finditer(r'<page width="([\d.]+)" height="[\d.]+">(.*?)</page>', html, re.S):
        for m in re.finditer(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">(.*?)</word>',
                             page[2]):
            out.append((*map(float, m.groups()[:4]), m[5], float(page[1])))
    return out


@pytest.mark.skipif(not shutil.which("pdftotext"), reason="needs poppler's pdftotext")
def test_the_summary_pdf_keeps_every_word_inside_the_page(tmp_path):
    """Long notes (a wrong variant, a slip at a long key) and a long name wrap inside their column, never past
    the page's right margin (20 mm): the notes column was cut off at the page's edge."""
    from worksheet.classes.summary import summary_html

    base, variants = parse_variants((ROOT / "examples" / "class-variants.toml").read_text(), "cv.toml")
    ids = ("s01", "s02", "s03")
    specs = roster_variants(base, variants, ids, seed="x")
    names = {"s01": "Ana María de la Cruz y Fernández-Santiago", "s02": "Bo", "s03": "Cy"}
    entries = [Entry(s, names[s], fingerprint(specs[s]), Layout(s).variant, "", "") for s in ids]
    sols = {s: solve(spec) for s, spec in specs.items()}
    subs = [Submission("s01.toml", answers_text(sols["s01"], sign_slipped(specs["s01"])).encode()),
            Submission("s02.toml", answers_text(sols["s03"], Student(specs["s03"]).work()).encode()),
            Submission("s03.toml", answers_text(sols["s03"], Student(specs["s03"], slip=SLIP).work()).encode())]
    pdf = tmp_path / "summary.pdf"
    pdf.write_bytes(to_pdf(summary_html(grade(entries, specs, subs), "Class summary: HW3")))
    found = words(pdf)
    assert any(w[4] == "wrong" for w in found) and any("Fernández" in w[4] for w in found)
    right_margin = 20 / 25.4 * 72
    outside = [w[4] for w in found if w[2] > w[5] - right_margin + 1]
    assert not outside, outside


def test_the_terminal_report_is_aligned_and_wrapped_at_80_columns(graded, capsys, monkeypatch):
    """Read at 80 columns: the scores in one column (their "of" under one another), the statuses in the
    next, a note wrapped under its status, nothing said twice, no line past 80 or ending in a space."""
    root, specs, _ = graded
    monkeypatch.setenv("COLUMNS", "80")
    capsys.readouterr()
    code = main(["grade", str(root / "class"), str(root / "submissions"), "-o", str(root / "again.csv")])
    assert code == 0
    lines = capsys.readouterr().out.splitlines()[:-1]  # the last is the gradebook's path
    assert lines[0] == "s01  76 of 76  marked"
    assert lines[2] == "s03   0 of 76  no submission: every answer missing"
    wrong = f"wrong variant: s04.toml carries sheet {fingerprint(specs['s01'])}, which is s01's,"
    assert lines[3] == f"s04   -        {wrong}"
    assert lines[4] == "               not s04's; not marked against the wrong key"
    assert all(len(line) <= 80 and line == line.rstrip() for line in lines)
    assert {line.index(" of ") for line in lines if " of " in line} == {7}


def test_scores_align_on_their_decimal_point():
    from types import SimpleNamespace as NS

    from worksheet.classes.grade import MARKED, NONE, WRONG_VARIANT, Row, terminal_lines

    def row(sid, status, score=None, notes=()):
        marking = NS(score=Fraction(score)) if score is not None else None
        return Row(Entry(sid, "", "", "", "", ""), status, marking=marking, points=Fraction(10), notes=notes)

    rows = [row("s01", MARKED, "10"), row("s02", MARKED, "9.5"), row("s003", MARKED, "2/3"),
            row("s4", NONE, "0", ("every answer missing",)),
            row("s5", WRONG_VARIANT, None, ("s5.pdf carries sheet 0a1b2c3d, which is s01's, not s5's; not marked "
                                           "against the wrong key",))]
    assert terminal_lines(rows, 60) == [
        "s01   10    of 10  marked",
        "s02    9.5  of 10  marked",
        "s003   0.67 of 10  marked",
        "s4     0    of 10  no submission: every answer missing",
        "s5     -           wrong variant: s5.pdf carries sheet",
        "                   0a1b2c3d, which is s01's, not s5's; not",
        "                   marked against the wrong key",
    ]


def test_where_the_class_went_wrong_is_counted_by_part_in_a_sentence():
    from worksheet.classes.summary import by_part

    def said(counts):  # a no-break space keeps each count with its word
        return by_part(counts).replace("\u00a0", " ")

    assert by_part([]) == ""
    assert said([("updates", 1)]) == "Counted by part, 1 student first went wrong in the updated parameters."
    assert by_part([("updates", 1)]).startswith("Counted by part, 1\u00a0student first went wrong in\u00a0the")
    assert said([("forward", 3), ("backward", 2), ("updates", 1)]) == (
        "Counted by part, 3 students first went wrong in the forward pass, 2 in the backward pass (∂L/∂ŷ and δ) "
        "and 1 in the updated parameters.")
    assert said([("loss", 1), ("gradients", 1)]) == (
        "Counted by part, 1 student first went wrong in the loss and 1 in the gradients.")
