"""Roster uploads: every encoding Excel writes, every broken file a secretary may send,
and a precise answer for each; nothing is half-read."""

from __future__ import annotations

import csv
import io
import re
import time
import unicodedata
import zipfile
from datetime import date, datetime
from pathlib import Path

import docx
import openpyxl
import pytest

from bot.bundle import load_texts
from bot.roster import (
    FILE_PROBLEMS,
    ROW_PROBLEMS,
    WARNINGS,
    RosterPreview,
    describe_file_problem,
    describe_problem,
    parse_roster,
)

DATA = Path(__file__).resolve().parent / "data" / "rosters"
HEADER = [
    "STT", "Họ và tên", "Ngày sinh", "Chức vụ Đảng", "Chức vụ chính quyền",
    "Chức vụ đoàn thể", "Đơn vị công tác", "Lãnh đạo", "Ngày vào Đảng",
]
ROWS = [
    ["1", "Nguyễn Thị Hồng Nhung", "12/03/1979", "Phó Bí thư chi bộ",
     "Trưởng phòng Kế hoạch – Tài chính", "Ủy viên BCH Công đoàn", "Sở Tài chính", "có",
     "03/02/2005"],
    ["2", "Trần Văn Đức", "5/9/1985", "", "Chuyên viên", "", "Sở Tài chính", "", "19/05/2010"],
    ["3", "Lê Thị Ánh Tuyết", "20/11/1990", "", "Chuyên viên", "Bí thư Chi đoàn", "Sở Tài chính",
     "không", ""],
]
TEXTS = load_texts()


def csv_text(rows: list[list[str]], delimiter: str = ",") -> str:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue()


def cp1258_form(text: str) -> str:
    """Vietnamese as Windows-1258 stores it: base letters precomposed, tone marks combining."""
    tones = {"\u0300", "\u0301", "\u0303", "\u0309", "\u0323"}
    out = []
    for char in text:
        parts = unicodedata.normalize("NFD", char)
        base = "".join(p for p in parts if p not in tones)
        out.append(unicodedata.normalize("NFC", base) + "".join(p for p in parts if p in tones))
    return "".join(out)


def xlsx_bytes(rows: list[list[object]], setup=None) -> bytes:  # type: ignore[no-untyped-def]
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    if setup is not None:
        setup(workbook)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def rewrite_part(package: bytes, part: str, change) -> bytes:  # type: ignore[no-untyped-def]
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(package)) as source, zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            data = source.read(info.filename)
            target.writestr(info, change(data) if info.filename == part else data)
    return out.getvalue()


def assert_three_members(preview: RosterPreview) -> None:
    assert preview.file_problem is None, preview
    assert preview.problems == []
    assert [r.full_name for r in preview.rows] == [
        "Nguyễn Thị Hồng Nhung", "Trần Văn Đức", "Lê Thị Ánh Tuyết"]
    for row in preview.rows:
        for value in (row.full_name, row.party_post, row.gov_post, row.work_unit):
            assert value is None or unicodedata.is_normalized("NFC", value)
    first, second, third = preview.rows
    assert first.birth_date == date(1979, 3, 12) and second.birth_date == date(1985, 9, 5)
    assert first.is_leader and not second.is_leader and not third.is_leader
    assert first.gov_post == "Trưởng phòng Kế hoạch – Tài chính"
    assert second.party_post is None
    assert first.joined_on == date(2005, 2, 3) and third.joined_on is None
    assert [r.row_number for r in preview.rows] == [2, 3, 4]
    assert first.member_fields()["birth_date"] == "12/03/1979"


# ----------------------------------------------------------------- encodings


@pytest.mark.parametrize(
    ("codec", "delimiter"),
    [
        ("utf-8", ","),
        ("utf-8-sig", ","),  # Excel "CSV UTF-8"
        ("utf-8-sig", ";"),  # Excel with a European list separator
        ("utf-16", "\t"),  # Excel "Unicode Text": UTF-16 LE with BOM, tab-separated
        ("utf-16-be", "\t"),  # BOM-less big-endian, from other tools
    ],
)
def test_unicode_csv_in_every_shape_excel_writes(codec: str, delimiter: str) -> None:
    content = csv_text([HEADER, *ROWS], delimiter).encode(codec)
    preview = parse_roster("ds.csv", content)
    assert_three_members(preview)
    assert preview.source.startswith("csv:")


def test_utf16_be_with_bom() -> None:
    content = b"\xfe\xff" + csv_text([HEADER, *ROWS], "\t").encode("utf-16-be")
    assert_three_members(parse_roster("ds.txt", content))


def test_windows_1258_with_combining_tones_comes_out_nfc() -> None:
    text = cp1258_form(csv_text([HEADER, *ROWS]))
    assert not unicodedata.is_normalized("NFC", text)  # the fixture really is decomposed
    content = text.encode("cp1258")
    preview = parse_roster("ds.csv", content)
    assert_three_members(preview)
    assert "cp1258" in preview.source


def test_undecodable_bytes_are_refused_with_a_reason() -> None:
    # Bytes that are neither UTF-8 nor valid Windows-1258 (0x81 and 0x8D are unassigned).
    content = "Họ và tên,Ngày sinh,Lãnh đạo\n".encode() + b"A\x81\x8d\xc3,01/01/1980,x\n"
    preview = parse_roster("ds.csv", content)
    assert preview.file_problem == "undecodable" and preview.rows == []
    assert "CSV UTF-8" in describe_file_problem(preview, TEXTS)


# ----------------------------------------------------------------- headers


@pytest.mark.parametrize(
    "names",
    [
        ["Ho ten", "Ngay sinh", "Lanh dao"],
        ["HỌ TÊN", "NGÀY SINH", "GIỮ CHỨC VỤ LÃNH ĐẠO, QUẢN LÝ"],
        ["  Họ  và   tên (*) ", "Ngày sinh (dd/mm/yyyy)", "Lãnh đạo (có/không)"],
    ],
)
def test_headers_are_matched_whatever_the_case_accents_or_spacing(names: list[str]) -> None:
    content = csv_text([names, ["Phạm Minh Chính", "10/12/1958", "x"]]).encode()
    preview = parse_roster("ds.csv", content)
    assert preview.file_problem is None
    assert preview.rows[0].full_name == "Phạm Minh Chính" and preview.rows[0].is_leader


def test_a_title_block_above_the_header_is_skipped() -> None:
    rows = [["DANH SÁCH ĐẢNG VIÊN CHI BỘ PHÒNG TÀI CHÍNH"], [], HEADER, ROWS[0]]
    preview = parse_roster("ds.csv", csv_text(rows).encode())
    assert preview.rows[0].row_number == 4
    assert preview.rows[0].full_name == "Nguyễn Thị Hồng Nhung"


def test_split_name_columns_are_joined() -> None:
    rows = [["Họ và tên đệm", "Tên", "Ngày sinh", "Lãnh đạo"],
            ["Nguyễn Thị Hồng", "Nhung", "12/03/1979", ""]]
    preview = parse_roster("ds.csv", csv_text(rows).encode())
    assert preview.rows[0].full_name == "Nguyễn Thị Hồng Nhung"


def test_missing_columns_are_named_and_nothing_is_imported() -> None:
    rows = [["Họ và tên", "Chức vụ Đảng"], ["Trần Văn Đức", ""]]
    preview = parse_roster("ds.csv", csv_text(rows).encode())
    assert preview.file_problem == "missing_columns"
    assert preview.missing_columns == ["birth_date", "category_or_leader"]
    assert preview.rows == []
    message = describe_file_problem(preview, TEXTS)
    assert message is not None and "Ngày sinh" in message and "lãnh đạo" in message


def test_unknown_columns_are_reported_as_ignored() -> None:
    rows = [["Họ và tên", "Ngày sinh", "Lãnh đạo", "Số điện thoại"],
            ["Trần Văn Đức", "05/09/1985", ""]]
    preview = parse_roster("ds.csv", csv_text(rows).encode())
    assert preview.ignored_columns == ["Số điện thoại"]
    assert [w.reason_code for w in preview.warnings] == ["ignored_columns"]


# ----------------------------------------------------------------- rows


def test_bad_rows_are_left_out_with_row_number_column_and_reason() -> None:
    rows = [
        HEADER,
        ROWS[0],
        ["2", "", "01/01/1980", "", "", "", "", "", ""],  # row 3: no name
        ["3", "Võ Văn 7", "01/01/1980", "", "", "", "", "", ""],  # row 4: digit in name
        ["4", "Hà Thị Lan", "31/02/1980", "", "", "", "", "", ""],  # row 5: no 31 February
        ["5", "Đinh Văn Hùng", "01/01/1980", "", "", "", "", "chắc chắn", ""],  # row 6
        ["6", "Bùi Thị Mai", "01/01/2030", "", "", "", "", "", ""],  # row 7: in the future
        ["7", "Ngô Văn Sơn", "01/01/1980", "", "", "", "", "", "01/01/1970"],  # row 8
    ]
    preview = parse_roster("ds.csv", csv_text(rows).encode(), today=date(2026, 11, 23))
    assert [r.full_name for r in preview.rows] == ["Nguyễn Thị Hồng Nhung"]
    found = [(p.row_number, p.column, p.reason_code) for p in preview.problems]
    assert found == [
        (3, "full_name", "missing_name"),
        (4, "full_name", "bad_name"),
        (5, "birth_date", "bad_date"),
        (6, "is_leader", "bad_leader_value"),
        (7, "birth_date", "date_in_future"),
        (8, "joined_on", "joined_before_birth"),
    ]
    lines = [describe_problem(p, TEXTS) for p in preview.problems]
    assert lines[0] == "Dòng 3: thiếu họ tên"
    assert lines[2].startswith("Dòng 5: cột «Ngày sinh» có «31/02/1980» không phải ngày")
    assert "«chắc chắn»" in lines[3]


def test_duplicates_are_flagged_on_the_later_row() -> None:
    rows = [
        HEADER, ROWS[0], ROWS[1],
        ["9", "NGUYỄN THỊ HỒNG  NHUNG", "12/3/1979", "", "", "", "", "", ""],  # row 4
        ["10", "Nguyễn Thị Hồng Nhung", "12/03/1980", "", "", "", "", "", ""],  # other person
    ]
    preview = parse_roster("ds.csv", csv_text(rows).encode())
    assert preview.duplicates == [(4, 2)]
    assert [(p.row_number, p.reason_code, p.detail) for p in preview.problems] == [
        (4, "duplicate", "2")]
    assert len(preview.rows) == 3
    assert describe_problem(preview.problems[0], TEXTS) == (
        "Dòng 4: trùng họ tên và ngày sinh với dòng 2")


def test_empty_rows_are_skipped_and_counted() -> None:
    rows = [HEADER, [], ROWS[0], ["", "", "", "", ""], [" ", ""], ROWS[1], ROWS[2], [], []]
    preview = parse_roster("ds.csv", csv_text(rows).encode())
    assert [r.row_number for r in preview.rows] == [3, 6, 7]
    assert preview.empty_rows == 5
    assert preview.problems == []


def test_a_header_without_members_is_refused() -> None:
    preview = parse_roster("ds.csv", csv_text([HEADER, [], []]).encode())
    assert preview.file_problem == "no_rows"


# ----------------------------------------------------------------- XLSX


def test_xlsx_with_real_dates_and_numbers() -> None:
    content = xlsx_bytes([
        ["Họ và tên", "Ngày sinh", "Lãnh đạo", "Ngày vào Đảng"],
        ["Nguyễn Thị Hồng Nhung", datetime(1979, 3, 12), 1, 38386],  # a serial without format
        ["Trần Văn Đức", "05/09/1985", 0, None],
    ])
    preview = parse_roster("ds.xlsx", content)
    assert preview.file_problem is None, preview
    first, second = preview.rows
    assert first.birth_date == date(1979, 3, 12) and first.is_leader
    assert first.joined_on == date(2005, 2, 3)
    assert second.birth_date == date(1985, 9, 5) and not second.is_leader


def test_hidden_sheets_are_ignored_and_the_first_visible_one_is_read() -> None:
    def setup(workbook: openpyxl.Workbook) -> None:
        hidden = workbook.active
        hidden.title = "Nháp"
        hidden.sheet_state = "hidden"
        visible = workbook.create_sheet("Danh sách")
        visible.append(["Họ và tên", "Ngày sinh", "Lãnh đạo"])
        visible.append(["Trần Văn Đức", "05/09/1985", ""])

    content = xlsx_bytes([["Họ và tên", "Ngày sinh", "Lãnh đạo"], ["Người Ẩn", "01/01/1970", ""]],
                         setup)
    preview = parse_roster("ds.xlsx", content)
    assert [r.full_name for r in preview.rows] == ["Trần Văn Đức"]
    assert preview.source == "xlsx:Danh sách"


def formula_roster() -> bytes:
    return xlsx_bytes([
        ["Họ và tên", "Ngày sinh", "Lãnh đạo"],
        ["Trần Văn Đức", "05/09/1985", '=IF(1=1,"có","")'],
        ["Lê Thị Ánh Tuyết", "20/11/1990", ""],
    ])


def test_a_formula_without_a_cached_value_is_a_row_problem() -> None:
    # openpyxl writes formulas with an empty cached value, like a file never opened in Excel.
    preview = parse_roster("ds.xlsx", formula_roster())
    assert [r.full_name for r in preview.rows] == ["Lê Thị Ánh Tuyết"]
    assert [(p.row_number, p.column, p.reason_code, p.detail) for p in preview.problems] == [
        (2, "is_leader", "formula_not_computed", "C2")]
    assert "công thức chưa tính" in describe_problem(preview.problems[0], TEXTS)


def test_a_formula_with_a_cached_value_uses_that_value() -> None:
    # openpyxl cannot compute formulas, so write the cached value into the XML as Excel would.
    def cache(xml: bytes) -> bytes:
        changed, count = re.subn(rb'<c r="C2">(<f>.*?</f>)<v\s*/?>(?:</v>)?',
                                 '<c r="C2" t="str">\\1<v>có</v>'.encode(), xml)
        assert count == 1
        return changed

    content = rewrite_part(formula_roster(), "xl/worksheets/sheet1.xml", cache)
    preview = parse_roster("ds.xlsx", content)
    assert preview.problems == []
    assert preview.rows[0].full_name == "Trần Văn Đức" and preview.rows[0].is_leader


def test_formula_errors_are_row_problems() -> None:
    def cache_error(xml: bytes) -> bytes:
        return re.sub(rb'<c r="C2">(<f>.*?</f>)<v\s*/?>(?:</v>)?',
                      rb'<c r="C2" t="e">\1<v>#REF!</v>', xml)

    content = rewrite_part(formula_roster(), "xl/worksheets/sheet1.xml", cache_error)
    preview = parse_roster("ds.xlsx", content)
    assert [(p.row_number, p.reason_code) for p in preview.problems] == [(2, "formula_error")]


def test_merged_cells_are_warned_with_their_range() -> None:
    def merge(workbook: openpyxl.Workbook) -> None:
        sheet = workbook.active
        sheet.insert_rows(1)
        sheet["A1"] = "DANH SÁCH ĐẢNG VIÊN"
        sheet.merge_cells("A1:D1")  # a title above the header: harmless, no warning
        sheet.merge_cells("D3:D4")  # the work unit shared by two members

    content = xlsx_bytes([
        ["Họ và tên", "Ngày sinh", "Lãnh đạo", "Đơn vị công tác"],
        ["Trần Văn Đức", "05/09/1985", "", "Phòng Ngân sách"],
        ["Lê Thị Ánh Tuyết", "20/11/1990", "", None],
    ], merge)
    preview = parse_roster("ds.xlsx", content)
    assert [(w.row_number, w.reason_code, w.detail) for w in preview.warnings] == [
        (3, "merged_cells", "D3:D4")]
    assert len(preview.rows) == 2 and preview.rows[1].work_unit is None
    assert "D3:D4" in describe_problem(preview.warnings[0], TEXTS)


def test_a_stale_dimension_does_not_hide_rows() -> None:
    content = rewrite_part(
        xlsx_bytes([["Họ và tên", "Ngày sinh", "Lãnh đạo"], ["Trần Văn Đức", "05/09/1985", ""],
                    ["Lê Thị Ánh Tuyết", "20/11/1990", ""]]),
        "xl/worksheets/sheet1.xml",
        lambda xml: re.sub(rb'<dimension ref="[^"]+"/>', b'<dimension ref="A1:C1"/>', xml),
    )
    assert len(parse_roster("ds.xlsx", content).rows) == 2


# ----------------------------------------------------------------- size


def big_rows(count: int) -> list[list[str]]:
    return [HEADER] + [
        [str(i), f"Đảng viên Số {chr(65 + i % 26)}{chr(65 + i // 26 % 26)}", "01/01/1980",
         "", "", "", "", "", ""]
        for i in range(count)
    ]


def test_a_50000_row_csv_is_refused_fast() -> None:
    content = csv_text(big_rows(50_000)).encode("utf-8-sig")
    started = time.perf_counter()
    preview = parse_roster("ds.csv", content)
    elapsed = time.perf_counter() - started
    assert preview.file_problem == "too_many_rows" and preview.rows == []
    assert elapsed < 2, elapsed
    assert "2000" in describe_file_problem(preview, TEXTS)


def test_a_50000_row_xlsx_is_refused_fast() -> None:
    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet()
    for row in big_rows(50_000):
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    started = time.perf_counter()
    preview = parse_roster("ds.xlsx", buffer.getvalue())
    elapsed = time.perf_counter() - started
    assert preview.file_problem == "too_many_rows" and preview.rows == []
    assert elapsed < 2, elapsed


def test_the_row_limit_is_a_parameter() -> None:
    content = csv_text(big_rows(11)).encode()
    assert parse_roster("ds.csv", content, max_rows=10).file_problem == "too_many_rows"
    assert len(parse_roster("ds.csv", content, max_rows=11).rows) == 11


# ----------------------------------------------------------------- not a roster


def docx_bytes() -> bytes:
    buffer = io.BytesIO()
    document = docx.Document()
    document.add_paragraph("Họ và tên, Ngày sinh, Lãnh đạo")
    document.save(buffer)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("ds.pdf", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n", "not_a_roster"),
        ("anh.png", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)), "not_a_roster"),
        ("anh.jpg", b"\xff\xd8\xff\xe0\x00\x10JFIF" + bytes(100), "not_a_roster"),
        ("ds.docx", None, "not_a_roster"),
        ("ds.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600), "old_excel"),
        ("ds.csv", bytes(range(256)) * 8, "undecodable"),
        ("ghichu.txt", "Kính gửi chi bộ,\nđề nghị các đồng chí nộp bản kiểm điểm.\n".encode(),
         "not_a_roster"),
        ("rong.csv", b"", "no_rows"),
        ("hong.xlsx", b"PK\x03\x04" + bytes(100), "not_a_roster"),
    ],
)
def test_files_that_are_not_rosters_get_a_precise_answer(
    name: str, content: bytes | None, expected: str
) -> None:
    preview = parse_roster(name, docx_bytes() if content is None else content)
    assert preview.file_problem == expected
    assert preview.rows == [] and not preview.importable
    assert describe_file_problem(preview, TEXTS)


def test_a_damaged_xlsx_is_unreadable() -> None:
    content = rewrite_part(xlsx_bytes([["Họ và tên"]]), "xl/workbook.xml", lambda _: b"<oops")
    assert parse_roster("ds.xlsx", content).file_problem == "unreadable_xlsx"


# ----------------------------------------------------------------- texts


def test_every_code_has_a_vietnamese_text() -> None:
    roster = TEXTS["roster"]
    assert set(FILE_PROBLEMS) == set(roster["file_problems"])
    assert set(ROW_PROBLEMS) | set(WARNINGS) == set(roster["reasons"])
    for code in ROW_PROBLEMS:
        assert code.isascii()


def test_fixture_files_on_disk_parse() -> None:
    for path in sorted(DATA.glob("*")):
        preview = parse_roster(path.name, path.read_bytes())
        expected = path.stem.split("--")[-1]
        if expected == "ok":
            assert preview.importable, (path, preview)
        else:
            assert preview.file_problem == expected, (path, preview)


# ----------------------------------------------------------------- the 2025 forms: category,
# admission date and standing


@pytest.mark.parametrize("header", [
    "Đối tượng", "ĐỐI TƯỢNG KIỂM ĐIỂM", "Phân loại đảng viên", "Mẫu kiểm điểm", "Mẫu",
    "Đối tượng (2A/2B/2C)",
])
def test_the_category_column_is_found_under_the_names_offices_type(header: str) -> None:
    rows = [["Họ và tên", "Ngày sinh", header],
            ["Hà Văn Một", "01/01/1970", "Lãnh đạo, quản lý"],
            ["Hà Văn Hai", "01/01/1971", "Không giữ chức vụ"],
            ["Hà Văn Ba", "01/01/1972", "Hưu trí"]]
    preview = parse_roster("ds.csv", csv_text(rows).encode())
    assert preview.problems == [] and preview.columns["category"] == header
    assert [r.category.value for r in preview.rows] == ["leader", "no_post", "outside"]
    assert [r.is_leader for r in preview.rows] == [True, False, False]


@pytest.mark.parametrize("value, category", [
    ("2A", "leader"), ("Mẫu 2B", "no_post"), ("2c", "outside"), ("02C", "outside"),
    ("giữ chức vụ lãnh đạo, quản lý", "leader"), ("không giữ chức vụ lãnh đạo, quản lý", "no_post"),
    ("ngoài hệ thống chính trị", "outside"), ("Sinh viên", "outside"),
    ("Doanh nghiệp tư nhân", "outside"), ("", "no_post"),
])
def test_category_values(value: str, category: str) -> None:
    rows = [["Họ và tên", "Ngày sinh", "Đối tượng"], ["Hà Văn Một", "01/01/1970", value]]
    [row] = parse_roster("ds.csv", csv_text(rows).encode()).rows
    assert row.category.value == category


def test_unknown_category_values_are_listed_per_row_and_the_2023_letters_refused() -> None:
    rows = [["Họ và tên", "Ngày sinh", "Đối tượng", "Lãnh đạo"],
            ["Hà Văn Một", "01/01/1970", "Cán bộ", ""],
            ["Hà Văn Hai", "01/01/1971", "02A", ""],
            ["Hà Văn Ba", "01/01/1972", "Hưu trí", "có"],
            ["Hà Văn Bốn", "01/01/1973", "", "có"]]
    preview = parse_roster("ds.csv", csv_text(rows).encode())
    assert [(p.row_number, p.reason_code, p.detail) for p in preview.problems] == [
        (2, "bad_category", "Cán bộ"), (3, "old_form_letter", "02A"),
        (4, "category_conflict", "Hưu trí / có")]
    assert [(r.full_name, r.category.value) for r in preview.rows] == [("Hà Văn Bốn", "leader")]
    lines = [describe_problem(p, TEXTS) for p in preview.problems]
    assert lines[0].startswith("Dòng 2: cột «Đối tượng» có «Cán bộ», chưa rõ là đối tượng nào")
    assert "«lãnh đạo»" in lines[0] and "«ngoài hệ thống chính trị»" in lines[0]
    assert "02A là không giữ chức vụ" in lines[1] and "năm 2025" in lines[1]


def test_a_roster_without_category_or_leader_column_names_both() -> None:
    rows = [["Họ và tên", "Ngày sinh"], ["Hà Văn Một", "01/01/1970"]]
    preview = parse_roster("ds.csv", csv_text(rows).encode())
    assert preview.missing_columns == ["category_or_leader"]
    message = describe_file_problem(preview, TEXTS)
    assert message is not None and "Đối tượng" in message and "Lãnh đạo" in message


@pytest.mark.parametrize("header", ["Ngày vào Đảng", "Ngày kết nạp", "Ngày KN", "Ngày kết nạp Đảng"])
def test_an_admission_date_in_the_future_or_unreadable_is_refused_per_row(header: str) -> None:
    rows = [["Họ và tên", "Ngày sinh", "Lãnh đạo", header, "Ngày chính thức"],
            ["Hà Văn Một", "01/01/1970", "", "19/05/2012", "19/05/2013"],
            ["Hà Văn Hai", "01/01/1971", "", "01/03/2027", ""],
            ["Hà Văn Ba", "01/01/1972", "", "năm 2010", ""]]
    preview = parse_roster("ds.csv", csv_text(rows).encode(), today=date(2026, 11, 30))
    assert [r.joined_on for r in preview.rows] == [date(2012, 5, 19)]
    assert [(p.row_number, p.column, p.reason_code) for p in preview.problems] == [
        (3, "joined_on", "date_in_future"), (4, "joined_on", "bad_date")]
    assert "Ngày chính thức" in preview.ignored_columns  # official membership is another date
    lines = [describe_problem(p, TEXTS) for p in preview.problems]
    assert lines == [
        "Dòng 3: cột «Ngày vào Đảng» là ngày 01/03/2027, sau ngày hôm nay",
        ("Dòng 4: cột «Ngày vào Đảng» có «năm 2010» không phải ngày (cần dạng ngày/tháng/năm, "
         "ví dụ 05/09/1980)"),
    ]


def test_standing_marks_members_not_reviewed() -> None:
    rows = [["Họ và tên", "Ngày sinh", "Lãnh đạo", "Tình trạng sinh hoạt đảng"],
            ["Hà Văn Một", "01/01/1970", "", "Miễn công tác và sinh hoạt đảng"],
            ["Hà Văn Hai", "01/01/1971", "", "đình chỉ sinh hoạt"],
            ["Hà Văn Ba", "01/01/1972", "", ""],
            ["Hà Văn Bốn", "01/01/1973", "", "nghỉ phép"]]
    preview = parse_roster("ds.csv", csv_text(rows).encode())
    assert [r.standing.value if r.standing else None for r in preview.rows] == [
        "exempted", "suspended", None]
    assert [(p.row_number, p.reason_code) for p in preview.problems] == [(5, "bad_standing")]
