"""Every message a person sends ends up here: ``ReviewService.handle`` routes it.

One ``Incoming`` becomes the screens to show the person, after everything it changed has been
committed, in one transaction: the update is claimed (a repeat changes nothing), the account
is marked as used, the message goes to linking, the secretary's desk or the member's own
review (``bot.link``, ``bot.secretary``, ``bot.walk``, ``bot.submit``), and the menu shown is
remembered so a typed number means what was on the screen (``bot.menus``). Notices for other
people are queued in the same transaction and sent by ``bot.delivery``. Expected refusals
(``bot.errors``) become their screens here.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from collections.abc import Awaitable, Callable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import Enum

from bot import menus
from bot.checklist import Pack
from bot.committee_desk import CommitteeDesk, CommitteeSettings
from bot.delivery import Notice, NoticeQueue
from bot.errors import Inactive, NotLinked, Refusal
from bot.invites import LENGTH, normalise_code
from bot.link import Linker, LinkSettings
from bot.menus import Menu, OutOfRange
from bot.models import Member, Round, Who, is_officer
from bot.operations import Operations
from bot.ports import Clock, ServiceStore
from bot.rules import RuleBook
from bot.screens import (
    COMMITTEE_ACTIONS, Action, DeskAction, Incoming, Press, Screen, desk_press,
)
from bot.results import record_results
from bot.secretary import Desk, DeskSettings
from bot.state import SUMMARY_CURSOR, Forms, ReviewState, load_review, state_of
from bot.submit import Submitter, unchanged
from bot.text import ascii_number, clean_text, fold
from bot.views import Views
from bot.walk import Walk
from bot.words import Words

log = logging.getLogger(__name__)

# "liên kết ABCD2345": a code of about the right length. Anything longer is a sentence
# that happens to start with "liên kết", and is an answer, not a failed attempt.
LINK_CODE = re.compile(rf"[A-Z0-9]{{{LENGTH - 2},{LENGTH + 2}}}")
LINK_WORD = "lienket"
# What may be typed after a desk screen without leaving it by accident: going back to one's
# own review, opening its list, the help. Other review words get the desk's hint.
LEAVE_DESK = frozenset({Action.RESUME, Action.SUMMARY, Action.HELP, Action.LINK})
# A reply that used the account's last seen mark less than this ago does not write it again.
SEEN_EVERY = timedelta(minutes=10)


class Route(Enum):
    DESK = "desk"
    REVIEW = "review"
    OTHER = "other"


@dataclass(frozen=True)
class ReviewSettings:
    link_attempts: int = 5
    link_window: timedelta = timedelta(hours=1)
    max_answer_chars: int = 50_000
    # When the collective draft must reach participants (counted in working days), if known.
    collective_due: Callable[[Round], date | None] = lambda round_: None
    desk: DeskSettings = dataclasses.field(default_factory=DeskSettings)
    committee: CommitteeSettings = dataclasses.field(default_factory=CommitteeSettings)


class ReviewService:
    def __init__(
        self,
        store: ServiceStore,
        clock: Clock,
        forms: Forms,
        words: Words,
        settings: ReviewSettings,
        *,
        operations: Operations,
        on_linked: Callable[[Member], Awaitable[object]] | None = None,
        on_notice: Callable[[], None] | None = None,
    ) -> None:
        self.store = store
        self.clock = clock
        self.forms = forms
        self.words = words
        self.settings = settings
        self.on_linked = on_linked  # e.g. plan the reminders of someone who just joined
        self.on_notice = on_notice  # e.g. wake the outbox sender
        self.views = Views(forms, words, settings.collective_due)
        notices = _Notices(store)
        self.submitter = Submitter(store, notices, forms, words, self.views, clock)
        self.walk = Walk(store, forms, words, self.views, clock, self.submitter,
                         settings.max_answer_chars)
        self.desk = Desk(store, notices, clock, forms, words, settings.desk, operations)
        self.committee = CommitteeDesk(store, notices, clock, forms, words, settings.committee)
        self.linker = Linker(store, clock, self.views,
                             LinkSettings(settings.link_attempts, settings.link_window),
                             self.load)

    # Kept for callers that name packs and rules through the service (wiring, tests).
    @property
    def checklist(self) -> Pack:
        return self.forms.checklist

    @property
    def rules(self) -> RuleBook | None:
        return self.forms.rules

    async def record_results(self, round_id: int | None = None) -> int:
        """Record the level and score of earlier submissions that lack them (once)."""
        async with self.store.transaction():
            return await record_results(self.store, self.forms, self.words, round_id)

    async def load(self, member: Member) -> ReviewState:
        return await load_review(self.store, self.forms, self.words, member, self.clock.now())

    # ----------------------------------------------------------------- entry point

    async def handle(self, incoming: Incoming) -> list[Screen]:
        """Apply one message or button press and return what to show, after committing."""
        if not incoming.private:
            return [Screen("common/group_only")]
        incoming = await self._prepare(incoming)
        now = self.clock.now()
        became_reachable = False
        _QUEUED.set(False)
        async with self.store.transaction():
            # one update of theirs at a time, across channels and workers
            await self.store.hold_member(incoming.channel, incoming.external_id)
            who = await self.store.who(incoming.channel, incoming.external_id)
            if who is not None:
                became_reachable = who.unreachable
                await self._seen(who)
            if incoming.event_key and not await self.store.claim_event(incoming.event_key, now):
                screens = await self._refused_or(self._repeat(incoming))
                await self._remember(who, Route.OTHER, screens)
                return screens
            route, screens = await self._dispatch(incoming, who)
            await self._remember(who, route, screens)
        if screens and screens[0].template == "link/ok":
            await self._after_commit(incoming, "linked")
        elif became_reachable:  # they had blocked the bot: remind them again from now on
            await self._after_commit(incoming, "reachable again")
        if _QUEUED.get() and self.on_notice is not None:
            self.on_notice()
        return screens

    async def seen(self, incoming: Incoming) -> None:
        """An account was used for something its adapter answers alone (a new download link):
        notices follow it as they follow any message, and a blocked account is reachable
        again."""
        async with self.store.transaction():
            who = await self.store.who(incoming.channel, incoming.external_id)
            if who is None:
                return
            became_reachable = who.unreachable
            await self._seen(who)
        if became_reachable:
            await self._after_commit(incoming, "reachable again")

    async def _seen(self, who: Who) -> None:
        """Mark the account as the one used last (notices follow it), at most every few
        minutes unless another of the member's accounts was used since."""
        seen, now = who.last_seen_at, self.clock.now()
        fresh = seen is not None and now - seen < SEEN_EVERY and (
            who.latest_seen is None or seen >= who.latest_seen)
        if not fresh or who.unreachable:
            await self.store.seen(who.account.channel, who.account.external_id, now)

    async def _after_commit(self, incoming: Incoming, why: str) -> None:
        """Right after a new link commits, or a blocked account writes again: plan the
        reminders of that person (their cell's open round only). A failure is logged,
        never shown: the daily re-plan catches up."""
        member = await self.store.member_by_account(incoming.channel, incoming.external_id)
        if member is None or self.on_linked is None:
            return
        try:
            await self.on_linked(member)
        except Exception:  # the change itself has succeeded and is committed
            log.exception("planning reminders failed (%s)", why)

    async def reply_lost(self, incoming: Incoming) -> None:
        """The channel could not deliver the reply to ``incoming``: whatever was stored stays
        stored, and the person's next message is met with where they stand."""
        async with self.store.transaction():
            who = await self.store.who(incoming.channel, incoming.external_id)
            if who is None:
                return
            if who.menu is not None:  # a desk screen never seen: numbers mean nothing now
                await self.store.set_menu(incoming.channel, incoming.external_id,
                                          menus.dump(Menu()))
            _, review = await self.store.open_round_with_review(who.member.cell_id,
                                                                who.member.id)
            if review is not None:
                await self.store.mark_reply_lost(review.id)

    async def delivered(self, receipt: str) -> None:
        """Every part of a screen carrying ``receipt`` reached the person."""
        kind, _, key = receipt.partition(":")
        if kind == "handover" and key.isdigit():  # the secretary has the invite codes now
            async with self.store.transaction():
                await self.store.forget_handover(int(key), self.clock.now())

    async def long_work(self, incoming: Incoming) -> DeskAction | None:
        """The long job this message starts (the bundle, the committee's view), if it starts
        one the person may run: the channel shows progress meanwhile. A read."""
        press = incoming.press or (self.parse(incoming.text) if incoming.text else None)
        if press is None or press.desk not in (DeskAction.BUNDLE, DeskAction.COMMITTEE):
            return None
        member = await self.store.member_by_account(incoming.channel, incoming.external_id)
        if member is None or not member.active:
            return None
        if press.desk is DeskAction.BUNDLE:
            return press.desk if is_officer(member) else None
        actor = await self.committee.actor(member)
        return press.desk if actor.committee_officer else None

    async def _prepare(self, incoming: Incoming) -> Incoming:
        """Before the transaction: render a member's draft when they submit, and read an
        officer's roster file. Both are the slow part (Word, a hostile file), and other
        members' answers must not wait for them."""
        await self._prerender(incoming)
        press = incoming.press
        confirming = press is not None and press.desk is DeskAction.ROSTER_OK
        typed = incoming.text is not None and fold(incoming.text) in self.words.desk_keywords.get(
            DeskAction.ROSTER_OK, ())
        if incoming.document is None and not confirming and not typed:
            return incoming
        member = await self.store.member_by_account(incoming.channel, incoming.external_id)
        if member is None or not is_officer(member):
            return incoming
        if press is None and incoming.document is None:  # typed: which upload, if any?
            who = await self.store.who(incoming.channel, incoming.external_id)
            menu = menus.load(who.menu if who is not None else None) or Menu()
            found = menus.resolve(menu, incoming.text or "", self.words)
            if not isinstance(found, Press) or found.desk is not DeskAction.ROSTER_OK:
                return incoming
            press = found
        preview = await self.desk.preview(member, incoming.document,
                                          press.target if press is not None else None)
        return dataclasses.replace(incoming, roster=preview)

    async def _remember(self, who: Who | None, route: Route, screens: list[Screen]) -> None:
        """What the person now sees: the review question or list (``reviews.shown_qid``),
        and the account's menu for typed numbers and keywords."""
        shown = next((s for s in reversed(screens)
                      if s.template in ("review/question", "review/summary")), None)
        if shown is not None:
            await self.store.set_shown(shown.context["review_id"],
                                       shown.context.get("qid") or SUMMARY_CURSOR)
        if who is None:
            return
        menu: str | None = who.menu
        if route is Route.DESK:
            # A desk reply with choices is the new menu; one without (an acknowledgement, a
            # document) leaves the last menu shown in force, still on the person's screen.
            menu = menus.dump(menus.desk_menu(screens, menus.load(who.menu)))
        elif menus.shows_review(screens) or not is_officer(who.member):
            menu = None
        if menu != who.menu:
            await self.store.set_menu(who.account.channel, who.account.external_id, menu)

    async def _refused_or(self, screens: Awaitable[list[Screen]]) -> list[Screen]:
        try:
            return await screens
        except Refusal as refusal:
            return [refusal.screen()]

    # ----------------------------------------------------------------- parsing

    def parse(self, text: str) -> Press | None:
        """A command ("/quaylai"), «liên kết CODE», or a whole-message keyword ("quay lại")."""
        stripped = clean_text(text)
        if stripped.startswith("/"):
            name, _, rest = stripped[1:].partition(" ")
            press = self.words.commands.get(name.lower(), Press(Action.UNKNOWN))
            number = ascii_number(rest.strip()) if rest.strip() else None
            if press.desk is DeskAction.COMMITTEE and number is not None:
                return desk_press(DeskAction.COMMITTEE_CELL, number)  # «/dangbo 12»: cell 12
            return press
        folded = fold(stripped)
        code = normalise_code(folded[len(LINK_WORD):])
        if folded.startswith(LINK_WORD) and LINK_CODE.fullmatch(code):
            return Press(Action.LINK, arg=code)
        keyword = self.words.keywords.get(folded)
        if keyword is Action.NONE:  # «không có» may be the answer itself: keep what was typed
            return Press(Action.NONE, arg=stripped)
        return Press(keyword) if keyword else None

    # ----------------------------------------------------------------- dispatch

    async def _prerender(self, incoming: Incoming) -> None:
        """A member pressing or typing «Nộp»: their draft, rendered from a read of their
        review (the submission, inside the transaction, checks it is still current)."""
        press = incoming.press or (self.parse(incoming.text) if incoming.text else None)
        if press is None or press.action != Action.SUBMIT:
            return
        member = await self.store.member_by_account(incoming.channel, incoming.external_id)
        if member is None or not member.active:
            return
        round_, review = await self.store.open_round_with_review(member.cell_id, member.id)
        if round_ is None or review is None:  # nothing to submit yet; never a write here
            return
        if self.forms.not_reviewed(member, round_) is not None:
            return  # nothing to render: the transaction says why
        state = await state_of(self.store, self.forms, self.words, member, round_, review,
                               await self.store.answers(review.id))
        try:
            await self.submitter.prerender(state)
        except Refusal:  # nothing to render: the transaction says why
            return

    async def _repeat(self, incoming: Incoming) -> list[Screen]:
        """A re-delivered update (its reply may never have gone out): change nothing, show
        where the member stands. A roster import or a submission is shown again in full,
        since what it produced (invite codes, the draft) is what the person was waiting for."""
        press = incoming.press or (self.parse(incoming.text) if incoming.text else None)
        member = await self.linker.member(incoming)
        if press is not None and press.desk is DeskAction.ROSTER_OK:
            return await self.desk.press(member, press, incoming.roster)
        state = await self.load(member)
        if press is not None and press.action == Action.SUBMIT and unchanged(state.review):
            return await self.submitter.again(state)
        return [await self.walk.where(state), *self.views.show(state)]

    async def _dispatch(self, incoming: Incoming, who: Who | None) -> tuple[Route, list[Screen]]:
        try:
            return await self._route(incoming, who)
        except Refusal as refusal:
            return Route.OTHER, [refusal.screen()]

    async def _route(self, incoming: Incoming, who: Who | None) -> tuple[Route, list[Screen]]:
        press, from_button = incoming.press, incoming.from_button
        # Typing is read against the last desk menu shown (a cell's desk, the committee's
        # view, one's own data); any other reply clears it for whoever has no desk.
        menu = menus.load(who.menu) if who is not None else None
        text = incoming.text
        if press is None and text is not None:
            typed = self._typed(text, menu)
            if isinstance(typed, OutOfRange) or (typed is None and menu is not None
                                                 and not await self._desk_prompt(who)):
                return Route.DESK, [self._menu_hint(menu or Menu(), typed)]
            press = typed if isinstance(typed, Press) else None
        if press is not None and press.action == Action.LINK:
            return Route.OTHER, await self.linker.link(incoming, press.arg)
        if press is not None and press.action == Action.UNKNOWN:
            return Route.OTHER, [Screen("common/unknown_command")]
        if press is not None and press.action == Action.HELP:
            return Route.OTHER, [Screen("common/help")]
        member = member_of(who)
        if press is not None and press.action == Action.DESK and (
                press.desk in COMMITTEE_ACTIONS
                or (press.desk is DeskAction.CANCEL and not is_officer(member))):
            screens = await self.committee.press(member, press)
            # Only a reply with choices becomes the menu typed numbers are read against.
            with_menu = any(s.buttons or s.choices for s in screens)
            return (Route.DESK if with_menu or is_officer(member) else Route.OTHER), screens
        if press is not None and press.action == Action.DESK:
            return Route.DESK, await self.desk.press(member, press, incoming.roster)
        if press is not None and press.action == Action.FORGED:
            return Route.REVIEW, [Screen("common/forged"), *self.views.show(
                await self.load(member))]
        if press is None and text is not None and is_officer(member):
            prompt = await self.store.officer_prompt(member.id)
            if prompt is not None:
                return Route.DESK, await self.desk.text(member, prompt.kind, prompt.target_id,
                                                        text)
        if incoming.document is not None and is_officer(member):
            return Route.DESK, await self.desk.upload(member, incoming.document.filename,
                                                      incoming.document.content, incoming.roster)
        state = await self.load(member)
        if incoming.unsupported is not None or incoming.document is not None:
            return Route.REVIEW, [Screen("common/unsupported", {
                "kind": incoming.unsupported or "document", "expects": self.views.expects(state)})]
        if press is not None:
            return Route.REVIEW, await self.walk.press(state, press, from_button)
        typed_text = clean_text(text or "")
        if self.views.off_screen(state):  # typed for a question the member no longer sees
            return Route.REVIEW, [await self.walk.where(state, typed=typed_text),
                                  *self.views.show(state)]
        return Route.REVIEW, await self.walk.text(state, typed_text)

    def _typed(self, text: str, menu: Menu | None) -> Press | OutOfRange | None:
        """What typed text selects: a command or «liên kết CODE» first, then the desk's last
        menu (a number, a keyword), then a review keyword. None: text for the review or for
        the desk's open question. After a desk screen, review keywords other than going back
        to one's own review are not applied (``LEAVE_DESK``)."""
        parsed = self.parse(text)
        if parsed is not None and (clean_text(text).startswith("/")
                                   or parsed.action == Action.LINK):
            return parsed
        if menu is not None:
            found = menus.resolve(menu, text, self.words)
            if found is not None:
                return found
            if parsed is not None and parsed.action not in LEAVE_DESK:
                return None  # not applied to the review: the desk's hint (see _route)
        return parsed

    async def _desk_prompt(self, who: Who | None) -> bool:
        """Whether the officer's desk is waiting for typed text (a comment, a point…)."""
        if who is None or not is_officer(who.member):
            return False
        return await self.store.officer_prompt(who.member.id) is not None

    def _menu_hint(self, menu: Menu, typed: OutOfRange | None) -> Screen:
        """What can be typed on the desk's last screen: its numbers and its words."""
        words = [self.words.desk_words[p.desk] for p in menu.presses
                 if p.desk is not None and p not in menu.choices and p.desk in self.words.desk_words]
        return Screen("secretary/menu_hint", {
            "count": len(menu.choices), "out_of_range": typed is not None,
            "words": list(dict.fromkeys(words)),
        })


def member_of(who: Who | None) -> Member:
    """The member behind the account that wrote; ``NotLinked``/``Inactive`` otherwise."""
    if who is None:
        raise NotLinked()
    if not who.member.active:
        raise Inactive()
    return who.member


# Set while one message is handled: whether it queued a notice (the sender is then woken
# right after the commit instead of at its next check).
_QUEUED: ContextVar[bool] = ContextVar("tusoi_notice_queued", default=False)


class _Notices:
    """The store's notice queue, noting that something was queued."""

    def __init__(self, queue: NoticeQueue) -> None:
        self.queue = queue

    async def enqueue(self, notices: Sequence[Notice], now: datetime) -> None:
        await self.queue.enqueue(notices, now)
        if notices:
            _QUEUED.set(True)
