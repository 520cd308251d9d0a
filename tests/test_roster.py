"""Rosters as spreadsheets export them, and a class directory's class.csv read back."""

import csv
import io

import pytest

from worksheet.classes.roster import (
    Entry,
    RosterError,
    class_csv,
    csv_cell,
    csv_value,
    parse_class_csv,
    parse_roster,
    plural,
)


def test_a_roster_as_a_spreadsheet_exports_it():
    text = "Name;ID;Group\nAda Lovelace;s01;A\n\nAlan Turing;s02;B\n"  # semicolons, columns in any order
    students = parse_roster(text)
    assert [(s.id, s.name, s.extra) for s in students] == [("s01", "Ada Lovelace", (("Group", "A"),)),
                                                            ("s02", "Alan Turing", (("Group", "B"),))]
    assert [s.id for s in parse_roster("id\ns-1\ns_2\n")] == ["s-1", "s_2"]


@pytest.mark.parametrize("text, message", [
    ("", "empty"),
    ("name\nAda\n", "no 'id' column"),
    ("id,name\ns01,Ada\ns01,Bob\n", "roster.csv:3: id: 's01' appears twice (also on line 2)"),
    ("id,name\n../x,Eve\n", "roster.csv:2: id: '../x' cannot name a file"),
    ("id,name\n,Eve\n", "roster.csv:2: id: empty"),
    ("id,name\n", "no students"),
])
def test_a_bad_roster_is_named(text, message):
    with pytest.raises(RosterError) as err:
        parse_roster(text, "roster.csv")
    assert message in str(err.value)


def test_class_csv_reads_back():
    entries = (Entry("s01", "Ada, Countess", "abd3ce36", "variants/s01.toml", "keys/s01.pdf", "sheets/s01.pdf"),)
    assert parse_class_csv(class_csv(entries)) == entries
    with pytest.raises(RosterError, match="not a class directory's class.csv"):
        parse_class_csv("id,name\n")


def test_ids_that_differ_only_in_case_are_refused_naming_both_lines():
    """ab and AB name one file on macOS and Windows: one student's sheet would replace the other's."""
    with pytest.raises(RosterError) as err:
        parse_roster("id,name\nab,Ann\ns02,Bo\nAB,Cy\n", "roster.csv")
    assert str(err.value).startswith("roster.csv:4: id: 'AB' and 'ab' (line 2) differ only in case")


def test_a_non_ascii_id_is_refused_saying_ascii():
    with pytest.raises(RosterError) as err:
        parse_roster("id,name\nJosé,José Álvarez\n", "roster.csv")
    assert "roster.csv:2: id: 'José' cannot name a file; an ID is 1 to 64 ASCII letters, digits" in str(err.value)


NAMES = ["Zoë Müller", '=HYPERLINK("x")', "+1", "-A1", "@SUM(A1)", "'quoted", "''two", "Renée \"Ren\" Smith", "王小明"]


def test_class_csv_has_a_bom_escapes_formulas_and_reads_back():
    """Excel on Windows reads a CSV as UTF-8 only after a byte order mark; a name that a spreadsheet would
    run as a formula is written with a ' before it, as in the gradebook; every name reads back as given."""
    entries = tuple(Entry(f"s{n:02d}", name, "abd3ce36", f"variants/s{n:02d}.toml", f"keys/s{n:02d}.pdf",
                          f"sheets/s{n:02d}.pdf") for n, name in enumerate(NAMES))
    text = class_csv(entries)
    assert text.startswith("\ufeffid,name,")
    cells = {row[0]: row[1] for row in csv.reader(io.StringIO(text.removeprefix("\ufeff")))}
    assert cells["s01"] == "'=HYPERLINK(\"x\")" and cells["s02"] == "'+1" and cells["s03"] == "'-A1"
    assert cells["s04"] == "'@SUM(A1)" and cells["s00"] == "Zoë Müller" and cells["s05"] == "''quoted"
    assert parse_class_csv(text) == entries  # with its BOM
    assert parse_class_csv(text.removeprefix("\ufeff")) == entries  # as read_text decodes it
    assert parse_class_csv(text.encode("utf-8").decode("utf-8-sig")) == entries


def test_csv_cells_round_trip():
    for text in [*NAMES, "", "'", "plain 'inside'", "\tx"]:
        assert csv_value(csv_cell(text)) == text
    assert csv_value("'x") == "'x"  # a ' a person typed before a plain letter stays


def test_plural():
    assert plural(1, "student") == "1 student" and plural(2, "student") == "2 students"
    assert plural(0, "file") == "0 files" and plural(3, "was", "were") == "3 were"


def test_every_problem_of_a_roster_is_named_at_once():
    """A roster with four bad lines says all four, each with its line, not the first one a rerun."""
    text = "id,name\nJosé,José Álvarez\ns01,Ada\ns02,Bo\ns02,Bob\nS02,Cy\n,Dee\ns03,Eve\n"
    with pytest.raises(RosterError) as err:
        parse_roster(text, "roster.csv")
    assert err.value.lines() == [
        "roster.csv:2: id: 'José' cannot name a file; an ID is 1 to 64 ASCII letters, digits, '.', '_' or '-', "
        "not starting with '.'",
        "roster.csv:5: id: 's02' appears twice (also on line 4); each student once",
        "roster.csv:6: id: 'S02' and 's02' (line 4) differ only in case, and would name the same files on macOS "
        "and Windows; give IDs that differ in more than case",
        "roster.csv:7: id: empty; every student needs an ID",
    ]
    assert (err.value.line, err.value.message) == (2, err.value.lines()[0].removeprefix("roster.csv:2: "))
    assert str(err.value) == "\n".join(err.value.lines())
