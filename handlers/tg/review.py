"""Telegram handlers for the member's review: parse the update, ask the core, reply."""

from __future__ import annotations

from telegram import Message, Update
from telegram.error import BadRequest
from telegram.ext import ContextTypes

from bot.screens import OFFICIAL, Incoming, Press, decode_press
from handlers.tg.send import CHANNEL, deliver
from handlers.wiring import Core

UNSUPPORTED = ("sticker", "photo", "voice", "audio", "video", "video_note", "document",
               "animation", "location", "venue", "contact", "poll", "dice")


def _core(context: ContextTypes.DEFAULT_TYPE) -> Core:
    core: Core = context.bot_data["core"]
    return core


def _incoming(update: Update, **kwargs: object) -> Incoming:
    assert update.effective_user is not None and update.effective_chat is not None
    return Incoming(
        channel=CHANNEL,
        external_id=str(update.effective_user.id),
        event_key=f"{CHANNEL}:{update.update_id}",
        private=update.effective_chat.type == "private",
        **kwargs,  # type: ignore[arg-type]
    )


async def on_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A typed message or command in a private chat: an answer, a keyword or a command."""
    message = update.effective_message
    assert message is not None and message.text is not None
    core = _core(context)
    screens = await core.service.handle(_incoming(update, text=message.text))
    await deliver(context.bot, message.chat_id, core.renderer, screens)


async def on_press(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """An inline button: decoded and checked by the core (stale and forged presses too)."""
    query = update.callback_query
    assert query is not None
    try:
        await query.answer()
    except BadRequest:
        pass  # "query is too old" after a restart: the press is still handled below
    press = decode_press(query.data or "") or Press("forged")
    core = _core(context)
    screens = await core.service.handle(_incoming(update, press=press, from_button=True))
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
    """Stickers, photos, voice, files, locations…: a polite word on what is expected."""
    message = update.effective_message
    assert message is not None
    kind = next((k for k in UNSUPPORTED if getattr(message, k, None)), "other")
    core = _core(context)
    screens = await core.service.handle(_incoming(update, unsupported=kind))
    await deliver(context.bot, message.chat_id, core.renderer, screens)
