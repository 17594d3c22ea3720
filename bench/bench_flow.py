"""How fast the bot handles members' answers: the real Application, a fake network, real SQLite.

Many members walk the 27-item checklist at once, interleaved round-robin like real traffic:
each presses the option button the bot just sent, every fifth item admits a manifestation
("slight"), and its three follow-ups are answered with typed text and the «Xong» button.
Every update goes through ``Application.process_update`` with the handlers registered by
``build_application``; only the HTTP transport is replaced by an in-process fake, and
SQLite commits are durable (WAL, synchronous=FULL), as in production.

Printed: machine facts, answers per second, p50/p90/p99/max handling latency, and a
baseline (the same number of bare durable ``save_answer`` commits without the bot) so the
figures can be compared across machines. Run from the repository root::

    .venv/bin/python bench/bench_flow.py --members 200

Timings are reported, never asserted: the exit status is 1 only when the run was wrong
(an error in a handler, or fewer stored answers than answers sent).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import itertools
import json
import logging
import os
import platform
import sqlite3
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import telegram
from telegram import Update
from telegram.ext import Application
from telegram.request import BaseRequest, RequestData

from bot.config import DatabaseSettings, Settings, TelegramSettings
from handlers.tg.app import build_application
from handlers.tg.send import decode_press
from handlers.wiring import Core, build_core
from storage.db import Database
from storage.store import SqliteStore

TARGET_RATE = 1000.0  # answers per second
PATHS = {
    "direct": "direct: Application.process_update, one update after the other",
    "inbox": ("inbox: each update stored (a durable commit), handed over one chat at a time,"
              " up to {chats} chats at once; members act concurrently"),
}
TARGET_P99_MS = 20.0
FIRST_USER_ID = 700_000_000
BOT_USER = {"id": 123456, "is_bot": True, "first_name": "Tự soi", "username": "tusoi_bench_bot",
            "can_join_groups": False, "can_read_all_group_messages": False,
            "supports_inline_queries": False}
TEXTS = {
    "what": "Có lúc chậm nộp báo cáo tháng, để đồng nghiệp phải nhắc.",
    "why": "Chưa sắp xếp công việc khoa học, còn chủ quan.",
    # Names a date, so the core accepts it as a concrete remedy without a warning.
    "remedy": "Lập lịch công việc hằng tuần và nộp báo cáo đúng hạn, hoàn thành trước 31/3/2027.",
}


# --------------------------------------------------------------------------- fake network


class FakeBotApi(BaseRequest):
    """Bot API transport in the same process: canned but valid JSON, no sockets.

    Remembers, per chat, the buttons of the last message sent with an inline keyboard,
    so the simulated members press exactly what the bot offered.
    """

    def __init__(self, latency: float = 0.0) -> None:
        self.calls: Counter[str] = Counter()
        self.keyboards: dict[int, tuple[dict[str, Any], list[str]]] = {}
        self._message_ids = itertools.count(1)
        self.latency = latency  # seconds each call takes, as a round trip to Telegram would

    @property
    def read_timeout(self) -> float | None:
        return 5.0

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = None,
        write_timeout: Any = None,
        connect_timeout: Any = None,
        pool_timeout: Any = None,
    ) -> tuple[int, bytes]:
        api_method = url.rsplit("/", 1)[-1]
        self.calls[api_method] += 1
        if self.latency:
            await asyncio.sleep(self.latency)
        params: dict[str, Any] = dict(request_data.parameters) if request_data else {}
        result: Any
        if api_method == "getMe":
            result = BOT_USER
        elif api_method in ("sendMessage", "sendDocument"):
            result = self._message(params, int(params["chat_id"]), next(self._message_ids))
            markup = params.get("reply_markup")
            if isinstance(markup, dict) and "inline_keyboard" in markup:
                datas = [b["callback_data"] for row in markup["inline_keyboard"] for b in row]
                self.keyboards[int(params["chat_id"])] = (result, datas)
        elif api_method in ("editMessageText", "editMessageReplyMarkup"):
            result = self._message(params, int(params["chat_id"]), int(params["message_id"]))
        elif api_method in ("answerCallbackQuery", "setMyCommands", "deleteWebhook"):
            result = True
        else:
            body = {"ok": False, "error_code": 400,
                    "description": f"Bad Request: {api_method} is not faked by the benchmark"}
            return 400, json.dumps(body).encode()
        return 200, json.dumps({"ok": True, "result": result}).encode()

    @staticmethod
    def _message(params: dict[str, Any], chat_id: int, message_id: int) -> dict[str, Any]:
        message: dict[str, Any] = {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private", "first_name": "Member"},
            "from": BOT_USER,
        }
        if "document" in params:
            message["document"] = {"file_id": f"doc{message_id}",
                                   "file_unique_id": f"u{message_id}"}
            message["caption"] = params.get("caption", "")
        else:
            message["text"] = params.get("text", "…")
        if isinstance(params.get("reply_markup"), dict):
            message["reply_markup"] = params["reply_markup"]
        return message


def bench_application(core: Core, fake: FakeBotApi) -> Application:  # type: ignore[type-arg]
    """The production Application with its HTTP transport and rate limiter swapped out.

    The rate limiter must go: it holds sends to Telegram's 30 messages/s, and what is
    measured here is how much faster than that the bot itself can go.
    """
    return build_application(core, request=fake, rate_limit=False)


# --------------------------------------------------------------------------- simulated members


@dataclass
class Member:
    user_id: int
    started: bool = False
    items_answered: int = 0
    finished: bool = False


@dataclass
class Run:
    updates: int = 0
    answers_sent: int = 0
    latencies: list[float] = field(default_factory=list)  # seconds, every update
    answer_latencies: list[float] = field(default_factory=list)  # updates that store an answer
    elapsed: float = 0.0
    stored: int = 0
    errors: int = 0


def _user(user_id: int) -> dict[str, Any]:
    return {"id": user_id, "is_bot": False, "first_name": "Member", "language_code": "vi"}


def text_update(update_id: int, user_id: int, text: str) -> dict[str, Any]:
    return {"update_id": update_id, "message": {
        "message_id": 1_000_000 + update_id, "date": int(time.time()), "text": text,
        "chat": {"id": user_id, "type": "private", "first_name": "Member"},
        "from": _user(user_id),
    }}


def press_update(
    update_id: int, user_id: int, message: dict[str, Any], data: str
) -> dict[str, Any]:
    return {"update_id": update_id, "callback_query": {
        "id": str(update_id), "from": _user(user_id), "chat_instance": str(user_id),
        "message": message, "data": data,
    }}


def next_update(
    member: Member, update_id: int, fake: FakeBotApi, checklist_ids: frozenset[str]
) -> tuple[dict[str, Any], bool] | None:
    """What this member does next, from what the bot last showed them; None when done.

    Returns the update and whether handling it should store an answer.
    """
    if not member.started:
        member.started = True
        return text_update(update_id, member.user_id, "/start"), False
    message, datas = fake.keyboards[member.user_id]
    presses = [p for p in map(decode_press, datas) if p is not None]
    qid = next((p.qid for p in presses if p.qid), "")
    if qid.split(".", 1)[0] not in checklist_ids:  # the form begins: the checklist is done
        member.finished = True
        return None
    for data, press in zip(datas, presses, strict=False):
        if press.action in ("done", "keep"):
            return press_update(update_id, member.user_id, message, data), True
    options = {p.arg: d for d, p in zip(datas, presses, strict=False) if p.action == "a"}
    if options:
        member.items_answered += 1
        choice = "slight" if member.items_answered % 5 == 0 else "absent"
        return press_update(update_id, member.user_id, message, options[choice]), True
    follow_up = qid.rsplit(".", 1)[-1]
    return text_update(update_id, member.user_id, TEXTS[follow_up]), False


class ErrorCounter(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1


async def poll_like_get_updates(arrivals: asyncio.Queue[dict[str, Any]], inbox: Any) -> None:
    """As getUpdates would: whatever arrived meanwhile, in one batch of at most 100, given
    to ``Inbox.accept`` (the poller's own HTTP left out)."""
    while True:
        batch = [await arrivals.get()]
        while not arrivals.empty() and len(batch) < 100:
            batch.append(arrivals.get_nowait())
        await inbox.accept(batch)


async def seed_members(core: Core, n: int) -> None:
    """One cell, ``n`` members linked on Telegram, one open round."""
    store, now = core.store, core.clock.now()
    async with store.transaction():
        cell_id = await store.add_cell("Chi bộ Đo tải", "Đảng ủy Thử nghiệm", "Hà Nội", now)
        for i in range(n):
            member_id = await store.add_member(cell_id, f"Đảng viên {i + 1:04d}", now)
            await store.link_account("telegram", str(FIRST_USER_ID + i), member_id, now)
        await store.add_round(cell_id, 2026, "Kiểm điểm năm 2026", date(2026, 12, 18),
                              date(2026, 12, 10), now)


async def run_flow(workdir: Path, n: int, mode: str = "direct", latency: float = 0.0,
                   concurrent_chats: int = 64) -> tuple[Run, FakeBotApi]:
    """``mode`` "direct": updates one after the other through ``Application.process_update``
    (what this benchmark measured before the inbox). "inbox": the production path, every
    member acting at once: each update is stored in the inbox (a durable commit), handed over
    one chat at a time, concurrently across up to ``concurrent_chats`` chats."""
    settings = dataclasses.replace(
        Settings(),
        database=DatabaseSettings(path=str(workdir / f"flow-{mode}.sqlite3"), durable=True),
        telegram=dataclasses.replace(TelegramSettings(), token="123456:BENCH-TOKEN",
                                     concurrent_chats=concurrent_chats),
    )
    core = build_core(settings)
    fake = FakeBotApi(latency)
    app = bench_application(core, fake)
    if mode == "inbox":
        return await run_inbox(core, app, fake, n), fake
    errors = ErrorCounter()
    logging.getLogger().addHandler(errors)
    run = Run()
    await app.initialize()
    try:
        assert app.post_init is not None
        await app.post_init(app)  # opens the database and sets the command menu, as in production
        await seed_members(core, n)
        sections = core.service.checklist.sections
        checklist_ids = frozenset(q.id for s in sections for q in s.questions)
        members = [Member(FIRST_USER_ID + i) for i in range(n)]
        update_ids = itertools.count(1)
        clock = time.perf_counter
        start = clock()
        while members:
            for member in members:
                step = next_update(member, next(update_ids), fake, checklist_ids)
                if step is None:
                    continue
                data, stores_answer = step
                update = Update.de_json(data, app.bot)
                t0 = clock()
                await app.process_update(update)
                took = clock() - t0
                run.latencies.append(took)
                run.updates += 1
                if stores_answer:
                    run.answers_sent += 1
                    run.answer_latencies.append(took)
            members = [m for m in members if not m.finished]
        run.elapsed = clock() - start
        row = await core.db.fetch_one("SELECT COUNT(*) FROM answer_history")
        run.stored = int(row[0]) if row else 0
    finally:
        if app.post_shutdown is not None:
            await app.post_shutdown(app)
        await app.shutdown()
        logging.getLogger().removeHandler(errors)
    run.errors = errors.count
    return run, fake


async def run_inbox(core: Core, app: Application, fake: FakeBotApi, n: int) -> Run:
    """Every member at once, each waiting for the bot's reply before the next step, through
    the inbox and the per-chat processor, as in production (only the poller is left out:
    the members' updates are given to ``Inbox.accept`` as the poller would)."""
    from telegram.ext import TypeHandler

    from handlers.tg.app import running

    handled: dict[int, asyncio.Event] = {}

    async def observe(update: Update, context: Any) -> None:
        handled[update.update_id].set()

    app.add_handler(TypeHandler(Update, observe), group=1_000)
    errors = ErrorCounter()
    logging.getLogger().addHandler(errors)
    run = Run()
    update_ids = itertools.count(1)
    clock = time.perf_counter
    try:
        async with running(app, poll=False) as inbox:
            await seed_members(core, n)
            sections = core.service.checklist.sections
            checklist_ids = frozenset(q.id for s in sections for q in s.questions)

            arrivals: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

            polling = asyncio.create_task(poll_like_get_updates(arrivals, inbox))

            async def member(user_id: int) -> None:
                person = Member(user_id)
                while True:
                    step = next_update(person, next(update_ids), fake, checklist_ids)
                    if step is None:
                        return
                    data, stores_answer = step
                    done = handled[data["update_id"]] = asyncio.Event()
                    t0 = clock()
                    arrivals.put_nowait(data)  # Telegram's JSON, as getUpdates returns it
                    await done.wait()
                    took = clock() - t0
                    run.latencies.append(took)
                    run.updates += 1
                    if stores_answer:
                        run.answers_sent += 1
                        run.answer_latencies.append(took)

            start = clock()
            await asyncio.gather(*(member(FIRST_USER_ID + i) for i in range(n)))
            run.elapsed = clock() - start
            polling.cancel()
            await inbox.idle()
            row = await core.db.fetch_one("SELECT COUNT(*) FROM answer_history")
            run.stored = int(row[0]) if row else 0
    finally:
        logging.getLogger().removeHandler(errors)
    run.errors = errors.count
    return run


# --------------------------------------------------------------------------- baselines


async def run_framework(n_updates: int, presses: int) -> float:
    """Updates/s of the same PTB Application making the same kinds of Bot API calls per
    update (press: answer, edit, send with a keyboard; text: send), with no core and no
    database: the ceiling python-telegram-bot itself sets on this machine."""
    from telegram import InlineKeyboardButton, InlineKeyboardMarkup
    from telegram.ext import ApplicationBuilder, CallbackQueryHandler, MessageHandler, filters

    fake = FakeBotApi()
    app = (ApplicationBuilder().token("123456:BASELINE").request(fake)
           .get_updates_request(fake).build())
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton(f"{i}", callback_data=f"a|1|q|{i}")]
                                     for i in range(6)])

    async def on_press(update: Update, context: Any) -> None:
        query = update.callback_query
        await query.answer()
        await query.message.edit_text("✔️ Đã chọn")
        await context.bot.send_message(query.from_user.id, "Câu tiếp theo", reply_markup=keyboard)

    async def on_text(update: Update, context: Any) -> None:
        await context.bot.send_message(update.effective_chat.id, "Đã ghi", reply_markup=keyboard)

    app.add_handlers([CallbackQueryHandler(on_press), MessageHandler(filters.TEXT, on_text)])
    await app.initialize()
    message = {"message_id": 1, "date": int(time.time()), "text": "Câu hỏi",
               "chat": {"id": FIRST_USER_ID, "type": "private", "first_name": "Member"},
               "from": {"id": 123456, "is_bot": True, "first_name": "tusoi"}}
    start = time.perf_counter()
    for i in range(n_updates):
        data = (press_update(i + 1, FIRST_USER_ID, message, "a|1|q|0") if i < presses
                else text_update(i + 1, FIRST_USER_ID, "trả lời"))
        await app.process_update(Update.de_json(data, app.bot))
    elapsed = time.perf_counter() - start
    await app.shutdown()
    return n_updates / elapsed


@dataclass
class Baseline:
    durable: bool
    answers: int
    elapsed: float
    commits: list[float]

    @property
    def rate(self) -> float:
        return self.answers / self.elapsed


async def run_baseline(workdir: Path, n: int, answers: int, qids: Sequence[str], *,
                       durable: bool) -> Baseline:
    """The same number of answers as bare ``save_answer`` calls, one transaction each."""
    db = Database(workdir / f"baseline-{'full' if durable else 'normal'}.sqlite3", durable=durable)
    await db.open()
    store = SqliteStore(db)
    now = datetime.now(UTC)
    try:
        async with store.transaction():
            cell_id = await store.add_cell("Chi bộ Đo tải", "Đảng ủy Thử nghiệm", "Hà Nội", now)
            round_id = await store.add_round(cell_id, 2026, "Kiểm điểm năm 2026",
                                             date(2026, 12, 18), date(2026, 12, 10), now)
            reviews = []
            for i in range(n):
                member_id = await store.add_member(cell_id, f"Đảng viên {i + 1:04d}", now)
                reviews.append((await store.create_review(round_id, member_id, now)).id)
        commits: list[float] = []
        clock = time.perf_counter
        start = clock()
        for i in range(answers):
            t0 = clock()
            async with store.transaction():
                await store.save_answer(reviews[i % n], qids[(i // n) % len(qids)], "absent",
                                        skipped=False, vague=False, now=now)
            commits.append(clock() - t0)
        elapsed = clock() - start
    finally:
        await db.close()
    return Baseline(durable, answers, elapsed, commits)


def fsync_cost(workdir: Path, rounds: int = 300) -> list[float]:
    """Seconds per append of one 4 KiB page plus fsync: the floor under a durable commit."""
    path = workdir / "fsync.probe"
    page = os.urandom(4096)
    took = []
    with open(path, "wb") as f:
        for _ in range(rounds):
            t0 = time.perf_counter()
            f.write(page)
            f.flush()
            os.fsync(f.fileno())
            took.append(time.perf_counter() - t0)
    path.unlink()
    return took


# --------------------------------------------------------------------------- report


def pct(values: Sequence[float], p: float) -> float:
    """The p-th percentile in milliseconds (nearest rank)."""
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank] * 1000


def spread(values: Sequence[float]) -> str:
    return (f"p50 {pct(values, 50):.2f}  p90 {pct(values, 90):.2f}  p99 {pct(values, 99):.2f}"
            f"  max {max(values) * 1000:.2f}")


def filesystem(path: Path) -> str:
    """Device and type of the file system holding ``path`` (fsync cost depends on it)."""
    try:
        mounts = [line.split()[:3] for line in Path("/proc/mounts").read_text().splitlines()]
    except OSError:
        return "unknown"
    resolved = str(path.resolve())
    holding = [m for m in mounts
               if resolved == m[1] or resolved.startswith(m[1].rstrip("/") + "/")]
    best = max(holding, key=lambda m: len(m[1]), default=None)
    return f"{best[2]} on {best[0]} (mounted at {best[1]})" if best else "unknown"


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def report(args: argparse.Namespace, workdir: Path, run: Run, fake: FakeBotApi,
           full: Baseline, normal: Baseline, fsyncs: list[float], framework: float) -> bool:
    rate = run.answers_sent / run.elapsed
    p99 = pct(run.latencies, 99)
    ok_rate, ok_p99 = rate >= TARGET_RATE, p99 <= TARGET_P99_MS
    stored = "matches" if run.stored == run.answers_sent else "MISMATCH"
    calls = ", ".join(f"{k} {v}" for k, v in sorted(fake.calls.items()))
    lines = [
        "tusoi flow benchmark",
        f"  date            {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        f"  machine         {os.cpu_count()} CPUs ({cpu_model()}), {platform.platform()}",
        (f"  python          {platform.python_version()} ({platform.python_implementation()}),"
         f" python-telegram-bot {telegram.__version__}, SQLite {sqlite3.sqlite_version}"
         " (the sqlite3 module)"),
        f"  database        {workdir} — {filesystem(workdir)}; WAL, synchronous=FULL",
        "",
        "flow (real Application, in-process fake Bot API, durable commits)",
        f"  path            {PATHS[args.mode].format(chats=args.concurrent_chats)}",
        f"  network         {args.latency_ms:g} ms per Bot API call (0: none, as in-process)",
        f"  members         {args.members} (27 items each; every 5th item admits, 3 follow-ups)",
        f"  updates         {run.updates} ({run.answers_sent} store an answer)",
        f"  answers stored  {run.stored} in answer_history ({stored})",
        f"  bot API calls   {calls}",
        f"  elapsed         {run.elapsed:.2f} s",
        f"  answers/s       {rate:,.0f}   (updates/s {run.updates / run.elapsed:,.0f})",
        f"  latency, ms     {spread(run.latencies)}   (every update)",
        f"                  {spread(run.answer_latencies)}   (answers only)",
        "",
        "baseline (same number of bare save_answer calls, one transaction each, no bot)",
    ]
    for b in (full, normal):
        lines.append(
            f"  synchronous={'FULL  ' if b.durable else 'NORMAL'} {b.rate:,.0f} answers/s;"
            f" per commit p50 {pct(b.commits, 50):.2f} ms, p99 {pct(b.commits, 99):.2f} ms"
        )
    lines += [
        (f"  fsync of 4 KiB  p50 {pct(fsyncs, 50):.2f} ms, p99 {pct(fsyncs, 99):.2f} ms"
         " (so a durable commit can't be faster than this)"),
        f"  bot / baseline  {rate / full.rate:.2f} of the durable baseline rate",
        "",
        ("framework ceiling (same Application and transport, same kinds of calls, no core,"
         " no DB, one update at a time, no network delay)"),
        (f"  PTB alone       {framework:,.0f} updates/s; tusoi runs at"
         f" {run.updates / run.elapsed / framework:.2f} of it"
         f" ({1000 / (run.updates / run.elapsed) - 1000 / framework:.2f} ms of our own per update)"),
        "",
        (f"targets: ≥ {TARGET_RATE:,.0f} answers/s {'met' if ok_rate else 'MISSED'};"
         f" p99 ≤ {TARGET_P99_MS:.0f} ms {'met' if ok_p99 else 'MISSED'}"),
    ]
    if run.errors:
        lines.append(f"ERRORS: {run.errors} error log records during the run")
    print("\n".join(lines))
    return run.errors == 0 and run.stored == run.answers_sent


async def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=200, help="members walking at once")
    parser.add_argument("--dir", type=Path, default=None,
                        help="where to put the databases (default: a fresh temporary folder)."
                             " Use the disk production will use: fsync cost is the floor.")
    parser.add_argument("--mode", choices=sorted(PATHS), default="direct",
                        help="direct: one update at a time through process_update; inbox: the"
                             " production path, every member at once")
    parser.add_argument("--concurrent-chats", type=int, default=64,
                        help="chats handled at once in --mode inbox (telegram.concurrent_chats)")
    parser.add_argument("--latency-ms", type=float, default=0.0,
                        help="time each Bot API call takes, as a round trip to Telegram would")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    with tempfile.TemporaryDirectory(prefix="tusoi-bench-", dir=args.dir) as tmp:
        workdir = Path(tmp)
        run, fake = await run_flow(workdir, args.members, args.mode, args.latency_ms / 1000,
                                   args.concurrent_chats)
        qids = [f"q{i:02d}" for i in range(27)]
        full = await run_baseline(workdir, args.members, run.answers_sent, qids, durable=True)
        normal = await run_baseline(workdir, args.members, run.answers_sent, qids, durable=False)
        fsyncs = fsync_cost(workdir)
        presses = sum(v for k, v in fake.calls.items() if k == "answerCallbackQuery")
        framework = await run_framework(run.updates, presses)
        correct = report(args, workdir, run, fake, full, normal, fsyncs, framework)
    return 0 if correct else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
