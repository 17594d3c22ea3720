"""The cell secretary's desk: who is done, nudges, drafts, decisions, points, invites.

Every entry point takes the acting member and checks, here and nowhere else, that they
are an officer of the target's cell (``may_manage``). A member of another cell and a
member that does not exist get the same answer, so nothing leaks about other cells.
Whatever the desk tells a member (a returned draft, a point, a «nhắc») is queued in the
outbox in the same transaction (``bot.delivery``); the officer's reply is the return value.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from bot import flow
from bot.access import may_manage
from bot.bundle import BundleMember, build_bundle, proposal_inputs, review_facts
from bot.delivery import Notice, NoticeQueue
from bot.errors import DeskNoRound, NoSuchMember, NotOfficer
from bot.models import (
    Answer, Category, Member, MemberProgress, ReviewItem, Round, Standing, is_officer,
)
from bot.operations import Operations
from bot.ports import Clock, DeskStore
from bot.proposal import propose
from bot.roster import RosterPreview, Unrecognised, describe_file_problem, describe_problem
from bot.roster import parse_category
from bot.roster import parse_standing
from bot.rules import REVIEWED
from bot.screens import (
    CELL_WIDE, Button, DeskAction, Document, Press, Screen, SubmissionRef, desk_press,
)
from bot.state import Forms, own_questions, steps_from
from bot.text import clean_text
from bot.words import Words

__all__ = ["CATEGORY_CHOICES", "Desk", "DeskSettings", "ReadRoster", "is_officer",
           "may_manage", "status_of"]

# What the secretary may type or press on the card's "change category" screen: the three
# categories, then the two standings that mean "not reviewed", then "normal" again.
CATEGORY_CHOICES: tuple[Category, ...] = (Category.LEADER, Category.NO_POST, Category.OUTSIDE)
STANDING_CHOICES: tuple[Standing | None, ...] = (Standing.EXEMPTED, Standing.SUSPENDED, None)


def status_of(line: MemberProgress) -> str:
    """not_linked / not_started / in_progress / submitted / returned / accepted."""
    review = line.review
    if review is not None and review.submitted_version:
        if review.decision in ("returned", "accepted"):
            return review.decision
        if review.status == "submitted":
            return "submitted"
    if not line.linked:
        return "not_linked"
    if review is None or line.answered == 0:
        return "not_started"
    return "in_progress"


DONE = frozenset({"submitted", "accepted"})
# Reads a roster file: (file name, bytes, max rows, today) -> what importing it would do.
ReadRoster = Callable[[str, bytes, int, date], Awaitable[RosterPreview]]


@dataclass(frozen=True)
class DeskSettings:
    bundle_texts: Mapping[str, Any] = field(default_factory=dict)  # templates/bundle.toml
    # Reads a roster file (name, bytes, max rows, today); the wiring gives one that runs in a
    # child process with a memory and time bound. None: Operations.read_roster in a thread.
    read_roster: ReadRoster | None = None


def button(label: str, desk: DeskAction, target: int = 0, arg: str = "") -> Button:
    return Button(label, desk_press(desk, target, arg))


CANCEL = ((button("cancel", DeskAction.CANCEL),),)
TRACKER = ((button("tracker", DeskAction.TRACKER),),)

Handler = Callable[[Member, Press, Round | None, RosterPreview | None], Awaitable[list[Screen]]]
OnTarget = Callable[[Member, Member, Press, Round | None], Awaitable[list[Screen]]]


@dataclass(frozen=True)
class _CellRead:
    """A cell's round as the tracker, a card and the bundle read it: four queries however
    large the cell (the members, every answer, every own point, the collective ones)."""

    progress: list[MemberProgress]
    answers: Mapping[int, Mapping[str, Answer]]
    items: Mapping[int, Sequence[ReviewItem]]
    collective: Sequence[ReviewItem]

    def answers_of(self, line: MemberProgress) -> Mapping[str, Answer]:
        return self.answers.get(line.review.id, {}) if line.review else {}

    def steps_of(self, forms: Forms, words: Words, line: MemberProgress,
                 round_: Round) -> list[flow.Step]:
        """The member's questions, as their answers and points shape them."""
        return steps_from(forms, line.member, round_, self.answers_of(line), own_questions(
            forms, words, line.member, round_, self.items.get(line.member.id, []),
            self.collective))


class Desk:
    def __init__(self, store: DeskStore, notices: NoticeQueue, clock: Clock, forms: Forms,
                 words: Words, settings: DeskSettings, operations: Operations) -> None:
        self.store = store
        self.notices = notices
        self.operations = operations
        self.clock = clock
        self.forms = forms
        self.words = words
        self.settings = settings
        self._cell_wide: dict[DeskAction, Handler] = {
            DeskAction.TRACKER: lambda a, p, r, x: self._tracker(a, r),
            DeskAction.COLLECTIVE: lambda a, p, r, x: self._ask_collective(a, r),
            DeskAction.CANCEL: lambda a, p, r, x: self._cancel(a),
            DeskAction.REMIND_ALL: lambda a, p, r, x: self._remind(a, r, None),
            DeskAction.BUNDLE: lambda a, p, r, x: self._bundle(a, r),
            DeskAction.ROSTER_OK: lambda a, p, r, x: self._roster_decision(a, p.target, True, x),
            DeskAction.ROSTER_NO: lambda a, p, r, x: self._roster_decision(a, p.target, False, x),
        }
        self._on_target: dict[DeskAction, OnTarget] = {
            DeskAction.MEMBER: lambda a, t, p, r: self._card(a, t, r),
            DeskAction.REMIND: lambda a, t, p, r: self._remind(a, r, t),
            DeskAction.INVITE: lambda a, t, p, r: self._invite(t),
            DeskAction.REVOKE: lambda a, t, p, r: self._revoke(t),
            DeskAction.CATEGORY: lambda a, t, p, r: self._ask_category_for(a, t, r),
            DeskAction.SET_CATEGORY: lambda a, t, p, r: self._set_category(a, t, r, p.desk,
                                                                           p.arg),
            DeskAction.SET_STANDING: lambda a, t, p, r: self._set_category(a, t, r, p.desk,
                                                                           p.arg),
            DeskAction.REMOVE: lambda a, t, p, r: self._confirm_remove(t),
            DeskAction.CONFIRM_REMOVE: lambda a, t, p, r: self._remove(a, t),
            DeskAction.POINT: lambda a, t, p, r: self._ask_point(a, t, r),
            DeskAction.DRAFT: lambda a, t, p, r: self._draft(a, t, r),
            DeskAction.RETURN: lambda a, t, p, r: self._ask_return(a, t, r),
            DeskAction.ACCEPT: lambda a, t, p, r: self._accept(a, t, r),
        }

    # ----------------------------------------------------------------- entry points

    async def press(self, actor: Member, press: Press,
                    roster: RosterPreview | None = None) -> list[Screen]:
        """A desk button, command, or typed number or keyword. ``roster`` is the roster
        being confirmed, read beforehand (``preview``)."""
        if not is_officer(actor):
            raise NotOfficer()
        if press.desk is None:
            raise NoSuchMember()
        round_ = await self.store.open_round(actor.cell_id)
        if press.desk in CELL_WIDE or press.desk in (DeskAction.ROSTER_OK, DeskAction.ROSTER_NO):
            return await self._cell_wide[press.desk](actor, press, round_, roster)
        target = await self.store.member(press.target)
        if target is None or not may_manage(actor, target):
            raise NoSuchMember()
        if not target.active:
            return [Screen("secretary/member_removed", {"name": target.full_name})]
        return await self._on_target[press.desk](actor, target, press, round_)

    async def text(self, actor: Member, kind: str, target_id: int | None,
                   raw: str) -> list[Screen]:
        """The officer's typed answer to the desk's last question (a comment, a point…)."""
        text = clean_text(raw)
        if not text:
            return [Screen("review/empty_text")]
        now = self.clock.now()
        if kind == "category":
            return await self._typed_category(actor, target_id, text)
        round_ = await self.store.open_round(actor.cell_id)
        await self.store.set_officer_prompt(actor.id, None, None, now)
        if round_ is None or not is_officer(actor):
            raise DeskNoRound()
        if kind == "collective":
            await self.store.add_collective_shortcoming(round_.id, text, actor.id, now)
            return [Screen("secretary/collective_added")]
        target = await self.store.member(target_id or 0)
        if not may_manage(actor, target) or target is None or not target.active:
            raise NoSuchMember()
        if kind == "point":
            await self.store.add_review_item(round_.id, target.id, "suggestion", text, actor.id,
                                             now)
            await self._tell(target, "review/new_point", {}, round_)
            return [Screen("secretary/point_added", {"name": target.full_name})]
        review = await self.store.review_for(round_.id, target.id)
        if kind == "return" and review is not None and review.submitted_version:
            await self.store.set_decision(review.id, "returned", text, actor.id, now)
            await self.store.log_access(actor.id, "return", target.id, now)
            await self._tell(target, "review/returned",
                             {"comment": text, "version": review.submitted_version}, round_)
            return [Screen("secretary/returned", {"name": target.full_name})]
        return [Screen("secretary/no_draft", {"name": target.full_name})]

    # ----------------------------------------------------------------- simple actions

    async def _ask_collective(self, actor: Member, round_: Round | None) -> list[Screen]:
        if round_ is None:
            raise DeskNoRound()
        await self.store.set_officer_prompt(actor.id, "collective", None, self.clock.now())
        return [Screen("secretary/ask_collective", buttons=CANCEL)]

    async def _cancel(self, actor: Member) -> list[Screen]:
        await self.store.set_officer_prompt(actor.id, None, None, self.clock.now())
        return [Screen("secretary/cancelled")]

    async def _revoke(self, target: Member) -> list[Screen]:
        await self.operations.revoke_invites(target)
        return [Screen("secretary/invite_revoked", {"name": target.full_name})]

    async def _confirm_remove(self, target: Member) -> list[Screen]:
        return [Screen("secretary/confirm_remove", {"name": target.full_name},
                       buttons=((button("confirm_remove", DeskAction.CONFIRM_REMOVE, target.id),
                                 button("cancel", DeskAction.CANCEL)),))]

    async def _remove(self, actor: Member, target: Member) -> list[Screen]:
        await self.operations.remove_member(target.id, actor.id)
        return [Screen("secretary/removed", {"name": target.full_name})]

    async def _ask_point(self, actor: Member, target: Member,
                         round_: Round | None) -> list[Screen]:
        if round_ is None:
            raise DeskNoRound()
        await self.store.set_officer_prompt(actor.id, "point", target.id, self.clock.now())
        return [Screen("secretary/ask_point", {"name": target.full_name}, buttons=CANCEL)]

    async def _submitted(self, target: Member, round_: Round | None) -> tuple[Round, int, int]:
        """The round, the target's review id and submitted version; ``no_draft`` if none."""
        if round_ is None:
            raise DeskNoRound()
        review = await self.store.review_for(round_.id, target.id)
        if review is None or not review.submitted_version:
            raise _NoDraft(target.full_name)
        return round_, review.id, review.submitted_version

    async def _draft(self, actor: Member, target: Member,
                     round_: Round | None) -> list[Screen]:
        try:
            _, review_id, _ = await self._submitted(target, round_)
        except _NoDraft as missing:
            return [missing.screen()]
        submission = await self.store.latest_submission(review_id)
        if submission is None:
            return [Screen("secretary/no_draft", {"name": target.full_name})]
        await self.store.log_access(actor.id, "view_draft", target.id, self.clock.now())
        return [Screen("secretary/draft", {"name": target.full_name,
                                           "version": submission.version},
                       document=Document(submission.filename, submission.docx,
                                         SubmissionRef(review_id, submission.version)))]

    async def _ask_return(self, actor: Member, target: Member,
                          round_: Round | None) -> list[Screen]:
        try:
            await self._submitted(target, round_)
        except _NoDraft as missing:
            return [missing.screen()]
        await self.store.set_officer_prompt(actor.id, "return", target.id, self.clock.now())
        return [Screen("secretary/ask_comment", {"name": target.full_name}, buttons=CANCEL)]

    async def _accept(self, actor: Member, target: Member,
                      round_: Round | None) -> list[Screen]:
        try:
            open_round, review_id, version = await self._submitted(target, round_)
        except _NoDraft as missing:
            return [missing.screen()]
        now = self.clock.now()
        await self.store.set_decision(review_id, "accepted", None, actor.id, now)
        await self.store.log_access(actor.id, "accept", target.id, now)
        await self._tell(target, "review/accepted", {"version": version}, open_round)
        return [Screen("secretary/accepted", {"name": target.full_name})]

    # ----------------------------------------------------------------- views

    async def _read_cell(self, actor: Member, round_: Round,
                         member_id: int | None = None) -> _CellRead:
        """The officer's cell in ``round_`` (only ``member_id``, for a card)."""
        progress = await self.store.progress(actor.cell_id, round_.id, member_id)
        return _CellRead(
            progress, await self.store.round_answers(round_.id, member_id),
            await self.store.round_review_items(round_.id, member_id),
            (await self.store.collective_shortcomings(round_.id)
             if any(x.member.is_leader for x in progress) else []))

    async def _lines(self, actor: Member, round_: Round,
                     member_id: int | None = None) -> list[dict[str, Any]]:
        """The tracker's lines (only ``member_id``'s, for a card)."""
        cell = await self._read_cell(actor, round_, member_id)
        return [self._line(cell, x, round_) for x in cell.progress]

    def _line(self, cell: _CellRead, line: MemberProgress, round_: Round) -> dict[str, Any]:
        status = self.forms.eligibility(line.member, round_)
        if not status.reviewed:
            return {"id": line.member.id, "name": line.member.full_name,
                    "status": "not_reviewed", "reason": status.reason,
                    "until": status.until, "answered": 0, "total": 0,
                    "unreachable": False, "version": 0}
        steps = cell.steps_of(self.forms, self.words, line, round_)
        answered = len(steps) - flow.remaining(steps, cell.answers_of(line))
        return {"id": line.member.id, "name": line.member.full_name,
                "status": status_of(line), "answered": answered, "total": len(steps),
                "unreachable": line.linked and not line.reachable,
                "version": line.review.submitted_version if line.review else 0}

    async def _tracker(self, actor: Member, round_: Round | None) -> list[Screen]:
        if round_ is None:
            raise DeskNoRound()
        lines = await self._lines(actor, round_)
        counts: dict[str, int] = {}
        for line in lines:
            counts[line["status"]] = counts.get(line["status"], 0) + 1
        members = [Button("member", desk_press(DeskAction.MEMBER, line["id"]),
                          text=f"{n}. {line['name']}")
                   for n, line in enumerate(lines, start=1)]
        buttons = tuple([(b,) for b in members]
                        + [(button("remind_all", DeskAction.REMIND_ALL),),
                           (button("add_collective", DeskAction.COLLECTIVE),
                            button("bundle", DeskAction.BUNDLE))])
        return [Screen("secretary/tracker", {"round": round_.title, "due": round_.member_due,
                                             "meeting": round_.meeting_date, "lines": lines,
                                             "counts": counts, "total": len(lines)},
                       buttons=buttons, choices=tuple(b.press for b in members))]

    async def _card(self, actor: Member, target: Member, round_: Round | None) -> list[Screen]:
        line = None
        if round_ is not None:
            line = next(iter(await self._lines(actor, round_, target.id)), None)
        status = line["status"] if line else "no_round"
        rows: list[tuple[Button, ...]] = []
        if status not in DONE and status not in ("not_linked", "not_reviewed") and round_:
            rows.append((button("remind", DeskAction.REMIND, target.id),))
        if status in ("submitted", "returned", "accepted"):
            rows.append((button("view_draft", DeskAction.DRAFT, target.id),))
            rows.append((button("return", DeskAction.RETURN, target.id),
                         button("accept", DeskAction.ACCEPT, target.id)))
        rows.append((button("add_point", DeskAction.POINT, target.id),))
        rows.append((button("change_category", DeskAction.CATEGORY, target.id),))
        rows.append((button("invite", DeskAction.INVITE, target.id),
                     button("revoke_invite", DeskAction.REVOKE, target.id)))
        rows.append((button("remove", DeskAction.REMOVE, target.id),
                     button("tracker", DeskAction.TRACKER)))
        return [Screen("secretary/card", {"name": target.full_name, "status": status,
                                          "line": line, "leader": target.is_leader,
                                          **self._profile(target, round_)},
                       buttons=tuple(rows))]

    def _profile(self, member: Member, round_: Round | None) -> dict[str, Any]:
        """Category, form, admission date and standing, as the card shows them."""
        form = self.forms.form_for(round_, member) if round_ is not None else None
        meta = form.form if form is not None else None
        return {"category": member.category.value, "standing": member.standing,
                "joined_on": date.fromisoformat(member.joined_on) if member.joined_on else None,
                "form_code": meta.code_for(member.is_leader) if meta is not None else None}

    # ----------------------------------------------------------------- category and standing

    @staticmethod
    def _category_presses(target: Member) -> list[tuple[str, Press]]:
        """The six choices, in the order the screen numbers them."""
        return ([(f"category_{c.value}", desk_press(DeskAction.SET_CATEGORY, target.id, c.value))
                 for c in CATEGORY_CHOICES]
                + [(f"standing_{s.value if s else 'none'}",
                    desk_press(DeskAction.SET_STANDING, target.id, s.value if s else "none"))
                   for s in STANDING_CHOICES])

    async def _ask_category_for(self, actor: Member, target: Member,
                                round_: Round | None) -> list[Screen]:
        await self.store.set_officer_prompt(actor.id, "category", target.id, self.clock.now())
        return [self._ask_category(target, round_)]

    def _ask_category(self, target: Member, round_: Round | None) -> Screen:
        codes = {}
        if round_ is not None:
            for category in CATEGORY_CHOICES:
                variant = dataclasses.replace(target, category=category,
                                              is_leader=category is Category.LEADER)
                meta = self.forms.form_for(round_, variant).form
                codes[category.value] = meta.code_for(variant.is_leader) if meta else ""
        choices = self._category_presses(target)
        buttons = [Button(label, press) for label, press in choices]
        rows: list[tuple[Button, ...]] = [(b,) for b in buttons[:len(CATEGORY_CHOICES)]]
        rows.append(tuple(buttons[len(CATEGORY_CHOICES):]))
        rows.append((button("cancel", DeskAction.CANCEL),))
        return Screen("secretary/ask_category", {"name": target.full_name, "codes": codes,
                                                 **self._profile(target, round_)},
                      buttons=tuple(rows), choices=tuple(press for _, press in choices))

    async def _typed_category(self, actor: Member, target_id: int | None,
                              text: str) -> list[Screen]:
        """The typed route for text-only channels: a number from the list, or the words."""
        target = await self.store.member(target_id or 0)
        if not may_manage(actor, target) or target is None or not target.active:
            await self.store.set_officer_prompt(actor.id, None, None, self.clock.now())
            raise NoSuchMember()
        round_ = await self.store.open_round(actor.cell_id)
        choices = [press for _, press in self._category_presses(target)]
        if text.isascii() and text.isdigit() and 1 <= int(text) <= len(choices):
            chosen = choices[int(text) - 1]
            return await self._set_category(actor, target, round_, chosen.desk, chosen.arg)
        category = parse_category(text)
        if isinstance(category, Category):
            return await self._set_category(actor, target, round_, DeskAction.SET_CATEGORY,
                                            category.value)
        standing = parse_standing(text)
        if not isinstance(standing, Unrecognised):
            return await self._set_category(actor, target, round_, DeskAction.SET_STANDING,
                                            standing.value if standing else "none")
        old = isinstance(category, Unrecognised) and category.code == "old_form_letter"
        return [Screen("secretary/category_hint", {"count": len(choices), "old_letter": old}),
                self._ask_category(target, round_)]

    async def _set_category(self, actor: Member, target: Member, round_: Round | None,
                            action: DeskAction | None, value: str) -> list[Screen]:
        now = self.clock.now()
        is_category = action is DeskAction.SET_CATEGORY
        if is_category and value in {c.value for c in CATEGORY_CHOICES}:
            await self.store.set_member_category(target.id, Category(value))
        elif (action is DeskAction.SET_STANDING
              and value in {s.value if s else "none" for s in STANDING_CHOICES}):
            await self.store.set_member_standing(target.id, None if value == "none"
                                                 else Standing(value))
        else:
            raise NoSuchMember()
        await self.store.set_officer_prompt(actor.id, None, None, now)
        await self.store.log_access(actor.id, "set_category" if is_category else "set_standing",
                                    target.id, now)
        updated = await self.store.member(target.id)
        if updated is None:
            raise NoSuchMember()
        profile = self._profile(updated, round_)
        reviewed = self.forms.eligibility(updated, round_) if round_ is not None else REVIEWED
        review = (await self.store.review_for(round_.id, updated.id)
                  if round_ is not None else None)
        submitted = review is not None and review.submitted_version > 0
        if is_category and round_ is not None and reviewed.reviewed:
            await self._tell(updated, "review/category_changed",
                             {"form_code": profile["form_code"], "submitted": submitted},
                             round_)
        return [Screen("secretary/category_set", {
            "name": updated.full_name, "changed": "category" if is_category else "standing",
            "reviewed": reviewed.reviewed, "reason": reviewed.reason, "until": reviewed.until,
            "submitted": submitted, **profile}, buttons=TRACKER)]

    # ----------------------------------------------------------------- telling members

    async def _tell(self, member: Member, template: str, context: Mapping[str, Any],
                    round_: Round | None) -> bool:
        """Queue a notice for ``member``; False (nothing queued) when they never linked."""
        if not await self.store.accounts_of(member.id):
            return False
        await self.notices.enqueue([Notice(member.id, template, dict(context),
                                         round_id=round_.id if round_ else None)],
                                 self.clock.now())
        return True

    async def _remind(self, actor: Member, round_: Round | None,
                      target: Member | None) -> list[Screen]:
        """Nudge one member, or every unfinished one. Says only what is due and when."""
        if round_ is None:
            raise DeskNoRound()
        chosen = await self.store.progress(actor.cell_id, round_.id,
                                           target.id if target is not None else None)
        reminded: list[str] = []
        unlinked: list[str] = []
        notices: list[Notice] = []
        for line in chosen:
            status = status_of(line)
            if status in DONE or not self.forms.eligibility(line.member, round_).reviewed:
                continue
            if not line.linked:  # read with the progress: no query per member
                unlinked.append(line.member.full_name)
                continue
            notices.append(Notice(line.member.id, "review/reminder",
                                  {"round": round_.title, "due": round_.member_due,
                                   "returned": status == "returned"}, round_id=round_.id))
            reminded.append(line.member.full_name)
        if notices:
            await self.notices.enqueue(notices, self.clock.now())
        return [Screen("secretary/reminded", {"reminded": reminded, "unlinked": unlinked})]

    async def _invite(self, target: Member) -> list[Screen]:
        invite = await self.operations.issue_invite(target)
        return [Screen("secretary/invite", invite.context())]

    # ----------------------------------------------------------------- roster

    async def _read(self, filename: str, content: bytes) -> RosterPreview:
        read = self.settings.read_roster
        if read is None:
            return await asyncio.to_thread(self.operations.read_roster, filename, content)
        return await read(filename, content, self.operations.settings.max_roster_rows,
                          self.operations.today())

    async def preview(self, actor: Member, document: Document | None,
                      upload_id: int | None) -> RosterPreview | None:
        """Read a roster file (sent now, or stored and being confirmed) for ``upload`` or
        ``press``. Called before the transaction, so nothing here writes."""
        if document is not None:
            return await self._read(document.filename, document.content)
        upload = await self.store.roster_upload(upload_id or 0)
        if upload is None or upload.cell_id != actor.cell_id or upload.status != "pending":
            return None
        return await self._read(upload.filename, upload.content)

    async def upload(self, actor: Member, filename: str, content: bytes,
                     preview: RosterPreview | None = None) -> list[Screen]:
        """A roster file from the secretary: show what would be imported, import nothing."""
        if not is_officer(actor):
            return [Screen("common/unsupported", {"kind": "document", "expects": "text"})]
        texts = self.settings.bundle_texts
        if preview is None:
            preview = await self._read(filename, content)
        problem = describe_file_problem(preview, texts)
        if problem is not None or not preview.rows:
            return [Screen("secretary/roster_refused",
                           {"reason": problem or texts["roster"]["file_problems"]["no_rows"]})]
        upload_id = await self.store.add_roster_upload(actor.cell_id, actor.id, filename, content,
                                                       self.clock.now())
        plan = await self.operations.plan_roster(actor.cell_id, preview)
        context = {
            "filename": filename, "rows": len(preview.rows),
            "new": [r.full_name for r in plan.new],
            "updated": [r.full_name for r in plan.updated],
            "problems": [describe_problem(p, texts) for p in preview.problems],
            "warnings": [describe_problem(w, texts) for w in preview.warnings],
            "empty_rows": preview.empty_rows,
            "categories": {c.value: sum(r.category is c for r in preview.rows) for c in Category},
            "not_reviewed": sum(r.standing is not None for r in preview.rows),
        }
        buttons = ((button("roster_confirm", DeskAction.ROSTER_OK, upload_id),
                    button("roster_cancel", DeskAction.ROSTER_NO, upload_id)),)
        return [Screen("secretary/roster_preview", context, buttons=buttons)]

    async def _roster_decision(self, actor: Member, upload_id: int, confirm: bool,
                               preview: RosterPreview | None) -> list[Screen]:
        upload = await self.store.roster_upload(upload_id)
        if upload is None or upload.cell_id != actor.cell_id:
            raise NoSuchMember()
        if upload.status == "imported" and confirm and upload.uploaded_by == actor.id:
            handed = await self._handover(upload.id, {"rows": None, "not_reviewed": []})
            if handed is not None:  # the list never arrived: again, from the kept codes
                return [handed]
        if upload.status != "pending":
            return [Screen("secretary/roster_done_already")]
        if not confirm:
            await self.store.set_roster_upload_status(upload.id, "rejected")  # content wiped
            return [Screen("secretary/cancelled")]
        if preview is None:
            preview = await self._read(upload.filename, upload.content)
        plan = await self.operations.plan_roster(actor.cell_id, preview)
        # All inside the caller's transaction: all rows or none.
        result = await self.operations.import_roster(actor.cell_id, plan, actor.id)
        for invite in result.invites:  # kept until the list has reached the secretary
            await self.store.hand_over(upload.id, invite.member_id, invite.code, invite.expires)
        await self.store.set_roster_upload_status(upload.id, "imported")  # content wiped
        facts = {"rows": len(plan.preview.rows),
                 "not_reviewed": [{"name": m.full_name, "reason": e.reason, "until": e.until}
                                  for m, e in result.not_reviewed]}
        handed = await self._handover(upload.id, facts)
        return [handed or Screen("secretary/roster_imported", {**facts, "invites": []},
                                 buttons=TRACKER)]

    async def _handover(self, upload_id: int, facts: dict[str, Any]) -> Screen | None:
        """The invite list of an import, built from the codes kept until it is received (a
        crash while it is being sent loses none of them: it is sent again from the rows)."""
        handed = await self.store.handed_over(upload_id)
        if not handed:
            return None
        links = self.operations.invite_links
        invites = [{"name": h.full_name, "code": h.code, "expires": h.expires_at,
                    "link": next(iter(links(h.code).values()), None)} for h in handed]
        return Screen("secretary/roster_imported", {**facts, "invites": invites},
                      buttons=TRACKER, receipt=f"handover:{upload_id}")

    # ----------------------------------------------------------------- the bundle

    async def _bundle(self, actor: Member, round_: Round | None) -> list[Screen]:
        """The zip for the meeting: drafts, summary, minutes skeleton, proposal table."""
        if round_ is None:
            raise DeskNoRound()
        cell = await self.store.cell(actor.cell_id)
        rules = self.forms.rules
        if cell is None or rules is None:
            raise RuntimeError("the bundle needs the officer's cell and the classification rules")
        members, drafts = [], []
        cell_read = await self._read_cell(actor, round_)
        for line in cell_read.progress:
            review = line.review
            answers = cell_read.answers_of(line)
            steps = cell_read.steps_of(self.forms, self.words, line, round_)
            facts = review_facts(steps, answers)
            status = status_of(line)
            eligible = self.forms.eligibility(line.member, round_)
            submission = (await self.store.latest_submission(review.id)
                          if review and review.submitted_version else None)
            if submission is not None:
                drafts.append((submission.filename, submission.docx))
            flags = facts.flags + (("returned",) if status == "returned" else ()) + (
                ("not_linked",) if not line.linked else ())
            members.append(BundleMember(
                member_id=line.member.id, full_name=line.member.full_name,
                party_post=line.member.party_post, gov_post=line.member.gov_post,
                is_leader=line.member.is_leader,
                status=("not_reviewed" if not eligible.reviewed else "submitted" if submission
                        else "in_progress" if answers else "not_started"),
                submitted_at=submission.created_at if submission else None,
                self_score=facts.self_score, self_level=facts.self_level,
                admitted_items=facts.admitted_items, severe_items=facts.severe_items,
                flags=flags,
                joined_on=(date.fromisoformat(line.member.joined_on)
                           if line.member.joined_on else None),
                category=line.member.category.value,
                standing=line.member.standing.value if line.member.standing else None,
                facts=facts.facts, not_reviewed=eligible.reason if not eligible.reviewed else None,
            ))
        proposal = propose(proposal_inputs(members), rules.at(round_.meeting_date),
                           reference_date=round_.meeting_date)
        now = self.clock.now()
        # Off the event loop: other members' messages keep moving while the zip is built.
        archive = await asyncio.to_thread(build_bundle, cell, round_.title, round_.year, members,
                                          drafts, proposal, self.settings.bundle_texts, now)
        await self.store.log_access(actor.id, "bundle", None, now)
        context = {"round": round_.title, "drafts": len(drafts), "members": len(members),
                   "violations": len(proposal.violations)}
        return [Screen("secretary/bundle", context,
                       document=Document(f"ho-so-kiem-diem-{round_.year}-chi-bo.zip", archive))]


class _NoDraft(Exception):
    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name

    def screen(self) -> Screen:
        return Screen("secretary/no_draft", {"name": self.name})
