"""The guard guide (``docs/保安使用说明.md``) as an A4 PDF to print and hang at the gate.

The Markdown is rendered to HTML with markdown-it-py, laid out for paper (three columns, small type, the
screenshots as wide as a column) and printed by Debian's chromium through Playwright (``page.pdf``):

    .venv/bin/python tools/make_guide_pdf.py              # docs/保安使用说明.pdf
    .venv/bin/python tools/make_guide_pdf.py --png DIR    # also each page as PNG (pdftoppm), to look at

``tests/docs/test_guides.py`` checks that it fits on one sheet (both sides at most).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
GUIDE = DOCS / "保安使用说明.md"
PDF = DOCS / "保安使用说明.pdf"
CHROMIUM = "/usr/bin/chromium"

PRINT_CSS = """
@page { size: A4; margin: 9mm 8mm; }
html { font-family: "Noto Sans CJK SC", "Noto Sans SC", sans-serif; font-size: 8.6pt; line-height: 1.32;
       color: #000; }
body { margin: 0; column-count: 3; column-gap: 5mm; column-fill: balance; }
h1 { column-span: all; font-size: 15pt; margin: 0 0 1.5mm; border-bottom: 0.6mm solid #000; }
h1 + p { column-span: all; margin: 0 0 2mm; }
h2:has(+ table) { column-span: all; }
h2 { font-size: 10.5pt; margin: 2.2mm 0 0.8mm; break-after: avoid; background: #e8e8e8; padding: 0.4mm 1.2mm; }
p, ul, ol { margin: 0.6mm 0 1.2mm; }
ul, ol { padding-left: 4mm; }
li { margin: 0.2mm 0; }
img { width: 100%; display: block; border: 0.2mm solid #888; margin: 0.8mm 0 0.3mm; break-inside: avoid; }
p:has(> img) { break-inside: avoid; margin: 0.8mm 0 0.2mm; }
em { font-style: normal; color: #333; font-size: 7.6pt; }
table { border-collapse: collapse; width: 100%; margin: 0.8mm 0 1.4mm; break-inside: avoid; column-span: all; }
th, td { border: 0.2mm solid #888; padding: 0.4mm 0.8mm; vertical-align: top; text-align: left; }
th { background: #eee; }
strong { font-weight: 700; }
.no-print { display: none; }
"""


def to_html(markdown: str, base: Path) -> str:
    """The guide as one HTML page for printing (images resolved against ``base``)."""
    from markdown_it import MarkdownIt

    body = MarkdownIt("commonmark", {"html": True}).enable("table").render(markdown)
    return (f'<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><base href="{base.as_uri()}/">'
            f"<style>{PRINT_CSS}</style></head><body>{body}</body></html>")


def _print_part(markdown: str) -> str:
    """The part of the guide meant for paper: up to the line ``<!-- end of the printed page -->`` if present."""
    return markdown.split("<!-- end of the printed page -->", 1)[0]


def render_guard_guide(out: Path = PDF) -> Path:
    """Render the guard guide to the A4 PDF ``out``; returns it."""
    from playwright.sync_api import sync_playwright

    html = to_html(_print_part(GUIDE.read_text(encoding="utf-8")), DOCS)
    with tempfile.TemporaryDirectory(prefix="gatepass-guide-") as tmp:
        page_file = Path(tmp) / "guide.html"
        page_file.write_text(html, encoding="utf-8")
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
            try:
                page = browser.new_page(locale="zh-CN")
                page.goto(page_file.as_uri())
                page.wait_for_load_state("load")
                out.parent.mkdir(parents=True, exist_ok=True)
                page.pdf(path=str(out), format="A4", print_background=True, prefer_css_page_size=True)
            finally:
                browser.close()
    return out


def to_png(pdf: Path, folder: Path) -> list[Path]:
    """Each page of ``pdf`` as a PNG in ``folder`` (pdftoppm, 100 dpi)."""
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run(["pdftoppm", "-png", "-r", "100", str(pdf), str(folder / "page")], check=True)
    return sorted(folder.glob("page*.png"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=PDF, help="the PDF to write (docs/保安使用说明.pdf)")
    parser.add_argument("--png", type=Path, help="also write each page as PNG into this folder")
    args = parser.parse_args(argv)
    pdf = render_guard_guide(args.out)
    sys.stdout.write(f"{pdf} ({pdf.stat().st_size // 1024} KB)\n")
    for png in to_png(pdf, args.png) if args.png else []:
        sys.stdout.write(f"{png}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
