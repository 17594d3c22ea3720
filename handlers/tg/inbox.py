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
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from telegram import Update
from telegram.error import Forbidden, InvalidToken, RetryAfter, TelegramError, TimedOut
from telegram.ext import Application, BaseUpdateProcessor

from handlers.tg.limits import retry_seconds
from handlers.wiring import Core
from storage.inbox import Arrival, InboxStore

log = logging.getLogger(__name__)

CHANNEL = "telegram"
# A row still pending at this many starts is set aside: it is what keeps the bot from running.
MAX_STARTS = 3
KEEP_DONE = timedelta(days=7)  # Telegram redelivers an unconfirmed update for a day at most
# Done marks are written at most this often (seconds): one durable commit for all the updates
# finished meanwhile. A crash forgets at most these marks, and those updates are shown again.
FLUSH_AFTER = 0.1


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


@dataclass
class _Item:
    row_id: int
    chat: str
    update: Update


class Inbox:
    """Polls Telegram into the ``inbox`` table and feeds the Application from it."""

    def __init__(self, core: Core, processor: ChatOrderedProcessor) -> None:
        self.core = core
        self.store = InboxStore(core.db)
        self.app: Application | None = None
        self._queues: dict[str, deque[_Item]] = {}
        self._busy: set[str] = set()
        self._in_flight: dict[int, _Item] = {}  # update_id -> item
        self._feeding = False
        self._done: list[int] = []
        self._done_event = asyncio.Event()
        self._flushing = asyncio.Lock()
        self._idle = asyncio.Event()
        self._idle.set()
        self._tasks: list[asyncio.Task[None]] = []
        self.fatal: BaseException | None = None  # a poll error no retry can fix (bad token)
        self.failed = asyncio.Event()  # set with ``fatal``: the process should stop
        processor.on_done = self._finished

    # ------------------------------------------------------------------ life cycle

    async def start(self, app: Application, *, poll: bool = True) -> None:
        """Hand over what a previous run left pending, then poll Telegram (unless ``poll``
        is False: a benchmark feeds ``accept`` itself)."""
        self.app = app
        await self._recover()
        self._feeding = True
        for chat in list(self._queues):
            self._feed(chat)
        self._tasks.append(asyncio.create_task(self._flush_loop(), name="inbox:flush"))
        if poll:
            self._tasks.append(asyncio.create_task(self._poll_loop(), name="inbox:poll"))

    async def stop_polling(self) -> None:
        """Stop fetching and stop handing over; what is in flight finishes in ``app.stop()``,
        what is still queued stays pending in the table for the next start."""
        self._feeding = False
        poll = [t for t in self._tasks if t.get_name() == "inbox:poll"]
        for task in poll:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            self._tasks.remove(task)

    async def close(self) -> None:
        """After ``app.stop()``: write the last done marks."""
        await self.stop_polling()
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        await self.flush()

    async def idle(self) -> None:
        """Until nothing is queued or in flight (benchmarks and tests)."""
        await self._idle.wait()

    # ------------------------------------------------------------------ storing

    async def accept(self, updates: list[Update]) -> int:
        """Store a batch (committed before this returns) and queue what is new; returns how
        many were new. The caller confirms the batch to Telegram only after this."""
        arrivals = [Arrival(str(u.update_id), chat_key(u),
                            json.dumps(u.to_dict(), ensure_ascii=False)) for u in updates]
        async with self.core.db.transaction():
            rows = await self.store.add(CHANNEL, arrivals, self.core.clock.now())
        by_key = {str(u.update_id): u for u in updates}
        for row in rows:
            self._enqueue(_Item(row.id, row.chat_key, by_key[row.update_key]))
        return len(rows)

    async def _recover(self) -> None:
        if self.app is None:
            raise RuntimeError("Inbox.start first")
        now = self.core.clock.now()
        async with self.core.db.transaction():
            await self.store.count_start(CHANNEL)
            await self.store.forget_before(now - KEEP_DONE)
        rows = await self.store.pending(CHANNEL)
        stuck = [r for r in rows if r.attempts > MAX_STARTS]
        if stuck:
            async with self.core.db.transaction():
                await self.store.set_aside([r.id for r in stuck], now)
            log.error("%d update(s) set aside: still pending after %d starts (update ids %s)",
                      len(stuck), MAX_STARTS, ", ".join(r.update_key for r in stuck))
        waiting = [r for r in rows if r.attempts <= MAX_STARTS]
        if waiting:
            log.warning("%d update(s) received before the restart are handled now", len(waiting))
        unreadable = []
        for row in waiting:
            try:
                update = Update.de_json(json.loads(row.payload), self.app.bot)
            except Exception:  # e.g. stored by another version: never worth a crash loop
                log.exception("inbox row %d (update %s) cannot be read", row.id, row.update_key)
                unreadable.append(row.id)
                continue
            self._enqueue(_Item(row.id, row.chat_key, update))
        if unreadable:
            async with self.core.db.transaction():
                await self.store.set_aside(unreadable, now)

    # ------------------------------------------------------------------ handing over

    def _enqueue(self, item: _Item) -> None:
        self._queues.setdefault(item.chat, deque()).append(item)
        self._idle.clear()
        if item.chat not in self._busy:
            self._feed(item.chat)

    def _feed(self, chat: str) -> None:
        """Hand the chat's next update to the Application, if it has one and is free."""
        queue = self._queues.get(chat)
        if not self._feeding or self.app is None or chat in self._busy or not queue:
            self._check_idle()
            return
        item = queue.popleft()
        if not queue:
            del self._queues[chat]
        self._busy.add(chat)
        self._in_flight[item.update.update_id] = item
        self.app.update_queue.put_nowait(item.update)

    def _finished(self, update: object, handled: bool) -> None:
        item = self._in_flight.pop(update.update_id, None) if isinstance(update, Update) else None
        if item is None:
            return
        if handled:
            self._done.append(item.row_id)
            self._done_event.set()
        self._busy.discard(item.chat)
        self._feed(item.chat)

    def _check_idle(self) -> None:
        if not self._busy and not self._queues:
            self._idle.set()

    # ------------------------------------------------------------------ done marks

    async def _flush_loop(self) -> None:
        while True:
            await self._done_event.wait()
            await asyncio.sleep(FLUSH_AFTER)  # gather the marks of a busy moment in one commit
            self._done_event.clear()
            await self.flush()

    async def flush(self) -> None:
        """Write the done marks gathered so far (the background task does it too)."""
        async with self._flushing:  # a second caller waits for the write under way
            ids, self._done = self._done, []
            if not ids:
                return
            try:
                async with self.core.db.transaction():
                    await self.store.mark_done(ids, self.core.clock.now())
            except Exception:  # the rows stay pending: a restart shows those members their place
                log.exception("could not mark %d inbox row(s) done", len(ids))

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
                updates = await bot.get_updates(offset=offset, timeout=timeout,
                                                allowed_updates=Update.ALL_TYPES)
                if updates:
                    await self.accept(list(updates))
                    offset = updates[-1].update_id + 1  # confirmed by the next getUpdates
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
                delay = min(30.0, 0.5 * 2 ** min(failures, 6))
                if failures in (1, 10) or failures % 100 == 0:
                    log.warning("cannot fetch or store updates (%s), try %d; again in %.0f s",
                                type(exc).__name__, failures, delay)
                await asyncio.sleep(delay)
