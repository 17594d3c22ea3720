"""Delivery to anyone but the person speaking: the outbox and its one channel-free sender.

A reply to whoever spoke is the return value of ``ReviewService.handle``, delivered by the
channel that received the message. Everything else — a draft to the secretary and deputy, a
returned draft, an acceptance, a committee point or a «nhắc» to a member, every reminder and
digest, the "member blocked the bot" notice — is an **outbox** row, written in the same
transaction as the change that causes it (``NoticeQueue.enqueue``; reminders are planned
into the same table by ``bot.reminders``). The ``Sender`` sends the rows; each channel only
supplies a small ``Transport``.

The rules, the same for every channel:

* **Where.** A row goes to the person's account used last (``accounts.last_seen_at``); if
  that one is unreachable (blocked) or its channel is not running, the next most recent one.
  A person whose only reachable accounts are on channels not running now is not given up:
  the row waits until one of those channels starts (``Outbox.due`` leaves it out).
* **When.** Reminders, digests and the blocked notice wait for the end of quiet hours.
  Notices caused by someone's action (a submitted draft, a returned or accepted draft, a
  committee point, a changed category, the desk's «nhắc») go at once, day or night, as they
  did before the outbox: the person acting expects the other side to have it.
* **At most once.** A row is marked ``sending`` and committed before the transport is
  called, and ``sent`` after. A row left ``sending`` by a crash counts as sent at the next
  start (``resolve_in_flight``): at worst one message per in-flight slot is lost, none is
  ever doubled. ``reminders.in_flight`` rows per channel are in flight at once.
* **Failures.** RETRY (429, 5xx) is tried again later, a bounded number of times, waiting
  what the platform asked; UNCERTAIN (a timeout after sending) counts as sent; REJECTED is
  final and logged; BLOCKED marks that account unreachable and tries the person's next
  account; with none left, the cell's officers are told once. A row given up after its last
  retry is reported to the officers the same way.
* **Pace.** Each channel sends at most ``rate`` messages a second (``reminders.rate_per_second``
  unless the channel has its own).

Nothing here knows a channel or a database: both come in through the protocols below.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Any, Protocol

from bot.models import Submission
from bot.reminders import (
    VIETNAM, DueReminder, Kind, Planned, Recipient, ReminderSettings, Verdict, at_local, decide,
    local_day, quiet_until, reviewed, unreachable_notice,
)
from bot.rules import RuleBook
from bot.screens import Document, Screen, SubmissionRef  # SubmissionRef: part of the seam

__all__ = [
    "NOTICE", "Delivery", "DeliveryLoop", "Notice", "NoticeQueue", "Outbox", "OutboxRow",
    "Outcome", "SendReport", "Sender", "SenderSettings", "SubmissionRef", "TallyLine",
    "Transport",
]

log = logging.getLogger(__name__)

NOTICE = "notice"  # the kind of an outbox row that is not a planned reminder


# ------------------------------------------------------------------------------ the seam


class Outcome(StrEnum):
    SENT = "sent"            # the platform took the message
    BLOCKED = "blocked"      # the person blocked the bot / left: mark unreachable, tell officers
    RETRY = "retry"          # the platform said it did not take it (429, 5xx, ok:false transient)
    UNCERTAIN = "uncertain"  # we cannot know (timeout after sending): counted as sent, never resent
    REJECTED = "rejected"    # permanent refusal (400): do not retry, log


@dataclass(frozen=True)
class Delivery:
    outcome: Outcome
    retry_after: float | None = None   # seconds, when the platform said so
    detail: str = ""                   # an error class name or code; never message text


class Transport(Protocol):
    """One channel's way to put a screen in front of one account."""

    channel: str  # the channel's name, as accounts store it

    async def send(self, external_id: str, screen: Screen) -> Delivery: ...


# ------------------------------------------------------------------------------ notices


@dataclass(frozen=True)
class Notice:
    """A message for someone other than the person speaking, queued with the change that
    causes it. ``context`` holds the template's facts (dates allowed); never answer text.
    ``document`` names a stored submission, loaded when the notice is sent."""

    member_id: int
    template: str
    context: Mapping[str, Any] = field(default_factory=dict)
    document: SubmissionRef | None = None
    round_id: int | None = None
    quiet: bool = False  # True: waits for the end of quiet hours like a reminder
    id: str = ""  # empty: a fresh one is made when queued

    def with_id(self) -> Notice:
        if self.id:
            return self
        return Notice(self.member_id, self.template, self.context, self.document,
                      self.round_id, self.quiet, f"n{secrets.token_hex(8)}")


class NoticeQueue(Protocol):
    """Where a use case puts its notices: inside the caller's transaction."""

    async def enqueue(self, notices: Sequence[Notice], now: datetime) -> None: ...


def dump_context(context: Mapping[str, Any]) -> str:
    """JSON with dates and moments kept as such (templates format them)."""

    def tagged(value: object) -> object:
        if isinstance(value, datetime):
            return {"$datetime": value.isoformat()}
        if isinstance(value, date):
            return {"$date": value.isoformat()}
        raise TypeError(f"cannot queue a {type(value).__name__} in a notice")

    return json.dumps(context, default=tagged, ensure_ascii=False, sort_keys=True)


def load_context(text: str | None) -> dict[str, Any]:
    def untag(value: dict[str, Any]) -> object:
        if set(value) == {"$date"}:
            return date.fromisoformat(value["$date"])
        if set(value) == {"$datetime"}:
            return datetime.fromisoformat(value["$datetime"])
        return value

    loaded: dict[str, Any] = json.loads(text, object_hook=untag) if text else {}
    return loaded


# ------------------------------------------------------------------------------ the outbox port


@dataclass(frozen=True)
class OutboxRow:
    """A row due now, with the account chosen for it and the facts its message needs."""

    id: str
    kind: str  # a ``bot.reminders.Kind`` value or NOTICE
    member_id: int
    round_id: int | None
    subject_id: int | None
    template: str | None
    context: str | None
    document: SubmissionRef | None
    quiet: bool
    attempts: int
    channel: str | None  # the account to send to; None: no reachable account
    external_id: str | None
    full_name: str
    cell_id: int
    reminder: DueReminder | None = None  # reminder kinds: what ``decide`` needs
    round_title: str = ""
    meeting: date | None = None


@dataclass(frozen=True)
class TallyLine:
    member_id: int
    full_name: str
    linked: bool
    unreachable: bool  # linked, and every account unreachable
    done: bool
    joined_on: date | None = None
    standing: str | None = None


class Outbox(Protocol):
    """What the sender needs from storage."""

    def transaction(self) -> AbstractAsyncContextManager[None]: ...

    async def due(self, now: datetime, limit: int, channels: Sequence[str],
                  quiet_too: bool) -> list[OutboxRow]:
        """Planned rows whose time has come, oldest first (only the rows that may go out in
        quiet hours unless ``quiet_too``), each with the recipient's most recently used
        reachable account among ``channels``. Rows of a person who is reachable only on other
        channels are left out (they wait for their channel); rows of a person reachable
        nowhere come with no account."""
        ...

    async def mark_sending(self, sends: Sequence[tuple[str, str, str]]) -> list[str]:
        """(id, channel, external_id): about to be handed to the transport. Returns the ids
        claimed: rows still planned (not re-planned, dropped or deleted meanwhile)."""
        ...

    async def mark_sent(self, ids: Sequence[str], now: datetime, note: str | None = None) -> None: ...
    async def mark_failed(self, ids: Sequence[str], reason: str) -> None: ...
    async def mark_dropped(self, ids: Sequence[str], reason: str) -> None: ...
    async def postpone(self, ids: Sequence[str], until: datetime, note: str | None = None) -> None: ...
    async def resolve_in_flight(self, now: datetime) -> int: ...

    async def mark_unreachable(self, channel: str, external_id: str, now: datetime) -> None: ...
    async def reachable_accounts(self, member_id: int, channels: Sequence[str] | None) -> int:
        """How many of the member's accounts have not blocked the bot, on ``channels`` (None:
        on any channel, running or not)."""
        ...
    async def officers_to_tell(self, member_id: int) -> tuple[int | None, list[int]]:
        """The open round of the member's cell (None if none) and its officers, the member
        excluded."""
        ...

    async def add_planned(self, rows: Sequence[Planned]) -> None:
        """One-off reminder rows (the blocked notice); an id already there is kept."""
        ...

    async def tally(self, round_id: int) -> list[TallyLine]: ...
    async def submission(self, ref: SubmissionRef) -> Submission | None: ...
    async def member_name(self, member_id: int) -> str: ...


# ------------------------------------------------------------------------------ the sender


@dataclass(frozen=True)
class SenderSettings:
    in_flight: int = 1            # rows per channel handed to its transport at once
    check_seconds: int = 30       # the base of the retry back-off
    max_attempts: int = 5         # RETRY this many times, then give up
    rate_per_second: float = 25.0  # per channel, unless ``rates`` names the channel
    rates: Mapping[str, float] = field(default_factory=dict)
    batch: int = 500


@dataclass
class SendReport:
    sent: int = 0
    dropped: int = 0
    waiting: int = 0
    failed: int = 0
    retry: int = 0
    by_channel: dict[str, int] = field(default_factory=dict)


class _Pace:
    """At most ``rate`` sends a second on one channel, as a token bucket holding one second's
    worth: a burst of up to ``rate`` goes at once, more wait their turn (the same pace as a
    leaky-bucket rate limiter, so a window of sends is not spread out for nothing)."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self.capacity = max(1.0, rate)
        self.tokens = self.capacity
        self.stamp: float | None = None

    async def wait(self) -> None:
        if self.rate <= 0:
            return
        now = asyncio.get_running_loop().time()
        if self.stamp is not None:
            self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        self.tokens -= 1  # taken now, or reserved: a negative count is a queue
        if self.tokens < 0:
            await asyncio.sleep(-self.tokens / self.rate)


class Sender:
    """Sends what is due, channel by channel, one window at a time."""

    def __init__(
        self,
        outbox: Outbox,
        clock: Callable[[], datetime],
        reminders: ReminderSettings,
        settings: SenderSettings,
        *,
        collective_due: Callable[[date], date | None] = lambda meeting: None,
        rules: RuleBook | None = None,
    ) -> None:
        self.outbox = outbox
        self.now = clock
        self.reminders = reminders
        self.settings = settings
        self.collective_due = collective_due
        self.rules = rules
        self.transports: dict[str, Transport] = {}
        self._paces: dict[str, _Pace] = {}
        self._busy = asyncio.Lock()
        self._windows: dict[str, asyncio.Lock] = {}  # held while a channel has sends out

    def add(self, transport: Transport) -> None:
        """A channel is running: rows for its accounts can go out."""
        self.transports[transport.channel] = transport
        rate = self.settings.rates.get(transport.channel, self.settings.rate_per_second)
        self._paces[transport.channel] = _Pace(rate)

    def remove(self, channel: str) -> None:
        """The channel stops: no new window of sends starts on it (rows stay planned)."""
        self.transports.pop(channel, None)

    async def drain(self, channel: str) -> None:
        """Wait until the sends already handed to ``channel``'s transport are settled, so the
        channel can close its connection under none of them."""
        window = self._windows.get(channel)
        if window is not None:
            async with window:
                pass

    async def run(self) -> SendReport:
        """Send everything due now; return what happened. A second call while one runs
        returns at once (the running one will see the new rows)."""
        report = SendReport()
        if self._busy.locked() or not self.transports:
            return report
        async with self._busy:
            while True:
                now = self.now()
                quiet = quiet_until(now, self.reminders) is not None
                rows = await self.outbox.due(now, self.settings.batch, sorted(self.transports),
                                             quiet_too=not quiet)
                if not rows:
                    break
                await self._handle(rows, now, report)
        return report

    async def _handle(self, rows: list[OutboxRow], now: datetime, report: SendReport) -> None:
        to_send: dict[str, list[OutboxRow]] = {}
        async with self.outbox.transaction():
            for row in rows:
                verdict, until, reason = self._decide(row, now)
                if verdict is Verdict.SEND and row.channel is not None:
                    to_send.setdefault(row.channel, []).append(row)
                elif verdict is Verdict.SEND:  # nobody to send it to
                    await self.outbox.mark_failed([row.id], "no reachable account")
                    report.failed += 1
                elif verdict is Verdict.DROP:
                    await self.outbox.mark_dropped([row.id], reason)
                    report.dropped += 1
                else:
                    later = until or now + timedelta(seconds=self.settings.check_seconds)
                    await self.outbox.postpone([row.id], later, reason)
                    report.waiting += 1
        tallies: dict[int, dict[str, Any]] = {}
        await asyncio.gather(*(self._channel(channel, chunk, now, tallies, report)
                               for channel, chunk in to_send.items()))

    def _decide(self, row: OutboxRow, now: datetime) -> tuple[Verdict, datetime | None, str]:
        if row.reminder is None:  # a notice: due since it was queued
            return Verdict.SEND, None, ""
        decision = decide(row.reminder, now, self.reminders)
        return decision.verdict, decision.until, decision.reason

    async def _channel(self, channel: str, rows: list[OutboxRow], now: datetime,
                       tallies: dict[int, dict[str, Any]], report: SendReport) -> None:
        window = max(1, self.settings.in_flight)
        lock = self._windows.setdefault(channel, asyncio.Lock())
        for start in range(0, len(rows), window):
            async with lock:
                transport = self.transports.get(channel)
                if transport is None:
                    return  # stopped meanwhile: the rest stay planned for its next start
                await self._window(transport, rows[start:start + window], now, tallies,
                                   report)

    async def _window(self, transport: Transport, chunk: list[OutboxRow], now: datetime,
                      tallies: dict[int, dict[str, Any]], report: SendReport) -> None:
        """One window of sends on one channel: claimed, handed to ``transport`` (kept for the
        whole window: a channel stopping waits for it in ``drain``), settled."""
        channel = transport.channel
        screens = [await self._screen(row, now, tallies) for row in chunk]
        async with self.outbox.transaction():
            claimed = set(await self.outbox.mark_sending(
                [(row.id, channel, row.external_id or "") for row in chunk]))
        kept = [(row, screen) for row, screen in zip(chunk, screens, strict=True)
                if row.id in claimed]
        if not kept:
            return
        chunk, screens = [row for row, _ in kept], [screen for _, screen in kept]
        results = await asyncio.gather(*(self._send_one(transport, row, screen)
                                         for row, screen in zip(chunk, screens, strict=True)))
        await self._record(channel, chunk, results, report)

    async def _send_one(self, transport: Transport, row: OutboxRow,
                        screen: Screen | None) -> Delivery:
        channel = transport.channel
        if row.external_id is None:
            return Delivery(Outcome.RETRY, detail="no account")
        if screen is None:
            return Delivery(Outcome.REJECTED, detail="document missing")
        await self._paces[channel].wait()
        try:
            return await transport.send(row.external_id, screen)
        except Exception as exc:  # a transport bug must not stop every other row
            log.exception("transport %s failed on outbox row %s", channel, row.id)
            return Delivery(Outcome.UNCERTAIN, detail=type(exc).__name__)

    async def _record(self, channel: str, chunk: list[OutboxRow], results: list[Delivery],
                      report: SendReport) -> None:
        now = self.now()
        async with self.outbox.transaction():
            for row, result in zip(chunk, results, strict=True):
                await self._settle(channel, row, result, now, report)

    async def _settle(self, channel: str, row: OutboxRow, result: Delivery, now: datetime,
                      report: SendReport) -> None:
        outcome, detail = result.outcome, result.detail
        if outcome is Outcome.SENT:
            await self.outbox.mark_sent([row.id], now)
            report.sent += 1
            report.by_channel[channel] = report.by_channel.get(channel, 0) + 1
            return
        if outcome is Outcome.UNCERTAIN:
            # The message may have reached the platform: never risk sending it twice.
            await self.outbox.mark_sent([row.id], now, f"uncertain ({detail}); may have arrived")
            report.sent += 1
            report.by_channel[channel] = report.by_channel.get(channel, 0) + 1
            log.warning("outbox row %s on %s: outcome unknown (%s), counted as sent",
                        row.id, channel, detail)
            return
        log.warning("outbox row %s not delivered on %s: %s %s", row.id, channel,
                    outcome.value, detail)
        if outcome is Outcome.REJECTED:
            await self.outbox.mark_failed([row.id], f"rejected: {detail}")
            report.failed += 1
        elif outcome is Outcome.BLOCKED:
            await self.outbox.mark_unreachable(channel, row.external_id or "", now)
            if await self.outbox.reachable_accounts(row.member_id, None):
                # Another account of the same person: the next pass sends it there (once its
                # channel runs, if it does not now).
                await self.outbox.postpone([row.id], now, f"blocked on {channel}; next account")
                report.retry += 1
            else:
                await self.outbox.mark_failed([row.id], "blocked")
                await self._tell_officers(row, now)
                report.failed += 1
        elif row.attempts + 1 >= self.settings.max_attempts:
            await self.outbox.mark_failed([row.id], f"gave up: {detail}")
            await self._tell_officers(row, now)
            report.failed += 1
        else:
            # The platform said it did not take the message: trying again later is safe.
            wait = float(self.settings.check_seconds * (row.attempts + 1))
            if result.retry_after is not None:
                wait = max(wait, result.retry_after)
            await self.outbox.postpone([row.id], now + timedelta(seconds=wait),
                                       f"retry: {detail}")
            report.retry += 1

    async def _tell_officers(self, row: OutboxRow, now: datetime) -> None:
        """The member cannot be reached on any channel (blocked, or the platform kept
        refusing): one notice per member and round to each officer of their cell."""
        if row.kind == Kind.UNREACHABLE.value:
            return  # an officer who cannot be reached is not told about it by the bot
        round_id, officers = await self.outbox.officers_to_tell(row.member_id)
        if round_id is None:
            return
        await self.outbox.add_planned([unreachable_notice(round_id, officer, row.member_id, now)
                                       for officer in officers])

    # -------------------------------------------------------------------------- wording

    async def _screen(self, row: OutboxRow, now: datetime,
                      tallies: dict[int, dict[str, Any]]) -> Screen | None:
        if row.kind == NOTICE:
            document = None
            if row.document is not None:
                submission = await self.outbox.submission(row.document)
                if submission is None:
                    return None
                document = Document(submission.filename, submission.docx, row.document)
            return Screen(row.template or "", load_context(row.context), document=document)
        kind = Kind(row.kind)
        reminder = row.reminder
        context: dict[str, Any] = {
            "name": row.full_name, "round": row.round_title,
            "due": reminder.member_due if reminder else None, "meeting": row.meeting,
            "today": local_day(now), "day": local_day(reminder.due_at) if reminder else None,
        }
        if kind is Kind.COLLECTIVE_DUE and row.meeting is not None:
            context["collective"] = self.collective_due(row.meeting)
        elif kind is Kind.DIGEST and row.round_id is not None:
            if row.round_id not in tallies:
                tallies[row.round_id] = await self._tally(row, now)
            context.update(tallies[row.round_id])
        elif kind is Kind.UNREACHABLE:
            context["subject"] = await self.outbox.member_name(row.subject_id or 0)
        return Screen(f"reminders/{kind.value}", context)

    async def _tally(self, row: OutboxRow, now: datetime) -> dict[str, Any]:
        meeting = row.meeting or local_day(now)
        lines = [x for x in await self.outbox.tally(row.round_id or 0)  # 366 Điều 5
                 if reviewed(Recipient(x.member_id, x.done, True, joined_on=x.joined_on,
                                       standing=x.standing), meeting, self.rules).reviewed]
        due = row.reminder.member_due if row.reminder else local_day(now)
        waiting = [x.full_name for x in lines if not x.done]
        return {
            "total": len(lines), "done": sum(x.done for x in lines),
            "late": local_day(now) > due, "waiting": waiting,
            "unlinked": [x.full_name for x in lines if not x.linked],
            "unreachable": [x.full_name for x in lines if x.unreachable and not x.done],
        }


# ------------------------------------------------------------------------------ the loop


PLAN_AT = time(6, 30)  # Vietnam time: re-plan every open round before the day's reminders


class DeliveryLoop:
    """Runs the sender every ``check_seconds``, at once when woken (a notice was queued),
    and re-plans the reminders every morning. Started by whichever channel starts first,
    stopped when the last one stops: one sender per process for every channel."""

    def __init__(
        self,
        sender: Sender,
        outbox: Outbox,
        check_seconds: float,
        replan: Callable[[], Awaitable[int]],
        clock: Callable[[], datetime],
    ) -> None:
        self.sender = sender
        self.outbox = outbox
        self.check_seconds = check_seconds
        self.replan = replan
        self.now = clock
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._users: set[str] = set()  # the channels (or other starters) running
        self._settled = False
        self._plan_first = False  # the loop plans every open round before its first send

    def wake(self) -> None:
        """Something was queued: send it now rather than at the next check."""
        self._wake.set()

    async def start(self, transport: Transport | None = None) -> None:
        """A channel starts (``transport``; None: a starter without one, e.g. a test). The
        first one also settles what a crash left in flight; the loop it starts plans every
        open round first, in the background, so a channel starts as quickly with 100,000
        members as with ten (``bench/bench_startup.py``)."""
        if transport is not None:
            self.sender.add(transport)
        self._users.add(transport.channel if transport is not None else "")
        if not self._settled:
            self._settled = True
            async with self.outbox.transaction():
                settled = await self.outbox.resolve_in_flight(self.now())
            if settled:
                log.warning("%d message(s) were in flight when the bot stopped; counted as sent",
                            settled)
            self._plan_first = True
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="delivery")

    async def stop(self, channel: str | None = None) -> None:
        """A channel stops (stopping twice is harmless); the loop ends with the last one."""
        if channel is not None:
            self.sender.remove(channel)
        self._users.discard(channel or "")
        if self._users or self._task is None:
            if channel is not None:  # other channels go on: let this one's sends settle
                await self.sender.drain(channel)
            return
        task, self._task = self._task, None
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            pass

    async def _run(self) -> None:
        next_plan = self._next_plan(self.now())
        while True:
            try:
                if self._plan_first:
                    log.info("reminders planned: %d", await self.replan())
                    self._plan_first = False
                report = await self.sender.run()
                if report.sent or report.dropped or report.failed:
                    log.info("outbox: %d sent, %d dropped, %d failed, %d to retry, %d waiting",
                             report.sent, report.dropped, report.failed, report.retry,
                             report.waiting)
                if self.now() >= next_plan:
                    next_plan = self._next_plan(self.now())
                    log.info("reminders re-planned: %d", await self.replan())
            except asyncio.CancelledError:
                raise
            except Exception:  # the database or a bug: keep the loop alive, try again later
                log.exception("the outbox sender failed; trying again")
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=self.check_seconds)
            except TimeoutError:
                pass
            self._wake.clear()

    @staticmethod
    def _next_plan(now: datetime) -> datetime:
        local = now.astimezone(VIETNAM)
        today = at_local(local.date(), PLAN_AT)
        return today if today > now else at_local(local.date() + timedelta(days=1), PLAN_AT)
