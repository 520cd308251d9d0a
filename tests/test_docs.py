"""The README and docs/ stay true: the commands and options they name exist, their links and
pictures point at files, their specs solve, and the quick-start lines CI runs are there.

These read the documents loosely (a table row, a code span, a link) so that rewording the
prose never breaks them; only a command, option, file or spec that does not exist does."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import pytest
from click.testing import CliRunner

from worksheet.cli import cli
from worksheet.solve import solve
from worksheet.spec import parse_spec

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DOCUMENTS = [README, *sorted((ROOT / "docs").glob("*.md"))]
PICTURE = ROOT / "docs" / "page.png"
# CI (.ci/run) runs the second line exactly; the first is what a new user types.
QUICK_START = (
    "python3 -m venv .venv && .venv/bin/pip install -q -e . && .venv/bin/worksheet",
    "python3 -m venv .venv && .venv/bin/pip install -q -e '.[test]' && .venv/bin/pytest",
)

FENCE = re.compile(r"^[ \t]*```([\w-]*)[^\n]*\n(.*?)^[ \t]*```", re.M | re.S)  # also indented, in a list
CODE_SPAN = re.compile(r"`([^`]+)`")
OPTION = re.compile(r"(?<![^\s\[(/|])(--?[A-Za-z][\w-]*)")  # -o, --blank, [--iters N], --script/--no-script
COMMAND_WORD = re.compile(r"[a-z][a-z-]*")
# a worksheet command line: `worksheet render ...`, `.venv/bin/worksheet`, `python -m worksheet solve`
INVOCATION = re.compile(r"(?:^|(?<=\s)|(?<=/))(?:python3? -m )?worksheet(?=\s|$)(.*)")


def text(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def prose(markdown: str) -> str:
    """The document without its fenced code blocks (links are not looked for in code)."""
    return FENCE.sub("", markdown)


@cache
def help_text(*command: str) -> str:
    result = CliRunner().invoke(cli, [*command, "--help"], terminal_width=200)
    assert result.exit_code == 0, result.output
    return result.output


def commands_in_help(*group: str) -> set[str]:
    """The command names listed under `Commands:` in `worksheet --help` (or a group's, such as `export`)."""
    listing = help_text(*group).split("Commands:", 1)[1] if "Commands:" in help_text(*group) else ""
    return {m.group(1) for m in re.finditer(r"^\s+([a-z][a-z-]*)\s", listing, re.M)}


def options_in_help(command: str | None, sub: str | None = None) -> set[str]:
    return set(OPTION.findall(help_text(*[c for c in (command, sub) if c])))


def subcommand(command: str | None, words: list[str]) -> str | None:
    """The word after a group's name (`worksheet export moodle`): the group's command it names."""
    if command is None or command not in commands_in_help() or not words:
        return None
    return words[0] if words[0] in commands_in_help(command) else None


def table_rows() -> list[str]:
    """The rows of the README's commands table: the lines of a table whose first cell is `worksheet ...`."""
    return [line for line in text(README).splitlines() if re.match(r"\|\s*`worksheet\b", line)]


def invocations(markdown: str) -> list[tuple[str | None, str | None, set[str], str]]:
    """Every `worksheet ...` command line in the document's code (spans and shell blocks):
    (command or None, the group's subcommand or None, the options it names, the line)."""
    found = []
    pieces = [" ".join(span.split()) for span in CODE_SPAN.findall(prose(markdown))]
    for lang, body in FENCE.findall(markdown):
        if lang in ("", "sh", "bash", "shell", "console"):
            pieces += body.splitlines()
    for piece in pieces:
        m = INVOCATION.search(piece)
        if not m:
            continue
        rest = m.group(1).split()
        command = rest[0] if rest and COMMAND_WORD.fullmatch(rest[0]) else None
        found.append((command, subcommand(command, rest[1:]), set(OPTION.findall(m.group(1))), piece))
    return found


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: formatting dropped, lower case, punctuation removed, spaces as hyphens."""
    plain = re.sub(r"[`*_]{1,2}([^`*_]+)[`*_]{1,2}", r"\1", heading).strip().lower()
    return re.sub(r"[^\w\- ]", "", plain).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    seen: dict[str, int] = {}
    out = set()
    for heading in re.findall(r"^#{1,6}\s+(.+?)\s*#*\s*$", prose(text(path)), re.M):
        base = slug(heading)
        n = seen.get(base, 0)
        seen[base] = n + 1
        out.add(base if n == 0 else f"{base}-{n}")
    return out


def links(path: Path) -> list[str]:
    """Relative link and picture targets: [text](target), ![alt](target), <img src>, <a href>."""
    body = CODE_SPAN.sub("", prose(text(path)))
    targets = re.findall(r"\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)", body)
    targets += re.findall(r"<(?:img|a)\b[^>]*?\b(?:src|href)=\"([^\"]+)\"", body)
    return [t for t in targets if not re.match(r"[a-z][a-z+.-]*:", t)]  # http:, https:, mailto:


# -- the commands table ----------------------------------------------------------


def test_readme_has_a_commands_table():
    assert len(table_rows()) >= 5


@pytest.mark.parametrize("row", table_rows(), ids=lambda r: CODE_SPAN.search(r).group(1)[:40])
def test_every_command_and_option_in_the_table_exists(row):
    first = CODE_SPAN.search(row).group(1).split()
    command = first[1] if len(first) > 1 and COMMAND_WORD.fullmatch(first[1]) else None
    if command is not None:
        assert command in commands_in_help(), f"`worksheet {command}` is not in `worksheet --help`"
    named = {opt for span in CODE_SPAN.findall(row) for opt in OPTION.findall(span)}
    missing = named - options_in_help(command, subcommand(command, first[2:]))
    assert not missing, f"`worksheet {command or ''}` has no option {sorted(missing)}"


def test_every_command_of_the_cli_is_in_the_table():
    listed = {CODE_SPAN.search(row).group(1).split()[1] for row in table_rows()
              if len(CODE_SPAN.search(row).group(1).split()) > 1}
    assert commands_in_help() <= listed, f"not in the README's commands table: {commands_in_help() - listed}"


@pytest.mark.parametrize("path", DOCUMENTS, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_command_line_in_the_documents_exists(path):
    for command, sub, options, line in invocations(text(path)):
        if command is not None:
            assert command in commands_in_help(), f"{path.name}: {line!r}: no command {command!r}"
        missing = options - options_in_help(command, sub)
        assert not missing, f"{path.name}: {line!r}: no option {sorted(missing)}"


def test_the_cli_help_points_at_a_readme_section():
    # `worksheet --help` sends readers to README.md ("The spec file"): that heading must be there
    sections = re.findall(r'README\.md \("([^"]+)"\)', " ".join(help_text().split()))
    assert sections, "`worksheet --help` no longer says where the spec format is described"
    for section in sections:
        assert any(h.lower().startswith(section.lower()) for h in re.findall(r"^#+\s+(.+)$", text(README), re.M)), (
            f"`worksheet --help` refers to the README's section {section!r}, which is not there"
        )


# -- links, pictures and paths ---------------------------------------------------


@pytest.mark.parametrize("path", DOCUMENTS, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_relative_link_and_picture_exists(path):
    for target in links(path):
        file, _, anchor = target.partition("#")
        dest = (path.parent / file).resolve() if file else path
        assert dest.exists(), f"{path.name}: the link {target!r} points at nothing"
        assert ROOT in dest.parents or dest == ROOT, f"{path.name}: the link {target!r} leaves the repository"
        if anchor and dest.suffix == ".md":
            assert anchor in anchors(dest), f"{path.name}: {target!r}: {dest.name} has no heading #{anchor}"


@pytest.mark.parametrize("path", DOCUMENTS, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_repository_path_named_in_code_exists(path):
    tops = {p.name for p in ROOT.iterdir() if p.is_dir() and p.name not in (".git", ".venv", "out", "build")}
    for span in CODE_SPAN.findall(prose(text(path))):
        if re.fullmatch(r"[\w.-]+(/[\w.-]+)+/?", span) and span.split("/")[0] in tops:
            assert (ROOT / span).exists(), f"{path.name}: `{span}` does not exist"


def test_the_readme_shows_the_page_picture():
    assert "docs/page.png" in [t.partition("#")[0] for t in links(README)]
    data = PICTURE.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(data) < 150_000, f"docs/page.png is {len(data)} bytes; rerun scripts/make_page_png.py"


# -- specs and quick start -------------------------------------------------------


def specs(path: Path) -> list[str]:
    return [body for lang, body in FENCE.findall(text(path)) if lang == "toml" and "[network]" in body]


def test_the_readme_has_a_spec_example():
    assert specs(README)


@pytest.mark.parametrize("path", DOCUMENTS, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_spec_in_the_documents_solves(path):
    for n, body in enumerate(specs(path), start=1):
        spec = parse_spec(body, f"{path.name}, spec {n}")
        solution = solve(spec)
        assert len(solution.steps) == spec.steps


def test_the_quick_start_lines_are_in_the_readme():
    blocks = "\n".join(body for _, body in FENCE.findall(text(README)))
    for line in QUICK_START:
        assert line in blocks.splitlines(), f"the README's quick start has lost {line!r}"


def test_ci_runs_the_readmes_test_line():
    ci = ROOT / ".ci" / "run"
    if not ci.exists():
        pytest.skip(".ci/run is not in this checkout")
    assert QUICK_START[1] in text(ci)
