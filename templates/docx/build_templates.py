"""Build the Word templates for the individual self-review (bản kiểm điểm cá nhân).

Run from the repository root:

    python templates/docx/build_templates.py [--out-dir DIR]

The outputs are docxtpl templates: python-docx builds the layout and the paragraphs carry Jinja
tags that ``bot.draft.render_draft`` fills in. The files are generated, never edited by hand;
``tests/test_draft.py`` rebuilds them and compares them with the committed copies.

* ``ban-kiem-diem-2023.docx`` follows the 2023 forms 02A/02B-HD KĐ.ĐG 2023 (25-HD/BTCTW) as
  recorded in ``domain.md`` §4.1; its form wording is copied verbatim from there.
* ``ban-kiem-diem-2025.docx`` prints the 2025 forms 2A/2B/2C (43-HD/BTCTW): part A, part B with
  the score table and the computed total, the proposed level, the signature blocks and the annex
  of task results. Every line of form wording comes from the form pack through the context
  (``checklists/form-2025-*.toml``), so a deployer corrects wording in the pack, not here; the
  only words here are the layout's (dots, ticks).

Member data comes from the context. The build is deterministic: fixed core properties and fixed
zip timestamps, so the same source always gives the same bytes.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import zipfile
from pathlib import Path

from docx import Document
from docx.document import Document as DocumentObject
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_BREAK, WD_TAB_ALIGNMENT, WD_TAB_LEADER
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Length, Mm, Pt, RGBColor
from docx.table import _Cell
from docx.text.paragraph import Paragraph

TEMPLATE_NAME = "ban-kiem-diem-2023.docx"
TEMPLATE_2025_NAME = "ban-kiem-diem-2025.docx"
DEFAULT_OUT_DIR = Path(__file__).resolve().parent

FONT = "Times New Roman"
BODY_PT = 14
SMALL_PT = 13
PAGE_WIDTH = Mm(210)
PAGE_HEIGHT = Mm(297)
MARGIN_TOP = Mm(20)
MARGIN_BOTTOM = Mm(20)
MARGIN_LEFT = Mm(30)
MARGIN_RIGHT = Mm(15)
TEXT_WIDTH = Mm(210 - 30 - 15)
# Signature blocks sit in the right part of the page, centred over this indent.
SIGNATURE_INDENT = Mm(70)
ANSWER_INDENT = Mm(10)
FOOTER_GREY = RGBColor(0x80, 0x80, 0x80)
# Fixed so that rebuilding gives byte-identical output.
FIXED_TIMESTAMP = dt.datetime(2023, 1, 1, tzinfo=dt.UTC)
ZIP_DATE_TIME = (1980, 1, 1, 0, 0, 0)
# Shown where the member left a field empty, so the printed draft has room for a pen.
DOTS = "…………"

# Evaluation blocks (domain.md §4.1): form wording, kept verbatim.
CIVIL_HEADING = "Đánh giá, xếp loại chất lượng công chức, viên chức"
CIVIL_COMMENT = "- Nhận xét, đánh giá của người quản lý, sử dụng công chức, viên chức:"
CIVIL_LEVEL = "- Mức xếp loại chất lượng công chức, viên chức:"
CIVIL_SIGNER = "THỦ TRƯỞNG CƠ QUAN, ĐƠN VỊ"
CIVIL_SIGNER_NOTE = "(Xác lập thời điểm, ký, ghi rõ họ tên và đóng dấu)"
PARTY_HEADING = "Đánh giá, xếp loại chất lượng đảng viên"
CELL_COMMENT = "- Nhận xét, đánh giá của chi ủy (chi bộ):"
CELL_PROPOSAL = "- Chi bộ đề xuất xếp loại mức chất lượng:"
CELL_SIGNER = "T/M CHI ỦY (CHI BỘ)"
COMMITTEE_DECISION = "- Đảng ủy, chi ủy cơ sở xếp loại mức chất lượng:"
COMMITTEE_SIGNER = "T/M ĐẢNG ỦY (CHI ỦY)"
SIGNER_NOTE = "(Xác lập thời điểm, ký, ghi rõ họ tên)"


def blank_or(name: str) -> str:
    """A Jinja expression printing a context value, or dots when the member left it empty."""
    return "{{ " + name + ' or "' + DOTS + '" }}'


def add_paragraph(
    container: DocumentObject | _Cell,
    text: str = "",
    *,
    bold: bool = False,
    italic: bool = False,
    underline: bool = False,
    size: int = BODY_PT,
    align: WD_ALIGN_PARAGRAPH | None = WD_ALIGN_PARAGRAPH.JUSTIFY,
    left_indent: Length | None = None,
    first_line_indent: Length | None = None,
    space_before: int = 0,
    space_after: int = 3,
    keep_with_next: bool = False,
    dotted_to_margin: bool = False,
    colour: RGBColor | None = None,
) -> Paragraph:
    """Add one paragraph holding a single run, so Jinja tags are never split across runs."""
    paragraph = container.add_paragraph()
    fmt = paragraph.paragraph_format
    fmt.alignment = align
    fmt.space_before = Pt(space_before)
    fmt.space_after = Pt(space_after)
    fmt.line_spacing = 1.15
    fmt.widow_control = True
    if left_indent is not None:
        fmt.left_indent = left_indent
    if first_line_indent is not None:
        fmt.first_line_indent = first_line_indent
    if keep_with_next:
        fmt.keep_with_next = True
    if dotted_to_margin:
        # A tab in this paragraph draws a dotted line to the right margin: room to write by hand.
        fmt.tab_stops.add_tab_stop(TEXT_WIDTH, WD_TAB_ALIGNMENT.RIGHT, WD_TAB_LEADER.DOTS)
    if text:
        run = paragraph.add_run(text)
        run.bold = bold or None
        run.italic = italic or None
        run.underline = underline or None
        run.font.size = Pt(size)
        if colour is not None:
            run.font.color.rgb = colour
    return paragraph


def control(container: DocumentObject, tag: str) -> None:
    """A docxtpl paragraph-level control tag ({%p ... %}); the paragraph vanishes on render."""
    add_paragraph(container, "{%p " + tag + " %}", align=None, space_after=0)


def set_fonts(document: DocumentObject) -> None:
    """Times New Roman everywhere, Vietnamese language, no theme fonts that could override it."""
    styles_element = document.styles.element
    rpr_default = (
        styles_element.find(qn("w:docDefaults")).find(qn("w:rPrDefault")).find(qn("w:rPr"))
    )
    fonts = rpr_default.find(qn("w:rFonts"))
    for attribute in list(fonts.attrib):
        del fonts.attrib[attribute]
    for slot in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
        fonts.set(qn(slot), FONT)
    for size_tag in ("w:sz", "w:szCs"):
        rpr_default.find(qn(size_tag)).set(qn("w:val"), str(BODY_PT * 2))
    lang = rpr_default.find(qn("w:lang"))
    lang.set(qn("w:val"), "vi-VN")
    lang.set(qn("w:eastAsia"), "vi-VN")

    normal = document.styles["Normal"]
    normal.font.name = FONT
    normal.font.size = Pt(BODY_PT)
    rfonts = normal.element.get_or_add_rPr().get_or_add_rFonts()
    rfonts.set(qn("w:eastAsia"), FONT)
    rfonts.set(qn("w:cs"), FONT)


def set_page(document: DocumentObject) -> None:
    section = document.sections[0]
    section.orientation = WD_ORIENT.PORTRAIT
    section.page_width = PAGE_WIDTH
    section.page_height = PAGE_HEIGHT
    section.top_margin = MARGIN_TOP
    section.bottom_margin = MARGIN_BOTTOM
    section.left_margin = MARGIN_LEFT
    section.right_margin = MARGIN_RIGHT
    section.header_distance = Mm(10)
    section.footer_distance = Mm(8)


def set_core_properties(
    document: DocumentObject,
    title: str = "Bản kiểm điểm cá nhân",
    subject: str = "Mẫu 02A/02B-HD KĐ.ĐG 2023",
    script: str = "templates/docx/build_templates.py",
) -> None:
    """Fixed metadata, so that building twice gives the same bytes."""
    props = document.core_properties
    props.title = title
    props.subject = subject
    props.author = "tusoi"
    props.last_modified_by = "tusoi"
    props.comments = f"Generated by {script}"
    props.keywords = ""
    props.category = ""
    props.revision = 1
    props.created = FIXED_TIMESTAMP
    props.modified = FIXED_TIMESTAMP


def drop_thumbnail(document: DocumentObject) -> None:
    """python-docx's default package carries a thumbnail of an unrelated page; drop it."""
    package = document.part.package
    for r_id, relationship in list(package.rels.items()):
        if relationship.reltype == RT.THUMBNAIL:
            package.rels.pop(r_id)


def remove_table_borders(table_element: OxmlElement) -> None:
    tbl_pr = table_element.tblPr
    borders = OxmlElement("w:tblBorders")
    for edge in ("top", "left", "bottom", "right", "insideH", "insideV"):
        border = OxmlElement(f"w:{edge}")
        border.set(qn("w:val"), "nil")
        borders.append(border)
    tbl_pr.append(borders)
    layout = OxmlElement("w:tblLayout")
    layout.set(qn("w:type"), "fixed")
    tbl_pr.append(layout)


def build_header(document: DocumentObject) -> None:
    """Form code, then the two-column header: Party organisation left, Party name and date right."""
    add_paragraph(
        document, "{{ form_code }}", size=SMALL_PT, align=WD_ALIGN_PARAGRAPH.RIGHT, space_after=2
    )
    left_width, right_width = Mm(72), TEXT_WIDTH - Mm(72)
    table = document.add_table(rows=1, cols=2)
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    table.autofit = False
    remove_table_borders(table._tbl)
    for column, width in zip(table.columns, (left_width, right_width)):
        column.width = width
    left, right = table.rows[0].cells
    left.width, right.width = left_width, right_width

    centre = WD_ALIGN_PARAGRAPH.CENTER
    # A new cell starts with one empty paragraph; reuse it for the first line.
    left._element.remove(left.paragraphs[0]._element)
    right._element.remove(right.paragraphs[0]._element)
    add_paragraph(
        left, "ĐẢNG BỘ {{ party_committee|upper }}", size=SMALL_PT, align=centre, space_after=0
    )
    add_paragraph(left, "CHI BỘ {{ cell_name|upper }}", bold=True, size=SMALL_PT, align=centre)
    add_paragraph(
        right,
        "ĐẢNG CỘNG SẢN VIỆT NAM",
        bold=True,
        underline=True,
        size=15,
        align=centre,
        space_after=0,
    )
    add_paragraph(
        right,
        '{{ place or "'
        + DOTS
        + '" }}, ngày {{ day or "…" }} tháng {{ month or "…" }} năm {{ year or "…" }}',
        italic=True,
        align=centre,
        space_before=8,
    )


def build_title_and_identity(document: DocumentObject) -> None:
    centre = WD_ALIGN_PARAGRAPH.CENTER
    add_paragraph(
        document,
        "BẢN KIỂM ĐIỂM CÁ NHÂN",
        bold=True,
        size=16,
        align=centre,
        space_before=12,
        space_after=0,
    )
    add_paragraph(document, "Năm {{ review_year }}", bold=True, align=centre, space_after=0)
    add_paragraph(document, "{{ subtitle }}", italic=True, align=centre, space_after=10)

    left = WD_ALIGN_PARAGRAPH.LEFT
    name_line = add_paragraph(
        document,
        "Họ và tên: " + blank_or("full_name") + "\tNgày sinh: " + blank_or("birth_date"),
        align=left,
    )
    name_line.paragraph_format.tab_stops.add_tab_stop(Mm(105))
    add_paragraph(document, "Chức vụ Đảng: " + blank_or("party_position"), align=left)
    add_paragraph(document, "Chức vụ chính quyền: " + blank_or("government_position"), align=left)
    add_paragraph(document, "Chức vụ đoàn thể: " + blank_or("mass_org_position"), align=left)
    unit_line = add_paragraph(
        document,
        "Đơn vị công tác: " + blank_or("work_unit") + "\tChi bộ " + blank_or("cell_name"),
        align=left,
        space_after=10,
    )
    unit_line.paragraph_format.tab_stops.add_tab_stop(Mm(105))


def build_sections(document: DocumentObject) -> None:
    """Sections I–VI come from the context; each answer line becomes its own paragraph."""
    control(document, "for section in sections")
    add_paragraph(document, "{{ section.title }}", bold=True, space_before=6, keep_with_next=True)
    # `section["items"]`, not `section.items`: Jinja would return dict.items for a dict.
    control(document, 'for item in section["items"]')
    control(document, "if item.label")
    add_paragraph(
        document,
        "{{ item.label }}",
        italic=True,
        first_line_indent=ANSWER_INDENT,
        keep_with_next=True,
    )
    control(document, "endif")
    control(document, "for line in item.text|answer_lines")
    add_paragraph(document, "{{ line }}", first_line_indent=ANSWER_INDENT)
    control(document, "else")
    add_paragraph(document, "\t", dotted_to_margin=True)
    control(document, "endfor")
    control(document, "endfor")
    control(document, "endfor")


def build_levels(document: DocumentObject) -> None:
    """Section VII: the member's proposed levels, one box per level, ☒ on the chosen one."""
    add_paragraph(
        document,
        "VII. Tự nhận mức xếp loại chất lượng",
        bold=True,
        space_before=6,
        keep_with_next=True,
    )
    box = '{{ "☒" if level.checked else "☐" }} {{ level.label }}'

    add_paragraph(
        document,
        "1. Xếp loại cán bộ, công chức, viên chức:",
        first_line_indent=ANSWER_INDENT,
        keep_with_next=True,
    )
    control(document, "if levels.civil_applicable")
    control(document, "for level in levels.civil")
    add_paragraph(document, box, left_indent=Mm(20), space_after=0)
    control(document, "endfor")
    control(document, "else")
    add_paragraph(document, "Không áp dụng", left_indent=Mm(20), space_after=0)
    control(document, "endif")

    add_paragraph(
        document,
        "2. Xếp loại đảng viên:",
        first_line_indent=ANSWER_INDENT,
        space_before=3,
        keep_with_next=True,
    )
    control(document, "for level in levels.party")
    add_paragraph(document, box, left_indent=Mm(20), space_after=0)
    control(document, "endfor")

    control(document, "if self_score is not none")
    add_paragraph(
        document,
        "Tự chấm điểm: {{ self_score }}/100",
        first_line_indent=ANSWER_INDENT,
        space_before=3,
    )
    control(document, "endif")


def signature_lines(
    document: DocumentObject, title: str, note: str, name: str | None = None
) -> None:
    """A signature block centred in the right part of the page; blank lines for the signature."""
    centre = WD_ALIGN_PARAGRAPH.CENTER
    add_paragraph(
        document,
        title,
        bold=True,
        align=centre,
        left_indent=SIGNATURE_INDENT,
        space_before=8,
        space_after=0,
        keep_with_next=True,
    )
    add_paragraph(
        document,
        note,
        italic=True,
        size=SMALL_PT,
        align=centre,
        left_indent=SIGNATURE_INDENT,
        space_after=0,
        keep_with_next=True,
    )
    for _ in range(3):
        add_paragraph(
            document,
            "",
            align=centre,
            left_indent=SIGNATURE_INDENT,
            space_after=0,
            keep_with_next=name is not None,
        )
    if name is not None:
        add_paragraph(document, name, bold=True, align=centre, left_indent=SIGNATURE_INDENT)


def dotted_field(document: DocumentObject, label: str, extra_lines: int = 0) -> None:
    """A form label followed by dotted lines, left empty for the chi bộ / đảng ủy to fill in."""
    add_paragraph(
        document, label + " \t", dotted_to_margin=True, space_after=0, keep_with_next=True
    )
    for _ in range(extra_lines):
        add_paragraph(document, "\t", dotted_to_margin=True, space_after=0, keep_with_next=True)


def build_signatures_and_evaluations(document: DocumentObject) -> None:
    signature_lines(document, "NGƯỜI TỰ KIỂM ĐIỂM", "(Ký, ghi rõ họ tên)", "{{ full_name }}")

    add_paragraph(document, CIVIL_HEADING, bold=True, space_before=10, keep_with_next=True)
    dotted_field(document, CIVIL_COMMENT, extra_lines=2)
    dotted_field(document, CIVIL_LEVEL)
    signature_lines(document, CIVIL_SIGNER, CIVIL_SIGNER_NOTE)

    add_paragraph(document, PARTY_HEADING, bold=True, space_before=10, keep_with_next=True)
    dotted_field(document, CELL_COMMENT, extra_lines=2)
    dotted_field(document, CELL_PROPOSAL)
    signature_lines(document, CELL_SIGNER, SIGNER_NOTE)
    dotted_field(document, COMMITTEE_DECISION)
    signature_lines(document, COMMITTEE_SIGNER, SIGNER_NOTE)


def build_footer(document: DocumentObject) -> None:
    footer = document.sections[0].footer
    paragraph = footer.paragraphs[0]
    paragraph.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.CENTER
    run = paragraph.add_run(
        "Bản nháp do tusoi tạo ngày {{ generated_on }} — không phải văn bản chính thức; "
        "người kiểm điểm kiểm tra, ký tay."
    )
    run.italic = True
    run.font.size = Pt(9)
    run.font.color.rgb = FOOTER_GREY


def build_document() -> DocumentObject:
    document = Document()
    # The default package starts with one empty paragraph; the form code goes first instead.
    body = document.element.body
    for paragraph in list(document.paragraphs):
        body.remove(paragraph._element)
    set_fonts(document)
    set_page(document)
    set_core_properties(document)
    drop_thumbnail(document)
    build_header(document)
    build_title_and_identity(document)
    build_sections(document)
    build_levels(document)
    build_signatures_and_evaluations(document)
    build_footer(document)
    return document


# --------------------------------------------------------------------------------------------
# The 2025 forms (Mẫu 2A/2B/2C-HD KĐ.ĐG 2025): every form line comes from the context.


def build_title_and_identity_2025(document: DocumentObject) -> None:
    centre, left = WD_ALIGN_PARAGRAPH.CENTER, WD_ALIGN_PARAGRAPH.LEFT
    add_paragraph(document, "{{ title }}", bold=True, size=16, align=centre, space_before=12,
                  space_after=0)
    add_paragraph(document, "Năm {{ review_year }}", bold=True, align=centre, space_after=0)
    add_paragraph(document, "{{ subtitle }}", italic=True, align=centre, space_after=10)
    name_line = add_paragraph(
        document,
        "Họ và tên: " + blank_or("full_name") + "\tNgày sinh: " + blank_or("birth_date"),
        align=left,
    )
    name_line.paragraph_format.tab_stops.add_tab_stop(Mm(105))
    control(document, "if show_posts")
    add_paragraph(document, "Chức vụ Đảng: " + blank_or("party_position"), align=left)
    add_paragraph(document, "Chức vụ chính quyền: " + blank_or("government_position"), align=left)
    add_paragraph(document, "Chức vụ đoàn thể: " + blank_or("mass_org_position"), align=left)
    control(document, "endif")
    unit_line = add_paragraph(
        document,
        "Đơn vị công tác: " + blank_or("work_unit") + "\tChi bộ " + blank_or("cell_name"),
        align=left,
        space_after=10,
    )
    unit_line.paragraph_format.tab_stops.add_tab_stop(Mm(105))


def build_sections_2025(document: DocumentObject) -> None:
    """Part A: sections I–VI, each with the form's own note and, for a line the form was not
    seen to have, where it comes from."""
    add_paragraph(document, "{{ part_a_title }}", bold=True, space_before=6, keep_with_next=True)
    control(document, "for section in sections")
    add_paragraph(document, "{{ section.title }}", bold=True, space_before=6, keep_with_next=True)
    control(document, "if section.note")
    add_paragraph(document, "{{ section.note }}", italic=True, first_line_indent=ANSWER_INDENT,
                  keep_with_next=True)
    control(document, "endif")
    control(document, 'for item in section["items"]')
    control(document, "if item.label")
    add_paragraph(document, "{{ item.label }}", italic=True, first_line_indent=ANSWER_INDENT,
                  keep_with_next=True)
    control(document, "endif")
    control(document, "if item.source")
    add_paragraph(document, "{{ item.source }}", italic=True, size=11,
                  first_line_indent=ANSWER_INDENT, colour=FOOTER_GREY, keep_with_next=True)
    control(document, "endif")
    control(document, "for line in item.text|answer_lines")
    add_paragraph(document, "{{ line }}", first_line_indent=ANSWER_INDENT)
    control(document, "else")
    add_paragraph(document, "\t", dotted_to_margin=True)
    control(document, "endfor")
    control(document, "endfor")
    control(document, "endfor")


def grid_table(
    document: DocumentObject, rows: list[list[str]], widths: list[Length],
    *, bold_rows: tuple[int, ...] = (), centred_columns: tuple[int, ...] = (),
) -> None:
    """A bordered table of single-run paragraphs (so Jinja tags stay whole). A row whose first
    cell starts with "{%tr" is a docxtpl row tag: the whole row becomes a loop statement."""
    table = document.add_table(rows=len(rows), cols=len(widths))
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    table.autofit = False
    for column, width in zip(table.columns, widths):
        column.width = width
    for r, texts in enumerate(rows):
        for c, cell in enumerate(table.rows[r].cells):
            cell.width = widths[c]
            cell._element.remove(cell.paragraphs[0]._element)
            align = (WD_ALIGN_PARAGRAPH.CENTER if c in centred_columns or r == 0
                     else WD_ALIGN_PARAGRAPH.LEFT)
            add_paragraph(cell, texts[c] if c < len(texts) else "", bold=r in bold_rows or r == 0,
                          size=SMALL_PT, align=align, space_after=0)


def build_part_b(document: DocumentObject) -> None:
    """Part B: the score table with the computed total, then the proposed level."""
    control(document, "if part_b")
    add_paragraph(document, "{{ part_b.title }}", bold=True, space_before=10, keep_with_next=True)
    add_paragraph(document, "{{ part_b.scores_title }}", bold=True, space_before=6,
                  keep_with_next=True)
    add_paragraph(document, "{{ part_b.scores_intro }}", first_line_indent=ANSWER_INDENT,
                  keep_with_next=True)
    dots = '"' + DOTS + '"'
    grid_table(
        document,
        [
            ["{{ part_b.headers[0] }}", "{{ part_b.headers[1] }}", "{{ part_b.headers[2] }}"],
            ["{%tr for row in part_b.rows %}"],
            ["{{ row.label }}", "{{ row.max }}", "{{ row.score or " + dots + " }}"],
            ["{%tr endfor %}"],
            ["{{ part_b.total.label }}", "{{ part_b.total.max }}",
             "{{ part_b.total.score or " + dots + " }}"],
        ],
        [Mm(105), Mm(30), Mm(30)],
        bold_rows=(4,),
        centred_columns=(1, 2),
    )
    add_paragraph(document, "{{ part_b.level_title }}", bold=True, space_before=8,
                  keep_with_next=True)
    control(document, "for level in part_b.levels")
    add_paragraph(document, '{{ "☒" if level.checked else "☐" }} {{ level.label }}',
                  left_indent=Mm(20), space_after=0)
    control(document, "endfor")
    control(document, "if part_b.level_note")
    add_paragraph(document, "{{ part_b.level_note }}", italic=True, space_before=3)
    control(document, "endif")
    control(document, "endif")


def build_blocks(document: DocumentObject) -> None:
    """Signature and evaluation blocks, as the form pack lists them, left blank."""
    centre = WD_ALIGN_PARAGRAPH.CENTER
    control(document, "for block in blocks")
    control(document, "if block.heading")
    add_paragraph(document, "{{ block.heading }}", bold=True, space_before=10, keep_with_next=True)
    control(document, "endif")
    control(document, "for field in block.fields")
    add_paragraph(document, "{{ field }} \t", dotted_to_margin=True, space_after=0,
                  keep_with_next=True)
    add_paragraph(document, "\t", dotted_to_margin=True, space_after=0, keep_with_next=True)
    control(document, "endfor")
    control(document, "if block.signer")
    add_paragraph(document, "{{ block.signer }}", bold=True, align=centre,
                  left_indent=SIGNATURE_INDENT, space_before=8, space_after=0, keep_with_next=True)
    add_paragraph(document, "{{ block.signer_note }}", italic=True, size=SMALL_PT, align=centre,
                  left_indent=SIGNATURE_INDENT, space_after=0, keep_with_next=True)
    for _ in range(3):
        add_paragraph(document, "", align=centre, left_indent=SIGNATURE_INDENT, space_after=0,
                      keep_with_next=True)
    control(document, "if block.signer_name")
    add_paragraph(document, "{{ full_name }}", bold=True, align=centre,
                  left_indent=SIGNATURE_INDENT)
    control(document, "endif")
    control(document, "endif")
    control(document, "endfor")


def build_annex(document: DocumentObject) -> None:
    """The annex of task results, on its own page, only when the member filled it in."""
    control(document, "if annex")
    page = add_paragraph(document, "", align=None, space_after=0)
    page.add_run().add_break(WD_BREAK.PAGE)
    add_paragraph(document, "{{ annex.title }}", bold=True, align=WD_ALIGN_PARAGRAPH.CENTER,
                  space_after=2)
    add_paragraph(document, "(Kèm theo bản kiểm điểm năm {{ review_year }} của đồng chí "
                  "{{ full_name }})", italic=True, align=WD_ALIGN_PARAGRAPH.CENTER, space_after=8)
    grid_table(
        document,
        [
            ["{{ annex.headers[0] }}", "{{ annex.headers[1] }}", "{{ annex.headers[2] }}",
             "{{ annex.headers[3] }}", "{{ annex.headers[4] }}"],
            ["{%tr for row in annex.rows %}"],
            ["{{ row.number }}", "{{ row.task }}", "{{ row.result }}", "{{ row.on_time }}",
             "{{ row.exceeded }}"],
            ["{%tr endfor %}"],
        ],
        [Mm(12), Mm(58), Mm(55), Mm(20), Mm(20)],
        centred_columns=(0, 3, 4),
    )
    add_paragraph(document, "{{ annex.counts }}", italic=True, space_before=6)
    control(document, "endif")


def build_document_2025() -> DocumentObject:
    document = Document()
    body = document.element.body
    for paragraph in list(document.paragraphs):
        body.remove(paragraph._element)
    set_fonts(document)
    set_page(document)
    set_core_properties(document, "Bản kiểm điểm, tự đánh giá, xếp loại cá nhân",
                        "Mẫu 2A/2B/2C-HD KĐ.ĐG 2025")
    drop_thumbnail(document)
    build_header(document)
    build_title_and_identity_2025(document)
    build_sections_2025(document)
    build_part_b(document)
    build_blocks(document)
    build_annex(document)
    build_footer(document)
    return document


def deterministic_zip(docx_bytes: bytes) -> bytes:
    """Rewrite the package with fixed timestamps so that identical XML gives identical bytes."""
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(docx_bytes)) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for info in source.infolist():
            entry = zipfile.ZipInfo(info.filename, date_time=ZIP_DATE_TIME)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o644 << 16
            target.writestr(entry, source.read(info.filename))
    return out.getvalue()


def build(out_dir: Path = DEFAULT_OUT_DIR) -> list[Path]:
    """Build both templates into ``out_dir`` and return their paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, make in ((TEMPLATE_NAME, build_document), (TEMPLATE_2025_NAME, build_document_2025)):
        buffer = io.BytesIO()
        make().save(buffer)
        path = out_dir / name
        path.write_bytes(deterministic_zip(buffer.getvalue()))
        paths.append(path)
    return paths


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out-dir", type=Path, default=DEFAULT_OUT_DIR)
    args = parser.parse_args(argv)
    for path in build(args.out_dir):
        print(path)


if __name__ == "__main__":
    main()
