"""`worksheet export canvas`: the QTI 1.2 package, read back as Canvas's importer reads it.

The zip is opened with zipfile and every XML file parsed with xml.etree; each
quiz is read with a reader written here from Canvas's QTI dialect (as Canvas's
own export writes it and its importer reads it back: `question_type` and
`points_possible` in an item's `qtimetadata`, a numerical item answering in
`response_str`/`render_fib fibtype="Decimal"`, its condition the key's value
in `varequal` or between `vargte` and `varlte`, which Canvas imports as an
exact answer with margin upper − value), not with the generator's code. Every
answer must be the key's value (from `solve`, and for the built-in problem
from `worksheet solve --json`), every margin the checker's rounding allowance,
and the manifest must name every file the zip holds."""

from __future__ import annotations

import html
import io
import json
import re
import xml.etree.ElementTree as ET
import zipfile
from decimal import Decimal
from fractions import Fraction as F

import pytest
from conftest import BAD_EXPORT_INPUT, PROBLEMS, ROOT, load, make_class, make_export_sources
from test_check import (
    SPECS,
    Student,
    assert_slips_marked_wrong,
    rounded_up,
    rounding_allowance,
    simulated,
    tie_students,
)

from worksheet.check import rounded_chains
from worksheet.classes.canvas import canvas_files, canvas_zip
from worksheet.cli import main
from worksheet.quantities import quantities
from worksheet.solve import solve
from worksheet.spec import PARTS, builtin_text, fingerprint, parse_spec

QTI = "{http://www.imsglobal.org/xsd/ims_qtiasiv1p2}"
CP = "{http://www.imsglobal.org/xsd/imsccv1p1/imscp_v1p1}"
META = "{http://canvas.instructure.com/xsd/cccv1p0}"
SVG = "{http://www.w3.org/2000/svg}svg"
FILEBASE = "%24IMS-CC-FILEBASE%24/"


# -- a reader of Canvas's QTI dialect -------------------------------------------------------

def unzip(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        assert zf.testzip() is None
        return {info.filename: zf.read(info) for info in zf.infolist() if not info.is_dir()}


def manifest(files: dict[str, bytes]) -> dict[str, dict]:
    """The manifest's resources by identifier: type, href, files, dependencies."""
    root = ET.fromstring(files["imsmanifest.xml"])
    assert root.tag == f"{CP}manifest"
    out = {}
    for res in root.iter(f"{CP}resource"):
        out[res.get("identifier")] = {
            "type": res.get("type"), "href": res.get("href"),
            "files": [f.get("href") for f in res.findall(f"{CP}file")],
            "depends": [d.get("identifierref") for d in res.findall(f"{CP}dependency")],
        }
    return out


def fields(element: ET.Element) -> dict[str, str]:
    """A qtimetadata's fields: label → entry."""
    return {f.findtext(f"{QTI}fieldlabel"): f.findtext(f"{QTI}fieldentry") or ""
            for f in element.iter(f"{QTI}qtimetadatafield")}


def read_item(item: ET.Element) -> dict:
    meta = fields(item.find(f"{QTI}itemmetadata"))
    mattext = item.find(f"{QTI}presentation/{QTI}material/{QTI}mattext")
    out = {"ident": item.get("ident"), "title": item.get("title"), "type": meta["question_type"],
           "points": Decimal(meta["points_possible"]), "html": mattext.text, "texttype": mattext.get("texttype")}
    if out["type"] == "numerical_question":
        response = item.find(f"{QTI}presentation/{QTI}response_str")
        out["fib"] = response.find(f"{QTI}render_fib").get("fibtype")
        [condition] = item.findall(f"{QTI}resprocessing/{QTI}respcondition")
        either = condition.find(f"{QTI}conditionvar/{QTI}or")
        within = either.find(f"{QTI}and")
        out["exact"] = Decimal(either.findtext(f"{QTI}varequal"))
        out["strict_lower"] = within.find(f"{QTI}vargt") is not None
        out["low"] = Decimal(within.findtext(f"{QTI}vargte"))
        out["high"] = Decimal(within.findtext(f"{QTI}varlte"))
        out["margin"] = out["high"] - out["exact"]  # as Canvas's importer computes it
        out["score"] = condition.findtext(f"{QTI}setvar")
        assert condition.find(f"{QTI}setvar").get("action") == "Set"
    return out


def quizzes(data: bytes) -> list[dict]:
    """Each quiz of the package in the manifest's order: its title, settings and items."""
    files = unzip(data)
    resources = manifest(files)
    out = []
    for ident, res in resources.items():
        if res["type"] != "imsqti_xmlv1p2":
            continue
        [path] = res["files"]
        root = ET.fromstring(files[path])
        assert root.tag == f"{QTI}questestinterop"
        [assessment] = root.findall(f"{QTI}assessment")
        [meta_id] = [d for d in res["depends"] if resources[d]["type"].startswith("associatedcontent/")]
        settings = ET.fromstring(files[resources[meta_id]["href"]])
        items = [read_item(i) for i in assessment.iter(f"{QTI}item")]
        out.append({"ident": ident, "title": assessment.get("title"),
                    "meta": fields(assessment.find(f"{QTI}qtimetadata")), "settings": settings,
                    "items": items, "resource": res})
    return out


def numerical(quiz: dict) -> list[dict]:
    return [i for i in quiz["items"] if i["type"] == "numerical_question"]


def package(*specs, parts=None) -> bytes:
    return canvas_zip([(None if n == 1 else f"v{n}", solve(spec)) for n, spec in enumerate(specs, 1)], parts)


# -- the package ------------------------------------------------------------------------------

@pytest.mark.parametrize("name", PROBLEMS)
def test_the_manifest_names_every_file_and_every_xml_is_well_formed(name):
    spec = load(name)
    files = unzip(package(spec))
    resources = manifest(files)
    named = {f for res in resources.values() for f in res["files"]}
    assert named == set(files) - {"imsmanifest.xml"}  # every file the manifest names is there, and no other
    for res in resources.values():
        assert res["href"] is None or res["href"] in res["files"]
        assert all(d in resources for d in res["depends"])
    for path, data in files.items():
        if path.endswith((".xml", ".svg")):
            ET.fromstring(data)  # well-formed
    # what Canvas's QTI import looks for: QTI 1.2 assessments, Canvas settings, web content
    types = sorted(res["type"] for res in resources.values())
    assert types == ["associatedcontent/imscc_xmlv1p1/learning-application-resource", "imsqti_xmlv1p2", "webcontent"]


@pytest.mark.parametrize("name", PROBLEMS)
def test_a_quiz_is_the_problem_then_a_numerical_question_per_number(name):
    spec = load(name)
    [quiz] = quizzes(package(spec))
    assert quiz["title"] == spec.title
    assert quiz["meta"] == {"cc_maxattempts": "1"}
    first, *rest = quiz["items"]
    assert (first["type"], first["points"]) == ("text_only_question", 0)
    assert all(i["type"] == "numerical_question" for i in rest)
    assert len({i["ident"] for i in quiz["items"]}) == len(quiz["items"])  # identifiers unique
    assert all(re.fullmatch(r"[A-Za-z_][\w.-]*", i["ident"]) for i in quiz["items"])
    # the statement: the picture (a file of the package, shown from Canvas's course files), the givens
    text = first["html"]
    assert first["texttype"] == "text/html" and "Given" in text and f"Sheet {fingerprint(spec)}" in text
    [src] = re.findall(r'<img src="([^"]+)"', text)
    assert src.startswith(FILEBASE)
    files = unzip(package(spec))
    assert ET.fromstring(files[src.removeprefix(FILEBASE)]).tag == SVG
    assert f"{quiz['ident']}_picture" in quiz["resource"]["depends"]
    # Canvas's settings: points are the number of questions, not yet published
    settings = quiz["settings"]
    assert settings.tag == f"{META}quiz" and settings.get("identifier") == quiz["ident"]
    assert settings.findtext(f"{META}title") == spec.title
    assert Decimal(settings.findtext(f"{META}points_possible")) == sum(i["points"] for i in rest) == len(rest)
    assert settings.findtext(f"{META}available") == "false"
    assert settings.findtext(f"{META}one_question_at_a_time") == "false"  # the problem stays in view


@pytest.mark.parametrize("name", PROBLEMS)
def test_the_statement_gives_the_givens_as_tomllib_reads_the_spec(name):
    """The Given table of the quiz's first item, cell by cell, against the spec file read with tomllib
    (W[i][j]: row i = unit, column j = input)."""
    from independent import expected_given, read_given_table, read_spec, spec_text

    [quiz] = quizzes(package(load(name)))
    assert read_given_table(quiz["items"][0]["html"]) == expected_given(read_spec(spec_text(name)))


def test_each_students_quiz_states_their_own_variant(tmp_path, capsys):
    from independent import expected_given, read_given_table, read_spec

    folder = make_class(tmp_path)
    out = tmp_path / "quiz.zip"
    assert main(["export", "canvas", str(folder), "-o", str(out)]) == 0
    stated = [read_given_table(q["items"][0]["html"]) for q in quizzes(out.read_bytes())]
    assert stated == [expected_given(read_spec((folder / "variants" / f"{sid}.toml").read_text()))
                      for sid in ("s1", "s2")]
    assert stated[0] != stated[1]


@pytest.mark.parametrize("name", PROBLEMS)
def test_every_answer_is_the_keys_value(name):
    sol = solve(load(name))
    qs = quantities(sol)
    items = numerical(quizzes(package(sol.spec))[0])
    assert [i["title"] for i in items] == [q.key for q in qs]  # every number, in the worksheet's order
    for q, item in zip(qs, items):
        assert item["points"] == 1 and item["score"] == "100"
        assert item["fib"] == "Decimal"
        assert abs(F(item["exact"]) - q.value) <= F(1, 10**10), q.key
        # an exact answer with a margin: symmetric, and a lower bound Canvas does not take for precision
        assert not item["strict_lower"]
        assert item["exact"] - item["low"] == item["margin"], q.key
        assert f"<code>{q.name}</code>" in item["html"] and html.escape(q.words) in item["html"]


def test_the_answers_are_what_worksheet_solve_json_prints(capsys):
    """The built-in problem's numbers from `worksheet solve --json`, by the answers file's names."""
    assert main(["solve", "--json"]) == 0
    solved = json.loads(capsys.readouterr().out)
    expected = {}
    for step in solved["steps"]:
        n, exact = step["step"], step["exact"]
        for layer in exact["forward"]:
            for i, (z, a) in enumerate(zip(layer["z"], layer["a"]), 1):
                expected[f"step{n}.z{layer['layer']}_{i}"] = z
                expected[f"step{n}.a{layer['layer']}_{i}"] = a
        expected[f"step{n}.L"] = exact["loss"]
        for layer in exact["deltas"]:
            for i, d in enumerate(layer["delta"], 1):
                expected[f"step{n}.delta{layer['layer']}_{i}"] = d
        for group, values in exact["updated"].items():
            kind, layer = group[0], group[1:]
            for i, row in enumerate(values, 1):
                for j, v in enumerate(row if isinstance(row, list) else [row], 1):
                    index = f"{i}_{j}" if kind == "W" else f"{i}"
                    expected[f"step{n}.new_{kind}{layer}_{index}"] = v
                    expected[f"step{n}.d{kind}{layer}_{index}"] = exact["grads"][group][i - 1][j - 1] \
                        if kind == "W" else exact["grads"][group][i - 1]
    answers = {i["title"]: i["exact"] for i in numerical(quizzes(package(parse_spec(builtin_text())))[0])}
    assert len(expected) > 80
    for key, value in expected.items():
        assert abs(F(answers[key]) - F(value)) <= F(1, 10**10), key


@pytest.mark.parametrize("name", PROBLEMS)
def test_each_margin_is_what_rounding_students_need_rounded_up(name):
    """Each margin holds every simulated student who works correctly to 4 decimals (test_check's Student,
    each tie broken five ways, each product rounded or not, an output δ either way; not the code under
    test), and is no wider than their allowance rounded up to 2 significant digits; it is also the
    checker's own allowance (`check.rounded_chains`, the tolerance issue 11 asks for) rounded up."""
    sol = solve(load(name))
    students, _ = simulated(name)
    chains = rounded_chains(sol, 4)
    for q, item in zip(quantities(sol), numerical(quizzes(package(sol.spec))[0])):
        margin = F(item["margin"])
        need = rounding_allowance(students, q.key, q.value)
        # a value that is not exact holds 30 correct digits, so a drift far below them is no drift
        assert need - F(1, 10**30) <= margin <= rounded_up(need - F(1, 10**30)), (q.key, margin, need)
        checker = rounding_allowance(chains, q.key, q.value)
        assert checker - F(1, 10**30) <= margin < checker * F(11, 10), q.key
        assert F(1, 20000) <= margin < F(1, 1000), q.key


@pytest.mark.parametrize("name", PROBLEMS)
def test_a_slip_is_outside_the_margin(name):
    """A simulated student who works to 4 decimals and makes one slip (the sign, a factor dropped, a
    wrong derivative, …) at a quantity: where the slip moves that number by more than twice what
    rounding can (so no rounding explains it), Canvas marks it wrong."""
    sol = solve(load(name))
    items = {q.key: item for q, item in zip(quantities(sol), numerical(quizzes(package(sol.spec))[0]))}
    assert_slips_marked_wrong(name, lambda key, number: F(items[key]["low"]) <= number <= F(items[key]["high"]))


@pytest.mark.parametrize("name", PROBLEMS)
@pytest.mark.parametrize("terms", [False, True], ids=["rounds-each-number", "rounds-each-product-too"])
def test_a_student_who_rounds_to_4_decimals_as_they_go_is_marked_right(name, terms):
    spec = load(name)
    items = numerical(quizzes(package(spec))[0])
    student = Student(spec, decimals=4, terms=terms).work()
    for q, item in zip(quantities(solve(spec)), items):
        assert F(item["low"]) <= F(student[q.key]) <= F(item["high"]), q.key


def test_a_student_who_rounds_a_tie_either_way_is_marked_right():
    """δ = ½·(0.4289 − 1) = −0.28555 written −0.2856 or −0.2855 (db2_1 −0.0270 or −0.0269): the checker
    marks both right, and so must every margin."""
    spec = SPECS["tie"]()
    items = numerical(quizzes(package(spec))[0])
    students = tie_students(spec)
    assert len({v["step1.db2_1"] for v in students.values()}) > 1, "the tie must move db2_1"
    for name, student in students.items():
        for q, item in zip(quantities(solve(spec)), items):
            assert F(item["low"]) <= F(student[q.key]) <= F(item["high"]), (name, q.key)


def test_only_some_parts():
    sol = solve(parse_spec(builtin_text()))
    items = numerical(quizzes(package(sol.spec, parts=("updates",)))[0])
    new = [q for q in quantities(sol) if q.kind in PARTS["updates"]]
    assert len(items) == len(new) == 26
    assert [i["title"] for i in items] == [q.key for q in new]


def test_the_same_input_gives_the_same_bytes():
    spec = load("mazur")
    assert package(spec) == package(spec)
    assert package(spec) != package(spec, parts=("updates",))


NASTY = "Quiz <b>&amp; c]]> \\ } 𝑥 \"q\""


def test_markup_in_the_title_is_text():
    spec = parse_spec(builtin_text().replace("title = ", f"title = '{NASTY}'\n# ", 1))
    assert spec.title == NASTY
    [quiz] = quizzes(canvas_zip([(None, solve(spec))]))
    assert quiz["title"] == NASTY and quiz["settings"].findtext(f"{META}title") == NASTY
    shown = html.unescape(re.sub(r"<[^>]+>", "", quiz["items"][0]["html"]))
    assert NASTY in shown  # a browser shows the title as written: no tag of it is markup


def test_variants_whose_names_clean_to_the_same_file_get_pictures_of_their_own():
    sol = solve(parse_spec(builtin_text()))
    other = solve(parse_spec(builtin_text().replace("x = [2]", "x = [3]")))
    files = canvas_files([("s 1", sol), ("s-1", other), ("../s-1", other)])
    pictures = [p for p in files if p.endswith(".svg")]
    assert len(pictures) == 3 and all(p.startswith("images/") and ".." not in p for p in pictures)
    with pytest.raises(ValueError, match="two quizzes"):
        canvas_files([("s1", sol), ("s1", sol)])


@pytest.mark.parametrize("name", PROBLEMS)
def test_each_question_names_its_step_and_section_as_the_moodle_question_heads_it(name):
    """A question's heading is its step and the sheet's section (test_moodle's SECTION): the update one
    section, and η never a capital Eta."""
    from test_moodle import SECTION

    sol = solve(load(name))
    items = numerical(quizzes(package(sol.spec))[0])
    for q, item in zip(quantities(sol), items):
        [head] = re.findall(r"<p><b>(.*?)</b></p>", item["html"])
        assert html.unescape(head) == f"Step {q.step} · {SECTION[q.kind]}", q.key
        assert "\u0397" not in html.unescape(item["html"])


def test_the_course_instructor_and_due_date_read_as_on_the_sheet():
    """The statement says "Due Monday 9:00" as the blank sheet's header does (read from its HTML)."""
    from independent import parse_html

    from worksheet.document import Options, build
    from worksheet.render import to_html
    from worksheet.trace import run

    spec = parse_spec('course = "NN 101"\ninstructor = "Dr. Lin"\ndue = "Monday 9:00"\n' + builtin_text())
    sheet = parse_html(to_html(build(solve(spec), run(spec, 10), Options(blank=True), torch_script="")))
    [meta] = sheet.find_all("p", "meta")
    said = [span.text().strip() for span in meta.find_all("span") if "version" not in span.classes]
    assert len(said) == 3 and "Due Monday 9:00" in said
    [quiz] = quizzes(package(spec))
    shown = html.unescape(re.sub(r"<[^>]+>", "", quiz["items"][0]["html"]))
    for words in said:
        assert words in shown


def test_a_title_that_names_the_student_names_them_once(tmp_path, capsys):
    """A class's variant is titled "<title> (student ID)" (docs/class.md): its quiz is titled so, the ID
    not added again; a title without the ID as a word of its own gets it, also when cut to 255."""
    from worksheet.classes.variants import parse_variants, roster_variants, to_toml

    base, table = parse_variants((ROOT / "examples" / "class-variants.toml").read_text(), "class-variants.toml")
    ids = ("s1", "s10")
    drawn = roster_variants(base, table, list(ids), seed="t")
    folder = make_class(tmp_path, ids=ids, texts={sid: to_toml(spec) for sid, spec in drawn.items()})
    out = tmp_path / "quiz.zip"
    assert main(["export", "canvas", str(folder), "-o", str(out)]) == 0
    for quiz, sid in zip(quizzes(out.read_bytes()), ids):
        assert quiz["title"] == quiz["settings"].findtext(f"{META}title") == f"{base.title} (student {sid})"
    # s1 is not a word of "Quiz for s10", nor of "s1x"; a title and an ID over Canvas's 255 keep the ID
    long_id = "n" * 64
    for title, name, expected in [("Quiz for s10", "s1", "Quiz for s10 (s1)"), ("s1x", "s1", "s1x (s1)"),
                                  ("Quiz for s1.", "s1", "Quiz for s1."),
                                  ("x" * 200, long_id, "x" * 188 + f" ({long_id})")]:
        spec = parse_spec(builtin_text().replace("title = ", f"title = '{title}'\n# ", 1))
        [quiz] = quizzes(canvas_zip([(name, solve(spec))]))
        assert quiz["title"] == quiz["settings"].findtext(f"{META}title") == expected


# -- the command ---------------------------------------------------------------------------------

def test_a_class_directory_gives_one_quiz_per_variant(tmp_path, capsys):
    folder = make_class(tmp_path)
    out = tmp_path / "quiz.zip"
    assert main(["export", "canvas", str(folder), "-o", str(out)]) == 0
    assert capsys.readouterr().out.strip() == str(out)
    qs = quizzes(out.read_bytes())
    title = parse_spec(builtin_text()).title
    assert [q["title"] for q in qs] == [f"{title} (s1)", f"{title} (s2)"]
    for q, sid in zip(qs, ("s1", "s2")):
        sol = solve(parse_spec((folder / "variants" / f"{sid}.toml").read_text()))
        assert [F(i["exact"]) for i in numerical(q)][:3] == [x.value for x in quantities(sol)][:3]
        assert f"Sheet {fingerprint(sol.spec)}" in q["items"][0]["html"]
    assert numerical(qs[0])[0]["exact"] != numerical(qs[1])[0]["exact"]
    assert len(unzip(out.read_bytes())) == 1 + 3 * 2  # the manifest, and per quiz its XML, settings, picture
    assert not [p for p in tmp_path.rglob("*") if p.name.endswith(".tmp")]


def test_a_spec_file_or_the_built_in_problem_gives_one_quiz(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["export", "canvas"]) == 0
    assert capsys.readouterr().out.strip() == str(tmp_path.joinpath("out", "hw2-1-canvas.zip").relative_to(tmp_path))
    [q] = quizzes((tmp_path / "out" / "hw2-1-canvas.zip").read_bytes())
    assert q["title"] == parse_spec(builtin_text()).title and len(numerical(q)) == 112
    spec_path = ROOT / "examples" / "mazur.toml"
    assert main(["export", "canvas", str(spec_path), "--only", "updates", "-o", "m.zip"]) == 0
    [q] = quizzes((tmp_path / "m.zip").read_bytes())
    assert len(numerical(q)) == len([x for x in quantities(solve(load("mazur"))) if x.kind == "new"])


@pytest.mark.parametrize("args, says", [
    *BAD_EXPORT_INPUT,
    (["{tmp}/spec.zip", "-o", "{tmp}/spec.zip"], "never replaces an input"),
    (["{tmp}/class", "-o", "{tmp}/class/variants/s1.toml"], ".zip"),
    (["--partial", "50"], "full mark"),
    (["-o", "-"], "not printed"),  # export moodle prints with -o -; a zip cannot
])
def test_bad_input_is_a_clear_message_exit_2_and_nothing_written(tmp_path, capsys, monkeypatch, args, says):
    make_export_sources(tmp_path)
    (tmp_path / "spec.zip").write_text(builtin_text())
    monkeypatch.chdir(tmp_path)
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    assert main(["export", "canvas", *(a.format(tmp=tmp_path) for a in args)]) == 2
    err = capsys.readouterr().err
    assert says in err and "Traceback" not in err
    assert {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()} == before  # nothing written
