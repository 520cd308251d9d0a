"""The rendered worksheet: the PDF's text (not its bytes), the blank sheet,
the HTML golden files, templates, escaping and what WeasyPrint may fetch."""

import html as html_module
import re
import shutil
import unicodedata
from fractions import Fraction
from io import BytesIO

import pytest
from conftest import PROBLEMS, ROOT, load, printout_text
from pypdf import PdfReader

from worksheet.document import Options, build
from worksheet.pdf import PdfError, to_pdf
from worksheet.render import TemplateError, to_html
from worksheet.solve import solve
from worksheet.spec import builtin_text, parse_spec
from worksheet.trace import run

GOLDEN = ROOT / "tests" / "golden"
NUMBER = re.compile(r"−?-?\d+(?:\.\d+)?")


def html_for(spec, blank=False, decimals=4, templates=None) -> str:
    doc = build(solve(spec), run(spec, 10), Options(decimals, blank), torch_script="# script" if blank else "")
    return to_html(doc, templates)


def pages(pdf: bytes) -> list[str]:
    """Each page's text, with math italics and sub/superscripts folded back (𝑤⁽¹⁾₁₁ -> w(1)11)."""
    return [unicodedata.normalize("NFKC", page.extract_text()) for page in PdfReader(BytesIO(pdf)).pages]


def numbers(text: str) -> set[float]:
    text = re.sub(r"\(\d+\)", "", text)  # equation numbers
    return {round(float(n.replace("−", "-")), 4) for n in NUMBER.findall(text)}


@pytest.fixture(scope="module")
def builtin():
    return parse_spec(builtin_text(), "builtin")


@pytest.fixture(scope="module")
def key_pages(builtin):
    return pages(to_pdf(html_for(builtin)))


@pytest.fixture(scope="module")
def blank_pages(builtin):
    return pages(to_pdf(html_for(builtin, blank=True)))


PRINTED_NUMBER = re.compile(r"-?\d+\.\d*(?:e[-+]?\d+)?")


def printed_iteration(i: int, parameters_only: bool = False) -> list[float]:
    """The numbers the homework's printout gives for iteration i (its own text, not
    ours): all 36, or only the parameters ("Parameter containing:" blocks)."""
    text = printout_text()
    block = text[text.index(f"Iters {i}\n"):text.index(f"Iters {i + 1}\n")]
    if parameters_only:
        block = "".join(re.findall(r"Parameter containing:(.*?)Gradient", block, flags=re.S))
    return [float(v) for v in PRINTED_NUMBER.findall(block)]


def test_key_holds_every_number_of_both_steps_as_the_homework_prints_them(key_pages):
    shown = numbers(" ".join(key_pages))
    # parameters, gradients and outputs before step 1 and step 2, and the parameters after
    for iteration, only_params in ((0, False), (1, False), (2, True)):
        expected = printed_iteration(iteration, only_params)
        assert len(expected) == (13 if only_params else 36)
        missing = [v for v in expected if round(v, 4) not in shown]
        assert not missing, (iteration, missing)
    text = " ".join(key_pages)
    # NOTES.md's exact values of the first step, beside their decimals
    assert "6.125" in text and "3.5" in text and "0.86" in text and "0.9475" in text
    assert "Step 1 of 2" in text and "Step 2 of 2" in text


def test_key_page_count_is_sane_and_numbered(key_pages):
    assert 6 <= len(key_pages) <= 20
    for n, page in enumerate(key_pages, start=1):
        assert f"page {n} of {len(key_pages)}" in page


def test_key_shows_the_derivation_with_its_chain_rule(key_pages):
    text = " ".join(key_pages)
    assert "The derivation, once" in text
    # δ(1)1 in symbols, as pypdf reads the stacked fractions; ∂L/∂w(1)11 from it
    assert "= δ(1)1·x" in text
    assert "(δ(2)1·w(2)11 + δ(2)2·w(2)21)" in text


def test_key_checks_against_pytorch_and_plots_the_loss(key_pages):
    text = " ".join(key_pages)
    assert "Check against PyTorch" in text
    assert "tensor(6.1250)" in text and "DIFFERS" not in text
    assert text.count("agrees") == 2 * 14
    assert "The loss over 10 iterations" in text


def test_blank_sheet_has_a_labelled_box_for_every_quantity(builtin, blank_pages):
    text = " ".join(blank_pages)
    sol = solve(builtin)
    der = sol.derivation
    names = [eq.name for eq in der.forward + (der.loss,) + der.output_grads + der.deltas + der.grads]
    for name in names:
        assert len(re.findall(rf"(?<![\w]){re.escape(name)}(?![\w])", text)) >= 2, name  # once per step
    for group in ("W1_1_1", "b3_1"):
        assert f"new_{group}" in text and f"eta_d{group}" in text


def test_blank_sheet_gives_no_answer_away(blank_pages):
    text = " ".join(blank_pages)
    shown = numbers(text)
    # what a student must work out: z, ŷ, L, gradients and updated parameters (the homework printout)
    answers = {1.5, 2.5, 4.5, 6.125, 8.75, 5.25, 14.0, 0.86, 0.9475, 0.9125, 1.0742, 5.0691, 0.8093}
    assert not answers & shown, answers & shown
    assert "Check your work" in text and "PyTorch prints" not in text


# -- the blank sheet and the key's steps, read with the tests' own readers (tests/independent.py) -------

def solved_answers(name: str, capsys) -> dict:
    """Every number a student works out, by the answers file's key, as `worksheet solve --json` prints it."""
    import json
    from fractions import Fraction

    from independent import spec_path

    from worksheet.cli import main

    assert main(["solve", "--json", *([] if name == "builtin" else [str(spec_path(name))])]) == 0
    steps = json.loads(capsys.readouterr().out)["steps"]
    return {q["key"]: Fraction(q["exact"]) for step in steps for q in step["quantities"]}


@pytest.mark.parametrize("name", PROBLEMS)
def test_every_box_of_a_blank_sheet_holds_only_its_label_and_its_field(name, capsys):
    """Read as a browser parses the page: each box is its label and an empty input, each working
    area empty; and the inputs are exactly the numbers `solve --json` asks for."""
    from independent import Node, parse_html

    spec = load(name)
    asked = solved_answers(name, capsys)
    for formulas in (True, False):
        page = parse_html(to_html(build(solve(spec), run(spec, spec.steps), Options(blank=True, formulas=formulas))))
        boxes = page.find_all("span", "box")
        fields = []
        for box in boxes:
            where = (box.attrs.get("data-name"), formulas)
            inside = [child for child in box.children if isinstance(child, Node)]
            label, *inputs = inside
            assert "lbl" in label.classes and re.fullmatch(r"[\w.]+", label.text()), where
            assert all(i.tag == "input" and not i.attrs.get("value") for i in inputs), where
            assert not box.own_text().strip(), (where, box.own_text())
            fields += [i.attrs["name"] for i in inputs]
        assert sorted(fields) == sorted(asked)
        assert all(not area.text().strip() for area in page.find_all("span", "working"))


@pytest.mark.parametrize("name", ["builtin", "mazur", "class-variants"])
def test_a_blank_pdfs_fields_are_empty_and_its_text_holds_no_answer(name, capsys):
    """No number of the key's answers (`solve --json`) anywhere in the PDF's text, page headers, page
    numbers, equation numbers and a label's indices aside. An answer equal to a given number (x, y, a
    weight, a bias, η, the number of updates) cannot be told from the Given table or the picture,
    which state it, and is not looked for."""
    from fractions import Fraction

    from independent import PRINTED, flat_given, number, read_spec, spec_text

    spec = load(name)
    reader = PdfReader(BytesIO(to_pdf(to_html(build(solve(spec), run(spec, spec.steps), Options(blank=True))))))
    asked = solved_answers(name, capsys)
    fields = reader.get_fields()
    assert set(fields) == set(asked) and all(not field.get("/V") for field in fields.values())
    given = read_spec(spec_text(name))
    givens = {v for values in flat_given(given).values() for v in values} | {Fraction(given.steps)}
    answers = {key: value for key, value in asked.items() if value not in givens}
    assert len(answers) > len(asked) / 2
    text = "\n".join(page.extract_text() for page in reader.pages)
    for furniture in (r"page \d+ of \d+", r"Step \d+ of \d+", r"(?m)^\(\d+\)", r"layer \d+", r"\(sample \d+\)"):
        text = re.sub(furniture, " ", text)
    leaked = []
    for shown in PRINTED.finditer(text):
        value = number(shown.group())
        decimals = len(shown.group().partition(".")[2]) if "/" not in shown.group() else 0
        for key, answer in answers.items():
            # an answer shows as its exact value or rounded to 3 or more decimals
            if value == answer or (decimals >= 3 and abs(value - answer) <= Fraction(1, 2 * 10**decimals)):
                leaked.append((key, shown.group(), text[max(0, shown.start() - 30):shown.end()]))
    assert not leaked, leaked


def _update_tables(html: str) -> dict:
    """Each step's update table as a reader sees it, the check section left out: {(step, parameter):
    {column heading: the number printed}}, the parameter as its row heading reads (w(1)21, b(3)1)."""
    from independent import parse_html

    out = {}
    for section in parse_html(html).find_all("section", "step"):
        step = int(re.search(r"Step (\d+) of", section.text()).group(1))
        [table] = section.find_all("table", "updates")
        heads = [" ".join(th.text().split()) for th in table.find_all("thead")[0].find_all("th")]
        for row in table.find_all("tbody")[0].find_all("tr"):
            head, *cells = [c for c in row.children if not isinstance(c, str)]
            values = {}
            for title, cell in zip(heads[1:], cells):
                boxes = cell.find_all("span", "box")
                values[title] = boxes[0].own_text().strip() if boxes else cell.text().strip()
            out[step, unicodedata.normalize("NFKC", head.text())] = values
    return out


def _agrees(shown: str, reference: float, slack: float) -> bool:
    """A printed cell ("0.9475", "−0.007687", "0.02583 (31/1200)") against a reference value."""
    from independent import agrees

    return agrees(shown.split()[0], reference, slack)


def _printout_parameters(iteration: int) -> dict:
    """The homework printout's numbers of one iteration, as its script printed them: {("W", 2): {"param":
    rows, "grad": rows}, ("b", 2): ..., ("z", 2): a layer's output, ("a", 2): its ReLU's output}."""
    import ast

    text = printout_text()
    block = text[text.index(f"Iters {iteration}\n"):text.index(f"Iters {iteration + 1}\n")]
    # the transcription breaks a tensor or two with an empty code fence
    block = "\n".join(line for line in block.splitlines() if line.strip() not in ("", "```"))
    out: dict = {}
    for layer, kind, what, tensor in re.findall(
            r"Layer(\d) (weight|bias) (Parameter containing:|Gradient)\ntensor\(([^()]*?)(?:, requires_grad=True)?\)",
            block):
        out.setdefault(("W" if kind == "weight" else "b", int(layer)), {})[
            "param" if what.startswith("Parameter") else "grad"] = ast.literal_eval(tensor)
    for kind, layer, tensor in re.findall(r"(Layer|ReLU)(\d) output:\ntensor\(([^()]*?), grad_fn=<\w+>\)", block):
        out["z" if kind == "Layer" else "a", int(layer)] = ast.literal_eval(tensor)
    return out


def _entry(rows, parameter: str):
    """The value of w(l)ij (row i, column j) or b(l)i in a layer's tensor."""
    kind, indices = parameter[0], [int(c) - 1 for c in re.fullmatch(r"[wb]\(\d+\)(\d+)", parameter).group(1)]
    return rows[indices[0]][indices[1]] if kind == "w" else rows[indices[0]]


def test_the_keys_update_tables_are_the_homeworks_printout_cell_by_cell(builtin):
    """Step s's old p and new p are the printout's parameters of iterations s-1 and s, its ∂L/∂p the
    gradient of iteration s-1, and η·∂L/∂p that gradient times η = 0.01; every parameter, both steps."""
    tables = _update_tables(html_for(builtin))
    assert len(tables) == 2 * 13
    for (step, parameter), cells in tables.items():
        before, after = _printout_parameters(step - 1), _printout_parameters(step)
        group = ("W" if parameter[0] == "w" else "b", int(parameter[2]))
        grad = _entry(before[group]["grad"], parameter)
        expected = {"old p": _entry(before[group]["param"], parameter), "∂L/∂p": grad, "η·∂L/∂p": 0.01 * grad,
                    "new p": _entry(after[group]["param"], parameter)}
        assert set(cells) == set(expected), cells
        for column, value in expected.items():
            # the printout shows 4 decimals of a float32
            slack = 0.5e-4 * (0.01 if column == "η·∂L/∂p" else 1) + 1e-6
            assert _agrees(cells[column], value, slack), (step, parameter, column, cells[column], value)


def test_the_keys_boxes_are_the_homeworks_printout_step_by_step(key_pages):
    """Each step's boxes on the key's pages (the check section left out), by their labels, against
    the printout's iteration: a layer's output is z, its ReLU's a, ŷ the last layer's output, a bias
    gradient the unit's δ; L = ½·(ŷ − 1)² and ∂L/∂ŷ = ŷ − 1 from the printed ŷ."""
    from independent import agrees, boxed_values

    steps = boxed_values("\n".join(key_pages))
    assert set(steps) == {1, 2}
    for step, boxes in steps.items():
        printed, after = _printout_parameters(step - 1), _printout_parameters(step)
        [yhat] = printed["z", 3]
        expected = {"L": (0.5 * (yhat - 1) ** 2, 0.5e-4 * abs(yhat - 1) + 1e-6), "dL_dyhat1": (yhat - 1, 1e-4),
                    "a3_1": (yhat, 1e-4)}
        for layer in (1, 2, 3):
            grads = printed["W", layer]["grad"]
            for i, (z, delta) in enumerate(zip(printed["z", layer], printed["b", layer]["grad"]), start=1):
                expected[f"z{layer}_{i}"] = (z, 1e-4)
                expected[f"delta{layer}_{i}"] = expected[f"db{layer}_{i}"] = (delta, 1e-4)
                expected[f"new_b{layer}_{i}"] = (after["b", layer]["param"][i - 1], 1e-4)
                if layer < 3:
                    expected[f"a{layer}_{i}"] = (printed["a", layer][i - 1], 1e-4)
                for j, grad in enumerate(grads[i - 1], start=1):
                    expected[f"dW{layer}_{i}_{j}"] = (grad, 1e-4)
                    expected[f"new_W{layer}_{i}_{j}"] = (after["W", layer]["param"][i - 1][j - 1], 1e-4)
        for label, (value, slack) in expected.items():
            assert label in boxes, (step, label)
            assert all(agrees(shown, value, slack) for shown in boxes[label]), (step, label, boxes[label], value)


def test_the_keys_update_tables_are_pytorchs_sgd_cell_by_cell():
    """sigmoid-softmax (2 steps, non-square weights, no two alike) through PyTorch autograd and
    torch.optim.SGD in float64, from the spec as tomllib reads it."""
    from types import SimpleNamespace

    from independent import read_spec, spec_text
    from test_against_torch import torch_steps

    given = read_spec(spec_text("sigmoid-softmax"))
    assert given.activations == ["sigmoid", "tanh", "softmax"] and given.loss == "cross_entropy"
    assert len(given.x) == 1  # one sample: a mean over the batch is the sum
    layers = [SimpleNamespace(activation=a, slope=0) for a in given.activations]  # no leaky ReLU here
    problem = SimpleNamespace(weights=given.W, biases=given.b, frozen=(), learning_rate=given.eta, momentum=0,
                              x=given.x, y=given.y, layers=layers, loss=given.loss, reduction="mean",
                              steps=given.steps)
    reference = torch_steps(problem)
    tables = _update_tables(html_for(load("sigmoid-softmax")))
    assert len(tables) == 2 * (9 + 12 + 8)
    for (step, parameter), cells in tables.items():
        rec, group = reference[step - 1], {"w": "W", "b": "b"}[parameter[0]] + parameter[2]
        grad = _entry(rec["grads"][group].tolist(), parameter)
        expected = {"old p": _entry(rec["params"][group].tolist(), parameter), "∂L/∂p": grad,
                    "η·∂L/∂p": float(given.eta) * grad, "new p": _entry(rec["updated"][group].tolist(), parameter)}
        assert set(cells) == set(expected), cells
        for column, value in expected.items():
            assert _agrees(cells[column], value, 1e-12), (step, parameter, column, cells[column], value)


@pytest.mark.parametrize("name", PROBLEMS)
def test_the_given_table_states_the_spec_as_tomllib_reads_it(name):
    """x, y, every W[i][j] (row i = unit, column j = input, as the README says), every bias and η, on the
    key and the blank sheet; sigmoid-softmax's 3×2 and 2×3 matrices and mazur's square ones catch a
    transpose, mazur's two inputs and targets a reversal."""
    from independent import expected_given, read_given_table, read_spec, spec_text

    expected = expected_given(read_spec(spec_text(name)))
    for blank in (False, True):
        assert read_given_table(html_for(load(name), blank=blank)) == expected, blank


def test_blank_sheet_and_key_carry_the_same_boxes_and_headings_in_order(key_pages, blank_pages):
    """The blank sheet's header (name, ID, instructions, points) may move page breaks; what a
    student fills in, and under which headings, is the key's, in the key's order."""
    def labels(text):
        return re.findall(r"\b(?:new_|eta_|d)?[zaLWb]?\w*\d_\d\w*\b", text)

    def heads(text):
        return [line for line in text.splitlines()
                if line.startswith(("Step", "Layer", "Gradients")) and "PyTorch" not in line]

    # the whole sheets: the check sections hold no box labels, and a page's absolutely placed
    # labels come out of the PDF after its other text
    key, blank = "\n".join(key_pages), "\n".join(blank_pages)
    assert labels(key) == labels(blank) and len(labels(key)) > 100
    assert heads(key) == heads(blank) and heads(key)


@pytest.mark.parametrize("name", PROBLEMS)
def test_html_matches_its_golden_file(name):
    """Regenerate after an intended change: python tests/regenerate_golden.py"""
    golden = GOLDEN / f"{name}.html"
    assert golden.exists(), f"{golden} is missing: run python tests/regenerate_golden.py"
    assert html_for(load(name)) == golden.read_text(encoding="utf-8"), (
        f"{name}: the HTML changed; if that is intended, run python tests/regenerate_golden.py and review the diff")


def test_spec_text_is_escaped(builtin):
    text = builtin_text().replace('title = "HW2-1: forward pass and backpropagation"',
                                  'title = "<script>alert(1)</script> & co"\ncourse = "CS <b>101</b>"')
    html = html_for(parse_spec(text, "x"))
    assert "<script>alert" not in html and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in html
    assert "CS &lt;b&gt;101&lt;/b&gt;" in html


def test_a_template_override_replaces_only_its_own_file(builtin, tmp_path):
    (tmp_path / "header.html.j2").write_text(
        "<header><p class='uni'>Universität Beispiel</p><h1>{{ doc.title }}</h1></header>", encoding="utf-8")
    html = html_for(builtin, templates=tmp_path)
    assert "Universität Beispiel" in html and "The derivation, once" in html


def test_a_broken_or_undefined_template_is_a_clear_error(builtin, tmp_path):
    (tmp_path / "header.html.j2").write_text("{% if %}", encoding="utf-8")
    with pytest.raises(TemplateError, match=r"header.html.j2: line 1"):
        html_for(builtin, templates=tmp_path)
    (tmp_path / "header.html.j2").write_text("{{ doc.no_such_field }}", encoding="utf-8")
    with pytest.raises(TemplateError, match="no_such_field"):
        html_for(builtin, templates=tmp_path)


def test_weasyprint_fetches_nothing_outside_the_page(tmp_path):
    secret = tmp_path / "secret.svg"
    secret.write_text('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>')
    for url in (secret.as_uri(), "https://example.com/logo.png"):
        with pytest.raises(PdfError, match="outside"):
            to_pdf(f'<p>x</p><img src="{url}">')


def test_letter_paper_and_decimals(builtin):
    html = html_for(builtin, decimals=2)
    # 2 decimals, but never fewer than 4 significant digits: 1.0742 shows as 1.074, 14 stays 14
    values = re.findall(r'<span class="lbl"[^>]*>[^<]*</span>([^<]*)</span>', html)  # each box's number
    assert "1.074" in values and "1.0742" not in values
    assert "14" in values
    doc = build(solve(builtin), run(builtin, 10), Options(paper="letter"))
    assert "size: letter" in to_html(doc)


@pytest.mark.parametrize("name", PROBLEMS)
def test_blank_sheet_boxes_are_the_answers_file_quantities(name):
    """The labels a student copies from the sheet are the answers file's keys."""
    from worksheet.quantities import quantities

    spec = load(name)
    sol = solve(spec)
    for formulas in (True, False):
        doc = build(sol, run(spec, spec.steps), Options(blank=True, formulas=formulas))
        boxes = {f"step{label.replace(':', '.', 1)}" for label in doc.boxes}
        assert boxes == {q.key for q in quantities(sol)}


def test_a_blank_sheet_can_leave_the_formulas_to_the_student(builtin, capsys, tmp_path):
    from worksheet.cli import main

    shown = html_for(builtin, blank=True)
    hidden = to_html(build(solve(builtin), run(builtin, 10), Options(blank=True, formulas=False)))
    # the derivation, the formulas beside the boxes and the update rule are the student's to write
    for formula in ("The derivation, once", "ReLU</span>(", "<i>p</i> ← <i>p</i> −"):
        assert formula not in hidden, formula
    assert "The derivation, once" in shown and "ReLU</span>(" in shown and "<i>p</i> ← <i>p</i> −" in shown
    assert "η = 0.01" in hidden and 'data-name="dW1_1_1"' in hidden
    # nor in the conventions ("SGD: p ← p − η·∂L/∂p." was left there): only which optimiser it is
    assert "←" not in re.sub(r"<[^>]+>", "", hidden) and "SGD: p ← p − η·∂L/∂p." in shown
    assert "Plain SGD (no momentum)" in hidden
    assert main(["render", "--formulas", "hide", "-o", str(tmp_path)]) == 2
    assert "--blank" in capsys.readouterr().err


@pytest.mark.parametrize("value, decimals, shown", [
    ("0.000438568", 4, "0.0004386"),  # the example: 4 significant digits, not 0.0004
    ("0.0123456", 4, "0.01235"),
    ("1.23456", 4, "1.2346"),
    ("1.0742", 2, "1.074"),
    ("12.3456", 2, "12.35"),
    ("0.5", 4, "0.5"),  # an exact short decimal keeps its length
    ("-0.0000000000000030430732", 4, "−3.043·10⁻¹⁵"),
])
def test_a_number_never_shows_fewer_than_4_significant_digits(value, decimals, shown):
    from fractions import Fraction

    from worksheet.notation import format_decimal

    assert format_decimal(Fraction(value), decimals) == shown


def test_the_pytorch_script_is_on_the_key_and_off_the_blank_sheet_unless_asked(tmp_path, capsys):
    from worksheet.cli import main

    def page(*args) -> str:
        out = tmp_path / "_".join(args or ("key",))
        assert main(["render", "--format", "html", "-o", str(out), *args]) == 0
        return next(out.glob("*.html")).read_text(encoding="utf-8")

    script_line = "nn.Linear(1, 2)"  # the script builds the network with PyTorch's own layers
    key, blank = page(), page("--blank")
    assert "The PyTorch script" in key and script_line in key
    assert script_line not in blank and "worksheet check" in blank
    assert script_line in page("--blank", "--script") and script_line not in page("--no-script")


def test_the_blank_sheet_header_has_what_an_instructor_expects(builtin):
    from worksheet.spec import fingerprint

    text = (ROOT / "worksheet" / "problems" / "hw2-1.toml").read_text()
    spec = parse_spec('instructions = "Show all work.\\n\\nNo calculators."\n' + text
                      + "[marking]\npoints = { forward = 2, update = 3 }\n", "s.toml")
    html = to_html(build(solve(spec), run(spec, 10), Options(blank=True)))
    assert "Student ID" in html and "<p>Show all work.</p>" in html and "<p>No calculators.</p>" in html
    assert "forward pass 2</span>" in html and "total 5</span>" in html
    assert f"sheet {fingerprint(spec)}" in html and len(fingerprint(spec)) == 8
    assert fingerprint(spec) != fingerprint(builtin)  # another problem, another sheet
    default = html_for(builtin, blank=True)
    assert "at least 4 decimals" in default and "Points" not in default
    assert f"sheet {fingerprint(builtin)}" in html_for(builtin)  # the key names its sheet too


def test_a_sheets_version_is_the_same_in_every_process():
    import subprocess
    import sys

    code = ("from worksheet.spec import parse_spec, fingerprint; "
            f"print(fingerprint(parse_spec(open({str(ROOT / 'examples' / 'mazur.toml')!r}).read())))")
    seen = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                           env={**__import__("os").environ, "PYTHONHASHSEED": str(seed)}).stdout for seed in (1, 2, 3)}
    assert len(seen) == 1


def test_the_builtin_key_fits_in_8_pages_and_its_blank_sheet_keeps_room_to_write(tmp_path):
    """Issue 9: the key `worksheet render` writes (with its PyTorch script) fits in 8 A4 pages; a blank
    sheet keeps its handwriting sizes (boxes 10 mm, working lines 12 mm) and is no shorter than the key."""
    from worksheet.cli import main

    assert main(["render", "-o", str(tmp_path)]) == 0
    assert len(PdfReader(tmp_path / "hw2-1.pdf").pages) <= 8
    assert main(["render", "--blank", "-o", str(tmp_path)]) == 0
    blank = (tmp_path / "hw2-1-blank.html").read_text(encoding="utf-8")
    assert "body.blank .box { height: 10mm;" in blank and "height:12.0mm" in blank
    assert len(PdfReader(tmp_path / "hw2-1-blank.pdf").pages) >= len(PdfReader(tmp_path / "hw2-1.pdf").pages)


def test_the_pdf_stage_keeps_list_markers_and_matches_plain_weasyprint():
    """to_pdf leaves out the user-agent stylesheet's footnote rules and fontTools' decoding of layout
    tables: a list keeps its bullets and the text comes out as plain WeasyPrint writes it."""
    import weasyprint

    page = ('<html><head><meta charset="utf-8"><style>html { font: 11pt "DejaVu Serif", serif; }</style></head>'
            "<body><h2>Notation</h2><ul><li>𝑤⁽¹⁾₁₁: a weight</li><li>ReLU′(0) = 0</li></ul>"
            '<ol><li>first</li><li>second</li></ol><pre style="font-family: monospace">x = 1</pre></body></html>')
    ours = pages(to_pdf(page))
    plain = pages(weasyprint.HTML(string=page).write_pdf())
    assert ours == plain and "•" in ours[0] and "2." in ours[0]


_LOADED = ("import sys\n"
           "if sys.argv[1] == 'listed':\n"
           "    from worksheet.pdf import _weasyprint; _weasyprint()\n"
           "else:\n"
           "    import weasyprint\n"
           "import ctypes.util, weasyprint.text.ffi as ffi\n"
           "libs = ('pango', 'harfbuzz', 'fontconfig', 'gobject', 'glib', 'freetype', 'fribidi', 'cairo')\n"
           "print(sorted({l.split()[-1] for l in open('/proc/self/maps') if any(k in l for k in libs)}))\n"
           "print([n for n in ('harfbuzz_subset', 'harfbuzz_vector') if getattr(ffi, n) is not None])\n"
           "print(ctypes.util.find_library.__module__)")


@pytest.mark.skipif(not __import__("sys").platform.startswith("linux"), reason="the ldconfig lookup is Linux's")
def test_weasyprint_loads_the_same_libraries_looked_up_in_one_ldconfig_listing():
    """pdf._weasyprint answers ctypes' find_library from one `ldconfig -p` while WeasyPrint loads Pango &
    co: the process maps exactly the shared libraries a plain `import weasyprint` maps, finds the same
    optional ones, and leaves find_library as it was."""
    import subprocess
    import sys

    listed, plain = (subprocess.run([sys.executable, "-c", _LOADED, how], capture_output=True, text=True,
                                    check=True).stdout.splitlines() for how in ("listed", "plain"))
    assert listed == plain and "pango" in listed[0] and listed[2] == "ctypes.util"


def test_a_library_missing_from_the_listing_is_still_loaded(monkeypatch):
    """A listing without Pango (a library only on LD_LIBRARY_PATH, say): find_library answers None for
    it, and WeasyPrint's own libX.so.N names still load it."""
    import ctypes.util

    from worksheet import pdf

    monkeypatch.setattr(pdf, "_ldconfig_listing", lambda: b"\tlibz.so.1 (libc6,x86-64) => /lib/libz.so.1")
    original = ctypes.util.find_library
    with pdf._libraries_listed_once():
        assert ctypes.util.find_library("z") == "libz.so.1"
        assert ctypes.util.find_library("pango-1.0") is None
        cffi = __import__("cffi").FFI()
        assert cffi.dlopen("libpango-1.0.so.0") is not None
    assert ctypes.util.find_library is original


def test_the_collector_runs_less_while_weasyprint_works_and_as_before_after(monkeypatch):
    """During a render the youngest objects are collected every YOUNG_THRESHOLD new ones, in every
    thread rendering at once; the thresholds are the caller's again after the last render ends, also
    when it fails, and a collector switched off (threshold 0) stays off."""
    import gc
    import threading

    from worksheet import pdf

    seen: list[tuple[int, ...]] = []
    inside, release = threading.Barrier(3), threading.Event()
    original_page = pdf._page_class()

    class Watching(original_page):
        def write_pdf(self, *args, **kwargs):
            seen.append(gc.get_threshold())
            if threading.current_thread() is not threading.main_thread():
                inside.wait(timeout=30)
                release.wait(timeout=30)
            return super().write_pdf(*args, **kwargs)

    monkeypatch.setattr(pdf, "_page_class", lambda: Watching)
    before = gc.get_threshold()
    try:
        gc.set_threshold(700, 10, 10)
        threads = [threading.Thread(target=pdf.to_pdf, args=("<p>x</p>",)) for _ in range(2)]
        for thread in threads:
            thread.start()
        inside.wait(timeout=30)  # both renders under way
        assert gc.get_threshold() == (pdf.YOUNG_THRESHOLD, 10, 10)
        release.set()
        for thread in threads:
            thread.join(timeout=60)
        assert seen == [(pdf.YOUNG_THRESHOLD, 10, 10)] * 2 and gc.get_threshold() == (700, 10, 10)
        class Failing(original_page):
            def write_pdf(self, *args, **kwargs):
                raise MemoryError

        monkeypatch.setattr(pdf, "_page_class", lambda: Failing)
        with pytest.raises(MemoryError):
            pdf.to_pdf("<p>x</p>")
        assert gc.get_threshold() == (700, 10, 10)
        monkeypatch.setattr(pdf, "_page_class", lambda: Watching)
        gc.set_threshold(0)
        pdf.to_pdf("<p>x</p>")
        assert seen[-1][0] == 0 and gc.get_threshold()[0] == 0
    finally:
        gc.set_threshold(*before)


def _batch_of(samples: int) -> str:
    x = ", ".join(f"[{(-1) ** s * 0.5}, {s % 3}]" for s in range(samples))
    y = ", ".join(f"[{s % 2}]" for s in range(samples))
    return (ROOT / "examples" / "bce.toml").read_text(encoding="utf-8").replace(
        "x = [[1, 0], [0, 1]]", f"x = [{x}]").replace("y = [[1], [0]]", f"y = [{y}]")


@pytest.mark.parametrize("samples, rows", [(2, 2), (8, 16)])
def test_a_batchs_gradient_puts_a_sample_a_row_only_when_its_sum_is_too_long(samples, rows):
    """A gradient over 2 samples (∂L/∂z₁·∂z₁/∂w + ∂L/∂z₂·∂z₂/∂w) fits the line: one row per form,
    not 4 rows of half a line each; over 8 samples each sample's term goes on a "+" row."""
    spec = parse_spec(_batch_of(samples))
    assert len(spec.x) == samples
    sol = solve(spec)
    doc = build(sol, run(spec, 1), Options())
    grads = [d for group in doc.derivation if group.heading.startswith("Gradients") for d in group.items]
    assert grads and all(len(d.rows) == rows for d in grads)
    assert all(sign == "=" for d in grads for sign, _ in d.rows) == (rows == 2)


def test_a_blank_sheets_working_areas_come_in_10_mm_steps():
    """The room to work a line is sized from the key's working, so tanh(0.55) and tanh(−0.4) got
    areas 3 mm apart and the boxes after them did not line up: a blank sheet's areas are whole
    centimetres, the same for lines of about the same length."""
    spec = parse_spec((ROOT / "examples" / "bce.toml").read_text(encoding="utf-8"))
    doc = build(solve(spec), run(spec, 1), Options(blank=True))
    lines = [line for part in doc.parts for group in (*part.forward, part.loss, *part.backward, *part.gradients)
             for line in group.lines if line.working is not None]
    assert lines and all(line.working.width_mm % 10 == 0 for line in lines if line.compact)
    tanh = {line.working.width_mm for line in lines[:len(lines) // 2] if line.name.startswith("a1_")}  # step 1
    assert len(tanh) == 1


LEAKY_SHAPES = """[network]
inputs = 2
layers = [{ units = 2, activation = "identity" }, { units = 1, activation = "identity" }]
[[init.layers]]
W = [[0.5, -0.25], [1, 2]]
b = [0.1, 0]
[[init.layers]]
W = [[-1.5, 0.3]]
b = [0]
[data]
x = [1, 3]
y = [0.4]
[training]
loss = "half_sse"
learning_rate = 0.1
steps = 1
"""


@pytest.mark.parametrize("formulas", [True, False])
def test_a_blank_sheets_room_to_work_tells_nothing_of_the_numbers(formulas):
    """z¹₁ works out as 0.5·1 + (−0.25)·3 + 0.1 = −0.15, z¹₂ as 1·1 + 2·3 + 0 = 7; δ¹₁ is
    negative and δ¹₂ not. Quantities of the same form get the same room on a blank sheet (an
    area sized from the key's working told a student which δ was negative)."""
    spec = parse_spec(LEAKY_SHAPES)
    sol = solve(spec)
    assert sol.steps[0].values["z1_1"] < 0 < sol.steps[0].values["z1_2"]  # the numbers differ as meant
    page = to_html(build(sol, run(spec, 1), Options(blank=True, formulas=formulas)))
    rooms = {m.group(1): m.group(2) for m in re.finditer(
        r'<div class="q" id="([^"]+)">.*?<span class="working" style="([^"]*)"', page)}
    assert {"z1_1", "z1_2", "dW1_1_1", "dW1_2_1", "dW1_1_2", "delta1_1", "delta1_2"} <= rooms.keys()
    same_form = [("z1_1", "z1_2"), ("delta1_1", "delta1_2"), ("dW1_1_1", "dW1_2_1", "dW1_1_2", "dW1_2_2"),
                 ("db1_1", "db1_2")]
    for names in same_form:
        assert len({rooms.get(n) for n in names}) == 1, {n: rooms.get(n) for n in names}


def test_a_working_just_too_long_for_its_line_is_set_tight_on_one_line_with_its_value():
    """A key's working a few percent longer than its line took two (the second empty, or a lone
    "+ 0.05"): set at 10 pt it stays on one line, and the value's box follows it on that line (pypdf
    reads the box's label at the end of that row, and its number, set lower, there or as the next)."""
    from worksheet.notation import TextPrinter, format_decimal

    spec = parse_spec((ROOT / "examples" / "batch-momentum.toml").read_text(encoding="utf-8"))
    sol = solve(spec)
    doc = build(sol, run(spec, spec.steps), Options())
    tight = [(part.number, line) for part in doc.parts
             for group in (*part.forward, part.loss, *part.backward, *part.gradients)
             for line in group.lines if line.working is not None and line.working.tight]
    assert len(tight) >= 3 and all(line.working.lines == 1 for _, line in tight)
    html = to_html(doc)
    assert html.count('class="working typed tight"') == len(tight)
    text = [" ".join(row.split()) for page in PdfReader(BytesIO(to_pdf(html))).pages
            for row in page.extract_text().split("\n")]
    for step, line in tight:
        worked = " ".join(TextPrinter().doprint(sol.steps[step - 1].substituted[line.name]).split())
        value = format_decimal(sol.steps[step - 1].values[line.name], 4)
        follows = re.compile(rf"\s*= {line.value.name} {re.escape(value)}")
        assert any(worked in row and follows.match(f"{row.partition(worked)[2]} {after}")
                   for row, after in zip(text, text[1:])), (step, line.name, worked)


def test_an_update_tables_numbers_fit_their_narrow_boxes():
    """0.02583 (31/1200) ran over the next cell of the momentum update table: a cell's number drops
    its exact fraction when the two do not fit (the step's own line above keeps it)."""
    from worksheet.document import BOX_PAD_MM, BOX_PT, _printed_mm

    spec = parse_spec((ROOT / "examples" / "batch-momentum.toml").read_text(encoding="utf-8"))
    doc = build(solve(spec), run(spec, spec.steps), Options())
    cells = [c for part in doc.parts for row in part.updates
             for c in (row.old, row.grad, row.velocity, row.step, row.new) if hasattr(c, "width_mm")]
    assert cells and all(_printed_mm(c.text, BOX_PT) + BOX_PAD_MM <= c.width_mm for c in cells)
    assert any("(" in line.value.text for part in doc.parts for g in part.gradients for line in g.lines)


def test_step_2s_old_p_is_labelled_with_the_step_it_comes_from(builtin):
    """Step 2's old p is step 1's new p written again: labelled new_W1_1_1 it read as the new p beside
    it; it says step1.new_W1_1_1, and has no field of its own on the fillable sheet."""
    sol = solve(builtin)
    doc = build(sol, run(builtin, builtin.steps), Options(blank=True))
    row = doc.parts[1].updates[0]
    assert row.old.label == "step1.new_W1_1_1" and row.old.field == ""
    assert row.new.name == "new_W1_1_1" and row.new.label == "" and row.new.field == "step2.new_W1_1_1"
    assert '>step1.new_W1_1_1</span>' in to_html(doc)


def test_a_blank_sheet_says_how_to_check_it_on_its_first_page_not_alone_on_its_last():
    """Two lines at a sheet's end went to a page of their own when its last table filled a page
    (mazur's sheet: its last page held only them): they go under the instructions."""
    spec = load("mazur")
    doc = build(solve(spec), run(spec, spec.steps), Options(blank=True))
    pages_text = pages(to_pdf(to_html(doc)))
    assert "Check your work." in pages_text[0]
    assert "Check your work" not in " ".join(pages_text[1:]) and "new_" in pages_text[-1]


@pytest.mark.parametrize("name", ["mazur", "sigmoid-softmax"])
def test_the_given_tables_loss_is_never_broken_inside_a_term(name):
    """In the Given table's right half, beside "learning rate η", mazur's loss wrapped inside
    (ŷ₂ − y₂)²: the table goes in two halves only when each half's widest label and widest value fit.
    WeasyPrint's own layout of the page says how many lines the loss's cell took."""
    from weasyprint.formatting_structure import boxes

    from worksheet.pdf import _page_class

    spec = load(name)
    doc = build(solve(spec), run(spec, 1), Options())
    page = _page_class()(string=to_html(doc)).render().pages[0]._page_box

    def text(box) -> str:
        return "".join(b.text for b in box.descendants() if isinstance(b, boxes.TextBox))

    [cell] = [b for b in page.descendants() if isinstance(b, boxes.TableCellBox) and text(b).startswith("𝐿 =")]
    assert len([b for b in cell.descendants() if isinstance(b, boxes.LineBox)]) == 1, text(cell)


# -- the printed page: notes, labels, headings, the script --------------------

def words(pdf: bytes) -> list[tuple[int, float, float, float, float, str]]:
    """Every word of a PDF as (page from 1, x0, y0, x1, y1 in pt, text), in the order poppler reads them."""
    import subprocess
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "page.pdf"
        path.write_bytes(pdf)
        html = subprocess.run(["pdftotext", "-bbox", str(path), "-"], capture_output=True, text=True,
                              check=True).stdout
    out = []
    for n, page in enumerate(re.findall(r"<page [^>]*>(.*?)</page>", html, re.S), start=1):
        for m in re.finditer(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">(.*?)</word>',
                             page):
            out.append((n, *map(float, m.groups()[:4]), html_module.unescape(m[5])))
    return out


def grey_pages(pdf: bytes, dpi: int) -> list:
    """Each page rasterized by poppler's pdftoppm, as a numpy array of grey levels (0 black, 255 white)."""
    import subprocess
    import tempfile
    from pathlib import Path

    import numpy as np

    out = []
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "page.pdf").write_bytes(pdf)
        subprocess.run(["pdftoppm", "-gray", "-r", str(dpi), "page.pdf", "p"], cwd=folder, check=True)
        for path in sorted(Path(folder).glob("p-*.pgm"), key=lambda p: int(p.stem.split("-")[1])):
            data = path.read_bytes()
            head = re.match(rb"P5\s+(\d+)\s+(\d+)\s+255\s", data)
            out.append(np.frombuffer(data[head.end():], np.uint8).reshape(int(head[2]), int(head[1])))
    return out


def marked_html(name: str, slips: dict) -> str:
    """The marked sheet of a student who works problem `name` right but for `slips` (key: what they wrote
    instead, from the right value and all the right values)."""
    from test_check import Student, mark

    spec = load(name)
    values = Student(spec).work()
    right = dict(values)
    values.update({key: wrong(right[key], right) for key, wrong in slips.items()})
    return to_html(build(solve(spec), run(spec, spec.steps), Options(blank=True), marking=mark(spec, values)))


# slips of every kind a note names: a sign, a factor, an update added, a number that follows from a wrong
# one, on lines with and without a working area and with working areas of one, two and three lines
MARKED = {
    "builtin": {"step1.z2_2": lambda v, r: v + 1, "step1.L": lambda v, r: 2 * v,
                "step1.delta2_1": lambda v, r: -v, "step1.dW2_1_2": lambda v, r: 2 * v,
                "step1.db2_1": lambda v, r: 3 * v,
                "step1.new_W1_1_1": lambda v, r: v + 2 * r["step1.eta_dW1_1_1"], "step2.new_b2_1": lambda v, r: -v},
    "batch-momentum": {"step1.delta1_1_s1": lambda v, r: -v, "step1.delta1_1_s2": lambda v, r: 2 * v,
                       "step1.dW1_1_1": lambda v, r: 2 * v, "step1.db1_1": lambda v, r: 2 * v,
                       "step1.L": lambda v, r: 2 * v, "step1.v_W1_2_1": lambda v, r: -v,
                       "step2.a2_1_s1": lambda v, r: v / 2,
                       "step2.new_b1_1": lambda v, r: v + 2 * r["step2.eta_v_b1_1"]},
    "sigmoid-softmax": {"step1.a1_2": lambda v, r: v * Fraction(11, 10), "step1.delta2_3": lambda v, r: -v,
                        "step1.delta1_2": lambda v, r: v * Fraction(3, 2)},
}


@pytest.mark.skipif(not shutil.which("pdftoppm"), reason="needs poppler's pdftoppm")
@pytest.mark.parametrize("name", MARKED)
def test_a_marked_sheets_notes_touch_no_other_ink_and_stay_on_the_page(name):
    """A note under a wrong box began just under the box, inside the working area beside it (taller, both
    centred on the line) and across its dashed border; it did not wrap, and a long one ran off the page.
    The sheet drawn with its notes hidden (same layout) is all the other ink: no pixel of a note lies
    within 0.5 mm of it, and every note lies between the page's margins (20 mm a side)."""
    import numpy as np

    html = marked_html(name, MARKED[name])
    dpi = 100
    shown = grey_pages(to_pdf(html), dpi)
    hidden = grey_pages(to_pdf(html.replace("</style>", ".exp { visibility: hidden; }</style>", 1)), dpi)
    assert len(shown) == len(hidden)
    mm, near = dpi / 25.4, 2  # pixels: 0.5 mm
    noted = 0
    for n, (page, others) in enumerate(zip(shown, hidden), start=1):
        note = page.astype(int) - others.astype(int) < -40  # darker with the notes drawn: their ink
        if not note.any():
            continue
        noted += 1
        around = np.zeros_like(note)
        for dy in range(-near, near + 1):
            for dx in range(-near, near + 1):
                around |= np.roll(note, (dy, dx), axis=(0, 1))
        touching = np.argwhere(around & (others < 200))
        assert not len(touching), f"page {n}: a note touches other ink at {touching[0][::-1] / mm} mm"
        columns = np.nonzero(note.any(axis=0))[0]
        assert 20 - 0.5 <= columns.min() / mm and columns.max() / mm <= 190 + 0.5, (n, columns.min() / mm,
                                                                                    columns.max() / mm)
    assert noted >= 2


def test_a_notes_room_counts_the_lines_it_wraps_to_at_its_width():
    """The room kept under a line for its note is the note's wrapped lines at its own width, and no wider
    than the line leaves left of the box's right edge: the number of lines WeasyPrint lays it out in."""
    from weasyprint.formatting_structure import boxes

    from worksheet.pdf import _page_class

    html = marked_html("batch-momentum", MARKED["batch-momentum"])
    document = _page_class()(string=html).render()
    notes = []
    for page in document.pages:
        for box in page._page_box.descendants():
            if box.element_tag == "span" and box.element is not None and box.element.get("class") == "exp" \
                    and not isinstance(box, boxes.LineBox) and box not in notes:
                notes.append(box)
    laid = [len([b for b in box.descendants() if isinstance(b, boxes.LineBox)]) for box in notes]
    spec = load("batch-momentum")
    from test_check import Student, mark

    values = Student(spec).work()
    right = dict(values)
    values.update({key: wrong(right[key], right) for key, wrong in MARKED["batch-momentum"].items()})
    doc = build(solve(spec), run(spec, spec.steps), Options(blank=True), marking=mark(spec, values))
    planned = [line.value.note_lines for part in doc.parts
               for group in (*part.forward, part.loss, *part.backward, *part.gradients)
               for line in group.lines if line.value.note]
    assert len(planned) >= 4 and max(planned) >= 2 and planned == laid
    assert all(b.width / 96 * 25.4 <= 90.5 for b in notes)


@pytest.mark.skipif(not shutil.which("pdftotext"), reason="needs poppler's pdftotext")
def test_a_box_label_clears_its_number_on_the_key_and_the_marked_sheet(builtin):
    """A box's label (6.5 pt) and its number (11 pt) under it: their font boxes, as poppler reads them,
    overlapped on the key (the label's underscores touched the digits) and all but touched on a marked
    sheet. The key's boxes are 8 mm, a blank sheet's stay 10 mm."""
    key = build(solve(builtin), run(builtin, 2), Options())
    names = {label.partition(":")[2] for label in key.boxes}

    def gaps(pdf: bytes) -> list[float]:
        found = words(pdf)
        out = []
        for w in found:
            if w[5] in names and w[4] - w[2] < 9:  # a label, in small type
                below = [v for v in found if v[0] == w[0] and abs(v[1] - w[1]) < 0.5 and w[2] < v[2] < w[2] + 20]
                if below:
                    out.append(min(below, key=lambda v: v[2])[2] - w[4])
        return out

    on_key = gaps(to_pdf(to_html(key)))
    on_marked = gaps(to_pdf(marked_html("builtin", MARKED["builtin"])))
    assert len(on_key) > 100 and len(on_marked) > 100
    assert min(on_key) >= 0.5 and min(on_marked) >= 4.5, (min(on_key), min(on_marked))
    css = (ROOT / "templates" / "style.css").read_text(encoding="utf-8")
    assert re.search(r"^\.box \{[^}]*height: 8mm;", css, re.M) and "body.blank .box { height: 10mm;" in css


ORPHANED = [("builtin", True, True), ("builtin", True, False), ("mazur", False, True), ("mazur", True, True),
            ("batch-momentum", False, True), ("sigmoid-softmax", True, False)]


@pytest.mark.parametrize("name, blank, formulas", ORPHANED)
def test_a_heading_keeps_its_first_two_lines_on_its_page(name, blank, formulas):
    """A heading at a page's foot with a single line under it, the rest over the page (the sheets and
    keys here each had one or more): every group's heading and its first two lines share a page, and a
    part's first group of one line ("Backward pass", "Output gradient", its line) keeps the next group's
    first line with it. WeasyPrint's own layout says which page each starts on."""
    from worksheet.pdf import _page_class

    spec = load(name)
    html = to_html(build(solve(spec), run(spec, spec.steps), Options(blank=blank, formulas=formulas)))
    page_of: dict = {}
    for n, page in enumerate(_page_class()(string=html).render().pages):
        for box in page._page_box.descendants():
            page_of.setdefault(box.element, n)
    groups = [el for el in page_of if el is not None and el.get("class") in ("group", "dgroup")]
    assert len(groups) > 10
    for group in groups:
        heading, *lines = list(group)
        together = [heading, *lines[:2]]
        assert len({page_of[el] for el in together}) == 1, ("".join(heading.itertext()), page_of[heading] + 1)
    parents = {child: el for el in page_of if el is not None for child in el}
    for group in groups:
        siblings = list(parents[group])
        i = siblings.index(group)
        if 0 < i < len(siblings) - 1 and siblings[i - 1].tag == "h3" and len(group) == 2 \
                and siblings[i + 1].get("class") == "group":
            assert page_of[group[1]] == page_of[siblings[i + 1][1]], "".join(siblings[i - 1].itertext())


SCRIPTS = ["builtin", "sigmoid-softmax", "batch-momentum", "mazur", "bce"]


@pytest.mark.parametrize("name", SCRIPTS)
def test_a_long_script_line_goes_on_in_pieces_that_fit_cut_between_tokens(name):
    """The script's columns hold 54 characters; a longer line is cut into pieces that fit, a continuation's
    indent and mark counted, that join back to the line, cut only after a space or an opening bracket: as
    few pieces as that allows, then after a call's bracket or between its arguments rather than inside a
    nested list or a string."""
    from worksheet.document import SCRIPT_COLUMN_CHARS, SCRIPT_MARK, _script_line
    from worksheet.script import torch_script

    spec = load(name)
    for line in torch_script(spec).split("\n"):
        printed = _script_line(line)
        assert printed.text == line
        first, *rest = printed.pieces
        assert len(first) <= SCRIPT_COLUMN_CHARS
        assert all(len(piece) + printed.hang + SCRIPT_MARK <= SCRIPT_COLUMN_CHARS for piece in rest), printed
        assert all(piece[-1] in " ([{" for piece in printed.pieces[:-1]), printed
        assert not rest or printed.hang > len(line) - len(line.lstrip())
    if name == "builtin":
        assert _script_line("    model.Layer1.weight.data = torch.tensor([[1], [1]], dtype=torch.float32)").pieces \
            == ("    model.Layer1.weight.data = torch.tensor(", "[[1], [1]], dtype=torch.float32)")
        assert _script_line("optimizer = optim.SGD([p for p in model.parameters() if p.requires_grad], lr=lr, "
                            "momentum=0)").pieces == ("optimizer = optim.SGD([p for p in model.parameters() ",
                                                      "if p.requires_grad], lr=lr, momentum=0)")
        assert _script_line('    print(f"{layer_name} {param_name} {param}", "a longer line, in pieces")').pieces \
            == ('    print(f"{layer_name} {param_name} {param}", ', '"a longer line, in pieces")')


@pytest.mark.skipif(not shutil.which("pdftotext"), reason="needs poppler's pdftotext")
@pytest.mark.parametrize("name", ["builtin", "sigmoid-softmax"])
def test_the_keys_script_reads_each_continuation_marked_under_its_line_and_copies_whole(name):
    """A line too long for its column wrapped at whatever space came last, its continuation indented by
    four like a block of code under it. On the page each continuation starts with its mark (↪), further
    in than the line it goes on; the HTML's text of the script is the script, character for character."""
    from worksheet.script import torch_script

    spec = load(name)
    script = torch_script(spec)
    html = to_html(build(solve(spec), run(spec, 10), Options(), torch_script=script))
    block = re.search(r'<div class="script">(.*?)</div>', html, re.S)[1]
    lines = [html_module.unescape(re.sub(r"<[^>]+>", "", ln))
             for ln in re.findall(r'<span class="ln"[^>]*>(.*?)</span>(?=<span class="ln"|</pre>)', block)]
    assert [ln for ln in lines if ln.strip()] == [ln for ln in script.split("\n") if ln.strip()]
    found = words(to_pdf(html))
    last = found[-1][0]
    page = [w for w in found if w[0] == last]
    marks = [w for w in page if w[5] == "↪"]
    long_lines = [ln for ln in script.split("\n") if len(ln) > 54]
    assert len(marks) >= len(long_lines) >= 5
    for mark in marks:  # the line it goes on: the last one above it starting left of it in its column
        above = [w for w in page if w[2] < mark[2] - 1 and w[1] < mark[1] and mark[1] - w[1] < 60]
        start = max(above, key=lambda w: (round(w[2], 1), -w[1]))
        assert mark[1] >= start[1] + 3 * 4.09, (mark, start)  # 6.8 pt DejaVu Sans Mono: 4.09 pt a character


@pytest.mark.parametrize("name", PROBLEMS)
def test_every_word_of_a_key_is_inside_the_text_width(name):
    """Nothing is printed in the side margins (20 mm, the page's style) but the equation numbers that hang
    there by design: the check table's "agrees" ran 9 mm into the right margin when its columns' widths
    added up to 100 % before WeasyPrint added their padding."""
    pdf = to_pdf(html_for(load(name)))
    mm = 72 / 25.4
    width = PdfReader(BytesIO(pdf)).pages[0].mediabox.width
    outside = [(page, word) for page, x0, _, x1, _, word in words(pdf)
               if x0 < 20 * mm - 0.5 or (x1 > float(width) - 20 * mm + 0.5 and not re.fullmatch(r"\(\d+\)", word))]
    assert not outside, outside[:5]


def test_an_update_table_broken_over_a_page_leaves_no_row_alone():
    """The softmax key's second update table ran one row onto the next page, under its repeated header:
    each page that holds update rows holds at least two (a row is its new p box, labelled new_W…/new_b…)."""
    spec = load("sigmoid-softmax")
    pdf = to_pdf(to_html(build(solve(spec), run(spec, 10), Options())))
    rows: dict[int, int] = {}
    for page, *_, word in words(pdf):
        if re.fullmatch(r"new_[Wb]\d+(_\d+)+", word):
            rows[page] = rows.get(page, 0) + 1
    assert len(rows) >= 3 and 1 not in rows.values(), rows


def test_a_script_longer_than_a_page_comes_in_spreads_that_each_fit_one():
    """Its two columns are inline blocks that cannot break: an 8-unit network's script, longer than a
    page, went whole to the next page and left its heading alone on one."""
    from worksheet.document import SPREAD_LINES, _script_spreads

    script = "\n".join(f"print({n})" + ("\n" if n % 25 == 24 else "") for n in range(400))
    spreads = _script_spreads(script)
    assert len(spreads) >= 3
    assert all(sum(len(line.pieces) for column in spread for line in column) <= SPREAD_LINES for spread in spreads)
    text = [line.text for spread in spreads for column in spread for line in column if line.text.strip()]
    assert text == [line for line in script.splitlines() if line.strip()]  # every line, once, in order


def test_eight_inputs_are_named_first_to_last_in_the_given_table():
    """x₁, x₂, …, x₈ written out took half the table's width, and an 8-column W ran off the page."""
    text = builtin_text().replace("inputs = 1", "inputs = 8").replace("x = [2]", "x = [1, 2, 3, 4, 5, 6, 7, 8]")
    page = to_html(build(solve(parse_spec(text)), run(parse_spec(text), 2), Options()))
    label = html_module.unescape(re.sub(r"<[^>]+>", "", re.search(r"<th>(input .*?)</th>", page)[1]))
    assert label.startswith("input ") and ", …, " in label and label.count(",") == 2, label
