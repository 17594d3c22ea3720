"""Every screen of the member's review, built from a ``ReviewState``: no reads, no writes.

The walk, submission and linking decide *what* happened; these functions say how it looks
(which template, which facts, which buttons and numbered choices).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from bot import classification, flow
from bot.flow import Step
from bot.models import Answer, ReviewStatus, Round, is_officer
from bot.partb import part_b
from bot.rules import Rules
from bot.scores import ScoreProblem
from bot.screens import Action, Button, Press, Screen
from bot.state import SUMMARY_CURSOR, Forms, ReviewState
from bot.words import Words


def review_button(label: str, action: Action, review_id: int = 0, qid: str = "",
                  arg: str = "", text: str | None = None) -> Button:
    return Button(label, Press(action, review_id, qid, arg), text)


class Views:
    def __init__(self, forms: Forms, words: Words,
                 collective_due: Callable[[Round], date | None] = lambda round_: None) -> None:
        self.forms = forms
        self.words = words
        self.collective_due = collective_due

    # ----------------------------------------------------------------- where the member is

    @staticmethod
    def on_screen(state: ReviewState) -> str:
        """What the member should be looking at now: a question id or the review list."""
        step = state.current
        if step is None or state.on_summary:
            return SUMMARY_CURSOR
        return step.qid

    def off_screen(self, state: ReviewState) -> bool:
        """Whether typed text cannot be trusted to answer the current question: the last
        reply never arrived, or the member was last shown something else."""
        review = state.review
        return review.reply_lost or (review.shown_qid is not None
                                     and review.shown_qid != self.on_screen(state))

    def where(self, state: ReviewState, last: Answer | None, typed: str | None = None) -> Screen:
        """«Đã ghi …»: the last thing stored, so nobody retypes what is already saved."""
        review, on_screen = state.review, self.on_screen(state)
        recorded: dict[str, object] | None = None
        if review.pending_text and review.pending_qid == on_screen:
            recorded = {"number": "", "pending": len(review.pending_text), "text": ""}
        elif last is not None:
            step = flow.find_step(state.steps, last.qid)
            shown = self.display(state, step) if step else None
            recorded = {"number": self.label(step, state.member.is_leader) if step else "",
                        "pending": 0, "text": "" if shown is None else shown["text"],
                        "skipped": last.skipped}
        return Screen("review/where_you_stand", {
            "lost": review.reply_lost, "unapplied": typed or "", "recorded": recorded,
            "summary": on_screen == SUMMARY_CURSOR,
        })

    def progress(self, state: ReviewState) -> dict[str, object]:
        return {
            "name": state.member.full_name,
            "round": state.round.title,
            "year": state.round.year,
            "due": state.round.member_due,
            "meeting": state.round.meeting_date,
            "remaining": flow.remaining(state.steps, state.answers),
            "total": len(state.steps),
            "follow_ups": len(self.forms.checklist.follow_ups),
            "submitted_version": state.review.submitted_version,
            "changed_since_submit": state.review.status == ReviewStatus.IN_PROGRESS
            and state.review.submitted_version > 0,
            "decision": state.review.decision,
            "comment": state.review.decision_comment,
            "collective_due": (self.collective_due(state.round)
                               if is_officer(state.member) else None),
        }

    def welcome(self, state: ReviewState) -> list[Screen]:
        return [Screen("review/welcome", self.progress(state))]

    def show(self, state: ReviewState) -> list[Screen]:
        """The screen for wherever the member stands: a question or the review list."""
        step = state.current
        if step is None or state.on_summary:
            return [self.summary(state)]
        return [self.question(state, step)]

    # ----------------------------------------------------------------- a question

    def question(self, state: ReviewState, step: Step) -> Screen:
        q, rid = step.question, state.review.id
        answer = state.answers.get(step.qid)
        pending = state.review.pending_text if state.review.pending_qid == step.qid else None
        prefill = self.prefill(state, step) if q.prefill else ""
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
            "current": self.display(state, step),
            "prefill": prefill,
            "pending_length": len(pending) if pending else 0,
            "kept_prefill": answer is not None and answer.prefilled,
            "role": q.role,
            "guidance": list(q.guidance),
            "guidance_note": q.guidance_note,
            "label_source": q.label_source,
            "annex_row": step.annex_row,
            "section_note": self.section_note(state, step),
            "part_b": self.part_b_facts(state) if q.role else None,
        }
        options = [review_button("option", Action.ANSWER, rid, q.id, o.id, text=o.label)
                   for o in q.options]
        rows: list[tuple[Button, ...]] = [(b,) for b in options]
        if q.kind == "text" and pending:
            rows.append(self.text_buttons(rid, q.id, state.review.pending_warned)[0])
        elif q.kind == "text" and prefill:
            rows.append((review_button("keep_prefill", Action.KEEP, rid, q.id),))
        if q.official is not None:
            rows.append((review_button("official", Action.OFFICIAL, rid, q.id),))
        skip = "skip" if q.required else "none_to_report"
        if answer is not None and state.cursor == q.id:
            skip = "keep_answer"
        rows.append((review_button("back", Action.BACK, rid, q.id),
                     review_button(skip, Action.SKIP, rid, q.id)))
        rows.append((review_button("summary", Action.SUMMARY, rid),
                     review_button("pause", Action.PAUSE, rid)))
        return Screen("review/question", context, buttons=tuple(rows),
                      choices=tuple(b.press for b in options))

    @staticmethod
    def text_buttons(rid: int, qid: str, warned: bool) -> tuple[tuple[Button, ...], ...]:
        done = (review_button("keep_as_is", Action.KEEP, rid, qid) if warned
                else review_button("done", Action.DONE, rid, qid))
        return ((done, review_button("rewrite", Action.CLEAR, rid, qid)),)

    def section_note(self, state: ReviewState, step: Step) -> str | None:
        """The section's note (team text), shown with its first question only."""
        section = state.form.section(step.question.section_id)
        if section is None or not section.note or step.parent is not None:
            return None
        first = next((s for s in state.steps if s.question.section_id == section.id), None)
        return section.note if first is not None and first.qid == step.qid else None

    def part_b_facts(self, state: ReviewState) -> dict[str, object] | None:
        """Part B so far, for the level and yes/no questions: the total and the annex counts."""
        pb = part_b(state.steps, state.answers)
        if pb is None:
            return None
        rules = self.forms.rules_for(state.round)
        band = rules.band_for(pb.total) if rules is not None and pb.total is not None else None
        level = classification.level_step(state.steps)
        labels = {o.id: o.label for o in level.question.options} if level else {}
        return {"total": pb.total, "total_max": pb.total_max, "band": labels.get(band or ""),
                "counts": pb.counts}

    def total(self, state: ReviewState, rules: Rules | None) -> list[Screen]:
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

    # ----------------------------------------------------------------- the review list

    def summary(self, state: ReviewState) -> Screen:
        rows = [
            {"n": n, "label": self.label(step, state.member.is_leader),
             "topic": step.question.prompt if step.phase == "form" else "",
             "answer": self.display(state, step),
             "missing": step.question.required
             and not flow.is_answered(state.answers.get(step.qid))}
            for n, step in enumerate(state.steps, start=1)
        ]
        rid = state.review.id
        context = {**self.progress(state), "rows": rows, "review_id": rid,
                   "missing": sum(1 for r in rows if r["missing"]),
                   "part_b": self.part_b_facts(state)}
        submit = "resubmit" if state.review.submitted_version else "submit"
        buttons = ((review_button(submit, Action.SUBMIT, rid),),
                   (review_button("back", Action.BACK, rid),
                    review_button("pause", Action.PAUSE, rid)))
        return Screen("review/summary", context, buttons=buttons)

    # ----------------------------------------------------------------- small screens

    def official(self, qid: str) -> list[Screen]:
        question = self.forms.question(qid)
        if question is None or question.official is None:
            return [Screen("review/no_official")]
        official = question.official
        return [Screen("review/official", {
            "number": question.number, "text": official.text,
            "partial": official.status == "partial", "single_source": official.single_source,
            "source_url": official.source_url, "retrieved": official.retrieved,
            "reference": self.forms.checklist.reference,
        })]

    @staticmethod
    def hint(step: Step, problem: ScoreProblem | None = None, text: str = "") -> Screen:
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

    @staticmethod
    def expects(state: ReviewState) -> str:
        step = state.current
        if step is None or state.on_summary:
            return "summary"
        return step.question.kind

    def missing(self, state: ReviewState, missing: list[Step]) -> Screen:
        return Screen(
            "review/missing",
            {"items": [self.label(s, state.member.is_leader) for s in missing]},
            buttons=((review_button("resume", Action.RESUME),),),
        )

    # ----------------------------------------------------------------- answers shown

    def prefill(self, state: ReviewState, step: Step) -> str:
        if not step.question.prefill:
            return ""
        return flow.prefill(step.question.prefill, state.steps, state.answers,
                            self.words.draft.prefill_line)

    @staticmethod
    def label(step: Step, leader: bool) -> str:
        return step.question.display_number(leader) or step.qid

    def display(self, state: ReviewState, step: Step) -> dict[str, object] | None:
        question, answer = step.question, state.answers.get(step.qid)
        if answer is None:
            return None
        if answer.skipped:
            return {"skipped": True, "text": ""}
        if question.kind == "choice":
            label = next((o.label for o in question.options if o.id == answer.value), "")
            return {"skipped": False, "text": label}
        text = flow.answer_text(step, state.steps, state.answers, self.words.draft.prefill_line)
        return {"skipped": False, "text": text or ""}

    def facts(self, state: ReviewState, version: int) -> dict[str, Any]:
        """What the member's and the officers' submission messages say."""
        return {"version": version, "name": state.member.full_name,
                "round": state.round.title, "year": state.round.year}
