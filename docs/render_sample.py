"""Render the sample draft to docs/sample-draft.png (first page) for a visual check.

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

from bot.draft import TEMPLATE_2023, render_draft, sample_context


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--all-pages", action="store_true", help="also write sample-draft-N.png")
    parser.add_argument("--dpi", type=int, default=150)
    args = parser.parse_args()
    for tool in ("soffice", "pdftoppm"):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} not found: install libreoffice-writer-nogui and poppler-utils")

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        docx_path = work / "sample-draft.docx"
        docx_path.write_bytes(render_draft(TEMPLATE_2023, sample_context()))
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
        pdf = work / "sample-draft.pdf"
        fonts = subprocess.run(["pdffonts", str(pdf)], check=False, capture_output=True, text=True)
        print(fonts.stdout)
        page_range = [] if args.all_pages else ["-f", "1", "-l", "1"]
        subprocess.run(
            ["pdftoppm", "-png", "-r", str(args.dpi), *page_range, str(pdf), str(work / "page")],
            check=True,
        )
        pages = sorted(work.glob("page-*.png"))
        shutil.copyfile(pages[0], ROOT / "docs" / "sample-draft.png")
        print(ROOT / "docs" / "sample-draft.png")
        if args.all_pages:
            for number, page in enumerate(pages, start=1):
                target = ROOT / "docs" / f"sample-draft-{number}.png"
                shutil.copyfile(page, target)
                print(target)


if __name__ == "__main__":
    main()
