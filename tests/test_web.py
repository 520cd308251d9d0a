"""`worksheet serve`: the JSON API and the pages, through Starlette's TestClient, and a bounded
load test against a real uvicorn server on loopback. The API must say what the command line
says: the same JSON as `solve --json` and `check --json`, the same messages."""

import asyncio
import html
import json
import logging
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from decimal import Decimal
from fractions import Fraction

import pytest
from conftest import ROOT
from starlette.testclient import TestClient

from worksheet.answers import parse_answers, sheet_from_tables
from worksheet.cli import main
from worksheet.quantities import quantities
from worksheet.solve import solve
from worksheet.spec import builtin_text, fingerprint, parse_spec
from worksheet.web import MAX_BODY
from worksheet.web import app as web

BUILTIN = parse_spec(builtin_text(), "builtin")
SLIP = "step1.dL_dyhat1"


def written(value: Fraction) -> str:
    """A number as a student writes it: a decimal when it ends within 6 places, else a fraction."""
    d = Decimal(value.numerator) / Decimal(value.denominator)
    return format(d.normalize(), "f") if Fraction(d) == value and -d.as_tuple().exponent <= 6 else str(value)


def answers_for(spec=BUILTIN, steps=(1, 2), slip: str | None = None) -> dict[str, dict[str, str]]:
    """The right answers as the API takes them, {"step1": {"z1_1": "1.5"}}; `slip`'s doubled."""
    out: dict[str, dict[str, str]] = {}
    for q in quantities(solve(spec)):
        if q.step in steps:
            out.setdefault(f"step{q.step}", {})[q.name] = written(2 * q.value if q.key == slip else q.value)
    return out


def toml_of(answers: dict) -> str:
    return "".join(f"[{step}]\n" + "".join(f'{name} = "{text}"\n' for name, text in entries.items())
                   for step, entries in answers.items())


def cli(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture(scope="module")
def client():
    with TestClient(web.create_app(), raise_server_exceptions=False) as c:
        yield c


def no_traceback(response):
    assert "Traceback" not in response.text and 'File "' not in response.text


# -- the API says what the command line says ---------------------------------------------------------


def test_solve_is_solve_json(client, capsys):
    code, out, _ = cli(capsys, "solve", "--json")
    assert code == 0
    r = client.post("/api/solve", json={})
    assert r.status_code == 200
    assert r.json() == json.loads(out)
    example = ROOT / "examples" / "batch-momentum.toml"
    _, out, _ = cli(capsys, "solve", str(example), "--json")
    assert client.post("/api/solve", json={"spec": example.read_text()}).json() == json.loads(out)
    assert client.post("/api/solve", json={"problem": "batch-momentum"}).json() == json.loads(out)


def test_check_of_a_right_sheet(client):
    r = client.post("/api/check", json={"answers": answers_for()})
    assert r.status_code == 200
    marking = r.json()
    assert marking["counts"] == {"right": len(quantities(solve(BUILTIN))), "carried": 0, "wrong": 0, "missing": 0}
    assert marking["first_wrong"] is None and marking["score"] == marking["points"]


def test_check_names_the_half_left_out_as_check_json_does(client, capsys, tmp_path):
    answers = answers_for(steps=(1,), slip=SLIP)
    r = client.post("/api/check", json={"answers": answers})
    assert r.status_code == 200
    marking = r.json()
    assert marking["first_wrong"] == SLIP
    row = next(q for q in marking["quantities"] if q["key"] == SLIP)
    assert row["verdict"] == "wrong" and row["mistake"]["id"] == "half" and "½" in row["mistake"]["words"]
    others = [q for q in marking["quantities"] if q["key"].startswith("step1.") and q["key"] != SLIP]
    assert others and all(q["verdict"] == "right" for q in others)
    path = tmp_path / "mine.toml"
    path.write_text(toml_of(answers))
    code, out, _ = cli(capsys, "check", str(path), "--json")
    assert code == 1
    assert marking == json.loads(out)
    # the same numbers, sent as JSON numbers, or for the problem by id, or as its text: the same marking
    as_numbers = {step: {k: float(v) if "/" not in v else v for k, v in entries.items()}
                  for step, entries in answers.items()}
    by_numbers = client.post("/api/check", json={"answers": as_numbers}).json()
    assert [(q["key"], q["verdict"], q["mistake"]) for q in by_numbers["quantities"]] == \
        [(q["key"], q["verdict"], q["mistake"]) for q in marking["quantities"]]
    assert client.post("/api/check", json={"problem": "hw2-1", "answers": answers}).json() == marking
    assert client.post("/api/check", json={"spec": builtin_text(), "answers": answers}).json() == marking


def test_sheet_from_tables_is_parse_answers_without_the_text():
    sol = solve(BUILTIN)
    answers = answers_for(slip=SLIP)
    text = 'sheet = "00000000"\n' + toml_of(answers)
    from_text = parse_answers(text, "a.toml", sol)
    tables = {"sheet": "00000000", **answers}
    from_tables = sheet_from_tables(tables, "a.toml", sol)
    assert {k: (a.value, a.decimals, a.text) for k, a in from_text.items()} == \
        {k: (a.value, a.decimals, a.text) for k, a in from_tables.items()}
    assert from_tables.parts is None
    with pytest.raises(Exception) as a:
        parse_answers('[step1]\nz1_1 = "abc"\n', "a.toml", sol)
    with pytest.raises(Exception) as b:
        sheet_from_tables({"step1": {"z1_1": "abc"}}, "a.toml", sol)
    assert a.value.message == b.value.message and a.value.line == 2 and b.value.line is None


def test_answers_is_worksheet_answers(client, capsys):
    _, out, _ = cli(capsys, "answers")
    r = client.post("/api/answers", json={})
    assert r.status_code == 200 and r.text == out
    assert "attachment" in r.headers["content-disposition"]
    filled = client.post("/api/answers", json={"answers": {"step1": {"z1_1": "1.5"}}}).text
    assert 'z1_1 = "1.5"' in filled and parse_answers(filled, "f", solve(BUILTIN))["step1.z1_1"].text == "1.5"


def test_render_html_is_worksheet_render(client, capsys, tmp_path):
    code, _, _ = cli(capsys, "render", "--format", "html", "-o", str(tmp_path))
    assert code == 0
    r = client.post("/api/render", json={"format": "html"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert r.text == (tmp_path / "hw2-1.html").read_text()
    assert "sandbox" in r.headers["content-security-policy"]
    code, _, _ = cli(capsys, "render", "--blank", "--format", "html", "-o", str(tmp_path))
    assert client.post("/api/render", json={"blank": True}).text == (tmp_path / "hw2-1-blank.html").read_text()


def test_render_pdf_and_a_marked_sheet(client):
    r = client.post("/api/render", json={"format": "pdf", "blank": True})
    assert r.status_code == 200 and r.content.startswith(b"%PDF")
    assert r.headers["content-type"] == "application/pdf"
    r = client.post("/api/render", json={"format": "html", "answers": answers_for(steps=(1,), slip=SLIP)})
    assert r.status_code == 200
    assert "the ½ of the loss is left out" in r.text and 'class="box wrong"' in r.text


# -- errors: the command line's messages, the right status, never a traceback -----------------------


def test_malformed_json_is_400(client):
    for body in (b"{", b"[1, 2]", b"\xff\xfe", b"", b'{"spec": NaN}', b"[" * 100_000):
        r = client.post("/api/check", content=body, headers={"content-type": "application/json"})
        assert r.status_code == 400, body[:10]
        assert r.json()["error"]
        no_traceback(r)


def test_a_body_over_1_mib_is_413(client):
    big = json.dumps({"spec": "#" * (MAX_BODY + 10)})
    r = client.post("/api/solve", content=big, headers={"content-type": "application/json"})
    assert r.status_code == 413 and "MiB" in r.json()["error"]

    def chunks():  # no Content-Length: counted as it arrives
        for _ in range(MAX_BODY // 65536 + 2):
            yield b" " * 65536

    r = client.post("/api/solve", content=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 413


def test_a_bad_spec_is_422_with_the_cli_message(client, capsys, tmp_path):
    bad = builtin_text().replace('activation = "relu"', 'activation = "relux"', 1)
    path = tmp_path / "hw3.toml"
    path.write_text(bad)
    code, _, err = cli(capsys, "solve", str(path))
    assert code == 2
    r = client.post("/api/solve", json={"spec": bad, "name": str(path)})
    assert r.status_code == 422
    assert f"worksheet: {r.json()['error']}" == err.strip()
    assert r.json()["line"] == next(n for n, line in enumerate(bad.splitlines(), 1) if "relux" in line)
    # in the second [[init.layers]] table: its line, not the first table's (line 13 for line 17)
    spec = (ROOT / "examples" / "class-variants.toml").read_text(encoding="utf-8")
    lines = spec.splitlines()
    second_b = [n for n, line in enumerate(lines, 1) if line.startswith("b = ")][1]
    second_w = [n for n, line in enumerate(lines, 1) if line.startswith("W = ")][1]
    for old, new, line in (("b = [0]", 'b = ["1/0"]', second_b), ("W = [[1, -0.5]]", 'W = [[1, "x"]]', second_w),
                           ('{ units = 1, activation = "identity" }', '{ units = 1, activation = "idx" }', 12)):
        assert lines[line - 1].strip().startswith(old.split(" = ")[0][:7]) and old in spec
        r = client.post("/api/validate", json={"spec": spec.replace(old, new)})
        assert r.status_code == 422 and r.json()["line"] == line, (new, r.json())
    # not TOML: the message names the line
    r = client.post("/api/validate", json={"spec": 'title = "x"\n[network\n'})
    assert r.status_code == 422 and r.json()["line"] == 2 and r.json()["error"].startswith("spec: not valid TOML")
    # beyond the limits
    r = client.post("/api/solve", json={"spec": builtin_text().replace("steps = 2", "steps = 99")})
    assert r.status_code == 422 and "steps" in r.json()["error"]
    no_traceback(r)


NOT_A_NUMBER_IN_A_BOX = ('"abc" is not a number; write a decimal with a point, as 0.25 or -1.125, or a fraction, '
                         "as 2/3; or leave the box empty")


def test_a_box_that_is_not_a_number_is_named_and_the_rest_marked(client):
    """One typo is the student's to fix at its box: the check answers 200, marks the rest, and names the
    box in `unreadable` with its own message (the page used to be refused once per bad box, 422)."""
    answers = answers_for(steps=(1,))
    answers["step1"]["z1_1"] = "abc"
    answers["step1"]["a1_1"] = "1/0"
    r = client.post("/api/check", json={"answers": answers})
    assert r.status_code == 200, r.text
    marking = r.json()
    assert marking["unreadable"] == {"step1.z1_1": NOT_A_NUMBER_IN_A_BOX,
                                     "step1.a1_1": "1/0 divides by zero, so it is not a number; write the "
                                                   "fraction you meant"}
    rows = {q["key"]: q for q in marking["quantities"]}
    assert rows["step1.z1_1"]["yours"] is None and rows["step1.a1_1"]["yours"] is None
    step1 = [q for q in quantities(solve(BUILTIN)) if q.step == 1]
    assert marking["counts"]["right"] == len(step1) - 2  # the rest, marked as ever
    # a sheet every box of which reads says nothing of it: the same JSON as `worksheet check --json`
    assert "unreadable" not in client.post("/api/check", json={"answers": answers_for()}).json()


def test_bad_answers_are_422_naming_the_box(client, capsys, tmp_path):
    # where a file is made of the answers, a number that cannot be read is refused, the box named
    r = client.post("/api/answers", json={"answers": {"step1": {"z1_1": "abc"}}})
    assert r.status_code == 422
    assert r.json()["key"] == "step1.z1_1"
    assert r.json()["error"] == f"answers: [step1] z1_1: {NOT_A_NUMBER_IN_A_BOX}"
    path = tmp_path / "answers"
    path.write_text('[step1]\nz1_1 = "abc"\n')
    _, _, err = cli(capsys, "check", str(path))
    # the command line's message, but for how a file's value is left empty
    assert err.strip() == f'worksheet: {path}:2: [step1] z1_1: "abc" is not a number; write a decimal with a point, ' \
                          'as 0.25 or -1.125, or a fraction, as 2/3; or leave "" for no answer'
    for answers, status in (({"step9": {}}, 422), ({"step1": {"zz": "1"}}, 422), ({"step1": []}, 422),
                            ("x", 400), ({"step1": {"z1_1": True}}, 422), ({"step1": {"z1_1": {"a": 1}}}, 422)):
        r = client.post("/api/check", json={"answers": answers})
        assert r.status_code == status, answers
        no_traceback(r)
    assert client.post("/api/check", json={}).status_code == 400
    assert client.post("/api/check", json={"answers": {"step1": {"z1_1": None}}}).json()["counts"]["missing"] > 0


@pytest.mark.parametrize("answers, key, says", [
    # a step the problem does not have: no one box is at fault
    ({"step9": {"z1_1": "1.5"}}, None, "answers: [step9] is not a step of this problem; the steps are [step1], "
                                       "[step2]"),
    # a name with a space at its end: shown quoted, so the space shows, and never taken for step1 itself
    ({"step1 ": {"z1_1": "1.5"}}, None, 'answers: ["step1 "] is not a step of this problem; the steps are [step1], '
                                        "[step2]; did you mean [step1]?"),
    # a box the sheet does not have: named exactly as sent, so the page flags no box of its own
    ({"step1": {"z1_1 ": "1.5"}}, "step1.z1_1 ", 'answers: [step1] "z1_1 " is not a quantity of this problem; '
                                                "did you mean z1_1"),
])
def test_a_422_names_the_key_as_it_was_sent(client, answers, key, says):
    r = client.post("/api/check", json={"answers": answers})
    assert r.status_code == 422
    assert r.json()["key"] == key
    assert r.json()["error"].startswith(says), r.json()["error"]


def test_a_field_an_endpoint_does_not_take_is_named(client):
    r = client.post("/api/check", json={"answerz": {"step1": {"z1_1": "1.5"}}})
    assert r.status_code == 400
    assert r.json()["error"] == '"answerz": not a field of /api/check (did you mean answers?); it takes answers, ' \
                                "decimals, spec, name, problem, student, seed"
    r = client.post("/api/render", json={"fromat": "pdf"})
    assert r.status_code == 400 and r.json()["error"].startswith('"fromat": not a field of /api/render (did you '
                                                                 "mean format?); it takes format, blank")
    for path in ("/api/validate", "/api/solve", "/api/answers", "/api/variant"):
        r = client.post(path, json={"spce": builtin_text()})
        assert r.status_code == 400 and r.json()["error"].startswith(f'"spce": not a field of {path} (did you mean '
                                                                     "spec?)"), path


def test_unknown_problem_is_404_and_no_path_is_read(client):
    for pid in ("nope", "../../etc/passwd", "/etc/passwd", "..%2Fpyproject"):
        r = client.post("/api/check", json={"problem": pid, "answers": {}})
        assert r.status_code == 404 and "no such problem" in r.json()["error"]
    assert client.get("/api/problems/nope").status_code == 404
    assert client.get("/student/nope").status_code == 404
    assert client.get("/api/nothing").status_code == 404
    assert client.get("/api/nothing").json() == {"error": "no such page"}
    assert client.get("/static/../app.py").status_code == 404
    assert client.post("/api/solve", json={"spec": "", "problem": "hw2-1"}).status_code == 400


def test_wrong_options_are_400(client):
    for body in ({"format": "docx"}, {"blank": "yes"}, {"decimals": 99}, {"formulas": "hide"}, {"spec": 3}):
        r = client.post("/api/render", json=body)
        assert r.status_code == 400, body
        assert r.json()["error"]


def test_an_internal_error_is_logged_and_answered_without_a_traceback(client, monkeypatch, caplog):
    def broken(*args):
        raise RuntimeError("a bug")

    monkeypatch.setattr(web, "do_check", broken)
    with caplog.at_level(logging.ERROR, logger="worksheet.web"):
        r = client.post("/api/check", json={"answers": {}})
    assert r.status_code == 500 and r.json() == {"error": web.INTERNAL}
    no_traceback(r)
    assert "a bug" in caplog.text  # on the server, with its traceback
    assert client.post("/api/check", json={"answers": {}}).status_code == 500
    monkeypatch.undo()
    assert client.post("/api/check", json={"answers": {}}).status_code == 200  # still serving


def test_another_host_name_is_refused(client):
    r = client.get("/", headers={"host": "evil.example"})
    assert r.status_code == 400


# -- pages ----------------------------------------------------------------------------------------


def test_the_pages(client):
    r = client.get("/")
    assert r.status_code == 200 and "/student/hw2-1" in r.text and "/student/mazur" in r.text
    assert "script-src 'self'" in r.headers["content-security-policy"]
    r = client.get("/student/hw2-1")
    assert r.status_code == 200
    names = re.findall(r'<input type="text" name="([^"]+)"', r.text)
    assert names == [q.key for q in quantities(solve(BUILTIN))]
    assert 'data-mirror="step1.new_W1_1_1"' in r.text  # step 2's old p is step 1's new p, not asked again
    r = client.get("/instructor?problem=mazur")
    assert r.status_code == 200 and "biases frozen" in r.text and "<textarea" in r.text
    for name in ("web.css", "student.js", "instructor.js"):
        assert client.get(f"/static/{name}").status_code == 200


def test_every_example_has_a_student_page(client):
    for p in client.get("/api/problems").json()["problems"]:
        r = client.get(f"/student/{p['id']}")
        assert r.status_code == 200, p
        spec = parse_spec(client.get(f"/api/problems/{p['id']}").json()["spec"], "x")
        assert re.findall(r'<input type="text" name="([^"]+)"', r.text) == [q.key for q in quantities(solve(spec))]


def test_a_problems_folder(tmp_path):
    (tmp_path / "hw3.toml").write_text(builtin_text().replace("HW2-1", "HW3"))
    (tmp_path / "broken.toml").write_text("[network\n")
    (tmp_path / "notes.txt").write_text("not a problem")
    with TestClient(web.create_app(tmp_path)) as c:
        listed = {p["id"]: p for p in c.get("/api/problems").json()["problems"]}
        assert "hw3" in listed and "broken" in listed and "notes" not in listed
        assert listed["broken"]["error"].startswith(str(tmp_path / "broken.toml"))
        assert "HW3" in c.get("/student/hw3").text
        r = c.post("/api/check", json={"problem": "broken", "answers": {}})
        assert r.status_code == 422 and "not valid TOML" in r.json()["error"]
        assert c.get("/student/broken").status_code == 422


# -- a real server: the command, and a bounded load ---------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serving(app):
    """`app` under uvicorn in a background thread on a free loopback port: yields its base URL."""
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=free_port(), log_level="warning",
                                           access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{server.config.port}"
    server.should_exit = True
    thread.join(10)


@pytest.fixture(scope="module")
def live_server():
    """The app under uvicorn in a background thread on a free loopback port: its base URL."""
    yield from serving(web.create_app())


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    pytest.skip("no /proc/self/status to read the memory from")


def test_50_concurrent_checks(live_server):
    import httpx2 as httpx

    bodies = [{"answers": answers_for(steps=(1,), slip=SLIP if n % 2 else None)} for n in range(50)]

    async def round_of_50():
        async with httpx.AsyncClient(base_url=live_server, timeout=60) as c:
            return await asyncio.gather(*(c.post("/api/check", json=b) for b in bodies))

    first = asyncio.run(round_of_50())
    assert all(r.status_code == 200 for r in first)
    assert {r.json()["first_wrong"] for r in first} == {None, SLIP}
    before = rss_mb()
    second = asyncio.run(round_of_50())
    assert all(r.status_code == 200 for r in second)
    assert rss_mb() - before < 50


def serve_stopped(tmp_path, visit) -> tuple[subprocess.Popen, str, str]:
    """`worksheet serve` as a process: `visit(address)` while it runs, then Ctrl-C; the process, its stdout
    and its stderr."""
    proc = subprocess.Popen([sys.executable, "-m", "worksheet", "serve", "--port", "0", "--problems", str(tmp_path)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        m = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
        assert m, line + proc.stderr.read()
        visit(f"http://127.0.0.1:{m[1]}")
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=20)
    finally:
        proc.kill()
    return proc, out, err


def test_serve_prints_its_address_and_stops_on_ctrl_c(tmp_path):
    import httpx2 as httpx

    def visit(address):
        assert httpx.get(f"{address}/api/problems").status_code == 200

    proc, out, err = serve_stopped(tmp_path, visit)
    assert proc.returncode == 0, err
    assert "stopped" in out and "Traceback" not in err


def test_serve_does_not_print_weasyprints_progress(tmp_path):
    """`serve` logs at INFO for its own messages; a PDF made in it must not add WeasyPrint's progress lines
    ("INFO: Step 2 - Fetching and parsing CSS - CSS string", logged as WeasyPrint is imported)."""
    import httpx2 as httpx

    def visit(address):
        for _ in range(2):
            r = httpx.post(f"{address}/api/render", json={"blank": True, "format": "pdf"}, timeout=120)
            assert r.status_code == 200 and r.content.startswith(b"%PDF")

    _, _, err = serve_stopped(tmp_path, visit)
    assert "Step" not in err and "weasyprint" not in err.lower() and "INFO" not in err, err


def test_the_wheel_ships_the_web_app_and_the_examples(tmp_path):
    """A non-editable install has the pages' templates, scripts and style, and the examples it offers."""
    import zipfile

    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
                    "-w", str(tmp_path), str(ROOT)], check=True, capture_output=True)
    names = set(zipfile.ZipFile(next(tmp_path.glob("worksheet-*.whl"))).namelist())
    for name in ("base.html.j2", "student.html.j2", "instructor.html.j2", "index.html.j2", "error.html.j2",
                 "class_login.html.j2"):
        assert f"worksheet/web/templates/{name}" in names
    for name in ("web.css", "student.js", "instructor.js"):
        assert f"worksheet/web/static/{name}" in names
    for example in (ROOT / "examples").glob("*.toml"):
        assert f"worksheet/examples/{example.name}" in names


# -- class mode: `worksheet serve --class DIR` ---------------------------------------------------------

CLASS_IDS = ("s01", "s02", "s03")
CLASS_NAMES = {"s01": "Ada Lovelace", "s02": "Alan Turing", "s03": "Grace Hopper"}


def make_class(folder, ids=CLASS_IDS, seed="test-web"):
    """A class directory as `worksheet class` lays it out (class.csv, variants/), its PDFs left out."""
    from worksheet.classes.roster import Entry, Layout, class_csv
    from worksheet.classes.variants import parse_variants, roster_variants, to_toml
    from worksheet.spec import fingerprint

    text = (ROOT / "examples" / "class-variants.toml").read_text(encoding="utf-8")
    base, variants = parse_variants(text, "class-variants.toml")
    specs = roster_variants(base, variants, ids, seed=seed)
    (folder / "variants").mkdir(parents=True)
    entries = []
    for sid, spec in specs.items():
        layout = Layout(sid)
        (folder / layout.variant).write_text(to_toml(spec), encoding="utf-8")
        entries.append(Entry(sid, CLASS_NAMES.get(sid, ""), fingerprint(spec), layout.variant, layout.key,
                             layout.sheet))
    (folder / "class.csv").write_text(class_csv(entries), encoding="utf-8")
    return specs


@pytest.fixture()
def a_class(tmp_path):
    root = tmp_path / "class"
    return root, make_class(root)


def given_numbers(html: str) -> str:
    """The page's Given table, its tags stripped: what a student reads their numbers from."""
    table = re.search(r'<table class="given">(.*?)</table>', html, re.S)[1]
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", table))


def test_class_sign_in_and_each_student_sees_their_own_numbers(a_class):
    root, specs = a_class
    with TestClient(web.create_app(class_dir=root), raise_server_exceptions=False) as c:
        r = c.get("/")
        assert r.status_code == 200 and 'action="/class"' in r.text and "Homework 3" in r.text
        assert "/instructor" not in r.text  # a class server offers its students nothing but their sheet
        r = c.get("/class", params={"id": "s01"}, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/class/s01"
        r = c.get("/class", params={"id": " S02 "}, follow_redirects=False)  # as typed: any case, spaces
        assert r.status_code == 303 and r.headers["location"] == "/class/s02"
        pages = {sid: c.get(f"/class/{sid}") for sid in CLASS_IDS}
        for sid, page in pages.items():
            assert page.status_code == 200
            assert CLASS_NAMES[sid] in page.text and f"ID {sid}" in page.text
            assert f"(student {sid})" in page.text
            names = re.findall(r'<input type="text" name="([^"]+)"', page.text)
            assert names == [q.key for q in quantities(solve(specs[sid]))]
            assert f'data-submit="/api/class/{sid}/submit"' in page.text and "Not submitted yet" in page.text
        # two students, two sets of numbers, each their own variant's
        shown = {sid: given_numbers(p.text) for sid, p in pages.items()}
        assert len(set(shown.values())) == len(CLASS_IDS)
        assert specs["s01"].weights != specs["s02"].weights


def test_class_unknown_and_path_ids_are_4xx(a_class):
    root, _ = a_class
    (root / "secret.toml").write_text('title = "not a student"\n')
    with TestClient(web.create_app(class_dir=root), raise_server_exceptions=False) as c:
        for typed in ("nobody", "../secret", "../../etc/passwd", "/etc/passwd", "s01/../s02", "..", ".", "s0*",
                      "s01\x00", "variants/s01", "x" * 500):
            r = c.get("/class", params={"id": typed}, follow_redirects=False)
            assert r.status_code == 404, typed
            assert "no student with the ID" in r.text and 'action="/class"' in r.text
            no_traceback(r)
        assert c.get("/class", params={"id": ""}).status_code == 400
        for path in ("/class/nobody", "/class/..%2Fsecret", "/class/%2e%2e", "/class/s01%2F..%2Fs02"):
            r = c.get(path, follow_redirects=False)
            assert 400 <= r.status_code < 500, path
            no_traceback(r)
        for sid in ("nobody", "..%2Fsecret", "%2e%2e"):
            for what in ("check", "submit", "answers"):
                r = c.post(f"/api/class/{sid}/{what}", json={"answers": {"step1": {"z1_1": "1"}}})
                assert 400 <= r.status_code < 500 and "error" in r.json(), (sid, what)
        # the open API and the editor are not served: they would render any spec's key
        for path in ("/instructor", "/student/hw2-1", "/api/problems"):
            assert c.get(path).status_code == 404, path
        for path in ("/api/solve", "/api/render", "/api/check", "/api/variant"):
            assert c.post(path, json={}).status_code == 404, path
        assert c.get("/", headers={"host": "evil.example"}).status_code == 400  # allowed hosts, as before
    assert not (root / "submissions").exists()


def test_class_marks_against_their_own_key_and_sends_no_key_values(a_class):
    root, specs = a_class
    with TestClient(web.create_app(class_dir=root)) as c:
        mine = c.post("/api/class/s02/check", json={"answers": answers_for(specs["s02"])}).json()
        assert mine["feedback"] is True and mine["first_wrong"] is None
        assert mine["counts"]["right"] == len(quantities(solve(specs["s02"])))
        theirs = c.post("/api/class/s02/check", json={"answers": answers_for(specs["s01"], steps=(1,))}).json()
        assert theirs["first_wrong"] is not None  # s01's numbers are not s02's
        slipped = c.post("/api/class/s02/check", json={"answers": answers_for(specs["s02"], slip=SLIP)}).json()
        row = next(q for q in slipped["quantities"] if q["key"] == SLIP)
        assert row["verdict"] == "wrong" and row["mistake"]["id"] == "half"
        for marking in (mine, theirs, slipped):
            for q in marking["quantities"]:
                assert not set(q) & {"expected", "expected_exact", "expected_text", "from_yours"}
        r = c.post("/api/class/s02/check", json={"answers": {"step1": {"z1_1": "abc"}}})
        assert r.status_code == 200 and r.json()["unreadable"] == {"step1.z1_1": NOT_A_NUMBER_IN_A_BOX}
        r = c.post("/api/class/s02/check", json={"answerz": {}})
        assert r.status_code == 400 and r.json()["error"].startswith('"answerz": not a field of /api/class/s02/check '
                                                                     "(did you mean answers?); it takes answers")


def test_class_students_submit_and_grade_marks_them(a_class, capsys):
    """A class of 3: s01 submits right answers, s02 one slip (then again, corrected only in part),
    s03 nothing; `worksheet grade DIR DIR/submissions` marks them against their own variants."""
    from worksheet.classes.classdir import grade_dir, last_submission

    root, specs = a_class
    with TestClient(web.create_app(class_dir=root)) as c:
        r = c.post("/api/class/s01/submit", json={"answers": answers_for(specs["s01"])})
        assert r.status_code == 200, r.text
        assert r.json()["number"] == 1 and r.json()["file"] == "submissions/s01.toml"
        assert r.json()["answered"] == r.json()["boxes"]
        first = answers_for(specs["s02"], steps=(1,))
        assert c.post("/api/class/s02/submit", json={"answers": first}).json()["number"] == 1
        r = c.post("/api/class/s02/submit", json={"answers": answers_for(specs["s02"], slip=SLIP)})
        assert r.json()["number"] == 2  # a resubmission replaces the file, and both are kept
        # nothing, or a number that cannot be read: refused, and the last submission stays
        kept = (root / "submissions" / "s02.toml").read_bytes()
        r = c.post("/api/class/s02/submit", json={"answers": {}})
        assert r.status_code == 422 and "nothing to submit" in r.json()["error"]
        r = c.post("/api/class/s02/submit", json={"answers": {"step1": {"z1_1": "1.5x"}}})
        assert r.status_code == 422 and r.json()["key"] == "step1.z1_1"
        assert (root / "submissions" / "s02.toml").read_bytes() == kept
        page = c.get("/class/s02").text
        assert "Submitted" in page and "submission 2" in page
        # a browser new to the sheet starts from the last submission
        prefill = json.loads(html.unescape(re.search(r'data-prefill="([^"]*)"', page)[1]))
        want = answers_for(specs["s02"], slip=SLIP)
        assert prefill == {f"{step}.{k}": v for step, entries in want.items() for k, v in entries.items()}
        assert re.search(r'data-prefill="([^"]*)"', c.get("/class/s03").text)[1] == "{}"
    history = root / "submissions" / ".history" / "s02"
    assert sorted(p.name for p in history.iterdir()) == ["1.toml", "2.toml"]
    assert (history / "2.toml").read_bytes() == kept
    assert kept.decode().startswith("# Submission 2 of student s02, ")
    assert last_submission(root, "s02").number == 2 and last_submission(root, "s03") is None
    assert not [p for p in (root / "submissions").rglob("*.tmp")]

    _, _, _, book = grade_dir(root, root / "submissions")
    rows = {r.entry.id: r for r in book.rows}
    assert rows["s01"].status == "marked" and rows["s01"].score == rows["s01"].points and not rows["s01"].notes
    assert rows["s02"].status == "marked" and rows["s02"].first_wrong == SLIP
    assert ("half", SLIP) in rows["s02"].slips and rows["s02"].score < rows["s02"].points
    assert rows["s03"].status == "no submission"
    assert not book.unmatched  # .history is not a submission
    code, out, _ = cli(capsys, "grade", str(root), str(root / "submissions"), "-o", str(root / "book.csv"))
    assert code == 0 and "s01  " in out and "marked" in out


def test_an_empty_sheet_is_refused_by_the_class_directory_itself(a_class):
    """classdir.submit, not only the web page, refuses a sheet with no number: nothing is written, and
    the earlier submission stays as it was (a script or another front end calling it gets the same rule)."""
    from worksheet.answers import parse_answers
    from worksheet.classes.classdir import EmptySubmission, submit

    root, specs = a_class
    sol = solve(specs["s01"])
    submit(root, "s01", sol, parse_answers(toml_of(answers_for(specs["s01"])), "s01.toml", sol))
    kept = (root / "submissions" / "s01.toml").read_bytes()
    for empty in ("", '[step1]\nz1_1 = ""\n'):
        with pytest.raises(EmptySubmission, match="nothing to submit"):
            submit(root, "s01", sol, parse_answers(empty, "s01.toml", sol))
    assert (root / "submissions" / "s01.toml").read_bytes() == kept
    assert sorted(p.name for p in (root / "submissions" / ".history" / "s01").iterdir()) == ["1.toml"]
    assert parse_answers(kept.decode(), "s01.toml", sol).keys() == {q.key for q in quantities(sol)}


def test_class_without_feedback_reads_but_does_not_mark(a_class):
    root, specs = a_class
    with TestClient(web.create_app(class_dir=root, feedback=False)) as c:
        page = c.get("/class/s03").text
        assert 'data-feedback="off"' in page and "not marked here" in page
        r = c.post("/api/class/s03/check", json={"answers": answers_for(specs["s03"], slip=SLIP)})
        assert r.json() == {"feedback": False, "answered": len(quantities(solve(specs["s03"]))),
                            "boxes": len(quantities(solve(specs["s03"])))}
        r = c.post("/api/class/s03/check", json={"answers": {"step1": {"z1_1": "abc"}}})
        assert r.status_code == 200  # a typo is still said at once, at its box
        assert r.json() == {"feedback": False, "answered": 0, "boxes": len(quantities(solve(specs["s03"]))),
                            "unreadable": {"step1.z1_1": NOT_A_NUMBER_IN_A_BOX}}
        assert c.post("/api/class/s03/submit", json={"answers": answers_for(specs["s03"])}).status_code == 200
        r = c.post("/api/class/s03/answers", json={"answers": answers_for(specs["s03"], steps=(1,))})
        assert r.status_code == 200 and "s03-answers.toml" in r.headers["content-disposition"]


def test_serve_class_options(tmp_path, capsys):
    code, _, err = cli(capsys, "serve", "--class", str(tmp_path / "none"))
    assert code == 2 and "no such folder" in err
    code, _, err = cli(capsys, "serve", "--feedback", "off")
    assert code == 2 and "--class" in err
    code, _, err = cli(capsys, "serve", "--class", str(tmp_path), "--problems", str(tmp_path))
    assert code == 2 and "not both" in err


# -- the editor: a student's variant ---------------------------------------------------------------------


def test_the_editor_previews_a_students_variant_as_worksheet_variant_prints_it(client, capsys):
    path = ROOT / "examples" / "class-variants.toml"
    text = path.read_text(encoding="utf-8")
    code, out, _ = cli(capsys, "variant", str(path), "--student", "alice", "--seed", "2025")
    assert code == 0
    r = client.post("/api/variant", json={"spec": text, "name": str(path), "student": "alice", "seed": "2025"})
    assert r.status_code == 200 and r.text == out
    v = client.post("/api/validate", json={"spec": text, "name": str(path), "student": "alice",
                                           "seed": "2025"}).json()
    assert v["variants"] is True and v["student"] == "alice" and v["title"].endswith("(student alice)")
    assert v["sheet"] == fingerprint(parse_spec(out, "alice.toml"))  # the sheet alice's class set prints
    assert client.post("/api/validate", json={"spec": text}).json()["variants"] is True
    assert client.post("/api/validate", json={"spec": builtin_text()}).json()["variants"] is False
    key = client.post("/api/render", json={"spec": text, "student": "alice", "seed": "2025"}).text
    assert "(student alice)" in key
    bob = client.post("/api/render", json={"spec": text, "student": "bob", "seed": "2025"}).text
    assert "(student bob)" in bob and key.replace("alice", "bob") != bob  # other numbers
    # the table's seed when none is given, as `worksheet variant` without --seed
    _, out, _ = cli(capsys, "variant", str(path), "--student", "alice")
    same = client.post("/api/variant", json={"spec": text, "name": str(path), "student": "alice", "seed": ""})
    assert same.text == out
    r = client.post("/api/variant", json={"spec": builtin_text(), "student": "alice"})
    assert r.status_code == 422 and "[variants] table" in r.json()["error"]
    r = client.post("/api/variant", json={"spec": text, "student": " alice"})
    assert r.status_code == 422 and "student ID" in r.json()["error"]
    assert client.post("/api/variant", json={"spec": text, "student": 3}).status_code == 400
    assert client.post("/api/variant", json={"spec": text}).status_code == 400


def test_another_sites_page_cannot_post_to_the_api(client):
    """Any page a student opens could send a form or a "simple" fetch here (no preflight): the API
    takes JSON only as application/json, and refuses what a browser says came from another site."""
    body = json.dumps({"answers": answers_for()})
    r = client.post("/api/check", content=body, headers={"content-type": "text/plain"})
    assert r.status_code == 415 and "application/json" in r.json()["error"]
    for headers in ({"origin": "http://evil.example"}, {"sec-fetch-site": "cross-site"}):
        r = client.post("/api/check", content=body, headers={"content-type": "application/json", **headers})
        assert r.status_code == 403, headers
    same = {"content-type": "application/json", "origin": "http://testserver", "sec-fetch-site": "same-origin"}
    assert client.post("/api/check", content=body, headers=same).status_code == 200


def test_class_submit_from_another_sites_page_is_refused_and_writes_nothing(a_class):
    """The attack the check above stops: a page on another site submitting in a student's name."""
    root, specs = a_class
    body = json.dumps({"answers": answers_for(specs["s02"])})
    with TestClient(web.create_app(class_dir=root)) as c:
        assert c.post("/api/class/s02/submit", content=body, headers={"content-type": "text/plain"}).status_code == 415
        r = c.post("/api/class/s02/submit", content=body,
                   headers={"content-type": "application/json", "origin": "http://evil.example"})
        assert r.status_code == 403
    assert not (root / "submissions").exists() or not any((root / "submissions").iterdir())
