"""Sending the planned reminders on Telegram: the core decides what and when, this decides how.

A JobQueue job with a fixed name wakes every ``reminders.check_seconds``, loads the due rows,
asks ``bot.reminders.decide`` about each, and sends ``reminders.in_flight`` messages at a time
through the Application's bot (so through AIORateLimiter, which also honours 429 retry_after).
Each window is marked ``sending`` and committed before the HTTP calls and ``sent`` after:
a reminder is never sent twice; one in flight when the process dies is counted as sent.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any

from telegram import Bot, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError, TimedOut
from telegram.ext import Application, ContextTypes

from bot.reminders import VIETNAM, Kind, Verdict, collective_due, decide, local_day, quiet_until
from bot.reminders import Recipient, reviewed, unreachable_notice
from handlers.wiring import Core
from storage.reminders import DueRow, ReminderStore

log = logging.getLogger(__name__)

SEND_JOB = "reminders:send"
PLAN_JOB = "reminders:plan"
PLAN_AT = time(6, 30, tzinfo=VIETNAM)  # before the first reminders of the day


@dataclass
class SendReport:
    sent: int = 0
    dropped: int = 0
    waiting: int = 0
    failed: int = 0
    retry: int = 0
    notes: list[str] = field(default_factory=list)


class ReminderSender:
    """Sends what is due, one window at a time. Used by the job and by the benchmark."""

    def __init__(self, core: Core, bot: Bot, batch: int = 500) -> None:
        self.core, self.bot = core, bot
        self.store: ReminderStore = core.reminders
        self.config = core.settings.reminders
        self.settings = core.reminder_settings
        self.batch = max(batch, self.config.in_flight)
        self._busy = asyncio.Lock()

    async def run(self) -> SendReport:
        """Send everything due now; return what happened. A second call while one runs
        returns at once (the running one will see the new rows)."""
        report = SendReport()
        if self._busy.locked():
            return report
        async with self._busy:
            while True:
                now = self.core.clock.now()
                if quiet_until(now, self.settings) is not None:
                    break
                rows = await self.store.due(now, self.batch)
                if not rows:
                    break
                await self._handle(rows, now, report)
        return report

    async def _handle(self, rows: list[DueRow], now: datetime, report: SendReport) -> None:
        to_send: list[DueRow] = []
        async with self.core.db.transaction():
            for row in rows:
                decision = decide(row.reminder, now, self.settings)
                if decision.verdict is Verdict.SEND:
                    to_send.append(row)
                elif decision.verdict is Verdict.DROP:
                    await self.store.mark_dropped([row.reminder.id], decision.reason)
                    report.dropped += 1
                else:
                    until = decision.until or now + timedelta(seconds=self.config.check_seconds)
                    await self.store.postpone([row.reminder.id], until, decision.reason)
                    report.waiting += 1
        tallies: dict[int, dict[str, Any]] = {}
        window = self.config.in_flight
        for start in range(0, len(to_send), window):
            chunk = to_send[start:start + window]
            texts = [await self._text(row, now, tallies) for row in chunk]
            async with self.core.db.transaction():
                await self.store.mark_sending([row.reminder.id for row in chunk])
            outcomes = await asyncio.gather(
                *(self._send_one(row, text) for row, text in zip(chunk, texts, strict=True)))
            await self._record(chunk, outcomes, report)

    async def _send_one(self, row: DueRow, text: str) -> BaseException | None:
        if row.chat_id is None:  # an officer whose account is gone: nobody to send to
            return LookupError("no linked chat")
        try:
            await self.bot.send_message(int(row.chat_id), text, parse_mode=ParseMode.HTML)
        except (TelegramError, OSError) as exc:
            return exc
        return None

    async def _record(self, chunk: list[DueRow], outcomes: list[BaseException | None],
                      report: SendReport) -> None:
        now = self.core.clock.now()
        async with self.core.db.transaction():
            for row, error in zip(chunk, outcomes, strict=True):
                rid = row.reminder.id
                if error is None:
                    await self.store.mark_sent([rid], now)
                    report.sent += 1
                elif isinstance(error, Forbidden):
                    await self.store.mark_failed([rid], "blocked")
                    await self._unreachable(row, now)
                    report.failed += 1
                elif isinstance(error, TimedOut):
                    # The request may have reached Telegram: never risk sending it twice.
                    await self.store.mark_sent([rid], now, "timed out; may have arrived")
                    report.sent += 1
                elif isinstance(error, LookupError):
                    await self.store.mark_failed([rid], "no linked chat")
                    report.failed += 1
                elif isinstance(error, BadRequest):
                    await self.store.mark_failed([rid], f"bad request: {error.message}")
                    report.failed += 1
                elif row.attempts + 1 >= self.config.max_attempts:
                    await self.store.mark_failed([rid], f"gave up: {type(error).__name__}")
                    report.failed += 1
                else:
                    # 429 beyond the limiter's retries, 5xx, a dropped connection: Telegram
                    # said it did not take the message, so trying again later is safe.
                    # (AIORateLimiter has already waited out retry_after and tried again.)
                    seconds = self.config.check_seconds * (row.attempts + 1)
                    await self.store.postpone([rid], now + timedelta(seconds=seconds),
                                              f"retry: {type(error).__name__}")
                    report.retry += 1
                if error is not None and not isinstance(error, NetworkError | RetryAfter):
                    log.warning("reminder %s not delivered: %s", rid, type(error).__name__)

    async def _unreachable(self, row: DueRow, now: datetime) -> None:
        """Mark the account unreachable and queue a notice to each officer (once)."""
        if row.chat_id is None:
            return
        member_id = await self.store.mark_unreachable(row.chat_id, now)
        if member_id is None:
            return
        officers = [o for o in await self.store.officers(row.cell_id) if o != member_id]
        await self.store.add_notices(
            [unreachable_notice(row.round_id, o, member_id, now) for o in officers])

    async def _text(self, row: DueRow, now: datetime, tallies: dict[int, dict[str, Any]]) -> str:
        kind = row.reminder.kind
        context: dict[str, Any] = {
            "name": row.full_name, "round": row.round_title, "due": row.reminder.member_due,
            "meeting": row.meeting, "today": local_day(now), "day": local_day(row.reminder.due_at),
        }
        if kind is Kind.COLLECTIVE_DUE:
            context["collective"] = collective_due(self.core.calendar, row.meeting, self.settings)
        elif kind is Kind.DIGEST:
            if row.round_id not in tallies:
                tallies[row.round_id] = await self._tally(row, now)
            context.update(tallies[row.round_id])
        elif kind is Kind.UNREACHABLE:
            subject = await self.core.store.member(row.subject_id or 0)
            context["subject"] = subject.full_name if subject else ""
        return self.core.renderer.render(f"reminders/{kind.value}", context)

    async def _tally(self, row: DueRow, now: datetime) -> dict[str, Any]:
        rules = self.core.service.settings.rules
        lines = [x for x in await self.store.tally(row.round_id)  # 366 Điều 5: not reviewed
                 if reviewed(Recipient(x.member_id, x.done, True, joined_on=x.joined_on,
                                       standing=x.standing), row.meeting, rules).reviewed]
        late = local_day(now) > row.reminder.member_due
        waiting = [x.full_name for x in lines if not x.done]
        return {
            "total": len(lines), "done": sum(x.done for x in lines), "late": late,
            "waiting": waiting, "unlinked": [x.full_name for x in lines if not x.linked],
            "unreachable": [x.full_name for x in lines if x.unreachable and not x.done],
        }


# ------------------------------------------------------------------------------ jobs


async def _send_job(context: ContextTypes.DEFAULT_TYPE) -> None:
    sender: ReminderSender = context.bot_data["reminder_sender"]
    report = await sender.run()
    if report.sent or report.dropped or report.failed:
        log.info("reminders: %d sent, %d dropped, %d failed, %d to retry, %d waiting",
                 report.sent, report.dropped, report.failed, report.retry, report.waiting)


async def _plan_job(context: ContextTypes.DEFAULT_TYPE) -> None:
    core: Core = context.bot_data["core"]
    log.info("reminders re-planned: %d", await core.replan())


async def start(app: Application) -> None:
    """At start-up: settle what a crash left in flight, plan every open round, arm the jobs."""
    core: Core = app.bot_data["core"]
    if not core.settings.reminders.enabled:
        return
    settled = await core.reminders.resolve_in_flight(core.clock.now())
    if settled:
        log.warning("%d reminder(s) were in flight when the bot stopped; counted as sent", settled)
    log.info("reminders planned: %d", await core.replan())
    app.bot_data["reminder_sender"] = ReminderSender(core, app.bot)
    queue = app.job_queue
    if queue is None:
        raise RuntimeError("python-telegram-bot[job-queue] is required for reminders")
    queue.run_repeating(_send_job, interval=core.settings.reminders.check_seconds, first=0,
                        name=SEND_JOB, job_kwargs={"id": SEND_JOB, "replace_existing": True})
    queue.run_daily(_plan_job, time=PLAN_AT, name=PLAN_JOB,
                    job_kwargs={"id": PLAN_JOB, "replace_existing": True})


async def on_any_update(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Someone who had blocked the bot writes again: they can be reminded again."""
    user, chat = update.effective_user, update.effective_chat
    if user is None or chat is None or chat.type != "private":
        return
    core: Core = context.bot_data["core"]
    store = core.reminders
    if not await store.is_unreachable(str(user.id)):  # a read: the usual case costs no write
        return
    async with core.db.transaction():
        await store.clear_unreachable(str(user.id))
    await core.replan()
