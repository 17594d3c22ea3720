"""Committees, their officers, the web page's logins and sessions, the results a round keeps
and its retention: explicit, portable SQL (``ON CONFLICT DO NOTHING``, ``RETURNING``, every
moment as ``storage.outbox.ts`` text) in small typed functions.

The committee's tracker is two statements for a whole committee, whatever the number of
cells (``committee_rounds``, ``committee_lines``). Methods never commit on their own: callers
group writes in ``Database.transaction()``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from bot.models import (
    Answer, Category, Cell, CellRound, Committee, Member, MemberLine, Role, Round, RoundStatus, Standing,
    Submission, ViewLogin,
)
from storage.db import Queries, marks
from storage.outbox import ts


def cell_of(row: Any) -> Cell:
    return Cell(row["id"], row["name"], row["party_committee"], row["place"],
                row["committee_id"])


def _moment(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def member_of(row: Any, prefix: str = "") -> Member:
    """A ``members`` row as a ``Member`` (its columns named ``prefix`` + the column)."""
    return Member(
        id=row[prefix + "id"], cell_id=row[prefix + "cell_id"],
        full_name=row[prefix + "full_name"], birth_date=row[prefix + "birth_date"],
        party_post=row[prefix + "party_post"], gov_post=row[prefix + "gov_post"],
        mass_post=row[prefix + "mass_post"], work_unit=row[prefix + "work_unit"],
        is_leader=bool(row[prefix + "is_leader"]), role=Role(row[prefix + "role"]),
        active=bool(row[prefix + "active"]), joined_on=row[prefix + "joined_on"],
        category=Category(row[prefix + "category"]),
        standing=Standing(row[prefix + "standing"]) if row[prefix + "standing"] else None,
    )


# The round a committee looks at for one cell: the open one, else the most recent.
_CURRENT_ROUND = (
    "(SELECT r2.id FROM rounds r2 WHERE r2.cell_id = c.id"
    " ORDER BY CASE WHEN r2.status = 'open' THEN 0 ELSE 1 END, r2.id DESC LIMIT 1)"
)
_MEMBER_COLUMNS = ("id", "cell_id", "full_name", "birth_date", "party_post", "gov_post",
                   "mass_post", "work_unit", "is_leader", "role", "active", "joined_on",
                   "category", "standing")

# A member's line in a tracker (``members m``, their review ``v``): progress, never text.
_LINE_COLUMNS = (
    ", ".join(f"m.{c} AS m_{c}" for c in _MEMBER_COLUMNS) + ","
    " EXISTS (SELECT 1 FROM accounts a WHERE a.member_id = m.id) AS linked,"
    " EXISTS (SELECT 1 FROM invites i WHERE i.member_id = m.id) AS invited,"
    " v.id AS v_id, v.submitted_version AS v_version, v.decision AS v_decision,"
    " v.self_level AS v_level, v.self_score AS v_score,"
    " COALESCE(v.answered, (SELECT COUNT(*) FROM answers x"
    "  WHERE x.review_id = v.id AND x.skipped = 0)) AS v_answered"
)


def _line(row: Any) -> MemberLine:
    return MemberLine(
        member=member_of(row, "m_"), invited=bool(row["invited"]) or bool(row["linked"]),
        linked=bool(row["linked"]), review_id=row["v_id"],
        submitted_version=int(row["v_version"] or 0), decision=row["v_decision"],
        answered=int(row["v_answered"] or 0), self_level=row["v_level"],
        self_score=row["v_score"])


def _round_of(row: Any) -> Round | None:
    if row["r_id"] is None:
        return None
    return Round(
        id=row["r_id"], cell_id=row["id"], year=row["r_year"], title=row["r_title"],
        meeting_date=date.fromisoformat(row["r_meeting_date"]),
        member_due=date.fromisoformat(row["r_member_due"]),
        status=RoundStatus(row["r_status"]), form_id=row["r_form_id"],
        closed_at=_moment(row["r_closed_at"]), exported_at=_moment(row["r_exported_at"]),
        purged_at=_moment(row["r_purged_at"]),
    )


class CommitteeQueries(Queries):
    # ------------------------------------------------------------- committees

    async def add_committee(self, name: str, now: datetime) -> int:
        return await self._insert(
            "INSERT INTO committees (name, created_at) VALUES (?, ?) RETURNING id",
            (name, ts(now)))

    async def committee(self, committee_id: int) -> Committee | None:
        row = await self._one("SELECT id, name FROM committees WHERE id = ?", (committee_id,))
        return Committee(row["id"], row["name"]) if row else None

    async def committees(self) -> list[Committee]:
        rows = await self._all("SELECT id, name FROM committees ORDER BY id")
        return [Committee(r["id"], r["name"]) for r in rows]

    async def set_cell_committee(self, cell_id: int, committee_id: int | None,
                                 header: str) -> None:
        """The cell now belongs to ``committee_id``; ``header`` is the committee's name as the
        forms print it."""
        await self._run("UPDATE cells SET committee_id = ?, party_committee = ? WHERE id = ?",
                        (committee_id, header, cell_id))

    async def committee_cells(self, committee_id: int) -> list[Cell]:
        rows = await self._all(
            "SELECT id, name, party_committee, place, committee_id FROM cells"
            " WHERE committee_id = ? ORDER BY id", (committee_id,))
        return [cell_of(r) for r in rows]

    # ------------------------------------------------------------- officers

    async def add_committee_officer(self, committee_id: int, member_id: int,
                                    now: datetime) -> bool:
        """Grant; False if the member already was an officer of this committee."""
        row = await self._one(
            "INSERT INTO committee_officers (committee_id, member_id, created_at)"
            " VALUES (?, ?, ?) ON CONFLICT DO NOTHING RETURNING member_id",
            (committee_id, member_id, ts(now)))
        return row is not None

    async def remove_committee_officer(self, committee_id: int, member_id: int) -> bool:
        row = await self._one(
            "DELETE FROM committee_officers WHERE committee_id = ? AND member_id = ?"
            " RETURNING member_id", (committee_id, member_id))
        return row is not None

    async def officer_committees(self, member_id: int) -> list[int]:
        """The committees this member is an officer of (whether active or not: the caller
        checks the member)."""
        rows = await self._all(
            "SELECT committee_id FROM committee_officers WHERE member_id = ?"
            " ORDER BY committee_id", (member_id,))
        return [int(r["committee_id"]) for r in rows]

    async def committee_officers(self, committee_id: int) -> list[Member]:
        columns = ", ".join(f"m.{c}" for c in _MEMBER_COLUMNS)
        rows = await self._all(
            f"SELECT {columns} FROM committee_officers o JOIN members m ON m.id = o.member_id"
            " WHERE o.committee_id = ? ORDER BY m.id", (committee_id,))
        return [member_of(r) for r in rows]

    # ------------------------------------------------------------- the committee's tracker

    async def committee_rounds(self, committee_id: int | None,
                               cell_id: int | None = None) -> list[CellRound]:
        """Every cell of the committee (or the one cell) with its current round: one query."""
        where, param = ("c.committee_id = ?", committee_id) if cell_id is None else (
            "c.id = ?", cell_id)
        rows = await self._all(
            "SELECT c.id, c.name, c.party_committee, c.place, c.committee_id,"
            " r.id AS r_id, r.year AS r_year, r.title AS r_title,"
            " r.meeting_date AS r_meeting_date, r.member_due AS r_member_due,"
            " r.status AS r_status, r.form_id AS r_form_id, r.closed_at AS r_closed_at,"
            " r.exported_at AS r_exported_at, r.purged_at AS r_purged_at"
            f" FROM cells c LEFT JOIN rounds r ON r.id = {_CURRENT_ROUND}"
            f" WHERE {where} ORDER BY c.id", (param,))
        return [CellRound(cell_of(r), _round_of(r)) for r in rows]

    async def committee_lines(self, committee_id: int | None,
                              cell_id: int | None = None) -> list[MemberLine]:
        """Every active member of the committee's cells (or of one cell) with their progress
        in the cell's current round: one query, no answer text."""
        where, param = ("c.committee_id = ?", committee_id) if cell_id is None else (
            "c.id = ?", cell_id)
        rows = await self._all(
            f"SELECT {_LINE_COLUMNS}"
            " FROM members m JOIN cells c ON c.id = m.cell_id"
            f" LEFT JOIN reviews v ON v.member_id = m.id AND v.round_id = {_CURRENT_ROUND}"
            f" WHERE {where} AND m.active = 1 ORDER BY m.cell_id, m.id", (param,))
        return [_line(r) for r in rows]

    async def round_lines(self, round_id: int) -> list[MemberLine]:
        """The members of one round (its cell's active members, and anyone with a review in
        it) with their progress in it: one query, no answer text."""
        rows = await self._all(
            f"SELECT {_LINE_COLUMNS}"
            " FROM rounds r JOIN members m ON m.cell_id = r.cell_id"
            " LEFT JOIN reviews v ON v.member_id = m.id AND v.round_id = r.id"
            " WHERE r.id = ? AND (m.active = 1 OR v.id IS NOT NULL) ORDER BY m.id", (round_id,))
        return [_line(r) for r in rows]

    # ------------------------------------------------------------- results kept per review

    async def set_review_result(self, review_id: int, level: str | None,
                                score: int | None) -> None:
        await self._run("UPDATE reviews SET self_level = ?, self_score = ?, result_recorded = 1"
                        " WHERE id = ?", (level, score, review_id))

    async def reviews_without_result(self, round_id: int | None = None) -> list[tuple[int, int,
                                                                                   int]]:
        """(review id, member id, round id) of submitted reviews whose level and score were
        never recorded (submitted before they were), not yet purged. A review recorded with
        neither (its draft proposes no level and no score) is not listed again."""
        extra, params = ("AND v.round_id = ?", (round_id,)) if round_id is not None else ("",
                                                                                         ())
        rows = await self._all(
            "SELECT v.id, v.member_id, v.round_id FROM reviews v"
            " WHERE v.submitted_version > 0 AND v.result_recorded = 0"
            f" AND v.purged_at IS NULL {extra} ORDER BY v.id", params)
        return [(int(r["id"]), int(r["member_id"]), int(r["round_id"])) for r in rows]

    # ------------------------------------------------------------- the web page's logins

    async def add_web_login(self, token_hash: str, member_id: int, now: datetime,
                            expires_at: datetime) -> None:
        await self._run(
            "INSERT INTO web_logins (token_hash, member_id, created_at, expires_at)"
            " VALUES (?, ?, ?, ?)", (token_hash, member_id, ts(now), ts(expires_at)))

    async def web_login(self, token_hash: str) -> ViewLogin | None:
        row = await self._one(
            "SELECT member_id, expires_at, used_at FROM web_logins WHERE token_hash = ?",
            (token_hash,))
        if row is None:
            return None
        return ViewLogin(int(row["member_id"]), datetime.fromisoformat(row["expires_at"]),
                         row["used_at"] is not None)

    async def use_web_login(self, token_hash: str, now: datetime) -> int | None:
        """Spend a live link once: its member, or None (unknown, expired or used)."""
        row = await self._one(
            "UPDATE web_logins SET used_at = ? WHERE token_hash = ? AND used_at IS NULL"
            " AND expires_at > ? RETURNING member_id", (ts(now), token_hash, ts(now)))
        return int(row["member_id"]) if row else None

    async def add_web_session(self, token_hash: str, member_id: int, now: datetime,
                              expires_at: datetime) -> None:
        await self._run(
            "INSERT INTO web_sessions (token_hash, member_id, created_at, expires_at)"
            " VALUES (?, ?, ?, ?)", (token_hash, member_id, ts(now), ts(expires_at)))

    async def web_session(self, token_hash: str, now: datetime) -> int | None:
        """The member of a live session, or None."""
        row = await self._one(
            "SELECT member_id FROM web_sessions WHERE token_hash = ? AND ended_at IS NULL"
            " AND expires_at > ?", (token_hash, ts(now)))
        return int(row["member_id"]) if row else None

    async def end_web_session(self, token_hash: str, now: datetime) -> None:
        await self._run("UPDATE web_sessions SET ended_at = ? WHERE token_hash = ?"
                        " AND ended_at IS NULL", (ts(now), token_hash))

    async def forget_web_logins(self, before: datetime) -> None:
        """Links and sessions that ended before ``before``: the rows go (access_log keeps
        what they were used for)."""
        await self._run("DELETE FROM web_logins WHERE expires_at < ?", (ts(before),))
        await self._run("DELETE FROM web_sessions WHERE expires_at < ?", (ts(before),))

    async def access_log_rows(self, member_ids: Sequence[int] | None = None,
                              actor_id: int | None = None) -> list[dict[str, Any]]:
        """The access log: every row about or by these members (None: every row)."""
        if member_ids is None and actor_id is None:
            rows = await self._all(
                "SELECT id, actor_id, action, target_id, at, detail FROM access_log ORDER BY id")
        else:
            ids = list(member_ids or [])
            listed = marks(ids) or "NULL"
            rows = await self._all(
                "SELECT id, actor_id, action, target_id, at, detail FROM access_log"
                f" WHERE target_id IN ({listed}) OR actor_id IN ({listed}) OR actor_id = ?"
                " ORDER BY id", (*ids, *ids, actor_id))
        return [{"id": r["id"], "actor_id": r["actor_id"], "action": r["action"],
                 "target_id": r["target_id"], "at": r["at"], "detail": r["detail"]}
                for r in rows]

    # ------------------------------------------------------------- rounds and retention

    async def mark_round_closed(self, round_id: int, now: datetime) -> None:
        await self._run("UPDATE rounds SET closed_at = ? WHERE id = ? AND closed_at IS NULL",
                        (ts(now), round_id))

    async def mark_round_exported(self, round_id: int, now: datetime) -> None:
        await self._run("UPDATE rounds SET exported_at = ? WHERE id = ?", (ts(now), round_id))

    async def rounds_of(self, cell_id: int) -> list[Round]:
        rows = await self._all("SELECT * FROM rounds WHERE cell_id = ? ORDER BY id", (cell_id,))
        return [round_of(r) for r in rows]

    async def rounds_of_member(self, member_id: int) -> list[tuple[Round, int]]:
        """Every round the member has a review in, with the review's id, oldest first."""
        rows = await self._all(
            "SELECT r.*, v.id AS review_id FROM reviews v JOIN rounds r ON r.id = v.round_id"
            " WHERE v.member_id = ? ORDER BY r.id", (member_id,))
        return [(round_of(r), int(r["review_id"])) for r in rows]

    async def round_reviews(self, round_id: int) -> list[tuple[int, int]]:
        """(review id, member id) of every review in the round."""
        rows = await self._all("SELECT id, member_id FROM reviews WHERE round_id = ? ORDER BY id",
                               (round_id,))
        return [(int(r["id"]), int(r["member_id"])) for r in rows]

    async def submissions_of(self, review_id: int) -> list[Submission]:
        """Every stored version of a review's draft, oldest first."""
        rows = await self._all(
            "SELECT review_id, version, created_at, filename, docx FROM submissions"
            " WHERE review_id = ? ORDER BY version", (review_id,))
        return [Submission(r["review_id"], r["version"], datetime.fromisoformat(r["created_at"]),
                           r["filename"], bytes(r["docx"])) for r in rows]

    async def all_answer_history(self, review_id: int) -> list[Answer]:
        """Every answer ever stored in a review, oldest first (the member's own data)."""
        rows = await self._all(
            "SELECT qid, value, skipped, vague, recorded_at, prefilled FROM answer_history"
            " WHERE review_id = ? ORDER BY id", (review_id,))
        return [Answer(r["qid"], r["value"], bool(r["skipped"]), bool(r["vague"]),
                       datetime.fromisoformat(r["recorded_at"]), bool(r["prefilled"]))
                for r in rows]

    async def purge_counts(self, review_ids: Sequence[int]) -> dict[str, int]:
        """What a purge of these reviews would remove, counted (the dry run)."""
        ids = list(review_ids)
        if not ids:
            return {"answers": 0, "history": 0, "drafts": 0, "draft_bytes": 0, "points": 0,
                    "pending": 0, "comments": 0}
        listed = marks(ids)
        row = await self._one(
            f"SELECT (SELECT COUNT(*) FROM answers WHERE review_id IN ({listed})) AS answers,"
            f" (SELECT COUNT(*) FROM answer_history WHERE review_id IN ({listed})) AS history,"
            f" (SELECT COUNT(*) FROM submissions WHERE review_id IN ({listed})"
            "   AND LENGTH(docx) > 0) AS drafts,"
            f" (SELECT COALESCE(SUM(LENGTH(docx)), 0) FROM submissions"
            f"   WHERE review_id IN ({listed})) AS draft_bytes,"
            " (SELECT COUNT(*) FROM review_items i JOIN reviews v ON v.round_id = i.round_id"
            f"   AND v.member_id = i.member_id WHERE v.id IN ({listed}) AND i.text != '') AS points,"
            f" (SELECT COUNT(*) FROM reviews WHERE id IN ({listed})"
            "   AND pending_text IS NOT NULL) AS pending,"
            f" (SELECT COUNT(*) FROM reviews WHERE id IN ({listed})"
            "   AND decision_comment IS NOT NULL) AS comments",
            (*ids, *ids, *ids, *ids, *ids, *ids, *ids))
        return {k: int(row[k] or 0) for k in ("answers", "history", "drafts", "draft_bytes",
                                             "points", "pending", "comments")} if row else {}

    async def purge_reviews(self, review_ids: Sequence[int], now: datetime) -> None:
        """Remove the answer texts of these reviews: answers and their history, the drafts'
        bytes, the member's points, the half-written answer, the secretary's comment, the
        download links and the sent notices about them. What stays: the review (status,
        version, decision, the level and score and the count of answers), the submissions'
        names and dates, the access log. Inside the caller's transaction: all or nothing."""
        ids = list(review_ids)
        if not ids:
            return
        listed = marks(ids)
        await self._run(
            "UPDATE reviews SET answered = (SELECT COUNT(*) FROM answers x"
            f" WHERE x.review_id = reviews.id AND x.skipped = 0) WHERE id IN ({listed})"
            " AND answered IS NULL", ids)
        await self._run(f"DELETE FROM answer_history WHERE review_id IN ({listed})", ids)
        await self._run(f"DELETE FROM answers WHERE review_id IN ({listed})", ids)
        await self._run(f"DELETE FROM downloads WHERE review_id IN ({listed})", ids)
        await self._run(f"UPDATE submissions SET docx = ? WHERE review_id IN ({listed})",
                        (b"", *ids))
        await self._run(
            "UPDATE review_items SET text = '' WHERE EXISTS (SELECT 1 FROM reviews v"
            " WHERE v.round_id = review_items.round_id AND v.member_id = review_items.member_id"
            f" AND v.id IN ({listed}))", ids)
        await self._run(
            "DELETE FROM outbox WHERE kind = 'notice' AND status != 'planned' AND EXISTS"
            " (SELECT 1 FROM reviews v WHERE v.round_id = outbox.round_id"
            f" AND v.member_id = outbox.member_id AND v.id IN ({listed}))", ids)
        await self._run(
            "UPDATE reviews SET pending_qid = NULL, pending_text = NULL, decision_comment = NULL,"
            f" cursor = NULL, purged_at = ? WHERE id IN ({listed})", (ts(now), *ids))

    async def mark_round_purged(self, round_id: int, now: datetime) -> None:
        await self._run("UPDATE rounds SET purged_at = ? WHERE id = ?", (ts(now), round_id))


def round_of(row: Any) -> Round:
    """A ``rounds`` row as a ``Round``."""
    return Round(
        id=row["id"], cell_id=row["cell_id"], year=row["year"], title=row["title"],
        meeting_date=date.fromisoformat(row["meeting_date"]),
        member_due=date.fromisoformat(row["member_due"]), status=RoundStatus(row["status"]),
        form_id=row["form_id"], closed_at=_moment(row["closed_at"]),
        exported_at=_moment(row["exported_at"]), purged_at=_moment(row["purged_at"]),
    )
