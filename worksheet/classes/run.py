"""Class-set run: the I/O edge of `worksheet class` (files, the process pool, the progress bar).

`run_class` writes every student's variant file whose text changed (each whole:
a temporary name, then a rename), then renders the students that are not up to
date, over a pool of processes that each import the package and load
WeasyPrint's fonts once and then render many students, and writes each
student's files as they arrive. A student is up to date when their variant file
holds the text it would be given, their key and sheet (and with --html the HTML
pages) exist and are no older than the variant file, and the class.csv already
there (if any) gives them the same name. So an interrupted run resumes where it
stopped, a changed roster name or variant re-renders that student, and a rerun
with nothing changed writes nothing. A student whose render fails is reported
and left out; the others go on.

`read_existing` reads what a class directory holds before a rerun (class.toml,
the roster's variant files, class.csv's fingerprints) for `classset.plan`, which
keeps each student's numbers and names who a change of seed or spec would move.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path

from . import classset
from .classset import Existing, Job, Member
from .roster import Entry, Layout, Student

RECORD = "class.toml"  # what drew the class (classset.Drawn), beside class.csv


@dataclass
class Outcome:
    written: list[str] = field(default_factory=list)  # student IDs rendered this run
    skipped: list[str] = field(default_factory=list)  # up to date already
    failed: list[tuple[str, str]] = field(default_factory=list)  # (student ID, message)


def read_existing(root: Path, students: Sequence[Student], old: dict[str, Entry]) -> Existing:
    """What the class directory holds already: class.toml's record (OutputError when it is not one), each
    roster student's variant file (those that can be read), and class.csv's fingerprints (`old`)."""
    from ..files import OutputError, read_text

    drawn = None
    path = root / RECORD
    if path.exists():
        text = read_text(path, lambda message: OutputError(f"{path}: {message}"))
        try:
            drawn = classset.parse_drawn(text, str(path))
        except ValueError as exc:
            raise OutputError(f"{exc}; it records what drew the class's variants: restore it, or delete it and "
                              "the variant files' headers say it") from None
    texts: dict[str, str] = {}
    for s in students:
        try:
            texts[s.id] = (root / Layout(s.id).variant).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue  # no variant yet (a student new to the roster), or one that cannot count as theirs
    return Existing(drawn, texts, {sid: e.fingerprint for sid, e in old.items()}, str(root))


def up_to_date(root: Path, member: Member, html: bool, old: dict[str, Entry]) -> bool:
    sid = member.student.id
    if sid in old and old[sid].name != member.student.name:
        return False
    variant = root / Layout(sid).variant
    try:
        if variant.read_text(encoding="utf-8") != member.text:
            return False
        since = variant.stat().st_mtime_ns
        return all((root / rel).stat().st_mtime_ns >= since for rel in classset.outputs(sid, html))
    except (OSError, UnicodeDecodeError):
        return False


def _work(job: Job) -> tuple[str, dict[str, bytes] | None, str]:
    """A worker's task: the student's files, or the message saying why they could not be made."""
    try:
        return job.student_id, classset.render_member(job), ""
    except Exception as exc:  # one student's failure is reported, and the others go on
        from ..spec import one_line

        known = type(exc).__name__ in ("SpecError", "SolveError", "PdfError", "TemplateError")
        return job.student_id, None, one_line(str(exc) if known else f"{type(exc).__name__}: {exc}")


def _init_worker() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's: it stops the workers itself
    classset.warm()


class Progress:
    """A bar with the time left on a terminal's stderr, else a plain line a student."""

    def __init__(self, total: int, terminal: bool | None = None):
        self.total, self.count = total, 0
        self.terminal = sys.stderr.isatty() if terminal is None else terminal
        self._bar = None
        if self.terminal and total:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn, TimeRemainingColumn
            from rich.progress import Progress as Bar

            self._bar = Bar(TextColumn("worksheet: rendering"), BarColumn(), MofNCompleteColumn(),
                            TimeElapsedColumn(), TextColumn("left"), TimeRemainingColumn(),
                            console=Console(stderr=True, highlight=False), transient=True)
            self._task = self._bar.add_task("render", total=total)
            self._bar.start()

    def step(self, student_id: str, error: str = "") -> None:
        self.count += 1
        if error:
            self.say(f"worksheet: {student_id}: {error}")
        if self._bar is not None:
            self._bar.advance(self._task)
        elif not error:
            self.say(f"worksheet: [{self.count}/{self.total}] {student_id}")

    def say(self, line: str) -> None:
        from ..files import terminal_safe

        if self._bar is not None:
            self._bar.console.print(terminal_safe(line), markup=False, highlight=False, soft_wrap=True)
        else:
            print(terminal_safe(line), file=sys.stderr, flush=True)

    def stop(self) -> None:
        if self._bar is not None:
            self._bar.stop()


def run_class(root: Path, members: Sequence[Member], *, jobs: int, html: bool = False, force: bool = False,
              old: dict[str, Entry] | None = None, terminal: bool | None = None,
              record: dict[Path, bytes] | None = None) -> Outcome:
    """Write the class directory's variant files, then `record` (class.toml: what drew them, written as soon
    as they are, so that an interrupted run resumes with the numbers it drew), and render who is not up to
    date (not class.csv)."""
    from ..files import commit

    old = old or {}
    outcome = Outcome()
    todo: list[Member] = []
    for m in members:
        if not force and up_to_date(root, m, html, old):
            outcome.skipped.append(m.student.id)
            continue
        todo.append(m)
        path = root / Layout(m.student.id).variant
        try:
            same = path.read_text(encoding="utf-8") == m.text
        except (OSError, UnicodeDecodeError):
            same = False
        if not same:
            commit({path: m.text.encode("utf-8")})
    if record:
        commit(record)
    progress = Progress(len(todo), terminal)
    jobs_list = [Job(m.student.id, m.student.name, m.text, str(root / Layout(m.student.id).variant), html)
                 for m in todo]

    def arrived(sid: str, files: dict[str, bytes] | None, error: str) -> None:
        if files is None:
            outcome.failed.append((sid, error))
        else:
            commit({root / rel: data for rel, data in files.items()})
            outcome.written.append(sid)
        progress.step(sid, error)

    try:
        if jobs <= 1 or len(jobs_list) <= 1:
            for job in jobs_list:
                arrived(*_work(job))
        else:
            _in_pool(jobs_list, min(jobs, len(jobs_list)), arrived)
    finally:
        progress.stop()
    return outcome


def _in_pool(jobs_list: list[Job], workers: int, arrived: Callable[..., None]) -> None:
    pool = ProcessPoolExecutor(max_workers=workers, initializer=_init_worker)
    try:
        pending: set[Future] = {pool.submit(_work, job) for job in jobs_list}
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                arrived(*future.result())
    except BaseException:  # Ctrl-C, or a file that cannot be written: stop the workers now, not after the queue
        processes = list((getattr(pool, "_processes", None) or {}).values())
        pool.shutdown(wait=False, cancel_futures=True)
        for process in processes:
            if process.is_alive():
                process.terminate()
        for process in processes:
            process.join(timeout=5)
        raise
    pool.shutdown(wait=True)


def default_jobs() -> int:
    return max(1, os.cpu_count() or 1)
