"""The committee's view: every cell of a Party committee at a glance.

``summarize`` turns what storage read in two statements (each cell with its current round,
every member's progress) into per-cell counts, late cells, and the cap on «Hoàn thành xuất
sắc nhiệm vụ» computed across the whole committee, per group of members in similar posts
(Quy định 366-QĐ/TW, Điều 11 khoản 1; the rule in force is read from the dated data in
``data/classification.toml``). Counts, statuses, levels and scores only: never an answer.

Core module: no channel, no storage, no clock (``today`` is an argument).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date

from bot.models import Category, Cell, CellRound, Committee, MemberLine, Round, RoundStatus
from bot.rules import LEVELS, Eligibility, Rules

# One member is in exactly one of these (the chart's segments, in the order they are drawn).
SEGMENTS: tuple[str, ...] = ("accepted", "submitted", "returned", "started", "linked",
                             "invited", "not_invited", "not_reviewed")
# The counts per cell the issue asks for, each a subset of the one before it (a funnel),
# returned and accepted being parts of "submitted"; "not_reviewed" stands apart.
FUNNEL: tuple[str, ...] = ("invited", "linked", "started", "submitted", "returned",
                           "accepted", "not_reviewed")
GROUPS: tuple[str, ...] = tuple(c.value for c in Category)  # leader, no_post, outside
ALL = "all"  # the cap counted for the whole organisation (rules without groups)

Eligible = Callable[[MemberLine, Round], Eligibility]


@dataclass(frozen=True)
class MemberRow:
    """One member in the committee's view (the web page, the workbook): no answer text."""

    id: int
    name: str
    category: str
    status: str  # one of SEGMENTS
    level: str | None  # the level proposed in the last submission
    score: int | None
    reason: str | None = None  # why not reviewed ("recent", "exempted", "suspended")


@dataclass(frozen=True)
class CellSummary:
    cell: Cell
    round: Round | None
    segments: dict[str, int]
    members: list[MemberRow]
    late: bool = False
    days_late: int = 0

    @property
    def total(self) -> int:
        return len(self.members)

    @property
    def reviewed(self) -> int:
        return self.total - self.segments["not_reviewed"]

    @property
    def counts(self) -> dict[str, int]:
        return funnel(self.segments)

    @property
    def not_done(self) -> int:
        """Reviewed members whose draft is not in (not submitted, or returned)."""
        s = self.segments
        return self.reviewed - s["accepted"] - s["submitted"]


@dataclass(frozen=True)
class CapGroup:
    """The cap on one group: how many proposed «Hoàn thành xuất sắc» against how many may
    be, at the rule's share and at the exception's."""

    group: str  # a category value, or ALL
    excellent: int  # proposed "htxs"
    good: int  # proposed "htt": the denominator
    allowed: int  # floor(share × good): «không vượt quá»
    exception_allowed: int | None  # floor(exception share × good), when the rule has one
    members: int = 0  # submitted, reviewed members of the group with a proposed level

    @property
    def over(self) -> bool:
        return self.excellent > self.allowed

    @property
    def over_exception(self) -> bool:
        return self.exception_allowed is not None and self.excellent > self.exception_allowed


@dataclass(frozen=True)
class CommitteeSummary:
    committee: Committee
    cells: list[CellSummary]
    today: date
    rules: Rules | None = None
    cap: list[CapGroup] = field(default_factory=list)
    levels: dict[str, dict[str, int]] = field(default_factory=dict)  # group -> level -> n

    @property
    def segments(self) -> dict[str, int]:
        total = Counter({s: 0 for s in SEGMENTS})
        for cell in self.cells:
            total.update(cell.segments)
        return dict(total)

    @property
    def counts(self) -> dict[str, int]:
        return funnel(self.segments)

    @property
    def late_cells(self) -> list[CellSummary]:
        return [c for c in self.cells if c.late]


def funnel(segments: dict[str, int]) -> dict[str, int]:
    """The cumulative counts from the exclusive segments: everyone who submitted also
    started, was linked and invited."""
    s = segments
    submitted = s["accepted"] + s["submitted"] + s["returned"]
    started = submitted + s["started"]
    linked = started + s["linked"]
    return {"invited": linked + s["invited"], "linked": linked, "started": started,
            "submitted": submitted, "returned": s["returned"], "accepted": s["accepted"],
            "not_reviewed": s["not_reviewed"]}


def status_of(line: MemberLine, eligibility: Eligibility | None) -> str:
    """The member's one segment (``eligibility`` None: the cell has no round)."""
    if eligibility is not None and not eligibility.reviewed:
        return "not_reviewed"
    if line.submitted_version:
        if line.decision in ("accepted", "returned"):
            return line.decision
        return "submitted"
    if line.answered > 0:
        return "started"
    if line.linked:
        return "linked"
    return "invited" if line.invited else "not_invited"


def summarize_cell(cell_round: CellRound, lines: Sequence[MemberLine], eligible: Eligible,
                   today: date) -> CellSummary:
    round_ = cell_round.round
    segments = {s: 0 for s in SEGMENTS}
    members: list[MemberRow] = []
    for line in lines:
        status = eligible(line, round_) if round_ is not None else None
        segment = status_of(line, status)
        segments[segment] += 1
        submitted = line.submitted_version > 0 and segment != "not_reviewed"
        members.append(MemberRow(
            line.member.id, line.member.full_name, line.member.category.value, segment,
            line.self_level if submitted else None, line.self_score if submitted else None,
            status.reason if status is not None and not status.reviewed else None))
    summary = CellSummary(cell_round.cell, round_, segments, members)
    if round_ is not None and round_.status is RoundStatus.OPEN and today > round_.member_due \
            and summary.not_done > 0:
        return CellSummary(cell_round.cell, round_, segments, members, True,
                           (today - round_.member_due).days)
    return summary


def rules_for(rounds: Sequence[CellRound], rules_at: Callable[[date], Rules] | None,
              today: date) -> Rules | None:
    """The rules the committee's cap is counted under: those in force on the latest meeting
    among the cells' rounds (today's when no cell has a round)."""
    if rules_at is None:
        return None
    meetings = [r.round.meeting_date for r in rounds if r.round is not None]
    return rules_at(max(meetings) if meetings else today)


def cap_groups(cells: Sequence[CellSummary], rules: Rules | None
               ) -> tuple[list[CapGroup], dict[str, dict[str, int]]]:
    """The cap across the committee: per group of similar posts when the rule counts so,
    else once for all; and the proposed levels per group."""
    levels: dict[str, Counter[str]] = {}
    for cell in cells:
        for row in cell.members:
            if row.status in ("submitted", "returned", "accepted") and row.level in LEVELS:
                levels.setdefault(row.category, Counter())[row.level] += 1
    by_group = {g: {lv: levels.get(g, Counter())[lv] for lv in LEVELS} for g in GROUPS}
    if rules is None:
        return [], by_group
    cap = rules.cap
    groups = GROUPS if cap.by_group else (ALL,)
    result: list[CapGroup] = []
    for group in groups:
        counted = [by_group[g] for g in (GROUPS if group == ALL else (group,))]
        excellent = sum(c[cap.level] for c in counted)
        good = sum(c[level] for c in counted for level in cap.of_levels)
        exception = cap.exception_share
        result.append(CapGroup(
            group, excellent, good, int(cap.max_share * good),
            int(exception * good) if exception is not None else None,
            sum(sum(c.values()) for c in counted)))
    return result, by_group


def summarize(committee: Committee, rounds: Sequence[CellRound], lines: Sequence[MemberLine],
              eligible: Eligible, today: date,
              rules_at: Callable[[date], Rules] | None = None) -> CommitteeSummary:
    """The committee's overview from one read of its cells and one of its members."""
    by_cell: dict[int, list[MemberLine]] = {}
    for line in lines:
        by_cell.setdefault(line.member.cell_id, []).append(line)
    cells = [summarize_cell(r, sorted(by_cell.get(r.cell.id, []),
                                      key=lambda x: (x.member.full_name.casefold(), x.member.id)),
                            eligible, today)
             for r in rounds]
    cells.sort(key=lambda c: (c.cell.name.casefold(), c.cell.id))
    rules = rules_for(rounds, rules_at, today)
    cap, levels = cap_groups(cells, rules)
    return CommitteeSummary(committee, cells, today, rules, cap, levels)
