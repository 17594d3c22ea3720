"""The committee's view in the chat (issue 11): /dangbo's counts, late cells, the cap across
the committee per group, the chart and the workbook's contents, one tap to remind late cells'
secretaries, and the refusals."""

from __future__ import annotations

import io
import warnings
import zipfile

import pytest
from openpyxl import load_workbook

from bot.committee import CommitteeSummary
from bot.report import chart_figure, load_texts
from bot.screens import DeskAction, Press, desk_press
from handlers.wiring import Core
from tests.committeehelpers import Fixture, build
from tests.conftest import Chat, seed

pytestmark = pytest.mark.filterwarnings("error")


async def officer_chat(core: Core, fx: Fixture, member_id: int, name: str,
                       channel: str = "test") -> Chat:
    chat = Chat(core, name, channel=channel)
    await chat.say(f"liên kết {fx.codes[member_id]}")
    assert chat.templates()[0] == "link/ok"
    return chat


async def test_dangbo_counts_each_cell_flags_the_late_one_and_sends_chart_and_workbook(
    core: Core,
) -> None:
    fx = await build(core)
    officer = await officer_chat(core, fx, fx.officer_id, "dangbo")
    await officer.say("/dangbo")
    assert officer.templates() == ["committee/chart", "committee/workbook", "committee/overview"]
    overview = officer.screen("committee/overview").context
    cells = {c["name"]: c for c in overview["cells"]}
    assert list(cells) == ["Phòng Kế hoạch", "Phòng Tổ chức", "Trường Tiểu học Sao Mai"]
    a = cells["Phòng Tổ chức"]
    assert a["counts"] == {"invited": 10, "linked": 9, "started": 8, "submitted": 7,
                           "returned": 0, "accepted": 1, "not_reviewed": 1}
    assert (a["late"], a["days_late"], a["not_done"], a["total"]) == (True, 3, 3, 11)
    b = cells["Phòng Kế hoạch"]
    assert b["counts"]["submitted"] == 15 and b["counts"]["returned"] == 1
    assert not b["late"]
    assert cells["Trường Tiểu học Sao Mai"]["round"] is None
    assert overview["late"] == 1
    # The other committee's cell is nowhere.
    assert "Tổ dân phố 5" not in core.renderer.plain(officer.screen("committee/overview"))
    chart = officer.screen("committee/chart").document
    assert chart is not None and chart.picture and chart.content.startswith(b"\x89PNG")
    xlsx = officer.screen("committee/workbook").document
    assert xlsx is not None and xlsx.filename.endswith(".xlsx")
    log = await core.store.access_log_rows(actor_id=fx.officer_id)
    assert [(r["action"], r["detail"]) for r in log][-1] == (
        "committee_view", f"committee:{fx.committee_id}")


async def test_the_cap_is_counted_across_the_committee_per_group_with_the_25_percent_exception(
    core: Core,
) -> None:
    fx = await build(core)
    officer = await officer_chat(core, fx, fx.officer_id, "dangbo")
    await officer.say("/dangbo")
    cap = officer.screen("committee/overview").context["cap"]
    groups = {g["group"]: g for g in cap["groups"]}
    assert groups["leader"] == {"group": "leader", "excellent": 2, "good": 5, "allowed": 1,
                                "exception_allowed": 1, "over": True, "over_exception": True}
    assert groups["no_post"] == {"group": "no_post", "excellent": 1, "good": 8, "allowed": 1,
                                 "exception_allowed": 2, "over": False, "over_exception": False}
    assert groups["outside"] == {"group": "outside", "excellent": 1, "good": 4, "allowed": 0,
                                 "exception_allowed": 1, "over": True, "over_exception": False}
    assert (cap["share"], cap["exception"], cap["by_group"]) == (20.0, 25.0, True)
    rules = core.service.rules.at(fx_meeting())  # type: ignore[union-attr]
    assert cap["wording"] == rules.cap.wording and "tương đồng" in cap["wording"]
    text = core.renderer.plain(officer.screen("committee/overview"))
    assert "tối đa 1 (20%), 1 nếu cấp có thẩm quyền áp dụng 25% — ⚠️ vượt cả 25%" in text
    assert "tối đa 0 (20%), 1 nếu cấp có thẩm quyền áp dụng 25% — ⚠️ vượt 20%" in text
    assert "Quy định 366-QĐ/TW ngày 30/8/2025, Điều 11 khoản 1: «Số lượng tập thể" in text


def fx_meeting():  # the latest meeting among the committee's rounds
    from tests.committeehelpers import MEETING

    return MEETING


async def test_the_workbook_has_the_counts_levels_and_scores_and_no_answer_text(
    core: Core,
) -> None:
    fx = await build(core)
    summary = await core.service.committee.summary(fx.committee_id)
    _, xlsx = await core.service.committee.files(summary)
    book = load_workbook(io.BytesIO(xlsx))
    texts = load_texts()["xlsx"]
    assert book.sheetnames == [texts["cells_sheet"], texts["members_sheet"], texts["cap_sheet"]]
    cells = book[texts["cells_sheet"]]
    rows = {r[1]: r for r in cells.iter_rows(min_row=4, values_only=True) if r[1]}
    a = rows["Phòng Tổ chức"]
    assert a[4:14] == (11, 10, 9, 8, 7, 0, 1, 1, 3, 3)
    assert rows["Cộng"][4] == 11 + 15 + 1
    members = book[texts["members_sheet"]]
    by_name = {r[2]: r for r in members.iter_rows(min_row=2, values_only=True)}
    assert by_name["Đảng Viên A1"][3:] == ("Giữ chức vụ lãnh đạo, quản lý", "Đã chấp nhận",
                                           "Hoàn thành xuất sắc nhiệm vụ", 95)
    assert by_name["Hoàng Văn Miễn"][4] == ("Không kiểm điểm (miễn công tác và sinh hoạt "
                                            "đảng)")
    assert by_name["Trần Văn Chưa Nộp"][5:] == (None, None)  # empty cells
    assert "Vũ Thị Dân Phố" not in by_name  # the other committee
    cap = book[texts["cap_sheet"]]
    values = [r for r in cap.iter_rows(values_only=True)]
    assert values[1][:7] == ("Giữ chức vụ lãnh đạo, quản lý", 2, 5, 1, 1, "Có", "Có")
    assert values[3][:7] == ("Không làm việc trong hệ thống chính trị", 1, 4, 0, 1, "Có", "Không")
    assert any(r[0] and "theo đối tượng có vị trí, vai trò" in r[0] for r in values)
    # No answer text anywhere: the one stored answer value is an option id, absent here.
    with zipfile.ZipFile(io.BytesIO(xlsx)) as archive:
        blob = b"".join(archive.read(n) for n in archive.namelist())
    assert b"absent" not in blob


async def test_the_chart_draws_every_cell_in_vietnamese_with_no_missing_glyph(
    core: Core,
) -> None:
    fx = await build(core)
    summary: CommitteeSummary = await core.service.committee.summary(fx.committee_id)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "Glyph … missing from font(s)" would raise here
        png, _ = await core.service.committee.files(summary)
    figure = chart_figure(summary, load_texts(), core.clock.now())
    axes = figure.axes[0]
    labels = [t.get_text() for t in axes.get_yticklabels()]
    assert labels == ["Phòng Kế hoạch", "Phòng Tổ chức (trễ hạn 3 ngày)",
                      "Trường Tiểu học Sao Mai (chưa mở kỳ)"]
    assert axes.get_yticklabels()[1].get_color() == "#b2182b"
    # One bar per cell and segment; a cell's bars add up to its members.
    widths = [p.get_width() for p in axes.patches]
    per_cell = [sum(widths[i::3]) for i in range(3)]
    assert per_cell == [15, 11, 1]
    legend = [t.get_text() for t in figure.legends[0].get_texts()]
    assert legend[0] == "Đã chấp nhận" and "Không kiểm điểm" in legend
    from PIL import Image  # matplotlib depends on Pillow

    image = Image.open(io.BytesIO(png))
    assert image.size[0] == 1080 and image.size[1] > 400


async def test_one_tap_reminds_the_secretaries_of_late_cells_through_the_outbox(
    core: Core,
) -> None:
    fx = await build(core)
    secretary = await officer_chat(core, fx, fx.secretary_id, "sec-a")
    officer = await officer_chat(core, fx, fx.officer_id, "dangbo")
    await officer.say("/dangbo")
    await officer.press(officer.button("remind_late"))
    assert officer.screen("committee/reminded").context == {"reminded": ["Phòng Tổ chức"],
                                                            "nobody": []}
    notice = secretary.notices[-1]
    assert notice.template == "committee/late_cell"
    assert notice.context["not_done"] == 3 and notice.context["days_late"] == 3
    text = core.renderer.plain(notice)
    assert "Phường Hòa Bình" in text and "còn 3 đồng chí" in text


async def test_a_cell_is_opened_by_number_by_typed_id_and_by_button(core: Core) -> None:
    fx = await build(core)
    officer = await officer_chat(core, fx, fx.officer_id, "dangbo", channel="zalo")
    await officer.say("/dangbo")
    await officer.say("2")
    cell = officer.screen("committee/cell").context
    assert cell["name"] == "Phòng Tổ chức"
    statuses = {m["name"]: (m["status"], m["level"], m["score"]) for m in cell["members"]}
    assert statuses["Đảng Viên A1"] == ("accepted", "htxs", 95)
    assert statuses["Phạm Văn Đang Làm"] == ("started", None, None)
    await officer.say("đảng bộ")
    assert officer.templates()[-1] == "committee/overview"
    await officer.say(f"/dangbo {fx.cells['B']}")
    assert officer.screen("committee/cell").context["name"] == "Phòng Kế hoạch"


async def test_another_committees_cell_by_typed_id_or_forged_button_is_refused(
    core: Core,
) -> None:
    fx = await build(core)
    officer = await officer_chat(core, fx, fx.officer_id, "dangbo")
    for attempt in (lambda: officer.say(f"/dangbo {fx.cells['D']}"),
                    lambda: officer.say("/dangbo 99999"),
                    lambda: officer.press(button(DeskAction.COMMITTEE_CELL, fx.cells["D"])),
                    lambda: officer.press(button(DeskAction.COMMITTEE, fx.other_committee_id)),
                    lambda: officer.press(button(DeskAction.COMMITTEE_REMIND,
                                                 fx.other_committee_id))):
        await attempt()
        assert officer.templates() == ["committee/no_such_cell"]
    assert "Tổ dân phố" not in core.renderer.plain(officer.screen())


async def test_a_member_or_a_secretary_trying_dangbo_is_told_what_they_may_use(
    core: Core,
) -> None:
    fx = await build(core)
    secretary = await officer_chat(core, fx, fx.secretary_id, "sec-a")
    await secretary.say("/dangbo")
    assert secretary.templates() == ["committee/not_officer"]
    assert "/chibo" in core.renderer.plain(secretary.screen())
    member = await officer_chat(core, fx, fx.member_id, "plain")
    await member.say("/dangbo")
    assert member.templates() == ["committee/not_officer"]
    assert "/tieptuc" in core.renderer.plain(member.screen())
    await member.press(button(DeskAction.COMMITTEE_CELL, fx.cells["A"]))
    assert member.templates() == ["committee/no_such_cell"]


def button(desk: DeskAction, target: int):  # a press any channel could forge
    from bot.screens import Button

    return Button("forged", desk_press(desk, target))


del Press


async def test_a_draft_recorded_without_a_level_is_not_read_again_at_every_start(
    core: Core,
) -> None:
    """Levels and scores of drafts submitted before they were recorded are filled in at
    start, once. A draft that proposes neither used to look "never recorded" for ever, and
    every start read its answers again (found by bench/bench_startup.py)."""
    s = await seed(core)
    store, now = core.store, core.clock.now()
    async with store.transaction():  # submitted the old way: nothing recorded with it
        review = await store.create_review(s.round_id, s.member_id, now)
        await store.add_submission(review.id, "ban-kiem-diem.docx", b"PK-1", now)
    assert await core.service.record_results() == 1  # no answers: no level, no score
    assert (await store.committee_lines(None, s.cell_id))[0].self_level is None
    assert await core.service.record_results() == 0  # the next start reads nothing again
