"""Class mode of the web app (`worksheet serve --class DIR`): a class's students work their own variants.

Contract: `class_routes(Classroom(room, feedback), page=…, html_page=…, api=…)` gives the routes
`create_app` serves instead of its problem list, editor and open API:

- `GET /`: the sign-in page, asking for a student ID; `GET /class?id=…` sends a known ID to
  `/class/<id>` (any case, when that is one student) and answers anything else with the
  sign-in page again, status 404, saying so.
- `GET /class/<id>`: the student's own variant (`DIR/variants/<id>.toml`) as the student page,
  their name and ID in its header, with a Submit button; a browser that holds none of their answers
  starts from their last submission.
- `POST /api/class/<id>/check` `{"answers": …}`: with feedback on, the marking against the
  student's own key, as `/api/check` gives it but without any expected value (`expected`,
  `expected_exact`, `expected_text`, `from_yours`): the page never shows them, so the server
  never sends them either. With feedback off, only how many boxes are filled in. Either way a box
  whose text is not a number is named in `unreadable` (key -> why), as `/api/check` does.
- `POST /api/class/<id>/submit` `{"answers": …}`: the answers file (TOML) as `worksheet answers`
  writes it, filled in, saved by `classdir.submit` as `DIR/submissions/<id>.toml`, what
  `worksheet grade DIR DIR/submissions` reads; 422 when a number cannot be read (the box named
  in `key`) or nothing is filled in (an empty sheet never replaces a submission).
- `POST /api/class/<id>/answers`: that same file, downloaded.

An ID reaches the file system only as an ID of class.csv (`ClassDir.find`): anything else is a
404 before any path is made. The student's marked PDF is not offered here: it prints the
expected value beside every wrong box.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from ..classes.classdir import ClassDir, EmptySubmission, last_submission, submit, submitted_answers
from ..classes.roster import Entry
from ..files import OutputError
from ..spec import SpecError, one_line
from .app import ApiError, Job, _attachment, do_answers, do_check, known_fields, log, read_json, student_context

Endpoint = Callable[[Request], Awaitable[Response]]
HIDDEN = ("expected", "expected_exact", "expected_text", "from_yours")  # the key's values


@dataclass(frozen=True)
class Classroom:
    room: ClassDir
    feedback: bool = True

    def entry(self, typed: Any) -> Entry:
        found = self.room.find(typed) if isinstance(typed, str) else None
        if found is None:
            shown = one_line(str(typed))[:40]
            raise ApiError(404, f"no student with the ID {shown!r} in this class; check the ID you were given "
                                "(it is on your sheet), or ask your instructor")
        return found

    def job(self, entry: Entry) -> Job:
        text = self.room.texts.get(entry.id)
        if not isinstance(text, str):  # the instructor's file, not the student's doing
            raise ApiError(422, f"your problem cannot be opened; tell your instructor ({one_line(str(text))})")
        return Job(text, self.room.variant_source(entry), entry.id)


def redacted(marking: dict[str, Any]) -> dict[str, Any]:
    """The marking without the key's values: verdicts, mistakes named, notes on the student's own numbers."""
    return {**marking, "quantities": [{k: v for k, v in q.items() if k not in HIDDEN} for q in marking["quantities"]]}


def progress(job: Job, answers: Any) -> dict[str, Any]:
    """Feedback off: how many numbers are read, and the boxes whose text is not a number (`unreadable`,
    key -> why, as `/api/check` names them), nothing marked."""
    from ..quantities import quantities

    _, sol = job.solve()
    unreadable: dict[str, str] = {}
    sheet = job.sheet(sol, answers, unreadable)
    done = {"feedback": False, "answered": len(sheet), "boxes": len(quantities(sol))}
    return {**done, "unreadable": unreadable} if unreadable else done


def class_check(job: Job, answers: Any, feedback: bool) -> dict[str, Any]:
    if not feedback:
        return progress(job, answers)
    return {"feedback": True, **redacted(do_check(job, answers, 4))}


def class_submit(room: ClassDir, entry: Entry, job: Job, answers: Any) -> dict[str, Any]:
    from ..quantities import quantities

    _, sol = job.solve()
    sheet = job.sheet(sol, answers)
    try:
        receipt = submit(room.root, entry.id, sol, sheet)
    except EmptySubmission as exc:
        raise ApiError(422, str(exc)) from None
    except OutputError:  # a full disk, a folder made read-only: the instructor's to fix, said on the server
        log.exception("saving %s's submission", entry.id)
        raise ApiError(500, "your answers could not be saved on the server; download the answers file, "
                            "give it to your instructor, and tell them") from None
    return {**receipt.public(), "answered": len(sheet), "boxes": len(quantities(sol))}


def class_routes(classroom: Classroom, *, page: Callable[..., Response], html_page: Callable[[Endpoint], Endpoint],
                 api: Callable[[Endpoint], Endpoint]) -> list[Route]:
    room = classroom.room

    def sign_in(status: int = 200, message: str = "", typed: str = "") -> Response:
        return page("class_login.html.j2", status, title=f"Sign in: {room.title}", class_title=room.title,
                    students=len(room.entries), message=message, typed=typed, feedback=classroom.feedback)

    @html_page
    async def index(request: Request) -> Response:
        return sign_in()

    @html_page
    async def find(request: Request) -> Response:
        typed = request.query_params.get("id", "")
        if not typed.strip():
            return sign_in(400, "Type your student ID.")
        try:
            entry = classroom.entry(typed)
        except ApiError as exc:
            return sign_in(exc.status, exc.body["error"], typed)
        return RedirectResponse(f"/class/{quote(entry.id, safe='')}", 303)

    @html_page
    async def sheet_page(request: Request) -> Response:
        typed = request.path_params["sid"]
        try:
            entry = classroom.entry(typed)
        except ApiError as exc:
            return sign_in(exc.status, exc.body["error"], typed)
        if entry.id != typed:  # S01 for s01: one address per student
            return RedirectResponse(f"/class/{quote(entry.id, safe='')}", 303)
        job = classroom.job(entry)
        try:
            context = await run_in_threadpool(student_context, job)
        except SpecError as exc:
            raise ApiError(422, f"your problem cannot be opened; tell your instructor ({one_line(str(exc))})") from None
        receipt = await run_in_threadpool(last_submission, room.root, entry.id)
        # on a browser that has none of their answers, the student starts from what they submitted
        # solved in the thread too: a class larger than the solve cache would otherwise solve on the event loop
        prefill = (await run_in_threadpool(lambda: submitted_answers(room.root, entry.id, job.solve()[1]))
                   if receipt else {})
        base = f"/api/class/{quote(entry.id, safe='')}"
        store = f"worksheet:class:{entry.id}:{context['sheet']}"
        return page("student.html.j2", title=context["spec"].title, **context, mode="class", student=entry,
                    feedback=classroom.feedback, receipt=receipt, store=store, body={}, stem=entry.id, prefill=prefill,
                    urls={"check": f"{base}/check", "answers": f"{base}/answers", "pdf": "",
                          "submit": f"{base}/submit"})

    async def answers_of(request: Request) -> tuple[Entry, Job, Any]:
        entry = classroom.entry(request.path_params["sid"])
        data = await read_json(request)
        known_fields(data, request.url.path, ("answers",))
        if "answers" not in data:
            raise ApiError(400, 'answers: missing; give an object of steps, as {"step1": {"z1_1": "1.5"}}')
        return entry, classroom.job(entry), data["answers"]

    @api
    async def check(request: Request) -> Response:
        _, job, answers = await answers_of(request)
        return JSONResponse(await run_in_threadpool(class_check, job, answers, classroom.feedback))

    @api
    async def submit_answers(request: Request) -> Response:
        entry, job, answers = await answers_of(request)
        return JSONResponse(await run_in_threadpool(class_submit, room, entry, job, answers))

    @api
    async def download(request: Request) -> Response:
        entry, job, answers = await answers_of(request)
        text = await run_in_threadpool(do_answers, job, answers, None)
        return Response(text, media_type="application/toml; charset=utf-8",
                        headers=_attachment(f"{entry.id}-answers.toml"))

    return [
        Route("/", index),
        Route("/class", find),
        Route("/class/{sid}", sheet_page),
        Route("/api/class/{sid}/check", check, methods=["POST"]),
        Route("/api/class/{sid}/submit", submit_answers, methods=["POST"]),
        Route("/api/class/{sid}/answers", download, methods=["POST"]),
    ]
