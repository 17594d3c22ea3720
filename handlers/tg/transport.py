"""Telegram's transport for the outbox: one screen to one chat, and what Telegram said.

The sender (``bot.delivery.Sender``) decides what to do with the answer; this only maps
Telegram's errors onto it. No retry here: a 5xx or a 429 beyond what the rate limiter waits
out is RETRY, and the sender tries again later. When part of a screen (a document and its
caption, a long text in pieces) already went out, a later failure is UNCERTAIN: sending the
whole screen again would double the first part, and the outbox sends at most once.
"""

from __future__ import annotations

from telegram import Bot
from telegram.error import BadRequest, Forbidden, RetryAfter, TelegramError, TimedOut

from bot.delivery import Delivery, Outcome
from bot.screens import Screen
from handlers.render import Renderer
from handlers.tg.limits import retry_seconds
from handlers.tg.send import CHANNEL, send_screen


class TelegramTransport:
    channel = CHANNEL

    def __init__(self, bot: Bot, renderer: Renderer) -> None:
        self.bot = bot
        self.renderer = renderer

    async def send(self, external_id: str, screen: Screen) -> Delivery:
        if not (external_id.isascii() and external_id.lstrip("-").isdigit()):
            return Delivery(Outcome.REJECTED, detail="not a Telegram chat id")
        parts = 0

        def took() -> None:
            nonlocal parts
            parts += 1

        def failed(outcome: Outcome, detail: str, retry_after: float | None = None) -> Delivery:
            return Delivery(Outcome.UNCERTAIN if parts else outcome, retry_after,
                            f"{detail} after {parts} part(s)" if parts else detail)

        try:
            await send_screen(self.bot, int(external_id), self.renderer, screen, delays=(),
                              on_part=took)
        except Forbidden:
            return failed(Outcome.BLOCKED, "Forbidden")
        except TimedOut:  # the request may have reached Telegram
            return Delivery(Outcome.UNCERTAIN, detail="TimedOut")
        except RetryAfter as exc:
            return failed(Outcome.RETRY, "RetryAfter", retry_seconds(exc))
        except BadRequest as exc:  # Telegram's own words, never the message's
            return failed(Outcome.REJECTED, f"BadRequest: {exc.message}")
        except (TelegramError, OSError) as exc:  # 5xx, a dropped connection
            return failed(Outcome.RETRY, type(exc).__name__)
        return Delivery(Outcome.SENT)
