"""Command line: the only place that reads files and writes to the terminal.

Each command reads a spec (or the built-in HW2-1 problem), runs the pure
stages, and prints. Bad input becomes one line on stderr naming the file,
key and value, with exit status 2 and no traceback.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from .solve import SolveError
from .spec import BUILTIN_NAME, MAX_TRACE_ITERS, Spec, SpecError, builtin_text, parse_spec

SPEC_ARG = click.argument("spec_path", metavar="[SPEC]", required=False,
                          type=click.Path(dir_okay=False, path_type=Path))


def load_spec(path: Path | None) -> Spec:
    source = f"<built-in {BUILTIN_NAME}>" if path is None else str(path)
    click.get_current_context().meta["spec_source"] = source  # for errors found after parsing
    if path is None:
        return parse_spec(builtin_text(), source)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecError(str(path), "", "no such file") from None
    except UnicodeDecodeError as exc:
        raise SpecError(str(path), "", f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise SpecError(str(path), "", exc.strerror or str(exc)) from None
    return parse_spec(text, str(path))


class _Group(click.Group):
    """Turns a SpecError anywhere below into a one-line message and exit 2."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except SpecError as exc:
            click.echo(f"worksheet: {exc}", err=True)
            ctx.exit(2)
        except SolveError as exc:
            click.echo(f"worksheet: {ctx.meta.get('spec_source', '<spec>')}: {exc}", err=True)
            ctx.exit(2)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="worksheet")
def cli() -> None:
    """Hand calculations of a small neural network: forward pass,
    backpropagation and SGD updates, exact and checked against PyTorch.

    SPEC is a TOML problem file; without it, the built-in HW2-1 problem."""


@cli.command()
@SPEC_ARG
@click.option("--json", "as_json", is_flag=True, help="Print the whole solution as JSON.")
@click.option("--decimals", type=click.IntRange(0, 30), default=4, show_default=True,
              help="Decimals shown for numbers.")
def solve(spec_path: Path | None, as_json: bool, decimals: int) -> None:
    """Print the step-by-step solution."""
    from .solve import solve as run_solve

    solution = run_solve(load_spec(spec_path))
    if as_json:
        from .export import to_json

        click.echo(json.dumps(to_json(solution, decimals), indent=1, ensure_ascii=False))
        return
    from rich.console import Console

    from .report import print_solution

    print_solution(solution, Console(highlight=False), decimals)


@cli.command()
@SPEC_ARG
@click.option("--iters", type=click.IntRange(0, MAX_TRACE_ITERS), default=10, show_default=True,
              help="Print iterations 0..N.")
def trace(spec_path: Path | None, iters: int) -> None:
    """Print iterations 0..N as the seed's PyTorch script does (float32)."""
    from .trace import format_trace, run

    spec = load_spec(spec_path)
    click.echo(format_trace(spec, run(spec, iters)), nl=False)


@cli.command()
@SPEC_ARG
@click.pass_context
def verify(ctx: click.Context, spec_path: Path | None) -> None:
    """Check every number against PyTorch autograd in float64."""
    from .solve import solve as run_solve
    from .verify import TOLERANCE, TorchMissing, compare, reference

    spec = load_spec(spec_path)
    try:
        ref = reference(spec)
    except TorchMissing as exc:
        click.echo(f"worksheet: {exc}", err=True)
        ctx.exit(3)
    rows = compare(run_solve(spec), ref)
    width = max(len(r.quantity) for r in rows)
    click.echo(f"{'quantity':<{width}}  {'values':>6}  {'max abs diff':>12}  {'max rel diff':>12}")
    for r in rows:
        flag = "" if r.ok else "  MISMATCH"
        click.echo(f"{r.quantity:<{width}}  {r.count:>6}  {r.abs_diff:>12.3e}  {r.rel_diff:>12.3e}{flag}")
    bad = [r for r in rows if not r.ok]
    if bad:
        click.echo(f"{len(bad)} of {len(rows)} quantities differ from PyTorch by more than "
                   f"{TOLERANCE:g} (relative).")
        ctx.exit(1)
    click.echo(f"All {len(rows)} quantities agree with PyTorch (float64) to {TOLERANCE:g} relative.")


@cli.command("torch-script")
@SPEC_ARG
@click.option("--iters", type=click.IntRange(0, MAX_TRACE_ITERS), default=10, show_default=True)
def torch_script(spec_path: Path | None, iters: int) -> None:
    """Print a standalone PyTorch script that reproduces `trace`."""
    from .script import torch_script as make

    click.echo(make(load_spec(spec_path), iters), nl=False)


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit status instead of exiting when called in-process."""
    try:
        code = cli.main(args=argv, prog_name="worksheet", standalone_mode=False)
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except click.exceptions.Abort:
        click.echo("Aborted!", err=True)
        return 1
    # without standalone mode click returns ctx.exit's status rather than exiting
    return code if isinstance(code, int) else 0


if __name__ == "__main__":
    sys.exit(main())
