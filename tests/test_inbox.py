"""The inbox table and its use: stored once, handed over in order per chat, set aside when
it keeps a restarted bot from running."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from storage.db import Database
from storage.inbox import Arrival, InboxStore
from tests.conftest import START, FixedClock
from tests.tghelpers import linked_member, running_bot, texts, with_buttons

MEMBER = 1001


async def open_store(tmp_path: Path) -> tuple[Database, InboxStore]:
    db = Database(tmp_path / "tusoi.sqlite3")
    await db.open()
    return db, InboxStore(db)


async def test_an_update_is_stored_once_and_its_payload_dropped_when_done(tmp_path: Path) -> None:
    db, store = await open_store(tmp_path)
    try:
        first = [Arrival("10", "1001", '{"update_id": 10}'), Arrival("11", "1002", "{}")]
        async with db.transaction():
            added = await store.add("telegram", first, START)
        assert [r.update_key for r in added] == ["10", "11"]
        async with db.transaction():  # delivered again after a crash, plus one new update
            again = await store.add("telegram", [first[0], Arrival("12", "1001", "{}")], START)
        assert [r.update_key for r in again] == ["12"]
        assert [r.update_key for r in await store.pending("telegram")] == ["10", "11", "12"]
        async with db.transaction():
            await store.mark_done([added[0].id], START)
        assert [r.update_key for r in await store.pending("telegram")] == ["11", "12"]
        rows = await db.fetch_all("SELECT state, payload FROM inbox WHERE id = ?", (added[0].id,))
        assert [tuple(r) for r in rows] == [("done", None)]
        async with db.transaction():
            await store.forget_before(START + timedelta(seconds=1))
        assert len(await db.fetch_all("SELECT id FROM inbox")) == 2
    finally:
        await db.close()


async def test_one_chats_messages_are_handled_in_the_order_sent(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as bot:
        first = await linked_member(bot, MEMBER)
        question = with_buttons(await bot.press_label(MEMBER, first, "Có biểu hiện rõ"))
        assert "Cụ thể là biểu hiện gì" in question["text"]
        sent = [bot.api.user_text(MEMBER, f"Phần {n}") for n in range(1, 9)]  # all at once
        await bot.settle(sent[-1], MEMBER)
        assert await bot.pending() == ("g1-01.what", "\n".join(f"Phần {n}" for n in range(1, 9)))


async def test_an_update_that_kept_the_bot_from_running_is_set_aside(tmp_path: Path) -> None:
    db, store = await open_store(tmp_path)
    update = {"update_id": 500, "message": {
        "message_id": 1, "date": 0, "text": "/huongdan",
        "chat": {"id": MEMBER, "type": "private", "first_name": "Bình"},
        "from": {"id": MEMBER, "is_bot": False, "first_name": "Bình"},
        "entities": [{"type": "bot_command", "offset": 0, "length": 9}]}}
    async with db.transaction():
        await store.add("telegram", [Arrival("500", str(MEMBER), json.dumps(update))], START)
        await db.execute("UPDATE inbox SET attempts = 3")  # pending at three starts
    await db.close()
    async with running_bot(tmp_path, FixedClock()) as bot:  # the fourth start
        replies = await bot.text(MEMBER, "/huongdan")  # the bot runs, and in order
        assert "Tôi hỏi từng câu một" in texts(replies)
        assert bot.runs[500] == 0
        rows = await bot.core.db.fetch_all(
            "SELECT state, payload FROM inbox WHERE update_key = '500'")
        assert [tuple(r) for r in rows] == [("failed", None)]


async def test_an_update_left_pending_by_the_last_run_is_handled_at_start(tmp_path: Path) -> None:
    db, store = await open_store(tmp_path)
    update = {"update_id": 600, "message": {
        "message_id": 1, "date": 0, "text": "Xin chào",
        "chat": {"id": 1999, "type": "private", "first_name": "Lạ"},
        "from": {"id": 1999, "is_bot": False, "first_name": "Lạ"}}}
    async with db.transaction():
        await store.add("telegram", [Arrival("600", "1999", json.dumps(update))], START)
    await db.close()
    async with running_bot(tmp_path) as bot:
        await bot.api.wait_for(lambda: bot.runs[600] == 1)
        assert "chưa được liên kết" in texts(bot.api.sent_messages(1999))
        inbox = bot.app.bot_data["inbox"]
        await inbox.idle()
        await inbox.flush()
        rows = await bot.core.db.fetch_all(
            "SELECT state, attempts FROM inbox WHERE update_key = '600'")
        assert [tuple(r) for r in rows] == [("done", 1)]
