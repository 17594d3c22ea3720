"""The classification proposal: rules as dated data, applied the way domain.md §5 and
forms-2025.md §1.4–§1.6 state them."""

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

BOOK = load_rules()
MEETING = date(2026, 12, 18)
RULES = BOOK.at(MEETING)  # Quy định 366-QĐ/TW
MEETING_2024 = date(2024, 12, 18)
RULES_2019 = BOOK.at(MEETING_2024)  # before 366: 21-HD/BTCTW (2019)
LONG_AGO = date(2010, 5, 19)
# The 2019 sentence, verbatim from domain.md §5 (21-HD/BTCTW); the data file carries it unchanged.
CAP_WORDING_2019 = (
    "Cấp có thẩm quyền xem xét, quyết định số lượng đảng viên được xếp loại \"Hoàn thành xuất sắc "
    "nhiệm vụ\" không vượt quá 20% số đảng viên được xếp loại \"Hoàn thành tốt nhiệm vụ\" trong "
    "từng tổ chức cơ sở đảng."
)
# 366 Điều 11 khoản 1, pasted from forms-2025.md §1.4 independently of the data file.
CAP_WORDING_2025 = (
    "Số lượng tập thể, cá nhân được xếp loại \"Hoàn thành xuất sắc nhiệm vụ\" không vượt quá 20% "
    "tổng số tập thể, cá nhân được xếp loại \"Hoàn thành tốt nhiệm vụ\" theo đối tượng có vị trí, "
    "vai trò, chức năng, nhiệm vụ tương đồng, do cấp có thẩm quyền xem xét, quyết định."
)
CAP_EXCEPTION_2025 = (
    "Trường hợp tổ chức, cơ quan, đơn vị có thành tích xuất sắc, nổi trội, tạo sự chuyển biến "
    "tích cực, hoàn thành vượt kế hoạch các công việc được giao, mang lại giá trị, hiệu quả thiết "
    "thực trong tổ chức thực hiện thì cấp có thẩm quyền quyết định tỉ lệ hoàn thành xuất sắc "
    "nhiệm vụ đối với tập thể, cá nhân thuộc phạm vi quản lý, không vượt quá 25% tổng số tập "
    "thể, cá nhân được xếp loại \"Hoàn thành tốt nhiệm vụ\"."
)


def member(
    member_id: int,
    level: str | None,
    score: int | None,
    *,
    joined: date | None = LONG_AGO,
    severe: int = 0,
    submitted: bool = True,
    standing: str | None = None,
    category: str = "no_post",
    facts: dict[str, bool | None] | None = None,
) -> ProposalInput:
    name = f"Đảng viên {member_id}"
    return ProposalInput(member_id, name, level, score, joined, severe, submitted, standing,
                         category, facts or {})


def test_the_rules_file_dates_each_ruleset_and_keeps_both_cap_wordings_verbatim() -> None:
    raw = tomllib.loads(DEFAULT_RULES.read_text(encoding="utf-8"))
    old, new = raw["rulesets"]
    assert "valid_from" not in old and new["valid_from"] == date(2025, 8, 30)
    assert old["cap"]["wording"] == CAP_WORDING_2019 and "21-HD/BTCTW" in old["cap"]["source"]
    assert new["cap"]["wording"] == CAP_WORDING_2025
    assert new["cap"]["exception_wording"] == CAP_EXCEPTION_2025
    assert (new["cap"]["max_share"], new["cap"]["exception_share"]) == (0.20, 0.25)
    assert "366-QĐ/TW" in new["cap"]["source"] and "Điều 11" in new["cap"]["source"]
    assert [(b["level"], b["min_score"], b["wording"]) for b in new["bands"]] == [
        ("htxs", 90, "đạt từ 90 điểm trở lên"), ("htt", 70, "từ 70 đến dưới 90 điểm"),
        ("ht", 50, "từ 50 đến dưới 70 điểm"),
        ("kht", 0, "dưới 50 điểm hoặc thuộc một trong các trường hợp sau")]
    assert "bands" not in old  # no 100-point scale before 366
    assert (old["eligibility"]["not_classified_months"], old["eligibility"]["not_reviewed_months"]
            ) == (6, 0)
    assert (new["eligibility"]["not_classified_months"], new["eligibility"]["not_reviewed_months"]
            ) == (0, 6)
    for ruleset in (old, new):
        for key in ("cap", "eligibility"):
            section = ruleset[key]
            assert section["url"].startswith("http") and isinstance(section["retrieved"], date)
            assert unicodedata.is_normalized("NFC", section["wording"])


def test_a_round_uses_the_rules_in_force_at_its_meeting() -> None:
    assert BOOK.at(date(2025, 8, 29)).id == "2019"
    assert BOOK.at(date(2025, 8, 30)).id == "2025"
    assert RULES.cap.wording == CAP_WORDING_2025 and RULES_2019.cap.wording == CAP_WORDING_2019


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


def test_under_2019_rules_members_admitted_less_than_six_months_are_reviewed_not_classified(
) -> None:
    members = [
        member(1, "htt", 80, joined=date(2024, 7, 1)),  # under 6 months before 18/12/2024
        member(2, "htt", 80, joined=date(2024, 6, 18)),  # exactly 6 months: classified
        member(3, None, None, joined=date(2024, 10, 1)),  # new, and rightly chose no level
    ]
    proposal = propose(members, RULES_2019, MEETING_2024)
    first, second, third = proposal.rows
    assert first.suggested_level is None and first.notes == ["not_classified_recent"]
    assert second.suggested_level == "htt"
    assert third.suggested_level is None and third.notes == ["not_classified_recent"]
    assert [(v.code, v.detail["member_id"]) for v in proposal.violations] == [
        ("recent_member_level", 1)]
    assert proposal.counts["htt"] == 1


def test_under_366_recent_exempted_and_suspended_members_are_not_reviewed() -> None:
    members = [
        member(1, None, None, joined=date(2026, 7, 18), submitted=False),  # 5 months
        member(2, None, None, standing="exempted", submitted=False),
        member(3, None, None, standing="suspended", submitted=False),
        member(4, "htt", 80, joined=date(2026, 6, 18)),  # exactly 6 months: reviewed
    ]
    proposal = propose(members, RULES, MEETING)
    notes = [row.notes for row in proposal.rows]
    assert notes[:3] == [["not_reviewed_recent"], ["not_reviewed_exempted"],
                         ["not_reviewed_suspended"]]
    assert [row.suggested_level for row in proposal.rows] == [None, None, None, "htt"]
    assert proposal.violations == []


def test_a_level_whose_condition_the_member_says_is_unmet_is_noted_and_suggested_lower() -> None:
    rows = propose([
        member(1, "htxs", 95, facts={"all_on_time": True, "exceeded_30": False}),
        member(2, "htt", 80, facts={"all_on_time": False}),
        member(3, "htxs", 95, facts={"all_on_time": True, "exceeded_30": True,
                                     "fixed_all": True}),
    ], RULES, MEETING)
    first, second, third = rows.rows
    assert first.suggested_level == "htt" and "condition_not_met" in first.notes
    assert [c.wording for c in first.conditions] == [
        ("Hoàn thành 100% các nhiệm vụ được giao, đúng hạn, bảo đảm chất lượng, hiệu quả, trong "
         "đó có ít nhất 30% nhiệm vụ hoàn thành vượt mức yêu cầu.")]
    assert second.suggested_level == "ht" and second.conditions[0].verbatim
    assert third.suggested_level == "htxs" and third.conditions == []
    assert sorted(v.detail["member_id"] for v in rows.violations
                  if v.code == "condition_not_met") == [1, 2]


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
    raw["rulesets"][1]["cap"].update(max_share=0.5, exception_share=0.6)
    rules = rules_from_mapping(raw).at(MEETING)
    members = [member(1, "htxs", 95), member(2, "htxs", 95)] + [
        member(i, "htt", 80) for i in range(3, 7)]
    assert propose(members, RULES, MEETING).violations
    assert propose(members, rules, MEETING).violations == []


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda raw: raw["rulesets"][1]["cap"].update(max_share=1.5), r"rulesets\[1\].cap.max_share"),
        (lambda raw: raw["rulesets"][1]["bands"].reverse(), r"rulesets\[1\].bands"),
        (lambda raw: raw["rulesets"][0]["cap"].pop("wording"), "wording"),
        (lambda raw: raw["rulesets"][1]["cap"].update(level="best"), "cap.level"),
        (lambda raw: raw["rulesets"][1].pop("valid_from"), r"rulesets\[1\].valid_from"),
        (lambda raw: raw["rulesets"][1]["conditions"][0].update(facts=["luck"]), "facts"),
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
                 "no_score", "no_self_level", "severe_high_level", "over_cap",
                 "not_reviewed_recent", "not_reviewed_exempted", "not_reviewed_suspended",
                 "condition_not_met"):
        assert f'"{code}"' in source and code in texts["notes"]
    for code in ("cap_exceeded", "above_score_band", "recent_member_level", "condition_not_met"):
        assert code in texts["violations"] and code in texts["violation_rules"]
