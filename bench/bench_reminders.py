"""Benchmark: plan and send reminders for a large cell against the fake Bot API over HTTP.

    .venv/bin/python bench/bench_reminders.py --members 50000 --rate 1000 --in-flight 100

What runs: the production outbox ``Sender`` (``bot.delivery``) with the Telegram transport, and ``Core.replan`` on a fresh SQLite file (WAL,
synchronous=FULL), sending through PTB's ``ExtBot`` with ``AIORateLimiter`` at ``--rate``
messages/s, over real HTTP to ``tests/fakebotapi.FakeBotApi``. The fake server runs in a child
process so it does not share the bot's CPU. Printed: planning time (the pure planner alone and
planner + SQLite), delivery time against the ideal members ÷ rate, and duplicates and misses
counted per chat by the server. Timings are reported, never asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import multiprocessing
import platform
import sqlite3
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from telegram.ext import AIORateLimiter, ExtBot
from telegram.request import HTTPXRequest

from bot.config import DatabaseSettings, ReminderConfig, Settings, TelegramSettings
from bot.reminders import Recipient, RoundDates, collective_due, plan
from bot.delivery import Sender, SenderSettings
from handlers.tg.transport import TelegramTransport
from handlers.wiring import build_core

FIRST_CHAT = 10_000_000
NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # Monday 09:00 in Hà Nội
MEETING, MEMBER_DUE = date(2026, 12, 18), date(2026, 12, 10)


class FixedClock:
    def now(self) -> datetime:
        return NOW


# ------------------------------------------------------------------ the fake server, elsewhere

def serve(port_out: Any, stop: Any, counts_out: Any) -> None:
    """Child process: run FakeBotApi until told to stop, then report sendMessage per chat."""
    from tests.fakebotapi import FakeBotApi, Files, JSONDict

    async def main() -> None:
        async with FakeBotApi() as api:
            per_chat: Counter[int] = Counter()

            def send_message(params: JSONDict, files: Files) -> JSONDict:
                # Count, and answer like the default handler without keeping 50,000 messages.
                chat = int(params["chat_id"])
                per_chat[chat] += 1
                return {"message_id": per_chat[chat], "date": int(time.time()),
                        "chat": {"id": chat, "type": "private"}, "text": "ok"}

            api.on("sendMessage", send_message)
            port_out.send(api.base_url)
            while not stop.is_set():
                await asyncio.sleep(0.2)
            counts_out.send(dict(per_chat))
            api._calls.clear()

    asyncio.run(main())


# ------------------------------------------------------------------ the run

async def run(args: argparse.Namespace, workdir: Path, base_url: str) -> dict[str, Any]:
    settings = dataclasses.replace(
        Settings(),
        database=DatabaseSettings(path=str(workdir / "reminders.sqlite3"), durable=True),
        telegram=dataclasses.replace(TelegramSettings(), token="123456:BENCH-TOKEN"),
        reminders=dataclasses.replace(ReminderConfig(), rate_per_second=args.rate,
                                      in_flight=args.in_flight, quiet_start="00:00",
                                      quiet_end="00:00"),
    )
    core = build_core(settings, FixedClock())
    await core.open()
    try:
        n = args.members
        db = core.db
        async with core.db.transaction():
            await db.execute("INSERT INTO cells (id, name, created_at) VALUES (1, 'Đo tải', ?)",
                               (NOW.isoformat(),))
            await db.execute_many(
                "INSERT INTO members (id, cell_id, full_name, role, created_at)"
                " VALUES (?, 1, ?, ?, ?)",
                [(i, f"Đảng viên {i:05d}", "secretary" if i == 1 else "member", NOW.isoformat())
                 for i in range(1, n + 1)])
            await db.execute_many(
                "INSERT INTO accounts (channel, external_id, member_id, linked_at)"
                " VALUES ('telegram', ?, ?, ?)",
                [(str(FIRST_CHAT + i), i, NOW.isoformat()) for i in range(1, n + 1)])
            await db.execute(
                "INSERT INTO rounds (id, cell_id, year, title, meeting_date, member_due,"
                " created_at) VALUES (1, 1, 2026, 'Kiểm điểm năm 2026', ?, ?, ?)",
                (MEETING.isoformat(), MEMBER_DUE.isoformat(), NOW.isoformat()))

        # Planning: the pure planner alone, then planner + SQLite (what `round open` does).
        people = [Recipient(i, False, True, i == 1) for i in range(1, n + 1)]
        dates = RoundDates(1, NOW, MEETING, MEMBER_DUE,
                           collective_due(core.calendar, MEETING, core.reminder_settings))
        t0 = time.perf_counter()
        pure = plan(dates, people, core.calendar, core.reminder_settings, NOW)
        plan_pure = time.perf_counter() - t0
        t0 = time.perf_counter()
        planned = await core.replan(1)
        plan_total = time.perf_counter() - t0
        t0 = time.perf_counter()
        await core.replan(1)
        replan_total = time.perf_counter() - t0
        assert planned == len(pure)
        if args.plan_only:
            return {"planned": planned, "plan_pure": plan_pure, "plan_total": plan_total,
                    "replan_total": replan_total}

        # A connection pool as large as ApplicationBuilder gives the production bot.
        bot = ExtBot("123456:BENCH-TOKEN", base_url=base_url,
                     request=HTTPXRequest(connection_pool_size=256),
                     rate_limiter=AIORateLimiter(overall_max_rate=args.rate, max_retries=3))
        async with bot:
            sender = Sender(core.outbox, core.clock.now, core.reminder_settings,
                            SenderSettings(in_flight=args.in_flight, batch=args.batch,
                                           rate_per_second=args.rate),
                            collective_due=core.delivery.sender.collective_due,
                            rules=core.service.rules)
            sender.add(TelegramTransport(bot, core.renderer))
            t0 = time.perf_counter()
            report = await sender.run()
            send_total = time.perf_counter() - t0
        rows = await db.fetch_all(
            "SELECT status, COUNT(*) FROM outbox WHERE kind = 'invite' GROUP BY status")
        by_status = {row[0]: row[1] for row in rows}
        return {"planned": planned, "plan_pure": plan_pure, "plan_total": plan_total,
                "replan_total": replan_total, "send_total": send_total, "report": report,
                "by_status": by_status}
    finally:
        await core.close()


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--members", type=int, default=50_000)
    p.add_argument("--rate", type=int, default=1000, help="AIORateLimiter messages/s")
    p.add_argument("--in-flight", type=int, default=100, help="reminders.in_flight")
    p.add_argument("--batch", type=int, default=2000, help="due rows loaded per query")
    p.add_argument("--dir", type=Path, help="where the database goes (default: a temp dir)")
    p.add_argument("--plan-only", action="store_true", help="plan, re-plan, and stop")
    args = p.parse_args()

    ctx = multiprocessing.get_context("spawn")
    port_recv, port_send = ctx.Pipe(duplex=False)
    counts_recv, counts_send = ctx.Pipe(duplex=False)
    stop = ctx.Event()
    server = ctx.Process(target=serve, args=(port_send, stop, counts_send), daemon=True)
    server.start()
    base_url = port_recv.recv()
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        result = asyncio.run(run(args, Path(tmp), base_url))
    stop.set()
    per_chat: dict[int, int] = counts_recv.recv()
    server.join(timeout=10)

    n, rate = args.members, args.rate
    if args.plan_only:
        print(f"machine: {platform.machine()}, {multiprocessing.cpu_count()} CPUs;"
              f" Python {platform.python_version()}; SQLite {sqlite3.sqlite_version}")
        print(f"members: {n:,}; reminders planned: {result['planned']:,}")
        print(f"planning, pure planner:           {result['plan_pure']:.2f} s")
        print(f"planning, planner + SQLite:       {result['plan_total']:.2f} s   (target ≤ 2 s)")
        print(f"re-planning, nothing changed:     {result['replan_total']:.2f} s")
        return 0
    expected = {FIRST_CHAT + i for i in range(1, n + 1)}
    duplicates = sum(c - 1 for c in per_chat.values() if c > 1)
    misses = len(expected - set(per_chat))
    ideal = n / rate
    ratio = result["send_total"] / ideal
    report = result["report"]
    print(f"machine: {platform.machine()} {platform.processor() or ''}, "
          f"{multiprocessing.cpu_count()} CPUs; Python {platform.python_version()}; "
          f"SQLite {sqlite3.sqlite_version}")
    print(f"members: {n:,}; reminders planned: {result['planned']:,} "
          f"(invite, nudges, due day, overdue per member; officer reminders)")
    print(f"planning, pure planner:           {result['plan_pure']:.2f} s")
    print(f"planning, planner + SQLite:       {result['plan_total']:.2f} s   (target ≤ 2 s)")
    print(f"re-planning, nothing changed:     {result['replan_total']:.2f} s")
    print(f"sending: rate limit {rate}/s, in_flight {args.in_flight}; sent {report.sent:,}, "
          f"failed {report.failed}, retried {report.retry}; statuses {result['by_status']}")
    print(f"delivery: {result['send_total']:.2f} s; ideal {ideal:.2f} s; "
          f"ratio {ratio:.3f}   (target ≤ 1.05)")
    print(f"duplicates: {duplicates}; misses: {misses}   (target 0 and 0)")
    return 0 if duplicates == 0 and misses == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
