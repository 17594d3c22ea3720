"""Telegram handlers for the member's review: parse the update, ask the core, reply."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

from telegram import Message, Update
from telegram.constants import ChatAction, ParseMode
from telegram.error import TelegramError
from telegram.ext import ContextTypes

from bot.screens import Action, DeskAction, Document, Incoming, Press, Screen
from bot.text import clean_text
from handlers.tg.send import CHANNEL, decode_press, deliver, patiently, remove_buttons
from handlers.wiring import Core

log = logging.getLogger(__name__)

MAX_UPLOAD = 5 * 1024 * 1024  # a cell's roster is a few kilobytes
UNSUPPORTED = ("sticker", "photo", "voice", "audio", "video", "video_note", "document",
               "animation", "location", "venue", "contact", "poll", "dice")


def _core(context: ContextTypes.DEFAULT_TYPE) -> Core:
    core: Core = context.bot_data["core"]
    return core


def _delays(context: ContextTypes.DEFAULT_TYPE) -> tuple[float, ...]:
    return _core(context).settings.telegram.reply_delays


def typed(text: str) -> dict[str, object]:
    """Telegram's own forms, as the core knows them: ``/start CODE`` (the invite link) is the
    link press, ``/start`` alone is ``/tieptuc``; ``/lenh@tenbot`` (group syntax) is
    ``/lenh``. Anything else is passed on as typed."""
    stripped = clean_text(text)
    if not stripped.startswith("/"):
        return {"text": text}
    head, _, rest = stripped.partition(" ")
    name = head[1:].split("@", 1)[0]
    if name.lower() == "start":
        code = rest.strip()
        return {"press": Press(Action.LINK, arg=code) if code else Press(Action.RESUME)}
    return {"text": f"/{name} {rest}".rstrip()}


def _incoming(update: Update, **kwargs: object) -> Incoming:
    user, chat = update.effective_user, update.effective_chat
    if user is None or chat is None:  # the handlers' filters only pass updates with both
        raise ValueError(f"update {update.update_id} has no sender or chat")
    return Incoming(
        channel=CHANNEL,
        external_id=str(user.id),
        event_key=f"{CHANNEL}:{update.update_id}",
        private=chat.type == "private",
        **kwargs,  # type: ignore[arg-type]
    )


async def _reply(context: ContextTypes.DEFAULT_TYPE, incoming: Incoming, chat_id: int,
                 screens: list[Screen], pressed: Message | None = None) -> None:
    """Deliver the core's screens. If the reply cannot reach the member, the core is told:
    what was stored stays stored, and their next message shows where they stand (no
    apology asking them to try again, which would store it twice)."""
    core = _core(context)
    if not await deliver(context.bot, chat_id, core.renderer, screens, pressed,
                         on_receipt=core.service.delivered, delays=_delays(context)):
        await core.service.reply_lost(incoming)


async def on_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A typed message or command in a private chat: an answer, a keyword or a command."""
    message = update.effective_message
    if message is None or message.text is None:
        return
    incoming = _incoming(update, **typed(message.text))
    async with _progress(context, incoming, message.chat_id):
        screens = await _core(context).service.handle(incoming)
    await _reply(context, incoming, message.chat_id, screens)


async def on_press(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """An inline button: decoded and checked by the core (stale and forged presses too)."""
    query = update.callback_query
    if query is None:
        return
    try:  # only stops the spinner: the press counts even when this fails
        await patiently(query.answer, _delays(context))
    except TelegramError as exc:  # "query is too old" after a restart, or Telegram is down
        log.info("callback query not answered: %s", type(exc).__name__)
    press = decode_press(query.data or "") or Press(Action.FORGED)
    core = _core(context)
    incoming = _incoming(update, press=press, from_button=True)
    pressed = query.message if isinstance(query.message, Message) else None
    async with _progress(context, incoming, pressed.chat_id if pressed is not None else None):
        screens = await core.service.handle(incoming)
    if pressed is not None and pressed.reply_markup and press.action != Action.OFFICIAL and not any(
        s.ack for s in screens
    ):
        try:  # old buttons disappear once used, so they cannot be pressed again by mistake
            await remove_buttons(context.bot, pressed)
        except TelegramError:
            pass  # cosmetic: the message may be gone or too old to edit
    chat_id = pressed.chat_id if pressed is not None else query.from_user.id
    await _reply(context, incoming, chat_id, screens, pressed)


# The long jobs and their progress messages: «working…», edited to «done» when it is over.
PROGRESS = {
    DeskAction.BUNDLE: ("secretary/bundle_working", "secretary/bundle_done"),
    DeskAction.COMMITTEE: ("committee/working", "committee/done"),
}


@contextlib.asynccontextmanager
async def _progress(context: ContextTypes.DEFAULT_TYPE, incoming: Incoming,
                    chat_id: int | None) -> AsyncIterator[None]:
    """While a long job runs (the bundle, the committee's view): the chat shows «sending a
    file…» and a message that is edited once the job is over. Cosmetic: a failure here
    changes nothing."""
    core = _core(context)
    job = await core.service.long_work(incoming) if chat_id is not None else None
    if job is None or chat_id is None:
        yield
        return
    working, done = PROGRESS[job]
    try:
        await context.bot.send_chat_action(chat_id, ChatAction.UPLOAD_DOCUMENT)
    except TelegramError:
        pass
    message = await _say(context, chat_id, core.renderer.render(working, {}, channel=CHANNEL))
    try:
        yield
    finally:
        if message is not None:
            try:
                await message.edit_text(core.renderer.render(done, {}, channel=CHANNEL))
            except TelegramError:
                pass


async def _say(context: ContextTypes.DEFAULT_TYPE, chat_id: int, html: str) -> Message | None:
    try:
        return await patiently(lambda: context.bot.send_message(
            chat_id, html, parse_mode=ParseMode.HTML), _delays(context))
    except TelegramError:
        return None


async def on_unsupported(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Stickers, photos, voice, locations…: a polite word on what is expected. A file of a
    sensible size is passed on: from a secretary it is a roster."""
    message = update.effective_message
    if message is None:
        return
    core = _core(context)
    document = message.document
    if document is not None and (document.file_size or 0) <= MAX_UPLOAD:
        file = await patiently(document.get_file, _delays(context))
        content = bytes(await patiently(file.download_as_bytearray, _delays(context)))
        incoming = _incoming(update, document=Document(document.file_name or "tep", content))
    else:
        kind = next((k for k in UNSUPPORTED if getattr(message, k, None)), "other")
        incoming = _incoming(update, unsupported=kind)
    screens = await core.service.handle(incoming)
    await _reply(context, incoming, message.chat_id, screens)
