"""Planned reminders in SQLite: small explicit queries behind the sender and the planner.

Status runs planned → sending → sent (or dropped / failed). A row is marked ``sending`` and
committed before the message leaves, and ``sent`` after, so a crash can never make the same
reminder go out twice: what is left ``sending`` at start-up is counted as sent.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime


from bot.reminders import DueReminder, Kind, Planned, Recipient
from storage.db import Database, Queries


def _ts(value: datetime) -> str:
    """Fixed-width UTC text, so comparing the text compares the moments."""
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def _dt(text: str) -> datetime:
    return datetime.fromisoformat(text)


@dataclass(frozen=True)
class DueRow:
    """A due reminder with what it takes to decide, address and word it."""

    reminder: DueReminder
    round_id: int
    member_id: int
    subject_id: int | None
    attempts: int
    chat_id: str | None
    full_name: str
    cell_id: int
    round_title: str
    meeting: date


@dataclass(frozen=True)
class TallyLine:
    member_id: int
    full_name: str
    linked: bool
    unreachable: bool
    done: bool
    joined_on: date | None = None
    standing: str | None = None


class ReminderStore(Queries):
    """Reminder rows for one sending channel (``telegram``)."""

    def __init__(self, db: Database, channel: str = "telegram") -> None:
        super().__init__(db)
        self.channel = channel


    # ------------------------------------------------------------- planning inputs

    async def round_dates_input(self, round_id: int) -> tuple[datetime, date, date, bool] | None:
        rows = await self._all(
            "SELECT created_at, meeting_date, member_due, status FROM rounds WHERE id = ?",
            (round_id,),
        )
        if not rows:
            return None
        r = rows[0]
        return (_dt(r["created_at"]), date.fromisoformat(r["meeting_date"]),
                date.fromisoformat(r["member_due"]), r["status"] == "open")

    async def recipients(self, round_id: int) -> list[Recipient]:
        """Active members of the round's cell who are linked on this channel."""
        rows = await self._all(
            "SELECT m.id, m.role, m.joined_on, m.standing, a.unreachable_at,"
            " EXISTS (SELECT 1 FROM reviews v WHERE v.round_id = r.id AND v.member_id = m.id"
            "         AND v.status = 'submitted') AS done"
            " FROM rounds r JOIN members m ON m.cell_id = r.cell_id AND m.active = 1"
            " JOIN accounts a ON a.member_id = m.id AND a.channel = ?"
            " WHERE r.id = ? GROUP BY m.id ORDER BY m.id",
            (self.channel, round_id),
        )
        return [Recipient(r["id"], bool(r["done"]), r["unreachable_at"] is None,
                          r["role"] in ("secretary", "deputy"),
                          joined_on=date.fromisoformat(r["joined_on"]) if r["joined_on"] else None,
                          standing=r["standing"]) for r in rows]

    async def open_rounds(self) -> list[int]:
        return [r["id"] for r in await self._all("SELECT id FROM rounds WHERE status = 'open'")]

    async def move_round(self, round_id: int, meeting: date, member_due: date) -> None:
        """A new meeting date; callers re-plan right after, in the same transaction."""
        await self.db.conn.execute(
            "UPDATE rounds SET meeting_date = ?, member_due = ? WHERE id = ?",
            (meeting.isoformat(), member_due.isoformat(), round_id),
        )

    # ------------------------------------------------------------- the plan

    async def replace_plan(
        self, round_id: int, planned: Sequence[Planned], member_id: int | None = None
    ) -> None:
        """Make the round's unsent rows (only ``member_id``'s, if given) match ``planned``:
        insert new ids, move the time of rows still planned, delete planned rows that are no
        longer wanted. Rows that were sent, are being sent or were dropped are never
        touched."""
        conn = self.db.conn
        async with self.db.transaction():
            await conn.execute("CREATE TEMP TABLE IF NOT EXISTS wanted (id TEXT PRIMARY KEY)")
            await conn.execute("DELETE FROM temp.wanted")
            await conn.executemany("INSERT OR IGNORE INTO temp.wanted (id) VALUES (?)",
                                   [(p.id,) for p in planned])
            await conn.executemany(
                "INSERT INTO reminders (id, round_id, member_id, kind, subject_id, due_at, wake_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (id) DO UPDATE SET due_at = excluded.due_at,"
                " wake_at = excluded.wake_at"
                " WHERE reminders.status = 'planned' AND reminders.due_at != excluded.due_at",
                [(p.id, p.round_id, p.member_id, p.kind.value, p.subject_id,
                  _ts(p.due_at), _ts(p.due_at)) for p in planned],
            )
            await conn.execute(
                "DELETE FROM reminders WHERE round_id = ? AND status = 'planned'"
                " AND kind != ? AND id NOT IN (SELECT id FROM temp.wanted)"
                " AND (? IS NULL OR member_id = ?)",
                (round_id, Kind.UNREACHABLE.value, member_id, member_id),
            )
            await conn.execute("DELETE FROM temp.wanted")

    async def add_notices(self, notices: Sequence[Planned]) -> None:
        """One-off rows (e.g. "a member blocked the bot"); an id already there is kept."""
        await self.db.conn.executemany(
            "INSERT OR IGNORE INTO reminders"
            " (id, round_id, member_id, kind, subject_id, due_at, wake_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            [(p.id, p.round_id, p.member_id, p.kind.value, p.subject_id,
              _ts(p.due_at), _ts(p.due_at)) for p in notices],
        )

    # ------------------------------------------------------------- sending

    async def due(self, now: datetime, limit: int) -> list[DueRow]:
        """Planned rows whose wake-up time has come, oldest first, with their facts."""
        rows = await self._all(
            "SELECT x.*, r.status AS round_status, r.title, r.meeting_date, r.member_due,"
            " r.cell_id, m.full_name, m.active,"
            " (SELECT a.external_id FROM accounts a WHERE a.member_id = x.member_id"
            "  AND a.channel = ? ORDER BY a.linked_at DESC LIMIT 1) AS chat_id,"
            " (SELECT a.unreachable_at FROM accounts a WHERE a.member_id = x.member_id"
            "  AND a.channel = ? ORDER BY a.linked_at DESC LIMIT 1) AS unreachable_at,"
            " v.status AS review_status"
            " FROM reminders x JOIN rounds r ON r.id = x.round_id"
            " JOIN members m ON m.id = x.member_id"
            " LEFT JOIN reviews v ON v.round_id = x.round_id AND v.member_id = x.member_id"
            " WHERE x.status = 'planned' AND x.wake_at <= ?"
            " ORDER BY x.wake_at, x.id LIMIT ?",
            (self.channel, self.channel, _ts(now), limit),
        )
        result = []
        for r in rows:
            reminder = DueReminder(
                id=r["id"], kind=Kind(r["kind"]), due_at=_dt(r["due_at"]),
                round_open=r["round_status"] == "open",
                member_due=date.fromisoformat(r["member_due"]),
                done=r["review_status"] == "submitted", started=r["review_status"] is not None,
                reachable=bool(r["active"]) and r["chat_id"] is not None
                and r["unreachable_at"] is None,
            )
            result.append(DueRow(reminder, r["round_id"], r["member_id"], r["subject_id"],
                                 r["attempts"], r["chat_id"], r["full_name"], r["cell_id"],
                                 r["title"], date.fromisoformat(r["meeting_date"])))
        return result

    async def mark_sending(self, ids: Sequence[str]) -> None:
        await self.db.conn.executemany(
            "UPDATE reminders SET status = 'sending', attempts = attempts + 1"
            " WHERE id = ? AND status = 'planned'", [(i,) for i in ids])

    async def mark_sent(self, ids: Sequence[str], now: datetime, note: str | None = None) -> None:
        await self.db.conn.executemany(
            "UPDATE reminders SET status = 'sent', sent_at = ?, note = ? WHERE id = ?",
            [(_ts(now), note, i) for i in ids])

    async def mark_dropped(self, ids: Sequence[str], reason: str) -> None:
        await self.db.conn.executemany(
            "UPDATE reminders SET status = 'dropped', note = ? WHERE id = ? AND status = 'planned'",
            [(reason, i) for i in ids])

    async def mark_failed(self, ids: Sequence[str], reason: str) -> None:
        await self.db.conn.executemany(
            "UPDATE reminders SET status = 'failed', note = ? WHERE id = ?",
            [(reason, i) for i in ids])

    async def postpone(self, ids: Sequence[str], until: datetime, note: str | None = None) -> None:
        """Back to planned, not before ``until`` (quiet hours, a retry after an error)."""
        await self.db.conn.executemany(
            "UPDATE reminders SET status = 'planned', wake_at = ?, note = COALESCE(?, note)"
            " WHERE id = ? AND status IN ('planned', 'sending')",
            [(_ts(until), note, i) for i in ids])

    async def resolve_in_flight(self, now: datetime) -> int:
        """Rows a crash left ``sending`` count as sent: their message may have gone out, and
        a reminder lost is better than a reminder doubled."""
        async with self.db.transaction():
            cursor = await self.db.conn.execute(
                "UPDATE reminders SET status = 'sent', sent_at = ?,"
                " note = 'in flight when the bot stopped; not resent' WHERE status = 'sending'",
                (_ts(now),),
            )
            return cursor.rowcount

    async def next_wake(self) -> datetime | None:
        rows = await self._all(
            "SELECT MIN(wake_at) AS w FROM reminders WHERE status = 'planned'")
        return _dt(rows[0]["w"]) if rows and rows[0]["w"] else None

    # ------------------------------------------------------------- people

    async def mark_unreachable(self, chat_id: str, now: datetime) -> int | None:
        """The person behind ``chat_id`` blocked the bot; return their member id the first
        time (None if already marked or unknown)."""
        row = await self._one(
            "UPDATE accounts SET unreachable_at = ? WHERE channel = ? AND external_id = ?"
            " AND unreachable_at IS NULL RETURNING member_id",
            (_ts(now), self.channel, chat_id),
        )
        return int(row["member_id"]) if row else None

    async def is_unreachable(self, chat_id: str) -> bool:
        rows = await self._all(
            "SELECT 1 FROM accounts WHERE channel = ? AND external_id = ?"
            " AND unreachable_at IS NOT NULL", (self.channel, chat_id))
        return bool(rows)

    async def clear_unreachable(self, chat_id: str) -> bool:
        """The person wrote to the bot again: reachable once more."""
        cursor = await self.db.conn.execute(
            "UPDATE accounts SET unreachable_at = NULL WHERE channel = ? AND external_id = ?"
            " AND unreachable_at IS NOT NULL", (self.channel, chat_id),
        )
        return cursor.rowcount > 0

    async def officers(self, cell_id: int) -> list[int]:
        rows = await self._all(
            "SELECT id FROM members WHERE cell_id = ? AND active = 1"
            " AND role IN ('secretary', 'deputy') ORDER BY id", (cell_id,))
        return [r["id"] for r in rows]

    async def tally(self, round_id: int) -> list[TallyLine]:
        """Every active member of the round's cell: linked? reachable? submitted?"""
        rows = await self._all(
            "SELECT m.id, m.full_name, m.joined_on, m.standing,"
            " EXISTS (SELECT 1 FROM accounts a WHERE a.member_id = m.id) AS linked,"
            " EXISTS (SELECT 1 FROM accounts a WHERE a.member_id = m.id AND a.channel = ?"
            "         AND a.unreachable_at IS NOT NULL) AS unreachable,"
            " EXISTS (SELECT 1 FROM reviews v WHERE v.round_id = r.id AND v.member_id = m.id"
            "         AND v.status = 'submitted') AS done"
            " FROM rounds r JOIN members m ON m.cell_id = r.cell_id AND m.active = 1"
            " WHERE r.id = ? ORDER BY m.full_name COLLATE NOCASE, m.id",
            (self.channel, round_id),
        )
        return [TallyLine(r["id"], r["full_name"], bool(r["linked"]), bool(r["unreachable"]),
                          bool(r["done"]),
                          date.fromisoformat(r["joined_on"]) if r["joined_on"] else None,
                          r["standing"]) for r in rows]

    async def statuses(self, round_id: int | None = None) -> dict[str, str]:
        """id → status, for tests and the operator."""
        where, params = ("WHERE round_id = ?", (round_id,)) if round_id is not None else ("", ())
        rows = await self._all(f"SELECT id, status FROM reminders {where}", params)
        return {r["id"]: r["status"] for r in rows}
