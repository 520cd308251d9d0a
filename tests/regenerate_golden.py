"""Rewrite tests/golden/<problem>.html from the current code: run it after an
intended change to the worksheet's HTML, then review the diff (git diff
tests/golden) before committing."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from conftest import PROBLEMS, load  # noqa: E402
from test_render import GOLDEN, html_for  # noqa: E402

if __name__ == "__main__":
    GOLDEN.mkdir(exist_ok=True)
    for name in PROBLEMS:
        path = GOLDEN / f"{name}.html"
        path.write_text(html_for(load(name)), encoding="utf-8")
        print(path)
