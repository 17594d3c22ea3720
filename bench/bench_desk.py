"""The secretary's tracker and a member's card in SQL statements, for a cell of N members.

    .venv/bin/python bench/bench_desk.py --members 50

The cell is the tests' seeded cell (a member, a leader, a secretary) grown to N members: most
with a review and three answers, one in five a leader, one in three with a point from the
committee, and one collective shortcoming. The secretary presses the tracker, then a member's
card, twice each; the statements of the second press are counted (SQLite's trace callback on
every connection; BEGIN, COMMIT, SAVEPOINT, RELEASE, ROLLBACK and PRAGMA left out). Counting
is behaviour, not timing: ``tests/test_desk_queries.py`` pins that it does not grow with N.
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.screens import Button, DeskAction, desk_press
from handlers.wiring import build_core
from tests.conftest import FixedClock, make_settings, seed
from tests.test_desk_queries import grow
from tests.test_review import linked

CONTROL = ("BEGIN", "COMMIT", "SAVEPOINT", "RELEASE", "ROLLBACK", "PRAGMA")


async def trace(db: Any, callback: Any) -> None:
    """Trace every statement of the engine's SQLite connections (this engine's two, or the
    aiosqlite connection of versions before issue 10, from its own thread)."""
    conns: list[sqlite3.Connection] = [
        c for c in (getattr(db, "_writer", None), getattr(db, "_reader", None)) if c]
    for conn in conns:
        conn.set_trace_callback(callback)
    if not conns:
        await db.conn.set_trace_callback(callback)


async def main(members: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        core = build_core(make_settings(Path(tmp)), FixedClock())
        await core.open()
        try:
            s = await seed(core)
            secretary = await linked(core, s, s.secretary_id, "sec")
            await grow(core, s, members)
            seen: list[str] = []
            await trace(core.db, seen.append)
            for name, action, target in (("tracker", DeskAction.TRACKER, 0),
                                         ("card", DeskAction.MEMBER, s.member_id)):
                button = Button("x", desk_press(action, target))
                await secretary.press(button)
                seen.clear()
                await secretary.press(button)
                statements = [q for q in seen if not q.lstrip().upper().startswith(CONTROL)]
                print(f"{name:8} {len(statements):4d} statements ({members}-member cell)")
        finally:
            await core.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=50)
    asyncio.run(main(parser.parse_args().members))
