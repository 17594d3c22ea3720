"""The Telegram inbox: updates are stored before Telegram is told they arrived, then handled
from the store exactly once, in order within a chat and concurrently across chats.

Why not PTB's ``Updater``: it confirms a batch to Telegram (the ``offset`` of its next
``getUpdates``) before the handlers have run, so a crash lost what was fetched and not yet
handled. Here:

1. ``getUpdates`` → the batch is written to the ``inbox`` table and committed → only then is
   the next ``getUpdates`` asked with the new offset (that is what confirms the batch). A kill
   before the commit loses nothing: Telegram sends the batch again; the table's unique key
   ignores what was already stored.
2. Stored rows go to the Application one chat at a time: a chat's next update is handed over
   only when its previous one has finished (``ChatOrderedProcessor`` reports it), so one
   member's updates never overtake each other, while other chats go on. One slow chat (a
   429 with ``retry_after``, a big file) holds up nobody else.
3. A row is marked done once every handler has finished with it (replies included). A kill
   before that hands the row over again at the next start; the core's ``processed_events``
   claim, taken in the same transaction as the answer, makes that second handling change
   nothing and show the member where they stand. So the state change happens exactly once;
   a reply may be sent twice after a crash, never lost.

Done marks are written in batches by one background task: a mark lost to a crash only means
the update is shown again, as in 3.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sqlite3
import warnings
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from telegram import Bot, Update
from telegram.error import Forbidden, InvalidToken, RetryAfter, TelegramError, TimedOut
from telegram.ext import Application, BaseUpdateProcessor

from handlers.inbox import Inbox as ChannelInbox, Item, Received, poll_backoff
from handlers.tg.limits import retry_seconds
from handlers.wiring import Core

log = logging.getLogger(__name__)

CHANNEL = "telegram"
READ_TIMEOUT = 5.0  # seconds beyond the long poll's own timeout, as PTB's get_updates allows
JSONDict = dict[str, Any]
# ``fetch_updates`` asks for getUpdates through ``do_api_request`` on purpose (it wants the
# JSON, not PTB's objects); PTB would say "use Bot.getUpdates" at every poll.
warnings.filterwarnings("ignore", message=r"Please use 'Bot\.getUpdates'")


async def fetch_updates(bot: Bot, offset: int | None, timeout: int) -> list[JSONDict]:
    """``getUpdates`` as Telegram answers it: the JSON, not yet turned into PTB objects (the
    inbox stores it as it came)."""
    result = await bot.do_api_request(
        "getUpdates",
        api_kwargs={"offset": offset, "timeout": timeout,
                    "allowed_updates": list(Update.ALL_TYPES)},
        read_timeout=READ_TIMEOUT + timeout)
    return list(result) if isinstance(result, list) else []


def chat_key(update: object) -> str:
    """What orders the work: the chat, else the person, else nothing in particular."""
    if not isinstance(update, Update):
        return ""
    if update.effective_chat is not None:
        return str(update.effective_chat.id)
    if update.effective_user is not None:
        return f"user:{update.effective_user.id}"
    return ""


class ChatOrderedProcessor(BaseUpdateProcessor):
    """Concurrent across chats, one at a time within a chat; reports each finished update.

    The inbox already hands over one update per chat at a time; the per-chat lock keeps the
    order for anything else put on the Application's queue.
    """

    def __init__(self, max_concurrent_updates: int) -> None:
        super().__init__(max_concurrent_updates)
        self._locks: dict[str, asyncio.Lock] = {}
        self._users: dict[str, int] = {}
        self.on_done: Callable[[object, bool], None] = lambda update, handled: None

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        key = chat_key(update)
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._users[key] = self._users.get(key, 0) + 1
        handled = False
        try:
            async with lock:
                await coroutine
            handled = True
        except asyncio.CancelledError:
            raise
        except Exception:  # Application.process_update logs its handlers' errors itself
            handled = True
            raise
        finally:
            self._users[key] -= 1
            if not self._users[key]:
                del self._users[key], self._locks[key]
            self.on_done(update, handled)

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to release."""


class Inbox:
    """Polls Telegram into the ``inbox`` table and feeds the Application from it (the
    channel-neutral part, storing and handing over one chat at a time, is
    ``handlers.inbox.Inbox``)."""

    def __init__(self, core: Core, processor: ChatOrderedProcessor) -> None:
        self.core = core
        self.app: Application | None = None
        self.inbox: ChannelInbox[Update] = ChannelInbox(core, CHANNEL, self._decode)
        self._tasks: list[asyncio.Task[None]] = []
        self.fatal: BaseException | None = None  # a poll error no retry can fix (bad token)
        self.failed = asyncio.Event()  # set with ``fatal``: the process should stop
        processor.on_done = self._finished

    # ------------------------------------------------------------------ life cycle

    async def start(self, app: Application, *, poll: bool = True) -> None:
        """Hand over what a previous run left pending, then poll Telegram (unless ``poll``
        is False: a benchmark feeds ``accept`` itself)."""
        self.app = app
        await self.inbox.start(self._hand_over)
        if poll:
            self._tasks.append(asyncio.create_task(self._poll_loop(), name="inbox:poll"))

    async def stop_polling(self) -> None:
        """Stop fetching and stop handing over; what is in flight finishes in ``app.stop()``,
        what is still queued stays pending in the table for the next start."""
        self.inbox.stop_feeding()
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()

    async def close(self) -> None:
        """After ``app.stop()``: write the last done marks."""
        await self.stop_polling()
        await self.inbox.close()

    async def idle(self) -> None:
        """Until nothing is queued or in flight (benchmarks and tests)."""
        await self.inbox.idle()

    async def flush(self) -> None:
        """Write the done marks gathered so far."""
        await self.inbox.flush()

    # ------------------------------------------------------------------ storing

    async def accept(self, raw: Sequence[JSONDict]) -> int:
        """Store a batch of updates as Telegram sent them (committed before this returns) and
        queue what is new; returns how many were new. The caller confirms the batch to
        Telegram only after this. The JSON is stored as it came: turning PTB's objects back
        into JSON cost more than handling the update (``bench/bench_levers.py``). An update
        PTB cannot read raises here, before anything is stored or confirmed, as PTB's own
        ``get_updates`` would."""
        if self.app is None:
            raise RuntimeError("Inbox.start first")
        batch = []
        for data in raw:
            update = Update.de_json(data, self.app.bot)
            batch.append(Received(str(update.update_id), chat_key(update),
                                  json.dumps(data, ensure_ascii=False, separators=(",", ":")),
                                  update))
        return await self.inbox.accept(batch)

    def _decode(self, payload: str) -> Update:
        if self.app is None:
            raise RuntimeError("Inbox.start first")
        update = Update.de_json(json.loads(payload), self.app.bot)
        if update is None:
            raise ValueError("an empty update")
        return update

    # ------------------------------------------------------------------ handing over

    def _hand_over(self, item: Item[Update]) -> None:
        if self.app is None:
            raise RuntimeError("Inbox.start first")
        self.app.update_queue.put_nowait(item.update)

    def _finished(self, update: object, handled: bool) -> None:
        if isinstance(update, Update):
            self.inbox.finished(str(update.update_id), handled)

    # ------------------------------------------------------------------ polling

    async def _poll_loop(self) -> None:
        if self.app is None:
            raise RuntimeError("Inbox.start first")
        bot = self.app.bot
        timeout = self.core.settings.telegram.poll_timeout
        offset: int | None = None
        failures = 0
        webhook_off = False
        while True:
            try:
                if not webhook_off:  # polling and a webhook exclude each other
                    await bot.delete_webhook(drop_pending_updates=False)
                    webhook_off = True
                updates = await fetch_updates(bot, offset, timeout)
                if updates:
                    await self.accept(updates)
                    offset = int(updates[-1]["update_id"]) + 1  # confirmed by the next poll
                failures = 0
            except asyncio.CancelledError:
                raise
            except (InvalidToken, Forbidden) as exc:  # no retry will help
                log.error("Telegram refused the bot token: %s", type(exc).__name__)
                self.fatal = exc
                self.failed.set()
                return
            except TimedOut:
                continue  # a long poll that outlived its read timeout: just ask again
            except RetryAfter as exc:
                await asyncio.sleep(retry_seconds(exc))
            except (TelegramError, OSError, sqlite3.Error) as exc:  # unreachable, 5xx, disk
                failures += 1
                await poll_backoff(failures, type(exc).__name__, log,
                                   "cannot fetch or store updates")
