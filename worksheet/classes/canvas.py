"""Canvas export: a QTI 1.2 content package (.zip), one quiz per problem, one numerical question per number.

Contract: pure. `canvas_zip(quizzes, parts)` takes (name, Solution) pairs (the
name a class variant's student id, or None for a lone problem) and returns the
bytes of a zip that Canvas's "Import Course Content → QTI .zip file" reads:
`imsmanifest.xml`, and per pair a folder `<ident>/` with the quiz
(`<ident>.xml`, QTI 1.2) and its Canvas settings (`assessment_meta.xml`),
plus the network's picture as `images/<name>-network.svg`. The same input
gives the same bytes (identifiers are hashes of the input, the zip's dates
fixed), so a package made again imports as the same quizzes.

Canvas has no Cloze: a quiz is a flat list of items. So a quiz is, in the
worksheet's order, a `text_only_question` stating the problem (title, what to
work out, the picture, the Given table, how to type the numbers; the same
statement as the Moodle export's, `quiz.statement`) and then one
`numerical_question` worth 1 point per quantity asked (`quiz.asked`: all, or
those of some of the answers file's parts), its text naming the step, the
part, the quantity's stable name (`z1_1`) and its words. No question groups:
Canvas shows a group's questions in random order, and a hand calculation is
read in order.

The dialect is Canvas's own (as its QTI export writes it, and as its importer,
qti_exporter's NumericInteraction, reads it back): the assessment carries
`cc_maxattempts`, each item `question_type` and `points_possible` in its
`itemmetadata`; a numerical item answers in `response_str` / `render_fib
fibtype="Decimal"`, and its one condition is `<or>` of `<varequal>` (the key's
value, to 10 decimals) and `<and>` of `<vargte>`/`<varlte>` (value ∓
tolerance), which Canvas imports as an exact answer whose margin is the upper
bound minus the value. The lower bound is `vargte`, never `vargt`: Canvas reads
a strict lower bound whose bounds end in 5 as a significant-digits answer.
Tolerances are `quiz.tolerances` (the checker's rounding, `check.rounded_chains`):
a student who works to 4 decimals and carries their rounded numbers on is
marked right. Canvas gives every answer of a numerical question the full
mark, so there is no partial credit to export.

The picture is a file of the package (a `webcontent` resource the quiz's
resource depends on), shown from the question text as
`%24IMS-CC-FILEBASE%24/images/…`, the course-files reference Canvas rewrites
on import to the file it stored; an inline <svg> would be stripped by Canvas's
HTML sanitizer.
"""

from __future__ import annotations

import hashlib
import html
import io
import re
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal, localcontext
from fractions import Fraction

from ..quantities import Quantity
from ..solve import Solution
from ..spec import fingerprint
from . import quiz as common

QTI_NS = "http://www.imsglobal.org/xsd/ims_qtiasiv1p2"
QTI_SCHEMA = "http://www.imsglobal.org/xsd/ims_qtiasiv1p2p1.xsd"
CP_NS = "http://www.imsglobal.org/xsd/imsccv1p1/imscp_v1p1"
CP_SCHEMA = "http://www.imsglobal.org/xsd/imscp_v1p1.xsd"
META_NS = "http://canvas.instructure.com/xsd/cccv1p0"
META_SCHEMA = "https://canvas.instructure.com/xsd/cccv1p0.xsd"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
QTI_RESOURCE = "imsqti_xmlv1p2"
META_RESOURCE = "associatedcontent/imscc_xmlv1p1/learning-application-resource"
FILEBASE = "%24IMS-CC-FILEBASE%24"  # Canvas's course-files base, URL-escaped as in an href
IMAGES = "images"
_TITLE_LIMIT = 255  # Canvas's quiz and question title columns
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)  # the zip format's first date: the same bytes every run


# -- names ----------------------------------------------------------------------------

def _holds(title: str, name: str) -> bool:
    """Whether `title` holds `name` as a word of its own (`s01` in "HW3 (student s01)", not in "s010")."""
    return re.search(rf"(?<![\w.-]){re.escape(name)}(?![\w-]|\.[\w-])", title) is not None


def quiz_title(name: str | None, sol: Solution) -> str:
    """A quiz's title: the spec's title, and a variant's name (the student id) after it unless the
    title already holds it (a class's variant is titled "HW3 (student s01)"): named once, not twice."""
    title = " ".join(common.xml_text(sol.spec.title).split())
    if name is not None and not _holds(title[:_TITLE_LIMIT], name):
        # the name goes in before the title is cut to Canvas's limit, so a long title keeps it
        suffix = f" ({name})"
        title = title[:_TITLE_LIMIT - len(suffix)].rstrip() + suffix
    return title[:_TITLE_LIMIT] or "worksheet"


def quiz_ident(name: str | None, sol: Solution, parts: Sequence[str] | None) -> str:
    """A quiz's identifier: a hash of what makes it (name, problem, parts), starting with a letter as
    an XML ID must. The same quiz gets the same identifier, run after run."""
    made = "\0".join([name or "", fingerprint(sol.spec), ",".join(parts or ())])
    return "w" + hashlib.sha256(made.encode("utf-8")).hexdigest()[:24]


def _file_stem(name: str | None, sol: Solution) -> str:
    """A name for the quiz's picture file in the course's files: letters, digits, . _ - only."""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", name if name is not None else sol.spec.title).strip("-.")
    return stem[:60] or "quiz"


# -- XML ---------------------------------------------------------------------------------

def _el(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    el = ET.SubElement(parent, tag, attrs)
    if text is not None:
        el.text = common.xml_text(text)
    return el


def _document(root: ET.Element) -> bytes:
    ET.indent(root, space="  ")
    return ('<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n").encode()


def _metadata(parent: ET.Element, fields: Iterable[tuple[str, str]]) -> None:
    meta = _el(parent, "qtimetadata")
    for label, entry in fields:
        field = _el(meta, "qtimetadatafield")
        _el(field, "fieldlabel", label)
        _el(field, "fieldentry", entry)


def _material(parent: ET.Element, markup: str) -> None:
    _el(_el(parent, "material"), "mattext", markup, texttype="text/html")


def _item_head(section: ET.Element, ident: str, title: str, kind: str, points: int, answers: str) -> ET.Element:
    item = _el(section, "item", ident=ident, title=title[:_TITLE_LIMIT])
    _metadata(_el(item, "itemmetadata"), [
        ("question_type", kind),
        ("points_possible", str(points)),
        ("original_answer_ids", answers),
        ("assessment_question_identifierref", f"{ident}_ref"),
    ])
    return item


# -- the quiz ------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Quiz:
    ident: str
    title: str
    sol: Solution
    asked: tuple[Quantity, ...]
    picture: common.Picture
    picture_path: str  # in the zip


def bounds(value: Fraction, tolerance: Decimal) -> tuple[str, str, str]:
    """The key's value as written (10 decimals) and the bounds value ∓ tolerance, computed from the
    written value in decimal: Canvas takes the margin as upper − value, exactly."""
    exact = common.number_text(value)
    with localcontext() as ctx:
        ctx.prec = 60
        low, high = Decimal(exact) - tolerance, Decimal(exact) + tolerance
    return exact, common.number_text(low, 14), common.number_text(high, 14)


def question_html(q: Quantity) -> str:
    """A numerical question's text: where it is in the worksheet and which quantity it asks for."""
    # the section as the Moodle question and the sheet head it (the update one section, not η·g and new by turns)
    return (f"<p><b>Step {q.step} · {html.escape(common.section_heading(common.section_of(q)))}</b></p>\n"
            f"<p><code>{html.escape(q.name)}</code>: {html.escape(q.words)}</p>\n"
            f'<p style="font-size:small;color:#555">At least {common.DECIMALS} decimals, rounded half up. '
            "The problem and its givens are the quiz's first item.</p>")


def _numerical(section: ET.Element, quiz: _Quiz, q: Quantity, tolerance: Decimal) -> None:
    ident = f"{quiz.ident}_step{q.step}_{q.name}"
    item = _item_head(section, ident, q.key, "numerical_question", 1, f"{ident}_answer")
    presentation = _el(item, "presentation")
    _material(presentation, question_html(q))
    response = _el(presentation, "response_str", ident="response1", rcardinality="Single")
    _el(_el(response, "render_fib", fibtype="Decimal"), "response_label", ident=f"{ident}_answer")
    processing = _el(item, "resprocessing")
    _el(_el(processing, "outcomes"), "decvar", maxvalue="100", minvalue="0", varname="SCORE", vartype="Decimal")
    condition = _el(processing, "respcondition", **{"continue": "No"})
    either = _el(_el(condition, "conditionvar"), "or")
    exact, low, high = bounds(q.value, tolerance)
    _el(either, "varequal", exact, respident="response1")
    within = _el(either, "and")
    _el(within, "vargte", low, respident="response1")
    _el(within, "varlte", high, respident="response1")
    _el(condition, "setvar", "100", action="Set", varname="SCORE")


def assessment_xml(quiz: _Quiz) -> bytes:
    """The quiz as a QTI 1.2 assessment: the problem as a text-only item, then a numerical item per number."""
    root = ET.Element("questestinterop", {"xmlns": QTI_NS, "xmlns:xsi": XSI_NS,
                                          "xsi:schemaLocation": f"{QTI_NS} {QTI_SCHEMA}"})
    assessment = _el(root, "assessment", ident=quiz.ident, title=quiz.title)
    _metadata(assessment, [("cc_maxattempts", "1")])
    section = _el(assessment, "section", ident="root_section")
    problem = _item_head(section, f"{quiz.ident}_problem", "The problem", "text_only_question", 0, "")
    shown = quiz.picture.img(f"{FILEBASE}/{quiz.picture_path}")
    _material(_el(problem, "presentation"), common.statement(quiz.sol, shown) + "\n" + common.sheet_line(quiz.sol))
    tol = common.tolerances(quiz.sol, common.DECIMALS)
    for q in quiz.asked:
        _numerical(section, quiz, q, tol[q.key])
    return _document(root)


def assessment_meta(quiz: _Quiz) -> bytes:
    """The quiz's Canvas settings: title, description, points, one attempt, every question on one page
    (the problem stays in view), not published."""
    root = ET.Element("quiz", {"identifier": quiz.ident, "xmlns": META_NS, "xmlns:xsi": XSI_NS,
                               "xsi:schemaLocation": f"{META_NS} {META_SCHEMA}"})
    _el(root, "title", quiz.title)
    _el(root, "description",
        f"<p>{html.escape(common.summary(quiz.sol))}</p><p>The problem, the network's picture and the givens are "
        f"the quiz's first item; then one question per number, {len(quiz.asked)} in all, 1 point each, in the "
        "worksheet's order.</p>")
    for tag, text in (("shuffle_answers", "false"), ("scoring_policy", "keep_highest"), ("quiz_type", "assignment"),
                      ("points_possible", f"{len(quiz.asked)}.0"), ("allowed_attempts", "1"),
                      ("one_question_at_a_time", "false"), ("cant_go_back", "false"), ("available", "false")):
        _el(root, tag, text)
    return _document(root)


def manifest_xml(quizzes: Sequence[_Quiz]) -> bytes:
    """imsmanifest.xml: per quiz a QTI resource (its assessment) that depends on its settings and its picture."""
    root = ET.Element("manifest", {"identifier": "m" + hashlib.sha256(
        "\0".join(q.ident for q in quizzes).encode()).hexdigest()[:24], "xmlns": CP_NS, "xmlns:xsi": XSI_NS,
        "xsi:schemaLocation": f"{CP_NS} {CP_SCHEMA}"})
    metadata = _el(root, "metadata")
    _el(metadata, "schema", "IMS Content")
    _el(metadata, "schemaversion", "1.1.3")
    _el(root, "organizations")
    resources = _el(root, "resources")
    for quiz in quizzes:
        res = _el(resources, "resource", identifier=quiz.ident, type=QTI_RESOURCE)
        _el(res, "file", href=f"{quiz.ident}/{quiz.ident}.xml")
        _el(res, "dependency", identifierref=f"{quiz.ident}_meta")
        _el(res, "dependency", identifierref=f"{quiz.ident}_picture")
        meta = _el(resources, "resource", identifier=f"{quiz.ident}_meta", type=META_RESOURCE,
                   href=f"{quiz.ident}/assessment_meta.xml")
        _el(meta, "file", href=f"{quiz.ident}/assessment_meta.xml")
        pic = _el(resources, "resource", identifier=f"{quiz.ident}_picture", type="webcontent",
                  href=quiz.picture_path)
        _el(pic, "file", href=quiz.picture_path)
    return _document(root)


def _quizzes(pairs: Iterable[tuple[str | None, Solution]], parts: Sequence[str] | None) -> list[_Quiz]:
    out: list[_Quiz] = []
    stems: set[str] = set()
    for name, sol in pairs:
        ident = quiz_ident(name, sol, parts)
        if any(q.ident == ident for q in out):  # its files would overwrite the first's in the zip
            raise ValueError(f"two quizzes named {name!r} of the same problem: give each its own name")
        stem = _file_stem(name, sol)
        if stem.lower() in stems:  # two names alike once cleaned (s 1, s-1): the identifier tells them apart
            stem = f"{stem}-{ident[1:9]}"
        stems.add(stem.lower())
        out.append(_Quiz(ident, quiz_title(name, sol), sol, common.asked(sol, parts), common.picture(sol),
                         f"{IMAGES}/{stem}-network.svg"))
    return out


def _entry(path: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(path, date_time=_ZIP_DATE)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    return info


def canvas_files(pairs: Iterable[tuple[str | None, Solution]],
                 parts: Iterable[str] | None = None) -> dict[str, bytes]:
    """The package's files (path in the zip → content), the manifest first; one quiz per (name, solution)."""
    parts = tuple(parts) if parts is not None else None
    quizzes = _quizzes(pairs, parts)
    if not quizzes:
        raise ValueError("nothing to export: no problem given")
    files = {"imsmanifest.xml": manifest_xml(quizzes)}
    for quiz in quizzes:
        files[f"{quiz.ident}/{quiz.ident}.xml"] = assessment_xml(quiz)
        files[f"{quiz.ident}/assessment_meta.xml"] = assessment_meta(quiz)
        files[quiz.picture_path] = quiz.picture.svg
    return files


def canvas_zip(pairs: Iterable[tuple[str | None, Solution]], parts: Iterable[str] | None = None) -> bytes:
    """A QTI 1.2 content package for Canvas: one quiz per (name, solution), in the order given."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        for path, data in canvas_files(pairs, parts).items():
            zf.writestr(_entry(path), data)
    return out.getvalue()
