"""The member's walk through the questions: choose, type, skip, go back, pause, review.

Every step stores what the member did and returns the screens that follow; what comes next
is recomputed from the stored answers (``bot.flow``), so nothing is kept between messages.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable

from bot import classification, flow
from bot.flow import Step
from bot.models import Answer, ReviewStatus
from bot.ports import Clock, WalkStore
from bot.scores import ScoreProblem, parse_score
from bot.screens import Action, Press, Screen
from bot.state import PAUSE_CURSOR, SUMMARY_CURSOR, Forms, ReviewState, reload
from bot.submit import Submitter
from bot.text import ascii_number, fold
from bot.views import Views
from bot.words import Words

# Typed while paused: these would act on a question the member no longer sees.
_BLIND_WHILE_PAUSED = frozenset({Action.NONE, Action.SKIP, Action.DONE, Action.KEEP,
                                 Action.CLEAR})

Step_ = Callable[[ReviewState, Step, Press, bool], Awaitable[list[Screen]]]


class Walk:
    def __init__(self, store: WalkStore, forms: Forms, words: Words, views: Views,
                 clock: Clock, submitter: Submitter, max_answer_chars: int) -> None:
        self.store = store
        self.forms = forms
        self.words = words
        self.views = views
        self.clock = clock
        self.submitter = submitter
        self.max_answer_chars = max_answer_chars
        # Actions on the question being asked.
        self._on_step: dict[Action, Step_] = {
            Action.ANSWER: lambda s, step, p, b: self._choose(s, step, p.arg, b),
            Action.SKIP: lambda s, step, p, b: self._skip(s, step),
            Action.NONE: lambda s, step, p, b: self._none(s, step, p.arg),
            Action.DONE: lambda s, step, p, b: self._done(s, step),
            Action.KEEP: lambda s, step, p, b: self._finish_text(s, step, keep=True),
            Action.CLEAR: lambda s, step, p, b: self._clear(s, step),
        }

    async def _reload(self, state: ReviewState) -> ReviewState:
        return await reload(self.store, self.forms, self.words, state)

    # ----------------------------------------------------------------- presses

    async def press(self, state: ReviewState, press: Press, from_button: bool) -> list[Screen]:
        """A button, a typed keyword or a command, checked against what the member sees."""
        views = self.views
        if press.review_id and press.review_id != state.review.id:
            other = await self.store.review(press.review_id)
            if other is None or other.member_id != state.member.id:
                return [Screen("common/forged"), *views.show(state)]
            return [Screen("common/stale"), *views.show(state)]
        current = state.current
        if press.qid and press.action != Action.OFFICIAL:
            if flow.find_step(state.steps, press.qid) is None:
                return [Screen("common/forged"), *views.show(state)]
            if current is None or press.qid != current.qid:
                return [Screen("common/stale"), *views.show(state)]

        if press.action == Action.PAUSE:
            if not state.paused:
                await self.store.set_cursor(state.review.id, PAUSE_CURSOR + (state.cursor or ""))
            return [Screen("review/paused", views.progress(state))]
        if state.paused:
            resumed = await self._unpause(state)
            if not from_button and press.action in _BLIND_WHILE_PAUSED:
                # Typed while paused: the member no longer sees the question it would answer.
                return [Screen("review/resumed"), *views.show(resumed)]
            state = resumed
        match press.action:
            case Action.RESUME:
                return await self._resume(state)
            case Action.SUMMARY:
                await self.store.set_cursor(state.review.id, SUMMARY_CURSOR)
                return views.show(await self._reload(state))
            case Action.BACK:
                return await self._back(state)
            case Action.OFFICIAL:
                official = views.official(press.qid or (current.qid if current else ""))
                # Typed: the question scrolled away, so show it again below the text.
                return official if from_button else official + views.show(state)
            case Action.SUBMIT:
                return await self.submitter.submit(state)
        if current is None:
            return views.show(state)
        handler = self._on_step.get(press.action)
        if handler is None:
            return [Screen("common/unknown_command")]
        return await handler(state, current, press, from_button)

    async def _resume(self, state: ReviewState) -> list[Screen]:
        if state.review.reply_lost:
            return [await self.where(state), *self.views.show(state)]
        if state.cursor == SUMMARY_CURSOR:  # /tieptuc leaves the list for the question
            await self.store.set_cursor(state.review.id, None)
            state = await self._reload(state)
        return self.views.welcome(state) + self.views.show(state)

    async def where(self, state: ReviewState, typed: str | None = None) -> Screen:
        return self.views.where(state, await self.store.last_answer(state.review.id), typed)

    async def _choose(self, state: ReviewState, step: Step, option_id: str,
                      from_button: bool) -> list[Screen]:
        option = next((o for o in step.question.options if o.id == option_id), None)
        if option is None:
            return [Screen("common/forged"), *self.views.show(state)]
        fresh = await self._save(state, step, option.id)
        ack = Screen(
            "review/answered",
            {"number": step.question.number, "prompt": step.question.prompt,
             "choice": option.label},
            ack=from_button,
        )
        return [ack, *await self._after_save(fresh, step)]

    async def _done(self, state: ReviewState, step: Step) -> list[Screen]:
        if step.question.kind != "text":  # an empty line on the console
            return [self.views.hint(step), *self.views.show(state)]
        return await self._finish_text(state, step, keep=False)

    async def _clear(self, state: ReviewState, step: Step) -> list[Screen]:
        await self.store.set_pending(state.review.id, None, None, False)
        return self.views.show(await self._reload(state))

    async def _unpause(self, state: ReviewState) -> ReviewState:
        await self.store.set_cursor(state.review.id, state.cursor)
        return await self._reload(state)

    async def _skip(self, state: ReviewState, step: Step) -> list[Screen]:
        views, leader = self.views, state.member.is_leader
        if state.review.pending_qid == step.qid and state.review.pending_text:
            # Moving on from a half-written answer keeps what was written as the answer.
            return await self._finish_text(state, step, keep=True)
        if flow.is_answered(state.answers.get(step.qid)):
            await self.store.set_cursor(state.review.id, None)
            return [Screen("review/kept", {"number": views.label(step, leader)}),
                    *views.show(await self._reload(state))]
        fresh = await self._save(state, step, None, skipped=step.question.required)
        return [Screen("review/skipped", {"number": views.label(step, leader),
                                          "required": step.question.required}),
                *views.show(fresh)]

    async def _none(self, state: ReviewState, step: Step, typed: str) -> list[Screen]:
        """«Không có» typed. For a text question that must be answered (section III, whose
        hint says to write it) it is the answer; for a choice, the one option that begins
        with those words («Không có biểu hiện»); elsewhere, nothing to report, as the
        «Không có nội dung này» button says."""
        question, review = step.question, state.review
        if question.kind == "text" and question.required:
            if review.pending_text and review.pending_qid is not None:
                return await self.text(state, typed)  # a piece of a longer answer
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

    async def _back(self, state: ReviewState) -> list[Screen]:
        current = state.current
        if state.cursor == SUMMARY_CURSOR and current is not None:
            # Back from the list opened mid-walk: to the question the member left.
            await self.store.set_cursor(state.review.id, None)
            return self.views.show(await self._reload(state))
        if state.on_summary:
            target = state.steps[-1] if state.steps else None
        elif current is not None:
            target = flow.previous_step(state.steps, current.qid)
        else:
            target = None
        if target is None:
            return [Screen("review/at_start"), *self.views.show(state)]
        await self.store.set_cursor(state.review.id, target.qid)
        return self.views.show(await self._reload(state))

    # ----------------------------------------------------------------- typed text

    async def text(self, state: ReviewState, text: str) -> list[Screen]:
        views = self.views
        if state.paused:  # not applied: the question is no longer on the member's screen
            return [Screen("review/resumed"), *views.show(await self._unpause(state))]
        if state.on_summary:  # opened, shown after the last question, or after a restart
            return await self._pick_from_summary(state, text)
        step = state.current
        if step is None:
            return views.show(state)
        question = step.question
        number = ascii_number(text)
        if question.kind == "choice":
            if number is not None and 1 <= number <= len(question.options):
                return await self._choose(state, step, question.options[number - 1].id, False)
            typed = next((o for o in question.options if fold(o.label) == fold(text)), None)
            if typed is not None:  # the option's own words, typed instead of pressed
                return await self._choose(state, step, typed.id, False)
            return [views.hint(step), *views.show(state)]
        if question.kind == "score":
            low, high = question.min or 0, question.max or 100
            score = parse_score(text, low, high)
            if isinstance(score, ScoreProblem):
                return [views.hint(step, score, text), *views.show(state)]
            fresh = await self._save(state, step, str(score))
            return [Screen("review/score_saved", {"score": score, "max": high}),
                    *await self._after_save(fresh, step)]
        if not text:
            return [Screen("review/empty_text"), *views.show(state)]
        review = state.review
        other = flow.find_step(state.steps, review.pending_qid or "")
        if other is not None and other.qid != step.qid and review.pending_text:
            # One draft at a time: a half-written answer elsewhere is kept as that answer.
            state = await self._save(state, other, review.pending_text,
                                     vague=not self._concrete(other, review.pending_text))
            review = state.review
        previous = review.pending_text if review.pending_qid == step.qid else None
        combined = f"{previous}\n{text}" if previous else text
        if len(combined) > self.max_answer_chars:
            return [Screen("review/too_long", {"limit": self.max_answer_chars})]
        warned = review.pending_warned if previous else False
        await self.store.set_pending(review.id, step.qid, combined, warned)
        return [Screen(
            "review/text_received",
            {"length": len(combined), "pieces": combined.count("\n") + 1, "preview": combined},
            buttons=views.text_buttons(review.id, step.qid, warned),
        )]

    async def _finish_text(self, state: ReviewState, step: Step, *, keep: bool) -> list[Screen]:
        review, views = state.review, self.views
        pending = review.pending_text if review.pending_qid == step.qid else None
        if pending is None:
            prefilled = views.prefill(state, step)
            if keep and prefilled:
                # Stored as "use the suggestion": the draft composes it from the follow-ups
                # as they stand at submission; ``prefilled`` is only the copy shown now.
                fresh = await self._save(state, step, prefilled, prefilled=True)
                return [Screen("review/prefill_kept",
                               {"number": views.label(step, state.member.is_leader)}),
                        *await self._after_save(fresh, step)]
            return [Screen("review/nothing_written"), *views.show(state)]
        concrete = self._concrete(step, pending)
        if not concrete and not keep and not review.pending_warned:
            await self.store.set_pending(review.id, step.qid, pending, True)
            return [Screen("review/vague", {"hint": step.question.hint},
                           buttons=views.text_buttons(review.id, step.qid, True))]
        fresh = await self._save(state, step, pending, vague=not concrete)
        return [Screen("review/text_saved", {"length": len(pending)}),
                *await self._after_save(fresh, step)]

    @staticmethod
    def _concrete(step: Step, text: str) -> bool:
        return step.question.check != "concrete" or flow.is_concrete(text)

    async def _pick_from_summary(self, state: ReviewState, text: str) -> list[Screen]:
        """A row of the review list, by its position ("12") or its code ("1.2c", "II.2")."""
        number = ascii_number(text)
        leader = state.member.is_leader
        step = None
        if number is not None and 1 <= number <= len(state.steps):
            step = state.steps[number - 1]
        elif number is None:
            code = fold(text).rstrip(".")
            step = next((s for s in state.steps if fold(self.views.label(s, leader)) == code),
                        None)
        if step is None:
            return [Screen("review/summary_hint", {"count": len(state.steps)})]
        await self.store.set_cursor(state.review.id, step.qid)
        return self.views.show(await self._reload(state))

    # ----------------------------------------------------------------- saving

    async def _save(
        self, state: ReviewState, step: Step, value: str | None, *, skipped: bool = False,
        vague: bool = False, prefilled: bool = False,
    ) -> ReviewState:
        """Store the answer and return the state as it now stands, without re-reading it.

        Mirrors ``AnswerWriter.save_answer``: the cursor is cleared, and so is the pending
        text if it belonged to this question; a submitted review is back in progress.
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
        steps = flow.build_steps(self.forms.checklist, state.form,
                                 is_leader=state.member.is_leader, answers=answers,
                                 replacements=state.replacements)
        return ReviewState(state.member, state.round, review, answers, steps,
                           state.replacements, state.form)

    async def _after_save(self, fresh: ReviewState, step: Step) -> list[Screen]:
        screens: list[Screen] = []
        question = step.question
        rules = self.forms.rules_for(fresh.round)
        if question.role in ("score_common", "score_tasks"):
            screens += self.views.total(fresh, rules)
        if (question.feeds.startswith("VII") or question.role or step.annex_row is not None
                or question.feeds == "III"):
            screens += [Screen(f"review/warn_{w.kind}", w.context)
                        for w in classification.check(fresh.steps, fresh.answers, rules,
                                                      fresh.member.category.value, question)]
        return screens + self.views.show(fresh)
