"""`worksheet class`: a roster's class directory, resumed, in parallel, one failure kept to itself."""

import io
import re
import shutil
import subprocess
from fractions import Fraction

import pypdf
import pytest
from conftest import ROOT

from worksheet.classes import classset
from worksheet.classes.roster import Student, parse_class_csv
from worksheet.cli import main
from worksheet.spec import parse_spec

CLASS = ROOT / "examples" / "class-variants.toml"
STUDENTS = [("s01", "Lovelace, Ada"), ("s02", "Alan Turing"), ("s-03", "Grace Hopper"), ("s04", "Émile Borel")]
ROSTER = "\ufeffid,name\n" + "".join(f'{sid},"{name}"\n' for sid, name in STUDENTS)


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def files(folder):
    return {str(p.relative_to(folder)): p.stat().st_mtime_ns for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def roster(tmp_path_factory):
    path = tmp_path_factory.mktemp("roster") / "roster.csv"
    path.write_bytes(ROSTER.encode("utf-8"))  # with a byte order mark, as Excel saves "CSV UTF-8"
    return path


@pytest.fixture(scope="module")
def made(tmp_path_factory, roster):
    out = tmp_path_factory.mktemp("class") / "hw3"
    code = main(["class", str(CLASS), "--roster", str(roster), "-o", str(out), "--seed", "fall", "--jobs", "1"])
    assert code == 0
    return out


def test_the_class_directory_has_every_file(made):
    expected = {"class.csv", "class.toml"} | {f"{kind}/{sid}.{ext}" for sid, _ in STUDENTS
                                for kind, ext in (("variants", "toml"), ("keys", "pdf"), ("sheets", "pdf"))}
    assert set(files(made)) == expected
    entries = parse_class_csv((made / "class.csv").read_text(encoding="utf-8"))
    assert [(e.id, e.name) for e in entries] == STUDENTS
    assert all((e.variant, e.key, e.sheet) == (f"variants/{e.id}.toml", f"keys/{e.id}.pdf", f"sheets/{e.id}.pdf")
               for e in entries)


def test_each_variant_is_what_worksheet_variant_prints(made, capsys):
    for sid, _ in STUDENTS:
        code, out, _ = run(capsys, "variant", CLASS, "--student", sid, "--seed", "fall")
        assert code == 0
        assert (made / "variants" / f"{sid}.toml").read_text(encoding="utf-8") == out


def test_the_sheet_names_its_student_and_is_a_fillable_form(made):
    entries = {e.id: e for e in parse_class_csv((made / "class.csv").read_text(encoding="utf-8"))}
    for sid, name in STUDENTS:
        reader = pypdf.PdfReader(made / "sheets" / f"{sid}.pdf")
        text = reader.pages[0].extract_text()
        assert name in text and sid in text
        assert reader.get_fields()  # a fillable blank sheet
        assert f"worksheet-sheet:{entries[sid].fingerprint}" in reader.metadata["/Keywords"]
        key = pypdf.PdfReader(made / "keys" / f"{sid}.pdf")
        assert not key.get_fields() and "Answer key" in key.pages[0].extract_text().replace("ANSWER KEY", "Answer key")


def test_each_key_is_worked_from_its_own_students_variant_and_each_sheet_states_that_variant(made):
    """Each student's variant read with tomllib and worked by hand here (exact fractions): their key's
    Given table states it and every box of both steps is its number; their sheet carries their name,
    ID and Given numbers. The variants differ, so a key or sheet of another problem is caught."""
    from independent import agrees, boxed_values, flat_given, hand_worked, read_given_lines, read_spec

    variants = {}
    for sid, name in STUDENTS:
        given = read_spec((made / "variants" / f"{sid}.toml").read_text(encoding="utf-8"))
        variants[sid] = repr(given)
        key = ""
        for page in pypdf.PdfReader(made / "keys" / f"{sid}.pdf").pages:  # up to the check section (pypdf is slow)
            key += page.extract_text() + "\n"
            if "Check against PyTorch" in key:
                break
        assert read_given_lines(key) == flat_given(given), sid
        shown = boxed_values(key)
        worked = hand_worked(given)
        assert set(shown) == set(range(1, len(worked) + 1)), sid
        for step, values in enumerate(worked, start=1):
            # step 2's old p is step 1's new p, labelled with the step it comes from
            expected = {**values, **({f"step{step - 1}.{k}": v for k, v in worked[step - 2].items()
                                      if k.startswith("new_")} if step > 1 else {})}
            for label, value in expected.items():
                assert label in shown[step], (sid, step, label)
                assert all(agrees(s, value) for s in shown[step][label]), (sid, step, label, shown[step][label], value)
        first = pypdf.PdfReader(made / "sheets" / f"{sid}.pdf").pages[0].extract_text()
        assert name in first and sid in first and read_given_lines(first) == flat_given(given), sid
    assert len(set(variants.values())) == len(STUDENTS)


def test_a_rerun_skips_everything_and_renders_again_what_was_deleted(made, roster, capsys):
    argv = ["class", CLASS, "--roster", roster, "-o", made, "--seed", "fall", "--jobs", "1"]
    before = files(made)
    code, out, err = run(capsys, *argv)
    assert code == 0 and "0 rendered, 4 up to date" in err
    assert files(made) == before  # nothing rewritten, class.csv included
    (made / "sheets" / "s02.pdf").unlink()
    code, out, err = run(capsys, *argv)
    assert code == 0 and "1 rendered, 3 up to date" in err
    after = files(made)
    assert set(after) == set(before)
    changed = {path for path in after if after[path] != before[path]}
    assert changed == {"sheets/s02.pdf", "keys/s02.pdf"}


def test_jobs_2_gives_the_same_variants(made, roster, tmp_path, capsys):
    code, _, err = run(capsys, "class", CLASS, "--roster", roster, "-o", tmp_path, "--seed", "fall", "--jobs", "2")
    assert code == 0, err
    for sid, _ in STUDENTS:
        assert (tmp_path / "variants" / f"{sid}.toml").read_bytes() == (made / "variants" / f"{sid}.toml").read_bytes()
        assert (tmp_path / "sheets" / f"{sid}.pdf").exists()
    assert (tmp_path / "class.csv").read_bytes() == (made / "class.csv").read_bytes()


@pytest.fixture
def fake_render(monkeypatch):
    """Rendering replaced by placeholder bytes (fast); the student with ID `bad` fails."""
    calls = []

    def render(job):
        calls.append(job.student_id)
        if job.student_id == "bad":
            raise ValueError("the sheet would not fit")
        if job.student_id == "stop":
            raise KeyboardInterrupt
        return {rel: f"{job.student_id} {job.name}".encode() for rel in classset.outputs(job.student_id, job.html)}

    monkeypatch.setattr(classset, "render_member", render)
    return calls


def test_one_failing_student_is_named_and_the_others_are_written(tmp_path, capsys, fake_render):
    roster = tmp_path / "roster.csv"
    roster.write_text("id,name\na1,Ann\nbad,Bo\nc3,Cy\n")
    out = tmp_path / "out"
    code, _, err = run(capsys, "class", CLASS, "--roster", roster, "-o", out, "--jobs", "1", "--html")
    assert code == 1
    assert "worksheet: bad: ValueError: the sheet would not fit" in err
    assert "1 student failed and is left out of class.csv: bad" in err
    for sid in ("a1", "c3"):
        assert (out / "sheets" / f"{sid}.pdf").exists() and (out / "keys" / f"{sid}.html").exists()
    assert not (out / "sheets" / "bad.pdf").exists()
    assert [e.id for e in parse_class_csv((out / "class.csv").read_text())] == ["a1", "c3"]
    # the next run tries the failed student again, and only them; a changed name renders that student again
    fake_render.clear()
    roster.write_text("id,name\na1,Ann\nbad,Bo\nc3,Cyril\n")
    code, _, err = run(capsys, "class", CLASS, "--roster", roster, "-o", out, "--jobs", "1", "--html")
    assert code == 1 and fake_render == ["bad", "c3"]
    assert (out / "sheets" / "c3.pdf").read_bytes() == b"c3 Cyril"


def test_ctrl_c_leaves_whole_files_and_a_rerun_goes_on(tmp_path, capsys, fake_render):
    roster = tmp_path / "roster.csv"
    roster.write_text("id,name\na1,Ann\nstop,Stu\nc3,Cy\n")
    out = tmp_path / "out"
    code, _, err = run(capsys, "class", CLASS, "--roster", roster, "-o", out, "--jobs", "1")
    assert code == 130 and "interrupted" in err and "Traceback" not in err
    assert not [p for p in out.rglob("*") if p.name.endswith(".tmp")]
    assert (out / "sheets" / "a1.pdf").read_bytes() == b"a1 Ann" and not (out / "class.csv").exists()
    fake_render.clear()
    roster.write_text("id,name\na1,Ann\nc3,Cy\n")
    code, _, err = run(capsys, "class", CLASS, "--roster", roster, "-o", out, "--jobs", "1")
    assert code == 0 and fake_render == ["c3"]


def test_without_a_variants_table_everyone_gets_the_problem(tmp_path, capsys, fake_render):
    roster = tmp_path / "roster.csv"
    roster.write_text("id\nx1\nx2\n")
    spec = ROOT / "examples" / "mazur.toml"
    code, _, err = run(capsys, "class", spec, "--roster", roster, "-o", tmp_path / "out", "--jobs", "1")
    assert code == 0 and "has no [variants] table: every student gets its numbers" in err
    a, b = ((tmp_path / "out" / "variants" / f"{sid}.toml").read_text() for sid in ("x1", "x2"))
    assert a == b


@pytest.mark.parametrize("data, message", [
    (b"", "roster.csv: empty"),
    (b"name\nAda\n", "roster.csv:1: no 'id' column"),
    (b"id,name\n../etc,Eve\n", "roster.csv:2: id: '../etc' cannot name a file"),
    (b"id\nab\xff\n", "roster.csv: not UTF-8 text"),
    (None, "roster.csv: no such file"),
    (b"id,name\nab,Ann\nAB,Bo\n", "roster.csv:3: id: 'AB' and 'ab' (line 2) differ only in case"),
    ("id,name\nJosé,José\n".encode(), "roster.csv:2: id: 'José' cannot name a file; an ID is 1 to 64 ASCII letters"),
])
def test_a_bad_roster_is_one_line_and_exit_2(tmp_path, capsys, data, message):
    roster = tmp_path / "roster.csv"
    if data is not None:
        roster.write_bytes(data)
    code, _, err = run(capsys, "class", CLASS, "--roster", roster, "-o", tmp_path / "out")
    assert code == 2
    assert message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_every_problem_of_a_roster_is_said_at_once(tmp_path, capsys):
    roster = tmp_path / "roster.csv"
    roster.write_text("id,name\nJosé,José\ns02,Bo\ns02,Bob\nS02,Cy\n,Dee\ns03,Eve\n", encoding="utf-8")
    code, out, err = run(capsys, "class", CLASS, "--roster", roster, "-o", tmp_path / "out")
    assert code == 2 and out == "" and "Traceback" not in err
    lines = err.splitlines()
    assert [line.split(": id: ")[0] for line in lines[:4]] == [f"worksheet: {roster}:{n}" for n in (2, 4, 5, 6)]
    assert "'José' cannot name a file" in lines[0] and "'s02' appears twice (also on line 3)" in lines[1]
    assert "'S02' and 's02' (line 3) differ only in case" in lines[2] and "empty" in lines[3]
    assert lines[4:] == [f"worksheet: {roster}: 4 problems; nothing was written"]
    assert not (tmp_path / "out").exists()


def test_an_output_never_replaces_the_roster(tmp_path, capsys):
    out = tmp_path / "out"
    (out / "variants").mkdir(parents=True)
    roster = out / "variants" / "s1.toml"
    roster.write_text("id\ns1\n")
    code, _, err = run(capsys, "class", CLASS, "--roster", roster, "-o", out)
    assert code == 2 and "an output never replaces an input" in err
    assert roster.read_text() == "id\ns1\n"


def test_the_worker_renders_the_html_too():
    spec_text = classset.plan(CLASS.read_text(), "hw3.toml", [Student("s9", "Nine")]).members[0].text
    out = classset.render_member(classset.Job("s9", "Nine", spec_text, "variants/s9.toml", html=True))
    assert set(out) == {"keys/s9.pdf", "sheets/s9.pdf", "keys/s9.html", "sheets/s9.html"}
    assert "Nine" in out["sheets/s9.html"].decode() and "Nine" not in out["keys/s9.html"].decode()
    assert pypdf.PdfReader(io.BytesIO(out["sheets/s9.pdf"])).get_fields()


def test_ctrl_c_stops_a_parallel_run_at_once(tmp_path):
    """SIGINT to the whole process group (as a terminal's Ctrl-C sends it) while two workers
    render: the run stops within seconds with status 130, no worker is left, no file is half
    written, and the same command goes on from there."""
    import os
    import signal
    import subprocess
    import sys
    import time

    roster = tmp_path / "roster.csv"
    roster.write_text("id\n" + "".join(f"s{i:02d}\n" for i in range(1, 13)), encoding="utf-8")
    argv = [sys.executable, "-m", "worksheet", "class", str(ROOT / "examples" / "class-variants.toml"),
            "--roster", str(roster), "-o", str(tmp_path / "c"), "--jobs", "2"]
    # a background shell job ignores SIGINT; the run under test gets the default handling
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.time() + 60
    while time.time() < deadline and not list((tmp_path / "c").glob("keys/*.pdf")):
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGINT)
    start = time.time()
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130 and time.time() - start < 10, err
    assert "interrupted" in err and "Traceback" not in err
    with pytest.raises(ProcessLookupError):
        os.killpg(proc.pid, 0)  # no worker of the group is left
    assert not [p for p in (tmp_path / "c").rglob("*") if p.is_file() and p.suffix not in (".pdf", ".toml", ".csv")]
    assert subprocess.run(argv, capture_output=True, text=True, timeout=300).returncode == 0
    assert len(list((tmp_path / "c").glob("sheets/*.pdf"))) == 12


def test_a_student_dropped_from_the_roster_is_said_and_their_files_are_kept(tmp_path, capsys, fake_render):
    spec = str(ROOT / "examples" / "class-variants.toml")
    roster = tmp_path / "roster.csv"
    roster.write_text("id,name\ns01,Ada\ns02,Alan\n", encoding="utf-8")
    out = tmp_path / "c"
    assert main(["class", spec, "--roster", str(roster), "-o", str(out), "--jobs", "1"]) == 0
    roster.write_text("id,name\ns01,Ada\n", encoding="utf-8")
    capsys.readouterr()
    assert main(["class", spec, "--roster", str(roster), "-o", str(out), "--jobs", "1"]) == 0
    err = capsys.readouterr().err
    assert "s02 is no longer on the roster" in err
    assert [e.id for e in parse_class_csv((out / "class.csv").read_text(encoding="utf-8"))] == ["s01"]
    assert (out / "variants" / "s02.toml").exists()


@pytest.mark.skipif(not shutil.which("pdftotext"), reason="needs poppler's pdftotext")
@pytest.mark.parametrize("name", ["Ana María de la Cruz y Fernández-Santiago",
                                  "Maximiliana Alexandrina Konstantinopoulou-Vanderbilt de la Fuente y Hohenzollern"])
def test_a_long_name_keeps_the_student_id_beside_it(name, tmp_path):
    """The header's Name and Student ID stay on one row, whatever the name's length: a long name goes smaller,
    then wraps on its own rule; the ID never drops under the Name line, nor leaves the page."""
    from worksheet.classes.roster import Layout

    text = (classset.plan(CLASS.read_text(), "hw3.toml", [Student("s10", name)]).members[0].text)
    files_out = classset.render_member(classset.Job("s10", name, text, "s10.toml"))
    pdf = tmp_path / "sheet.pdf"
    pdf.write_bytes(files_out[Layout("s10").sheet])
    html = subprocess.run(["pdftotext", "-bbox", "-f", "1", "-l", "1", str(pdf), "-"], capture_output=True,
                          text=True, check=True).stdout
    page_width = float(re.search(r'<page width="([\d.]+)"', html)[1])
    found = [(float(m[1]), float(m[4]), float(m[3]), m[5]) for m in re.finditer(
        r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">(.*?)</word>', html)]
    label = next(w for w in found if w[3] == "Name")
    student = next(w for w in found if w[3] == "Student" and w[0] > label[0])
    sid = next((w for w in found if w[3] == "s10" and w[0] > student[0]), None)
    assert sid is not None, "the ID dropped under the Name line"
    assert abs(student[1] - label[1]) < 2 and abs(sid[1] - label[1]) < 2, (label, student, sid)  # one row
    assert all(w[2] < page_width - 20 / 25.4 * 72 + 1 for w in found), "a word past the right margin"
    assert name.split()[0] in [w[3] for w in found]


def test_one_student_is_one_student(tmp_path, capsys, fake_render):
    roster = tmp_path / "roster.csv"
    roster.write_text("id,name\ns01,Ada\n")
    code, _, err = run(capsys, "class", CLASS, "--roster", roster, "-o", tmp_path / "out", "--jobs", "1")
    assert code == 0 and "worksheet: 1 student: 1 rendered, 0 up to date, 0 failed" in err


def test_a_bad_seed_names_the_option(tmp_path, capsys):
    roster = tmp_path / "roster.csv"
    roster.write_text("id,name\ns01,Ada\n")
    code, out, err = run(capsys, "class", CLASS, "--roster", roster, "-o", tmp_path / "out", "--seed", "")
    assert code == 2 and err == "worksheet: --seed: is empty; give a class seed of 1 to 64 characters\n"
    assert not (tmp_path / "out").exists()


def test_class_csv_has_a_bom_and_a_rerun_reads_it_back(tmp_path, capsys, fake_render):
    """class.csv starts with a BOM (Excel on Windows); a formula-like name is escaped, and read back as the
    roster's: the rerun finds every student up to date, none renamed."""
    roster = tmp_path / "roster.csv"
    roster.write_text('id,name\ns01,"=HYPERLINK(""x"")"\ns02,Zoë Müller\n', encoding="utf-8")
    argv = ["class", CLASS, "--roster", roster, "-o", tmp_path / "out", "--jobs", "1"]
    assert run(capsys, *argv)[0] == 0
    data = (tmp_path / "out" / "class.csv").read_bytes()
    assert data.startswith(b"\xef\xbb\xbfid,name,") and b'"\'=HYPERLINK(""x"")"' in data
    assert [e.name for e in parse_class_csv(data.decode("utf-8-sig"))] == ['=HYPERLINK("x")', "Zoë Müller"]
    code, _, err = run(capsys, *argv)
    assert code == 0 and "0 rendered, 2 up to date" in err


# -- a rerun keeps every student's numbers --------------------------------------------------------------


def contents(folder):
    """Every file of a folder, its bytes and its time: what "nothing was written" compares."""
    return {str(p.relative_to(folder)): (p.read_bytes(), p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*")) if p.is_file()}


def variant_printed(capsys, sid, seed, spec=CLASS):
    code, out, _ = run(capsys, "variant", spec, "--student", sid, "--seed", seed)
    assert code == 0
    return out


@pytest.fixture
def drawn(tmp_path, capsys, fake_render):
    """A class drawn with --seed fall-2025 (keys and sheets faked): its roster and folder."""
    roster = tmp_path / "roster.csv"
    roster.write_text("id,name\ns01,Ada\ns02,Alan\ns03,Grace\n", encoding="utf-8")
    out = tmp_path / "class"
    code, _, err = run(capsys, "class", CLASS, "--roster", roster, "-o", out, "--jobs", "1", "--seed", "fall-2025")
    assert code == 0, err
    for sid in ("s01", "s02", "s03"):
        assert (out / "variants" / f"{sid}.toml").read_text() == variant_printed(capsys, sid, "fall-2025")
    fake_render.clear()
    return roster, out


def test_a_rerun_without_the_seed_keeps_the_seed_that_drew_the_class(drawn, capsys, fake_render):
    """The first run had --seed fall-2025 and the rerun leaves it out: the class keeps its numbers (the
    seed is in class.toml), nothing is rendered or rewritten, and the note says which seed it used."""
    roster, out = drawn
    before = contents(out)
    code, _, err = run(capsys, "class", CLASS, "--roster", roster, "-o", out, "--jobs", "1")
    assert code == 0, err
    assert "class seed 'fall-2025'" in err and "0 rendered, 3 up to date" in err and fake_render == []
    assert contents(out) == before


def test_another_seed_is_refused_and_nothing_is_written(drawn, capsys, fake_render):
    roster, out = drawn
    before = contents(out)
    code, stdout, err = run(capsys, "class", CLASS, "--roster", roster, "-o", out, "--jobs", "1", "--seed", "spring")
    assert code == 2 and stdout == "" and len(err.splitlines()) == 1 and "Traceback" not in err
    assert err.startswith(f"worksheet: {out}: its variants were drawn with class seed 'fall-2025', and this run's "
                          "is 'spring' (--seed): 3 students would get new numbers (s01, s02 and s03)")
    assert "give --seed fall-2025 (or leave --seed out)" in err and "--force" in err and "another -o folder" in err
    assert contents(out) == before and fake_render == []


def test_a_change_to_the_spec_such_as_due_is_refused_naming_it(drawn, capsys, fake_render, tmp_path):
    """Every key of the spec goes into the draws (its fingerprint): editing `due` would redraw everyone."""
    roster, out = drawn
    spec = tmp_path / "hw3.toml"
    spec.write_text(CLASS.read_text(encoding="utf-8").replace('title = "', 'due = "Friday 5 pm"\ntitle = "', 1),
                    encoding="utf-8")
    before = contents(out)
    code, _, err = run(capsys, "class", spec, "--roster", roster, "-o", out, "--jobs", "1", "--seed", "fall-2025")
    assert code == 2 and len(err.splitlines()) == 1
    assert f"worksheet: {out}: its variants were drawn from problem 8edd30d2, and {spec} is now problem " in err
    assert "(its due differs, and every key of a spec goes into its draws)" in err
    assert "3 students would get new numbers (s01, s02 and s03)" in err and "undo the change" in err
    assert contents(out) == before and fake_render == []


def test_force_draws_again_and_says_who_got_new_numbers(drawn, capsys, fake_render):
    roster, out = drawn
    argv = ["class", CLASS, "--roster", roster, "-o", out, "--jobs", "1"]
    code, _, err = run(capsys, *argv, "--seed", "spring", "--force")
    assert code == 0, err
    assert "new numbers for 3 students (s01, s02 and s03), drawn again as --force asked" in err
    assert sorted(fake_render) == ["s01", "s02", "s03"]
    for sid in ("s01", "s02", "s03"):
        assert (out / "variants" / f"{sid}.toml").read_text() == variant_printed(capsys, sid, "spring")
    assert 'seed = "spring"' in (out / "class.toml").read_text(encoding="utf-8")
    # and the class now keeps spring: a rerun without --seed renders nothing
    fake_render.clear()
    code, _, err = run(capsys, *argv)
    assert code == 0 and fake_render == [] and "class seed 'spring'" in err


SMALL = """title = "One neuron"

[network]
inputs = 1
layers = [{ units = 1, activation = "identity" }]

[[init.layers]]
W = [[0.5]]
b = [0]

[data]
x = [1]
y = [2]

[training]
loss = "half_sse"
learning_rate = 0.1
steps = 1

[variants]
learning_rate = [0.1, 0.05, 0.2, 0.5, 0.25]
"""


def test_a_student_added_to_the_roster_takes_no_one_elses_numbers(tmp_path, capsys, fake_render):
    """Five learning rates for four students: a0, new to the roster, draws 0.1 first, which s1 has. Drawn as
    a new class a0 would keep it, s1 move on to 0.2 and s2 (whose 0.2 that is) to 0.05; added to a class
    that has begun, s1 and s2 keep theirs (and the sheets they hold) and a0 takes the next number nobody has."""
    spec = tmp_path / "small.toml"
    spec.write_text(SMALL, encoding="utf-8")
    roster = tmp_path / "roster.csv"
    roster.write_text("id\ns1\ns2\ns3\n", encoding="utf-8")
    out = tmp_path / "class"
    argv = ["class", spec, "--roster", roster, "-o", out, "--jobs", "1", "--seed", "x"]
    assert run(capsys, *argv)[0] == 0
    rates = {sid: parse_spec((out / "variants" / f"{sid}.toml").read_text(), sid).learning_rate
             for sid in ("s1", "s2", "s3")}
    assert rates == {"s1": Fraction("0.1"), "s2": Fraction("0.2"), "s3": Fraction("0.5")}
    before = contents(out)
    fresh = classset.plan(SMALL, "small.toml", [Student(s) for s in ("s1", "s2", "s3", "a0")], "x")
    moved = {m.student.id: m.spec.learning_rate for m in fresh.members}
    assert (moved["s1"], moved["s2"], moved["a0"]) == (Fraction("0.2"), Fraction("0.05"), Fraction("0.1"))
    roster.write_text("id\ns1\ns2\ns3\na0\n", encoding="utf-8")
    fake_render.clear()
    code, _, err = run(capsys, *argv)
    assert code == 0, err
    assert fake_render == ["a0"] and "1 rendered, 3 up to date" in err
    after = contents(out)
    assert all(after[rel] == before[rel] for rel in before if rel != "class.csv")
    assert parse_spec((out / "variants" / "a0.toml").read_text(), "a0").learning_rate == Fraction("0.05")
    assert [e.id for e in parse_class_csv((out / "class.csv").read_text(encoding="utf-8"))] == ["s1", "s2", "s3", "a0"]
    # --force with nothing changed renders everyone again, and everyone keeps their numbers
    variants = {rel: data for rel, (data, _) in contents(out).items() if rel.startswith("variants/")}
    fake_render.clear()
    code, _, err = run(capsys, *argv, "--force")
    assert code == 0 and sorted(fake_render) == ["a0", "s1", "s2", "s3"] and "new numbers" not in err
    assert {rel: data for rel, (data, _) in contents(out).items() if rel.startswith("variants/")} == variants


def test_a_class_made_before_class_toml_keeps_the_seed_its_variants_say(drawn, capsys, fake_render):
    """A directory from an earlier worksheet has no class.toml: each variant file's first line says the seed
    (`class seed fall-2025`), and a rerun without --seed uses it, and writes class.toml."""
    roster, out = drawn
    (out / "class.toml").unlink(missing_ok=True)  # an earlier worksheet wrote none
    variants_before = {rel: data for rel, data in contents(out).items() if rel.startswith("variants/")}
    code, _, err = run(capsys, "class", CLASS, "--roster", roster, "-o", out, "--jobs", "1")
    assert code == 0, err
    assert "class seed 'fall-2025'" in err and "its variant files say so" in err and fake_render == []
    assert {rel: data for rel, data in contents(out).items() if rel.startswith("variants/")} == variants_before
    assert 'seed = "fall-2025"' in (out / "class.toml").read_text(encoding="utf-8")
