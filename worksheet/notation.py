"""Notation: the network's symbols and the printers that write formulas.

Contract: pure. `Symbols` names every quantity of a network the way a hand
calculation does (w²₁₂, z¹₁, a¹₁, ŷ, δ²₁, ∂L/∂ŷ ...), one SymPy symbol each,
with a LaTeX spelling beside the text one. `TextPrinter` writes an
expression in that notation keeping the order the derivation built it in
(SymPy's own printers sort factors and write d/dw), and formats numbers to a
fixed number of decimals.
"""

from __future__ import annotations

from fractions import Fraction

import sympy as sp
from sympy.printing.str import StrPrinter

_SUP = str.maketrans("0123456789()", "⁰¹²³⁴⁵⁶⁷⁸⁹⁽⁾")
_SUB = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")


def sup(n: int) -> str:
    return str(n).translate(_SUP)


def sub(*ns: int) -> str:
    return "".join(str(n) for n in ns).translate(_SUB)


# Activation functions and their derivatives as they appear in formulas.  The
# names are what a student writes; `derive` gives them meaning.
ACTIVATION_FN = {
    "relu": sp.Function("ReLU"),
    "leaky_relu": sp.Function("LReLU"),
    "sigmoid": sp.Function("σ"),
    "tanh": sp.Function("tanh"),
}
DERIVATIVE_FN = {
    "relu": sp.Function("ReLU′"),
    "leaky_relu": sp.Function("LReLU′"),
}
LATEX_FN = {"ReLU": r"\operatorname{ReLU}", "LReLU": r"\operatorname{LReLU}", "σ": r"\sigma",
            "tanh": r"\tanh", "ReLU′": r"\operatorname{ReLU}'", "LReLU′": r"\operatorname{LReLU}'"}


class Symbols:
    """Every symbol of one network shape; sample index s counts from 1."""

    def __init__(self, inputs: int, units: tuple[int, ...], outputs: int, samples: int):
        self.inputs, self.units, self.outputs, self.samples = inputs, units, outputs, samples
        self.depth = len(units)
        self.latex: dict[sp.Symbol, str] = {}

    def _sym(self, text: str, latex: str) -> sp.Symbol:
        s = sp.Symbol(text)
        self.latex[s] = latex
        return s

    def _sample(self, text: str, latex: str, s: int) -> sp.Symbol:
        if self.samples > 1:
            return self._sym(f"{text}[{s}]", f"{latex}^{{[{s}]}}")
        return self._sym(text, latex)

    # index helpers: drop the index of a lone input or output, as the seed does
    def _i(self, i: int, count: int) -> tuple[str, str]:
        return ("", "") if count == 1 else (sub(i), f"_{{{i}}}")

    def x(self, j: int, s: int = 1) -> sp.Symbol:
        t, lt = self._i(j, self.inputs)
        return self._sample("x" + t, "x" + lt, s)

    def y(self, k: int, s: int = 1) -> sp.Symbol:
        t, lt = self._i(k, self.outputs)
        return self._sample("y" + t, "y" + lt, s)

    def yhat(self, k: int, s: int = 1) -> sp.Symbol:
        t, lt = self._i(k, self.outputs)
        return self._sample("ŷ" + t, r"\hat{y}" + lt, s)

    def w(self, l: int, i: int, j: int) -> sp.Symbol:
        return self._sym(f"w{sup(l)}{sub(i, j)}", f"w^{{({l})}}_{{{i}{j}}}")

    def b(self, l: int, i: int) -> sp.Symbol:
        return self._sym(f"b{sup(l)}{sub(i)}", f"b^{{({l})}}_{{{i}}}")

    def z(self, l: int, i: int, s: int = 1) -> sp.Symbol:
        return self._sample(f"z{sup(l)}{sub(i)}", f"z^{{({l})}}_{{{i}}}", s)

    def a(self, l: int, i: int, s: int = 1) -> sp.Symbol:
        """Activation of unit i of layer l; layer 0 is the input, the last is ŷ."""
        if l == 0:
            return self.x(i, s)
        if l == self.depth:
            return self.yhat(i, s)
        return self._sample(f"a{sup(l)}{sub(i)}", f"a^{{({l})}}_{{{i}}}", s)

    def delta(self, l: int, i: int, s: int = 1) -> sp.Symbol:
        return self._sample(f"δ{sup(l)}{sub(i)}", rf"\delta^{{({l})}}_{{{i}}}", s)

    def loss(self) -> sp.Symbol:
        return self._sym("L", "L")

    # partial-derivative factors of the chain rule, as a student writes them
    def partial(self, num: sp.Symbol, den: sp.Symbol) -> sp.Symbol:
        return self._sym(
            f"∂{num}/∂{den}",
            rf"\frac{{\partial {self.latex[num]}}}{{\partial {self.latex[den]}}}",
        )


class TextPrinter(StrPrinter):
    """Plain-text formulas in build order, numbers to `decimals` places."""

    def __init__(self, decimals: int = 4):
        super().__init__({"order": "none"})
        self.decimals = decimals

    def _number(self, value: Fraction) -> str:
        text = format_decimal(value, self.decimals)
        return f"({text})" if text.startswith("−") else text

    def _print_Integer(self, expr):
        return self._number(Fraction(int(expr)))

    def _print_Rational(self, expr):
        return self._number(Fraction(int(expr.p), int(expr.q)))

    def _print_Float(self, expr):
        return self._number(Fraction(str(expr)))

    def _print_Half(self, expr):
        return self._print_Rational(expr)

    def _print_Mul(self, expr):
        factors = list(expr.args)
        if factors and factors[0] == -1 and len(factors) > 1:
            return "−" + self._factor_join(factors[1:])
        return self._factor_join(factors)

    def _factor_join(self, factors) -> str:
        parts = []
        for f in factors:
            text = self._print(f)
            if isinstance(f, sp.Add) or (isinstance(f, sp.Mul) and f.args[0] == -1):
                text = f"({text})"
            parts.append(text)
        return "·".join(parts)

    def _print_Add(self, expr, order=None):
        out = []
        for n, term in enumerate(expr.args):
            if isinstance(term, sp.Mul) and term.args[0] == -1:
                text = self._factor_join(term.args[1:])
                out.append(("−" if n == 0 else " − ") + text)
            else:
                out.append(("" if n == 0 else " + ") + self._print(term))
        return "".join(out)

    def _print_Pow(self, expr, rational=False):
        base, exp = expr.args
        text = self._print(base)
        if not isinstance(base, (sp.Symbol, sp.Function)) or text.startswith("("):
            text = f"({text})" if not text.startswith("(") else text
        if exp == -1:
            return f"1/{text}"
        if exp.is_Integer and exp > 0:
            return text + sup(int(exp))
        return f"{text}^{self._print(exp)}"

    def _print_Function(self, expr):
        return f"{expr.func.__name__}({', '.join(self._print(a) for a in expr.args)})"

    def _print_exp(self, expr):
        return f"e^({self._print(expr.args[0])})"

    def _print_log(self, expr):
        return f"log({self._print(expr.args[0])})"


def format_decimal(value, decimals: int = 4) -> str:
    """A number to `decimals` places, with a true minus sign; exact decimals
    shorter than that keep their own length (0.01, 2, -0.5)."""
    frac = value if isinstance(value, Fraction) else Fraction(str(value))
    scaled = frac * 10**decimals
    if scaled.denominator == 1:  # terminates within `decimals` places: show it exactly
        text = _trim(f"{_round_half_even(frac, decimals):.{decimals}f}")
    else:
        text = f"{_round_half_even(frac, decimals):.{decimals}f}"
    if text.lstrip("-").strip("0.") == "":
        text = text.lstrip("-")  # no "-0.0000"
    return text.replace("-", "−")


def _round_half_even(frac: Fraction, decimals: int):
    from decimal import Decimal, localcontext

    with localcontext() as ctx:
        ctx.prec = 80
        d = Decimal(frac.numerator) / Decimal(frac.denominator)
        return d.quantize(Decimal(1).scaleb(-decimals))


def _trim(text: str) -> str:
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text
