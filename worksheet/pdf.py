"""PDF stage: the rendered HTML page in, PDF bytes out, via WeasyPrint.

Contract: `to_pdf(html)` touches no files and no network. The page carries
its style and pictures inline (data: URIs), and WeasyPrint's fetcher is
allowed the data: scheme only, so neither a spec nor a template override can
make it read a local file or a web address; one that tries stops the render
with `PdfError` naming the address. The page is searched for such addresses
before WeasyPrint sees it, because WeasyPrint drops some of them without a
word (a relative path without a base URL, an `<img srcset>`, an SVG `<image>`,
an `@import`) instead of asking its fetcher.

Speed (the built-in key's PDF, profiled with cProfile around `to_pdf`): two
things WeasyPrint does that a worksheet never needs are left out, and the
PDF is the same page for page (`tests/test_render.py` compares the text).

- Its user-agent stylesheet gives *every* element six pseudo-elements
  (`::marker`, `::footnote-call`, `::note-call` ...), each with its own
  computed style: the page uses no footnotes, and only a list item has a
  marker, so `_ua_stylesheet` keeps those rules for `li::marker` only.
- Without HarfBuzz's subsetter (libharfbuzz-subset) WeasyPrint subsets the
  embedded fonts with fontTools, which decodes a font's GSUB and GPOS tables
  before dropping them (a quarter second for DejaVu Serif's kerning): a PDF
  uses neither, so `_subset_without_layout_tables` deletes them unread.
- Loading Pango and its companions, WeasyPrint tries several names per
  library, most of them Windows' or macOS's. On Linux each name cffi cannot
  open directly goes to `ctypes.util.find_library`, which runs ldconfig, gcc
  and ld in turn for a name that is not there: a fifth of a second a process
  (`python -X importtime -c "import weasyprint"`). `_weasyprint` imports it
  with `find_library` answering from one ldconfig listing; a library missing
  from the listing is still found by the `libX.so.N` name WeasyPrint also
  tries, and if the import fails all the same it is retried the usual way.
- WeasyPrint makes and drops millions of objects for an 8-page key; at
  Python's default thresholds (the youngest collected every 700 new objects,
  and now and then a full collection through every SymPy expression and
  module of the process) the cyclic collector took 7 % of a warm process's
  PDF stage and a tenth of a cold `worksheet render`'s. `_collecting_less`
  collects the youngest every 50,000 instead while WeasyPrint works, and puts
  the thresholds back after: the built-in key's PDF 1.26 s -> 1.18 s in a warm
  process (best of 5, interleaved), the whole cold render 2.4 s -> 2.15 s, the
  largest problem 15.8 s -> 14.6 s in the same 325 MB.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import io
import logging
import os
import re
import subprocess
import sys
import threading


class PdfError(ValueError):
    pass


def to_pdf(html: str) -> bytes:
    from .render import external_references

    outside = external_references(html)
    if outside:
        raise PdfError(f"the page refers to something outside it, which is not fetched: {outside[0]}")
    page = _page_class()
    from weasyprint.urls import FatalURLFetchingError, URLFetcher

    fetcher = URLFetcher(allowed_protocols={"data"}, fail_on_errors=True)
    try:
        with _collecting_less():
            # a blank sheet's boxes hold <input>s: as PDF form fields, a student fills it in on screen
            return page(string=html, url_fetcher=fetcher, base_url=None).write_pdf(pdf_forms="<input" in html)
    except FatalURLFetchingError as exc:
        cause = exc.__cause__ or exc
        raise PdfError(f"the page refers to something outside it, which is not fetched: {cause}") from None


YOUNG_THRESHOLD = 50_000  # new objects between two collections of the youngest, while WeasyPrint works
_COLLECTOR = threading.Lock()
_rendering = 0  # renders under way in this process (the web app's threads)
_thresholds: tuple[int, ...] = ()


@contextlib.contextmanager
def _collecting_less():
    """Python's cyclic collector run less often while WeasyPrint works, as it was once no render is under way."""
    global _rendering, _thresholds
    with _COLLECTOR:
        if not _rendering:
            _thresholds = gc.get_threshold()
            if _thresholds[0]:  # 0: the collector is off, and stays off
                gc.set_threshold(max(_thresholds[0], YOUNG_THRESHOLD), *_thresholds[1:])
        _rendering += 1
    try:
        yield
    finally:
        with _COLLECTOR:
            _rendering -= 1
            if not _rendering:
                gc.set_threshold(*_thresholds)


# Rules of WeasyPrint's user-agent stylesheet that match every element's pseudo-elements.
_UNIVERSAL_PSEUDO = re.compile(r"^::(?:footnote|note)-[a-z]+ *\{[^}]*\}[ \t]*$", re.M)


@functools.cache
def _ua_stylesheet():
    """WeasyPrint's user-agent stylesheet with `::marker` for list items only and no footnote rules;
    None when this WeasyPrint's stylesheet is not the one expected (then its own is used)."""
    try:
        from weasyprint import CSS
        from weasyprint.html import UA, UA_COUNTER_STYLE
    except ImportError:
        return None
    text, notes = _UNIVERSAL_PSEUDO.subn("", UA)
    text, markers = re.subn(r"^::marker(?= *\{)", "li::marker", text, flags=re.M)
    if not notes or markers != 1:
        return None
    return CSS(string=text, counter_style=UA_COUNTER_STYLE)


_IMPORTING = threading.Lock()  # the web app renders in threads: one patches find_library at a time


@functools.cache
def _weasyprint():
    """The weasyprint module, imported once a process with libraries looked up in one ldconfig listing."""
    # Quiet before the import: WeasyPrint parses its own stylesheets as it is imported, and logs each as
    # "Step 2 - Fetching and parsing CSS" at INFO (`weasyprint.progress`), which `worksheet serve`'s
    # logging (INFO, for its own messages) would print. fontTools subsets fonts when HarfBuzz's
    # subsetter is missing, and says so on every run.
    for name in ("weasyprint", "weasyprint.progress", "fontTools"):
        logging.getLogger(name).setLevel(logging.ERROR)
    with _IMPORTING:  # a second thread waits, then finds it imported (and find_library restored)
        try:
            with _libraries_listed_once():
                import weasyprint
        except (OSError, ImportError):
            import weasyprint  # the usual way, each name looked for with find_library's every tool
    return weasyprint


@contextlib.contextmanager
def _libraries_listed_once():
    import ctypes.util

    listing = _ldconfig_listing() if sys.platform.startswith("linux") else None
    if not listing:
        yield
        return
    original = ctypes.util.find_library

    def find_library(name: str) -> str | None:
        # ctypes' first answer on Linux is ldconfig's soname too (ctypes.util._findSoname_ldconfig)
        found = re.search(rb"\s(lib%s\.[^\s]+)\s+\(" % re.escape(os.fsencode(name)), listing)
        return os.fsdecode(found.group(1)) if found else None

    ctypes.util.find_library = find_library
    try:
        yield
    finally:
        ctypes.util.find_library = original


def _ldconfig_listing() -> bytes | None:
    """`ldconfig -p`'s listing of this machine's architecture (x86-64, AArch64), or None."""
    arch = {"x86_64": b"x86-64", "aarch64": b"AArch64"}.get(os.uname().machine)
    try:
        out = subprocess.run(["/sbin/ldconfig", "-p"], capture_output=True, env={"LC_ALL": "C", "LANG": "C"},
                             timeout=10, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    if arch is None:
        return None  # another machine's listing names its other ABIs' libraries too: the usual way there
    return b"\n".join(line for line in out.splitlines() if arch in line.partition(b"=>")[0])


@functools.cache
def _page_class():
    """weasyprint.HTML with the lighter user-agent stylesheet, set up once a process."""
    weasyprint = _weasyprint()
    _subset_without_layout_tables()
    sheet = _ua_stylesheet()
    if sheet is None or not hasattr(weasyprint.HTML, "_ua_stylesheets"):
        return weasyprint.HTML

    import weasyprint.html

    forms_sheet = getattr(weasyprint.html, "UA_FORM_STYLESHEET", None)

    class Page(weasyprint.HTML):
        def _ua_stylesheets(self, forms=False):
            if not forms:
                return [sheet]
            return [sheet, forms_sheet] if forms_sheet is not None else super()._ua_stylesheets(forms)

    return Page


def _subset_without_layout_tables() -> None:
    """Where WeasyPrint subsets fonts with fontTools, delete the tables it drops before fontTools reads them."""
    try:
        from fontTools import subset
        from fontTools.ttLib import TTFont, TTLibError
        from weasyprint.pdf import fonts
    except ImportError:
        return
    font_class = getattr(fonts, "Font", None)
    if getattr(fonts, "harfbuzz_subset", None) or not hasattr(font_class, "_fonttools_subset"):
        return  # HarfBuzz subsets, or a WeasyPrint whose fonts this does not know
    if getattr(font_class._fonttools_subset, "_worksheet", False):
        return
    import inspect

    # the replacement takes WeasyPrint 70's arguments; another WeasyPrint keeps its own subsetting
    if list(inspect.signature(font_class._fonttools_subset).parameters) != ["self", "to_unicode", "hinting"]:
        return

    def fonttools_subset(self, to_unicode, hinting):
        # WeasyPrint's own options (fonts.Font._fonttools_subset), and its layout tables deleted unread
        options = subset.Options(
            retain_gids=True, passthrough_tables=True, ignore_missing_glyphs=True,
            hinting=hinting, desubroutinize=True, notdef_outline=bool(self.missing))
        options.drop_tables += ["GSUB", "GPOS", "SVG"]
        subsetter = subset.Subsetter(options)
        subsetter.populate(gids=to_unicode)
        try:
            ttfont = TTFont(io.BytesIO(self.file_content), fontNumber=self.index)
            for tag in ("GSUB", "GPOS", "GDEF", "SVG "):  # GDEF only serves GSUB and GPOS
                if tag in ttfont:
                    del ttfont[tag]
            subsetter.subset(ttfont)
        except TTLibError:
            return  # WeasyPrint's way too: the font goes in whole
        out = io.BytesIO()
        ttfont.save(out)
        self.file_content = out.getvalue()

    fonttools_subset._worksheet = True  # type: ignore[attr-defined]
    font_class._fonttools_subset = fonttools_subset
