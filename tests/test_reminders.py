"""The reminder planner and the send/drop/wait decision, with an injected clock."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta

import pytest

from bot.reminders import (
    DueReminder, Kind, Recipient, ReminderSettings, RoundDates, Verdict, at_local, decide, plan,
    quiet_until,
)
from bot.workdays import WorkCalendar
from tests.conftest import REPO

CAL = WorkCalendar.load(REPO / "data" / "calendar" / "vn.toml")
SETTINGS = ReminderSettings()
OPENED = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # Monday 09:00 in Hà Nội
MEETING, MEMBER_DUE, COLLECTIVE_DUE = date(2026, 12, 18), date(2026, 12, 10), date(2026, 12, 14)
DATES = RoundDates(1, OPENED, MEETING, MEMBER_DUE, COLLECTIVE_DUE)


def local(day: date, hh: int, mm: int = 0) -> datetime:
    return at_local(day, time(hh, mm))


def test_plan_for_a_member_invite_nudges_due_day_and_bounded_overdue() -> None:
    planned = plan(DATES, [Recipient(1, done=False, reachable=True)], CAL, SETTINGS, OPENED)
    assert [p.kind for p in planned] == [Kind.INVITE, Kind.NUDGE, Kind.NUDGE, Kind.DUE_DAY,
                                         Kind.OVERDUE, Kind.OVERDUE]
    nudges = [p for p in planned if p.kind is Kind.NUDGE]
    # 3 and 1 working days before Thursday 10/12, at 08:00 in Hà Nội (01:00 UTC).
    assert [p.due_at for p in nudges] == [datetime(2026, 12, 7, 1, tzinfo=UTC),
                                          datetime(2026, 12, 9, 1, tzinfo=UTC)]
    assert planned[0].due_at == OPENED and planned[0].id == "r1:m1:invite:2026-11-23"
    assert [p.id for p in planned if p.kind is Kind.OVERDUE] == [
        "r1:m1:overdue:2026-12-14", "r1:m1:overdue:2026-12-16"]


def test_overdue_is_bounded_and_stops_before_the_meeting() -> None:
    many = replace(SETTINGS, overdue_max=10, overdue_gap_days=1)
    overdue = [p for p in plan(DATES, [Recipient(1, False, True)], CAL, many, OPENED)
               if p.kind is Kind.OVERDUE]
    assert len(overdue) == 5  # Fri 11, Mon 14 … Thu 17: never on or after the meeting
    assert max(p.due_at for p in overdue) < local(MEETING, 0)


def test_only_people_not_done_and_reachable_get_member_reminders() -> None:
    people = [Recipient(1, done=True, reachable=True), Recipient(2, done=False, reachable=False),
              Recipient(3, done=True, reachable=True, officer=True)]
    planned = plan(DATES, people, CAL, SETTINGS, OPENED)
    assert {p.member_id for p in planned} == {3}
    assert {p.kind for p in planned} == {Kind.DIGEST, Kind.COLLECTIVE_DUE, Kind.MEETING}


def test_officer_reminders_collective_draft_meeting_and_working_day_digests() -> None:
    planned = plan(DATES, [Recipient(9, True, True, officer=True)], CAL, SETTINGS, OPENED)
    by_kind = {k: [p.id.rsplit(":", 1)[1] for p in planned if p.kind is k] for k in Kind}
    assert by_kind[Kind.COLLECTIVE_DUE] == ["2026-12-11", "2026-12-14"]
    assert by_kind[Kind.MEETING] == ["2026-12-17"]
    digests = [date.fromisoformat(d) for d in by_kind[Kind.DIGEST]]
    assert digests[0] == date(2026, 11, 24)
    assert all(CAL.is_working(d) for d in digests) and len(digests) == 19


def test_problem_10_the_digest_runs_up_to_and_including_the_meeting_day() -> None:
    """README: the morning digest comes each working day while the round is open, up to and
    including the meeting day (it used to stop the day before)."""
    planned = plan(DATES, [Recipient(9, True, True, officer=True)], CAL, SETTINGS, OPENED)
    digests = sorted(p.id.rsplit(":", 1)[1] for p in planned if p.kind is Kind.DIGEST)
    assert digests[-1] == DATES.meeting.isoformat() == "2026-12-18"


def test_planning_again_later_gives_the_same_ids_and_leaves_out_past_days() -> None:
    first = plan(DATES, [Recipient(1, False, True)], CAL, SETTINGS, OPENED)
    later = plan(DATES, [Recipient(1, False, True)], CAL, SETTINGS, local(date(2026, 12, 9), 12))
    assert {p.id for p in later} < {p.id for p in first}
    assert "r1:m1:nudge:2026-12-07" not in {p.id for p in later}
    assert "r1:m1:nudge:2026-12-09" in {p.id for p in later}  # still today


def test_moving_the_meeting_moves_the_dated_reminders_but_not_the_invite() -> None:
    moved = RoundDates(1, OPENED, date(2026, 12, 22), date(2026, 12, 14), date(2026, 12, 16))
    before = {p.id for p in plan(DATES, [Recipient(1, False, True)], CAL, SETTINGS, OPENED)}
    after = {p.id for p in plan(moved, [Recipient(1, False, True)], CAL, SETTINGS, OPENED)}
    assert "r1:m1:invite:2026-11-23" in before & after
    assert "r1:m1:due_day:2026-12-14" in after - before


# ------------------------------------------------------------------------ deciding

def due(kind: Kind, at: datetime, **facts: object) -> DueReminder:
    base: dict[str, object] = {"id": "x", "kind": kind, "due_at": at, "round_open": True,
                                   "member_due": MEMBER_DUE, "done": False, "started": False,
                                   "reachable": True}
    base.update(facts)
    return DueReminder(**base)  # type: ignore[arg-type]


NUDGE_AT = local(date(2026, 12, 7), 8)


def test_a_due_reminder_is_sent() -> None:
    assert decide(due(Kind.NUDGE, NUDGE_AT), NUDGE_AT + timedelta(minutes=1), SETTINGS).verdict \
        is Verdict.SEND


@pytest.mark.parametrize("facts, reason", [
    ({"done": True}, "done"),
    ({"round_open": False}, "round closed"),
    ({"reachable": False}, "unreachable"),
])
def test_dropped_when_it_no_longer_concerns_anyone(facts: dict[str, object], reason: str) -> None:
    decision = decide(due(Kind.NUDGE, NUDGE_AT, **facts), NUDGE_AT, SETTINGS)
    assert (decision.verdict, decision.reason) == (Verdict.DROP, reason)


def test_invite_dropped_once_the_member_has_started() -> None:
    assert decide(due(Kind.INVITE, OPENED, started=True), OPENED, SETTINGS).verdict is Verdict.DROP
    assert decide(due(Kind.INVITE, OPENED), OPENED, SETTINGS).verdict is Verdict.SEND


def test_quiet_hours_wait_for_the_morning() -> None:
    invite_at = local(date(2026, 11, 23), 22, 30)  # round opened late in the evening
    decision = decide(due(Kind.INVITE, invite_at), invite_at, SETTINGS)
    assert decision.verdict is Verdict.WAIT and decision.until == local(date(2026, 11, 24), 7)
    after_midnight = local(date(2026, 11, 24), 2)
    assert decide(due(Kind.INVITE, invite_at), after_midnight, SETTINGS).until == decision.until
    assert decide(due(Kind.INVITE, invite_at), decision.until, SETTINGS).verdict is Verdict.SEND


def test_quiet_hours_within_one_day_and_switched_off() -> None:
    noon = replace(SETTINGS, quiet_start=time(12, 0), quiet_end=time(13, 30))
    assert quiet_until(local(date(2026, 12, 7), 12, 10), noon) == local(date(2026, 12, 7), 13, 30)
    assert quiet_until(local(date(2026, 12, 7), 13, 30), noon) is None
    off = replace(SETTINGS, quiet_start=time(0, 0), quiet_end=time(0, 0))
    assert quiet_until(local(date(2026, 12, 7), 3), off) is None


def test_after_downtime_stale_reminders_are_dropped_not_sent_late() -> None:
    back_next_day = local(date(2026, 12, 8), 9)
    assert decide(due(Kind.NUDGE, NUDGE_AT), back_next_day, SETTINGS).reason == "stale"
    assert decide(due(Kind.DIGEST, NUDGE_AT), back_next_day, SETTINGS).reason == "stale"
    # Same day, a few hours late: still relevant, sent once.
    assert decide(due(Kind.NUDGE, NUDGE_AT), local(date(2026, 12, 7), 15), SETTINGS).verdict \
        is Verdict.SEND
    # Back in the evening's quiet hours: it would only go out tomorrow, so it is dropped.
    assert decide(due(Kind.NUDGE, NUDGE_AT), local(date(2026, 12, 7), 23), SETTINGS).verdict \
        is Verdict.WAIT
    assert decide(due(Kind.NUDGE, NUDGE_AT), local(date(2026, 12, 8), 7), SETTINGS).reason \
        == "stale"


def test_an_invite_stays_relevant_until_the_member_deadline() -> None:
    assert decide(due(Kind.INVITE, OPENED), local(MEMBER_DUE, 9), SETTINGS).verdict is Verdict.SEND
    assert decide(due(Kind.INVITE, OPENED), local(MEMBER_DUE + timedelta(days=1), 9),
                  SETTINGS).reason == "stale"


def test_clock_jumping_backwards_waits_and_forwards_drops() -> None:
    backwards = decide(due(Kind.NUDGE, NUDGE_AT), NUDGE_AT - timedelta(hours=5), SETTINGS)
    assert backwards.verdict is Verdict.WAIT and backwards.until == NUDGE_AT
    forwards = decide(due(Kind.NUDGE, NUDGE_AT), NUDGE_AT + timedelta(days=30), SETTINGS)
    assert forwards.verdict is Verdict.DROP


def test_members_the_round_does_not_review_get_no_member_reminders() -> None:
    """366 Điều 5: not invited, not reminded. An officer who is not reviewed still gets the
    officers' reminders."""
    from bot.reminders import reviewed
    from bot.rules import load_rules

    rules = load_rules()
    recent = Recipient(1, done=False, reachable=True, joined_on=date(2026, 7, 18))
    exempted = Recipient(2, done=False, reachable=True, standing="exempted")
    officer = Recipient(3, done=False, reachable=True, officer=True, standing="suspended")
    regular = Recipient(4, done=False, reachable=True, joined_on=date(2026, 6, 18))
    people = [reviewed(p, MEETING, rules) for p in (recent, exempted, officer, regular)]
    assert [p.reviewed for p in people] == [False, False, False, True]
    planned = plan(DATES, people, CAL, SETTINGS, OPENED)
    assert {p.member_id for p in planned if p.kind in (Kind.INVITE, Kind.NUDGE)} == {4}
    assert {p.kind for p in planned if p.member_id == 3} == {
        Kind.DIGEST, Kind.COLLECTIVE_DUE, Kind.MEETING}
    assert not [p for p in planned if p.member_id in (1, 2)]
    # Under the 2019 rules (a meeting before 30/8/2025), a recent member is reviewed.
    earlier = date(2024, 12, 18)
    assert reviewed(replace(recent, joined_on=date(2024, 7, 18)), earlier, rules).reviewed
