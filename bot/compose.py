"""Turning a member's stored answers into the facts a Word draft is rendered from."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bot import flow
from bot.checklist import LEVEL_IDS, Pack, Question
from bot.flow import Step
from bot.models import Answer, Cell, Member, Round
from bot.partb import PartB, part_b

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
    # "- Biểu hiện {number} ({level})": when its details are printed in section II already.
    self_check_line_bare: str = "- Biểu hiện {number} ({level})"
    self_check_see_below: str = ""  # one line pointing to section II for those details
    label_source: str = "({source})"  # under a form line taken from another document


def _self_check(steps: list[Step], answers: Mapping[str, Answer], checklist_ref: str,
                texts: DraftTexts, elsewhere: str) -> str:
    """The checklist's outcome for section I.1. A manifestation's "what happened" text is left
    out here when section II already prints it (``elsewhere``), so it appears only once."""
    admitted = [
        s for s in steps
        if s.phase == "checklist" and s.parent is None and flow.admits(s.question, answers.get(s.qid))
    ]
    if not admitted:
        return texts.self_check_none.format(reference=checklist_ref)
    lines = [texts.self_check_some.format(reference=checklist_ref, count=len(admitted))]
    pointed = False
    for step in admitted:
        chosen = answers[step.qid].value
        level = next(o.label for o in step.question.options if o.id == chosen)
        answer = answers.get(f"{step.qid}.what")
        what = answer.value if answer is not None and answer.value and not answer.skipped else ""
        number = step.question.number or step.qid
        if what and what in elsewhere:
            lines.append(texts.self_check_line_bare.format(number=number, level=level))
            pointed = True
        else:
            lines.append(texts.self_check_line.format(number=number, level=level, what=what))
    if pointed and texts.self_check_see_below:
        lines.append(texts.self_check_see_below)
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
    """Everything ``templates/docx`` needs to print the member's bản kiểm điểm.

    Text answers are resolved as they stand now: a kept pre-fill (II.1, II.2, VI) is composed
    from the current follow-up answers, never from the copy shown when it was kept.
    """
    meta = form.form
    if meta is None:
        raise ValueError(f"{form.id} is not a form pack")
    local = now.astimezone(VIETNAM)
    first = form.sections[0].questions[0].id
    line = texts.prefill_line
    shortcomings = next((flow.answer_text(s, steps, answers, line) or "" for s in steps
                         if s.phase == "form" and s.question.prefill == "shortcomings"), "")
    sections: list[dict[str, Any]] = []
    for step in steps:
        section = form.section(step.question.section_id)
        if (step.phase != "form" or step.question.feeds.startswith("VII")
                or (section is not None and section.part == "B")):
            continue
        if not sections or sections[-1]["title"] != step.section_title:
            note = section.form_note if section is not None else None
            sections.append({"title": step.section_title, "items": [], "note": note or ""})
        items = sections[-1]["items"]
        question = step.question
        answer = answers.get(step.qid)
        if question.kind == "choice":  # a carried-over shortcoming: status, then what was done
            chosen = next((o.label for o in question.options
                           if answer is not None and o.id == answer.value), "")
            items.append({"label": question.label_for(member.is_leader) or "", "text": chosen,
                          "source": ""})
            continue
        text = flow.answer_text(step, steps, answers, line) or texts.nothing_to_report
        if question.id == first:
            check = _self_check(steps, answers, checklist.reference or "", texts, shortcomings)
            text = f"{text}\n{check}"
        if question.form_label is None and items and question.id.endswith("t"):
            items[-1]["text"] = f"{items[-1]['text']}. {text}" if items[-1]["text"] else text
            continue
        source = (texts.label_source.format(source=question.label_source)
                  if question.label_source else "")
        items.append({"label": question.label_for(member.is_leader) or "", "text": text,
                      "source": source})
    levels, score = _levels(steps, answers)
    pb = part_b(steps, answers)
    if pb is not None:
        score = pb.total
        levels = {"civil_applicable": False, "civil": [], "party": _boxes(steps, pb.level)}
    return {
        "party_committee": cell.party_committee,
        "cell_name": cell.name,
        "place": cell.place,
        "day": f"{local.day:02d}",
        "month": f"{local.month:02d}",
        "year": str(local.year),
        "review_year": str(round_.year),
        "form_code": meta.code_for(member.is_leader),
        "subtitle": meta.subtitle_for(member.is_leader),
        "title": meta.title,
        "part_a_title": meta.part_a_title,
        "show_posts": meta.show_posts,
        "part_b": _part_b(form, steps, pb) if pb is not None else None,
        "annex": _annex(form, pb) if pb is not None and pb.rows else None,
        "blocks": [{"heading": b.heading, "fields": list(b.fields), "signer": b.signer,
                    "signer_note": b.signer_note, "signer_name": b.signer_name}
                   for b in meta.blocks],
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


def _boxes(steps: list[Step], chosen: str | None) -> list[dict[str, Any]]:
    level = next((s.question for s in steps if s.question.role == "level"), None)
    options = level.options if level is not None else ()
    return [{"label": o.label, "checked": o.id == chosen} for o in options if o.id in LEVEL_IDS]


def _part_b(form: Pack, steps: list[Step], pb: PartB) -> dict[str, Any]:
    """Part B as printed: the score table with the computed total, and the proposed level."""
    meta = form.form
    common = form.with_role("score_common")
    scores = form.section(common.section_id) if common is not None else None
    level_q = form.with_role("level")
    level_section = form.section(level_q.section_id) if level_q is not None else None

    def row(question: Question | None, value: int | None) -> dict[str, Any]:
        label = question.form_label or question.prompt if question is not None else ""
        maximum = question.max if question is not None else None
        return {"label": label, "max": "" if maximum is None else str(maximum),
                "score": "" if value is None else str(value)}

    return {
        "title": meta.part_b_title if meta else "",
        "scores_title": scores.title if scores else "",
        "scores_intro": (scores.form_note or "") if scores else "",
        "headers": list(meta.score_headers) if meta else [],
        "rows": [row(common, pb.common),
                 row(form.with_role("score_tasks"), pb.tasks)],
        "total": {"label": meta.total_label if meta else "", "max": str(pb.total_max),
                  "score": "" if pb.total is None else str(pb.total)},
        "level_title": level_section.title if level_section else "",
        "levels": _boxes(steps, pb.level),
        "level_note": (level_section.form_note or "") if level_section else "",
    }


def _annex(form: Pack, pb: PartB) -> dict[str, Any] | None:
    """The annex of task results, when the member filled it in the chat."""
    annex = form.form.annex if form.form is not None else None
    if annex is None:
        return None
    on_time, exceeded = annex.field("on_time"), annex.field("exceeded")

    def label(question: Question | None, value: bool) -> str:
        wanted = "yes" if value else "no"
        options = question.options if question is not None else ()
        return next((o.label for o in options if o.id == wanted), wanted)

    counts = pb.counts
    share = f"{round(100 * counts['exceeded'] / counts['total'])}%" if counts["total"] else "—"
    return {
        "title": annex.title,
        "headers": list(annex.headers),
        "rows": [{"number": str(r.number), "task": r.task, "result": r.result,
                  "on_time": label(on_time, r.on_time), "exceeded": label(exceeded, r.exceeded)}
                 for r in pb.rows],
        "counts": annex.counts.format(exceeded_share=share, **counts),
    }


def draft_filename(texts: DraftTexts, member: Member, round_: Round, version: int) -> str:
    """An ASCII file name: phones and e-mail clients mangle diacritics in attachments."""
    bare = unicodedata.normalize("NFD", member.full_name).replace("đ", "d").replace("Đ", "D")
    slug = re.sub(r"[^A-Za-z0-9]+", "-", "".join(c for c in bare if not unicodedata.combining(c)))
    return texts.filename.format(year=round_.year, name=slug.strip("-").lower(), version=version)


def sample_2025_context(root: Path | None = None) -> dict[str, Any]:
    """A realistic 2B draft built the way a submission is: the shipped packs, a member without a
    leadership post, answers for every question, part B with the annex. For the README picture
    (docs/render_sample.py) and the template tests."""
    from bot.checklist import load_packs
    from bot.models import Category, Role, RoundStatus

    from bot.config import ROOT

    base = root or ROOT
    checklist, form = load_packs(base / "checklists" / "nq04-2016.toml",
                                 base / "checklists" / "form-2025-2b.toml")
    member = Member(7, 1, "Trần Thị Thu Hà", "14/08/1986", None, None, None,
                    "Phòng Kế hoạch – Tài chính, Sở Tài chính", False, Role.MEMBER, True,
                    "2012-05-19", Category.NO_POST)
    cell = Cell(1, "Phòng Kế hoạch – Tài chính", "Sở Tài chính", "Bắc Ninh")
    round_ = Round(1, 1, 2026, "Kiểm điểm năm 2026", date(2026, 12, 18), date(2026, 12, 10),
                   RoundStatus.OPEN, "form-2025")
    moment = datetime(2026, 12, 8, 3, 0, tzinfo=ZoneInfo("UTC"))
    values: dict[str, str] = {q.id: "absent" for q in checklist.questions()}
    values.update({
        "g1-04": "slight",
        "g1-04.what": "Có lúc xử lý hồ sơ còn chậm so với hạn nội bộ của phòng.",
        "g1-04.why": "Chưa sắp xếp công việc hợp lý khi nhiều việc đột xuất.",
        "g1-04.remedy": "Lập kế hoạch công việc hằng tuần, hoàn thành trước 31/3/2027.",
        "a-i1": "Luôn chấp hành nghiêm chủ trương, đường lối của Đảng, chính sách, pháp luật của "
                "Nhà nước; giữ gìn đạo đức, lối sống giản dị, đoàn kết với đồng nghiệp.",
        "a-i2": "Hoàn thành 12/12 nhiệm vụ được giao, trong đó 4 nhiệm vụ vượt mức yêu cầu; "
                "chủ trì thẩm định dự toán của 9 đơn vị trực thuộc đúng hạn.",
        "a-i3": "Thực hiện đầy đủ các nội dung trong bản cam kết đầu năm.",
        "a-iii": "Hạn chế kỳ trước (chậm cập nhật văn bản mới) đã khắc phục: lập sổ theo dõi "
                 "văn bản từ tháng 3/2026.",
        "b-g1": "27", "b-g2": "60", "b-annex": "yes",
        "b-ontime": "no", "b-exceed": "yes", "b-fixed": "yes", "b-level": "htt",
    })
    tasks = [("Thẩm định dự toán năm 2027 của 9 đơn vị trực thuộc",
              "9/9 hồ sơ thẩm định xong, được lãnh đạo Sở phê duyệt", "yes", "yes"),
             ("Báo cáo quyết toán ngân sách quý III", "Báo cáo gửi Sở ngày 20/10/2026",
              "no", "no"),
             ("Hướng dẫn phần mềm quản lý tài sản công", "12 đơn vị sử dụng thành thạo",
              "yes", "yes")]
    for n, (task, result, on_time, exceeded) in enumerate(tasks, start=1):
        values.update({f"b-annex.{n}.task": task, f"b-annex.{n}.result": result,
                       f"b-annex.{n}.ontime": on_time, f"b-annex.{n}.exceed": exceeded,
                       f"b-annex.{n}.more": "yes" if n < len(tasks) else "no"})
    answers = {qid: Answer(qid, value, False, False, moment) for qid, value in values.items()}
    for qid in ("a-ii1", "a-ii2", "a-vi"):
        answers[qid] = Answer(qid, "", False, False, moment, prefilled=True)
    answers["a-iv"] = Answer("a-iv", None, False, False, moment)
    answers["a-v"] = Answer("a-v", None, False, False, moment)
    steps = flow.build_steps(checklist, form, is_leader=False, answers=answers)
    texts = DraftTexts(
        prefill_line="- Biểu hiện {number}: {text}",
        self_check_none="Tự đối chiếu với 27 biểu hiện suy thoái theo {reference}: bản thân "
                        "không có biểu hiện nào.",
        self_check_some="Tự đối chiếu với 27 biểu hiện suy thoái theo {reference}: bản thân tự "
                        "nhận có {count} biểu hiện:",
        self_check_line="- Biểu hiện {number} ({level}): {what}",
        nothing_to_report="Không có.",
        filename="ban-kiem-diem-{year}-{name}-v{version}.docx",
        self_check_see_below="(Nội dung cụ thể của từng biểu hiện ghi tại mục II.)",
    )
    return build_draft_context(cell=cell, member=member, round_=round_, checklist=checklist,
                               form=form, steps=steps, answers=answers, texts=texts, now=moment)
