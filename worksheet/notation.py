"""Notation: the network's symbols and the printers that write formulas.

Contract: pure. `Symbols` names every quantity of a network the way a hand
calculation does (w²₁₂, z¹₁, a¹₁, ŷ, δ²₁, ∂L/∂ŷ ...), one SymPy symbol each,
with a LaTeX spelling beside the text one. The printers write an expression
in that notation keeping the order the derivation built it in (SymPy's own
printers sort factors and write d/dw): `TextPrinter` as plain text with
numbers to a fixed number of decimals, `HtmlPrinter` as HTML for the
worksheet, `LatexPrinter` as LaTeX.
"""

from __future__ import annotations

import html
import re
from decimal import ROUND_HALF_UP, Decimal, localcontext
from fractions import Fraction

import sympy as sp
from sympy.printing.latex import LatexPrinter as SympyLatexPrinter
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
# What a worksheet calls each activation in its headings.
ACTIVATION_NAMES = {"identity": "linear", "relu": "ReLU", "leaky_relu": "LeakyReLU", "sigmoid": "sigmoid",
                    "tanh": "tanh", "softmax": "softmax"}
LATEX_FN = {"ReLU": r"\operatorname{ReLU}", "LReLU": r"\operatorname{LReLU}", "σ": r"\sigma",
            "tanh": r"\tanh", "ReLU′": r"\operatorname{ReLU}^{\prime}",
            "LReLU′": r"\operatorname{LReLU}^{\prime}"}


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

    def _sample(self, text: str, base: str, up: str, down: str, s: int) -> sp.Symbol:
        """A per-sample quantity; with several samples the sample index joins
        the superscript, z^{(1)[2]}_{1}, and the text name ends in [2]."""
        if self.samples > 1:
            text, up = f"{text}[{s}]", f"{up}[{s}]"
        latex = base + (f"^{{{up}}}" if up else "") + (f"_{{{down}}}" if down else "")
        return self._sym(text, latex)

    # index helpers: drop the index of a lone input or output, as the homework does
    def _i(self, i: int, count: int) -> tuple[str, str]:
        return ("", "") if count == 1 else (sub(i), str(i))

    def x(self, j: int, s: int = 1) -> sp.Symbol:
        t, lt = self._i(j, self.inputs)
        return self._sample("x" + t, "x", "", lt, s)

    def y(self, k: int, s: int = 1) -> sp.Symbol:
        t, lt = self._i(k, self.outputs)
        return self._sample("y" + t, "y", "", lt, s)

    def yhat(self, k: int, s: int = 1) -> sp.Symbol:
        t, lt = self._i(k, self.outputs)
        return self._sample("ŷ" + t, r"\hat{y}", "", lt, s)

    def w(self, l: int, i: int, j: int) -> sp.Symbol:
        return self._sym(f"w{sup(l)}{sub(i, j)}", f"w^{{({l})}}_{{{i}{j}}}")

    def b(self, l: int, i: int) -> sp.Symbol:
        return self._sym(f"b{sup(l)}{sub(i)}", f"b^{{({l})}}_{{{i}}}")

    def z(self, l: int, i: int, s: int = 1) -> sp.Symbol:
        return self._sample(f"z{sup(l)}{sub(i)}", "z", f"({l})", str(i), s)

    def a(self, l: int, i: int, s: int = 1) -> sp.Symbol:
        """Activation of unit i of layer l; layer 0 is the input, the last is ŷ."""
        if l == 0:
            return self.x(i, s)
        if l == self.depth:
            return self.yhat(i, s)
        return self._sample(f"a{sup(l)}{sub(i)}", "a", f"({l})", str(i), s)

    def delta(self, l: int, i: int, s: int = 1) -> sp.Symbol:
        return self._sample(f"δ{sup(l)}{sub(i)}", r"\delta", f"({l})", str(i), s)

    def loss(self) -> sp.Symbol:
        return self._sym("L", "L")

    # partial-derivative factors of the chain rule, as a student writes them
    def partial(self, num: sp.Symbol, den: sp.Symbol) -> sp.Symbol:
        return self._sym(
            f"∂{num}/∂{den}",
            rf"\frac{{\partial {self.latex[num]}}}{{\partial {self.latex[den]}}}",
        )


# A given −1 put into a formula: not the −1 the derivation builds a minus sign from, so
# that w·x with w = −1 reads (−1)·2, not −2. `substitute` values use it.
# (1·−1, which the derivation never builds: its minus signs are −1·term, first)
MINUS_ONE = sp.Mul(sp.S.One, sp.S.NegativeOne, evaluate=False)


def constant(q: sp.Rational) -> sp.Expr:
    """A formula's constant factor (the ½ of ½·Σ(ŷ − y)², the ⅓ of a mean), marked as q¹ so that
    every printer, the numbers' too, writes it as the fraction: ½·(4.5 − 1)², never 0.5·(4.5 − 1)².
    (Nothing else is a power 1: the derivation builds none, and substituting numbers makes none.)"""
    return sp.Pow(q, sp.S.One, evaluate=False)


def is_constant(expr) -> bool:
    return isinstance(expr, sp.Pow) and expr.exp is sp.S.One and expr.base.is_Rational


def _constant_value(expr) -> Fraction:
    return Fraction(int(expr.base.p), int(expr.base.q))


def negated(expr) -> bool:
    """A term the derivation negated: −1 times something, printed with a minus sign."""
    return isinstance(expr, sp.Mul) and expr.args[0] is sp.S.NegativeOne and len(expr.args) > 1


def number_value(expr):
    """The value to substitute for a symbol: a −1 marked as a given number."""
    return MINUS_ONE if expr == -1 else expr


class _BuildOrder:
    """Products and sums as the derivation built them: factors in their order,
    a leading −1 as a minus sign, a sum or a negated product bracketed inside a
    product. The printers differ only in their minus, times and brackets."""

    minus = "−"
    times = "·"

    def _paren(self, text: str) -> str:
        return f"({text})"

    def _arg(self, arg) -> str:
        """A function's argument: a negative number, a given −1 too, needs no second bracket."""
        text = self._print(arg)
        opening, closing = self._paren("\0").split("\0")
        if (arg.is_Number or arg.args == MINUS_ONE.args) and text.startswith(opening) and text.endswith(closing):
            return text[len(opening):-len(closing)]
        return text

    def _print_Mul(self, expr):
        factors = list(expr.args)
        if expr.args == MINUS_ONE.args:
            return self._number(Fraction(-1))
        if negated(expr):
            return self.minus + self._factor_join(factors[1:])
        return self._factor_join(factors)

    def _factor_join(self, factors) -> str:
        last = factors[-1]
        if len(factors) > 1 and isinstance(last, sp.Pow) and last.exp == -1:  # a·(1/b) reads a/b
            return self._fraction(factors[:-1], last.base)
        out = ""
        for n, f in enumerate(factors):
            if n and isinstance(f, sp.Pow) and f.exp == -1:  # y·1/ŷ reads y/ŷ
                out += self._divided(f.base)
                continue
            text = self._print(f)
            if isinstance(f, sp.Add) or negated(f):
                text = self._paren(text)
            out += (self.times if n else "") + text
        return out

    def _fraction(self, numerator, denominator) -> str:
        return self._factor_join(numerator) + self._divided(denominator)

    def _constant(self, value: Fraction) -> str:
        return fraction_text(value)

    def _divided(self, base) -> str:
        text = self._print(base)
        bracket = isinstance(base, (sp.Add, sp.Mul, sp.Pow)) or (base.is_Number and text.startswith("("))
        return "/" + (self._paren(text) if bracket and not text.startswith("(") else text)

    def _print_Add(self, expr, order=None):
        return " ".join(self._pieces(expr))

    def _pieces(self, expr: sp.Add) -> list[str]:
        """A sum's terms, each ending in the sign of the next (a + / b − / c): joined by spaces,
        the sum; as unbreakable pieces, where a long formula may wrap."""
        pieces: list[str] = []
        for term in expr.args:
            negative = negated(term)
            text = self._factor_join(term.args[1:]) if negative else self._print(term)
            if pieces:
                pieces[-1] += f" {self.minus if negative else '+'}"
                pieces.append(text)
            else:
                pieces.append((self.minus if negative else "") + text)
        return pieces


# one spelling per constant across the document: ½·Σ(ŷ − y)², never 1/2· in one place and ½ in another
_VULGAR = {(1, 2): "½", (1, 3): "⅓", (2, 3): "⅔", (1, 4): "¼", (3, 4): "¾", (1, 5): "⅕", (1, 6): "⅙", (1, 8): "⅛"}


def fraction_text(value: Fraction) -> str:
    """A formula's constant fraction: ½, ⅓, or 7/10 where no single character exists."""
    text = _VULGAR.get((abs(value.numerator), value.denominator), f"{abs(value.numerator)}/{value.denominator}")
    return ("−" if value < 0 else "") + text


class TextPrinter(_BuildOrder, StrPrinter):
    """Plain-text formulas in build order, numbers to `decimals` places."""

    def __init__(self, decimals: int = 4, fractions: bool = False):
        super().__init__({"order": "none"})
        self.decimals, self.fractions = decimals, fractions

    def _number(self, value: Fraction) -> str:
        if self.fractions and value.denominator != 1:  # a formula's constant: ½, not 0.5
            text = fraction_text(value)
        else:
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

    def _base(self, base) -> str:
        """A power's base, bracketed unless it is a symbol, a function or a
        number (a negative number brackets itself)."""
        text = self._print(base)
        indexed = isinstance(base, sp.Symbol) and len(base.name) > 1  # (a¹₂)², not a¹₂²
        return self._paren(text) if indexed or isinstance(base, (sp.Add, sp.Mul, sp.Pow)) else text

    def _print_Pow(self, expr, rational=False):
        if is_constant(expr):
            return self._constant(_constant_value(expr))
        base, exp = expr.args
        if exp == -1:  # 1/ŷ₁: an indexed symbol needs no brackets here
            text = self._print(base)
            return f"1/({text})" if isinstance(base, (sp.Add, sp.Mul, sp.Pow)) else f"1/{text}"
        if exp.is_Integer and exp > 0:
            return self._base(base) + sup(int(exp))
        return f"{self._base(base)}^{self._print(exp)}"

    def _print_Function(self, expr):
        return f"{expr.func.__name__}({', '.join(self._arg(a) for a in expr.args)})"

    def _print_exp(self, expr):
        # exp(z³₁), not e^(z³₁): an index inside a superscript is too small to read
        return f"exp({self._arg(expr.args[0])})"

    def _print_log(self, expr):
        return f"log({self._arg(expr.args[0])})"


def given_text(value: Fraction, decimals: int) -> str:
    """A given number as the problem states it: 0.5, or 1/3 where decimals would round it
    (a fraction longer than a spec allows, as a later step's parameter can be, in decimals)."""
    if (value * 10**decimals).denominator == 1 or not _short(value, 12):
        return format_decimal(value, decimals)
    return f"{value.numerator}/{value.denominator}".replace("-", "−")


def _short(value: Fraction, digits: int) -> bool:
    """Numerator and denominator of at most `digits` digits, judged without str() (a huge
    integer's text is slow, and refused past 4300 digits)."""
    return abs(value.numerator) < 10**digits and value.denominator < 10**digits


SHORT_FRACTION = 7


def value_text(value: Fraction, decimals: int, exact: bool) -> str:
    """4.5; or 0.3333 (1/3) when rounding hides a short exact fraction (up to
    SHORT_FRACTION characters: 1/3, 49/8, 379/400, not 6577/4000)."""
    text = format_decimal(value, decimals)
    if exact and (value * 10**decimals).denominator != 1 and _short(value, SHORT_FRACTION) \
            and len(str(value)) <= SHORT_FRACTION:
        text += f" ({str(value).replace('-', '−')})"
    return text


MIN_SIGNIFICANT = 4  # 0.000438568 shows as 0.0004386, never as 0.0004


class Digits(int):
    """A precision in significant digits (`--digits N`) where one in decimals is expected: every
    printer and `format_decimal` take either, so the choice travels as the one `decimals` value."""


def precision_text(decimals: int) -> str:
    """"4 decimals", or "3 significant digits" for --digits 3 (which said "3 decimals")."""
    unit = "significant digit" if isinstance(decimals, Digits) else "decimal"
    return f"{int(decimals)} {unit}{'' if decimals == 1 else 's'}"
_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")
_FROM_SUPERSCRIPT = str.maketrans("⁻⁰¹²³⁴⁵⁶⁷⁸⁹", "-0123456789")


def format_decimal(value, decimals: int = 4) -> str:
    """A number to `decimals` places, or more where that would leave fewer than
    MIN_SIGNIFICANT significant digits (below 10⁻⁶: 3.043·10⁻¹⁵), with a true
    minus sign; exact decimals shorter than that keep their own length (0.01, 2, -0.5)."""
    frac = value if isinstance(value, Fraction) else Fraction(str(value))
    if frac:
        with localcontext() as ctx:
            ctx.prec = 40
            magnitude = (Decimal(frac.numerator) / Decimal(frac.denominator)).adjusted()  # ⌊log10 |value|⌋
        if magnitude < -6:
            return _scientific(frac, magnitude, decimals if isinstance(decimals, Digits) else MIN_SIGNIFICANT)
        if isinstance(decimals, Digits):
            decimals = max(0, decimals - 1 - magnitude)
        else:
            decimals = max(decimals, MIN_SIGNIFICANT - 1 - magnitude)
    scaled = frac * 10**decimals
    if scaled.denominator == 1:  # terminates within `decimals` places: show it exactly
        text = _trim(f"{round_half_up(frac, decimals):.{decimals}f}")
    else:
        text = f"{round_half_up(frac, decimals):.{decimals}f}"
    if text.lstrip("-").strip("0.") == "":
        text = text.lstrip("-")  # no "-0.0000"
    return text.replace("-", "−")


def _scientific(frac: Fraction, magnitude: int, digits: int) -> str:
    mantissa = round_half_up(frac / Fraction(10) ** magnitude, digits - 1)
    if abs(mantissa) >= 10:  # 9.9996 rounded up to 10.000
        mantissa, magnitude = round_half_up(frac / Fraction(10) ** (magnitude + 1), digits - 1), magnitude + 1
    return f"{mantissa}·10{str(magnitude).translate(_SUPERSCRIPT)}".replace("-", "−")


def round_half_up(value: Fraction | Decimal, decimals: int) -> Decimal:
    """Schoolbook rounding, a tie away from zero: 6577/4000 = 1.64425 is 1.6443,
    as a student writes it and as the homework's printout shows it (half-even
    would give 1.6442)."""
    with localcontext() as ctx:
        ctx.prec = 80
        d = value if isinstance(value, Decimal) else Decimal(value.numerator) / Decimal(value.denominator)
        return d.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)


def _trim(text: str) -> str:
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


class LatexPrinter(_BuildOrder, SympyLatexPrinter):
    """LaTeX for the derivation, in build order, with ∂ notation kept: the
    chain-rule factors are symbols whose LaTeX spelling `Symbols` holds, and
    SymPy's own printer would sort the factors."""

    def __init__(self, symbols: Symbols, decimals: int | None = None):
        super().__init__({"order": "none", "mul_symbol": "dot"})
        self.names = symbols.latex
        self.decimals = decimals  # a line with numbers: data as decimals, as the worksheet shows them

    minus = "-"
    times = r" \cdot "

    def _number(self, value: Fraction) -> str:
        text = format_decimal(value, self.decimals).replace("−", "-")
        text = text.replace("·10", r" \cdot 10^{").translate(_FROM_SUPERSCRIPT) + ("}" if "·10" in text else "")
        return rf"\left({text}\right)" if text.startswith("-") else text

    def _print_Integer(self, expr):
        return self._number(Fraction(int(expr))) if self.decimals is not None else str(expr)

    def _print_Rational(self, expr):
        if self.decimals is None:
            return super()._print_Rational(expr)
        return self._number(Fraction(int(expr.p), int(expr.q)))

    def _print_Float(self, expr):
        return self._number(Fraction(str(expr))) if self.decimals is not None else super()._print_Float(expr)

    def _print_Half(self, expr):
        return self._print_Rational(expr)

    def _print_Symbol(self, expr, style="plain"):
        return self.names.get(expr) or super()._print_Symbol(expr)

    def _print_Function(self, expr, exp=None):
        name = type(expr).__name__
        if name not in LATEX_FN:
            return super()._print_Function(expr, exp)
        args = ", ".join(self._arg(a) for a in expr.args)
        return rf"{LATEX_FN[name]}\left({args}\right)"

    def _paren(self, text: str) -> str:
        return rf"\left({text}\right)"

    def _fraction(self, numerator, denominator) -> str:
        top = self._print(numerator[0]) if len(numerator) == 1 else self._factor_join(numerator)
        return rf"\frac{{{top}}}{{{self._print(denominator)}}}"

    def _constant(self, value: Fraction) -> str:
        if value.denominator == 1:
            return str(value.numerator)
        return ("-" if value < 0 else "") + rf"\frac{{{abs(value.numerator)}}}{{{value.denominator}}}"

    def _print_Pow(self, expr, rational=False):
        if is_constant(expr):
            return self._constant(_constant_value(expr))
        base, exp = expr.args
        text = self._print(base)
        if exp == -1:
            return rf"\frac{{1}}{{{text}}}"
        if not isinstance(base, (sp.Symbol, sp.Function)) or "^" in text or "_" in text:
            text = rf"\left({text}\right)"
        return f"{text}^{{{self._print(exp)}}}"

    def _print_exp(self, expr, exp=None):
        return rf"e^{{{self._print(expr.args[0])}}}"

    def _print_log(self, expr, exp=None):
        return rf"\log\left({self._print(expr.args[0])}\right)"


class HtmlPrinter(TextPrinter):
    """HTML for formulas, in build order: the network's symbols in math italics
    with their indices as super- and subscripts, numbers as plain text.
    `display` writes ∂L/∂w, 1/x and a formula's ½ as stacked fractions (the
    derivation); otherwise they stay on the line (a step's working).
    Only SymPy symbols and numbers reach it, never text from a spec, so its
    output is safe markup."""

    def __init__(self, symbols: Symbols, decimals: int = 4, fractions: bool = False, display: bool = False):
        super().__init__(decimals, fractions)
        self.display = display
        self.names = {sym: symbol_html(latex, display) for sym, latex in symbols.latex.items()}

    def _print_Symbol(self, expr):
        return self.names.get(expr) or html.escape(str(expr))

    def doprint(self, expr) -> str:
        """A sum's top-level terms as unbreakable pieces, each ending in the sign of
        the next: a long formula wraps after a + or − between terms, never inside a
        term, a symbol or its index. A product holding one bracketed sum (−¼·(…),
        (Σ δ·w)·f′(z)) breaks the same way between the terms inside its bracket."""
        if isinstance(expr, sp.Add):
            return self._spans(self._pieces(expr))
        full = super().doprint(expr)
        sums = list(_sums_in_product(expr))
        # a product short enough for any line is left whole; a long one breaks in its longest sum
        if not sums or len(TextPrinter(self.decimals).doprint(expr)) <= SHORT_FORMULA:
            return full
        longest = max(sums, key=lambda f: len(self._print(f)))
        bracketed = f"({self._print(longest)})"
        if full.count(bracketed) != 1:  # stacked, or in tall brackets: left whole
            return full
        before, after = full.split(bracketed)
        pieces = self._pieces(longest)
        pieces[0], pieces[-1] = f"{before}({pieces[0]}", f"{pieces[-1]}){after}" if len(pieces) > 1 else \
            f"{before}({pieces[0]}){after}"
        return self._spans(pieces) if len(pieces) > 1 else full

    @staticmethod
    def _spans(pieces: list[str]) -> str:
        return " ".join(f'<span class="t">{p}</span>' for p in pieces)

    def _number(self, value: Fraction) -> str:
        if self.display and self.fractions and value.denominator != 1:
            return self._constant(value)
        return super()._number(value)

    def _constant(self, value: Fraction) -> str:
        if not self.display or value.denominator == 1:
            return super()._constant(value)
        sign = "−" if value < 0 else ""
        return f"{sign}{frac_html(str(abs(value.numerator)), str(value.denominator))}"

    def _fraction(self, numerator, denominator) -> str:
        # stacked in the derivation, and wherever the denominator is a sum (a softmax):
        # a formula's exp(z)/(exp(z) + exp(z)) on one line reads less clearly than stacked
        if not (self.display or (self.fractions and isinstance(denominator, sp.Add))):
            return super()._fraction(numerator, denominator)
        top = self._print(numerator[0]) if len(numerator) == 1 else self._factor_join(numerator)
        return frac_html(top, self._print(denominator))

    def _paren(self, text: str) -> str:
        if 'class="frac"' in text:  # brackets as tall as the fractions they hold
            return f'<span class="bp">(</span>{text}<span class="bp">)</span>'
        return f"({text})"

    def _print_Function(self, expr):
        name = type(expr).__name__
        args = ", ".join(self._arg(a) for a in expr.args)
        return f'<span class="fn">{html.escape(name)}</span>({args})'

    def _print_exp(self, expr):
        return f'<span class="fn">exp</span>({self._arg(expr.args[0])})'

    def _print_log(self, expr):
        return f'<span class="fn">log</span>({self._arg(expr.args[0])})'

    def _print_Pow(self, expr, rational=False):
        base, exp = expr.args
        if exp.is_Integer and exp > 1:
            return f"{self._base(base)}<sup>{int(exp)}</sup>"
        if exp == -1 and self.display:
            return frac_html("1", self._print(base))
        return super()._print_Pow(expr, rational)


SHORT_FORMULA = 32  # characters of plain text: fits even a narrow working box on one line


def _sums_in_product(expr):
    """The bracketed sums among a product's factors, through nested products (−¼·(…))."""
    if isinstance(expr, sp.Mul):
        for factor in expr.args:
            if isinstance(factor, sp.Add):
                yield factor
            else:
                yield from _sums_in_product(factor)


def frac_html(num: str, den: str) -> str:
    return f'<span class="frac"><span class="n">{num}</span><span class="d">{den}</span></span>'


_LATEX_SYMBOL = re.compile(r"^(?P<base>\\hat\{y\}|\\delta|[a-zA-Z])(?:\^\{(?P<sup>[^}]*)\})?(?:_\{(?P<sub>[^}]*)\})?$")
_GREEK = {r"\delta": "δ", r"\hat{y}": "ŷ"}


def symbol_html(latex: str, display: bool = False) -> str:
    """One symbol's LaTeX spelling as HTML: w^{(2)}_{12} is 𝑤⁽²⁾₁₂. A ∂ fraction
    is stacked for display, else ∂L/∂w on the line."""
    if latex.startswith(r"\frac"):
        num, den = re.fullmatch(r"\\frac\{\\partial (.*)\}\{\\partial (.*)\}", latex).groups()
        if display:
            return frac_html(f"∂{symbol_html(num)}", f"∂{symbol_html(den)}")
        return f"∂{symbol_html(num)}/∂{symbol_html(den)}"
    m = _LATEX_SYMBOL.match(latex)
    if m is None:
        return html.escape(latex)
    base = _GREEK.get(m["base"], m["base"])
    # Unicode math italic letters and super- and subscript digits rather than <i>,
    # <sup> and <sub>: a worksheet holds thousands of symbols, and every element
    # costs WeasyPrint layout time. NFKC turns them back into w, ¹, ₁.
    out = math_italic(base)
    for text, table, tag in ((m["sup"], _SUP, "sup"), (m["sub"], _SUB, "sub")):
        if not text:
            continue
        if all(ord(c) in table for c in text):
            out += text.translate(table)
        else:  # letters (w^{(l)}_{ij} in the notation section), a sample's [s]
            out += f"<{tag}>{_index(text)}</{tag}>"
    return out


def math_italic(text: str) -> str:
    """Letters as Unicode mathematical italics (𝑤, 𝑧, 𝛿); a hatted letter
    stays an <i> element, as a combining hat sits badly on them."""
    if not text.isascii() and text not in _MATH_ITALIC:
        return f"<i>{text}</i>"
    return "".join(_MATH_ITALIC.get(c, c) for c in text)


_MATH_ITALIC = {c: chr(0x1D44E + n) for n, c in enumerate("abcdefghijklmnopqrstuvwxyz")}
_MATH_ITALIC |= {c: chr(0x1D434 + n) for n, c in enumerate("ABCDEFGHIJKLMNOPQRSTUVWXYZ")}
_MATH_ITALIC |= {"h": "ℎ", "δ": "𝛿", "σ": "𝜎", "η": "𝜂", "μ": "𝜇"}


def _index(text: str) -> str:
    """LaTeX index text as it reads: l-1 with a true minus, letters italic."""
    return math_italic(html.escape(text)).replace("-", "−")
