"""The built-in problem against the homework's PyTorch printout and its exact first step."""

import re
from fractions import Fraction as F

from conftest import printout_text

from worksheet import solve
from worksheet.spec import builtin_text, parse_spec
from worksheet.trace import format_trace, run

NUMBER = re.compile(r"-?\d+\.\d*(?:e[-+]?\d+)?")


def test_trace_reproduces_every_number_of_the_printout_text():
    spec = parse_spec(builtin_text())
    ours = format_trace(spec, run(spec, 10))
    expected = NUMBER.findall(printout_text())
    assert len(expected) == 11 * 36
    assert NUMBER.findall(ours) == expected


def test_trace_has_the_homework_printout_line_structure():
    # The transcription broke brackets in iterations 3 and 4 and split code
    # fences; compare the labels, which it kept.
    spec = parse_spec(builtin_text())
    labels = [line for line in printout_text().splitlines()
              if line and not line.startswith(("```", "tensor", " ", "[", "0.", "-0."))]
    ours = [line for line in format_trace(spec, run(spec, 10)).splitlines()
            if not line.startswith(("tensor", " "))]
    assert ours == labels


def test_first_step_exact_values_from_notes():
    sol = solve(parse_spec(builtin_text()))
    step = sol.steps[0]
    assert sol.exact
    assert step.z[0][0] == (F(3, 2),) * 2
    assert step.z[0][1] == (F(5, 2),) * 2
    assert step.output == ((F(9, 2),),)
    assert step.loss == F(49, 8)
    assert step.dL_dyhat == ((F(7, 2),),)
    assert step.grads["W3"] == ((F(35, 4),) * 2,)
    assert step.grads["W2"] == ((F(21, 4),) * 2,) * 2
    assert step.grads["W1"] == ((F(14),),) * 2
    assert (step.grads["b3"], step.grads["b2"], step.grads["b1"]) == (
        (F(7, 2),), (F(7, 2),) * 2, (F(7),) * 2)
    assert step.updated["W1"] == ((F(43, 50),),) * 2
    assert step.updated["W2"] == ((F(379, 400),) * 2,) * 2
    assert step.updated["W3"] == ((F(73, 80),) * 2,)


def test_two_updates_agree_with_the_homework_printout_to_its_4_decimals():
    sol = solve(parse_spec(builtin_text()))
    printed = [float(v) for v in NUMBER.findall(printout_text())]
    # iteration 2's block: the input, then W1 (2 values), its gradient (2), b1 (2) ...
    start = 2 * 36
    assert round(float(sol.final["W1"][0][0]), 4) == printed[start + 1]
    assert round(float(sol.final["b1"][0]), 4) == printed[start + 5]
    step2 = sol.steps[1]
    assert round(float(step2.grads["W1"][0][0]), 4) == printed[36 + 3]
