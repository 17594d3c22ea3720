"""The cell secretary's desk: who is done, nudges, drafts, decisions, points, invites.

Every entry point takes the acting member and checks, here and nowhere else, that they
are an officer of the target's cell (``may_manage``). A member of another cell and a
member that does not exist get the same answer, so nothing leaks about other cells.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from bot import flow
from bot.bundle import BundleMember, build_bundle, proposal_inputs, review_facts
from bot.checklist import Pack
from bot.models import Category, Member, MemberProgress, Role, Round, Standing
from bot.operations import Operations
from bot.ports import Clock, OfficeStore
from bot.proposal import propose
from bot.roster import RosterPreview, Unrecognised, describe_file_problem, describe_problem
from bot.roster import parse_category
from bot.roster import parse_standing
from bot.rules import REVIEWED, Eligibility, RuleBook, eligibility
from bot.screens import DESK, Button, Document, Press, Screen
from bot.text import clean_text

# What the secretary may type or press on the card's "change category" screen: the three
# categories, then the two standings that mean "not reviewed", then "normal" again.
CATEGORY_CHOICES: tuple[Category, ...] = (Category.LEADER, Category.NO_POST, Category.OUTSIDE)
STANDING_CHOICES: tuple[Standing | None, ...] = (Standing.EXEMPTED, Standing.SUSPENDED, None)

def is_officer(member: Member) -> bool:
    return member.active and member.role in (Role.SECRETARY, Role.DEPUTY)


def may_manage(actor: Member, target: Member | None) -> bool:
    """An active secretary or deputy may manage the members of their own cell only."""
    return target is not None and is_officer(actor) and actor.cell_id == target.cell_id


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
    rules: RuleBook | None = None  # data/classification.toml
    # Reads a roster file (name, bytes, max rows, today); the wiring gives one that runs in a
    # child process with a memory and time bound. None: Operations.read_roster in a thread.
    read_roster: ReadRoster | None = None


def button(label: str, sub: str, target: int = 0) -> Button:
    return Button(label, DESK, target, sub)


class Desk:
    def __init__(
        self,
        store: OfficeStore,
        clock: Clock,
        checklist: Pack,
        form_of: Callable[[Round, Member], Pack],
        settings: DeskSettings,
        replacements: Callable[[Member, Round], Any],
        operations: Operations,
    ) -> None:
        self.store = store
        self.operations = operations
        self.clock = clock
        self.checklist = checklist
        self.form_of = form_of
        self.settings = settings
        self._replacements = replacements

    def eligibility(self, member: Member, round_: Round) -> Eligibility:
        """Whether the round reviews this member (366 Điều 5, by the meeting's date)."""
        if self.settings.rules is None:
            return REVIEWED
        rules = self.settings.rules.at(round_.meeting_date)
        joined = date.fromisoformat(member.joined_on) if member.joined_on else None
        return eligibility(rules, joined_on=joined, standing=member.standing,
                           meeting=round_.meeting_date)

    # ----------------------------------------------------------------- entry points

    async def press(self, actor: Member, press: Press,
                    roster: RosterPreview | None = None) -> list[Screen]:
        """A desk button or command; ``press.review_id`` carries the target's id. ``roster``
        is the roster being confirmed, read beforehand (``preview``)."""
        if not is_officer(actor):
            return [Screen("secretary/not_officer")]
        round_ = await self.store.open_round(actor.cell_id)
        sub, target_id = press.qid, press.review_id
        if sub == "trk":
            return [await self._tracker(actor, round_)]
        if sub == "col":
            if round_ is None:
                return [Screen("secretary/no_round")]
            await self.store.set_officer_prompt(actor.id, "collective", None, self.clock.now())
            return [Screen("secretary/ask_collective", buttons=((button("cancel", "cnl"),),))]
        if sub == "cnl":
            await self.store.set_officer_prompt(actor.id, None, None, self.clock.now())
            return [Screen("secretary/cancelled")]
        if sub == "rall":
            return await self._remind(actor, round_, None)
        if sub == "bnd":
            return await self._bundle(actor, round_)
        if sub in ("rok", "rno"):
            return await self._roster_decision(actor, target_id, sub == "rok", roster)
        target = await self.store.member(target_id)
        if target is None or not may_manage(actor, target):
            return [Screen("secretary/no_such_member")]
        if not target.active:
            return [Screen("secretary/member_removed", {"name": target.full_name})]
        match sub:
            case "mem":
                return [await self._card(actor, target, round_)]
            case "rem":
                return await self._remind(actor, round_, target)
            case "inv":
                return await self._invite(target)
            case "rvk":
                await self.operations.revoke_invites(target)
                return [Screen("secretary/invite_revoked", {"name": target.full_name})]
            case "cat":
                await self.store.set_officer_prompt(actor.id, "category", target.id,
                                                    self.clock.now())
                return [self._ask_category(target, round_)]
            case "setc" | "sets":
                return await self._set_category(actor, target, round_, sub, press.arg)
            case "del":
                return [Screen("secretary/confirm_remove", {"name": target.full_name},
                               buttons=((button("confirm_remove", "dely", target.id),
                                         button("cancel", "cnl")),))]
            case "dely":
                await self.operations.remove_member(target.id, actor.id)
                return [Screen("secretary/removed", {"name": target.full_name})]
        if round_ is None:
            return [Screen("secretary/no_round")]
        review = await self.store.review_for(round_.id, target.id)
        match sub:
            case "pnt":
                await self.store.set_officer_prompt(actor.id, "point", target.id, self.clock.now())
                return [Screen("secretary/ask_point", {"name": target.full_name},
                               buttons=((button("cancel", "cnl"),),))]
        if sub not in ("drf", "ret", "acc"):
            return [Screen("secretary/no_such_member")]
        if review is None or not review.submitted_version:
            return [Screen("secretary/no_draft", {"name": target.full_name})]
        match sub:
            case "drf":
                submission = await self.store.latest_submission(review.id)
                if submission is None:
                    return [Screen("secretary/no_draft", {"name": target.full_name})]
                await self.store.log_access(actor.id, "view_draft", target.id, self.clock.now())
                return [Screen("secretary/draft", {"name": target.full_name,
                                                   "version": submission.version},
                               document=Document(submission.filename, submission.docx))]
            case "ret":
                await self.store.set_officer_prompt(actor.id, "return", target.id, self.clock.now())
                return [Screen("secretary/ask_comment", {"name": target.full_name},
                               buttons=((button("cancel", "cnl"),),))]
            case "acc":
                await self.store.set_decision(review.id, "accepted", None, actor.id,
                                              self.clock.now())
                await self.store.log_access(actor.id, "accept", target.id, self.clock.now())
                notice = await self._to_member(target, "review/accepted",
                                               {"version": review.submitted_version})
                return [Screen("secretary/accepted", {"name": target.full_name}), *notice]
        return [Screen("secretary/no_such_member")]

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
            return [Screen("secretary/no_round")]
        if kind == "collective":
            await self.store.add_collective_shortcoming(round_.id, text, actor.id, now)
            return [Screen("secretary/collective_added")]
        target = await self.store.member(target_id or 0)
        if not may_manage(actor, target) or target is None or not target.active:
            return [Screen("secretary/no_such_member")]
        if kind == "point":
            await self.store.add_review_item(round_.id, target.id, "suggestion", text, actor.id, now)
            notice = await self._to_member(target, "review/new_point", {})
            return [Screen("secretary/point_added", {"name": target.full_name}), *notice]
        review = await self.store.review_for(round_.id, target.id)
        if kind == "return" and review is not None and review.submitted_version:
            await self.store.set_decision(review.id, "returned", text, actor.id, now)
            await self.store.log_access(actor.id, "return", target.id, now)
            notice = await self._to_member(target, "review/returned",
                                           {"comment": text, "version": review.submitted_version})
            return [Screen("secretary/returned", {"name": target.full_name}), *notice]
        return [Screen("secretary/no_draft", {"name": target.full_name})]

    # ----------------------------------------------------------------- views

    async def _lines(self, actor: Member, round_: Round) -> list[dict[str, Any]]:
        lines = []
        for line in await self.store.progress(actor.cell_id, round_.id):
            status = self.eligibility(line.member, round_)
            if not status.reviewed:
                lines.append({"id": line.member.id, "name": line.member.full_name,
                              "status": "not_reviewed", "reason": status.reason,
                              "until": status.until, "answered": 0, "total": 0,
                              "unreachable": False, "version": 0})
                continue
            answers = await self.store.answers(line.review.id) if line.review else {}
            steps = flow.build_steps(self.checklist, self.form_of(round_, line.member),
                                     is_leader=line.member.is_leader,
                                     answers=answers,
                                     replacements=await self._replacements(line.member, round_))
            answered = len(steps) - flow.remaining(steps, answers)
            lines.append({"id": line.member.id, "name": line.member.full_name,
                          "status": status_of(line), "answered": answered, "total": len(steps),
                          "unreachable": line.linked and not line.reachable,
                          "version": line.review.submitted_version if line.review else 0})
        return lines

    async def _tracker(self, actor: Member, round_: Round | None) -> Screen:
        if round_ is None:
            return Screen("secretary/no_round")
        lines = await self._lines(actor, round_)
        counts: dict[str, int] = {}
        for line in lines:
            counts[line["status"]] = counts.get(line["status"], 0) + 1
        buttons = tuple(
            [(Button("member", "s", line["id"], "mem", text=f"{n}. {line['name']}"),)
             for n, line in enumerate(lines, start=1)]
            + [(button("remind_all", "rall"),), (button("add_collective", "col"),
                                                 button("bundle", "bnd"))]
        )
        return Screen("secretary/tracker", {"round": round_.title, "due": round_.member_due,
                                            "meeting": round_.meeting_date, "lines": lines,
                                            "counts": counts, "total": len(lines)},
                      buttons=buttons)

    async def _card(self, actor: Member, target: Member, round_: Round | None) -> Screen:
        line = None
        if round_ is not None:
            line = next((x for x in await self._lines(actor, round_) if x["id"] == target.id), None)
        status = line["status"] if line else "no_round"
        rows: list[tuple[Button, ...]] = []
        if status not in DONE and status not in ("not_linked", "not_reviewed") and round_:
            rows.append((button("remind", "rem", target.id),))
        if status in ("submitted", "returned", "accepted"):
            rows.append((button("view_draft", "drf", target.id),))
            rows.append((button("return", "ret", target.id), button("accept", "acc", target.id)))
        rows.append((button("add_point", "pnt", target.id),))
        rows.append((button("change_category", "cat", target.id),))
        rows.append((button("invite", "inv", target.id), button("revoke_invite", "rvk", target.id)))
        rows.append((button("remove", "del", target.id), button("tracker", "trk")))
        return Screen("secretary/card", {"name": target.full_name, "status": status,
                                         "line": line, "leader": target.is_leader,
                                         **self._profile(target, round_)},
                      buttons=tuple(rows))

    def _profile(self, member: Member, round_: Round | None) -> dict[str, Any]:
        """Category, form, admission date and standing, as the card shows them."""
        form = self.form_of(round_, member) if round_ is not None else None
        meta = form.form if form is not None else None
        return {"category": member.category.value, "standing": member.standing,
                "joined_on": date.fromisoformat(member.joined_on) if member.joined_on else None,
                "form_code": meta.code_for(member.is_leader) if meta is not None else None}

    # ----------------------------------------------------------------- category and standing

    def _ask_category(self, target: Member, round_: Round | None) -> Screen:
        codes = {}
        if round_ is not None:
            for category in CATEGORY_CHOICES:
                variant = dataclasses.replace(target, category=category,
                                              is_leader=category is Category.LEADER)
                meta = self.form_of(round_, variant).form
                codes[category.value] = meta.code_for(variant.is_leader) if meta else ""
        rows: list[tuple[Button, ...]] = [
            (Button(f"category_{c.value}", DESK, target.id, "setc", c.value),)
            for c in CATEGORY_CHOICES]
        rows.append(tuple(Button(f"standing_{s.value if s else 'none'}", DESK, target.id, "sets",
                                 s.value if s else "none") for s in STANDING_CHOICES))
        rows.append((button("cancel", "cnl"),))
        return Screen("secretary/ask_category", {"name": target.full_name, "codes": codes,
                                                 **self._profile(target, round_)},
                      buttons=tuple(rows))

    async def _typed_category(self, actor: Member, target_id: int | None,
                              text: str) -> list[Screen]:
        """The typed route for text-only channels: a number from the list, or the words."""
        target = await self.store.member(target_id or 0)
        if not may_manage(actor, target) or target is None or not target.active:
            await self.store.set_officer_prompt(actor.id, None, None, self.clock.now())
            return [Screen("secretary/no_such_member")]
        round_ = await self.store.open_round(actor.cell_id)
        choices = [("setc", c.value) for c in CATEGORY_CHOICES] + [
            ("sets", s.value if s else "none") for s in STANDING_CHOICES]
        if text.isdigit() and 1 <= int(text) <= len(choices):
            return await self._set_category(actor, target, round_, *choices[int(text) - 1])
        category = parse_category(text)
        if isinstance(category, Category):
            return await self._set_category(actor, target, round_, "setc", category.value)
        standing = parse_standing(text)
        if not isinstance(standing, Unrecognised):
            return await self._set_category(actor, target, round_, "sets",
                                            standing.value if standing else "none")
        old = isinstance(category, Unrecognised) and category.code == "old_form_letter"
        return [Screen("secretary/category_hint", {"count": len(choices), "old_letter": old}),
                self._ask_category(target, round_)]

    async def _set_category(self, actor: Member, target: Member, round_: Round | None,
                            sub: str, value: str) -> list[Screen]:
        now = self.clock.now()
        if sub == "setc" and value in {c.value for c in CATEGORY_CHOICES}:
            await self.store.set_member_category(target.id, Category(value))
        elif sub == "sets" and value in {s.value if s else "none" for s in STANDING_CHOICES}:
            await self.store.set_member_standing(target.id, None if value == "none"
                                                 else Standing(value))
        else:
            return [Screen("secretary/no_such_member")]
        await self.store.set_officer_prompt(actor.id, None, None, now)
        await self.store.log_access(actor.id, "set_category" if sub == "setc" else "set_standing",
                                    target.id, now)
        updated = await self.store.member(target.id)
        if updated is None:
            return [Screen("secretary/no_such_member")]
        profile = self._profile(updated, round_)
        reviewed = self.eligibility(updated, round_) if round_ is not None else REVIEWED
        review = (await self.store.review_for(round_.id, updated.id)
                  if round_ is not None else None)
        submitted = review is not None and review.submitted_version > 0
        notice: list[Screen] = []
        if sub == "setc" and round_ is not None and reviewed.reviewed:
            notice = await self._to_member(updated, "review/category_changed",
                                           {"form_code": profile["form_code"],
                                            "submitted": submitted})
        return [Screen("secretary/category_set", {
            "name": updated.full_name, "changed": "category" if sub == "setc" else "standing",
            "reviewed": reviewed.reviewed, "reason": reviewed.reason, "until": reviewed.until,
            "submitted": submitted, **profile},
            buttons=((button("tracker", "trk"),),)), *notice]

    # ----------------------------------------------------------------- actions

    async def _to_member(self, member: Member, template: str,
                         context: Mapping[str, Any]) -> list[Screen]:
        accounts = tuple(await self.store.accounts_of(member.id))
        return [Screen(template, dict(context), to=accounts)] if accounts else []

    async def _remind(self, actor: Member, round_: Round | None,
                      target: Member | None) -> list[Screen]:
        """Nudge one member, or every unfinished one. Says only what is due and when."""
        if round_ is None:
            return [Screen("secretary/no_round")]
        lines = await self.store.progress(actor.cell_id, round_.id)
        chosen = [x for x in lines if target is None or x.member.id == target.id]
        reminded: list[str] = []
        unlinked: list[str] = []
        screens: list[Screen] = []
        for line in chosen:
            if status_of(line) in DONE or not self.eligibility(line.member, round_).reviewed:
                continue
            notice = await self._to_member(line.member, "review/reminder",
                                           {"round": round_.title, "due": round_.member_due,
                                            "returned": status_of(line) == "returned"})
            (reminded if notice else unlinked).append(line.member.full_name)
            screens += notice
        return [Screen("secretary/reminded", {"reminded": reminded, "unlinked": unlinked}),
                *screens]

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
        buttons = ((button("roster_confirm", "rok", upload_id),
                    button("roster_cancel", "rno", upload_id)),)
        return [Screen("secretary/roster_preview", context, buttons=buttons)]

    async def _roster_decision(self, actor: Member, upload_id: int, confirm: bool,
                               preview: RosterPreview | None) -> list[Screen]:
        upload = await self.store.roster_upload(upload_id)
        if upload is None or upload.cell_id != actor.cell_id:
            return [Screen("secretary/no_such_member")]
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
                                 buttons=((button("tracker", "trk"),),))]

    async def _handover(self, upload_id: int, facts: dict[str, Any]) -> Screen | None:
        """The invite list of an import, built from the codes kept until it is received (a
        crash while it is being sent loses none of them: it is sent again from the rows)."""
        handed = await self.store.handed_over(upload_id)
        if not handed:
            return None
        link = self.operations.settings.invite_link
        invites = [{"name": h.full_name, "code": h.code, "expires": h.expires_at,
                    "link": link(h.code)} for h in handed]
        return Screen("secretary/roster_imported", {**facts, "invites": invites},
                      buttons=((button("tracker", "trk"),),), receipt=f"handover:{upload_id}")

    # ----------------------------------------------------------------- the bundle

    async def _bundle(self, actor: Member, round_: Round | None) -> list[Screen]:
        """The zip for the meeting: drafts, summary, minutes skeleton, proposal table."""
        if round_ is None:
            return [Screen("secretary/no_round")]
        cell = await self.store.cell(actor.cell_id)
        if cell is None or self.settings.rules is None:
            raise RuntimeError("the bundle needs the officer's cell and the classification rules")
        members, drafts = [], []
        for line in await self.store.progress(actor.cell_id, round_.id):
            review = line.review
            answers = await self.store.answers(review.id) if review else {}
            steps = flow.build_steps(self.checklist, self.form_of(round_, line.member),
                                     is_leader=line.member.is_leader, answers=answers,
                                     replacements=await self._replacements(line.member, round_))
            facts = review_facts(steps, answers)
            status = status_of(line)
            eligible = self.eligibility(line.member, round_)
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
                joined_on=date.fromisoformat(line.member.joined_on) if line.member.joined_on else None,
                category=line.member.category.value,
                standing=line.member.standing.value if line.member.standing else None,
                facts=facts.facts, not_reviewed=eligible.reason if not eligible.reviewed else None,
            ))
        proposal = propose(proposal_inputs(members), self.settings.rules.at(round_.meeting_date),
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
