"""Zalo end to end: ``tusoi run`` as a subprocess, Telegram and Zalo in one process, talking
HTTP on 127.0.0.1 to the fake Bot API and the fake Zalo; the operator sets the webhook with
``tusoi zalo webhook set``. A Zalo member walks the whole review by typing, the bot is killed
with SIGKILL while a reply is on its way, resumes at the same question, the member submits,
gets a one-time link and downloads the .docx (read back with python-docx)."""

from __future__ import annotations

import asyncio
import io
import os
import re
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import docx
import httpx
import pytest

from bot.config import load_settings
from handlers.wiring import build_core
from tests.conftest import REPO, Seed, seed
from tests.fakebotapi import FakeBotApi
from tests.fakezalo import TOKEN, FakeZalo
from tests.test_e2e import Member
from tests.zalohelpers import LINK, SECRET, free_port, walk_to_summary

SECRETARY = 3003  # on Telegram


def write_config(tmp_path: Path, tg: FakeBotApi, zalo: FakeZalo, mode: str, port: int) -> Path:
    config = tmp_path / "tusoi.toml"
    config.write_text(
        f'[database]\npath = "{tmp_path / "tusoi.sqlite3"}"\n'
        f'[telegram]\ntoken = "123456:E2E-TOKEN"\nbase_url = "{tg.base_url}"\n'
        f'base_file_url = "{tg.base_file_url}"\nbot_username = "tusoi_test_bot"\n'
        'poll_timeout = 1\n'
        f'[zalo]\nbase_url = "{zalo.base_url}"\nmode = "{mode}"\n'
        f'webhook_secret = "{SECRET}"\npublic_base_url = "http://127.0.0.1:{port}"\n'
        'poll_timeout = 1\nrate_per_second = 1000\nreply_retry_ms = [50, 50, 50]\n'
        'previews = false\n'
        f'[web]\nport = {port}\n[reminders]\nenabled = false\n[logging]\nlevel = "DEBUG"\n',
        encoding="utf-8",
    )
    return config


def environment() -> dict[str, str]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "TUSOI_ZALO_TOKEN": TOKEN}
    env.pop("TUSOI_TELEGRAM_TOKEN", None)
    return env


async def tusoi(config: Path, *args: str) -> tuple[int, str, str]:
    """An operator's command, run while the fakes keep answering in this event loop."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "handlers.cli", "--config", str(config), *args, cwd=REPO,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=environment())
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    return proc.returncode or 0, out.decode(), err.decode()


class Bot:
    """``tusoi run`` as a separate process, started and killed like in production."""

    def __init__(self, config: Path, log: Path) -> None:
        self.config, self.log = config, log
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "handlers.cli", "--config", str(self.config), "run"],
                cwd=REPO, stdout=log, stderr=subprocess.STDOUT, env=environment())

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> int | None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                return self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()
        return self.proc.returncode if self.proc is not None else None


def query(db: Path, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql, params).fetchall()


class ZaloMember:
    """A person typing in Zalo; a message counts as answered once the bot has marked it done
    in its inbox (every reply to it sent)."""

    def __init__(self, fake: FakeZalo, db: Path, name: str, shape: str = "wrapped") -> None:
        self.fake, self.db, self.shape = fake, db, shape
        self.id = fake.user(name)

    def done(self, key: str) -> bool:
        return query(self.db, "SELECT state FROM inbox WHERE channel = 'zalo'"
                              " AND update_key = ?", key) == [("done",)]

    async def say(self, text: str, timeout: float = 30) -> str:
        before = len(self.fake.texts(self.id))
        event = self.fake.user_text(self.id, text, shape=self.shape)
        key = event["message"]["message_id"]
        await self.fake.wait_for(lambda: self.done(key), timeout, every=0.02)
        return "\n---\n".join(self.fake.texts(self.id)[before:])


async def seeded(config: Path) -> Seed:
    core = build_core(load_settings(config, environ={"TUSOI_ZALO_TOKEN": TOKEN}))
    await core.open()
    try:
        return await seed(core)
    finally:
        await core.close()


async def started(bot: Bot, tg: FakeBotApi, zalo: FakeZalo, count: int = 1) -> None:
    await tg.wait_for_call("setMyCommands", count=count, timeout=30)
    await zalo.wait_for(lambda: len(zalo.calls("getMe")) >= count, timeout=30)


@pytest.mark.parametrize("mode", ["polling", "webhook"])
async def test_a_zalo_member_walks_survives_sigkill_submits_and_downloads_the_draft(
    tmp_path: Path, mode: str,
) -> None:
    async with FakeBotApi() as tg, FakeZalo() as zalo:
        port = free_port()
        config = write_config(tmp_path, tg, zalo, mode, port)
        db = tmp_path / "tusoi.sqlite3"
        seed_ = await seeded(config)
        if mode == "webhook":  # the operator registers the webhook; the bot never does
            code, out, err = await tusoi(config, "zalo", "webhook", "set")
            assert code == 0, err
            assert f"http://127.0.0.1:{port}/zalo/webhook" in out and SECRET not in out
            assert zalo.webhook == {"url": f"http://127.0.0.1:{port}/zalo/webhook",
                                    "secret_token": SECRET, "updated_at": zalo.webhook["updated_at"]}
        bot = Bot(config, tmp_path / "bot.log")
        bot.start()
        try:
            await started(bot, tg, zalo)
            secretary = Member(tg, SECRETARY)  # Telegram, in the same process
            await secretary.send(f"/start {seed_.codes[seed_.secretary_id]}", settle="Tự soi 1/27")
            member = ZaloMember(zalo, db, "Bình", shape="bare" if mode == "webhook" else "wrapped")
            shown = await member.say(f"liên kết {seed_.codes[seed_.member_id]}")
            assert "Đã liên kết tài khoản" in shown and "Tự soi 1/27" in shown
            for _ in range(5):
                shown = await member.say("1")
            assert "Tự soi 6/27" in shown
            before = query(db, "SELECT qid, value FROM answers")

            # Killed after the answer to 1.6 was committed, before its reply reached Zalo.
            hold = zalo.hold("sendMessage", lambda params: params.get("chat_id") == member.id)
            event = zalo.user_text(member.id, "1", shape=member.shape)
            await asyncio.wait_for(hold.reached.wait(), 30)
            assert len(query(db, "SELECT * FROM answers")) == len(before) + 1
            bot.kill()
            sent = len(zalo.texts(member.id))

            bot.start()  # the stored event is handled again: nothing changes, the member is told
            await started(bot, tg, zalo, count=2)
            await zalo.wait_for(lambda: member.done(event["message"]["message_id"]), 30, 0.02)
            resumed = "\n".join(zalo.texts(member.id)[sent:])
            assert "Đã ghi câu 1.6: Không có biểu hiện" in resumed and "Tự soi 7/27" in resumed
            assert query(db, "SELECT COUNT(*) FROM answer_history WHERE qid = 'g1-06'") == [(1,)]

            summary = await walk_to_summary(member.say, resumed)
            assert "82/100" in summary
            shown = await member.say("nộp")
            assert "Đã nộp" in shown
            [url] = LINK.findall(shown)
            async with httpx.AsyncClient() as client:
                response = await client.get(url)
        finally:
            code = bot.stop()
        assert code == 0  # SIGTERM: a clean stop
        assert response.status_code == 200 and response.headers["cache-control"] == "no-store"
        text = "\n".join(p.text for p in docx.Document(io.BytesIO(response.content)).paragraphs)
        assert "Trần Thị Bình" in text and "Mẫu 2B-HD KĐ.ĐG 2025" in text
        assert query(db, "SELECT COUNT(*) FROM inbox WHERE state != 'done'") == [(0,)]
        assert query(db, "SELECT COUNT(*) FROM answer_history") == query(
            db, "SELECT COUNT(*) FROM answers")  # every answer once
        log = (tmp_path / "bot.log").read_text(encoding="utf-8", errors="replace")
        assert TOKEN not in log and "E2E-TOKEN" not in log and SECRET not in log
        assert "Hoàn thành tốt công việc" not in log and url.rsplit("/", 1)[1] not in log
        if mode == "polling":  # the bot never sets or deletes a webhook by itself
            assert not [c for c in zalo.calls() if "ebhook" in c.method]
        if mode == "webhook":
            _, info, _ = await tusoi(config, "zalo", "webhook", "info")
            assert f"127.0.0.1:{port}/zalo/webhook" in info
            assert "Đã xoá webhook" in (await tusoi(config, "zalo", "webhook", "delete"))[1]
            assert "chưa có webhook" in (await tusoi(config, "zalo", "webhook", "info"))[1]
            assert [c.method for c in zalo.calls() if "ebhook" in c.method] == [
                "setWebhook", "getWebhookInfo", "deleteWebhook", "getWebhookInfo"]


async def test_a_zalo_members_draft_reaches_the_telegram_secretary_who_returns_it(
    tmp_path: Path,
) -> None:
    """The two channels through the one outbox sender: the Zalo member's submission reaches
    the secretary on Telegram as a file; the secretary returns it with a comment, and the
    member is told on Zalo, in plain text."""
    async with FakeBotApi() as tg, FakeZalo() as zalo:
        port = free_port()
        config = write_config(tmp_path, tg, zalo, "polling", port)
        db = tmp_path / "tusoi.sqlite3"
        seed_ = await seeded(config)
        bot = Bot(config, tmp_path / "bot.log")
        bot.start()
        try:
            await started(bot, tg, zalo)
            secretary = Member(tg, SECRETARY)
            await secretary.send(f"/start {seed_.codes[seed_.secretary_id]}", settle="Tự soi 1/27")
            member = ZaloMember(zalo, db, "Bình")
            shown = await member.say(f"liên kết {seed_.codes[seed_.member_id]}")
            await walk_to_summary(member.say, shown)
            assert LINK.search(await member.say("nộp"))
            [draft] = await tg.wait_for(lambda: tg.documents(SECRETARY) or None, timeout=30)

            tracker = await secretary.send("/chibo", settle="Theo dõi kiểm điểm")
            [number] = re.findall(r"^(\d+)\. Trần Thị Bình", tracker[-1]["text"], re.MULTILINE)
            await secretary.send(number, settle="Tình trạng")
            await secretary.send("trả lại", settle="gõ góp ý", buttons=False)
            sent = len(zalo.texts(member.id))
            await secretary.send("Mục VI cần nêu rõ thời hạn", settle="đã được báo",
                                 buttons=False)
            told = await zalo.wait_for(lambda: [t for t in zalo.texts(member.id)[sent:]
                                                if "Mục VI cần nêu rõ thời hạn" in t] or None,
                                       timeout=30)
        finally:
            bot.stop()
        assert draft.filename == "ban-kiem-diem-2026-tran-thi-binh-v1.docx"
        assert len(tg.documents(SECRETARY)) == 1
        [returned] = told
        assert "đã trả lại bản kiểm điểm (bản số 1)" in returned and "/xemlai" in returned
        assert "<" not in returned and "&" not in returned  # plain text on Zalo
        assert query(db, "SELECT template, status FROM outbox WHERE kind = 'notice'"
                         " ORDER BY due_at") == [("secretary/draft_received", "sent"),
                                                 ("review/returned", "sent")]
        assert query(db, "SELECT decision FROM reviews WHERE member_id = ?",
                     seed_.member_id) == [("returned",)]
        log = (tmp_path / "bot.log").read_text(encoding="utf-8", errors="replace")
        assert "Mục VI" not in log  # no message text in the log


async def test_reminders_reach_a_zalo_only_member_exactly_once_across_a_restart(
    tmp_path: Path,
) -> None:
    from datetime import date, timedelta

    from bot.workdays import WorkCalendar

    async with FakeZalo() as zalo:
        port = free_port()
        config = tmp_path / "tusoi.toml"
        config.write_text(
            f'[database]\npath = "{tmp_path / "tusoi.sqlite3"}"\n'
            f'[zalo]\nbase_url = "{zalo.base_url}"\npublic_base_url = "http://127.0.0.1:{port}"\n'
            'poll_timeout = 1\nrate_per_second = 5\n'
            f'[web]\nport = {port}\n'
            '[reminders]\ncheck_seconds = 1\nquiet_start = "00:00"\nquiet_end = "00:00"\n',
            encoding="utf-8")
        db = tmp_path / "tusoi.sqlite3"
        seed_ = await seeded(config)
        members = [seed_.member_id, seed_.leader_id, seed_.secretary_id]
        users = [zalo.user(f"Người {n}") for n in range(len(members))]
        with sqlite3.connect(db) as conn:
            conn.execute("DELETE FROM rounds")  # the round opens below, planning the invites
            conn.executemany("INSERT INTO accounts (channel, external_id, member_id, linked_at)"
                             " VALUES ('zalo', ?, ?, '2026-11-01T00:00:00+00:00')",
                             list(zip(users, members, strict=True)))
        calendar = WorkCalendar.load(REPO / "data" / "calendar" / "vn.toml")
        meeting = calendar.next_working_day(date.today() + timedelta(days=30))
        code, _, err = await tusoi(config, "round", "open", "--cell", str(seed_.cell_id),
                                   "--meeting", meeting.strftime("%d/%m/%Y"))
        assert code == 0, err
        hold = zalo.hold("sendMessage", lambda params: params.get("chat_id") == users[1])
        bot = Bot(config, tmp_path / "bot.log")
        bot.start()
        try:
            await asyncio.wait_for(hold.reached.wait(), 60)
            bot.kill()  # in the middle of the fan-out: one sent, one in flight, one waiting
            hold.release()  # Zalo delivers the one in flight, though the bot is gone
            bot.start()
            await zalo.wait_for(lambda: all(zalo.texts(u) for u in users), 60)
            await zalo.wait_for(lambda: query(
                db, "SELECT COUNT(*) FROM outbox WHERE kind = 'invite' AND status != 'sent'"
            ) == [(0,)], 30)
        finally:
            bot.stop()
        assert [len(zalo.texts(u)) for u in users] == [1, 1, 1]  # each exactly once
        assert all("đã bắt đầu" in zalo.texts(u)[0] for u in users)  # the invite
        notes = dict(query(db, "SELECT member_id, note FROM outbox WHERE kind = 'invite'"))
        assert notes[members[1]] == "in flight when the bot stopped; not resent"
        assert notes[members[0]] is None and notes[members[2]] is None
        log = (tmp_path / "bot.log").read_text(encoding="utf-8", errors="replace")
        assert "1 message(s) were in flight" in log and TOKEN not in log
