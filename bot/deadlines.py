"""Deadlines of a review round, counted back in working days from the chi bộ meeting.

Lead times are data from the upper Party committee's plan (kế hoạch kiểm điểm); the only
built-in rule is 16-HD/BTCTW's "the collective's draft report reaches the participants at least
3 working days before the meeting". Problems are typed exceptions that carry the dates a polite
message needs, including a ``suggestion`` (a date to propose instead, or None).
"""

from __future__ import annotations

from calendar import monthrange
from dataclasses import dataclass
from datetime import date

from bot.workdays import Convention, Countback, DayStatus, WorkCalendar, YearNotCovered

__all__ = [
    "DEFAULT_COLLECTIVE_LEAD",
    "DEFAULT_MEMBER_LEAD",
    "YEAR_END_DEADLINE",
    "DeadlineProblem",
    "LateMeeting",
    "MeetingInPast",
    "MeetingNotWorkingDay",
    "MeetingTooClose",
    "RoundDeadlines",
    "YearNotCovered",
    "compute_deadlines",
    "earliest_meeting",
    "late_meeting",
    "parse_year_end",
]

# 16-HD/BTCTW: «Dự thảo báo cáo kiểm điểm gửi trước cho các thành viên tham gia hội nghị kiểm
# điểm ít nhất 3 ngày làm việc.» The one lead time that is a rule.
DEFAULT_COLLECTIVE_LEAD = 3
# Not a rule (domain.md §6): a suggestion that leaves the secretary two working days to read the
# members' drafts before the collective draft goes out. The plan of the level above may differ.
DEFAULT_MEMBER_LEAD = 5

# 43-HD/BTCTW 4.1 (implementing 366 Điều 14 khoản 2), forms-2025.md §1.7: the annual review
# «…tiến hành vào dịp cuối năm và kết thúc trước ngày 31/12 hằng năm»; bodies whose higher level
# sets it, «…hoàn thành trước ngày 15/01 năm sau». Configurable: calendar.year_end_deadline.
YEAR_END_DEADLINE = "31/12"

# Searching for the earliest feasible meeting never needs more than this many days: even a
# 10-working-day lead across a 9-day Tết block stays far below it.
_SEARCH_LIMIT_DAYS = 120


@dataclass(frozen=True)
class RoundDeadlines:
    """When members' drafts and the collective draft are due for a given meeting."""

    meeting: date
    member_due: date
    collective_due: date
    convention: Convention
    member_countback: Countback
    collective_countback: Countback


class DeadlineProblem(ValueError):
    """A meeting date that cannot be used; ``suggestion`` is a date to offer instead."""

    suggestion: date | None


class MeetingInPast(DeadlineProblem):
    def __init__(self, meeting: date, today: date, suggestion: date | None) -> None:
        self.meeting = meeting
        self.today = today
        self.suggestion = suggestion
        super().__init__(f"meeting {meeting} is before today {today}")


class MeetingNotWorkingDay(DeadlineProblem):
    def __init__(self, meeting: date, status: DayStatus, suggestion: date) -> None:
        self.meeting = meeting
        self.status = status
        self.suggestion = suggestion
        super().__init__(f"meeting {meeting} is not a working day ({status.reason})")


class MeetingTooClose(DeadlineProblem):
    """The lead times before the meeting would start before today."""

    def __init__(self, meeting: date, earliest: date) -> None:
        self.meeting = meeting
        self.earliest = earliest
        self.suggestion = earliest
        super().__init__(f"meeting {meeting} is too close; earliest possible is {earliest}")


@dataclass(frozen=True)
class LateMeeting:
    """A meeting after the annual deadline of its review year: a warning, never a refusal
    (the higher committee's plan may say otherwise; 43-HD 4.1 lets it for some bodies)."""

    meeting: date
    review_year: int
    deadline: date


def parse_year_end(text: str) -> tuple[int, int]:
    """"31/12" or "15/01" as (day, month); ValueError otherwise. A deadline in January to June
    is in the year after the review year ("15/01" = 15 January of the next year)."""
    day, sep, month = text.strip().partition("/")
    if not sep or not (day.isdigit() and month.isdigit()):
        raise ValueError(f"expected a day and month as DD/MM, e.g. \"31/12\", got {text!r}")
    date(2024, int(month), int(day))  # a leap year: 29/02 is a date, 31/02 is not
    return int(day), int(month)


def late_meeting(meeting: date, review_year: int,
                 year_end: str = YEAR_END_DEADLINE) -> LateMeeting | None:
    """A warning when the meeting falls after the annual deadline of ``review_year``.

    The rule is 43-HD/BTCTW 4.1: the review ends before 31/12 each year (15/01 of the next year
    for bodies whose higher level so decides). A meeting on the deadline itself is not warned.
    """
    day, month = parse_year_end(year_end)
    year = review_year + 1 if month <= 6 else review_year
    deadline = date(year, month, min(day, monthrange(year, month)[1]))
    return LateMeeting(meeting, review_year, deadline) if meeting > deadline else None


def compute_deadlines(
    cal: WorkCalendar,
    meeting: date,
    today: date,
    *,
    member_lead: int = DEFAULT_MEMBER_LEAD,
    collective_lead: int = DEFAULT_COLLECTIVE_LEAD,
    convention: Convention = "strict",
) -> RoundDeadlines:
    """Work out the due dates of a round whose chi bộ meeting is on ``meeting``.

    The collective draft is due ``collective_lead`` working days before the meeting and the
    members' drafts ``member_lead`` working days before it (so on or before the collective
    draft's day), counted with ``convention`` (see WorkCalendar.working_days_before).

    Raises MeetingInPast, MeetingTooClose (member_due would be before today), then
    MeetingNotWorkingDay, each with a ``suggestion``; YearNotCovered for a year without
    calendar data; ValueError for inconsistent lead times.
    """
    _check_leads(member_lead, collective_lead)
    if meeting < today:
        raise MeetingInPast(
            meeting, today, _earliest_or_none(cal, today, member_lead, convention)
        )
    member = cal.working_days_before(meeting, member_lead, convention)
    if member.send_by < today:
        raise MeetingTooClose(meeting, earliest_meeting(cal, today, member_lead, convention))
    status = cal.day_status(meeting)
    if not status.working:
        # Checked after "too close": the lead times only grow later, so the next working day
        # after a feasible non-working meeting is itself feasible.
        raise MeetingNotWorkingDay(meeting, status, cal.next_working_day(meeting))
    collective = cal.working_days_before(meeting, collective_lead, convention)
    return RoundDeadlines(
        meeting=meeting,
        member_due=member.send_by,
        collective_due=collective.send_by,
        convention=convention,
        member_countback=member,
        collective_countback=collective,
    )


def earliest_meeting(
    cal: WorkCalendar, today: date, member_lead: int, convention: Convention = "strict"
) -> date:
    """The first working day on which a meeting still leaves members ``member_lead`` working
    days from today (that is, member_due >= today)."""
    candidate = today
    for _ in range(_SEARCH_LIMIT_DAYS):
        if (
            cal.day_status(candidate).working
            and cal.working_days_before(candidate, member_lead, convention).send_by >= today
        ):
            return candidate
        candidate = cal.next_working_day(candidate)
    raise RuntimeError(f"no feasible meeting within {_SEARCH_LIMIT_DAYS} days of {today}")


def _earliest_or_none(
    cal: WorkCalendar, today: date, member_lead: int, convention: Convention
) -> date | None:
    # A past meeting is the error to report; a missing calendar year for the suggestion is not.
    try:
        return earliest_meeting(cal, today, member_lead, convention)
    except YearNotCovered:
        return None


def _check_leads(member_lead: int, collective_lead: int) -> None:
    if collective_lead < 1:
        raise ValueError(f"collective_lead must be at least 1 working day, got {collective_lead}")
    if member_lead < collective_lead:
        raise ValueError(
            f"member_lead ({member_lead}) must be >= collective_lead ({collective_lead}): "
            "members' drafts are due on or before the collective draft"
        )
