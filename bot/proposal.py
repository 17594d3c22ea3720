"""The cell's classification proposal table, from the rules in ``data/classification.toml``.

Everything here is a *proposal* for the cell's meeting: the chi bộ proposes each member's
level and the đảng ủy / chi ủy cơ sở decides it (domain.md §2, §5). tusoi suggests a level with
its reasons and spells out where the members' own proposals break a rule; it never decides.

Core module: no channel, no storage, no clock (the reference date is an argument).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from bot.rules import (
    DEFAULT_RULES, LEVELS, RECENT, Condition, RuleBook, Rules, RulesError, add_months,
    eligibility, load_rules, rules_from_mapping,
)

__all__ = [
    "DEFAULT_RULES", "LEVELS", "Proposal", "ProposalInput", "ProposalRow", "RuleBook", "Rules",
    "RulesError", "Violation", "add_months", "load_rules", "propose", "rules_from_mapping",
]

# Note codes on a row (Vietnamese in templates/bundle.toml, [proposal.notes]).
NOT_SUBMITTED = "not_submitted"
NOT_CLASSIFIED_RECENT = "not_classified_recent"
NOT_REVIEWED_RECENT = "not_reviewed_recent"
NOT_REVIEWED_EXEMPTED = "not_reviewed_exempted"
NOT_REVIEWED_SUSPENDED = "not_reviewed_suspended"
NOT_REVIEWED = (NOT_REVIEWED_RECENT, NOT_REVIEWED_EXEMPTED, NOT_REVIEWED_SUSPENDED)
ABOVE_SCORE_BAND = "above_score_band"
BELOW_SCORE_BAND = "below_score_band"
NO_SCORE = "no_score"
NO_SELF_LEVEL = "no_self_level"
SEVERE_HIGH_LEVEL = "severe_high_level"
OVER_CAP = "over_cap"
CONDITION_NOT_MET = "condition_not_met"
# Violation codes (Vietnamese in [proposal.violations]).
CAP_EXCEEDED = "cap_exceeded"
# ABOVE_SCORE_BAND and CONDITION_NOT_MET are both notes and violations (the member's own
# level breaks Điều 11).
RECENT_MEMBER_LEVEL = "recent_member_level"


@dataclass(frozen=True)
class ProposalInput:
    member_id: int
    full_name: str
    self_level: str | None  # the member's own Party-member level, or None
    self_score: int | None  # the 100-point total (2025 forms) or the optional score (2023)
    joined_on: date | None  # admitted to the Party
    severe_admissions: int  # manifestations admitted as clear ("có biểu hiện rõ")
    submitted: bool
    standing: str | None = None  # "exempted" | "suspended": not reviewed at all
    category: str = "no_post"  # which level conditions apply (leader / no_post / outside)
    facts: Mapping[str, bool | None] = field(default_factory=dict)  # bot.partb.facts


@dataclass(frozen=True)
class ProposalRow:
    member_id: int
    name: str
    self_level: str | None
    self_score: int | None
    score_band: str | None
    suggested_level: str | None  # None: no level suggested (not submitted, or not classified)
    notes: list[str] = field(default_factory=list)
    conditions: list[Condition] = field(default_factory=list)  # conditions not met


@dataclass(frozen=True)
class Violation:
    code: str
    detail: dict[str, Any]


@dataclass(frozen=True)
class Proposal:
    """A proposal only: the member proposes, the chi bộ proposes, the competent level decides."""

    rows: list[ProposalRow]
    violations: list[Violation]
    counts: dict[str, int]  # suggested level -> members
    cap_allowed: int  # the most suggested "htxs" the cap would let through
    joined_unknown: list[int]  # members whose admission date is unknown: < 6 months unchecked
    reference_date: date
    rules: Rules
    cap_exception_allowed: int | None = None  # the most under the competent level's exception


# ----------------------------------------------------------------- the proposal


def _rank(level: str) -> int:
    return LEVELS.index(level)  # 0 is the highest


def _unmet(rules: Rules, level: str, member: ProposalInput) -> list[Condition]:
    """The conditions of ``level`` the member's own answers say are not met."""
    return [c for c in rules.conditions_for(level, member.category)
            if any(member.facts.get(fact) is False for fact in c.facts)]


def propose(
    members: Sequence[ProposalInput], rules: Rules, reference_date: date
) -> Proposal:
    """Suggest a level for each member and list every rule the suggestions would break.

    ``rules`` are the rules in force on ``reference_date`` (the meeting: ``RuleBook.at``).

    - Members who are not reviewed (366 Điều 5: exempted, suspended, admitted less than
      6 months before the meeting) are listed with the reason and get no level. Under the 2019
      rules a member admitted less than 6 months is reviewed but not classified.
    - The suggestion starts from the member's own level and is never above the band of their
      score (Quy định 366-QĐ/TW, Điều 11). A member who chose a lower level keeps it.
    - A level whose conditions (Điều 11) the member's own answers say are not met is noted
      with the condition's wording, and the suggestion moves down among the three "hoàn
      thành" levels until its conditions hold; it never drops to "Không hoàn thành" for that.
    - The cap is counted on the *suggested* levels: at most ``max_share`` of the members
      suggested "Hoàn thành tốt nhiệm vụ" may be suggested "Hoàn thành xuất sắc nhiệm vụ".
      The competent level applies it (2025: per group of similar posts, with a 25% exception
      it alone may decide); tusoi only shows whether this cell's proposals alone would exceed
      it, and never picks who would move down: that is the meeting's discussion.
    - A member who admits a clear manifestation and still proposes a high level gets a note.
    """
    rows: list[ProposalRow] = []
    violations: list[Violation] = []
    joined_unknown: list[int] = []
    for member in members:
        notes: list[str] = []
        band = rules.band_for(member.self_score) if member.self_score is not None else None
        if member.joined_on is None:
            joined_unknown.append(member.member_id)
        status = eligibility(rules, joined_on=member.joined_on, standing=member.standing,
                             meeting=reference_date)
        if not status.reviewed:
            note = {RECENT: NOT_REVIEWED_RECENT, "exempted": NOT_REVIEWED_EXEMPTED,
                    "suspended": NOT_REVIEWED_SUSPENDED}[status.reason or RECENT]
            rows.append(ProposalRow(member.member_id, member.full_name, None, None, None, None,
                                    [note]))
            continue
        if not member.submitted:
            rows.append(ProposalRow(member.member_id, member.full_name, member.self_level,
                                    member.self_score, band, None, [NOT_SUBMITTED]))
            continue
        if not status.classified:
            notes.append(NOT_CLASSIFIED_RECENT)
            if member.self_level is not None:
                violations.append(Violation(RECENT_MEMBER_LEVEL, {
                    "member_id": member.member_id, "name": member.full_name,
                    "joined_on": member.joined_on, "self_level": member.self_level,
                    "months": status.months, "reference_date": reference_date,
                }))
            rows.append(ProposalRow(member.member_id, member.full_name, member.self_level,
                                    member.self_score, band, None, notes))
            continue

        suggested = member.self_level
        if suggested is None:
            notes.append(NO_SELF_LEVEL)
            suggested = band
        if band is None:
            if rules.bands:
                notes.append(NO_SCORE)
        elif suggested is not None and _rank(suggested) < _rank(band):
            notes.append(ABOVE_SCORE_BAND)
            violations.append(Violation(ABOVE_SCORE_BAND, {
                "member_id": member.member_id, "name": member.full_name,
                "self_level": suggested, "score": member.self_score, "band": band,
            }))
            suggested = band
        elif suggested is not None and _rank(suggested) > _rank(band):
            notes.append(BELOW_SCORE_BAND)
        unmet = _unmet(rules, member.self_level, member) if member.self_level else []
        for condition in unmet:
            violations.append(Violation(CONDITION_NOT_MET, {
                "member_id": member.member_id, "name": member.full_name,
                "self_level": member.self_level, "condition": condition.wording,
                "verbatim": condition.verbatim,
            }))
        while suggested in ("htxs", "htt") and _unmet(rules, suggested, member):
            if CONDITION_NOT_MET not in notes:
                notes.append(CONDITION_NOT_MET)
            suggested = LEVELS[_rank(suggested) + 1]
        if member.severe_admissions > 0 and suggested in ("htxs", "htt"):
            notes.append(SEVERE_HIGH_LEVEL)
        rows.append(ProposalRow(member.member_id, member.full_name, member.self_level,
                                member.self_score, band, suggested, notes, unmet))

    counts = Counter(row.suggested_level for row in rows if row.suggested_level is not None)
    denominator = sum(counts[level] for level in rules.cap.of_levels)
    allowed = int(rules.cap.max_share * denominator)  # "không vượt quá": round down
    exception = rules.cap.exception_share
    exception_allowed = int(exception * denominator) if exception is not None else None
    capped = [row for row in rows if row.suggested_level == rules.cap.level]
    if len(capped) > allowed:
        for row in capped:
            row.notes.append(OVER_CAP)
        violations.append(Violation(CAP_EXCEEDED, {
            "level": rules.cap.level,
            "count": len(capped),
            "of_levels": list(rules.cap.of_levels),
            "denominator": denominator,
            "share_percent": float(rules.cap.max_share * 100),
            "allowed": allowed,
            "excess": len(capped) - allowed,
            "member_ids": [row.member_id for row in capped],
            "names": [row.name for row in capped],
            "exception_percent": float(exception * 100) if exception is not None else None,
            "exception_allowed": exception_allowed,
        }))
    return Proposal(
        rows=rows,
        violations=violations,
        counts={level: counts.get(level, 0) for level in LEVELS},
        cap_allowed=allowed,
        joined_unknown=joined_unknown,
        reference_date=reference_date,
        rules=rules,
        cap_exception_allowed=exception_allowed,
    )
