"""Retention: a closed round's archive (export), then the purge of its answer texts.

Per round, after it closes:

* **export**: one zip with every member's answers (now and as they changed) and drafts, the
  round's tracker workbook (counts, statuses, levels, scores) and the access log about its
  members; the round is marked exported;
* **purge**: once the round is closed, exported and ``retention.days`` have passed since it
  closed, its answer texts go (``purge_reviews``: answers and their history, the drafts'
  bytes, the points, the half-written answer, the secretary's comment). The levels and scores
  are recorded first, so the committee's counts and levels stay. A dry run (``plan``) counts
  what would go and says whether the purge may run now.

The purge is one transaction: interrupted (a crash, SIGKILL), nothing of it happened.
Core module: no channel, no storage.
"""

from __future__ import annotations

import asyncio
import csv
import io
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Protocol

from bot.committee import summarize
from bot.compose import VIETNAM
from bot.models import CellRound, Committee, MemberLine, Round, RoundStatus
from bot.mydata import archive_review, slug
from bot.operations import OperationError
from bot.ports import Cells, Clock, CommitteeReader, OwnData, Transactions
from bot.reminders import local_day
from bot.report import workbook
from bot.results import ResultStore, record_results
from bot.state import Forms
from bot.words import Words

ACCESS_LOG = "nhat-ky-truy-cap.csv"
TRACKER = "bang-theo-doi.xlsx"
CSV_ACCESS = ("Mã dòng", "Người thao tác (mã số)", "Thao tác", "Về đảng viên (mã số)", "Lúc",
              "Chi tiết")


class RetentionStore(ResultStore, Cells, CommitteeReader, OwnData, Transactions, Protocol):
    async def round_lines(self, round_id: int) -> list[MemberLine]: ...
    async def round_reviews(self, round_id: int) -> list[tuple[int, int]]: ...
    async def access_log_rows(self, member_ids: Sequence[int] | None = None,
                              actor_id: int | None = None) -> list[dict[str, Any]]: ...
    async def mark_round_exported(self, round_id: int, now: datetime) -> None: ...
    async def mark_round_purged(self, round_id: int, now: datetime) -> None: ...


@dataclass(frozen=True)
class Export:
    round: Round
    filename: str
    content: bytes
    members: int
    drafts: int


@dataclass(frozen=True)
class PurgePlan:
    """What a purge of the round would remove (counted), and whether it may run now."""

    round: Round
    counts: dict[str, int]
    closed_on: date | None   # the day the round closed (its meeting day if closed earlier)
    earliest: date | None    # the first day the purge may run
    refusal: str | None      # why not now: round_open, not_exported, too_early, purged
    review_ids: tuple[int, ...] = ()  # the round's reviews, which the purge removes texts of

    @property
    def ready(self) -> bool:
        return self.refusal is None


def _access_csv(rows: Sequence[dict[str, Any]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_ACCESS)
    for r in rows:
        writer.writerow([r["id"], r["actor_id"] if r["actor_id"] is not None else "",
                         r["action"], r["target_id"] if r["target_id"] is not None else "",
                         datetime.fromisoformat(r["at"]).astimezone(VIETNAM).isoformat(
                             timespec="seconds"), r["detail"] or ""])
    return buffer.getvalue().encode("utf-8-sig")


class Retention:
    def __init__(self, store: RetentionStore, clock: Clock, forms: Forms, words: Words,
                 texts: Mapping[str, Any], days: int) -> None:
        self.store = store
        self.clock = clock
        self.forms = forms
        self.words = words
        self.texts = texts
        self.days = days

    async def _round(self, round_id: int) -> Round:
        round_ = await self.store.round(round_id)
        if round_ is None:
            raise OperationError("no_round", id=round_id)
        return round_

    # ----------------------------------------------------------------- export

    async def export(self, round_id: int) -> Export:
        """The round's archive; refused while the round is open. Marks the round exported
        (inside the caller's transaction)."""
        round_ = await self._round(round_id)
        if round_.status is RoundStatus.OPEN:
            raise OperationError("round_open", id=round_.id, cell=round_.cell_id)
        cell = await self.store.cell(round_.cell_id)
        if cell is None:
            raise OperationError("no_cell", id=round_.cell_id)
        lines = await self.store.round_lines(round_id)
        reviews = {member: review for review, member in
                   await self.store.round_reviews(round_id)}
        now = self.clock.now()
        buffer = io.BytesIO()
        drafts = 0
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for line in lines:
                review_id = reviews.get(line.member.id)
                if review_id is None:
                    continue
                member = line.member
                folder = f"{member.id}-{slug(member.full_name)}/"
                drafts += (await archive_review(archive, folder, self.store, self.forms,
                                                self.words, member, round_, review_id))[1]
            committee = (await self.store.committee(cell.committee_id)
                         if cell.committee_id is not None else None)
            summary = summarize(committee or Committee(0, cell.party_committee or cell.name),
                                [CellRound(cell, round_)], lines,
                                lambda line, r: self.forms.eligibility(line.member, r),
                                local_day(now),
                                self.forms.rules.at if self.forms.rules is not None else None)
            archive.writestr(TRACKER, await asyncio.to_thread(workbook, summary, self.texts,
                                                              now))
            members = sorted({line.member.id for line in lines})
            archive.writestr(ACCESS_LOG, _access_csv(
                await self.store.access_log_rows(members)))
        await self.store.mark_round_exported(round_id, now)
        name = f"luu-tru-{round_.year}-{slug(cell.name)}-dot-{round_.id}.zip"
        return Export(round_, name, buffer.getvalue(), len(reviews), drafts)

    # ----------------------------------------------------------------- purge

    def _closed_on(self, round_: Round) -> date | None:
        if round_.status is RoundStatus.OPEN:
            return None
        if round_.closed_at is not None:
            return local_day(round_.closed_at)
        return round_.meeting_date  # closed before closing was dated

    async def plan(self, round_id: int) -> PurgePlan:
        """The dry run: what would go, and whether the purge may run today."""
        round_ = await self._round(round_id)
        ids = [review for review, _ in await self.store.round_reviews(round_id)]
        counts = await self.store.purge_counts(ids)
        closed_on = self._closed_on(round_)
        earliest = closed_on + timedelta(days=self.days) if closed_on is not None else None
        refusal: str | None = None
        if round_.status is RoundStatus.OPEN:
            refusal = "round_open"
        elif round_.purged_at is not None:
            refusal = "purged"
        elif round_.exported_at is None:
            refusal = "not_exported"
        elif earliest is not None and local_day(self.clock.now()) < earliest:
            refusal = "too_early"
        return PurgePlan(round_, counts, closed_on, earliest, refusal, tuple(ids))

    async def purge(self, round_id: int) -> PurgePlan:
        """Remove the round's answer texts, all or nothing (one transaction, opened here by
        the caller's request: the purge is a use case of its own). Refused unless ``plan``
        says ready."""
        async with self.store.transaction():
            plan = await self.plan(round_id)
            if plan.refusal is not None:
                raise OperationError(f"purge_{plan.refusal}", id=round_id,
                                     cell=plan.round.cell_id,
                                     earliest=plan.earliest.strftime("%d/%m/%Y")
                                     if plan.earliest else "", days=self.days)
            # The levels and scores outlive the answers they were computed from.
            await record_results(self.store, self.forms, self.words, round_id)
            now = self.clock.now()
            await self.store.purge_reviews(plan.review_ids, now)
            await self.store.mark_round_purged(round_id, now)
        return plan
