"""The cell's bundle: the zip is opened and every file in it is read back and checked."""

from __future__ import annotations

import copy
import io
import subprocess
import sys
import zipfile
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import docx
import openpyxl
import pytest

from bot import flow
from bot.bundle import (
    IN_PROGRESS,
    NOT_REVIEWED_STATUS,
    NOT_STARTED,
    SUBMITTED,
    BundleMember,
    ascii_name,
    build_bundle,
    load_texts,
    proposal_inputs,
    review_facts,
)
from bot.checklist import load_packs
from bot.draft import TEMPLATE_2023, render_draft, sample_context
from bot.models import Answer, Cell
from bot.proposal import load_rules, propose

ROOT = Path(__file__).resolve().parents[1]
BUILD_SCRIPT = ROOT / "templates" / "docx" / "build_bundle_templates.py"
TEXTS = load_texts()
RULES = load_rules().at(date(2026, 12, 18))
CELL = Cell(1, "Phòng Kế hoạch & Tài chính <KH-TC>", "Sở Tài chính", "Bắc Ninh")
NOW = datetime(2026, 12, 10, 2, 0, tzinfo=UTC)  # 09:00 in Hà Nội
SUBMITTED_AT = datetime(2026, 11, 30, 16, 30, tzinfo=UTC)  # 23:30 in Hà Nội
MEETING = date(2026, 12, 18)
NAMES = [
    "Nguyễn Thị Hồng Nhung", "Trần Văn Đức", "Lê Thị Ánh Tuyết", "Phạm Quốc Bảo", "Võ Thị Lan",
    "Đặng Minh Khôi", "Bùi Thị Thu", "Hoàng Văn Nam", "Đỗ Thị Hà", "Ngô Văn Sơn",
    "=Hyperlink Thử", "Mai Thị Cúc",
]
# A phrase from the sample draft's answers: it must never reach the summary.
ANSWER_PHRASE = "quy trình thẩm định dự toán"


def members(recent_status: str = NOT_REVIEWED_STATUS,
            joined_recently: date = date(2026, 10, 15)) -> list[BundleMember]:
    """Twelve members: 6 self-rate "htxs" with scores ≥ 90 and 3 "htt", so the cap (20% of 3 = 0)
    is broken; one joined two months ago (not reviewed under 366: the desk gives them
    ``recent_status``); one is writing; one has not started."""
    result = []
    for index, name in enumerate(NAMES):
        member_id = index + 1
        status = SUBMITTED if index < 9 else (
            recent_status if index == 9 else IN_PROGRESS if index == 10 else NOT_STARTED)
        reviewed = status != NOT_REVIEWED_STATUS
        level = "htxs" if index < 6 else ("htt" if index < 9 else "ht")
        score = 95 if index < 6 else (80 if index < 9 else 60)
        admitted = ("1.4", "2.5") if index % 3 == 0 else (("1.4",) if index % 3 == 1 else ())
        result.append(BundleMember(
            member_id=member_id,
            full_name=name,
            party_post="Bí thư chi bộ" if index == 0 else None,
            gov_post="Chuyên viên",
            is_leader=index == 0,
            status=status,
            submitted_at=SUBMITTED_AT if status == SUBMITTED else None,
            self_score=score if status != NOT_STARTED and reviewed else None,
            self_level=level if status != NOT_STARTED and reviewed else None,
            admitted_items=admitted if status != NOT_STARTED and reviewed else (),
            severe_items=("2.5",) if index == 3 else (),
            flags=(("vague_remedy",) if index == 1 else ()) + (("severe",) if index == 3 else ()),
            joined_on=joined_recently if index == 9 else date(2012, 3, 1),
            category="leader" if index == 0 else "no_post",
            not_reviewed=None if reviewed else "recent",
        ))
    return result


def drafts(count: int) -> list[tuple[str, bytes]]:
    result = []
    for index in range(count):
        context = copy.deepcopy(sample_context())
        context["full_name"] = NAMES[index]
        result.append((f"ban-kiem-diem-2026-{NAMES[index]}-v1.docx",
                       render_draft(TEMPLATE_2023, context)))
    return result


@pytest.fixture(scope="module")
def built() -> dict[str, Any]:
    people = members()
    proposal = propose(proposal_inputs(people), RULES, MEETING)
    files = drafts(10)
    calls: list[tuple[int, int]] = []
    data = build_bundle(CELL, "Kiểm điểm cuối năm 2026", 2026, people, files, proposal, TEXTS, NOW,
                        progress=lambda done, total: calls.append((done, total)))
    return {"zip": zipfile.ZipFile(io.BytesIO(data)), "drafts": files, "calls": calls,
            "proposal": proposal, "members": people}


def docx_text(data: bytes) -> str:
    document = docx.Document(io.BytesIO(data))
    parts = [p.text for p in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            parts.extend(cell.text for cell in row.cells)
    for section in document.sections:
        parts.extend(p.text for p in section.footer.paragraphs)
    return "\n".join(parts)


def sheet_rows(data: bytes, sheet: str) -> list[tuple[Any, ...]]:
    workbook = openpyxl.load_workbook(io.BytesIO(data))
    return [tuple(row) for row in workbook[sheet].iter_rows(values_only=True)]


def test_the_zip_holds_every_draft_byte_for_byte_and_the_four_documents(
    built: dict[str, Any],
) -> None:
    archive: zipfile.ZipFile = built["zip"]
    names = archive.namelist()
    assert names[-4:] == ["tong-hop.xlsx", "tong-hop-kiem-diem.docx", "bien-ban-hop.docx",
                          "de-xuat-xep-loai.xlsx"]
    draft_names = [n for n in names if n.startswith("ban-kiem-diem/")]
    assert len(draft_names) == 10
    assert all(n.isascii() for n in names)
    assert "ban-kiem-diem/ban-kiem-diem-2026-Tran-Van-Duc-v1.docx" in draft_names
    for name, (_, data) in zip(draft_names, built["drafts"]):
        assert archive.read(name) == data
    assert archive.testzip() is None


def test_progress_is_reported_up_to_the_total(built: dict[str, Any]) -> None:
    calls = built["calls"]
    assert calls == [(i, 14) for i in range(1, 15)]


def test_summary_workbook_has_one_row_per_member(built: dict[str, Any]) -> None:
    data = built["zip"].read("tong-hop.xlsx")
    workbook = openpyxl.load_workbook(io.BytesIO(data))
    sheet = workbook["Tổng hợp"]
    assert sheet.freeze_panes == "A4"
    rows = [tuple(r) for r in sheet.iter_rows(values_only=True)]
    assert rows[2] == tuple(TEXTS["summary_xlsx"]["headers"])
    body = rows[3:]
    assert [r[1] for r in body] == NAMES
    first = body[0]
    assert first[2] == "Giữ chức vụ lãnh đạo, quản lý" and first[3] == "Đã nộp"
    assert first[4] == datetime(2026, 11, 30, 23, 30)  # 16:30 UTC, shown in Hà Nội time
    assert (first[5], first[6], first[7]) == (95, "Hoàn thành xuất sắc nhiệm vụ", 2)
    assert body[1][8] == "Biện pháp khắc phục chưa cụ thể"
    assert body[3][8] == "Tự nhận biểu hiện rõ (2.5)"
    assert body[9][3] == "Không kiểm điểm (mới kết nạp chưa đủ 6 tháng)" and body[9][5] is None
    assert body[10][3] == "Đang làm" and body[10][4] is None
    assert body[11][3] == "Chưa bắt đầu" and body[11][5] is None and body[11][7] is None
    # A name starting with "=" stays text: no formula can be smuggled into the workbook.
    cell = sheet.cell(row=14, column=2)
    assert cell.value == "=Hyperlink Thử" and cell.data_type == "s"
    assert sheet.column_dimensions["B"].width >= 25


def test_summary_docx_is_a_draft_with_counts_and_no_answer_text(built: dict[str, Any]) -> None:
    text = docx_text(built["zip"].read("tong-hop-kiem-diem.docx"))
    assert "DỰ THẢO" in text
    assert "ĐẢNG BỘ SỞ TÀI CHÍNH" in text and "CHI BỘ PHÒNG KẾ HOẠCH & TÀI CHÍNH <KH-TC>" in text
    assert "Tổng số đảng viên trong danh sách: 12." in text
    assert ("Không kiểm điểm trong đợt này (Quy định 366-QĐ/TW, Điều 5): 1 đồng chí — Ngô Văn "
            "Sơn (mới kết nạp chưa đủ 6 tháng).") in text
    assert "Đã nộp: 9; chưa nộp: 2 (đang làm: 1; chưa bắt đầu: 1)." in text
    assert "3/9 đồng chí đã nộp tự nhận không có biểu hiện nào" in text
    document = docx.Document(io.BytesIO(built["zip"].read("tong-hop-kiem-diem.docx")))
    level_table = [[c.text for c in row.cells] for row in document.tables[1].rows]
    assert level_table[1] == ["Hoàn thành xuất sắc nhiệm vụ", "6", "66,7%"]
    assert level_table[2] == ["Hoàn thành tốt nhiệm vụ", "3", "33,3%"]
    items = [[c.text for c in row.cells] for row in document.tables[2].rows]
    assert items[1:] == [["1.4", "6", "0"], ["2.5", "3", "1"]]
    assert "1 bản có biện pháp khắc phục chưa nêu rõ" in text
    assert "vượt mức tối đa 0" in text
    assert "chi bộ thảo luận, đề xuất; đảng ủy, chi ủy cơ sở quyết định" in text
    assert "cấp có thẩm quyền có thể quyết định tỉ lệ đến 25%" in text
    assert ANSWER_PHRASE not in text
    for name in NAMES:  # counts only: no member is singled out, but those not reviewed are named
        assert (name in text) is (name == "Ngô Văn Sơn")


def test_minutes_skeleton_lists_every_member_with_attendance_blank(built: dict[str, Any]) -> None:
    data = built["zip"].read("bien-ban-hop.docx")
    text = docx_text(data)
    document = docx.Document(io.BytesIO(data))
    header = next([c.text for c in row.cells] for row in document.tables[0].rows)
    assert header[0].startswith("ĐẢNG BỘ SỞ TÀI CHÍNH\nCHI BỘ PHÒNG KẾ HOẠCH")
    assert header[1].startswith("ĐẢNG CỘNG SẢN VIỆT NAM\nBắc Ninh, ngày …")
    assert "BIÊN BẢN HỘI NGHỊ KIỂM ĐIỂM" in text
    assert "KHUNG BIÊN BẢN" in text and "không phải mẫu chính thức" in text
    roll = [[c.text for c in row.cells] for row in document.tables[1].rows]
    assert roll[0] == ["STT", "Họ và tên", "Chức vụ", "Có mặt", "Vắng mặt (lý do)"]
    assert [r[1] for r in roll[1:]] == NAMES
    assert roll[1][2] == "Bí thư chi bộ; Chuyên viên"
    assert all(r[3] == "" and r[4] == "" for r in roll[1:])
    assert "Tổng số đảng viên của chi bộ: 12 đồng chí" in text
    assert "12. Đồng chí Mai Thị Cúc" in text


def test_proposal_workbook_spells_out_the_cap_violation(built: dict[str, Any]) -> None:
    data = built["zip"].read("de-xuat-xep-loai.xlsx")
    workbook = openpyxl.load_workbook(io.BytesIO(data))
    assert workbook.sheetnames == ["Đề xuất", "Vi phạm", "Căn cứ"]
    main = [r for r in sheet_rows(data, "Đề xuất")]
    flat = "\n".join(str(v) for row in main for v in row if v is not None)
    assert "chi bộ đề xuất, đảng ủy (chi ủy) cơ sở quyết định" in flat
    assert "DỰ THẢO ĐỀ XUẤT" in flat
    by_name = {row[1]: row for row in main[4:] if row[1] in NAMES}
    assert by_name["Nguyễn Thị Hồng Nhung"][5] == "Hoàn thành xuất sắc nhiệm vụ"
    assert "vượt tỷ lệ tối đa" in by_name["Nguyễn Thị Hồng Nhung"][6]
    assert by_name["Ngô Văn Sơn"][5] == "Không kiểm điểm"  # joined 15/10/2026
    assert by_name["Ngô Văn Sơn"][6] == "Mới kết nạp chưa đủ 6 tháng: không kiểm điểm"
    assert by_name["Mai Thị Cúc"][6] == "Chưa nộp bản kiểm điểm"
    assert main[3][:8] == tuple(TEXTS["proposal"]["headers"])

    violations = sheet_rows(data, "Vi phạm")
    assert violations[2] == tuple(TEXTS["proposal"]["violations_headers"])
    cap = next(r for r in violations[3:] if r[1] == "Tỷ lệ «Hoàn thành xuất sắc nhiệm vụ»")
    assert cap[2] == (
        "Đề xuất 6 đồng chí «Hoàn thành xuất sắc nhiệm vụ», vượt mức tối đa 0 (= 20% của 3 đồng "
        "chí «Hoàn thành tốt nhiệm vụ», làm tròn xuống); thừa 6. Cấp có thẩm quyền có thể quyết "
        "định tỉ lệ đến 25% (tối đa 0) trong trường hợp đặc biệt."
    )
    assert cap[3].split("\n") == NAMES[:6]
    assert "366-QĐ/TW" in cap[4] and "Điều 11" in cap[4]
    assert not [r for r in violations[3:] if r[1] == "Đảng viên mới vào Đảng"]

    basis = "\n".join(str(v) for row in sheet_rows(data, "Căn cứ") for v in row if v)
    assert RULES.cap.wording in basis and RULES.cap.exception_wording in basis
    assert "theo đối tượng có vị trí, vai trò, chức năng, nhiệm vụ tương đồng" in basis
    assert "Hoàn thành xuất sắc nhiệm vụ: từ 90 điểm («đạt từ 90 điểm trở lên»)" in basis
    assert "đảng viên mới kết nạp chưa đủ 6 tháng" in basis  # 366 Điều 5, verbatim
    assert "Hoàn thành 100% các nhiệm vụ được giao, đúng hạn" in basis  # the level conditions


def test_a_2024_round_keeps_the_2019_rules_reviewed_not_classified() -> None:
    """Rules by date: a round whose meeting is before 366 (30/8/2025) shows the 2019 cap wording,
    and a member admitted less than 6 months is reviewed but not classified."""
    meeting = date(2024, 12, 18)
    rules = load_rules().at(meeting)
    people = members(recent_status=SUBMITTED, joined_recently=date(2024, 10, 15))
    proposal = propose(proposal_inputs(people), rules, meeting)
    data = build_bundle(CELL, "Kiểm điểm năm 2024", 2024, people, [], proposal, TEXTS, NOW)
    workbook = zipfile.ZipFile(io.BytesIO(data)).read("de-xuat-xep-loai.xlsx")
    by_name = {row[1]: row for row in sheet_rows(workbook, "Đề xuất")[4:] if row[1] in NAMES}
    assert by_name["Ngô Văn Sơn"][5] == "Chưa xếp loại"
    violations = sheet_rows(workbook, "Vi phạm")
    recent = next(r for r in violations[3:] if r[1] == "Đảng viên mới vào Đảng")
    assert "15/10/2024" in recent[2] and recent[3] == "Ngô Văn Sơn"
    cap = next(r for r in violations[3:] if r[1] == "Tỷ lệ «Hoàn thành xuất sắc nhiệm vụ»")
    assert "21-HD/BTCTW" in cap[4] and "25%" not in cap[2]
    basis = "\n".join(str(v) for row in sheet_rows(workbook, "Căn cứ") for v in row if v)
    assert rules.cap.wording in basis and "trong từng tổ chức cơ sở đảng" in basis
    assert "Khung điểm" not in basis  # no 100-point scale before 366


def test_no_violation_is_said_plainly() -> None:
    people = [m for m in members() if m.self_level == "htt"]
    proposal = propose(proposal_inputs(people), RULES, MEETING)
    data = build_bundle(CELL, "Kiểm điểm", 2026, people, [], proposal, TEXTS, NOW)
    archive = zipfile.ZipFile(io.BytesIO(data))
    violations = sheet_rows(archive.read("de-xuat-xep-loai.xlsx"), "Vi phạm")
    assert violations[3][1] == "Không phát hiện điểm nào chưa đúng quy định."
    assert "không vượt mức tối đa" in docx_text(archive.read("tong-hop-kiem-diem.docx"))


def test_draft_names_are_made_ascii_and_unique() -> None:
    assert ascii_name("Bản kiểm điểm Đỗ Văn Ánh.docx") == "Ban-kiem-diem-Do-Van-Anh.docx"
    assert ascii_name("../../etc/passwd") == "passwd"
    assert ascii_name("..\\x\\Bản.docx") == "Ban.docx"
    proposal = propose([], RULES, MEETING)
    data = build_bundle(CELL, "K", 2026, [], [("Đỗ.docx", b"1"), ("Do.docx", b"2")], proposal,
                        TEXTS, NOW)
    names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    assert names[:2] == ["ban-kiem-diem/Do.docx", "ban-kiem-diem/Do-2.docx"]


def test_review_facts_from_real_packs() -> None:
    checklist, form = load_packs(ROOT / "checklists" / "nq04-2016.toml",
                                 ROOT / "checklists" / "form-02-2023.toml")
    when = datetime(2026, 11, 25, tzinfo=UTC)

    def answer(qid: str, value: str, *, vague: bool = False, skipped: bool = False) -> Answer:
        return Answer(qid, value, skipped, vague, when)

    answers = {
        "g1-01": answer("g1-01", "absent"),
        "g1-04": answer("g1-04", "slight"),
        "g2-05": answer("g2-05", "clear"),
        "f-vii2": answer("f-vii2", "htt"),
        "f-vii1": answer("f-vii1", "na"),
        "f-vii3": answer("f-vii3", "82"),
        "f-vi": answer("f-vi", "Sẽ cố gắng", vague=True),
        "f-iv": answer("f-iv", "", skipped=True),
    }
    steps = flow.build_steps(checklist, form, is_leader=False, answers=answers)
    facts = review_facts(steps, answers)
    assert facts.admitted_items == ("1.4", "2.5")
    assert facts.severe_items == ("2.5",)
    assert (facts.self_level, facts.self_score) == ("htt", 82)
    assert set(facts.flags) == {"vague_remedy", "skipped", "severe"}


def test_the_bundle_templates_are_built_from_source(tmp_path: Path) -> None:
    subprocess.run([sys.executable, str(BUILD_SCRIPT), "--out-dir", str(tmp_path)], check=True,
                   capture_output=True)
    for name in ("tong-hop-kiem-diem.docx", "bien-ban-hop.docx"):
        committed = (ROOT / "templates" / "docx" / name).read_bytes()
        assert (tmp_path / name).read_bytes() == committed, (
            f"templates/docx/{name} is stale: run python templates/docx/build_bundle_templates.py")


def test_every_status_and_flag_has_a_text() -> None:
    from bot.bundle import FLAGS, STATUSES

    assert set(STATUSES) == set(TEXTS["status"])
    assert set(FLAGS) == set(TEXTS["flags"])
