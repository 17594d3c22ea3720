"""Domain records shared by the core, the storage layer and the adapters.

Plain frozen dataclasses: storage builds them from rows, the core reasons about them,
adapters never need to know where they came from.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum


class Role(StrEnum):
    MEMBER = "member"
    SECRETARY = "secretary"
    DEPUTY = "deputy"


class Category(StrEnum):
    """Which 2025 form a member writes (Hướng dẫn 43-HD/BTCTW, 2.1 b)."""

    LEADER = "leader"    # holds a leadership or management post: Mẫu 2A
    NO_POST = "no_post"  # holds none: Mẫu 2B
    OUTSIDE = "outside"  # works outside the political system (retired, student, private…): 2C


class Standing(StrEnum):
    """Members who are not reviewed at all, whatever the round (366 Điều 5 khoản 2)."""

    EXEMPTED = "exempted"    # miễn công tác và sinh hoạt đảng
    SUSPENDED = "suspended"  # đình chỉ sinh hoạt đảng


class RoundStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class ReviewStatus(StrEnum):
    IN_PROGRESS = "in_progress"
    SUBMITTED = "submitted"


@dataclass(frozen=True)
class Cell:
    id: int
    name: str
    party_committee: str  # the committee's name as the forms' header prints it
    place: str
    committee_id: int | None = None  # the committee (đảng ủy cơ sở) that owns the cell


@dataclass(frozen=True)
class Committee:
    """A grassroots Party committee (đảng ủy / chi ủy cơ sở): it owns cells, decides their
    members' levels and applies the cap across all of them."""

    id: int
    name: str


@dataclass(frozen=True)
class Member:
    id: int
    cell_id: int
    full_name: str
    birth_date: str | None
    party_post: str | None
    gov_post: str | None
    mass_post: str | None
    work_unit: str | None
    is_leader: bool
    role: Role
    active: bool
    joined_on: str | None = None  # ISO date admitted to the Party, for the 6-month rule
    category: Category = Category.NO_POST  # picks the 2025 form; LEADER iff is_leader
    standing: Standing | None = None  # exempted or suspended: not reviewed


def is_officer(member: Member) -> bool:
    """An active secretary or deputy: they get the cell's desk besides their own review."""
    return member.active and member.role in (Role.SECRETARY, Role.DEPUTY)


@dataclass(frozen=True)
class Account:
    """A member's identity on one channel (a chat platform's user id, the console)."""

    channel: str
    external_id: str
    member_id: int


@dataclass(frozen=True)
class Who:
    """The account a message came from, as the core needs it when the message arrives: its
    member, the menu last shown to it (JSON, see ``bot.menus``), when it was last used and
    when the member's most recently used account was, and whether it had blocked the bot."""

    account: Account
    member: Member
    menu: str | None = None
    last_seen_at: datetime | None = None
    latest_seen: datetime | None = None
    unreachable: bool = False


@dataclass(frozen=True)
class Round:
    id: int
    cell_id: int
    year: int
    title: str
    meeting_date: date
    member_due: date
    status: RoundStatus
    form_id: str | None = None  # the form pack members fill in; None: the default
    closed_at: datetime | None = None  # None for an open round (or one closed before 0010)
    exported_at: datetime | None = None
    purged_at: datetime | None = None  # its answer texts are gone (retention)


@dataclass(frozen=True)
class Review:
    """One member's review in one round, with the position the member is looking at.

    ``cursor`` is set only while the member has stepped back, is editing a chosen
    answer or is looking at the review list; otherwise the current question is derived
    from the stored answers.
    ``pending_*`` holds a text answer that is still being written across messages.
    ``shown_qid`` is the question (or the review list) the member was last shown, None when
    unknown; ``reply_lost`` says the reply to their last message never reached them.
    """

    id: int
    round_id: int
    member_id: int
    status: ReviewStatus
    cursor: str | None
    pending_qid: str | None
    pending_text: str | None
    pending_warned: bool
    submitted_version: int
    decision: str | None = None  # "returned" | "accepted", set by the cell's secretary
    decision_comment: str | None = None
    shown_qid: str | None = None
    reply_lost: bool = False


@dataclass(frozen=True)
class Answer:
    qid: str
    value: str | None
    skipped: bool
    vague: bool
    updated_at: datetime
    # The member kept the suggested text (sections II.1, II.2, VI): the draft composes it
    # from the follow-up answers as they stand, and ``value`` is only the copy shown then.
    prefilled: bool = False


@dataclass(frozen=True)
class Submission:
    review_id: int
    version: int
    created_at: datetime
    filename: str
    docx: bytes


@dataclass(frozen=True)
class ReviewItem:
    """A point the member must answer on their own: a committee point or a carried-over
    shortcoming (``kind`` "suggestion" | "carryover"), or the collective's shortcoming."""

    id: int
    kind: str
    text: str


@dataclass(frozen=True)
class MemberProgress:
    """One line of the secretary's tracker."""

    member: Member
    linked: bool
    reachable: bool
    review: Review | None
    answered: int


@dataclass(frozen=True)
class OfficerPrompt:
    kind: str
    target_id: int | None


@dataclass(frozen=True)
class RosterUpload:
    id: int
    cell_id: int
    uploaded_by: int
    filename: str
    content: bytes
    status: str


@dataclass(frozen=True)
class HandedOver:
    """An invite code kept in plain text until the secretary has received it."""

    member_id: int
    full_name: str
    code: str
    expires_at: datetime


@dataclass(frozen=True)
class CellRound:
    """A cell of a committee and the round the committee looks at: the open one, else the
    latest."""

    cell: Cell
    round: Round | None


@dataclass(frozen=True)
class MemberLine:
    """One member as the committee sees them: progress, the level and score they proposed in
    their last submission; never an answer's text."""

    member: Member
    invited: bool
    linked: bool
    review_id: int | None
    submitted_version: int
    decision: str | None  # "returned" | "accepted" | None
    answered: int
    self_level: str | None
    self_score: int | None


@dataclass(frozen=True)
class ViewLogin:
    """A one-time web login link, as its hash finds it."""

    member_id: int
    expires_at: datetime
    used: bool
