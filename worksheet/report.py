"""Report stage: a `Solution` in, the step-by-step solution for a terminal out.

Contract: `print_solution(sol, console, decimals)` writes only to the rich
`Console` it is given. Each equation is written as a hand calculation
reads: the chain rule, the network's symbols, the numbers, the value, each
on its own line under an aligned `=`; long lines wrap after a `+` or a `·`,
outside parentheses where they can, never inside a symbol.
"""

from __future__ import annotations

import textwrap

import sympy as sp
from rich.console import Console
from rich.table import Table
from rich.text import Text

from .derive import Equation
from .notation import ACTIVATION_NAMES, TextPrinter, format_decimal, given_text, precision_text, sub, sup, value_text
from .solve import Solution, Step, arithmetic_text


def _param_label(group: str, index: tuple[int, ...]) -> str:
    """W2, (1, 2) -> w²₁₂"""
    kind, layer = group[0], int(group[1:])
    return f"{kind.lower()}{sup(layer)}{sub(*index)}"


def _flat(group: str, values: tuple):
    """(label, value) for each entry of a weight matrix or bias vector."""
    if values and isinstance(values[0], tuple):
        for i, row in enumerate(values, start=1):
            for j, v in enumerate(row, start=1):
                yield _param_label(group, (i, j)), v
    else:
        for i, v in enumerate(values, start=1):
            yield _param_label(group, (i,)), v


def wrap_formula(text: str, width: int) -> list[str]:
    """Greedy lines of at most `width`, broken after a + or − between terms or
    after a product's ·, at the shallowest parenthesis depth where every piece
    fits; never inside a symbol."""
    breaks, depth = [], 0  # (position after the break, depth there)
    for n, ch in enumerate(text):
        depth += (ch == "(") - (ch == ")")
        if ch == "·" or (ch == " " and n > 1 and text[n - 1] in "+−" and text[n - 2] == " "):
            breaks.append((n + 1, depth))
    for level in range(max((d for _, d in breaks), default=0) + 1):
        cuts = [0] + [n for n, d in breaks if d <= level] + [len(text)]
        pieces = [text[a:b] for a, b in zip(cuts, cuts[1:]) if b > a]
        if all(len(p) <= width for p in pieces):
            break
    lines, current = [], ""
    for piece in pieces:
        if current and len(current) + len(piece) > width:
            lines.append(current.rstrip())
            current = ""
        current += piece
    return lines + [current] if current else lines or [""]


class _Writer:
    def __init__(self, console: Console, sol: Solution, decimals: int):
        self.console, self.sol, self.decimals = console, sol, decimals
        self.p = TextPrinter(decimals)
        self.forms = TextPrinter(decimals, fractions=True)  # a formula's constants as fractions: ½, not 0.5
        self.width = max(40, min(console.width, 100))

    def line(self, text: str = "", style: str | None = None) -> None:
        self.console.print(Text(text, style=style or ""), soft_wrap=True)

    def equation(self, eq: Equation, step: Step, indent: int = 2) -> None:
        lhs = self.p.doprint(eq.lhs)
        forms = [self.forms.doprint(f) for f in (eq.chain, eq.symbolic) if f is not None]
        numbers = self.p.doprint(step.substituted[eq.name])
        value = value_text(step.values[eq.name], self.decimals, self.sol.exact)
        if numbers not in forms and not isinstance(eq.symbolic, sp.Symbol):  # ŷ = z²₁ = −1, not = (−1) = −1
            forms.append(numbers)
        if value != forms[-1]:
            forms.append(value)
        first = " " * indent + lhs + " = "
        pad = " " * (len(first) - 2)
        for n, form in enumerate(forms):
            lead = first if n == 0 else pad + "= "
            wrapped = wrap_formula(form, self.width - len(lead) - 2)
            self.line(lead + wrapped[0])
            for more in wrapped[1:]:
                self.line(" " * len(lead) + "  " + more)
            if n == 1 and eq.note:  # under the symbolic form it explains
                self.line(" " * len(lead) + f"({eq.note})")

    def step(self, step: Step) -> None:
        der, spec = self.sol.derivation, self.sol.spec
        self.line()
        self.line(f"Step {step.number} of {len(self.sol.steps)}", "bold reverse")
        self.line("Forward pass", "bold")
        for eq in der.forward:
            self.equation(eq, step)
        self.line("Loss", "bold")
        self.equation(der.loss, step)
        self.line("Backward pass (δ = ∂L/∂z, from the output layer down)", "bold")
        for eq in der.output_grads + der.deltas:
            self.equation(eq, step)
        self.line("Gradients", "bold")
        for eq in der.grads:
            self.equation(eq, step)
        lr = given_text(spec.learning_rate, 12)
        title = f"Update: p ← p − η·{'v' if spec.momentum else '∂L/∂p'}, η = {lr}"
        table = Table(title=title, title_justify="left", title_style="bold", box=None,
                      pad_edge=False, show_edge=False)
        table.add_column("param")
        for head in ["old", "∂L/∂p"] + (["v"] if spec.momentum else []) + ["η·" + (
                "v" if spec.momentum else "∂L/∂p"), "new"]:
            table.add_column(head, justify="right")
        fmt = lambda v: format_decimal(v, self.decimals)  # noqa: E731
        for group in spec.group_names:
            if group not in step.grads:
                for label, old in _flat(group, step.params[group]):
                    table.add_row(label, fmt(old), "frozen", *([""] if spec.momentum else []), "", fmt(old))
                continue
            rows = zip(_flat(group, step.params[group]), _flat(group, step.grads[group]),
                       _flat(group, step.velocity[group]), _flat(group, step.updated[group]))
            for (label, old), (_, g), (_, v), (_, new) in rows:
                cells = [fmt(old), fmt(g)] + ([fmt(v)] if spec.momentum else [])
                table.add_row(label, *cells, fmt(spec.learning_rate * v), fmt(new))
        emit(self.console, table)


def emit(console: Console, renderable) -> None:
    """Print; a file or a pipe gets no padding or wrapping spaces at the ends of lines."""
    if console.is_terminal:
        console.print(renderable)
        return
    with console.capture() as captured:
        console.print(renderable)
    console.out("\n".join(line.rstrip() for line in captured.get().splitlines()), highlight=False)


def print_solution(sol: Solution, console: Console, decimals: int = 4) -> None:
    w = _Writer(console, sol, decimals)
    spec = sol.spec
    w.line(spec.title, "bold")
    xs = "; ".join(", ".join(format_decimal(v, decimals) for v in row) for row in spec.x)
    ys = "; ".join(", ".join(format_decimal(v, decimals) for v in row) for row in spec.y)
    shape = "-".join(str(n) for n in (spec.inputs, *(layer.units for layer in spec.layers)))
    acts = ", ".join(ACTIVATION_NAMES[layer.activation] for layer in spec.layers)
    # no break inside "η = 0.1" or "2 updates": no-break spaces while wrapping, plain ones printed
    keep = "\xa0"
    given = "; ".join([f"Network {shape} ({acts})", f"x{keep}={keep}{xs}", f"y{keep}={keep}{ys}",
                       f"loss{keep}{spec.loss}", f"η{keep}={keep}{given_text(spec.learning_rate, 12)}",
                       *([f"momentum μ{keep}={keep}{given_text(spec.momentum, 12)}"] if spec.momentum else []),
                       f"{spec.steps}{keep}update{'s' if spec.steps > 1 else ''}"])
    for part in textwrap.wrap(given, width=w.width, break_on_hyphens=False):
        w.line(part.replace(keep, " "))
    for part in textwrap.wrap(f"Arithmetic: {arithmetic_text(sol)}; numbers shown to {precision_text(decimals)}.",
                              width=w.width):
        w.line(part)
    w.line("Conventions:", "bold")
    for c in sol.conventions:
        for n, part in enumerate(textwrap.wrap(c, width=w.width - 4)):
            w.line(("  • " if n == 0 else "    ") + part)
    for step in sol.steps:
        w.step(step)
    w.line()
    w.line("Parameters after the last update:", "bold")
    for group in spec.group_names:
        text = ", ".join(f"{label} = {value_text(v, decimals, sol.exact)}"
                         for label, v in _flat(group, sol.final[group]))
        for part in textwrap.wrap(text, width=w.width - 2, break_on_hyphens=False):
            w.line("  " + part)
