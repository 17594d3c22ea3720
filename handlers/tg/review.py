"""Telegram handlers for the member's review: parse the update, ask the core, reply."""

from __future__ import annotations

from telegram import Message, Update
from telegram.error import BadRequest
from telegram.ext import ContextTypes

from bot.screens import DESK, OFFICIAL, Document, Incoming, Press, decode_press
from handlers.tg.send import CHANNEL, deliver
from handlers.wiring import Core

MAX_UPLOAD = 5 * 1024 * 1024  # a cell's roster is a few kilobytes
UNSUPPORTED = ("sticker", "photo", "voice", "audio", "video", "video_note", "document",
               "animation", "location", "venue", "contact", "poll", "dice")


def _core(context: ContextTypes.DEFAULT_TYPE) -> Core:
    core: Core = context.bot_data["core"]
    return core


def _incoming(update: Update, **kwargs: object) -> Incoming:
    user, chat = update.effective_user, update.effective_chat
    if user is None or chat is None:  # the handlers' filters only pass updates that have both
        raise ValueError(f"update {update.update_id} has no sender or chat")
    return Incoming(
        channel=CHANNEL,
        external_id=str(user.id),
        event_key=f"{CHANNEL}:{update.update_id}",
        private=chat.type == "private",
        **kwargs,  # type: ignore[arg-type]
    )


async def on_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A typed message or command in a private chat: an answer, a keyword or a command."""
    message = update.effective_message
    if message is None or message.text is None:  # filters.TEXT lets only text through
        return
    core = _core(context)
    screens = await core.service.handle(_incoming(update, text=message.text))
    await deliver(context.bot, message.chat_id, core.renderer, screens)


async def on_press(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """An inline button: decoded and checked by the core (stale and forged presses too)."""
    query = update.callback_query
    if query is None:  # CallbackQueryHandler passes only callback queries
        return
    try:
        await query.answer()
    except BadRequest:
        pass  # "query is too old" after a restart: the press is still handled below
    press = decode_press(query.data or "") or Press("forged")
    core = _core(context)
    working = None
    if press.action == DESK and press.qid == "bnd" and query.message is not None:
        working = await context.bot.send_message(
            query.message.chat.id, core.renderer.render("secretary/bundle_working", {}))
    screens = await core.service.handle(_incoming(update, press=press, from_button=True))
    if working is not None:  # the long job is over: the progress message says so
        await working.edit_text(core.renderer.render("secretary/bundle_done", {}))
    pressed = query.message if isinstance(query.message, Message) else None
    if pressed is not None and press.action != OFFICIAL and not any(
        s.replaces_pressed for s in screens
    ):
        try:  # old buttons disappear once used, so they cannot be pressed again by mistake
            await pressed.edit_reply_markup(reply_markup=None)
        except BadRequest:
            pass
    chat_id = pressed.chat_id if pressed is not None else query.from_user.id
    await deliver(context.bot, chat_id, core.renderer, screens, pressed=pressed)


async def on_unsupported(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Stickers, photos, voice, locations…: a polite word on what is expected. A file of a
    sensible size is passed on: from a secretary it is a roster."""
    message = update.effective_message
    if message is None:
        return
    core = _core(context)
    document = message.document
    if document is not None and (document.file_size or 0) <= MAX_UPLOAD:
        file = await document.get_file()
        content = bytes(await file.download_as_bytearray())
        incoming = _incoming(update, document=Document(document.file_name or "tep", content))
    else:
        kind = next((k for k in UNSUPPORTED if getattr(message, k, None)), "other")
        incoming = _incoming(update, unsupported=kind)
    screens = await core.service.handle(incoming)
    await deliver(context.bot, message.chat_id, core.renderer, screens)
