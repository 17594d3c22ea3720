"""The cell's classification proposal table, from the rules in ``data/classification.toml``.

Everything here is a *proposal* for the cell's meeting: the chi bộ proposes each member's
level and the đảng ủy / chi ủy cơ sở decides it (domain.md §2, §5). tusoi suggests a level with
its reasons and spells out where the members' own proposals break a rule; it never decides.

Core module: no channel, no storage, no clock (the reference date is an argument).
"""

from __future__ import annotations

import calendar
import tomllib
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from fractions import Fraction
from pathlib import Path
from typing import Any

from bot.config import ROOT

LEVELS: tuple[str, ...] = ("htxs", "htt", "ht", "kht")  # highest first
DEFAULT_RULES = ROOT / "data" / "classification.toml"

# Note codes on a row (Vietnamese in templates/bundle.toml, [proposal.notes]).
NOT_SUBMITTED = "not_submitted"
NOT_CLASSIFIED_RECENT = "not_classified_recent"
ABOVE_SCORE_BAND = "above_score_band"
BELOW_SCORE_BAND = "below_score_band"
NO_SCORE = "no_score"
NO_SELF_LEVEL = "no_self_level"
SEVERE_HIGH_LEVEL = "severe_high_level"
OVER_CAP = "over_cap"
# Violation codes (Vietnamese in [proposal.violations]).
CAP_EXCEEDED = "cap_exceeded"
# ABOVE_SCORE_BAND is both a note and a violation (the member's own level breaks Điều 11).
RECENT_MEMBER_LEVEL = "recent_member_level"


class RulesError(ValueError):
    """``data/classification.toml`` is malformed; the message names the key."""


@dataclass(frozen=True)
class Band:
    level: str
    min_score: int


@dataclass(frozen=True)
class Source:
    source: str
    url: str
    retrieved: date
    status: str


@dataclass(frozen=True)
class CapRule:
    level: str
    of_levels: tuple[str, ...]
    max_share: Fraction
    unit: str
    wording: str  # verbatim official sentence
    origin: Source


@dataclass(frozen=True)
class Rules:
    bands: tuple[Band, ...]  # highest first
    bands_origin: Source
    min_months: int
    not_classified_origin: Source
    cap: CapRule

    def band_for(self, score: int) -> str:
        """The level a 100-point score falls in."""
        for band in self.bands:
            if score >= band.min_score:
                return band.level
        return self.bands[-1].level


@dataclass(frozen=True)
class ProposalInput:
    member_id: int
    full_name: str
    self_level: str | None  # the member's own Party-member level, or None
    self_score: int | None
    joined_on: date | None  # admitted to the Party
    severe_admissions: int  # manifestations admitted as clear ("có biểu hiện rõ")
    submitted: bool


@dataclass(frozen=True)
class ProposalRow:
    member_id: int
    name: str
    self_level: str | None
    self_score: int | None
    score_band: str | None
    suggested_level: str | None  # None: no level suggested (not submitted, or not classified)
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Violation:
    code: str
    detail: dict[str, Any]


@dataclass(frozen=True)
class Proposal:
    """A proposal only: the chi bộ proposes, the đảng ủy cơ sở decides."""

    rows: list[ProposalRow]
    violations: list[Violation]
    counts: dict[str, int]  # suggested level -> members
    cap_allowed: int  # the most suggested "htxs" the cap would let through
    joined_unknown: list[int]  # members whose admission date is unknown: < 6 months unchecked
    reference_date: date
    rules: Rules


# ----------------------------------------------------------------- loading


def _source(raw: Mapping[str, Any], path: str) -> Source:
    try:
        retrieved = raw["retrieved"]
        if not isinstance(retrieved, date):
            raise RulesError(f"{path}.retrieved: expected a TOML date")
        return Source(str(raw["source"]), str(raw["url"]), retrieved, str(raw["status"]))
    except KeyError as exc:
        raise RulesError(f"{path}.{exc.args[0]}: missing") from exc


def load_rules(path: Path = DEFAULT_RULES) -> Rules:
    """Read and check the classification rules; a mistake names the TOML key."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise RulesError(f"{path}: {exc}") from exc
    return rules_from_mapping(raw)


def rules_from_mapping(raw: Mapping[str, Any]) -> Rules:
    try:
        bands = tuple(Band(str(b["level"]), int(b["min_score"])) for b in raw["bands"])
        levels = [b.level for b in bands]
        if sorted(levels, key=LEVELS.index) != levels or set(levels) != set(LEVELS):
            raise RulesError("bands: one band per level, highest first (htxs, htt, ht, kht)")
        scores = [b.min_score for b in bands]
        if scores != sorted(scores, reverse=True) or len(set(scores)) != len(scores):
            raise RulesError("bands.min_score: must strictly decrease")
        if scores[-1] != 0:
            raise RulesError("bands: the last band must start at 0")
        nc = raw["not_classified"]
        min_months = int(nc["min_months"])
        if not 0 <= min_months <= 24:
            raise RulesError("not_classified.min_months: expected 0–24")
        cap_raw = raw["cap"]
        share = Fraction(str(cap_raw["max_share"]))
        if not 0 < share <= 1:
            raise RulesError("cap.max_share: expected 0 < share ≤ 1")
        of_levels = tuple(str(level) for level in cap_raw["of_levels"])
        if str(cap_raw["level"]) not in LEVELS or not set(of_levels) <= set(LEVELS):
            raise RulesError("cap.level / cap.of_levels: unknown level id")
        cap = CapRule(
            level=str(cap_raw["level"]),
            of_levels=of_levels,
            max_share=share,
            unit=str(cap_raw["unit"]),
            wording=str(cap_raw["wording"]),
            origin=_source(cap_raw, "cap"),
        )
        return Rules(
            bands=bands,
            bands_origin=_source(raw["bands_source"], "bands_source"),
            min_months=min_months,
            not_classified_origin=_source(nc, "not_classified"),
            cap=cap,
        )
    except KeyError as exc:
        raise RulesError(f"{exc.args[0]}: missing") from exc


# ----------------------------------------------------------------- the proposal


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later; the 31st becomes the month's last day when needed."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _rank(level: str) -> int:
    return LEVELS.index(level)  # 0 is the highest


def propose(
    members: Sequence[ProposalInput], rules: Rules, reference_date: date
) -> Proposal:
    """Suggest a level for each member and list every rule the suggestions would break.

    - The suggestion starts from the member's own level and is never above the band of their
      self-score (Quy định 366-QĐ/TW, Điều 11). A member who chose a lower level keeps it.
    - A member admitted fewer than ``rules.min_months`` months before ``reference_date`` is
      reviewed but not classified (21-HD/BTCTW, 2019): no level is suggested. The caller picks
      the reference date (the meeting date is the natural one; the rule's own date is unconfirmed).
    - The cap is counted on the *suggested* levels: at most ``max_share`` of the members
      suggested "Hoàn thành tốt nhiệm vụ" may be suggested "Hoàn thành xuất sắc nhiệm vụ".
      The cap is applied by the competent level per tổ chức cơ sở đảng, which may span several
      chi bộ; tusoi only shows whether this cell's proposals alone would exceed it
      (6 "htxs" against 20% of 10 "htt" = 2 gives ``cap_exceeded`` naming the six). It never
      picks who would move down: that is the meeting's discussion.
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
        if not member.submitted:
            rows.append(ProposalRow(member.member_id, member.full_name, member.self_level,
                                    member.self_score, band, None, [NOT_SUBMITTED]))
            continue
        if (
            member.joined_on is not None
            and add_months(member.joined_on, rules.min_months) > reference_date
        ):
            notes.append(NOT_CLASSIFIED_RECENT)
            if member.self_level is not None:
                violations.append(Violation(RECENT_MEMBER_LEVEL, {
                    "member_id": member.member_id, "name": member.full_name,
                    "joined_on": member.joined_on, "self_level": member.self_level,
                    "months": rules.min_months, "reference_date": reference_date,
                }))
            rows.append(ProposalRow(member.member_id, member.full_name, member.self_level,
                                    member.self_score, band, None, notes))
            continue

        suggested = member.self_level
        if suggested is None:
            notes.append(NO_SELF_LEVEL)
            suggested = band
        if band is None:
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
        if member.severe_admissions > 0 and suggested in ("htxs", "htt"):
            notes.append(SEVERE_HIGH_LEVEL)
        rows.append(ProposalRow(member.member_id, member.full_name, member.self_level,
                                member.self_score, band, suggested, notes))

    counts = Counter(row.suggested_level for row in rows if row.suggested_level is not None)
    denominator = sum(counts[level] for level in rules.cap.of_levels)
    allowed = int(rules.cap.max_share * denominator)  # "không vượt quá": round down
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
        }))
    return Proposal(
        rows=rows,
        violations=violations,
        counts={level: counts.get(level, 0) for level in LEVELS},
        cap_allowed=allowed,
        joined_unknown=joined_unknown,
        reference_date=reference_date,
        rules=rules,
    )
