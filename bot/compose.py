"""Turning a member's stored answers into the facts a Word draft is rendered from."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot import flow
from bot.checklist import Pack
from bot.flow import Step
from bot.models import Answer, Cell, Member, Round

VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")


@dataclass(frozen=True)
class DraftTexts:
    """Sentences the draft needs that are not the member's own words (templates/labels.toml)."""

    prefill_line: str  # "- Biểu hiện {number}: {text}"
    self_check_none: str  # "{reference}: … không có biểu hiện nào."
    self_check_some: str  # "{reference}: … có {count} biểu hiện:"
    self_check_line: str  # "- Biểu hiện {number} ({level}): {what}"
    nothing_to_report: str  # "Không có."
    filename: str  # "ban-kiem-diem-{year}-{name}-v{version}.docx"


def _answer_text(answer: Answer | None, texts: DraftTexts) -> str:
    if answer is None or answer.skipped or not answer.value:
        return texts.nothing_to_report
    return answer.value


def _self_check(steps: list[Step], answers: Mapping[str, Answer], checklist_ref: str,
                texts: DraftTexts) -> str:
    admitted = [
        s for s in steps
        if s.phase == "checklist" and s.parent is None and flow.admits(s.question, answers.get(s.qid))
    ]
    if not admitted:
        return texts.self_check_none.format(reference=checklist_ref)
    lines = [texts.self_check_some.format(reference=checklist_ref, count=len(admitted))]
    for step in admitted:
        chosen = answers[step.qid].value
        level = next(o.label for o in step.question.options if o.id == chosen)
        what = answers.get(f"{step.qid}.what")
        lines.append(texts.self_check_line.format(
            number=step.question.number or step.qid, level=level,
            what=what.value if what is not None and what.value else "",
        ))
    return "\n".join(lines)


def _levels(steps: list[Step], answers: Mapping[str, Answer]) -> tuple[dict[str, Any], int | None]:
    """The two four-box ratings of section VII and the optional self-score."""
    levels: dict[str, Any] = {"civil": [], "party": [], "civil_applicable": True}
    score: int | None = None
    vii = [s for s in steps if s.phase == "form" and s.question.feeds.startswith("VII")]
    choice_steps = [s for s in vii if s.question.kind == "choice"]
    for key, step in zip(("civil", "party"), choice_steps):
        chosen = answers.get(step.qid)
        value = chosen.value if chosen is not None else None
        boxes = [{"label": o.label, "checked": o.id == value}
                 for o in step.question.options if o.id in ("htxs", "htt", "ht", "kht")]
        levels[key] = boxes
        if key == "civil" and value is not None and value not in ("htxs", "htt", "ht", "kht"):
            levels["civil_applicable"] = False
    for step in vii:
        answer = answers.get(step.qid)
        if step.question.kind == "score" and answer is not None and answer.value:
            score = int(answer.value)
    return levels, score


def build_draft_context(
    *,
    cell: Cell,
    member: Member,
    round_: Round,
    checklist: Pack,
    form: Pack,
    steps: list[Step],
    answers: Mapping[str, Answer],
    texts: DraftTexts,
    now: datetime,
) -> dict[str, Any]:
    """Everything ``templates/docx`` needs to print the member's bản kiểm điểm."""
    if form.form is None:  # load_packs refuses a form pack without its [form] table
        raise ValueError(f"pack {form.id} is not a form pack")
    local = now.astimezone(VIETNAM)
    first = form.sections[0].questions[0].id
    sections: list[dict[str, Any]] = []
    for step in steps:
        if step.phase != "form" or step.question.feeds.startswith("VII"):
            continue
        if not sections or sections[-1]["title"] != step.section_title:
            sections.append({"title": step.section_title, "items": []})
        items = sections[-1]["items"]
        question = step.question
        answer = answers.get(step.qid)
        if question.kind == "choice":  # a carried-over shortcoming: status, then what was done
            chosen = next((o.label for o in question.options
                           if answer is not None and o.id == answer.value), "")
            items.append({"label": question.label_for(member.is_leader) or "", "text": chosen})
            continue
        text = _answer_text(answer, texts)
        if question.id == first:
            text = f"{text}\n{_self_check(steps, answers, checklist.reference or '', texts)}"
        if question.form_label is None and items and question.id.endswith("t"):
            items[-1]["text"] = f"{items[-1]['text']}. {text}" if items[-1]["text"] else text
            continue
        items.append({"label": question.label_for(member.is_leader) or "", "text": text})
    levels, score = _levels(steps, answers)
    meta = form.form
    return {
        "party_committee": cell.party_committee,
        "cell_name": cell.name,
        "place": cell.place,
        "day": f"{local.day:02d}",
        "month": f"{local.month:02d}",
        "year": str(local.year),
        "review_year": str(round_.year),
        "form_code": meta.code_leader if member.is_leader else meta.code_member,
        "subtitle": meta.subtitle_leader if member.is_leader else meta.subtitle_member,
        "full_name": member.full_name,
        "birth_date": member.birth_date or "",
        "party_position": member.party_post or "",
        "government_position": member.gov_post or "",
        "mass_org_position": member.mass_post or "",
        "work_unit": member.work_unit or "",
        "sections": sections,
        "levels": levels,
        "self_score": score,
        "generated_on": local.strftime("%d/%m/%Y"),
    }


def draft_filename(texts: DraftTexts, member: Member, round_: Round, version: int) -> str:
    """An ASCII file name: phones and e-mail clients mangle diacritics in attachments."""
    bare = unicodedata.normalize("NFD", member.full_name).replace("đ", "d").replace("Đ", "D")
    slug = re.sub(r"[^A-Za-z0-9]+", "-", "".join(c for c in bare if not unicodedata.combining(c)))
    return texts.filename.format(year=round_.year, name=slug.strip("-").lower(), version=version)
