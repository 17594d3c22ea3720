"""The review flow through the real core and a real SQLite file, without any channel."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import docx
import pytest

from bot.screens import Incoming
from handlers.wiring import Core
from tests.conftest import Chat, Seed, seed


async def linked(core: Core, seed_: Seed, member_id: int, name: str = "u1") -> Chat:
    chat = Chat(core, name)
    await chat.say(f"liên kết {seed_.codes[member_id]}")
    assert chat.templates()[:2] == ["link/ok", "review/welcome"]
    return chat


async def answer_checklist(chat: Chat, admit: dict[str, tuple[str, str, str]] | None = None) -> None:
    """Answer all 27 items: "absent" except the items in ``admit`` (item -> what/why/remedy)."""
    admit = admit or {}
    for _ in range(27):
        question = chat.screen("review/question")
        number = question.context["number"]
        if number in admit:
            await chat.press(chat.button(action="a", text="Có biểu hiện ở mức độ nhẹ"))
            for text in admit[number]:
                await chat.say(text)
                await chat.press(chat.button("done"))
                if chat.templates() == ["review/vague"]:
                    await chat.press(chat.button("keep_as_is"))
        else:
            await chat.press(chat.button(action="a", text="Không có biểu hiện"))


async def answer_form(
    chat: Chat,
    *,
    level: str = "Hoàn thành tốt nhiệm vụ",
    score: str = "80",
    choose: Callable[[dict[str, Any]], str] | None = None,
    write: Callable[[dict[str, Any]], str] | None = None,
    seen: list[tuple[str, str]] | None = None,
    shown: list[str] | None = None,
    keep_prefill: bool = True,
) -> None:
    """Walk the form sections until the review list appears.

    ``choose``/``write`` pick the option label and the text for a question (its screen
    context); ``seen`` collects (number, prompt) of every question asked, ``shown`` every
    template shown on the way. On the 2025 forms ``score`` is the total: 30% of it goes to the
    common criteria, the rest to the task results; the annex is declined, the yes/no facts
    answered with their first option.
    """
    total = int(score)
    parts = {"score_common": total * 3 // 10, "score_tasks": total - total * 3 // 10}
    for _ in range(60):
        if shown is not None:
            shown += chat.templates()
        if chat.screen().template == "review/summary":
            return
        q = chat.screen("review/question").context
        if seen is not None:
            seen.append((q["number"], q["prompt"]))
        if q["kind"] == "choice":
            labels = q["options"]
            default = labels[1] if q["role"] == "annex" else labels[0]
            choice = choose(q) if choose else (level if level in labels else default)
            await chat.press(chat.button(action="a", text=choice))
        elif q["kind"] == "score":
            await chat.say(str(parts.get(q["role"], total)))
        elif q["prefill"] and keep_prefill:
            await chat.press(chat.button("keep_prefill"))
        elif q["optional"]:
            await chat.press(chat.button("none_to_report"))
        else:
            text = write(q) if write else (
                f"Trả lời cho {q['number']}: hoàn thành trước 30/6/2027 & đúng hạn")
            await chat.say(text)
            await chat.press(chat.button("done"))
    raise AssertionError("the form never ended")


async def review_id(core: Core, seed_: Seed, member_id: int) -> int:
    review = await core.store.review_for(seed_.round_id, member_id)
    assert review is not None
    return review.id


async def test_linking_shows_round_deadline_and_first_question(core: Core) -> None:
    s = await seed(core)
    chat = await linked(core, s, s.member_id)
    welcome = chat.screen("review/welcome").context
    assert welcome["name"] == "Trần Thị Bình"
    assert welcome["due"].isoformat() == "2026-12-10"
    assert welcome["remaining"] == welcome["total"] > 27
    question = chat.screen("review/question").context
    assert (question["position"], question["total"], question["number"]) == (1, 27, "1.1")
    assert question["has_official"] is True
    rendered = core.renderer.html(chat.screen("review/question"))
    assert "Tự soi 1/27" in rendered and "tóm tắt, không phải nguyên văn" in rendered


async def test_full_walk_submits_a_draft_with_the_answers(core: Core) -> None:
    s = await seed(core)
    secretary = await linked(core, s, s.secretary_id, "sec")
    chat = await linked(core, s, s.member_id)
    await answer_checklist(chat, {"1.3": ("Ngại đọc tài liệu & <nghị quyết>",
                                          "Bận việc chuyên môn",
                                          "Đọc hết văn kiện, xong trước 31/3/2027")})
    await answer_form(chat)
    summary = chat.screen("review/summary").context
    assert summary["missing"] == 0
    await chat.press(chat.button("submit"))
    mine = chat.screen("review/submitted")
    assert mine.document is not None and mine.context["version"] == 1
    assert chat.templates() == ["review/submitted"]  # the member's reply only
    [to_secretary] = secretary.notices  # the secretary's copy came through the outbox
    assert to_secretary.template == "secretary/draft_received"
    assert to_secretary.document == mine.document
    assert not chat.notices

    text = "\n".join(p.text for p in docx.Document(io.BytesIO(mine.document.content)).paragraphs)
    assert "Ngại đọc tài liệu & <nghị quyết>" in text  # escaped, not dropped
    assert "- Biểu hiện 1.3: Đọc hết văn kiện, xong trước 31/3/2027" in text  # prefilled VI
    assert "tự nhận có 1 biểu hiện" in text
    assert "Trần Thị Bình" in text and "Mẫu 2B-HD KĐ.ĐG 2025" in text
    del secretary


async def test_vague_remedy_is_flagged_once_then_accepted(core: Core) -> None:
    s = await seed(core)
    chat = await linked(core, s, s.member_id)
    await chat.press(chat.button(action="a", text="Có biểu hiện rõ"))
    for text in ("Có lúc chưa gương mẫu", "Chủ quan"):
        await chat.say(text)
        await chat.press(chat.button("done"))
    await chat.say("Sẽ cố gắng khắc phục")
    await chat.press(chat.button("done"))
    assert chat.templates() == ["review/vague"]
    await chat.say("trong năm 2027")  # appended to what was written
    await chat.press(chat.button("keep_as_is"))
    answers = await core.store.answers(await review_id(core, s, s.member_id))
    remedy = answers["g1-01.remedy"]
    assert remedy.value == "Sẽ cố gắng khắc phục\ntrong năm 2027"
    assert remedy.vague is False

    # The next vague remedy is flagged once, then kept as written and marked vague.
    await chat.press(chat.button(action="a", text="Có biểu hiện ở mức độ nhẹ"))
    for text in ("a", "b"):
        await chat.say(text)
        await chat.press(chat.button("done"))
    await chat.say("cố gắng hơn")
    await chat.press(chat.button("done"))
    assert chat.templates() == ["review/vague"]
    await chat.press(chat.button("keep_as_is"))
    answers = await core.store.answers(await review_id(core, s, s.member_id))
    assert answers["g1-02.remedy"].vague is True


async def test_long_answers_span_messages_and_are_never_truncated(core: Core) -> None:
    s = await seed(core)
    chat = await linked(core, s, s.member_id)
    await chat.press(chat.button(action="a", text="Có biểu hiện rõ"))
    parts = ["a" * 4096, "b" * 4096, "c" * 1808]
    for part in parts:
        await chat.say(part)
        assert chat.templates() == ["review/text_received"]
    await chat.press(chat.button("done"))
    answers = await core.store.answers(await review_id(core, s, s.member_id))
    assert answers["g1-01.what"].value == "\n".join(parts)


async def test_back_skip_and_edit_from_the_review_list(core: Core) -> None:
    s = await seed(core)
    chat = await linked(core, s, s.member_id)
    await chat.press(chat.button(action="a", text="Không có biểu hiện"))  # 1.1
    await chat.press(chat.button("skip"))  # 1.2 for later
    assert chat.screen("review/question").context["number"] == "1.3"
    await chat.press(chat.button("back"))
    back = chat.screen("review/question").context
    assert back["number"] == "1.2" and back["current"] == {"skipped": True, "text": ""}
    await chat.press(chat.button("back"))
    assert chat.screen("review/question").context["current"]["text"] == "Không có biểu hiện"
    await chat.press(chat.button(action="a", text="Có biểu hiện ở mức độ nhẹ"))  # change 1.1
    # Changing 1.1 to an admission brings its follow-ups before anything else.
    assert chat.screen("review/question").context["parent_number"] == "1.1"

    await chat.say("/xemlai")
    rows = chat.screen("review/summary").context["rows"]
    assert rows[0]["answer"]["text"] == "Có biểu hiện ở mức độ nhẹ"
    await chat.say("1")  # edit item 1 from the list
    await chat.say("1")  # typed option 1: "Không có biểu hiện"
    answers = await core.store.answers(await review_id(core, s, s.member_id))
    assert answers["g1-01"].value == "absent"
    history = await core.store.answer_history(await review_id(core, s, s.member_id), "g1-01")
    assert [a.value for a in history] == ["absent", "slight", "absent"]
    # The walk resumes at the first unanswered item; the skipped 1.2 waits for the end.
    assert chat.screen("review/question").context["number"] == "1.3"


async def test_skipped_items_block_submission_until_answered(core: Core) -> None:
    s = await seed(core)
    chat = await linked(core, s, s.member_id)
    await chat.press(chat.button("skip"))
    await chat.say("/nop")
    missing = chat.screen("review/missing").context["items"]
    assert missing[0] == "1.1" and len(missing) > 1


async def test_leaders_write_form_2a_with_the_lines_taken_from_quy_dinh_366(core: Core) -> None:
    s = await seed(core)
    member = await linked(core, s, s.member_id)
    leader = await linked(core, s, s.leader_id, "u2")
    m_total = member.screen("review/welcome").context["total"]
    l_total = leader.screen("review/welcome").context["total"]
    assert l_total == m_total + 3  # I.4, I.5, I.6 from 366 Điều 6 khoản 2 (ii)
    await answer_checklist(leader)
    seen: list[tuple[str, str]] = []
    await answer_form(leader, seen=seen)
    assert [n for n, _ in seen if n.startswith("I.")] == ["I.1", "I.2", "I.3", "I.4", "I.5", "I.6"]
    await leader.press(leader.button("submit"))
    content = leader.screen("review/submitted").document.content  # type: ignore[union-attr]
    text = "\n".join(p.text for p in docx.Document(io.BytesIO(content)).paragraphs)
    assert "Mẫu 2A-HD KĐ.ĐG 2025" in text and "(Cá nhân giữ chức vụ lãnh đạo, quản lý)" in text
    assert "(Dòng này theo Quy định 366-QĐ/TW, Điều 6 khoản 2 (ii)" in text


async def test_severe_admission_with_high_level_warns(core: Core) -> None:
    s = await seed(core)
    chat = await linked(core, s, s.member_id)
    await answer_checklist(chat, {})
    # Go back to 3.9 from the first form question and admit it clearly.
    await chat.press(chat.button("back"))
    await chat.press(chat.button(action="a", text="Có biểu hiện rõ"))
    for text in ("Việc cụ thể", "Nguyên nhân", "Sửa ngay trước 15/1/2027 bằng việc cụ thể"):
        await chat.say(text)
        await chat.press(chat.button("done"))
    seen: list[str] = []
    await answer_form(chat, level="Hoàn thành xuất sắc nhiệm vụ", score="65", shown=seen)
    assert "review/warn_severe_high_level" in seen
    assert "review/warn_band" in seen
    html = core.renderer.render("review/warn_band", {
        "total": 65, "total_max": 100, "common": 19, "tasks": 46, "band": "Hoàn thành nhiệm vụ",
        "band_wording": "từ 50 đến dưới 70 điểm", "level": "Hoàn thành xuất sắc nhiệm vụ",
        "level_wording": "đạt từ 90 điểm trở lên",
        "source": "Quy định 366-QĐ/TW ngày 30/8/2025 của Bộ Chính trị, Điều 11"})
    assert "«từ 50 đến dưới 70 điểm»" in html and "cấp có thẩm quyền quyết định" in html


async def test_resubmission_makes_a_new_version(core: Core) -> None:
    s = await seed(core)
    chat = await linked(core, s, s.member_id)
    await answer_checklist(chat)
    await answer_form(chat)
    await chat.press(chat.button("submit"))
    await chat.say("/xemlai")
    await chat.say("1")
    await chat.say("2")  # 1.1 now "slight": follow-ups are asked
    for text in ("Việc", "Vì", "Làm ngay trong tháng 1 năm 2027"):
        await chat.say(text)
        await chat.press(chat.button("done"))
    assert chat.screen("review/summary").context["changed_since_submit"] is True
    await chat.press(chat.button("resubmit"))
    assert chat.screen("review/submitted").context["version"] == 2
    latest = await core.store.latest_submission(await review_id(core, s, s.member_id))
    assert latest is not None and latest.version == 2


async def test_closed_round_refuses_changes(core: Core) -> None:
    s = await seed(core)
    chat = await linked(core, s, s.member_id)
    await core.store.close_round(s.round_id)
    await chat.say("1")
    assert chat.templates() == ["review/no_round"]
    assert await core.store.answers(await review_id(core, s, s.member_id)) == {}


async def test_repeated_event_changes_nothing(core: Core) -> None:
    s = await seed(core)
    await linked(core, s, s.member_id)
    incoming = Incoming("test", "u1", event_key="test:dup", text="1")
    first = await core.service.handle(incoming)
    again = await core.service.handle(incoming)
    assert [x.template for x in first] == ["review/answered", "review/question"]
    # The reply may never have gone out: it says what was stored, then the next question.
    assert [x.template for x in again] == ["review/where_you_stand", "review/question"]
    assert again[0].context["recorded"]["number"] == "1.1"
    assert again[1].context["number"] == "1.2"
    history = await core.store.answer_history(await review_id(core, s, s.member_id), "g1-01")
    assert len(history) == 1


@pytest.mark.parametrize("raw, stored", [
    ("Ca\u0301n bo\u0323\u0302", "Cán bộ"),               # NFD -> NFC
    ("a\u200bb\u200d\ufeffc", "abc"),                      # zero-width removed
    ("  dòng 1  \r\n\r\n\r\n\r\ndòng   2 ", "dòng 1\n\ndòng 2"),
    ("x\x00y\x07z", "xyz"),                                 # control characters
])
async def test_text_is_cleaned_before_it_is_stored(core: Core, raw: str, stored: str) -> None:
    s = await seed(core)
    chat = await linked(core, s, s.member_id)
    await chat.press(chat.button(action="a", text="Có biểu hiện rõ"))
    await chat.say(raw)
    await chat.press(chat.button("done"))
    answers = await core.store.answers(await review_id(core, s, s.member_id))
    assert answers["g1-01.what"].value == stored


async def test_group_messages_never_reach_member_data(core: Core) -> None:
    s = await seed(core)
    await linked(core, s, s.member_id)
    screens = await core.service.handle(Incoming("test", "u1", text="/xemlai", private=False))
    assert [x.template for x in screens] == ["common/group_only"]
    assert screens[0].context == {}
