"""Grade stage: a class directory's students, their variants and a folder of submissions in;
the gradebook's rows and the class summary out.

Contract: pure (bytes in, values out; no files). `grade(entries, specs, submissions, weights)`
takes class.csv's `Entry`s, each student's variant (`Spec`, or the message saying why it
could not be read), and the submissions as `Submission(name, data)` (a file's name and its
bytes, or the message saying why it could not be read), and gives a `Gradebook`: one `Row`
per student of class.csv, in its order, the files that matched nobody, and the `Summary`.

Matching a file to a student:

1. by its name: the stem (`s01` of `s01.toml`, `S01-answers.pdf`) is a student's ID,
   compared case-insensitively; a stem that is an ID followed by `-`, `_`, `.` or a space
   and anything (`s01-answers`, `s01_filled`) matches that ID (the longest such ID);
2. by the sheet it carries (a filled PDF's keywords, an answers file's `sheet = "…"`): a
   sheet version identifies a variant, and through class.csv its student.

A sheet version that is one student's and a name that is another's (or a version that is
nobody's in the class, under a student's name) is the wrong variant: the student's row is
flagged and nothing is marked. A version shared by several students (a class without
variants) leaves the name to decide; a file with neither is unmatched. Two files for one
student: the row is flagged, neither marked. Every flagged row says why in its notes.
"""

from __future__ import annotations

import io
import logging
import re
import statistics
import tomllib
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction

from ..answers import AnswersError, AnswerSheet, parse_answers
from ..check import CATALOGUE, DEFAULT_WEIGHTS, Marking, check, mistake_text
from ..forms import KEYWORD, is_pdf, read_filled
from ..solve import Solution, SolveError, solve
from ..spec import PARTS, Spec, fingerprint, one_line, quote_fractions
from .roster import BOM, Entry, csv_cell

SUFFIXES = (".toml", ".pdf")
SEPARATORS = "-_. "
BINS = 10  # the score histogram's bars: 0-10 %, 10-20 %, …, 90-100 % (100 % in the last)

# statuses of a row, in the order the summary counts them
MARKED, NONE, WRONG_VARIANT, SEVERAL, UNREADABLE, NO_VARIANT = (
    "marked", "no submission", "wrong variant", "several files", "unreadable", "no variant")
STATUSES = (MARKED, NONE, WRONG_VARIANT, SEVERAL, UNREADABLE, NO_VARIANT)
_SHEET = re.compile(rf"\b{KEYWORD}:([0-9a-f]{{8}})\b")
_HEX8 = re.compile(r"[0-9a-f]{8}")


@dataclass(frozen=True)
class Submission:
    """One file of the submissions folder: its name and bytes, or why it could not be read."""

    name: str
    data: bytes = b""
    error: str = ""


@dataclass(frozen=True)
class Row:
    """A student's line of the gradebook."""

    entry: Entry
    status: str  # one of STATUSES
    files: tuple[str, ...] = ()
    marking: Marking | None = None  # None: not marked (see status and notes)
    points: Fraction | None = None  # what a sheet all right scores, whether marked or not
    notes: tuple[str, ...] = ()

    @property
    def score(self) -> Fraction | None:
        return self.marking.score if self.marking is not None else None

    @property
    def slips(self) -> tuple[tuple[str, str], ...]:
        """(mistake id, key of the quantity where it was named), in the sheet's order."""
        if self.marking is None:
            return ()
        return tuple((m.mistake, m.quantity.key) for m in self.marking.marks if m.mistake)

    @property
    def slip_counts(self) -> tuple[tuple[str, int, str], ...]:
        """(mistake id, how many answers it was named at, the first of them), in the order each first
        appears: one slip repeated down a sheet (a flipped update sign, 17 times) is one entry."""
        counts: Counter[str] = Counter(m for m, _ in self.slips)
        first: dict[str, str] = {}
        for mistake, key in self.slips:
            first.setdefault(mistake, key)
        return tuple((m, counts[m], key) for m, key in first.items())

    @property
    def slips_text(self) -> str:
        """The slips as the gradebook's cell and the report say them: `half at step1.dL_dyhat1; sign ×17,
        first at step1.new_W1_1_1`."""
        return "; ".join(slip_text(*slip) for slip in self.slip_counts)

    @property
    def first_wrong(self) -> str:
        first = self.marking.first_wrong if self.marking is not None else None
        return first.quantity.key if first is not None else ""


def slip_text(mistake: str, count: int, first: str) -> str:
    """One slip of a student: where it was named, or how often and where first."""
    return f"{mistake} at {first}" if count == 1 else f"{mistake} ×{count}, first at {first}"


@dataclass(frozen=True)
class Unmatched:
    name: str
    reason: str


@dataclass(frozen=True)
class Summary:
    students: int
    statuses: tuple[tuple[str, int], ...]  # (status, how many rows), every status with at least one
    scores: tuple[float, ...]  # percent of points, marked and no-submission rows
    histogram: tuple[int, ...]  # BINS counts over `scores`
    mean: float | None
    median: float | None
    slips: tuple[tuple[str, str, int], ...]  # (mistake id, its words, students who made it), most first
    first_wrong: tuple[tuple[str, str, int], ...]  # (quantity key, its words, students), most first
    first_wrong_parts: tuple[tuple[str, int], ...]  # (part, students whose first wrong step is in it)
    all_right: int  # marked students with nothing wrong


@dataclass(frozen=True)
class Gradebook:
    rows: tuple[Row, ...]
    unmatched: tuple[Unmatched, ...]
    summary: Summary = field(repr=False)


# -- reading a submission ------------------------------------------------------------------------

def sheet_version(data: bytes) -> str | None:
    """The sheet version a file carries (8 hex digits), or None: a PDF's keywords, an answers file's `sheet`."""
    if is_pdf(data):
        import pypdf
        from pypdf.errors import PyPdfError

        logging.getLogger("pypdf").setLevel(logging.ERROR)
        try:
            meta = pypdf.PdfReader(io.BytesIO(data), strict=False).metadata or {}
            found = _SHEET.search(str(meta.get("/Keywords", "") or ""))
        except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, RecursionError, OSError):
            return None
        return found[1] if found else None
    try:
        raw = tomllib.loads(quote_fractions(data.decode("utf-8-sig"))).get("sheet")
    except (UnicodeDecodeError, tomllib.TOMLDecodeError, RecursionError, ValueError):
        return None
    return raw if isinstance(raw, str) and _HEX8.fullmatch(raw) else None


def read_submission(data: bytes, source: str, sol: Solution) -> AnswerSheet:
    """The answers of an answers file (TOML) or a filled blank sheet (PDF), as `worksheet check` reads them."""
    if is_pdf(data):
        return read_filled(data, source, sol)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise AnswersError(source, None, f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    return parse_answers(text, source, sol)


def id_of_name(name: str, ids: Sequence[str]) -> str | None:
    """The student a file's name names: its stem an ID (any case), or an ID and a separator before more."""
    stem = name.rsplit(".", 1)[0] if "." in name.lstrip(".") else name
    exact = [i for i in ids if i == stem]
    if exact:
        return exact[0]
    folded = stem.casefold()
    same = [i for i in ids if i.casefold() == folded]
    if len(same) == 1:
        return same[0]
    if same:
        return None  # s01 and S01 are both students: only the exact spelling tells them apart
    prefixed = [i for i in ids if folded.startswith(i.casefold()) and folded[len(i)] in SEPARATORS]
    longest = max((len(i) for i in prefixed), default=0)
    found = [i for i in prefixed if len(i) == longest]
    return found[0] if len(found) == 1 else None


# -- grading -------------------------------------------------------------------------------------

def grade(entries: Sequence[Entry], specs: Mapping[str, Spec | str], submissions: Sequence[Submission],
          weights: Mapping[str, Fraction] | None = None) -> Gradebook:
    """Every student's row, the unmatched files and the summary. `specs[id]` is the student's variant,
    or a message saying why it could not be read."""
    weights = dict(weights or DEFAULT_WEIGHTS)
    ids = [e.id for e in entries]
    solutions: dict[str, Solution | str] = {}
    for e in entries:
        spec = specs.get(e.id, f"{e.variant}: no such file")
        if isinstance(spec, str):
            solutions[e.id] = spec
            continue
        try:
            solutions[e.id] = solve(spec)
        except SolveError as exc:
            solutions[e.id] = f"{e.variant}: {exc}"
    owners: dict[str, set[str]] = {}  # sheet version -> students
    for e in entries:
        sol = solutions[e.id]
        for version in (e.fingerprint, fingerprint(sol.spec) if isinstance(sol, Solution) else ""):
            if _HEX8.fullmatch(version or ""):
                owners.setdefault(version, set()).add(e.id)

    files: dict[str, list[tuple[Submission, str]]] = {i: [] for i in ids}  # id -> (file, why not marked)
    unmatched: list[Unmatched] = []
    for sub in submissions:
        if not sub.name.lower().endswith(SUFFIXES):
            unmatched.append(Unmatched(sub.name, "not an answers file (.toml) or a filled sheet (.pdf)"))
            continue
        named = id_of_name(sub.name, ids)
        version = sheet_version(sub.data) if not sub.error else None
        whose = sorted(owners.get(version, ())) if version else []
        if version is None:
            if named is None:
                unmatched.append(Unmatched(sub.name, "its name is no student's ID, and it carries no sheet version"))
            else:
                files[named].append((sub, ""))
        elif len(whose) == 1 and (named is None or named == whose[0]):
            files[whose[0]].append((sub, ""))
        elif named is not None and named in whose:
            files[named].append((sub, ""))
        elif named is not None:
            other = (f"sheet {version}, which is {_ids(whose)}'s" if whose
                     else f"sheet {version}, which is no student's in this class (another problem, or an "
                          "earlier version of it)")
            files[named].append((sub, f"{sub.name} carries {other}, not {named}'s; not marked against "
                                      "the wrong key"))
        else:
            unmatched.append(Unmatched(sub.name, f"its name is no student's ID, and its sheet {version} is "
                                                 + (f"shared by {_ids(whose)}" if whose else
                                                    "no student's in this class")))

    rows = [_row(e, solutions[e.id], files[e.id], weights) for e in entries]
    # a class's variants share their network, so any one of them words its slips (ReLU′, not f′)
    spec = next((sol.spec for sol in solutions.values() if isinstance(sol, Solution)), None)
    return Gradebook(tuple(rows), tuple(unmatched), summarize(rows, spec))


def _ids(ids: Sequence[str]) -> str:
    return ", ".join(ids[:3]) + (f" and {len(ids) - 3} more" if len(ids) > 3 else "")


def _row(entry: Entry, sol: Solution | str, matched: list[tuple[Submission, str]],
         weights: Mapping[str, Fraction]) -> Row:
    names = tuple(sub.name for sub, _ in matched)
    if isinstance(sol, str):
        return Row(entry, NO_VARIANT, names, notes=(f"cannot grade: {one_line(sol)}",))
    points = check(sol, AnswerSheet(), weights).points
    if not matched:
        return Row(entry, NONE, (), check(sol, AnswerSheet(), weights), points,
                   ("every answer missing",))  # the status says "no submission": the note says what it counts as
    if len(matched) > 1:
        return Row(entry, SEVERAL, names, None, points,
                   (f"{', '.join(names[:-1])} and {names[-1]}; keep one, none is marked",)  # the status counts
                   + tuple(why for _, why in matched if why))
    sub, why = matched[0]
    if why:
        return Row(entry, WRONG_VARIANT, names, None, points, (why,))
    if sub.error:
        return Row(entry, UNREADABLE, names, None, points, (f"{sub.name}: {one_line(sub.error)}",))
    try:
        sheet = read_submission(sub.data, sub.name, sol)
    except AnswersError as exc:
        return Row(entry, UNREADABLE, names, None, points, (one_line(str(exc)),))
    notes: list[str] = []
    now = fingerprint(sol.spec)
    if sheet.sheet is not None and sheet.sheet != now:
        notes.append(f"made for sheet {sheet.sheet}; the variant is now sheet {now} (marked against the new one)")
    marking = check(sol, sheet, weights, sheet.parts)
    if not sheet:
        notes.append("the file holds no answers")
    return Row(entry, MARKED, names, marking, marking.points, tuple(notes))


# -- the class summary ---------------------------------------------------------------------------

def mistake_words(mistake_id: str, spec: Spec | None = None) -> str:
    """A catalogued mistake in words, its layer left general: with the class's `spec`, in its network's
    activations (`check.mistake_text`)."""
    if spec is not None:
        return mistake_text(mistake_id, spec)
    m = next(m for m in CATALOGUE if m.id == mistake_id)
    return m.words.format(l="l", next="l + 1", g="∂L/∂p")


def part_of(kind: str) -> str:
    return next(name for name, kinds in PARTS.items() if kind in kinds)


def summarize(rows: Sequence[Row], spec: Spec | None = None) -> Summary:
    counted = [r for r in rows if r.marking is not None and r.points]
    scores = tuple(float(100 * r.score / r.points) for r in counted)
    histogram = [0] * BINS
    for s in scores:
        histogram[min(BINS - 1, max(0, int(s // (100 / BINS))))] += 1
    slips: Counter[str] = Counter()
    firsts: Counter[str] = Counter()
    parts: Counter[str] = Counter()
    words: dict[str, str] = {}
    marked = [r for r in rows if r.status == MARKED]
    for r in marked:
        slips.update({mistake for mistake, _ in r.slips})
        first = r.marking.first_wrong
        if first is not None:
            q = first.quantity
            firsts[q.key] += 1
            words.setdefault(q.key, f"step {q.step}, {q.name}: {q.words}")
            parts[part_of(q.kind)] += 1
    status = Counter(r.status for r in rows)
    return Summary(
        students=len(rows),
        statuses=tuple((s, status[s]) for s in STATUSES if status[s]),
        scores=scores,
        histogram=tuple(histogram),
        mean=statistics.fmean(scores) if scores else None,
        median=statistics.median(scores) if scores else None,
        slips=tuple((m, mistake_words(m, spec), n) for m, n in sorted(slips.items(), key=lambda kv: (-kv[1], kv[0]))),
        first_wrong=tuple((k, words[k], n) for k, n in firsts.most_common()),
        first_wrong_parts=tuple((p, parts[p]) for p in PARTS if parts[p]),
        all_right=sum(1 for r in marked if not r.marking.counts["wrong"] and not r.marking.counts["missing"]),
    )


# -- the gradebook as CSV ------------------------------------------------------------------------

COLUMNS = ("id", "name", "score", "points", "right", "carried_forward", "wrong", "missing", "first_wrong",
           "slips", "status", "files", "notes")


def number(n: Fraction | None) -> str:
    """A score as the report prints it: 12, 8.5, 2.67; empty for none."""
    if n is None:
        return ""
    return str(int(n)) if n == int(n) else f"{float(n):.2f}".rstrip("0").rstrip(".")


def gradebook_csv(book: Gradebook) -> str:
    """The gradebook's text: a byte order mark, the header (COLUMNS), one row per student; every text cell
    `roster.csv_cell`, as class.csv's (docs/class.md describes each column's format)."""
    import csv

    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for r in book.rows:
        c = r.marking.counts if r.marking is not None else None
        writer.writerow([
            csv_cell(r.entry.id), csv_cell(r.entry.name), number(r.score), number(r.points),
            *(str(c[v]) if c else "" for v in ("right", "carried", "wrong", "missing")),
            csv_cell(r.first_wrong), csv_cell(r.slips_text), r.status,
            csv_cell("; ".join(r.files)), csv_cell("; ".join(r.notes)),
        ])
    return BOM + out.getvalue()


# -- the gradebook in a terminal -----------------------------------------------------------------

MAX_ID_COLUMN = 16  # a longer ID pushes its own line along rather than every line of the class


def _decimal_parts(texts: Sequence[str]) -> tuple[int, int]:
    """The widths of the whole part and of the `.` and decimals of numbers as `number` writes them."""
    wholes = [len(t.split(".")[0]) for t in texts]
    fractions = [len(t) - w for t, w in zip(texts, wholes)]
    return max(wholes, default=1), max(fractions, default=0)


def _aligned(text: str, whole: int, fraction: int) -> str:
    """`text` padded so that its decimal point (where it has one) sits in the column's: 10, 9.5, 2.67."""
    head, dot, tail = text.partition(".")
    return head.rjust(whole) + (dot + tail).ljust(fraction)


def terminal_lines(rows: Sequence[Row], width: int = 80) -> list[str]:
    """The gradebook as `worksheet grade` prints it: a line a student, the IDs, the scores (their decimal
    points aligned: `10 of 10`, ` 9.5 of 10`) and the statuses in columns, each status followed by what
    the row's notes add (`no submission: every answer missing`), wrapped at `width` under the status
    column. No line ends in a space."""
    import textwrap

    id_width = min(MAX_ID_COLUMN, max((len(r.entry.id) for r in rows), default=0))
    scored = [r for r in rows if r.score is not None]
    score_w = _decimal_parts([number(r.score) for r in scored])
    points_w = _decimal_parts([number(r.points) for r in scored])
    blank = " " * (sum(score_w) + 4 + sum(points_w))
    lines = []
    for r in rows:
        if r.score is not None:
            score = f"{_aligned(number(r.score), *score_w)} of {_aligned(number(r.points), *points_w)}"
        else:  # not scored (flagged, or no variant): a dash where the score's whole part ends
            score = ("-".rjust(score_w[0]) + blank[score_w[0]:]) if scored else "-"
        indent = " " * (id_width + 2 + len(score) + 2)  # the status column
        said = f"{r.status}: {'; '.join(r.notes)}" if r.notes else r.status
        # a file name or a key is never cut in two: a word longer than the room runs past the edge
        lines += textwrap.wrap(said, max(width, len(indent) + 24), initial_indent=f"{r.entry.id.ljust(id_width)}  "
                               f"{score}  ", subsequent_indent=indent, break_long_words=False,
                               break_on_hyphens=False)
    return lines
