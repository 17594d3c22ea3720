"""Render the sample drafts to PNG (first page) for a visual check and the README.

* ``docs/sample-draft-2b.png``: a 2025 draft on form 2B, built the way a submission is
  (``bot.compose.sample_2025_context``: the shipped packs, part B and the annex);
* ``docs/sample-draft.png``: the 2023 form (``bot.draft.sample_context``).

Needs LibreOffice and poppler (Debian: libreoffice-writer-nogui, poppler-utils). Run from the
repository root:

    .venv/bin/python docs/render_sample.py [--all-pages]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.compose import sample_2025_context
from bot.draft import TEMPLATE_2023, TEMPLATE_2025, render_draft, sample_context

SAMPLES = (
    ("sample-draft-2b", TEMPLATE_2025, sample_2025_context),
    ("sample-draft", TEMPLATE_2023, sample_context),
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--all-pages", action="store_true", help="also write sample-draft-N.png")
    parser.add_argument("--dpi", type=int, default=150)
    args = parser.parse_args()
    for tool in ("soffice", "pdftoppm"):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} not found: install libreoffice-writer-nogui and poppler-utils")

    for name, template, context in SAMPLES:
        render(name, template, context(), args.all_pages, args.dpi)


def render(name: str, template: Path, context: dict[str, object], all_pages: bool,
           dpi: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        docx_path = work / f"{name}.docx"
        docx_path.write_bytes(render_draft(template, context))
        subprocess.run(
            [
                "soffice",
                f"-env:UserInstallation=file://{work}/profile",
                "--headless",
                "--convert-to",
                "pdf",
                "--outdir",
                str(work),
                str(docx_path),
            ],
            check=True,
            capture_output=True,
        )
        pdf = work / f"{name}.pdf"
        fonts = subprocess.run(["pdffonts", str(pdf)], check=False, capture_output=True, text=True)
        print(fonts.stdout)
        page_range = [] if all_pages else ["-f", "1", "-l", "1"]
        subprocess.run(
            ["pdftoppm", "-png", "-r", str(dpi), *page_range, str(pdf), str(work / "page")],
            check=True,
        )
        pages = sorted(work.glob("page-*.png"))
        shutil.copyfile(pages[0], ROOT / "docs" / f"{name}.png")
        print(ROOT / "docs" / f"{name}.png")
        if all_pages:
            for number, page in enumerate(pages, start=1):
                target = ROOT / "docs" / f"{name}-{number}.png"
                shutil.copyfile(page, target)
                print(target)


if __name__ == "__main__":
    main()
