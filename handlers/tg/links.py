"""Telegram's invite link: ``https://t.me/<bot>?start=<code>`` opens the bot and sends
``/start <code>``, which the adapter turns into the core's link press. Kept free of the
``telegram`` package so the command line can print invite links without loading it."""

from __future__ import annotations

CHANNEL = "telegram"


class TelegramLinks:
    """``bot.ports.InviteLinks`` for Telegram; no link without ``telegram.bot_username``."""

    channel = CHANNEL

    def __init__(self, bot_username: str) -> None:
        self.bot_username = bot_username.lstrip("@")

    def link_for(self, code: str) -> str | None:
        return f"https://t.me/{self.bot_username}?start={code}" if self.bot_username else None
