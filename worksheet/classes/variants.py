"""Variants: each student's own numbers for one problem.

Contract: pure (no files, no printing, no clock, no global random state).

- `read_variants(table, base, source)` checks a spec's `[variants]` table
  against its base problem and returns a frozen `Variants`; `parse_spec`
  calls it, so a bad table is a `SpecError` for every command, and
  `parse_variants(text, source)` gives the base `Spec` and its `Variants`.
- `variant(base, variants, student_id, seed)` is a pure function of (the
  base spec, the table, the class seed, the student ID): the same inputs give
  the same numbers on any machine and Python version. The numbers come from
  SHA-256 in counter mode (`DrawStream`), never from `random` or `hash()`.
  The result is a normal `Spec` without the table (its title names the
  student), so solve, render and check take it unchanged.
- `roster_variants(base, variants, ids, seed)` gives every student of a
  roster a variant, no two with the same numbers.
- `to_toml(spec)` writes a `Spec` back as a spec file that `parse_spec`
  reads as an equal `Spec`.

A draw is kept only when its solution meets the constraints (`_verdict`): no
two samples with the same inputs (unless `allow_same_inputs`), no two units of
a hidden layer with the same weights and bias (unless `allow_symmetric`), no
unit that learns nothing in step 1, its δ 0 for every sample or every gradient
of its weights and bias 0 (unless `allow_zero_gradient`), no
ReLU unit with z <= 0 in step 1 (unless `allow_dead`), no value beyond
`max_value` in any step, the loss lower after the first update, as many exact
steps as the base problem, and (when step 1 is exact) no step-1 value with
more than `max_decimals` decimals. Bad input, and constraints that no draw
meets in `MAX_DRAWS`, raise `SpecError` naming the key, the value and what is
allowed.
"""

from __future__ import annotations

import hashlib
import tomllib
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from fractions import Fraction
from functools import lru_cache
from typing import Any

from ..solve import SolveError, Step, solve
from ..spec import (
    MAX_DIGITS,
    MAX_GIVEN,
    MAX_TEXT,
    PIECEWISE_LINEAR,
    UNSAFE_TEXT,
    Spec,
    SpecError,
    _num,
    _Parser,
    _show,
    fingerprint,
    one_line,
    parse_spec,
    quote_fractions,
)
from .roster import id_problem, plural

MAX_DRAWS = 1000  # draws per student before the constraints count as unmeetable
MAX_CHOICES = 10_000  # values one range may hold
GIVEN_DECIMALS = 4  # a value that varies is a decimal with at most this many decimals
DEFAULT_MAX_VALUE = Fraction(100)
# Step-1 values of an exact problem may have this many decimals, or as many as the base
# problem's have if that is more (the built-in problem's have 3; a 3-layer variant with
# weights in quarters and η = 0.01 easily reaches 6).
DEFAULT_MAX_DECIMALS = 6
MAX_DECIMALS = 30
MAX_STUDENT_ID = 64
MAX_SEED = 64
DEFAULT_SEED = "0"

SETTINGS = ("allow_dead", "allow_same_inputs", "allow_symmetric", "allow_zero_gradient", "max_value", "max_decimals",
            "loss_decreases", "seed")
FLAGS = ("allow_dead", "allow_same_inputs", "allow_symmetric", "allow_zero_gradient", "loss_decreases")
# A value of a 30-digit (inexact) step this close to 0 is 0: a δ that vanishes identically comes out of the
# arithmetic as 0 or as a rounding residue far below anything a sheet shows.
ZERO = Fraction(1, 10**20)


@dataclass(frozen=True)
class Choices:
    """The values a varied number may take, and the [variants] key that gives them."""

    key: str
    values: tuple[Fraction, ...]


@dataclass(frozen=True)
class Variants:
    """A spec's [variants] table, checked against its base problem."""

    weights: tuple[Choices | None, ...]  # per layer; None: that layer's W stays as given
    biases: tuple[Choices | None, ...]  # per layer; None: as given (or the layer has no bias)
    x: Choices | None = None
    y: Choices | None = None
    learning_rate: Choices | None = None
    allow_dead: bool = False
    allow_same_inputs: bool = False
    allow_symmetric: bool = False
    allow_zero_gradient: bool = False
    max_value: Fraction = DEFAULT_MAX_VALUE
    max_decimals: int | None = None  # None: DEFAULT_MAX_DECIMALS or the base problem's, the larger
    loss_decreases: bool = True
    seed: str = DEFAULT_SEED
    source: str = field(default="<spec>", compare=False)  # the spec file, for messages

    def slots(self, base: Spec) -> tuple[tuple[tuple, Choices], ...]:
        """Every varied number of `base`, in draw order, with its choices: per layer its W (row by row),
        then its b; then x and y (sample by sample); then the learning rate."""
        out: list[tuple[tuple, Choices]] = []
        for n, (W, b) in enumerate(zip(base.weights, base.biases)):
            if self.weights[n] is not None:
                out += [(("W", n, i, j), self.weights[n]) for i in range(len(W)) for j in range(len(W[0]))]
            if b is not None and self.biases[n] is not None:
                out += [(("b", n, i), self.biases[n]) for i in range(len(b))]
        for name, rows in (("x", base.x), ("y", base.y)):
            choices = getattr(self, name)
            if choices is not None:
                out += [((name, s, i), choices) for s in range(len(rows)) for i in range(len(rows[0]))]
        if self.learning_rate is not None:
            out.append((("learning_rate",), self.learning_rate))
        return tuple(out)

    def count(self, base: Spec) -> int:
        """How many different sets of numbers the table can give (before the constraints)."""
        total = 1
        for _, choices in self.slots(base):
            total *= len(choices.values)
        return total


# -- reading the table ---------------------------------------------------------

def parse_variants(text: str, source: str = "<spec>") -> tuple[Spec, Variants | None]:
    """A spec's base problem and its [variants] table (None without one); SpecError on anything wrong."""
    base = parse_spec(text, source)  # checks the table too, so the second read below cannot fail
    doc = tomllib.loads(quote_fractions(text), parse_float=Decimal)
    if "variants" not in doc:
        return base, None
    return base, read_variants(doc["variants"], base, source)


def value_keys(base: Spec) -> tuple[str, ...]:
    """The [variants] keys that name numbers of `base`."""
    keys = ["weight"]
    if any(b is not None for b in base.biases):
        keys.append("bias")
    for n, b in enumerate(base.biases, start=1):
        keys.append(f"W{n}")
        if b is not None:
            keys.append(f"b{n}")
    return (*keys, "x", "y", "learning_rate")


def read_variants(raw: Any, base: Spec, source: str) -> Variants:
    """The [variants] table `raw` (as tomllib read it, decimals as Decimal) checked against `base`."""
    p = _Parser(source)
    p.table(raw, "variants", (*value_keys(base), *SETTINGS))
    settings: dict[str, Any] = {}
    for key in FLAGS:
        if key in raw:
            if not isinstance(raw[key], bool):
                raise p.fail(f"variants.{key}", f"{_show(raw[key])} is not one of true, false")
            settings[key] = raw[key]
    if "max_value" in raw:
        limit = p.number(raw["max_value"], "variants.max_value")
        if not 0 < limit <= MAX_GIVEN:
            raise p.fail("variants.max_value", f"{_num(limit)} is out of range; allowed is above 0 up to {MAX_GIVEN}")
        settings["max_value"] = limit
    if "max_decimals" in raw:
        settings["max_decimals"] = p.integer(raw["max_decimals"], "variants.max_decimals", 0, MAX_DECIMALS)
    if "seed" in raw:
        settings["seed"] = _seed_text(raw["seed"], "variants.seed", p)
    max_value = settings.get("max_value", DEFAULT_MAX_VALUE)

    def choices(key: str, positive: bool = False, unit: bool = False) -> Choices | None:
        if key not in raw:
            return None
        return _choices(p, raw[key], f"variants.{key}", max_value, positive, unit)

    weight, bias = choices("weight"), choices("bias")
    weights = tuple(choices(f"W{n}") or weight for n in range(1, len(base.layers) + 1))
    biases = tuple((choices(f"b{n}") or bias) if b is not None else None
                   for n, b in enumerate(base.biases, start=1))
    bounded_targets = base.loss in ("bce", "cross_entropy")
    variants = Variants(weights, biases, x=choices("x"), y=choices("y", unit=bounded_targets),
                        learning_rate=choices("learning_rate", positive=True), source=source, **settings)
    if not variants.slots(base):
        raise p.fail("variants", "varies nothing; give at least one of " + ", ".join(value_keys(base))
                     + ", as a range { from = -1, to = 1, step = 0.25 } or a list [0.1, 0.05]")
    return variants


def _choices(p: _Parser, value: Any, where: str, max_value: Fraction, positive: bool, unit: bool) -> Choices:
    key = where.removeprefix("variants.")
    if isinstance(value, list):
        if not value:
            raise p.fail(where, "is an empty list; give the values to choose from, as [0.1, 0.05, 0.01]")
        if len(value) > MAX_CHOICES:
            raise p.fail(where, f"has {len(value)} values; a list holds at most {MAX_CHOICES}")
        values = []
        for i, item in enumerate(value):
            q = _given(p, item, f"{where}[{i}]", max_value, positive, unit)
            if q not in values:
                values.append(q)
        return Choices(key, tuple(values))
    if not isinstance(value, dict):
        raise p.fail(where, f"expected a range {{ from = -1, to = 1, step = 0.25 }} or a list of values "
                            f"[0.1, 0.05], got {_show(value)}")
    p.table(value, where, ("from", "to", "step", "exclude"))
    for part in ("from", "to", "step"):
        if part not in value:
            raise p.fail(f"{where}.{part}", "missing; a range is { from = -1, to = 1, step = 0.25 }")
    step = _given(p, value["step"], f"{where}.step", MAX_GIVEN, True, False)
    low = _given(p, value["from"], f"{where}.from", max_value, positive, unit)
    high = _given(p, value["to"], f"{where}.to", max_value, positive, unit)
    if low > high:
        raise p.fail(where, f"from = {_shown(low)} is above to = {_shown(high)}; a range goes from the "
                            "lower value up to the higher")
    count = (high - low) // step + 1
    if count > MAX_CHOICES:
        raise p.fail(f"{where}.step", f"{_shown(step)} makes {count} values from {_shown(low)} to "
                                      f"{_shown(high)}; a range holds at most {MAX_CHOICES}: take a larger step")
    excluded = set()
    raw_exclude = value.get("exclude", [])
    if not isinstance(raw_exclude, list):
        raise p.fail(f"{where}.exclude", f"expected a list of values to leave out, as [0], got {_show(raw_exclude)}")
    for i, item in enumerate(raw_exclude):
        excluded.add(p.number(item, f"{where}.exclude[{i}]"))
    values = tuple(v for v in (low + k * step for k in range(int(count))) if v not in excluded)
    if not values:
        raise p.fail(f"{where}.exclude", "leaves out every value of the range; leave some to choose from")
    return Choices(key, values)


def _given(p: _Parser, value: Any, where: str, max_value: Fraction, positive: bool, unit: bool) -> Fraction:
    q = p.number(value, where)
    if (q * 10**GIVEN_DECIMALS).denominator != 1:
        raise p.fail(where, f"{_show(value)} is not a short decimal; values that vary are decimals with at most "
                            f"{GIVEN_DECIMALS} decimals (0.25, -1.5, 0.001), so each student's numbers stay short")
    if abs(q) > max_value:
        raise p.fail(where, f"{_show(value)} is beyond ±{_shown(max_value)}, the largest value a variant may hold "
                            "(variants.max_value)")
    if positive and q <= 0:
        raise p.fail(where, f"{_show(value)} must be greater than 0")
    if unit and not 0 <= q <= 1:
        raise p.fail(where, f"{_show(value)} is outside 0 to 1, where this loss's targets lie")
    return q


def _seed_text(value: Any, where: str, p: _Parser) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise p.fail(where, f"expected a string or a whole number, got {_show(value)}")
    _check_id(value, where, MAX_SEED, p.fail, "a class seed")
    return value


def _check_id(value: str, where: str, longest: int, fail, what: str) -> None:
    if not value:
        raise fail(where, f"is empty; give {what} of 1 to {longest} characters")
    if len(value) > longest:
        raise fail(where, f"is {len(value)} characters long; {what} has at most {longest}")
    if UNSAFE_TEXT.search(value):
        raise fail(where, f"{_show(value)} holds a control character; {what} is one line of printable text")
    if value.strip() != value:
        raise fail(where, f"{_show(value)} has spaces around it; {what} is used exactly as given, so leave them out")


# -- drawing -----------------------------------------------------------------

def seed_material(base: Spec, seed: str, student_id: str) -> bytes:
    """The bytes a student's draws come from: f"{fingerprint}\\0{seed}\\0{student_id}" in UTF-8, where
    fingerprint is the base problem's (the 8 hex digits of `worksheet.spec.fingerprint`)."""
    return f"{fingerprint(base)}\0{seed}\0{student_id}".encode()


class DrawStream:
    """Whole numbers from SHA-256 in counter mode, the same on every machine and Python version.

    key = SHA-256(material); block i = SHA-256(key + i as 8 bytes, big-endian), i = 0, 1, 2, ...;
    the stream is the blocks one after another. `below(n)` takes the next 8 bytes as a big-endian
    number u, skips it when u >= 2^64 - (2^64 mod n) (so each result is equally likely) and
    returns u mod n."""

    def __init__(self, material: bytes):
        self._key = hashlib.sha256(material).digest()
        self._counter = 0
        self._buffer = b""

    def _take(self, n: int) -> bytes:
        while len(self._buffer) < n:
            self._buffer += hashlib.sha256(self._key + self._counter.to_bytes(8, "big")).digest()
            self._counter += 1
        out, self._buffer = self._buffer[:n], self._buffer[n:]
        return out

    def below(self, n: int) -> int:
        if n < 1:
            raise ValueError("below(n) needs n >= 1")
        limit = 2**64 - 2**64 % n
        while True:
            u = int.from_bytes(self._take(8), "big")
            if u < limit:
                return u % n


def variant(base: Spec, variants: Variants, student_id: str, seed: str | None = None,
            source: str | None = None) -> Spec:
    """A student's variant: the first draw of their stream that meets the constraints. `seed` None: the
    table's seed (DEFAULT_SEED without one); `source` None: the spec file the table was read from."""
    source = variants.source if source is None else source
    student_id, seed = check_student_id(student_id, source), _seed(variants, seed, source)
    try:
        return next(_accepted(base, variants, seed, student_id))
    except _Exhausted as exc:
        raise _unmet(exc, variants, base, student_id, source) from None


def roster_variants(base: Spec, variants: Variants, student_ids: Iterable[str], seed: str | None = None,
                    source: str | None = None, kept: Mapping[str, Spec] | None = None) -> dict[str, Spec]:
    """Every student's variant, in the roster's order, no two with the same numbers.

    The students are taken in the order of their IDs (sorted by code point, so the roster's own order
    does not matter); each gets their `variant` unless an earlier student already has its numbers, and
    then the next draw of their stream that meets the constraints and is not taken. So a student's
    variant is `variant(...)`'s unless it collided, and depends only on the set of IDs. `kept`: students
    who keep the variant they have (a class directory's), whose numbers nobody else is then given."""
    source = variants.source if source is None else source
    ids = [check_student_id(sid, source) for sid in student_ids]
    seed = _seed(variants, seed, source)
    seen: dict[str, str] = {}  # in lower case -> as given
    for sid in ids:
        if sid in seen.values():
            raise SpecError(source, "roster", f"the student ID {_show(sid)} appears twice; each student once")
        if sid.lower() in seen:  # as the roster: one file on macOS and Windows
            raise SpecError(source, "roster", f"the student IDs {_show(seen[sid.lower()])} and {_show(sid)} differ "
                                              "only in case; give IDs that differ in more than case")
        seen[sid.lower()] = sid
    space = variants.count(base)
    if space < len(ids):
        raise SpecError(source, "variants", f"gives at most {plural(space, 'different set')} of numbers for "
                                            f"{plural(len(ids), 'student')}; vary more values or give them more "
                                            "choices")
    kept = {sid: spec for sid, spec in (kept or {}).items() if sid in ids}
    taken: set[tuple] = {_numbers_key(spec) for spec in kept.values()}
    out: dict[str, Spec] = dict(kept)
    for sid in sorted(set(ids) - kept.keys()):
        draws = _accepted(base, variants, seed, sid)
        try:
            spec = next(draws)
            while _numbers_key(spec) in taken:
                spec = next(draws)
        except _Exhausted as exc:
            if not exc.accepted:
                raise _unmet(exc, variants, base, sid, source) from None
            raise SpecError(source, "variants", f"student {_show(sid)}: {exc.accepted} of {MAX_DRAWS} draws met the "
                                                "constraints, and each gave numbers another student already has; "
                                                "give the values that vary more choices, or relax the constraints"
                            ) from None
        taken.add(_numbers_key(spec))
        out[sid] = spec
    return {sid: out[sid] for sid in ids}


def check_student_id(student_id: Any, source: str = "<spec>") -> str:
    """The ID as given, or SpecError (where "student ID"): the roster's rule (`roster.ID_RULE`, 1 to 64
    ASCII letters, digits, '.', '_' or '-'), so that `worksheet variant` prints a variant for exactly the
    IDs a class can have, and a student's variant is the same from either."""
    fail = lambda where, message: SpecError(source, where, message)  # noqa: E731
    if not isinstance(student_id, str):
        raise fail("student ID", f"expected text, got {_show(student_id)}")
    _check_id(student_id, "student ID", MAX_STUDENT_ID, fail, "a student ID")
    problem = id_problem(student_id)
    if problem:
        raise fail("student ID", problem)
    return student_id


def check_seed(seed: Any, source: str = "<spec>") -> str:
    """A class seed given outside a spec (`--seed`) as it is used, or SpecError (where "seed")."""
    return _seed_text(seed, "seed", _Parser(source))


def _seed(variants: Variants, seed: str | None, source: str) -> str:
    if seed is None:
        return variants.seed
    return check_seed(seed, source)


class _Exhausted(Exception):
    def __init__(self, tally: Counter, accepted: int):
        self.tally, self.accepted = tally, accepted


def _accepted(base: Spec, variants: Variants, seed: str, student_id: str) -> Iterator[Spec]:
    """The student's draws that meet the constraints, in stream order; _Exhausted after MAX_DRAWS draws."""
    stream = DrawStream(seed_material(base, seed, student_id))
    slots = variants.slots(base)
    limits = _limits(base, variants)
    title = _title(base.title, student_id)
    tally: Counter = Counter()
    accepted = 0
    for _ in range(MAX_DRAWS):
        drawn = [(slot, choices.values[stream.below(len(choices.values))]) for slot, choices in slots]
        candidate = _apply(base, drawn, title)
        failed = _verdict(candidate, variants, limits)
        if failed:
            tally[failed] += 1
            continue
        accepted += 1
        yield candidate
    raise _Exhausted(tally, accepted)


def _apply(base: Spec, drawn: list[tuple[tuple, Fraction]], title: str) -> Spec:
    W = [[list(row) for row in layer] for layer in base.weights]
    b = [list(v) if v is not None else None for v in base.biases]
    x, y = [list(r) for r in base.x], [list(r) for r in base.y]
    lr = base.learning_rate
    for slot, value in drawn:
        kind = slot[0]
        if kind == "W":
            W[slot[1]][slot[2]][slot[3]] = value
        elif kind == "b":
            b[slot[1]][slot[2]] = value
        elif kind == "x":
            x[slot[1]][slot[2]] = value
        elif kind == "y":
            y[slot[1]][slot[2]] = value
        else:
            lr = value
    return replace(
        base, title=title,
        weights=tuple(tuple(tuple(row) for row in layer) for layer in W),
        biases=tuple(tuple(v) if v is not None else None for v in b),
        x=tuple(tuple(r) for r in x), y=tuple(tuple(r) for r in y), learning_rate=lr,
    )


def _title(title: str, student_id: str) -> str:
    suffix = f" (student {student_id})"
    if len(title) + len(suffix) > MAX_TEXT:
        title = title[: MAX_TEXT - len(suffix) - 1].rstrip() + "…"
    return title + suffix


def _numbers_key(spec: Spec) -> tuple:
    return spec.weights, spec.biases, spec.x, spec.y, spec.learning_rate


# -- the constraints ---------------------------------------------------------

@dataclass(frozen=True)
class _Limits:
    exact_steps: int  # a variant keeps at least this many exact steps (the base problem's)
    max_decimals: int  # of a step-1 value, when step 1 is exact
    # checks the base problem itself fails in numbers the table leaves as they are ("same_inputs",
    # "symmetric", "silenced", "learns_nothing"): not imposed, since no draw could meet them and the
    # instructor wrote those numbers (the learning rate alone varied on a problem with two equal units)
    waived: frozenset[str] = frozenset()


@lru_cache(maxsize=64)
def _limits(base: Spec, variants: Variants) -> _Limits:
    waived: set[str] = set()
    try:
        sol = solve(base)
    except SolveError:  # the base problem itself runs away: hold the variants to the defaults
        exact_steps, base_decimals = 0, 0
    else:
        exact_steps = sol.exact_steps
        base_decimals = max(map(decimals, _step_numbers(base, sol.steps[0]))) if exact_steps else 0
        if _learns_nothing(base, sol.steps[0]):
            waived.add("learns_nothing")
    slots = [slot for slot, _ in variants.slots(base)]
    hidden = len(base.layers) - 1
    if len(set(base.x)) < len(base.x) and not any(s[0] == "x" for s in slots):
        waived.add("same_inputs")
    if _symmetric_units(base) and not any(s[0] in ("W", "b") and s[1] < hidden for s in slots):
        waived.add("symmetric")
    if _silenced_unit(base) and not any(s[0] == "W" and s[1] > 0 for s in slots):
        waived.add("silenced")
    chosen = variants.max_decimals
    return _Limits(exact_steps, chosen if chosen is not None else max(DEFAULT_MAX_DECIMALS, base_decimals),
                   frozenset(waived))


CONSTRAINTS = {  # what a draw that fails each did, and how to relax it
    "same_inputs": ("had two samples with the same inputs", "allow_same_inputs = true allows it"),
    "symmetric": ("had two units of a hidden layer with the same weights and bias",
                  "allow_symmetric = true allows it"),
    "zero_gradient": ("had a unit that learns nothing in step 1 (its δ 0 for every sample, or every gradient of "
                      "its weights and bias 0)", "allow_zero_gradient = true allows it"),
    "diverges": ("ran beyond what a worksheet holds", "narrow the ranges or lower the learning rate"),
    "dead": ("had a ReLU unit with z <= 0 in step 1", "allow_dead = true allows it"),
    "inexact": ("lost the base problem's exact fractions", "give values with fewer decimals or fewer steps"),
    "large": ("had a value beyond ±{max_value} in some step", "raise max_value or narrow the ranges"),
    "decimals": ("had a step-1 value with more than {max_decimals} decimals",
                 "raise max_decimals or give values with fewer decimals"),
    "loss": ("did not lower the loss in the first update",
             "loss_decreases = false allows it, or lower the learning rate"),
}


def _verdict(spec: Spec, variants: Variants, limits: _Limits) -> str | None:
    """The first constraint a candidate fails (a key of CONSTRAINTS), or None when it meets them all."""
    # the shape checks first: a few comparisons of the drawn numbers, before any solve
    waived = limits.waived
    if not variants.allow_same_inputs and "same_inputs" not in waived and len(set(spec.x)) < len(spec.x):
        return "same_inputs"
    if not variants.allow_symmetric and "symmetric" not in waived and _symmetric_units(spec):
        return "symmetric"
    if not variants.allow_zero_gradient and "silenced" not in waived and _silenced_unit(spec):
        return "zero_gradient"
    if not variants.allow_dead and _dead_before_solving(spec):
        return "dead"  # most rejected draws: found in a few exact products instead of a whole solve
    run = replace(spec, steps=2) if variants.loss_decreases and spec.steps == 1 else spec
    try:
        sol = solve(run)
    except SolveError:
        return "diverges"
    steps = sol.steps[: spec.steps]
    first = steps[0]
    dead = any(z <= 0 for sample in first.z for layer, zs in zip(spec.layers, sample)
               if layer.activation == "relu" for z in zs)
    if dead and not variants.allow_dead:
        return "dead"
    # with allow_dead a dead unit learns nothing, and so may every unit it alone feeds: allowed with it
    if not variants.allow_zero_gradient and not dead and "learns_nothing" not in waived and \
            _learns_nothing(spec, first):
        return "zero_gradient"
    if min(sol.exact_steps, spec.steps) < limits.exact_steps:
        return "inexact"
    if any(abs(v) > variants.max_value for step in steps for v in _step_numbers(spec, step)):
        return "large"
    if limits.exact_steps and max(map(decimals, _step_numbers(spec, first))) > limits.max_decimals:
        return "decimals"
    if variants.loss_decreases and not sol.steps[1].loss < first.loss:
        return "loss"
    return None


def _symmetric_units(spec: Spec) -> bool:
    """Two units of a hidden layer with the same incoming weights and bias: they compute the same z and a
    for every sample, so half of that layer's forward pass is a copy of the other half."""
    for W, b in zip(spec.weights[:-1], spec.biases[:-1]):
        rows = [(row, b[i] if b is not None else None) for i, row in enumerate(W)]
        if len(set(rows)) < len(rows):
            return True
    return False


def _silenced_unit(spec: Spec) -> bool:
    """A hidden unit whose δ is 0 whatever the numbers: its weights into the next layer all 0, or all equal
    into a softmax layer (softmax ignores a shift of all its inputs, so the unit cannot change the output)."""
    for n, W_next in enumerate(spec.weights[1:], start=1):
        softmax = spec.layers[n].activation == "softmax" and len(W_next) > 1
        for j in range(len(W_next[0])):
            column = {row[j] for row in W_next}
            if column == {0} or (softmax and len(column) == 1):
                return True
    return False


def _learns_nothing(spec: Spec, step: Step) -> bool:
    """A unit that learns nothing in step 1: its δ is 0 for every sample, or every gradient of its weights
    and bias that the step computes is 0 (the samples' contributions cancel)."""
    for n in range(len(spec.layers)):
        W, b = step.grads.get(f"W{n + 1}"), step.grads.get(f"b{n + 1}")
        for i in range(spec.layers[n].units):
            if all(abs(sample[n][i]) <= ZERO for sample in step.deltas):
                return True
            grads = [*(W[i] if W is not None else ()), *((b[i],) if b is not None else ())]
            if grads and all(abs(g) <= ZERO for g in grads):
                return True
    return False


def _dead_before_solving(spec: Spec) -> bool:
    """A ReLU unit with z <= 0 in step 1, found by a forward pass in exact fractions through the layers up
    to the first that is not piecewise linear (a later one is checked on the solution)."""
    for xs in spec.x:
        a = list(xs)
        for layer, W, b in zip(spec.layers, spec.weights, spec.biases):
            if layer.activation not in PIECEWISE_LINEAR:
                break
            z = [sum((w * v for w, v in zip(row, a)), Fraction(0)) + (b[i] if b is not None else 0)
                 for i, row in enumerate(W)]
            if layer.activation == "relu" and any(zi <= 0 for zi in z):
                return True
            a = [layer.slope * zi if zi <= 0 and layer.activation == "leaky_relu" else zi for zi in z]
    return False


def _step_numbers(spec: Spec, step: Step) -> list[Fraction]:
    """Every number a step shows: the parameters, every computed quantity, η·v and the new parameters."""
    out = list(step.values.values())
    for group in (step.params, step.velocity, step.updated):
        for value in group.values():
            out += _flat(value)
    out += [spec.learning_rate * v for value in step.velocity.values() for v in _flat(value)]
    return out


def _flat(value) -> list:
    if isinstance(value, tuple):
        return [x for item in value for x in _flat(item)]
    return [value]


def decimals(q: Fraction) -> int:
    """How many decimals q has, leaving out the factors of its denominator other than 2 and 5: those come
    from the problem's shape (a mean over 3 samples), the same for every variant. 1.25 has 2, 7/3 has 0,
    7/30 has 1."""
    d, twos, fives = q.denominator, 0, 0
    while d % 2 == 0:
        d, twos = d // 2, twos + 1
    while d % 5 == 0:
        d, fives = d // 5, fives + 1
    return max(twos, fives)


def _unmet(exc: _Exhausted, variants: Variants, base: Spec, student_id: str, source: str) -> SpecError:
    limits = _limits(base, variants)
    parts = []
    for name, count in exc.tally.most_common():
        did, relax = CONSTRAINTS[name]
        did = did.format(max_value=_shown(variants.max_value), max_decimals=limits.max_decimals)
        parts.append(f"{count} {did} ({relax})")
    return SpecError(source, "variants", f"no variant of this problem met the constraints in {MAX_DRAWS} draws "
                                         f"(student {_show(student_id)}): " + "; ".join(parts)
                     + "; relax the constraints or change the ranges")


# -- writing a spec back -----------------------------------------------------

def to_toml(spec: Spec, header: str = "") -> str:
    """`spec` as a spec file: `parse_spec(to_toml(spec)) == spec`. `header` becomes comment lines on top."""
    lines = [f"# {one_line(line)}".rstrip() for line in header.splitlines()]
    lines.append(f"title = {_string(spec.title)}")
    for key in ("course", "instructor", "due", "instructions"):
        if getattr(spec, key):
            lines.append(f"{key} = {_string(getattr(spec, key))}")
    lines += ["", "[network]", f"inputs = {spec.inputs}", "layers = ["]
    for layer in spec.layers:
        parts = [f"units = {layer.units}", f'activation = "{layer.activation}"']
        if not layer.bias:
            parts.append("bias = false")
        if layer.activation == "leaky_relu":
            parts.append(f"slope = {_number(layer.slope)}")
        lines.append("  { " + ", ".join(parts) + " },")
    lines.append("]")
    for W, b in zip(spec.weights, spec.biases):
        lines += ["", "[[init.layers]]", f"W = {_list(W)}"]
        if b is not None:
            lines.append(f"b = {_list(b)}")
    data = (spec.x, spec.y) if spec.batched else (spec.x[0], spec.y[0])
    lines += ["", "[data]", f"x = {_list(data[0])}", f"y = {_list(data[1])}"]
    lines += ["", "[training]", f'loss = "{spec.loss}"', f'reduction = "{spec.reduction}"',
              f"learning_rate = {_number(spec.learning_rate)}"]
    if spec.momentum:
        lines.append(f"momentum = {_number(spec.momentum)}")
    lines.append(f"steps = {spec.steps}")
    if spec.frozen:
        lines.append("frozen = [" + ", ".join(f'"{g}"' for g in spec.group_names if g in spec.frozen) + "]")
    if spec.points:
        lines += ["", "[marking]",
                  "points = { " + ", ".join(f"{name} = {_number(p)}" for name, p in spec.points) + " }"]
    return "\n".join(lines) + "\n"


def _list(value) -> str:
    if isinstance(value, tuple):
        return "[" + ", ".join(_list(v) for v in value) + "]"
    return _number(value)


def _number(q: Fraction) -> str:
    """A spec's number as the spec reads it back exactly: a decimal when it has one of at most MAX_DIGITS
    significant digits, else a fraction in quotes."""
    text = _decimal(q)
    if text is not None and len(text.lstrip("-").replace(".", "").strip("0")) <= MAX_DIGITS:
        return text
    return f'"{q.numerator}/{q.denominator}"'


def _shown(q: Fraction) -> str:
    """q as a message shows it: its decimal expansion, or its fraction."""
    return _decimal(q) or _num(q)


def _decimal(q: Fraction) -> str | None:
    """q's exact decimal expansion (1.25, -0.001, 3), or None when it has none."""
    d = q.denominator
    while d % 2 == 0:
        d //= 2
    while d % 5 == 0:
        d //= 5
    if d != 1:
        return None
    places = decimals(q)
    digits = str(abs(q.numerator) * 10**places // q.denominator).rjust(places + 1, "0")
    text = digits if not places else f"{digits[:-places]}.{digits[-places:]}"
    return ("-" if q < 0 else "") + text


def _string(text: str) -> str:
    out = ['"']
    for ch in text:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif UNSAFE_TEXT.match(ch) or not ch.isprintable():
            out.append(f"\\u{ord(ch):04X}" if ord(ch) <= 0xFFFF else f"\\U{ord(ch):08X}")
        else:
            out.append(ch)
    return "".join(out) + '"'

