"""The Word draft: built from source, filled in faithfully, and safe with whatever members type."""

from __future__ import annotations

import copy
import io
import subprocess
import sys
import unicodedata
import zipfile
from pathlib import Path
from typing import Any

import docx
import pytest
from docx.document import Document as DocumentObject
from docx.shared import Mm, Pt
from docx.text.paragraph import Paragraph
from lxml import etree

from bot.compose import sample_2025_context
from bot.draft import (
    DRAFT_2025_KEYS,
    DRAFT_CONTEXT_KEYS,
    LEVELS,
    TEMPLATE_2023,
    TEMPLATE_2025,
    DraftContextError,
    level_choices,
    render_draft,
    sample_context,
)

ROOT = Path(__file__).resolve().parent.parent
BUILD_SCRIPT = ROOT / "templates" / "docx" / "build_templates.py"

EVALUATION_WORDING = [
    "Đánh giá, xếp loại chất lượng công chức, viên chức",
    "- Nhận xét, đánh giá của người quản lý, sử dụng công chức, viên chức:",
    "- Mức xếp loại chất lượng công chức, viên chức:",
    "THỦ TRƯỞNG CƠ QUAN, ĐƠN VỊ",
    "(Xác lập thời điểm, ký, ghi rõ họ tên và đóng dấu)",
    "Đánh giá, xếp loại chất lượng đảng viên",
    "- Nhận xét, đánh giá của chi ủy (chi bộ):",
    "- Chi bộ đề xuất xếp loại mức chất lượng:",
    "T/M CHI ỦY (CHI BỘ)",
    "(Xác lập thời điểm, ký, ghi rõ họ tên)",
    "- Đảng ủy, chi ủy cơ sở xếp loại mức chất lượng:",
    "T/M ĐẢNG ỦY (CHI ỦY)",
    "(Xác lập thời điểm, ký, ghi rõ họ tên)",
]

NASTY_ANSWER = "R&D <script>alert(1)</script> & <b>đậm</b> \"ngoặc\" 'đơn' > 5 < 7 && x"
LONG_ANSWER = ("Nội dung rất dài & <chi tiết> về công tác năm 2023. " * 300)[:10_000]
NFD_NAME = unicodedata.normalize("NFD", "Trần Thị Ánh Nguyệt")


def render(context: dict[str, Any]) -> DocumentObject:
    return docx.Document(io.BytesIO(render_draft(TEMPLATE_2023, context)))


def body_texts(document: DocumentObject) -> list[str]:
    return [paragraph.text for paragraph in document.paragraphs]


def find(document: DocumentObject, text: str) -> Paragraph:
    matches = [p for p in document.paragraphs if p.text == text]
    assert len(matches) == 1, f"expected one paragraph {text!r}, found {len(matches)}"
    return matches[0]


def all_text(document: DocumentObject) -> str:
    parts = body_texts(document)
    for table in document.tables:
        parts.extend(cell.text for cell in table._cells)
    parts.extend(p.text for p in document.sections[0].footer.paragraphs)
    return "\n".join(parts)


def nasty_context() -> dict[str, Any]:
    context = sample_context()
    context.update(
        full_name=NFD_NAME,
        party_committee="Khối Cơ quan & Doanh nghiệp <tỉnh>",
        cell_name="Văn\u200bphòng\x00 R&D",
        place="Hà Nội",
        day=5,
        month=1,
        year=2024,
        review_year=2023,
        party_position="",
        mass_org_position="Đoàn viên\nCông đoàn",
        subtitle="(Cá nhân không giữ chức vụ lãnh đạo, quản lý)",
        form_code="Mẫu 02A-HD KĐ.ĐG 2023",
        self_score=87.5,
    )
    context["sections"] = [
        {
            "title": "I. Ưu điểm, kết quả đạt được",
            "items": [
                {"label": "1. Nhãn & <nhãn>", "text": NASTY_ANSWER},
                {"label": "2. Dòng", "text": "Dòng một\r\nDòng hai\rDòng ba\n\nDòng năm\tcó tab"},
                {"label": "3. Dài", "text": LONG_ANSWER},
                {
                    "label": "4. Điều khiển",
                    "text": "A\x01B\x07C\x1bD\ufeffE\u202eF\x0cG\ud800H\u200dI",
                },
            ],
        },
        {
            "title": "IV. Giải trình những vấn đề được gợi ý kiểm điểm (nếu có)",
            "items": [{"label": "", "text": ""}],
        },
        {
            "title": "V. Làm rõ trách nhiệm của cá nhân đối với những hạn chế, khuyết điểm của tập thể (nếu có)",
            "items": [{"label": "", "text": unicodedata.normalize("NFD", "Không có.\n\n")}],
        },
    ]
    context["levels"] = {"civil_applicable": False, "party": level_choices("Hoàn thành nhiệm vụ")}
    return context


@pytest.fixture(scope="module")
def sample() -> DocumentObject:
    return render(sample_context())


@pytest.fixture(scope="module")
def nasty() -> DocumentObject:
    return render(nasty_context())


# --- the sample: every part of the form is where it belongs ---------------------------------


def test_header_cells(sample: DocumentObject) -> None:
    left, right = sample.tables[0].rows[0].cells
    assert [p.text for p in left.paragraphs] == [
        "ĐẢNG BỘ SỞ TÀI CHÍNH",
        "CHI BỘ PHÒNG KẾ HOẠCH – TÀI CHÍNH",
    ]
    assert [p.text for p in right.paragraphs] == [
        "ĐẢNG CỘNG SẢN VIỆT NAM",
        "Bắc Ninh, ngày 15 tháng 12 năm 2023",
    ]
    party_run = right.paragraphs[0].runs[0]
    assert party_run.bold and party_run.underline
    assert all(run.italic for run in right.paragraphs[1].runs)
    assert body_texts(sample)[0] == "Mẫu 02B-HD KĐ.ĐG 2023"


def test_header_table_has_no_borders(sample: DocumentObject) -> None:
    borders = sample.tables[0]._tbl.tblPr.find(docx.oxml.ns.qn("w:tblBorders"))
    assert borders is not None
    assert {edge.get(docx.oxml.ns.qn("w:val")) for edge in borders} == {"nil"}


def test_title_and_identity(sample: DocumentObject) -> None:
    texts = body_texts(sample)
    assert texts[1:4] == [
        "BẢN KIỂM ĐIỂM CÁ NHÂN",
        "Năm 2023",
        "(Cá nhân giữ chức vụ lãnh đạo, quản lý)",
    ]
    assert find(sample, "BẢN KIỂM ĐIỂM CÁ NHÂN").runs[0].bold
    assert texts[4:9] == [
        "Họ và tên: Nguyễn Thị Hồng Nhung\tNgày sinh: 12/03/1979",
        "Chức vụ Đảng: Phó Bí thư chi bộ",
        "Chức vụ chính quyền: Trưởng phòng Kế hoạch – Tài chính",
        "Chức vụ đoàn thể: Ủy viên Ban Chấp hành Công đoàn cơ sở",
        "Đơn vị công tác: Sở Tài chính tỉnh Bắc Ninh\tChi bộ Phòng Kế hoạch – Tài chính",
    ]


def test_every_section_label_and_answer_in_order(sample: DocumentObject) -> None:
    expected: list[str] = []
    for section in sample_context()["sections"]:
        expected.append(section["title"])
        for item in section["items"]:
            if item["label"]:
                expected.append(item["label"])
            expected.extend(item["text"].split("\n"))
    texts = body_texts(sample)
    start = texts.index("I. Ưu điểm, kết quả đạt được")
    assert texts[start : start + len(expected)] == expected
    assert texts[start + len(expected)] == "VII. Tự nhận mức xếp loại chất lượng"
    assert find(sample, "I. Ưu điểm, kết quả đạt được").runs[0].bold


def test_first_item_mentions_the_27_manifestations() -> None:
    first = sample_context()["sections"][0]["items"][0]
    assert first["label"].startswith("1. Về phẩm chất chính trị")
    assert "27 biểu hiện" in first["text"] and "04-NQ/TW" in first["text"]


def test_levels_tick_exactly_the_chosen_box(sample: DocumentObject) -> None:
    texts = body_texts(sample)
    civil = texts.index("1. Xếp loại cán bộ, công chức, viên chức:")
    party = texts.index("2. Xếp loại đảng viên:")
    boxes = [f"{'☒' if level == 'Hoàn thành tốt nhiệm vụ' else '☐'} {level}" for level in LEVELS]
    assert texts[civil + 1 : civil + 5] == boxes
    assert texts[party + 1 : party + 5] == boxes
    assert sum(text.count("☒") for text in texts) == 2
    assert not any(text.startswith("Tự chấm điểm") for text in texts)  # self_score is None


def test_signature_and_evaluation_blocks_are_empty(sample: DocumentObject) -> None:
    texts = body_texts(sample)
    signer = texts.index("NGƯỜI TỰ KIỂM ĐIỂM")
    assert texts[signer + 1] == "(Ký, ghi rõ họ tên)"
    assert find(sample, "Nguyễn Thị Hồng Nhung").runs[0].bold
    tail = texts[texts.index("Nguyễn Thị Hồng Nhung") + 1 :]
    # Only the form's own wording, dotted tab leaders and blank lines: nothing filled in.
    assert [t.strip() for t in tail if t.strip()] == EVALUATION_WORDING
    for label in EVALUATION_WORDING:
        if label.startswith("- "):
            paragraph = find(sample, label + " \t")
            (stop,) = paragraph.paragraph_format.tab_stops
            assert stop.leader == docx.enum.text.WD_TAB_LEADER.DOTS


def test_footer_marks_it_as_a_draft(sample: DocumentObject) -> None:
    (footer,) = sample.sections[0].footer.paragraphs
    assert footer.text == (
        "Bản nháp do tusoi tạo ngày 10/12/2023 — không phải văn bản chính thức; "
        "người kiểm điểm kiểm tra, ký tay."
    )
    run = footer.runs[0]
    assert run.font.size <= Pt(10) and str(run.font.color.rgb) == "808080"


def test_page_is_a4_with_administrative_margins(sample: DocumentObject) -> None:
    section = sample.sections[0]
    for actual, expected in [
        (section.page_width, Mm(210)),
        (section.page_height, Mm(297)),
        (section.top_margin, Mm(20)),
        (section.bottom_margin, Mm(20)),
        (section.left_margin, Mm(30)),
        (section.right_margin, Mm(15)),
    ]:
        assert abs(actual - expected) < Mm(0.1)


def test_times_new_roman_throughout(sample: DocumentObject) -> None:
    normal = sample.styles["Normal"]
    assert normal.font.name == "Times New Roman"
    assert Pt(13) <= normal.font.size <= Pt(14)
    w = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
    defaults = sample.styles.element.find(f"{w}docDefaults/{w}rPrDefault/{w}rPr/{w}rFonts")
    assert {value for value in defaults.attrib.values()} == {"Times New Roman"}
    body_fonts = {
        value
        for element in sample.element.body.iter(f"{w}rFonts")
        for value in element.attrib.values()
    }
    assert body_fonts <= {"Times New Roman"}


def test_no_template_tags_left(sample: DocumentObject, nasty: DocumentObject) -> None:
    for document in (sample, nasty):
        text = all_text(document)
        assert "{{" not in text and "{%" not in text and "}}" not in text


# --- the nasty context: what members type survives intact -----------------------------------


def test_special_characters_survive(nasty: DocumentObject) -> None:
    texts = body_texts(nasty)
    assert NASTY_ANSWER in texts
    assert "1. Nhãn & <nhãn>" in texts
    left = nasty.tables[0].rows[0].cells[0]
    assert left.paragraphs[0].text == "ĐẢNG BỘ KHỐI CƠ QUAN & DOANH NGHIỆP <TỈNH>"


def test_document_xml_is_strictly_valid(nasty: DocumentObject) -> None:
    data = render_draft(TEMPLATE_2023, nasty_context())
    with zipfile.ZipFile(io.BytesIO(data)) as package:
        for name in ("word/document.xml", "word/footer1.xml"):
            etree.fromstring(package.read(name))  # no recover=True: any bad byte fails here


def test_text_is_nfc(nasty: DocumentObject) -> None:
    text = all_text(nasty)
    assert unicodedata.normalize("NFC", text) == text
    assert "Họ và tên: Trần Thị Ánh Nguyệt\tNgày sinh: 12/03/1979" in body_texts(nasty)
    assert find(nasty, "Trần Thị Ánh Nguyệt").runs[0].bold  # signature line
    assert "Không có." in body_texts(nasty)


def test_line_breaks_become_paragraphs(nasty: DocumentObject) -> None:
    texts = body_texts(nasty)
    start = texts.index("2. Dòng")
    assert texts[start + 1 : start + 6] == [
        "Dòng một",
        "Dòng hai",
        "Dòng ba",
        "",
        "Dòng năm\tcó tab",
    ]


def test_long_answer_is_complete(nasty: DocumentObject) -> None:
    assert len(LONG_ANSWER) == 10_000
    assert LONG_ANSWER in body_texts(nasty)


def test_control_and_invisible_characters_are_removed(nasty: DocumentObject) -> None:
    texts = body_texts(nasty)
    start = texts.index("4. Điều khiển")
    # \x0c (form feed) is a line break; ZWJ stays for emoji; the rest goes.
    assert texts[start + 1 : start + 3] == ["ABCDEF", "GH\u200dI"]
    left = nasty.tables[0].rows[0].cells[0]
    assert left.paragraphs[1].text == "CHI BỘ VĂNPHÒNG R&D"


def test_one_line_fields_fold_newlines(nasty: DocumentObject) -> None:
    assert "Chức vụ đoàn thể: Đoàn viên Công đoàn" in body_texts(nasty)


def test_empty_fields_and_answers_leave_room_to_write(nasty: DocumentObject) -> None:
    texts = body_texts(nasty)
    assert "Chức vụ Đảng: …………" in texts
    title = texts.index("IV. Giải trình những vấn đề được gợi ý kiểm điểm (nếu có)")
    assert texts[title + 1] == "\t"  # a dotted line, no label paragraph
    assert nasty.paragraphs[title + 1].paragraph_format.tab_stops[0].leader is not None


def test_other_header_values(nasty: DocumentObject) -> None:
    texts = body_texts(nasty)
    assert texts[0] == "Mẫu 02A-HD KĐ.ĐG 2023"
    assert texts[3] == "(Cá nhân không giữ chức vụ lãnh đạo, quản lý)"
    right = nasty.tables[0].rows[0].cells[1]
    assert right.paragraphs[1].text == "Hà Nội, ngày 5 tháng 1 năm 2024"


def test_civil_rating_not_applicable_and_self_score(nasty: DocumentObject) -> None:
    texts = body_texts(nasty)
    civil = texts.index("1. Xếp loại cán bộ, công chức, viên chức:")
    assert texts[civil + 1 : civil + 3] == ["Không áp dụng", "2. Xếp loại đảng viên:"]
    assert texts[civil + 3 : civil + 7] == [
        f"{'☒' if level == 'Hoàn thành nhiệm vụ' else '☐'} {level}" for level in LEVELS
    ]
    assert "Tự chấm điểm: 87,5/100" in texts


# --- the context contract ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "mutate"),
    [
        ("full_name", lambda c: c.pop("full_name")),
        ("generated_on", lambda c: c.pop("generated_on")),
        ("levels", lambda c: c.pop("levels")),
        ("levels.party", lambda c: c["levels"].pop("party")),
        ("levels.civil", lambda c: c["levels"].pop("civil")),
        ("levels.civil[1].checked", lambda c: c["levels"]["civil"][1].pop("checked")),
        ("sections[1].title", lambda c: c["sections"][1].pop("title")),
        ("sections[0].items[2].text", lambda c: c["sections"][0]["items"][2].pop("text")),
    ],
)
def test_missing_key_names_the_key(path: str, mutate: Any) -> None:
    context = copy.deepcopy(sample_context())
    mutate(context)
    with pytest.raises(DraftContextError) as excinfo:
        render_draft(TEMPLATE_2023, context)
    assert excinfo.value.path == path
    assert path in str(excinfo.value)
    assert isinstance(excinfo.value, KeyError)


def test_two_ticked_levels_are_refused() -> None:
    context = sample_context()
    context["levels"]["party"][0]["checked"] = True
    with pytest.raises(DraftContextError, match="levels.party"):
        render_draft(TEMPLATE_2023, context)


def test_unknown_level_is_refused() -> None:
    with pytest.raises(ValueError):
        level_choices("Xuất sắc")


def test_rendering_leaves_the_context_untouched() -> None:
    context = nasty_context()
    before = copy.deepcopy(context)
    render_draft(TEMPLATE_2023, context)
    assert context == before


def test_documented_keys_cover_the_sample() -> None:
    top_level = {key.split(".")[0].split("[")[0] for key in DRAFT_CONTEXT_KEYS}
    assert top_level == set(sample_context())


# --- the template is built from source --------------------------------------------------------


@pytest.mark.parametrize("template", [TEMPLATE_2023, TEMPLATE_2025], ids=lambda p: p.name)
def test_committed_template_matches_its_build_script(tmp_path: Path, template: Path) -> None:
    subprocess.run(
        [sys.executable, str(BUILD_SCRIPT), "--out-dir", str(tmp_path)],
        check=True,
        cwd=ROOT,
        capture_output=True,
    )
    built = (tmp_path / template.name).read_bytes()
    committed = template.read_bytes()
    with zipfile.ZipFile(io.BytesIO(built)) as new, zipfile.ZipFile(io.BytesIO(committed)) as old:
        assert new.namelist() == old.namelist()
        assert new.read("word/document.xml").decode() == old.read("word/document.xml").decode(), (
            f"templates/docx/{template.name} is stale: run python templates/docx/build_templates.py"
        )
        for name in new.namelist():
            assert new.read(name) == old.read(name), name
    assert built == committed


# --- the 2025 template (Mẫu 2A/2B/2C) -----------------------------------------------------------


def render_2025(context: dict[str, Any]) -> DocumentObject:
    return docx.Document(io.BytesIO(render_draft(TEMPLATE_2025, context)))


def test_the_2025_sample_prints_parts_a_and_b_the_score_table_and_the_annex() -> None:
    document = render_2025(sample_2025_context())
    texts = body_texts(document)
    assert texts[:4] == ["Mẫu 2B-HD KĐ.ĐG 2025", "BẢN KIỂM ĐIỂM, TỰ ĐÁNH GIÁ, XẾP LOẠI CÁ NHÂN",
                         "Năm 2026", "(Cá nhân không giữ chức vụ lãnh đạo, quản lý)"]
    assert texts.index("A. NỘI DUNG KIỂM ĐIỂM") < texts.index("B. NỘI DUNG TỰ ĐÁNH GIÁ, XẾP LOẠI")
    score = [[c.text for c in row.cells] for row in document.tables[1].rows]
    assert score[-1] == ["Tổng điểm", "100", "87"]
    assert "☒ Hoàn thành tốt nhiệm vụ" in texts
    annex = [[c.text for c in row.cells] for row in document.tables[2].rows]
    assert len(annex) == 4 and annex[2][3] == "Không"
    assert "(Kèm theo bản kiểm điểm năm 2026 của đồng chí Trần Thị Thu Hà)" in texts
    xml = document.element.xml
    assert "{{" not in xml and "{%" not in xml


def test_the_2025_template_escapes_what_members_type_in_the_annex() -> None:
    context = sample_2025_context()
    context["annex"]["rows"][0]["task"] = NASTY_ANSWER
    context["annex"]["rows"][0]["result"] = "Dòng một\nDòng hai\x07"
    document = render_2025(context)
    annex = [[c.text for c in row.cells] for row in document.tables[2].rows]
    assert annex[1][1] == NASTY_ANSWER
    assert annex[1][2] == "Dòng một Dòng hai"


def test_the_2025_template_leaves_out_the_annex_and_posts_when_not_given() -> None:
    context = sample_2025_context()
    context["annex"] = None
    document = render_2025(context)
    assert len(document.tables) == 2  # header and scores only
    texts = body_texts(document)
    assert not any(t.startswith("Chức vụ Đảng") for t in texts)
    context["show_posts"] = True
    assert "Chức vụ Đảng: …………" in body_texts(render_2025(context))


def test_the_2025_context_names_a_missing_key() -> None:
    context = copy.deepcopy(sample_2025_context())
    context["part_b"]["total"].pop("score")
    with pytest.raises(DraftContextError) as excinfo:
        render_draft(TEMPLATE_2025, context)
    assert excinfo.value.path == "part_b.total.score"


def test_documented_2025_keys_cover_the_sample() -> None:
    extra = set(sample_2025_context()) - set(sample_context())
    documented = {key.split(".")[0].split("[")[0] for key in DRAFT_2025_KEYS}
    assert extra == documented - {"sections"}


def test_the_template_is_compiled_once_and_each_draft_is_still_its_own() -> None:
    """Issue 10: docxtpl hands the document's XML to Jinja at every render; compiling it was
    most of a draft's cost. The second draft compiles nothing new, and says only its own."""
    from bot.draft import _ENVIRONMENT

    first = copy.deepcopy(sample_context())
    first["full_name"] = "Nguyễn Văn Một"
    second = copy.deepcopy(sample_context())
    second["full_name"] = "Trần Thị Hai"
    one = all_text(render(first))
    compiled = dict(_ENVIRONMENT._compiled)
    two = all_text(render(second))
    assert compiled and _ENVIRONMENT._compiled == compiled
    assert "Nguyễn Văn Một" in one and "Trần Thị Hai" not in one
    assert "Trần Thị Hai" in two and "Nguyễn Văn Một" not in two
