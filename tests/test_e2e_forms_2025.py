"""A member without a leadership post (form 2B) walks the whole 2025 form through the REAL
Application over real HTTP against the fake Bot API: the checklist, part A, part B with bad
scores on the way, the annex of task results filled in the chat, the yes/no facts, the level
typed in words; then the Word draft sent back is read with python-docx."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from pathlib import Path

import docx
import pytest

from tests.conftest import FixedClock
from tests.fakebotapi import JSONDict
from tests.tghelpers import TgBot, linked_member, running_bot, texts, with_buttons

MEMBER = 1001  # the seeded Trần Thị Bình: no leadership post, so form 2B


@pytest.fixture
async def bot(tmp_path: Path, clock: FixedClock) -> AsyncIterator[TgBot]:
    async with running_bot(tmp_path, clock) as running:
        yield running


async def press(bot: TgBot, replies: list[JSONDict], label: str) -> list[JSONDict]:
    return await bot.press_label(MEMBER, with_buttons(replies), label)


async def write(bot: TgBot, text: str) -> list[JSONDict]:
    ack = await bot.text(MEMBER, text)
    return await press(bot, ack, "Xong câu này")


async def test_a_2b_member_scores_part_b_fills_the_annex_and_gets_the_2025_draft(
    bot: TgBot,
) -> None:
    replies = [await linked_member(bot, MEMBER)]
    for _ in range(27):
        replies = await press(bot, replies, "Không có biểu hiện")

    # Part A: I.1–I.3, II.1, II.2, III, IV, V, VI.
    for _ in range(9):
        if "Không có nội dung này" in str(with_buttons(replies).get("reply_markup")):
            replies = await press(bot, replies, "Không có nội dung này")
        else:
            replies = await write(bot, "Hoàn thành đúng hạn các việc được giao năm 2026")
    assert "nhóm tiêu chí chung (tối đa 30 điểm)" in texts(replies)
    assert "«(1) Về chính trị, phẩm chất đạo đức và ý thức tổ chức kỷ luật»" in texts(replies)

    # Part B, group I: bad input first, each refused with what is allowed, nothing stored.
    for bad, reply in (("tám mươi", "chỉ đọc được điểm viết bằng chữ số"),
                       ("85,5", "số nguyên, không có phần lẻ"),
                       ("45", "vượt quá mức tối đa 30 điểm")):
        refused = await bot.text(MEMBER, bad)
        assert reply in texts(refused) and "từ 0 đến 30" in texts(refused)
    assert "b-g1" not in await bot.answers()
    replies = await bot.text(MEMBER, "27 điểm")
    assert "Đã ghi điểm tự chấm: 27/30" in texts(replies)
    replies = await bot.text(MEMBER, "63")
    shown = texts(replies)
    assert "Tổng điểm tự chấm: 90/100" in shown and "«đạt từ 90 điểm trở lên»" in shown

    # The annex: two tasks, the second late.
    replies = await press(bot, replies, "Lập phụ lục ngay tại đây")
    assert "nhiệm vụ thứ 1" in texts(replies)
    for task, result, on_time, exceeded, more in (
        ("Thẩm định dự toán 2027 & <9 đơn vị>", "9/9 hồ sơ được duyệt", "Có", "Có",
         "Thêm nhiệm vụ khác"),
        ("Báo cáo quý III", "Gửi trễ 3 ngày", "Không", "Không", "Hết, không còn"),
    ):
        replies = await write(bot, task)
        replies = await write(bot, result)
        for label in (on_time, exceeded, more):
            replies = await press(bot, replies, label)
    assert "Theo phụ lục đồng chí vừa lập: 2 nhiệm vụ, đúng hạn 1" in texts(replies)

    # The yes/no facts: "all on time" contradicts the annex, and the member is told.
    replies = await press(bot, replies, "Có")
    assert "phụ lục ghi 1/2 nhiệm vụ chưa đúng hạn" in texts(replies)
    replies = await press(bot, replies, "Có")  # at least 30% beyond the requirement
    replies = await press(bot, replies, "Kỳ trước không có hạn chế nào")

    # The level, typed instead of pressed.
    assert "Tổng điểm tự chấm: 90/100, thuộc khung «Hoàn thành xuất sắc nhiệm vụ»" in texts(
        replies)
    refused = await bot.text(MEMBER, "xuất sắc")
    assert "gõ đúng tên mức" in texts(refused)
    replies = await bot.text(MEMBER, "Hoàn thành xuất sắc nhiệm vụ")
    assert "Xem lại bản kiểm điểm" in texts(replies)
    assert (await bot.answers())["b-level"] == "htxs"

    replies = await press(bot, replies, "Nộp bản kiểm điểm")
    [draft] = bot.api.documents(MEMBER)
    document = docx.Document(io.BytesIO(draft.content))
    body = [p.text for p in document.paragraphs]
    assert body[:4] == ["Mẫu 2B-HD KĐ.ĐG 2025", "BẢN KIỂM ĐIỂM, TỰ ĐÁNH GIÁ, XẾP LOẠI CÁ NHÂN",
                        "Năm 2026", "(Cá nhân không giữ chức vụ lãnh đạo, quản lý)"]
    grids = [[[c.text for c in row.cells] for row in t.rows] for t in document.tables]
    assert grids[1][1:] == [["1. Nhóm tiêu chí chung", "30", "27"],
                            ["2. Nhóm tiêu chí về kết quả thực hiện nhiệm vụ", "70", "63"],
                            ["Tổng điểm", "100", "90"]]
    assert "☒ Hoàn thành xuất sắc nhiệm vụ" in body
    assert grids[2][1:] == [
        ["1", "Thẩm định dự toán 2027 & <9 đơn vị>", "9/9 hồ sơ được duyệt", "Có", "Có"],
        ["2", "Báo cáo quý III", "Gửi trễ 3 ngày", "Không", "Không"],
    ]
    assert ("Tổng số 2 nhiệm vụ; hoàn thành đúng hạn 1; vượt mức yêu cầu 1 (50%); chưa bảo đảm "
            "tiến độ 1.") in body
