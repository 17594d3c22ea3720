"""Part B of the 2025 forms, read from the member's answers: scores, total, level, the yes/no
facts the level conditions need, and the annex of task results.

The total is always computed here from the two group scores; there is no question for it.
Core module: no channel, no storage.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from bot.checklist import NO, NOT_APPLICABLE, YES
from bot.flow import Step, is_answered
from bot.models import Answer

# Section III's answers to a carried-over shortcoming (templates/labels.toml, [dynamic]).
CARRYOVER_FIXED = "fixed"


@dataclass(frozen=True)
class TaskRow:
    """One complete row of the annex of task results."""

    number: int
    task: str
    result: str
    on_time: bool
    exceeded: bool


@dataclass(frozen=True)
class PartB:
    common: int | None
    common_max: int
    tasks: int | None
    tasks_max: int
    level: str | None
    on_time: str | None  # "yes" | "no" | None (not answered)
    exceeded: str | None
    fixed: str | None  # "yes" | "no" | "na" | None
    annex_wanted: bool
    rows: tuple[TaskRow, ...]  # complete rows only, in order

    @property
    def total(self) -> int | None:
        """The 100-point total: the sum of the two groups, once both are scored."""
        if self.common is None or self.tasks is None:
            return None
        return self.common + self.tasks

    @property
    def total_max(self) -> int:
        return self.common_max + self.tasks_max

    @property
    def counts(self) -> dict[str, int]:
        total = len(self.rows)
        on_time = sum(r.on_time for r in self.rows)
        return {"total": total, "on_time": on_time, "late": total - on_time,
                "exceeded": sum(r.exceeded for r in self.rows)}

    def facts(self) -> dict[str, bool | None]:
        """What the level conditions ask, from the member's yes/no answers or, where they
        did not answer, from the annex counts. None: unknown."""
        counts = self.counts
        with_rows = counts["total"] > 0

        def share_ok(part: int, needed: float, at_least: bool) -> bool | None:
            if not with_rows:
                return None
            share = part / counts["total"]
            return share >= needed if at_least else share <= needed

        all_on_time = _yes_no(self.on_time)
        if all_on_time is None and with_rows:
            all_on_time = counts["late"] == 0
        exceeded = _yes_no(self.exceeded)
        if exceeded is None:
            exceeded = share_ok(counts["exceeded"], 0.3, at_least=True)
        fixed = None if self.fixed is None else self.fixed in (YES, NOT_APPLICABLE)
        late_ok = share_ok(counts["late"], 0.2, at_least=False)
        if late_ok is None and all_on_time is True:
            late_ok = True
        return {"all_on_time": all_on_time, "exceeded_30": exceeded, "fixed_all": fixed,
                "late_max_20": late_ok}


def _yes_no(value: str | None) -> bool | None:
    return True if value == YES else False if value == NO else None


def _value(answers: Mapping[str, Answer], qid: str) -> str | None:
    answer = answers.get(qid)
    return answer.value if is_answered(answer) and answer is not None else None


def _score(answers: Mapping[str, Answer], qid: str) -> int | None:
    value = _value(answers, qid)
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def part_b(steps: list[Step], answers: Mapping[str, Answer]) -> PartB | None:
    """Part B as the member has answered it so far; None for a form without part B."""
    by_role = {s.question.role: s for s in steps
               if s.phase == "form" and s.parent is None and s.question.role}
    if "score_common" not in by_role or "score_tasks" not in by_role:
        return None
    common, tasks = by_role["score_common"].question, by_role["score_tasks"].question

    def chosen(role: str) -> str | None:
        step = by_role.get(role)
        return _value(answers, step.qid) if step is not None else None

    rows: list[TaskRow] = []
    current: dict[str, str | None] = {}
    number = 0
    for step in steps:
        if step.annex_row is None:
            continue
        if step.annex_row != number:
            _add_row(rows, number, current)
            number, current = step.annex_row, {}
        current[step.question.role or ""] = _value(answers, step.qid)
    _add_row(rows, number, current)
    return PartB(
        common=_score(answers, common.id), common_max=common.max or 0,
        tasks=_score(answers, tasks.id), tasks_max=tasks.max or 0,
        level=chosen("level"), on_time=chosen("on_time"), exceeded=chosen("exceeded"),
        fixed=chosen("fixed"), annex_wanted=chosen("annex") == YES, rows=tuple(rows),
    )


def _add_row(rows: list[TaskRow], number: int, fields: Mapping[str, str | None]) -> None:
    task, result = fields.get("task"), fields.get("result")
    on_time, exceeded = fields.get("on_time"), fields.get("exceeded")
    if number and task and result and on_time is not None and exceeded is not None:
        rows.append(TaskRow(number, task, result, on_time == YES, exceeded == YES))


def carryover_not_fixed(steps: list[Step], answers: Mapping[str, Answer]) -> list[str]:
    """Shortcomings carried into section III that the member says are not fixed yet."""
    texts = []
    for step in steps:
        question = step.question
        ids = {o.id for o in question.options}
        if step.phase == "form" and question.feeds == "III" and CARRYOVER_FIXED in ids:
            value = _value(answers, step.qid)
            if value is not None and value != CARRYOVER_FIXED:
                texts.append(question.form_label or question.prompt)
    return texts


def carryover_count(steps: list[Step]) -> int:
    return sum(1 for s in steps if s.phase == "form" and s.question.feeds == "III"
               and CARRYOVER_FIXED in {o.id for o in s.question.options})
