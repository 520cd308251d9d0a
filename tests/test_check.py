"""The answer checker, against a simulated student written here from scratch:
a student who works the whole sheet by hand (in float64), optionally makes
one catalogued slip at one place and carries their own numbers on from
there, optionally rounds every number as they go."""

import math
import random
import re
from decimal import ROUND_HALF_UP, Decimal

import pytest
from conftest import ROOT, load

from worksheet.answers import AnswersError, answers_template, parse_answers
from worksheet.check import check
from worksheet.cli import main
from worksheet.quantities import quantities
from worksheet.solve import solve
from worksheet.spec import builtin_text, parse_spec

BATCH_SIGMOID = """
title = "two samples, a sigmoid layer, mean squared error"
[network]
inputs = 2
layers = [{ units = 2, activation = "sigmoid" }, { units = 1, activation = "identity" }]
[[init.layers]]
W = [[0.3, -0.2], [0.1, 0.4]]
b = [0.1, -0.1]
[[init.layers]]
W = [[0.5, -0.6]]
b = [0.2]
[data]
x = [[1, 2], [-1, 0.5]]
y = [[0.5], [-0.5]]
[training]
loss = "mse"
learning_rate = 0.1
steps = 2
"""


def rounded(v: float, decimals: int | None) -> float:
    if decimals is None:
        return v
    return float(Decimal(repr(v)).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP))


class Student:
    """Works a dense network by hand: sigmoid, ReLU or identity layers; half_sse,
    sse or mse; plain SGD. `slip` = (key, mistake) makes one mistake at one
    quantity; every later number is computed, correctly, from the student's own."""

    def __init__(self, spec, slip=(None, None), decimals=None):
        self.spec, self.slip, self.decimals = spec, slip, decimals
        self.values: dict[str, float] = {}

    def put(self, key: str, correct: float, wrong=None) -> float:
        v = wrong() if self.slip[0] == key and wrong is not None else correct
        v = rounded(v, self.decimals)
        self.values[key] = v
        return v

    def mistake(self, key: str, name: str) -> bool:
        return self.slip == (key, name)

    def alternative(self, key: str, slips: dict):
        """The slip's computation when this quantity is where the student slips."""
        return slips.get(self.slip[1]) if self.slip[0] == key else None

    def work(self) -> dict[str, float]:
        spec = self.spec
        L = len(spec.layers)
        W = [[[float(v) for v in row] for row in w] for w in spec.weights]
        B = [[float(v) for v in b] if b is not None else None for b in spec.biases]
        n_samples = len(spec.x)
        K = spec.layers[-1].units
        scale = 1 / (n_samples * K) if spec.loss == "mse" else 1.0  # the sse losses sum over samples here
        for step in range(1, spec.steps + 1):
            p = f"step{step}."

            def sfx(s):
                return f"_s{s}" if n_samples > 1 else ""

            acts, zs = {}, {}
            for s in range(1, n_samples + 1):
                a_prev = [float(v) for v in spec.x[s - 1]]
                acts[0, s] = a_prev
                for l, layer in enumerate(spec.layers, start=1):
                    z_list, a_list = [], []
                    for i in range(layer.units):
                        w, bias = W[l - 1], (B[l - 1][i] if B[l - 1] else 0)
                        correct = sum(w[i][j] * a_prev[j] for j in range(len(a_prev))) + bias
                        key = f"{p}z{l}_{i + 1}{sfx(s)}"
                        z = self.put(key, correct, self.alternative(key, {
                            "transposed": lambda w=w, i=i, a_prev=a_prev, bias=bias: sum(
                                w[j][i] * a_prev[j] for j in range(len(a_prev))) + bias,
                            "after_activation": lambda c=correct, layer=layer: act(layer.activation, c),
                        }))
                        key = f"{p}a{l}_{i + 1}{sfx(s)}"
                        a = self.put(key, act(layer.activation, z),
                                     (lambda z=z: z) if self.mistake(key, "before_activation") else None)
                        z_list.append(z)
                        a_list.append(a)
                    zs[l, s], acts[l, s] = z_list, a_list
                    a_prev = a_list
            ys = [[float(v) for v in row] for row in spec.y]
            half = 0.5 if spec.loss == "half_sse" else 1.0
            correct_loss = scale * sum(half * (acts[L, s][k] - ys[s - 1][k]) ** 2
                                       for s in range(1, n_samples + 1) for k in range(K))
            key = p + "L"
            self.put(key, correct_loss, (lambda: 2 * correct_loss) if self.mistake(key, "half") else
                     (lambda: correct_loss * n_samples) if self.mistake(key, "mean_sum") else None)
            deltas = {}
            for s in range(1, n_samples + 1):
                dys = []
                for k in range(K):
                    correct = scale * (1 if half == 0.5 else 2) * (acts[L, s][k] - ys[s - 1][k])
                    key = f"{p}dL_dyhat{k + 1}{sfx(s)}"
                    dys.append(self.put(key, correct, (lambda c=correct: 2 * c) if self.mistake(key, "half") else None))
                for l in range(L, 0, -1):
                    kind = spec.layers[l - 1].activation
                    d_list = []
                    for i in range(spec.layers[l - 1].units):
                        z, a = zs[l, s][i], acts[l, s][i]
                        if l == L:
                            up = dys[i]
                        else:
                            up = sum(deltas[l + 1, s][k] * W[l][k][i] for k in range(spec.layers[l].units))
                        key = f"{p}delta{l}_{i + 1}{sfx(s)}"
                        def sequential(l=l, s=s, i=i, z=z, a=a, kind=kind):
                            # layer l+1's weights already updated with its own gradient
                            new = [[W[l][k][j] - float(spec.learning_rate) * sum(
                                deltas[l + 1, t][k] * acts[l, t][j] for t in range(1, n_samples + 1))
                                for j in range(len(W[l][k]))] for k in range(len(W[l]))]
                            return sum(deltas[l + 1, s][k] * new[k][i] for k in range(len(new))) * deriv(kind, z, a)

                        wrong = self.alternative(key, {
                            "no_derivative": lambda up=up: up,
                            "sigma_for_derivative": lambda up=up, a=a: up * a,
                            "derivative_at_a": lambda up=up, a=a: up * act("sigmoid", a) * (1 - act("sigmoid", a)),
                            "sequential": sequential,
                        })
                        d_list.append(self.put(key, up * deriv(kind, z, a), wrong))
                    deltas[l, s] = d_list
            grads = {}
            for l in range(L, 0, -1):
                units, fan = spec.layers[l - 1].units, len(acts[l - 1, 1])
                if f"W{l}" not in spec.frozen:
                    for i in range(units):
                        for j in range(fan):
                            correct = sum(deltas[l, s][i] * acts[l - 1, s][j] for s in range(1, n_samples + 1))
                            key = f"{p}dW{l}_{i + 1}_{j + 1}"
                            grads[f"W{l}", i, j] = self.put(key, correct, (lambda l=l, i=i: sum(
                                deltas[l, s][i] for s in range(1, n_samples + 1)))
                                if self.mistake(key, "input_left_out") else None)
                if B[l - 1] is not None and f"b{l}" not in spec.frozen:
                    for i in range(units):
                        correct = sum(deltas[l, s][i] for s in range(1, n_samples + 1))
                        key = f"{p}db{l}_{i + 1}"
                        grads[f"b{l}", i, None] = self.put(key, correct, (lambda l=l, i=i: sum(
                            deltas[l, s][i] * acts[l - 1, s][0] for s in range(1, n_samples + 1)))
                            if self.mistake(key, "bias_as_weight") else None)
            lr = float(spec.learning_rate)
            for l in range(1, L + 1):
                for group in (f"W{l}", f"b{l}"):
                    if group in spec.frozen or (group[0] == "b" and B[l - 1] is None):
                        continue
                    cells = ([(i, j) for i in range(len(W[l - 1])) for j in range(len(W[l - 1][0]))]
                             if group[0] == "W" else [(i, None) for i in range(len(B[l - 1]))])
                    for i, j in cells:
                        name = f"{group}_{i + 1}" + (f"_{j + 1}" if j is not None else "")
                        g = grads[group, i, j]
                        key = f"{p}eta_d{name}"
                        eta = self.put(key, lr * g, (lambda g=g: g) if self.mistake(key, "no_rate") else
                                       (lambda g=g: lr * lr * g) if self.mistake(key, "rate_twice") else None)
                        old = W[l - 1][i][j] if j is not None else B[l - 1][i]
                        key = f"{p}new_{name}"
                        new = self.put(key, old - eta, (lambda old=old, eta=eta: old + eta)
                                       if self.mistake(key, "sign") else None)
                        if j is not None:
                            W[l - 1][i][j] = new
                        else:
                            B[l - 1][i] = new
        return self.values


def act(kind, z):
    if kind == "sigmoid":
        return 1 / (1 + math.exp(-z))
    if kind == "relu":
        return max(z, 0.0)
    return z


def deriv(kind, z, a):
    if kind == "sigmoid":
        return a * (1 - a)
    if kind == "relu":
        return 1.0 if z > 0 else 0.0
    return 1.0


def answers_text(sol, values: dict[str, float], decimals: int = 4, leave_out=()) -> str:
    """The template `worksheet answers` writes, filled in as the student would type it."""
    out, step = [], 0
    for line in answers_template(sol).splitlines():
        if m := re.match(r"\[step(\d+)\]", line):
            step = int(m[1])
        if (m := re.match(r'(\w+) = ""', line)) and step:
            key = f"step{step}.{m[1]}"
            if key not in leave_out:
                line = f'{m[1]} = "{values[key]:.{decimals}f}"' + line[line.index("  #"):]
        out.append(line)
    return "\n".join(out) + "\n"


def mark(spec, values, decimals=4, leave_out=()):
    sol = solve(spec)
    return check(sol, parse_answers(answers_text(sol, values, decimals, leave_out), "answers.toml", sol))


SPECS = {
    "builtin": lambda: parse_spec(builtin_text(), "builtin"),
    "mazur": lambda: load("mazur"),
    "batch": lambda: parse_spec(BATCH_SIGMOID, "batch"),
}


@pytest.mark.parametrize("name", SPECS)
def test_the_simulated_student_agrees_with_the_engine(name):
    """The test's own student and the solver are written apart; they must agree first."""
    spec = SPECS[name]()
    values = Student(spec).work()
    key = {q.key: float(q.value) for q in quantities(solve(spec))}
    assert values.keys() == key.keys()
    for k, v in values.items():
        assert v == pytest.approx(key[k], rel=1e-12, abs=1e-12), k


@pytest.mark.parametrize("name", SPECS)
def test_a_fully_right_sheet_is_all_right(name):
    spec = SPECS[name]()
    marking = mark(spec, Student(spec).work())
    assert marking.counts == {"right": len(marking.marks), "carried": 0, "wrong": 0, "missing": 0}
    assert marking.first_wrong is None


@pytest.mark.parametrize("name", SPECS)
def test_rounding_every_step_to_2_decimals_is_all_right(name):
    spec = SPECS[name]()
    marking = mark(spec, Student(spec, decimals=2).work(), decimals=2)
    wrong = [(m.quantity.key, m.answer.text, float(m.quantity.value)) for m in marking.marks if m.verdict != "right"]
    assert not wrong


SLIPS = [  # (problem, where, mistake): each changes the number there
    ("builtin", "step1.L", "half"),
    ("builtin", "step1.dL_dyhat1", "half"),
    ("builtin", "step1.delta2_1", "sequential"),
    ("builtin", "step1.dW1_1_1", "input_left_out"),
    ("builtin", "step1.db1_2", "bias_as_weight"),
    ("builtin", "step1.eta_dW3_1_1", "no_rate"),
    ("builtin", "step2.eta_dW2_1_2", "rate_twice"),
    ("builtin", "step1.new_W3_1_2", "sign"),
    ("mazur", "step1.z2_1", "transposed"),
    ("mazur", "step1.z1_2", "after_activation"),
    ("mazur", "step1.a1_1", "before_activation"),
    ("mazur", "step1.delta1_1", "no_derivative"),
    ("mazur", "step1.delta2_2", "sigma_for_derivative"),
    ("mazur", "step1.delta1_2", "derivative_at_a"),
    ("mazur", "step1.delta2_1", "no_derivative"),
    ("batch", "step1.L", "mean_sum"),
    ("batch", "step2.delta1_2_s2", "sigma_for_derivative"),
    ("mazur", "step1.delta1_1", "sequential"),
]


@pytest.mark.parametrize("name, where, mistake", SLIPS)
def test_one_slip_is_named_there_and_carried_forward_after(name, where, mistake):
    spec = SPECS[name]()
    right = Student(spec).work()
    values = Student(spec, slip=(where, mistake)).work()
    assert values[where] != pytest.approx(right[where], abs=1e-4), "the slip must change the number"
    marking = mark(spec, values)
    by_key = marking.by_key()
    slip = by_key[where]
    assert slip.verdict == "wrong" and slip.mistake == mistake, (slip.verdict, slip.mistake, slip.note)
    assert marking.first_wrong is slip
    others = {m.quantity.key: m.verdict for m in marking.marks if m.quantity.key != where}
    assert set(others.values()) <= {"right", "carried"}, [k for k, v in others.items() if v not in ("right", "carried")]
    changed = [k for k in others if abs(values[k] - right[k]) > 1e-3]
    assert all(others[k] == "carried" for k in changed)
    for k in changed:
        assert by_key[k].follows, k


def test_random_noise_is_wrong_where_it_was_added_and_nowhere_else():
    rng = random.Random(7)
    for name in SPECS:
        spec = SPECS[name]()
        values = Student(spec).work()
        noisy = rng.sample(sorted(values), 5)
        for k in noisy:
            values[k] += rng.choice([-1, 1]) * rng.uniform(0.05, 3)
        marking = mark(spec, values)
        wrong = {m.quantity.key for m in marking.marks if m.verdict == "wrong"}
        assert wrong == set(noisy), name


def test_partial_answers_are_missing_and_the_rest_still_marked():
    spec = SPECS["builtin"]()
    values = Student(spec).work()
    leave_out = {"step1.z1_1", "step1.L", "step2.dW2_2_1", "step2.new_b3_1"}
    marking = mark(spec, values, leave_out=leave_out)
    assert {m.quantity.key for m in marking.marks if m.verdict == "missing"} == leave_out
    assert marking.counts["right"] == len(marking.marks) - len(leave_out)


def test_fractions_count_as_exact():
    sol = solve(SPECS["builtin"]())
    text = answers_template(sol).replace('L = ""', 'L = "49/8"').replace('dL_dyhat1 = ""', 'dL_dyhat1 = "7/3"', 1)
    marks = check(sol, parse_answers(text, "a.toml", sol)).by_key()
    assert marks["step1.L"].verdict == "right" and marks["step1.dL_dyhat1"].verdict == "wrong"


def test_a_whole_number_is_held_to_two_decimals():
    sol = solve(SPECS["mazur"]())
    value = float(sol.steps[0].values["z1_1"])  # 0.3775
    text = answers_template(sol).replace('z1_1 = ""', 'z1_1 = "0"', 1)
    assert check(sol, parse_answers(text, "a.toml", sol)).by_key()["step1.z1_1"].verdict == "wrong"
    text = answers_template(sol).replace('z1_1 = ""', f'z1_1 = "{value:.2f}"', 1)
    assert check(sol, parse_answers(text, "a.toml", sol)).by_key()["step1.z1_1"].verdict == "right"


# -- bad answers files -----------------------------------------------------

@pytest.mark.parametrize("edit, message", [
    (lambda t: t.replace('z1_1 = ""', 'z1_l = "1.5"', 1),
     r"answers.toml:8: \[step1\] z1_l is not a quantity of this problem; did you mean .*z1_1"),
    (lambda t: t.replace('z1_1 = ""', 'z1_1 = "one and a half"', 1),
     r'answers.toml:8: \[step1\] z1_1: "one and a half" is not a number; write a decimal'),
    (lambda t: t.replace('a1_1 = ""', 'a1_1 = "1.5"\nz1_1 = "1.5"', 1), r"answers.toml:10: z1_1 is given twice"),
    (lambda t: t.replace("1-2-2-1 relu relu identity", "2-3-3-2 sigmoid tanh softmax"),
     r"answers.toml:5: network: this file was made for '2-3-3-2 sigmoid tanh softmax, half_sse, 2 steps', "
     r"but the spec is '1-2-2-1"),
    (lambda t: t + "\n[step3]\nz1_1 = \"1\"\n", r"answers.toml:\d+: \[step3\] is not a step of this problem; "
     r"the steps are \[step1\], \[step2\]"),
    (lambda t: t.replace('z1_1 = ""', 'z1_1 = "1/0"', 1), r"answers.toml:8: \[step1\] z1_1: 1/0 divides by zero"),
])
def test_bad_answers_files_name_the_line_key_and_value(edit, message):
    sol = solve(SPECS["builtin"]())
    with pytest.raises(AnswersError, match=message):
        parse_answers(edit(answers_template(sol)), "answers.toml", sol)


def run(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_answers_command_prints_and_refuses_to_overwrite(capsys, tmp_path):
    code, out, _ = run(capsys, "answers")
    assert code == 0 and out.startswith("# Answers for: HW2-1") and 'dW1_1_1 = ""' in out
    target = tmp_path / "mine.toml"
    target.write_text("my typed answers", encoding="utf-8")
    code, _, err = run(capsys, "answers", "-o", str(target))
    assert code == 2 and "already exists" in err
    assert target.read_text(encoding="utf-8") == "my typed answers"


def test_check_command_reports_the_first_wrong_step_and_writes_the_marked_sheet(capsys, tmp_path):
    spec = SPECS["builtin"]()
    sol = solve(spec)
    values = Student(spec, slip=("step1.dL_dyhat1", "half")).work()
    answers = tmp_path / "a.toml"
    answers.write_text(answers_text(sol, values), encoding="utf-8")
    html, pdf = tmp_path / "marked.html", tmp_path / "marked.pdf"
    code, out, err = run(capsys, "check", str(answers), "--html", str(html), "--pdf", str(pdf),
                         "--weights", "carried=0.5")
    assert code == 1, err
    assert out.startswith("First wrong: step 1, dL_dyhat1")
    flat = " ".join(out.split())  # rich wraps at the terminal's width
    assert "expected 3.5" in flat and "the ½ of the loss is left out" in flat
    # every number the slip changed afterwards is carried forward, the rest right (the student's own count)
    right = Student(spec).work()
    carried = sum(1 for k in values if k != "step1.dL_dyhat1" and abs(values[k] - right[k]) > 1e-3)
    total = len(values)
    assert f"Score {total - 1 - carried + carried / 2:g} of {total}" in flat
    page = html.read_text(encoding="utf-8")
    assert 'class="box wrong"' in page and "expected 3.5" in page and 'class="box carried"' in page
    assert pdf.read_bytes().startswith(b"%PDF")


def test_check_command_bad_input_exits_2(capsys, tmp_path):
    answers = tmp_path / "a.toml"
    answers.write_text('[step1]\nz1_1 = "x"\n', encoding="utf-8")
    code, _, err = run(capsys, "check", str(answers), "--html", str(tmp_path / "m.html"))
    assert code == 2 and f"{answers}:2:" in err and "Traceback" not in err
    assert not (tmp_path / "m.html").exists()
    code, _, err = run(capsys, "check", str(answers), "--weights", "great=2")
    assert code == 2 and "'great' is not a verdict" in err
    code, _, err = run(capsys, "check", str(ROOT / "examples" / "mazur.toml"), str(tmp_path / "none.toml"))
    assert code == 2 and "none.toml: no such file" in err


def test_all_right_exits_0(capsys, tmp_path):
    spec = SPECS["builtin"]()
    answers = tmp_path / "a.toml"
    answers.write_text(answers_text(solve(spec), Student(spec).work()), encoding="utf-8")
    code, out, _ = run(capsys, "check", str(answers))
    assert code == 0 and out.startswith("Nothing is wrong.")
