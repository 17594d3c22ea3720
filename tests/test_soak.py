"""A province on one machine, with workers killed: PostgreSQL, the ingress (``tusoi ingress``),
three workers (``tusoi worker``) and the fake Bot API, all on 127.0.0.1.

200 members walk the checklist at once, the way Telegram's webhook would bring their messages:
each message is POSTed to the ingress, and a member sends its next burst once the last one
has been handled. Meanwhile a random worker is killed with SIGKILL at random moments (at least
20 times) and started again. Afterwards, read from the database: no answer lost, none stored
twice, none out of order within a member's chat (the follow-up texts are sent in bursts of
pieces that are joined in arrival order), no update set aside, and every member's «/tieptuc»
shows the question after their last answer.

``TUSOI_SOAK_MEMBERS`` and ``TUSOI_SOAK_ITEMS`` make it longer (``bench/soak.sh``).
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg
from psycopg.rows import dict_row

from bot.config import load_settings
from handlers.wiring import build_core
from tests.conftest import REPO
from tests.fakebotapi import FakeBotApi
from tests.pgserver import fresh_database

MEMBERS = int(os.environ.get("TUSOI_SOAK_MEMBERS", "200"))
ITEMS = int(os.environ.get("TUSOI_SOAK_ITEMS", "4"))
WORKERS = 3
MIN_KILLS = 20
PATH, SECRET = "hook-path_1", "hook-secret_1"
FIRST_CHAT = 700_000
DEADLINE = 420.0  # seconds for the whole walk: a hang fails instead of eating CI's time


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def write_config(tmp_path: Path, api: FakeBotApi, url: str, port: int) -> Path:
    config = tmp_path / "tusoi.toml"
    config.write_text(
        f'[storage]\nurl = "{url}"\npool_size = 6\n'
        f'[web]\nhost = "127.0.0.1"\nport = {port}\n'
        f'[telegram]\ntoken = "123456:SOAK-TOKEN"\nbase_url = "{api.base_url}"\n'
        f'base_file_url = "{api.base_file_url}"\nbot_username = "tusoi_test_bot"\n'
        f'webhook_path = "{PATH}"\nwebhook_secret = "{SECRET}"\nconcurrent_chats = 8\n'
        'reply_retry_ms = [50, 100]\n'
        # Reminders would add messages of their own; the sender's leadership has its own test.
        '[reminders]\nenabled = false\nrate_per_second = 100000\n'
        '[logging]\nlevel = "INFO"\n',
        encoding="utf-8")
    return config


class Process:
    """A ``tusoi`` sub-command as a separate process, started and killed as in production."""

    def __init__(self, config: Path, log: Path, *args: str) -> None:
        self.config, self.log, self.args = config, log, args
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> None:
        self.starts += 1
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        env.pop("TUSOI_TELEGRAM_TOKEN", None)
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "handlers.cli", "--config", str(self.config), *self.args],
                cwd=REPO, stdout=log, stderr=subprocess.STDOUT, env=env)

    def ready(self) -> bool:
        """Started since the last kill, and working (a worker logs its slots when it is)."""
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return self.proc is not None and self.proc.poll() is None and (
            text.count("slots") > self.starts - 1)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self) -> int | None:
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


@dataclass
class Member:
    member_id: int
    chat: int
    bursts: list[list[str]] = field(default_factory=list)
    expected: list[str] = field(default_factory=list)  # answer_history values, in order


def script(number: int, member_id: int, chat: int, options: tuple[str, str]) -> Member:
    """What member ``number`` sends: «1» on most items, «2» and three follow-ups on others,
    each follow-up written in pieces sent together then «xong»."""
    member = Member(member_id, chat)
    for item in range(1, ITEMS + 1):
        if (number + item) % 3:
            member.bursts.append(["1"])
            member.expected.append(options[0])
            continue
        tag = f"m{number} i{item}"
        what = [f"{tag} việc {piece}" for piece in range(1, 4)]
        why, fix = [f"{tag} vì bận"], [f"{tag} sửa, hoàn thành trước 31/3/2027"]
        member.bursts += [["2"], [*what, "xong"], [*why, "xong"], [*fix, "xong"]]
        member.expected += [options[1], "\n".join(what), why[0], fix[0]]
    return member


class Handled:
    """Which updates the workers have finished (read from the inbox every 50 ms)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.waiting: dict[str, asyncio.Future[None]] = {}

    def wait(self, update_key: str) -> asyncio.Future[None]:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.waiting[update_key] = future
        return future

    async def run(self) -> None:
        async with await psycopg.AsyncConnection.connect(self.url, autocommit=True) as conn:
            while True:
                keys = list(self.waiting)
                if keys:
                    cur = await conn.execute(
                        "SELECT update_key FROM inbox WHERE channel = 'telegram'"
                        " AND state <> 'pending' AND update_key = ANY(%s)", (keys,))
                    for (key,) in await cur.fetchall():
                        future = self.waiting.pop(key)
                        if not future.done():
                            future.set_result(None)
                await asyncio.sleep(0.05)


async def post(client: httpx.AsyncClient, port: int, update: dict[str, Any]) -> None:
    for _ in range(50):  # the ingress itself is never killed; it may still be starting
        try:
            response = await client.post(
                f"http://127.0.0.1:{port}/tg/{PATH}", content=json.dumps(update),
                headers={"X-Telegram-Bot-Api-Secret-Token": SECRET,
                         "Content-Type": "application/json"})
        except httpx.TransportError:
            await asyncio.sleep(0.1)
            continue
        assert response.status_code == 200, response.text
        return
    raise AssertionError("the ingress never answered")


async def walk(member: Member, api: FakeBotApi, client: httpx.AsyncClient, port: int,
               handled: Handled) -> None:
    await asyncio.sleep(random.uniform(0, 1.0))  # members do not all start at once
    for burst in member.bursts:
        last = None
        for text in burst:
            update = api.user_text(member.chat, text)
            last = handled.wait(str(update["update_id"]))
            await post(client, port, update)
        assert last is not None
        await last
        await asyncio.sleep(random.uniform(0.0, 0.05))


async def kill_workers(workers: list[Process], done: asyncio.Event, kills: list[float]) -> None:
    """SIGKILL a random working worker at random moments, then start it again at once. Only
    a worker that is up (it has logged its slots) is a victim, and only while another one is
    up too: a kill during start-up would test nothing, and a walk with no worker left would
    not move."""
    while not done.is_set() or len(kills) < MIN_KILLS:
        await asyncio.sleep(random.uniform(0.5, 3.0))
        ready = [w for w in workers if w.ready()]
        if len(ready) < 2:  # keep one worker at work: the walk must go on meanwhile
            continue
        victim = random.choice(ready)
        victim.kill()
        kills.append(time.monotonic())
        victim.start()


def seed(config: Path) -> tuple[list[Member], list[str]]:
    """A cell of MEMBERS linked members with an open round; the checklist's prompts."""

    async def go() -> tuple[list[Member], list[str]]:
        core = build_core(load_settings(config))
        await core.open()
        try:
            store, now = core.store, datetime.now(UTC)
            questions = [q for s in core.service.checklist.sections for q in s.questions
                         if q.kind == "choice"]
            options = (questions[0].options[0].id, questions[0].options[1].id)
            members = []
            async with store.transaction():
                cell = await store.add_cell("Phòng Tải", "Khối Thử", "Hà Nội", now)
                await store.add_round(cell, 2026, "Kiểm điểm năm 2026",
                                      date.today() + timedelta(days=40),
                                      date.today() + timedelta(days=30), now, "form-2025")
                for number in range(MEMBERS):
                    member_id = await store.add_member(cell, f"Đảng Viên Số {number}", now)
                    chat = FIRST_CHAT + number
                    await store.link_account("telegram", str(chat), member_id, now)
                    members.append(script(number, member_id, chat, options))
            return members, [q.prompt for q in questions]
        finally:
            await core.close()

    return asyncio.run(go())


def history(url: str) -> dict[int, list[str]]:
    with psycopg.connect(url, row_factory=dict_row) as conn:
        rows = conn.execute(
            "SELECT v.member_id, h.value FROM answer_history h JOIN reviews v"
            " ON v.id = h.review_id ORDER BY h.id").fetchall()
    found: dict[int, list[str]] = {}
    for row in rows:
        found.setdefault(row["member_id"], []).append(row["value"])
    return found


async def test_a_province_on_one_machine_loses_nothing_when_workers_are_killed(
    tmp_path: Path,
) -> None:
    url = fresh_database()
    async with FakeBotApi() as api:
        port = free_port()
        config = write_config(tmp_path, api, url, port)
        members, prompts = await asyncio.to_thread(seed, config)
        ingress = Process(config, tmp_path / "ingress.log", "ingress")
        workers = [Process(config, tmp_path / f"worker{n}.log", "worker", "--id", str(n))
                   for n in range(1, WORKERS + 1)]
        handled = Handled(url)
        kills: list[float] = []
        finished = asyncio.Event()
        ingress.start()
        for worker in workers:
            worker.start()
        poller = asyncio.create_task(handled.run())
        killer = asyncio.create_task(kill_workers(workers, finished, kills))
        started = time.monotonic()
        try:
            async with httpx.AsyncClient(timeout=10) as client:
                await asyncio.wait_for(asyncio.gather(
                    *(walk(m, api, client, port, handled) for m in members)), DEADLINE)
                finished.set()
                await asyncio.wait_for(killer, 60)
                walked = time.monotonic() - started
                # Every member comes back: the bot shows the question after their last answer.
                before = {m.chat: len(api.sent_messages(m.chat)) for m in members}
                resumed = []
                for member in members:
                    update = api.user_text(member.chat, "/tieptuc")
                    resumed.append(handled.wait(str(update["update_id"])))
                    await post(client, port, update)
                await asyncio.wait_for(asyncio.gather(*resumed), 120)
        finally:
            finished.set()
            killer.cancel()
            poller.cancel()
            codes = [w.stop() for w in workers]
            ingress_code = ingress.stop()
        print(f"\nsoak: {MEMBERS} members, {sum(len(m.bursts) for m in members)} bursts, "
              f"{len(kills)} kills, walked in {walked:.1f} s")
        assert len(kills) >= MIN_KILLS
        assert codes == [0] * WORKERS and ingress_code == 0, (codes, ingress_code)

        found = history(url)
        lost = {m.member_id for m in members if len(found.get(m.member_id, [])) <
                len(m.expected)}
        doubled = {m.member_id for m in members if len(found.get(m.member_id, [])) >
                   len(m.expected)}
        wrong = {m.member_id for m in members if found.get(m.member_id) != m.expected}
        assert (lost, doubled, wrong) == (set(), set(), set())
        with psycopg.connect(url) as conn:
            states = dict(conn.execute(
                "SELECT state, COUNT(*) FROM inbox GROUP BY state").fetchall())
        assert set(states) == {"done"}, states
        for member in members:
            after = [m["text"] for m in api.sent_messages(member.chat)[before[member.chat]:]]
            assert any(prompts[ITEMS] in text for text in after), (member.chat, after)
        logs = "".join(p.log.read_text(errors="replace") for p in (ingress, *workers))
        assert "SOAK-TOKEN" not in logs and "việc 1" not in logs
