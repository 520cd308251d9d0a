from pathlib import Path

import pytest

from worksheet.spec import builtin_text, parse_spec

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "examples").glob("*.toml"))
# The homework's printout is test data kept in the repo; the homework's own
# script is not ours to copy, so the one test that runs it looks for the
# assignment beside the repo (as on the development machine) and skips without it.
PRINTOUT = ROOT / "tests" / "data" / "hw2-1-printout.txt"
ASSIGNMENT = ROOT.parent / "shared" / "seed" / "hw2-1-assignment.txt"
PROBLEMS = ["builtin"] + [p.stem for p in EXAMPLES]


def load(name: str):
    if name == "builtin":
        return parse_spec(builtin_text(), "builtin")
    path = ROOT / "examples" / f"{name}.toml"
    return parse_spec(path.read_text(), str(path))


def make_class(tmp_path: Path, ids=("s2", "s1"), name: str = "class", texts: dict | None = None) -> Path:
    """A class directory as `worksheet class` leaves it: a variant per id (each its own x, or `texts[id]`),
    and class.csv naming them."""
    from worksheet.classes.roster import Entry, Layout, class_csv

    folder = tmp_path / name
    (folder / "variants").mkdir(parents=True)
    entries = []
    for n, sid in enumerate(ids):
        text = (texts or {}).get(sid) or builtin_text().replace("x = [2]", f"x = [{3 + n}]")
        assert text != builtin_text()
        layout = Layout(sid)
        (folder / layout.variant).write_text(text)
        entries.append(Entry(sid, f"Student {sid}", "00000000", layout.variant, layout.key, layout.sheet))
    (folder / "class.csv").write_text(class_csv(entries), encoding="utf-8")
    return folder


# the bad SOURCEs and parts every export refuses alike (exit 2, what it says); make_export_sources makes them
BAD_EXPORT_INPUT = [
    (["{tmp}"], "no class.csv"),
    (["{tmp}/empty"], "no students"),
    (["{tmp}/missing.toml"], "no such file"),
    (["{tmp}/bad"], "bad.toml"),
    (["--only", "momentum"], "no momentum"),
    (["--only", "nonsense"], "not a part"),
]


def make_export_sources(tmp_path: Path) -> None:
    """What an export's bad-input tests name: a class, a folder without class.csv, a class of nobody,
    a class whose variant is a bad spec."""
    make_class(tmp_path)
    make_class(tmp_path, ids=(), name="empty")
    make_class(tmp_path, ids=("bad",), name="bad", texts={"bad": "[network]\ninputs = 'x'\n"})


@pytest.fixture(params=PROBLEMS)
def problem(request):
    return load(request.param)


def printout_text() -> str:
    """The homework's PyTorch printout, iterations 0 to 10 (from "Iters 0")."""
    text = PRINTOUT.read_text()
    return text[text.index("Iters 0"):]


def assignment_text() -> str:
    if not ASSIGNMENT.exists():
        pytest.skip(f"the homework's own PyTorch script is not in this repository (it is not ours to copy); "
                    f"this test runs it only where the assignment lies at {ASSIGNMENT}")
    return ASSIGNMENT.read_text()
