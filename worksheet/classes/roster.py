"""Roster stage: a class list (CSV) in, its students out; and the class directory's layout.

Contract: pure (text in, values out; no files). `parse_roster(text, source)` reads a
roster as a spreadsheet exports it (UTF-8, a byte order mark already removed by the
caller's decoding, any of `,` `;` or a tab as delimiter): an `id` column, a `name`
column if there is one, and any other columns kept as they are. A student ID names
the student's files, so it is limited to ASCII letters, digits, `.`, `_` and `-` (1 to
64, not starting with a dot), and two IDs may not differ only in case (`ab`, `AB`: one
file on macOS and Windows). `ID_RULE` says so in words; `worksheet variant` holds its
`--student` to the same rule (`id_problem`). Every refusal is a `RosterError` naming
the file, the line and the value.

A class directory (`worksheet class … -o DIR`) holds, per student ID:
`variants/<id>.toml` (the student's problem as a spec), `keys/<id>.pdf`,
`sheets/<id>.pdf` (the blank sheet, fillable), optionally `keys/<id>.html` and
`sheets/<id>.html`; and `class.csv` with one row per student:
id, name, fingerprint (the variant's `spec.fingerprint`, printed on its sheet), and the
files relative to DIR. `class_csv` writes it, `parse_class_csv` reads it back.

Both CSVs a class writes (class.csv here, the gradebook in `grade`) start with a UTF-8
byte order mark, so that Excel on Windows reads them as UTF-8 ("Zoë", not "ZoÃ«"), and
write a text cell a spreadsheet would take for a formula (`=`, `+`, `-`, `@` first) with
a `'` before it (`csv_cell`); `parse_class_csv` takes both away again (`csv_value`), so
every name reads back as the roster gave it.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass

MAX_STUDENTS = 2000
MAX_ID = 64
_SAFE_ID = re.compile(rf"[A-Za-z0-9_\-][A-Za-z0-9._\-]{{0,{MAX_ID - 1}}}")
ID_RULE = f"an ID is 1 to {MAX_ID} ASCII letters, digits, '.', '_' or '-', not starting with '.'"
CLASS_COLUMNS = ("id", "name", "fingerprint", "variant", "key", "sheet")
BOM = "\ufeff"  # Excel on Windows reads a CSV as UTF-8 only when it starts with one
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def plural(n: int, word: str, words: str | None = None) -> str:
    """`1 student`, `2 students`: a count and its noun, as every class message says them."""
    return f"{n} {word if n == 1 else (words or word + 's')}"


def csv_cell(text: str) -> str:
    """A text cell a spreadsheet shows as text, never runs as a formula (a name `=HYPERLINK(…)`): a `'`
    before it, as a spreadsheet user types one. A text starting with `'` gets one too, so `csv_value`
    can take exactly one away."""
    return "'" + text if text[:1] in (*_FORMULA, "'") else text


def csv_value(cell: str) -> str:
    """What `csv_cell` was given."""
    return cell[1:] if cell[:1] == "'" and cell[1:2] in (*_FORMULA, "'") else cell


class RosterError(ValueError):
    """What is wrong with a roster or a class.csv: the first problem (`line`, `message`), and with `more` every
    other one found in the same file, so that a person fixes a roster in one go rather than one rerun a line."""

    def __init__(self, source: str, line: int | None, message: str,
                 more: tuple[tuple[int | None, str], ...] = ()):
        self.source, self.line, self.message = source, line, message
        self.problems = ((line, message), *more)
        super().__init__("\n".join(self.lines()))

    def lines(self) -> list[str]:
        """One line a problem, each naming the file and its line: `roster.csv:4: id: 's02' appears twice …`."""
        return [f"{self.source}:{line}: {message}" if line else f"{self.source}: {message}"
                for line, message in self.problems]


@dataclass(frozen=True)
class Student:
    id: str
    name: str = ""
    extra: tuple[tuple[str, str], ...] = ()  # the roster's other columns, in its order


@dataclass(frozen=True)
class Entry:
    """One row of a class directory's class.csv."""

    id: str
    name: str
    fingerprint: str
    variant: str  # paths relative to the class directory
    key: str
    sheet: str


@dataclass(frozen=True)
class Layout:
    """Where a student's files go, relative to the class directory."""

    student_id: str

    @property
    def variant(self) -> str:
        return f"variants/{self.student_id}.toml"

    @property
    def key(self) -> str:
        return f"keys/{self.student_id}.pdf"

    @property
    def sheet(self) -> str:
        return f"sheets/{self.student_id}.pdf"

    def html(self, kind: str) -> str:
        """`keys` or `sheets`: the HTML beside the PDF."""
        return f"{kind}/{self.student_id}.html"


def id_problem(text: str) -> str | None:
    """Why `text` cannot be a student ID (the value shown, then ID_RULE), or None when it can."""
    if _SAFE_ID.fullmatch(text):
        return None
    shown = text if len(text) <= 40 else text[:40] + "…"
    return f"{shown!r} cannot name a file; {ID_RULE}"


def check_id(value: str, source: str, line: int | None) -> str:
    text = value.strip()
    problem = _id_cell_problem(text)
    if problem:
        raise RosterError(source, line, problem)
    return text


def _id_cell_problem(text: str) -> str | None:
    if not text:
        return "id: empty; every student needs an ID"
    problem = id_problem(text)
    return f"id: {problem}" if problem else None


def _dialect(text: str) -> type[csv.Dialect] | csv.Dialect:
    try:
        return csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        return csv.excel


def parse_roster(text: str, source: str = "roster.csv") -> tuple[Student, ...]:
    """The students of a roster CSV, in its order."""
    if not text.strip():
        raise RosterError(source, None, "empty; a roster is a CSV with a header line naming an 'id' column, "
                                        "then one student per line")
    try:
        rows = list(csv.reader(io.StringIO(text, newline=""), _dialect(text)))
    except csv.Error as exc:
        raise RosterError(source, None, f"not a CSV file ({exc})") from None
    header = [h.strip().lower() for h in rows[0]]
    if "id" not in header:
        shown = ", ".join(repr(h) for h in rows[0][:8]) or "nothing"
        raise RosterError(source, 1, f"no 'id' column; the header line has {shown} (a roster needs a column "
                                     "named id, and may have name and others)")
    at_id, at_name = header.index("id"), (header.index("name") if "name" in header else None)
    students: list[Student] = []
    problems: list[tuple[int, str]] = []  # every bad line, reported together
    first_line: dict[str, tuple[str, int]] = {}  # the ID in lower case -> (the ID as given, its line)
    for number, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue  # a blank line, as spreadsheets leave at the end
        if len(students) + len(problems) >= MAX_STUDENTS:
            problems.append((number, f"more than {MAX_STUDENTS} students; split the class"))
            break
        problem = _row_problem(row, at_id, first_line)
        if problem:
            problems.append((number, problem))
            continue
        sid = row[at_id].strip()
        first_line[sid.lower()] = (sid, number)
        name = row[at_name].strip() if at_name is not None and at_name < len(row) else ""
        extra = tuple((rows[0][k].strip(), cell) for k, cell in enumerate(row)
                      if k not in (at_id, at_name) and k < len(rows[0]))
        students.append(Student(sid, name, extra))
    if problems:
        raise RosterError(source, *problems[0], more=tuple(problems[1:]))
    if not students:
        raise RosterError(source, None, "has a header line but no students")
    return tuple(students)


def _row_problem(row: list[str], at_id: int, first_line: dict[str, tuple[str, int]]) -> str | None:
    """Why a roster line gives no student, or None; `first_line` holds the IDs of the lines before it."""
    if len(row) <= at_id:
        return "id: missing (the line has fewer cells than the header)"
    sid = row[at_id].strip()
    problem = _id_cell_problem(sid)
    if problem:
        return problem
    if sid.lower() not in first_line:
        return None
    other, line = first_line[sid.lower()]
    if other == sid:
        return f"id: {sid!r} appears twice (also on line {line}); each student once"
    # one file on macOS and Windows, whose file systems ignore case: one student's would replace the other's
    return (f"id: {sid!r} and {other!r} (line {line}) differ only in case, and would name the same files on "
            "macOS and Windows; give IDs that differ in more than case")


def class_csv(entries: list[Entry] | tuple[Entry, ...]) -> str:
    """class.csv's text: a byte order mark, the header, then one row per student (every cell `csv_cell`)."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CLASS_COLUMNS)
    for e in entries:
        writer.writerow([csv_cell(cell) for cell in (e.id, e.name, e.fingerprint, e.variant, e.key, e.sheet)])
    return BOM + out.getvalue()


def parse_class_csv(text: str, source: str = "class.csv") -> tuple[Entry, ...]:
    """A class directory's class.csv read back; RosterError names what is wrong."""
    # a byte order mark: class_csv writes one, and read_text's decoding has usually removed it already
    rows = list(csv.reader(io.StringIO(text.removeprefix(BOM), newline="")))
    if not rows or tuple(h.strip() for h in rows[0]) != CLASS_COLUMNS:
        raise RosterError(source, 1, f"not a class directory's class.csv (its header is {', '.join(CLASS_COLUMNS)}); "
                                     "make the directory with `worksheet class`")
    entries = []
    for number, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(CLASS_COLUMNS):
            raise RosterError(source, number, f"expected {len(CLASS_COLUMNS)} cells, found {len(row)}")
        cells = [csv_value(cell) for cell in row]
        entries.append(Entry(check_id(cells[0], source, number), *cells[1:]))
    return tuple(entries)
