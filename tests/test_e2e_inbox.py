"""The inbox end to end: the bot as a subprocess against the fake Bot API, killed with SIGKILL
at each point where an update could be lost or handled twice, and restarted.

1. After ``getUpdates`` returned updates, before they were stored (the test holds SQLite's
   write lock, so the bot cannot store them): Telegram never heard they arrived, sends them
   again, and each is handled once.
2. After they were stored and confirmed to Telegram, before they were handled (the fake holds
   ``answerCallbackQuery``, the first thing a press does): Telegram will not send them again;
   the inbox hands them over at the restart.
3. After the answer was committed, before the reply went out (the fake holds ``sendMessage``
   and never answers): the row is still pending, the update is handled again, changes
   nothing, and the member is told what was recorded and what comes next.
And problem 5: a kill while the invite list of a roster import is being sent loses no code.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import sqlite3
from pathlib import Path
from typing import Any

from bot.config import load_settings
from bot.invites import hash_code
from handlers.wiring import build_core
from tests.conftest import Seed, seed
from tests.fakebotapi import FakeBotApi, JSONDict
from tests.test_e2e import Bot, Member

A, B, SECRETARY = 1001, 1002, 1003  # the seeded member, leader and secretary


def write_config(tmp_path: Path, api: FakeBotApi) -> Path:
    config = tmp_path / "tusoi.toml"
    config.write_text(
        f'[database]\npath = "{tmp_path / "tusoi.sqlite3"}"\n'
        f'[telegram]\ntoken = "123456:E2E-TOKEN"\nbase_url = "{api.base_url}"\n'
        f'base_file_url = "{api.base_file_url}"\nbot_username = "tusoi_test_bot"\n'
        'poll_timeout = 1\n[reminders]\nenabled = false\n[logging]\nlevel = "DEBUG"\n',
        encoding="utf-8",
    )
    return config


async def seeded(config: Path) -> Seed:
    core = build_core(load_settings(config))
    await core.open()
    try:
        return await seed(core)
    finally:
        await core.close()


def query(db: Path, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql, params).fetchall()


def inbox(db: Path, updates: list[JSONDict]) -> list[tuple[str, str]]:
    keys = ",".join(str(u["update_id"]) for u in updates)
    return query(db, f"SELECT update_key, state FROM inbox WHERE update_key IN ({keys})"
                     " ORDER BY id")


def fetched(api: FakeBotApi, updates: list[JSONDict], since: int = 0) -> bool:
    """Whether the bot got all of ``updates`` in one of its getUpdates calls since ``since``."""
    wanted = {u["update_id"] for u in updates}
    return any(wanted <= {u["update_id"] for u in call.response.get("result", [])}
               for call in api.calls("getUpdates")[since:])


def new_texts(member: Member, before: int) -> list[str]:
    return [str(m.get("text") or "") for m in member.messages()[before:]]


async def test_problem_1_no_update_lost_or_doubled_by_a_kill_at_any_point(tmp_path: Path) -> None:
    async with FakeBotApi() as api:
        config = write_config(tmp_path, api)
        db = tmp_path / "tusoi.sqlite3"
        seed_ = await seeded(config)
        bot = Bot(config, tmp_path / "bot.log")
        bot.start()
        try:
            await api.wait_for_call("setMyCommands", timeout=30)
            a, b = Member(api, A), Member(api, B)
            await a.send(f"/start {seed_.codes[seed_.member_id]}", settle="Tự soi 1/27")
            await b.send(f"/start {seed_.codes[seed_.leader_id]}", settle="Tự soi 1/27")
            await a.press("Có biểu hiện rõ", settle="Hỏi thêm")  # A is at a text question

            # 1. Killed after getUpdates returned three updates, before they were stored.
            await api.wait_for(lambda: api.polls_waiting)
            lock = sqlite3.connect(db, isolation_level=None)
            lock.execute("BEGIN IMMEDIATE")  # the bot's next write waits for this
            before_a, before_b = len(a.messages()), len(b.messages())
            message, data = b.button("Không có biểu hiện")
            sent = [api.user_text(A, "Phần một,"), api.user_text(A, "phần hai."),
                    api.user_press(B, message["message_id"], data)]
            await api.wait_for(lambda: fetched(api, sent), timeout=20)
            with contextlib.suppress(AssertionError):  # time to confirm them, if it would
                await api.wait_for(lambda: api.polls_waiting, timeout=1)
            pending = {u["update_id"] for u in api.pending_updates}
            assert {u["update_id"] for u in sent} <= pending  # not confirmed to Telegram
            bot.kill()
            lock.execute("ROLLBACK")
            lock.close()
            assert inbox(db, sent) == []  # nothing was stored, so nothing was confirmed
            api.expire_callback()  # Telegram forgets callback queries across restarts

            bot.start()
            await b.replies(before_b, settle="Biểu hiện 1.2")
            await api.wait_for(lambda: sum("Đã ghi (" in t for t in new_texts(a, before_a)) == 2,
                               timeout=20)
            assert query(db, "SELECT pending_text FROM reviews WHERE member_id = 1") == [
                ("Phần một,\nphần hai.",)]  # each piece once, in the order sent
            assert query(db, "SELECT qid, value FROM answer_history h JOIN reviews r"
                             " ON r.id = h.review_id WHERE r.member_id = 2") == [("g1-01", "absent")]
            assert sum("Biểu hiện 1.2" in t for t in new_texts(b, before_b)) == 1
            await api.wait_for(lambda: inbox(db, sent) == [
                (str(u["update_id"]), "done") for u in sent], timeout=20)

            # 2. Killed after the press was stored and confirmed, before it was handled.
            hold = api.hold("answerCallbackQuery")
            before_b = len(b.messages())
            message, data = b.button("Không có biểu hiện")
            press = api.user_press(B, message["message_id"], data)
            await asyncio.wait_for(hold.reached.wait(), 20)
            await api.wait_for(lambda: not api.pending_updates and api.polls_waiting)
            assert inbox(db, [press]) == [(str(press["update_id"]), "pending")]
            polls = len(api.calls("getUpdates"))
            bot.kill()
            hold.release()

            bot.start()
            await b.replies(before_b, settle="Biểu hiện 1.3")
            assert not fetched(api, [press], since=polls)  # Telegram never sent it again
            assert query(db, "SELECT COUNT(*) FROM answer_history WHERE qid = 'g1-02'") == [(1,)]

            # 3. Killed after the answer was committed, before the reply reached the member.
            hold = api.hold("sendMessage", lambda params: params.get("chat_id") == B)
            before_b = len(b.messages())
            message, data = b.button("Không có biểu hiện")
            press = api.user_press(B, message["message_id"], data)
            await asyncio.wait_for(hold.reached.wait(), 20)  # never released: lost in the crash
            assert query(db, "SELECT COUNT(*) FROM answer_history WHERE qid = 'g1-03'") == [(1,)]
            bot.kill()

            bot.start()
            shown = "\n".join(m["text"] for m in await b.replies(before_b, settle="Biểu hiện 1.4"))
            assert "Đã ghi câu 1.3: Không có biểu hiện" in shown and "Câu tiếp theo" in shown
            assert query(db, "SELECT COUNT(*) FROM answer_history WHERE qid = 'g1-03'") == [(1,)]
            await api.wait_for(lambda: inbox(db, [press]) == [(str(press["update_id"]), "done")],
                               timeout=20)
        finally:
            bot.stop()

        assert query(db, "SELECT COUNT(*) FROM inbox WHERE state != 'done'") == [(0,)]
        log = (tmp_path / "bot.log").read_text(encoding="utf-8", errors="replace")
        assert "E2E-TOKEN" not in log and "Phần một" not in log


def roster(size: int) -> tuple[str, list[str]]:
    letters = "ABCDEGHIKLMNOPQRSTUVXY"
    names = [f"Nguyễn Văn {letters[n // len(letters)]}{letters[n % len(letters)]}"
             for n in range(size)]
    rows = "".join(f"{name},01/02/1970,\n" for name in names)
    return "Họ và tên,Ngày sinh,Lãnh đạo\n" + rows, names


async def test_problem_5_a_kill_while_the_invite_list_is_sent_loses_no_code(
    tmp_path: Path,
) -> None:
    """Before: only the codes' hashes were stored; a kill cut the list short for good."""
    async with FakeBotApi() as api:
        config = write_config(tmp_path, api)
        db = tmp_path / "tusoi.sqlite3"
        seed_ = await seeded(config)
        content, names = roster(150)
        bot = Bot(config, tmp_path / "bot.log")
        bot.start()
        try:
            await api.wait_for_call("setMyCommands", timeout=30)
            sec = Member(api, SECRETARY)
            await sec.send(f"/start {seed_.codes[seed_.secretary_id]}", settle="Tự soi 1/27")
            before = len(sec.messages())
            api.user_document(SECRETARY, "ds.csv", content.encode(), "text/csv")
            await sec.replies(before, "Xem trước danh sách")

            pieces = iter(range(100))  # the list's second message never arrives
            hold = api.hold("sendMessage", lambda params: params.get("chat_id") == SECRETARY
                            and "start=" in str(params.get("text")) and next(pieces) == 1)
            before = len(sec.messages())
            message, data = sec.button("Nhập danh sách")
            api.user_press(SECRETARY, message["message_id"], data)
            await asyncio.wait_for(hold.reached.wait(), 30)
            cut = re.findall(r"start=([A-Z0-9]{8})", "\n".join(new_texts(sec, before)))
            assert 0 < len(cut) < len(names)
            bot.kill()

            bot.start()
            await api.wait_for(lambda: not query(db, "SELECT 1 FROM invite_handover"), timeout=30)
        finally:
            bot.stop()

        after = "\n".join(new_texts(sec, before))
        handed = dict(re.findall(r"• (.+?): https://t\.me/tusoi_test_bot\?start=([A-Z0-9]{8})",
                                 after))
        assert set(handed) == set(names)  # every new member's link, after the restart
        for name, code in handed.items():
            assert query(db, "SELECT m.full_name FROM invites i JOIN members m"
                             " ON m.id = i.member_id WHERE i.code_hash = ?"
                             " AND i.revoked_at IS NULL AND i.used_at IS NULL",
                         hash_code(code)) == [(name,)]
        assert query(db, "SELECT COUNT(*) FROM members") == [(3 + len(names),)]  # imported once
