"""The cell's bundle before the meeting: one zip for the secretary.

``build_bundle`` puts together, from data the caller has already loaded:

- ``ban-kiem-diem/``: every submitted draft, byte for byte, under ASCII names;
- ``tong-hop.xlsx``: one row per member (status, submission time in Vietnam, self-score,
  self-classification, admitted manifestations, flags);
- ``tong-hop-kiem-diem.docx``: a DRAFT summary for the meeting, counts and item numbers only,
  never a member's own words;
- ``bien-ban-hop.docx``: a meeting-minutes skeleton with the member list, attendance left blank;
- ``de-xuat-xep-loai.xlsx``: the classification proposal (``bot.proposal``), a "Vi phạm" sheet
  spelling out every rule the proposals break, and the rules used with their sources.

Every sentence comes from ``templates/bundle.toml``. Core module: no channel, no storage, and
the moment of building is an argument.
"""

from __future__ import annotations

import io
import re
import tomllib
import unicodedata
import zipfile
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from docxtpl import DocxTemplate
from jinja2 import StrictUndefined
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from bot import flow
from bot.compose import VIETNAM
from bot.config import ROOT
from bot.draft import CompiledOnce, clean_line
from bot.flow import Step
from bot.models import Answer, Cell
from bot.partb import part_b
from bot.proposal import (
    CAP_EXCEEDED,
    CONDITION_NOT_MET,
    LEVELS,
    NOT_CLASSIFIED_RECENT,
    NOT_REVIEWED,
    Proposal,
    ProposalInput,
)

DEFAULT_TEXTS = ROOT / "templates" / "bundle.toml"
SUMMARY_TEMPLATE = ROOT / "templates" / "docx" / "tong-hop-kiem-diem.docx"
MINUTES_TEMPLATE = ROOT / "templates" / "docx" / "bien-ban-hop.docx"

DRAFTS_FOLDER = "ban-kiem-diem/"
SUMMARY_XLSX = "tong-hop.xlsx"
SUMMARY_DOCX = "tong-hop-kiem-diem.docx"
MINUTES_DOCX = "bien-ban-hop.docx"
PROPOSAL_XLSX = "de-xuat-xep-loai.xlsx"

SUBMITTED = "submitted"
IN_PROGRESS = "in_progress"
NOT_STARTED = "not_started"
NOT_REVIEWED_STATUS = "not_reviewed"  # 366 Điều 5: exempted, suspended, admitted < 6 months
STATUSES = (SUBMITTED, IN_PROGRESS, NOT_STARTED, NOT_REVIEWED_STATUS)
# Flag codes (Vietnamese in [flags]).
FLAGS = ("vague_remedy", "skipped", "severe", "returned", "not_linked")

Progress = Callable[[int, int], None]
_HEADER_FILL = PatternFill("solid", fgColor="DDE5F0")
_BOLD = Font(bold=True)


def load_texts(path: Path = DEFAULT_TEXTS) -> dict[str, Any]:
    """The bundle's and the roster preview's Vietnamese texts."""
    return tomllib.loads(path.read_text(encoding="utf-8"))


# ----------------------------------------------------------------- facts per member


@dataclass(frozen=True)
class ReviewFacts:
    """What the bundle needs from one member's stored answers (no answer text)."""

    self_level: str | None
    self_score: int | None  # part B's computed total on the 2025 forms
    admitted_items: tuple[str, ...]  # checklist item numbers, e.g. ("1.4", "2.5")
    severe_items: tuple[str, ...]
    flags: tuple[str, ...]
    facts: Mapping[str, bool | None] = dataclass_field(default_factory=dict)  # level conditions


def review_facts(steps: Sequence[Step], answers: Mapping[str, Answer]) -> ReviewFacts:
    """Level, score, admitted item numbers and flags, from the walk and the stored answers."""
    admitted: list[str] = []
    severe: list[str] = []
    level: str | None = None
    score: int | None = None
    flags: list[str] = []
    for step in steps:
        answer = answers.get(step.qid)
        question = step.question
        if step.phase == "checklist" and step.parent is None and flow.admits(question, answer):
            number = question.number or question.id
            admitted.append(number)
            chosen = question.option(answer.value) if answer and answer.value else None
            if chosen is not None and chosen.severe:
                severe.append(number)
        if answer is None:
            continue
        if step.phase == "form" and {o.id for o in question.options} == set(LEVELS):
            level = answer.value if answer.value in LEVELS else None
        if question.kind == "score" and answer.value:
            try:
                score = int(answer.value)
            except ValueError:
                score = None
        if answer.vague and "vague_remedy" not in flags:
            flags.append("vague_remedy")
        if answer.skipped and "skipped" not in flags:
            flags.append("skipped")
    if severe:
        flags.append("severe")
    pb = part_b(list(steps), answers)
    if pb is not None:  # the 2025 forms: the total of the two groups, never a typed number
        return ReviewFacts(level, pb.total, tuple(admitted), tuple(severe), tuple(flags),
                           pb.facts())
    return ReviewFacts(level, score, tuple(admitted), tuple(severe), tuple(flags))


@dataclass(frozen=True)
class BundleMember:
    """One roster member as the bundle shows them."""

    member_id: int
    full_name: str
    party_post: str | None
    gov_post: str | None
    is_leader: bool
    status: str  # "submitted" | "in_progress" | "not_started"
    submitted_at: datetime | None = None  # aware; shown in Asia/Ho_Chi_Minh
    self_score: int | None = None
    self_level: str | None = None  # "htxs" | "htt" | "ht" | "kht" | None
    admitted_items: tuple[str, ...] = ()
    severe_items: tuple[str, ...] = ()
    flags: tuple[str, ...] = ()
    joined_on: date | None = None
    category: str = "no_post"
    standing: str | None = None
    facts: Mapping[str, bool | None] = dataclass_field(default_factory=dict)
    not_reviewed: str | None = None  # why the round does not review them ("recent", …)

    @property
    def submitted(self) -> bool:
        return self.status == SUBMITTED


def proposal_inputs(members: Sequence[BundleMember]) -> list[ProposalInput]:
    """What ``bot.proposal.propose`` needs, from the bundle's member records."""
    return [
        ProposalInput(
            member_id=m.member_id,
            full_name=m.full_name,
            self_level=m.self_level,
            self_score=m.self_score,
            joined_on=m.joined_on,
            severe_admissions=len(m.severe_items),
            submitted=m.submitted,
            standing=m.standing,
            category=m.category,
            facts=m.facts,
        )
        for m in members
    ]


# ----------------------------------------------------------------- small helpers


def ascii_name(filename: str) -> str:
    """"Bản kiểm điểm Đỗ.docx" -> "Ban-kiem-diem-Do.docx": zip tools mangle other names."""
    bare = unicodedata.normalize("NFD", filename).replace("đ", "d").replace("Đ", "D")
    bare = "".join(ch for ch in bare if not unicodedata.combining(ch))
    bare = re.split(r"[\\/]", bare)[-1]  # a name, never a path inside the zip
    stem, dot, ext = bare.rpartition(".")
    if not dot:
        stem, ext = bare, ""
    stem = re.sub(r"[^A-Za-z0-9_-]+", "-", stem).strip("-.") or "ban-kiem-diem"
    ext = re.sub(r"[^A-Za-z0-9]", "", ext)[:8].lower()
    return f"{stem}.{ext}" if ext else stem


def _percent(part: int, whole: int) -> str:
    if whole == 0:
        return "—"
    value = round(100 * part / whole, 1)
    text = f"{value:g}".replace(".", ",")  # Vietnamese decimal comma
    return f"{text}%"


def _number(value: float) -> str:
    return f"{round(value, 1):g}".replace(".", ",")


def _local(moment: datetime) -> datetime:
    return moment.astimezone(VIETNAM)


def _stamp(moment: datetime) -> str:
    return _local(moment).strftime("%H:%M %d/%m/%Y")


def _item_key(item: str) -> tuple[Any, ...]:
    return tuple(int(p) if p.isdigit() else p for p in re.split(r"[.\s]", item))


def _header(
    texts: Mapping[str, Any], cell: Cell, now: datetime, *, blank_date: bool
) -> dict[str, str]:
    h = texts["header"]
    local = _local(now)
    place = clean_line(cell.place)
    date_line = (h["date_line_blank"].format(place=place) if blank_date else
                 h["date_line"].format(place=place, day=f"{local.day:02d}",
                                       month=f"{local.month:02d}", year=local.year))
    return {
        "org": h["org"].format(party_committee=clean_line(cell.party_committee)),
        "cell": h["cell"].format(cell_name=clean_line(cell.name)),
        "party": h["party"],
        "date_line": date_line,
        "footer": h["footer"].format(generated=_stamp(now)),
    }


_ENVIRONMENT = CompiledOnce(autoescape=True, undefined=StrictUndefined)  # compiled once


def _render(template: Path, context: Mapping[str, Any]) -> bytes:
    document = DocxTemplate(template)
    document.render(context, jinja_env=_ENVIRONMENT, autoescape=True)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def _put(sheet: Worksheet, row: int, column: int, value: Any, **style: Any) -> None:
    """Write a cell; text is always text, so a name starting with "=" never becomes a formula."""
    cell = sheet.cell(row=row, column=column)
    if isinstance(value, str):
        cell.value = clean_line(value) if "\n" not in value else value
        cell.data_type = "s"
    else:
        cell.value = value
    for key, item in style.items():
        setattr(cell, key, item)


def _header_row(sheet: Worksheet, row: int, headers: Sequence[str], widths: Sequence[int]) -> None:
    for column, (title, width) in enumerate(zip(headers, widths), start=1):
        _put(sheet, row, column, title, font=_BOLD, fill=_HEADER_FILL,
             alignment=Alignment(wrap_text=True, vertical="center", horizontal="center"))
        sheet.column_dimensions[get_column_letter(column)].width = width
    sheet.freeze_panes = sheet.cell(row=row + 1, column=1)


def _workbook_bytes(workbook: Workbook, now: datetime) -> bytes:
    workbook.properties.creator = "tusoi"
    workbook.properties.created = now.astimezone(VIETNAM).replace(tzinfo=None)
    workbook.properties.modified = workbook.properties.created
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


# ----------------------------------------------------------------- the four documents


def summary_workbook(
    cell: Cell, round_title: str, members: Sequence[BundleMember], texts: Mapping[str, Any],
    now: datetime,
) -> bytes:
    """``tong-hop.xlsx``: one row per member, header frozen."""
    t = texts["summary_xlsx"]
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = t["sheet"]
    _put(sheet, 1, 1, t["title"].format(cell_name=clean_line(cell.name),
                                        round_title=clean_line(round_title)),
         font=Font(bold=True, size=13))
    _put(sheet, 2, 1, t["subtitle"].format(generated=_stamp(now)), font=Font(italic=True))
    _header_row(sheet, 3, t["headers"], (6, 30, 24, 22, 18, 12, 28, 14, 40))
    for index, member in enumerate(members, start=1):
        row = 3 + index
        submitted = member.submitted
        _put(sheet, row, 1, index)
        _put(sheet, row, 2, member.full_name)
        _put(sheet, row, 3, texts["categories"][member.category])
        status = texts["status"][member.status]
        if member.not_reviewed is not None:
            status += f" ({texts['not_reviewed'][member.not_reviewed]})"
        _put(sheet, row, 4, status)
        if submitted and member.submitted_at is not None:
            _put(sheet, row, 5, _local(member.submitted_at).replace(tzinfo=None),
                 number_format="dd/mm/yyyy hh:mm")
        if member.self_score is not None:
            _put(sheet, row, 6, member.self_score)
        if member.self_level is not None:
            _put(sheet, row, 7, texts["levels"][member.self_level])
        if member.status != NOT_STARTED:
            _put(sheet, row, 8, len(member.admitted_items))
        flags = [texts["flags"][f] for f in member.flags]
        if member.severe_items and "severe" in member.flags:
            flags[member.flags.index("severe")] += f" ({', '.join(member.severe_items)})"
        _put(sheet, row, 9, "; ".join(flags))
    sheet.auto_filter.ref = f"A3:I{3 + len(members)}"
    return _workbook_bytes(workbook, now)


def summary_context(
    cell: Cell, round_title: str, year: int, members: Sequence[BundleMember],
    proposal: Proposal, texts: Mapping[str, Any], now: datetime,
    item_titles: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """What ``tong-hop-kiem-diem.docx`` prints: counts and item numbers, no answer text."""
    s = texts["summary_docx"]
    levels = texts["levels"]
    submitted = [m for m in members if m.submitted]
    by_status = Counter(m.status for m in members)
    reviewed = [m for m in members if m.status != NOT_REVIEWED_STATUS]
    t = {key: value for key, value in s.items() if isinstance(value, str)}
    t.update(_header(texts, cell, now, blank_date=False))
    t["subtitle"] = s["subtitle"].format(year=year, round_title=clean_line(round_title))

    submission_lines = [s["total"].format(total=len(members))]
    if by_status[NOT_REVIEWED_STATUS]:
        names = "; ".join(
            f"{clean_line(m.full_name)} ({texts['not_reviewed'][m.not_reviewed or 'recent']})"
            for m in members if m.status == NOT_REVIEWED_STATUS)
        submission_lines.append(s["not_reviewed"].format(count=by_status[NOT_REVIEWED_STATUS],
                                                         names=names))
    submission_lines.append(s["submitted"].format(
        submitted=len(submitted), missing=len(reviewed) - len(submitted),
        in_progress=by_status[IN_PROGRESS], not_started=by_status[NOT_STARTED],
    ))
    level_counts = Counter(m.self_level for m in submitted)
    level_rows = [
        {"label": levels[level], "count": level_counts[level],
         "share": _percent(level_counts[level], len(submitted))}
        for level in LEVELS
    ]
    if level_counts[None]:
        level_rows.append({"label": s["no_level"], "count": level_counts[None],
                           "share": _percent(level_counts[None], len(submitted))})
    scores = [m.self_score for m in submitted if m.self_score is not None]
    score_lines = [
        s["scores"].format(scored=len(scores), average=_number(sum(scores) / len(scores)),
                           low=min(scores), high=max(scores))
        if scores else s["no_scores"]
    ]
    clean = sum(1 for m in submitted if not m.admitted_items)
    strengths_lines = [s["strengths_none_admitted"].format(count=clean, submitted=len(submitted))]

    admitted = Counter(item for m in submitted for item in dict.fromkeys(m.admitted_items))
    severe = Counter(item for m in submitted for item in dict.fromkeys(m.severe_items))
    titles = item_titles or {}
    item_rows = [
        {"item": f"{item} — {clean_line(titles[item])}" if item in titles else item,
         "count": count, "severe": severe[item]}
        for item, count in sorted(admitted.items(), key=lambda kv: (-kv[1], _item_key(kv[0])))
    ]
    shortcomings_lines = [s["shortcomings_intro"] if item_rows else s["shortcomings_none"]]
    vague = sum(1 for m in submitted if "vague_remedy" in m.flags)
    remedies_lines = [s["remedies_vague"].format(count=vague) if vague else s["remedies_ok"]]

    rules = proposal.rules
    share = _number(float(rules.cap.max_share * 100))
    not_classified = sum(1 for r in proposal.rows if NOT_CLASSIFIED_RECENT in r.notes)
    proposal_lines = [
        s["proposal_line"].format(level=levels[level], count=proposal.counts[level])
        for level in LEVELS
    ]
    if not_classified:
        proposal_lines.append(s["proposal_not_classified"].format(
            months=rules.min_months, count=not_classified))
    if proposal.cap_exception_allowed is not None:
        proposal_lines.append(s["proposal_cap_exception"].format(
            share=_number(float((rules.cap.exception_share or 0) * 100)),
            allowed=proposal.cap_exception_allowed))
    denominator = sum(proposal.counts[level] for level in rules.cap.of_levels)
    cap_key = ("proposal_cap_exceeded"
               if any(v.code == CAP_EXCEEDED for v in proposal.violations) else "proposal_cap_ok")
    proposal_lines.append(s[cap_key].format(
        count=proposal.counts[rules.cap.level], allowed=proposal.cap_allowed,
        denominator=denominator, share=share))
    proposal_lines.append(s["who_decides"])
    return {
        "t": t,
        "submission_lines": submission_lines,
        "level_rows": level_rows,
        "score_lines": score_lines,
        "strengths_lines": strengths_lines,
        "shortcomings_lines": shortcomings_lines,
        "item_rows": item_rows,
        "remedies_lines": remedies_lines,
        "proposal_lines": proposal_lines,
    }


def minutes_context(
    cell: Cell, year: int, members: Sequence[BundleMember], proposal: Proposal,
    texts: Mapping[str, Any], now: datetime,
) -> dict[str, Any]:
    """What ``bien-ban-hop.docx`` prints: the skeleton's wording and the member list."""
    m = texts["minutes"]
    t = {key: value for key, value in m.items() if isinstance(value, str)}
    t.update(_header(texts, cell, now, blank_date=True))
    t["subtitle"] = m["subtitle"].format(year=year)
    t["attendance"] = m["attendance"].format(total=len(members))
    rows = []
    for index, member in enumerate(members, start=1):
        post = "; ".join(clean_line(p) for p in (member.party_post, member.gov_post) if p)
        name = clean_line(member.full_name)
        rows.append({"index": index, "name": name, "post": post,
                     "heading": m["member_heading"].format(index=index, name=name)})
    return {
        "t": t,
        "time_lines": list(m["time_lines"]),
        "people_lines": list(m["people_lines"]),
        "content_lines": list(m["content_lines"]),
        "members": rows,
        "member_lines": list(m["member_lines"]),
        # "Chưa xếp loại (vào Đảng chưa đủ N tháng)" only where the round's rules have that case.
        "result_lines": [line.format(months=proposal.rules.min_months)
                         for line in m["result_lines"]
                         if "{months}" not in line
                         or proposal.rules.eligibility.not_classified_months],
    }


def violation_text(code: str, detail: Mapping[str, Any], texts: Mapping[str, Any]) -> str:
    """One violation, spelled out in Vietnamese."""
    levels = texts["levels"]
    values: dict[str, Any] = dict(detail)
    for key in ("level", "self_level", "band"):
        if values.get(key) in levels:
            values[key] = levels[values[key]]
    if "of_levels" in values:
        values["of_levels"] = ", ".join(levels[level] for level in values["of_levels"])
    if "share_percent" in values:
        values["share"] = _number(values["share_percent"])
    if "condition" in values:
        values["condition"] = (f"«{values['condition']}»" if values.get("verbatim")
                               else f"{values['condition']} ({texts['proposal']['summary_mark']})")
    values["exception"] = ""
    if values.get("exception_percent") is not None:
        values["exception"] = texts["proposal"]["cap_exception_note"].format(
            share=_number(values["exception_percent"]), allowed=values["exception_allowed"])
    for key in ("joined_on", "reference_date"):
        if isinstance(values.get(key), date):
            values[key] = values[key].strftime("%d/%m/%Y")
    return str(texts["proposal"]["violations"][code].format(**values))


def proposal_workbook(
    cell: Cell, round_title: str, proposal: Proposal, texts: Mapping[str, Any], now: datetime,
) -> bytes:
    """``de-xuat-xep-loai.xlsx``: the proposal, the "Vi phạm" sheet and the rules used."""
    p = texts["proposal"]
    levels = texts["levels"]
    rules = proposal.rules
    months = rules.min_months
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = p["sheet"]
    _put(sheet, 1, 1, p["title"].format(cell_name=clean_line(cell.name),
                                        round_title=clean_line(round_title)),
         font=Font(bold=True, size=13))
    _put(sheet, 2, 1, p["who_decides"], font=Font(bold=True, italic=True))
    _put(sheet, 3, 1, p["reference"].format(
        reference_date=proposal.reference_date.strftime("%d/%m/%Y")))
    _header_row(sheet, 4, p["headers"], (6, 30, 28, 12, 28, 28, 60, 60))
    wrap = Alignment(wrap_text=True, vertical="top")
    row = 4
    for index, entry in enumerate(proposal.rows, start=1):
        row += 1
        _put(sheet, row, 1, index)
        _put(sheet, row, 2, entry.name)
        _put(sheet, row, 3, levels[entry.self_level] if entry.self_level else p["none"])
        if entry.self_score is not None:
            _put(sheet, row, 4, entry.self_score)
        _put(sheet, row, 5, levels[entry.score_band] if entry.score_band else p["none"])
        if entry.suggested_level is not None:
            suggested = levels[entry.suggested_level]
        elif NOT_CLASSIFIED_RECENT in entry.notes:
            suggested = p["not_classified"]
        elif any(code in NOT_REVIEWED for code in entry.notes):
            suggested = p["not_reviewed"]
        else:
            suggested = p["none"]
        _put(sheet, row, 6, suggested, font=_BOLD)
        notes = "\n".join(p["notes"][code].format(months=months) for code in entry.notes)
        _put(sheet, row, 7, notes, alignment=wrap)
        _put(sheet, row, 8, "\n".join(f"«{c.wording}»" if c.verbatim
                                       else f"{c.wording} ({p['summary_mark']})"
                                       for c in entry.conditions), alignment=wrap)
    row += 2
    _put(sheet, row, 2, p["counts_heading"], font=_BOLD)
    for level in LEVELS:
        row += 1
        _put(sheet, row, 2, levels[level])
        _put(sheet, row, 3, proposal.counts[level])
    not_classified = sum(1 for r in proposal.rows if NOT_CLASSIFIED_RECENT in r.notes)
    if not_classified:
        row += 1
        _put(sheet, row, 2, p["not_classified"])
        _put(sheet, row, 3, not_classified)
    not_reviewed = sum(1 for r in proposal.rows if any(c in NOT_REVIEWED for c in r.notes))
    if not_reviewed:
        row += 1
        _put(sheet, row, 2, p["not_reviewed"])
        _put(sheet, row, 3, not_reviewed)
    if proposal.joined_unknown:
        row += 2
        _put(sheet, row, 2, p["joined_unknown"].format(count=len(proposal.joined_unknown),
                                                       months=months))
    row += 2
    _put(sheet, row, 2, p["cap_unit_note"].format(unit=rules.cap.unit))
    _put(sheet, row + 1, 2, p["who_decides"], font=Font(bold=True, italic=True))

    origin_of = {
        CAP_EXCEEDED: rules.cap.origin.source,
        "above_score_band": rules.bands_origin.source if rules.bands_origin else "",
        "recent_member_level": rules.eligibility.origin.source,
        CONDITION_NOT_MET: rules.conditions_origin.source if rules.conditions_origin else "",
    }
    violations = workbook.create_sheet(p["violations_sheet"])
    _put(violations, 1, 1, p["violations_title"], font=Font(bold=True, size=13))
    _put(violations, 2, 1, p["who_decides"], font=Font(italic=True))
    _header_row(violations, 3, p["violations_headers"], (6, 30, 80, 40, 40))
    if not proposal.violations:
        _put(violations, 4, 2, p["violations_none"])
    for index, violation in enumerate(proposal.violations, start=1):
        detail = violation.detail
        names = detail.get("names") or ([detail["name"]] if "name" in detail else [])
        _put(violations, 3 + index, 1, index)
        _put(violations, 3 + index, 2, p["violation_rules"][violation.code])
        _put(violations, 3 + index, 3, violation_text(violation.code, detail, texts),
             alignment=wrap)
        _put(violations, 3 + index, 4, "\n".join(clean_line(n) for n in names), alignment=wrap)
        _put(violations, 3 + index, 5, origin_of.get(violation.code, ""), alignment=wrap)

    basis = workbook.create_sheet(p["rules_sheet"])
    _header_row(basis, 1, p["rules_headers"], (30, 90, 50, 14, 36))
    bands = []
    for index, band in enumerate(rules.bands):
        high = rules.bands[index - 1].min_score if index else None
        line = p["band_line"].format(
            level=levels[band.level], low=band.min_score,
            high=p["band_high"].format(high=high) if high is not None else "")
        bands.append(f"{line} («{band.wording}»)" if band.wording else line)
    eligibility_rule = rules.eligibility
    eligibility_text = (f"«{eligibility_rule.wording}»" if eligibility_rule.verbatim
                        else f"{eligibility_rule.wording} ({p['summary_mark']})")
    cap_text = "\n".join(f"«{w}»" for w in (rules.cap.wording, rules.cap.exception_wording) if w)
    entries = [
        (p["rule_eligibility"], eligibility_text, eligibility_rule.origin),
        (p["rule_cap"], cap_text, rules.cap.origin),
    ]
    if rules.bands_origin is not None:
        entries.insert(0, (p["rule_bands"], "\n".join(bands), rules.bands_origin))
    if rules.conditions_origin is not None:
        conditions = [
            p["condition_line"].format(
                level=levels[c.level],
                who=", ".join(texts["categories"][k] for k in c.categories),
                wording=f"«{c.wording}»" if c.verbatim else f"{c.wording} ({p['summary_mark']})")
            for c in rules.conditions]
        entries.append((p["rule_conditions"], "\n".join(conditions), rules.conditions_origin))
    for offset, (name, text, origin) in enumerate(entries, start=2):
        _put(basis, offset, 1, name, font=_BOLD, alignment=wrap)
        _put(basis, offset, 2, text, alignment=wrap)
        _put(basis, offset, 3, f"{origin.source}\n{origin.url}", alignment=wrap)
        _put(basis, offset, 4, origin.retrieved.strftime("%d/%m/%Y"), alignment=wrap)
        _put(basis, offset, 5, origin.status, alignment=wrap)
    return _workbook_bytes(workbook, now)


# ----------------------------------------------------------------- the zip


def build_bundle(
    cell: Cell,
    round_title: str,
    year: int,
    members_info: Sequence[BundleMember],
    drafts: Sequence[tuple[str, bytes]],
    proposal: Proposal,
    texts: Mapping[str, Any],
    now: datetime,
    *,
    progress: Progress | None = None,
    item_titles: Mapping[str, str] | None = None,
) -> bytes:
    """The zip the secretary downloads before the meeting (see the module docstring).

    ``drafts`` are the submitted drafts as (file name, bytes); they are stored unchanged.
    ``progress(done, total)`` is called after each file so the chat can show progress.
    ``item_titles`` (optional) maps a checklist item number to a short team-written title
    printed beside it in the summary.
    """
    total = len(drafts) + 4
    done = 0

    def step() -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress(done, total)

    local = _local(now)
    stamp = (max(local.year, 1980), local.month, local.day, local.hour, local.minute,
             local.second)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:

        def add(name: str, data: bytes) -> None:
            entry = zipfile.ZipInfo(name, date_time=stamp)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o644 << 16
            archive.writestr(entry, data)

        used: set[str] = set()
        for filename, data in drafts:
            name = ascii_name(filename)
            stem, dot, ext = name.rpartition(".")
            candidate, counter = name, 1
            while candidate in used:
                counter += 1
                candidate = f"{stem}-{counter}.{ext}" if dot else f"{name}-{counter}"
            used.add(candidate)
            add(DRAFTS_FOLDER + candidate, data)
            step()
        add(SUMMARY_XLSX, summary_workbook(cell, round_title, members_info, texts, now))
        step()
        add(SUMMARY_DOCX, _render(SUMMARY_TEMPLATE, summary_context(
            cell, round_title, year, members_info, proposal, texts, now, item_titles)))
        step()
        add(MINUTES_DOCX, _render(MINUTES_TEMPLATE, minutes_context(
            cell, year, members_info, proposal, texts, now)))
        step()
        add(PROPOSAL_XLSX, proposal_workbook(cell, round_title, proposal, texts, now))
        step()
    return buffer.getvalue()
