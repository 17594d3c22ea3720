"""The Zalo adapter: events in (polling or webhook), through the inbox, to the core, replies out.

An event is checked and cut down to what the core needs (``parse_event``), stored in the same
``inbox`` table as Telegram's updates (channel ``zalo``, key ``message_id``: a redelivered event
is recognised there), and handled one chat at a time. Zalo's ``getUpdates`` has no offset and
no acknowledgement: an event it returned is gone from Zalo, so a kill between its answer and
the commit loses that one event (polling is for development and small cells). A webhook call
is answered 200 only after the commit.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import tomllib
from typing import Any

import httpx

from bot.config import ROOT
from bot.screens import Document, Incoming, Screen, SubmissionRef
from bot.text import fold
from handlers.inbox import Inbox, Received, Tasks, poll_backoff
from handlers.wiring import Core
from handlers.zalo.api import BAD_TOKEN, ZaloApi, ZaloError
from handlers.zalo.send import CHANNEL, ZaloTransport

log = logging.getLogger(__name__)

# Event name -> what the core is told: None for text, else the kind of unsupported content.
EVENTS: dict[str, str | None] = {
    "message.text.received": None,
    "message.image.received": "photo",
    "message.sticker.received": "sticker",
    "message.voice.received": "voice",
    "message.unsupported.received": "other",
}
MAX_ID = 200  # characters: Zalo's ids are 20; anything much longer is not from Zalo


class BadEvent(ValueError):
    """A webhook body or polled object that is not a Zalo event tusoi knows. ``reason`` is
    ``malformed`` or ``unknown_event``."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


def _id(value: Any, what: str) -> str:
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise BadEvent("malformed", f"{what} is missing")
    text = str(value)
    if not text or len(text) > MAX_ID:
        raise BadEvent("malformed", f"{what} is empty or too long")
    return text


def parse_event(body: Any) -> dict[str, Any]:
    """The event in either body shape Zalo uses, the documented ``{"ok": true, "result":
    {...}}`` or the observed bare ``{"event_name": …, "message": …}``, cut down to what tusoi
    keeps: the event name, the ids, the chat type and the text (no display name)."""
    if isinstance(body, dict) and isinstance(body.get("result"), dict):
        event = body["result"]
    elif isinstance(body, dict) and "event_name" in body:
        event = body
    else:
        raise BadEvent("malformed", "no event")
    name = event.get("event_name")
    if not isinstance(name, str):
        raise BadEvent("malformed", "no event_name")
    if name not in EVENTS:
        raise BadEvent("unknown_event", name[:80])
    message = event.get("message")
    if not isinstance(message, dict):
        raise BadEvent("malformed", "no message")
    chat: dict[str, Any] = message["chat"] if isinstance(message.get("chat"), dict) else {}
    sender: dict[str, Any] = message["from"] if isinstance(message.get("from"), dict) else {}
    kept: dict[str, Any] = {
        "message_id": _id(message.get("message_id"), "message_id"),
        "chat": {"id": _id(chat.get("id"), "chat.id"),
                 "chat_type": str(chat.get("chat_type") or "PRIVATE")},
        "from": {"id": _id(sender.get("id"), "from.id")},
    }
    if EVENTS[name] is None:
        text = message.get("text", "")
        if not isinstance(text, str):
            raise BadEvent("malformed", "text is not a string")
        kept["text"] = text
    return {"event_name": name, "message": kept}


def _again_words() -> frozenset[str]:
    words = tomllib.loads((ROOT / "templates" / "zalo.toml").read_text(encoding="utf-8"))
    return frozenset(fold(w) for w in words["keywords"]["again"])


class ZaloBot:
    """Polls Zalo (or takes the webhook's events), stores, handles, replies."""

    def __init__(self, core: Core, api: ZaloApi, transport: ZaloTransport) -> None:
        self.core, self.api, self.transport = core, api, transport
        self.settings = core.settings.zalo
        self.inbox: Inbox[dict[str, Any]] = Inbox(core, CHANNEL, json.loads)
        self.tasks = Tasks(self.inbox, self.handle, self.settings.concurrent_chats)
        self._poller: asyncio.Task[None] | None = None
        self._again = _again_words()
        self.fatal: BaseException | None = None  # a poll error no retry can fix (bad token)
        self.failed = asyncio.Event()

    # ------------------------------------------------------------------ life cycle

    async def start(self, *, poll: bool) -> None:
        """Hand over what the last run left pending; then poll Zalo, when ``poll``."""
        await self.inbox.start(self.tasks)
        if poll:
            self._poller = asyncio.create_task(self._poll_loop(), name="zalo:poll")

    async def stop(self) -> None:
        """Stop fetching and handing over, let what is in flight finish, write done marks."""
        if self._poller is not None:
            self._poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._poller
            self._poller = None
        self.inbox.stop_feeding()
        await self.tasks.drain()
        await self.inbox.close()

    # ------------------------------------------------------------------ events in

    async def accept(self, event: dict[str, Any]) -> bool:
        """Store one checked event (committed when this returns); False if it was a repeat."""
        message = event["message"]
        received = Received(message["message_id"], message["chat"]["id"],
                            json.dumps(event, ensure_ascii=False), event)
        return await self.inbox.accept([received]) > 0

    async def _poll_loop(self) -> None:
        failures = 0
        while True:
            try:
                body = await self.api.get_updates(self.settings.poll_timeout)
                failures = 0
                if body is None:
                    continue
                try:
                    event = parse_event(body)
                except BadEvent as exc:
                    log.warning("Zalo event ignored (%s)", exc.reason)
                    continue
                await self.accept(event)
            except asyncio.CancelledError:
                raise
            except ZaloError as exc:
                if exc.kind == BAD_TOKEN:
                    log.error("Zalo refused the bot token")
                    self.fatal = exc
                    self.failed.set()
                    return
                failures += 1
                await poll_backoff(failures, f"zalo:{exc.kind}", log,
                                   "cannot fetch Zalo events")
            except (httpx.HTTPError, OSError) as exc:
                if isinstance(exc, httpx.ReadTimeout):
                    continue  # a long poll that outlived its read timeout: ask again
                failures += 1
                await poll_backoff(failures, type(exc).__name__, log, "cannot fetch Zalo events")
            except Exception as exc:  # the database: never a busy loop
                log.exception("cannot store a Zalo event")
                failures += 1
                await poll_backoff(failures, type(exc).__name__, log, "cannot fetch Zalo events")

    # ------------------------------------------------------------------ handling

    async def handle(self, event: dict[str, Any]) -> None:
        """One event: to the core, then the replies, with what failed reported to the core."""
        message = event["message"]
        chat_id = message["chat"]["id"]
        kind = EVENTS[event["event_name"]]
        incoming = Incoming(
            channel=CHANNEL,
            external_id=message["from"]["id"],
            event_key=f"{CHANNEL}:{message['message_id']}",
            private=message["chat"]["chat_type"] != "GROUP",
            text=message.get("text", "") if kind is None else None,
            unsupported=kind,
        )
        delays = self.settings.reply_delays
        try:
            screens = await self._again_or_core(incoming)
        except Exception:
            log.exception("error while handling Zalo message %s", message["message_id"])
            await self.transport.reply(chat_id, Screen("common/error"), delays)
            return
        if not await self.transport.deliver(chat_id, screens, delays,
                                            on_receipt=self.core.service.delivered):
            await self.core.service.reply_lost(incoming)

    async def _again_or_core(self, incoming: Incoming) -> list[Screen]:
        if incoming.private and incoming.text is not None and fold(incoming.text) in self._again:
            again = await self._download_again(incoming)
            if again is not None:
                return again
        return await self.core.service.handle(incoming)

    async def _download_again(self, incoming: Incoming) -> list[Screen] | None:
        """«tải lại»: a new link to the member's own last submission in the open round (a
        read; nothing changes). None for someone not linked: the core answers them."""
        store = self.core.store
        member = await store.member_by_account(CHANNEL, incoming.external_id)
        if member is None or not member.active:
            return None
        await self.core.service.seen(incoming)  # notices follow the account used last
        _, review = await store.open_round_with_review(member.cell_id, member.id)
        submission = await store.latest_submission(review.id) if review is not None else None
        if review is None or submission is None:
            return [Screen("downloads/again_none")]
        return [Screen("downloads/again", {"version": submission.version},
                       document=Document(submission.filename, submission.docx,
                                         SubmissionRef(review.id, submission.version)))]
