"""`worksheet export moodle`: the Moodle XML question bank, read back as Moodle's importer reads it.

The XML is parsed with xml.etree; each question's text is read with a Cloze
parser written here from Moodle's documented syntax (question/type/multianswer:
a box is `{weight:TYPE:alternatives}`, alternatives split by `~`, each `=` or
`%n%`, the answer, `#feedback`; a NUMERICAL answer is `number:tolerance`), not
with the generator's code; every box must be the key's value, and the
tolerance must hold what the checker marks right for a student who rounds to
4 decimals as they go (the simulated student of test_check)."""

import base64
import html
import re
import xml.etree.ElementTree as ET
from decimal import Decimal
from fractions import Fraction as F
from pathlib import Path

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

from worksheet.classes.moodle import box, feedback_text, moodle_xml, number_text, question_name
from worksheet.cli import main
from worksheet.quantities import quantities
from worksheet.solve import solve
from worksheet.spec import PARTS, builtin_text, fingerprint, parse_spec

# -- a Cloze reader, from Moodle's documented syntax -------------------------------------

# every question type a Cloze box may name (Moodle's ANSWER_TYPE_DEF_REGEX): any of them starts a box
TYPES = ("NUMERICAL|NM|MULTICHOICE|MC|MULTICHOICE_V|MCV|MULTICHOICE_H|MCH|SHORTANSWER|SA|MW|SHORTANSWER_C|SAC|MWC|"
         "MULTICHOICE_S|MCS|MULTICHOICE_VS|MCVS|MULTICHOICE_HS|MCHS|MULTIRESPONSE|MR|MULTIRESPONSE_H|MRH|"
         "MULTIRESPONSE_S|MRS|MULTIRESPONSE_HS|MRHS")
BOX_START = re.compile(r"\{([0-9]*):(" + TYPES + "):")
NUMBER = r"-?(?:[0-9]+[.,]?[0-9]*|[.,][0-9]+)(?:[eE][-+]?[0-9]+)?"
NUMERICAL = re.compile(f"^({NUMBER})(?::({NUMBER}))?$")
UNESCAPED = r"(?<!\\)"


def split_unescaped(text: str, sep: str) -> list[str]:
    return re.split(UNESCAPED + re.escape(sep), text)


def read_cloze(text: str) -> list[dict]:
    """Every box of a question text: weight, type and alternatives (fraction, answer, tolerance, feedback)."""
    boxes = []
    for start in BOX_START.finditer(text):
        end = re.compile(UNESCAPED + r"\}").search(text, start.end())
        assert end, f"a box that never closes: {text[start.start():start.start() + 80]!r}"
        alternatives = []
        for alt in split_unescaped(text[start.end():end.start()], "~"):
            m = re.match(r"(=|%(-?[0-9]+(?:[.,][0-9]*)?)%)?(.*)$", alt, re.S)
            fraction = 1.0 if m.group(1) == "=" else float(m.group(2).replace(",", ".")) / 100 if m.group(2) else 0.0
            answer, _, feedback = _answer_feedback(m.group(3))
            number = NUMERICAL.match(answer)
            assert number, f"not a NUMERICAL answer: {answer!r}"
            alternatives.append({"fraction": fraction, "value": Decimal(number.group(1).replace(",", ".")),
                                 "tolerance": Decimal((number.group(2) or "0").replace(",", ".")),
                                 "feedback": feedback})
        boxes.append({"weight": int(start.group(1) or 1), "type": start.group(2), "alternatives": alternatives})
    return boxes


def _answer_feedback(alt: str) -> tuple[str, str, str]:
    """An alternative's answer and feedback: the answer ends at the first '#' that is not escaped
    (nor part of an entity such as &#123;)."""
    m = re.search(r"(?<!\\)(?<!&)#", alt)
    return (alt, "", "") if m is None else (alt[:m.start()], "#", alt[m.end():])


def moodle_feedback(feedback: str) -> str:
    """The text a student reads: Moodle decodes the feedback's entities once, then shows it as HTML."""
    shown = html.unescape(feedback).replace("\\}", "}").replace("\\#", "#")
    return html.unescape(re.sub(r"<[^>]+>", "", shown))


def questions(xml: str) -> list[ET.Element]:
    root = ET.fromstring(xml)
    assert root.tag == "quiz"
    return [q for q in root if q.get("type") != "category"]


def text_of(question: ET.Element) -> str:
    return question.find("questiontext/text").text


def specs_xml(*specs, **options) -> str:
    return moodle_xml([(f"q{n}", solve(spec)) for n, spec in enumerate(specs, start=1)], **options)


# -- the file -------------------------------------------------------------------------------

# what Moodle's importer reads of a cloze question (import_multianswer): nothing else is written
CLOZE_CHILDREN = {"name", "questiontext", "generalfeedback", "penalty", "hidden"}


@pytest.mark.parametrize("name", PROBLEMS)
def test_each_question_is_a_cloze_question_as_moodle_reads_it(name):
    spec = load(name)
    xml = specs_xml(spec)
    assert xml.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<quiz>')
    [q] = questions(xml)
    assert q.tag == "question" and q.get("type") == "cloze"
    assert {child.tag for child in q} == CLOZE_CHILDREN
    assert [child.tag for child in q].count("questiontext") == 1
    assert q.find("name/text").text == "q1"
    text = q.find("questiontext")
    assert text.get("format") == "html" and text_of(q).strip()
    assert q.find("generalfeedback").get("format") == "html" and q.find("generalfeedback/text") is not None
    assert 0 <= float(q.find("penalty").text) <= 1
    assert q.find("hidden").text in ("0", "1")
    # the picture: a file stored with the question, which the text shows
    [file] = text.findall("file")
    assert (file.get("name"), file.get("path"), file.get("encoding")) == ("network.svg", "/", "base64")
    svg = ET.fromstring(base64.b64decode(file.text, validate=True))
    assert svg.tag == "{http://www.w3.org/2000/svg}svg"
    assert '<img src="@@PLUGINFILE@@/network.svg"' in text_of(q)
    # the givens are stated, and the sheet's version
    assert "Given" in text_of(q) and f"Sheet {fingerprint(spec)}" in text_of(q)


@pytest.mark.parametrize("name", PROBLEMS)
def test_the_question_states_the_givens_as_tomllib_reads_the_spec(name):
    """The Given table of the question text, cell by cell, against the spec file read with tomllib
    (W[i][j]: row i = unit, column j = input)."""
    from independent import expected_given, read_given_table, read_spec, spec_text

    [q] = questions(specs_xml(load(name)))
    assert read_given_table(text_of(q)) == expected_given(read_spec(spec_text(name)))


def test_each_students_question_states_their_own_variant(tmp_path, capsys):
    from independent import expected_given, read_given_table, read_spec

    folder = make_class(tmp_path)
    out = tmp_path / "quiz.xml"
    assert main(["export", "moodle", str(folder), "-o", str(out)]) == 0
    qs = questions(out.read_text(encoding="utf-8"))
    stated = [read_given_table(text_of(q)) for q in qs]
    assert stated == [expected_given(read_spec((folder / "variants" / f"{sid}.toml").read_text()))
                      for sid in ("s1", "s2")]
    assert stated[0] != stated[1]


@pytest.mark.parametrize("name", PROBLEMS)
def test_every_box_is_the_keys_value(name):
    sol = solve(load(name))
    qs = quantities(sol)
    text = text_of(questions(specs_xml(sol.spec))[0])
    boxes = read_cloze(text)
    assert len(boxes) == len(qs)
    for q, b in zip(qs, boxes):
        assert b["type"] == "NUMERICAL" and b["weight"] == 1
        [alt] = b["alternatives"]
        assert alt["fraction"] == 1.0 and alt["feedback"] == ""
        assert abs(F(alt["value"]) - q.value) <= F(1, 10**10), q.key
        assert F(1, 20000) <= F(alt["tolerance"]) < F(1, 1000), q.key
    # each box sits beside its label, in the worksheet's order
    places = [text.index(f"<code>{q.name}</code>") for q in qs if q.step == 1]
    assert places == sorted(places)


@pytest.mark.parametrize("name", PROBLEMS)
@pytest.mark.parametrize("terms", [False, True], ids=["rounds-each-number", "rounds-each-product-too"])
def test_a_student_who_rounds_to_4_decimals_as_they_go_is_marked_right(name, terms):
    spec = load(name)
    boxes = read_cloze(text_of(questions(specs_xml(spec))[0]))
    student = Student(spec, decimals=4, terms=terms).work()
    for q, b in zip(quantities(solve(spec)), boxes):
        [alt] = b["alternatives"]
        assert abs(F(student[q.key]) - F(alt["value"])) <= F(alt["tolerance"]), q.key


def test_a_student_who_rounds_a_tie_either_way_is_marked_right_in_every_box():
    """ŷ = 0.4289 makes δ = ½·(0.4289 − 1) = −0.28555: written −0.2856 or −0.2855, and db2_1 then
    −0.0270 or −0.0269, both right for `check`, so both inside every box's tolerance."""
    spec = SPECS["tie"]()
    boxes = read_cloze(text_of(questions(specs_xml(spec))[0]))
    students = tie_students(spec)
    assert len({v["step1.db2_1"] for v in students.values()}) > 1, "the tie must move db2_1"
    for name, student in students.items():
        for q, b in zip(quantities(solve(spec)), boxes):
            [alt] = b["alternatives"]
            assert abs(F(student[q.key]) - F(alt["value"])) <= F(alt["tolerance"]), (name, q.key)


@pytest.mark.parametrize("name", PROBLEMS)
def test_each_tolerance_is_what_rounding_students_need_rounded_up(name):
    """No box allows more than the simulated students who work correctly to 4 decimals need (each tie
    broken five ways, each product rounded or not, an output δ either way), rounded up to 2 significant
    digits: the allowance is counted from test_check's Student, not from the code under test."""
    sol = solve(load(name))
    students, _ = simulated(name)
    for q, b in zip(quantities(sol), read_cloze(text_of(questions(specs_xml(sol.spec))[0]))):
        [alt] = b["alternatives"]
        need = rounding_allowance(students, q.key, q.value)
        # a value that is not exact holds 30 correct digits, so a drift far below them is no drift
        assert need - F(1, 10**30) <= F(alt["tolerance"]) <= rounded_up(need - F(1, 10**30)), q.key


@pytest.mark.parametrize("name", PROBLEMS)
def test_a_slip_is_outside_the_tolerance(name):
    """A simulated student who works to 4 decimals and makes one slip (the sign, a factor dropped, a
    wrong derivative, …) at a quantity: where the slip moves that number by more than twice what
    rounding can, the box marks it wrong."""
    sol = solve(load(name))
    boxes = {q.key: b["alternatives"][0]
             for q, b in zip(quantities(sol), read_cloze(text_of(questions(specs_xml(sol.spec))[0])))}
    assert_slips_marked_wrong(name, lambda key, number: abs(number - F(boxes[key]["value"]))
                              <= F(boxes[key]["tolerance"]))


def test_the_tolerance_is_half_a_unit_of_the_4th_decimal_where_nothing_drifts():
    sol = solve(parse_spec(builtin_text()))
    boxes = read_cloze(text_of(questions(specs_xml(sol.spec))[0]))
    tol = {q.key: b["alternatives"][0]["tolerance"] for q, b in zip(quantities(sol), boxes)}
    assert tol["step1.z1_1"] == Decimal("0.00005")  # 1.5: nothing to round before it
    assert tol["step2.dW3_1_1"] > Decimal("0.00005")  # after a step of rounded numbers
    assert max(tol.values()) <= Decimal("0.0005")


def test_partial_credit_is_a_second_answer_with_the_2_decimal_allowance():
    sol = solve(parse_spec(builtin_text()))
    boxes = read_cloze(text_of(questions(specs_xml(sol.spec, partial=50))[0]))
    for b in boxes:
        full, half = b["alternatives"]
        assert (full["fraction"], half["fraction"]) == (1.0, 0.5)
        assert full["value"] == half["value"]
        assert half["tolerance"] >= Decimal("0.005") > full["tolerance"]
        assert "not to 4 decimals" in moodle_feedback(half["feedback"])
    with pytest.raises(ValueError):
        specs_xml(sol.spec, partial=100)


def test_only_some_parts():
    sol = solve(parse_spec(builtin_text()))
    boxes = read_cloze(text_of(questions(specs_xml(sol.spec, parts=("updates",)))[0]))
    new = [q for q in quantities(sol) if q.kind in PARTS["updates"]]
    assert len(boxes) == len(new) == 26
    for q, b in zip(new, boxes):
        assert abs(F(b["alternatives"][0]["value"]) - q.value) <= F(1, 10**10), q.key
    # step 1's updates from the homework's printout: w¹ = 1 − 0.01·14, b¹ = −0.5 − 0.01·7, w² = 1 − 0.01·5.25
    assert [b["alternatives"][0]["value"] for b in boxes[:5]] == [Decimal(v) for v in
                                                                  ("0.86", "0.86", "-0.57", "-0.57", "0.9475")]


# -- the sections: each headed once, as the sheet heads them --------------------------------------

# the heading each kind of quantity is asked under, written from the sheet: its parts, and its update
# table, which holds a parameter's v, η·g and new value in one row (so the update is one section)
SECTION = {"z": "Forward pass", "a": "Forward pass", "loss": "Loss", "dyhat": "∂L/∂ŷ and δ", "delta": "∂L/∂ŷ and δ",
           "grad": "Gradients", "velocity": "Update", "eta": "Update", "new": "Update"}


def sections(text: str) -> list[tuple[int, str, list[str]]]:
    """A question's tables as a reader sees them, in order: (step, the heading above it, the names
    labelling its rows)."""
    out: list[tuple[int, str, list[str]]] = []
    step = 0
    asked = text[text.index("<h4>"):]  # the statement (its Given table) comes before the first step
    for m in re.finditer(r"<h4>Step (\d+)</h4>|<p><b>(.*?)</b></p>|<code>(.*?)</code>", asked):
        if m.group(1):
            step = int(m.group(1))
        elif m.group(2) is not None:
            out.append((step, html.unescape(m.group(2)), []))
        else:
            out[-1][2].append(html.unescape(m.group(3)))
    return out


def expected_sections(sol, kinds=None) -> list[tuple[int, str, list[str]]]:
    """The sections a reader expects: the quantities in the worksheet's order, a new one where the step or
    the sheet's section changes."""
    out: list[tuple[int, str, list[str]]] = []
    for q in quantities(sol):
        if kinds is not None and q.kind not in kinds:
            continue
        if not out or out[-1][:2] != (q.step, SECTION[q.kind]):
            out.append((q.step, SECTION[q.kind], []))
        out[-1][2].append(q.name)
    return out


@pytest.mark.parametrize("name", PROBLEMS)
def test_each_step_heads_each_section_once_as_the_sheet_does(name):
    """The update is one section headed once per step, not "η·gradient" and "Updated parameters" by turns
    above every box; and no heading turns η into a capital Eta."""
    sol = solve(load(name))
    text = text_of(questions(specs_xml(sol.spec))[0])
    found = sections(text)
    assert found == expected_sections(sol)
    assert len({(step, head) for step, head, _ in found}) == len(found)  # no heading twice in a step
    assert "\u0397" not in html.unescape(text)


def test_some_parts_of_the_update_are_one_section_too():
    sol = solve(load("batch-momentum"))
    assert sol.spec.momentum  # v, η·v and the new value by turns
    for parts in (("momentum", "eta", "updates"), ("eta",)):
        text = text_of(questions(specs_xml(sol.spec, parts=parts))[0])
        kinds = {k for p in parts for k in PARTS[p]}
        assert sections(text) == expected_sections(sol, kinds)
        assert [head for _, head, _ in sections(text)] == ["Update"] * sol.spec.steps


def test_a_heading_keeps_a_leading_symbol_as_written():
    from worksheet.classes.quiz import part_heading

    assert part_heading("eta") == "η·gradient"  # not Η·gradient: η is the learning rate's symbol
    assert part_heading("backward") == "∂L/∂ŷ and δ"
    assert part_heading("forward") == "Forward pass"


def test_the_course_instructor_and_due_date_read_as_on_the_sheet():
    """The line under the title says what the blank sheet's header says ("Due Monday 9:00", not "due …"),
    read from the sheet's own HTML."""
    from independent import parse_html

    from worksheet.document import Options, build
    from worksheet.render import to_html
    from worksheet.trace import run

    spec = parse_spec('course = "NN 101"\ninstructor = "Dr. Lin"\ndue = "Monday 9:00"\n' + builtin_text())
    sheet = parse_html(to_html(build(solve(spec), run(spec, 10), Options(blank=True), torch_script="")))
    [meta] = sheet.find_all("p", "meta")
    said = [span.text().strip() for span in meta.find_all("span") if "version" not in span.classes]
    assert len(said) == 3 and "Due Monday 9:00" in said
    shown = html.unescape(re.sub(r"<[^>]+>", "", text_of(questions(specs_xml(spec))[0])))
    for words in said:
        assert words in shown


# -- escaping ----------------------------------------------------------------------------------

NASTY = "Quiz {1:NUMERICAL:=9} #1 ~ a<b & c]]> \\ } 𝑥"


def test_cloze_and_xml_characters_in_the_title_are_text():
    spec = parse_spec(builtin_text().replace("title = ", f"title = '{NASTY}'\n# ", 1))
    assert spec.title == NASTY
    xml = moodle_xml([(spec.title, solve(spec))])
    [q] = questions(xml)  # well-formed: the ]]> and the & did not break it
    text = text_of(q)
    # the title made no box, and no stray brace of it ends a box early
    assert len(BOX_START.findall(text)) == len(read_cloze(text)) == 112
    assert "{" not in text.split("{1:NUMERICAL:", 1)[0] and "}" not in text.split("{1:NUMERICAL:", 1)[0]
    # a browser shows the title as written
    shown = html.unescape(re.sub(r"<[^>]+>", "", text))
    assert NASTY in shown
    # characters beyond the basic plane are references (a 3-byte utf8 database stores them)
    assert not re.search("[\U00010000-\U0010ffff]", text)
    assert q.find("name/text").text == NASTY.replace("𝑥", "x")


def test_feedback_keeps_its_text_through_moodles_decoding():
    words = "a } b ~ c # d \\ e <b> & {1:SA:=x}"
    made = box(F(7, 2), Decimal("0.00005"), 50, Decimal("0.005")).replace(
        feedback_text("Close, but not to 4 decimals: write at least 4, rounded half up."), feedback_text(words))
    [b] = read_cloze(made)
    full, half = b["alternatives"]
    assert full["value"] == half["value"] == Decimal("3.5")
    assert moodle_feedback(half["feedback"]) == words


def test_numbers_as_a_cloze_answer_reads_them():
    assert number_text(F(7, 2)) == "3.5"
    assert number_text(F(-1, 3)) == "-0.3333333333"
    assert number_text(F(1, 10**12)) == "0"
    assert number_text(F(-1, 10**12)) == "0"
    assert number_text(F(12)) == "12"
    assert NUMERICAL.match(number_text(F(-2, 3)))


def test_question_names_are_one_line_of_plain_text():
    assert question_name("  a\n b\x00 𝑥 ") == "a b x"
    assert question_name("") == "worksheet"
    assert len(question_name("x" * 300)) == 255


# -- the command ---------------------------------------------------------------------------------

def test_a_class_directory_gives_one_question_per_variant_named_by_its_id(tmp_path, monkeypatch, capsys):
    folder = make_class(tmp_path)
    out = tmp_path / "quiz.xml"
    assert main(["export", "moodle", str(folder), "-o", str(out)]) == 0
    assert capsys.readouterr().out.strip() == str(out)
    monkeypatch.chdir(tmp_path)
    assert main(["export", "moodle", "class"]) == 0  # without -o: out/<the folder's name>-moodle.xml
    assert capsys.readouterr().out.strip() == str(Path("out", "class-moodle.xml"))
    assert (tmp_path / "out" / "class-moodle.xml").read_bytes() == out.read_bytes()
    qs = questions(out.read_text(encoding="utf-8"))
    assert [q.find("name/text").text for q in qs] == ["s1", "s2"]
    for q, sid in zip(qs, ("s1", "s2")):
        spec = parse_spec((folder / "variants" / f"{sid}.toml").read_text())
        first = read_cloze(text_of(q))[0]["alternatives"][0]["value"]
        assert F(first) == quantities(solve(spec))[0].value
    assert read_cloze(text_of(qs[0]))[0]["alternatives"][0]["value"] != \
        read_cloze(text_of(qs[1]))[0]["alternatives"][0]["value"]


def test_a_spec_file_or_the_built_in_problem_gives_one_question(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["export", "moodle"]) == 0  # a file, named as export canvas names its package
    assert capsys.readouterr().out.strip() == str(Path("out", "hw2-1-moodle.xml"))
    [q] = questions((tmp_path / "out" / "hw2-1-moodle.xml").read_text(encoding="utf-8"))
    assert q.find("name/text").text == parse_spec(builtin_text()).title
    assert main(["export", "moodle", "-o", "-"]) == 0  # - prints it
    assert [x.find("name/text").text for x in questions(capsys.readouterr().out)] == [q.find("name/text").text]
    spec_path = ROOT / "examples" / "mazur.toml"
    assert main(["export", "moodle", str(spec_path), "-o", "-", "--only", "updates", "--category", "NN/HW"]) == 0
    xml = capsys.readouterr().out
    root = ET.fromstring(xml)
    assert root[0].get("type") == "category" and root[0].find("category/text").text == "$course$/top/NN/HW"
    [q] = questions(xml)
    assert len(read_cloze(text_of(q))) == len([x for x in quantities(solve(load("mazur"))) if x.kind == "new"])


@pytest.mark.parametrize("args, says", [
    *BAD_EXPORT_INPUT,
    (["{tmp}/class", "-o", "{tmp}/class/variants/s1.toml"], "never replaces an input"),
    (["{tmp}/class", "-o", "{tmp}/class/class.csv"], "never replaces an input"),
    (["--partial", "100"], "100"),
])
def test_bad_input_is_one_line_and_exit_2(tmp_path, capsys, args, says):
    make_export_sources(tmp_path)
    before = (tmp_path / "class" / "variants" / "s1.toml").read_bytes()
    assert main(["export", "moodle", *(a.format(tmp=tmp_path) for a in args)]) == 2
    err = capsys.readouterr().err
    assert says in err and "Traceback" not in err
    assert (tmp_path / "class" / "variants" / "s1.toml").read_bytes() == before


def test_a_variant_left_behind_by_a_dropped_student_is_not_exported(tmp_path, capsys):
    """`worksheet class` keeps a dropped student's files; the export, like grade and serve --class,
    takes the students of class.csv."""
    folder = make_class(tmp_path)
    (folder / "variants" / "s9.toml").write_text((folder / "variants" / "s1.toml").read_text())
    out = tmp_path / "quiz.xml"
    assert main(["export", "moodle", str(folder), "-o", str(out)]) == 0
    assert [q.find("name/text").text for q in questions(out.read_text(encoding="utf-8"))] == ["s1", "s2"]
