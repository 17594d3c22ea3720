"""Proves FakeBotApi works with the REAL python-telegram-bot stack over real HTTP."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest, EndPointNotFound, Forbidden, NetworkError, RetryAfter
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from tests.fakebotapi import FakeBotApi

USER = 42


@pytest.fixture
async def api() -> AsyncIterator[FakeBotApi]:
    async with FakeBotApi() as server:
        yield server


def build_app(api: FakeBotApi) -> Application:
    """A real PTB Application pointed at the fake server."""
    return (
        ApplicationBuilder()
        .token("123:ABC")
        .base_url(api.base_url)
        .base_file_url(api.base_file_url)
        .build()
    )


async def run_polling(app: Application, body: Callable[[], Awaitable[None]]) -> None:
    """Run ``body`` while ``app`` polls, the async equivalent of ``run_polling``."""
    await app.initialize()
    await app.updater.start_polling(poll_interval=0, timeout=1)
    await app.start()
    try:
        await body()
    finally:
        await app.updater.stop()
        await app.stop()
        await app.shutdown()


def add_echo_handlers(app: Application, seen_update_ids: list[int]) -> None:
    """Echo text with a button; a press edits the message and answers the query."""

    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.message is not None
        await update.message.reply_text(f"hi, args={context.args}")

    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.message is not None
        seen_update_ids.append(update.update_id)
        markup = InlineKeyboardMarkup([[InlineKeyboardButton("Tap", callback_data="tap")]])
        await update.message.reply_text(f"echo: {update.message.text}", reply_markup=markup)

    async def press(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        assert query is not None
        await query.answer("pressed")
        await query.edit_message_text(f"<b>you pressed</b> {query.data}", parse_mode="HTML")

    app.add_handler(CommandHandler("start", start))
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, echo))
    app.add_handler(CallbackQueryHandler(press))


async def test_echo_bot_text_and_button_press(api: FakeBotApi) -> None:
    app = build_app(api)
    add_echo_handlers(app, [])

    async def body() -> None:
        api.user_text(USER, "/start abc")
        [greeting] = await api.wait_for_reply(USER, after_count=0)
        assert greeting["text"] == "hi, args=['abc']"

        api.user_text(USER, "hello")
        [echo] = await api.wait_for_reply(USER, after_count=1)
        assert echo["text"] == "echo: hello"
        _, params, files = api.calls("sendMessage")[-1]
        assert params["chat_id"] == USER
        assert params["text"] == "echo: hello"
        assert params["reply_markup"] == {
            "inline_keyboard": [[{"text": "Tap", "callback_data": "tap"}]]
        }
        assert files == {}

        api.user_press(USER, echo["message_id"], "tap")
        await api.wait_for_call("editMessageText")
        [answer] = await api.wait_for_call("answerCallbackQuery")
        assert answer.params["text"] == "pressed"
        assert answer.status == 200
        edit = api.calls("editMessageText")[0].params
        assert edit["message_id"] == echo["message_id"]
        assert edit["parse_mode"] == "HTML"

    await run_polling(app, body)

    messages = api.sent_messages(USER)
    assert [m["text"] for m in messages] == ["hi, args=['abc']", "you pressed tap"]
    assert "reply_markup" not in messages[1]  # editing text without markup drops the keyboard
    assert api.calls("getMe") and api.calls("deleteWebhook")
    assert api.pending_updates == []  # the final getUpdates confirmed everything


async def test_send_document_roundtrip(api: FakeBotApi) -> None:
    payload = b"PK\x03\x04 fake docx \x00\xff" * 100
    async with build_app(api) as app:
        message = await app.bot.send_document(
            USER, document=io.BytesIO(payload), filename="ban-kiem-diem.docx", caption="Xong"
        )
    assert message.document is not None
    assert message.document.file_name == "ban-kiem-diem.docx"
    [doc] = api.documents(USER)
    assert (doc.filename, doc.content, doc.caption) == ("ban-kiem-diem.docx", payload, "Xong")
    _, params, files = api.calls("sendDocument")[0]
    assert params == {"chat_id": USER, "caption": "Xong"}
    assert files["document"].content == payload


async def test_bot_downloads_user_document(api: FakeBotApi) -> None:
    content = "Nội dung tệp".encode()
    app = build_app(api)

    async def on_document(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.message is not None and update.message.document is not None
        file = await update.message.document.get_file()
        data = await file.download_as_bytearray()
        await update.message.reply_text(f"{update.message.document.file_name}: {data.decode()}")

    app.add_handler(MessageHandler(filters.Document.ALL, on_document))

    async def body() -> None:
        api.user_document(USER, "notes.txt", content, "text/plain")
        [reply] = await api.wait_for_reply(USER, after_count=0)
        assert reply["text"] == "notes.txt: Nội dung tệp"

    await run_polling(app, body)
    assert len(api.calls("getFile")) == 1


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
async def test_fault_injection(api: FakeBotApi) -> None:
    async with build_app(api) as app:
        api.fail_next("sendMessage", status=429, retry_after=3)
        with pytest.raises(RetryAfter, match="Retry in 3 seconds"):
            await app.bot.send_message(USER, "x")
        await app.bot.send_message(USER, "ok now")  # only the next call failed

        api.fail_next("sendMessage", status=403)
        with pytest.raises(Forbidden, match="blocked by the user"):
            await app.bot.send_message(USER, "x")

        api.fail_next("sendMessage", status=502)
        with pytest.raises(NetworkError, match="Bad Gateway"):
            await app.bot.send_message(USER, "x")

        with pytest.raises(EndPointNotFound):
            await app.bot.do_api_request("noSuchMethod")

        update = api.user_press(USER, 1, "tap")
        query_id = update["callback_query"]["id"]
        api.expire_callback(query_id)
        with pytest.raises(BadRequest, match="(?i)query is too old"):
            await app.bot.answer_callback_query(query_id)

        with pytest.raises(BadRequest, match="(?i)can't parse entities"):
            await app.bot.send_message(USER, "a < b", parse_mode="HTML")

    assert [c.status for c in api.calls("sendMessage")] == [429, 200, 403, 502, 400]
    assert api.calls("noSuchMethod")[0].response["error_code"] == 404
    assert [m["text"] for m in api.sent_messages(USER)] == ["ok now"]


async def test_redelivered_update_has_same_id(api: FakeBotApi) -> None:
    seen: list[int] = []
    app = build_app(api)
    add_echo_handlers(app, seen)

    async def body() -> None:
        update = api.user_text(USER, "once")
        await api.wait_for_reply(USER, after_count=0)
        again = api.redeliver(update["update_id"])
        await api.wait_for_reply(USER, after_count=1)
        assert again == update

    await run_polling(app, body)
    assert len(seen) == 2 and seen[0] == seen[1]


async def test_long_poll_returns_promptly_and_honours_offset(api: FakeBotApi) -> None:
    async with build_app(api) as app:
        loop = asyncio.get_running_loop()
        poll = asyncio.create_task(app.bot.get_updates(timeout=5))
        await api.wait_for(lambda: api.polls_waiting)
        started = loop.time()
        pushed = api.user_text(USER, "wake up")
        updates = await poll
        assert loop.time() - started < 0.5
        assert [u.update_id for u in updates] == [pushed["update_id"]]

        # Not confirmed yet: delivered again; then confirmed by the offset and dropped.
        assert len(await app.bot.get_updates(timeout=0)) == 1
        assert await app.bot.get_updates(offset=pushed["update_id"] + 1, timeout=0) == ()
        assert api.pending_updates == []

        # limit is honoured
        for i in range(3):
            api.user_text(USER, f"m{i}")
        assert len(await app.bot.get_updates(limit=2, timeout=0)) == 2


async def test_redelivery_after_restart_reaches_the_new_process(api: FakeBotApi) -> None:
    """An update pushed while nobody polls is kept; a redelivery reaches the next bot run."""
    first_run: list[int] = []
    app = build_app(api)
    add_echo_handlers(app, first_run)

    async def body() -> None:
        api.user_text(USER, "before restart")
        await api.wait_for_reply(USER, after_count=0)

    await run_polling(app, body)
    api.redeliver(first_run[0])
    api.expire_callback()  # callbacks issued before the restart are now too old

    second_run: list[int] = []
    app = build_app(api)
    add_echo_handlers(app, second_run)

    async def body2() -> None:
        await api.wait_for_reply(USER, after_count=1)

    await run_polling(app, body2)
    assert second_run == first_run


async def test_wait_for_times_out_with_recent_calls(api: FakeBotApi) -> None:
    async with build_app(api) as app:
        await app.bot.send_message(USER, "only this")
        with pytest.raises(AssertionError, match="sendMessage -> 200"):
            await api.wait_for_reply(USER, after_count=1, timeout=0.2)


async def test_a_fault_for_one_chat_leaves_other_chats_alone(api: FakeBotApi) -> None:
    async with build_app(api) as app:
        api.fail_next("sendMessage", status=500, chat_id=USER)
        await app.bot.send_message(USER + 1, "another chat first")
        with pytest.raises(NetworkError, match="Internal Server Error"):
            await app.bot.send_message(USER, "x")
        await app.bot.send_message(USER, "now it goes")
    assert [(c.params["chat_id"], c.status, c.injected) for c in api.calls("sendMessage")] == [
        (USER + 1, 200, False), (USER, 500, True), (USER, 200, False)]


async def test_a_held_call_waits_until_released_then_happens(api: FakeBotApi) -> None:
    async with build_app(api) as app:
        hold = api.hold("sendMessage", lambda params: params.get("text") == "held")
        sending = asyncio.create_task(app.bot.send_message(USER, "held"))
        await asyncio.wait_for(hold.reached.wait(), 5)
        await app.bot.send_message(USER, "not held")  # other calls are answered meanwhile
        assert [m["text"] for m in api.sent_messages(USER)] == ["not held"]
        hold.release()
        await sending
    assert [m["text"] for m in api.sent_messages(USER)] == ["not held", "held"]
    assert hold.params["text"] == "held"
