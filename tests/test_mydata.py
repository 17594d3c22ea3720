"""A member's own data (issue 11, item 4): /dulieu sends their answers and drafts as files;
once the round is closed they may delete their answer texts (after a confirmation), and the
committee's counts, their level and score stay. A forged review id, an open round and a
second deletion are refused in Vietnamese."""

from __future__ import annotations

import io
import zipfile

from bot.screens import Button, DeskAction, desk_press
from handlers.wiring import Core
from tests.committeehelpers import DOCX, build
from tests.conftest import Chat

SECRET = "Tự nhận thấy còn chậm trong việc XYZ"


def forged(desk: DeskAction, target: int) -> Button:
    return Button("x", desk_press(desk, target))


async def test_dulieu_sends_own_answers_and_drafts_and_deletes_them_once_the_round_closed(
    core: Core,
) -> None:
    fx = await build(core)
    store, now = core.store, core.clock.now()
    async with store.transaction():
        member = (await store.members(fx.cells["A"]))[1]  # Đảng Viên A1: submitted, accepted
        review = await store.review_for(fx.rounds["A"], member.id)
        other = await store.review_for(fx.rounds["A"], fx.secretary_id)
        assert review is not None and other is not None
        await store.save_answer(review.id, "g1-02", SECRET, skipped=False, vague=False, now=now)
    chat = Chat(core, "a1")
    await chat.say(f"liên kết {fx.codes[member.id]}")

    await chat.say("/dulieu")
    files = chat.screen("mydata/files")
    assert files.document is not None and files.context["deletable"] == 0  # round open
    archive = zipfile.ZipFile(io.BytesIO(files.document.content))
    answers = next(n for n in archive.namelist() if n.endswith("/cau-tra-loi.csv"))
    assert SECRET in archive.read(answers).decode("utf-8-sig")
    drafts = [n for n in archive.namelist() if n.endswith(".docx")]
    assert [n.rsplit("/", 1)[1] for n in drafts] == [f"ban-kiem-diem-{member.id}.docx"]
    assert archive.read(drafts[0]) == DOCX  # their own draft, nobody else's

    # Refusals: someone else's review (a forged button), an open round.
    await chat.press(forged(DeskAction.DELETE_MINE, other.id))
    assert chat.templates() == ["mydata/not_yours"]
    await chat.press(forged(DeskAction.CONFIRM_DELETE_MINE, other.id))
    assert chat.templates() == ["mydata/not_yours"]
    await chat.press(forged(DeskAction.CONFIRM_DELETE_MINE, review.id))
    assert chat.templates() == ["mydata/round_open"]
    assert "còn đang mở" in core.renderer.plain(chat.screen())
    assert (await store.answers(review.id))["g1-02"].value == SECRET

    async with store.transaction():
        await core.operations.close_round(fx.cells["A"])
    before = await core.service.committee.summary(fx.committee_id)
    await chat.say("/dulieu")
    assert chat.screen("mydata/files").context["deletable"] == 1
    await chat.say("1")
    confirm = chat.screen("mydata/confirm_delete")
    assert (confirm.context["answers"], confirm.context["drafts"]) == (2, 1)
    assert (await store.answers(review.id))["g1-02"].value == SECRET  # asked, not done
    await chat.press(chat.button("confirm_delete_mine"))
    assert chat.templates() == ["mydata/deleted"]
    assert await store.answers(review.id) == {}
    assert [s.docx for s in await store.submissions_of(review.id)] == [b""]
    assert (await store.answers(other.id)) != {}  # nobody else's
    after = await core.service.committee.summary(fx.committee_id)
    assert [(c.cell.id, c.segments) for c in after.cells] == [
        (c.cell.id, c.segments) for c in before.cells]
    mine = [m for c in after.cells for m in c.members if m.id == member.id]
    assert [(m.status, m.level, m.score) for m in mine] == [("accepted", "htxs", 95)]

    await chat.press(forged(DeskAction.CONFIRM_DELETE_MINE, review.id))
    assert chat.templates() == ["mydata/deleted_already"]
    await chat.say("/dulieu")
    assert chat.screen("mydata/files").context["deletable"] == 0
    assert chat.screen().context["rounds"][0]["purged"]
    log = await store.access_log_rows([member.id])
    assert [r["action"] for r in log].count("delete_own") == 1
