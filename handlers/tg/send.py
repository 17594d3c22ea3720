"""Putting the core's screens on Telegram: HTML text, inline buttons, documents."""

from __future__ import annotations

import logging

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, InputFile, Message
from telegram.constants import MessageLimit, ParseMode
from telegram.error import BadRequest, Forbidden

from bot.screens import Screen, encode_press
from bot.text import chunk
from handlers.render import Renderer

log = logging.getLogger(__name__)
CHANNEL = "telegram"


def keyboard(renderer: Renderer, screen: Screen) -> InlineKeyboardMarkup | None:
    if not screen.buttons:
        return None
    return InlineKeyboardMarkup([
        [InlineKeyboardButton(renderer.label(b), callback_data=encode_press(b)) for b in row]
        for row in screen.buttons
    ])


async def send_screen(bot: Bot, chat_id: int, renderer: Renderer, screen: Screen) -> None:
    text = renderer.html(screen)
    markup = keyboard(renderer, screen)
    if screen.document is not None:
        document = InputFile(screen.document.content, filename=screen.document.filename)
        await bot.send_document(chat_id, document, caption=text[: MessageLimit.CAPTION_LENGTH],
                                parse_mode=ParseMode.HTML, reply_markup=markup)
        return
    pieces = chunk(text, MessageLimit.MAX_TEXT_LENGTH)
    for index, piece in enumerate(pieces):
        last = index == len(pieces) - 1
        await bot.send_message(chat_id, piece, parse_mode=ParseMode.HTML,
                               reply_markup=markup if last else None)


async def deliver(
    bot: Bot,
    chat_id: int,
    renderer: Renderer,
    screens: list[Screen],
    pressed: Message | None = None,
) -> None:
    """Send every screen: replies to ``chat_id``, notifications to their accounts."""
    for screen in screens:
        if screen.to is not None:
            for account in screen.to:
                if account.channel != CHANNEL:
                    continue
                try:
                    await send_screen(bot, int(account.external_id), renderer, screen)
                except Forbidden:
                    log.warning("member %s has blocked the bot", account.member_id)
            continue
        if screen.replaces_pressed and pressed is not None:
            try:
                await pressed.edit_text(renderer.html(screen), parse_mode=ParseMode.HTML,
                                        reply_markup=None)
                continue
            except BadRequest as exc:
                log.info("could not edit the pressed message: %s", exc.message)
        await send_screen(bot, chat_id, renderer, screen)
