"""Bad and odd Telegram input, through the REAL Application over real HTTP.

Each test drives ``build_application(core)`` against ``FakeBotApi`` and checks two
things: the Vietnamese reply the member actually sees (the text after Telegram parsed
the HTML), and what ended up in the SQLite file: no answer lost, none stored wrongly.
"""

from __future__ import annotations

import copy
import time
import unicodedata
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from bot.text import clean_text
from tests.conftest import FixedClock
from tests.fakebotapi import FakeBotApi, JSONDict
from tests.tghelpers import (
    TgBot, button_data, link, linked_member, running_bot, texts, with_buttons,
)

MEMBER = 1001  # Telegram id of the seeded ordinary member, Trần Thị Bình
LEADER = 1002  # Telegram id of the seeded leader
STRANGER = 1999  # a Telegram user on no roster
GROUP = -100_500

# Distinctive phrases of the templates under templates/messages.
Q1 = "Biểu hiện 1.1"  # review/question, first checklist item
Q2 = "Biểu hiện 1.2"
WHAT = "Cụ thể là biểu hiện gì"  # the first follow-up, a text question
WHY = "Nguyên nhân chủ yếu là gì"
UNSUPPORTED = "Xin lỗi, tôi chưa đọc được"
EMPTY = "không có chữ nào"
RECEIVED = "✔️ Đã ghi ("
SAVED = "Đã lưu câu trả lời"
STALE = "thuộc một câu hỏi cũ"
FORGED = "không hợp lệ với tài khoản"
NOT_LINKED = "chưa được liên kết"
GROUP_ONLY = "chỉ làm việc trong tin nhắn riêng"
EDITED = "không đọc lại tin nhắn đã sửa"
INACTIVE = "không còn trong danh sách của chi bộ"


@pytest.fixture
async def bot(tmp_path: Path, clock: FixedClock) -> AsyncIterator[TgBot]:
    async with running_bot(tmp_path, clock) as running:
        yield running


async def at_text_question(bot: TgBot) -> JSONDict:
    """Link the member and admit item 1.1, which opens its first text follow-up."""
    first = await linked_member(bot, MEMBER)
    question = with_buttons(await bot.press_label(MEMBER, first, "Có biểu hiện rõ"))
    assert WHAT in question["text"]
    assert await bot.answers() == {"g1-01": "clear"}
    return question


async def write(bot: TgBot, text: str) -> JSONDict:
    """Type part of an answer to the current text question; return the ack with «Xong»."""
    ack = with_buttons(await bot.text(MEMBER, text))
    assert RECEIVED in ack["text"]
    return ack


# ------------------------------------------------------------- 1. not text at all

SENDERS: dict[str, tuple[Callable[[FakeBotApi], JSONDict], str]] = {
    "sticker": (lambda api: api.user_sticker(MEMBER), "nhãn dán"),
    "photo": (lambda api: api.user_photo(MEMBER, caption="Biên bản họp chi bộ"), "ảnh"),
    "voice": (lambda api: api.user_voice(MEMBER), "tin nhắn thoại"),
    "document": (lambda api: api.user_document(MEMBER, "bao-cao.docx", b"PK\x03\x04"), "tệp"),
    "location": (lambda api: api.user_location(MEMBER), "vị trí"),
}


@pytest.mark.parametrize("kind", list(SENDERS))
async def test_non_text_at_a_text_question_is_refused_politely(bot: TgBot, kind: str) -> None:
    await at_text_question(bot)
    send, word = SENDERS[kind]
    shown = texts(await bot.settle(send(bot.api), MEMBER))
    assert f"{UNSUPPORTED} {word}." in shown
    assert "gõ câu trả lời bằng chữ" in shown
    assert await bot.answers() == {"g1-01": "clear"}
    assert await bot.pending() == (None, None)  # not even the photo's caption


@pytest.mark.parametrize("kind", list(SENDERS))
async def test_non_text_at_a_choice_question_is_refused_politely(bot: TgBot, kind: str) -> None:
    await linked_member(bot, MEMBER)
    send, word = SENDERS[kind]
    shown = texts(await bot.settle(send(bot.api), MEMBER))
    assert f"{UNSUPPORTED} {word}." in shown
    assert "bấm một nút hoặc gõ số" in shown
    assert await bot.answers() == {}
    assert await bot.count("answer_history") == 0


# ------------------------------------------------------------- 2. nothing written

@pytest.mark.parametrize(
    "blank", ["   \n\t  ", "\u200b\u200c\u2060\ufeff", " \u200b \n \u200d "],
    ids=["whitespace", "zero-width", "mixed"],
)
async def test_blank_text_asks_for_an_answer_and_stores_nothing(bot: TgBot, blank: str) -> None:
    await at_text_question(bot)
    replies = await bot.text(MEMBER, blank)
    assert EMPTY in replies[0]["text"]
    assert WHAT in replies[-1]["text"]  # the question again, so the member knows where they are
    assert await bot.pending() == (None, None)
    assert await bot.answers() == {"g1-01": "clear"}


async def test_an_empty_message_is_refused_and_stores_nothing(bot: TgBot) -> None:
    """Telegram never sends "": PTB's TEXT filter passes it to on_unsupported, whose reply
    ("cannot read this content, please type the answer") is just as right."""
    await at_text_question(bot)
    shown = texts(await bot.text(MEMBER, ""))
    assert f"{UNSUPPORTED} nội dung này." in shown and "gõ câu trả lời bằng chữ" in shown
    assert await bot.pending() == (None, None)
    assert await bot.answers() == {"g1-01": "clear"}


# ------------------------------------------------------------- 3. a very long answer

def long_answer(length: int = 10_000) -> str:
    sentence = ("Chưa thường xuyên nghiên cứu nghị quyết, còn ngại va chạm khi góp ý "
                "cho đồng chí trong sinh hoạt chi bộ.")
    lines = [f"{n}. {sentence} {sentence}" for n in range(1, 200)]
    text = "\n".join(lines)[:length]
    text = text[:-1] + "."  # no trailing space for clean_text to trim
    assert len(text) == length and clean_text(text) == text
    return text


async def test_a_10000_character_answer_is_kept_whole(bot: TgBot) -> None:
    await at_text_question(bot)
    answer = long_answer()
    ack = await write(bot, answer)
    assert "(10000 ký tự" in ack["text"]
    replies = await bot.press_label(MEMBER, ack, "Xong")
    shown = texts(replies)
    assert f"{SAVED} (10000 ký tự)" in shown and WHY in shown
    stored = (await bot.answers())["g1-01.what"]
    assert stored is not None and len(stored) == 10_000 and stored == answer
    # Seeing it again (previous question, then the review list) stays within one message.
    again = await bot.text(MEMBER, "/quaylai")
    assert WHAT in texts(again) and "Câu trả lời hiện tại" in texts(again)
    assert "Xem lại bản kiểm điểm" in texts(await bot.text(MEMBER, "/xemlai"))
    for call in bot.api.calls("sendMessage"):
        assert len(call.params["text"]) <= 4096  # the HTML sent, not only what is seen
    assert (await bot.answers())["g1-01.what"] == answer


async def test_a_10000_character_shortcoming_comes_back_as_a_prefill_in_pieces(
    bot: TgBot
) -> None:
    """Section II repeats the follow-up answers in full: too long for one message."""
    await at_text_question(bot)
    answer = long_answer().replace("\n", " ")  # one paragraph: pieces must cut at spaces
    for text in (answer, "Chủ quan", "Đọc lại Điều lệ Đảng, hoàn thành trước 31/3/2027"):
        replies = await bot.press_label(MEMBER, await write(bot, text), "Xong")
    for _ in range(26):
        replies = await bot.press_label(MEMBER, with_buttons(replies), "Không có biểu hiện")
    for _ in range(3):  # form I: the member's three text questions
        replies = await bot.press_label(MEMBER, await write(bot, "Hoàn thành tốt năm 2026"),
                                        "Xong")
    pieces = [m for m in replies if SAVED not in m["text"]]
    assert len(pieces) > 2 and all(len(m["text"]) <= 4096 for m in pieces)
    assert f"Biểu hiện 1.1: {answer}" in " ".join(m["text"] for m in pieces)
    assert "reply_markup" in pieces[-1]  # the buttons come with the last piece
    await bot.press_label(MEMBER, pieces[-1], "Dùng nội dung gợi ý")
    assert (await bot.answers())["a-ii1"] == f"- Biểu hiện 1.1: {answer}"


# ------------------------------------------------------------- 4. Unicode normalisation

async def test_decomposed_vietnamese_is_stored_composed(bot: TgBot) -> None:
    await at_text_question(bot)
    composed = "Tiếp thu chưa đầy đủ ý kiến đóng góp của đồng nghiệp về việc đổi mới"
    decomposed = unicodedata.normalize("NFD", composed)
    assert decomposed != composed
    await write(bot, decomposed)
    # «hết» typed decomposed is still the keyword for «Xong», not more answer text.
    shown = texts(await bot.text(MEMBER, unicodedata.normalize("NFD", "Hết")))
    assert SAVED in shown
    stored = (await bot.answers())["g1-01.what"]
    assert stored == composed and unicodedata.is_normalized("NFC", stored)


# ------------------------------------------------------------- 5. markup in an answer

async def test_html_and_markdown_are_stored_verbatim_and_shown_literally(bot: TgBot) -> None:
    await at_text_question(bot)
    raw = "<b>x</b> & *y* <script>"
    ack = await write(bot, raw)
    assert raw in ack["text"]  # Telegram parsed the HTML: the member sees the characters
    sent = bot.api.calls("sendMessage")[-1].params["text"]
    assert "&lt;b&gt;x&lt;/b&gt; &amp; *y* &lt;script&gt;" in sent
    await bot.press_label(MEMBER, ack, "Xong")
    assert (await bot.answers())["g1-01.what"] == raw
    again = texts(await bot.text(MEMBER, "/quaylai"))
    assert f"Câu trả lời hiện tại: {raw}" in again


# ------------------------------------------------------------- 6. commands mid-answer

@pytest.mark.parametrize(
    ("command", "phrase"),
    [
        ("/xemlai", "Xem lại bản kiểm điểm"),
        ("/xemlai@tusoi_test_bot", "Xem lại bản kiểm điểm"),
        ("/quaylai", Q1),
        ("/huongdan", "Tôi hỏi từng câu một"),
        ("/foo", "Tôi chưa hiểu lệnh này"),
    ],
)
async def test_a_command_mid_answer_keeps_the_answer_in_progress(
    bot: TgBot, command: str, phrase: str
) -> None:
    await at_text_question(bot)
    await write(bot, "Phần đầu câu trả lời")
    shown = texts(await bot.text(MEMBER, command))
    assert phrase in shown
    assert await bot.pending() == ("g1-01.what", "Phần đầu câu trả lời")
    assert await bot.answers() == {"g1-01": "clear"}


async def test_an_unknown_command_is_never_stored_as_an_answer(bot: TgBot) -> None:
    await at_text_question(bot)
    await write(bot, "Phần đầu")
    await bot.text(MEMBER, "/foo bar")
    ack = await write(bot, "phần sau")
    assert "(17 ký tự, 2 đoạn)" in ack["text"]
    await bot.press_label(MEMBER, ack, "Xong")
    assert await bot.history("g1-01.what") == ["Phần đầu\nphần sau"]


async def test_after_going_back_the_answer_in_progress_is_still_there(bot: TgBot) -> None:
    await at_text_question(bot)
    await write(bot, "Phần đầu câu trả lời")
    back = with_buttons(await bot.text(MEMBER, "/quaylai"))
    assert Q1 in back["text"]
    shown = texts(await bot.press_label(MEMBER, back, "Giữ câu trả lời cũ"))
    assert WHAT in shown and "Đã ghi 20 ký tự cho câu này" in shown
    assert await bot.answers() == {"g1-01": "clear"}


async def test_an_answer_starting_with_lien_ket_is_an_answer(bot: TgBot) -> None:
    await at_text_question(bot)
    answer = "Liên kết giữa các tổ công tác còn lỏng lẻo"
    shown = texts(await bot.text(MEMBER, answer))
    assert RECEIVED in shown
    assert await bot.pending() == ("g1-01.what", answer)


def kept(pending: tuple[str | None, str | None], answers: dict[str, str | None],
         qid: str, text: str) -> bool:
    """The words typed for ``qid`` survive: still a draft, or saved as the answer."""
    return pending == (qid, text) or answers.get(qid) == text


async def test_skipping_mid_answer_does_not_throw_the_typed_text_away(bot: TgBot) -> None:
    await at_text_question(bot)
    await write(bot, "Phần đầu câu trả lời")
    assert WHY in texts(await bot.text(MEMBER, "/boqua"))
    assert kept(await bot.pending(), await bot.answers(), "g1-01.what", "Phần đầu câu trả lời")


async def test_a_draft_survives_answering_another_question_from_the_review_list(
    bot: TgBot
) -> None:
    """One answer is written at a time: starting on another question keeps the words
    already typed as the first question's answer, visible and editable."""
    await at_text_question(bot)
    await write(bot, "Phần đầu câu trả lời")
    await bot.text(MEMBER, "/xemlai")
    assert WHY in texts(await bot.text(MEMBER, "3"))  # step 3: the follow-up «why»
    await write(bot, "Vì bận việc chuyên môn")
    assert kept(await bot.pending(), await bot.answers(), "g1-01.what", "Phần đầu câu trả lời")
    await bot.text(MEMBER, "/xemlai")
    back = texts(await bot.text(MEMBER, "2"))
    assert WHAT in back and "Câu trả lời hiện tại: Phần đầu câu trả lời" in back


# ------------------------------------------------------------- 7. stale buttons

@pytest.mark.parametrize("label", ["Có biểu hiện rõ", "Bỏ qua", "Quay lại", "Xem nguyên văn"])
async def test_a_button_of_an_earlier_question_is_stale(bot: TgBot, label: str) -> None:
    first = await linked_member(bot, MEMBER)
    old = button_data(first, label)
    assert Q2 in texts(await bot.press_label(MEMBER, first, "Không có biểu hiện"))
    replies = await bot.press(MEMBER, first["message_id"], old)
    shown = texts(replies)
    if label == "Xem nguyên văn":  # the official text is for reading, not an answer
        assert "Phai nhạt lý tưởng cách mạng" in shown
    else:
        assert STALE in shown and Q2 in replies[-1]["text"]
    assert await bot.answers() == {"g1-01": "absent"}
    assert await bot.history("g1-01") == ["absent"]


async def test_a_press_whose_query_is_too_old_is_still_handled(bot: TgBot) -> None:
    first = await linked_member(bot, MEMBER)
    update = bot.api.user_press(MEMBER, first["message_id"], button_data(first, "Không có"))
    bot.api.expire_callback(update["callback_query"]["id"])
    replies = await bot.settle(update, MEMBER)
    assert [c.status for c in bot.api.calls("answerCallbackQuery")][-1] == 400
    assert Q2 in replies[-1]["text"]
    assert await bot.history("g1-01") == ["absent"]


async def test_a_stale_press_whose_query_is_too_old_is_still_stale(bot: TgBot) -> None:
    first = await linked_member(bot, MEMBER)
    await bot.press_label(MEMBER, first, "Không có biểu hiện")
    update = bot.api.user_press(MEMBER, first["message_id"], button_data(first, "Có biểu hiện rõ"))
    bot.api.expire_callback(update["callback_query"]["id"])
    shown = texts(await bot.settle(update, MEMBER))
    assert STALE in shown and Q2 in shown
    assert await bot.history("g1-01") == ["absent"]


# ------------------------------------------------------------- 8. forged callback data

FORGERIES: dict[str, Callable[[int, int], str]] = {
    "another_members_review": lambda mine, theirs: f"a|{theirs}|g1-01|clear",
    "no_such_review": lambda mine, theirs: "a|9999|g1-01|clear",
    "no_such_question": lambda mine, theirs: f"a|{mine}|zz-99|clear",
    "no_such_option": lambda mine, theirs: f"a|{mine}|g1-01|maybe",
    "submit_another_members_review": lambda mine, theirs: f"sub|{theirs}||",
    "garbage": lambda mine, theirs: "x|y",
    "unknown_action": lambda mine, theirs: f"zap|{mine}|g1-01|",
}


async def forge(bot: TgBot, case: str) -> list[JSONDict]:
    await linked_member(bot, LEADER, bot.seed.leader_id)
    first = await linked_member(bot, MEMBER)
    data = FORGERIES[case](await bot.review_id(),
                           await bot.review_id(bot.seed.leader_id))
    return await bot.press(MEMBER, first["message_id"], data)


@pytest.mark.parametrize("case", list(FORGERIES))
async def test_forged_button_data_is_refused_and_stores_nothing(bot: TgBot, case: str) -> None:
    shown = texts(await forge(bot, case))
    assert FORGED in shown
    assert await bot.count("answers") == 0 and await bot.count("answer_history") == 0
    assert await bot.count("submissions") == 0


@pytest.mark.parametrize("case", ["garbage", "unknown_action"])
async def test_undecodable_button_data_shows_the_current_question(bot: TgBot, case: str) -> None:
    replies = await forge(bot, case)
    assert FORGED in replies[0]["text"] and Q1 in replies[-1]["text"]


# ------------------------------------------------------------- 9. duplicate delivery

async def test_a_text_answer_delivered_twice_is_stored_once(bot: TgBot) -> None:
    """The inbox knows the update id: a second delivery is neither stored nor handled."""
    await at_text_question(bot)
    typed = bot.api.user_text(MEMBER, "Có lúc ngại phát biểu")
    ack = with_buttons(await bot.settle(typed, MEMBER))
    assert await bot.redeliver(typed, MEMBER) == []
    assert bot.runs[typed["update_id"]] == 1
    assert await bot.pending() == ("g1-01.what", "Có lúc ngại phát biểu")
    done = bot.api.user_press(MEMBER, ack["message_id"], button_data(ack, "Xong"))
    assert WHY in texts(await bot.settle(done, MEMBER))
    assert await bot.redeliver(done, MEMBER) == []
    assert bot.runs[done["update_id"]] == 1
    assert await bot.history("g1-01.what") == ["Có lúc ngại phát biểu"]
    assert await bot.count("answer_history") == 2  # g1-01 and g1-01.what, once each
    assert await bot.count("inbox") == 6  # link, press, text, probe, press, probe: once each


async def test_a_button_press_delivered_twice_is_stored_once(bot: TgBot) -> None:
    first = await linked_member(bot, MEMBER)
    press = bot.api.user_press(MEMBER, first["message_id"], button_data(first, "Có biểu hiện rõ"))
    await bot.settle(press, MEMBER)
    assert await bot.redeliver(press, MEMBER) == []
    assert bot.runs[press["update_id"]] == 1
    assert await bot.history("g1-01") == ["clear"]
    assert await bot.count("answer_history") == 1


# ------------------------------------------------------------- 10. group chats

def group_messages(bot: TgBot) -> str:
    return texts(bot.api.sent_messages(GROUP))


def assert_nothing_personal(bot: TgBot) -> None:
    shown = group_messages(bot)
    for private in ("Trần Thị Bình", "Kiểm điểm năm 2026", "Tự soi", "Biểu hiện", "Bản thân",
                    *bot.seed.codes.values()):
        assert private not in shown


async def test_added_to_a_group_the_bot_points_to_the_private_chat(bot: TgBot) -> None:
    await linked_member(bot, MEMBER)
    replies = await bot.settle(bot.api.bot_added_to_group(GROUP, MEMBER, "Chi bộ Phòng"), GROUP)
    assert len(replies) == 1 and GROUP_ONLY in replies[0]["text"]
    assert_nothing_personal(bot)


@pytest.mark.parametrize("command", ["/xemlai", "/tieptuc@tusoi_test_bot", "/huongdan", "/foo"])
async def test_a_command_in_a_group_gets_only_a_pointer(bot: TgBot, command: str) -> None:
    await linked_member(bot, MEMBER)
    private_before = len(bot.api.sent_messages(MEMBER))
    replies = await bot.settle(bot.api.group_text(GROUP, MEMBER, command), GROUP)
    assert len(replies) == 1 and GROUP_ONLY in replies[0]["text"]
    assert len(bot.api.sent_messages(MEMBER)) == private_before
    assert_nothing_personal(bot)
    assert await bot.answers() == {}


async def test_an_invite_code_posted_in_a_group_is_not_redeemed(bot: TgBot) -> None:
    code = bot.seed.codes[bot.seed.member_id]
    replies = await bot.settle(bot.api.group_text(GROUP, MEMBER, f"/start {code}"), GROUP)
    assert GROUP_ONLY in texts(replies)
    assert_nothing_personal(bot)
    assert await bot.count("accounts") == 0
    assert await bot.count("link_failures") == 0


async def test_a_mention_in_a_group_gets_only_a_pointer(bot: TgBot) -> None:
    await linked_member(bot, MEMBER)
    text = "@tusoi_test_bot hạn nộp là ngày nào?"
    message = {
        "message_id": 77, "date": int(time.time()),
        "chat": {"id": GROUP, "type": "supergroup", "title": "Chi bộ Phòng"},
        "from": {"id": MEMBER, "is_bot": False, "first_name": "Bình"},
        "text": text, "entities": [{"type": "mention", "offset": 0, "length": 15}],
    }
    replies = await bot.settle(bot.api.push_update({"message": message}), GROUP)
    assert len(replies) == 1 and GROUP_ONLY in replies[0]["text"]
    assert_nothing_personal(bot)


@pytest.mark.parametrize("send", ["chatter", "sticker", "edit"])
async def test_plain_group_activity_gets_no_reply(bot: TgBot, send: str) -> None:
    await linked_member(bot, MEMBER)
    if send == "chatter":
        update = bot.api.group_text(GROUP, MEMBER, "Chào cả nhà, mai họp chi bộ nhé")
    elif send == "sticker":
        update = bot.api.user_sticker(MEMBER, chat_id=GROUP)
    else:
        sent = bot.api.group_text(GROUP, MEMBER, "Mai họp lúc 8 giờ")
        await bot.settle(sent, GROUP)
        edited = {**copy.deepcopy(sent["message"]), "text": "Mai họp lúc 9 giờ",
                  "edit_date": int(time.time())}
        update = bot.api.push_update({"edited_message": edited})
    assert await bot.settle(update, GROUP) == []
    assert bot.api.sent_messages(GROUP) == []
    assert await bot.answers() == {}


# ------------------------------------------------------------- 11. linking

async def test_an_unlinked_user_is_told_how_to_link(bot: TgBot) -> None:
    for update in (bot.api.user_text(STRANGER, "Xin chào"),
                   bot.api.user_text(STRANGER, "/tieptuc"),
                   bot.api.user_text(STRANGER, "/start"),
                   bot.api.user_sticker(STRANGER)):
        assert NOT_LINKED in texts(await bot.settle(update, STRANGER))
    assert await bot.count("accounts") == 0 and await bot.count("reviews") == 0
    assert await bot.count("link_failures") == 0  # chatting is not a failed code


async def test_a_wrong_code_is_refused(bot: TgBot) -> None:
    shown = texts(await link(bot, STRANGER, "WRONGCODE"))
    assert "Mã mời không đúng" in shown
    assert await bot.count("accounts") == 0 and await bot.count("link_failures") == 1


async def test_after_five_wrong_codes_even_the_right_one_waits(
    bot: TgBot, clock: FixedClock
) -> None:
    for n in range(5):
        assert "Mã mời không đúng" in texts(await link(bot, MEMBER, f"SAI{n}XXXX"))
    code = bot.seed.codes[bot.seed.member_id]
    shown = texts(await link(bot, MEMBER, code))
    assert "nhập sai mã quá nhiều lần" in shown and "60 phút" in shown
    assert await bot.count("accounts") == 0  # and the code was not burnt:
    clock.advance(minutes=61)
    assert "Đã liên kết tài khoản" in texts(await link(bot, MEMBER, code))


async def test_an_expired_code_is_refused(bot: TgBot, clock: FixedClock) -> None:
    clock.advance(days=7, minutes=1)
    shown = texts(await link(bot, MEMBER, bot.seed.codes[bot.seed.member_id]))
    assert "Mã mời này đã hết hạn" in shown
    assert await bot.count("accounts") == 0


async def test_a_code_used_by_someone_else_is_refused(bot: TgBot) -> None:
    code = bot.seed.codes[bot.seed.member_id]
    await linked_member(bot, MEMBER)
    shown = texts(await link(bot, STRANGER, code))
    assert "Mã mời này đã được dùng rồi" in shown
    assert NOT_LINKED in texts(await bot.text(STRANGER, "Tôi là Bình"))
    assert await bot.count("accounts") == 1


async def test_the_code_typed_with_keyword_links_too(bot: TgBot) -> None:
    code = bot.seed.codes[bot.seed.member_id]
    shown = texts(await bot.text(MEMBER, f"Liên kết {code[:4].lower()} {code[4:]}"))
    assert "Đã liên kết tài khoản với đảng viên Trần Thị Bình" in shown


async def test_asking_how_to_link_is_not_a_failed_code(bot: TgBot) -> None:
    for _ in range(5):
        await bot.text(STRANGER, "Liên kết thế nào hả đồng chí?")
    assert await bot.count("link_failures") == 0
    assert "Đã liên kết tài khoản" in texts(await link(bot, STRANGER,
                                                      bot.seed.codes[bot.seed.member_id]))


# ------------------------------------------------------------- 12. edited messages

async def test_an_edited_message_changes_nothing(bot: TgBot) -> None:
    await at_text_question(bot)
    typed = bot.api.user_text(MEMBER, "Việc A")
    await bot.settle(typed, MEMBER)
    edited = {**copy.deepcopy(typed["message"]), "text": "Việc B", "edit_date": int(time.time())}
    replies = await bot.settle(bot.api.push_update({"edited_message": edited}), MEMBER)
    assert len(replies) == 1 and EDITED in replies[0]["text"]
    assert await bot.pending() == ("g1-01.what", "Việc A")
    assert await bot.answers() == {"g1-01": "clear"}


# ------------------------------------------------------------- 13. removed member

async def test_a_removed_member_is_told_and_nothing_is_stored(bot: TgBot) -> None:
    first = await linked_member(bot, MEMBER)
    second = with_buttons(await bot.press_label(MEMBER, first, "Không có biểu hiện"))
    await bot.core.store.deactivate_member(bot.seed.member_id)
    assert INACTIVE in texts(await bot.text(MEMBER, "Có biểu hiện"))
    assert INACTIVE in texts(await bot.press_label(MEMBER, second, "Có biểu hiện rõ"))
    assert INACTIVE in texts(await bot.text(MEMBER, f"/start {bot.seed.codes[bot.seed.member_id]}"))
    assert INACTIVE in texts(await bot.settle(bot.api.user_voice(MEMBER), MEMBER))
    assert await bot.answers() == {"g1-01": "absent"}
    assert await bot.count("answer_history") == 1


# ------------------------------------------------------------- 14. Telegram says "slow down"

async def test_a_429_is_retried_and_the_answer_stored_once(bot: TgBot) -> None:
    await at_text_question(bot)
    bot.api.fail_next("sendMessage", status=429, retry_after=1)
    ack = await write(bot, "Việc A")  # the ack itself hit the 429 first
    assert await bot.pending() == ("g1-01.what", "Việc A")
    bot.api.fail_next("sendMessage", status=429, retry_after=1)
    shown = texts(await bot.press_label(MEMBER, ack, "Xong"))
    assert f"{SAVED} (6 ký tự)" in shown and WHY in shown
    assert [c.status for c in bot.api.calls("sendMessage")].count(429) == 2
    assert await bot.history("g1-01.what") == ["Việc A"]
