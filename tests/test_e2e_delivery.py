"""The outbox end to end: the bot as a subprocess against the fake Bot API, killed with
SIGKILL while a notice for someone else is still in the outbox or on the wire.

Before issue 9 the officers' copy of a submission went out after the member's reply, from the
same handler: a kill, or a reply that kept failing, meant the secretary never got it. Now it
is an outbox row committed with the submission and sent by its own sender."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from bot.workdays import WorkCalendar
from handlers.wiring import build_core
from bot.config import load_settings
from tests.conftest import REPO, Chat
from tests.fakebotapi import FakeBotApi
from tests.test_e2e import Bot, tusoi
from tests.test_review import answer_form

MEMBER, SECRETARY = 3101, 3202


def write_config(tmp_path: Path, api: FakeBotApi) -> Path:
    config = tmp_path / "tusoi.toml"
    config.write_text(
        f'[database]\npath = "{tmp_path / "tusoi.sqlite3"}"\n'
        f'[telegram]\ntoken = "123456:E2E-TOKEN"\nbase_url = "{api.base_url}"\n'
        f'base_file_url = "{api.base_file_url}"\npoll_timeout = 1\n'
        "reply_retry_ms = [50, 50, 50]\n"
        # Planning off: only the notices under test go out. A retry waits 3 s (check_seconds).
        "[reminders]\nenabled = false\ncheck_seconds = 3\n",
        encoding="utf-8",
    )
    return config


async def ready_to_submit(tmp_path: Path, config: Path) -> None:
    """A cell, a member and a secretary linked on Telegram, the member's form complete (walked
    through the core directly, to keep the test short), the round open."""
    tusoi(config, "cell", "add", "--name", "Phòng Gửi tin")
    tusoi(config, "member", "add", "--cell", "1", "--name", "Nguyễn Thị Hoa",
          "--birth-date", "01/02/1975")
    tusoi(config, "member", "add", "--cell", "1", "--name", "Đỗ Văn Sơn", "--secretary")
    calendar = WorkCalendar.load(REPO / "data" / "calendar" / "vn.toml")
    meeting = calendar.next_working_day(date.today() + timedelta(days=30))
    tusoi(config, "round", "open", "--cell", "1", "--meeting", meeting.strftime("%d/%m/%Y"))
    core = build_core(load_settings(config))
    await core.open()
    try:
        async with core.store.transaction():
            now = core.clock.now()
            await core.store.link_account("telegram", str(MEMBER), 1, now)
            await core.store.link_account("telegram", str(SECRETARY), 2, now)
        member = Chat(core, str(MEMBER), channel="telegram")
        await member.say("/tieptuc")
        await answer_form(member)
        assert member.screen("review/summary").context["missing"] == 0
    finally:
        await core.close()


def outbox(db: Path) -> list[tuple[str, str, int, str | None]]:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT template, status, attempts, note FROM outbox"
                            " WHERE kind = 'notice' ORDER BY due_at").fetchall()


def stored_draft(db: Path) -> list[bytes]:
    with sqlite3.connect(db) as conn:
        return [bytes(r[0]) for r in conn.execute("SELECT docx FROM submissions")]


async def test_a_submission_not_sent_at_a_kill_reaches_the_secretary_despite_a_5xx_on_the_members_copy(
    tmp_path: Path,
) -> None:
    async with FakeBotApi() as api:
        config = write_config(tmp_path, api)
        db = tmp_path / "tusoi.sqlite3"
        await ready_to_submit(tmp_path, config)
        # Every try of the member's copy fails (a 5xx each time); the secretary's first try
        # fails too, so at the kill its row is stored, and not sent.
        api.fail_next("sendDocument", 500, times=4, chat_id=MEMBER)
        api.fail_next("sendDocument", 500, times=1, chat_id=SECRETARY)
        bot = Bot(config, tmp_path / "bot.log")
        bot.start()
        try:
            await api.wait_for_call("setMyCommands", timeout=30)
            api.user_text(MEMBER, "/nop")

            def failures(chat: int) -> int:
                return sum(1 for c in api.calls("sendDocument")
                           if c.params.get("chat_id") == chat and c.status != 200)

            await api.wait_for(lambda: failures(MEMBER) == 4 and failures(SECRETARY) == 1,
                               timeout=30)
            bot.kill()
            [(template, status, attempts, note)] = outbox(db)
            assert (template, status, attempts) == ("secretary/draft_received", "planned", 1)
            assert note is not None and note.startswith("retry")
            assert not api.documents(SECRETARY) and not api.documents(MEMBER)

            bot.start()
            [received] = await api.wait_for(lambda: api.documents(SECRETARY) or None,
                                            timeout=30)
            assert [received.content] == stored_draft(db)  # the stored version 1, once
            # The member's draft: again at the restart if «/nop» was handled again, or with
            # their next message (the reply was lost: the same version, not a new one).
            api.user_text(MEMBER, "/nop")
            [mine, *_] = await api.wait_for(lambda: api.documents(MEMBER) or None, timeout=30)
            assert "bản số 1" in str(mine.caption) and mine.content == received.content
            await asyncio.sleep(1)
        finally:
            bot.stop()
        assert len(api.documents(SECRETARY)) == 1
        assert [(t, s) for t, s, _, _ in outbox(db)] == [("secretary/draft_received", "sent")]
        assert len(stored_draft(db)) == 1


async def test_a_notice_in_flight_at_a_kill_reaches_the_member_exactly_once(
    tmp_path: Path,
) -> None:
    async with FakeBotApi() as api:
        config = write_config(tmp_path, api)
        db = tmp_path / "tusoi.sqlite3"
        await ready_to_submit(tmp_path, config)
        bot = Bot(config, tmp_path / "bot.log")
        bot.start()
        try:
            await api.wait_for_call("setMyCommands", timeout=30)
            api.user_text(MEMBER, "/nop")
            await api.wait_for(lambda: api.documents(SECRETARY) or None, timeout=30)
            # The secretary returns the draft with a comment, typed.
            api.user_text(SECRETARY, "/chibo")
            await api.wait_for(lambda: "Theo dõi kiểm điểm" in str(
                api.sent_messages(SECRETARY)[-1:]) or None, timeout=30)
            api.user_text(SECRETARY, "1")  # the first member: Nguyễn Thị Hoa
            await api.wait_for(lambda: "Tình trạng" in str(
                api.sent_messages(SECRETARY)[-1:]) or None, timeout=30)
            held = api.hold("sendMessage", lambda params: params.get("chat_id") == MEMBER)
            api.user_text(SECRETARY, "trả lại")
            await api.wait_for(lambda: "góp ý" in str(api.sent_messages(SECRETARY)[-1:])
                               or None, timeout=30)
            api.user_text(SECRETARY, "Mục VI cần nêu rõ thời hạn")
            await asyncio.wait_for(held.reached.wait(), timeout=30)
            bot.kill()
            held.release()  # Telegram delivers it, though the bot is gone
            assert [s for t, s, _, _ in outbox(db) if t == "review/returned"] == ["sending"]

            bot.start()
            await api.wait_for_call("setMyCommands", count=2, timeout=30)
            await asyncio.sleep(4)  # more than one check of the sender: a resend would show
        finally:
            bot.stop()

        def returned(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
            return [m for m in messages if "Mục VI cần nêu rõ thời hạn" in str(m.get("text"))]

        assert len(returned(api.sent_messages(MEMBER))) == 1
        assert [s for t, s, _, _ in outbox(db) if t == "review/returned"] == ["sent"]
        log = (tmp_path / "bot.log").read_text(encoding="utf-8", errors="replace")
        assert "1 message(s) were in flight" in log
        assert "Mục VI" not in log  # no message text in the log
