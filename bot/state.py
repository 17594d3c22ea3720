"""A member's review as it stands, computed from what is stored: used by the walk, the
secretary's desk and the bundle alike (``load_review``, ``steps_for``), so none of them
calls into another's private methods.

``Forms`` knows which pack a member writes in a round (the round's form family, the
member's category) and which rules hold on the round's meeting date.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from bot import flow
from bot.checklist import Option, Pack, PackError, Problem, Question
from bot.errors import NoOpenRound, NotReviewed
from bot.flow import Step
from bot.models import Answer, Category, Member, Review, ReviewItem, Round
from bot.ports import LoadStore, OwnPoints
from bot.rules import REVIEWED, Eligibility, RuleBook, Rules, eligibility
from bot.words import Words

SUMMARY_CURSOR = "#sum"
# "#pause:<cursor before pausing>": while paused, a typed answer is not applied to a question
# the member no longer sees; the next message shows it again.
PAUSE_CURSOR = "#pause:"


class Forms:
    """The packs of every selectable form family, by family and category."""

    def __init__(self, checklist: Pack, form: Pack, other_forms: Sequence[Pack] = (), *,
                 rules: RuleBook | None = None, draft_template: Path = Path(),
                 data_root: Path = Path()) -> None:
        self.checklist = checklist
        self.form = form  # a pack of the default family; a round may name another family
        self.by_id = {p.id: p for p in (form, *other_forms)}
        self.rules = rules
        self.draft_template = draft_template  # for a form pack whose [form] names no template
        self.data_root = data_root  # where a form pack's relative template path starts
        # Form family -> the pack each category of member writes (see ``form_for``).
        self.families: dict[str, dict[str, Pack]] = {}
        problems: list[Problem] = []
        where = "review.form, review.other_forms"
        for pack in self.by_id.values():
            by_category = self.families.setdefault(pack.family, {})
            for category in pack.form.categories if pack.form is not None else ():
                if category in by_category:
                    problems.append(Problem(where, pack.family, "family_category_twice", {
                        "family": pack.family, "category": category,
                        "first": by_category[category].id, "second": pack.id}))
                by_category[category] = pack
        for family, by_category in self.families.items():
            missing = [c.value for c in Category if c.value not in by_category]
            if missing:
                problems.append(Problem(where, family, "family_category_missing",
                                        {"family": family, "missing": tuple(missing)}))
        if problems:
            raise PackError(problems)
        self.default_family = form.family

    def family_of(self, round_: Round) -> str:
        """The form family the round was opened with (a pack id names its family)."""
        named = round_.form_id or ""
        if named in self.families:
            return named
        if named in self.by_id:
            return self.by_id[named].family
        return self.default_family

    def form_for(self, round_: Round, member: Member) -> Pack:
        """The pack this member writes in this round: the round's form family, the member's
        category (leader → 2A, no post → 2B, outside the political system → 2C in 2025)."""
        return self.families[self.family_of(round_)][member.category.value]

    def rules_for(self, round_: Round) -> Rules | None:
        """The classification rules in force on the round's meeting date."""
        return self.rules.at(round_.meeting_date) if self.rules is not None else None

    def eligibility(self, member: Member, round_: Round) -> Eligibility:
        """Whether the round reviews this member (366 Điều 5, by the meeting's date)."""
        rules = self.rules_for(round_)
        if rules is None:
            return REVIEWED
        joined = date.fromisoformat(member.joined_on) if member.joined_on else None
        return eligibility(rules, joined_on=joined, standing=member.standing,
                           meeting=round_.meeting_date)

    def not_reviewed(self, member: Member, round_: Round) -> NotReviewed | None:
        """The polite refusal for a member this round does not review, or None."""
        rules = self.rules_for(round_)
        status = self.eligibility(member, round_)
        if rules is None or status.reviewed:
            return None
        rule = rules.eligibility
        return NotReviewed(
            name=member.full_name, round=round_.title, reason=status.reason,
            months=status.months,
            joined_on=date.fromisoformat(member.joined_on) if member.joined_on else None,
            until=status.until, meeting=round_.meeting_date, source=rule.origin.source,
            wording=rule.wording if rule.verbatim else None,
        )

    def template_of(self, form: Pack) -> Path:
        named = form.form.template if form.form is not None else ""
        return self.data_root / named if named else self.draft_template

    def question(self, qid: str) -> Question | None:
        """A question of the checklist or of any form pack."""
        return self.checklist.question(qid) or next(
            (q for f in self.by_id.values() if (q := f.question(qid)) is not None), None)


@dataclass(frozen=True)
class ReviewState:
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


async def replacements(store: OwnPoints, forms: Forms, words: Words, member: Member,
                       round_: Round) -> dict[str, list[Question]]:
    """The member's own questions for sections III, IV and V, if there are any."""
    items = await store.review_items(round_.id, member.id)
    collective = await store.collective_shortcomings(round_.id) if member.is_leader else []
    return own_questions(forms, words, member, round_, items, collective)


def own_questions(forms: Forms, words: Words, member: Member, round_: Round,
                  items: Sequence[ReviewItem],
                  collective: Sequence[ReviewItem]) -> dict[str, list[Question]]:
    """``replacements`` from points already read: the member's own ``items`` and the round's
    ``collective`` shortcomings (used only if the member is a leader)."""
    if not member.is_leader:
        collective = ()
    by_slot = {q.feeds: q for q in forms.form_for(round_, member).questions()}
    dynamic = words.dynamic
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
        options = tuple(Option(k, v) for k, v in words.carryover_options.items())
        questions: list[Question] = []
        for n, item in enumerate(carried, start=1):
            status = text_question("III", f"c{item.id}", f"III.{n}",
                                   dynamic["carryover"].format(text=item.text), item.text)
            questions.append(dataclasses.replace(status, kind="choice", options=options))
            questions.append(text_question("III", f"c{item.id}t", f"III.{n}a",
                                           dynamic["carryover_done"], None))
        result["III"] = questions
    return result


async def steps_for(store: OwnPoints, forms: Forms, words: Words, member: Member,
                    round_: Round, answers: Mapping[str, Answer]) -> list[Step]:
    """The member's questions in this round, as their answers shape them."""
    return steps_from(forms, member, round_, answers,
                      await replacements(store, forms, words, member, round_))


def steps_from(forms: Forms, member: Member, round_: Round, answers: Mapping[str, Answer],
               extra: dict[str, list[Question]]) -> list[Step]:
    """``steps_for`` with the member's own questions already worked out (``own_questions``)."""
    return flow.build_steps(
        forms.checklist, forms.form_for(round_, member), is_leader=member.is_leader,
        answers=answers, replacements=extra)


async def state_of(store: OwnPoints, forms: Forms, words: Words, member: Member, round_: Round,
                   review: Review, answers: Mapping[str, Answer]) -> ReviewState:
    extra = await replacements(store, forms, words, member, round_)
    steps = steps_from(forms, member, round_, answers, extra)
    return ReviewState(member, round_, review, answers, steps, extra, forms.form_for(round_, member))


async def load_review(store: LoadStore, forms: Forms, words: Words, member: Member,
                      now: datetime) -> ReviewState:
    """The member's review in their cell's open round, created (with last round's accepted
    shortcomings carried over) on first use. ``NoOpenRound``/``NotReviewed`` when there is
    nothing for them to write."""
    round_, review = await store.open_round_with_review(member.cell_id, member.id)
    if round_ is None:
        raise NoOpenRound(name=member.full_name)
    refusal = forms.not_reviewed(member, round_)
    if refusal is not None:
        raise refusal
    if review is None:
        review = await store.create_review(round_.id, member.id, now)
        await _carry_over(store, forms, words, member, round_, now)
    return await state_of(store, forms, words, member, round_, review,
                          await store.answers(review.id))


async def reload(store: LoadStore, forms: Forms, words: Words,
                 state: ReviewState) -> ReviewState:
    review = await store.review(state.review.id)
    if review is None:  # it was read in this same transaction
        raise RuntimeError(f"review {state.review.id} vanished inside its transaction")
    return await state_of(store, forms, words, state.member, state.round, review,
                          await store.answers(review.id))


async def _carry_over(store: LoadStore, forms: Forms, words: Words, member: Member,
                      round_: Round, now: datetime) -> None:
    """Last round's accepted shortcomings become this round's section III, one by one."""
    previous = await store.previous_round(member.cell_id, round_.id)
    if previous is None:
        return
    review = await store.review_for(previous.id, member.id)
    if review is None or review.decision != "accepted":
        return
    answers = await store.answers(review.id)
    steps = flow.build_steps(forms.checklist, forms.form_for(previous, member),
                             is_leader=member.is_leader, answers=answers)
    source = next((s for s in steps if s.question.prefill == "shortcomings"), None)
    text = (flow.answer_text(source, steps, answers, words.draft.prefill_line)
            if source else None)
    if not text:
        return
    for line in text.splitlines():
        point = line.strip().lstrip("-•").strip()
        if point:
            await store.add_review_item(round_.id, member.id, "carryover", point, None, now)
