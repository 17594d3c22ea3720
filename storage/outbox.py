"""The outbox: notices queued with the change that causes them, planned reminders,
and the small queries behind the one sender (``bot.delivery.Sender``) and the planner.

Status runs planned → sending → sent (or dropped / failed). A row is marked ``sending`` and
committed before the message leaves, and ``sent`` after, so a crash can never make the same
message go out twice: what is left ``sending`` at start-up is counted as sent. Methods never
open a transaction: callers group them in ``transaction()``. The SQL runs on SQLite and
PostgreSQL alike (``storage.engine``); one sender at a time per bot token (on PostgreSQL the
leader of ``handlers.worker``), so claiming needs no row locks.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from datetime import UTC, date, datetime

from bot.delivery import NOTICE, Notice, OutboxRow, TallyLine, dump_context
from bot.models import Submission
from bot.reminders import DueReminder, Kind, Planned, Recipient
from bot.screens import SubmissionRef
from storage.db import Queries, by_name, marks
from storage.engine import Row

_SEP = "\x1f"  # between channel and external id in one column


def ts(value: datetime) -> str:
    """Fixed-width UTC text, so comparing the text compares the moments: the one encoding of
    a moment in every table, on both engines."""
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def _dt(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _ref(text: str | None) -> SubmissionRef | None:
    if not text:
        return None
    data = json.loads(text)
    return SubmissionRef(int(data["review_id"]), int(data["version"]))


class OutboxStore(Queries):
    """``bot.delivery.Outbox``, ``bot.delivery.NoticeQueue`` and ``bot.reminders.ReminderRepo``."""

    def transaction(self) -> AbstractAsyncContextManager[None]:
        return self.db.transaction()

    # ------------------------------------------------------------- queueing

    async def enqueue(self, notices: Sequence[Notice], now: datetime) -> None:
        rows = []
        for notice in (n.with_id() for n in notices):
            document = (json.dumps({"review_id": notice.document.review_id,
                                    "version": notice.document.version})
                        if notice.document else None)
            rows.append((notice.id, notice.round_id, notice.member_id, NOTICE, notice.template,
                         dump_context(notice.context), document, int(notice.quiet), ts(now),
                         ts(now)))
        await self._many(
            "INSERT INTO outbox (id, round_id, member_id, kind, template, context,"
            " document, quiet, due_at, wake_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (id) DO NOTHING", rows)

    async def add_planned(self, rows: Sequence[Planned]) -> None:
        await self._many(
            "INSERT INTO outbox (id, round_id, member_id, kind, subject_id, due_at,"
            " wake_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
            [(p.id, p.round_id, p.member_id, p.kind.value, p.subject_id, ts(p.due_at),
              ts(p.due_at)) for p in rows])

    # ------------------------------------------------------------- planning (ReminderRepo)

    async def round_dates_input(self, round_id: int) -> tuple[datetime, date, date, bool] | None:
        row = await self._one(
            "SELECT created_at, meeting_date, member_due, status FROM rounds WHERE id = ?",
            (round_id,))
        if row is None:
            return None
        return (_dt(row["created_at"]), date.fromisoformat(row["meeting_date"]),
                date.fromisoformat(row["member_due"]), row["status"] == "open")

    async def recipients(self, round_id: int, member_id: int | None = None) -> list[Recipient]:
        """Active members of the round's cell linked on any channel (only ``member_id``, if
        given); reachable when one of their accounts has not blocked the bot."""
        rows = await self._all(
            "SELECT m.id, m.role, m.joined_on, m.standing,"
            " EXISTS (SELECT 1 FROM accounts b WHERE b.member_id = m.id"
            "         AND b.unreachable_at IS NULL) AS reachable,"
            " EXISTS (SELECT 1 FROM reviews v WHERE v.round_id = r.id AND v.member_id = m.id"
            "         AND v.status = 'submitted') AS done"
            " FROM rounds r JOIN members m ON m.cell_id = r.cell_id AND m.active = 1"
            " WHERE r.id = ? AND (CAST(? AS BIGINT) IS NULL OR m.id = ?)"
            " AND EXISTS (SELECT 1 FROM accounts a WHERE a.member_id = m.id)"
            " ORDER BY m.id",
            (round_id, member_id, member_id))
        return [Recipient(r["id"], bool(r["done"]), bool(r["reachable"]),
                          r["role"] in ("secretary", "deputy"),
                          joined_on=date.fromisoformat(r["joined_on"]) if r["joined_on"] else None,
                          standing=r["standing"]) for r in rows]

    async def open_rounds(self) -> list[int]:
        return [r["id"] for r in await self._all("SELECT id FROM rounds WHERE status = 'open'")]

    async def replace_plan(
        self, round_id: int, planned: Sequence[Planned], member_id: int | None = None
    ) -> None:
        """Make the round's unsent reminder rows (only ``member_id``'s, if given) match
        ``planned``: insert new ids, move the time of rows still planned, delete planned rows
        no longer wanted. Rows sent, being sent or dropped, and notices, are never touched.

        The difference is worked out here, so only what changed is written: planning a round
        again with nothing changed reads its rows and writes none."""
        rows = await self._all(
            "SELECT id, due_at, status FROM outbox WHERE round_id = ? AND kind NOT IN (?, ?)"
            " AND (CAST(? AS BIGINT) IS NULL OR member_id = ?)",
            (round_id, Kind.UNREACHABLE.value, NOTICE, member_id, member_id))
        stored = {r["id"]: (r["due_at"], r["status"]) for r in rows}
        stamps: dict[datetime, str] = {}  # a round has few distinct moments: format each once
        inserts, moves = [], []
        for p in planned:
            due = stamps.get(p.due_at)
            if due is None:
                due = stamps[p.due_at] = ts(p.due_at)
            found = stored.get(p.id)
            if found is None:
                inserts.append((p.id, p.round_id, p.member_id, p.kind.value, p.subject_id, due,
                                due))
            elif found[1] == "planned" and found[0] != due:
                moves.append((due, due, p.id))
        wanted = {p.id for p in planned}
        unwanted = [(i,) for i, (_, status) in stored.items()
                    if status == "planned" and i not in wanted]
        await self._many(
            "INSERT INTO outbox (id, round_id, member_id, kind, subject_id, due_at, wake_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING", inserts)
        await self._many(
            "UPDATE outbox SET due_at = ?, wake_at = ? WHERE id = ? AND status = 'planned'",
            moves)
        await self._many("DELETE FROM outbox WHERE id = ? AND status = 'planned'", unwanted)

    # ------------------------------------------------------------- sending

    async def due(self, now: datetime, limit: int, channels: Sequence[str],
                  quiet_too: bool) -> list[OutboxRow]:
        if not channels:
            channels = [""]  # no channel running: rows come back without a target
        rows = await self._all(
            "SELECT x.*, r.status AS round_status, r.title, r.meeting_date, r.member_due,"
            " m.cell_id, m.full_name, m.active, v.status AS review_status,"
            " (SELECT a.channel || CAST(? AS TEXT) || a.external_id FROM accounts a"
            "  WHERE a.member_id = x.member_id AND a.unreachable_at IS NULL"
            f"  AND a.channel IN ({marks(channels)})"
            "  ORDER BY a.last_seen_at DESC, a.linked_at DESC LIMIT 1) AS target"
            " FROM outbox x JOIN members m ON m.id = x.member_id"
            " LEFT JOIN rounds r ON r.id = x.round_id"
            " LEFT JOIN reviews v ON v.round_id = x.round_id AND v.member_id = x.member_id"
            " WHERE x.status = 'planned' AND x.wake_at <= ? AND (? = 1 OR x.quiet = 0)"
            # A person reachable only on a channel that is not running waits for it.
            " AND (EXISTS (SELECT 1 FROM accounts t WHERE t.member_id = x.member_id"
            f"      AND t.unreachable_at IS NULL AND t.channel IN ({marks(channels)}))"
            "  OR NOT EXISTS (SELECT 1 FROM accounts w"
            "      WHERE w.member_id = x.member_id AND w.unreachable_at IS NULL))"
            " ORDER BY x.wake_at, x.id LIMIT ?",
            (_SEP, *channels, ts(now), int(quiet_too), *channels, limit))
        return [self._row(r) for r in rows]

    @staticmethod
    def _row(r: Row) -> OutboxRow:
        channel, external_id = (r["target"].split(_SEP, 1) if r["target"] else (None, None))
        reminder = None
        if r["kind"] != NOTICE:
            reminder = DueReminder(
                id=r["id"], kind=Kind(r["kind"]), due_at=_dt(r["due_at"]),
                round_open=r["round_status"] == "open",
                member_due=date.fromisoformat(r["member_due"]) if r["member_due"] else date.min,
                done=r["review_status"] == "submitted", started=r["review_status"] is not None,
                reachable=bool(r["active"]) and channel is not None,
            )
        return OutboxRow(
            id=r["id"], kind=r["kind"], member_id=r["member_id"], round_id=r["round_id"],
            subject_id=r["subject_id"], template=r["template"], context=r["context"],
            document=_ref(r["document"]), quiet=bool(r["quiet"]), attempts=r["attempts"],
            channel=channel, external_id=external_id, full_name=r["full_name"],
            cell_id=r["cell_id"], reminder=reminder, round_title=r["title"] or "",
            meeting=date.fromisoformat(r["meeting_date"]) if r["meeting_date"] else None,
        )

    async def mark_sending(self, sends: Sequence[tuple[str, str, str]]) -> list[str]:
        """Claim rows still planned for sending to (channel, external id); return the ids
        claimed (a row re-planned, dropped or deleted meanwhile is not)."""
        if not sends:
            return []
        await self._many(
            "UPDATE outbox SET status = 'sending', attempts = attempts + 1, channel = ?,"
            " external_id = ? WHERE id = ? AND status = 'planned'",
            [(channel, external_id, i) for i, channel, external_id in sends])
        ids = [i for i, _, _ in sends]
        rows = await self._all(  # by primary key, not a scan
            f"SELECT id FROM outbox WHERE id IN ({marks(ids)}) AND status = 'sending'", ids)
        claimed = {r["id"] for r in rows}
        return [i for i in ids if i in claimed]

    async def mark_sent(self, ids: Sequence[str], now: datetime, note: str | None = None) -> None:
        await self._many(
            "UPDATE outbox SET status = 'sent', sent_at = ?, note = ? WHERE id = ?",
            [(ts(now), note, i) for i in ids])

    async def mark_dropped(self, ids: Sequence[str], reason: str) -> None:
        await self._many(
            "UPDATE outbox SET status = 'dropped', note = ? WHERE id = ? AND status = 'planned'",
            [(reason, i) for i in ids])

    async def mark_failed(self, ids: Sequence[str], reason: str) -> None:
        await self._many(
            "UPDATE outbox SET status = 'failed', note = ? WHERE id = ?",
            [(reason, i) for i in ids])

    async def postpone(self, ids: Sequence[str], until: datetime, note: str | None = None) -> None:
        """Back to planned, not before ``until`` (quiet hours, a retry after an error)."""
        await self._many(
            "UPDATE outbox SET status = 'planned', wake_at = ?, note = COALESCE(?, note)"
            " WHERE id = ? AND status IN ('planned', 'sending')",
            [(ts(until), note, i) for i in ids])

    async def resolve_in_flight(self, now: datetime) -> int:
        """Rows a crash left ``sending`` count as sent: their message may have gone out, and
        a message lost is better than a message doubled."""
        return await self._run(
            "UPDATE outbox SET status = 'sent', sent_at = ?,"
            " note = 'in flight when the bot stopped; not resent' WHERE status = 'sending'",
            (ts(now),))

    # ------------------------------------------------------------- people

    async def mark_unreachable(self, channel: str, external_id: str, now: datetime) -> None:
        await self._run(
            "UPDATE accounts SET unreachable_at = ? WHERE channel = ? AND external_id = ?"
            " AND unreachable_at IS NULL", (ts(now), channel, external_id))

    async def reachable_accounts(self, member_id: int, channels: Sequence[str] | None) -> int:
        """Accounts not known to have blocked the bot (on ``channels``; None: on any)."""
        if channels is not None and not channels:
            return 0
        where = f" AND channel IN ({marks(channels)})" if channels is not None else ""
        row = await self._one(
            "SELECT COUNT(*) AS n FROM accounts WHERE member_id = ? AND unreachable_at IS NULL"
            + where, (member_id, *(channels or ())))
        return int(row["n"]) if row else 0

    async def officers_to_tell(self, member_id: int) -> tuple[int | None, list[int]]:
        rows = await self._all(
            "SELECT o.id AS officer, r.id AS round_id FROM members m"
            " LEFT JOIN rounds r ON r.cell_id = m.cell_id AND r.status = 'open'"
            " LEFT JOIN members o ON o.cell_id = m.cell_id AND o.active = 1"
            "  AND o.role IN ('secretary', 'deputy') AND o.id != m.id"
            " WHERE m.id = ? ORDER BY o.id", (member_id,))
        if not rows or rows[0]["round_id"] is None:
            return None, []
        return rows[0]["round_id"], [r["officer"] for r in rows if r["officer"] is not None]

    async def member_name(self, member_id: int) -> str:
        row = await self._one("SELECT full_name FROM members WHERE id = ?", (member_id,))
        return str(row["full_name"]) if row else ""

    async def submission(self, ref: SubmissionRef) -> Submission | None:
        row = await self._one(
            "SELECT * FROM submissions WHERE review_id = ? AND version = ?",
            (ref.review_id, ref.version))
        if row is None:
            return None
        return Submission(row["review_id"], row["version"], _dt(row["created_at"]),
                          row["filename"], row["docx"])

    async def tally(self, round_id: int) -> list[TallyLine]:
        """Every active member of the round's cell: linked? reachable? submitted?"""
        rows = await self._all(
            "SELECT m.id, m.full_name, m.joined_on, m.standing,"
            " EXISTS (SELECT 1 FROM accounts a WHERE a.member_id = m.id) AS linked,"
            " NOT EXISTS (SELECT 1 FROM accounts a WHERE a.member_id = m.id"
            "         AND a.unreachable_at IS NULL) AS unreachable,"
            " EXISTS (SELECT 1 FROM reviews v WHERE v.round_id = r.id AND v.member_id = m.id"
            "         AND v.status = 'submitted') AS done"
            " FROM rounds r JOIN members m ON m.cell_id = r.cell_id AND m.active = 1"
            " WHERE r.id = ?",
            (round_id,))
        rows = sorted(rows, key=lambda r: by_name(r["full_name"], r["id"]))
        return [TallyLine(r["id"], r["full_name"], bool(r["linked"]),
                          bool(r["linked"]) and bool(r["unreachable"]), bool(r["done"]),
                          date.fromisoformat(r["joined_on"]) if r["joined_on"] else None,
                          r["standing"]) for r in rows]

    # ------------------------------------------------------------- for tests and the operator

    async def statuses(self, round_id: int | None = None) -> dict[str, str]:
        """id → status of every row (of one round)."""
        where, params = ("WHERE round_id = ?", (round_id,)) if round_id is not None else ("", ())
        rows = await self._all(f"SELECT id, status FROM outbox {where}", params)
        return {r["id"]: r["status"] for r in rows}

    async def notices(self, member_id: int | None = None) -> list[tuple[str, str, str]]:
        """(id, template, status) of the notices (for one recipient), oldest first."""
        rows = await self._all(
            "SELECT id, template, status FROM outbox WHERE kind = ?"
            " AND (CAST(? AS BIGINT) IS NULL OR member_id = ?) ORDER BY due_at, id",
            (NOTICE, member_id, member_id))
        return [(r["id"], r["template"], r["status"]) for r in rows]
