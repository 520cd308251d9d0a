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

The directory's layout is `roster.Layout`'s; writing, the process pool and the
progress bar are the command's (`classes/run.py`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..spec import Spec, SpecError, fingerprint
from .roster import Entry, Layout, Student

ITERATIONS = 10  # the key's PyTorch check and loss plot, as `worksheet render` draws them


@dataclass(frozen=True)
class Member:
    student: Student
    spec: Spec
    text: str  # the variant file: a complete spec
    entry: Entry


@dataclass(frozen=True)
class ClassPlan:
    members: tuple[Member, ...]
    varied: bool  # False: the spec has no [variants] table, every student has the base problem


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


def plan(text: str, source: str, students: Sequence[Student], seed: str | None = None) -> ClassPlan:
    """Every student's problem, in the roster's order; SpecError on a bad spec or table."""
    from .variants import parse_variants, roster_variants, to_toml

    base, variants = parse_variants(text, source)
    if variants is None:
        shared = to_toml(base, base_header(source, base))
        members = tuple(Member(s, base, shared, entry(s, base)) for s in students)
        return ClassPlan(members, varied=False)
    used = seed if seed is not None else variants.seed
    specs = roster_variants(base, variants, [s.id for s in students], seed, source)
    members = tuple(Member(s, specs[s.id], to_toml(specs[s.id], variant_header(s.id, source, base, used)),
                           entry(s, specs[s.id])) for s in students)
    return ClassPlan(members, varied=True)


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
