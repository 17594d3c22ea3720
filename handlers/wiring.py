"""The one place where the core meets storage, templates and the clock.

``build_core`` reads and checks everything that can be wrong in a deployment (packs,
templates, calendar, the words of labels.toml) before any channel starts, so a bad file stops
the process with its name and key instead of failing in the middle of a member's review.
Channels then add their transport to ``Core.delivery`` when they start (one outbox sender
per process, for every channel).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import cast

from bot.bundle import load_texts as load_bundle_texts
from bot.checklist import load_packs
from bot.committee_desk import CommitteeSettings
from bot.config import ROOT, Settings
from bot.delivery import DeliveryLoop, Sender, SenderSettings
from bot.models import Member
from bot.operations import OperationSettings, Operations
from bot.ports import Clock
from bot.proposal import load_rules
from bot.report import load_texts as load_committee_texts
from bot.reminders import ReminderSettings, replan
from bot.retention import Retention
from bot.review import ReviewService, ReviewSettings
from bot.secretary import DeskSettings
from bot.state import Forms
from bot.workdays import Convention, WorkCalendar, YearNotCovered
from handlers.render import Renderer
from handlers.roster_reader import read_roster
from handlers.tg.links import TelegramLinks
from storage.engine import Engine, open_engine
from storage.outbox import OutboxStore
from storage.store import SqliteStore

log = logging.getLogger(__name__)


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


@dataclass
class Core:
    settings: Settings
    db: Engine
    store: SqliteStore
    service: ReviewService
    renderer: Renderer
    calendar: WorkCalendar
    clock: Clock
    operations: Operations
    outbox: OutboxStore
    delivery: DeliveryLoop

    async def open(self) -> None:
        """Open the database, apply migrations, forget week-old update ids, wipe roster
        uploads nobody confirmed or cancelled within a week, and forget expired invite codes
        still waiting to be handed over."""
        await self.db.open()
        now = self.clock.now()
        week_ago = now - timedelta(days=7)
        async with self.store.transaction():
            await self.store.forget_events_before(week_ago)
            await self.store.purge_roster_uploads_before(week_ago)
            await self.store.forget_handover(None, now)
            await self.store.forget_web_logins(now - timedelta(days=1))
        # Drafts submitted before the level and score were recorded with them: once.
        recorded = await self.service.record_results()
        if recorded:
            log.info("levels and scores recorded for %d earlier submission(s)", recorded)
        log.info("database ready at %s (schema %d)", self.db.describe(),
                 await self.db.schema_version())

    async def close(self) -> None:
        await self.db.close()

    @property
    def retention(self) -> Retention:
        """A closed round's export and the purge of its answer texts (``bot.retention``)."""
        service = self.service
        return Retention(self.store, self.clock, service.forms, service.words,
                         service.committee.settings.texts, self.settings.retention.days)

    @property
    def reminder_settings(self) -> ReminderSettings:
        return ReminderSettings.from_config(self.settings.reminders, self.settings.calendar)

    async def replan_member(self, member: Member) -> int:
        """Plan the reminders of one member in their cell's open round (someone who has just
        linked an account, or writes again after blocking the bot), without touching anyone
        else's."""
        if not self.settings.reminders.enabled:
            return 0
        round_ = await self.store.open_round(member.cell_id)
        if round_ is None:
            return 0
        async with self.outbox.transaction():
            return await replan(self.outbox, self.calendar, self.reminder_settings, round_.id,
                                self.clock.now(), member_id=member.id,
                                rules=self.service.rules)

    async def replan(self, round_id: int | None = None) -> int:
        """Plan again the reminders of one round (or of every open round) from the stored
        facts; idempotent. Returns how many reminders are planned."""
        if not self.settings.reminders.enabled:
            return 0
        ids = [round_id] if round_id is not None else await self.outbox.open_rounds()
        total = 0
        for rid in ids:
            async with self.outbox.transaction():
                total += await replan(self.outbox, self.calendar, self.reminder_settings, rid,
                                      self.clock.now(), rules=self.service.rules)
        return total


def collective_due(calendar: WorkCalendar, settings: Settings, meeting: date) -> date | None:
    """The last day the collective draft can go out for a meeting on ``meeting``."""
    try:
        return calendar.working_days_before(
            meeting, settings.calendar.collective_lead_days,
            cast(Convention, settings.calendar.convention),
        ).send_by
    except YearNotCovered:
        return None


def build_core(settings: Settings, clock: Clock | None = None, *,
               database: Engine | None = None) -> Core:
    """Everything the channels share. ``database`` replaces the one ``settings`` describes
    (benchmarks compare the engine's options on the same traffic)."""
    clock = clock or SystemClock()
    checklist_path = settings.data_path(settings.review.checklist)
    checklist, form = load_packs(checklist_path, settings.data_path(settings.review.form))
    other_forms = [load_packs(checklist_path, settings.data_path(path))[1]
                   for path in settings.review.other_forms]
    ids = [p.id for p in (form, *other_forms)]
    if len(set(ids)) != len(ids):
        raise ValueError(f"review.other_forms: form pack ids must differ, got {ids}")
    renderer = Renderer()
    template = settings.data_path(settings.review.draft_template)
    if not template.is_file():
        raise FileNotFoundError(f"review.draft_template: no such file: {template}")
    calendar = WorkCalendar.load(
        settings.data_path(settings.calendar.file),
        saturday_is_workday=settings.calendar.saturday_is_workday,
    )
    db = database or open_engine(
        settings.storage.url, sqlite_default=settings.database.path,
        durable=settings.database.durable, pool_size=settings.storage.pool_size)
    store = SqliteStore(db)
    outbox = OutboxStore(db)
    invites = settings.invites
    rules = load_rules()
    forms = Forms(checklist, form, other_forms, rules=rules, draft_template=template,
                  data_root=ROOT)
    for pack in forms.by_id.values():
        if not forms.template_of(pack).is_file():
            raise FileNotFoundError(
                f"form pack {pack.id}: no such Word template: {forms.template_of(pack)}")
    operations = Operations(store, clock, calendar, OperationSettings(
        invite_ttl=timedelta(hours=invites.ttl_hours),
        member_lead=settings.calendar.member_lead_days,
        collective_lead=settings.calendar.collective_lead_days,
        convention=cast(Convention, settings.calendar.convention),
        forms={**{p.family: p.family for p in (form, *other_forms)},
               **{p.id: p.family for p in (form, *other_forms)}},
        default_form=form.family,
        rules=rules,
        round_title=lambda year: renderer.render_text("cli/round_title", {"year": year}).strip(),
        invite_links=[TelegramLinks(settings.telegram.bot_username)],
    ))
    service = ReviewService(
        store, clock, forms, renderer.words,
        ReviewSettings(
            link_attempts=invites.max_failed_attempts,
            link_window=timedelta(minutes=invites.attempt_window_minutes),
            max_answer_chars=settings.review.max_answer_chars,
            collective_due=lambda round_: collective_due(calendar, settings,
                                                          round_.meeting_date),
            desk=DeskSettings(bundle_texts=load_bundle_texts(),
                              # in a child process with a memory and time bound
                              read_roster=read_roster),
            committee=CommitteeSettings(
                texts=load_committee_texts(),
                web_base_url=settings.web.base_url(settings.zalo),
                login_ttl=timedelta(minutes=settings.web.login_minutes)),
        ),
        operations=operations,
    )
    reminders = settings.reminders
    reminder_settings = ReminderSettings.from_config(reminders, settings.calendar)
    sender = Sender(
        outbox, clock.now, reminder_settings,
        SenderSettings(in_flight=reminders.in_flight, check_seconds=reminders.check_seconds,
                       max_attempts=reminders.max_attempts,
                       rate_per_second=reminders.rate_per_second,
                       # Zalo's own pace covers replies and outbox rows alike
                       rates={"zalo": settings.zalo.rate_per_second}),
        collective_due=lambda meeting: collective_due(calendar, settings, meeting),
        rules=rules,
    )
    core = Core(settings, db, store, service, renderer, calendar, clock, operations, outbox,
                DeliveryLoop(sender, outbox, reminders.check_seconds, lambda: core.replan(),
                             clock.now))
    service.on_linked = core.replan_member
    service.on_notice = core.delivery.wake
    return core
