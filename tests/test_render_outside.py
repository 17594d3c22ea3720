"""Architecture review, problem 7: the Word draft is rendered outside the write transaction
(on SQLite every other member's answer waits for that transaction; on PostgreSQL it holds a
connection), and the draft stored is still the one the answers say at the moment of the
commit."""

from __future__ import annotations

import io
from typing import Any

import docx
import pytest

import bot.submit
from handlers.wiring import Core
from storage.db import Database
from tests.conftest import seed
from tests.test_review import answer_checklist, answer_form, linked


def _text(content: bytes) -> str:
    return "\n".join(p.text for p in docx.Document(io.BytesIO(content)).paragraphs)


async def test_the_draft_is_rendered_before_the_transaction(
    core: Core, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = await seed(core)
    chat = await linked(core, s, s.member_id)
    await answer_checklist(chat, {"1.3": ("Ngại đọc tài liệu", "Bận việc chuyên môn",
                                          "Đọc hết văn kiện, xong trước 31/3/2027")})
    await answer_form(chat)
    assert isinstance(core.db, Database)
    locked_while_rendering: list[bool] = []
    real = bot.submit.render_draft

    def watched(template: Any, context: Any) -> bytes:  # the real renderer, observed
        locked_while_rendering.append(core.db._lock.locked())
        return real(template, context)

    monkeypatch.setattr(bot.submit, "render_draft", watched)
    await chat.press(chat.button("submit"))
    submitted = chat.screen("review/submitted")
    assert submitted.document is not None and locked_while_rendering == [False]
    assert "Ngại đọc tài liệu" in _text(submitted.document.content)


async def test_an_answer_changed_after_the_early_render_is_in_the_stored_draft(
    core: Core,
) -> None:
    s = await seed(core)
    chat = await linked(core, s, s.member_id)
    await answer_checklist(chat, {"1.3": ("Ngại đọc tài liệu", "Bận việc chuyên môn",
                                          "Đọc hết văn kiện, xong trước 31/3/2027")})
    await answer_form(chat)
    member = await core.store.member(s.member_id)
    assert member is not None
    state = await core.service.load(member)
    await core.service.submitter.prerender(state)  # rendered from the answers as they were
    async with core.store.transaction():  # … then an answer changes before the submission
        await core.store.save_answer(state.review.id, "g1-03.what", "Việc khác hẳn",
                                     skipped=False, vague=False, now=core.clock.now())
    async with core.store.transaction():
        screens = await core.service.submitter.submit(await core.service.load(member))
    document = screens[0].document
    assert document is not None
    text = _text(document.content)
    assert "Việc khác hẳn" in text and "Ngại đọc tài liệu" not in text
