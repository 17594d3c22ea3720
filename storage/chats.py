"""Claiming one chat of the inbox at a time, for several worker processes (PostgreSQL).

A worker claims a chat by locking its row of ``inbox_chats`` (``FOR UPDATE SKIP LOCKED``) in
a transaction on a connection of its own, and keeps it locked while it handles the chat's
pending rows in ``id`` (arrival) order. Each row is marked done, on another connection and
committed at once, after its handling has finished. So:

* two workers never handle one chat at the same time, and one chat's rows never overtake each
  other;
* a worker killed mid-chat loses its connection; PostgreSQL rolls its claim back and releases
  the lock, and the rows not yet marked done are handled by the next worker that claims the
  chat. The core's ``processed_events`` claim, taken in the answer's own transaction, makes a
  second handling of an update whose answer had committed change nothing (the member is shown
  where they stand);
* the core's own transactions run on other pooled connections and commit on their own: a
  reply is still sent only after its answer is durable.

Candidates are the chats with the oldest pending rows first, for fairness. ``attempts`` counts
the times a row was handed over; a row handed over more than ``MAX_ATTEMPTS`` times (it
kills its worker every time) is set aside, as the single-process inbox does at start-up.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from storage.inbox import ROW_COLUMNS, InboxRow, InboxStore, inbox_row
from storage.pg import PgDatabase

# A row handed over this many times without being done is set aside. Higher than the single
# process's three starts: a worker killed from outside (a deploy, the OOM killer, the soak
# test's SIGKILLs every second) takes up to one row per slot with it, and a busy row can be
# caught by a few kills in a row; an update that kills every worker it reaches costs at most
# this many worker restarts.
MAX_ATTEMPTS = 10
CANDIDATES = 16


@dataclass
class Claimed:
    """A chat held by this worker until the ``claim`` block ends."""

    channel: str
    chat_key: str
    conn: Any  # the connection whose transaction holds the lock


class ChatClaims:
    """Claims on connections of their own (``open``: one per slot), never the pool the core's
    transactions use: a slot holds its claim while its update's transaction runs."""

    def __init__(self, db: PgDatabase) -> None:
        self.db = db
        self.inbox = InboxStore(db)
        self._pool: AsyncConnectionPool[Any] | None = None

    async def open(self, slots: int) -> None:
        pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
            self.db.url, min_size=1, max_size=max(slots, 1), open=False,
            kwargs={"autocommit": True, "row_factory": dict_row}, name="tusoi-claims")
        await pool.open(wait=True, timeout=30)
        self._pool = pool

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    @asynccontextmanager
    async def _connection(self) -> AsyncIterator[Any]:
        if self._pool is None:
            async with self.db.connection() as conn:  # tests: claims borrowed from the engine
                yield conn
        else:
            async with self._pool.connection() as conn:
                yield conn

    @asynccontextmanager
    async def claim(self, channels: Sequence[str]) -> AsyncIterator[Claimed | None]:
        """The chat with the oldest pending update that no other worker holds (None: none).
        The lock is held until the block ends."""
        async with self._connection() as conn, conn.transaction():
            cur = await conn.execute(
                "SELECT channel, chat_key, MIN(id) AS first FROM inbox"
                " WHERE state = 'pending' AND channel = ANY(%s)"
                " GROUP BY channel, chat_key ORDER BY first LIMIT %s",
                (list(channels), CANDIDATES))
            for candidate in await cur.fetchall():
                locked = await conn.execute(
                    "SELECT chat_key FROM inbox_chats WHERE channel = %s AND chat_key = %s"
                    " FOR UPDATE SKIP LOCKED", (candidate["channel"], candidate["chat_key"]))
                if await locked.fetchone() is not None:
                    yield Claimed(candidate["channel"], candidate["chat_key"], conn)
                    return
            yield None

    async def pending(self, claimed: Claimed) -> list[InboxRow]:
        """The claimed chat's pending rows, in arrival order."""
        cur = await claimed.conn.execute(
            f"SELECT {ROW_COLUMNS} FROM inbox"
            " WHERE state = 'pending' AND channel = %s AND chat_key = %s ORDER BY id",
            (claimed.channel, claimed.chat_key))
        return [inbox_row(r) for r in await cur.fetchall()]

    async def hand_over(self, row_id: int) -> int:
        """Count the row as handed over (committed at once, so a worker it kills still counts
        it); return how many times it has been."""
        row = await self.db.fetch_one("UPDATE inbox SET attempts = attempts + 1 WHERE id = ?"
                                " RETURNING attempts", (row_id,))
        return int(row["attempts"]) if row else 0

    async def done(self, row_id: int, now: datetime) -> None:
        """Handled: committed at once (not with the claim)."""
        await self.inbox.mark_done([row_id], now)

    async def set_aside(self, row_id: int, now: datetime) -> None:
        await self.inbox.set_aside([row_id], now)
