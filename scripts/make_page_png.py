"""Writes docs/page.png: one page of the built-in answer key, as the README shows it.

    python scripts/make_page_png.py [--heading "Backward pass"] [--after "Step 1 of"] [--dpi 100] [--out docs/page.png]

Renders the built-in problem's answer key (`worksheet render --format pdf`)
into a temporary folder, finds the first page, from step 1 on (a line
starting "Step 1 of"), with a line starting with the heading (by default
"Backward pass": step 1's δ's and gradients, the page that shows best what
the tool writes), and rasterizes that page alone with pdftoppm
(poppler-utils) in grey. The page is found by its text, not its number, so
the script keeps working when the layout moves pages about; rerun it after
a change to the worksheet's look, look at the picture, and commit it.

To keep the file small (the README's picture, under 150 KB) the grey levels
are reduced to 16 with Pillow (WeasyPrint's own dependency), which leaves
text sharp; without Pillow the plain grey PNG is written.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LIMIT = 150_000  # bytes: the README's picture stays small


def worksheet_command() -> list[str]:
    """The worksheet CLI of this environment: the venv's script, else `python -m worksheet`."""
    exe = Path(sys.executable).with_name("worksheet")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "worksheet"]


def page_texts(pdf: Path) -> list[str]:
    """Each page's text, in order (pdftotext; pages are separated by form feeds)."""
    out = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True, text=True)
    pages = out.stdout.split("\f")
    return pages[:-1] if pages and not pages[-1].strip() else pages


def find_page(pdf: Path, heading: str, after: str) -> int:
    """The number (from 1) of the first page, from the one where a line starts with `after` on,
    with a line that starts with `heading` (so a heading of the derivation before step 1 is passed by)."""
    def starts(text: str, words: str) -> bool:
        return re.search(rf"^\s*{re.escape(words)}", text, re.M | re.I) is not None

    pages = page_texts(pdf)
    first = next((n for n, text in enumerate(pages) if starts(text, after)), 0)
    for number, text in enumerate(pages[first:], start=first + 1):
        if starts(text, heading):
            return number
    raise SystemExit(f"make_page_png: no page of {pdf.name} has the heading {heading!r}")


def rasterize(pdf: Path, page: int, dpi: int, out: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        stem = Path(tmp) / "page"
        subprocess.run(["pdftoppm", "-f", str(page), "-l", str(page), "-r", str(dpi), "-gray", "-png",
                        "-singlefile", str(pdf), str(stem)], check=True)
        png = stem.with_suffix(".png")
        try:
            from PIL import Image
        except ImportError:
            shutil.copyfile(png, out)
            return
        with Image.open(png) as image:
            image.convert("L").quantize(colors=16, dither=Image.Dither.NONE).save(out, optimize=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--heading", default="Backward pass", help="text that starts a line of the page wanted")
    parser.add_argument("--after", default="Step 1 of", help="look from the page where a line starts with this")
    parser.add_argument("--dpi", type=int, default=100, help="resolution of the picture")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "page.png")
    args = parser.parse_args()
    for tool in ("pdftoppm", "pdftotext"):
        if shutil.which(tool) is None:
            raise SystemExit(f"make_page_png: {tool} not found; install poppler-utils")
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([*worksheet_command(), "render", "--format", "pdf", "-o", tmp], check=True,
                       stdout=subprocess.DEVNULL)
        pdf = next(Path(tmp).glob("*.pdf"))
        page = find_page(pdf, args.heading, args.after)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        rasterize(pdf, page, args.dpi, args.out)
    size = args.out.stat().st_size
    print(f"{args.out}: page {page} of the built-in answer key ({args.heading!r}), {args.dpi} dpi, {size:,} bytes")
    if size > LIMIT:
        print(f"make_page_png: {size:,} bytes is over {LIMIT:,}; try a lower --dpi", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
