"""What an operator or a cell's secretary does to a cell: one implementation, three callers.

The command line (``handlers/cli.py``), the console demo (``handlers/console.py``) and the
secretary's desk (``bot/secretary.py``) all call ``Operations``, so a rule (one live invite
per member, a removal is logged, a re-imported roster updates the people it knows, a meeting
date is checked against the working-day calendar) holds whichever way the work is done.

Each method runs inside the caller's transaction: only callers open transactions. A method
that changes a round's dates returns the round, and the caller plans its reminders again
once the transaction has committed. A mistake is an ``OperationError`` carrying an ASCII
``kind`` and the facts its message needs; the sentences live in ``templates/``.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from bot.deadlines import RoundDeadlines, compute_deadlines
from bot.invites import hash_code, new_code
from bot.models import Category, Cell, Committee, Member, Role, Round, Standing
from bot.ports import Clock, InviteLinks, OperatorStore
from bot.reminders import local_day
from bot.roster import (
    RosterPreview, RosterRow, Unrecognised, format_date, parse_category, parse_date,
    parse_roster, parse_standing,
)
from bot.rules import Eligibility, RuleBook, eligibility
from bot.text import clean_text, fold, strip_marks
from bot.workdays import Convention, WorkCalendar

# The review year. The annual review is held at the end of the year it reviews; some
# organisations hold it in the first quarter of the next year (domain.md §6). So a meeting
# from January to this month reviews the previous year; any later meeting, its own year.
# ``--year`` overrides the rule.
LAST_MONTH_REVIEWING_PREVIOUS_YEAR = 3

MAX_NAME = 200  # characters, as for a roster cell
# Prefixes an operator naturally types, which the forms already print before the name.
CELL_PREFIX = "chi bo "
COMMITTEE_PREFIX = "dang bo "


def review_year(meeting: date) -> int:
    """The year a meeting on ``meeting`` reviews: a meeting in January–March 2027 reviews
    2026; a meeting in December 2026 reviews 2026."""
    if meeting.month <= LAST_MONTH_REVIEWING_PREVIOUS_YEAR:
        return meeting.year - 1
    return meeting.year


class OperationError(Exception):
    """A request that cannot be carried out, with an ASCII ``kind`` and its facts."""

    def __init__(self, kind: str, **context: Any) -> None:
        super().__init__(kind)
        self.kind = kind
        self.context = context


@dataclass(frozen=True)
class OperationSettings:
    invite_ttl: timedelta = timedelta(days=7)
    member_lead: int = 5
    collective_lead: int = 3
    convention: Convention = "strict"
    max_roster_rows: int = 2000
    # What a round may name as its form: a family id or a pack id, each mapped to its family
    # (a round stores the family: each member then writes the pack for their category).
    forms: Mapping[str, str] = field(default_factory=dict)
    default_form: str = ""  # the family of new rounds
    rules: RuleBook | None = None  # who is reviewed (366 Điều 5): not invited when not
    # The default title of a round reviewing a given year (a template, rendered by wiring).
    round_title: Callable[[int], str] = str
    # The links a new member may open to join (one per channel that has such links, e.g.
    # a deep link that opens the bot with the code). On every channel the code can also be
    # typed.
    invite_links: Sequence[InviteLinks] = ()


@dataclass(frozen=True)
class Invite:
    member_id: int
    name: str
    code: str
    links: Mapping[str, str]  # channel -> the link to open, for channels that have one
    expires: datetime  # UTC

    @property
    def link(self) -> str | None:
        return next(iter(self.links.values()), None)

    def context(self) -> dict[str, Any]:
        return {"name": self.name, "code": self.code, "link": self.link,
                "links": dict(self.links), "expires": self.expires}


@dataclass(frozen=True)
class CellAdded:
    id: int
    name: str
    committee: str
    dropped: tuple[str, ...] = ()  # the prefixes removed ("Chi bộ", "Đảng bộ") as typed
    committee_id: int | None = None
    committee_created: bool = False


@dataclass(frozen=True)
class CommitteeFound:
    committee: Committee
    created: bool = False
    dropped: str | None = None  # "Đảng bộ" as typed before the name, removed


@dataclass(frozen=True)
class RoundChange:
    round: Round
    deadlines: RoundDeadlines
    before: date | None = None  # the previous meeting date, for a move


@dataclass(frozen=True)
class RosterPlan:
    """What importing a roster file would do: the file's reading, who is new, who is known."""

    preview: RosterPreview
    new: list[RosterRow] = field(default_factory=list)
    updated: list[RosterRow] = field(default_factory=list)


@dataclass(frozen=True)
class RosterImport:
    added: list[int]
    updated: list[int]
    invites: list[Invite]
    # New members the open round does not review (366 Điều 5): added, not invited.
    not_reviewed: list[tuple[Member, Eligibility]] = field(default_factory=list)


def clean_name(raw: str, what: str = "name") -> str:
    """A person's or a cell's name, cleaned; an empty or implausible one is refused."""
    name = " ".join(clean_text(raw).split())
    if not name:
        raise OperationError("empty_name", what=what)
    if len(name) > MAX_NAME:
        raise OperationError("name_too_long", what=what, limit=MAX_NAME)
    if what == "name" and (any(ch.isdigit() for ch in name)
                           or sum(ch.isalpha() for ch in name) < 2):
        raise OperationError("bad_name", what=what, value=name)
    return name


def _drop_prefix(name: str, prefix: str) -> tuple[str, str | None]:
    """("Chi bộ Phòng X", "chi bo ") -> ("Phòng X", "Chi bộ"): the prefix as typed, if any."""
    words = name.split()
    count = len(prefix.split())
    head = " ".join(words[:count])
    if len(words) > count and strip_marks(head).lower() + " " == prefix:
        return " ".join(words[count:]), head
    return name, None


def check_profile(
    category: str | None, leader: bool, joined_on: str | None, standing: str | None, today: date,
) -> tuple[Category, str | None, Standing | None]:
    """A member's category (as a roster reads it: «lãnh đạo», «2C», «hưu trí»…), admission
    date (ISO) and standing; "02A"/"02B", an unknown value, a future or impossible date and a
    category contradicting ``leader`` are refused."""
    parsed = parse_category(category or "")
    if isinstance(parsed, Unrecognised):
        raise OperationError("bad_category", value=category,
                             old=parsed.code == "old_form_letter")
    if parsed is not None and leader and parsed is not Category.LEADER:
        raise OperationError("category_conflict", value=category)
    status = parse_standing(standing or "")
    if isinstance(status, Unrecognised):
        raise OperationError("bad_standing", value=standing)
    joined = None
    if joined_on is not None and joined_on.strip():
        try:
            joined = parse_date(unicodedata.normalize("NFKC", joined_on).strip())
        except (ValueError, OverflowError):
            raise OperationError("bad_joined_on", value=joined_on) from None
        if joined is not None and joined > today:
            raise OperationError("joined_in_future", value=joined_on)
    chosen = parsed or (Category.LEADER if leader else Category.NO_POST)
    return chosen, joined.isoformat() if joined else None, status


def check_birth_date(raw: str | None, today: date) -> str | None:
    """A birth date as dd/mm/yyyy, or None; an impossible or future date is refused."""
    if raw is None or not raw.strip():
        return None
    text = unicodedata.normalize("NFKC", raw).strip()
    try:
        parsed = parse_date(text)
    except (ValueError, OverflowError):
        raise OperationError("bad_birth_date", value=raw) from None
    if parsed is None:
        return None
    if parsed > today or parsed.year < 1900:
        raise OperationError("bad_birth_date", value=raw)
    return format_date(parsed)


class Operations:
    def __init__(
        self,
        store: OperatorStore,
        clock: Clock,
        calendar: WorkCalendar,
        settings: OperationSettings,
    ) -> None:
        self.store = store
        self.clock = clock
        self.calendar = calendar
        self.settings = settings

    def today(self) -> date:
        return local_day(self.clock.now())

    # ----------------------------------------------------------------- cells and members

    async def cell(self, cell_id: int) -> Cell:
        cell = await self.store.cell(cell_id)
        if cell is None:
            raise OperationError("no_cell", id=cell_id)
        return cell

    async def add_cell(self, name: str, committee: str = "", place: str = "") -> CellAdded:
        """A new cell. "Chi bộ X" is stored as "X" and "Đảng bộ Y" as "Y": the forms print
        those words themselves, and «Chi bộ Chi bộ X» would head every draft. ``committee``
        names the committee that owns it (its id, or its name: an unknown name creates it)."""
        cell_name, dropped_cell = _drop_prefix(clean_name(name, "cell"), CELL_PREFIX)
        found = await self.find_committee(committee, create=True) if committee.strip() else None
        committee_name = found.committee.name if found is not None else ""
        cell_id = await self.store.add_cell(cell_name, committee_name,
                                            " ".join(clean_text(place).split()),
                                            self.clock.now())
        if found is not None:
            await self.store.set_cell_committee(cell_id, found.committee.id, committee_name)
        dropped = tuple(d for d in (dropped_cell, found.dropped if found else None) if d)
        return CellAdded(cell_id, cell_name, committee_name, dropped,
                         found.committee.id if found else None,
                         found is not None and found.created)

    # ----------------------------------------------------------------- committees

    async def find_committee(self, ref: str, *, create: bool = False) -> CommitteeFound:
        """A committee by its id («3») or its name («Đảng bộ Phường X» or «Phường X», accents
        and case ignored); an unknown name is created when ``create``."""
        text = " ".join(clean_text(ref).split())
        if text.isascii() and text.isdigit():
            committee = await self.store.committee(int(text))
            if committee is None:
                raise OperationError("no_committee", id=int(text))
            return CommitteeFound(committee)
        name, dropped = _drop_prefix(clean_name(text, "committee"), COMMITTEE_PREFIX)
        for committee in await self.store.committees():
            if fold(committee.name) == fold(name):
                return CommitteeFound(committee, False, dropped)
        if not create:
            raise OperationError("no_committee_named", name=name)
        committee_id = await self.store.add_committee(name, self.clock.now())
        return CommitteeFound(Committee(committee_id, name), True, dropped)

    async def add_committee(self, name: str) -> CommitteeFound:
        """A new committee; a name already used is refused (the operator meant that one)."""
        found = await self.find_committee(name, create=True)
        if not found.created:
            raise OperationError("committee_exists", id=found.committee.id,
                                 name=found.committee.name)
        return found

    async def move_cell(self, cell_id: int, committee: str) -> tuple[Cell, CommitteeFound]:
        """The cell now belongs to ``committee`` (created if new); the forms' header follows."""
        cell = await self.cell(cell_id)
        found = await self.find_committee(committee, create=True)
        await self.store.set_cell_committee(cell.id, found.committee.id, found.committee.name)
        await self.store.log_access(None, "cell_committee", None, self.clock.now())
        return cell, found

    async def grant_officer(self, committee: str, member_id: int, actor_id: int | None
                            ) -> tuple[Committee, Member, bool]:
        """Make an active member an officer of the committee (they see its every cell)."""
        found = await self.find_committee(committee)
        member = await self.active_member(member_id)
        added = await self.store.add_committee_officer(found.committee.id, member.id,
                                                       self.clock.now())
        await self.store.log_access(actor_id, "committee_officer_add", member.id,
                                    self.clock.now())
        return found.committee, member, added

    async def revoke_officer(self, committee: str, member_id: int, actor_id: int | None
                             ) -> tuple[Committee, Member, bool]:
        found = await self.find_committee(committee)
        member = await self.store.member(member_id)
        if member is None:
            raise OperationError("no_member", id=member_id)
        removed = await self.store.remove_committee_officer(found.committee.id, member.id)
        await self.store.log_access(actor_id, "committee_officer_remove", member.id,
                                    self.clock.now())
        return found.committee, member, removed

    async def add_member(
        self, cell_id: int, full_name: str, *, birth_date: str | None = None,
        party_post: str | None = None, gov_post: str | None = None,
        mass_post: str | None = None, work_unit: str | None = None, is_leader: bool = False,
        role: Role = Role.MEMBER, category: str | None = None, joined_on: str | None = None,
        standing: str | None = None,
    ) -> int:
        """Add a member. ``category`` picks the 2025 form (see ``check_profile``); without it,
        ``is_leader`` decides between leader and no post."""
        await self.cell(cell_id)
        name = clean_name(full_name)
        born = check_birth_date(birth_date, self.today())
        chosen, joined, status = check_profile(category, is_leader, joined_on, standing,
                                               self.today())

        def post(value: str | None) -> str | None:
            text = " ".join(clean_text(value or "").split())
            return text or None

        return await self.store.add_member(
            cell_id, name, self.clock.now(), birth_date=born, party_post=post(party_post),
            gov_post=post(gov_post), mass_post=post(mass_post), work_unit=post(work_unit),
            is_leader=chosen is Category.LEADER, role=role, category=chosen, joined_on=joined,
            standing=status,
        )

    async def active_member(self, member_id: int) -> Member:
        member = await self.store.member(member_id)
        if member is None:
            raise OperationError("no_member", id=member_id)
        if not member.active:
            raise OperationError("already_removed", id=member_id, name=member.full_name)
        return member

    async def remove_member(self, member_id: int, actor_id: int | None) -> Member:
        """End a member's access at once: inactive, invites revoked, logged. Their answers
        are kept. ``actor_id`` None is the operator at the command line."""
        member = await self.active_member(member_id)
        now = self.clock.now()
        await self.store.deactivate_member(member.id)
        await self.store.revoke_invites(member.id, now)
        await self.store.log_access(actor_id, "remove", member.id, now)
        return member

    # ----------------------------------------------------------------- invites

    async def issue_invite(self, member: Member) -> Invite:
        """A new one-time code; the member's unused ones are revoked (one live invite)."""
        now = self.clock.now()
        await self.store.revoke_invites(member.id, now)
        code = new_code()
        expires = now + self.settings.invite_ttl
        await self.store.add_invite(member.id, hash_code(code), now, expires)
        return Invite(member.id, member.full_name, code, self.invite_links(code), expires)

    def invite_links(self, code: str) -> dict[str, str]:
        """channel -> link, for every channel whose invite can be a link."""
        return {links.channel: link for links in self.settings.invite_links
                if (link := links.link_for(code)) is not None}

    async def revoke_invites(self, member: Member) -> None:
        await self.store.revoke_invites(member.id, self.clock.now())

    # ----------------------------------------------------------------- rosters

    def read_roster(self, filename: str, content: bytes) -> RosterPreview:
        """Read a roster (CSV in any Excel encoding, or XLSX); CPU only, nothing stored. A
        channel may read it elsewhere (off the event loop) and pass the preview on."""
        return parse_roster(filename, content, max_rows=self.settings.max_roster_rows,
                            today=self.today())

    async def plan_roster(self, cell_id: int, preview: RosterPreview) -> RosterPlan:
        """What importing a read roster would do: who is new, who is known (same name and
        birth date) and would have their posts updated. Nothing is stored."""
        new: list[RosterRow] = []
        updated: list[RosterRow] = []
        for row in preview.rows:
            known = await self.store.find_member(cell_id, row.full_name,
                                                 row.member_fields()["birth_date"])
            (updated if known else new).append(row)
        return RosterPlan(preview, new, updated)

    async def import_roster(
        self, cell_id: int, plan: RosterPlan, actor_id: int | None
    ) -> RosterImport:
        """Add the new people and update the posts of the known ones (same name and birth
        date), inside the caller's transaction: all rows or none. New members get an
        invite each, except those the open round does not review (366 Điều 5)."""
        now = self.clock.now()
        added: list[int] = []
        updated: list[int] = []
        invites: list[Invite] = []
        not_reviewed: list[tuple[Member, Eligibility]] = []
        round_ = await self.store.open_round(cell_id)
        for row in plan.preview.rows:
            fields_ = row.member_fields()
            joined = row.joined_on.isoformat() if row.joined_on else None
            known = await self.store.find_member(cell_id, row.full_name, fields_["birth_date"])
            if known is not None:
                await self.store.update_member_posts(
                    known.id, party_post=fields_["party_post"], gov_post=fields_["gov_post"],
                    mass_post=fields_["mass_post"], work_unit=fields_["work_unit"],
                    is_leader=fields_["is_leader"], joined_on=joined,
                    category=fields_["category"], standing=fields_["standing"])
                updated.append(known.id)
                continue
            member_id = await self.store.add_member(cell_id, now=now, joined_on=joined,
                                                    **fields_)
            added.append(member_id)
            member = await self.store.member(member_id)
            if member is None:
                raise RuntimeError(f"member {member_id} vanished inside its transaction")
            status = self.eligibility(member, round_)
            if status is not None and not status.reviewed:
                not_reviewed.append((member, status))
                continue
            invites.append(await self.issue_invite(member))
        await self.store.log_access(actor_id, "roster_import", None, now)
        return RosterImport(added, updated, invites, not_reviewed)

    def eligibility(self, member: Member, round_: Round | None) -> Eligibility | None:
        """Whether ``round_`` reviews ``member`` (None without a round or rules)."""
        if round_ is None or self.settings.rules is None:
            return None
        joined = date.fromisoformat(member.joined_on) if member.joined_on else None
        return eligibility(self.settings.rules.at(round_.meeting_date), joined_on=joined,
                           standing=member.standing, meeting=round_.meeting_date)

    # ----------------------------------------------------------------- rounds

    def deadlines(self, meeting: date) -> RoundDeadlines:
        """The round's dates for a meeting on ``meeting``; DeadlineProblem or YearNotCovered
        when the meeting cannot be held then."""
        return compute_deadlines(
            self.calendar, meeting, self.today(), member_lead=self.settings.member_lead,
            collective_lead=self.settings.collective_lead, convention=self.settings.convention,
        )

    async def open_round(
        self, cell_id: int, meeting: date, *, year: int | None = None,
        title: str | None = None, form: str | None = None,
    ) -> RoundChange:
        """Open the cell's review round. The year defaults to the year under review
        (``review_year``); the title to the usual one for that year."""
        await self.cell(cell_id)
        family = self.settings.forms.get(form or self.settings.default_form)
        if form is not None and family is None:
            known = sorted(set(self.settings.forms.values()))
            raise OperationError("no_form", form=form, known=known)
        if await self.store.open_round(cell_id) is not None:
            raise OperationError("round_already_open", cell=cell_id)
        deadlines = self.deadlines(meeting)
        year = year or review_year(deadlines.meeting)
        title = " ".join(clean_text(title or "").split()) or self.settings.round_title(year)
        round_id = await self.store.add_round(cell_id, year, title, deadlines.meeting,
                                              deadlines.member_due, self.clock.now(), family)
        round_ = await self.store.round(round_id)
        if round_ is None:
            raise RuntimeError(f"round {round_id} vanished inside its transaction")
        return RoundChange(round_, deadlines)

    async def move_round(self, cell_id: int, meeting: date) -> RoundChange:
        """A new meeting date for the cell's open round, with its deadlines recomputed."""
        round_ = await self._open_round(cell_id)
        deadlines = self.deadlines(meeting)
        await self.store.move_round(round_.id, deadlines.meeting, deadlines.member_due)
        return RoundChange(round_, deadlines, before=round_.meeting_date)

    async def close_round(self, cell_id: int) -> Round:
        round_ = await self._open_round(cell_id)
        await self.store.close_round(round_.id)
        await self.store.mark_round_closed(round_.id, self.clock.now())
        return round_

    async def _open_round(self, cell_id: int) -> Round:
        await self.cell(cell_id)
        round_ = await self.store.open_round(cell_id)
        if round_ is None:
            raise OperationError("no_open_round", cell=cell_id)
        return round_
