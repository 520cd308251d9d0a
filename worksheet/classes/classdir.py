"""Class directory I/O: a class made by `worksheet class`, read back; submissions written into it.

Contract (the I/O edge shared by `worksheet grade` and `worksheet serve --class`; the pure
stages are `roster`, `variants`, `grade`):

- `open_class(root)` reads `root/class.csv` and every student's variant file
  (`variants/<id>.toml`) once: a `ClassDir`. A variant that cannot be read is kept as
  its message (that student is "no variant" to grading, and an error page to the web
  app); a folder that is not a class directory is an `OutputError`, as the command
  line says it.
- `ClassDir.find(typed)` is the only way from an ID a person typed to a student: an ID
  of class.csv, exactly, else the one ID equal to it in any case (`S01` for `s01`),
  else None. Nothing else is ever turned into a path, so `../x` or `/etc` is simply
  no student.
- `grade_dir(root, submissions, weights)` is `worksheet grade` without its outputs:
  the class read, the folder's files read (hidden files and folders skipped), and
  `grade.grade` over them.
- `submit(root, student_id, sol, sheet, now)` saves a student's answers (an
  `AnswerSheet` read against their variant's solution) as the answers file
  `worksheet answers` writes, filled in, as `root/submissions/<id>.toml`, written
  whole (a temporary name, then a rename), so `worksheet grade root
  root/submissions` marks the latest one. A sheet with no number filled in is
  refused (`EmptySubmission`) and writes nothing: a blank sheet sent by mistake
  never replaces what a student submitted. A resubmission replaces it; every submission is also kept, numbered, as
  `submissions/.history/<id>/<n>.toml` (grading skips hidden folders), and the file's
  first line says who, when (UTC) and which submission it is: what a marker needs to
  settle "I submitted before the deadline" or "someone else submitted for me".
  `last_submission(root, student_id)` reads that back, and `submitted_answers(root,
  student_id, sol)` the numbers it holds (a student on another browser starts from them).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from fractions import Fraction
from pathlib import Path

from ..answers import AnswerSheet
from ..solve import Solution
from ..spec import Spec, SpecError, parse_spec
from .grade import Gradebook, Submission, grade
from .roster import Entry, RosterError, parse_class_csv

SUBMISSIONS = "submissions"
HISTORY = ".history"  # hidden: `worksheet grade DIR DIR/submissions` skips it
_NUMBERED = re.compile(r"(\d{1,6})\.toml")
_locks: dict[tuple[str, str], threading.Lock] = {}
_locks_guard = threading.Lock()


@dataclass(frozen=True)
class ClassDir:
    root: Path
    entries: tuple[Entry, ...]
    texts: Mapping[str, str | SpecError]  # id -> the variant file's text, or why it cannot be read

    def find(self, typed: str) -> Entry | None:
        """The student whose ID this is: exactly, else the one ID equal to it in any case."""
        if not isinstance(typed, str):
            return None
        text = typed.strip()
        exact = [e for e in self.entries if e.id == text]
        if exact:
            return exact[0]
        folded = [e for e in self.entries if e.id.casefold() == text.casefold()]
        return folded[0] if len(folded) == 1 else None  # s01 and S01 both students: only the exact spelling

    def variant_source(self, entry: Entry) -> str:
        return str(self.root / entry.variant)

    def spec(self, entry: Entry) -> Spec | str:
        """The student's variant, or the message saying why it cannot be read."""
        text = self.texts.get(entry.id)
        if isinstance(text, SpecError) or text is None:
            return str(text or f"{self.variant_source(entry)}: no such file")
        try:
            return parse_spec(text, self.variant_source(entry))
        except SpecError as exc:
            return str(exc)

    @property
    def title(self) -> str:
        """The class's problem: the first readable variant's title without " (student …)"."""
        for e in self.entries:
            spec = self.spec(e)
            if isinstance(spec, Spec):
                return spec.title.rsplit(" (student", 1)[0]
        return self.root.name


def open_class(root: Path) -> ClassDir:
    """The class directory's students and their variants' texts; OutputError when it is not one."""
    from ..files import OutputError, read_text

    csv_path = root / "class.csv"
    if not root.is_dir():
        raise OutputError(f"{root}: {'no such folder' if not root.exists() else 'not a folder'}; "
                          "give a class directory (make it with `worksheet class`)")
    if not csv_path.is_file():
        raise OutputError(f"{root}: not a class directory, it has no class.csv (make it with `worksheet class`)")
    try:
        entries = parse_class_csv(read_text(csv_path, lambda message: RosterError(str(csv_path), None, message)),
                                  str(csv_path))
    except RosterError as exc:
        raise OutputError(str(exc)) from None
    texts: dict[str, str | SpecError] = {}
    for e in entries:
        path = root / e.variant
        try:
            texts[e.id] = read_text(path, lambda message, p=path: SpecError(str(p), "", message))
        except SpecError as exc:
            texts[e.id] = exc
    return ClassDir(root, entries, texts)


def read_submissions(folder: Path) -> tuple[list[Path], list[Submission]]:
    """The folder's files (hidden ones and folders skipped), by name, and each one's bytes or why not."""
    from ..files import MAX_PDF_BYTES, read_bytes

    files = sorted((p for p in folder.iterdir() if not p.name.startswith(".") and not p.is_dir()),
                   key=lambda p: p.name)
    submissions = []
    for p in files:
        try:
            submissions.append(Submission(p.name, read_bytes(p, lambda message: OSError(message), MAX_PDF_BYTES)))
        except OSError as exc:
            submissions.append(Submission(p.name, error=str(exc)))
    return files, submissions


def grade_dir(root: Path, submissions_dir: Path,
              weights: Mapping[str, Fraction] | None = None) -> tuple[ClassDir, dict[str, Spec | str], list[Path],
                                                                      Gradebook]:
    """`worksheet grade` without writing: the class, each student's variant (or why not), the files read,
    and the gradebook. OutputError when either folder cannot be used."""
    from ..files import OutputError

    room = open_class(root)
    if not submissions_dir.is_dir():
        raise OutputError(f"{submissions_dir}: {'no such folder' if not submissions_dir.exists() else 'not a folder'}"
                          "; give the folder of submissions, one file per student")
    specs = {e.id: room.spec(e) for e in room.entries}
    files, submissions = read_submissions(submissions_dir)
    return room, specs, files, grade(room.entries, specs, submissions, weights)


# -- submissions ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Receipt:
    """A saved submission: its number (1 for the first), when (UTC, ISO 8601), and its file."""

    number: int
    time: str
    path: str  # relative to the class directory

    def public(self) -> dict[str, object]:
        return {"number": self.number, "time": self.time, "file": self.path}


def submission_file(student_id: str) -> str:
    return f"{SUBMISSIONS}/{student_id}.toml"


def _lock(root: Path, student_id: str) -> threading.Lock:
    with _locks_guard:
        return _locks.setdefault((str(root), student_id), threading.Lock())


def _history(root: Path, student_id: str) -> Path:
    return root / SUBMISSIONS / HISTORY / student_id


def _numbers(folder: Path) -> list[int]:
    try:
        return sorted(int(m[1]) for p in folder.iterdir() if (m := _NUMBERED.fullmatch(p.name)))
    except OSError:
        return []


class EmptySubmission(ValueError):
    pass


def submit(root: Path, student_id: str, sol: Solution, sheet: AnswerSheet, now: datetime | None = None) -> Receipt:
    """Save the student's answers as an answers file (TOML): the latest as submissions/<id>.toml, every one
    numbered in submissions/.history/<id>/. `student_id` must be an ID of the class (ClassDir.find), never
    typed text. EmptySubmission, and nothing written, when no box is filled in."""
    from ..answers import answers_template
    from ..files import commit

    if not len(sheet):
        raise EmptySubmission("nothing to submit: every box is empty (an empty sheet never replaces what you "
                              "submitted before)")
    text = answers_template(sol, None, sheet.answers)

    when = (now or datetime.now(UTC)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    with _lock(root, student_id):  # two tabs submitting at once: each gets its own number
        number = (_numbers(_history(root, student_id)) or [0])[-1] + 1
        data = (f"# Submission {number} of student {student_id}, {when} (worksheet serve --class); "
                f"earlier ones are in {SUBMISSIONS}/{HISTORY}/{student_id}/\n{text}").encode()
        latest = root / submission_file(student_id)
        # both written whole, and renamed only when both are complete; the latest first, the one grade
        # reads: should the second rename fail, what the student is told failed is only the history's copy
        commit({latest: data, _history(root, student_id) / f"{number}.toml": data})
    return Receipt(number, when, submission_file(student_id))


_HEADER = re.compile(r"# Submission (\d+) of student \S+, (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ) ")


def last_submission(root: Path, student_id: str) -> Receipt | None:
    """The student's latest submission, as its first line records it; None before the first."""
    latest = root / submission_file(student_id)
    try:
        with latest.open(encoding="utf-8", errors="replace") as f:
            first = f.readline(500)
        stamp = latest.stat().st_mtime
    except OSError:
        return None
    if m := _HEADER.match(first):
        return Receipt(int(m[1]), m[2], submission_file(student_id))
    # a file put there by hand: its time is the file's
    return Receipt(1, datetime.fromtimestamp(stamp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), submission_file(student_id))


def submitted_answers(root: Path, student_id: str, sol: Solution) -> dict[str, str]:
    """The numbers of the student's latest submission as written, by key (step1.z1_1); {} when there is
    none or it cannot be read against `sol` (their variant changed since)."""
    from ..answers import AnswersError, parse_answers

    try:
        text = (root / submission_file(student_id)).read_text(encoding="utf-8")
        return {key: answer.text for key, answer in parse_answers(text, submission_file(student_id), sol).items()}
    except (OSError, UnicodeDecodeError, AnswersError):
        return {}
