"""Checklist and form packs: the questions tusoi asks, loaded from TOML data files.

A *pack* is one TOML file. A ``checklist`` pack (``checklists/nq04-2016.toml``) holds the
27 manifestations the member examines; a ``form`` pack (``checklists/form-02-2023.toml``)
holds the sections of the individual self-review form. Deployers can replace either file
without touching code, so loading is strict: every problem in a file is reported at once,
each with the file, the TOML key path and a plain-English explanation.

The schema itself is documented in the comment block at the top of each pack file.
This module is core: it imports neither a channel nor storage.
"""

from __future__ import annotations

import difflib
import re
import tomllib
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal, cast

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


@dataclass(frozen=True)
class Problem:
    file: str
    key: str  # TOML key path, e.g. "sections[0].questions[3].official.status"
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.key}: {self.message}"


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
    except OSError as exc:
        ctx.add("(file)", f"cannot read the pack file: {exc.strerror or exc}")
        raise PackError(ctx.problems) from None
    try:
        text = raw_bytes.decode("utf-8")
    except UnicodeDecodeError as exc:
        ctx.add("(file)", f"the file is not valid UTF-8 (byte {exc.start}); save it as UTF-8")
        raise PackError(ctx.problems) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        ctx.add("(syntax)", _syntax_message(str(exc)))
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
        problems.append(Problem(c_file, "pack.kind", "expected a checklist pack here"))
    if form.kind != "form":
        problems.append(Problem(f_file, "pack.kind", "expected a form pack here"))
    if checklist.id == form.id:
        problems.append(
            Problem(f_file, "pack.id", f"pack id '{form.id}' is also the checklist pack's id")
        )

    checklist_ids = {s.id for s in checklist.sections}
    for i, s in enumerate(form.sections):
        if s.id in checklist_ids:
            problems.append(
                Problem(
                    f_file,
                    f"sections[{i}].id",
                    f"section id '{s.id}' is also used in {c_file}; ids must be unique "
                    "across both packs",
                )
            )
    checklist_qids = {q.id for q in (*checklist.questions(), *checklist.follow_ups)}
    for key, q in _question_paths(form):
        if q.id in checklist_qids:
            problems.append(
                Problem(
                    f_file,
                    f"{key}.id",
                    f"question id '{q.id}' is also used in {c_file}; ids must be unique "
                    "across both packs",
                )
            )

    targets = {q.feeds for q in form.questions()} | {
        q.prefill for q in form.questions() if q.prefill is not None
    }
    for key, q in _question_paths(checklist):
        if q.feeds not in targets:
            problems.append(
                Problem(
                    c_file,
                    f"{key}.feeds",
                    f"feeds '{q.feeds}' names nothing in the form pack; use a form question's "
                    f"feeds ({', '.join(sorted(q.feeds for q in form.questions()))}) "
                    f"or a prefill channel ({', '.join(PREFILLS)})",
                )
            )
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

    def add(self, key: str, message: str) -> None:
        self.problems.append(Problem(self.file, key, message))


def _syntax_message(raw: str) -> str:
    # tomllib says "Invalid value (at line 3, column 5)"; lead with the position.
    m = re.match(r"^(.*) \(at line (\d+), column (\d+)\)$", raw, re.DOTALL)
    if m:
        return f"TOML syntax error at line {m[2]}, column {m[3]}: {m[1]}"
    m = re.match(r"^(.*) \(at end of document\)$", raw, re.DOTALL)
    if m:
        return f"TOML syntax error at the end of the file: {m[1]}"
    return f"TOML syntax error: {raw}"


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


_TYPE_NAMES = {
    "str": "a string in quotes",
    "strs": "a list of strings [\"…\", \"…\"]",
    "bool": "true or false",
    "int": "a whole number",
    "date": "a date like 2026-11-23 (no quotes)",
    "table": "a table",
    "tables": "a list of tables (written [[...]])",
    "list": "a list [...]",
}


def _describe(value: object) -> str:
    if isinstance(value, bool):
        return f"{str(value).lower()}"
    if isinstance(value, str):
        return f"the string {value!r}"
    if isinstance(value, datetime):
        return "a date with a time"
    if isinstance(value, date):
        return f"the date {value.isoformat()}"
    if isinstance(value, int):
        return f"the number {value}"
    if isinstance(value, float):
        return f"the number {value}"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "a list"
    return type(value).__name__


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


# Field specs: key -> (type, required, explanation used when the key is missing).
_Spec = dict[str, tuple[str, bool, str]]

_TOP: _Spec = {
    "pack": ("table", True, "every pack starts with a [pack] table"),
    "option_sets": ("table", False, ""),
    "sections": ("tables", True, "a pack needs at least one [[sections]] table"),
    "follow_ups": ("tables", False, ""),
    "form": ("table", False, ""),
}
_PACK: _Spec = {
    "id": ("str", True, ""),
    "kind": ("str", True, "say whether this is a checklist or a form pack"),
    "title": ("str", True, ""),
    "version": ("str", True, ""),
    "reference": ("str", False, ""),
}
_OPTION_SET: _Spec = {"options": ("tables", True, "an option set lists its options")}
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
    "questions": ("tables", True, "a section needs at least one [[sections.questions]]"),
}
_QUESTION: _Spec = {
    "id": ("str", True, ""),
    "kind": ("str", True, "choice, text or score"),
    "prompt": ("str", True, "the short question the member is asked"),
    "feeds": ("str", True, "where the answer goes in the draft, e.g. \"I.1\""),
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
    "text": ("str", True, "the official wording, copied exactly"),
    "status": ("str", True, "verified or partial"),
    "source_url": ("str", True, "official text must say where it was copied from"),
    "retrieved": ("date", True, "official text must say when it was copied"),
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
    "template": ("str", False, "the Word template this form is printed with"),
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
    "title": ("str", True, "the annex's heading in the draft"),
    "headers": ("strs", True, "the table's five column headings"),
    "counts": ("str", True, "the line under the table, with {total} {on_time} {exceeded} {late}"),
    "max_rows": ("int", True, "the most tasks a member may list"),
    "fields": ("tables", True, "the questions asked for each task"),
}


def _fields(ctx: _Ctx, table: dict[str, Any], path: str, spec: _Spec) -> dict[str, Any]:
    """Check a table's keys against ``spec``; return only the well-typed values."""
    values: dict[str, Any] = {}
    for key, value in table.items():
        if key not in spec:
            close = difflib.get_close_matches(key, list(spec), n=1, cutoff=0.6)
            hint = f"; did you mean '{close[0]}'?" if close else f"; allowed: {', '.join(spec)}"
            ctx.add(_join(path, key), f"unknown key '{key}'{hint}")
            continue
        kind = spec[key][0]
        if not _type_ok(kind, value):
            ctx.add(_join(path, key), f"expected {_TYPE_NAMES[kind]}, got {_describe(value)}")
            continue
        values[key] = value
    for key, (_, required, why) in spec.items():
        if required and key not in table:
            ctx.add(_join(path, key), f"missing required key '{key}'" + (f": {why}" if why else ""))
    return values


def _nonempty(ctx: _Ctx, values: dict[str, Any], path: str, *keys: str) -> None:
    for key in keys:
        value = values.get(key)
        if isinstance(value, str) and not value.strip():
            what = "prompt: write a short question for the member" if key == "prompt" else key
            ctx.add(_join(path, key), f"empty {what}")


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
            ctx.add(
                path,
                "text is not Unicode NFC (Vietnamese letters stored as separate accent marks); "
                "re-save it normalised to NFC",
            )


def _check_id(ctx: _Ctx, path: str, value: object, pattern: re.Pattern[str], what: str) -> bool:
    if isinstance(value, str) and not pattern.match(value):
        ctx.add(path, f"bad {what} {value!r}: {_ID_RULES[what]}")
        return False
    return True


_ID_RULES = {
    "id": "use 1-16 ASCII letters, digits, '-' or '_', starting with a letter or digit",
    "option id": "use 1-12 lower-case ASCII letters, digits, '-' or '_'",
    "option set name": "use ASCII letters, digits, '-' or '_', starting with a letter",
    "feeds": "use a short ASCII name like \"I.1\" or \"shortcomings\"",
}


def _one_of(
    ctx: _Ctx, values: dict[str, Any], path: str, key: str, allowed: tuple[str, ...]
) -> None:
    value = values.get(key)
    if value is not None and value not in allowed:
        ctx.add(_join(path, key), f"unknown {key} {value!r}; use one of: {', '.join(allowed)}")
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
    _check_id(ctx, "pack.id", head.get("id"), QID_RE, "id")
    _one_of(ctx, head, "pack", "kind", PACK_KINDS)
    kind = head.get("kind")

    option_sets = _parse_option_sets(ctx, top.get("option_sets", {}))

    seen_qids: dict[str, str] = {}
    follow_ups: list[Question] = []
    if "follow_ups" in top and kind == "form":
        ctx.add("follow_ups", "only checklist packs may have [[follow_ups]] questions")
    elif "follow_ups" in top and not top["follow_ups"]:
        ctx.add("follow_ups", "follow_ups is empty; remove it or add questions")
    for path, table in _tables(top, "", "follow_ups"):
        q = _parse_question(ctx, table, path, "", kind, option_sets, seen_qids, follow_up=True)
        follow_ups.append(q)
    has_follow_ups = bool(follow_ups)

    sections: list[Section] = []
    seen_sections: dict[str, str] = {}
    if "sections" in top and not top["sections"]:
        ctx.add("sections", "a pack needs at least one [[sections]] table")
    for path, table in _tables(top, "", "sections"):
        sv = _fields(ctx, table, path, _SECTION)
        _nonempty(ctx, sv, path, "title")
        sid = sv.get("id", "")
        if _check_id(ctx, f"{path}.id", sv.get("id"), QID_RE, "id") and sid:
            if sid in seen_sections:
                first = seen_sections[sid]
                ctx.add(f"{path}.id", f"duplicate section id '{sid}' (first at {first})")
            seen_sections.setdefault(sid, f"{path}.id")
        if "questions" in sv and not sv["questions"]:
            ctx.add(f"{path}.questions", "a section needs at least one question")
        questions: list[Question] = []
        for qpath, qtable in _tables(sv, path, "questions"):
            q = _parse_question(
                ctx, qtable, qpath, sid, kind, option_sets, seen_qids, follow_up=False
            )
            if q.follow_ups and not has_follow_ups:
                ctx.add(
                    f"{qpath}.follow_ups",
                    "follow_ups = true but the pack has no [[follow_ups]] questions to ask",
                )
            questions.append(q)
        part = sv.get("part")
        if part is not None and part not in ("A", "B"):
            ctx.add(f"{path}.part", f"unknown part {part!r}; use \"A\" or \"B\"")
        if ("part" in sv or "form_note" in sv) and kind == "checklist":
            key = "part" if "part" in sv else "form_note"
            ctx.add(f"{path}.{key}", f"{key} belongs in form packs")
        sections.append(Section(sid, sv.get("title", ""), tuple(questions), sv.get("note"),
                                part, sv.get("form_note")))

    form: FormMeta | None = None
    if kind == "form":
        if "form" not in top:
            if "form" not in data:  # a wrong-typed [form] was already reported
                ctx.add("form", "a form pack needs a [form] table: title, codes and subtitles")
        else:
            form = _parse_form(ctx, top["form"], option_sets)
        _check_roles(ctx, sections, form)
        feeds_seen: dict[str, str] = {}
        for qpath, q in _question_paths_of(sections):
            if q.feeds in feeds_seen:
                ctx.add(
                    f"{qpath}.feeds",
                    f"feeds '{q.feeds}' is already used by {feeds_seen[q.feeds]}; "
                    "each form question fills its own slot",
                )
            feeds_seen.setdefault(q.feeds, qpath)
    elif "form" in top:
        ctx.add("form", "only form packs may have a [form] table")
    else:
        for qpath, q in _question_paths_of(sections):
            if q.role is not None:
                ctx.add(f"{qpath}.role", "role belongs in form packs")

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
                ctx.add(f"form.{key}", f"missing {key}: give code and subtitle together")
        for key in pairs:
            if key in fv:
                ctx.add(f"form.{key}", f"{key} and code/subtitle exclude each other: use one")
    else:
        for key in pairs:
            if key not in fv and key not in raw:
                ctx.add(f"form.{key}", f"missing {key}: give code and subtitle (one form for "
                        "everyone) or the four code_/subtitle_ leader and member keys")
    categories = tuple(fv.get("categories", CATEGORIES))
    for category in categories:
        if category not in CATEGORIES:
            ctx.add("form.categories", f"unknown category {category!r}; use one of: "
                    f"{', '.join(CATEGORIES)}")
    if not categories:
        ctx.add("form.categories", "name at least one category of member")
    if "family" in fv:
        _check_id(ctx, "form.family", fv["family"], QID_RE, "id")
    blocks = []
    for bpath, btable in _tables(fv, "form", "blocks"):
        bv = _fields(ctx, btable, bpath, _BLOCK)
        _nonempty(ctx, bv, bpath, "heading", "signer", "signer_note")
        if not (bv.get("fields") or bv.get("signer") or bv.get("heading")):
            ctx.add(bpath, "an empty block: give a heading, fields or a signer")
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
        ctx.add("form.annex.headers", "give five column headings: number, task, result, "
                "on time, exceeded")
    if "max_rows" in av and not 1 <= av["max_rows"] <= 100:
        ctx.add("form.annex.max_rows", "expected a number from 1 to 100")
    fields: list[Question] = []
    seen: dict[str, str] = {}
    for fpath, ftable in _tables(av, "form.annex", "fields"):
        q = _parse_question(ctx, ftable, fpath, "", "form", option_sets, seen, follow_up=True)
        if q.role not in ANNEX_ROLES:
            ctx.add(f"{fpath}.role", f"an annex field needs a role: one of {', '.join(ANNEX_ROLES)}")
        elif q.role in ("task", "result") and q.kind != "text":
            ctx.add(f"{fpath}.kind", f"the {q.role} field is a text question")
        elif q.role not in ("task", "result") and not _yes_no(q, allow_na=False):
            ctx.add(f"{fpath}.option_set", f"the {q.role} field needs options with ids yes, no")
        fields.append(q)
    roles = [f.role for f in fields]
    if "fields" in av and sorted(r for r in roles if r) != sorted(ANNEX_ROLES):
        ctx.add("form.annex.fields", f"give each of {', '.join(ANNEX_ROLES)} exactly once")
    return Annex(av.get("title", ""), tuple(av.get("headers", ())), av.get("counts", ""),
                 av.get("max_rows", 0), tuple(fields))


def _check_roles(ctx: _Ctx, sections: list[Section], form: FormMeta | None) -> None:
    """Part B's questions: each role once, of the right kind, and the core three together."""
    seen: dict[str, str] = {}
    for qpath, q in _question_paths_of(sections):
        if q.role is None:
            continue
        if q.role not in ROLES:
            ctx.add(f"{qpath}.role", f"unknown role {q.role!r}; use one of: {', '.join(ROLES)}")
            continue
        if q.role in seen:
            ctx.add(f"{qpath}.role", f"role '{q.role}' is already played by {seen[q.role]}")
        seen.setdefault(q.role, qpath)
        if q.role.startswith("score_") and q.kind != "score":
            ctx.add(f"{qpath}.kind", f"the {q.role} question is a score question")
        elif q.role == "level" and {o.id for o in q.options} != set(LEVEL_IDS):
            ctx.add(f"{qpath}.option_set", f"the level question needs options with ids "
                    f"{', '.join(LEVEL_IDS)}")
        elif q.role in ("on_time", "exceeded", "annex") and not _yes_no(q, allow_na=False):
            ctx.add(f"{qpath}.option_set", f"the {q.role} question needs options with ids yes, no")
        elif q.role == "fixed" and not _yes_no(q, allow_na=True):
            ctx.add(f"{qpath}.option_set", "the fixed question needs options with ids yes, no "
                    "and optionally na")
        if q.role == "annex" and form is not None and form.annex is None:
            ctx.add(f"{qpath}.role", "an annex question needs a [form.annex] table")
    present = [r for r in PART_B_CORE if r in seen]
    if present and len(present) != len(PART_B_CORE):
        missing = [r for r in PART_B_CORE if r not in seen]
        ctx.add("sections", f"part B needs {', '.join(PART_B_CORE)} together; missing: "
                f"{', '.join(missing)}")


def _parse_option_sets(ctx: _Ctx, raw: dict[str, Any]) -> dict[str, tuple[Option, ...]]:
    sets: dict[str, tuple[Option, ...]] = {}
    for name, table in raw.items():
        path = f"option_sets.{name}"
        _check_id(ctx, path, name, OPTION_SET_RE, "option set name")
        if not isinstance(table, dict):
            ctx.add(path, f"expected a table with an options list, got {_describe(table)}")
            continue
        sv = _fields(ctx, table, path, _OPTION_SET)
        options: list[Option] = []
        seen: dict[str, str] = {}
        for opath, otable in _tables(sv, path, "options"):
            ov = _fields(ctx, otable, opath, _OPTION)
            _nonempty(ctx, ov, opath, "label")
            oid = ov.get("id", "")
            if _check_id(ctx, f"{opath}.id", ov.get("id"), OPTION_ID_RE, "option id") and oid:
                if oid in seen:
                    ctx.add(f"{opath}.id", f"duplicate option id '{oid}' (first at {seen[oid]})")
                seen.setdefault(oid, f"{opath}.id")
            if ov.get("severe") and ov.get("admits") is not True:
                ctx.add(f"{opath}.severe", "a severe option must also have admits = true")
            options.append(
                Option(oid, ov.get("label", ""), ov.get("admits", False), ov.get("severe", False))
            )
        if "options" in sv and len(options) < 2:
            ctx.add(f"{path}.options", "an option set needs at least two options")
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
    if _check_id(ctx, f"{path}.id", v.get("id"), QID_RE, "id") and qid:
        if qid in seen_qids:
            ctx.add(f"{path}.id", f"duplicate question id '{qid}' (first at {seen_qids[qid]})")
        seen_qids.setdefault(qid, f"{path}.id")
    if v.get("feeds"):
        _check_id(ctx, f"{path}.feeds", v["feeds"], FEEDS_RE, "feeds")

    _one_of(ctx, v, path, "kind", QUESTION_KINDS)
    _one_of(ctx, v, path, "prefill", PREFILLS)
    _one_of(ctx, v, path, "check", CHECKS)
    kind = v.get("kind")

    options: tuple[Option, ...] = ()
    if "option_set" in v:
        name = v["option_set"]
        if kind not in (None, "choice"):
            ctx.add(f"{path}.option_set", f"only choice questions have options, not {kind}")
        elif name not in option_sets:
            known = ", ".join(option_sets) or "none defined"
            ctx.add(f"{path}.option_set", f"unknown option_set '{name}' (known: {known})")
        else:
            options = option_sets[name]
    elif kind == "choice" and "option_set" not in table:
        ctx.add(f"{path}.option_set", "a choice question needs option_set naming its options")

    if kind == "score":
        for bound in ("min", "max"):
            if bound not in table:
                ctx.add(f"{path}.{bound}", f"a score question needs {bound}")
        if "min" in v and "max" in v and v["min"] >= v["max"]:
            ctx.add(f"{path}.max", f"max ({v['max']}) must be greater than min ({v['min']})")
    elif kind is not None:
        for bound in ("min", "max"):
            if bound in v:
                ctx.add(f"{path}.{bound}", f"{bound} applies only to score questions, not {kind}")

    for key in ("prefill", "check"):
        if key in v and kind not in (None, "text"):
            ctx.add(f"{_join(path, key)}", f"{key} applies only to text questions, not {kind}")
    if "prefill" in v and pack_kind == "checklist":
        ctx.add(f"{path}.prefill", "prefill belongs in form packs; checklist answers feed it")

    if "form_label_member" in v and "form_label" not in v:
        ctx.add(f"{path}.form_label_member", "form_label_member needs form_label as well")
    if v.get("leader_only") and ("number_member" in v or "form_label_member" in v):
        key = "number_member" if "number_member" in v else "form_label_member"
        ctx.add(f"{path}.{key}", "a leader_only question is never shown to other members")
    _check_label_number(ctx, v, path, "form_label", "number")
    _check_label_number(ctx, v, path, "form_label_member", "number_member")

    official: OfficialText | None = None
    if "official" in v:
        if pack_kind == "form":
            ctx.add(
                f"{path}.official",
                "official text belongs in checklist packs; a form pack quotes the form "
                "through form_label",
            )
        elif follow_up:
            ctx.add(f"{path}.official", "follow-up questions have no official text")
        else:
            official = _parse_official(ctx, v["official"], f"{path}.official")

    if follow_up:
        for key in ("follow_ups", "leader_only", "number", "number_member"):
            if v.get(key):
                ctx.add(f"{path}.{key}", f"{key} does not apply to a follow-up question")

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
        ctx.add(
            f"{path}.{label_key}",
            f"{label_key} starts with '{m[1]}.' but {number_key} is '{number}'",
        )


def _parse_official(ctx: _Ctx, table: dict[str, Any], path: str) -> OfficialText | None:
    v = _fields(ctx, table, path, _OFFICIAL)
    _nonempty(ctx, v, path, "text", "source_url")
    status = v.get("status")
    if status is not None and status not in OFFICIAL_STATUSES:
        ctx.add(
            f"{path}.status",
            f"unknown status {status!r}: only verified or partial wording may be shipped; "
            "for anything else remove official and rely on the team's summary prompt",
        )
    text = v.get("text", "")
    if status == "partial" and text and not text.rstrip().endswith(ELLIPSIS):
        dots = " (use the single character '…', not '...')" if text.endswith("...") else ""
        ctx.add(
            f"{path}.text",
            f"partial official text must end with '…' to show it is incomplete{dots}",
        )
    if status == "verified" and text.endswith((ELLIPSIS, "...")):
        ctx.add(
            f"{path}.text",
            "verified text ends with an ellipsis; if it is incomplete, set status = \"partial\"",
        )
    url = v.get("source_url", "")
    if url and not re.match(r"^https?://\S+$", url):
        ctx.add(f"{path}.source_url", "source_url must be a full http:// or https:// address")
    vf, vt = v.get("valid_from"), v.get("valid_to")
    if vf and vt and vf > vt:
        ctx.add(f"{path}.valid_to", f"valid_to ({vt}) is before valid_from ({vf})")
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
    "QID_RE",
    "QUESTION_KINDS",
    "ROLES",
    "Annex",
    "Block",
    "CheckReport",
    "FormMeta",
    "OfficialText",
    "Option",
    "Pack",
    "PackError",
    "Problem",
    "Question",
    "Section",
    "check_pack_file",
    "load_pack",
    "load_packs",
]
