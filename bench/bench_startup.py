"""Benchmark: how long tusoi takes from a cold start to its first ``getUpdates``, and its memory
then, with a province-sized database.

    .venv/bin/python bench/bench_startup.py --members 100000 --cell-size 50

**The database**: ``--members`` members in cells of ``--cell-size`` (100,000 in 2,000 cells by
default), every cell with an open round, every member linked on Telegram; half of them have
started their review and one in ten has submitted. It is written once with plain SQL, then
tusoi starts on it twice, each time in a fresh process (``python bench_startup.py --child``):

* **first start**: no reminder was ever planned, so every open round is planned and written;
* **restart**: the same database again, nothing changed: what every later start costs.

Each start is timed in the child from its first line (before ``import telegram``) to the
moment the fake Bot API sees the first ``getUpdates``; the resident set (max RSS) is read at
that moment. The reminders of every open round are planned meanwhile, in the background, by
the sender's loop: the time until that plan is done is printed too. The Bot API is faked in the child's process (``bench_flow.FakeBotApi``), so no
network time is counted. ``--compare 1000`` also runs everything at 1,000 members. Timings are
printed, never asserted.
"""

from __future__ import annotations

import time

STARTED = time.perf_counter()  # before any heavy import: the child's clock starts here

import argparse
import asyncio
import dataclasses
import json
import logging
import os
import platform
import resource
import sqlite3
import subprocess
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
FIRST_CHAT = 20_000_000
TOKEN = "123456:BENCH-TOKEN"
RECORDED = False  # --recorded


# ------------------------------------------------------------------ the database

def seed(path: Path, members: int, cell_size: int) -> None:
    """The province, written with plain SQL into a database tusoi has migrated."""
    asyncio.run(migrate(path))
    fill(path, members, cell_size)


async def migrate(path: Path) -> None:
    from storage.db import Database

    db = Database(path)
    await db.open()
    await db.close()


def fill(path: Path, members: int, cell_size: int) -> None:
    """``members`` members (ids 1…) in cells of ``cell_size`` with open rounds, all linked."""
    now = datetime.now(UTC)
    stamp = now.isoformat()
    meeting = (now + timedelta(days=21)).date()
    due = meeting - timedelta(days=8)
    cells = (members + cell_size - 1) // cell_size
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("BEGIN")
    conn.executemany("INSERT INTO cells (id, name, created_at) VALUES (?, ?, ?)",
                     [(c, f"Chi bộ {c:05d}", stamp) for c in range(1, cells + 1)])
    conn.executemany(
        "INSERT INTO members (id, cell_id, full_name, role, is_leader, category, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        [(m, (m - 1) // cell_size + 1, f"Đảng viên {m:06d}",
          "secretary" if (m - 1) % cell_size == 0 else "member", int(m % 7 == 0),
          "leader" if m % 7 == 0 else "no_post", stamp) for m in range(1, members + 1)])
    conn.executemany(
        "INSERT INTO accounts (channel, external_id, member_id, linked_at)"
        " VALUES ('telegram', ?, ?, ?)",
        [(str(FIRST_CHAT + m), m, stamp) for m in range(1, members + 1)])
    conn.executemany(
        "INSERT INTO rounds (id, cell_id, year, title, meeting_date, member_due, created_at,"
        " form_id) VALUES (?, ?, ?, ?, ?, ?, ?, 'form-02-2023')",
        [(c, c, meeting.year, f"Kiểm điểm năm {meeting.year}", meeting.isoformat(),
          due.isoformat(), stamp) for c in range(1, cells + 1)])
    conn.executemany(
        "INSERT INTO reviews (round_id, member_id, status, submitted_version, created_at)"
        " VALUES (?, ?, ?, ?, ?)",
        [((m - 1) // cell_size + 1, m, "submitted" if m % 10 == 0 else "in_progress",
          int(m % 10 == 0), stamp) for m in range(1, members + 1) if m % 2 == 0])
    if RECORDED:  # as if every submission's level and score had been recorded already
        conn.execute("UPDATE reviews SET self_level = 'good', self_score = 90"
                     " WHERE submitted_version > 0")
    conn.execute("COMMIT")
    conn.close()


# ------------------------------------------------------------------ one start (the child)

async def start_once(path: Path) -> dict[str, Any]:
    from bench_flow import FakeBotApi
    from telegram.request import RequestData

    from bot.config import DatabaseSettings, Settings, TelegramSettings
    from handlers.tg.app import build_application, running
    from handlers.wiring import build_core

    first_poll = asyncio.Event()
    polled_at: list[float] = []

    class Api(FakeBotApi):
        async def do_request(self, url: str, method: str,
                             request_data: RequestData | None = None,
                             *args: Any, **kwargs: Any) -> tuple[int, bytes]:
            if url.endswith("/getUpdates"):
                if not polled_at:
                    polled_at.append(time.perf_counter())
                    first_poll.set()
                await asyncio.sleep(0.05)
                return 200, b'{"ok": true, "result": []}'
            return await super().do_request(url, method, request_data, *args, **kwargs)

    settings = dataclasses.replace(
        Settings(), database=DatabaseSettings(path=str(path), durable=True),
        telegram=dataclasses.replace(TelegramSettings(), token=TOKEN))
    core = build_core(settings)
    app = build_application(core, request=Api(), rate_limit=False)
    async with running(app):
        await first_poll.wait()
        rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        # Then the reminders of every open round, planned by the sender's loop meanwhile.
        while getattr(core.delivery, "_plan_first", False):  # set until that plan is done
            await asyncio.sleep(0.01)
        planned_at = time.perf_counter()
        row = await core.db.fetch_one(
            "SELECT COUNT(*) AS n FROM outbox WHERE kind != 'notice'")
        planned = int(row["n"]) if row else 0
    return {"to_poll": polled_at[0] - STARTED, "rss_mb": rss_mb, "planned": planned,
            "to_planned": planned_at - STARTED,
            "rss_planned_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


# ------------------------------------------------------------------ the parent

def child(path: Path) -> dict[str, Any]:
    out = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--child", str(path)],
                         check=True, capture_output=True, text=True)
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def measure(workdir: Path, members: int, cell_size: int) -> list[tuple[str, dict[str, Any]]]:
    path = workdir / f"startup-{members}.sqlite3"
    t0 = time.perf_counter()
    seed(path, members, cell_size)
    seeded = time.perf_counter() - t0
    size = path.stat().st_size / 2**20
    print(f"\n{members:,} members in {(members + cell_size - 1) // cell_size:,} cells"
          f" ({size:.0f} MiB, written in {seeded:.1f} s)")
    results = []
    for label in ("first start (plans every round)", "restart (nothing changed)"):
        result = child(path)
        results.append((label, result))
        print(f"  {label:<34} {result['to_poll']:6.2f} s to the first getUpdates"
              f" (max RSS {result['rss_mb']:4.0f} MB); every round planned by"
              f" {result['to_planned']:6.2f} s ({result['planned']:,} reminders,"
              f" max RSS {result['rss_planned_mb']:4.0f} MB)")
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--cell-size", type=int, default=50)
    parser.add_argument("--compare", type=int, default=0,
                        help="also run at this many members (e.g. 1000)")
    parser.add_argument("--dir", type=Path, default=None, help="where the files go")
    parser.add_argument("--recorded", action="store_true",
                        help="submitted reviews already have their level and score recorded"
                             " (else every start records them again: see bench/README.md)")
    parser.add_argument("--child", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    global RECORDED
    RECORDED = args.recorded
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if args.child is not None:
        sys.path.insert(0, str(HERE))
        print(json.dumps(asyncio.run(start_once(args.child))))
        return 0
    print("tusoi start-up: cold start to the first getUpdates")
    print(f"  date      {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    print(f"  machine   {os.cpu_count()} CPUs, {platform.platform()}")
    print(f"  python    {platform.python_version()}, SQLite {sqlite3.sqlite_version};"
          " WAL, synchronous=FULL")
    with tempfile.TemporaryDirectory(prefix="tusoi-startup-", dir=args.dir) as tmp:
        for members in filter(None, (args.compare, args.members)):
            measure(Path(tmp), members, args.cell_size)
    return 0


if __name__ == "__main__":
    sys.exit(main())
