"""Answers stage: the file a student types their numbers into, both ways.

Contract: pure. `answers_template(sol, parts)` writes a TOML file listing
every quantity of every step (`quantities`) of the parts asked for (`PARTS`;
all by default, and the file says which in `only`), in the worksheet's
order, keyed by the blank sheet's labels under one table per step, values
empty and a comment naming each in words. `parse_answers(text, source, sol)`
reads one back as an `AnswerSheet`: decimals (1.5, "-0.5") keep the number
of decimals written, since that is the precision the checker holds them to;
fractions ("7/2", quoted or not) are exact; an empty value is a missing
answer. `sheet_from_tables(data, source, sol)` does the same from the tables
already read (the web page's JSON), with the same checks and messages.
Anything wrong raises `AnswersError` naming the file, the line, the key, the
bad value and what is allowed.
"""

from __future__ import annotations

import difflib
import re
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction

from .quantities import Quantity, quantities
from .solve import Solution
from .spec import MAX_NUMBER_TEXT, PARTS, fingerprint, one_line, quote_fractions


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


@dataclass(frozen=True)
class AnswerSheet(Mapping):
    """The answers by key (step1.z1_1), and the parts the sheet asked for (None: all)."""

    answers: Mapping[str, Answer] = field(default_factory=dict)
    parts: tuple[str, ...] | None = None
    sheet: str | None = None  # the version of the sheet the file was made for (`spec.fingerprint`)

    def __getitem__(self, key: str) -> Answer:
        return self.answers[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.answers)

    def __len__(self) -> int:
        return len(self.answers)


def parse_parts(value: str) -> tuple[str, ...]:
    """'gradients,updates' -> ('gradients', 'updates'); ValueError naming the allowed parts."""
    chosen = tuple(dict.fromkeys(p.strip() for p in value.split(",") if p.strip()))
    bad = [p for p in chosen if p not in PARTS]
    if bad or not chosen:
        raise ValueError(f"{', '.join(bad) or 'nothing'}: not a part of the worksheet; "
                         f"give one or more of {', '.join(PARTS)}, comma-separated")
    return chosen


def absent_parts(sol: Solution, parts: tuple[str, ...]) -> list[str]:
    """The parts asked for that this problem has no quantity of (momentum without momentum)."""
    kinds = {q.kind for q in quantities(sol)}
    return [p for p in parts if not kinds & set(PARTS[p])]


def network_id(sol: Solution) -> str:
    """What an answers file must have been made for: the shape, activations, loss and steps."""
    spec = sol.spec
    shape = "-".join(str(n) for n in (spec.inputs, *(layer.units for layer in spec.layers)))
    acts = " ".join(layer.activation for layer in spec.layers)
    samples = f", {len(spec.x)} samples" if len(spec.x) > 1 else ""
    return f"{shape} {acts}, {spec.loss}{samples}, {spec.steps} step{'s' if spec.steps > 1 else ''}"


def answers_template(sol: Solution, parts: tuple[str, ...] | None = None,
                     filled: Mapping[str, Answer] | None = None) -> str:
    """The file to type answers into: every quantity, or those of `parts`; with
    `filled` (answers by key), the numbers as the student wrote them."""
    lines = [
        f"# Answers for: {one_line(sol.spec.title)}",
        "# Type each number between the quotes as you wrote it on your sheet:",
        '#   0.25   -1.125   0.6667   2/3   (decimals or fractions; leave "" for one you skipped)',
        "# then run: worksheet check [SPEC] THIS-FILE",
        f"network = {_quoted(network_id(sol))}",
        f"sheet = {_quoted(fingerprint(sol.spec))}  # the sheet's version: check warns when the spec has changed",
    ]
    if parts is not None:
        lines.append(f"only = [{', '.join(_quoted(p) for p in parts)}]  # the parts asked for; the score counts these")
    kinds = {k for p in parts for k in PARTS[p]} if parts is not None else None
    step = 0
    for q in quantities(sol):
        if kinds is not None and q.kind not in kinds:
            continue
        if q.step != step:
            step = q.step
            lines += ["", f"[step{step}]"]
        written = filled[q.key].text if filled and q.key in filled else ""
        lines.append(f"{q.name} = {_quoted(written)}  # {q.words}")
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
    if isinstance(raw, Decimal):  # an unquoted decimal: its digits as written, never a billion zeros
        if not raw.is_finite() or abs(raw.adjusted()) > MAX_NUMBER_TEXT:
            raise AnswersError(source, line, f"{key}: {raw} is not a number a hand calculation writes; write a "
                                             f"decimal of at most {MAX_NUMBER_TEXT} characters or a fraction")
        text = format(raw, "f")
    else:
        text = str(raw).strip().replace("−", "-") if isinstance(raw, str | int) else ""
    if len(text) > MAX_NUMBER_TEXT:
        raise AnswersError(source, line, f"{key}: {one_line(text[:20])}… ({len(text)} characters) is too long for a "
                                         f"written number; at most {MAX_NUMBER_TEXT} characters")
    if isinstance(raw, bool) or not (_DECIMAL.match(text) or _FRACTION.match(text)):
        shown = f'"{one_line(raw)}"' if isinstance(raw, str) else _toml_kind(raw)
        raise AnswersError(source, line, f"{key}: {shown} is not a number; write a decimal (0.25, -1.125) "
                                         'or a fraction ("2/3"), or leave "" for no answer')
    if "/" in text:
        num, den = (int(part) for part in text.split("/"))
        if den == 0:
            raise AnswersError(source, line, f"{key}: {text} divides by zero")
        return Fraction(num, den), None, text
    d = Decimal(text)  # the pattern above admits only valid decimals
    return Fraction(d), max(0, -d.as_tuple().exponent), text


def _toml_kind(raw) -> str:
    """A TOML value that is not a number, as the person who typed it would call it."""
    if isinstance(raw, bool):
        return "true" if raw else "false"
    if isinstance(raw, list):
        return "a list"
    if isinstance(raw, dict):
        return "a table"
    return "a date or time" if not isinstance(raw, str) else f'"{raw}"'


def looks_like_answers(text: str) -> bool:
    """Whether a file reads as an answers file ([step1]…), not as a spec ([network])."""
    try:
        data = tomllib.loads(quote_fractions(text))
    except (tomllib.TOMLDecodeError, RecursionError):
        return False
    return not isinstance(data.get("network"), dict) and any(re.fullmatch(r"step\d+", k) for k in data)


def parse_answers(text: str, source: str, sol: Solution) -> AnswerSheet:
    """Answers by key (step1.z1_1); an empty value is left out."""
    text = quote_fractions(text.removeprefix("\ufeff"))
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
    except RecursionError:
        raise AnswersError(source, None, "not valid TOML: nested too deeply") from None
    except ValueError:  # an integer beyond Python's 4300-digit conversion limit
        raise AnswersError(source, None, f"a number is too long; at most {MAX_NUMBER_TEXT} characters") from None
    return sheet_from_tables(data, source, sol, where)


def sheet_from_tables(data: Mapping, source: str, sol: Solution,
                      lines: Mapping[tuple[str, str], int] | None = None) -> AnswerSheet:
    """An answers file's tables, as TOML reads them ({"step1": {"z1_1": "1.5"}, "sheet": …}), as an
    `AnswerSheet`, with the same checks and messages as `parse_answers`; `lines` gives (table, key) ->
    the line it was written on, when the tables were read from a text (the web page's JSON has none).
    Numbers are strings, ints or `Decimal`s (what TOML's `parse_float=Decimal` or JSON's gives)."""
    where: Mapping[tuple[str, str], int] = lines or {}
    if isinstance(data.get("network"), dict) or "training" in data or "data" in data:
        raise AnswersError(source, where.get(("", "network")) or where.get(("", "training")),
                           "this is a problem spec, not an answers file: `worksheet check SPEC ANSWERS` takes "
                           "the spec first and the answers file second")
    expected = network_id(sol)
    if "network" in data and data["network"] != expected:
        made_for = one_line(str(data["network"]))[:200]
        raise AnswersError(source, where.get(("", "network")),
                           f"network: this file was made for '{made_for}', but the spec is '{expected}'; give "
                           "the spec it was made for first (`worksheet check SPEC ANSWERS`), or make a new file "
                           "for this one with `worksheet answers`")
    parts = _parts(data.get("only"), source, where.get(("", "only")))
    if parts is not None and absent_parts(sol, parts):
        raise AnswersError(source, where.get(("", "only")), f"only: this problem has no "
                                                            f"{' or '.join(absent_parts(sol, parts))} to work out")
    by_step: dict[str, dict[str, Quantity]] = {}
    for q in quantities(sol):
        by_step.setdefault(f"step{q.step}", {})[q.name] = q
    answers: dict[str, Answer] = {}
    for table, entries in data.items():
        if table in ("network", "only", "sheet"):
            continue
        if table in by_step and not isinstance(entries, dict):
            raise AnswersError(source, where.get(("", table)),
                               f"{table} must be a table: a line [{table}], then one `name = \"number\"` per line")
        if table not in by_step and not isinstance(entries, dict):
            raise AnswersError(source, where.get(("", table)),
                               f"{one_line(table)[:40]}: not a key of an answers file, which holds `sheet`, "
                               f"`network`, `only` and one table per step ([step1] ...) of `name = \"number\"` "
                               "lines (worksheet answers writes one)")
        if table not in by_step:
            steps = ", ".join(f"[{s}]" for s in by_step)
            raise AnswersError(source, where.get(("", table)),
                               f"[{one_line(table)[:40]}] is not a step of this problem; the steps are {steps}")
        names = by_step[table]
        for name, raw in entries.items():
            line = where.get((table, name))
            if name not in names:
                # a batch's names end in their sample: z1_1 means z1_1_s1 (or another sample's) first
                samples = [n for n in names if n.rpartition("_s")[0] == name]
                near = (samples[:3] if samples else difflib.get_close_matches(name, list(names), n=3, cutoff=0.6))
                hint = f"; did you mean {' or '.join(near)}?" if near else \
                    "; the names are those on the blank sheet's boxes (worksheet answers lists them)"
                raise AnswersError(source, line, f"[{table}] {name} is not a quantity of this problem{hint}")
            if isinstance(raw, str) and not raw.strip():
                continue
            value, decimals, written = parse_number(raw, source, line, f"[{table}] {name}")
            key = f"{table}.{name}"
            answers[key] = Answer(key, written, value, decimals, line or 0)
    sheet = data.get("sheet")
    if sheet is not None and not (isinstance(sheet, str) and re.fullmatch(r"[0-9a-f]{8}", sheet)):
        raise AnswersError(source, where.get(("", "sheet")), f"sheet: {_toml_kind(sheet)[:40]} is not a sheet's "
                                                             "version (8 hex digits, as `worksheet answers` writes)")
    return AnswerSheet(answers, parts, sheet)


def changed_sheet(sheet: AnswerSheet, sol: Solution) -> str | None:
    """Why marking may not be what the student expects: the file was made for another
    version of the sheet (the spec changed since; its numbers may have)."""
    now = fingerprint(sol.spec)
    if sheet.sheet is None or sheet.sheet == now:
        return None
    return (f"sheet: this file was made for sheet {sheet.sheet}, and the spec is now sheet {now}; "
            "if its numbers changed, these answers are marked against the new ones")


def _parts(raw, source: str, line: int | None) -> tuple[str, ...] | None:
    if raw is None:
        return None
    if not isinstance(raw, list) or not all(isinstance(p, str) for p in raw):
        raise AnswersError(source, line, f"only: give a list of parts, as only = [\"updates\"]; the parts are "
                                         f"{', '.join(PARTS)}")
    try:
        return parse_parts(",".join(raw))
    except ValueError as exc:
        raise AnswersError(source, line, f"only: {exc}") from None
