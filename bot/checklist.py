"""Checklist and form packs: the questions tusoi asks, loaded from TOML data files.

A *pack* is one TOML file. A ``checklist`` pack (``checklists/nq04-2016.toml``) holds the
27 manifestations the member examines; a ``form`` pack (``checklists/form-02-2023.toml``)
holds the sections of the individual self-review form. Deployers can replace either file
without touching code, so loading is strict: every problem in a file is reported at once,
each with the file, the TOML key path, a stable code and its facts (``Problem``); the
operator reads it in Vietnamese, worded in ``templates/pack_problems.toml``
(``describe_problem``).

The schema itself is documented in the comment block at the top of each pack file.
This module is core: it imports neither a channel nor storage.
"""

from __future__ import annotations

import difflib
import re
import tomllib
import unicodedata
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal, cast, get_args

# Question, section and pack ids. They travel in a channel's button data, which can be as
# small as 64 bytes for "a|{review_id:06d}|{qid}|{option_id}", so they stay short and ASCII.
QID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,15}$")
OPTION_ID_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,11}$")
OPTION_SET_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,31}$")
# Where an answer ends up in the draft: a form slot ("I.1", "VII.2") or a prefill channel.
FEEDS_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$")

PACK_KINDS = ("checklist", "form")
QUESTION_KINDS = ("choice", "text", "score")
OFFICIAL_STATUSES = ("verified", "partial")
PREFILLS = ("shortcomings", "causes", "remedies")
CHECKS = ("concrete",)
# Who writes which form (Hướng dẫn 43-HD/BTCTW, 2.1 b): a form pack names the categories it is
# for; the packs of one family cover each category once.
CATEGORIES = ("leader", "no_post", "outside")
# What a form question means to the core beyond its slot: part B of the 2025 forms.
ROLES = ("score_common", "score_tasks", "level", "on_time", "exceeded", "fixed", "annex")
PART_B_CORE = ("score_common", "score_tasks", "level")
LEVEL_IDS = ("htxs", "htt", "ht", "kht")
YES, NO, NOT_APPLICABLE = "yes", "no", "na"
# The fields of one row of the task-results annex.
ANNEX_ROLES = ("task", "result", "on_time", "exceeded", "more")
ELLIPSIS = "…"  # U+2026: marks official wording that was only partly verified


@dataclass(frozen=True)
class Option:
    id: str
    label: str
    admits: bool = False  # choosing it admits the manifestation: follow-ups are asked
    severe: bool = False  # a clear (not slight) manifestation; implies admits


@dataclass(frozen=True)
class OfficialText:
    """Wording copied from the official document, with where and when it was read."""

    text: str
    status: Literal["verified", "partial"]
    source_url: str
    retrieved: date
    valid_from: date | None = None
    valid_to: date | None = None
    # Verified on one source only: shown with «theo một nguồn, chưa đối chiếu bản gốc».
    single_source: bool = False


@dataclass(frozen=True)
class Question:
    id: str
    kind: Literal["choice", "text", "score"]
    prompt: str  # team-written; for checklist items always shown as a summary, never as wording
    section_id: str  # "" for follow-up questions, which belong to no section
    feeds: str
    options: tuple[Option, ...] = ()
    official: OfficialText | None = None
    form_label: str | None = None
    leader_only: bool = False
    required: bool = True
    prefill: Literal["shortcomings", "causes", "remedies"] | None = None
    check: Literal["concrete"] | None = None
    min: int | None = None
    max: int | None = None
    follow_ups: bool = False
    hint: str | None = None
    number: str | None = None  # display number like "1.4" or "I.6"
    # Members without a leadership post see a shorter form, so some items are renumbered
    # (form item I.6 is item 3 on form 02A). None means: same as for leaders.
    number_member: str | None = None
    form_label_member: str | None = None
    role: str | None = None  # see ROLES (form packs) and ANNEX_ROLES (annex fields)
    # Shown before the question as guidance, e.g. the criteria headings of a Quy định's annex.
    guidance: tuple[str, ...] = ()
    guidance_note: str | None = None  # where the guidance comes from, and how sure it is
    # The form line was not seen on the form itself; it is taken from here (e.g. a Quy định).
    label_source: str | None = None

    def option(self, option_id: str) -> Option | None:
        """The option with this id, or None."""
        return next((o for o in self.options if o.id == option_id), None)

    def display_number(self, leader: bool) -> str | None:
        """The number the member sees, depending on which form variant they fill in."""
        if not leader and self.number_member is not None:
            return self.number_member
        return self.number

    def label_for(self, leader: bool) -> str | None:
        """The form line for the member's form variant."""
        if not leader and self.form_label_member is not None:
            return self.form_label_member
        return self.form_label


@dataclass(frozen=True)
class Section:
    id: str
    title: str
    questions: tuple[Question, ...]
    note: str | None = None
    part: str | None = None  # "A" or "B" on the 2025 forms; None on forms without parts
    form_note: str | None = None  # the form's own explanatory line under the heading


@dataclass(frozen=True)
class Block:
    """A signature or evaluation block printed after the member's text, left blank."""

    heading: str = ""
    fields: tuple[str, ...] = ()  # labels followed by dotted lines
    signer: str = ""
    signer_note: str = ""
    signer_name: bool = False  # print the member's name under the signature


@dataclass(frozen=True)
class Annex:
    """The optional annex of task results: one row per task, filled in the chat."""

    title: str
    headers: tuple[str, ...]  # table columns: number, task, result, on time, exceeded
    counts: str  # the line under the table, with {total} {on_time} {exceeded} {late}
    max_rows: int
    fields: tuple[Question, ...]  # asked in order for each task (roles: ANNEX_ROLES)

    def field(self, role: str) -> Question | None:
        return next((f for f in self.fields if f.role == role), None)


@dataclass(frozen=True)
class FormMeta:
    title: str
    code_leader: str = ""
    code_member: str = ""
    subtitle_leader: str = ""
    subtitle_member: str = ""
    template: str = ""  # path of the Word template; empty: the configured default
    code: str = ""  # one code and subtitle for everyone (2025), instead of the pairs above
    subtitle: str = ""
    family: str = ""  # the form version a round names; empty: the pack's own id
    categories: tuple[str, ...] = CATEGORIES  # the members who write this pack's form
    part_a_title: str = ""
    part_b_title: str = ""
    score_headers: tuple[str, ...] = ()
    total_label: str = ""
    show_posts: bool = True  # print the Chức vụ Đảng / chính quyền / đoàn thể lines
    not_seen: tuple[str, ...] = ()  # parts of the form not seen in any source: check them
    blocks: tuple[Block, ...] = ()
    annex: Annex | None = None

    def code_for(self, leader: bool) -> str:
        return self.code or (self.code_leader if leader else self.code_member)

    def subtitle_for(self, leader: bool) -> str:
        return self.subtitle or (self.subtitle_leader if leader else self.subtitle_member)


@dataclass(frozen=True)
class Pack:
    id: str
    kind: Literal["checklist", "form"]
    title: str
    version: str
    reference: str | None
    sections: tuple[Section, ...]
    follow_ups: tuple[Question, ...] = ()
    form: FormMeta | None = None

    def questions(self) -> tuple[Question, ...]:
        """All section questions, in the order they are asked (follow-ups excluded)."""
        return tuple(q for s in self.sections for q in s.questions)

    def question(self, qid: str) -> Question | None:
        """The section question with this id, or None (see ``follow_up`` for follow-ups)."""
        return next((q for q in self.questions() if q.id == qid), None)

    def follow_up(self, qid: str) -> Question | None:
        """The follow-up question with this id, or None."""
        return next((q for q in self.follow_ups if q.id == qid), None)

    def section(self, section_id: str) -> Section | None:
        """The section with this id, or None."""
        return next((s for s in self.sections if s.id == section_id), None)

    def questions_for(self, leader: bool) -> tuple[Question, ...]:
        """The section questions a member is asked: leader-only ones only for leaders."""
        return tuple(q for q in self.questions() if leader or not q.leader_only)

    @property
    def family(self) -> str:
        """The form version a round names: the [form] family, or the pack's own id."""
        return (self.form.family if self.form is not None else "") or self.id

    def with_role(self, role: str) -> Question | None:
        """The question that plays ``role`` (see ROLES), or None."""
        return next((q for q in self.questions() if q.role == role), None)


# What can be wrong with a pack, one code per sentence of templates/pack_problems.toml.
ProblemCode = Literal[
    # the file itself
    "no_file", "unreadable", "not_utf8", "syntax_at", "syntax_at_end", "syntax",
    # the two packs together (load_packs) and a form family (bot.state.Forms)
    "not_checklist", "not_form", "pack_id_shared", "section_id_shared", "question_id_shared",
    "feeds_unknown", "family_category_twice", "family_category_missing",
    # keys and values
    "unknown_key", "unknown_key_close", "wrong_type", "missing_key", "empty", "empty_prompt",
    "not_nfc", "bad_id", "bad_option_id", "bad_option_set_name", "bad_feeds", "unknown_value",
    # pack structure
    "follow_ups_in_form", "follow_ups_empty", "no_sections", "duplicate_section_id",
    "no_questions", "no_follow_ups_table", "form_only", "no_form_table", "feeds_taken",
    "form_table_in_checklist",
    # [form]
    "code_subtitle_pair", "code_subtitle_exclusive", "missing_form_code", "no_categories",
    "empty_block", "annex_headers", "annex_max_rows", "annex_field_role", "annex_field_text",
    "annex_field_yes_no", "annex_fields", "role_taken", "role_score", "level_options",
    "role_yes_no", "fixed_options", "annex_without_table", "part_b_incomplete",
    # option sets
    "option_set_not_table", "duplicate_option_id", "severe_without_admits", "too_few_options",
    # questions
    "duplicate_question_id", "options_not_choice", "unknown_option_set", "no_option_sets",
    "choice_without_options", "score_bound_missing", "score_range", "bound_not_score",
    "text_only", "prefill_in_checklist", "member_label_alone", "leader_only_member",
    "official_in_form", "official_in_follow_up", "follow_up_key", "label_number",
    # official text
    "unknown_status", "partial_without_ellipsis", "partial_three_dots",
    "verified_with_ellipsis", "bad_source_url", "valid_to_before_from",
]
PROBLEM_CODES: tuple[str, ...] = get_args(ProblemCode)


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a pack: where (file, TOML key path), what (``code``) and the
    facts the wording needs (names, values, other key paths): no sentence, so any language
    can word it (``describe_problem``)."""

    file: str
    key: str  # TOML key path, e.g. "sections[0].questions[3].official.status"; "" for the file
    code: ProblemCode
    facts: dict[str, Any] = dataclass_field(default_factory=dict)

    def __str__(self) -> str:
        facts = ", ".join(f"{k}={v!r}" for k, v in self.facts.items())
        return f"{self.file}: {self.key}: {self.code}" + (f" ({facts})" if facts else "")


def describe_problem(problem: Problem, words: Mapping[str, Any]) -> str:
    """The problem as the operator reads it, without file and key: the sentence for its code
    in ``words`` (``templates/pack_problems.toml``), filled with its facts. Lists are joined
    with commas; ``expected`` names a type, ``got`` a kind of value and ``why`` the reason a
    key is required, each worded by its own table."""
    facts: dict[str, Any] = {}
    for name, value in problem.facts.items():
        facts[name] = ", ".join(value) if isinstance(value, (tuple, list)) else value
    if "expected" in facts:
        facts["expected"] = words["types"][facts["expected"]]
    if "got" in facts:
        facts["got"] = words["values"][facts["got"]].format(value=facts.get("value", ""))
    if "why" in facts:
        facts["why"] = words["why"][facts["why"]] if facts["why"] else ""
    return str(words["problems"][problem.code]).format(**facts)


class PackError(Exception):
    """A pack file could not be loaded; ``problems`` lists everything wrong with it."""

    def __init__(self, problems: tuple[Problem, ...] | list[Problem]) -> None:
        self.problems: tuple[Problem, ...] = tuple(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


@dataclass(frozen=True)
class CheckReport:
    """The outcome of checking one pack file, for the ``check`` command and tests.

    ``verified`` and ``partial`` count official texts by status (``single_source`` of the
    verified ones rest on one source); ``summaries`` counts checklist items that have no
    official text and are shown only as a team summary. For form packs, ``form_lines`` counts
    questions that print a line of the form, ``borrowed_lines`` those whose line was taken from
    elsewhere (``label_source``), ``score_questions`` the self-score questions.
    All are 0 when the pack failed to load.
    """

    path: Path
    pack: Pack | None
    problems: tuple[Problem, ...]
    verified: int
    partial: int
    summaries: int
    single_source: int = 0
    form_lines: int = 0
    borrowed_lines: int = 0
    score_questions: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems


# --------------------------------------------------------------------------------------
# Public entry points


def load_pack(path: Path) -> Pack:
    """Load and validate one pack file; raise PackError listing every problem found."""
    ctx = _Ctx(str(path))
    try:
        raw_bytes = path.read_bytes()
    except FileNotFoundError:
        ctx.add("", "no_file")
        raise PackError(ctx.problems) from None
    except OSError as exc:
        ctx.add("", "unreadable", reason=exc.strerror or str(exc))
        raise PackError(ctx.problems) from None
    try:
        text = raw_bytes.decode("utf-8")
    except UnicodeDecodeError as exc:
        ctx.add("", "not_utf8", byte=exc.start)
        raise PackError(ctx.problems) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        _syntax_problem(ctx, str(exc))
        raise PackError(ctx.problems) from None
    pack = _parse_pack(ctx, data)
    if ctx.problems or pack is None:
        raise PackError(ctx.problems)
    return pack


def check_pack_file(path: Path) -> CheckReport:
    """Check one pack file without raising: the pack (if it loads), problems and counts."""
    try:
        pack = load_pack(path)
    except PackError as exc:
        return CheckReport(path, None, exc.problems, 0, 0, 0)
    questions = pack.questions()
    officials = [q.official for q in questions if q.official is not None]
    summaries = (
        sum(1 for q in questions if q.official is None) if pack.kind == "checklist" else 0
    )
    return CheckReport(
        path=path,
        pack=pack,
        problems=(),
        verified=sum(1 for o in officials if o.status == "verified"),
        partial=sum(1 for o in officials if o.status == "partial"),
        summaries=summaries,
        single_source=sum(1 for o in officials if o.status == "verified" and o.single_source),
        form_lines=sum(1 for q in questions if q.form_label is not None),
        borrowed_lines=sum(1 for q in questions if q.label_source is not None),
        score_questions=sum(1 for q in questions if q.kind == "score"),
    )


def load_packs(checklist_path: Path, form_path: Path) -> tuple[Pack, Pack]:
    """Load the checklist pack and the form pack, and check they fit together.

    Besides each file's own rules: the first must be a checklist and the second a form,
    pack, section and question ids must be unique across both (answers are stored by
    question id), and every checklist ``feeds`` must name a form slot or prefill channel.
    """
    problems: list[Problem] = []
    packs: list[Pack | None] = []
    for path in (checklist_path, form_path):
        try:
            packs.append(load_pack(path))
        except PackError as exc:
            problems.extend(exc.problems)
            packs.append(None)
    checklist, form = packs
    if checklist is None or form is None:
        raise PackError(problems)

    c_file, f_file = str(checklist_path), str(form_path)
    if checklist.kind != "checklist":
        problems.append(Problem(c_file, "pack.kind", "not_checklist"))
    if form.kind != "form":
        problems.append(Problem(f_file, "pack.kind", "not_form"))
    if checklist.id == form.id:
        problems.append(Problem(f_file, "pack.id", "pack_id_shared", {"id": form.id}))

    checklist_ids = {s.id for s in checklist.sections}
    for i, s in enumerate(form.sections):
        if s.id in checklist_ids:
            problems.append(Problem(f_file, f"sections[{i}].id", "section_id_shared",
                                    {"id": s.id, "other": c_file}))
    checklist_qids = {q.id for q in (*checklist.questions(), *checklist.follow_ups)}
    for key, q in _question_paths(form):
        if q.id in checklist_qids:
            problems.append(Problem(f_file, f"{key}.id", "question_id_shared",
                                    {"id": q.id, "other": c_file}))

    targets = {q.feeds for q in form.questions()} | {
        q.prefill for q in form.questions() if q.prefill is not None
    }
    for key, q in _question_paths(checklist):
        if q.feeds not in targets:
            problems.append(Problem(c_file, f"{key}.feeds", "feeds_unknown", {
                "feeds": q.feeds, "slots": tuple(sorted(q.feeds for q in form.questions())),
                "prefills": PREFILLS}))
    if problems:
        raise PackError(problems)
    return checklist, form


# --------------------------------------------------------------------------------------
# Validation machinery


class _Ctx:
    """Collects problems for one file."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.problems: list[Problem] = []

    def add(self, key: str, code: ProblemCode, **facts: Any) -> None:
        self.problems.append(Problem(self.file, key, code, facts))


def _syntax_problem(ctx: _Ctx, raw: str) -> None:
    # tomllib says "Invalid value (at line 3, column 5)"; lead with the position. Its own
    # words (``detail``) are passed on as they are, like a config file's syntax error.
    m = re.match(r"^(.*) \(at line (\d+), column (\d+)\)$", raw, re.DOTALL)
    if m:
        ctx.add("", "syntax_at", line=int(m[2]), column=int(m[3]), detail=m[1])
        return
    m = re.match(r"^(.*) \(at end of document\)$", raw, re.DOTALL)
    if m:
        ctx.add("", "syntax_at_end", detail=m[1])
        return
    ctx.add("", "syntax", detail=raw)


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _got(value: object) -> dict[str, str]:
    """The facts of a wrongly typed value: its kind (worded by the ``values`` table of
    templates/pack_problems.toml) and the value as the file has it."""
    if isinstance(value, bool):
        return {"got": "bool", "value": str(value).lower()}
    if isinstance(value, str):
        return {"got": "string", "value": value}
    if isinstance(value, datetime):
        return {"got": "datetime", "value": value.isoformat()}
    if isinstance(value, date):
        return {"got": "date", "value": value.isoformat()}
    if isinstance(value, (int, float)):
        return {"got": "number", "value": str(value)}
    if isinstance(value, dict):
        return {"got": "table", "value": ""}
    if isinstance(value, list):
        return {"got": "list", "value": ""}
    return {"got": "other", "value": type(value).__name__}


def _type_ok(kind: str, value: object) -> bool:
    if kind == "str":
        return isinstance(value, str)
    if kind == "bool":
        return isinstance(value, bool)
    if kind == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "date":
        return isinstance(value, date) and not isinstance(value, datetime)
    if kind == "table":
        return isinstance(value, dict)
    if kind == "tables":
        return isinstance(value, list) and all(isinstance(v, dict) for v in value)
    if kind == "list":
        return isinstance(value, list)
    if kind == "strs":
        return isinstance(value, list) and all(isinstance(v, str) for v in value)
    raise ValueError(kind)


# Field specs: key -> (type, required, why: the code of the reason given when a required key
# is missing, worded by the ``why`` table of templates/pack_problems.toml; "" for none).
_Spec = dict[str, tuple[str, bool, str]]

_TOP: _Spec = {
    "pack": ("table", True, "pack"),
    "option_sets": ("table", False, ""),
    "sections": ("tables", True, "sections"),
    "follow_ups": ("tables", False, ""),
    "form": ("table", False, ""),
}
_PACK: _Spec = {
    "id": ("str", True, ""),
    "kind": ("str", True, "pack_kind"),
    "title": ("str", True, ""),
    "version": ("str", True, ""),
    "reference": ("str", False, ""),
}
_OPTION_SET: _Spec = {"options": ("tables", True, "options")}
_OPTION: _Spec = {
    "id": ("str", True, ""),
    "label": ("str", True, ""),
    "admits": ("bool", False, ""),
    "severe": ("bool", False, ""),
}
_SECTION: _Spec = {
    "id": ("str", True, ""),
    "title": ("str", True, ""),
    "note": ("str", False, ""),
    "part": ("str", False, ""),
    "form_note": ("str", False, ""),
    "questions": ("tables", True, "questions"),
}
_QUESTION: _Spec = {
    "id": ("str", True, ""),
    "kind": ("str", True, "question_kind"),
    "prompt": ("str", True, "prompt"),
    "feeds": ("str", True, "feeds"),
    "option_set": ("str", False, ""),
    "official": ("table", False, ""),
    "form_label": ("str", False, ""),
    "form_label_member": ("str", False, ""),
    "leader_only": ("bool", False, ""),
    "required": ("bool", False, ""),
    "prefill": ("str", False, ""),
    "check": ("str", False, ""),
    "min": ("int", False, ""),
    "max": ("int", False, ""),
    "follow_ups": ("bool", False, ""),
    "hint": ("str", False, ""),
    "number": ("str", False, ""),
    "number_member": ("str", False, ""),
    "role": ("str", False, ""),
    "guidance": ("strs", False, ""),
    "guidance_note": ("str", False, ""),
    "label_source": ("str", False, ""),
}
_OFFICIAL: _Spec = {
    "text": ("str", True, "official_text"),
    "status": ("str", True, "official_status"),
    "source_url": ("str", True, "source_url"),
    "retrieved": ("date", True, "retrieved"),
    "valid_from": ("date", False, ""),
    "valid_to": ("date", False, ""),
    "single_source": ("bool", False, ""),
}
_FORM: _Spec = {
    "title": ("str", True, ""),
    "code_leader": ("str", False, ""),
    "code_member": ("str", False, ""),
    "subtitle_leader": ("str", False, ""),
    "subtitle_member": ("str", False, ""),
    "template": ("str", False, ""),
    "code": ("str", False, ""),
    "subtitle": ("str", False, ""),
    "family": ("str", False, ""),
    "categories": ("strs", False, ""),
    "part_a_title": ("str", False, ""),
    "part_b_title": ("str", False, ""),
    "score_headers": ("strs", False, ""),
    "total_label": ("str", False, ""),
    "show_posts": ("bool", False, ""),
    "not_seen": ("strs", False, ""),
    "blocks": ("tables", False, ""),
    "annex": ("table", False, ""),
}
# Form keys that are plain strings, copied into FormMeta as they are.
_FORM_TEXTS = ("title", "code_leader", "code_member", "subtitle_leader", "subtitle_member",
               "template", "code", "subtitle", "family", "part_a_title", "part_b_title",
               "total_label")
_BLOCK: _Spec = {
    "heading": ("str", False, ""),
    "fields": ("strs", False, ""),
    "signer": ("str", False, ""),
    "signer_note": ("str", False, ""),
    "signer_name": ("bool", False, ""),
}
_ANNEX: _Spec = {
    "title": ("str", True, "annex_title"),
    "headers": ("strs", True, "annex_headers"),
    "counts": ("str", True, "annex_counts"),
    "max_rows": ("int", True, "annex_max_rows"),
    "fields": ("tables", True, "annex_fields"),
}
# Every reason a missing required key is given with (the ``why`` table).
WHY_CODES = frozenset(
    why for spec in (_TOP, _PACK, _OPTION_SET, _OPTION, _SECTION, _QUESTION, _OFFICIAL, _FORM,
                     _BLOCK, _ANNEX)
    for _, _, why in spec.values() if why
)


def _fields(ctx: _Ctx, table: dict[str, Any], path: str, spec: _Spec) -> dict[str, Any]:
    """Check a table's keys against ``spec``; return only the well-typed values."""
    values: dict[str, Any] = {}
    for key, value in table.items():
        if key not in spec:
            close = difflib.get_close_matches(key, list(spec), n=1, cutoff=0.6)
            if close:
                ctx.add(_join(path, key), "unknown_key_close", name=key, close=close[0])
            else:
                ctx.add(_join(path, key), "unknown_key", name=key, allowed=tuple(spec))
            continue
        kind = spec[key][0]
        if not _type_ok(kind, value):
            ctx.add(_join(path, key), "wrong_type", expected=kind, **_got(value))
            continue
        values[key] = value
    for key, (_, required, why) in spec.items():
        if required and key not in table:
            ctx.add(_join(path, key), "missing_key", name=key, why=why)
    return values


def _nonempty(ctx: _Ctx, values: dict[str, Any], path: str, *keys: str) -> None:
    for key in keys:
        value = values.get(key)
        if isinstance(value, str) and not value.strip():
            if key == "prompt":
                ctx.add(_join(path, key), "empty_prompt")
            else:
                ctx.add(_join(path, key), "empty", name=key)


def _strings(node: object, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(node, str):
        yield path, node
    elif isinstance(node, dict):
        for key, value in node.items():
            yield from _strings(value, _join(path, str(key)))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _strings(value, f"{path}[{i}]")


def _check_nfc(ctx: _Ctx, data: dict[str, Any]) -> None:
    for path, text in _strings(data, ""):
        if not unicodedata.is_normalized("NFC", text):
            ctx.add(path, "not_nfc")


def _check_id(
    ctx: _Ctx, path: str, value: object, pattern: re.Pattern[str], code: ProblemCode
) -> bool:
    if isinstance(value, str) and not pattern.match(value):
        ctx.add(path, code, value=value)
        return False
    return True


def _one_of(
    ctx: _Ctx, values: dict[str, Any], path: str, key: str, allowed: tuple[str, ...]
) -> None:
    value = values.get(key)
    if value is not None and value not in allowed:
        ctx.add(_join(path, key), "unknown_value", name=key, value=value, allowed=allowed)
        del values[key]


def _tables(values: dict[str, Any], path: str, key: str) -> Iterator[tuple[str, dict[str, Any]]]:
    for i, table in enumerate(values.get(key, [])):
        yield f"{_join(path, key)}[{i}]", table


# --------------------------------------------------------------------------------------
# The pack parser: validates and builds in one pass; the result is used only if no
# problem was recorded.


def _parse_pack(ctx: _Ctx, data: dict[str, Any]) -> Pack | None:
    _check_nfc(ctx, data)
    top = _fields(ctx, data, "", _TOP)
    head = _fields(ctx, top.get("pack", {}), "pack", _PACK) if "pack" in top else {}
    _nonempty(ctx, head, "pack", "title", "version")
    _check_id(ctx, "pack.id", head.get("id"), QID_RE, "bad_id")
    _one_of(ctx, head, "pack", "kind", PACK_KINDS)
    kind = head.get("kind")

    option_sets = _parse_option_sets(ctx, top.get("option_sets", {}))

    seen_qids: dict[str, str] = {}
    follow_ups: list[Question] = []
    if "follow_ups" in top and kind == "form":
        ctx.add("follow_ups", "follow_ups_in_form")
    elif "follow_ups" in top and not top["follow_ups"]:
        ctx.add("follow_ups", "follow_ups_empty")
    for path, table in _tables(top, "", "follow_ups"):
        q = _parse_question(ctx, table, path, "", kind, option_sets, seen_qids, follow_up=True)
        follow_ups.append(q)
    has_follow_ups = bool(follow_ups)

    sections: list[Section] = []
    seen_sections: dict[str, str] = {}
    if "sections" in top and not top["sections"]:
        ctx.add("sections", "no_sections")
    for path, table in _tables(top, "", "sections"):
        sv = _fields(ctx, table, path, _SECTION)
        _nonempty(ctx, sv, path, "title")
        sid = sv.get("id", "")
        if _check_id(ctx, f"{path}.id", sv.get("id"), QID_RE, "bad_id") and sid:
            if sid in seen_sections:
                first = seen_sections[sid]
                ctx.add(f"{path}.id", "duplicate_section_id", id=sid, first=first)
            seen_sections.setdefault(sid, f"{path}.id")
        if "questions" in sv and not sv["questions"]:
            ctx.add(f"{path}.questions", "no_questions")
        questions: list[Question] = []
        for qpath, qtable in _tables(sv, path, "questions"):
            q = _parse_question(
                ctx, qtable, qpath, sid, kind, option_sets, seen_qids, follow_up=False
            )
            if q.follow_ups and not has_follow_ups:
                ctx.add(f"{qpath}.follow_ups", "no_follow_ups_table")
            questions.append(q)
        part = sv.get("part")
        if part is not None and part not in ("A", "B"):
            ctx.add(f"{path}.part", "unknown_value", name="part", value=part, allowed=("A", "B"))
        if ("part" in sv or "form_note" in sv) and kind == "checklist":
            key = "part" if "part" in sv else "form_note"
            ctx.add(f"{path}.{key}", "form_only", name=key)
        sections.append(Section(sid, sv.get("title", ""), tuple(questions), sv.get("note"),
                                part, sv.get("form_note")))

    form: FormMeta | None = None
    if kind == "form":
        if "form" not in top:
            if "form" not in data:  # a wrong-typed [form] was already reported
                ctx.add("form", "no_form_table")
        else:
            form = _parse_form(ctx, top["form"], option_sets)
        _check_roles(ctx, sections, form)
        feeds_seen: dict[str, str] = {}
        for qpath, q in _question_paths_of(sections):
            if q.feeds in feeds_seen:
                ctx.add(f"{qpath}.feeds", "feeds_taken", feeds=q.feeds, first=feeds_seen[q.feeds])
            feeds_seen.setdefault(q.feeds, qpath)
    elif "form" in top:
        ctx.add("form", "form_table_in_checklist")
    else:
        for qpath, q in _question_paths_of(sections):
            if q.role is not None:
                ctx.add(f"{qpath}.role", "form_only", name="role")

    if ctx.problems or kind is None:
        return None
    return Pack(
        id=head["id"],
        kind=cast(Literal["checklist", "form"], kind),
        title=head["title"],
        version=head["version"],
        reference=head.get("reference"),
        sections=tuple(sections),
        follow_ups=tuple(follow_ups),
        form=form,
    )


def _parse_form(
    ctx: _Ctx, raw: dict[str, Any], option_sets: dict[str, tuple[Option, ...]]
) -> FormMeta:
    fv = _fields(ctx, raw, "form", _FORM)
    _nonempty(ctx, fv, "form", *(k for k in _FORM_TEXTS if k != "template"))
    pairs = ("code_leader", "code_member", "subtitle_leader", "subtitle_member")
    if "code" in fv or "subtitle" in fv:
        for key in ("code", "subtitle"):
            if key not in fv and key not in raw:
                ctx.add(f"form.{key}", "code_subtitle_pair", name=key)
        for key in pairs:
            if key in fv:
                ctx.add(f"form.{key}", "code_subtitle_exclusive", name=key)
    else:
        for key in pairs:
            if key not in fv and key not in raw:
                ctx.add(f"form.{key}", "missing_form_code", name=key)
    categories = tuple(fv.get("categories", CATEGORIES))
    for category in categories:
        if category not in CATEGORIES:
            ctx.add("form.categories", "unknown_value", name="category", value=category,
                    allowed=CATEGORIES)
    if not categories:
        ctx.add("form.categories", "no_categories")
    if "family" in fv:
        _check_id(ctx, "form.family", fv["family"], QID_RE, "bad_id")
    blocks = []
    for bpath, btable in _tables(fv, "form", "blocks"):
        bv = _fields(ctx, btable, bpath, _BLOCK)
        _nonempty(ctx, bv, bpath, "heading", "signer", "signer_note")
        if not (bv.get("fields") or bv.get("signer") or bv.get("heading")):
            ctx.add(bpath, "empty_block")
        blocks.append(Block(bv.get("heading", ""), tuple(bv.get("fields", ())),
                            bv.get("signer", ""), bv.get("signer_note", ""),
                            bv.get("signer_name", False)))
    annex = _parse_annex(ctx, fv["annex"], option_sets) if "annex" in fv else None
    texts = {k: fv.get(k, "") for k in _FORM_TEXTS}
    return FormMeta(**texts, categories=categories, score_headers=tuple(fv.get("score_headers",
                    ())), show_posts=fv.get("show_posts", True),
                    not_seen=tuple(fv.get("not_seen", ())), blocks=tuple(blocks), annex=annex)


def _yes_no(question: Question, *, allow_na: bool) -> bool:
    ids = {o.id for o in question.options}
    return {YES, NO} <= ids <= ({YES, NO, NOT_APPLICABLE} if allow_na else {YES, NO})


def _parse_annex(
    ctx: _Ctx, raw: dict[str, Any], option_sets: dict[str, tuple[Option, ...]]
) -> Annex:
    av = _fields(ctx, raw, "form.annex", _ANNEX)
    _nonempty(ctx, av, "form.annex", "title", "counts")
    if "headers" in av and len(av["headers"]) != 5:
        ctx.add("form.annex.headers", "annex_headers", count=len(av["headers"]))
    if "max_rows" in av and not 1 <= av["max_rows"] <= 100:
        ctx.add("form.annex.max_rows", "annex_max_rows", value=av["max_rows"])
    fields: list[Question] = []
    seen: dict[str, str] = {}
    for fpath, ftable in _tables(av, "form.annex", "fields"):
        q = _parse_question(ctx, ftable, fpath, "", "form", option_sets, seen, follow_up=True)
        if q.role not in ANNEX_ROLES:
            ctx.add(f"{fpath}.role", "annex_field_role", allowed=ANNEX_ROLES)
        elif q.role in ("task", "result") and q.kind != "text":
            ctx.add(f"{fpath}.kind", "annex_field_text", role=q.role)
        elif q.role not in ("task", "result") and not _yes_no(q, allow_na=False):
            ctx.add(f"{fpath}.option_set", "annex_field_yes_no", role=q.role)
        fields.append(q)
    roles = [f.role for f in fields]
    if "fields" in av and sorted(r for r in roles if r) != sorted(ANNEX_ROLES):
        ctx.add("form.annex.fields", "annex_fields", roles=ANNEX_ROLES)
    return Annex(av.get("title", ""), tuple(av.get("headers", ())), av.get("counts", ""),
                 av.get("max_rows", 0), tuple(fields))


def _check_roles(ctx: _Ctx, sections: list[Section], form: FormMeta | None) -> None:
    """Part B's questions: each role once, of the right kind, and the core three together."""
    seen: dict[str, str] = {}
    for qpath, q in _question_paths_of(sections):
        if q.role is None:
            continue
        if q.role not in ROLES:
            ctx.add(f"{qpath}.role", "unknown_value", name="role", value=q.role, allowed=ROLES)
            continue
        if q.role in seen:
            ctx.add(f"{qpath}.role", "role_taken", role=q.role, first=seen[q.role])
        seen.setdefault(q.role, qpath)
        if q.role.startswith("score_") and q.kind != "score":
            ctx.add(f"{qpath}.kind", "role_score", role=q.role)
        elif q.role == "level" and {o.id for o in q.options} != set(LEVEL_IDS):
            ctx.add(f"{qpath}.option_set", "level_options", ids=LEVEL_IDS)
        elif q.role in ("on_time", "exceeded", "annex") and not _yes_no(q, allow_na=False):
            ctx.add(f"{qpath}.option_set", "role_yes_no", role=q.role)
        elif q.role == "fixed" and not _yes_no(q, allow_na=True):
            ctx.add(f"{qpath}.option_set", "fixed_options")
        if q.role == "annex" and form is not None and form.annex is None:
            ctx.add(f"{qpath}.role", "annex_without_table")
    present = [r for r in PART_B_CORE if r in seen]
    if present and len(present) != len(PART_B_CORE):
        missing = [r for r in PART_B_CORE if r not in seen]
        ctx.add("sections", "part_b_incomplete", roles=PART_B_CORE, missing=tuple(missing))


def _parse_option_sets(ctx: _Ctx, raw: dict[str, Any]) -> dict[str, tuple[Option, ...]]:
    sets: dict[str, tuple[Option, ...]] = {}
    for name, table in raw.items():
        path = f"option_sets.{name}"
        _check_id(ctx, path, name, OPTION_SET_RE, "bad_option_set_name")
        if not isinstance(table, dict):
            ctx.add(path, "option_set_not_table", **_got(table))
            continue
        sv = _fields(ctx, table, path, _OPTION_SET)
        options: list[Option] = []
        seen: dict[str, str] = {}
        for opath, otable in _tables(sv, path, "options"):
            ov = _fields(ctx, otable, opath, _OPTION)
            _nonempty(ctx, ov, opath, "label")
            oid = ov.get("id", "")
            if _check_id(ctx, f"{opath}.id", ov.get("id"), OPTION_ID_RE, "bad_option_id") and oid:
                if oid in seen:
                    ctx.add(f"{opath}.id", "duplicate_option_id", id=oid, first=seen[oid])
                seen.setdefault(oid, f"{opath}.id")
            if ov.get("severe") and ov.get("admits") is not True:
                ctx.add(f"{opath}.severe", "severe_without_admits")
            options.append(
                Option(oid, ov.get("label", ""), ov.get("admits", False), ov.get("severe", False))
            )
        if "options" in sv and len(options) < 2:
            ctx.add(f"{path}.options", "too_few_options")
        sets[name] = tuple(options)
    return sets


def _parse_question(
    ctx: _Ctx,
    table: dict[str, Any],
    path: str,
    section_id: str,
    pack_kind: str | None,
    option_sets: dict[str, tuple[Option, ...]],
    seen_qids: dict[str, str],
    *,
    follow_up: bool,
) -> Question:
    v = _fields(ctx, table, path, _QUESTION)
    _nonempty(ctx, v, path, "prompt", "feeds", "form_label", "form_label_member", "hint",
              "guidance_note", "label_source")
    _nonempty(ctx, v, path, "number", "number_member")

    qid = v.get("id", "")
    if _check_id(ctx, f"{path}.id", v.get("id"), QID_RE, "bad_id") and qid:
        if qid in seen_qids:
            ctx.add(f"{path}.id", "duplicate_question_id", id=qid, first=seen_qids[qid])
        seen_qids.setdefault(qid, f"{path}.id")
    if v.get("feeds"):
        _check_id(ctx, f"{path}.feeds", v["feeds"], FEEDS_RE, "bad_feeds")

    _one_of(ctx, v, path, "kind", QUESTION_KINDS)
    _one_of(ctx, v, path, "prefill", PREFILLS)
    _one_of(ctx, v, path, "check", CHECKS)
    kind = v.get("kind")

    options: tuple[Option, ...] = ()
    if "option_set" in v:
        name = v["option_set"]
        if kind not in (None, "choice"):
            ctx.add(f"{path}.option_set", "options_not_choice", kind=kind)
        elif name not in option_sets and option_sets:
            ctx.add(f"{path}.option_set", "unknown_option_set", name=name,
                    known=tuple(option_sets))
        elif name not in option_sets:
            ctx.add(f"{path}.option_set", "no_option_sets", name=name)
        else:
            options = option_sets[name]
    elif kind == "choice" and "option_set" not in table:
        ctx.add(f"{path}.option_set", "choice_without_options")

    if kind == "score":
        for bound in ("min", "max"):
            if bound not in table:
                ctx.add(f"{path}.{bound}", "score_bound_missing", name=bound)
        if "min" in v and "max" in v and v["min"] >= v["max"]:
            ctx.add(f"{path}.max", "score_range", min=v["min"], max=v["max"])
    elif kind is not None:
        for bound in ("min", "max"):
            if bound in v:
                ctx.add(f"{path}.{bound}", "bound_not_score", name=bound, kind=kind)

    for key in ("prefill", "check"):
        if key in v and kind not in (None, "text"):
            ctx.add(_join(path, key), "text_only", name=key, kind=kind)
    if "prefill" in v and pack_kind == "checklist":
        ctx.add(f"{path}.prefill", "prefill_in_checklist")

    if "form_label_member" in v and "form_label" not in v:
        ctx.add(f"{path}.form_label_member", "member_label_alone")
    if v.get("leader_only") and ("number_member" in v or "form_label_member" in v):
        key = "number_member" if "number_member" in v else "form_label_member"
        ctx.add(f"{path}.{key}", "leader_only_member", name=key)
    _check_label_number(ctx, v, path, "form_label", "number")
    _check_label_number(ctx, v, path, "form_label_member", "number_member")

    official: OfficialText | None = None
    if "official" in v:
        if pack_kind == "form":
            ctx.add(f"{path}.official", "official_in_form")
        elif follow_up:
            ctx.add(f"{path}.official", "official_in_follow_up")
        else:
            official = _parse_official(ctx, v["official"], f"{path}.official")

    if follow_up:
        for key in ("follow_ups", "leader_only", "number", "number_member"):
            if v.get(key):
                ctx.add(f"{path}.{key}", "follow_up_key", name=key)

    return Question(
        id=qid,
        kind=cast(Literal["choice", "text", "score"], kind or "text"),
        prompt=v.get("prompt", ""),
        section_id=section_id,
        feeds=v.get("feeds", ""),
        options=options,
        official=official,
        form_label=v.get("form_label"),
        leader_only=v.get("leader_only", False),
        required=v.get("required", True),
        prefill=v.get("prefill"),
        check=v.get("check"),
        min=v.get("min"),
        max=v.get("max"),
        follow_ups=v.get("follow_ups", False),
        hint=v.get("hint"),
        number=v.get("number"),
        number_member=v.get("number_member"),
        form_label_member=v.get("form_label_member"),
        role=v.get("role"),
        guidance=tuple(v.get("guidance", ())),
        guidance_note=v.get("guidance_note"),
        label_source=v.get("label_source"),
    )


def _check_label_number(
    ctx: _Ctx, v: dict[str, Any], path: str, label_key: str, number_key: str
) -> None:
    # A form line such as "3. Việc thực hiện cam kết…" must agree with number "I.3".
    label, number = v.get(label_key), v.get(number_key)
    if not (isinstance(label, str) and isinstance(number, str)):
        return
    m = re.match(r"^(\d+)\. ", label)
    if m and m[1] != number.rsplit(".", 1)[-1]:
        ctx.add(f"{path}.{label_key}", "label_number", name=label_key, digit=m[1],
                number_key=number_key, number=number)


def _parse_official(ctx: _Ctx, table: dict[str, Any], path: str) -> OfficialText | None:
    v = _fields(ctx, table, path, _OFFICIAL)
    _nonempty(ctx, v, path, "text", "source_url")
    status = v.get("status")
    if status is not None and status not in OFFICIAL_STATUSES:
        ctx.add(f"{path}.status", "unknown_status", value=status, allowed=OFFICIAL_STATUSES)
    text = v.get("text", "")
    if status == "partial" and text and not text.rstrip().endswith(ELLIPSIS):
        ctx.add(f"{path}.text",
                "partial_three_dots" if text.endswith("...") else "partial_without_ellipsis")
    if status == "verified" and text.endswith((ELLIPSIS, "...")):
        ctx.add(f"{path}.text", "verified_with_ellipsis")
    url = v.get("source_url", "")
    if url and not re.match(r"^https?://\S+$", url):
        ctx.add(f"{path}.source_url", "bad_source_url", value=url)
    vf, vt = v.get("valid_from"), v.get("valid_to")
    if vf and vt and vf > vt:
        ctx.add(f"{path}.valid_to", "valid_to_before_from", valid_from=vf.isoformat(),
                valid_to=vt.isoformat())
    if not {"text", "status", "source_url", "retrieved"} <= v.keys() or status not in (
        OFFICIAL_STATUSES
    ):
        return None
    return OfficialText(
        text=text,
        status=cast(Literal["verified", "partial"], status),
        source_url=url,
        retrieved=v["retrieved"],
        valid_from=vf,
        valid_to=vt,
        single_source=v.get("single_source", False),
    )


def _question_paths_of(
    sections: list[Section] | tuple[Section, ...],
) -> Iterator[tuple[str, Question]]:
    for i, s in enumerate(sections):
        for j, q in enumerate(s.questions):
            yield f"sections[{i}].questions[{j}]", q


def _question_paths(pack: Pack) -> Iterator[tuple[str, Question]]:
    """Every question of a pack with its TOML key path, follow-ups included."""
    yield from _question_paths_of(pack.sections)
    for i, q in enumerate(pack.follow_ups):
        yield f"follow_ups[{i}]", q


__all__ = [
    "ANNEX_ROLES",
    "CATEGORIES",
    "CHECKS",
    "ELLIPSIS",
    "OFFICIAL_STATUSES",
    "OPTION_ID_RE",
    "PACK_KINDS",
    "PREFILLS",
    "PROBLEM_CODES",
    "QID_RE",
    "QUESTION_KINDS",
    "ROLES",
    "WHY_CODES",
    "Annex",
    "Block",
    "CheckReport",
    "FormMeta",
    "OfficialText",
    "Option",
    "Pack",
    "PackError",
    "Problem",
    "ProblemCode",
    "Question",
    "Section",
    "check_pack_file",
    "describe_problem",
    "load_pack",
    "load_packs",
]
