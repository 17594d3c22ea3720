"""What the core needs from the outside world, stated as small protocols.

Each protocol is a few methods; each use case names the combination it uses (the
``…Store`` protocols at the end), so a fake for a test implements only that. The storage
package implements all of them in one store (``storage.store.SqliteStore``, whose SQL runs
on SQLite and on PostgreSQL alike); the core never imports an implementation. Delivery's own ports (``Outbox``, ``NoticeQueue``, ``Transport``)
live in ``bot.delivery``; planning's (``ReminderRepo``) in ``bot.reminders``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import date, datetime
from enum import StrEnum
from typing import Protocol

from bot.delivery import NoticeQueue
from bot.models import (
    Account, Answer, Category, Cell, CellRound, Committee, HandedOver, Member, MemberLine,
    MemberProgress, OfficerPrompt, Review, ReviewItem, Role, Round, RosterUpload, Standing,
    Submission, ViewLogin, Who,
)


class Redeem(StrEnum):
    OK = "ok"
    UNKNOWN = "unknown"
    USED = "used"
    EXPIRED = "expired"
    REVOKED = "revoked"


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware (UTC)."""
        ...


class InviteLinks(Protocol):
    """What a person on one channel opens to join with an invite code, if the channel has
    such a link (a deep link that opens the bot with the code); None where a code must be
    typed."""

    channel: str

    def link_for(self, code: str) -> str | None: ...


# ------------------------------------------------------------------------------ small ports


class Transactions(Protocol):
    def transaction(self) -> AbstractAsyncContextManager[None]:
        """Everything awaited inside commits together, or not at all."""
        ...


class EventClaims(Protocol):
    async def claim_event(self, key: str, now: datetime) -> bool:
        """Record a delivered update; False if it was already handled."""
        ...


class Accounts(Protocol):
    async def who(self, channel: str, external_id: str) -> Who | None:
        """The account, its member and its menu, in one read."""
        ...

    async def account(self, channel: str, external_id: str) -> Account | None: ...
    async def member_by_account(self, channel: str, external_id: str) -> Member | None: ...


class AccountUse(Protocol):
    async def seen(self, channel: str, external_id: str, now: datetime) -> None:
        """An update from this account is being handled: it is the one used last, and
        reachable again if it had blocked the bot."""
        ...

    async def set_menu(self, channel: str, external_id: str, menu: str | None) -> None: ...


class MemberTurns(Protocol):
    async def hold_member(self, channel: str, external_id: str) -> None:
        """Inside a transaction, before anything of theirs is read: the member behind this
        account (if any) is held until it commits, so their other updates (another channel,
        another worker) wait and then read what it wrote; a read-modify-write of their
        review (a long answer's pieces) never loses a piece."""
        ...


class ScreenMemory(Protocol):
    async def set_shown(self, review_id: int, qid: str) -> None:
        """What the member's screen now shows (a question id, or the review list)."""
        ...

    async def mark_reply_lost(self, review_id: int) -> None:
        """The reply to the member's last message never reached them."""
        ...


class LinkStore(Protocol):
    async def redeem_invite(
        self, code_hash: str, channel: str, external_id: str, now: datetime
    ) -> tuple[Redeem, int | None]:
        """Bind the account to the invite's member if the code is valid; return the member id."""
        ...

    async def failed_link_attempts(self, channel: str, external_id: str, since: datetime) -> int: ...
    async def record_failed_link(self, channel: str, external_id: str, now: datetime) -> None: ...


class ReviewReader(Protocol):
    async def open_round_with_review(
        self, cell_id: int, member_id: int
    ) -> tuple[Round | None, Review | None]: ...
    async def review(self, review_id: int) -> Review | None: ...
    async def answers(self, review_id: int) -> Mapping[str, Answer]: ...


class OwnPoints(Protocol):
    """The member's own points (sections III–V): read for the walk, the desk, the bundle."""

    async def review_items(self, round_id: int, member_id: int) -> list[ReviewItem]: ...
    async def collective_shortcomings(self, round_id: int) -> list[ReviewItem]: ...


class ReviewStart(Protocol):
    """A member opens this round's review: it is created, last round's shortcomings carried."""

    async def create_review(self, round_id: int, member_id: int, now: datetime) -> Review: ...
    async def previous_round(self, cell_id: int, before_round_id: int) -> Round | None: ...
    async def review_for(self, round_id: int, member_id: int) -> Review | None: ...
    async def add_review_item(
        self, round_id: int, member_id: int, kind: str, text: str, actor_id: int | None,
        now: datetime,
    ) -> int: ...


class AnswerWriter(Protocol):
    async def save_answer(
        self, review_id: int, qid: str, value: str | None, *, skipped: bool, vague: bool,
        now: datetime, prefilled: bool = False,
    ) -> None:
        """Store the answer (keeping the previous one in its history) and clear the cursor."""
        ...

    async def set_cursor(self, review_id: int, qid: str | None) -> None: ...
    async def set_pending(
        self, review_id: int, qid: str | None, text: str | None, warned: bool
    ) -> None: ...
    async def mark_in_progress(self, review_id: int) -> None: ...
    async def last_answer(self, review_id: int) -> Answer | None: ...


class Submissions(Protocol):
    async def add_submission(
        self, review_id: int, filename: str, docx: bytes, now: datetime
    ) -> int: ...
    async def latest_submission(self, review_id: int) -> Submission | None: ...


class Cells(Protocol):
    async def cell(self, cell_id: int) -> Cell | None: ...
    async def accounts_of(self, member_id: int) -> list[Account]: ...
    async def cell_officers(self, cell_id: int) -> list[Member]: ...
    async def member(self, member_id: int) -> Member | None: ...
    async def open_round(self, cell_id: int) -> Round | None: ...


class Handover(Protocol):
    async def hand_over(self, upload_id: int, member_id: int, code: str,
                        expires_at: datetime) -> None:
        """Keep an invite code in plain text until the secretary has received it."""
        ...

    async def handed_over(self, upload_id: int) -> list[HandedOver]: ...
    async def forget_handover(self, upload_id: int | None, expired_before: datetime) -> None: ...


class AccessLog(Protocol):
    async def log_access(
        self, actor_id: int | None, action: str, target_id: int | None, now: datetime,
        detail: str | None = None,
    ) -> None:
        """``actor_id`` None: the operator at the command line; ``detail``: which cell or
        file a page view or a download was of."""
        ...


class Decisions(Protocol):
    async def set_decision(
        self, review_id: int, decision: str, comment: str | None, actor_id: int, now: datetime
    ) -> None: ...
    async def add_collective_shortcoming(
        self, round_id: int, text: str, actor_id: int, now: datetime
    ) -> int: ...


class Tracking(Protocol):
    """The desk's view of a cell: each read is one query, whatever the cell's size."""

    async def progress(self, cell_id: int, round_id: int,
                       member_id: int | None = None) -> list[MemberProgress]: ...
    async def round_answers(self, round_id: int,
                            member_id: int | None = None) -> dict[int, dict[str, Answer]]: ...
    async def round_review_items(self, round_id: int,
                                 member_id: int | None = None) -> dict[int, list[ReviewItem]]: ...


class OfficerPrompts(Protocol):
    async def officer_prompt(self, member_id: int) -> OfficerPrompt | None: ...
    async def set_officer_prompt(
        self, member_id: int, kind: str | None, target_id: int | None, now: datetime
    ) -> None: ...


class RosterUploads(Protocol):
    async def add_roster_upload(
        self, cell_id: int, uploaded_by: int, filename: str, content: bytes, now: datetime
    ) -> int: ...
    async def roster_upload(self, upload_id: int) -> RosterUpload | None: ...
    async def set_roster_upload_status(self, upload_id: int, status: str) -> None: ...


class Profiles(Protocol):
    async def set_member_category(self, member_id: int, category: Category) -> None: ...
    async def set_member_standing(self, member_id: int, standing: Standing | None) -> None: ...


class MemberWriter(Protocol):
    async def find_member(
        self, cell_id: int, full_name: str, birth_date: str | None
    ) -> Member | None: ...
    async def add_member(
        self, cell_id: int, full_name: str, now: datetime, *, birth_date: str | None = None,
        party_post: str | None = None, gov_post: str | None = None,
        mass_post: str | None = None, work_unit: str | None = None, is_leader: bool = False,
        role: Role = Role.MEMBER, joined_on: str | None = None,
        category: Category | None = None, standing: Standing | None = None,
    ) -> int: ...
    async def update_member_posts(
        self, member_id: int, *, party_post: str | None, gov_post: str | None,
        mass_post: str | None, work_unit: str | None, is_leader: bool, joined_on: str | None,
        category: Category | None = None, standing: Standing | None = None,
    ) -> None: ...
    async def deactivate_member(self, member_id: int) -> None: ...


class Invites(Protocol):
    async def add_invite(
        self, member_id: int, code_hash: str, now: datetime, expires_at: datetime
    ) -> int: ...
    async def revoke_invites(self, member_id: int, now: datetime) -> None: ...


class RoundWriter(Protocol):
    async def add_cell(self, name: str, party_committee: str, place: str, now: datetime) -> int: ...
    async def cells(self) -> list[Cell]: ...
    async def members(self, cell_id: int) -> list[Member]: ...
    async def add_round(
        self, cell_id: int, year: int, title: str, meeting: date, member_due: date,
        now: datetime, form_id: str | None = None,
    ) -> int: ...
    async def round(self, round_id: int) -> Round | None: ...
    async def move_round(self, round_id: int, meeting: date, member_due: date) -> None: ...
    async def close_round(self, round_id: int) -> None: ...


class CommitteeReader(Protocol):
    """The committee's view: its cells, their current rounds, their members' progress."""

    async def committee(self, committee_id: int) -> Committee | None: ...
    async def officer_committees(self, member_id: int) -> list[int]: ...
    async def committee_rounds(self, committee_id: int | None,
                               cell_id: int | None = None) -> list[CellRound]:
        """Every cell of the committee (or one cell) with its open round, else its latest."""
        ...

    async def committee_lines(self, committee_id: int | None,
                              cell_id: int | None = None) -> list[MemberLine]: ...


class WebLogins(Protocol):
    async def add_web_login(self, token_hash: str, member_id: int, now: datetime,
                            expires_at: datetime) -> None: ...
    async def web_login(self, token_hash: str) -> ViewLogin | None: ...
    async def use_web_login(self, token_hash: str, now: datetime) -> int | None: ...
    async def add_web_session(self, token_hash: str, member_id: int, now: datetime,
                              expires_at: datetime) -> None: ...
    async def web_session(self, token_hash: str, now: datetime) -> int | None: ...
    async def end_web_session(self, token_hash: str, now: datetime) -> None: ...


class Results(Protocol):
    """The level and score of a submission, kept on the review (they outlive a purge)."""

    async def set_review_result(self, review_id: int, level: str | None,
                                score: int | None) -> None: ...
    async def reviews_without_result(self, round_id: int | None = None
                                     ) -> list[tuple[int, int, int]]: ...
    async def round(self, round_id: int) -> Round | None: ...


class CommitteeAdmin(Protocol):
    """Committees and their officers, as the operator sets them up."""

    async def add_committee(self, name: str, now: datetime) -> int: ...
    async def committee(self, committee_id: int) -> Committee | None: ...
    async def committees(self) -> list[Committee]: ...
    async def set_cell_committee(self, cell_id: int, committee_id: int | None,
                                 header: str) -> None: ...
    async def committee_cells(self, committee_id: int) -> list[Cell]: ...
    async def add_committee_officer(self, committee_id: int, member_id: int,
                                    now: datetime) -> bool: ...
    async def remove_committee_officer(self, committee_id: int, member_id: int) -> bool: ...
    async def committee_officers(self, committee_id: int) -> list[Member]: ...
    async def mark_round_closed(self, round_id: int, now: datetime) -> None: ...


class OwnData(Protocol):
    """A member's own data (/dulieu) and the purge of answer texts (retention)."""

    async def rounds_of_member(self, member_id: int) -> list[tuple[Round, int]]: ...
    async def submissions_of(self, review_id: int) -> list[Submission]: ...
    async def answer_history(self, review_id: int, qid: str) -> list[Answer]: ...
    async def all_answer_history(self, review_id: int) -> list[Answer]: ...
    async def purge_counts(self, review_ids: Sequence[int]) -> dict[str, int]: ...
    async def purge_reviews(self, review_ids: Sequence[int], now: datetime) -> None: ...


# ------------------------------------------------------------------------------ per use case


class LoadStore(ReviewReader, OwnPoints, ReviewStart, Protocol):
    """``bot.state.load_review``: a member's review as it stands (created on first use)."""


class WalkStore(LoadStore, AnswerWriter, Protocol):
    """``bot.walk``: answering, skipping, going back."""


class SubmitStore(Submissions, Cells, Results, Protocol):
    """``bot.submit``: the draft stored (its notices go to a ``NoticeQueue``)."""


class LinkingStore(LinkStore, Accounts, Protocol):
    """``bot.link``: an account bound to a member by an invite code."""


class DeskStore(LoadStore, Submissions, Cells, Handover, AccessLog, Decisions, Tracking,
                OfficerPrompts, RosterUploads, Profiles, Protocol):
    """``bot.secretary.Desk``."""


class OperatorStore(Cells, MemberWriter, Invites, RoundWriter, AccessLog, CommitteeAdmin,
                    Protocol):
    """``bot.operations``: what the command line, the console and the desk share."""


class CommitteeStore(LoadStore, Cells, CommitteeReader, WebLogins, OwnData, AccessLog, Results,
                     Protocol):
    """``bot.committee_desk``: the committee's view, the web page's links, one's own data."""


class ServiceStore(WalkStore, LinkingStore, SubmitStore, DeskStore, CommitteeStore,
                   Transactions, EventClaims, AccountUse, MemberTurns, ScreenMemory,
                   NoticeQueue, Protocol):
    """``bot.review.ReviewService``, which routes to all of the above."""
