"""Classification rules as dated data (``data/classification.toml``), and who is reviewed.

A round uses the ruleset in force on its meeting date (``RuleBook.at``): Quy định 366-QĐ/TW's
bands, level conditions, cap wording and eligibility for rounds from 30/8/2025 on, the 2019
rules before. Everything here is data a deployer can replace; the wording is copied from the
team's references and shown as a quotation only where the data says it is verbatim.

Core module: no channel, no storage, no clock (dates are arguments).
"""

from __future__ import annotations

import calendar
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from fractions import Fraction
from pathlib import Path
from typing import Any

from bot.config import ROOT

LEVELS: tuple[str, ...] = ("htxs", "htt", "ht", "kht")  # highest first
CATEGORIES: tuple[str, ...] = ("leader", "no_post", "outside")
STANDINGS: tuple[str, ...] = ("exempted", "suspended")
# What a level condition asks of the member's answers (see the data file's schema).
FACTS: tuple[str, ...] = ("all_on_time", "exceeded_30", "fixed_all", "late_max_20")
DEFAULT_RULES = ROOT / "data" / "classification.toml"

# Why a member is not reviewed (or not classified) in a round.
RECENT = "recent"


class RulesError(ValueError):
    """``data/classification.toml`` is malformed; the message names the key."""


@dataclass(frozen=True)
class Source:
    source: str
    url: str
    retrieved: date
    status: str


@dataclass(frozen=True)
class Band:
    level: str
    min_score: int
    wording: str = ""  # verbatim, e.g. «từ 70 đến dưới 90 điểm»


@dataclass(frozen=True)
class CapRule:
    level: str
    of_levels: tuple[str, ...]
    max_share: Fraction
    unit: str
    wording: str  # verbatim official sentence
    origin: Source
    exception_share: Fraction | None = None  # decided by the competent level, never by tusoi
    exception_wording: str = ""
    # Counted per group of members in similar posts (366: «theo đối tượng có vị trí, vai trò,
    # chức năng, nhiệm vụ tương đồng»): the committee's view splits by category. False: one
    # count for the whole organisation (2019: «trong từng tổ chức cơ sở đảng»).
    by_group: bool = False


@dataclass(frozen=True)
class EligibilityRule:
    not_reviewed: tuple[str, ...]  # standings never reviewed
    not_reviewed_months: int  # admitted fewer months before the meeting: not reviewed (0: none)
    not_classified_months: int  # … reviewed but not classified (0: none)
    wording: str
    verbatim: bool
    origin: Source


@dataclass(frozen=True)
class Condition:
    """What a level needs beyond its score band, for some categories of member."""

    level: str
    categories: tuple[str, ...]
    facts: tuple[str, ...]
    wording: str
    verbatim: bool


@dataclass(frozen=True)
class Rules:
    """One ruleset: the rules in force from ``valid_from`` until the next ruleset's."""

    id: str
    valid_from: date | None
    reference: str
    bands: tuple[Band, ...]  # highest first; empty when there is no 100-point scale
    bands_origin: Source | None
    eligibility: EligibilityRule
    cap: CapRule
    conditions: tuple[Condition, ...] = ()
    conditions_origin: Source | None = None

    def band_for(self, score: float) -> str | None:
        """The level a 100-point score falls in, or None without a scale."""
        for band in self.bands:
            if score >= band.min_score:
                return band.level
        return self.bands[-1].level if self.bands else None

    def band(self, level: str) -> Band | None:
        return next((b for b in self.bands if b.level == level), None)

    def conditions_for(self, level: str, category: str) -> tuple[Condition, ...]:
        return tuple(c for c in self.conditions if c.level == level and category in c.categories)

    @property
    def min_months(self) -> int:
        """The months that matter for newly admitted members under this ruleset."""
        return self.eligibility.not_reviewed_months or self.eligibility.not_classified_months


@dataclass(frozen=True)
class RuleBook:
    """Every ruleset, oldest first."""

    rulesets: tuple[Rules, ...]

    def at(self, day: date) -> Rules:
        """The rules in force on ``day`` (a round's meeting date)."""
        chosen = self.rulesets[0]
        for rules in self.rulesets[1:]:
            if rules.valid_from is not None and rules.valid_from <= day:
                chosen = rules
        return chosen

    @property
    def latest(self) -> Rules:
        return self.rulesets[-1]


# ----------------------------------------------------------------- who is reviewed


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later; the 31st becomes the month's last day when needed."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


@dataclass(frozen=True)
class Eligibility:
    """Whether a member takes part in a round, and why not.

    ``reason`` is a standing ("exempted", "suspended") or ``RECENT``; ``until`` is, for a
    recent member, the day from which they count as admitted long enough.
    """

    reviewed: bool
    classified: bool
    reason: str | None = None
    until: date | None = None
    months: int = 0


REVIEWED = Eligibility(True, True)


def eligibility(rules: Rules, *, joined_on: date | None, standing: str | None,
                meeting: date) -> Eligibility:
    """Who is reviewed at a meeting on ``meeting`` under ``rules``.

    366 Điều 5: members exempted from Party work and activities, members suspended and members
    admitted less than 6 months are not reviewed. Under the 2019 rules, members admitted less
    than 6 months were reviewed but not classified. An unknown admission date counts as long ago
    (the proposal table lists such members so the secretary can check).
    """
    rule = rules.eligibility
    if standing is not None and standing in rule.not_reviewed:
        return Eligibility(False, False, standing)
    for months, reviewed in ((rule.not_reviewed_months, False),
                             (rule.not_classified_months, True)):
        if months and joined_on is not None and add_months(joined_on, months) > meeting:
            return Eligibility(reviewed, False, RECENT, add_months(joined_on, months), months)
    return REVIEWED


# ----------------------------------------------------------------- loading


def load_rules(path: Path = DEFAULT_RULES) -> RuleBook:
    """Read and check the classification rules; a mistake names the TOML key."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise RulesError(f"{path}: {exc}") from exc
    return rules_from_mapping(raw)


def rules_from_mapping(raw: Mapping[str, Any]) -> RuleBook:
    rulesets = raw.get("rulesets")
    if not isinstance(rulesets, list) or not rulesets:
        raise RulesError("rulesets: at least one [[rulesets]] table is needed")
    parsed = [_ruleset(r, f"rulesets[{i}]") for i, r in enumerate(rulesets)]
    for i, rules in enumerate(parsed[1:], start=1):
        if rules.valid_from is None:
            raise RulesError(f"rulesets[{i}].valid_from: missing (only the first may omit it)")
        before = parsed[i - 1].valid_from
        if before is not None and rules.valid_from <= before:
            raise RulesError(f"rulesets[{i}].valid_from: must be after the previous ruleset's")
    return RuleBook(tuple(parsed))


def _source(raw: Mapping[str, Any], path: str) -> Source:
    try:
        retrieved = raw["retrieved"]
        if not isinstance(retrieved, date):
            raise RulesError(f"{path}.retrieved: expected a TOML date")
        return Source(str(raw["source"]), str(raw["url"]), retrieved, str(raw["status"]))
    except KeyError as exc:
        raise RulesError(f"{path}.{exc.args[0]}: missing") from exc


def _levels(values: Sequence[Any], path: str) -> tuple[str, ...]:
    levels = tuple(str(v) for v in values)
    if not set(levels) <= set(LEVELS):
        raise RulesError(f"{path}: unknown level id (use {', '.join(LEVELS)})")
    return levels


def _ruleset(raw: Mapping[str, Any], path: str) -> Rules:
    try:
        valid_from = raw.get("valid_from")
        if valid_from is not None and not isinstance(valid_from, date):
            raise RulesError(f"{path}.valid_from: expected a TOML date")
        bands = tuple(Band(str(b["level"]), int(b["min_score"]), str(b.get("wording", "")))
                      for b in raw.get("bands", []))
        bands_origin = None
        if bands:
            levels = [b.level for b in bands]
            if sorted(levels, key=LEVELS.index) != levels or set(levels) != set(LEVELS):
                raise RulesError(f"{path}.bands: one band per level, highest first "
                                 "(htxs, htt, ht, kht)")
            scores = [b.min_score for b in bands]
            if scores != sorted(scores, reverse=True) or len(set(scores)) != len(scores):
                raise RulesError(f"{path}.bands.min_score: must strictly decrease")
            if scores[-1] != 0:
                raise RulesError(f"{path}.bands: the last band must start at 0")
            bands_origin = _source(raw["bands_source"], f"{path}.bands_source")

        e = raw["eligibility"]
        not_reviewed = tuple(str(s) for s in e["not_reviewed"])
        if not set(not_reviewed) <= set(STANDINGS):
            raise RulesError(f"{path}.eligibility.not_reviewed: use {', '.join(STANDINGS)}")
        months = (int(e["not_reviewed_months"]), int(e["not_classified_months"]))
        if not all(0 <= m <= 24 for m in months):
            raise RulesError(f"{path}.eligibility: months expected 0–24")
        eligibility_rule = EligibilityRule(not_reviewed, months[0], months[1], str(e["wording"]),
                                           bool(e["verbatim"]), _source(e, f"{path}.eligibility"))

        c = raw["cap"]
        share = Fraction(str(c["max_share"]))
        if not 0 < share <= 1:
            raise RulesError(f"{path}.cap.max_share: expected 0 < share ≤ 1")
        exception = Fraction(str(c["exception_share"])) if "exception_share" in c else None
        if exception is not None and not share < exception <= 1:
            raise RulesError(f"{path}.cap.exception_share: expected max_share < share ≤ 1")
        if str(c["level"]) not in LEVELS:
            raise RulesError(f"{path}.cap.level: unknown level id")
        cap = CapRule(
            level=str(c["level"]), of_levels=_levels(c["of_levels"], f"{path}.cap.of_levels"),
            max_share=share, unit=str(c["unit"]), wording=str(c["wording"]),
            origin=_source(c, f"{path}.cap"), exception_share=exception,
            exception_wording=str(c.get("exception_wording", "")),
            by_group=bool(c.get("by_group", False)),
        )

        conditions = []
        for i, k in enumerate(raw.get("conditions", [])):
            where = f"{path}.conditions[{i}]"
            (level,) = _levels([k["level"]], f"{where}.level")
            categories = tuple(str(x) for x in k["categories"])
            facts = tuple(str(x) for x in k["facts"])
            if not set(categories) <= set(CATEGORIES) or not categories:
                raise RulesError(f"{where}.categories: use {', '.join(CATEGORIES)}")
            if not set(facts) <= set(FACTS) or not facts:
                raise RulesError(f"{where}.facts: use {', '.join(FACTS)}")
            conditions.append(Condition(level, categories, facts, str(k["wording"]),
                                        bool(k["verbatim"])))
        conditions_origin = (_source(raw["conditions_source"], f"{path}.conditions_source")
                             if conditions else None)
        return Rules(
            id=str(raw["id"]), valid_from=valid_from, reference=str(raw["reference"]),
            bands=bands, bands_origin=bands_origin, eligibility=eligibility_rule, cap=cap,
            conditions=tuple(conditions), conditions_origin=conditions_origin,
        )
    except KeyError as exc:
        raise RulesError(f"{path}: {exc.args[0]}: missing") from exc
