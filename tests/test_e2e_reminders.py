"""Reminders end to end: the bot as a subprocess against the fake Bot API, killed with SIGKILL
in the middle of a fan-out and restarted. Counting sendMessage per chat shows that no reminder
goes out twice and none is missed, except at most the one in flight at the kill."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from bot.reminders import VIETNAM
from bot.workdays import WorkCalendar
from tests.conftest import REPO
from tests.fakebotapi import ApiError, FakeBotApi, Files, JSONDict
from tests.test_e2e import Bot, tusoi

MEMBERS = 40
FIRST_CHAT = 7001


def write_config(tmp_path: Path, api: FakeBotApi, quiet: tuple[str, str]) -> Path:
    config = tmp_path / "tusoi.toml"
    config.write_text(
        f'[database]\npath = "{tmp_path / "tusoi.sqlite3"}"\n'
        f'[telegram]\ntoken = "123456:E2E-TOKEN"\nbase_url = "{api.base_url}"\n'
        f'base_file_url = "{api.base_file_url}"\npoll_timeout = 1\n'
        f'[reminders]\ncheck_seconds = 1\nin_flight = 1\nrate_per_second = 25\n'
        f'quiet_start = "{quiet[0]}"\nquiet_end = "{quiet[1]}"\n',
        encoding="utf-8",
    )
    return config


def stand_up_cell(tmp_path: Path, config: Path) -> Path:
    """A cell with MEMBERS members (one a secretary), all linked on Telegram, round open."""
    roster = tmp_path / "roster.csv"
    names = [f"Đảng viên {chr(65 + i // 26)}{chr(65 + i % 26)}" for i in range(1, MEMBERS)]
    rows = [f"{name},01/01/1980,không" for name in names]
    roster.write_text("Họ và tên,Ngày sinh,Lãnh đạo\n" + "\n".join(rows) + "\n",
                      encoding="utf-8")
    tusoi(config, "db", "init")
    tusoi(config, "cell", "add", "--name", "Phòng Nhắc việc")
    tusoi(config, "roster", "import", "--cell", "1", str(roster))
    tusoi(config, "member", "add", "--cell", "1", "--name", "Bí thư Thử", "--secretary")
    db = tmp_path / "tusoi.sqlite3"
    with sqlite3.connect(db) as conn:
        conn.executemany(
            "INSERT INTO accounts (channel, external_id, member_id, linked_at)"
            " VALUES ('telegram', ?, ?, '2026-11-01T00:00:00+00:00')",
            [(str(FIRST_CHAT + i), i + 1) for i in range(MEMBERS)])
    calendar = WorkCalendar.load(REPO / "data" / "calendar" / "vn.toml")
    meeting = calendar.next_working_day(date.today() + timedelta(days=30))
    opened = tusoi(config, "round", "open", "--cell", "1", "--meeting", meeting.strftime("%d/%m/%Y"))
    assert "Đã lên lịch" in opened, opened
    return db


def invite_order(db: Path) -> list[int]:
    """Chats in the order the sender takes the invites (wake_at, then id)."""
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT member_id FROM outbox WHERE kind = 'invite'"
                            " ORDER BY wake_at, id").fetchall()
    return [FIRST_CHAT + member_id - 1 for (member_id,) in rows]


def statuses(db: Path) -> dict[str, str]:
    with sqlite3.connect(db) as conn:
        return dict(conn.execute("SELECT id, status FROM outbox").fetchall())


def delivered(api: FakeBotApi) -> dict[int, int]:
    return {chat: len(api.sent_messages(chat)) for chat in range(FIRST_CHAT, FIRST_CHAT + MEMBERS)}


async def test_sigkill_mid_fan_out_no_duplicate_no_miss_and_faults_retried(tmp_path: Path) -> None:
    async with FakeBotApi() as api:
        config = write_config(tmp_path, api, ("00:00", "00:00"))  # no quiet hours here
        db = stand_up_cell(tmp_path, config)
        order = invite_order(db)
        assert len(order) == MEMBERS
        slow = order[MEMBERS // 2]  # the kill lands while this chat's message is in flight
        in_flight, release = asyncio.Event(), asyncio.Event()
        calls = {"n": 0}
        retried: list[int] = []  # the chat whose send got the 500: tried again later

        async def send_message(params: JSONDict, files: Files) -> Any:
            calls["n"] += 1
            if calls["n"] == 5:  # a 429 and a 5xx in the middle of the fan-out
                raise ApiError(429, "Too Many Requests: retry after 1", {"retry_after": 1})
            if calls["n"] == 9:
                retried.append(params["chat_id"])
                raise ApiError(500, "Internal Server Error")
            if params.get("chat_id") == slow and not release.is_set():
                in_flight.set()
                await release.wait()  # Telegram delivers it after the bot is gone
            return api._send_message(params, files)

        api.on("sendMessage", send_message)
        bot = Bot(config, tmp_path / "bot.log")
        bot.start()
        try:
            await asyncio.wait_for(in_flight.wait(), timeout=60)
            before_kill = delivered(api)
            bot.kill()
            release.set()
            await asyncio.sleep(0.2)
            assert statuses(db)[f"r1:m{slow - FIRST_CHAT + 1}:invite:{opened_day(db)}"] == "sending"

            bot.start()
            everyone = await api.wait_for(
                lambda: d if all((d := delivered(api)).values()) else None, timeout=60)
            await asyncio.sleep(3)  # three more wake-ups: anything doubled would show now
        finally:
            bot.stop()

        after = delivered(api)
        assert after == everyone and set(after.values()) == {1}, after  # none twice, none missed
        # Before the kill: the chats ahead of the slow one, once each (the one that got the
        # 500 waits a second for its retry, so it may come before or after the restart).
        ahead = set(order[: order.index(slow)])
        assert ahead - set(retried) <= {c for c, n in before_kill.items() if n} <= ahead
        # The in-flight reminder was delivered by Telegram once and not sent again.
        assert after[slow] == 1
        row = f"r1:m{slow - FIRST_CHAT + 1}:invite:{opened_day(db)}"
        assert statuses(db)[row] == "sent"
        with sqlite3.connect(db) as conn:
            note = conn.execute("SELECT note FROM outbox WHERE id = ?", (row,)).fetchone()[0]
        assert "in flight" in note
        failed = [c.status for c in api.calls("sendMessage") if c.status != 200]
        assert failed == [429, 500]
        log = (tmp_path / "bot.log").read_text(encoding="utf-8", errors="replace")
        assert "1 message(s) were in flight" in log


def opened_day(db: Path) -> str:
    with sqlite3.connect(db) as conn:
        created = conn.execute("SELECT created_at FROM rounds WHERE id = 1").fetchone()[0]
    return datetime.fromisoformat(created).astimezone(VIETNAM).date().isoformat()


async def test_quiet_hours_are_respected_by_the_running_bot(tmp_path: Path) -> None:
    local = datetime.now(UTC).astimezone(VIETNAM)
    quiet = ((local - timedelta(hours=1)).strftime("%H:%M"),
             (local + timedelta(hours=1)).strftime("%H:%M"))
    async with FakeBotApi() as api:
        config = write_config(tmp_path, api, quiet)
        db = stand_up_cell(tmp_path, config)
        bot = Bot(config, tmp_path / "bot.log")
        bot.start()
        try:
            await api.wait_for_call("setMyCommands", timeout=30)
            await asyncio.sleep(3)  # three wake-ups of the sender
        finally:
            bot.stop()
        assert not api.calls("sendMessage")
        assert set(statuses(db).values()) == {"planned"}
