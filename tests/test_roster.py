"""Rosters as spreadsheets export them, and a class directory's class.csv read back."""

import pytest

from worksheet.classes.roster import Entry, RosterError, class_csv, parse_class_csv, parse_roster


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
