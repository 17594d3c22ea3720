"""The classification proposal: rules as data, applied the way domain.md §5 states them."""

from __future__ import annotations

import tomllib
import unicodedata
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from bot.bundle import load_texts
from bot.proposal import (
    DEFAULT_RULES,
    ProposalInput,
    RulesError,
    add_months,
    load_rules,
    propose,
    rules_from_mapping,
)

RULES = load_rules()
MEETING = date(2026, 12, 18)
LONG_AGO = date(2010, 5, 19)
# The 2019 sentence, verbatim from domain.md §5 (21-HD/BTCTW); the data file carries it unchanged.
CAP_WORDING_2019 = (
    "Cấp có thẩm quyền xem xét, quyết định số lượng đảng viên được xếp loại \"Hoàn thành xuất sắc "
    "nhiệm vụ\" không vượt quá 20% số đảng viên được xếp loại \"Hoàn thành tốt nhiệm vụ\" trong "
    "từng tổ chức cơ sở đảng."
)


def member(
    member_id: int,
    level: str | None,
    score: int | None,
    *,
    joined: date | None = LONG_AGO,
    severe: int = 0,
    submitted: bool = True,
) -> ProposalInput:
    name = f"Đảng viên {member_id}"
    return ProposalInput(member_id, name, level, score, joined, severe, submitted)


def test_the_rules_file_states_its_sources_and_the_verbatim_2019_wording() -> None:
    raw = tomllib.loads(DEFAULT_RULES.read_text(encoding="utf-8"))
    assert [(b["level"], b["min_score"]) for b in raw["bands"]] == [
        ("htxs", 90), ("htt", 70), ("ht", 50), ("kht", 0)]
    bands_source = raw["bands_source"]["source"]
    assert "366-QĐ/TW" in bands_source and "Điều 11" in bands_source
    assert raw["not_classified"]["min_months"] == 6
    assert "21-HD/BTCTW" in raw["not_classified"]["source"]
    cap = raw["cap"]
    assert cap["max_share"] == 0.20 and cap["level"] == "htxs" and cap["of_levels"] == ["htt"]
    assert cap["wording"] == CAP_WORDING_2019
    assert unicodedata.is_normalized("NFC", cap["wording"])
    assert cap["status"] == "2019 wording; 2025 wording unconfirmed"
    for section in (raw["bands_source"], raw["not_classified"], cap):
        assert section["url"].startswith("http") and isinstance(section["retrieved"], date)


@pytest.mark.parametrize(
    ("score", "band"),
    [(100, "htxs"), (90, "htxs"), (89, "htt"), (70, "htt"), (69, "ht"), (50, "ht"), (49, "kht"),
     (0, "kht")],
)
def test_score_bands(score: int, band: str) -> None:
    assert RULES.band_for(score) == band


def test_the_suggestion_is_never_above_the_score_band() -> None:
    proposal = propose([member(1, "htxs", 85), member(2, "ht", 95), member(3, "htt", 75)],
                       RULES, MEETING)
    first, second, third = proposal.rows
    assert (first.score_band, first.suggested_level) == ("htt", "htt")
    assert "above_score_band" in first.notes
    assert (second.suggested_level, second.notes) == ("ht", ["below_score_band"])
    assert (third.suggested_level, third.notes) == ("htt", [])
    found = [(v.code, v.detail["member_id"]) for v in proposal.violations]
    assert found == [("above_score_band", 1)]


def test_no_score_keeps_the_members_level_and_says_so() -> None:
    row = propose([member(1, "htt", None)], RULES, MEETING).rows[0]
    assert (row.suggested_level, row.notes) == ("htt", ["no_score"])


def test_no_level_is_suggested_from_the_score() -> None:
    row = propose([member(1, None, 72)], RULES, MEETING).rows[0]
    assert (row.suggested_level, row.notes) == ("htt", ["no_self_level"])


def test_members_admitted_less_than_six_months_ago_are_reviewed_not_classified() -> None:
    members = [
        member(1, "htt", 80, joined=date(2026, 7, 1)),  # under 6 months before 18/12/2026
        member(2, "htt", 80, joined=date(2026, 6, 18)),  # exactly 6 months: classified
        member(3, None, None, joined=date(2026, 10, 1)),  # new, and rightly chose no level
    ]
    proposal = propose(members, RULES, MEETING)
    first, second, third = proposal.rows
    assert first.suggested_level is None and first.notes == ["not_classified_recent"]
    assert second.suggested_level == "htt"
    assert third.suggested_level is None and third.notes == ["not_classified_recent"]
    assert [(v.code, v.detail["member_id"]) for v in proposal.violations] == [
        ("recent_member_level", 1)]
    assert proposal.counts["htt"] == 1


def test_add_months_clamps_to_the_end_of_the_month() -> None:
    assert add_months(date(2026, 8, 31), 6) == date(2027, 2, 28)
    assert add_months(date(2026, 6, 18), 6) == date(2026, 12, 18)


def test_cap_violation_six_htxs_against_ten_htt() -> None:
    members = [member(i, "htxs", 95) for i in range(1, 7)]
    members += [member(i, "htt", 80) for i in range(7, 17)]
    proposal = propose(members, RULES, MEETING)
    assert proposal.counts == {"htxs": 6, "htt": 10, "ht": 0, "kht": 0}
    assert proposal.cap_allowed == 2
    (violation,) = proposal.violations
    assert violation.code == "cap_exceeded"
    assert violation.detail["count"] == 6 and violation.detail["denominator"] == 10
    assert violation.detail["allowed"] == 2 and violation.detail["excess"] == 4
    assert violation.detail["member_ids"] == [1, 2, 3, 4, 5, 6]
    # tusoi does not pick who moves down: all six stay "htxs", each marked.
    assert all(r.suggested_level == "htxs" and "over_cap" in r.notes for r in proposal.rows[:6])


def test_the_cap_counts_suggested_levels_and_rounds_down() -> None:
    # Two members claim "htxs" but their scores say "htt": the suggestions hold 1 htxs, 9 htt.
    members = [member(1, "htxs", 95), member(2, "htxs", 80), member(3, "htxs", 85)]
    members += [member(i, "htt", 75) for i in range(4, 11)]
    proposal = propose(members, RULES, MEETING)
    assert proposal.counts["htxs"] == 1 and proposal.counts["htt"] == 9
    assert proposal.cap_allowed == 1  # 20% of 9 = 1.8: "không vượt quá" means at most 1
    assert not [v for v in proposal.violations if v.code == "cap_exceeded"]
    # 7 htt allow 1 (1.4); 2 htxs exceed it.
    over = propose([member(1, "htxs", 95), member(2, "htxs", 99)]
                   + [member(i, "htt", 75) for i in range(3, 10)], RULES, MEETING)
    assert [v.detail["allowed"] for v in over.violations if v.code == "cap_exceeded"] == [1]


def test_members_who_did_not_submit_are_listed_but_not_counted() -> None:
    proposal = propose([member(1, "htxs", 95, submitted=False), member(2, "htt", 80)],
                       RULES, MEETING)
    assert proposal.rows[0].suggested_level is None
    assert proposal.rows[0].notes == ["not_submitted"]
    assert proposal.counts["htxs"] == 0 and proposal.violations == []


def test_a_clear_manifestation_with_a_high_level_gets_a_note() -> None:
    proposal = propose([member(1, "htt", 80, severe=1), member(2, "ht", 60, severe=2)],
                       RULES, MEETING)
    assert "severe_high_level" in proposal.rows[0].notes
    assert "severe_high_level" not in proposal.rows[1].notes


def test_unknown_admission_dates_are_reported() -> None:
    proposal = propose([member(1, "htt", 80, joined=None)], RULES, MEETING)
    assert proposal.joined_unknown == [1]
    assert proposal.rows[0].suggested_level == "htt"


def test_the_rule_is_data_a_different_share_changes_the_result() -> None:
    raw = tomllib.loads(DEFAULT_RULES.read_text(encoding="utf-8"))
    raw["cap"]["max_share"] = 0.5
    rules = rules_from_mapping(raw)
    members = [member(1, "htxs", 95), member(2, "htxs", 95)] + [
        member(i, "htt", 80) for i in range(3, 7)]
    assert propose(members, RULES, MEETING).violations
    assert propose(members, rules, MEETING).violations == []


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda raw: raw["cap"].update(max_share=1.5), "cap.max_share"),
        (lambda raw: raw["bands"].reverse(), "bands"),
        (lambda raw: raw["cap"].pop("wording"), "wording"),
        (lambda raw: raw["cap"].update(level="best"), "cap.level"),
    ],
)
def test_a_broken_rules_file_names_the_key(change: Any, message: str) -> None:
    raw = tomllib.loads(DEFAULT_RULES.read_text(encoding="utf-8"))
    change(raw)
    with pytest.raises(RulesError, match=message):
        rules_from_mapping(raw)


def test_every_note_and_violation_has_vietnamese_text() -> None:
    texts = load_texts()["proposal"]
    source = (Path(__file__).resolve().parents[1] / "bot" / "proposal.py").read_text()
    for code in ("not_submitted", "not_classified_recent", "above_score_band", "below_score_band",
                 "no_score", "no_self_level", "severe_high_level", "over_cap"):
        assert f'"{code}"' in source and code in texts["notes"]
    for code in ("cap_exceeded", "above_score_band", "recent_member_level"):
        assert code in texts["violations"] and code in texts["violation_rules"]
