"""Answers stage: the file a student types their numbers into, both ways.

Contract: pure. `answers_template(sol, parts)` writes a TOML file listing
every quantity of every step (`quantities`) of the parts asked for (`PARTS`;
all by default, and the file says which in `only`), in the worksheet's
order, keyed by the blank sheet's labels under one table per step, values
empty and a comment naming each in words. `parse_answers(text, source, sol)`
reads one back as an `AnswerSheet`: decimals (1.5, "-0.5") keep the number
of decimals written, since that is the precision the checker holds them to;
fractions ("7/2", quoted or not) are exact; an empty value is a missing
answer; e-notation ("1.5e-3", as TOML and JSON already read an unquoted
1.5e-3) is the decimal it stands for (0.0015, 4 decimals). `sheet_from_tables(data,
source, sol)` does the same from the tables already read (the web page's JSON),
with the same checks and messages. Anything wrong raises `AnswersError` naming
the file, the line, the key (as written, quoted when it is not a plain name),
the bad value and what is allowed; its `key` is the box at fault as the input
named it (`step1.z1_1`), or None. A number that cannot be read is a
`NumberError`, whose `problem` says why without the box's name (the web page
shows it beside the box); `sheet_from_tables(..., unreadable={})` collects
those of typed text there instead of raising. `empty` says how to leave a box
without an answer where the answers came from (`IN_A_FILE`: "", `IN_A_BOX`).
"""

from __future__ import annotations

import difflib
import re
import tomllib
import unicodedata
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction

from .quantities import Quantity, quantities
from .solve import Solution
from .spec import MAX_NUMBER_TEXT, PARTS, fingerprint, one_line, quote_fractions


class AnswersError(ValueError):
    def __init__(self, source: str, line: int | None, message: str, key: str | None = None):
        self.source, self.line, self.message = source, line, message
        self.key = key  # the one box at fault, as the input named it (step1.z1_1), or None
        super().__init__(f"{source}:{line}: {message}" if line else f"{source}: {message}")


class NumberError(AnswersError):
    """A box's text that is not a number a hand calculation writes; `problem` says why, without the
    box's name (the web page shows it beside the box itself)."""

    def __init__(self, source: str, line: int | None, name: str, problem: str, key: str | None = None):
        super().__init__(source, line, f"{name}: {problem}", key)
        self.name, self.problem = name, problem


# How to leave a box without an answer, in the words of where the answer was typed: an answers
# file's value is between quotes; a web page's box or a PDF's field has none.
IN_A_FILE = 'leave "" for no answer'
IN_A_BOX = "leave the box empty"


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
        f"sheet = {_quoted(fingerprint(sol.spec))}  # the sheet's version: check refuses the file for another sheet",
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
_E_NOTATION = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)[eE][+-]?\d{1,6}$")
_FRACTION = re.compile(r"^[+-]?\d+\s*/\s*\d+$")
_COMMA_DECIMAL = re.compile(r"^([+-]?\d*),(\d+)$")  # 6,125: a decimal comma, as much of Europe writes it
_MIXED = re.compile(r"^([+-]?)(\d*)\s*(\S)$")  # ½, 1½, -1 ½


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


def parse_number(raw, source: str, line: int | None, key: str,
                 empty: str = IN_A_FILE) -> tuple[Fraction, int | None, str]:
    """A written number: (value, decimals written or None for a fraction, its text). `key` names the box
    in messages; `empty` says how to leave it without an answer where it was typed."""
    def fail(problem: str) -> NumberError:
        return NumberError(source, line, key, problem)

    if isinstance(raw, str) and _E_NOTATION.match(raw.strip().replace("−", "-")):
        raw = Decimal(raw.strip().replace("−", "-"))  # 6.125e0 as TOML reads it unquoted: the decimal 6.125
    if isinstance(raw, Decimal):  # an unquoted decimal: its digits as written, never a billion zeros
        if not raw.is_finite() or abs(raw.adjusted()) > MAX_NUMBER_TEXT:
            raise fail(f"{raw} is not a number a hand calculation writes; write a decimal of at most "
                       f"{MAX_NUMBER_TEXT} characters or a fraction")
        text = format(raw, "f")
    else:
        text = str(raw).strip().replace("−", "-") if isinstance(raw, str | int) else ""
    if len(text) > MAX_NUMBER_TEXT:
        raise fail(f"{one_line(text[:20])}… ({len(text)} characters) is too long for a written number; at most "
                   f"{MAX_NUMBER_TEXT} characters")
    if isinstance(raw, bool) or not (_DECIMAL.match(text) or _FRACTION.match(text)):
        shown = f'"{one_line(raw)}"' if isinstance(raw, str) else _toml_kind(raw)
        advice = number_advice(text) if isinstance(raw, str) else None
        if advice:
            raise fail(f"{shown} is not a number here: {advice[0]}")
        # the examples are joined by "or", never by commas: a student who writes 6,125 reads a comma as a decimal
        raise fail(f"{shown} is not a number; write a decimal with a point, as 0.25 or -1.125, or a fraction, "
                   f"as 2/3; or {empty}")
    if "/" in text:
        num, den = (int(part) for part in text.split("/"))
        if den == 0:
            raise fail(f"{text} divides by zero, so it is not a number; write the fraction you meant")
        return Fraction(num, den), None, text
    d = Decimal(text)  # the pattern above admits only valid decimals
    return Fraction(d), max(0, -d.as_tuple().exponent), text


def number_advice(text: str) -> tuple[str, str, str] | None:
    """For a common way of writing a number that is not one here (6,125; ½; 1½): what to write instead,
    in words, as it would be typed, and why (("write a decimal with a point, 6.125, not a comma", "6.125",
    "a decimal with a point, not a comma")); None for anything else."""
    if m := _COMMA_DECIMAL.match(text):
        sign = "-" if m[1].startswith("-") else ""
        fixed = f"{sign}{m[1].lstrip('+-') or '0'}.{m[2]}"
        return f"write a decimal with a point, {fixed}, not a comma", fixed, "a decimal with a point, not a comma"
    if (m := _MIXED.match(text)) and unicodedata.name(m[3], "").startswith("VULGAR FRACTION"):
        value = (int(m[2] or 0) + Fraction(unicodedata.numeric(m[3])).limit_denominator(10)) * \
            (-1 if m[1] == "-" else 1)
        fixed = f"{value.numerator}/{value.denominator}"
        as_decimal = Decimal(value.numerator) / Decimal(value.denominator)
        exact = Fraction(as_decimal) == value and -as_decimal.as_tuple().exponent <= 4
        return (f"write it as a fraction, {fixed}" + (f", or as a decimal, {as_decimal}" if exact else ""), fixed,
                f"{text} as a fraction")
    return None


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
        n = int(line[1]) if line else None
        message = str(exc)
        lines = text.splitlines()
        bad_line = lines[n - 1] if n and n <= len(lines) else ""
        if "overwrite" in message or "Cannot declare" in message:
            if m := _TABLE.match(bad_line):
                raise AnswersError(source, n, f"[{m[1]}] is given twice; keep one, with all of its numbers "
                                              "under it") from None
            m = _KEY.match(bad_line)
            name = m[1] if m else "a key"
            # the step too: a1_1 is in every step, and every other message names it
            table = _table_at(lines, n) if n else ""
            raise AnswersError(source, n, f"{name} is given twice{f' in [{table}]' if table else ''}; "
                                          "keep one") from None
        raise AnswersError(source, n, f"not valid TOML: {re.sub(r' [(]at line.*', '', message)}"
                                      f"{_unquoted_hint(bad_line)}") from None
    except RecursionError:
        raise AnswersError(source, None, "not valid TOML: nested too deeply") from None
    except ValueError:  # an integer beyond Python's 4300-digit conversion limit
        raise AnswersError(source, None, f"a number is too long; at most {MAX_NUMBER_TEXT} characters") from None
    return sheet_from_tables(data, source, sol, where)


def _table_at(lines: list[str], n: int) -> str:
    """The table ([step1]) line `n` (from 1) is in, or "" above the first."""
    for line in reversed(lines[:n - 1]):
        if m := _TABLE.match(line):
            return m[1]
    return ""


_UNQUOTED = re.compile(r"""^\s*([A-Za-z0-9_\-]+)\s*=\s*([^"'\s#][^#]*?)\s*(#.*)?$""")


def _unquoted_hint(line: str) -> str:
    """For a line TOML cannot read, `L = 6,125` or `L = ½`: what to write instead."""
    m = _UNQUOTED.match(line)
    if not m:
        return ""
    name, value = m[1], m[2]
    if advice := number_advice(value):
        return f'; write {name} = "{advice[1]}": {advice[2]}'
    if not (_DECIMAL.match(value) or _FRACTION.match(value) or _E_NOTATION.match(value)):
        return f'; write each number between quotes, as {name} = "0.25"'
    return ""


# what would not show in a message, or would drive a terminal: control characters, format marks, line separators
_UNSEEN = re.compile("[\x00-\x1f\x7f-\x9f\u00ad\u200b-\u200f\u2028\u2029\u202a-\u202e\u2060-\u206f\ufeff]")


def _name(key: str) -> str:
    """A key as the input spelled it: bare when it is a plain name (step1, z1_1), else between quotes, so
    that a space at its end shows, with what cannot be seen written as its escape (\\x1b, \\u202e), as
    the command line writes an unsafe character of any message."""
    if re.fullmatch(r"[A-Za-z0-9_\-]{1,40}", key):
        return key
    text = key[:40].replace("\\", "\\\\").replace('"', '\\"')
    text = _UNSEEN.sub(lambda m: m[0].encode("unicode_escape").decode("ascii"), text)
    return f'"{text}{"…" if len(key) > 40 else ""}"'


def sheet_from_tables(data: Mapping, source: str, sol: Solution,
                      lines: Mapping[tuple[str, str], int] | None = None, *, empty: str = IN_A_FILE,
                      unreadable: dict[str, str] | None = None) -> AnswerSheet:
    """An answers file's tables, as TOML reads them ({"step1": {"z1_1": "1.5"}, "sheet": …}), as an
    `AnswerSheet`, with the same checks and messages as `parse_answers`; `lines` gives (table, key) ->
    the line it was written on, when the tables were read from a text (the web page's JSON has none).
    Numbers are strings, ints or `Decimal`s (what TOML's `parse_float=Decimal` or JSON's gives).
    `empty`: how to leave a box without an answer, in the words of where it was typed. With
    `unreadable` (a dict), typed text that is not a number is left out of the sheet and put there
    (key -> why, `NumberError.problem`) instead of refusing the whole sheet for one box."""
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
        # names are shown as they were sent: "step1 " quoted, so its space shows (bare, it reads as step1)
        shown = _name(table)
        if table in by_step and not isinstance(entries, dict):
            raise AnswersError(source, where.get(("", table)),
                               f"{table} must be a table: a line [{table}], then one `name = \"number\"` per line")
        if table not in by_step and not isinstance(entries, dict):
            raise AnswersError(source, where.get(("", table)),
                               f"{shown}: not a key of an answers file, which holds `sheet`, "
                               f"`network`, `only` and one table per step ([step1] ...) of `name = \"number\"` "
                               "lines (worksheet answers writes one)")
        if table not in by_step:
            steps = ", ".join(f"[{s}]" for s in by_step)
            # "step1 " or "Step 1" is step1; step3 is no slip of step2's, so only spelling is forgiven
            meant = re.sub(r"\s+", "", table).lower()
            hint = f"; did you mean [{meant}]?" if meant in by_step else ""
            raise AnswersError(source, where.get(("", table)),
                               f"[{shown}] is not a step of this problem; the steps are {steps}{hint}")
        names = by_step[table]
        for name, raw in entries.items():
            line = where.get((table, name))
            key = f"{table}.{name}"  # as sent: the box the page flags, never one it merely resembles
            if name not in names:
                # a batch's names end in their sample: z1_1 means z1_1_s1 (or another sample's) first
                samples = [n for n in names if n.rpartition("_s")[0] == name.strip()]
                near = (samples[:3] if samples else
                        difflib.get_close_matches(name.strip(), list(names), n=3, cutoff=0.6))
                hint = f"; did you mean {' or '.join(near)}?" if near else \
                    "; the names are those on the blank sheet's boxes (worksheet answers lists them)"
                raise AnswersError(source, line, f"[{table}] {_name(name)} is not a quantity of this problem{hint}",
                                   key)
            if isinstance(raw, str) and not raw.strip():
                continue
            try:
                value, decimals, written = parse_number(raw, source, line, f"[{table}] {name}", empty)
            except NumberError as exc:
                if unreadable is not None and isinstance(raw, str):
                    unreadable[key] = exc.problem  # typed by a student: this box's problem, not the sheet's
                    continue
                exc.key = key
                raise
            answers[key] = Answer(key, written, value, decimals, line or 0)
    sheet = data.get("sheet")
    if sheet is not None and not (isinstance(sheet, str) and re.fullmatch(r"[0-9a-f]{8}", sheet)):
        raise AnswersError(source, where.get(("", "sheet")), f"sheet: {_toml_kind(sheet)[:40]} is not a sheet's "
                                                             "version (8 hex digits, as `worksheet answers` writes)")
    return AnswerSheet(answers, parts, sheet)


def changed_sheet(sheet: AnswerSheet, sol: Solution, spec_name: str) -> str | None:
    """Why the file is not marked against this spec (`spec_name`, for the message): it was made for another
    sheet; None when it was made for this one or does not say. As a filled PDF of another sheet is refused:
    marked against this key, another student's variant scored 8 of 10 with 29 answers "carried forward"."""
    now = fingerprint(sol.spec)
    if sheet.sheet is None or sheet.sheet == now:
        return None
    return (f"this file was made for sheet {sheet.sheet}, and {spec_name} is sheet {now}: another problem, "
            "another student's variant, or an earlier version of this one. Check it against the spec it was made "
            "for; if this spec changed only in its wording, delete the file's `sheet = ` line and check again")


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
