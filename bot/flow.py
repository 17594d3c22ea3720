"""The question walk as a pure function of the packs, the member and the stored answers.

Nothing here is remembered between messages: every call recomputes the steps from what
is in the database, so a restart, a crash or a repeated update cannot lose the place.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

from bot.checklist import YES, Pack, Question
from bot.models import Answer


@dataclass(frozen=True)
class Step:
    """One question as the member meets it.

    ``parent`` is the checklist item a follow-up belongs to (or the annex question a task
    row belongs to); ``phase`` is "checklist" or "form"; ``position``/``total`` count
    top-level questions within the phase.
    """

    question: Question
    phase: str
    section_title: str
    position: int
    total: int
    parent: Question | None = None
    annex_row: int | None = None  # the task's number, for a question of the task annex

    @property
    def qid(self) -> str:
        return self.question.id


def follow_up_id(item: Question, follow_up: Question) -> str:
    return f"{item.id}.{follow_up.id}"


def admits(question: Question, answer: Answer | None) -> bool:
    """True when the member chose an option that admits a manifestation."""
    if answer is None or answer.value is None:
        return False
    return any(o.id == answer.value and o.admits for o in question.options)


def build_steps(
    checklist: Pack,
    form: Pack,
    *,
    is_leader: bool,
    answers: Mapping[str, Answer],
    replacements: Mapping[str, Sequence[Question]] | None = None,
) -> list[Step]:
    """Every question this member is asked, in order, given what they answered so far.

    ``replacements`` maps a form slot ("III", "IV", "V") to the member's own questions
    for it (one per committee point, carried-over shortcoming or collective shortcoming),
    asked instead of the pack's single general question.
    """
    replacements = replacements or {}
    steps: list[Step] = []
    for pack, phase in ((checklist, "checklist"), (form, "form")):
        tops = [
            (section, sub)
            for section in pack.sections
            for q in section.questions
            if is_leader or not q.leader_only
            for sub in replacements.get(q.feeds) or (q,)
        ]
        for position, (section, q) in enumerate(tops, start=1):
            steps.append(Step(q, phase, section.title, position, len(tops)))
            if q.follow_ups and admits(q, answers.get(q.id)):
                for sub in _follow_ups(pack, q):
                    steps.append(Step(sub, phase, section.title, position, len(tops), parent=q))
            if q.role == "annex" and _chosen(answers, q.id) == YES:
                for row, sub in _annex_rows(pack, q, answers):
                    steps.append(Step(sub, phase, section.title, position, len(tops), parent=q,
                                      annex_row=row))
    return steps


def _chosen(answers: Mapping[str, Answer], qid: str) -> str | None:
    answer = answers.get(qid)
    return answer.value if answer is not None and not answer.skipped else None


def annex_id(entry: Question, row: int, field: Question) -> str:
    """The id of one field of one task row: "b-annex.2.result"."""
    return f"{entry.id}.{row}.{field.id}"


_ANNEX: dict[tuple[int, str, int], tuple[Question, ...]] = {}


def _annex_rows(pack: Pack, entry: Question,
                answers: Mapping[str, Answer]) -> Iterator[tuple[int, Question]]:
    """The task rows the member is filling in: row n+1 only after "more" was answered yes.

    The last allowed row has no "more" question. Changing a "more" to no drops the rows after
    it from the walk (their answers stay stored, as a follow-up's do)."""
    annex = pack.form.annex if pack.form is not None else None
    if annex is None:
        return
    for row in range(1, annex.max_rows + 1):
        key = (id(pack), entry.id, row)
        if key not in _ANNEX:
            _ANNEX[key] = tuple(
                dataclasses.replace(field, id=annex_id(entry, row, field),
                                    section_id=entry.section_id, number=f"PL.{row}{letter}")
                for letter, field in zip("abcdefgh", annex.fields)
                if field.role != "more" or row < annex.max_rows
            )
        yield from ((row, q) for q in _ANNEX[key])
        more = annex.field("more")
        if more is None or _chosen(answers, annex_id(entry, row, more)) != YES:
            return


_FOLLOW_UPS: dict[tuple[int, str], tuple[Question, ...]] = {}


def _follow_ups(pack: Pack, item: Question) -> tuple[Question, ...]:
    """The follow-up questions of one item ("1.2a", "1.2b", …), built once per pack."""
    key = (id(pack), item.id)
    if key not in _FOLLOW_UPS:
        _FOLLOW_UPS[key] = tuple(
            dataclasses.replace(fu, id=follow_up_id(item, fu), section_id=item.section_id,
                                number=f"{item.number or item.id}{letter}")
            for letter, fu in zip("abcdefgh", pack.follow_ups)
        )
    return _FOLLOW_UPS[key]


def is_answered(answer: Answer | None) -> bool:
    return answer is not None and not answer.skipped


def current_step(
    steps: list[Step], answers: Mapping[str, Answer], cursor: str | None
) -> Step | None:
    """Where the member is: the cursor if set, else the first unanswered question.

    Skipped questions come back once everything else is answered. None means the walk is
    complete and the member should see the review screen.
    """
    if cursor is not None:
        for step in steps:
            if step.qid == cursor:
                return step
    for step in steps:
        if step.qid not in answers:
            return step
    for step in steps:
        if not is_answered(answers.get(step.qid)):
            return step
    return None


def previous_step(steps: list[Step], qid: str) -> Step | None:
    for index, step in enumerate(steps):
        if step.qid == qid:
            return steps[index - 1] if index > 0 else None
    return None


def find_step(steps: list[Step], qid: str) -> Step | None:
    return next((s for s in steps if s.qid == qid), None)


def missing_required(steps: list[Step], answers: Mapping[str, Answer]) -> list[Step]:
    return [s for s in steps if s.question.required and not is_answered(answers.get(s.qid))]


def remaining(steps: list[Step], answers: Mapping[str, Answer]) -> int:
    return sum(1 for s in steps if not is_answered(answers.get(s.qid)))


# A remedy is concrete when it names a time: a date, a month, a quarter, a year or a
# recurring period. Vague remedies ("sẽ cố gắng khắc phục") name none.
_TIME = re.compile(
    r"\d{1,2}\s*[/.-]\s*\d{1,2}"
    r"|\b(?:tháng|quý|năm|tuần)\s+(?:\d+|[ivx]+)\b"
    r"|\bhằng\s+(?:ngày|tuần|tháng|quý|năm)\b|\bhàng\s+(?:ngày|tuần|tháng|quý)\b"
    r"|\b(?:cuối|đầu|giữa)\s+(?:tháng|quý|năm)\b"
    r"|\btrước\s+(?:ngày|tết)\b"
    r"|\b20\d\d\b",
    re.IGNORECASE,
)


def is_concrete(text: str) -> bool:
    """True when a remedy names an action of some substance and a time to finish it."""
    return len(text.split()) >= 4 and _TIME.search(text) is not None


def prefill(
    kind: str, steps: list[Step], answers: Mapping[str, Answer], line_format: str
) -> str:
    """Draft text for sections II and VI built from the admitted manifestations.

    Each line names the item by its number and the member's own words; the resolution's
    wording is never put in the member's mouth.
    """
    part = {"shortcomings": "what", "causes": "why", "remedies": "remedy"}[kind]
    lines = []
    for step in steps:
        if step.parent is None or not step.qid.endswith("." + part):
            continue
        answer = answers.get(step.qid)
        if is_answered(answer) and answer is not None and answer.value:
            number = step.parent.number or step.parent.id
            lines.append(line_format.format(number=number, text=answer.value))
    return "\n".join(lines)


def answer_text(step: Step, steps: list[Step], answers: Mapping[str, Answer],
                line_format: str) -> str | None:
    """The text an answer stands for now: a kept pre-fill is composed afresh from the
    follow-up answers as they are, so the draft never carries a stale copy."""
    answer = answers.get(step.qid)
    if answer is None or answer.skipped:
        return None
    if answer.prefilled and step.question.prefill:
        return prefill(step.question.prefill, steps, answers, line_format)
    return answer.value
