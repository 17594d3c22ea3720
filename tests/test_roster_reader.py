"""Reading a roster in a child process: the same answer as reading it in place, and a clear
refusal when the file needs more memory or time than any roster can."""

from __future__ import annotations

import asyncio
import io
import time
from datetime import date

import openpyxl

from bot.roster import TOO_COMPLEX, parse_roster
from handlers.roster_reader import read_roster
from tests.test_reliability import expanding_xlsx

ROSTER = ("Họ và tên,Ngày sinh,Lãnh đạo\nNguyễn Văn An,01/01/1970,\n"
          "Trần Thị Bé,02/02/1980,có\n").encode()
TODAY = date(2026, 11, 30)


async def test_the_child_reads_what_the_parent_would() -> None:
    preview = await read_roster("ds.csv", ROSTER, 2000, TODAY)
    assert preview == parse_roster("ds.csv", ROSTER, max_rows=2000, today=TODAY)
    assert [r.full_name for r in preview.rows] == ["Nguyễn Văn An", "Trần Thị Bé"]


def workbook(rows: int = 2000) -> bytes:
    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet()
    sheet.append(["Họ và tên", "Ngày sinh", "Lãnh đạo"])
    letters = "ABCDEGHIKL"
    for n in range(rows):
        name = "".join(letters[n // 10 ** k % 10] for k in range(4))
        sheet.append([f"Nguyễn Văn {name}", "01/02/1970", ""])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


async def test_a_file_needing_more_memory_than_allowed_is_refused() -> None:
    content = workbook()
    assert len((await read_roster("ds.xlsx", content, 2000, TODAY)).rows) == 2000
    preview = await read_roster("ds.xlsx", content, 2000, TODAY, memory=40 * 1024 * 1024)
    assert preview.file_problem == TOO_COMPLEX and preview.rows == []


async def test_a_file_taking_longer_than_allowed_is_refused() -> None:
    started = time.perf_counter()
    preview = await read_roster("ds.xlsx", workbook(), 2000, TODAY, seconds=0.05)
    assert preview.file_problem == TOO_COMPLEX
    assert time.perf_counter() - started < 5


async def test_the_event_loop_runs_while_a_roster_is_read() -> None:
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    ticker = asyncio.create_task(tick())
    preview = await read_roster("ds.xlsx", workbook(), 2000, TODAY)
    ticker.cancel()
    assert len(preview.rows) == 2000
    assert ticks >= 10  # reading takes about half a second, in another process


def test_a_workbook_that_unpacks_to_90_mb_is_refused_before_it_is_parsed() -> None:
    content = expanding_xlsx()
    started = time.perf_counter()
    preview = parse_roster("ds.xlsx", content)
    assert preview.file_problem == TOO_COMPLEX
    assert time.perf_counter() - started < 5  # a minute before the cell count
