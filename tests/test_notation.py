"""The printers: how a formula may break across lines, and its spelling."""

import re

import sympy as sp

from worksheet import solve
from worksheet.notation import HtmlPrinter, TextPrinter
from worksheet.spec import parse_spec

BATCH = """
[network]
inputs = 2
layers = [{ units = 2, activation = "relu" }, { units = 1 }]
[init]
weight = 0.5
bias = 0
[data]
x = [[1, 2], [3, 4], [5, 6]]
y = [[1], [0], [1]]
[training]
loss = "mse"
learning_rate = 0.1
"""


def pieces(markup: str) -> list[str]:
    return re.findall(r'<span class="t">(.*?)</span>(?= <span class="t">|$)', markup)


def test_a_sum_breaks_only_between_its_top_level_terms():
    """Each top-level term is one unbreakable piece ending in the next term's sign, so a
    wrapped line ends in + or − and no symbol (δ⁽²⁾ with its [2]₂) is split."""
    der = solve(parse_spec(BATCH)).derivation
    printer = HtmlPrinter(der.symbols, fractions=True)
    grad = next(eq for eq in der.grads if eq.name == "dW1_1_1")
    markup = printer.doprint(grad.symbolic)
    found = pieces(markup)
    assert len(found) == len(grad.symbolic.args) == 3  # a sum over the 3 samples
    assert all(p.endswith(" +") for p in found[:-1]) and not found[-1].endswith("+")
    for s, piece in enumerate(found, start=1):  # each sample's whole product in its piece
        assert piece.count(f"[{s}]") == 2 and "[" + str(s % 3 + 1) + "]" not in piece, piece
    # a product is one piece: no break opportunity is added inside it
    delta = next(eq for eq in der.deltas if eq.name == "delta1_1_s1")
    assert 'class="t"' not in printer.doprint(delta.symbolic)


def test_a_negative_term_carries_its_minus_to_the_line_before():
    S = solve(parse_spec(BATCH)).derivation.symbols
    expr = sp.Add(S.yhat(1, 1), sp.Mul(-1, S.y(1, 1), evaluate=False), evaluate=False)
    found = pieces(HtmlPrinter(S).doprint(expr))
    assert len(found) == 2 and found[0].endswith(" −") and not found[1].startswith("−")


def test_a_quotient_reads_as_one():
    """y·1/ŷ prints y/ŷ; in the text a softmax is exp(z)/(exp(z) + exp(z))."""
    spec = parse_spec(open("examples/sigmoid-softmax.toml").read())
    der = solve(spec).derivation
    text = TextPrinter(fractions=True)
    soft = next(eq for eq in der.forward if eq.name == "a3_1")
    assert text.doprint(soft.symbolic) == "exp(z³₁)/(exp(z³₁) + exp(z³₂))"
    assert text.doprint(der.output_grads[0].symbolic) == "−y₁/ŷ₁"
    # on a step the softmax formula is stacked; its numbers stay on the line
    html = HtmlPrinter(der.symbols, fractions=True).doprint(soft.symbolic)
    assert html.count('class="frac"') == 1
    numbers = HtmlPrinter(der.symbols).doprint(solve(spec).steps[0].substituted["a3_1"])
    assert 'class="frac"' not in numbers and "/(" in numbers


MINUS_ONE_SPEC = """
[network]
inputs = 2
layers = [{ units = 1, activation = "relu" }, { units = 1 }]
[[init.layers]]
W = [[0.5, -1]]
b = [0.1]
[[init.layers]]
W = [[-1]]
b = [-1]
[data]
x = [1, 2]
y = [1]
[training]
loss = "half_sse"
learning_rate = 0.1
steps = 1
"""


def test_a_given_minus_one_stays_a_factor():
    """w = −1 times x = 2 reads (−1)·2, never a bare − 2 that drops the weight."""
    sol = solve(parse_spec(MINUS_ONE_SPEC))
    step = sol.steps[0]
    text = TextPrinter()
    assert text.doprint(step.substituted["z1_1"]) == "0.5·1 + (−1)·2 + 0.1"
    assert text.doprint(step.substituted["z2_1"]) == "(−1)·0 + (−1)"
    html = HtmlPrinter(sol.derivation.symbols).doprint(step.substituted["z1_1"])
    assert "(−1)·2" in html


def test_a_long_product_breaks_between_the_terms_of_its_bracketed_sum():
    """−¼·(… + …) over four samples wraps between the samples' terms inside the bracket,
    with the factor before it and the closing bracket held to their pieces."""
    spec = parse_spec(open("examples/bce.toml").read())
    der = solve(spec).derivation
    markup = HtmlPrinter(der.symbols, fractions=True, display=True).doprint(der.loss.symbolic)
    found = pieces(markup)
    assert len(found) == 2 and markup.startswith('<span class="t">−')  # −½·(sample 1 + sample 2)
    assert found[0].count("[1]") == 4 and "[2]" not in found[0] and found[0].endswith(" +")
    assert found[1].count("[2]") == 4 and found[1].endswith("))")


def test_a_formulas_constant_is_one_spelling_in_its_numbers_too():
    """½·(ŷ − y)² is worked as ½·(4.5 − 1)², not 0.5·(4.5 − 1)²; a given 0.5 stays a decimal."""
    from worksheet.notation import LatexPrinter
    from worksheet.spec import builtin_text
    sol = solve(parse_spec(builtin_text()))
    worked = sol.steps[0].substituted["L"]
    assert TextPrinter().doprint(worked) == "½·(4.5 − 1)²"
    assert HtmlPrinter(sol.derivation.symbols).doprint(worked).startswith("½·(4.5 − 1)")
    assert LatexPrinter(sol.derivation.symbols, 4).doprint(worked).startswith(r"\frac{1}{2} \cdot")
    assert TextPrinter().doprint(solve(parse_spec(MINUS_ONE_SPEC)).steps[0].substituted["z1_1"]).startswith("0.5·1")


def test_a_working_line_breaks_between_the_terms_of_its_longest_sum():
    """((−0.2261)·0.6493 + 0.2261·(−0.3493))·(1 − 0.5169²) in a narrow working box wraps after the
    + of the δ·w sum, never inside (1 − 0.5169²)."""
    spec = parse_spec(open("examples/sigmoid-softmax.toml").read())
    sol = solve(spec)
    markup = HtmlPrinter(sol.derivation.symbols).doprint(sol.steps[0].substituted["delta2_1"])
    found = pieces(markup)
    assert len(found) == 2 and found[0].endswith(" +")
    assert found[1].endswith("(1 − 0.1990<sup>2</sup>)")


def test_a_minus_one_inside_a_function_has_one_bracket():
    """z = −1 put into tanh(z) reads tanh(−1) in the text, on the page and in LaTeX, not tanh((−1))."""
    from worksheet.notation import LatexPrinter

    spec = parse_spec(MINUS_ONE_SPEC.replace('activation = "relu"', 'activation = "tanh"').replace("b = [0.1]",
                                                                                                   "b = [0.5]"))
    sol = solve(spec)
    worked = sol.steps[0].substituted["a1_1"]
    assert sol.steps[0].values["z1_1"] == -1
    assert TextPrinter().doprint(worked) == "tanh(−1)"
    assert HtmlPrinter(sol.derivation.symbols).doprint(worked) == '<span class="fn">tanh</span>(−1)'
    assert LatexPrinter(sol.derivation.symbols, 4).doprint(worked) == r"\tanh\left(-1\right)"
