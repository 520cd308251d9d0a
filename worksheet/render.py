"""Render stage: a `Document` in, one self-contained HTML page out.

Contract: `to_html(doc, templates)` reads only templates: the package's own
(`templates/` in the repo, `worksheet/templates` once installed), each of
which a file of the same name in the `templates` override folder replaces.
Jinja2 escapes every value that is not already `Markup` (titles, course
names: anything from a spec) and fails on an undefined one. The page embeds
its style and pictures, so it needs nothing beside it.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import jinja2

from .document import Document

MAIN = "worksheet.html.j2"


class TemplateError(ValueError):
    """A template (most likely an instructor's override) cannot be used."""


def package_templates() -> Path:
    return Path(str(resources.files("worksheet.templates")))


def environment(override: Path | None = None) -> jinja2.Environment:
    loaders: list[jinja2.BaseLoader] = []
    if override is not None:
        loaders.append(jinja2.FileSystemLoader(str(override)))
    loaders.append(jinja2.FileSystemLoader(str(package_templates())))
    return jinja2.Environment(
        loader=jinja2.ChoiceLoader(loaders),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=False,
        keep_trailing_newline=True,
    )


def to_html(doc: Document, override: Path | None = None) -> str:
    env = environment(override)
    try:
        return env.get_template(MAIN).render(doc=doc)
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateError(f"{exc.filename or exc.name}: line {exc.lineno}: {exc.message}") from None
    except jinja2.UndefinedError as exc:
        raise TemplateError(f"a template uses an undefined value: {exc.message}") from None
    except jinja2.TemplateNotFound as exc:
        raise TemplateError(f"template not found: {exc.name}") from None
