"""Class sets, part 1 (issue 11): a spec's [variants] table and each student's variant.

A variant is a pure function of (the spec, the class seed, the student ID), the same in every
process; it meets the constraints; it agrees with PyTorch; an exact problem's variant stays exact
and short; `worksheet variant` prints a spec that reads back as the same problem; bad tables are
refused with a message naming the key, the value and what is allowed."""

import hashlib
import os
import subprocess
import sys
from dataclasses import replace
from fractions import Fraction

import pytest
from conftest import PROBLEMS, ROOT, load
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from worksheet.classes import variants as V
from worksheet.classes.variants import (
    DrawStream,
    decimals,
    parse_variants,
    roster_variants,
    seed_material,
    to_toml,
    variant,
)
from worksheet.cli import main
from worksheet.quantities import quantities
from worksheet.solve import solve
from worksheet.spec import SpecError, builtin_text, fingerprint, parse_spec
from worksheet.verify import compare, reference

CLASS = ROOT / "examples" / "class-variants.toml"
BUILTIN = builtin_text()


def run(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def with_variants(text: str, table: str) -> str:
    return text + "\n[variants]\n" + table + "\n"


# A few specs with a [variants] table: the example, the built-in problem, an irrational one with
# softmax, a batch with momentum and leaky ReLU, and Mazur's (sigmoid, frozen biases).
SPECS = {
    "class-variants": CLASS.read_text(),
    "builtin": with_variants(BUILTIN, "weight = { from = -1, to = 1, step = 0.5, exclude = [0] }\n"
                                      "bias = { from = -1, to = 1, step = 0.5 }\nx = [1, 2, 3]\n"
                                      "y = { from = -2, to = 2, step = 1 }\nlearning_rate = [0.1, 0.05, 0.01]"),
    "sigmoid-softmax": with_variants((ROOT / "examples" / "sigmoid-softmax.toml").read_text(),
                                     "weight = { from = -0.5, to = 0.5, step = 0.1 }\nx = [-1, 0.5, 1]\n"
                                     "y = [0, 1]\nlearning_rate = [0.5, 0.25]"),
    "batch-momentum": with_variants((ROOT / "examples" / "batch-momentum.toml").read_text(),
                                    "W1 = { from = -1, to = 1, step = 0.5 }\nx = [-1, 0.5, 1, 2]\nallow_dead = true"),
    "mazur": with_variants((ROOT / "examples" / "mazur.toml").read_text(),
                           "weight = { from = 0.1, to = 0.6, step = 0.05 }\ny = [0.01, 0.5, 0.99]"),
}


def parsed(name: str):
    return parse_variants(SPECS[name], name)


def numbers(spec):
    return spec.weights, spec.biases, spec.x, spec.y, spec.learning_rate


# -- the spec with [variants] ----------------------------------------------------

@pytest.mark.parametrize("name", SPECS)
def test_a_spec_with_variants_is_its_base_problem(name):
    """parse_spec ignores the table (having checked it): the base problem, the same fingerprint."""
    text = SPECS[name]
    without = text[: text.index("\n[variants]")]
    base, variants = parse_variants(text, name)
    assert base == parse_spec(text, name) == parse_spec(without, name)
    assert fingerprint(base) == fingerprint(parse_spec(without, name))
    assert variants is not None and parse_variants(without, name)[1] is None


def test_the_example_renders_as_its_base_problem():
    """examples/class-variants.toml is one of the examples every other test renders and solves."""
    assert "class-variants" in PROBLEMS
    assert load("class-variants").title == "Homework 3: one hidden layer"
    assert solve(load("class-variants")).exact


# -- purity and determinism ---------------------------------------------------------

def test_the_draws_are_sha256_in_counter_mode_as_documented():
    """The derivation in docs/class.md, written out again here: a change to it changes every class set."""
    base, _ = parsed("class-variants")
    material = seed_material(base, "2025", "alice")
    assert material == f"{fingerprint(base)}\0002025\0alice".encode()
    key = hashlib.sha256(material).digest()
    stream = b"".join(hashlib.sha256(key + i.to_bytes(8, "big")).digest() for i in range(4))
    expected = [int.from_bytes(stream[8 * k: 8 * k + 8], "big") % 1000 for k in range(16)]
    draws = DrawStream(material)
    assert [draws.below(1000) for _ in range(16)] == expected  # 2^64 mod 1000 skips almost nothing


def test_a_draw_below_n_is_uniform_and_skips_the_uneven_top():
    draws = DrawStream(b"x")
    counts = [0] * 3
    for _ in range(3000):
        counts[draws.below(3)] += 1
    assert all(900 < c < 1100 for c in counts)
    assert {DrawStream(b"y").below(1) for _ in range(5)} == {0}
    with pytest.raises(ValueError):
        DrawStream(b"z").below(0)


def test_a_variant_is_a_pure_function_of_the_spec_the_seed_and_the_id():
    base, variants = parsed("class-variants")
    a = variant(base, variants, "alice", "2025")
    assert variant(base, variants, "alice", "2025") == a
    assert variant(base, variants, "alice", "2026") != a
    assert variant(base, variants, "bob", "2025") != a
    assert variant(base, variants, "alice") == variant(base, variants, "alice", "0")  # the default seed
    assert a.title == "Homework 3: one hidden layer (student alice)"


def test_the_same_variant_in_every_process(capsys):
    """Python's hash seed (and the process) change nothing: `worksheet variant` prints the same text."""
    code, here, _ = run(capsys, "variant", str(CLASS), "--student", "s-042", "--seed", "fall")
    assert code == 0
    seen = {subprocess.run([sys.executable, "-m", "worksheet", "variant", str(CLASS), "--student", "s-042",
                            "--seed", "fall"], capture_output=True, text=True, check=True,
                           env={**os.environ, "PYTHONHASHSEED": str(seed)}).stdout for seed in (1, 2, 3)}
    assert seen == {here}


def test_a_pinned_variant_stays_the_same():
    """The numbers of one student, written down: a change here changes every class's sheets."""
    base, variants = parsed("class-variants")
    v = variant(base, variants, "alice", "2025")
    assert to_toml(v).split("[network]")[1] == PINNED_ALICE


PINNED_ALICE = """
inputs = 2
layers = [
  { units = 2, activation = "relu" },
  { units = 1, activation = "identity" },
]

[[init.layers]]
W = [[1, 0.25], [0.5, 0.75]]
b = [-0.5, 0]

[[init.layers]]
W = [[0.5, 0.5]]
b = [0]

[data]
x = [1, 1]
y = [0]

[training]
loss = "half_sse"
reduction = "sum"
learning_rate = 0.1
steps = 2
"""


def test_different_ids_get_different_numbers():
    base, variants = parsed("class-variants")
    ids = [f"s{n:03d}" for n in range(30)]
    drawn = {numbers(variant(base, variants, sid)) for sid in ids}
    assert len(drawn) == len(ids)


def test_a_roster_gets_distinct_numbers_whatever_its_order():
    base, variants = parsed("class-variants")
    ids = [f"student-{n}" for n in range(25)]
    got = roster_variants(base, variants, ids)
    assert list(got) == ids
    assert len({numbers(v) for v in got.values()}) == len(ids)
    assert roster_variants(base, variants, list(reversed(ids))) == got
    # without a collision a student's roster variant is their own variant
    assert all(got[sid] == variant(base, variants, sid) for sid in ids[:5])


def test_a_roster_draws_again_when_numbers_collide():
    """Three learning rates for three students: each gets another one, whatever the first draws were."""
    base, variants = parse_variants(with_variants(BUILTIN, "learning_rate = [0.1, 0.05, 0.01]"), "lr")
    got = roster_variants(base, variants, ["a", "b", "c"])
    assert sorted(v.learning_rate for v in got.values()) == [Fraction(1, 100), Fraction(1, 20), Fraction(1, 10)]
    with pytest.raises(SpecError, match=r"variants: gives at most 3 different sets of numbers for 4 students"):
        roster_variants(base, variants, ["a", "b", "c", "d"])
    with pytest.raises(SpecError, match=r"roster: the student ID \"a\" appears twice"):
        roster_variants(base, variants, ["a", "b", "a"])
    with pytest.raises(SpecError, match=r"roster: the student IDs \"a\" and \"A\" differ only in case"):
        roster_variants(base, variants, ["a", "A"])
    with pytest.raises(SpecError, match=r"gives at most 3 different sets of numbers for 4 students"):
        roster_variants(base, variants, ["a", "b", "c", "d"])
    one, only = parse_variants(with_variants(BUILTIN, "learning_rate = [0.1]"), "lr")
    with pytest.raises(SpecError, match=r"gives at most 1 different set of numbers for 2 students"):
        roster_variants(one, only, ["a", "b"])


# -- the constraints -------------------------------------------------------------

def degenerate(v, sol) -> set[str]:
    """What makes a variant one an instructor would not hand out, found the long way (docs/class.md)."""
    found = set()
    if len(set(v.x)) < len(v.x):
        found.add("same_inputs")
    for W, b in zip(v.weights[:-1], v.biases[:-1]):
        for i in range(len(W)):
            for j in range(i):
                if W[i] == W[j] and (b is None or b[i] == b[j]):
                    found.add("symmetric")
    first = sol.steps[0]
    for n, layer in enumerate(v.layers):
        for i in range(layer.units):
            deltas = [sample[n][i] for sample in first.deltas]
            grads = [*first.grads.get(f"W{n + 1}", [()] * layer.units)[i]]
            if f"b{n + 1}" in first.grads:
                grads.append(first.grads[f"b{n + 1}"][i])
            if all(abs(d) < 1e-20 for d in deltas) or (grads and all(abs(g) < 1e-20 for g in grads)):
                found.add("zero_gradient")
    return found


# docs/class.md: "max_decimals: 6, or the base problem's own if more"; "max_value: 100"
MAX_DECIMALS, MAX_VALUE = 6, 100


def places(v: Fraction) -> int:
    """The decimals a student writes v with, as docs/class.md counts them: the factors of the denominator
    other than 2 and 5 left out (1.25 has 2, 7/30 has 1)."""
    twos = fives = 0
    d = v.denominator
    while d % 2 == 0:
        d, twos = d // 2, twos + 1
    while d % 5 == 0:
        d, fives = d // 5, fives + 1
    return max(twos, fives)


def shown(sol, step: int) -> list[Fraction]:
    """Every number a step shows, counted here: the parameters it starts from (the spec's, which a frozen
    group keeps, and what the step before left) and every quantity a student works out in it."""
    spec = sol.spec
    given = [v for W in spec.weights for row in W for v in row] + [v for b in spec.biases if b for v in b]
    return given + [q.value for q in quantities(sol) if q.step == step or (q.step == step - 1 and q.kind == "new")]


def meets_constraints(name, v):
    base, variants = parsed(name)
    sol = solve(v if v.steps > 1 else replace(v, steps=2))
    first = sol.steps[0]
    allowed = {name for name, on in (("same_inputs", variants.allow_same_inputs),
                                     ("symmetric", variants.allow_symmetric),
                                     ("zero_gradient", variants.allow_zero_gradient or variants.allow_dead)) if on}
    assert not degenerate(v, sol) - allowed
    if not variants.allow_dead:
        assert all(z > 0 for sample in first.z for layer, zs in zip(v.layers, sample) if layer.activation == "relu"
                   for z in zs)
    for step in range(1, v.steps + 1):
        assert all(abs(q) <= MAX_VALUE for q in shown(sol, step))
    assert sol.steps[1].loss < first.loss
    base_sol = solve(base)
    assert min(sol.exact_steps, v.steps) >= base_sol.exact_steps
    if base_sol.exact_steps:
        assert max(map(places, shown(base_sol, 1))) <= MAX_DECIMALS  # else the base's own is the limit
        assert max(map(places, shown(sol, 1))) <= MAX_DECIMALS
    # every varied number is one of its choices, the rest as in the base problem
    for (kind, *index), choices in variants.slots(base):
        if kind == "learning_rate":
            value = v.learning_rate
        elif kind == "W":
            value = v.weights[index[0]][index[1]][index[2]]
        else:
            value = {"b": v.biases, "x": v.x, "y": v.y}[kind][index[0]][index[1]]
        assert value in choices.values
    assert replace(v, title=base.title, weights=base.weights, biases=base.biases, x=base.x, y=base.y,
                   learning_rate=base.learning_rate) == base


# the IDs a roster accepts (and so `worksheet variant`): ASCII letters, digits, '.', '_', '-'
STUDENT_IDS = st.from_regex(r"[A-Za-z0-9_\-][A-Za-z0-9._\-]{0,19}", fullmatch=True)


@pytest.mark.parametrize("name", ["class-variants", "builtin", "sigmoid-softmax"])
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(student_id=STUDENT_IDS, seed=st.integers(0, 10**6))
def test_every_variant_meets_the_constraints(name, student_id, seed):
    base, variants = parsed(name)
    meets_constraints(name, variant(base, variants, student_id, str(seed)))


# The class of a new user's report: two samples, a tanh layer of 3, softmax. Its first draws gave s02 and s09
# the same inputs for both samples, and s07 equal weights out of hidden unit 3 (δ¹₃ identically 0).
HW4 = """title = "HW4: backprop through a tanh hidden layer and a softmax output"
course = "CS 4780 Neural Networks"
instructor = "Dr. Ana Pérez"
due = "Tuesday 23 Sept, 9:00"

[network]
inputs = 2
layers = [
  { units = 3, activation = "tanh" },
  { units = 2, activation = "softmax" },
]

[[init.layers]]
W = [[0.2, -0.4], [0.5, 0.1], [-0.3, 0.6]]
b = [0.1, 0, -0.1]

[[init.layers]]
W = [[0.3, -0.2, 0.4], [-0.1, 0.5, 0.2]]
b = [0, 0.05]

[data]
x = [[1, 0.5], [-0.5, 1]]
y = [[1, 0], [0, 1]]

[training]
loss = "cross_entropy"
learning_rate = 0.5
steps = 1

[marking]
points = { forward = 3, loss = 1, backward = 2, gradients = 3, update = 1 }

[variants]
W1 = { from = -0.6, to = 0.6, step = 0.1, exclude = [0] }
W2 = { from = -0.5, to = 0.5, step = 0.1, exclude = [0] }
x = [-1, -0.5, 0.5, 1]
learning_rate = [0.5, 0.25, 0.1]
"""
OPT_OUT = "allow_same_inputs = true\nallow_symmetric = true\nallow_zero_gradient = true\n"
CLASS_12 = [f"s{n:02d}" for n in range(1, 13)]


def test_no_variant_is_degenerate_by_default():
    base, variants = parse_variants(HW4, "hw4.toml")
    assert fingerprint(base) == "e4822a3e"  # the problem of the report
    got = roster_variants(base, variants, CLASS_12, seed="fall-2025")
    for sid, v in got.items():
        assert not degenerate(v, solve(v)), sid
    # the draws before these constraints, as the opt-outs still give them: 3 of the 12 degenerate
    old_base, old = parse_variants(HW4 + OPT_OUT, "hw4.toml")
    before = roster_variants(old_base, old, CLASS_12, seed="fall-2025")
    found = {sid: degenerate(v, solve(v)) for sid, v in before.items()}
    assert {sid: f for sid, f in found.items() if f} == {"s02": {"same_inputs"}, "s07": {"zero_gradient"},
                                                         "s09": {"same_inputs"}}
    # the constraints only skip draws: every other student keeps the numbers they had
    assert all(got[sid] == before[sid] for sid in CLASS_12 if sid not in ("s02", "s07", "s09"))
    assert before["s07"].weights[1][0][2] == before["s07"].weights[1][1][2]  # equal weights into the softmax


def test_the_shape_constraints_say_how_to_allow_them():
    """The built-in problem has every weight 1 and every bias -0.5: its two hidden units are the same unit."""
    same = with_variants(BUILTIN, "W2 = [1, 2]")  # the second hidden layer varies, the first not
    base, variants = parse_variants(same, "same.toml")
    with pytest.raises(SpecError) as err:
        variant(base, variants, "ann")
    assert ("1000 had two units of a hidden layer with the same weights and bias (allow_symmetric = true allows it)"
            in str(err.value))
    base, variants = parse_variants(same + "allow_symmetric = true\n", "same.toml")
    assert variant(base, variants, "ann").weights[0] == base.weights[0]
    # nothing of the hidden layer can vary: the base problem's own equal units are kept, not refused
    base, variants = parse_variants(with_variants(BUILTIN, "x = [1, 2, 3]"), "x-only.toml")
    assert variant(base, variants, "ann").weights == base.weights
    base, variants = parsed("builtin")  # its weights vary: no variant keeps the two units equal
    assert all(len(set(variant(base, variants, sid).weights[0])) == 2 for sid in ("ann", "ben", "cy"))
    text = (ROOT / "examples" / "batch-momentum.toml").read_text()
    base, variants = parse_variants(with_variants(text, "x = [2]"), "batch.toml")
    with pytest.raises(SpecError, match=r"\(allow_same_inputs = true allows it\)"):
        variant(base, variants, "ann")  # every input of every sample 2


def test_an_exact_problem_stays_exact_and_short():
    for name in ("class-variants", "builtin"):
        base, variants = parsed(name)
        assert solve(base).exact
        for sid in ("ann", "ben", "cy", "dee", "eve"):
            sol = solve(variant(base, variants, sid))
            assert sol.exact and sol.exact_steps == sol.spec.steps
            assert max(map(places, shown(sol, 1))) <= 6


def test_max_decimals_is_the_default_or_the_base_problems():
    """docs/class.md: 6 decimals unless the table says otherwise or the base problem's step 1 has more."""
    base, variants = parsed("builtin")
    assert V._limits(base, variants).max_decimals == 6
    # η = 0.00001: the base's own step 1 has 7 decimals (∂L/∂w²₁₁ = 5.25, η·5.25 = 0.0000525)
    slow = BUILTIN.replace("learning_rate = 0.01", "learning_rate = 0.00001")
    assert max(map(places, shown(solve(parse_spec(slow)), 1))) == 7
    assert V._limits(*parse_variants(with_variants(slow, "x = [1, 2, 3]"), "slow")).max_decimals == 7
    strict_base, strict = parse_variants(SPECS["builtin"] + "max_decimals = 4\n", "strict")
    assert V._limits(strict_base, strict).max_decimals == 4
    sol = solve(variant(strict_base, strict, "ann"))
    assert max(map(places, shown(sol, 1))) <= 4


def test_decimals_counts_the_decimal_places_a_student_writes():
    assert decimals(Fraction(5, 4)) == 2 and decimals(Fraction(3)) == 0 and decimals(Fraction(-1, 1000)) == 3
    assert decimals(Fraction(7, 3)) == 0 and decimals(Fraction(7, 30)) == 1  # a mean over 3 samples: its 3 aside


@pytest.mark.parametrize("name", list(SPECS))
def test_every_variant_agrees_with_pytorch(name):
    base, variants = parsed(name)
    for sid in ("ann", "ben", "cy"):
        v = variant(base, variants, sid)
        rows = compare(solve(v), reference(v))
        assert all(row.ok for row in rows), [(r.quantity, r.rel_diff) for r in rows if not r.ok]


def test_unmeetable_constraints_say_which_and_how_to_relax_them(capsys, tmp_path):
    """Every draw has a dead ReLU unit (x < 0, weights > 0, biases <= 0)."""
    text = with_variants(BUILTIN.replace("x = [2]", "x = [-1]"),
                         "weight = { from = 0.5, to = 1, step = 0.5 }\nbias = [-0.5, 0]\n"
                         "allow_symmetric = true")  # else a third of the draws fail first for two equal units
    base, variants = parse_variants(text, "dead.toml")
    with pytest.raises(SpecError) as err:
        variant(base, variants, "ann")
    message = str(err.value)
    assert message.startswith("dead.toml: variants: no variant of this problem met the constraints in 1000 draws")
    assert "1000 had a ReLU unit with z <= 0 in step 1 (allow_dead = true allows it)" in message
    path = tmp_path / "dead.toml"
    path.write_text(text)
    code, out, err_text = run(capsys, "variant", str(path), "--student", "ann")
    assert code == 2 and out == "" and err_text.count("\n") == 1 and "allow_dead = true" in err_text


# -- the spec written back ----------------------------------------------------------

@pytest.mark.parametrize("name", PROBLEMS)
def test_every_problem_written_back_reads_as_the_same_spec(name):
    spec = load(name)
    assert parse_spec(to_toml(spec), name) == spec


def test_the_spec_writer_keeps_every_key():
    text = (ROOT / "examples" / "batch-momentum.toml").read_text().replace(
        'title = "Batch of 3, MSE, leaky ReLU, momentum"',
        'title = "A \\"quoted\\" title, back\\\\slash"\ncourse = "NN 101"\ninstructor = "Dr. Ö"\ndue = "Fri"\n'
        'instructions = "Line one.\\n\\nLine two."').replace("steps = 3", 'steps = 3\nfrozen = ["W2"]')
    text += '\n[marking]\npoints = { forward = 2, update = "1/3" }\n\n[variants]\nW1 = [1, 2]\n'
    spec = parse_spec(text, "all")
    assert spec.instructions and spec.points and spec.frozen and spec.course
    assert parse_spec(to_toml(spec), "back") == spec
    tiny = parse_spec(BUILTIN.replace("bias = -0.5", 'bias = "1/1048576"').replace("weight = 1", "weight = 1e-12"))
    assert parse_spec(to_toml(tiny)) == tiny  # a decimal of 20 digits goes back as its fraction


@pytest.mark.parametrize("name", list(SPECS))
def test_the_printed_variant_reads_back_as_the_same_spec(name, capsys, tmp_path):
    path = tmp_path / f"{name}.toml"
    path.write_text(SPECS[name])
    code, out, err = run(capsys, "variant", str(path), "--student", "ann", "--seed", "7")
    assert code == 0, err
    assert out.startswith(f"# Student ann's variant of {path}")
    base, variants = parse_variants(SPECS[name], str(path))
    assert parse_spec(out, "printed") == variant(base, variants, "ann", "7")
    assert parse_variants(out, "printed")[1] is None
    printed = tmp_path / "printed.toml"
    printed.write_text(out)
    code, rendered, err = run(capsys, "render", str(printed), "-o", str(tmp_path / "out"), "--format", "html")
    assert code == 0, err


def test_the_tables_seed_is_the_default_and_seed_overrides_it(capsys):
    base, variants = parse_variants(SPECS["builtin"] + 'seed = "fall-2025"\n', "seeded")
    assert variants.seed == "fall-2025"
    assert variant(base, variants, "ann") == variant(base, variants, "ann", "fall-2025")
    assert variant(base, variants, "ann", "0") != variant(base, variants, "ann")
    code, out, _ = run(capsys, "variant", str(CLASS), "--student", "ann")
    assert code == 0 and "class seed 0." in out


# -- bad input -------------------------------------------------------------------

BAD = {
    "step 0": ("weight = { from = -1, to = 1, step = 0 }", "variants.weight.step", "0 must be greater than 0"),
    "from > to": ("weight = { from = 1, to = -1, step = 0.5 }", "variants.weight",
                  "from = 1 is above to = -1; a range goes from the lower value up to the higher"),
    "unknown key": ("weights = [1, 2]", "variants.weights", "unknown key; allowed keys are weight, bias, W1, b1, W2"),
    "layer 4": ("W4 = [1, 2]", "variants.W4", "unknown key"),
    "missing to": ("bias = { from = -1, step = 0.5 }", "variants.bias.to", "missing; a range is"),
    "range key": ("bias = { from = -1, to = 1, by = 0.5 }", "variants.bias.by", "unknown key; allowed keys are from"),
    "not a short decimal": ('x = [1, "1/3"]', "variants.x[1]", '"1/3" is not a short decimal; values that vary are '
                                                               "decimals with at most 4 decimals"),
    "long decimal": ("x = [0.12345]", "variants.x[0]", "0.12345 is not a short decimal"),
    "beyond 100": ("y = { from = -200, to = 0, step = 1 }", "variants.y.from",
                   "-200 is beyond ±100, the largest value a variant may hold (variants.max_value)"),
    "learning rate 0": ("learning_rate = [0.1, 0]", "variants.learning_rate[1]", "0 must be greater than 0"),
    "empty list": ("x = []", "variants.x", "is an empty list; give the values to choose from"),
    "a number": ("x = 2", "variants.x", "expected a range { from = -1, to = 1, step = 0.25 } or a list of values"),
    "too many": ("x = { from = -100, to = 100, step = 0.001 }", "variants.x.step",
                 "0.001 makes 200001 values from -100 to 100; a range holds at most 10000"),
    "exclude all": ("x = { from = 1, to = 2, step = 1, exclude = [1, 2] }", "variants.x.exclude",
                    "leaves out every value of the range"),
    "nothing": ("allow_dead = true", "variants", "varies nothing; give at least one of weight, bias, W1"),
    "allow_dead": ('allow_dead = "yes"', "variants.allow_dead", '"yes" is not one of true, false'),
    "allow_symmetric": ("allow_symmetric = 1\nx = [1]", "variants.allow_symmetric", "1 is not one of true, false"),
    "max_decimals": ("max_decimals = 40\nx = [1]", "variants.max_decimals", "40 is out of range; allowed is 0 to 30"),
    "max_value": ("max_value = 0\nx = [1]", "variants.max_value", "0 is out of range; allowed is above 0"),
    "seed": ("seed = [1]\nx = [1]", "variants.seed", "expected a string or a whole number"),
    "not a table": (None, "variants", "expected a table, got 3"),
}


@pytest.mark.parametrize("case", BAD)
def test_a_bad_variants_table_is_refused_by_every_command(case, capsys, tmp_path):
    table, where, message = BAD[case]
    text = with_variants(BUILTIN, table) if table else BUILTIN.replace("title = ", "variants = 3\ntitle = ", 1)
    with pytest.raises(SpecError) as err:
        parse_spec(text, "bad.toml")
    assert str(err.value).startswith(f"bad.toml: {where}: "), str(err.value)
    assert message in str(err.value), str(err.value)
    path = tmp_path / "bad.toml"
    path.write_text(text)
    for command in ("solve", "variant"):
        argv = [command, str(path)] + (["--student", "ann"] if command == "variant" else [])
        code, out, err_text = run(capsys, *argv)
        assert code == 2 and out == "" and err_text.strip().count("\n") == 0, err_text
        assert f"{where}: " in err_text and message in err_text


def test_a_bce_problem_keeps_its_targets_between_0_and_1():
    text = with_variants((ROOT / "examples" / "bce.toml").read_text(), "y = [0, 2]")
    with pytest.raises(SpecError, match=r"variants.y\[1\]: 2 is outside 0 to 1, where this loss's targets lie"):
        parse_spec(text, "bce")


@pytest.mark.parametrize("student, message", [
    ("", "student ID: is empty"),
    (" ann", 'student ID: " ann" has spaces around it'),
    ("a\x1bb", "holds a control character"),
    ("x" * 65, "is 65 characters long; a student ID has at most 64"),
    ("José", "'José' cannot name a file; an ID is 1 to 64 ASCII letters, digits, '.', '_' or '-'"),
    ("s 01", "'s 01' cannot name a file; an ID is 1 to 64 ASCII letters"),
    ("../x", "'../x' cannot name a file"),
])
def test_a_bad_student_id_is_refused(student, message, capsys):
    """`worksheet variant` takes the IDs a roster takes: the one line names the option, not the spec file."""
    base, variants = parsed("class-variants")
    with pytest.raises(SpecError, match=message.replace("(", r"\(")):
        variant(base, variants, student)
    code, out, err = run(capsys, "variant", str(CLASS), "--student", student)
    assert code == 2 and out == "" and "\x1b" not in err and err.count("\n") == 1
    assert err.startswith("worksheet: --student: ") and message.removeprefix("student ID: ") in err


def test_variant_needs_a_variants_table(capsys):
    code, out, err = run(capsys, "variant", "--student", "ann")
    assert code == 2 and out == ""
    assert "<built-in hw2-1.toml>: variants: missing; `worksheet variant` needs a [variants] table" in err


def test_a_bad_seed_is_refused(capsys):
    code, out, err = run(capsys, "variant", str(CLASS), "--student", "ann", "--seed", "")
    # the option is named, not the spec file (which has nothing wrong with it)
    assert code == 2 and out == "" and err == "worksheet: --seed: is empty; give a class seed of 1 to 64 characters\n"


def test_the_classes_package_ships_in_the_wheel():
    """The package list is explicit: a subpackage left off it would be missing from an installed worksheet."""
    import tomllib

    packages = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    assert "worksheet.classes" in packages
