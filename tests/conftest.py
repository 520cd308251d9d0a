from pathlib import Path

import pytest

from worksheet.spec import builtin_text, parse_spec

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "examples").glob("*.toml"))
SEED = ROOT.parent / "shared" / "seed" / "hw2-1-assignment.txt"
PROBLEMS = ["builtin"] + [p.stem for p in EXAMPLES]


def load(name: str):
    if name == "builtin":
        return parse_spec(builtin_text(), "builtin")
    path = ROOT / "examples" / f"{name}.toml"
    return parse_spec(path.read_text(), str(path))


@pytest.fixture(params=PROBLEMS)
def problem(request):
    return load(request.param)


def seed_text() -> str:
    if not SEED.exists():
        pytest.fail(f"the seed assignment is missing at {SEED}; tests need shared/ beside the repo")
    return SEED.read_text()
