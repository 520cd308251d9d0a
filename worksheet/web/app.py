"""The Starlette application: `create_app(problems_dir=None)`; see the package's docstring."""

from __future__ import annotations

import difflib
import functools
import json
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import anyio
import jinja2
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from ..answers import IN_A_BOX, AnswersError, AnswerSheet, sheet_from_tables
from ..solve import Solution, SolveError
from ..spec import BUILTIN_NAME, MAX_TEXT, PARTS, Spec, SpecError, builtin_text, fingerprint, one_line, parse_spec
from . import MAX_BODY

log = logging.getLogger("worksheet.web")

MAX_PROBLEMS = 200  # files listed from a --problems folder
MAX_PROBLEM_BYTES = 2_000_000  # as the command line reads a spec
PDF_AT_ONCE = 2  # PDF renders running together: each takes a CPU for seconds
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1", "[::1]", "testserver")
INTERNAL = "the server could not do this (an internal error; it is logged on the server)"

PAGE_CSP = ("default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
            "connect-src 'self'; frame-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'self'")
# a rendered worksheet holds its style and pictures inline and runs nothing
DOCUMENT_CSP = "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:; font-src data:"


# -- problems ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    id: str
    origin: str  # built-in, example, folder
    name: str  # the file's name, as messages name it
    path: Path | None  # None: the built-in problem
    title: str = ""
    error: str = ""  # why the spec does not parse ("" when it does)

    def text(self) -> str:
        if self.path is None:
            return builtin_text()
        from ..files import decode, read_bytes

        def error(message: str) -> SpecError:
            return SpecError(self.name, "", message)

        return decode(read_bytes(self.path, error, MAX_PROBLEM_BYTES), error)

    def public(self) -> dict[str, str]:
        return {"id": self.id, "origin": self.origin, "name": self.name, "title": self.title, "error": self.error}


def examples_dir() -> Path | None:
    """The examples shipped in the package (`worksheet.examples`), or the repo's `examples/` beside it."""
    for folder in (Path(str(resources.files("worksheet").joinpath("examples"))),
                   Path(__file__).resolve().parents[2] / "examples"):  # an editable install: the repo's
        if folder.is_dir():
            return folder
    return None


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60] or "problem"


def list_problems(problems_dir: Path | None = None) -> dict[str, Problem]:
    """Every problem the server offers, by id: the built-in one, the examples, then the folder's *.toml."""
    found = [Problem(_slug(Path(BUILTIN_NAME).stem), "built-in", f"<built-in {BUILTIN_NAME}>", None)]
    folders = [("example", examples_dir())]
    if problems_dir is not None:
        folders.append(("folder", problems_dir))
    for origin, folder in folders:
        if folder is None:
            continue
        files = sorted(p for p in folder.glob("*.toml") if p.is_file())
        if len(files) > MAX_PROBLEMS:
            log.warning("%s: %d problems; the first %d are listed", folder, len(files), MAX_PROBLEMS)
        for path in files[:MAX_PROBLEMS]:
            found.append(Problem(_slug(path.stem), origin, path.name if origin == "example" else str(path), path))
    problems: dict[str, Problem] = {}
    for p in found:
        pid, n = p.id, 2
        while pid in problems:
            pid, n = f"{p.id}-{n}", n + 1
        try:
            title = parse_spec(p.text(), p.name).title
            p = Problem(pid, p.origin, p.name, p.path, title)
        except SpecError as exc:
            p = Problem(pid, p.origin, p.name, p.path, p.path.stem if p.path else pid, one_line(str(exc)))
        problems[pid] = p
    return problems


# -- errors -----------------------------------------------------------------------------------------


class ApiError(Exception):
    """A request that cannot be answered: its status and the message for the person who sent it."""

    def __init__(self, status: int, message: str, **extra: Any):
        super().__init__(message)
        self.status, self.body = status, {"error": message, **extra}


_AT_LINE = re.compile(r"\bline (\d+)")


def spec_line(text: str, message: str, where: str = "") -> int | None:
    """The line of the spec a message is about: the line it names, else where its key path is written."""
    if m := _AT_LINE.search(message):
        return int(m[1])
    # each key with the index after it: init.layers[1].b[0] is the second [[init.layers]] table's b
    keys = [(k, int(i) if i else 0) for k, i in re.findall(r"([\w-]+)(?:\[(\d+)\])?", where) if not k.isdigit()]
    if not keys:
        return None
    lines = text.splitlines()
    found, start, skip = None, 0, 0
    for key, index in keys:
        pattern = re.compile(rf"^\s*(\[\[?\s*([\w-]+\.)*{re.escape(key)}\s*\]\]?|([\w-]+\.)*{re.escape(key)}\s*=)"
                             rf"|[{{,]\s*{re.escape(key)}\s*=")
        matches = [n for n in range(start, len(lines)) if pattern.search(lines[n])]
        if not matches:
            continue
        tables = lines[matches[0]].lstrip().startswith("[[")  # an array of tables: the index counts its headers
        n = matches[min(index if tables else skip, len(matches) - 1)]
        # an inline array's index counts what its next key matches: layers[1].activation is the second activation
        found, start, skip = n + 1, n + 1 if tables or not index else n, 0 if tables else index
    return found


# -- the library, off the event loop ----------------------------------------------------------------


@functools.lru_cache(maxsize=256)  # a class's variants: each student's page checks their own again and again
def solved(text: str, source: str) -> tuple[Spec, Solution]:
    """The spec and its solution (cached: a student's page checks the same problem again and again)."""
    from ..solve import solve

    spec = parse_spec(text, source)
    try:
        return spec, solve(spec)
    except SolveError as exc:  # as the command line says it
        raise SpecError(source, "", str(exc)) from None


@dataclass(frozen=True)
class Job:
    """What one request asks about: the spec's text and the name its messages use."""

    text: str
    source: str
    stem: str  # for a downloaded file's name
    student: str | None = None  # a student's variant of the spec the request gave (`as_variant`)
    base_text: str = ""  # then: the spec with its [variants] table, whose lines messages point at

    def solve(self) -> tuple[Spec, Solution]:
        try:
            return solved(self.text, self.source)
        except SpecError as exc:
            raise ApiError(422, str(exc), line=spec_line(self.base_text or self.text, str(exc), exc.where)) from None

    def sheet(self, sol: Solution, answers: Any, unreadable: dict[str, str] | None = None) -> AnswerSheet:
        """The answers sent, read as an answers file is. With `unreadable` (a dict), a box whose text is
        not a number is left out and named there (key -> why) instead of refusing the whole sheet."""
        if not isinstance(answers, dict):
            raise ApiError(400, 'answers: give an object of steps, as {"step1": {"z1_1": "1.5"}}')
        tables = {table: ({k: "" if v is None else v for k, v in entries.items()} if isinstance(entries, dict)
                          else entries) for table, entries in answers.items()}
        try:
            # the answers were typed into boxes (the page's, or a script's stand-in): no quotes to leave empty
            return sheet_from_tables(tables, "answers", sol, empty=IN_A_BOX, unreadable=unreadable)
        except AnswersError as exc:
            # the box at fault as it was sent ("z1_1 " with its space), or null: never a box it resembles
            raise ApiError(422, str(exc), key=exc.key) from None


def _decimals(data: dict) -> int:
    value = data.get("decimals", 4)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 12:
        raise ApiError(400, "decimals: give a whole number from 0 to 12")
    return value


def do_validate(job: Job) -> dict[str, Any]:
    from ..quantities import quantities

    spec, sol = job.solve()
    return {"ok": True, "title": spec.title, "sheet": fingerprint(spec), "steps": spec.steps,
            "quantities": len(quantities(sol)), "source": job.source,
            "variants": has_variants(job.base_text or job.text), "student": job.student}


def has_variants(text: str) -> bool:
    """Whether a (valid) spec has a [variants] table: the editor then offers a student's preview."""
    import tomllib

    from ..spec import quote_fractions

    try:
        return "variants" in tomllib.loads(quote_fractions(text))
    except (tomllib.TOMLDecodeError, ValueError, RecursionError):
        return False


@functools.lru_cache(maxsize=64)
def variant_text(text: str, source: str, student: str, seed: str | None) -> str:
    """A student's variant of a spec with a [variants] table, as `worksheet variant` prints it."""
    from ..classes.classset import variant_file

    return variant_file(text, source, student, seed, asker="a student's variant")


def as_variant(job: Job, student: Any, seed: Any) -> Job:
    """The job of one student's variant of the job's spec (the editor's "preview as student")."""
    if not isinstance(student, str) or (seed is not None and not isinstance(seed, str)):
        raise ApiError(400, "student and seed: give the student's ID and the class seed as strings")
    seed = seed or None  # an empty seed field: the table's seed, as `worksheet variant` without --seed
    try:
        text = variant_text(job.text, job.source, student, seed)
    except SpecError as exc:
        raise ApiError(422, str(exc), line=spec_line(job.text, str(exc), exc.where)) from None
    return Job(text, job.source, f"{job.stem}-{student}", student=student, base_text=job.text)


def do_solve(job: Job, decimals: int) -> dict[str, Any]:
    from ..export import to_json

    return to_json(job.solve()[1], decimals)


def do_check(job: Job, answers: Any, decimals: int) -> dict[str, Any]:
    """The marking, as `worksheet check --json` prints it. A box whose text is not a number is marked as
    not answered and named in `unreadable` (key -> why): one typo is the student's to fix at that box,
    not a reason to refuse marking the rest (the page would resend the sheet once per bad box)."""
    from ..check import DEFAULT_WEIGHTS, check
    from ..feedback import marking_json

    _, sol = job.solve()
    unreadable: dict[str, str] = {}
    sheet = job.sheet(sol, answers, unreadable)
    marking = marking_json(check(sol, sheet, DEFAULT_WEIGHTS, sheet.parts), decimals, sol.exact)
    return {**marking, "unreadable": unreadable} if unreadable else marking


def do_answers(job: Job, answers: Any, only: Any) -> str:
    from ..answers import absent_parts, answers_template, parse_parts

    _, sol = job.solve()
    parts = None
    if only is not None:
        if not isinstance(only, list) or not all(isinstance(p, str) for p in only):
            raise ApiError(400, f"only: give a list of parts, as [\"updates\"]; the parts are {', '.join(PARTS)}")
        try:
            parts = parse_parts(",".join(only))
        except ValueError as exc:
            raise ApiError(422, f"only: {exc}") from None
        if absent_parts(sol, parts):
            raise ApiError(422, f"only: this problem has no {' or '.join(absent_parts(sol, parts))} to work out")
    filled = None
    if answers is not None:
        sheet = job.sheet(sol, answers)
        filled, parts = sheet.answers, parts or sheet.parts
    return answers_template(sol, parts, filled)


def do_html(job: Job, blank: bool, answers: Any, decimals: int, formulas: bool, paper: str) -> str:
    """The worksheet's page, as `worksheet render` (and with answers, `worksheet check --html`) writes it."""
    from ..check import DEFAULT_WEIGHTS, check
    from ..document import Options, build
    from ..render import to_html
    from ..script import torch_script
    from ..trace import run

    spec, sol = job.solve()
    if answers is not None:  # a marked sheet, as `worksheet check --html` writes it
        sheet = job.sheet(sol, answers)
        marking = check(sol, sheet, DEFAULT_WEIGHTS, sheet.parts)
        return to_html(build(sol, run(spec, spec.steps), Options(decimals, True, paper), marking=marking))
    iters = 10
    doc = build(sol, run(spec, max(iters, spec.steps)), Options(decimals, blank, paper, formulas),
                torch_script="" if blank else torch_script(spec, iters))
    return to_html(doc)


def do_pdf(html: str) -> bytes:
    from ..pdf import to_pdf

    return to_pdf(html)


# -- requests ---------------------------------------------------------------------------------------


def same_site(request: Request) -> None:
    """403 for a request another site's page sent: a form or a "simple" fetch needs no preflight, so
    without this any page a student opens could submit answers in a classmate's name. Browsers say
    where a request comes from (Sec-Fetch-Site, Origin); a tool such as curl says neither."""
    site = request.headers.get("sec-fetch-site", "")
    origin = request.headers.get("origin", "")
    if site and site not in ("same-origin", "none"):
        raise ApiError(403, "a request from another site's page is refused; use this server's own page")
    if origin and urlsplit(origin).netloc != request.headers.get("host", ""):
        raise ApiError(403, "a request from another site's page is refused; use this server's own page")


async def read_json(request: Request) -> dict[str, Any]:
    """The body as a JSON object, sent as JSON by a page of this server: 415 unless its Content-Type is
    application/json (which another site's page can send only after a preflight this server never
    grants), 403 from another site, 413 past MAX_BODY bytes (counted as it arrives), 400 when not JSON."""
    same_site(request)
    if request.headers.get("content-type", "").partition(";")[0].strip().lower() != "application/json":
        raise ApiError(415, "the request's body must be JSON, sent with Content-Type: application/json")
    length = request.headers.get("content-length", "")
    if length and (not length.isdigit() or int(length) > MAX_BODY):
        raise ApiError(413, f"the request is larger than {MAX_BODY // 1024 // 1024} MiB; "
                            "a spec or a sheet's answers are a few KB")
    body, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            raise ApiError(413, f"the request is larger than {MAX_BODY // 1024 // 1024} MiB; "
                                "a spec or a sheet's answers are a few KB")
        body.append(chunk)

    def constant(name: str):
        raise ValueError(f"{name} is not a number JSON allows")

    try:
        data = json.loads(b"".join(body).decode("utf-8"), parse_float=Decimal, parse_constant=constant)
    except UnicodeDecodeError:
        raise ApiError(400, "the request's body is not UTF-8 text") from None
    except RecursionError:
        raise ApiError(400, "the request's body is not valid JSON: nested too deeply") from None
    except ValueError as exc:
        raise ApiError(400, f"the request's body is not valid JSON: {one_line(str(exc))[:200]}") from None
    if not isinstance(data, dict):
        raise ApiError(400, "the request's body must be a JSON object ({...})")
    return data


PROBLEM_FIELDS = ("spec", "name", "problem", "student", "seed")  # what every POST may say about the problem


def known_fields(data: dict, endpoint: str, allowed: tuple[str, ...]) -> None:
    """400 for a field the endpoint does not take (`answerz`), named with the fields it does: a typo
    would otherwise be ignored, and the request answered as if the field had not been sent."""
    unknown = [k for k in data if k not in allowed]
    if unknown:
        near = difflib.get_close_matches(unknown[0], allowed, n=1, cutoff=0.6)
        hint = f" (did you mean {near[0]}?)" if near else ""
        shown = json.dumps(one_line(unknown[0])[:40], ensure_ascii=False)
        raise ApiError(400, f"{shown}: not a field of {endpoint}{hint}; it takes {', '.join(allowed)}")


def _flag(data: dict, key: str, default: bool) -> bool:
    value = data.get(key, default)
    if not isinstance(value, bool):
        raise ApiError(400, f"{key}: give true or false")
    return value


def _choice(data: dict, key: str, default: str, allowed: tuple[str, ...]) -> str:
    value = data.get(key, default)
    if value not in allowed:
        raise ApiError(400, f"{key}: give one of {', '.join(allowed)}")
    return value


def _download_name(stem: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", stem).strip("-.")[:60] or "worksheet"


def _attachment(filename: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="{filename}"'}


def create_app(problems_dir: Path | None = None, allowed_hosts: list[str] | tuple[str, ...] | None = None,
               class_dir: Path | None = None, feedback: bool = True) -> Starlette:
    """The web app over the problems listed now: the built-in one, the examples, and `problems_dir`'s
    *.toml files. `allowed_hosts`: the Host names it answers (a guard against DNS rebinding);
    by default this machine's own names. With `class_dir` (a class directory, read now), the app
    serves that class only (`classroom`): a student signs in with their ID, works their own variant
    and submits it; `feedback` False leaves the boxes unmarked until the instructor grades."""
    room = None
    if class_dir is not None:
        from ..classes.classdir import open_class

        room = open_class(class_dir)
    problems = list_problems(problems_dir) if room is None else {}
    limiter: dict[str, anyio.CapacityLimiter] = {}

    def pdf_limiter() -> anyio.CapacityLimiter:
        if "pdf" not in limiter:
            limiter["pdf"] = anyio.CapacityLimiter(PDF_AT_ONCE)
        return limiter["pdf"]

    def problem(pid: Any) -> Problem:
        found = problems.get(pid) if isinstance(pid, str) else None
        if found is None:
            shown = one_line(str(pid))[:60]
            raise ApiError(404, f"problem {shown!r}: no such problem; GET /api/problems lists them")
        return found

    async def job_of(data: dict) -> Job:
        spec, pid = data.get("spec"), data.get("problem")
        if spec is not None and pid is not None:
            raise ApiError(400, "give the spec's text (spec) or a listed problem (problem), not both")
        if spec is not None:
            if not isinstance(spec, str):
                raise ApiError(400, "spec: give the spec's TOML text as a string")
            name = data.get("name", "spec")
            if not isinstance(name, str) or not name.strip():
                raise ApiError(400, "name: give the spec's name (for messages) as a string")
            name = one_line(name.strip())[:MAX_TEXT]
            job = Job(spec.removeprefix("\ufeff"), name, Path(name).stem)
        else:
            p = problem(pid) if pid is not None else problems[next(iter(problems))]
            try:
                text = await run_in_threadpool(p.text)
            except SpecError as exc:  # the file is gone, or no longer readable
                raise ApiError(422, str(exc)) from None
            job = Job(text, p.name, p.id)
        if data.get("student") is None:
            return job
        return await run_in_threadpool(as_variant, job, data["student"], data.get("seed"))

    def api(fn: Callable[[Request], Awaitable[Response]]) -> Callable[[Request], Awaitable[Response]]:
        """An API endpoint: its errors as {"error": message}, never a traceback."""

        @functools.wraps(fn)
        async def endpoint(request: Request) -> Response:
            try:
                return await fn(request)
            except ApiError as exc:
                return JSONResponse(exc.body, exc.status)
            except Exception:
                log.exception("%s %s", request.method, request.url.path)
                return JSONResponse({"error": INTERNAL}, 500)

        return endpoint

    # -- API --
    @api
    async def api_problems(request: Request) -> Response:
        return JSONResponse({"problems": [p.public() for p in problems.values()]})

    @api
    async def api_problem(request: Request) -> Response:
        p = problem(request.path_params["pid"])
        try:
            text = await run_in_threadpool(p.text)
        except SpecError as exc:
            raise ApiError(422, str(exc)) from None
        return JSONResponse({**p.public(), "spec": text})

    @api
    async def api_validate(request: Request) -> Response:
        data = await read_json(request)
        known_fields(data, "/api/validate", PROBLEM_FIELDS)
        job = await job_of(data)
        return JSONResponse(await run_in_threadpool(do_validate, job))

    @api
    async def api_solve(request: Request) -> Response:
        data = await read_json(request)
        known_fields(data, "/api/solve", ("decimals", *PROBLEM_FIELDS))
        job = await job_of(data)
        return JSONResponse(await run_in_threadpool(do_solve, job, _decimals(data)))

    @api
    async def api_check(request: Request) -> Response:
        data = await read_json(request)
        known_fields(data, "/api/check", ("answers", "decimals", *PROBLEM_FIELDS))
        job = await job_of(data)
        if "answers" not in data:
            raise ApiError(400, 'answers: missing; give an object of steps, as {"step1": {"z1_1": "1.5"}}')
        return JSONResponse(await run_in_threadpool(do_check, job, data["answers"], _decimals(data)))

    @api
    async def api_answers(request: Request) -> Response:
        data = await read_json(request)
        known_fields(data, "/api/answers", ("answers", "only", *PROBLEM_FIELDS))
        job = await job_of(data)
        text = await run_in_threadpool(do_answers, job, data.get("answers"), data.get("only"))
        suffix = "-answers" if data.get("answers") is None else "-filled"
        return Response(text, media_type="application/toml; charset=utf-8",
                        headers=_attachment(f"{_download_name(job.stem)}{suffix}.toml"))

    @api
    async def api_variant(request: Request) -> Response:
        data = await read_json(request)
        known_fields(data, "/api/variant", PROBLEM_FIELDS)
        if data.get("student") is None:
            raise ApiError(400, "student: missing; give the student's ID (and seed, optionally)")
        job = await job_of(data)
        return Response(job.text, media_type="application/toml; charset=utf-8",
                        headers=_attachment(f"{_download_name(job.stem)}.toml"))

    @api
    async def api_render(request: Request) -> Response:
        data = await read_json(request)
        known_fields(data, "/api/render", ("format", "blank", "formulas", "paper", "decimals", "answers", "download",
                                           *PROBLEM_FIELDS))
        job = await job_of(data)
        fmt = _choice(data, "format", "html", ("html", "pdf"))
        blank = _flag(data, "blank", False)
        answers = data.get("answers")
        formulas = _choice(data, "formulas", "show", ("show", "hide"))
        if formulas == "hide" and not blank:
            raise ApiError(400, "formulas: hide is for a blank sheet (add \"blank\": true); an answer key shows "
                                "its formulas")
        paper = _choice(data, "paper", "a4", ("a4", "letter"))
        html = await run_in_threadpool(do_html, job, blank, answers, _decimals(data), formulas == "show", paper)
        kind = "-marked" if answers is not None else "-blank" if blank else ""
        name = f"{_download_name(job.stem)}{kind}"
        if fmt == "html":
            return HTMLResponse(html, headers={"Content-Security-Policy": DOCUMENT_CSP,
                                               **_attachment(f"{name}.html")} if data.get("download") else
                                {"Content-Security-Policy": DOCUMENT_CSP})
        pdf = await anyio.to_thread.run_sync(do_pdf, html, limiter=pdf_limiter())
        return Response(pdf, media_type="application/pdf", headers=_attachment(f"{name}.pdf"))

    # -- pages --
    env = jinja2.Environment(loader=jinja2.PackageLoader("worksheet.web", "templates"), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    static = {name: resources.files("worksheet.web").joinpath("static", name).read_bytes()
              for name in ("web.css", "student.js", "instructor.js")}
    media = {"css": "text/css; charset=utf-8", "js": "text/javascript; charset=utf-8"}

    from .pages import unbroken

    env.filters["unbroken"] = unbroken  # the sheet's header: its symbols never split over two lines either
    # the bar's links: a class server offers its students nothing but their sheet
    env.globals["links"] = [("/", "Sign in")] if room is not None else [("/", "Problems"),
                                                                       ("/instructor", "Problem editor")]

    def page(name: str, code: int = 200, **context: Any) -> HTMLResponse:
        return HTMLResponse(env.get_template(name).render(**context), code)

    def error_page(status: int, message: str) -> HTMLResponse:
        return page("error.html.j2", status, title="Error", message=message, status=status)

    def html_page(fn: Callable[[Request], Awaitable[Response]]) -> Callable[[Request], Awaitable[Response]]:
        @functools.wraps(fn)
        async def endpoint(request: Request) -> Response:
            try:
                return await fn(request)
            except ApiError as exc:
                return error_page(exc.status, exc.body["error"])
            except Exception:
                log.exception("%s %s", request.method, request.url.path)
                return error_page(500, INTERNAL)

        return endpoint

    @html_page
    async def index(request: Request) -> Response:
        return page("index.html.j2", title="Problems", problems=list(problems.values()))

    @html_page
    async def student(request: Request) -> Response:
        p = problem(request.path_params["pid"])
        job = await job_of({"problem": p.id})
        context = await run_in_threadpool(student_context, job)
        return page("student.html.j2", title=context["spec"].title, **context, **practice_view(p.id, context["sheet"]))

    @html_page
    async def instructor(request: Request) -> Response:
        pid = request.query_params.get("problem")
        p = problem(pid) if pid is not None else problems[next(iter(problems))]
        job = await job_of({"problem": p.id})
        return page("instructor.html.j2", title="Problem editor", problem=p, problems=list(problems.values()),
                    spec_text=job.text)

    def static_file(name: str) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            return Response(static[name], media_type=media[name.rsplit(".", 1)[1]],
                            headers={"Cache-Control": "no-cache"})

        return endpoint

    async def not_found(request: Request, exc: Exception) -> Response:
        status = getattr(exc, "status_code", 404)
        detail = getattr(exc, "detail", "") or "not found"
        message = "no such page" if status == 404 else one_line(str(detail))
        if request.url.path.startswith("/api/"):
            return JSONResponse({"error": message}, status)
        return error_page(status, message)

    async def server_error(request: Request, exc: Exception) -> Response:
        log.error("%s %s", request.method, request.url.path, exc_info=exc)
        if request.url.path.startswith("/api/"):
            return JSONResponse({"error": INTERNAL}, 500)
        return error_page(500, INTERNAL)

    if room is None:
        routes = [
            Route("/", index),
            Route("/student/{pid}", student),
            Route("/instructor", instructor),
            Route("/api/problems", api_problems),
            Route("/api/problems/{pid}", api_problem),
            Route("/api/validate", api_validate, methods=["POST"]),
            Route("/api/solve", api_solve, methods=["POST"]),
            Route("/api/check", api_check, methods=["POST"]),
            Route("/api/render", api_render, methods=["POST"]),
            Route("/api/answers", api_answers, methods=["POST"]),
            Route("/api/variant", api_variant, methods=["POST"]),
        ]
    else:  # no problem list, no editor and no open API: they would render any spec's key for a student
        from .classroom import Classroom, class_routes

        routes = class_routes(Classroom(room, feedback), page=page, html_page=html_page, api=api)
    routes += [Route(f"/static/{name}", static_file(name)) for name in static]
    hosts = list(allowed_hosts) if allowed_hosts is not None else list(LOCAL_HOSTS)
    app = Starlette(routes=routes,
                    middleware=[Middleware(SecurityHeaders), Middleware(TrustedHostMiddleware, allowed_hosts=hosts)],
                    exception_handlers={HTTPException: not_found, Exception: server_error})
    app.state.problems = problems
    app.state.room = room
    return app


def practice_view(pid: str, sheet: str) -> dict[str, Any]:
    """The student page's wiring for a listed problem: the open API, answers kept per problem and sheet."""
    return {"mode": "practice", "student": None, "feedback": True, "receipt": None, "prefill": {},
            "store": f"worksheet:{pid}:{sheet}", "body": {"problem": pid},
            "urls": {"check": "/api/check", "answers": "/api/answers", "pdf": "/api/render", "submit": ""},
            "stem": pid}


def student_context(job: Job) -> dict[str, Any]:
    """What the student page shows: the blank sheet's document, as inputs."""
    from ..document import Options, build
    from ..quantities import quantities
    from ..trace import run
    from .pages import sheet_view

    spec, sol = job.solve()
    doc = build(sol, run(spec, spec.steps), Options(blank=True))
    words = {q.key: q.words for q in quantities(sol)}
    return {"spec": spec, "doc": doc, "parts": sheet_view(sol, doc), "sheet": fingerprint(spec),
            "words": words, "keys": [q.key for q in quantities(sol)]}


class SecurityHeaders:
    """Headers on every response: pages run only their own scripts, nothing is sniffed or cached."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {k.lower() for k, _ in headers}
                extra = [(b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"no-referrer"),
                         (b"cache-control", b"no-store")]
                if b"content-security-policy" not in names:
                    extra.append((b"content-security-policy", PAGE_CSP.encode()))
                headers += [(k, v) for k, v in extra if k not in names]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
