"""Telegram handlers that need no member: group chats, edited messages, errors."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.constants import ChatMemberStatus, ParseMode
from telegram.error import TelegramError
from telegram.ext import ContextTypes

from handlers.tg.send import CHANNEL, patiently
from handlers.wiring import Core

log = logging.getLogger(__name__)


async def _say(update: Update, context: ContextTypes.DEFAULT_TYPE, template: str) -> None:
    chat = update.effective_chat
    if chat is None:
        return
    core: Core = context.bot_data["core"]
    text = core.renderer.render(template, {}, channel=CHANNEL)
    await patiently(lambda: context.bot.send_message(chat.id, text, parse_mode=ParseMode.HTML),
                    core.settings.telegram.reply_delays)


async def on_group(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A command or mention in a group: point to the private chat, show nothing personal."""
    await _say(update, context, "common/group_only")


async def on_added_to_group(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    change = update.my_chat_member
    if change is None or change.chat.type == "private":
        return
    if change.new_chat_member.status in (ChatMemberStatus.MEMBER, ChatMemberStatus.ADMINISTRATOR):
        await _say(update, context, "common/group_only")


async def on_edited(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await _say(update, context, "common/edited")


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Log first (never the message text), then tell the person something kind."""
    update_id = update.update_id if isinstance(update, Update) else None
    log.error("error while handling update %s", update_id, exc_info=context.error)
    if isinstance(update, Update) and update.effective_chat is not None:
        try:
            await _say(update, context, "common/error")
        except TelegramError:  # the reply itself may be what failed (network, blocked bot)
            log.warning("could not send the error reply for update %s", update_id)
