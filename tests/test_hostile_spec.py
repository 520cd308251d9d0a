"""Hostile and extreme input (issue 8, section 3): every reproducer through the
command line in-process, and a fuzz test of spec files.

Each bad spec must end in exit status 2 with one line on stderr naming the
file and the key, within a few seconds, with no traceback; each valid but
demanding one inside the limits must solve in seconds."""

import ast
import contextlib
import io
import math
import re
import tempfile
import time
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from worksheet.cli import main
from worksheet.spec import builtin_text

BUILTIN = builtin_text()


def run(capsys, *argv):
    start = time.perf_counter()
    code = main(list(argv))
    elapsed = time.perf_counter() - start
    out = capsys.readouterr()
    return code, out.out, out.err, elapsed


def builtin_with(*replacements: tuple[str, str]) -> str:
    text = BUILTIN
    for old, new in replacements:
        assert old in text, old
        text = text.replace(old, new, 1)
    return text


def assert_refused(code, out, err, elapsed, path, key, seconds=5.0):
    assert code == 2, (code, err)
    assert out == ""
    assert "Traceback" not in err and "\x1b" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"worksheet: {path}: "), err
    assert key in lines[0], err
    assert elapsed < seconds, elapsed


# -- 2. extreme numbers in a spec ------------------------------------------------

EXTREME = {
    "1e308": ("weight = 1", "weight = 1e308", "init.weight", "too large"),
    "1e400": ("weight = 1", "weight = 1e400", "init.weight", "too large"),
    "1e-5000": ("weight = 1", "weight = 1e-5000", "init.weight", "too small"),
    "float 1e999999": ("bias = -0.5", "bias = -1e999999", "init.bias", "too large"),
    "string 1e999999999": ("weight = 1", 'weight = "1e999999999"', "init.weight", "too large"),
    "5000-digit integer": ("x = [2]", "x = [" + "7" * 5000 + "]", "", "thousands of digits"),
    "4000-digit integer": ("x = [2]", "x = [" + "7" * 4000 + "]", "data.x[0]", "too large"),
    "5000-digit fraction": ("y = [1]", 'y = ["1/' + "3" * 5000 + '"]', "data.y[0]", "too many digits"),
    "5000-digit decimal": ("learning_rate = 0.01", "learning_rate = 0." + "1" * 5000, "training.learning_rate",
                           "significant digits"),
    "tiny fraction": ("learning_rate = 0.01", 'learning_rate = "1/999999999999999"', "training.learning_rate",
                      "too many digits"),
    "inf": ("weight = 1", "weight = -inf", "init.weight", "not a finite number"),
    "nested brackets": ("x = [2]", "x = " + "[" * 100_000 + "]" * 100_000, "", "nested too deeply"),
    "900 nested brackets": ("x = [2]", "x = " + "[" * 900 + "]" * 900, "", "nested too deeply"),
    "huge units": ("units = 2", "units = 99999999999999999999999999", "network.layers[0].units", "out of range"),
}


@pytest.mark.parametrize("case", sorted(EXTREME))
def test_extreme_numbers_are_refused_quickly(tmp_path, capsys, case):
    old, new, key, words = EXTREME[case]
    path = tmp_path / "hw.toml"
    path.write_text(builtin_with((old, new)))
    code, out, err, elapsed = run(capsys, "solve", str(path))
    assert_refused(code, out, err, elapsed, path, key)
    assert words in err
    assert len(err) < 400  # a 5000-digit value is not echoed whole


@pytest.mark.parametrize("value", ["1e6", "-1000000", '"999999/1"', "0.000000000001", "123456.789012"])
def test_the_edges_of_the_range_are_accepted(tmp_path, capsys, value):
    # the range is |v| = 0 or 1e-12 <= |v| <= 1e6, 12 significant digits: its edges parse
    path = tmp_path / "hw.toml"
    path.write_text(builtin_with(("bias = -0.5", f"bias = {value}"), ("weight = 1", "weight = 0")))
    code, out, err, elapsed = run(capsys, "solve", "--json", str(path))
    assert code == 0, err
    assert elapsed < 10
    # every weight 0: z¹₁ = 0·x + b is the bias, read exactly as written
    import json

    z = json.loads(out)["steps"][0]["exact"]["forward"][0]["z"][0]
    assert Fraction(z) == Fraction(value.strip('"')), (z, value)


@pytest.mark.parametrize("value", ["1000001", "1e-13", "1234567.123456", '"1/0"', '"0.1234567890123"'])
def test_just_outside_the_range_is_refused(tmp_path, capsys, value):
    path = tmp_path / "hw.toml"
    path.write_text(builtin_with(("bias = -0.5", f"bias = {value}")))
    code, out, err, elapsed = run(capsys, "solve", str(path))
    assert_refused(code, out, err, elapsed, path, "init.bias")


# -- 2. extreme numbers while solving ----------------------------------------------

def test_a_diverging_exact_problem_is_refused_not_a_traceback(tmp_path, capsys):
    # identity 1-1, sse, w = 10, x = 1000: each update multiplies the error by ~2e6,
    # past 1e38 within 5 steps (1e76 crashed round_half_up before)
    path = tmp_path / "div.toml"
    path.write_text("""[network]
inputs = 1
layers = [{ units = 1, activation = "identity" }]
[init]
weight = 10
bias = 0
[data]
x = [1000]
y = [0]
[training]
loss = "sse"
learning_rate = 1
steps = 5
""")
    code, out, err, elapsed = run(capsys, "solve", str(path))
    assert_refused(code, out, err, elapsed, path, "step ")
    assert "diverges" in err


def test_a_diverging_sigmoid_problem_is_refused(tmp_path, capsys):
    path = tmp_path / "div.toml"
    path.write_text(builtin_with(('activation = "relu" }', 'activation = "sigmoid" }'),
                                 ("weight = 1", "weight = 1000"), ("x = [2]", "x = [1000]"),
                                 ("learning_rate = 0.01", "learning_rate = 1000000"), ("steps = 2", "steps = 5")))
    code, out, err, elapsed = run(capsys, "solve", str(path))
    assert_refused(code, out, err, elapsed, path, "step ", seconds=20)


# -- 1. valid problems inside the limits solve in seconds ------------------------------

def test_fractions_that_grow_switch_to_verified_decimals(tmp_path, capsys):
    """weight 0.37, bias 0.21, 5 steps: the exact fractions grow ~5-fold in digits a
    step and reached 4300 digits (int -> str refused) by step 5."""
    path = tmp_path / "grow.toml"
    path.write_text(builtin_with(("weight = 1", "weight = 0.37"), ("bias = -0.5", "bias = 0.21"),
                                 ("steps = 2", "steps = 5")))
    code, out, err, elapsed = run(capsys, "solve", str(path))
    assert code == 0, err
    assert elapsed < 10
    assert "Step 5 of 5" in out and "then 30 significant digits" in out
    code, out, err, _ = run(capsys, "solve", "--json", str(path))
    assert code == 0, err
    import json

    data = json.loads(out)
    assert 1 <= data["exact_steps"] < 5
    assert "then 30 significant digits" in data["arithmetic"]
    # the last step's numbers are decimal strings, not fractions thousands of digits long
    last = data["steps"][-1]["exact"]["loss"]
    assert "/" not in last and len(last) < 40
    # PyTorch float64 on the same problem: every quantity agrees to 1e-9
    pytest.importorskip("torch")
    code, out, err, _ = run(capsys, "verify", str(path))
    assert code == 0, out + err


def test_fractions_that_grow_still_render_and_check(tmp_path, capsys):
    path = tmp_path / "grow.toml"
    path.write_text(builtin_with(("weight = 1", "weight = 0.37"), ("bias = -0.5", "bias = 0.21"),
                                 ("steps = 2", "steps = 5")))
    code, out, err, elapsed = run(capsys, "render", str(path), "-o", str(tmp_path / "out"), "--format", "html")
    assert code == 0, err
    html = (tmp_path / "out" / "grow.html").read_text()
    assert "exact fractions in steps 1 to" in html and "then 30 significant digits (from step" in html
    answers = tmp_path / "answers.toml"
    assert run(capsys, "answers", str(path), "-o", str(answers))[0] == 0
    code, out, err, _ = run(capsys, "check", str(path), str(answers))
    assert code == 1 and "Traceback" not in err  # every answer missing: a verdict, not a crash


def test_a_deep_identity_network_is_refused_or_quick(tmp_path, capsys):
    """2-6-6-6-6-6-1 identity, 5 steps: ran 4 minutes before the int -> str limit."""
    layers = ", ".join(['{ units = 6, activation = "identity" }'] * 5)
    path = tmp_path / "deep.toml"
    path.write_text(f"""[network]
inputs = 2
layers = [{layers}, {{ units = 1, activation = "identity" }}]
[init]
weight = 0.37
bias = 0.21
[data]
x = [1, 0.5]
y = [1]
[training]
loss = "half_sse"
learning_rate = 0.01
steps = 5
""")
    code, out, err, elapsed = run(capsys, "solve", str(path))
    assert elapsed < 20
    # 2·6 + 6 + 4·(6·6 + 6) + 6 + 1 = 193 parameters, 1 sample × 5 steps: over the 500 quantities
    assert_refused(code, out, err, elapsed, path, "training.steps")
    assert "1 sample x 5 steps x 193 parameters" in err, err
    # 2 steps (386 quantities) are solved, in exact fractions: the loss is the one counted here
    path.write_text(path.read_text().replace("steps = 5", "steps = 2"))
    code, out, err, elapsed = run(capsys, "solve", "--json", str(path))
    assert code == 0 and elapsed < 20, err
    a = [Fraction(1), Fraction(1, 2)]
    for units in (6, 6, 6, 6, 6, 1):  # every weight 0.37 and bias 0.21, identity throughout
        a = [sum(Fraction(37, 100) * v for v in a) + Fraction(21, 100)] * units
    import json

    assert Fraction(json.loads(out)["steps"][0]["exact"]["loss"]) == (a[0] - 1) ** 2 / 2


def test_too_many_quantities_are_refused_with_the_reason(tmp_path, capsys):
    """16 samples x 5 steps of a sigmoid network took 10 minutes and 6 GB to render."""
    xs = ", ".join(f"[{i / 10}, {i / 20}]" for i in range(16))
    ys = ", ".join(f"[{i / 16}]" for i in range(16))
    path = tmp_path / "big.toml"
    path.write_text(f"""[network]
inputs = 2
layers = [{{ units = 6, activation = "sigmoid" }}, {{ units = 6, activation = "sigmoid" }}, {{ units = 1 }}]
[init]
weight = 0.1
bias = 0
[data]
x = [{xs}]
y = [{ys}]
[training]
loss = "mse"
learning_rate = 0.1
steps = 5
""")
    code, out, err, elapsed = run(capsys, "render", str(path), "-o", str(tmp_path / "out"))
    assert_refused(code, out, err, elapsed, path, "training.steps")
    assert "16 samples x 5 steps x 67 parameters" in err


# -- 3. spec text never becomes code or a terminal command -----------------------------

@pytest.mark.parametrize("key", ["title", "course", "instructor", "due"])
@pytest.mark.parametrize("text", ["x\\nimport os; os.system('echo PWNED')", "\\u001b[2J\\u001b[31mred", "tab\\there",
                                  "a\\u2028b", "\\u202Eevil"])
def test_control_characters_in_text_are_refused(tmp_path, capsys, key, text):
    path = tmp_path / "hw.toml"
    path.write_text(f'{key} = "{text}"\n' + BUILTIN.replace("title = ", "# title = "))
    code, out, err, elapsed = run(capsys, "torch-script", str(path))
    assert_refused(code, out, err, elapsed, path, key)
    assert "control character" in err


def test_a_multiline_title_stays_a_comment_in_the_script():
    """A Spec made in code (not parsed) may still hold a newline: the script keeps it in comments."""
    import dataclasses

    from worksheet.script import torch_script
    from worksheet.spec import parse_spec

    spec = dataclasses.replace(parse_spec(BUILTIN), title="HW\nimport os\nos.system('echo PWNED')\r\nraise SystemExit")
    script = torch_script(spec)
    tree = ast.parse(script)
    calls = {n.func.attr for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)}
    assert "system" not in calls
    assert not any(isinstance(n, ast.Raise) for n in ast.walk(tree))
    assert "# os.system('echo PWNED')" in script


def test_a_long_title_is_refused_quickly(tmp_path, capsys):
    path = tmp_path / "hw.toml"
    path.write_text(BUILTIN.replace('title = "', 'title = "' + "x" * 100_000, 1))
    code, out, err, elapsed = run(capsys, "render", str(path), "-o", str(tmp_path / "out"))
    assert_refused(code, out, err, elapsed, path, "title")
    assert "characters long" in err and "at most 200" in err
    assert not (tmp_path / "out").exists()


def test_a_title_of_the_longest_allowed_length_renders(tmp_path, capsys):
    path = tmp_path / "hw.toml"
    path.write_text(re.sub(r'title = ".*"', 'title = "' + "Ω" * 200 + '"', BUILTIN, count=1))
    code, _, err, _ = run(capsys, "render", str(path), "-o", str(tmp_path / "out"), "--format", "html")
    assert code == 0, err
    [page] = (tmp_path / "out").glob("*.html")
    assert "Ω" * 200 in page.read_text(encoding="utf-8")  # the whole title, not cut


def test_escapes_in_keys_and_values_never_reach_the_terminal(tmp_path, capsys):
    for text in (BUILTIN + '\n"\\u001b[2Jx" = 1\n',
                 BUILTIN.replace('activation = "identity"', 'activation = "\\u001b[2J"'),
                 BUILTIN.replace('loss = "half_sse"', 'loss = "\\u009b31m"')):
        path = tmp_path / "hw.toml"
        path.write_text(text)
        code, out, err, elapsed = run(capsys, "solve", str(path))
        assert code == 2 and "\x1b" not in err and "\x9b" not in err and "Traceback" not in err
        assert "\\u001B" in err or "\\u009B" in err


# -- 4. every parameter group frozen --------------------------------------------------------

@pytest.mark.parametrize("command", ["verify", "torch-script", "solve", "trace"])
def test_a_problem_with_nothing_to_train_is_refused(tmp_path, capsys, command):
    path = tmp_path / "hw.toml"
    path.write_text(builtin_with(("steps = 2", 'steps = 2\nfrozen = ["W1", "b1", "W2", "b2", "W3", "b3"]')))
    code, out, err, elapsed = run(capsys, command, str(path))
    assert_refused(code, out, err, elapsed, path, "training.frozen")
    assert "at least one" in err


def test_all_but_one_group_frozen_still_verifies(tmp_path, capsys):
    pytest.importorskip("torch")
    path = tmp_path / "hw.toml"
    path.write_text(builtin_with(("steps = 2", 'steps = 2\nfrozen = ["W1", "b1", "W2", "b2", "W3"]')))
    code, out, err, _ = run(capsys, "verify", str(path))
    assert code == 0, out + err


# -- 5. BCE where PyTorch clamps --------------------------------------------------------------

BCE = """[network]
inputs = 1
layers = [{{ units = 1, activation = "sigmoid" }}]
[init]
weight = {w}
bias = 0
[data]
x = [1]
y = [0]
[training]
loss = "bce"
learning_rate = 0.1
steps = 1
"""


def test_bce_where_pytorch_clamps_is_refused(tmp_path, capsys):
    torch = pytest.importorskip("torch")
    # the formula: -log(1 - σ(40)) = 40 + log(1 + e^-40); PyTorch clamps log(0) at -100
    p = torch.sigmoid(torch.tensor([40.0], dtype=torch.float64))
    theirs = torch.nn.functional.binary_cross_entropy(p, torch.zeros(1, dtype=torch.float64)).item()
    formula = 40 + math.log1p(math.exp(-40))
    assert abs(theirs - formula) > 1  # they part ways: a key calling itself BCELoss cannot give both
    path = tmp_path / "bce.toml"
    path.write_text(BCE.format(w=40))
    code, out, err, elapsed = run(capsys, "solve", str(path))
    assert_refused(code, out, err, elapsed, path, "step 1")
    assert "BCELoss" in err and "clamps" in err


def test_bce_short_of_the_clamp_matches_pytorch(tmp_path, capsys):
    torch = pytest.importorskip("torch")
    path = tmp_path / "bce.toml"
    path.write_text(BCE.format(w=10))
    code, out, err, _ = run(capsys, "solve", "--json", str(path))
    assert code == 0, err
    import json

    ours = json.loads(out)["steps"][0]["loss"]
    p = torch.sigmoid(torch.tensor([10.0], dtype=torch.float64))
    theirs = torch.nn.functional.binary_cross_entropy(p, torch.zeros(1, dtype=torch.float64)).item()
    assert abs(ours - theirs) <= 1e-9 * theirs
    assert run(capsys, "verify", str(path))[0] == 0


# -- 6. messages show values as TOML writes them ---------------------------------------------

@pytest.mark.parametrize("old, new, shown", [
    ("weight = 1", "weight = [0.1]", "got [0.1]"),
    ("x = [2]", "x = 1979-05-27", "got 1979-05-27"),
    ("[init]", "[init]\nlayers = { W = 1 }", "is { W = 1 }"),
    ('loss = "half_sse"', 'loss = "half sse"', '"half sse" is not one of'),
    ("steps = 2", "steps = true", "got true"),
    ("bias = -0.5", "bias = { a = 1979-05-27T07:32:00Z }", "got { a = 1979-05-27T07:32:00+00:00 }"),
])
def test_messages_show_values_as_toml(tmp_path, capsys, old, new, shown):
    path = tmp_path / "hw.toml"
    path.write_text(builtin_with((old, new)))
    code, out, err, elapsed = run(capsys, "solve", str(path))
    assert code == 2 and shown in err, err
    for leak in ("Decimal(", "datetime", "{'", "'}", "True", "False"):
        assert leak not in err, err


# -- 7. fuzz: random TOML values in every key of the spec -------------------------------------

KEYS = [("title",), ("course",), ("due",), ("network", "inputs"), ("network", "layers"), ("init", "weight"),
        ("init", "bias"), ("init", "layers"), ("data", "x"), ("data", "y"), ("training", "loss"),
        ("training", "learning_rate"), ("training", "steps"), ("training", "reduction"), ("training", "momentum"),
        ("training", "frozen"), ("network", "layers", 0, "units"), ("network", "layers", 0, "activation"),
        ("network", "layers", 1, "bias"), ("network", "layers", 1, "slope"), ("extra",), ("training", "extra")]

scalars = st.one_of(
    st.integers(-2**63, 2**63 - 1),
    st.sampled_from([0, 1, 2, 8, 9, -1, 16, 200, 201]),
    st.decimals(allow_nan=True, allow_infinity=True, places=None),
    st.builds(lambda m, e: Decimal(f"{m}e{e}"), st.integers(-10**6, 10**6), st.integers(-10**6, 10**6)),
    st.text(max_size=30),
    st.sampled_from(["7/2", "1/0", "1e999999999", "relu", "sigmoid", "softmax", "bce", "mean", "W1", "b3",
                     "-0.5", " 3 / 4 ", "1e-13", "0x10"]),
    st.booleans(),
    st.dates(),
)
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                       st.dictionaries(st.text(max_size=5), inner, max_size=3)),
                      max_leaves=12)


def toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, Decimal):
        if v.is_nan():
            return "nan"
        if v.is_infinite():
            return "-inf" if v.is_signed() else "inf"
        sign, digits, exp = v.as_tuple()
        return ("-" if sign else "") + "".join(map(str, digits)) + "e" + str(exp) if digits else "0.0"
    if isinstance(v, str):
        return '"' + "".join(c if c.isprintable() and c not in '"\\' else f"\\U{ord(c):08X}" for c in v) + '"'
    if isinstance(v, list):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{toml_value(str(k))} = {toml_value(x)}" for k, x in v.items()) + "}"
    return v.isoformat()


def base_doc() -> dict:
    return {"title": "fuzz", "network": {"inputs": 1, "layers": [{"units": 2, "activation": "relu"},
                                                                {"units": 1, "activation": "leaky_relu"}]},
            "init": {"weight": Decimal("0.5"), "bias": Decimal("-0.25")}, "data": {"x": [2], "y": [1]},
            "training": {"loss": "half_sse", "learning_rate": Decimal("0.1"), "steps": 2}}


def toml_doc(doc: dict) -> str:
    lines = [f"{k} = {toml_value(v)}" for k, v in doc.items() if not isinstance(v, dict)]
    for k, v in doc.items():
        if isinstance(v, dict):
            lines.append(f"[{k}]")
            lines += [f"{toml_value(str(kk))} = {toml_value(vv)}" for kk, vv in v.items()]
    return "\n".join(lines) + "\n"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(KEYS), values), min_size=1, max_size=3))
def test_fuzzed_specs_never_crash_or_hang(changes):
    doc = base_doc()
    for path, value in changes:
        target = doc
        try:
            for part in path[:-1]:
                target = target[part]
            target[path[-1]] = value
        except (KeyError, IndexError, TypeError):  # an earlier change replaced the table on the way
            continue
    with tempfile.TemporaryDirectory() as tmp:
        spec_path = Path(tmp) / "fuzz.toml"
        spec_path.write_text(toml_doc(doc), encoding="utf-8")
        out, err = io.StringIO(), io.StringIO()
        start = time.perf_counter()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(["solve", "--json", str(spec_path)])
        elapsed = time.perf_counter() - start
    assert code in (0, 2), err.getvalue()
    assert elapsed < 5, (elapsed, toml_doc(doc))
    if code == 2:
        message = err.getvalue()
        assert message.startswith(f"worksheet: {spec_path}: ") and len(message.strip().splitlines()) == 1
        assert "\x1b" not in message and "Traceback" not in message
