"""Render stage: a `Document` in, one self-contained HTML page out.

Contract: `to_html(doc)` renders the package's own templates (`templates/` in
the repo, `worksheet/templates` once installed). Only an explicit
`override` folder, which the command line takes from the person running it
(`--templates DIR`) and nothing may take from a request or a document,
replaces any of them by a file of the same name. Whatever the templates:

- they run in Jinja2's immutable sandbox, so a template can read the
  document but not reach Python's internals, files or commands, nor change
  the values it is given;
- an override file that resolves (through a symlink) outside its folder is
  refused, and a name with `..` is never looked up outside it;
- every value that is not already `Markup` (titles, course names: anything
  from a spec) is escaped, and an undefined one is an error;
- the page embeds its style and pictures: a reference to anything outside it
  (a local file, a relative path, a web address) in a resource attribute,
  `<style>` or `style=` is refused, not left for a browser or WeasyPrint to
  fetch or drop.

Anything that goes wrong in a template (syntax, an undefined value, the
sandbox refusing an attribute, any exception raised while an override
renders) is a `TemplateError` whose message starts with the template's name.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from html.parser import HTMLParser
from importlib import resources
from pathlib import Path

import jinja2
from jinja2.loaders import split_template_path
from jinja2.sandbox import ImmutableSandboxedEnvironment

from .document import Document
from .spec import one_line

MAIN = "worksheet.html.j2"


class TemplateError(ValueError):
    """A template (most likely an instructor's override) cannot be used."""


def package_templates() -> Path:
    return Path(str(resources.files("worksheet.templates")))


class _OverrideLoader(jinja2.BaseLoader):
    """Files of one folder, and only those that really lie inside it."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.root = folder.resolve()

    def get_source(self, environment: jinja2.Environment, template: str) -> tuple[str, str, Callable[[], bool]]:
        path = self.root.joinpath(*split_template_path(template))  # raises TemplateNotFound on '..'
        if not os.path.lexists(path):
            raise jinja2.TemplateNotFound(template)
        real = path.resolve()
        # a symlink to /etc/passwd would otherwise be embedded in the page
        if not real.is_relative_to(self.root):
            raise TemplateError(f"{template}: resolves to {real}, outside the template folder {self.folder}; "
                                "an override must be a file inside it")
        if not real.is_file():
            raise jinja2.TemplateNotFound(template)
        try:
            source = real.read_bytes().decode("utf-8")
        except UnicodeDecodeError as exc:
            raise TemplateError(f"{template}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
        except OSError as exc:
            raise TemplateError(f"{template}: cannot be read ({exc.strerror or exc})") from None
        # the environment lives for one render, so a template never needs reloading
        return source, str(path), lambda: True


class _Recording(jinja2.ChoiceLoader):
    """Remembers which file each template came from, to name it in an error."""

    def __init__(self, loaders: list[jinja2.BaseLoader]):
        super().__init__(loaders)
        self.names: dict[str, str] = {}

    def load(self, environment, name, globals=None):
        # ChoiceLoader.load asks each loader's load, not get_source: record here
        template = super().load(environment, name, globals)
        if template.filename:
            self.names[template.filename] = name
        return template


def environment(override: Path | None = None) -> jinja2.Environment:
    """The sandboxed environment over the package's templates, and `override`'s ahead of them when given."""
    loaders: list[jinja2.BaseLoader] = [] if override is None else [_OverrideLoader(override)]
    loaders.append(jinja2.FileSystemLoader(str(package_templates())))
    return ImmutableSandboxedEnvironment(
        loader=_Recording(loaders),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=False,
        keep_trailing_newline=True,
    )


def _where(exc: BaseException, names: dict[str, str]) -> str:
    """The innermost template frame of a (Jinja-rewritten) traceback, as 'name: line N'."""
    found = ""
    tb = exc.__traceback__
    while tb is not None:
        name = names.get(tb.tb_frame.f_code.co_filename)
        if name is not None:
            found = f"{name}: line {tb.tb_lineno}"
        tb = tb.tb_next
    return found or "a template"


def to_html(doc: Document, override: Path | None = None) -> str:
    """The page from the package's templates, or `override`'s where it has a file of the same name."""
    env = environment(override)
    names = env.loader.names  # type: ignore[union-attr]
    try:
        html = env.get_template(MAIN).render(doc=doc)
    except TemplateError:
        raise
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateError(f"{exc.filename or exc.name}: line {exc.lineno}: {exc.message}") from None
    except jinja2.TemplateNotFound as exc:
        raise TemplateError(f"template not found: {exc.name}") from None
    except jinja2.UndefinedError as exc:
        raise TemplateError(f"{_where(exc, names)}: uses an undefined value: {exc.message}") from None
    except jinja2.TemplateError as exc:  # SecurityError and the other runtime errors
        raise TemplateError(f"{_where(exc, names)}: {one_line(exc.message or type(exc).__name__)}") from None
    except Exception as exc:
        if override is None:
            raise  # the package's own templates failing is a bug, with its traceback
        raise TemplateError(f"{_where(exc, names)}: {type(exc).__name__}: {one_line(exc)}") from None
    outside = external_references(html)
    if outside:
        raise TemplateError(f"the page refers to {outside[0]}, outside it, which is not fetched: "
                            "a page embeds its pictures and style (data: URIs only)")
    return html


# -- what a page may refer to ---------------------------------------------------------------------

# attributes whose value a browser or WeasyPrint loads; links (<a href>) are followed only on a click
_RESOURCE_ATTRS = {"src", "srcset", "data", "poster", "background", "href", "xlink:href", "lowsrc", "dynsrc",
                   "longdesc", "manifest", "icon", "codebase", "archive", "profile", "formaction", "ping"}
_LINK_TAGS = {"a", "area"}


def _allowed(url: str) -> bool:
    url = url.strip()
    return url.startswith("#") or url[:5].lower() == "data:"  # a fragment stays inside the page


class _References(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag, attrs):
        self._in_style = tag == "style"
        for name, value in attrs:
            value = value or ""
            if name == "style":
                self.found += _css_references(value, inline=True)
            elif name == "srcset" and value.strip():
                self.found.append(f"{value.strip()} (<{tag} srcset>: give src a data: URI)")
            elif name in _RESOURCE_ATTRS and tag not in _LINK_TAGS and value.strip() and not _allowed(value):
                self.found.append(f"{value.strip()} (<{tag} {name}>)")
        if tag == "meta" and dict(attrs).get("http-equiv", "").lower() == "refresh":
            self.found.append(f"{dict(attrs).get('content', '')} (<meta http-equiv=refresh>)")

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        self._in_style = False

    def handle_endtag(self, tag):
        self._in_style = False

    def handle_data(self, data):
        if self._in_style:
            self.found += _css_references(data, inline=False)


def _css_urls(nodes) -> Iterator[str]:
    import tinycss2

    for node in nodes:
        kind = getattr(node, "type", "")
        if kind == "url":
            yield node.value
        elif kind == "function":
            if node.lower_name in ("url", "src"):
                yield "".join(str(getattr(arg, "value", "")) for arg in node.arguments
                              if getattr(arg, "type", "") == "string") or node.serialize()
            else:
                yield from _css_urls(node.arguments)
        elif kind == "at-rule":
            if node.lower_at_keyword == "import":
                yield tinycss2.serialize(node.prelude).strip()
            yield from _css_urls(node.prelude)
            yield from _css_urls(node.content or [])
        elif kind == "qualified-rule":
            yield from _css_urls(node.prelude)
            yield from _css_urls(node.content)
        elif kind in ("() block", "[] block", "{} block", "declaration"):
            yield from _css_urls(node.content if kind != "declaration" else node.value)


def _css_references(css: str, inline: bool) -> list[str]:
    # a cheap look first: most style holds neither url( nor @import, even written with CSS escapes
    if not re.search(r"url|src|import|\\", css, re.IGNORECASE):
        return []
    import tinycss2

    nodes = (tinycss2.parse_blocks_contents(css) if inline else tinycss2.parse_stylesheet(css))
    where = "style=" if inline else "<style>"
    # @import takes a bare string too; a fragment url(#id) names an SVG element of the page
    return [f"{url.strip()} ({where})" for url in _css_urls(nodes) if not _allowed(url.strip('"\' '))]


def external_references(html: str) -> list[str]:
    """Every address in `html` that a browser or WeasyPrint would fetch: resource attributes other than
    data: URIs and #fragments, url() and @import in style, a refresh; each with where it was found."""
    parser = _References()
    parser.feed(html)
    parser.close()
    return parser.found
