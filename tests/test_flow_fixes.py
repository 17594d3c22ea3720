"""Issue 8, the flow half: «Không có» as an answer (problem 6), the review list and /tieptuc
(problem 7), digit look-alikes (problem 11, core side) and the newcomer's walk (items 1, 7,
14, 16–20). Through the real core on a real SQLite file, typed as on a text-only channel."""

from __future__ import annotations

import pytest

from bot.screens import Action, Incoming, Press
from handlers.tg.send import decode_press
from bot.text import ascii_number
from handlers.wiring import Core
from tests.conftest import Chat, seed
from tests.test_review import answer_checklist, linked


async def member(core: Core) -> Chat:
    """A member of a round on the 2023 form: these fixes are about the walk itself, and that
    pack has every kind of question they exercise (an optional score, section VII)."""
    seeded = await seed(core, form="form-02-2023")
    return await linked(core, seeded, seeded.member_id)


async def walk_to(chat: Chat, number: str) -> None:
    """Answer every question (typed, as on the console) until ``number`` is on screen."""
    for _ in range(80):
        q = chat.screen("review/question").context
        if q["number"] == number:
            return
        if q["kind"] == "choice":
            await chat.say("1")
        elif q["kind"] == "score":
            await chat.say("80")
        elif q["prefill"]:
            await chat.say("giữ nguyên")
        elif q["optional"]:
            await chat.say("không có")
        else:
            await chat.say(f"Trả lời cho {q['number']}, hoàn thành trước 30/6/2027")
            await chat.say("xong")
    raise AssertionError(f"never reached {number}")


def shown(chat: Chat) -> str:
    """The number of the question on screen, or "list"."""
    screen = chat.last[-1]
    return "list" if screen.template == "review/summary" else screen.context["number"]


# ----------------------------------------------------------------- problem 6


async def test_problem_6_khong_co_typed_at_section_iii_is_the_answer(core: Core) -> None:
    chat = await member(core)
    await walk_to(chat, "III")
    await chat.say("Không có")
    assert chat.templates()[0] == "review/text_saved"
    rid = chat.last[-1].buttons[0][0].press.review_id
    answers = await core.store.answers(rid)
    assert answers["f-iii"].value == "Không có" and not answers["f-iii"].skipped
    assert shown(chat) == "IV"


async def test_problem_6_khong_co_on_other_kinds_of_question(core: Core) -> None:
    chat = await member(core)
    await chat.say("không có")  # a checklist item: «Không có biểu hiện»
    assert chat.templates()[0] == "review/answered"
    assert chat.last[0].context["choice"] == "Không có biểu hiện"
    assert shown(chat) == "1.2"
    await walk_to(chat, "IV")  # optional text: nothing to report, as the button says
    await chat.say("không có")
    assert chat.templates()[0] == "review/skipped" and shown(chat) == "V"
    rid = chat.last[-1].buttons[0][0].press.review_id
    answer = (await core.store.answers(rid))["f-iv"]
    assert answer.value is None and not answer.skipped
    await walk_to(chat, "VII.1")  # a choice without such an option: left for later
    await chat.say("không có")
    assert chat.templates()[0] == "review/skipped" and shown(chat) == "VII.2"


# ----------------------------------------------------------------- problem 7, newcomer 1


async def test_problem_7_resume_after_the_list_returns_to_the_question(core: Core) -> None:
    chat = await member(core)
    await chat.say("1")
    await chat.say("1")
    assert shown(chat) == "1.3"
    await chat.say("/xemlai")
    assert shown(chat) == "list"
    await chat.say("/tieptuc")
    assert shown(chat) == "1.3"
    await chat.say("xem lại")
    await chat.say("quay lại")  # back from the list: the question the member left
    assert shown(chat) == "1.3"


async def test_problem_7_typed_numbers_work_on_the_list_shown_after_the_last_question(
    core: Core,
) -> None:
    chat = await member(core)
    await walk_to(chat, "VII.3")
    await chat.say("bỏ qua")
    assert shown(chat) == "list"
    await chat.say("2")
    assert shown(chat) == "1.2"
    await chat.say("xem lại")
    await chat.say("II.1")  # the code works too
    assert shown(chat) == "II.1"
    # After a restart the list comes back, and numbers still work.
    await chat.say("/xemlai")
    restarted = Chat(core, chat.external_id)
    restarted._n = 1000  # fresh update ids
    await restarted.say("/tieptuc")
    await restarted.say("1")
    assert shown(restarted) == "1.1"
    await restarted.say("quay lại")
    assert "review/at_start" in restarted.templates()


async def test_problem_7_back_on_the_completed_list_goes_to_the_last_question(
    core: Core,
) -> None:
    chat = await member(core)
    await walk_to(chat, "VII.3")
    await chat.say("80")
    assert shown(chat) == "list"
    await chat.say("quay lại")
    assert shown(chat) == "VII.3"


# ----------------------------------------------------------------- problem 11 (core side)


@pytest.mark.parametrize("typed", ["²", "①", "٣", "1" * 40, "¹⁰"])
async def test_problem_11_digit_look_alikes_never_crash(core: Core, typed: str) -> None:
    chat = await member(core)
    await chat.say(typed)
    expected = ascii_number(typed)
    if expected in (1, 2, 3):  # "①" and "²" are 1 and 2 after NFKC: a sensible reading
        assert chat.templates()[0] == "review/answered"
    else:
        assert chat.templates()[0] == "review/choose_hint"
    await walk_to(chat, "VII.3")
    await chat.say(typed)  # a score
    assert chat.templates()[0] in ("review/score_hint", "review/score_saved")
    await chat.say("xem lại")
    await chat.say(typed)  # a row of the list
    assert chat.templates()[0] in ("review/summary_hint", "review/question")


def test_problem_11_forged_button_data_with_look_alikes_or_huge_ids_is_refused() -> None:
    assert decode_press("a|²|g1-01|1") is None
    assert decode_press("a|" + "9" * 40 + "|g1-01|1") is None
    assert decode_press("a|12|g1-01|1") == Press(Action.ANSWER, 12, "g1-01", "1")
    assert ascii_number("１２") == 12 and ascii_number("²") == 2 and ascii_number("٣") is None


# ----------------------------------------------------------------- the newcomer's walk


async def test_newcomer_7_empty_line_on_a_choice_or_optional_score_says_what_to_do(
    core: Core,
) -> None:
    chat = await member(core)
    await chat.say("xong")  # the console's empty line
    assert chat.templates()[0] == "review/choose_hint" and shown(chat) == "1.1"
    await walk_to(chat, "VII.3")
    await chat.say("xong")
    hint = core.renderer.plain(chat.last[0])
    assert chat.templates()[0] == "review/score_hint" and "gõ «không có»" in hint


async def test_newcomer_14_text_channels_are_told_to_type_not_to_press(core: Core) -> None:
    chat = await member(core)
    await chat.say("2")
    question = [s for s in chat.last if s.template == "review/question"][-1]
    plain = core.renderer.plain(question)
    assert "bấm" not in plain.lower() and "gõ «xong»" in plain
    assert "bấm «Xong»" in core.renderer.html(question)  # Telegram keeps its buttons


async def test_newcomer_16_review_list_rows(core: Core) -> None:
    chat = await member(core)
    await chat.say("2")
    await chat.say("Dòng một")
    await chat.say("Dòng hai")
    await chat.say("xong")
    await walk_to(chat, "IV")
    await chat.say("không có")
    await chat.say("xem lại")
    text = core.renderer.plain(chat.screen("review/summary"))
    assert "1.1a: Dòng một …" in text and "\nDòng hai" not in text
    assert "I.1 (" in text  # form rows say what they are about
    row_iv = next(line for line in text.splitlines() if ". IV (" in line)
    assert row_iv.endswith(": không có")


async def test_newcomer_17_feedback_after_skip(core: Core) -> None:
    chat = await member(core)
    await chat.say("bỏ qua")
    assert chat.templates()[0] == "review/skipped" and "1.1" in core.renderer.plain(chat.last[0])
    assert shown(chat) == "1.2"


async def test_newcomer_17_keep_prefill_says_it_was_saved(core: Core) -> None:
    seeded = await seed(core)
    chat = await linked(core, seeded, seeded.member_id)
    await answer_checklist(chat, {"1.1": ("Ngại đọc", "Bận", "Đọc lại, xong trước 31/3/2027")})
    await walk_to(chat, "II.1")
    assert chat.screen("review/question").context["prefill"]
    await chat.say("giữ nguyên")
    assert chat.templates()[0] == "review/prefill_kept"


async def test_newcomer_18_welcome_explains_why_the_total_grows(core: Core) -> None:
    chat = await member(core)
    welcome = core.renderer.plain(chat.screen("review/welcome"))
    assert "thêm 3 câu hỏi" in welcome


async def test_newcomer_19_typed_nguyen_van_shows_the_question_again(core: Core) -> None:
    chat = await member(core)
    await chat.say("nguyên văn")
    assert chat.templates() == ["review/official", "review/question"]
    await chat.press(chat.button("official"))
    assert chat.templates() == ["review/official"]  # Telegram: the question stays above


async def test_newcomer_20_a_number_typed_while_paused_is_not_applied(core: Core) -> None:
    chat = await member(core)
    await chat.say("tạm dừng")
    await chat.say("2")
    assert chat.templates() == ["review/resumed", "review/question"]
    assert shown(chat) == "1.1"
    await chat.say("2")  # now seen: applied
    assert chat.templates()[0] == "review/answered" and shown(chat) == "1.1a"  # follow-up
    await chat.say("tạm dừng")
    await chat.say("/tieptuc")
    assert chat.templates() == ["review/welcome", "review/question"]


async def test_a_repeated_update_while_paused_changes_nothing(core: Core) -> None:
    chat = await member(core)
    await chat.say("tạm dừng")
    incoming = Incoming("test", chat.external_id, event_key="same", text="2")
    first = await core.service.handle(incoming)
    again = await core.service.handle(incoming)
    assert [s.template for s in first] == ["review/resumed", "review/question"]
    # The first reply may never have arrived: what was recorded, then the question.
    assert [s.template for s in again] == ["review/where_you_stand", "review/question"]
