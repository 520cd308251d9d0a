"""Command line: the commands, over the pure stages; with the web app, the only place that
reads files (through `files`) and the only one that writes to the terminal.

Each command reads a spec (or the built-in HW2-1 problem), runs the pure
stages, and prints. Bad input becomes one line on stderr naming the file,
key and value, with exit status 2 and no traceback; control characters in it
(from a file's text, say) are shown escaped (`\\x1b`), never sent to the
terminal. Input files are UTF-8, with or without a byte order mark.

Outputs are all or nothing (`files.commit`): every file is made in memory,
checked not to replace an input (the spec, the answers file, a template
override), written to a temporary name beside its place, and renamed only
when all are written; a file that existed keeps its permissions. Paths are
printed after the last rename.
"""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Callable, Iterable
from importlib import resources
from pathlib import Path

import click

from .answers import AnswersError, AnswerSheet
from .classes.roster import RosterError
from .files import (
    MAX_INPUT_BYTES,
    MAX_PDF_BYTES,
    OutputError,
    commit,
    decode,
    guard_outputs,
    read_bytes,
    read_text,
    terminal_safe,
    write_whole,
)
from .solve import Solution, SolveError
from .spec import BUILTIN_NAME, MAX_NUMBER_TEXT, MAX_TRACE_ITERS, Spec, SpecError, builtin_text, parse_spec

SPEC_ARG = click.argument("spec_path", metavar="[SPEC]", required=False,
                          type=click.Path(dir_okay=False, path_type=Path))


def spec_text(path: Path | None) -> tuple[str, str]:
    """A spec file's text (the built-in problem's without one) and its name for messages."""
    source = f"<built-in {BUILTIN_NAME}>" if path is None else str(path)
    click.get_current_context().meta["spec_source"] = source  # for errors found after parsing
    if path is None:
        return builtin_text(), source
    return read_text(path, lambda message: SpecError(source, "", message)), source


def load_spec(path: Path | None) -> Spec:
    return parse_spec(*spec_text(path))


def spec_file(path: Path | None) -> Path:
    """The spec's file, the built-in problem's included: an input no output may replace."""
    return path if path is not None else Path(str(resources.files("worksheet").joinpath("problems", BUILTIN_NAME)))


def answers_from(data: bytes, source: str, sol: Solution) -> AnswerSheet:
    """A student's answers: an answers file (TOML), or the fillable blank sheet filled in (PDF)."""
    from .answers import parse_answers
    from .forms import is_pdf, read_filled

    if is_pdf(data):
        return read_filled(data, source, sol)
    error = lambda message: AnswersError(source, None, message)  # noqa: E731
    if len(data) > MAX_INPUT_BYTES:
        raise error(f"larger than {MAX_INPUT_BYTES // 1_000_000} MB; an answers file is a few KB")
    return parse_answers(decode(data, error), source, sol)


class _Group(click.Group):
    """Turns bad input anywhere below (a spec, an answers file, an output that
    cannot be made) into a one-line message and exit 2."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except (SpecError, OutputError, AnswersError, RosterError) as exc:
            click.echo(f"worksheet: {terminal_safe(str(exc))}", err=True)
            ctx.exit(2)
        except SolveError as exc:
            click.echo(terminal_safe(f"worksheet: {ctx.meta.get('spec_source', '<spec>')}: {exc}"), err=True)
            ctx.exit(2)


DIGITS = click.option("--digits", type=click.IntRange(1, 30), default=None,
                      help="Show numbers to N significant digits instead of a number of decimals.")


def precision(decimals: int, digits: int | None) -> int:
    """What every printer takes: decimals, or with --digits a count of significant digits (not both)."""
    from .notation import Digits

    ctx = click.get_current_context(silent=True)
    if digits is not None and ctx is not None and \
            ctx.get_parameter_source("decimals") is not click.core.ParameterSource.DEFAULT:
        raise click.UsageError("give --decimals N or --digits N, not both: --digits would win unsaid")
    return Digits(digits) if digits is not None else decimals


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]},
             invoke_without_command=True)
@click.version_option(package_name="worksheet")
@click.pass_context
def cli(ctx: click.Context) -> None:
    """Hand calculations of a small neural network: forward pass,
    backpropagation and SGD updates, exact and checked against PyTorch.

    Without a command, renders the built-in HW2-1 problem's answer key to
    out/hw2-1.html and out/hw2-1.pdf.

    SPEC is a TOML problem file; without it, the built-in HW2-1 problem. The
    format is in README.md ("The spec file"); examples/ holds more problems,
    examples/mazur.toml being Mazur's well-known 2-2-2 sigmoid example."""
    if ctx.invoked_subcommand is None:
        ctx.invoke(render)


@cli.command(short_help="Print the step-by-step solution (--json: as data).")
@SPEC_ARG
@click.option("--json", "as_json", is_flag=True, help="Print the whole solution as JSON.")
@click.option("--decimals", type=click.IntRange(0, 30), default=4, show_default=True,
              help="Decimals shown for numbers (never fewer than 4 significant digits).")
@DIGITS
def solve(spec_path: Path | None, as_json: bool, decimals: int, digits: int | None) -> None:
    """Print the step-by-step solution."""
    decimals = precision(decimals, digits)
    from .solve import solve as run_solve

    solution = run_solve(load_spec(spec_path))
    if as_json:
        from .export import to_json

        click.echo(json.dumps(to_json(solution, decimals), indent=1, ensure_ascii=False))
        return
    from rich.console import Console

    from .report import print_solution

    print_solution(solution, Console(highlight=False), decimals)


@cli.command(short_help="Print iterations 0..N as PyTorch prints them (float32).")
@SPEC_ARG
@click.option("--iters", type=click.IntRange(0, MAX_TRACE_ITERS), default=10, show_default=True,
              help="Print iterations 0..N.")
def trace(spec_path: Path | None, iters: int) -> None:
    """Print iterations 0..N as the homework's PyTorch script does (float32)."""
    from .trace import format_trace, run

    spec = load_spec(spec_path)
    click.echo(format_trace(spec, run(spec, iters)), nl=False)


@cli.command(short_help="Check every number against PyTorch autograd (float64).")
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


FORMATS = ("html", "pdf")


def _formats(ctx, param, value: str) -> tuple[str, ...]:
    chosen = tuple(dict.fromkeys(part.strip().lower() for part in value.split(",") if part.strip()))
    bad = [f for f in chosen if f not in FORMATS]
    if bad or not chosen:
        raise click.BadParameter(f"{', '.join(repr(b) for b in bad) or 'nothing'} is not a format; "
                                 f"give one or both of {', '.join(FORMATS)}, comma-separated")
    return chosen


@cli.command(short_help="Render the answer key, or a blank sheet, as HTML and PDF.")
@SPEC_ARG
@click.option("-o", "--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("out"),
              show_default=True, help="Folder for the output files.")
@click.option("--format", "formats", default="html,pdf", show_default=True, callback=_formats,
              help="html, pdf, or both, comma-separated.")
@click.option("--blank", is_flag=True, help="A blank sheet: the same pages, with empty labelled boxes.")
@click.option("--decimals", type=click.IntRange(0, 12), default=4, show_default=True,
              help="Decimals shown for numbers (never fewer than 4 significant digits).")
@DIGITS
@click.option("--paper", type=click.Choice(["a4", "letter"]), default="a4", show_default=True,
              help="Paper size of the PDF.")
@click.option("--templates", "templates_dir", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="A folder of templates that replace the package's ones of the same name.")
@click.option("--iters", type=click.IntRange(1, 1000), default=10, show_default=True,
              help="Iterations of the PyTorch check and the loss plot.")
@click.option("--formulas", type=click.Choice(["show", "hide"]), default="show", show_default=True,
              help="With --blank, hide: no derivation and no formula beside a box; the student writes them.")
@click.option("--script/--no-script", "with_script", default=None,
              help="Print the PyTorch script that checks the numbers.  [default: on the key, not on a blank sheet]")
def render(spec_path: Path | None = None, out_dir: Path = Path("out"), formats: tuple[str, ...] = FORMATS,
           blank: bool = False, decimals: int = 4, paper: str = "a4", templates_dir: Path | None = None,
           iters: int = 10, formulas: str = "show", with_script: bool | None = None, digits: int | None = None) -> None:
    """Render the worksheet as HTML and PDF: the answer key, or a blank sheet."""
    from .document import Options, build
    from .script import torch_script as make_script
    from .solve import solve as run_solve
    from .trace import run

    decimals = precision(decimals, digits)
    if formulas == "hide" and not blank:
        raise click.BadParameter("hide is for a blank sheet (add --blank); an answer key shows its formulas",
                                 param_hint="'--formulas'")
    spec = load_spec(spec_path)
    # a sheet without formulas is another document: it must not replace the one with them
    suffix = ("-blank-no-formulas" if formulas == "hide" else "-blank") if blank else ""
    stem = (Path(BUILTIN_NAME) if spec_path is None else spec_path).stem + suffix
    solution = run_solve(spec)
    doc = build(solution, run(spec, max(iters, spec.steps)), Options(decimals, blank, paper, formulas == "show"),
                torch_script=make_script(spec, iters) if (not blank if with_script is None else with_script) else "")
    write_all(rendered(doc, out_dir / f"{stem}.html" if "html" in formats else None,
                       out_dir / f"{stem}.pdf" if "pdf" in formats else None, templates_dir,
                       inputs=(spec_file(spec_path),)))


def rendered(doc, html_path: Path | None, pdf_path: Path | None, templates_dir: Path | None = None,
             inputs: Iterable[Path | None] = ()) -> dict[Path, bytes]:
    """The document as the files asked for, made in memory: path -> bytes.

    `templates_dir` is the operator's `--templates` folder, never anything a
    document or a request names. Refuses (OutputError) before any work an
    output that would replace one of `inputs`, the other output, or a template."""
    from .pdf import PdfError, to_pdf
    from .render import TemplateError, to_html

    paths = [p for p in (html_path, pdf_path) if p is not None]
    guard_outputs(paths, [p for p in inputs if p is not None], templates_dir)
    try:
        html = to_html(doc, templates_dir)
    except TemplateError as exc:
        raise OutputError(f"{templates_dir or 'templates'}: {exc}") from None
    outputs: dict[Path, bytes] = {}
    if html_path is not None:
        outputs[html_path] = html.encode("utf-8")
    if pdf_path is not None:
        try:
            outputs[pdf_path] = to_pdf(html)
        except PdfError as exc:
            raise OutputError(str(exc)) from None
    return outputs


def write_all(outputs: dict[Path, bytes], err: bool = False) -> None:
    """Write every output, all or nothing, then print their paths (on stderr when
    stdout carries JSON, so that it stays one JSON document)."""
    commit(outputs)
    for path in outputs:
        click.echo(str(path), err=err)


def _parts(ctx, param, value: str | None) -> tuple[str, ...] | None:
    from .answers import parse_parts

    if value is None:
        return None
    try:
        return parse_parts(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


@cli.command(short_help="Write the answers file a student's numbers are typed into.")
@SPEC_ARG
@click.option("-o", "--out", "out_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the answers file here (it must not exist yet) instead of printing it.")
@click.option("--only", "parts", callback=_parts, metavar="PARTS",
              help="Ask only for these parts, comma-separated: forward, loss, backward, gradients, momentum, "
                   "eta, updates (the score counts only these).")
@click.option("--from", "filled_path", type=click.Path(dir_okay=False, path_type=Path), metavar="FILLED.pdf",
              help="Take the numbers typed into a fillable blank sheet (PDF) and write them as an answers file.")
def answers(spec_path: Path | None, out_path: Path | None, parts: tuple[str, ...] | None,
            filled_path: Path | None) -> None:
    """Print (or write) an answers file to type a student's numbers into, or (--from) the
    numbers a student typed into the fillable blank sheet."""
    from .answers import absent_parts, answers_template
    from .forms import read_filled
    from .solve import solve as run_solve

    sol = run_solve(load_spec(spec_path))
    if parts and absent_parts(sol, parts):
        raise click.BadParameter(f"this problem has no {' or '.join(absent_parts(sol, parts))} to work out",
                                 param_hint="'--only'")
    filled = None
    if filled_path is not None:
        data = read_bytes(filled_path, lambda message: AnswersError(str(filled_path), None, message), MAX_PDF_BYTES)
        filled = read_filled(data, str(filled_path), sol)
    text = answers_template(sol, parts, filled)
    if out_path is None:
        click.echo(text, nl=False)
        return
    if out_path.exists():  # it may hold a student's typed answers
        raise OutputError(f"{out_path}: already exists; it is not overwritten (give another name, or delete it)")
    write_whole(out_path, text.encode("utf-8"))
    click.echo(str(out_path))


def _weights(ctx, param, value: str | None):
    from fractions import Fraction

    from .check import DEFAULT_WEIGHTS

    weights = dict(DEFAULT_WEIGHTS)
    for part in (value or "").split(","):
        if not part.strip():
            continue
        name, _, number = part.partition("=")
        name = name.strip()
        if name not in weights:
            raise click.BadParameter(f"{name!r} is not a verdict; give right, carried, wrong or missing, "
                                     "as right=1,carried=0.5")
        number = number.strip()[:MAX_NUMBER_TEXT]
        try:
            weights[name] = Fraction(number)
        except (ValueError, ZeroDivisionError):
            raise click.BadParameter(f"{name}={number}: the weight must be a number") from None
        if not 0 <= weights[name] <= 1000:
            raise click.BadParameter(f"{name}={number}: points go from 0 to 1000")
    if weights["right"] == 0 or any(w > weights["right"] for w in weights.values()):
        raise click.BadParameter("a right answer must be worth more than 0 and at least as much as any other verdict")
    return weights


@cli.command(short_help="Mark a student's answers as a careful human marker would.")
@click.argument("paths", nargs=-1, metavar="[SPEC] ANSWERS", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--html", "html_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the marked worksheet as HTML.")
@click.option("--pdf", "pdf_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the marked worksheet as PDF.")
@click.option("--weights", callback=_weights, metavar="right=1,carried=1,wrong=0,missing=0",
              help="Points per verdict for the score.  [default: right=1,carried=1,wrong=0,missing=0]")
@click.option("--decimals", type=click.IntRange(0, 12), default=4, show_default=True,
              help="Decimals of the expected values shown (never fewer than 4 significant digits).")
@DIGITS
@click.option("--json", "as_json", is_flag=True, help="Print the marking as JSON instead of the report.")
@click.pass_context
def check(ctx: click.Context, paths: tuple[Path, ...], html_path: Path | None, pdf_path: Path | None,
          weights, decimals: int, as_json: bool, digits: int | None) -> None:
    """Mark a student's answers: the first wrong step, credit carried forward, the mistake named.

    Exit status 0 when every answer is right or carried forward, 1 otherwise."""
    decimals = precision(decimals, digits)
    from .answers import changed_sheet, looks_like_answers
    from .check import check as run_check
    from .forms import is_pdf
    from .solve import solve as run_solve

    if len(paths) not in (1, 2):
        raise click.UsageError("give the answers file, and before it the spec unless it is the built-in problem")
    spec_path, answers_path = (None, paths[0]) if len(paths) == 1 else paths
    data = read_bytes(answers_path, lambda message: AnswersError(str(answers_path), None, message), MAX_PDF_BYTES)
    text = "" if is_pdf(data) or len(data) > MAX_INPUT_BYTES else data.decode("utf-8-sig", "replace")
    if spec_path is not None and text and not looks_like_answers(text):
        spec_text = read_text(spec_path, lambda message: SpecError(str(spec_path), "", message))
        if looks_like_answers(spec_text):
            raise AnswersError(str(spec_path), None, f"this is an answers file and {answers_path} a spec: the spec "
                                                     f"comes first, as in `worksheet check {answers_path} {spec_path}`")
    spec = load_spec(spec_path)
    sol = run_solve(spec)
    sheet = answers_from(data, str(answers_path), sol)
    if refusal := changed_sheet(sheet, sol, str(spec_path or "the built-in problem")):
        raise AnswersError(str(answers_path), None, refusal)
    marking = run_check(sol, sheet, weights, sheet.parts)
    outputs = {}
    if html_path or pdf_path:
        from .document import Options, build
        from .trace import run

        doc = build(sol, run(spec, spec.steps), Options(decimals, blank=True), marking=marking)
        outputs = rendered(doc, html_path, pdf_path, inputs=(spec_file(spec_path), answers_path))
    if as_json:
        from .feedback import marking_json

        click.echo(json.dumps(marking_json(marking, decimals, sol.exact), indent=1, ensure_ascii=False))
    else:
        from rich.console import Console

        from .feedback import print_marking

        print_marking(marking, Console(highlight=False), decimals, sol.exact)
    write_all(outputs, err=as_json)
    if marking.counts["wrong"] or marking.counts["missing"]:
        ctx.exit(1)


@cli.command("torch-script", short_help="Print a PyTorch script that prints what trace prints.")
@SPEC_ARG
@click.option("--iters", type=click.IntRange(0, MAX_TRACE_ITERS), default=10, show_default=True,
              help="The script prints iterations 0..N.")
def torch_script(spec_path: Path | None, iters: int) -> None:
    """Print a standalone PyTorch script that reproduces `trace`."""
    from .script import torch_script as make

    click.echo(make(load_spec(spec_path), iters), nl=False)


@cli.command(short_help="Serve the student page and the problem editor in a browser, on this machine.")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on; the default answers this machine only.")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True,
              help="Port to listen on (0: any free port).")
@click.option("--problems", "problems_dir", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="A folder whose *.toml problems are offered beside the built-in one and the examples.")
@click.option("--class", "class_dir", type=click.Path(file_okay=False, path_type=Path), metavar="DIR",
              help="Serve this class directory (from `worksheet class`) only: each student signs in with their ID, "
                   "works their own variant and submits it into DIR/submissions/.")
@click.option("--feedback", type=click.Choice(["on", "off"]), default="on", show_default=True,
              help="With --class: mark each box as the student leaves it (on, for practice), or not until you "
                   "grade (off, for assessed work).")
@click.pass_context
def serve(ctx: click.Context, host: str, port: int, problems_dir: Path | None, class_dir: Path | None,
          feedback: str) -> None:
    """Serve the web app: a student page that marks each box as it is filled in,
    and a problem editor with a live preview of the answer key. With --class DIR, a class's
    students each sign in with their ID and submit their own variant (docs/web.md). Ctrl-C stops it."""
    if class_dir is not None and problems_dir is not None:
        raise click.BadParameter("a class server offers its class only; give --class or --problems, not both",
                                 param_hint="'--problems'")
    if class_dir is None and ctx.get_parameter_source("feedback") is not click.core.ParameterSource.DEFAULT:
        raise click.BadParameter("is for a class server; add --class DIR", param_hint="'--feedback'")
    try:
        import uvicorn

        from .web.app import LOCAL_HOSTS, create_app
    except ImportError as exc:
        raise OutputError(f"serve needs starlette and uvicorn ({exc.name} is missing): "
                          "pip install starlette uvicorn") from None
    import logging

    logging.basicConfig(level=logging.INFO, format="worksheet: %(levelname)s: %(message)s")
    any_host = host in ("0.0.0.0", "::", "")
    hosts = ["*"] if any_host else [*LOCAL_HOSTS, host, f"[{host}]"]
    app = create_app(problems_dir, allowed_hosts=hosts, class_dir=class_dir, feedback=feedback == "on")
    room = app.state.room
    if room is not None:
        for e in room.entries:
            if not isinstance(room.texts[e.id], str):
                click.echo(terminal_safe(f"worksheet: {room.texts[e.id]} (student {e.id} cannot open their sheet)"),
                           err=True)
    served = (f"class {room.root}, {len(room.entries)} students, feedback {feedback}" if room is not None
              else f"{len(app.state.problems)} problems")

    class Server(uvicorn.Server):
        async def startup(self, sockets=None) -> None:
            await super().startup(sockets)
            if self.started:
                bound = self.servers[0].sockets[0].getsockname()
                shown = f"[{bound[0]}]" if ":" in bound[0] else bound[0]
                click.echo(terminal_safe(f"worksheet: serving http://{shown}:{bound[1]}/ ({served}); "
                                         "Ctrl-C stops it"))

    server = Server(uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False,
                                   server_header=False, timeout_graceful_shutdown=5))
    try:
        server.run()
    except KeyboardInterrupt:  # uvicorn has shut down, then raises Ctrl-C again for whoever runs it
        pass
    except SystemExit as exc:  # uvicorn exits when it cannot listen (the port is taken), having said why
        if exc.code:
            raise OutputError(f"cannot serve on {host}:{port} (see the message above)") from None
        raise
    click.echo("worksheet: stopped")


@cli.group(short_help="Export a problem, or a class's variants, for a learning platform.")
def export() -> None:
    """Export a problem, or a class's variants, for a learning platform (Moodle XML, Canvas QTI)."""


SOURCE_ARG = click.argument("source", metavar="[SOURCE]", required=False, type=click.Path(path_type=Path))
ONLY_OPTION = click.option(
    "--only", "parts", callback=_parts, metavar="PARTS",
    help="Ask only for these parts, comma-separated: forward, loss, backward, gradients, momentum, eta, updates.")


def export_sources(source: Path | None, parts: tuple[str, ...] | None) -> tuple[list[tuple[str | None, Solution]],
                                                                               list[Path]]:
    """What an export takes: (name, solution) per student of a class directory (class.csv's students,
    in the order of their IDs, each named by it: a variant left behind by a student since dropped from
    the roster is not exported) or one (None, solution) for a spec or the built-in problem; and the
    files no output may replace."""
    from .answers import absent_parts
    from .classes.classdir import open_class
    from .solve import solve as run_solve

    if source is not None and source.is_dir():
        if not (source / "class.csv").is_file():
            raise SpecError(str(source), "", "a folder, but not a class directory: it has no class.csv (make one "
                                             "with `worksheet class`, or give a spec file)")
        room = open_class(source)
        if not room.entries:
            raise SpecError(str(source / "class.csv"), "", "no students in it")
        entries = sorted(room.entries, key=lambda e: e.id)
        for e in entries:
            if isinstance(room.texts[e.id], SpecError):
                raise room.texts[e.id]
        named = [(e.id, parse_spec(room.texts[e.id], str(source / e.variant)), str(source / e.variant))
                 for e in entries]
        inputs = [*(source / e.variant for e in entries), source / "class.csv"]
    else:
        named = [(None, load_spec(source), None)]
        inputs = [spec_file(source)]
    solved = []
    for name, spec, where in named:
        if where is not None:
            click.get_current_context().meta["spec_source"] = where  # a SolveError names the variant
        sol = run_solve(spec)
        if parts and absent_parts(sol, parts):
            raise click.BadParameter(f"{name or source or 'the built-in problem'} has no "
                                     f"{' or '.join(absent_parts(sol, parts))} to work out", param_hint="'--only'")
        solved.append((name, sol))
    return solved, inputs


@export.command("moodle", short_help="A Moodle XML question bank: one Cloze question per variant.")
@SOURCE_ARG
@click.option("-o", "--out", "out_path", type=click.Path(dir_okay=False, allow_dash=True, path_type=Path),
              metavar="FILE", help="Write the XML here (-: print it).  [default: out/<source>-moodle.xml]")
@ONLY_OPTION
@click.option("--partial", type=click.IntRange(0, 99), default=0, show_default=True, metavar="PERCENT",
              help="Also give this share of a box's mark to an answer right to 2 decimals only.")
@click.option("--category", default="", metavar="NAME",
              help="Import into this question category of the course (Moodle creates it).")
def export_moodle(source: Path | None, out_path: Path | None, parts: tuple[str, ...] | None, partial: int,
                  category: str) -> None:
    """A Moodle XML question bank with one Cloze (embedded answers) question per variant: the problem,
    the network's picture, the givens, and a NUMERICAL box for every number a student computes.

    SOURCE is a class directory (one question per student of its class.csv, from their variant,
    named by their ID), a spec file (one question, named by its title), or nothing (the built-in
    problem). The file goes to out/<source>-moodle.xml unless -o names another (-o - prints it).
    Import it in Moodle's question bank as "Moodle XML format"."""
    from .classes.moodle import moodle_xml

    solved, inputs = export_sources(source, parts)
    questions = [(name if name is not None else sol.spec.title, sol) for name, sol in solved]
    text = moodle_xml(questions, parts, partial, category.strip())
    if out_path is not None and str(out_path) == "-":
        click.echo(text, nl=False)
        return
    if out_path is None:
        # a file, named as export canvas names its package: a class's bank (a picture per student, in
        # base64) is megabytes, to import, not to read on a terminal
        stem = (BUILTIN_NAME.removesuffix(".toml") if source is None
                else source.resolve().name if source.is_dir() else source.stem)
        out_path = Path("out") / f"{stem or 'worksheet'}-moodle.xml"
    guard_outputs([out_path], inputs)
    write_whole(out_path, text.encode("utf-8"))
    click.echo(str(out_path))


@export.command("canvas", short_help="A Canvas QTI package (.zip): one quiz per variant, a question per number.")
@SOURCE_ARG
@click.option("-o", "--out", "out_path", type=click.Path(dir_okay=False, path_type=Path), metavar="FILE.zip",
              help="Write the package here.  [default: out/<source>-canvas.zip]")
@ONLY_OPTION
@click.option("--partial", type=int, default=0, metavar="PERCENT",
              help="Not in Canvas: every answer of a numerical question earns the full mark, so any share but 0 "
                   "is refused.")
def export_canvas(source: Path | None, out_path: Path | None, parts: tuple[str, ...] | None, partial: int) -> None:
    """A QTI 1.2 content package for Canvas (classic quizzes): one quiz per variant, each the problem
    (the network's picture, the givens) as a text item and then a numerical question, worth 1 point,
    for every number a student computes, in the worksheet's order (docs/canvas.md).

    SOURCE is a class directory (one quiz per student of its class.csv, from their variant, titled
    with their ID), a spec file (one quiz, titled by the spec's title), or nothing (the built-in
    problem). Import the file in the course's Settings > Import Course Content as "QTI .zip file"."""
    from .classes.canvas import canvas_zip

    if partial:
        raise click.BadParameter(f"{partial}: Canvas gives every answer of a numerical question the full mark, so "
                                 "there is no partial credit to export; leave --partial out (export moodle has it)",
                                 param_hint="'--partial'")
    if out_path is None:
        stem = (BUILTIN_NAME.removesuffix(".toml") if source is None
                else source.resolve().name if source.is_dir() else source.stem)
        out_path = Path("out") / f"{stem or 'worksheet'}-canvas.zip"
    elif str(out_path) == "-":  # export moodle's -o - prints; a zip cannot go to a terminal
        raise OutputError("-o -: a QTI package is a .zip file and is not printed; give -o NAME.zip")
    elif out_path.suffix.lower() != ".zip":
        raise OutputError(f"{out_path}: not a .zip name; Canvas imports a QTI package as a .zip file "
                          "(give -o NAME.zip)")
    solved, inputs = export_sources(source, parts)
    data = canvas_zip(solved, parts)
    guard_outputs([out_path], inputs)
    write_whole(out_path, data)
    click.echo(str(out_path))


class UsageError(OutputError):
    """A bad option value (`--student José`, `--seed ""`), said as one line naming the option, as every other
    bad input is (click's BadParameter would print the usage around it)."""


def checked_option(option: str, check: Callable[[], str]) -> str:
    """`check()`'s value; its SpecError said about the option, not about the spec file it names."""
    try:
        return check()
    except SpecError as exc:
        raise UsageError(f"{option}: {exc.message}") from None


@cli.command("variant", short_help="Print one student's variant of a problem with a [variants] table, as a spec.")
@SPEC_ARG
@click.option("--student", "student_id", required=True, metavar="ID",
              help="The student's ID: each ID gets numbers of its own.")
@click.option("--seed", default=None, metavar="S",
              help="The class seed: another seed, other numbers for every student.  [default: the table's "
                   "seed, else 0]")
@click.pass_context
def variant_command(ctx: click.Context, spec_path: Path | None, student_id: str, seed: str | None) -> None:
    """Print the student's variant of SPEC as a complete spec file (TOML), without the [variants] table:
    the same spec, seed and ID give the same numbers on any machine, and `worksheet render` of the
    printed file gives the student's sheet (docs/class.md)."""
    from .classes.classset import variant_file
    from .classes.variants import check_seed, check_student_id

    # the options first, each named in its message: a bad --student is the command line's, not the spec's
    student_id = checked_option("--student", lambda: check_student_id(student_id))
    if seed is not None:
        seed = checked_option("--seed", lambda: check_seed(seed))
    text, source = spec_text(spec_path)
    click.echo(variant_file(text, source, student_id, seed), nl=False)


MAX_ROSTER_BYTES = 5_000_000  # a class of MAX_STUDENTS with a few columns is well under a megabyte


@cli.command("class", short_help="A class set: every student's variant, answer key and named fillable sheet.")
@SPEC_ARG
@click.option("--roster", "roster_path", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The class list: a CSV with an id column, and a name column to print on the sheets.")
@click.option("-o", "--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="The class directory: variants/, keys/, sheets/ and class.csv go here.")
@click.option("--seed", default=None, metavar="S",
              help="The class seed: another seed, other numbers for every student.  [default: the seed DIR "
                   "was drawn with, else the table's seed, else 0]")
@click.option("--jobs", type=click.IntRange(1, 256), default=None, metavar="N",
              help="Render in N processes.  [default: the number of CPUs]")
@click.option("--html", is_flag=True, help="Also write each key and sheet as HTML beside its PDF.")
@click.option("--force", is_flag=True, help="Render every student again, even those whose files are up to date, "
                                           "and draw new numbers where another seed or spec gives them (refused "
                                           "without it).")
@click.pass_context
def class_command(ctx: click.Context, spec_path: Path | None, roster_path: Path, out_dir: Path, seed: str | None,
                  jobs: int | None, html: bool, force: bool) -> None:
    """Render a class set: for every student of the roster their variant of SPEC (its [variants] table;
    without one, everyone gets SPEC's numbers), their answer key and their fillable blank sheet with
    their name and ID printed on it, and class.csv listing them (docs/class.md).

    A rerun renders only the students whose files are missing or out of date, so an interrupted run
    resumes; it keeps every student's numbers (the seed that drew the directory, kept in its class.toml, is
    used again), and refuses a change that would give a student already drawn other numbers unless given
    --force. Exit status 0 when every student's files are written, 1 when some failed (each named)."""
    from .classes.classset import change_message, drawn_toml, listed, outputs, plan
    from .classes.roster import Entry, Layout, class_csv, parse_class_csv, plural
    from .classes.run import RECORD, default_jobs, read_existing, run_class
    from .classes.variants import check_seed

    if seed is not None:
        seed = checked_option("--seed", lambda: check_seed(seed))
    text, source = spec_text(spec_path)
    students = _read_roster(ctx, roster_path)
    csv_path, record_path = out_dir / "class.csv", out_dir / RECORD
    old: dict[str, Entry] = {}
    if csv_path.exists():
        old_text = read_text(csv_path, lambda message: OutputError(f"{csv_path}: {message}"))
        try:
            old = {e.id: e for e in parse_class_csv(old_text, str(csv_path))}
        except RosterError as exc:
            raise OutputError(f"{exc}; it is not replaced (give another folder, or delete it)") from None
    existing = read_existing(out_dir, students, old)
    before = existing.recorded
    # a rerun draws with the seed that drew the directory unless told otherwise: leaving out --seed the
    # second time must not give every student new numbers
    reused = seed is None and before is not None and before.seed is not None
    class_plan = plan(text, source, students, before.seed if reused else seed, existing)
    if not class_plan.varied:
        click.echo(f"worksheet: note: {terminal_safe(source)} has no [variants] table: every student gets its "
                   "numbers, with their own name on their sheet" + (" (--seed does nothing)" if seed else ""),
                   err=True)
    elif reused and before.seed != class_plan.table_seed:
        where = f"its {RECORD} says so" if existing.drawn else "its variant files say so"
        click.echo(terminal_safe(f"worksheet: note: class seed {before.seed!r}, the one {out_dir} was drawn with "
                                 f"({where}): its students keep their numbers"), err=True)
    if class_plan.changed and not force:
        raise OutputError(change_message(class_plan, existing, text, seed is not None))
    planned = [csv_path, record_path] + [out_dir / rel for m in class_plan.members
                                         for rel in (Layout(m.student.id).variant, *outputs(m.student.id, html))]
    guard_outputs(planned, [spec_file(spec_path), roster_path])
    if class_plan.changed:
        who = f"{plural(len(class_plan.changed), 'student')} ({listed(class_plan.changed)})"
        click.echo(terminal_safe(f"worksheet: note: {out_dir}: new numbers for {who}, drawn again as --force "
                                 "asked; the keys and sheets they had are replaced"), err=True)
    record = drawn_toml(class_plan.drawn).encode("utf-8")
    try:
        outcome = run_class(out_dir, class_plan.members, jobs=jobs or default_jobs(), html=html, force=force,
                            old=old, record={record_path: record} if _differs(record_path, record) else None)
    except KeyboardInterrupt:
        click.echo("worksheet: interrupted; the students finished so far are written whole: run the same "
                   "command again to go on", err=True)
        ctx.exit(130)
    failed = dict(outcome.failed)
    entries = [m.entry for m in class_plan.members if m.student.id not in failed]
    new_csv = class_csv(entries).encode("utf-8")
    if _differs(csv_path, new_csv):  # unchanged: not rewritten
        write_whole(csv_path, new_csv)
    click.echo(f"worksheet: {plural(len(class_plan.members), 'student')}: {len(outcome.written)} rendered, "
               f"{len(outcome.skipped)} up to date, {len(outcome.failed)} failed", err=True)
    # files of students no longer on the roster are an instructor's to remove, never the tool's
    gone = sorted(set(old) - {m.student.id for m in class_plan.members})
    if gone:
        shown = ", ".join(gone[:10]) + (f" and {len(gone) - 10} more" if len(gone) > 10 else "")
        click.echo(terminal_safe(f"worksheet: {out_dir}: {shown} {'are' if len(gone) > 1 else 'is'} no longer on "
                                 "the roster and left out of class.csv; their files are left as they are"), err=True)
    click.echo(str(csv_path))
    if outcome.failed:
        several = len(failed) > 1
        click.echo(terminal_safe(f"worksheet: {len(failed)} student{'s' if several else ''} failed and "
                                 f"{'are' if several else 'is'} left out of class.csv: {', '.join(failed)}"), err=True)
        ctx.exit(1)


MAX_ROSTER_PROBLEMS = 20  # a roster of 2000 bad lines is said in a screenful, with the count of the rest


def _read_roster(ctx: click.Context, roster_path: Path) -> tuple:
    """The roster's students (`roster.Student`s); a roster with problems is refused with every one of them
    (a line each, up to MAX_ROSTER_PROBLEMS), so that it is fixed in one go, and exit status 2."""
    from .classes.roster import parse_roster

    roster_error = lambda message: RosterError(str(roster_path), None, message)  # noqa: E731
    text = decode(read_bytes(roster_path, roster_error, MAX_ROSTER_BYTES), roster_error)
    try:
        return parse_roster(text, str(roster_path))
    except RosterError as exc:
        lines = exc.lines()
        for line in lines[:MAX_ROSTER_PROBLEMS]:
            click.echo(terminal_safe(f"worksheet: {line}"), err=True)
        if len(lines) > MAX_ROSTER_PROBLEMS:
            click.echo(terminal_safe(f"worksheet: {roster_path}: and {len(lines) - MAX_ROSTER_PROBLEMS} more "
                                     "problems"), err=True)
        if len(lines) > 1:
            click.echo(terminal_safe(f"worksheet: {roster_path}: {len(lines)} problems; nothing was written"),
                       err=True)
        ctx.exit(2)


def _differs(path: Path, data: bytes) -> bool:
    try:
        return path.read_bytes() != data
    except OSError:
        return True


@cli.command("grade", short_help="Grade a class: every student's submission against their own variant.")
@click.argument("class_dir", metavar="DIR", type=click.Path(path_type=Path))
@click.argument("submissions_dir", metavar="SUBMISSIONS", type=click.Path(path_type=Path))
@click.option("-o", "--out", "out_path", type=click.Path(dir_okay=False, path_type=Path),
              default=Path("gradebook.csv"), show_default=True, help="Write the gradebook (CSV) here.")
@click.option("--marked", "marked_dir", type=click.Path(file_okay=False, path_type=Path), metavar="DIR2",
              help="Also write each marked student's sheet as DIR2/<id>.pdf (as `check --pdf` does).")
@click.option("--report", "report_path", type=click.Path(dir_okay=False, path_type=Path), metavar="FILE.html|.pdf",
              help="Also write the class summary (scores, slips, first wrong steps), HTML or PDF by its suffix.")
@click.option("--weights", callback=_weights, metavar="right=1,carried=1,wrong=0,missing=0",
              help="Points per verdict for the score, as for check.  [default: right=1,carried=1,wrong=0,missing=0]")
@click.option("--decimals", type=click.IntRange(0, 12), default=4, show_default=True,
              help="Decimals of the expected values on the marked sheets.")
def grade_command(class_dir: Path, submissions_dir: Path, out_path: Path, marked_dir: Path | None,
                  report_path: Path | None, weights, decimals: int) -> None:
    """Grade a class: DIR is a class directory (class.csv and variants/<id>.toml, as `worksheet class`
    makes it), SUBMISSIONS a folder with one file per student, an answers file (TOML) or the filled
    blank sheet (PDF), named by the student's ID (s01.toml, S01-answers.pdf) or matched by the sheet
    version it carries. Each is marked against the student's own variant, as `worksheet check` marks it.

    Writes the gradebook (CSV, one row per student of class.csv), and with --marked and --report the
    marked sheets and the class summary. A file of another student's variant, two files for one
    student, an unreadable file: the row says so and nothing is marked. Exit status 0 when the
    gradebook is written, 2 when DIR or SUBMISSIONS cannot be used (docs/class.md)."""
    from .classes.classdir import grade_dir
    from .classes.grade import gradebook_csv, terminal_lines

    if report_path is not None and report_path.suffix.lower() not in (".html", ".pdf"):
        raise click.BadParameter(f"{report_path}: give a file ending in .html or .pdf", param_hint="'--report'")
    room, specs, files, book = grade_dir(class_dir, submissions_dir, weights)
    for e in room.entries:
        if isinstance(specs[e.id], str):
            click.echo(terminal_safe(f"worksheet: {specs[e.id]} (student {e.id} is not graded)"), err=True)
    csv_path = class_dir / "class.csv"
    entries = room.entries
    inputs = [csv_path, *(class_dir / e.variant for e in entries), *files]
    outputs: dict[Path, bytes] = {out_path: gradebook_csv(book).encode("utf-8")}
    if marked_dir is not None:
        from .document import Options, build
        from .solve import solve as run_solve
        from .trace import run

        for r in book.rows:
            if r.marking is None or r.status != "marked":
                continue
            spec = specs[r.entry.id]
            doc = build(run_solve(spec), run(spec, spec.steps), Options(decimals, blank=True), marking=r.marking)
            outputs.update(rendered(doc, None, marked_dir / f"{r.entry.id}.pdf"))
    if report_path is not None:
        from .classes.summary import summary_html
        from .pdf import PdfError, to_pdf

        html = summary_html(book, f"Class summary: {room.title}")
        try:
            outputs[report_path] = html.encode("utf-8") if report_path.suffix.lower() == ".html" else to_pdf(html)
        except PdfError as exc:
            raise OutputError(str(exc)) from None
    guard_outputs(list(outputs), inputs)
    for line in terminal_lines(book.rows, _terminal_width()):
        click.echo(terminal_safe(line))
    for u in book.unmatched:
        click.echo(terminal_safe(f"worksheet: {submissions_dir / u.name}: matches no student: {u.reason}"), err=True)
    write_all(outputs)


def _terminal_width() -> int:
    """The width the grade report wraps at: the terminal's (COLUMNS, else 80 off a terminal), as `solve` and
    `check` take it, between 40 and 100."""
    from rich.console import Console

    return max(40, min(Console().width, 100))


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit status instead of exiting when called in-process."""
    try:
        code = cli.main(args=argv, prog_name="worksheet", standalone_mode=False)
    except click.ClickException as exc:
        shown = io.StringIO()  # click's usage errors echo arguments: escaped like every other message
        exc.show(file=shown)
        click.echo("\n".join(terminal_safe(line) for line in shown.getvalue().splitlines()), err=True)
        return exc.exit_code
    except click.exceptions.Abort:
        click.echo("Aborted!", err=True)
        return 1
    # without standalone mode click returns ctx.exit's status rather than exiting
    return code if isinstance(code, int) else 0


if __name__ == "__main__":
    sys.exit(main())
