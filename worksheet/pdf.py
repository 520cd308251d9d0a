"""PDF stage: the rendered HTML page in, PDF bytes out, via WeasyPrint.

Contract: `to_pdf(html)` touches no files and no network. The page carries
its style and pictures inline (data: URIs), and WeasyPrint's fetcher is
allowed the data: scheme only, so neither a spec nor a template override can
make it read a local file or a web address; one that tries stops the render
with `PdfError` naming the address. The page is searched for such addresses
before WeasyPrint sees it, because WeasyPrint drops some of them without a
word (a relative path without a base URL, an `<img srcset>`, an SVG `<image>`,
an `@import`) instead of asking its fetcher.
"""

from __future__ import annotations

import logging


class PdfError(ValueError):
    pass


def to_pdf(html: str) -> bytes:
    from .render import external_references

    outside = external_references(html)
    if outside:
        raise PdfError(f"the page refers to something outside it, which is not fetched: {outside[0]}")
    import weasyprint
    from weasyprint.urls import FatalURLFetchingError, URLFetcher

    # fontTools subsets fonts when HarfBuzz's subsetter is missing, and says so on every run
    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    fetcher = URLFetcher(allowed_protocols={"data"}, fail_on_errors=True)
    try:
        return weasyprint.HTML(string=html, url_fetcher=fetcher, base_url=None).write_pdf()
    except FatalURLFetchingError as exc:
        cause = exc.__cause__ or exc
        raise PdfError(f"the page refers to something outside it, which is not fetched: {cause}") from None
