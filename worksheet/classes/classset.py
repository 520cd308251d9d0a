"""Class-set stage: a spec and a roster in, every student's problem and files out.

Contract: pure (text in, values and bytes out; no files, no printing, no clock).

- `plan(text, source, students, seed)` gives each student of a roster (in its
  order) their problem: their variant by `roster_variants` when the spec has a
  `[variants]` table, else the base problem for everyone (`ClassPlan.varied`
  says which). Each `Member` carries the variant file's text (`to_toml`, with
  the same header `worksheet variant` prints, so the file is byte for byte what
  that command prints unless two students' draws collided) and its `Entry`
  (the row of class.csv).
- `render_member(job)` is the worker: a `Job` (a student and their variant's
  text) in, the student's files out as {path relative to the class directory:
  bytes}: the key's PDF, the blank sheet's PDF (fillable, the student's name and
  ID in its header), and with `html` both HTML pages. It parses the variant text
  itself, so a key is always the key of the file written beside it.

A class directory remembers what drew it: `Drawn` (the base problem's fingerprint,
the class seed, the [variants] table's fingerprint), kept in `DIR/class.toml`
(`drawn_toml`, `parse_drawn`); a directory made before that file says the seed and
problem in each variant file's header (`header_drawn`). Given what the directory
holds (`Existing`), `plan` keeps each student's numbers: drawn as before (same
problem, seed and table), a student already there keeps the variant of their file
and a student new to the roster draws the first numbers nobody has (so adding or
removing a student never moves another's numbers); drawn otherwise, every student
is drawn again, and `ClassPlan.changed` names those whose variant that changes,
for the command to refuse (`change_message`) unless it is forced.

The directory's layout is `roster.Layout`'s; writing, the process pool and the
progress bar are the command's (`classes/run.py`).
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING

from ..spec import Spec, SpecError, fingerprint, parse_spec
from .roster import Entry, Layout, Student, plural

if TYPE_CHECKING:  # imported where used: the variants module is only needed once a class is drawn
    from .variants import Variants

ITERATIONS = 10  # the key's PyTorch check and loss plot, as `worksheet render` draws them


@dataclass(frozen=True)
class Member:
    student: Student
    spec: Spec
    text: str  # the variant file: a complete spec
    entry: Entry


@dataclass(frozen=True)
class Drawn:
    """What drew a class's variants; a class directory keeps it in class.toml."""

    problem: str  # the base problem's fingerprint (the spec without its [variants] table)
    seed: str | None = None  # the class seed; None: no [variants] table, every student has the base problem
    table: str | None = None  # the table's fingerprint (`table_fingerprint`); None: no table, or not recorded
    spec: str = field(default="", compare=False)  # the spec file as it was named, for messages


@dataclass(frozen=True)
class Existing:
    """What a class directory already holds, per student of the roster: their variant file's text, and the
    fingerprint class.csv gives them; and how the directory was drawn (class.toml), if it says."""

    drawn: Drawn | None = None
    texts: Mapping[str, str] = field(default_factory=dict)
    fingerprints: Mapping[str, str] = field(default_factory=dict)
    source: str = ""  # the class directory, for messages

    @property
    def recorded(self) -> Drawn | None:
        """What drew the directory: class.toml's record, else what its variant files' headers say."""
        return self.drawn or header_drawn(self.texts.values())


@dataclass(frozen=True)
class ClassPlan:
    members: tuple[Member, ...]
    varied: bool  # False: the spec has no [variants] table, every student has the base problem
    drawn: Drawn | None = None  # what drew them (class.toml's content)
    changed: tuple[str, ...] = ()  # students already in the directory whose variant this plan changes
    before: Drawn | None = None  # what drew the directory's variants, when it says (class.toml, or their headers)
    table_seed: str | None = None  # the seed the [variants] table gives (its `seed`, else "0"); None: no table


@dataclass(frozen=True)
class Job:
    """What a worker needs for one student: picklable and small."""

    student_id: str
    name: str
    text: str  # the variant file's text
    source: str  # for messages: the variant file's path
    html: bool = False
    paper: str = "a4"


def variant_header(student_id: str, source: str, base: Spec, seed: str) -> str:
    """The comment `worksheet variant` puts on top of a variant (cli.variant_command)."""
    return (f"Student {student_id}'s variant of {source} (problem {fingerprint(base)}), class seed {seed}.\n"
            f"Drawn from SHA-256 of {fingerprint(base)}, {seed} and {student_id} joined by NUL bytes "
            "(docs/class.md).\n"
            "A complete spec without the [variants] table: render, answers and check take it as it is.")


def variant_file(text: str, source: str, student_id: str, seed: str | None = None,
                 asker: str = "`worksheet variant`") -> str:
    """What `worksheet variant` prints: the student's variant of the spec `text` as a complete spec, with
    its header. SpecError on a bad spec, a bad ID or seed, and when the spec has no [variants] table
    (`asker` is who says it needs one)."""
    from .variants import parse_variants, to_toml, variant

    base, variants = parse_variants(text, source)
    if variants is None:
        raise SpecError(source, "variants", f"missing; {asker} needs a [variants] table saying what varies, as "
                                            "weight = { from = -1, to = 1, step = 0.25 } (docs/class.md)")
    spec = variant(base, variants, student_id, seed, source)
    used = seed if seed is not None else variants.seed
    return to_toml(spec, variant_header(student_id, source, base, used))


def base_header(source: str, base: Spec) -> str:
    return (f"The problem of {source} (problem {fingerprint(base)}): it has no [variants] table, so every "
            "student of the class has these numbers.\n"
            "A complete spec: render, answers and check take it as it is.")


def entry(student: Student, spec: Spec) -> Entry:
    layout = Layout(student.id)
    return Entry(student.id, student.name, fingerprint(spec), layout.variant, layout.key, layout.sheet)


def plan(text: str, source: str, students: Sequence[Student], seed: str | None = None,
         existing: Existing | None = None) -> ClassPlan:
    """Every student's problem, in the roster's order; SpecError on a bad spec or table. With `existing`
    (what the class directory holds), drawn as it was, the students already there keep their numbers;
    drawn otherwise, everyone is drawn again, and `changed` names who would get other numbers than their
    file has (for the command to refuse, unless forced)."""
    from .variants import parse_variants, roster_variants, to_toml

    existing = existing or Existing()
    base, variants = parse_variants(text, source)
    before = existing.recorded
    if variants is None:
        shared = to_toml(base, base_header(source, base))
        members = tuple(Member(s, base, shared, entry(s, base)) for s in students)
        drawn = Drawn(fingerprint(base), spec=source)
        return ClassPlan(members, False, drawn, _changed(members, existing), before)
    used = seed if seed is not None else variants.seed
    drawn = Drawn(fingerprint(base), used, table_fingerprint(variants), source)
    ids = [s.id for s in students]
    kept: dict[str, Spec] = {}
    if same_draw(before, drawn):  # drawn as before: who has a variant keeps it (--force too: it re-renders)
        for sid in ids:
            spec = _variant_of(existing.texts.get(sid), header=(drawn.problem, used))
            if spec is not None:
                kept[sid] = spec
    specs = roster_variants(base, variants, ids, used, source, kept=kept)
    members = tuple(Member(s, specs[s.id], to_toml(specs[s.id], variant_header(s.id, source, base, used)),
                           entry(s, specs[s.id])) for s in students)
    return ClassPlan(members, True, drawn, _changed(members, existing), before, variants.seed)


def same_draw(before: Drawn | None, now: Drawn) -> bool:
    """Whether variants drawn by `before` are what `now` draws: the same problem and seed, and the same table
    where `before` records it (a directory from before class.toml does not: its files are trusted, so that
    it keeps its numbers)."""
    return (before is not None and (before.problem, before.seed) == (now.problem, now.seed)
            and (before.table is None or before.table == now.table))


def _variant_of(text: str | None, header: tuple[str, str | None] | None = None) -> Spec | None:
    """The variant a file holds, or None when it cannot be read (or, with `header`, was drawn otherwise)."""
    if text is None or (header is not None and _header(text) != header):
        return None
    try:
        return parse_spec(text, "<variant>")
    except SpecError:
        return None


def _changed(members: Sequence[Member], existing: Existing) -> tuple[str, ...]:
    """The students whose variant file (else class.csv's row) holds other numbers than the plan gives them."""
    out = []
    for m in members:
        sid = m.student.id
        spec = _variant_of(existing.texts.get(sid))
        had = fingerprint(spec) if spec is not None else existing.fingerprints.get(sid)
        if had is not None and had != m.entry.fingerprint:
            out.append(sid)
    return tuple(out)


def table_fingerprint(variants: Variants) -> str:
    """8 hex digits naming a [variants] table (what varies, over which values, the constraints), not its seed."""
    described = [(f.name, getattr(variants, f.name)) for f in fields(variants) if f.name not in ("seed", "source")]
    return hashlib.sha256(repr(described).encode("utf-8")).hexdigest()[:8]


_HEADER = re.compile(r"# Student .*'s variant of .* \(problem ([0-9a-f]{8})\), class seed (.+)\.")


def _header(text: str) -> tuple[str, str] | None:
    """(problem, seed) as a variant file's first line says them (`variant_header`), or None."""
    found = _HEADER.fullmatch(text.split("\n", 1)[0])
    return (found[1], found[2]) if found else None


def header_drawn(texts) -> Drawn | None:
    """What drew a directory's variants as their files' headers say it (a directory made before class.toml):
    the problem and seed they all name, or None when none says or they disagree."""
    said = {h for h in map(_header, texts) if h is not None}
    if len(said) != 1:
        return None
    problem, seed = said.pop()
    return Drawn(problem, seed)


def drawn_toml(drawn: Drawn) -> str:
    """class.toml: what drew the class's variants, for a rerun to keep them."""
    import json

    def _string(text: str) -> str:  # a TOML basic string: JSON's escapes are TOML's
        return json.dumps(text, ensure_ascii=False)

    lines = ["# What drew this class's variants (`worksheet class`). A rerun keeps each student's numbers, and",
             "# refuses to change them unless given --force (docs/class.md). Written by worksheet; keep it.",
             f"problem = {_string(drawn.problem)}  # the spec's fingerprint, without its [variants] table"]
    if drawn.seed is not None:
        lines.append(f"seed = {_string(drawn.seed)}")
    if drawn.table is not None:
        lines.append(f"table = {_string(drawn.table)}  # the [variants] table's fingerprint")
    lines.append(f"spec = {_string(drawn.spec)}")
    return "\n".join(lines) + "\n"


def parse_drawn(text: str, source: str) -> Drawn:
    """class.toml read back; ValueError (its message naming `source` and the key) when it is not one."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{source}: not TOML ({exc})") from None
    hex8 = re.compile(r"[0-9a-f]{8}")
    for key, required in (("problem", True), ("seed", False), ("table", False), ("spec", False)):
        value = raw.get(key)
        if value is None and not required:
            continue
        if not isinstance(value, str) or (key in ("problem", "table") and not hex8.fullmatch(value)) or (
                key == "seed" and not value):
            shown = "missing" if value is None else f"{value!r} is not " + (
                "8 hex digits" if key in ("problem", "table") else "a seed")
            raise ValueError(f"{source}: {key}: {shown}")
    return Drawn(raw["problem"], raw.get("seed"), raw.get("table"), raw.get("spec", ""))


# spec fields as a spec file names them, for saying what changed
_KEYS = {"inputs": "network", "layers": "network", "weights": "init", "biases": "init", "x": "data", "y": "data",
         "batched": "data", "loss": "training.loss", "reduction": "training.reduction",
         "learning_rate": "training.learning_rate", "momentum": "training.momentum", "steps": "training.steps",
         "frozen": "training.frozen", "points": "marking.points"}
_VARIED = ("weights", "biases", "x", "y", "learning_rate")  # what a [variants] table may vary


def spec_changes(before: Spec, base: Spec, varied: bool) -> list[str]:
    """The keys of a spec that differ between a student's earlier variant and today's base problem (`due`,
    `training.steps`): what a person changed. The numbers a table varies are left out (they always differ),
    and so is the title's " (student ID)"."""
    out: list[str] = []
    for f in fields(base):
        if varied and f.name in _VARIED:
            continue
        old, new = getattr(before, f.name), getattr(base, f.name)
        if f.name == "title" and varied:
            old = old.rsplit(" (student ", 1)[0]
        if old != new and _KEYS.get(f.name, f.name) not in out:
            out.append(_KEYS.get(f.name, f.name))
    return out


def listed(ids: Sequence[str], most: int = 8) -> str:
    """`s01, s02 and s03`; past `most`, `s01, …, s08 and 12 more`."""
    if len(ids) > most:
        return ", ".join(ids[:most]) + f" and {len(ids) - most} more"
    return ids[0] if len(ids) == 1 else ", ".join(ids[:-1]) + " and " + ids[-1]


def change_message(class_plan: ClassPlan, existing: Existing, base_text: str, seed_given: bool) -> str:
    """Why a rerun refuses: what differs from what drew the directory, who would get new numbers, and how to
    go on (the same seed, undoing the change, --force, or another folder). One line, as every refusal."""
    from .variants import parse_variants

    now, before, where = class_plan.drawn, class_plan.before, existing.source
    assert now is not None and class_plan.changed, "a plan from `plan`, with a change to say"
    changed = list(class_plan.changed)
    if before is not None and before.seed is not None and now.seed is not None and before.seed != now.seed:
        why = (f"its variants were drawn with class seed {before.seed!r}, and this run's is {now.seed!r}"
               + (" (--seed)" if seed_given else " (the spec's [variants] table)"))
        keep = f"give --seed {before.seed} (or leave --seed out) to keep them"
    elif before is not None and before.problem != now.problem:
        base = parse_variants(base_text, now.spec)[0]
        old = _variant_of(existing.texts.get(changed[0]))
        keys = spec_changes(old, base, class_plan.varied) if old is not None else []
        what = (f" (its {' and '.join(keys[:4])} differ{'s' if len(keys) == 1 else ''}, and every key of a spec "
                "goes into its draws)" if keys else "")
        why = (f"its variants were drawn from problem {before.problem}, and {now.spec} is now problem "
               f"{now.problem}{what}")
        keep = "undo the change to keep them"
    elif before is not None and None not in (before.table, now.table) and before.table != now.table:
        why = f"the [variants] table of {now.spec} changed since its variants were drawn"
        keep = "undo the change to keep them"
    elif before is not None and (before.seed is None) != (now.seed is None):
        why = (f"its variants were drawn {'without' if before.seed is None else 'with'} a [variants] table, and "
               f"{now.spec} now has {'one' if now.seed is not None else 'none'}")
        keep = "undo the change to keep them"
    else:  # the files say nothing of how they were drawn (not made by `worksheet class`)
        why = f"its variant files hold other numbers than {now.spec} gives them"
        keep = "give the spec and seed that drew them to keep them"
    return (f"{where}: {why}: {plural(len(changed), 'student')} would get new numbers ({listed(changed)}), "
            "their keys and sheets replaced, and what they hand in on the sheets they have would grade as the "
            f"wrong variant; {keep}, add --force to draw them again knowingly, or give another -o folder for a "
            "new class (nothing was written)")


def outputs(student_id: str, html: bool) -> tuple[str, ...]:
    """The rendered files of a student, relative to the class directory (the variant file not included)."""
    layout = Layout(student_id)
    return (layout.key, layout.sheet) + ((layout.html("keys"), layout.html("sheets")) if html else ())


def render_member(job: Job) -> dict[str, bytes]:
    """The student's key and blank sheet, rendered: {path relative to the class directory: bytes}."""
    from ..document import Options, build
    from ..pdf import to_pdf
    from ..render import to_html
    from ..script import torch_script
    from ..solve import solve
    from ..spec import parse_spec
    from ..trace import run

    spec = parse_spec(job.text, job.source)
    sol = solve(spec)
    snaps = run(spec, max(ITERATIONS, spec.steps))
    key = to_html(build(sol, snaps, Options(paper=job.paper), torch_script=torch_script(spec, ITERATIONS)))
    sheet = to_html(build(sol, snaps, Options(blank=True, paper=job.paper, student_name=job.name,
                                              student_id=job.student_id)))
    layout = Layout(job.student_id)
    out = {layout.key: to_pdf(key), layout.sheet: to_pdf(sheet)}
    if job.html:
        out[layout.html("keys")] = key.encode("utf-8")
        out[layout.html("sheets")] = sheet.encode("utf-8")
    return out


def warm() -> None:
    """A worker's start: the imports, WeasyPrint's fonts and its stylesheets, once a process."""
    from ..pdf import to_pdf

    to_pdf("<p>warm</p>")
