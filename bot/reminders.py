"""Which reminders a round needs, and whether one that is due should go out now.

Planned reminders are rows in SQLite (the source of truth). This module only computes: ``plan``
turns a round's dates and its people into reminders with deterministic ids, so planning again
(after a restart, a moved meeting, a newly linked member) is an idempotent upsert; ``decide``
says, for one due reminder and the state of the world, send / drop / wait. Times are UTC;
"morning", "the day" and quiet hours are in Vietnam's time zone. No reminder ever carries
answer content: only what is due and when.

Nothing here reads the clock or the database: ``now`` and the facts are arguments.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta, timezone
from enum import StrEnum
from typing import TYPE_CHECKING, Protocol, cast

from bot.rules import RuleBook, eligibility
from bot.workdays import Convention, WorkCalendar

if TYPE_CHECKING:
    from bot.config import CalendarSettings, ReminderConfig

__all__ = [
    "VIETNAM",
    "Decision",
    "DueReminder",
    "Kind",
    "Planned",
    "Recipient",
    "ReminderRepo",
    "ReminderSettings",
    "RoundDates",
    "Verdict",
    "decide",
    "parse_clock",
    "plan",
    "quiet_until",
    "reminder_id",
    "replan",
]

# Vietnam has kept UTC+7 without daylight saving since 1975.
VIETNAM = timezone(timedelta(hours=7), "Asia/Ho_Chi_Minh")


class Kind(StrEnum):
    INVITE = "invite"                  # the round is open: start your review
    NUDGE = "nudge"                    # N working days before the member deadline
    DUE_DAY = "due_day"                # the member deadline is today
    OVERDUE = "overdue"                # the deadline has passed (a bounded number)
    COLLECTIVE_DUE = "collective_due"  # officers: the collective draft goes out soon / today
    MEETING = "meeting"                # officers: the meeting is on the next working day
    DIGEST = "digest"                  # officers: the morning tally while the round is open
    UNREACHABLE = "unreachable"        # officers: a member blocked the bot


MEMBER_KINDS = frozenset({Kind.INVITE, Kind.NUDGE, Kind.DUE_DAY, Kind.OVERDUE})


@dataclass(frozen=True)
class ReminderSettings:
    """The ``[reminders]`` settings, already parsed."""

    send_at: time = time(8, 0)
    quiet_start: time = time(21, 0)
    quiet_end: time = time(7, 0)
    nudge_days: tuple[int, ...] = (3, 1)
    overdue_max: int = 2
    overdue_gap_days: int = 2
    collective_lead: int = 3
    convention: Convention = "strict"

    @classmethod
    def from_config(cls, config: ReminderConfig, calendar: CalendarSettings) -> ReminderSettings:
        return cls(
            send_at=parse_clock(config.send_at), quiet_start=parse_clock(config.quiet_start),
            quiet_end=parse_clock(config.quiet_end), nudge_days=tuple(config.nudge_days),
            overdue_max=config.overdue_max, overdue_gap_days=config.overdue_gap_days,
            collective_lead=calendar.collective_lead_days,
            convention=cast(Convention, calendar.convention),
        )


@dataclass(frozen=True)
class RoundDates:
    round_id: int
    opened_at: datetime
    meeting: date
    member_due: date
    collective_due: date


@dataclass(frozen=True)
class Recipient:
    """A linked member of the round's cell. Officers also get the officers' reminders."""

    member_id: int
    done: bool
    reachable: bool
    officer: bool = False
    reviewed: bool = True  # False: the round does not review them (366 Điều 5): no reminders
    joined_on: date | None = None
    standing: str | None = None


@dataclass(frozen=True)
class Planned:
    id: str
    round_id: int
    member_id: int
    kind: Kind
    due_at: datetime  # UTC
    subject_id: int | None = None  # the member a reminder is about (UNREACHABLE)


class Verdict(StrEnum):
    SEND = "send"
    DROP = "drop"
    WAIT = "wait"


@dataclass(frozen=True)
class Decision:
    verdict: Verdict
    until: datetime | None = None  # WAIT: not before this moment (UTC)
    reason: str = ""


@dataclass(frozen=True)
class DueReminder:
    """A planned reminder whose moment has come, with the facts ``decide`` needs."""

    id: str
    kind: Kind
    due_at: datetime
    round_open: bool
    member_due: date
    done: bool        # the member has submitted (member kinds only)
    started: bool     # the member has opened the review (member kinds only)
    reachable: bool   # linked on the sending channel and has not blocked the bot


def reminder_id(round_id: int, member_id: int, kind: Kind, day: date | int) -> str:
    """Deterministic: the same reminder planned twice gets the same id."""
    tail = day.isoformat() if isinstance(day, date) else str(day)
    return f"r{round_id}:m{member_id}:{kind.value}:{tail}"


def local_day(moment: datetime) -> date:
    return moment.astimezone(VIETNAM).date()


def at_local(day: date, clock: time) -> datetime:
    """``clock`` o'clock in Vietnam on ``day``, as UTC."""
    return datetime.combine(day, clock, tzinfo=VIETNAM).astimezone(UTC)


def parse_clock(text: str) -> time:
    """"HH:MM" (24-hour) as a time; ValueError otherwise."""
    hours, sep, minutes = text.partition(":")
    if not sep or not (hours.isdigit() and minutes.isdigit() and len(minutes) == 2):
        raise ValueError(f"expected HH:MM, got {text!r}")
    return time(int(hours), int(minutes))


# ------------------------------------------------------------------------------------ planning


def plan(
    dates: RoundDates,
    recipients: Iterable[Recipient],
    cal: WorkCalendar,
    settings: ReminderSettings,
    now: datetime,
) -> list[Planned]:
    """Every reminder the round still needs from today on, for people who are not done.

    Reminders for days already over are left out (they could only be dropped). The invite
    keeps the moment the round opened, so it has one id however often the round is planned.
    """
    today = local_day(now)
    member_days = _member_days(dates, cal, settings)
    officer_days = _officer_days(dates, cal)
    opened = local_day(dates.opened_at)
    rid = dates.round_id
    result: list[Planned] = []
    for person in recipients:
        if not person.reachable:
            continue
        mid = person.member_id
        if not person.done and person.reviewed:
            if dates.member_due >= today:
                result.append(Planned(reminder_id(rid, mid, Kind.INVITE, opened), rid, mid,
                                      Kind.INVITE, dates.opened_at))
            for kind, day in member_days:
                if day >= today:
                    result.append(Planned(reminder_id(rid, mid, kind, day), rid, mid, kind,
                                          at_local(day, settings.send_at)))
        if person.officer:
            for kind, day in officer_days:
                if day >= today:
                    result.append(Planned(reminder_id(rid, mid, kind, day), rid, mid, kind,
                                          at_local(day, settings.send_at)))
    return result


def _member_days(
    dates: RoundDates, cal: WorkCalendar, settings: ReminderSettings
) -> list[tuple[Kind, date]]:
    due = dates.member_due
    opened = local_day(dates.opened_at)
    days: list[tuple[Kind, date]] = []
    for n in sorted(set(settings.nudge_days), reverse=True):
        day = cal.add_working_days(due, -n)
        if day > opened:  # a nudge on the opening day would repeat the invite
            days.append((Kind.NUDGE, day))
    days.append((Kind.DUE_DAY, due))
    day = due
    for _ in range(settings.overdue_max):
        day = cal.add_working_days(day, settings.overdue_gap_days)
        if day >= dates.meeting:  # from the meeting on, the cell deals with it in person
            break
        days.append((Kind.OVERDUE, day))
    return days


def _officer_days(dates: RoundDates, cal: WorkCalendar) -> list[tuple[Kind, date]]:
    opened = local_day(dates.opened_at)
    days: list[tuple[Kind, date]] = []
    day = cal.next_working_day(opened)
    # Every working day after the round opens, up to and including the meeting day: on the
    # morning of the meeting the secretary still wants to know who has not submitted.
    while day <= dates.meeting:
        days.append((Kind.DIGEST, day))
        day = cal.next_working_day(day)
    collective = dates.collective_due
    days.append((Kind.COLLECTIVE_DUE, cal.add_working_days(collective, -1)))
    days.append((Kind.COLLECTIVE_DUE, collective))
    days.append((Kind.MEETING, cal.add_working_days(dates.meeting, -1)))
    return days


def unreachable_notice(
    round_id: int, officer_id: int, member_id: int, now: datetime
) -> Planned:
    """Tell an officer that a member blocked the bot; one notice per member and round."""
    return Planned(reminder_id(round_id, officer_id, Kind.UNREACHABLE, member_id), round_id,
                   officer_id, Kind.UNREACHABLE, now, subject_id=member_id)


# ------------------------------------------------------------------------------------ deciding


def quiet_until(now: datetime, settings: ReminderSettings) -> datetime | None:
    """If ``now`` is in quiet hours, the moment they end (UTC); otherwise None."""
    start, end = settings.quiet_start, settings.quiet_end
    if start == end:
        return None
    local = now.astimezone(VIETNAM)
    clock = local.timetz().replace(tzinfo=None)
    if start < end:
        quiet = start <= clock < end
        end_day = local.date()
    else:  # across midnight, e.g. 21:00–07:00
        quiet = clock >= start or clock < end
        end_day = local.date() + timedelta(days=1) if clock >= start else local.date()
    return at_local(end_day, end) if quiet else None


def decide(reminder: DueReminder, now: datetime, settings: ReminderSettings) -> Decision:
    """Send, drop or wait, for one planned reminder at ``now``.

    Drop when it no longer concerns anyone (round closed, member done or started for an
    invite, member unreachable) or when it is stale (its day is over: after downtime the bot
    sends what is still relevant once and never a backlog). Wait when it is not due yet (the
    clock may have jumped back) or it is quiet hours.
    """
    if not reminder.round_open:
        return Decision(Verdict.DROP, reason="round closed")
    if reminder.kind in MEMBER_KINDS:
        if reminder.done:
            return Decision(Verdict.DROP, reason="done")
        if not reminder.reachable:
            return Decision(Verdict.DROP, reason="unreachable")
        if reminder.kind is Kind.INVITE and reminder.started:
            return Decision(Verdict.DROP, reason="already started")
    if now < reminder.due_at:
        return Decision(Verdict.WAIT, until=reminder.due_at, reason="not yet due")
    if _stale(reminder, now):
        return Decision(Verdict.DROP, reason="stale")
    until = quiet_until(now, settings)
    if until is not None:
        return Decision(Verdict.WAIT, until=until, reason="quiet hours")
    return Decision(Verdict.SEND)


def _stale(reminder: DueReminder, now: datetime) -> bool:
    today = local_day(now)
    if reminder.kind is Kind.INVITE:
        # Still worth sending until the deadline; after it, the overdue reminders speak.
        return today > reminder.member_due
    if reminder.kind is Kind.UNREACHABLE:
        return now - reminder.due_at > timedelta(days=3)
    return today > local_day(reminder.due_at)


# ------------------------------------------------------------------------------------ re-planning


class ReminderRepo(Protocol):
    """What planning needs from storage."""

    async def round_dates_input(self, round_id: int) -> tuple[datetime, date, date, bool] | None:
        """(opened_at, meeting, member_due, is_open) of the round, or None."""
        ...

    async def recipients(self, round_id: int, member_id: int | None = None) -> list[Recipient]:
        """Linked members of the round's cell (only ``member_id``, if given)."""
        ...

    async def replace_plan(
        self, round_id: int, planned: Sequence[Planned], member_id: int | None = None
    ) -> None:
        """Make the round's unsent rows (only ``member_id``'s, if given) match ``planned``."""
        ...


def collective_due(cal: WorkCalendar, meeting: date, settings: ReminderSettings) -> date:
    return cal.working_days_before(meeting, settings.collective_lead, settings.convention).send_by


def reviewed(person: Recipient, meeting: date, rules: RuleBook | None) -> Recipient:
    """The recipient marked not reviewed when the round's rules leave them out (366 Điều 5:
    exempted, suspended, admitted less than 6 months before the meeting)."""
    if rules is None:
        return person
    status = eligibility(rules.at(meeting), joined_on=person.joined_on,
                         standing=person.standing, meeting=meeting)
    return person if status.reviewed else replace(person, reviewed=False)


async def replan(
    repo: ReminderRepo,
    cal: WorkCalendar,
    settings: ReminderSettings,
    round_id: int,
    now: datetime,
    member_id: int | None = None,
    rules: RuleBook | None = None,
) -> int:
    """Plan the round's reminders again from the stored facts; return how many are planned.

    With ``member_id``, only that person's reminders (someone who just linked an account):
    the rest of the round is left as it is. With ``rules``, members the round does not review
    get no member reminders.
    """
    found = await repo.round_dates_input(round_id)
    if found is None:
        return 0
    opened_at, meeting, member_due, is_open = found
    planned: list[Planned] = []
    if is_open:
        dates = RoundDates(round_id, opened_at, meeting, member_due,
                           collective_due(cal, meeting, settings))
        people = [reviewed(r, meeting, rules)
                  for r in await repo.recipients(round_id, member_id)]
        planned = plan(dates, people, cal, settings, now)
    await repo.replace_plan(round_id, planned, member_id)
    return len(planned)
