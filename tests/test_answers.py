"""An answers file's messages where a student's first guess at its shape is wrong (issue 11's new-user trial)."""

from fractions import Fraction

import pytest
from test_forms import blank_pdf, fill

from worksheet.answers import IN_A_BOX, AnswersError, parse_answers, sheet_from_tables
from worksheet.forms import read_filled
from worksheet.solve import solve
from worksheet.spec import builtin_text, parse_spec

BATCH = """
title = "2-3-1, a batch of 2"
[network]
inputs = 2
layers = [{ units = 3, activation = "tanh" }, { units = 1, activation = "sigmoid" }]
[[init.layers]]
W = [[0.5, -0.5], [0.25, 0.75], [1, 0]]
b = [0, 0, 0]
[[init.layers]]
W = [[1, -1, 0.5]]
b = [0.5]
[data]
x = [[1, 0], [0, 1]]
y = [[1], [0]]
[training]
loss = "bce"
learning_rate = 0.1
steps = 1
"""


def test_a_name_without_its_sample_suggests_that_names_samples_first():
    """In a batch every name ends in its sample (z1_1_s1): a student who writes z1_1 is offered z1_1_s1
    and z1_1_s2, not whichever names merely look alike (z1_2_s1)."""
    with pytest.raises(AnswersError, match=r"a.toml:2: \[step1\] z1_1 is not a quantity of this problem; "
                                           r"did you mean z1_1_s1 or z1_1_s2\?"):
        parse_answers('[step1]\nz1_1 = "1"\n', "a.toml", solve(parse_spec(BATCH)))


@pytest.mark.parametrize("text", ['name = "Ada"\n[step1]\n', 'student = 12\n'])
def test_a_top_level_key_that_is_not_a_table_is_not_called_a_step(text):
    sol = solve(parse_spec(builtin_text()))
    with pytest.raises(AnswersError, match=r"a.toml:1: (name|student): not a key of an answers file, which holds "
                                           r"`sheet`, `network`, `only` and one table per step") as raised:
        parse_answers(text, "a.toml", sol)
    assert "is not a step" not in str(raised.value)


# -- numbers as students write them (issue: a new-user trial as a student) -------------------------------

HW = solve(parse_spec(builtin_text()))


def refusal(value: str) -> str:
    """What `worksheet check` says of an answers file with `value` typed for step 1's loss."""
    with pytest.raises(AnswersError) as raised:
        parse_answers(f'[step1]\nL = "{value}"\n', "a.toml", HW)
    return str(raised.value)


@pytest.mark.parametrize("value, says", [
    ("6,125", 'a.toml:2: [step1] L: "6,125" is not a number here: write a decimal with a point, 6.125, not a comma'),
    ("-0,5", 'a.toml:2: [step1] L: "-0,5" is not a number here: write a decimal with a point, -0.5, not a comma'),
    ("½", 'a.toml:2: [step1] L: "½" is not a number here: write it as a fraction, 1/2, or as a decimal, 0.5'),
    ("1½", 'a.toml:2: [step1] L: "1½" is not a number here: write it as a fraction, 3/2, or as a decimal, 1.5'),
    ("-2⅓", 'a.toml:2: [step1] L: "-2⅓" is not a number here: write it as a fraction, -7/3'),
])
def test_a_decimal_comma_or_a_fraction_sign_is_told_what_to_write(value, says):
    assert refusal(value) == says


def test_the_examples_of_a_number_are_not_separated_by_commas():
    """A student who writes 6,125 reads "0.25, -1.125" as two decimals with commas in them."""
    says = refusal("abc")
    assert says == ('a.toml:2: [step1] L: "abc" is not a number; write a decimal with a point, as 0.25 or -1.125, '
                    'or a fraction, as 2/3; or leave "" for no answer')


@pytest.mark.parametrize("value, exact, decimals", [
    ("6.125e0", Fraction(49, 8), 3), ("1.5e-3", Fraction(3, 2000), 4), ("2E1", Fraction(20), 0)])
def test_e_notation_is_the_decimal_it_stands_for_quoted_or_not(value, exact, decimals):
    """An unquoted 6.125e0 was always read (TOML reads it as a float): quoted, it is read the same way."""
    for line in (f'L = "{value}"', f"L = {value}"):
        answer = parse_answers(f"[step1]\n{line}\n", "a.toml", HW)["step1.L"]
        assert (answer.value, answer.decimals) == (exact, decimals), line


@pytest.mark.parametrize("line, says", [
    ("L = 6,125", 'a.toml:2: not valid TOML: Expected newline or end of document after a statement; '
                  'write L = "6.125": a decimal with a point, not a comma'),
    ("L = ½", 'a.toml:2: not valid TOML: Invalid value; write L = "1/2": ½ as a fraction'),
    ("L = six", 'a.toml:2: not valid TOML: Invalid value; write each number between quotes, as L = "0.25"'),
])
def test_an_unquoted_number_toml_cannot_read_gets_a_hint(line, says):
    with pytest.raises(AnswersError) as raised:
        parse_answers(f"[step1]\n{line}\n", "a.toml", HW)
    assert str(raised.value) == says


def test_a_name_given_twice_is_named_with_its_step():
    text = '[step1]\nz1_1 = "1.5"\na1_1 = "1.5"\na1_1 = "1.5"\n'
    with pytest.raises(AnswersError) as raised:
        parse_answers(text, "bad.toml", HW)
    assert str(raised.value) == "bad.toml:4: a1_1 is given twice in [step1]; keep one"
    with pytest.raises(AnswersError) as raised:
        parse_answers('[step1]\nz1_1 = "1.5"\n[step2]\n[step1]\na1_1 = "2"\n', "bad.toml", HW)
    assert str(raised.value) == "bad.toml:4: [step1] is given twice; keep one, with all of its numbers under it"


def test_a_box_on_a_page_or_in_a_pdf_is_left_empty_not_given_quotes():
    """Where the number was typed into a box (the web page, a PDF's field) there are no quotes to leave empty."""
    with pytest.raises(AnswersError) as raised:
        sheet_from_tables({"step1": {"L": "abc"}}, "answers", HW, empty=IN_A_BOX)
    assert raised.value.message.endswith("or a fraction, as 2/3; or leave the box empty")
    assert raised.value.key == "step1.L"
    with pytest.raises(AnswersError) as raised:
        read_filled(fill(blank_pdf(), {"step1.z1_1": "abc"}), "filled.pdf", HW)
    assert str(raised.value) == ('filled.pdf: field step1.z1_1: "abc" is not a number; write a decimal with a point, '
                                 "as 0.25 or -1.125, or a fraction, as 2/3; or leave the box empty")


def test_a_pdf_of_another_problem_is_named_by_its_title_in_words_for_any_command():
    """`worksheet answers SPEC --from OTHER.pdf` was told to run `worksheet check SPEC FILLED.pdf`, and the
    sheet was named only by its version hash."""
    with pytest.raises(AnswersError) as raised:
        read_filled(fill(blank_pdf("mazur"), {}), "mazur.pdf", HW)
    says = str(raised.value)
    assert '"2-2-2 sigmoid network, biases frozen" (sheet ' in says
    assert '"HW2-1: forward pass and backpropagation"' in says
    assert "worksheet check" not in says and "give the spec the sheet was made from" in says
