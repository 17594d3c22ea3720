"""Build the two Word templates of the cell's pre-meeting bundle.

Run from the repository root:

    python templates/docx/build_bundle_templates.py [--out-dir DIR]

Outputs ``tong-hop-kiem-diem.docx`` (the draft summary of the cell's self-reviews) and
``bien-ban-hop.docx`` (a meeting-minutes skeleton with the member list). Both are docxtpl
templates filled by ``bot.bundle``. They hold layout only: every Vietnamese sentence arrives in
the context from ``templates/bundle.toml`` (as ``t.*`` and lists of lines), so a deployer edits
wording there, never here. Generated files are never edited by hand; ``tests/test_bundle.py``
rebuilds them and compares the bytes with the committed copies.

Page set-up, fonts and the deterministic packaging are shared with ``build_templates.py``.
"""

from __future__ import annotations

import argparse
import io
import sys
from collections.abc import Sequence
from pathlib import Path

from docx import Document
from docx.document import Document as DocumentObject
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.shared import Length, Mm, Pt, RGBColor

sys.path.insert(0, str(Path(__file__).resolve().parent))
import build_templates as base

SUMMARY_NAME = "tong-hop-kiem-diem.docx"
MINUTES_NAME = "bien-ban-hop.docx"
DEFAULT_OUT_DIR = Path(__file__).resolve().parent
DRAFT_RED = RGBColor(0xC0, 0x00, 0x00)
CENTRE = WD_ALIGN_PARAGRAPH.CENTER
LEFT = WD_ALIGN_PARAGRAPH.LEFT
INDENT = Mm(10)


def new_document(title: str, subject: str) -> DocumentObject:
    document = Document()
    body = document.element.body
    for paragraph in list(document.paragraphs):
        body.remove(paragraph._element)
    base.set_fonts(document)
    base.set_page(document)
    base.drop_thumbnail(document)
    base.set_core_properties(document, title, subject,
                             "templates/docx/build_bundle_templates.py")
    return document


def header(document: DocumentObject) -> None:
    """Party document header: organisation left, the Party's name and the date line right."""
    left_width, right_width = Mm(72), base.TEXT_WIDTH - Mm(72)
    table = document.add_table(rows=1, cols=2)
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    table.autofit = False
    base.remove_table_borders(table._tbl)
    for column, width in zip(table.columns, (left_width, right_width)):
        column.width = width
    left, right = table.rows[0].cells
    left.width, right.width = left_width, right_width
    left._element.remove(left.paragraphs[0]._element)
    right._element.remove(right.paragraphs[0]._element)
    small = base.SMALL_PT
    base.add_paragraph(left, "{{ t.org|upper }}", size=small, align=CENTRE, space_after=0)
    base.add_paragraph(left, "{{ t.cell|upper }}", bold=True, size=small, align=CENTRE,
                       space_after=0)
    base.add_paragraph(left, "*", size=small, align=CENTRE)
    base.add_paragraph(right, "{{ t.party }}", bold=True, underline=True, size=15, align=CENTRE,
                       space_after=0)
    base.add_paragraph(right, "{{ t.date_line }}", italic=True, align=CENTRE, space_before=8)


def lines(
    document: DocumentObject, name: str, *, dotted: bool = False, indent: bool = True
) -> None:
    """One paragraph per string in the context list ``name``; dotted ones end in a fill line."""
    base.control(document, f"for line in {name}")
    base.add_paragraph(
        document,
        "{{ line }} \t" if dotted else "{{ line }}",
        first_line_indent=INDENT if indent else None,
        dotted_to_margin=dotted,
        align=LEFT if dotted else WD_ALIGN_PARAGRAPH.JUSTIFY,
    )
    base.control(document, "endfor")


def heading(document: DocumentObject, expression: str) -> None:
    base.add_paragraph(document, expression, bold=True, space_before=8, keep_with_next=True,
                       align=LEFT)


def fill_line(document: DocumentObject, expression: str, extra: int = 1) -> None:
    base.add_paragraph(document, expression + " \t", dotted_to_margin=True, space_after=0,
                       align=LEFT)
    for _ in range(extra):
        base.add_paragraph(document, "\t", dotted_to_margin=True, space_after=0)


def loop_table(
    document: DocumentObject,
    headers: Sequence[str],
    loop: str,
    cells: Sequence[str],
    widths: Sequence[Length],
    centred: Sequence[bool],
) -> None:
    """A bordered table: a header row, then one row per element of the loop (docxtpl ``{%tr``)."""
    table = document.add_table(rows=4, cols=len(headers))
    table.style = document.styles["Table Grid"]
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    table.autofit = False
    for column, width in zip(table.columns, widths):
        column.width = width
    for row in table.rows:
        for cell, width in zip(row.cells, widths):
            cell.width = width
            cell._element.remove(cell.paragraphs[0]._element)
    for cell, text in zip(table.rows[0].cells, headers):
        base.add_paragraph(cell, text, bold=True, size=13, align=CENTRE, space_after=0)
    base.add_paragraph(table.rows[1].cells[0], "{%tr " + loop + " %}", size=13, align=LEFT,
                       space_after=0)
    for cell, text, centre in zip(table.rows[2].cells, cells, centred):
        base.add_paragraph(cell, text, size=13, align=CENTRE if centre else LEFT, space_after=0)
    base.add_paragraph(table.rows[3].cells[0], "{%tr endfor %}", size=13, align=LEFT,
                       space_after=0)
    for index in (1, 3):  # loop rows vanish on render, but keep them valid: one paragraph per cell
        for cell in table.rows[index].cells[1:]:
            base.add_paragraph(cell, "", size=13, space_after=0)
    base.add_paragraph(document, "", space_after=2)


def footer(document: DocumentObject) -> None:
    paragraph = document.sections[0].footer.paragraphs[0]
    paragraph.paragraph_format.alignment = CENTRE
    run = paragraph.add_run("{{ t.footer }}")
    run.italic = True
    run.font.size = Pt(9)
    run.font.color.rgb = base.FOOTER_GREY


def build_summary() -> DocumentObject:
    """Draft summary of the cell's self-reviews: counts and item numbers only."""
    document = new_document("Tổng hợp kết quả tự kiểm điểm (dự thảo)", "tusoi bundle")
    header(document)
    base.add_paragraph(document, "{{ t.draft_mark }}", bold=True, size=15, align=CENTRE,
                       space_before=10, space_after=0, colour=DRAFT_RED)
    base.add_paragraph(document, "{{ t.title }}", bold=True, size=15, align=CENTRE, space_after=0)
    base.add_paragraph(document, "{{ t.subtitle }}", bold=True, align=CENTRE, space_after=2)
    base.add_paragraph(document, "{{ t.disclaimer }}", italic=True, size=12, align=CENTRE,
                       space_after=8)

    heading(document, "{{ t.submission_heading }}")
    lines(document, "submission_lines")

    heading(document, "{{ t.levels_heading }}")
    text_width = base.TEXT_WIDTH
    loop_table(
        document,
        ["{{ t.col_level }}", "{{ t.col_count }}", "{{ t.col_share }}"],
        "for r in level_rows",
        ["{{ r.label }}", "{{ r.count }}", "{{ r.share }}"],
        [text_width - Mm(60), Mm(30), Mm(30)],
        [False, True, True],
    )
    lines(document, "score_lines")

    heading(document, "{{ t.strengths_heading }}")
    lines(document, "strengths_lines")
    fill_line(document, "{{ t.strengths_fill }}")

    heading(document, "{{ t.shortcomings_heading }}")
    lines(document, "shortcomings_lines")
    base.control(document, "if item_rows")
    loop_table(
        document,
        ["{{ t.col_item }}", "{{ t.col_admitted }}", "{{ t.col_severe }}"],
        "for r in item_rows",
        ["{{ r.item }}", "{{ r.count }}", "{{ r.severe }}"],
        [text_width - Mm(90), Mm(45), Mm(45)],
        [False, True, True],
    )
    base.control(document, "endif")
    fill_line(document, "{{ t.shortcomings_fill }}")

    heading(document, "{{ t.remedies_heading }}")
    lines(document, "remedies_lines")

    heading(document, "{{ t.proposal_heading }}")
    lines(document, "proposal_lines")
    fill_line(document, "{{ t.closing_fill }}", extra=2)
    footer(document)
    return document


def build_minutes() -> DocumentObject:
    """Meeting-minutes skeleton: team wording from the context, the member list pre-filled."""
    document = new_document("Khung biên bản hội nghị kiểm điểm", "tusoi bundle")
    header(document)
    base.add_paragraph(document, "{{ t.skeleton_mark }}", italic=True, size=11, align=CENTRE,
                       space_before=6, colour=DRAFT_RED)
    base.add_paragraph(document, "{{ t.title }}", bold=True, size=15, align=CENTRE,
                       space_before=6, space_after=0)
    base.add_paragraph(document, "{{ t.subtitle }}", bold=True, align=CENTRE, space_after=8)

    heading(document, "{{ t.time_heading }}")
    lines(document, "time_lines", dotted=True)
    heading(document, "{{ t.people_heading }}")
    lines(document, "people_lines", dotted=True)
    base.add_paragraph(document, "{{ t.attendance }}", first_line_indent=INDENT)
    loop_table(
        document,
        ["{{ t.col_index }}", "{{ t.col_name }}", "{{ t.col_post }}", "{{ t.col_present }}",
         "{{ t.col_absent }}"],
        "for m in members",
        ["{{ m.index }}", "{{ m.name }}", "{{ m.post }}", "", ""],
        [Mm(12), Mm(55), Mm(48), Mm(18), base.TEXT_WIDTH - Mm(133)],
        [True, False, False, True, False],
    )

    heading(document, "{{ t.content_heading }}")
    lines(document, "content_lines", dotted=True)
    base.control(document, "for m in members")
    base.add_paragraph(document, "{{ m.heading }}", bold=True, first_line_indent=INDENT,
                       keep_with_next=True, space_before=4, align=LEFT)
    base.control(document, "for line in member_lines")
    base.add_paragraph(document, "{{ line }} \t", dotted_to_margin=True, space_after=0,
                       first_line_indent=INDENT, align=LEFT)
    base.add_paragraph(document, "\t", dotted_to_margin=True, space_after=0)
    base.control(document, "endfor")
    base.control(document, "endfor")

    heading(document, "{{ t.result_heading }}")
    lines(document, "result_lines")
    base.add_paragraph(document, "{{ t.closing }}", first_line_indent=INDENT, space_before=6)

    table = document.add_table(rows=1, cols=2)
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    table.autofit = False
    base.remove_table_borders(table._tbl)
    half = base.TEXT_WIDTH // 2
    for column in table.columns:
        column.width = half
    for cell, title in zip(table.rows[0].cells, ("{{ t.sign_left }}", "{{ t.sign_right }}")):
        cell.width = half
        cell._element.remove(cell.paragraphs[0]._element)
        base.add_paragraph(cell, title, bold=True, align=CENTRE, space_before=10, space_after=0)
        base.add_paragraph(cell, "{{ t.sign_note }}", italic=True, size=base.SMALL_PT,
                           align=CENTRE)
    footer(document)
    return document


def save(document: DocumentObject, path: Path) -> Path:
    buffer = io.BytesIO()
    document.save(buffer)
    path.write_bytes(base.deterministic_zip(buffer.getvalue()))
    return path


def build(out_dir: Path = DEFAULT_OUT_DIR) -> list[Path]:
    """Build both templates into ``out_dir`` and return their paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    return [
        save(build_summary(), out_dir / SUMMARY_NAME),
        save(build_minutes(), out_dir / MINUTES_NAME),
    ]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out-dir", type=Path, default=DEFAULT_OUT_DIR)
    args = parser.parse_args(argv)
    for path in build(args.out_dir):
        print(path)


if __name__ == "__main__":
    main()
