"""An answers file's messages where a student's first guess at its shape is wrong (issue 11's new-user trial)."""

import pytest

from worksheet.answers import AnswersError, parse_answers
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
