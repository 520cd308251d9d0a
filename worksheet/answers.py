"""Answers stage: the file a student types their numbers into, both ways.

Contract: pure. `answers_template(sol)` writes a TOML file listing every
quantity of every step (`quantities`), in the worksheet's order, keyed by the
blank sheet's labels under one table per step, values empty and a comment
naming each in words. `parse_answers(text, source, sol)` reads one back:
decimals (1.5, "-0.5") keep the number of decimals written, since that is the
precision the checker holds them to; fractions ("7/2") are exact; an empty
value is a missing answer. Anything wrong raises `AnswersError` naming the
file, the line, the key, the bad value and what is allowed.
"""

from __future__ import annotations

import difflib
import re
import tomllib
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from .quantities import Quantity, quantities
from .solve import Solution


class AnswersError(ValueError):
    def __init__(self, source: str, line: int | None, message: str):
        self.source, self.line, self.message = source, line, message
        super().__init__(f"{source}:{line}: {message}" if line else f"{source}: {message}")


@dataclass(frozen=True)
class Answer:
    key: str  # step1.z1_1
    text: str  # as written
    value: Fraction
    decimals: int | None  # None: an exact fraction
    line: int


def network_id(sol: Solution) -> str:
    """What an answers file must have been made for: the shape, activations, loss and steps."""
    spec = sol.spec
    shape = "-".join(str(n) for n in (spec.inputs, *(layer.units for layer in spec.layers)))
    acts = " ".join(layer.activation for layer in spec.layers)
    samples = f", {len(spec.x)} samples" if len(spec.x) > 1 else ""
    return f"{shape} {acts}, {spec.loss}{samples}, {spec.steps} step{'s' if spec.steps > 1 else ''}"


def answers_template(sol: Solution) -> str:
    lines = [
        f"# Answers for: {sol.spec.title}",
        "# Type each number between the quotes as you wrote it on your sheet:",
        '#   1.5   -0.5   0.3333   7/2   (decimals or fractions; leave "" for one you skipped)',
        "# then run: worksheet check [SPEC] THIS-FILE",
        f"network = {_quoted(network_id(sol))}",
    ]
    step = 0
    for q in quantities(sol):
        if q.step != step:
            step = q.step
            lines += ["", f"[step{step}]"]
        lines.append(f"{q.name} = \"\"  # {q.words}")
    return "\n".join(lines) + "\n"


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


_TABLE = re.compile(r"^\s*\[\s*([^\]]*?)\s*\]\s*(?:#.*)?$")
_KEY = re.compile(r"^\s*([A-Za-z0-9_\-]+|\"[^\"]*\")\s*=")
_DECIMAL = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")
_FRACTION = re.compile(r"^[+-]?\d+\s*/\s*\d+$")


def _lines_of(text: str) -> dict[tuple[str, str], int]:
    """(table, key) -> line number, read from the text itself (tomllib keeps none)."""
    where: dict[tuple[str, str], int] = {}
    table = ""
    for n, line in enumerate(text.splitlines(), start=1):
        if m := _TABLE.match(line):
            table = m[1]
            where.setdefault(("", table), n)
        elif m := _KEY.match(line):
            where.setdefault((table, m[1].strip('"')), n)
    return where


def parse_number(raw, source: str, line: int | None, key: str) -> tuple[Fraction, int | None, str]:
    """A written number: (value, decimals written or None for a fraction, its text)."""
    text = str(raw).strip().replace("−", "-") if not isinstance(raw, bool) else ""
    if isinstance(raw, bool) or not (_DECIMAL.match(text) or _FRACTION.match(text)):
        shown = raw if not isinstance(raw, str) else f'"{raw}"'
        raise AnswersError(source, line, f"{key}: {shown} is not a number; write a decimal (1.5, -0.25) "
                                         'or a fraction ("7/2"), or leave "" for no answer')
    if "/" in text:
        num, den = (int(part) for part in text.split("/"))
        if den == 0:
            raise AnswersError(source, line, f"{key}: {text} divides by zero")
        return Fraction(num, den), None, text
    d = Decimal(text)  # the pattern above admits only valid decimals
    return Fraction(d), max(0, -d.as_tuple().exponent), text


def parse_answers(text: str, source: str, sol: Solution) -> dict[str, Answer]:
    """Answers by key (step1.z1_1); an empty value is left out."""
    where = _lines_of(text)
    try:
        data = tomllib.loads(text, parse_float=Decimal)
    except tomllib.TOMLDecodeError as exc:
        line = re.search(r"line (\d+)", str(exc))
        message = str(exc)
        if "overwrite" in message or "Cannot declare" in message:
            n = int(line[1]) if line else None
            key_line = text.splitlines()[n - 1] if n else ""
            m = _KEY.match(key_line) or _TABLE.match(key_line)
            name = m[1] if m else "a key"
            raise AnswersError(source, n, f"{name} is given twice; keep one") from None
        raise AnswersError(source, int(line[1]) if line else None,
                           f"not valid TOML: {re.sub(r' [(]at line.*', '', message)}") from None
    expected = network_id(sol)
    if "network" in data and data["network"] != expected:
        raise AnswersError(source, where.get(("", "network")),
                           f"network: this file was made for {data['network']!r}, but the spec is {expected!r}; "
                           "make a new one with `worksheet answers`")
    by_step: dict[str, dict[str, Quantity]] = {}
    for q in quantities(sol):
        by_step.setdefault(f"step{q.step}", {})[q.name] = q
    answers: dict[str, Answer] = {}
    for table, entries in data.items():
        if table == "network":
            continue
        if table not in by_step or not isinstance(entries, dict):
            steps = ", ".join(f"[{s}]" for s in by_step)
            raise AnswersError(source, where.get(("", table)),
                               f"[{table}] is not a step of this problem; the steps are {steps}")
        names = by_step[table]
        for name, raw in entries.items():
            line = where.get((table, name))
            if name not in names:
                near = difflib.get_close_matches(name, list(names), n=3, cutoff=0.6)
                hint = f"; did you mean {' or '.join(near)}?" if near else \
                    "; the names are those on the blank sheet's boxes (worksheet answers lists them)"
                raise AnswersError(source, line, f"[{table}] {name} is not a quantity of this problem{hint}")
            if isinstance(raw, str) and not raw.strip():
                continue
            value, decimals, written = parse_number(raw, source, line, f"[{table}] {name}")
            key = f"{table}.{name}"
            answers[key] = Answer(key, written, value, decimals, line or 0)
    return answers
