"""/dangbo over Telegram (issue 11, item 2): the real PTB Application against the fake Bot
API. The progress message is edited once the work is over, the chart arrives as a photo and
the workbook as a document, and the overview follows."""

from __future__ import annotations

import io
from pathlib import Path

from openpyxl import load_workbook

from tests.tghelpers import link, running_bot, texts

OFFICER = 303


async def test_dangbo_on_telegram_shows_progress_then_the_chart_photo_and_the_workbook(
    tmp_path: Path,
) -> None:
    async with running_bot(tmp_path) as bot:
        core, seed = bot.core, bot.seed
        async with core.store.transaction():
            await core.operations.move_cell(seed.cell_id, "Đảng bộ Phường Hòa Bình")
            await core.operations.grant_officer("Phường Hòa Bình", seed.secretary_id, None)
        await link(bot, OFFICER, seed.codes[seed.secretary_id])
        replies = await bot.text(OFFICER, "/dangbo")
        shown = texts(replies)
        assert "Đã tổng hợp xong" in shown  # the progress message, edited
        assert "Đang tổng hợp số liệu" not in shown
        assert "Phòng Thử nghiệm" in shown
        photos = [d for d in bot.api.documents(OFFICER) if d.photo]
        assert len(photos) == 1 and photos[0].content.startswith(b"\x89PNG")
        [book] = [d for d in bot.api.documents(OFFICER) if d.filename.endswith(".xlsx")]
        sheet = load_workbook(io.BytesIO(book.content)).worksheets[0]
        assert any(r[1] == "Phòng Thử nghiệm" for r in sheet.iter_rows(values_only=True))
        # A member trying /dangbo is told, politely, what they may use.
        await link(bot, 301, seed.codes[seed.member_id])
        refusal = texts(await bot.text(301, "/dangbo"))
        assert "dành cho cán bộ của đảng ủy" in refusal and "/tieptuc" in refusal
        assert "Đã tổng hợp" not in refusal and "Phòng Thử nghiệm" not in refusal
        assert not [d for d in bot.api.documents(301) if d.photo]
