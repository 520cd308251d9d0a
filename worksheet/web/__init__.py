"""Web stage: `worksheet serve`, a local web app over the same library.

Contract: `create_app(problems_dir=None)` (in `app`) returns a Starlette
(ASGI) application; `worksheet serve` runs it with uvicorn on 127.0.0.1. It is
a thin layer: every number, verdict, message and document comes from the
library's own functions (`spec.parse_spec`, `solve.solve`,
`answers.sheet_from_tables`, `check.check`, `feedback.marking_json`,
`export.to_json`, `document.build`, `render.to_html`, `pdf.to_pdf`,
`answers.answers_template`), so the web page marks exactly as `worksheet
check` does and says what the command line says.

- Pages: `/` lists the problems, `/student/{id}` is the blank sheet with an
  input in every box (named by the answers file's keys, `step1.z1_1`),
  marked as the student leaves each box; `/instructor` is a problem editor
  with a live preview of the answer key.
- JSON API: `POST /api/solve`, `/api/check`, `/api/render`, `/api/answers`,
  `/api/validate`; `GET /api/problems`, `/api/problems/{id}`. A request
  gives the spec as TOML text (`spec`), or a listed problem (`problem`), or
  neither for the built-in problem. Errors are `{"error": message}` with the
  command line's message: 400 malformed request (a field the endpoint does
  not take is named), 404 unknown problem, 413 a body over 1 MiB, 422 a bad
  spec or answers (with `line` when the message names one, `key` the box as
  sent). A box whose text is not a number is no error for `/api/check`: the
  rest is marked and the box named in `unreadable`.
- Class mode (`create_app(class_dir=DIR)`, `serve --class`; `classroom`):
  `/` asks for a student ID, `/class/{id}` is that student's own variant,
  `POST /api/class/{id}/check`, `/submit`, `/answers` mark without the key's
  values and save the answers file in `DIR/submissions/`; the problem list,
  the editor and the open API above are not served.
- Files: the server reads only the problems it listed at start-up (the
  built-in one, the examples, `serve --problems DIR`'s *.toml files), or the
  class directory's class.csv and variants, each addressed by an id; no
  request names a path. It writes only a class's submissions
  (`classes.classdir.submit`: whole files, every one kept).
- Requests: a POST body is JSON sent as `application/json` (415 otherwise);
  a request a browser marks as coming from another site is refused (403).
- Work that takes time (solving, checking, rendering HTML and PDF) runs in
  worker threads, off the event loop; PDF renders at most two at a time. A bad
  request never takes the server down: anything unexpected is logged with
  its traceback on the server and answered with a one-line JSON error, never
  a traceback.
"""

MAX_BODY = 1024 * 1024  # bytes of a request body: a spec or an answers mapping is a few KB
