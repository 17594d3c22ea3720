"""Explicit, parameterised SQL behind the core's ``Store`` protocol and the operator commands.

Each method is one small query, in SQL that SQLite and PostgreSQL both run
(``storage.engine``). Methods never open a transaction: callers group writes in
``transaction()``; outside one, each statement commits by itself.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import date, datetime

from bot.delivery import Notice
from bot.models import (
    Account, Answer, Category, Cell, HandedOver, Member, MemberProgress, OfficerPrompt, Review,
    ReviewItem, ReviewStatus, Role, Round, RosterUpload, Standing, Submission, Who,
)
from bot.ports import Redeem
from storage.committee import CommitteeQueries, cell_of, member_of, round_of
from storage.engine import Row
from storage.db import by_name
from storage.outbox import OutboxStore, ts

_ts = ts  # one encoding for every moment: fixed-width UTC text, so text order is time order


def _category(is_leader: bool, category: Category | None) -> Category:
    """The stored category: the one given, else what the 2023 leader flag says."""
    if category is not None:
        return category
    return Category.LEADER if is_leader else Category.NO_POST


_REVIEW_COLUMNS = ("id", "round_id", "member_id", "status", "cursor", "pending_qid",
                   "pending_text", "pending_warned", "submitted_version", "decision",
                   "decision_comment", "shown_qid", "reply_lost")


def _review(row: Row, prefix: str = "") -> Review:
    v = {c: row[prefix + c] for c in _REVIEW_COLUMNS}
    return Review(
        id=v["id"], round_id=v["round_id"], member_id=v["member_id"],
        status=ReviewStatus(v["status"]), cursor=v["cursor"],
        pending_qid=v["pending_qid"], pending_text=v["pending_text"],
        pending_warned=bool(v["pending_warned"]), submitted_version=v["submitted_version"],
        decision=v["decision"], decision_comment=v["decision_comment"],
        shown_qid=v["shown_qid"], reply_lost=bool(v["reply_lost"]),
    )


class SqliteStore(CommitteeQueries):
    """The one implementation of the core's ports (``bot.ports``), plus what operators need,
    on either engine (the name is historical: ``Store`` is the same class)."""

    def transaction(self) -> AbstractAsyncContextManager[None]:
        return self.db.transaction()

    async def enqueue(self, notices: Sequence[Notice], now: datetime) -> None:
        """Queue notices in the outbox, inside the caller's transaction."""
        await OutboxStore(self.db).enqueue(notices, now)

    # ------------------------------------------------------------- events

    async def claim_event(self, key: str, now: datetime) -> bool:
        row = await self._one(
            "INSERT INTO processed_events (key, at) VALUES (?, ?)"
            " ON CONFLICT (key) DO NOTHING RETURNING key", (key, _ts(now)))
        return row is not None

    async def forget_events_before(self, cutoff: datetime) -> None:
        await self._run("DELETE FROM processed_events WHERE at < ?", (_ts(cutoff),))

    # ------------------------------------------------------------- cells and members

    async def add_cell(self, name: str, party_committee: str, place: str, now: datetime) -> int:
        return await self._insert(
            "INSERT INTO cells (name, party_committee, place, created_at) VALUES (?, ?, ?, ?)"
            " RETURNING id",
            (name, party_committee, place, _ts(now)),
        )

    async def cell(self, cell_id: int) -> Cell | None:
        row = await self._one(
            "SELECT id, name, party_committee, place, committee_id FROM cells WHERE id = ?",
            (cell_id,),
        )
        return cell_of(row) if row else None

    async def cells(self) -> list[Cell]:
        rows = await self._all(
            "SELECT id, name, party_committee, place, committee_id FROM cells ORDER BY id")
        return [cell_of(r) for r in rows]

    async def add_member(
        self,
        cell_id: int,
        full_name: str,
        now: datetime,
        *,
        birth_date: str | None = None,
        party_post: str | None = None,
        gov_post: str | None = None,
        mass_post: str | None = None,
        work_unit: str | None = None,
        is_leader: bool = False,
        role: Role = Role.MEMBER,
        joined_on: str | None = None,
        category: Category | None = None,
        standing: Standing | None = None,
    ) -> int:
        """Add a member; ``category`` wins over ``is_leader`` and the two are stored in step."""
        chosen = _category(is_leader, category)
        return await self._insert(
            "INSERT INTO members (cell_id, full_name, birth_date, party_post, gov_post,"
            " mass_post, work_unit, is_leader, role, joined_on, category, standing, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
            (cell_id, full_name, birth_date, party_post, gov_post, mass_post, work_unit,
             int(chosen is Category.LEADER), role.value, joined_on, chosen.value,
             standing.value if standing else None, _ts(now)),
        )

    async def member(self, member_id: int) -> Member | None:
        row = await self._one("SELECT * FROM members WHERE id = ?", (member_id,))
        return member_of(row) if row else None

    async def members(self, cell_id: int) -> list[Member]:
        rows = await self._all(
            "SELECT * FROM members WHERE cell_id = ? AND active = 1 ORDER BY id", (cell_id,)
        )
        return [member_of(r) for r in rows]

    async def cell_officers(self, cell_id: int) -> list[Member]:
        rows = await self._all(
            "SELECT * FROM members WHERE cell_id = ? AND active = 1"
            " AND role IN ('secretary', 'deputy') ORDER BY role DESC, id",
            (cell_id,),
        )
        return [member_of(r) for r in rows]

    async def set_member_category(self, member_id: int, category: Category) -> None:
        await self._run(
            "UPDATE members SET category = ?, is_leader = ? WHERE id = ?",
            (category.value, int(category is Category.LEADER), member_id),
        )

    async def set_member_standing(self, member_id: int, standing: Standing | None) -> None:
        await self._run(
            "UPDATE members SET standing = ? WHERE id = ?",
            (standing.value if standing else None, member_id),
        )

    async def deactivate_member(self, member_id: int) -> None:
        await self._run("UPDATE members SET active = 0 WHERE id = ?", (member_id,))

    # ------------------------------------------------------------- accounts and invites

    async def account(self, channel: str, external_id: str) -> Account | None:
        row = await self._one(
            "SELECT channel, external_id, member_id FROM accounts"
            " WHERE channel = ? AND external_id = ?",
            (channel, external_id),
        )
        return Account(row["channel"], row["external_id"], row["member_id"]) if row else None

    async def who(self, channel: str, external_id: str) -> Who | None:
        """The account, its member, its menu and when the member's accounts were last used."""
        row = await self._one(
            "SELECT m.*, a.menu AS a_menu, a.last_seen_at AS a_seen,"
            " a.unreachable_at AS a_unreachable,"
            " (SELECT MAX(b.last_seen_at) FROM accounts b WHERE b.member_id = a.member_id)"
            " AS latest_seen"
            " FROM accounts a JOIN members m ON m.id = a.member_id"
            " WHERE a.channel = ? AND a.external_id = ?",
            (channel, external_id),
        )
        if row is None:
            return None
        seen, latest = row["a_seen"], row["latest_seen"]
        return Who(Account(channel, external_id, row["id"]), member_of(row), row["a_menu"],
                   datetime.fromisoformat(seen) if seen else None,
                   datetime.fromisoformat(latest) if latest else None,
                   row["a_unreachable"] is not None)

    async def hold_member(self, channel: str, external_id: str) -> None:
        """PostgreSQL (READ COMMITTED): lock the row of the member behind this account until
        the transaction ends, so their updates from two channels or two workers take turns,
        and every read after it sees what the previous turn committed. ``NO KEY UPDATE``:
        the same lock an UPDATE of the row takes, so rows that merely reference the member
        (foreign keys) are not held up. SQLite: nothing to do, its write transactions
        already take turns (BEGIN IMMEDIATE)."""
        if self.db.kind == "postgres":
            await self._one(
                "SELECT m.id FROM accounts a JOIN members m ON m.id = a.member_id"
                " WHERE a.channel = ? AND a.external_id = ? FOR NO KEY UPDATE OF m",
                (channel, external_id))

    async def seen(self, channel: str, external_id: str, now: datetime) -> None:
        await self._run(
            "UPDATE accounts SET last_seen_at = ?, unreachable_at = NULL"
            " WHERE channel = ? AND external_id = ?", (ts(now), channel, external_id))

    async def set_menu(self, channel: str, external_id: str, menu: str | None) -> None:
        await self._run("UPDATE accounts SET menu = ? WHERE channel = ? AND external_id = ?",
                        (menu, channel, external_id))

    async def member_by_account(self, channel: str, external_id: str) -> Member | None:
        row = await self._one(
            "SELECT m.* FROM accounts a JOIN members m ON m.id = a.member_id"
            " WHERE a.channel = ? AND a.external_id = ?",
            (channel, external_id),
        )
        return member_of(row) if row else None

    async def accounts_of(self, member_id: int) -> list[Account]:
        rows = await self._all(
            "SELECT channel, external_id, member_id FROM accounts WHERE member_id = ?"
            " ORDER BY linked_at",
            (member_id,),
        )
        return [Account(r["channel"], r["external_id"], r["member_id"]) for r in rows]

    async def link_account(
        self, channel: str, external_id: str, member_id: int, now: datetime
    ) -> None:
        await self._run(
            "INSERT INTO accounts (channel, external_id, member_id, linked_at)"
            " VALUES (?, ?, ?, ?)",
            (channel, external_id, member_id, _ts(now)),
        )

    async def add_invite(
        self, member_id: int, code_hash: str, now: datetime, expires_at: datetime
    ) -> int:
        return await self._insert(
            "INSERT INTO invites (code_hash, member_id, created_at, expires_at)"
            " VALUES (?, ?, ?, ?) RETURNING id",
            (code_hash, member_id, _ts(now), _ts(expires_at)),
        )

    async def redeem_invite(
        self, code_hash: str, channel: str, external_id: str, now: datetime
    ) -> tuple[Redeem, int | None]:
        row = await self._one(
            "SELECT i.id, i.member_id, i.expires_at, i.used_at, i.revoked_at, m.active"
            " FROM invites i JOIN members m ON m.id = i.member_id WHERE i.code_hash = ?",
            (code_hash,),
        )
        if row is None:
            return Redeem.UNKNOWN, None
        if row["used_at"] is not None:
            return Redeem.USED, None
        if row["revoked_at"] is not None or not row["active"]:
            return Redeem.REVOKED, None
        if datetime.fromisoformat(row["expires_at"]) <= now:
            return Redeem.EXPIRED, None
        await self._run(
            "UPDATE invites SET used_at = ?, used_by = ? WHERE id = ?",
            (_ts(now), f"{channel}:{external_id}", row["id"]),
        )
        await self.link_account(channel, external_id, row["member_id"], now)
        return Redeem.OK, row["member_id"]

    async def failed_link_attempts(self, channel: str, external_id: str, since: datetime) -> int:
        row = await self._one(
            "SELECT COUNT(*) AS n FROM link_failures"
            " WHERE channel = ? AND external_id = ? AND at >= ?",
            (channel, external_id, _ts(since)),
        )
        return int(row["n"]) if row else 0

    async def record_failed_link(self, channel: str, external_id: str, now: datetime) -> None:
        await self._run(
            "INSERT INTO link_failures (channel, external_id, at) VALUES (?, ?, ?)",
            (channel, external_id, _ts(now)),
        )

    # ------------------------------------------------------------- rounds

    async def add_round(
        self, cell_id: int, year: int, title: str, meeting: date, member_due: date, now: datetime,
        form_id: str | None = None,
    ) -> int:
        return await self._insert(
            "INSERT INTO rounds (cell_id, year, title, meeting_date, member_due, created_at,"
            " form_id) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
            (cell_id, year, title, meeting.isoformat(), member_due.isoformat(), _ts(now), form_id),
        )

    async def close_round(self, round_id: int) -> None:
        await self._run("UPDATE rounds SET status = 'closed' WHERE id = ?", (round_id,))

    async def move_round(self, round_id: int, meeting: date, member_due: date) -> None:
        """A new meeting date; callers plan the round's reminders again right after."""
        await self._run(
            "UPDATE rounds SET meeting_date = ?, member_due = ? WHERE id = ?",
            (meeting.isoformat(), member_due.isoformat(), round_id),
        )

    async def open_round(self, cell_id: int) -> Round | None:
        row = await self._one(
            "SELECT * FROM rounds WHERE cell_id = ? AND status = 'open'", (cell_id,)
        )
        return round_of(row) if row else None

    async def open_round_with_review(
        self, cell_id: int, member_id: int
    ) -> tuple[Round | None, Review | None]:
        """The cell's open round and this member's review in it, in one query."""
        review_columns = ", ".join(f"v.{c} AS v_{c}" for c in _REVIEW_COLUMNS)
        row = await self._one(
            f"SELECT r.*, {review_columns} FROM rounds r LEFT JOIN reviews v"
            " ON v.round_id = r.id AND v.member_id = ? WHERE r.cell_id = ? AND r.status = 'open'",
            (member_id, cell_id),
        )
        if row is None:
            return None, None
        review = _review(row, "v_") if row["v_id"] is not None else None
        return round_of(row), review

    async def round(self, round_id: int) -> Round | None:
        row = await self._one("SELECT * FROM rounds WHERE id = ?", (round_id,))
        return round_of(row) if row else None

    # ------------------------------------------------------------- reviews and answers

    async def review(self, review_id: int) -> Review | None:
        row = await self._one("SELECT * FROM reviews WHERE id = ?", (review_id,))
        return _review(row) if row else None

    async def review_for(self, round_id: int, member_id: int) -> Review | None:
        row = await self._one(
            "SELECT * FROM reviews WHERE round_id = ? AND member_id = ?", (round_id, member_id)
        )
        return _review(row) if row else None

    async def create_review(self, round_id: int, member_id: int, now: datetime) -> Review:
        review_id = await self._insert(
            "INSERT INTO reviews (round_id, member_id, created_at) VALUES (?, ?, ?)"
            " RETURNING id",
            (round_id, member_id, _ts(now)),
        )
        review = await self.review(review_id)
        if review is None:
            raise RuntimeError(f"review {review_id} not found right after its insert")
        return review

    async def answers(self, review_id: int) -> Mapping[str, Answer]:
        rows = await self._all(
            "SELECT qid, value, skipped, vague, updated_at, prefilled FROM answers"
            " WHERE review_id = ?",
            (review_id,),
        )
        return {
            r["qid"]: Answer(r["qid"], r["value"], bool(r["skipped"]), bool(r["vague"]),
                             datetime.fromisoformat(r["updated_at"]), bool(r["prefilled"]))
            for r in rows
        }

    async def answer_history(self, review_id: int, qid: str) -> list[Answer]:
        rows = await self._all(
            "SELECT qid, value, skipped, vague, recorded_at, prefilled FROM answer_history"
            " WHERE review_id = ? AND qid = ? ORDER BY id",
            (review_id, qid),
        )
        return [Answer(r["qid"], r["value"], bool(r["skipped"]), bool(r["vague"]),
                       datetime.fromisoformat(r["recorded_at"]), bool(r["prefilled"]))
                for r in rows]

    async def save_answer(
        self,
        review_id: int,
        qid: str,
        value: str | None,
        *,
        skipped: bool,
        vague: bool,
        now: datetime,
        prefilled: bool = False,
    ) -> None:
        params = (review_id, qid, value, int(skipped), int(vague), _ts(now), int(prefilled))
        await self._run(
            "INSERT INTO answers (review_id, qid, value, skipped, vague, updated_at, prefilled)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (review_id, qid) DO UPDATE SET value = excluded.value,"
            " skipped = excluded.skipped, vague = excluded.vague, updated_at = excluded.updated_at,"
            " prefilled = excluded.prefilled",
            params,
        )
        await self._run(
            "INSERT INTO answer_history (review_id, qid, value, skipped, vague, recorded_at,"
            " prefilled) VALUES (?, ?, ?, ?, ?, ?, ?)",
            params,
        )
        await self._run(
            "UPDATE reviews SET cursor = NULL,"
            " pending_qid = CASE WHEN pending_qid = ? THEN NULL ELSE pending_qid END,"
            " pending_text = CASE WHEN pending_qid = ? THEN NULL ELSE pending_text END,"
            " pending_warned = CASE WHEN pending_qid = ? THEN 0 ELSE pending_warned END"
            " WHERE id = ?",
            (qid, qid, qid, review_id),
        )

    async def set_cursor(self, review_id: int, qid: str | None) -> None:
        await self._run("UPDATE reviews SET cursor = ? WHERE id = ?", (qid, review_id))

    async def set_pending(
        self, review_id: int, qid: str | None, text: str | None, warned: bool
    ) -> None:
        await self._run(
            "UPDATE reviews SET pending_qid = ?, pending_text = ?, pending_warned = ? WHERE id = ?",
            (qid, text, int(warned), review_id),
        )

    async def set_shown(self, review_id: int, qid: str) -> None:
        """The member now sees this question (or the review list): their reply arrived."""
        await self._run("UPDATE reviews SET shown_qid = ?, reply_lost = 0 WHERE id = ?",
                        (qid, review_id))

    async def mark_reply_lost(self, review_id: int) -> None:
        await self._run("UPDATE reviews SET shown_qid = NULL, reply_lost = 1 WHERE id = ?",
                        (review_id,))

    async def last_answer(self, review_id: int) -> Answer | None:
        """The answer stored most recently in this review, whatever the question."""
        row = await self._one(
            "SELECT qid, value, skipped, vague, recorded_at FROM answer_history"
            " WHERE review_id = ? ORDER BY id DESC LIMIT 1",
            (review_id,),
        )
        if row is None:
            return None
        return Answer(row["qid"], row["value"], bool(row["skipped"]), bool(row["vague"]),
                      datetime.fromisoformat(row["recorded_at"]))

    async def mark_in_progress(self, review_id: int) -> None:
        await self._run("UPDATE reviews SET status = 'in_progress' WHERE id = ?", (review_id,))

    # ------------------------------------------------------------- submissions

    async def add_submission(
        self, review_id: int, filename: str, docx: bytes, now: datetime
    ) -> int:
        row = await self._one(
            "SELECT COALESCE(MAX(version), 0) + 1 AS next FROM submissions WHERE review_id = ?",
            (review_id,),
        )
        version = int(row["next"]) if row else 1
        await self._run(
            "INSERT INTO submissions (review_id, version, created_at, filename, docx)"
            " VALUES (?, ?, ?, ?, ?)",
            (review_id, version, _ts(now), filename, docx),
        )
        await self._run(
            "UPDATE reviews SET status = 'submitted', submitted_version = ?, cursor = NULL,"
            " decision = NULL WHERE id = ?",
            (version, review_id),
        )
        return version

    async def latest_submission(self, review_id: int) -> Submission | None:
        row = await self._one(
            "SELECT * FROM submissions WHERE review_id = ? ORDER BY version DESC LIMIT 1",
            (review_id,),
        )
        if row is None:
            return None
        return Submission(row["review_id"], row["version"],
                          datetime.fromisoformat(row["created_at"]), row["filename"], row["docx"])

    # ------------------------------------------------------------- the secretary's side

    async def progress(self, cell_id: int, round_id: int,
                       member_id: int | None = None) -> list[MemberProgress]:
        """Every active member of the cell (only ``member_id``, if given) with their link,
        review and answer count: one query, however large the cell."""
        rows = await self._all(
            "SELECT m.*,"
            " EXISTS (SELECT 1 FROM accounts a WHERE a.member_id = m.id) AS linked,"
            " EXISTS (SELECT 1 FROM accounts a WHERE a.member_id = m.id"
            "  AND a.unreachable_at IS NULL) AS reachable, "
            + ", ".join(f"r.{c} AS v_{c}" for c in _REVIEW_COLUMNS) + ","
            " (SELECT COUNT(*) FROM answers x WHERE x.review_id = r.id AND x.skipped = 0) AS answered"
            " FROM members m LEFT JOIN reviews r ON r.member_id = m.id AND r.round_id = ?"
            " WHERE m.cell_id = ? AND m.active = 1 AND (CAST(? AS BIGINT) IS NULL OR m.id = ?)",
            (round_id, cell_id, member_id, member_id),
        )
        return [MemberProgress(member_of(row), bool(row["linked"]), bool(row["reachable"]),
                               _review(row, "v_") if row["v_id"] is not None else None,
                               int(row["answered"] or 0))
                for row in sorted(rows, key=lambda r: by_name(r["full_name"], r["id"]))]

    async def round_answers(self, round_id: int,
                            member_id: int | None = None) -> dict[int, dict[str, Answer]]:
        """The answers of every review of the round (only ``member_id``'s, if given), by
        review id: one query for a whole tracker."""
        rows = await self._all(
            "SELECT a.review_id, a.qid, a.value, a.skipped, a.vague, a.updated_at, a.prefilled"
            " FROM answers a JOIN reviews r ON r.id = a.review_id"
            " WHERE r.round_id = ? AND (CAST(? AS BIGINT) IS NULL OR r.member_id = ?)",
            (round_id, member_id, member_id),
        )
        result: dict[int, dict[str, Answer]] = {}
        for r in rows:
            result.setdefault(r["review_id"], {})[r["qid"]] = Answer(
                r["qid"], r["value"], bool(r["skipped"]), bool(r["vague"]),
                datetime.fromisoformat(r["updated_at"]), bool(r["prefilled"]))
        return result

    async def round_review_items(self, round_id: int,
                                 member_id: int | None = None) -> dict[int, list[ReviewItem]]:
        """Every member's own points in the round (only ``member_id``'s, if given), by member
        id, each list in the order ``review_items`` gives: one query for a whole tracker."""
        rows = await self._all(
            "SELECT member_id, id, kind, text FROM review_items"
            " WHERE round_id = ? AND (CAST(? AS BIGINT) IS NULL OR member_id = ?) ORDER BY id",
            (round_id, member_id, member_id),
        )
        result: dict[int, list[ReviewItem]] = {}
        for r in rows:
            result.setdefault(r["member_id"], []).append(ReviewItem(r["id"], r["kind"], r["text"]))
        return result

    async def set_decision(
        self, review_id: int, decision: str, comment: str | None, actor_id: int, now: datetime
    ) -> None:
        await self._run(
            "UPDATE reviews SET decision = ?, decision_comment = ?, decided_at = ?, decided_by = ?"
            " WHERE id = ?",
            (decision, comment, _ts(now), actor_id, review_id),
        )

    async def add_review_item(
        self, round_id: int, member_id: int, kind: str, text: str, actor_id: int | None,
        now: datetime,
    ) -> int:
        return await self._insert(
            "INSERT INTO review_items (round_id, member_id, kind, text, created_by, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
            (round_id, member_id, kind, text, actor_id, _ts(now)),
        )

    async def review_items(self, round_id: int, member_id: int) -> list[ReviewItem]:
        rows = await self._all(
            "SELECT id, kind, text FROM review_items WHERE round_id = ? AND member_id = ?"
            " ORDER BY id",
            (round_id, member_id),
        )
        return [ReviewItem(r["id"], r["kind"], r["text"]) for r in rows]

    async def add_collective_shortcoming(
        self, round_id: int, text: str, actor_id: int, now: datetime
    ) -> int:
        return await self._insert(
            "INSERT INTO collective_shortcomings (round_id, text, created_by, created_at)"
            " VALUES (?, ?, ?, ?) RETURNING id",
            (round_id, text, actor_id, _ts(now)),
        )

    async def collective_shortcomings(self, round_id: int) -> list[ReviewItem]:
        rows = await self._all(
            "SELECT id, text FROM collective_shortcomings WHERE round_id = ? ORDER BY id",
            (round_id,),
        )
        return [ReviewItem(r["id"], "collective", r["text"]) for r in rows]

    async def previous_round(self, cell_id: int, before_round_id: int) -> Round | None:
        row = await self._one(
            "SELECT * FROM rounds WHERE cell_id = ? AND id < ? ORDER BY id DESC LIMIT 1",
            (cell_id, before_round_id),
        )
        return round_of(row) if row else None

    async def officer_prompt(self, member_id: int) -> OfficerPrompt | None:
        row = await self._one(
            "SELECT kind, target_id FROM officer_prompts WHERE member_id = ?", (member_id,)
        )
        return OfficerPrompt(row["kind"], row["target_id"]) if row else None

    async def set_officer_prompt(
        self, member_id: int, kind: str | None, target_id: int | None, now: datetime
    ) -> None:
        await self._run("DELETE FROM officer_prompts WHERE member_id = ?", (member_id,))
        if kind is not None:
            await self._run(
                "INSERT INTO officer_prompts (member_id, kind, target_id, created_at)"
                " VALUES (?, ?, ?, ?)",
                (member_id, kind, target_id, _ts(now)),
            )

    async def add_roster_upload(
        self, cell_id: int, uploaded_by: int, filename: str, content: bytes, now: datetime
    ) -> int:
        return await self._insert(
            "INSERT INTO roster_uploads (cell_id, uploaded_by, filename, content, created_at)"
            " VALUES (?, ?, ?, ?, ?) RETURNING id",
            (cell_id, uploaded_by, filename, content, _ts(now)),
        )

    async def roster_upload(self, upload_id: int) -> RosterUpload | None:
        row = await self._one("SELECT * FROM roster_uploads WHERE id = ?", (upload_id,))
        if row is None:
            return None
        return RosterUpload(row["id"], row["cell_id"], row["uploaded_by"], row["filename"],
                            row["content"], row["status"])

    async def set_roster_upload_status(self, upload_id: int, status: str) -> None:
        """Imported or rejected: either way the file's content is wiped (names and birth
        dates have no business staying in the database once the secretary has decided)."""
        await self._run(
            "UPDATE roster_uploads SET status = ?,"
            " content = CASE WHEN ? = 'pending' THEN content ELSE ? END WHERE id = ?",
            (status, status, b"", upload_id),
        )

    async def purge_roster_uploads_before(self, cutoff: datetime) -> int:
        """Uploads nobody decided on by ``cutoff`` are rejected and their content wiped."""
        return await self._run(
            "UPDATE roster_uploads SET status = 'rejected', content = ?"
            " WHERE status = 'pending' AND created_at < ?",
            (b"", _ts(cutoff)),
        )

    async def hand_over(self, upload_id: int, member_id: int, code: str,
                        expires_at: datetime) -> None:
        await self._run(
            "INSERT INTO invite_handover (upload_id, member_id, code, expires_at)"
            " VALUES (?, ?, ?, ?)",
            (upload_id, member_id, code, _ts(expires_at)),
        )

    async def handed_over(self, upload_id: int) -> list[HandedOver]:
        """The codes of a roster import not yet received by the secretary, in roster order."""
        rows = await self._all(
            "SELECT h.member_id, m.full_name, h.code, h.expires_at FROM invite_handover h"
            " JOIN members m ON m.id = h.member_id WHERE h.upload_id = ? ORDER BY h.member_id",
            (upload_id,),
        )
        return [HandedOver(r["member_id"], r["full_name"], r["code"],
                           datetime.fromisoformat(r["expires_at"])) for r in rows]

    async def forget_handover(self, upload_id: int | None, expired_before: datetime) -> None:
        """Wipe the plain codes of one import (received), and any that have expired."""
        await self._run(
            "DELETE FROM invite_handover WHERE upload_id = ? OR expires_at < ?",
            (upload_id, _ts(expired_before)),
        )

    async def find_member(self, cell_id: int, full_name: str, birth_date: str | None) -> Member | None:
        row = await self._one(
            "SELECT * FROM members WHERE cell_id = ? AND active = 1 AND full_name = ?"
            " AND COALESCE(birth_date, '') = COALESCE(?, '') ORDER BY id LIMIT 1",
            (cell_id, full_name, birth_date),
        )
        return member_of(row) if row else None

    async def update_member_posts(
        self, member_id: int, *, party_post: str | None, gov_post: str | None,
        mass_post: str | None, work_unit: str | None, is_leader: bool, joined_on: str | None,
        category: Category | None = None, standing: Standing | None = None,
    ) -> None:
        """A roster row for someone already listed: posts, category and standing as the
        roster now says (an empty admission date keeps the one on file)."""
        chosen = _category(is_leader, category)
        await self._run(
            "UPDATE members SET party_post = ?, gov_post = ?, mass_post = ?, work_unit = ?,"
            " is_leader = ?, category = ?, standing = ?, joined_on = COALESCE(?, joined_on)"
            " WHERE id = ?",
            (party_post, gov_post, mass_post, work_unit, int(chosen is Category.LEADER),
             chosen.value, standing.value if standing else None, joined_on, member_id),
        )

    async def revoke_invites(self, member_id: int, now: datetime) -> None:
        await self._run(
            "UPDATE invites SET revoked_at = ? WHERE member_id = ? AND used_at IS NULL"
            " AND revoked_at IS NULL",
            (_ts(now), member_id),
        )

    async def log_access(self, actor_id: int | None, action: str, target_id: int | None,
                         now: datetime, detail: str | None = None) -> None:
        """``actor_id`` None: the operator at the command line; ``detail``: which cell or
        file a page view or a download was of."""
        await self._run(
            "INSERT INTO access_log (actor_id, action, target_id, at, detail)"
            " VALUES (?, ?, ?, ?, ?)", (actor_id, action, target_id, _ts(now), detail))

    async def access_log(self, target_id: int) -> list[tuple[int | None, str]]:
        rows = await self._all(
            "SELECT actor_id, action FROM access_log WHERE target_id = ? ORDER BY id", (target_id,)
        )
        return [(r["actor_id"], r["action"]) for r in rows]


Store = SqliteStore
