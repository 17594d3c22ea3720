"""Consistency checks on the member's self-classification (domain.md §5).

tusoi only *warns*: the chi bộ proposes a level and the đảng ủy cơ sở decides it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from bot.flow import Step
from bot.models import Answer

LEVELS = ("htxs", "htt", "ht", "kht")


def band_for_score(score: int) -> str:
    """The level a 100-point score falls in (Quy định 366-QĐ/TW, Điều 11)."""
    if score >= 90:
        return "htxs"
    if score >= 70:
        return "htt"
    if score >= 50:
        return "ht"
    return "kht"


@dataclass(frozen=True)
class Warning:
    kind: str
    context: dict[str, Any] = field(default_factory=dict)


def _party_level(steps: list[Step]) -> Step | None:
    """The form question whose options are the four levels (the party-member rating)."""
    for step in steps:
        ids = {o.id for o in step.question.options}
        if step.phase == "form" and ids == set(LEVELS):
            return step
    return None


def check(steps: list[Step], answers: Mapping[str, Answer]) -> list[Warning]:
    """Warnings about the chosen level given the admitted manifestations and the score."""
    level_step = _party_level(steps)
    if level_step is None:
        return []
    chosen = answers.get(level_step.qid)
    if chosen is None or chosen.value not in LEVELS:
        return []
    labels = {o.id: o.label for o in level_step.question.options}
    warnings: list[Warning] = []

    severe = [
        s.question.number or s.qid
        for s in steps
        if s.phase == "checklist" and s.parent is None
        for o in s.question.options
        if o.severe and answers.get(s.qid) is not None and answers[s.qid].value == o.id
    ]
    if severe and chosen.value in ("htxs", "htt"):
        warnings.append(
            Warning("severe_high_level", {"items": severe, "level": labels[chosen.value]})
        )

    for step in steps:
        answer = answers.get(step.qid)
        if step.question.kind == "score" and answer is not None and answer.value:
            band = band_for_score(int(answer.value))
            if band != chosen.value:
                warnings.append(
                    Warning(
                        "score_band",
                        {"score": int(answer.value), "band": labels[band],
                         "level": labels[chosen.value]},
                    )
                )
    return warnings
