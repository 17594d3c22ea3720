"""The member's self-review: every message a member sends ends up here.

``ReviewService.handle`` turns one ``Incoming`` into the screens to show, after the
answer it carries has been committed. The walk itself is recomputed from the stored
answers each time (see ``bot.flow``), so the service keeps no state between calls.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from bot import classification, flow
from bot.checklist import Option, Pack, PackError, Problem, Question
from bot.compose import DraftTexts, build_draft_context, draft_filename
from bot.draft import render_draft
from bot.flow import Step
from bot.invites import LENGTH, hash_code, normalise_code
from bot.models import Answer, Category, Member, Review, ReviewStatus, Round
from bot.operations import Operations
from bot.ports import Clock, OfficeStore, Redeem
from bot.partb import part_b
from bot.rules import RuleBook, Rules, eligibility
from bot.scores import ScoreProblem, parse_score
from bot.secretary import DESK, Desk, DeskSettings, ReadRoster, is_officer
from bot.screens import (
    ANSWER, BACK, CLEAR, DONE, HELP, KEEP, LINK, NONE, OFFICIAL, PAUSE, RESUME, SKIP, SUBMIT,
    SUMMARY, Button, Document, Incoming, Press, Screen,
)
from bot.text import ascii_number, clean_text, fold

log = logging.getLogger(__name__)

SUMMARY_CURSOR = "#sum"
# "#pause:<cursor before pausing>": while paused, a typed answer is not applied to a question
# the member no longer sees; the next message shows it again.
PAUSE_CURSOR = "#pause:"
# "liên kết ABCD2345": a code of about the right length. Anything longer is a sentence
# that happens to start with "liên kết", and is an answer, not a failed attempt.
LINK_CODE = re.compile(rf"[A-Z0-9]{{{LENGTH - 2},{LENGTH + 2}}}")


@dataclass(frozen=True)
class Texts:
    """Words the core must recognise or write into answers, loaded from templates/."""

    keywords: Mapping[str, str]  # folded keyword -> action
    commands: Mapping[str, str]  # command name without "/" -> action ("s:trk" for the desk)
    draft: DraftTexts
    dynamic: Mapping[str, str]  # prompts for the member's own points in sections III-V
    carryover_options: Mapping[str, str]  # option id -> label for a carried-over shortcoming


@dataclass(frozen=True)
class ReviewSettings:
    draft_template: Path  # for a form pack whose [form] table names no template
    link_attempts: int = 5
    link_window: timedelta = timedelta(hours=1)
    max_answer_chars: int = 50_000
    bundle_texts: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    rules: RuleBook | None = None
    data_root: Path = Path()  # where a form pack's relative template path starts
    # When the collective draft must reach participants (counted in working days), if known.
    collective_due: Callable[[Round], date | None] = lambda round_: None
    read_roster: ReadRoster | None = None  # see DeskSettings.read_roster


@dataclass(frozen=True)
class _State:
    member: Member
    round: Round
    review: Review
    answers: Mapping[str, Answer]
    steps: list[Step]
    replacements: Mapping[str, list[Question]]
    form: Pack

    @property
    def paused(self) -> bool:
        return (self.review.cursor or "").startswith(PAUSE_CURSOR)

    @property
    def cursor(self) -> str | None:
        """The cursor, as it was before a pause: a question id, the list, or None."""
        cursor = self.review.cursor
        if cursor is not None and cursor.startswith(PAUSE_CURSOR):
            cursor = cursor[len(PAUSE_CURSOR):] or None
        return cursor

    @property
    def on_summary(self) -> bool:
        """The member is looking at the review list: opened, or the walk is complete."""
        return self.cursor == SUMMARY_CURSOR or self.current is None

    @property
    def current(self) -> Step | None:
        cursor = None if self.cursor == SUMMARY_CURSOR else self.cursor
        return flow.current_step(self.steps, self.answers, cursor)


class ReviewService:
    def __init__(
        self,
        store: OfficeStore,
        clock: Clock,
        checklist: Pack,
        form: Pack,
        texts: Texts,
        settings: ReviewSettings,
        other_forms: Sequence[Pack] = (),
        *,
        operations: Operations,
        on_linked: Callable[[Member], Awaitable[object]] | None = None,
    ) -> None:
        self.store = store
        self.clock = clock
        self.checklist = checklist
        self.form = form  # a pack of the default family; a round may name another family
        self.forms = {p.id: p for p in (form, *other_forms)}
        # Form family -> the pack each category of member writes (see ``form_for``).
        self.families: dict[str, dict[str, Pack]] = {}
        problems: list[Problem] = []
        where = "review.form, review.other_forms"
        for pack in self.forms.values():
            by_category = self.families.setdefault(pack.family, {})
            for category in pack.form.categories if pack.form is not None else ():
                if category in by_category:
                    problems.append(Problem(where, f"family {pack.family}", (
                        f"packs {by_category[category].id} and {pack.id} are both for "
                        f"{category}; give each category one pack")))
                by_category[category] = pack
        for family, by_category in self.families.items():
            missing = [c.value for c in Category if c.value not in by_category]
            if missing:
                problems.append(Problem(where, f"family {family}", (
                    f"no pack for {', '.join(missing)}: list the family's other packs in "
                    "review.other_forms (e.g. checklists/form-2025-2a.toml and "
                    "checklists/form-2025-2c.toml)")))
        if problems:
            raise PackError(problems)
        self.default_family = form.family
        self.texts = texts
        self.settings = settings
        self.on_linked = on_linked  # e.g. plan the reminders of someone who just joined
        self.desk = Desk(store, clock, checklist, self.form_for,
                         DeskSettings(settings.bundle_texts, settings.rules,
                                      read_roster=settings.read_roster),
                         self._replacements, operations)

    # ----------------------------------------------------------------- entry point

    async def handle(self, incoming: Incoming) -> list[Screen]:
        """Apply one message or button press and return what to show, after committing."""
        if not incoming.private:
            return [Screen("common/group_only")]
        incoming = await self._prepare(incoming)
        now = self.clock.now()
        async with self.store.transaction():
            if incoming.event_key and not await self.store.claim_event(incoming.event_key, now):
                screens = await self._repeat(incoming)
                await self._remember_shown(screens)
                return screens
            screens = await self._dispatch(incoming)
            await self._remember_shown(screens)
        if screens and screens[0].template == "link/ok" and self.on_linked is not None:
            await self._linked(incoming)
        return screens

    async def _linked(self, incoming: Incoming) -> None:
        """Right after a new link commits: plan the reminders of the person who just joined
        (their cell's open round only). A failure is logged, never shown: the daily
        re-plan catches up."""
        member = await self.store.member_by_account(incoming.channel, incoming.external_id)
        if member is None or self.on_linked is None:
            return
        try:
            await self.on_linked(member)
        except Exception:  # the link itself has succeeded and is committed
            log.exception("planning reminders for a newly linked member failed")

    async def reply_lost(self, incoming: Incoming) -> None:
        """The adapter could not deliver the reply to ``incoming``: whatever was stored stays
        stored, and the member's next message is met with where they stand."""
        async with self.store.transaction():
            member = await self.store.member_by_account(incoming.channel, incoming.external_id)
            if member is None:
                return
            _, review = await self.store.open_round_with_review(member.cell_id, member.id)
            if review is not None:
                await self.store.mark_reply_lost(review.id)

    async def delivered(self, receipt: str) -> None:
        """Every part of a screen carrying ``receipt`` reached the person."""
        kind, _, key = receipt.partition(":")
        if kind == "handover" and key.isdigit():  # the secretary has the invite codes now
            async with self.store.transaction():
                await self.store.forget_handover(int(key), self.clock.now())

    async def may_use_desk(self, channel: str, external_id: str) -> bool:
        """Whether this account belongs to an officer (a read: for progress messages)."""
        member = await self.store.member_by_account(channel, external_id)
        return member is not None and is_officer(member)

    async def _prepare(self, incoming: Incoming) -> Incoming:
        """Read an officer's roster file before the transaction: reading a hostile file is
        the slow part, and other members' answers must not wait for it."""
        press = incoming.press
        confirming = press is not None and press.action == DESK and press.qid == "rok"
        if incoming.document is None and not confirming:
            return incoming
        member = await self.store.member_by_account(incoming.channel, incoming.external_id)
        if member is None or not is_officer(member):
            return incoming
        preview = await self.desk.preview(member, incoming.document,
                                          press.review_id if confirming and press else None)
        return dataclasses.replace(incoming, roster=preview)

    async def _remember_shown(self, screens: list[Screen]) -> None:
        shown = next((s for s in reversed(screens) if s.to is None
                      and s.template in ("review/question", "review/summary")), None)
        if shown is not None:
            await self.store.set_shown(shown.context["review_id"],
                                       shown.context.get("qid") or SUMMARY_CURSOR)

    def parse(self, text: str) -> Press | None:
        """Recognise a command ("/quaylai") or a whole-message keyword ("quay lại")."""
        stripped = clean_text(text)
        if stripped.startswith("/"):
            name, _, rest = stripped[1:].partition(" ")
            name = name.split("@", 1)[0].lower()
            if name == "start":
                code = rest.strip()
                return Press(LINK, arg=code) if code else Press(RESUME)
            action, _, sub = self.texts.commands.get(name, "unknown").partition(":")
            return Press(action, qid=sub)
        folded = fold(stripped)
        code = normalise_code(folded[len("lienket"):])
        if folded.startswith("lienket") and LINK_CODE.fullmatch(code):
            return Press(LINK, arg=code)
        keyword = self.texts.keywords.get(folded)
        if keyword == NONE:  # «không có» may be the answer itself: keep what was typed
            return Press(NONE, arg=stripped)
        return Press(keyword) if keyword else None

    # ----------------------------------------------------------------- dispatch

    async def _repeat(self, incoming: Incoming) -> list[Screen]:
        """A re-delivered update (its reply may never have gone out): change nothing, show
        where the member stands. A roster import or a submission is shown again in full,
        since what it produced (invite codes, the draft) is what the person was waiting for."""
        press = incoming.press or (self.parse(incoming.text) if incoming.text else None)
        member = await self._member(incoming)
        if isinstance(member, list):
            return member
        if press is not None and press.action == DESK and press.qid == "rok":
            return await self.desk.press(member, press, incoming.roster)
        state = await self._load(incoming, member)
        if isinstance(state, list):
            return state
        if press is not None and press.action == SUBMIT and self._unchanged(state.review):
            return await self._submitted_again(state, officers=True)
        return [await self._where(state), *self._show(state)]

    async def _dispatch(self, incoming: Incoming) -> list[Screen]:
        press = incoming.press
        if press is None and incoming.text is not None:
            press = self.parse(incoming.text)
        if press is not None and press.action == LINK:
            return await self._link(incoming, press.arg)
        if press is not None and press.action == "unknown":
            return [Screen("common/unknown_command")]
        if press is not None and press.action == HELP:
            return [Screen("common/help")]
        member = await self._member(incoming)
        if isinstance(member, list):
            return member
        if press is not None and press.action == DESK:
            return await self.desk.press(member, press, incoming.roster)
        if press is not None and press.action == "forged":
            forged = await self._load(incoming, member)
            return [Screen("common/forged"), *([] if isinstance(forged, list) else self._show(forged))]
        if press is None and incoming.text is not None and is_officer(member):
            prompt = await self.store.officer_prompt(member.id)
            if prompt is not None:
                return await self.desk.text(member, prompt.kind, prompt.target_id, incoming.text)
        if incoming.document is not None and is_officer(member):
            return await self.desk.upload(member, incoming.document.filename,
                                          incoming.document.content, incoming.roster)
        state = await self._load(incoming, member)
        if isinstance(state, list):
            return state
        if incoming.unsupported is not None or incoming.document is not None:
            return [Screen("common/unsupported", {"kind": incoming.unsupported or "document",
                                                  "expects": self._expects(state)})]
        if press is not None:
            return await self._press(state, press, incoming.from_button)
        text = clean_text(incoming.text or "")
        if self._off_screen(state):  # typed for a question the member no longer sees
            return [await self._where(state, typed=text), *self._show(state)]
        return await self._text(state, text)

    async def _member(self, incoming: Incoming) -> Member | list[Screen]:
        member = await self.store.member_by_account(incoming.channel, incoming.external_id)
        if member is None:
            return [Screen("common/not_linked")]
        if not member.active:
            return [Screen("common/account_inactive")]
        return member

    async def _load(
        self, incoming: Incoming, member: Member | None = None
    ) -> _State | list[Screen]:
        if member is None:
            found = await self._member(incoming)
            if isinstance(found, list):
                return found
            member = found
        round_, review = await self.store.open_round_with_review(member.cell_id, member.id)
        if round_ is None:
            return [Screen("review/no_round", {"name": member.full_name})]
        not_reviewed = self.not_reviewed(member, round_)
        if not_reviewed is not None:
            return [not_reviewed]
        if review is None:
            review = await self.store.create_review(round_.id, member.id, self.clock.now())
            await self._carry_over(member, round_)
        return await self._state(member, round_, review)

    def family_of(self, round_: Round) -> str:
        """The form family the round was opened with (a pack id names its family)."""
        named = round_.form_id or ""
        if named in self.families:
            return named
        if named in self.forms:
            return self.forms[named].family
        return self.default_family

    def form_for(self, round_: Round, member: Member) -> Pack:
        """The pack this member writes in this round: the round's form family, the member's
        category (leader → 2A, no post → 2B, outside the political system → 2C in 2025)."""
        return self.families[self.family_of(round_)][member.category.value]

    def rules_for(self, round_: Round) -> Rules | None:
        """The classification rules in force on the round's meeting date."""
        book = self.settings.rules
        return book.at(round_.meeting_date) if book is not None else None

    def not_reviewed(self, member: Member, round_: Round) -> Screen | None:
        """The polite screen for a member this round does not review (366 Điều 5), or None."""
        rules = self.rules_for(round_)
        if rules is None:
            return None
        joined = date.fromisoformat(member.joined_on) if member.joined_on else None
        status = eligibility(rules, joined_on=joined, standing=member.standing,
                             meeting=round_.meeting_date)
        if status.reviewed:
            return None
        rule = rules.eligibility
        return Screen("review/not_reviewed", {
            "name": member.full_name, "round": round_.title, "reason": status.reason,
            "months": status.months, "joined_on": joined, "until": status.until,
            "meeting": round_.meeting_date, "source": rule.origin.source,
            "wording": rule.wording if rule.verbatim else None,
        })

    def template_of(self, form: Pack) -> Path:
        named = form.form.template if form.form is not None else ""
        return self.settings.data_root / named if named else self.settings.draft_template

    async def _state(self, member: Member, round_: Round, review: Review) -> _State:
        answers = await self.store.answers(review.id)
        replacements = await self._replacements(member, round_)
        form = self.form_for(round_, member)
        steps = flow.build_steps(
            self.checklist, form, is_leader=member.is_leader, answers=answers,
            replacements=replacements,
        )
        return _State(member, round_, review, answers, steps, replacements, form)

    # ----------------------------------------------------------------- own points (III-V)

    async def _carry_over(self, member: Member, round_: Round) -> None:
        """Last round's accepted shortcomings become this round's section III, one by one."""
        previous = await self.store.previous_round(member.cell_id, round_.id)
        if previous is None:
            return
        review = await self.store.review_for(previous.id, member.id)
        if review is None or review.decision != "accepted":
            return
        answers = await self.store.answers(review.id)
        form = self.form_for(previous, member)
        steps = flow.build_steps(self.checklist, form, is_leader=member.is_leader,
                                 answers=answers)
        source = next((s for s in steps if s.question.prefill == "shortcomings"), None)
        text = (flow.answer_text(source, steps, answers, self.texts.draft.prefill_line)
                if source else None)
        if not text:
            return
        for line in text.splitlines():
            text = line.strip().lstrip("-•").strip()
            if text:
                await self.store.add_review_item(round_.id, member.id, "carryover", text, None,
                                                 self.clock.now())

    async def _replacements(self, member: Member, round_: Round) -> dict[str, list[Question]]:
        """The member's own questions for sections III, IV and V, if there are any."""
        by_slot = {q.feeds: q for q in self.form_for(round_, member).questions()}
        items = await self.store.review_items(round_.id, member.id)
        collective = (await self.store.collective_shortcomings(round_.id)
                      if member.is_leader else [])
        dynamic = self.texts.dynamic
        result: dict[str, list[Question]] = {}

        def text_question(slot: str, qid: str, number: str, prompt: str,
                          label: str | None) -> Question:
            return dataclasses.replace(
                by_slot[slot], id=qid, kind="text", prompt=prompt, form_label=label,
                form_label_member=None, number=number, number_member=None, required=True,
                prefill=None, check=None, hint=None, options=(),
            )

        points = [i for i in items if i.kind == "suggestion"]
        if points and "IV" in by_slot:
            result["IV"] = [text_question("IV", f"p{i.id}", f"IV.{n}",
                                          dynamic["point"].format(text=i.text), i.text)
                            for n, i in enumerate(points, start=1)]
        if collective and "V" in by_slot:
            result["V"] = [text_question("V", f"k{i.id}", f"V.{n}",
                                         dynamic["collective"].format(text=i.text), i.text)
                           for n, i in enumerate(collective, start=1)]
        carried = [i for i in items if i.kind == "carryover"]
        if carried and "III" in by_slot:
            options = tuple(Option(k, v) for k, v in self.texts.carryover_options.items())
            questions: list[Question] = []
            for n, item in enumerate(carried, start=1):
                status = text_question("III", f"c{item.id}", f"III.{n}",
                                       dynamic["carryover"].format(text=item.text), item.text)
                questions.append(dataclasses.replace(status, kind="choice", options=options))
                questions.append(text_question("III", f"c{item.id}t", f"III.{n}a",
                                               dynamic["carryover_done"], None))
            result["III"] = questions
        return result

    async def _reload(self, state: _State) -> _State:
        review = await self.store.review(state.review.id)
        if review is None:  # it was read in this same transaction
            raise RuntimeError(f"review {state.review.id} vanished inside its transaction")
        return await self._state(state.member, state.round, review)

    # ----------------------------------------------------------------- presses

    async def _press(self, state: _State, press: Press, from_button: bool) -> list[Screen]:
        if press.review_id and press.review_id != state.review.id:
            other = await self.store.review(press.review_id)
            if other is None or other.member_id != state.member.id:
                return [Screen("common/forged"), *self._show(state)]
            return [Screen("common/stale"), *self._show(state)]
        current = state.current
        if press.qid and press.action != OFFICIAL:
            if flow.find_step(state.steps, press.qid) is None:
                return [Screen("common/forged"), *self._show(state)]
            if current is None or press.qid != current.qid:
                return [Screen("common/stale"), *self._show(state)]

        if press.action == "pause":
            if not state.paused:
                await self.store.set_cursor(state.review.id, PAUSE_CURSOR + (state.cursor or ""))
            return [Screen("review/paused", self._progress(state))]
        if state.paused:
            resumed = await self._unpause(state)
            if not from_button and press.action in (NONE, SKIP, DONE, KEEP, CLEAR):
                # Typed while paused: the member no longer sees the question it would answer.
                return [Screen("review/resumed"), *self._show(resumed)]
            state = resumed
        match press.action:
            case "go":
                if state.review.reply_lost:
                    return [await self._where(state), *self._show(state)]
                if state.cursor == SUMMARY_CURSOR:  # /tieptuc leaves the list for the question
                    await self.store.set_cursor(state.review.id, None)
                    state = await self._reload(state)
                return self._welcome(state) + self._show(state)
            case "sum":
                await self.store.set_cursor(state.review.id, SUMMARY_CURSOR)
                return self._show(await self._reload(state))
            case "back":
                return await self._back(state)
            case "off":
                official = self._official(press.qid or (current.qid if current else ""))
                # Typed: the question scrolled away, so show it again below the text.
                return official if from_button else official + self._show(state)
            case "sub":
                return await self._submit(state)
        if current is None:
            return self._show(state)
        match press.action:
            case "a":
                return await self._choose(state, current, press.arg, from_button)
            case "skip":
                return await self._skip(state, current)
            case "none":
                return await self._none(state, current, press.arg)
            case "done" if current.question.kind != "text":  # an empty line on the console
                return [self._hint(current), *self._show(state)]
            case "done":
                return await self._finish_text(state, current, keep=False)
            case "keep":
                return await self._finish_text(state, current, keep=True)
            case "clr":
                await self.store.set_pending(state.review.id, None, None, False)
                return self._show(await self._reload(state))
        return [Screen("common/unknown_command")]

    async def _choose(
        self, state: _State, step: Step, option_id: str, from_button: bool
    ) -> list[Screen]:
        option = next((o for o in step.question.options if o.id == option_id), None)
        if option is None:
            return [Screen("common/forged"), *self._show(state)]
        fresh = await self._save(state, step, option.id)
        ack = Screen(
            "review/answered",
            {"number": step.question.number, "prompt": step.question.prompt,
             "choice": option.label},
            replaces_pressed=from_button,
        )
        return [ack, *await self._after_save(fresh, step)]

    async def _unpause(self, state: _State) -> _State:
        await self.store.set_cursor(state.review.id, state.cursor)
        return await self._reload(state)

    def _hint(self, step: Step, problem: ScoreProblem | None = None, text: str = "") -> Screen:
        """What a choice or score question accepts, for input it cannot take; for a score,
        why what was typed is not one (``problem``)."""
        question = step.question
        if question.kind == "choice":
            return Screen("review/choose_hint", {"count": len(question.options),
                                                 "options": [o.label for o in question.options],
                                                 "level": question.role == "level"})
        return Screen("review/score_hint", {
            "min": question.min or 0, "max": question.max or 100,
            "optional": not question.required, "problem": problem.code if problem else None,
            "value": problem.value if problem else None, "text": text[:40]})

    async def _skip(self, state: _State, step: Step) -> list[Screen]:
        if state.review.pending_qid == step.qid and state.review.pending_text:
            # Moving on from a half-written answer keeps what was written as the answer.
            return await self._finish_text(state, step, keep=True)
        if flow.is_answered(state.answers.get(step.qid)):
            await self.store.set_cursor(state.review.id, None)
            return [Screen("review/kept", {"number": self._label(step, state.member.is_leader)}),
                    *self._show(await self._reload(state))]
        fresh = await self._save(state, step, None, skipped=step.question.required)
        return [Screen("review/skipped", {"number": self._label(step, state.member.is_leader),
                                          "required": step.question.required}),
                *self._show(fresh)]

    async def _none(self, state: _State, step: Step, typed: str) -> list[Screen]:
        """«Không có» typed. For a text question that must be answered (section III, whose
        hint says to write it) it is the answer; for a choice, the one option that begins
        with those words («Không có biểu hiện»); elsewhere, nothing to report, as the
        «Không có nội dung này» button says."""
        question, review = step.question, state.review
        if question.kind == "text" and question.required:
            if review.pending_text and review.pending_qid is not None:
                return await self._text(state, typed)  # a piece of a longer answer
            written = dataclasses.replace(review, pending_qid=step.qid, pending_text=typed,
                                          pending_warned=False)
            return await self._finish_text(dataclasses.replace(state, review=written), step,
                                           keep=False)
        if question.kind == "choice":
            said = fold(typed)
            matching = [o for o in question.options if fold(o.label).startswith(said)]
            if len(matching) == 1:
                return await self._choose(state, step, matching[0].id, False)
        return await self._skip(state, step)

    async def _back(self, state: _State) -> list[Screen]:
        current = state.current
        if state.cursor == SUMMARY_CURSOR and current is not None:
            # Back from the list opened mid-walk: to the question the member left.
            await self.store.set_cursor(state.review.id, None)
            return self._show(await self._reload(state))
        if state.on_summary:
            target = state.steps[-1] if state.steps else None
        elif current is not None:
            target = flow.previous_step(state.steps, current.qid)
        else:
            target = None
        if target is None:
            return [Screen("review/at_start"), *self._show(state)]
        await self.store.set_cursor(state.review.id, target.qid)
        return self._show(await self._reload(state))

    # ----------------------------------------------------------------- typed text

    async def _text(self, state: _State, text: str) -> list[Screen]:
        if state.paused:  # not applied: the question is no longer on the member's screen
            return [Screen("review/resumed"), *self._show(await self._unpause(state))]
        if state.on_summary:  # opened, shown after the last question, or after a restart
            return await self._pick_from_summary(state, text)
        step = state.current
        if step is None:
            return self._show(state)
        question = step.question
        number = ascii_number(text)
        if question.kind == "choice":
            if number is not None and 1 <= number <= len(question.options):
                return await self._choose(state, step, question.options[number - 1].id, False)
            typed = next((o for o in question.options if fold(o.label) == fold(text)), None)
            if typed is not None:  # the option's own words, typed instead of pressed
                return await self._choose(state, step, typed.id, False)
            return [self._hint(step), *self._show(state)]
        if question.kind == "score":
            low, high = question.min or 0, question.max or 100
            score = parse_score(text, low, high)
            if isinstance(score, ScoreProblem):
                return [self._hint(step, score, text), *self._show(state)]
            fresh = await self._save(state, step, str(score))
            return [Screen("review/score_saved", {"score": score, "max": high}),
                    *await self._after_save(fresh, step)]
        if not text:
            return [Screen("review/empty_text"), *self._show(state)]
        review = state.review
        other = flow.find_step(state.steps, review.pending_qid or "")
        if other is not None and other.qid != step.qid and review.pending_text:
            # One draft at a time: a half-written answer elsewhere is kept as that answer.
            state = await self._save(state, other, review.pending_text,
                                     vague=not self._concrete(other, review.pending_text))
            review = state.review
        previous = review.pending_text if review.pending_qid == step.qid else None
        combined = f"{previous}\n{text}" if previous else text
        if len(combined) > self.settings.max_answer_chars:
            return [Screen("review/too_long", {"limit": self.settings.max_answer_chars})]
        warned = review.pending_warned if previous else False
        await self.store.set_pending(review.id, step.qid, combined, warned)
        return [Screen(
            "review/text_received",
            {"length": len(combined), "pieces": combined.count("\n") + 1, "preview": combined},
            buttons=self._text_buttons(review.id, step.qid, warned),
        )]

    async def _finish_text(self, state: _State, step: Step, *, keep: bool) -> list[Screen]:
        review = state.review
        pending = review.pending_text if review.pending_qid == step.qid else None
        if pending is None:
            prefilled = self._prefill(state, step)
            if keep and prefilled:
                # Stored as "use the suggestion": the draft composes it from the follow-ups
                # as they stand at submission; ``prefilled`` is only the copy shown now.
                fresh = await self._save(state, step, prefilled, prefilled=True)
                return [Screen("review/prefill_kept",
                               {"number": self._label(step, state.member.is_leader)}),
                        *await self._after_save(fresh, step)]
            return [Screen("review/nothing_written"), *self._show(state)]
        concrete = self._concrete(step, pending)
        if not concrete and not keep and not review.pending_warned:
            await self.store.set_pending(review.id, step.qid, pending, True)
            return [Screen(
                "review/vague",
                {"hint": step.question.hint},
                buttons=self._text_buttons(review.id, step.qid, True),
            )]
        fresh = await self._save(state, step, pending, vague=not concrete)
        return [Screen("review/text_saved", {"length": len(pending)}),
                *await self._after_save(fresh, step)]

    @staticmethod
    def _concrete(step: Step, text: str) -> bool:
        return step.question.check != "concrete" or flow.is_concrete(text)

    async def _pick_from_summary(self, state: _State, text: str) -> list[Screen]:
        """A row of the review list, by its position ("12") or its code ("1.2c", "II.2")."""
        number = ascii_number(text)
        leader = state.member.is_leader
        step = None
        if number is not None and 1 <= number <= len(state.steps):
            step = state.steps[number - 1]
        elif number is None:
            code = fold(text).rstrip(".")
            step = next((s for s in state.steps if fold(self._label(s, leader)) == code), None)
        if step is None:
            return [Screen("review/summary_hint", {"count": len(state.steps)})]
        await self.store.set_cursor(state.review.id, step.qid)
        return self._show(await self._reload(state))

    # ----------------------------------------------------------------- saving

    async def _save(
        self, state: _State, step: Step, value: str | None, *, skipped: bool = False,
        vague: bool = False, prefilled: bool = False,
    ) -> _State:
        """Store the answer and return the state as it now stands, without re-reading it.

        Mirrors ``Store.save_answer``: the cursor is cleared, and so is the pending text
        if it belonged to this question; a submitted review is back in progress.
        """
        now = self.clock.now()
        review = state.review
        await self.store.save_answer(review.id, step.qid, value, skipped=skipped, vague=vague,
                                     now=now, prefilled=prefilled)
        status = review.status
        if status == ReviewStatus.SUBMITTED:
            await self.store.mark_in_progress(review.id)
            status = ReviewStatus.IN_PROGRESS
        if review.pending_qid == step.qid:
            review = dataclasses.replace(review, pending_qid=None, pending_text=None,
                                         pending_warned=False)
        review = dataclasses.replace(review, cursor=None, status=status)
        answers = {**state.answers,
                   step.qid: Answer(step.qid, value, skipped, vague, now, prefilled)}
        steps = flow.build_steps(self.checklist, state.form, is_leader=state.member.is_leader,
                                 answers=answers, replacements=state.replacements)
        return _State(state.member, state.round, review, answers, steps, state.replacements,
                      state.form)

    async def _after_save(self, fresh: _State, step: Step) -> list[Screen]:
        screens: list[Screen] = []
        question = step.question
        rules = self.rules_for(fresh.round)
        if question.role in ("score_common", "score_tasks"):
            screens += self._total(fresh, rules)
        if (question.feeds.startswith("VII") or question.role or step.annex_row is not None
                or question.feeds == "III"):
            screens += [Screen(f"review/warn_{w.kind}", w.context)
                        for w in classification.check(fresh.steps, fresh.answers, rules,
                                                      fresh.member.category.value, question)]
        return screens + self._show(fresh)

    def _total(self, state: _State, rules: Rules | None) -> list[Screen]:
        """Part B's total, computed, once both groups are scored, with the band it falls in."""
        pb = part_b(state.steps, state.answers)
        if pb is None or pb.total is None:
            return []
        band = rules.band_for(pb.total) if rules is not None else None
        band_rule = rules.band(band) if rules is not None and band is not None else None
        level = classification.level_step(state.steps)
        labels = {o.id: o.label for o in level.question.options} if level else {}
        return [Screen("review/score_total", {
            "common": pb.common, "common_max": pb.common_max, "tasks": pb.tasks,
            "tasks_max": pb.tasks_max, "total": pb.total, "total_max": pb.total_max,
            "band": labels.get(band or ""), "band_wording": band_rule.wording if band_rule else "",
            "source": rules.bands_origin.source if rules and rules.bands_origin else "",
        })]

    # ----------------------------------------------------------------- submitting

    @staticmethod
    def _unchanged(review: Review) -> bool:
        """Submitted and not changed since (a returned draft may be submitted again as is)."""
        return (review.status == ReviewStatus.SUBMITTED and review.submitted_version > 0
                and review.decision != "returned")

    async def _submitted_again(self, state: _State, *, officers: bool) -> list[Screen]:
        """The last submission, sent again: to the member, and to the officers only when
        their copies may not have gone out (a submission re-handled after a crash)."""
        submission = await self.store.latest_submission(state.review.id)
        if submission is None:
            return self._show(state)
        facts = {"version": submission.version, "name": state.member.full_name,
                 "round": state.round.title, "year": state.round.year}
        document = Document(submission.filename, submission.docx)
        screens = [Screen("review/submitted", facts, document=document)]
        return screens + (await self._to_officers(state, facts, document) if officers else [])

    async def _to_officers(self, state: _State, facts: dict[str, Any],
                           document: Document) -> list[Screen]:
        screens = []
        for officer in await self.store.cell_officers(state.member.cell_id):
            if officer.id == state.member.id:
                continue
            accounts = tuple(await self.store.accounts_of(officer.id))
            if accounts:
                screens.append(Screen("secretary/draft_received", facts,
                                      document=document, to=accounts))
        return screens

    async def _submit(self, state: _State) -> list[Screen]:
        if self._unchanged(state.review):
            # A second tap on «Nộp», or «nộp» typed again with nothing changed: one version.
            # If the first reply never arrived, the member gets their draft now.
            if state.review.reply_lost:
                return await self._submitted_again(state, officers=False)
            return [Screen("review/already_submitted",
                           {"version": state.review.submitted_version}),
                    *self._show(state)]
        missing = flow.missing_required(state.steps, state.answers)
        if missing:
            return [Screen(
                "review/missing",
                {"items": [self._label(s, state.member.is_leader) for s in missing]},
                buttons=((Button("resume", RESUME),),),
            )]
        cell = await self.store.cell(state.member.cell_id)
        if cell is None:  # members.cell_id is a foreign key
            raise RuntimeError(f"member {state.member.id} has no cell")
        now = self.clock.now()
        version = state.review.submitted_version + 1
        context = build_draft_context(
            cell=cell, member=state.member, round_=state.round, checklist=self.checklist,
            form=state.form,
            steps=state.steps, answers=state.answers, texts=self.texts.draft, now=now,
        )
        # Off the event loop: other members' messages keep moving while Word is written.
        docx = await asyncio.to_thread(render_draft, self.template_of(state.form), context)
        filename = draft_filename(self.texts.draft, state.member, state.round, version)
        version = await self.store.add_submission(state.review.id, filename, docx, now)
        document = Document(filename, docx)
        facts = {"version": version, "name": state.member.full_name,
                 "round": state.round.title, "year": state.round.year}
        return [Screen("review/submitted", facts, document=document),
                *await self._to_officers(state, facts, document)]

    # ----------------------------------------------------------------- linking

    async def _link(self, incoming: Incoming, code: str) -> list[Screen]:
        store, now = self.store, self.clock.now()
        existing = await store.account(incoming.channel, incoming.external_id)
        if existing is not None:
            state = await self._load(incoming)
            if isinstance(state, list):
                return state
            return [Screen("link/already", {"name": state.member.full_name}),
                    *self._welcome(state), *self._show(state)]
        since = now - self.settings.link_window
        if await store.failed_link_attempts(incoming.channel, incoming.external_id, since) >= (
            self.settings.link_attempts
        ):
            return [Screen("link/too_many", {"minutes": self.settings.link_window // timedelta(minutes=1)})]
        status, _ = await store.redeem_invite(
            hash_code(code), incoming.channel, incoming.external_id, now
        )
        if status != Redeem.OK:
            await store.record_failed_link(incoming.channel, incoming.external_id, now)
            return [Screen(f"link/{status.value}")]
        state = await self._load(incoming)
        if isinstance(state, list):
            return [Screen("link/ok", {"name": ""}), *state]
        return [Screen("link/ok", {"name": state.member.full_name}),
                *self._welcome(state), *self._show(state)]

    # ----------------------------------------------------------------- showing

    def _on_screen(self, state: _State) -> str:
        """What the member should be looking at now: a question id or the review list."""
        step = state.current
        if step is None or state.on_summary:
            return SUMMARY_CURSOR
        return step.qid

    def _off_screen(self, state: _State) -> bool:
        """Whether typed text cannot be trusted to answer the current question: the last
        reply never arrived, or the member was last shown another question."""
        review = state.review
        return review.reply_lost or (review.shown_qid is not None
                                     and review.shown_qid != self._on_screen(state))

    async def _where(self, state: _State, typed: str | None = None) -> Screen:
        """«Đã ghi …»: the last thing stored, so nobody retypes what is already saved."""
        review, on_screen = state.review, self._on_screen(state)
        recorded: dict[str, object] | None = None
        if review.pending_text and review.pending_qid == on_screen:
            recorded = {"number": "", "pending": len(review.pending_text), "text": ""}
        elif (last := await self.store.last_answer(review.id)) is not None:
            step = flow.find_step(state.steps, last.qid)
            shown = self._display(state, step) if step else None
            recorded = {"number": self._label(step, state.member.is_leader) if step else "",
                        "pending": 0, "text": "" if shown is None else shown["text"],
                        "skipped": last.skipped}
        return Screen("review/where_you_stand", {
            "lost": review.reply_lost, "unapplied": typed or "", "recorded": recorded,
            "summary": on_screen == SUMMARY_CURSOR,
        })

    def _progress(self, state: _State) -> dict[str, object]:
        return {
            "name": state.member.full_name,
            "round": state.round.title,
            "year": state.round.year,
            "due": state.round.member_due,
            "meeting": state.round.meeting_date,
            "remaining": flow.remaining(state.steps, state.answers),
            "total": len(state.steps),
            "follow_ups": len(self.checklist.follow_ups),
            "submitted_version": state.review.submitted_version,
            "changed_since_submit": state.review.status == ReviewStatus.IN_PROGRESS
            and state.review.submitted_version > 0,
            "decision": state.review.decision,
            "comment": state.review.decision_comment,
            "collective_due": (self.settings.collective_due(state.round)
                               if is_officer(state.member) else None),
        }

    def _welcome(self, state: _State) -> list[Screen]:
        return [Screen("review/welcome", self._progress(state))]

    def _show(self, state: _State) -> list[Screen]:
        """The screen for wherever the member stands: a question or the review list."""
        step = state.current
        if step is None or state.on_summary:
            return [self._summary(state)]
        return [self._question(state, step)]

    def _question(self, state: _State, step: Step) -> Screen:
        q, rid = step.question, state.review.id
        answer = state.answers.get(step.qid)
        pending = state.review.pending_text if state.review.pending_qid == step.qid else None
        prefill = self._prefill(state, step) if q.prefill else ""
        context = {
            "review_id": rid,
            "qid": q.id,
            "phase": step.phase,
            "section": step.section_title,
            "position": step.position,
            "total": step.total,
            "number": q.display_number(state.member.is_leader),
            "prompt": q.prompt,
            "hint": q.hint,
            "kind": q.kind,
            "optional": not q.required,
            "min": q.min,
            "max": q.max,
            "parent": step.parent.prompt if step.parent else None,
            "parent_number": step.parent.number if step.parent else None,
            "options": [o.label for o in q.options],
            "has_official": q.official is not None,
            "current": self._display(state, step),
            "prefill": prefill,
            "pending_length": len(pending) if pending else 0,
            "kept_prefill": answer is not None and answer.prefilled,
            "role": q.role,
            "guidance": list(q.guidance),
            "guidance_note": q.guidance_note,
            "label_source": q.label_source,
            "annex_row": step.annex_row,
            "section_note": self._section_note(state, step),
            "part_b": self._part_b_facts(state) if q.role else None,
        }
        rows: list[tuple[Button, ...]] = [
            (Button("option", ANSWER, rid, q.id, o.id, text=o.label),) for o in q.options
        ]
        if q.kind == "text" and pending:
            rows.append(self._text_buttons(rid, q.id, state.review.pending_warned)[0])
        elif q.kind == "text" and prefill:
            rows.append((Button("keep_prefill", KEEP, rid, q.id),))
        if q.official is not None:
            rows.append((Button("official", OFFICIAL, rid, q.id),))
        skip = "skip" if q.required else "none_to_report"
        if answer is not None and state.cursor == q.id:
            skip = "keep_answer"
        rows.append((Button("back", BACK, rid, q.id), Button(skip, SKIP, rid, q.id)))
        rows.append((Button("summary", SUMMARY, rid), Button("pause", PAUSE, rid)))
        return Screen("review/question", context, buttons=tuple(rows))

    def _text_buttons(self, rid: int, qid: str, warned: bool) -> tuple[tuple[Button, ...], ...]:
        done = Button("keep_as_is", KEEP, rid, qid) if warned else Button("done", DONE, rid, qid)
        return ((done, Button("rewrite", CLEAR, rid, qid)),)

    def _section_note(self, state: _State, step: Step) -> str | None:
        """The section's note (team text), shown with its first question only."""
        section = state.form.section(step.question.section_id)
        if section is None or not section.note or step.parent is not None:
            return None
        first = next((s for s in state.steps if s.question.section_id == section.id), None)
        return section.note if first is not None and first.qid == step.qid else None

    def _part_b_facts(self, state: _State) -> dict[str, object] | None:
        """Part B so far, for the level and yes/no questions: the total and the annex counts."""
        pb = part_b(state.steps, state.answers)
        if pb is None:
            return None
        rules = self.rules_for(state.round)
        band = rules.band_for(pb.total) if rules is not None and pb.total is not None else None
        level = classification.level_step(state.steps)
        labels = {o.id: o.label for o in level.question.options} if level else {}
        return {"total": pb.total, "total_max": pb.total_max, "band": labels.get(band or ""),
                "counts": pb.counts}

    def _summary(self, state: _State) -> Screen:
        rows = [
            {"n": n, "label": self._label(step, state.member.is_leader),
             "topic": step.question.prompt if step.phase == "form" else "",
             "answer": self._display(state, step),
             "missing": step.question.required
             and not flow.is_answered(state.answers.get(step.qid))}
            for n, step in enumerate(state.steps, start=1)
        ]
        rid = state.review.id
        context = {**self._progress(state), "rows": rows, "review_id": rid,
                   "missing": sum(1 for r in rows if r["missing"]),
                   "part_b": self._part_b_facts(state)}
        submit = "resubmit" if state.review.submitted_version else "submit"
        buttons = ((Button(submit, SUBMIT, rid),),
                   (Button("back", BACK, rid), Button("pause", PAUSE, rid)))
        return Screen("review/summary", context, buttons=buttons)

    def _official(self, qid: str) -> list[Screen]:
        question = self.checklist.question(qid) or next(
            (q for f in self.forms.values() if (q := f.question(qid)) is not None), None)
        if question is None or question.official is None:
            return [Screen("review/no_official")]
        official = question.official
        return [Screen("review/official", {
            "number": question.number, "text": official.text, "partial": official.status == "partial",
            "single_source": official.single_source, "source_url": official.source_url, "retrieved": official.retrieved,
            "reference": self.checklist.reference,
        })]

    def _expects(self, state: _State) -> str:
        step = state.current
        if step is None or state.on_summary:
            return "summary"
        return step.question.kind

    def _prefill(self, state: _State, step: Step) -> str:
        if not step.question.prefill:
            return ""
        return flow.prefill(step.question.prefill, state.steps, state.answers,
                            self.texts.draft.prefill_line)

    @staticmethod
    def _label(step: Step, leader: bool) -> str:
        return step.question.display_number(leader) or step.qid

    def _display(self, state: _State, step: Step) -> dict[str, object] | None:
        question, answer = step.question, state.answers.get(step.qid)
        if answer is None:
            return None
        if answer.skipped:
            return {"skipped": True, "text": ""}
        if question.kind == "choice":
            label = next((o.label for o in question.options if o.id == answer.value), "")
            return {"skipped": False, "text": label}
        text = flow.answer_text(step, state.steps, state.answers, self.texts.draft.prefill_line)
        return {"skipped": False, "text": text or ""}

