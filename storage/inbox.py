"""The inbox: every update a channel delivers, stored before the channel is told it arrived.

Callers group writes in ``transaction()``, as everywhere in ``storage``. One process reads the
pending rows itself (``handlers.tg.inbox``); on PostgreSQL several worker processes claim one
chat at a time instead (``storage.chats``, ``handlers.worker``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from storage.db import Queries, marks
from storage.outbox import ts

# PostgreSQL: the channel NOTIFY'd when updates are stored, which idle workers LISTEN on.
CHANNEL_NOTICE = "tusoi_inbox"

@dataclass(frozen=True)
class InboxRow:
    id: int
    channel: str
    update_key: str
    chat_key: str
    payload: str
    attempts: int = 0


ROW_COLUMNS = "id, channel, update_key, chat_key, payload, attempts"


def inbox_row(row: Any) -> InboxRow:
    """An ``inbox`` row selected with ``ROW_COLUMNS``."""
    return InboxRow(row["id"], row["channel"], row["update_key"], row["chat_key"],
                    row["payload"], row["attempts"])


@dataclass(frozen=True)
class Arrival:
    """An update as it arrives, before it has a row id."""

    update_key: str
    chat_key: str
    payload: str


_ts = ts


class InboxStore(Queries):
    async def add(self, channel: str, arrivals: Sequence[Arrival], now: datetime) -> list[InboxRow]:
        """Store what is new; return only the rows inserted (a repeated delivery is ignored)."""
        added: list[InboxRow] = []
        for arrival in arrivals:
            rows = await self._all(
                "INSERT INTO inbox (channel, update_key, chat_key, payload, received_at)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (channel, update_key) DO NOTHING"
                " RETURNING id",
                (channel, arrival.update_key, arrival.chat_key, arrival.payload, _ts(now)),
            )
            if rows:
                added.append(InboxRow(rows[0]["id"], channel, arrival.update_key,
                                      arrival.chat_key, arrival.payload))
        chats = sorted({row.chat_key for row in added})
        await self._many("INSERT INTO inbox_chats (channel, chat_key) VALUES (?, ?)"
                         " ON CONFLICT (channel, chat_key) DO NOTHING",
                         [(channel, chat) for chat in chats])
        return added

    async def announce(self) -> None:
        """Wake the workers waiting for updates (PostgreSQL: a NOTIFY, delivered when the
        caller's transaction commits; SQLite has one process, which already knows)."""
        if self.db.kind == "postgres":
            await self._one("SELECT pg_notify(?, '') AS sent", (CHANNEL_NOTICE,))

    async def pending(self, channel: str) -> list[InboxRow]:
        """Rows not yet handled, oldest first."""
        rows = await self._all(
            f"SELECT {ROW_COLUMNS} FROM inbox WHERE channel = ? AND state = 'pending'"
            " ORDER BY id", (channel,))
        return [inbox_row(r) for r in rows]

    async def count_start(self, channel: str) -> None:
        """A process starts and finds these rows pending: count the attempt."""
        await self._run(
            "UPDATE inbox SET attempts = attempts + 1 WHERE channel = ? AND state = 'pending'",
            (channel,),
        )

    async def mark_done(self, ids: Sequence[int], now: datetime) -> None:
        """Handled: forget the payload (it holds what the member wrote), keep the key."""
        for start in range(0, len(ids), 500):
            part = list(ids[start:start + 500])
            listed = marks(part)
            await self._run(
                f"UPDATE inbox SET state = 'done', done_at = ?, payload = NULL"
                f" WHERE id IN ({listed})",
                (_ts(now), *part),
            )

    async def set_aside(self, ids: Sequence[int], now: datetime) -> None:
        """Rows that kept failing: never handled again, payload dropped."""
        for row_id in ids:
            await self._run(
                "UPDATE inbox SET state = 'failed', done_at = ?, payload = NULL WHERE id = ?",
                (_ts(now), row_id),
            )

    async def forget_before(self, cutoff: datetime) -> None:
        """Drop handled rows older than ``cutoff`` (a channel redelivers for a day at most)."""
        await self._run(
            "DELETE FROM inbox WHERE state != 'pending' AND done_at < ?", (_ts(cutoff),)
        )
