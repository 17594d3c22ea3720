"""Consistency checks on the level a member proposes (Quy định 366-QĐ/TW, Điều 11).

tusoi only *warns*, never blocks: the member proposes a level, the chi bộ proposes, and the
competent level decides. Each warning quotes the rule it is about — verbatim only where the
rules data says the wording is verbatim — and names its source.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from bot.checklist import Question
from bot.flow import Step
from bot.models import Answer
from bot.partb import carryover_count, carryover_not_fixed, part_b
from bot.rules import LEVELS, Rules

# Which contradiction to point out after which answer: a yes/no fact against the annex's
# rows (or a row against the fact), and section III against "every shortcoming fixed".
_MISMATCHES = {
    "on_time": ("annex_late",), "exceeded": ("annex_exceeded",),
    "fixed": ("fixed_mismatch", "fixed_na"),
}
# Answers after which the proposed level is checked again (the annex's rows are not: each row
# has five questions, and the yes/no facts that follow are checked anyway).
_LEVEL_ROLES = ("score_common", "score_tasks", "level", "on_time", "exceeded", "fixed")


@dataclass(frozen=True)
class Warning:
    kind: str
    context: dict[str, Any] = field(default_factory=dict)


def level_step(steps: list[Step]) -> Step | None:
    """The form question whose options are the four levels (the party-member rating)."""
    for step in steps:
        ids = {o.id for o in step.question.options}
        if step.phase == "form" and ids == set(LEVELS):
            return step
    return None


def check(
    steps: list[Step],
    answers: Mapping[str, Answer],
    rules: Rules | None,
    category: str,
    trigger: Question | None = None,
) -> list[Warning]:
    """Warnings about the proposed level and the answers it rests on.

    ``trigger`` is the question just answered (None: every warning). Answers that contradict
    each other (a yes/no fact and the annex, "all fixed" and section III) are pointed out once,
    when one side of the pair was just given; the level's own warnings (band, conditions, a
    clear manifestation) whenever part B is answered with a level chosen.
    """
    warnings: list[Warning] = []
    level = level_step(steps)
    chosen = answers.get(level.qid) if level is not None else None
    value = chosen.value if chosen is not None and not chosen.skipped else None
    labels = {o.id: o.label for o in level.question.options} if level is not None else {}
    pb = part_b(steps, answers)

    if pb is not None:
        kinds = (None if trigger is None
                 else _MISMATCHES.get(trigger.role or "", ())
                 or (("fixed_mismatch",) if trigger.feeds == "III" else ()))
        warnings += [w for w in _mismatches(steps, answers, pb) if kinds is None or w.kind in kinds]
    in_annex = trigger is not None and trigger.feeds.startswith("annex.")
    if value not in LEVELS or (trigger is not None and (in_annex or not (
            trigger.role in _LEVEL_ROLES or trigger.feeds.startswith("VII")))):
        return warnings
    who = {"level": labels[value]}

    severe = [
        s.question.number or s.qid
        for s in steps
        if s.phase == "checklist" and s.parent is None
        for o in s.question.options
        if o.severe and answers.get(s.qid) is not None and answers[s.qid].value == o.id
    ]
    if severe and value in ("htxs", "htt"):
        warnings.append(Warning("severe_high_level", {"items": severe, **who}))

    if rules is None or not rules.bands:
        return warnings
    source = rules.bands_origin.source if rules.bands_origin else rules.reference
    if pb is None:  # the 2023 form: an optional score beside the self-classification
        for step in steps:
            answer = answers.get(step.qid)
            if step.question.kind == "score" and answer is not None and answer.value:
                band = rules.band_for(int(answer.value))
                if band is not None and band != value:
                    warnings.append(Warning("score_band", {
                        "score": int(answer.value), "band": labels[band], **who}))
        return warnings

    if pb.total is not None:
        band = rules.band_for(pb.total)
        if band is not None and band != value:
            band_rule, level_rule = rules.band(band), rules.band(value)
            warnings.append(Warning("band", {
                "total": pb.total, "common": pb.common, "tasks": pb.tasks,
                "total_max": pb.total_max, "band": labels[band],
                "band_wording": band_rule.wording if band_rule else "",
                "level_wording": level_rule.wording if level_rule else "",
                "source": source, **who}))
    facts = pb.facts()
    origin = rules.conditions_origin.source if rules.conditions_origin else rules.reference
    for condition in rules.conditions_for(value, category):
        unmet = [f for f in condition.facts if facts.get(f) is False]
        if unmet:
            warnings.append(Warning("condition", {
                "wording": condition.wording, "verbatim": condition.verbatim, "facts": unmet,
                "counts": pb.counts, "source": origin, **who}))
    return warnings


def _mismatches(steps: list[Step], answers: Mapping[str, Answer], pb: Any) -> list[Warning]:
    """The yes/no answers against the annex and against section III."""
    warnings: list[Warning] = []
    counts = pb.counts
    if pb.rows and pb.on_time == "yes" and counts["late"]:
        warnings.append(Warning("annex_late", dict(counts)))
    if pb.rows and pb.exceeded == "yes" and counts["exceeded"] * 10 < counts["total"] * 3:
        warnings.append(Warning("annex_exceeded", dict(counts)))
    not_fixed = carryover_not_fixed(steps, answers)
    if pb.fixed == "yes" and not_fixed:
        warnings.append(Warning("fixed_mismatch", {"items": not_fixed}))
    elif pb.fixed == "na" and carryover_count(steps):
        warnings.append(Warning("fixed_na", {"count": carryover_count(steps)}))
    return warnings
