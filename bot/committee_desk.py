"""The committee's view in the chat (``/dangbo``), the web page's one-time links
(``/trangweb``), and a member's own data (``/dulieu``).

Every entry point asks ``bot.access.allowed`` — the one place access is decided — with the
actor's committees read in the same transaction. A refusal never says whether the cell asked
for exists. What the committee sees is counts, statuses, proposed levels and scores: no answer
text ever leaves ``bot.committee``. A reminder to late cells' secretaries is queued in the
outbox in the same transaction (``bot.delivery``).
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from bot.access import Act, Actor, allowed
from bot.committee import CellSummary, CommitteeSummary, summarize, summarize_cell
from bot.delivery import Notice, NoticeQueue
from bot.errors import NoSuchCell, NotCommitteeOfficer, NotOfficer
from bot.models import Member, MemberLine, Round, is_officer
from bot.mydata import OwnDataDesk
from bot.ports import Clock, CommitteeStore
from bot.reminders import local_day
from bot.report import chart_png, workbook
from bot.rules import Eligibility
from bot.screens import Button, DeskAction, Document, Press, Screen, desk_press
from bot.state import Forms
from bot.text import token_hash
from bot.words import Words

__all__ = ["CommitteeDesk", "CommitteeSettings", "login_hash"]


login_hash = token_hash  # what is stored of a web login link's or session's token


@dataclass(frozen=True)
class CommitteeSettings:
    texts: Mapping[str, Any] = field(default_factory=dict)  # templates/committee.toml
    web_base_url: str = ""  # empty: no web page
    login_ttl: timedelta = timedelta(minutes=10)


def _button(label: str, desk: DeskAction, target: int = 0, text: str | None = None) -> Button:
    return Button(label, desk_press(desk, target), text=text)


class CommitteeDesk:
    def __init__(self, store: CommitteeStore, notices: NoticeQueue, clock: Clock, forms: Forms,
                 words: Words, settings: CommitteeSettings) -> None:
        self.store = store
        self.notices = notices
        self.clock = clock
        self.forms = forms
        self.settings = settings
        self.own = OwnDataDesk(store, clock, forms, words)

    # ----------------------------------------------------------------- who is asking

    async def actor(self, member: Member) -> Actor:
        return Actor(member, frozenset(await self.store.officer_committees(member.id)))

    # ----------------------------------------------------------------- entry point

    async def press(self, member: Member, press: Press) -> list[Screen]:
        """A committee button, command or typed choice; a member's own-data action."""
        desk = press.desk
        if desk in (DeskAction.MY_DATA, DeskAction.DELETE_MINE, DeskAction.CONFIRM_DELETE_MINE,
                    DeskAction.CANCEL):
            return await self.own.press(member, press)
        actor = await self.actor(member)
        if desk is DeskAction.WEB_LINK:
            return await self._web_link(actor)
        if desk is DeskAction.COMMITTEE_CELL:  # a committee officer's, or one's own cell
            return await self._cell(actor, press.target)
        if not actor.committee_officer:
            raise NotCommitteeOfficer(secretary=is_officer(member))
        committee_id = press.target or min(actor.committees)
        if len(actor.committees) > 1 and not press.target and desk is DeskAction.COMMITTEE:
            return await self._choose(actor)
        if desk is DeskAction.COMMITTEE_REMIND:
            return await self._remind(actor, committee_id)
        return await self._overview(actor, committee_id)

    # ----------------------------------------------------------------- reading

    def _eligible(self, line: MemberLine, round_: Round) -> Eligibility:
        return self.forms.eligibility(line.member, round_)

    async def summary(self, committee_id: int) -> CommitteeSummary:
        """The committee's overview, from two reads whatever the number of cells."""
        committee = await self.store.committee(committee_id)
        if committee is None:
            raise NoSuchCell()
        rounds = await self.store.committee_rounds(committee_id)
        lines = await self.store.committee_lines(committee_id)
        rules = self.forms.rules
        return summarize(committee, rounds, lines, self._eligible, local_day(self.clock.now()),
                         rules.at if rules is not None else None)

    async def cell_summary(self, actor: Actor, cell_id: int) -> CellSummary:
        """One cell's tracker, if ``actor`` may see it; ``NoSuchCell`` otherwise (also for a
        cell that does not exist: the same answer)."""
        rounds = await self.store.committee_rounds(None, cell_id)
        if not rounds or not allowed(actor, Act.CELL_VIEW, cell=rounds[0].cell):
            raise NoSuchCell()
        lines = await self.store.committee_lines(None, cell_id)
        return summarize_cell(rounds[0], lines, self._eligible, local_day(self.clock.now()))

    async def files(self, summary: CommitteeSummary) -> tuple[bytes, bytes]:
        """The chart (PNG) and the workbook (XLSX), built off the event loop."""
        return await asyncio.gather(self.chart(summary), self.workbook(summary))

    async def chart(self, summary: CommitteeSummary) -> bytes:
        """The chart (PNG), built off the event loop."""
        return await asyncio.to_thread(chart_png, summary, self.settings.texts, self.clock.now())

    async def workbook(self, summary: CommitteeSummary) -> bytes:
        """The workbook (XLSX), built off the event loop."""
        return await asyncio.to_thread(workbook, summary, self.settings.texts, self.clock.now())

    # ----------------------------------------------------------------- screens

    async def _choose(self, actor: Actor) -> list[Screen]:
        committees = [c for cid in sorted(actor.committees)
                      if (c := await self.store.committee(cid)) is not None]
        buttons = [_button("committee", DeskAction.COMMITTEE, c.id, f"{n}. {c.name}")
                   for n, c in enumerate(committees, start=1)]
        return [Screen("committee/choose", {"committees": [c.name for c in committees]},
                       buttons=tuple((b,) for b in buttons),
                       choices=tuple(b.press for b in buttons))]

    def _cell_context(self, cell: CellSummary) -> dict[str, Any]:
        round_ = cell.round
        return {"id": cell.cell.id, "name": cell.cell.name, "total": cell.total,
                "round": round_.title if round_ else None,
                "due": round_.member_due if round_ else None,
                "meeting": round_.meeting_date if round_ else None,
                "closed": round_ is not None and round_.status != "open",
                "counts": cell.counts, "not_done": cell.not_done, "late": cell.late,
                "days_late": cell.days_late}

    async def _overview(self, actor: Actor, committee_id: int) -> list[Screen]:
        if not allowed(actor, Act.COMMITTEE_VIEW, committee_id=committee_id):
            raise NoSuchCell()
        summary = await self.summary(committee_id)
        png, xlsx = await self.files(summary)
        now = self.clock.now()
        await self.store.log_access(actor.member.id, "committee_view", None, now,
                                    detail=f"committee:{committee_id}")
        texts = self.settings.texts
        cells = [self._cell_context(c) for c in summary.cells]
        cell_buttons = [_button("committee_cell", DeskAction.COMMITTEE_CELL, c["id"],
                                f"{n}. {c['name']}") for n, c in enumerate(cells, start=1)]
        rows: list[tuple[Button, ...]] = [(b,) for b in cell_buttons]
        if summary.late_cells:
            rows.append((_button("remind_late", DeskAction.COMMITTEE_REMIND, committee_id),))
        rows.append((_button("web_link", DeskAction.WEB_LINK),))
        stamp = now.strftime("%Y%m%d")
        return [
            Screen("committee/chart", {"committee": summary.committee.name},
                   document=Document(f"dang-bo-{committee_id}-{stamp}.png", png, picture=True)),
            Screen("committee/workbook", {"committee": summary.committee.name},
                   document=Document(f"dang-bo-{committee_id}-{stamp}.xlsx", xlsx)),
            Screen("committee/overview", {
                "committee": summary.committee.name, "today": summary.today, "cells": cells,
                "counts": summary.counts, "total": sum(c.total for c in summary.cells),
                "late": len(summary.late_cells), "cap": self._cap_context(summary),
                "texts": {k: texts.get(k, {}) for k in ("counts", "groups", "levels")}},
                buttons=tuple(rows), choices=tuple(b.press for b in cell_buttons)),
        ]

    @staticmethod
    def _cap_context(summary: CommitteeSummary) -> dict[str, Any] | None:
        rules = summary.rules
        if rules is None:
            return None
        cap = rules.cap
        return {
            "groups": [{"group": g.group, "excellent": g.excellent, "good": g.good,
                        "allowed": g.allowed, "exception_allowed": g.exception_allowed,
                        "over": g.over, "over_exception": g.over_exception}
                       for g in summary.cap],
            "share": float(cap.max_share * 100),
            "exception": float(cap.exception_share * 100) if cap.exception_share else None,
            "wording": cap.wording, "exception_wording": cap.exception_wording,
            "source": cap.origin.source, "by_group": cap.by_group,
        }

    async def _cell(self, actor: Actor, cell_id: int) -> list[Screen]:
        cell = await self.cell_summary(actor, cell_id)
        await self.store.log_access(actor.member.id, "cell_view", None, self.clock.now(),
                                    detail=f"cell:{cell_id}")
        texts = self.settings.texts
        committee_id = cell.cell.committee_id or 0
        return [Screen("committee/cell", {
            **self._cell_context(cell),
            "members": [{"name": m.name, "status": m.status, "level": m.level,
                         "score": m.score, "reason": m.reason} for m in cell.members],
            "texts": {k: texts.get(k, {}) for k in ("segments", "levels", "reasons", "counts")}},
            buttons=((_button("committee", DeskAction.COMMITTEE, committee_id),),))]

    async def _remind(self, actor: Actor, committee_id: int) -> list[Screen]:
        """Tell the secretary and deputy of each late cell, through the outbox."""
        if not allowed(actor, Act.REMIND_LATE, committee_id=committee_id):
            raise NoSuchCell()
        summary = await self.summary(committee_id)
        now = self.clock.now()
        reminded: list[str] = []
        nobody: list[str] = []
        notices: list[Notice] = []
        for cell in summary.late_cells:
            officers = [o for o in await self.store.cell_officers(cell.cell.id)
                        if await self.store.accounts_of(o.id)]
            round_ = cell.round
            for officer in officers:
                notices.append(Notice(officer.id, "committee/late_cell", {
                    "committee": summary.committee.name, "cell": cell.cell.name,
                    "round": round_.title if round_ else "",
                    "due": round_.member_due if round_ else None,
                    "not_done": cell.not_done, "days_late": cell.days_late},
                    round_id=round_.id if round_ else None))
            (reminded if officers else nobody).append(cell.cell.name)
        await self.notices.enqueue(notices, now)
        await self.store.log_access(actor.member.id, "remind_late", None, now,
                                    detail=f"committee:{committee_id}")
        return [Screen("committee/reminded", {"reminded": reminded, "nobody": nobody},
                       buttons=((_button("committee", DeskAction.COMMITTEE, committee_id),),))]

    async def _web_link(self, actor: Actor) -> list[Screen]:
        """A one-time link to the web page, in the private chat it was asked in."""
        if not allowed(actor, Act.WEB_LOGIN):
            raise NotOfficer()
        base = self.settings.web_base_url.rstrip("/")
        if not base:
            return [Screen("committee/web_off")]
        token = secrets.token_urlsafe(32)
        now = self.clock.now()
        ttl = self.settings.login_ttl
        await self.store.add_web_login(login_hash(token), actor.member.id, now, now + ttl)
        await self.store.log_access(actor.member.id, "web_link", None, now)
        return [Screen("committee/web_link", {"url": f"{base}/w/login/{token}",
                                              "minutes": ttl // timedelta(minutes=1),
                                              "expires": now + ttl})]

    # ----------------------------------------------------------------- the web page

    async def web_actor(self, member_id: int) -> Actor | None:
        """The actor behind a web session: None once removed or no longer allowed."""
        member = await self.store.member(member_id)
        if member is None:
            return None
        actor = await self.actor(member)
        return actor if allowed(actor, Act.WEB_LOGIN) else None

    async def log(self, actor: Actor, action: str, detail: str | None,
                  now: datetime | None = None) -> None:
        await self.store.log_access(actor.member.id, action, None, now or self.clock.now(),
                                    detail=detail)
