"""Zalo figures: typed answers through the whole Zalo path (the fake Zalo over HTTP, polling
or webhook, the inbox with a durable commit per event, the core, replies cut at 2,000
characters), the page-1 preview, and the dead-link page. Printed, never asserted.

    .venv/bin/python bench/bench_zalo.py [--members 10] [--mode polling|webhook]
"""

from __future__ import annotations

import argparse
import asyncio
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx

from bot.compose import sample_2025_context
from bot.draft import TEMPLATE_2025, render_draft
from handlers import preview
from tests.zalohelpers import running_zalo_bot

ITEMS = 27


async def walk(members: int, mode: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        async with running_zalo_bot(Path(tmp), mode=mode) as h:
            users = []
            for n in range(members):
                async with h.core.store.transaction():
                    member_id = await h.core.store.add_member(h.seed.cell_id, f"Đảng viên {n}",
                                                              h.clock.now())
                    await h.core.store.link_account("zalo", f"bench{n:04d}", member_id,
                                                    h.clock.now())
                users.append(f"bench{n:04d}")
                h.fake._users[users[-1]] = f"Đảng viên {n}"
                await h.say(users[-1], "/tieptuc")
            latencies: list[float] = []

            async def member(user: str) -> None:
                for _ in range(ITEMS):
                    start = time.perf_counter()
                    await h.say(user, "1")
                    latencies.append(time.perf_counter() - start)

            start = time.perf_counter()
            await asyncio.gather(*(member(u) for u in users))
            took = time.perf_counter() - start
            sent = len(h.fake.calls("sendMessage"))
            dead = []
            async with httpx.AsyncClient() as client:
                for _ in range(50):
                    t0 = time.perf_counter()
                    await client.get(f"{h.base}/d/{'A' * 43}")
                    dead.append(time.perf_counter() - t0)
    answers = members * ITEMS
    latencies.sort()
    print(f"zalo {mode}: {members} members x {ITEMS} typed answers = {answers} in {took:.2f} s"
          f" -> {answers / took:.0f} answers/s; latency p50 {latencies[len(latencies) // 2] * 1000:.0f}"
          f" ms, p99 {latencies[int(len(latencies) * 0.99) - 1] * 1000:.0f} ms;"
          f" {sent} sendMessage calls")
    print(f"dead download link: median {statistics.median(dead) * 1000:.1f} ms over 50")


def previews(runs: int) -> None:
    if not preview.available():
        print("preview: LibreOffice not installed")
        return
    docx = render_draft(TEMPLATE_2025, sample_2025_context())
    times, size = [], 0
    for _ in range(runs):
        t0 = time.perf_counter()
        size = len(preview.first_page_png(docx))
        times.append(time.perf_counter() - t0)
    print(f"preview of page 1 (2B sample draft): median {statistics.median(times):.2f} s,"
          f" min {min(times):.2f} s over {runs}; PNG {size / 1024:.0f} KiB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=10)
    parser.add_argument("--mode", choices=("polling", "webhook"), default="polling")
    parser.add_argument("--previews", type=int, default=3)
    args = parser.parse_args()
    print(f"{platform.platform()}, {platform.python_version()}, cores: "
          f"{len(__import__('os').sched_getaffinity(0))}")
    asyncio.run(walk(args.members, args.mode))
    previews(args.previews)


if __name__ == "__main__":
    main()
