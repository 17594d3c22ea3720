"""Submitting: the Word draft rendered (before the write transaction when it can be), stored
as a new version, handed to the member, and queued for the cell's secretary and deputy in the
same transaction (``bot.delivery``).

The officers' copies are outbox rows, not part of the member's reply: a crash after the
commit, or a reply that never reaches the member, cannot keep the draft from the secretary.
"""

from __future__ import annotations

import asyncio
import contextvars
from dataclasses import dataclass
from typing import Any

from bot import flow
from bot.bundle import review_facts
from bot.compose import build_draft_context, draft_filename
from bot.delivery import Notice, NoticeQueue
from bot.draft import render_draft
from bot.models import Review, ReviewStatus
from bot.ports import Clock, SubmitStore
from bot.screens import Document, Screen, SubmissionRef
from bot.state import Forms, ReviewState
from bot.views import Views
from bot.words import Words


@dataclass(frozen=True)
class _Rendered:
    review_id: int
    context: dict[str, Any]
    docx: bytes


# A draft rendered before the write transaction (``Submitter.prerender``), for this update.
_RENDERED: contextvars.ContextVar[_Rendered | None] = contextvars.ContextVar(
    "tusoi-prerendered-draft", default=None)


def unchanged(review: Review) -> bool:
    """Submitted and not changed since (a returned draft may be submitted again as is)."""
    return (review.status == ReviewStatus.SUBMITTED and review.submitted_version > 0
            and review.decision != "returned")


class Submitter:
    def __init__(self, store: SubmitStore, notices: NoticeQueue, forms: Forms, words: Words,
                 views: Views, clock: Clock) -> None:
        self.store = store
        self.notices = notices
        self.forms = forms
        self.words = words
        self.views = views
        self.clock = clock

    def _context(self, state: ReviewState, cell: Any, now: Any) -> dict[str, Any]:
        return build_draft_context(
            cell=cell, member=state.member, round_=state.round, checklist=self.forms.checklist,
            form=state.form, steps=state.steps, answers=state.answers, texts=self.words.draft,
            now=now,
        )

    async def prerender(self, state: ReviewState) -> None:
        """Render the draft BEFORE the write transaction (Word takes tens of milliseconds; the
        transaction, which other members' answers wait for on SQLite and which holds a
        connection on PostgreSQL, should not). ``submit`` uses it if, read again inside the
        transaction, the draft's content is still the same; otherwise it renders again."""
        _RENDERED.set(None)
        if unchanged(state.review) or flow.missing_required(state.steps, state.answers):
            return
        cell = await self.store.cell(state.member.cell_id)
        if cell is None:
            return
        context = self._context(state, cell, self.clock.now())
        docx = await asyncio.to_thread(render_draft, self.forms.template_of(state.form), context)
        _RENDERED.set(_Rendered(state.review.id, context, docx))

    async def _render(self, state: ReviewState, context: dict[str, Any]) -> bytes:
        ready = _RENDERED.get()
        _RENDERED.set(None)
        if ready is not None and ready.review_id == state.review.id and ready.context == context:
            return ready.docx
        # Something changed in between (or nothing was rendered before): render now.
        return await asyncio.to_thread(render_draft, self.forms.template_of(state.form), context)

    async def submit(self, state: ReviewState) -> list[Screen]:
        if unchanged(state.review):
            # A second tap on «Nộp», or «nộp» typed again with nothing changed: one version.
            # If the first reply never arrived, the member gets their draft now.
            if state.review.reply_lost:
                return await self.again(state)
            return [Screen("review/already_submitted",
                           {"version": state.review.submitted_version}),
                    *self.views.show(state)]
        missing = flow.missing_required(state.steps, state.answers)
        if missing:
            return [self.views.missing(state, missing)]
        cell = await self.store.cell(state.member.cell_id)
        if cell is None:  # members.cell_id is a foreign key
            raise RuntimeError(f"member {state.member.id} has no cell")
        now = self.clock.now()
        version = state.review.submitted_version + 1
        context = self._context(state, cell, now)
        # Rendered before the transaction when it could be (``prerender``), else now, off the
        # event loop: other members' messages keep moving while Word is written.
        docx = await self._render(state, context)
        filename = draft_filename(self.words.draft, state.member, state.round, version)
        version = await self.store.add_submission(state.review.id, filename, docx, now)
        # The level and score as submitted: the committee reads them without the answers,
        # and they outlive the answers' purge.
        result = review_facts(state.steps, state.answers)
        await self.store.set_review_result(state.review.id, result.self_level, result.self_score)
        ref = SubmissionRef(state.review.id, version)
        facts = self.views.facts(state, version)
        await self.notices.enqueue([
            Notice(officer.id, "secretary/draft_received", facts, document=ref,
                   round_id=state.round.id)
            for officer in await self.store.cell_officers(state.member.cell_id)
            if officer.id != state.member.id], now)
        return [Screen("review/submitted", facts, document=Document(filename, docx, ref))]

    async def again(self, state: ReviewState) -> list[Screen]:
        """The last submission, sent again to the member (their copy may never have arrived;
        the officers' copies are in the outbox already)."""
        submission = await self.store.latest_submission(state.review.id)
        if submission is None:
            return self.views.show(state)
        ref = SubmissionRef(state.review.id, submission.version)
        return [Screen("review/submitted", self.views.facts(state, submission.version),
                       document=Document(submission.filename, submission.docx, ref))]
