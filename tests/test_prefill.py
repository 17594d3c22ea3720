"""Pre-filled sections (II.1, II.2, VI) never go stale, and a manifestation's "what happened"
text is printed once (issue 8, item 9): a kept pre-fill is stored as "use the suggestion" and
composed from the follow-up answers as they stand when the draft is made."""

from __future__ import annotations

import io

import docx

from handlers.wiring import Core
from tests.conftest import Chat, seed
from tests.test_review import answer_checklist, answer_form, linked, review_id

WHAT = "Có lúc đọc nghị quyết qua loa, chưa ghi chép"
WHY = "Chủ quan, bận việc chuyên môn"
REMEDY = "Đọc lại văn kiện và ghi chép, xong trước 31/3/2027"


def draft_text(chat: Chat) -> str:
    content = chat.screen("review/submitted").document.content  # type: ignore[union-attr]
    return "\n".join(p.text for p in docx.Document(io.BytesIO(content)).paragraphs)


async def edit(chat: Chat, label: str) -> None:
    await chat.say("/xemlai")
    rows = chat.screen("review/summary").context["rows"]
    await chat.say(str(next(r["n"] for r in rows if r["label"] == label)))


async def write(chat: Chat, text: str) -> None:
    await chat.say(text)
    await chat.press(chat.button("done"))


async def submitted_with_one_admission(core: Core) -> tuple[Chat, int]:
    s = await seed(core)
    chat = await linked(core, s, s.member_id)
    await answer_checklist(chat, {"1.3": (WHAT, WHY, REMEDY)})
    await answer_form(chat)  # keeps every pre-fill
    await chat.press(chat.button("submit"))
    return chat, await review_id(core, s, s.member_id)


async def test_problem_9_kept_prefill_of_section_vi_follows_a_changed_remedy(core: Core) -> None:
    chat, rid = await submitted_with_one_admission(core)
    assert f"- Biểu hiện 1.3: {REMEDY}" in draft_text(chat)
    assert (await core.store.answers(rid))["a-vi"].prefilled

    await edit(chat, "1.3c")  # the remedy follow-up of item 1.3
    await write(chat, "Học lại Nghị quyết Trung ương 4, xong trước 30/4/2027")
    await chat.say("/xemlai")
    await chat.press(chat.button("resubmit"))
    text = draft_text(chat)
    assert chat.screen("review/submitted").context["version"] == 2
    assert "- Biểu hiện 1.3: Học lại Nghị quyết Trung ương 4, xong trước 30/4/2027" in text
    assert REMEDY not in text


async def test_problem_9_causes_answered_after_keeping_ii2_appear_in_ii2(core: Core) -> None:
    chat, _ = await submitted_with_one_admission(core)
    await edit(chat, "1.1")
    await chat.press(chat.button(action="a", text="Có biểu hiện ở mức độ nhẹ"))
    for text in ("Có lúc dao động", "Ít đọc sách lý luận", "Đọc giáo trình, xong trước 1/6/2027"):
        await write(chat, text)
    await chat.say("/xemlai")
    await chat.press(chat.button("resubmit"))
    text = draft_text(chat)
    causes = text.split("2. Nguyên nhân của hạn chế, khuyết điểm.")[1].split("III.")[0]
    assert f"- Biểu hiện 1.1: Ít đọc sách lý luận\n- Biểu hiện 1.3: {WHY}" in causes


async def test_problem_9_what_happened_text_appears_once_in_the_draft(core: Core) -> None:
    chat, _ = await submitted_with_one_admission(core)
    text = draft_text(chat)
    assert text.count(WHAT) == 1
    assert f"- Biểu hiện 1.3: {WHAT}" in text  # in II.1, where the pre-fill puts it
    assert "- Biểu hiện 1.3 (Có biểu hiện ở mức độ nhẹ)\n" in text  # I.1 names the item only
    assert "(Nội dung cụ thể của từng biểu hiện ghi tại mục II.)" in text


async def test_own_words_in_ii1_keep_the_what_text_in_i1(core: Core) -> None:
    """When the member writes II.1 in their own words, I.1 still says what happened."""
    s = await seed(core)
    chat = await linked(core, s, s.member_id)
    await answer_checklist(chat, {"1.3": (WHAT, WHY, REMEDY)})
    await answer_form(chat, keep_prefill=False,
                      write=lambda q: "Tác phong còn chậm, cần sửa ngay trước 30/6/2027")
    await chat.press(chat.button("submit"))
    text = draft_text(chat)
    assert text.count(WHAT) == 1
    assert f"- Biểu hiện 1.3 (Có biểu hiện ở mức độ nhẹ): {WHAT}" in text
