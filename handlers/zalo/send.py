"""Putting the core's screens on Zalo: plain text in pieces of at most 2,000 characters, and
a download link (with a picture of page 1, when previews are on) in place of a file.

The Zalo Bot API has no buttons, no HTML and no ``sendDocument``: the screen is rendered with
``Renderer.plain`` (choices written out as numbers and keywords), and a document becomes a
one-time link served by tusoi's own web app (``handlers.downloads``).

Two ways out:
* ``ZaloTransport.send``: one screen to one account, for the delivery seam (someone other than
  the person speaking). No retry here: the sender decides from the ``Delivery`` it gets.
* ``ZaloReplies.deliver``: the replies to the person speaking, each message tried again after
  a 5xx, ``ok: false`` or a dropped connection; a reply that still fails is reported to the
  core (``reply_lost``), exactly as on Telegram.
"""

from __future__ import annotations

import asyncio
import logging
import re
import unicodedata
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from functools import partial

import httpx
from aiolimiter import AsyncLimiter

from bot.delivery import Delivery, Outcome
from bot.screens import Screen
from handlers.downloads import DownloadLinks
from handlers.render import Renderer
from handlers.zalo.api import TEXT_LIMIT, ZaloApi, ZaloError, outcome

log = logging.getLogger(__name__)
CHANNEL = "zalo"
SENT = Delivery(Outcome.SENT)

_SPACE = re.compile(r"\s")


def _units(text: str) -> int:
    """Length in UTF-16 code units: the stricter of the readings of Zalo's 2,000 limit (an
    emoji counts twice), and the unit of its style offsets."""
    return len(text.encode("utf-16-le")) // 2


def text_chunks(text: str, limit: int = TEXT_LIMIT) -> list[str]:
    """``text`` in pieces of at most ``limit`` units, cut only at a line break (preferably a
    blank line) or a space, so no word, number, link or «keyword» is ever split. Only a single
    run of more than ``limit`` characters without a space is cut inside, and then never between
    a letter and its combining mark or inside a surrogate pair."""
    text = text.strip()
    pieces: list[str] = []
    while text:
        if _units(text) <= limit:
            pieces.append(text)
            break
        end = _fit(text, limit)
        window = text[:end]
        cut = window.rfind("\n\n")
        if cut < end // 2:
            cut = window.rfind("\n")
        if cut < end // 2:
            spaces = [m.start() for m in _SPACE.finditer(window)]
            cut = spaces[-1] if spaces else -1
        if cut <= 0:  # one unbroken run longer than a message: cut it, between characters
            cut = end
            while cut > 1 and unicodedata.combining(text[cut]):
                cut -= 1
        piece = text[:cut].rstrip()
        if piece:
            pieces.append(piece)
        text = text[cut:].lstrip()
    return pieces


def _fit(text: str, limit: int) -> int:
    """How many characters of ``text`` fit in ``limit`` UTF-16 units."""
    units = 0
    for index, char in enumerate(text):
        units += 2 if ord(char) > 0xFFFF else 1
        if units > limit:
            return index
    return len(text)


@dataclass(frozen=True)
class Rendered:
    """A screen as Zalo shows it: text messages, then perhaps a picture."""

    texts: list[str]
    photo: str | None = None  # a URL Zalo's servers fetch
    caption: str = ""


class ZaloTransport:
    """One channel's way to put a screen in front of one account (the delivery seam)."""

    channel = CHANNEL

    def __init__(self, api: ZaloApi, renderer: Renderer, links: DownloadLinks | None,
                 rate_per_second: float) -> None:
        self.api, self.renderer, self.links = api, renderer, links
        self._pace = AsyncLimiter(rate_per_second, 1)

    async def render(self, external_id: str, screen: Screen) -> Rendered:
        text = self.renderer.plain(screen, CHANNEL)
        photo, caption = None, ""
        if screen.document is not None:
            if self.links is None:
                raise RuntimeError("a document for Zalo needs download links")
            issued = await self.links.issue(screen.document, CHANNEL, external_id)
            link = self.renderer.plain(Screen("downloads/link", issued.facts), CHANNEL)
            text = f"{text}\n\n{link}"
            if issued.preview_url is not None:
                photo = issued.preview_url
                caption = self.renderer.plain(Screen("downloads/preview_caption", issued.facts),
                                              CHANNEL)
        return Rendered(text_chunks(text), photo, caption)

    async def send(self, external_id: str, screen: Screen) -> Delivery:
        """Every part of ``screen``; the first part that fails decides the outcome, except
        that a failure after part of the screen went out is UNCERTAIN (the outbox sends at
        most once, as on Telegram). A preview picture that fails is only logged: the link
        already reached the person."""
        try:
            rendered = await self.render(external_id, screen)
        except Exception as exc:
            log.exception("could not prepare a screen for Zalo")
            return Delivery(Outcome.RETRY, detail=type(exc).__name__)
        for index, piece in enumerate(rendered.texts):
            delivery = await self._once(partial(self.api.send_message, external_id, piece))
            if delivery.outcome is Outcome.SENT:
                continue
            if index:  # sending the whole screen again would double what already went out
                return Delivery(Outcome.UNCERTAIN, delivery.retry_after,
                                f"{delivery.detail} after {index} part(s)")
            return delivery
        if rendered.photo is not None:
            await self._photo(external_id, rendered)
        return SENT

    async def _once(self, call: Callable[[], Awaitable[object]]) -> Delivery:
        async with self._pace:
            try:
                await call()
            except (ZaloError, httpx.HTTPError) as exc:
                return outcome(exc)
        return SENT

    async def _photo(self, external_id: str, rendered: Rendered) -> None:
        photo = rendered.photo or ""
        delivery = await self._once(
            lambda: self.api.send_photo(external_id, photo, rendered.caption))
        if delivery.outcome is not Outcome.SENT:
            log.info("preview picture not delivered (%s)", delivery.detail)

    # ------------------------------------------------------------------ replies

    async def patiently(self, call: Callable[[], Awaitable[object]],
                        delays: Sequence[float]) -> Delivery:
        """``call`` tried again after each of ``delays`` when Zalo did not take it or the
        answer was lost (a reply: a second copy is better than none). A block or a refusal
        is final at once."""
        delivery = SENT
        for delay in (*delays, None):
            delivery = await self._once(call)
            if delivery.outcome in (Outcome.SENT, Outcome.BLOCKED, Outcome.REJECTED):
                return delivery
            if delay is None:
                break
            log.info("Zalo did not take a reply (%s); trying again in %.1f s",
                     delivery.detail, delay)
            await asyncio.sleep(max(delay, delivery.retry_after or 0.0))
        return delivery

    async def reply(self, chat_id: str, screen: Screen, delays: Sequence[float]) -> Delivery:
        """One reply screen to the person speaking, each message with bounded retries."""
        try:
            rendered = await self.render(chat_id, screen)
        except Exception as exc:
            log.exception("could not prepare a reply for Zalo")
            return Delivery(Outcome.RETRY, detail=type(exc).__name__)
        for piece in rendered.texts:
            delivery = await self.patiently(partial(self.api.send_message, chat_id, piece),
                                            delays)
            if delivery.outcome is not Outcome.SENT:
                return delivery
        if rendered.photo is not None:
            await self._photo(chat_id, rendered)
        return SENT

    async def deliver(self, chat_id: str, screens: list[Screen], delays: Sequence[float],
                      on_receipt: Callable[[str], Awaitable[None]] | None = None) -> bool:
        """The replies to ``chat_id``, in order; False when one could not be delivered (the
        rest are then not sent: the person's screen never runs ahead of what the core
        believes they saw). Messages to anyone else are outbox rows, sent by the core's
        sender through ``send``."""
        for screen in screens:
            delivery = await self.reply(chat_id, screen, delays)
            if delivery.outcome is not Outcome.SENT:
                log.warning("reply not delivered (%s %s); the member will be shown where they"
                            " stand", delivery.outcome.value, delivery.detail)
                return False
            if screen.receipt is not None and on_receipt is not None:
                await on_receipt(screen.receipt)
        return True
