"""The command line, in-process and as a process: output, JSON shape, errors."""

import json
import re
import subprocess
import sys

import pytest
from conftest import ROOT

from worksheet.cli import main


def run(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_solve_prints_both_steps_with_their_numbers(capsys):
    code, out, _ = run(capsys, "solve")
    assert code == 0
    assert "Step 1 of 2" in out and "Step 2 of 2" in out
    assert "= 6.125" in out  # L of step 1
    assert "(3.5·1 + 3.5·1)·1" in out  # δ¹₁ with numbers
    assert "= δ¹₁·x\n" in out and "= 7·2\n" in out  # ∂L/∂w¹₁₁ from its δ, then with numbers
    assert "0.8093" in out  # w¹ after two updates
    assert max(len(line) for line in out.splitlines()) <= 80  # the console is 80 wide when piped


def test_solve_states_the_leaky_slope_and_momentum_and_keeps_each_given_on_one_line(capsys, tmp_path):
    """batch-momentum's leaky layers have slope 0.1 (not PyTorch's 0.01) and μ = 0.9: a student needs
    both, and neither was printed; "η = 0.5; 1 update" was cut between "1" and "update" at 80 columns."""
    code, out, _ = run(capsys, "solve", str(ROOT / "examples" / "batch-momentum.toml"))
    assert code == 0
    head = " ".join(out.split("Step 1 of")[0].split())
    assert "0.1·z otherwise" in head and "LReLU′(0) = 0.1" in head and "momentum μ = 0.9" in head
    assert "9/10" not in head and "\xa0" not in out
    spec = tmp_path / "one.toml"
    spec.write_text((ROOT / "examples" / "bce.toml").read_text(encoding="utf-8").replace("steps = 2", "steps = 1")
                    .replace('title = "', 'title = "A title long enough to matter: '), encoding="utf-8")
    for name in (spec, *(ROOT / "examples").glob("*.toml")):
        code, out, _ = run(capsys, "solve", str(name))
        lines = out.split("Arithmetic:")[0].splitlines()
        assert code == 0 and not any(re.match(r"updates?\b|= ", line) or re.search(r"=$|\d$", line)
                                     for line in lines[1:]), lines


def test_a_z_worked_from_short_decimals_shows_as_the_decimal_it_is_in_a_30_digit_network(capsys, tmp_path):
    """0.2·1 + (−0.4)·0.5 + 0.1·(−1) + 0.15 is 0.05 exactly; in a tanh network (worked to 30 digits) it
    showed as 0.05000, the binary working digits' residue padded to 4 significant digits."""
    spec = tmp_path / "tanh.toml"
    spec.write_text("""[network]
inputs = 3
layers = [{ units = 1, activation = "tanh" }, { units = 1, activation = "sigmoid" }]
[[init.layers]]
W = [[0.2, -0.4, 0.1]]
b = [0.15]
[[init.layers]]
W = [[0.5]]
b = [0]
[data]
x = [1, 0.5, -1]
y = [1]
[training]
loss = "bce"
learning_rate = 0.5
steps = 1
""", encoding="utf-8")
    code, out, _ = run(capsys, "solve", str(spec))
    z = out.split("z¹₁ =")[1].split("a¹₁")[0]
    assert code == 0 and z.split("=")[-1].strip() == "0.05", z
    assert "tanh(0.05)" in out


def test_solve_json_has_the_promised_shape(capsys):
    code, out, _ = run(capsys, "solve", "--json")
    assert code == 0
    data = json.loads(out)
    step = data["steps"][0]
    assert step["step"] == 1
    assert step["params"]["W1"] == [[1.0], [1.0]] and step["params"]["b1"] == [-0.5, -0.5]
    assert step["forward"][0] == {"layer": 1, "z": [1.5, 1.5], "a": [1.5, 1.5]}
    assert step["output"] == [4.5] and step["loss"] == 6.125
    assert step["grads"]["W1"] == [[14.0], [14.0]]
    assert step["updated"]["W1"] == [[0.86], [0.86]]
    assert step["exact"]["loss"] == "49/8" and step["exact"]["updated"]["W2"] == [["379/400"] * 2] * 2
    assert data["arithmetic"] == "exact"


def test_json_of_a_batch_has_one_list_per_sample(capsys):
    code, out, _ = run(capsys, "solve", str(ROOT / "examples" / "batch-momentum.toml"), "--json")
    step = json.loads(out)["steps"][0]
    assert len(step["output"]) == 3 and all(len(o) == 1 for o in step["output"])
    assert len(step["forward"][0]["z"]) == 3 and "momentum_buffer" in step


def test_trace_and_iters(capsys):
    code, out, _ = run(capsys, "trace", "--iters", "1")
    assert code == 0 and out.startswith("Iters 0\n") and "Iters 1" in out and "Iters 2" not in out


def test_verify_agrees(capsys):
    code, out, _ = run(capsys, "verify", str(ROOT / "examples" / "sigmoid-softmax.toml"))
    assert code == 0 and "agree with PyTorch" in out


def test_verify_reports_a_mismatch(capsys, monkeypatch):
    from worksheet import verify

    real = verify.reference

    def off_by_a_little(spec):
        steps = real(spec)
        steps[-1]["grad_W1"][0] += 1e-6
        return steps

    monkeypatch.setattr(verify, "reference", off_by_a_little)
    code, out, _ = run(capsys, "verify")
    assert code == 1 and "grad_W1" in out and "MISMATCH" in out


def test_verify_without_torch_says_so(tmp_path):
    # a torch that cannot be imported, ahead of the real one on the path
    (tmp_path / "torch").mkdir()
    (tmp_path / "torch" / "__init__.py").write_text("raise ImportError('no torch here')\n")
    proc = subprocess.run([sys.executable, "-m", "worksheet", "verify"], capture_output=True, text=True,
                          env={"PYTHONPATH": str(tmp_path), "PATH": ""})
    assert proc.returncode == 3
    assert "PyTorch is not installed" in proc.stderr and "Traceback" not in proc.stderr


BAD = {
    "activation": ('layers = [{ units = 1, activation = "tanhh" }]',
                   'network.layers[0].activation: "tanhh" is not one of '
                   "identity, relu, leaky_relu, sigmoid, tanh, softmax"),
    "toml": ("layers = [", "not valid TOML"),
    "shape": ('layers = [{ units = 1 }]\n[[init.layers]]\nW = [[1, 2]]\nb = [0]',
              "init.layers[0].W[0]: has 2 values; expected 1 (layer 1: 1 unit x 1 input)"),
    "rows": ('layers = [{ units = 1 }]\n[[init.layers]]\nW = [[1], [2]]\nb = [0]',
             "init.layers[0].W: has 2 rows; expected 1 (layer 1: 1 unit x 1 input)"),
    "softmax hidden": ('layers = [{ units = 2, activation = "softmax" }, { units = 1 }]',
                       '"softmax" is allowed on the output layer only'),
    "units limit": ("layers = [{ units = 50 }]", "network.layers[0].units: 50 is out of range; allowed is 1 to 8"),
}


def spec_text(network_tail, training='loss = "half_sse"\nlearning_rate = 0.1', data="x = [1]\ny = [1]"):
    init = "" if "[[init.layers]]" in network_tail else "[init]\nweight = 1\nbias = 0\n"
    return f"[network]\ninputs = 1\n{network_tail}\n{init}[data]\n{data}\n[training]\n{training}\n"


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_spec_is_one_clear_line_and_exit_2(tmp_path, capsys, case):
    tail, message = BAD[case]
    path = tmp_path / "hw.toml"
    path.write_text(spec_text(tail))
    code, out, err = run(capsys, "solve", str(path))
    assert code == 2 and out == ""
    assert err.startswith(f"worksheet: {path}: ") and message in err
    assert len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("training, data, message", [
    ('loss = "half_sse"\nlearning_rate = 0', "x = [1]\ny = [1]", "training.learning_rate: 0 must be greater than 0"),
    # as written, not as the fraction it is read into (it said -1/2)
    ('loss = "half_sse"\nlearning_rate = -0.5', "x = [1]\ny = [1]", "training.learning_rate: -0.5 must be greater"),
    ('loss = "half_sse"\nlearning_rate = 0.1\nmomentum = 1.25', "x = [1]\ny = [1]",
     "training.momentum: 1.25 must be at least 0"),
    ('loss = "half_sse"\nlearning_rate = nan', "x = [1]\ny = [1]",
     "training.learning_rate: nan is not a finite number"),
    ('loss = "bce"\nlearning_rate = 0.1', "x = [1]\ny = [1]", '"bce" needs a sigmoid output layer'),
    ('loss = "half_sse"\nlearning_rate = 0.1', "x = [1, 2]\ny = [1]", "data.x: has 2 values; expected 1"),
    ('loss = "half_sse"\nlearning_rate = 0.1', 'x = ["abc"]\ny = [1]', 'data.x[0]: "abc" is not a number'),
    ('loss = "half_sse"\nlearning_rate = 0.1\nsteps = 50', "x = [1]\ny = [1]", "training.steps: 50 is out of range"),
    ('loss = "half_sse"\nlearning_rate = 0.1\nfrozen = ["W9"]', "x = [1]\ny = [1]",
     'training.frozen[0]: "W9" is not one of W1, b1'),
    ('loss = "half_sse"\nlearning_rate = 0.1\nspeed = 1', "x = [1]\ny = [1]", "training.speed: unknown key"),
])
def test_bad_values_are_named(tmp_path, capsys, training, data, message):
    path = tmp_path / "hw.toml"
    path.write_text(spec_text("layers = [{ units = 1 }]", training, data))
    code, _, err = run(capsys, "solve", str(path))
    assert code == 2 and message in err, err


def test_missing_file(capsys):
    code, _, err = run(capsys, "solve", "nope.toml")
    assert code == 2 and err.strip() == "worksheet: nope.toml: no such file"


def test_saturated_network_is_refused_clearly(tmp_path):
    path = tmp_path / "hot.toml"
    path.write_text(spec_text('layers = [{ units = 1, activation = "sigmoid" }]',
                              'loss = "bce"\nlearning_rate = 0.1', "x = [3000]\ny = [0]"))
    proc = subprocess.run([sys.executable, "-m", "worksheet", "solve", str(path)], capture_output=True, text=True)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "saturated" in proc.stderr and str(path) in proc.stderr


def test_fraction_text_is_exact(tmp_path, capsys):
    path = tmp_path / "f.toml"
    path.write_text(spec_text("layers = [{ units = 1 }]", 'loss = "half_sse"\nlearning_rate = "1/3"',
                              "x = [0.1]\ny = [1]"))
    code, out, _ = run(capsys, "solve", str(path), "--json")
    step = json.loads(out)["steps"][0]
    # z = 1·(1/10) + 0 exactly; ∂L/∂w = (z − 1)·x = −9/100; w ← 1 + (1/3)(9/100)
    assert step["exact"]["output"] == ["1/10"]
    assert step["exact"]["updated"]["W1"] == [["103/100"]]


@pytest.mark.parametrize("width", [20, 30, 45, 70])
def test_formula_wrapping_keeps_text_and_width(width):
    from worksheet.report import wrap_formula

    text = "−0.5·(y[1]·log(ŷ[1]) + (1 − y[1])·log(1 − ŷ[1]) + y[2]·log(ŷ[2]) + (1 − y[2])·log(1 − ŷ[2]))"
    lines = wrap_formula(text, width)
    assert "".join(lines).replace(" ", "") == text.replace(" ", "")
    assert all(len(line) <= width for line in lines)


def test_verify_leaves_torch_global_state_alone(capsys):
    import torch

    run(capsys, "verify")
    assert torch.get_default_dtype() == torch.float32


# -- render ------------------------------------------------------------------

def test_no_arguments_renders_the_builtin_answer_key_into_out(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys)
    assert code == 0, err
    assert out.split() == ["out/hw2-1.html", "out/hw2-1.pdf"]
    assert (tmp_path / "out" / "hw2-1.pdf").read_bytes().startswith(b"%PDF")
    assert "Answer key" in (tmp_path / "out" / "hw2-1.html").read_text(encoding="utf-8")
    assert [p.name for p in (tmp_path / "out").iterdir() if p.name.startswith(".")] == []


def test_render_blank_html_only(capsys, tmp_path):
    code, out, _ = run(capsys, "render", "--blank", "--format", "html", "-o", str(tmp_path),
                       str(ROOT / "examples" / "mazur.toml"))
    assert code == 0
    assert out.split() == [str(tmp_path / "mazur-blank.html")]
    assert "Check your work" in (tmp_path / "mazur-blank.html").read_text(encoding="utf-8")
    # the sheet without formulas is a second document beside it, not a replacement
    code, out, _ = run(capsys, "render", "--blank", "--formulas", "hide", "--format", "html", "-o", str(tmp_path),
                       str(ROOT / "examples" / "mazur.toml"))
    assert code == 0 and out.split() == [str(tmp_path / "mazur-blank-no-formulas.html")]
    assert "Check your work" in (tmp_path / "mazur-blank.html").read_text(encoding="utf-8")


def test_check_json_with_a_marked_sheet_keeps_stdout_one_json_document(capsys, tmp_path):
    answers = tmp_path / "answers.toml"
    assert run(capsys, "answers", "-o", str(answers))[0] == 0
    code, out, err = run(capsys, "check", str(answers), "--json", "--html", str(tmp_path / "marked.html"))
    assert code == 1  # everything missing
    assert json.loads(out)["counts"]["missing"] > 0
    assert err.split() == [str(tmp_path / "marked.html")]


@pytest.mark.parametrize("args, message", [
    (["--format", "docx"], "'docx' is not a format; give one or both of html, pdf"),
    (["--paper", "a5"], "'a5' is not one of 'a4', 'letter'"),
    (["--decimals", "40"], "40 is not in the range 0<=x<=12"),
])
def test_render_rejects_bad_options(capsys, tmp_path, args, message):
    code, out, err = run(capsys, "render", "-o", str(tmp_path), *args)
    assert code == 2 and message in err and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []


def test_failed_render_leaves_the_earlier_file_untouched(capsys, tmp_path):
    out_dir, templates = tmp_path / "out", tmp_path / "templates"
    out_dir.mkdir()
    templates.mkdir()
    (out_dir / "hw2-1.html").write_text("earlier", encoding="utf-8")
    (templates / "step.html.j2").write_text("{% for %}", encoding="utf-8")
    code, out, err = run(capsys, "render", "-o", str(out_dir), "--templates", str(templates))
    assert code == 2 and "step.html.j2: line 1" in err and "Traceback" not in err
    assert (out_dir / "hw2-1.html").read_text(encoding="utf-8") == "earlier"
    assert sorted(p.name for p in out_dir.iterdir()) == ["hw2-1.html"]


def test_a_template_that_fetches_a_file_stops_the_pdf(capsys, tmp_path):
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "header.html.j2").write_text('<img src="file:///etc/hostname">', encoding="utf-8")
    code, out, err = run(capsys, "render", "-o", str(tmp_path / "out"), "--templates", str(templates))
    assert code == 2 and "file:///etc/hostname" in err and "not fetched" in err
    assert not (tmp_path / "out").exists() or list((tmp_path / "out").iterdir()) == []


def test_render_into_a_file_path_is_a_clear_error(capsys, tmp_path):
    blocker = tmp_path / "out"
    blocker.write_text("not a folder")
    code, _, err = run(capsys, "render", "--format", "html", "-o", str(blocker / "sub"))
    assert code == 2 and str(blocker) in err and "Traceback" not in err


def test_a_built_wheel_renders_from_any_directory(tmp_path):
    """The templates ship inside the package: build a wheel, unpack it on its own
    path, and render from an unrelated folder with the repo out of reach."""
    wheels, target, work = tmp_path / "wheels", tmp_path / "site", tmp_path / "work"
    work.mkdir()
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
                    "-w", str(wheels), str(ROOT)], check=True, capture_output=True)
    wheel = next(wheels.glob("worksheet-*.whl"))
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), str(wheel)],
                   check=True, capture_output=True)
    code = ("import sys, worksheet; from worksheet.cli import main; "
            "assert worksheet.__file__.startswith(sys.argv[1]), worksheet.__file__; "
            "sys.exit(main(['render', '-o', 'out']))")
    env = {"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin"}
    result = subprocess.run([sys.executable, "-c", code, str(target)], cwd=work, env=env,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert (work / "out" / "hw2-1.pdf").stat().st_size > 10_000
    assert "The derivation, once" in (work / "out" / "hw2-1.html").read_text(encoding="utf-8")


def test_json_derivation_carries_latex_that_keeps_the_chain_rule(capsys):
    code, out, _ = run(capsys, "solve", "--json")
    eq = next(e for e in json.loads(out)["derivation"] if e["name"] == "dW1_1_1")
    assert eq["latex"] == (r"\frac{\partial L}{\partial w^{(1)}_{11}} = \frac{\partial L}{\partial z^{(1)}_{1}} \cdot "
                           r"\frac{\partial z^{(1)}_{1}}{\partial w^{(1)}_{11}} = \delta^{(1)}_{1} \cdot x")
    delta = next(e for e in json.loads(out)["derivation"] if e["name"] == "delta1_1")
    assert delta["latex_symbolic"].endswith(r"\cdot \operatorname{ReLU}^{\prime}\left(z^{(1)}_{1}\right)")


def test_a_value_beyond_float64s_range_is_refused_at_once(tmp_path):
    """σ(−10⁶) once took the solver minutes (a Fraction with a million-bit
    denominator) before anything was said; now it is refused straight away."""
    import time

    path = tmp_path / "far.toml"
    path.write_text(spec_text('layers = [{ units = 1, activation = "sigmoid" }]',
                              'loss = "half_sse"\nlearning_rate = 0.1', "x = [-1000000]\ny = [0]"))
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "worksheet", "solve", str(path)], capture_output=True, text=True)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "beyond what a worksheet holds" in proc.stderr and "saturated" in proc.stderr
    assert time.perf_counter() - start < 20


def test_solve_json_carries_the_givens_the_answer_names_and_latex(capsys):
    import json

    assert main(["solve", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["schema"] == 2
    given = data["given"]
    # the built-in problem as the homework states it: input 2, target 1, η = 0.01, three layers
    assert given["x"]["exact"] == [["2"]] and given["y"]["value"] == [[1.0]]
    assert given["learning_rate"]["exact"] == "1/100" and given["loss"] == "half_sse"
    assert [layer["activation"] for layer in given["layers"]] == ["relu", "relu", "identity"]
    assert main(["answers"]) == 0
    template = capsys.readouterr().out
    step1 = template.split("[step1]")[1].split("[step2]")[0]
    names = [line.split(" = ")[0] for line in step1.strip().splitlines()]
    assert [q["name"] for q in data["steps"][0]["quantities"]] == names
    new = {q["name"]: q["exact"] for q in data["steps"][0]["quantities"]}
    assert new["new_W1_1_1"] == "43/50" and new["eta_dW1_1_1"] == "7/50"  # 1 − 0.01·14, and 0.01·14
    loss = next(e for e in data["steps"][0]["equations"] if e["name"] == "L")
    assert loss["latex"] == r"\frac{1}{2} \cdot \left(4.5 - 1\right)^{2}"
    z = next(e for e in data["steps"][0]["equations"] if e["name"] == "z1_1")
    assert z["latex"] == r"1 \cdot 2 + \left(-0.5\right)"
    d = next(e for e in data["derivation"] if e["name"] == "dW1_1_1")
    assert d["latex_lhs"] == r"\frac{\partial L}{\partial w^{(1)}_{11}}"
    assert d["latex_symbolic"] == r"\delta^{(1)}_{1} \cdot x"


def test_digits_gives_significant_digits_instead_of_decimals(capsys):
    from fractions import Fraction

    from worksheet.notation import Digits, format_decimal

    assert main(["solve", "--digits", "3"]) == 0
    out = capsys.readouterr().out
    # the homework prints W1 = 0.8093 after two updates: 3 significant digits are 0.809
    assert "w¹₁₁ = 0.809," in out and "0.8093" not in out
    assert format_decimal(Fraction("0.000438568"), Digits(3)) == "0.000439"
    assert format_decimal(Fraction("123.456"), Digits(2)) == "123"  # never rounds away whole digits
    assert main(["render", "--digits", "0"]) == 2


def test_check_refuses_answers_made_for_another_sheet_and_says_how_to_go_on(capsys, tmp_path):
    """As a filled PDF of another sheet is refused, so is an answers file: marked against this key,
    another student's variant got 8 of 10 with every answer "carried forward"."""
    spec = tmp_path / "p.toml"
    spec.write_text((ROOT / "examples" / "mazur.toml").read_text(encoding="utf-8"), encoding="utf-8")
    answers = tmp_path / "answers.toml"
    assert run(capsys, "answers", str(spec), "-o", str(answers))[0] == 0
    assert 'sheet = "' in answers.read_text(encoding="utf-8")
    _, _, err = run(capsys, "check", str(spec), str(answers))
    assert "sheet" not in err
    spec.write_text(spec.read_text(encoding="utf-8").replace("learning_rate = 0.5", "learning_rate = 0.25"),
                    encoding="utf-8")
    code, out, err = run(capsys, "check", str(spec), str(answers))
    assert code == 2 and not out and "answers.toml: this file was made for sheet" in err and "p.toml is sheet" in err
    assert "delete the file's `sheet = ` line" in err and "Traceback" not in err
    kept = answers.read_text(encoding="utf-8")
    answers.write_text("\n".join(line for line in kept.splitlines() if not line.startswith("sheet =")),
                       encoding="utf-8")
    code, out, err = run(capsys, "check", str(spec), str(answers))
    assert code in (0, 1) and "Score" in out and "sheet" not in err  # the way out the message names
    answers.write_text(kept, encoding="utf-8")
    answers.write_text(answers.read_text(encoding="utf-8").replace('sheet = "', 'sheet = "zz'), encoding="utf-8")
    code, _, err = run(capsys, "check", str(spec), str(answers))
    assert code == 2 and "sheet:" in err and "8 hex digits" in err


def test_solve_json_forms_are_the_taught_ones_with_exact_constants(capsys):
    code, out, _ = run(capsys, "solve", "--json", str(ROOT / "examples" / "sigmoid-softmax.toml"))
    derivation = {e["name"]: e for e in json.loads(out)["derivation"]}
    assert code == 0
    assert derivation["delta3_1"]["symbolic"] == "ŷ₁ − y₁" and "Σₖ yₖ = 1" in derivation["delta3_1"]["note"]
    assert derivation["delta3_1"]["chain"] == "∂L/∂ŷ₁·∂ŷ₁/∂z³₁ + ∂L/∂ŷ₂·∂ŷ₂/∂z³₁"
    assert derivation["a3_1"]["latex_symbolic"].startswith(r"\frac{e^{z^{(3)}_{1}}}")
    assert derivation["z1_1"]["note"] is None
    code, out, _ = run(capsys, "solve", "--json", str(ROOT / "examples" / "batch-momentum.toml"))
    derivation = {e["name"]: e for e in json.loads(out)["derivation"]}
    assert derivation["L"]["symbolic"].startswith("⅓·(")  # the mean over 3 samples, never 0.3333·
    assert "0.3333" not in json.dumps([e["symbolic"] for e in derivation.values()], ensure_ascii=False)


def test_digits_and_decimals_are_one_or_the_other_and_said_as_what_they_are(capsys, tmp_path):
    """--digits silently won over --decimals, and --digits 3 was reported as "3 decimals"."""
    code, out, _ = run(capsys, "solve", "--digits", "3")
    assert code == 0 and "numbers shown to 3 significant digits." in " ".join(out.split())
    code, out, err = run(capsys, "solve", "--digits", "3", "--decimals", "2")
    assert code == 2 and not out and "not both" in err
    code, _, err = run(capsys, "render", "--digits", "3", "--decimals", "2", "-o", str(tmp_path))
    assert code == 2 and "not both" in err and not list(tmp_path.iterdir())


def test_a_learning_rate_of_a_third_is_printed_as_the_third_it_is(capsys, tmp_path):
    """η = "1/3" was shown as 0.333333333333, not the η the arithmetic uses; a summed loss said
    "factor 1/1 in front of the sum"."""
    path = tmp_path / "third.toml"
    path.write_text(spec_text("layers = [{ units = 1 }]", 'loss = "half_sse"\nlearning_rate = "1/3"\nreduction = "sum"',
                              "x = [[1], [2]]\ny = [[1], [0]]"), encoding="utf-8")
    code, out, _ = run(capsys, "solve", str(path))
    head = " ".join(out.split("Step 1 of")[0].split())
    assert code == 0 and "η = 1/3" in head and "0.3333" not in head, head
    assert "reduced by sum (no factor in front of it)" in head and "1/1" not in head
    code, _, _ = run(capsys, "render", str(path), "-o", str(tmp_path / "out"))
    page = (tmp_path / "out" / "third.html").read_text(encoding="utf-8")
    # (the PyTorch script's lr = 0.3333333333333333 is Python's float of it, as torch takes it)
    assert code == 0 and "η = 0.3" not in page and "η = 1/3" in page and "learning rate η</th><td>1/3<" in page
