"""The inbox any channel uses: updates are stored before the channel is told they arrived,
then handled from the store exactly once, in order within a chat and concurrently across chats.

A channel adapter supplies how to fetch (its poller or its webhook calls ``accept``), how to
read a stored payload back (``decode``), and how to hand one update over to its handlers
(``hand_over``; it reports the end with ``finished``). This module does the rest:

1. ``accept`` writes a batch to the ``inbox`` table and commits before it returns; only then
   may the adapter confirm the batch to its platform (Telegram: the next ``getUpdates``
   offset; Zalo's webhook: the HTTP 200). A repeated delivery is ignored by the table's unique
   key (channel, update key): Telegram's ``update_id``, Zalo's ``message_id``.
2. Stored rows are handed over one chat at a time: a chat's next update only when its previous
   one has finished, so one person's messages never overtake each other while other chats go
   on. One slow chat holds up nobody else.
3. A row is marked done once its handling has finished (replies included). A kill before that
   hands the row over again at the next start; the core's ``processed_events`` claim makes
   that second handling change nothing and show the person where they stand. So the state
   change happens exactly once; a reply may be sent twice after a crash, never lost.

Done marks are written in batches by one background task: a mark lost to a crash only means
the update is shown again, as in 3.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Generic, TypeVar

from handlers.wiring import Core
from storage.inbox import Arrival, InboxStore

log = logging.getLogger(__name__)

# A row still pending at this many starts is set aside: it is what keeps the bot from running.
MAX_STARTS = 3
KEEP_DONE = timedelta(days=7)  # Telegram redelivers an unconfirmed update for a day at most
# Done marks are written at most this often (seconds): one durable commit for all the updates
# finished meanwhile. A crash forgets at most these marks, and those updates are shown again.
FLUSH_AFTER = 0.1

U = TypeVar("U")


@dataclass
class Item(Generic[U]):
    """One stored update on its way to the handlers."""

    row_id: int
    chat: str
    key: str  # the channel's own id of the update
    update: U


@dataclass(frozen=True)
class Received(Generic[U]):
    """An update as the channel delivered it: its key, its chat, and how to store it."""

    key: str
    chat: str
    payload: str
    update: U


class Inbox(Generic[U]):
    """Stores one channel's updates and feeds them to its handlers from the table."""

    def __init__(self, core: Core, channel: str, decode: Callable[[str], U]) -> None:
        self.core = core
        self.channel = channel
        self.store = InboxStore(core.db)
        self._decode = decode
        self._hand_over: Callable[[Item[U]], None] | None = None
        self._queues: dict[str, deque[Item[U]]] = {}
        self._busy: set[str] = set()
        self._in_flight: dict[str, Item[U]] = {}  # update key -> item
        self._feeding = False
        self._done: list[int] = []
        self._done_event = asyncio.Event()
        self._flushing = asyncio.Lock()
        self._idle = asyncio.Event()
        self._idle.set()
        self._flusher: asyncio.Task[None] | None = None

    # ------------------------------------------------------------------ life cycle

    async def start(self, hand_over: Callable[[Item[U]], None]) -> None:
        """Hand over what a previous run left pending, then whatever ``accept`` stores."""
        self._hand_over = hand_over
        await self._recover()
        self._feeding = True
        for chat in list(self._queues):
            self._feed(chat)
        self._flusher = asyncio.create_task(self._flush_loop(), name=f"inbox:{self.channel}")

    def stop_feeding(self) -> None:
        """Hand nothing more over; what is queued stays pending in the table for the next
        start, what is in flight is left to finish."""
        self._feeding = False

    async def close(self) -> None:
        """After the in-flight updates have finished: write the last done marks."""
        self.stop_feeding()
        if self._flusher is not None:
            self._flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._flusher
            self._flusher = None
        await self.flush()

    async def idle(self) -> None:
        """Until nothing is queued or in flight (benchmarks and tests)."""
        await self._idle.wait()

    # ------------------------------------------------------------------ storing

    async def accept(self, batch: Sequence[Received[U]]) -> int:
        """Store a batch (committed before this returns) and queue what is new; returns how
        many were new. The caller confirms the batch to its platform only after this."""
        arrivals = [Arrival(r.key, r.chat, r.payload) for r in batch]
        async with self.core.db.transaction():
            rows = await self.store.add(self.channel, arrivals, self.core.clock.now())
        by_key = {r.key: r.update for r in batch}
        for row in rows:
            self._enqueue(Item(row.id, row.chat_key, row.update_key, by_key[row.update_key]))
        return len(rows)

    async def _recover(self) -> None:
        now = self.core.clock.now()
        async with self.core.db.transaction():
            await self.store.count_start(self.channel)
            await self.store.forget_before(now - KEEP_DONE)
        rows = await self.store.pending(self.channel)
        stuck = [r for r in rows if r.attempts > MAX_STARTS]
        if stuck:
            async with self.core.db.transaction():
                await self.store.set_aside([r.id for r in stuck], now)
            log.error("%d %s update(s) set aside: still pending after %d starts (ids %s)",
                      len(stuck), self.channel, MAX_STARTS,
                      ", ".join(r.update_key for r in stuck))
        waiting = [r for r in rows if r.attempts <= MAX_STARTS]
        if waiting:
            log.warning("%d %s update(s) received before the restart are handled now",
                        len(waiting), self.channel)
        unreadable = []
        for row in waiting:
            try:
                update = self._decode(row.payload)
            except Exception:  # e.g. stored by another version: never worth a crash loop
                log.exception("inbox row %d (%s update %s) cannot be read", row.id,
                              self.channel, row.update_key)
                unreadable.append(row.id)
                continue
            self._enqueue(Item(row.id, row.chat_key, row.update_key, update))
        if unreadable:
            async with self.core.db.transaction():
                await self.store.set_aside(unreadable, now)

    # ------------------------------------------------------------------ handing over

    def _enqueue(self, item: Item[U]) -> None:
        self._queues.setdefault(item.chat, deque()).append(item)
        self._idle.clear()
        if item.chat not in self._busy:
            self._feed(item.chat)

    def _feed(self, chat: str) -> None:
        """Hand the chat's next update over, if it has one and is free."""
        queue = self._queues.get(chat)
        if not self._feeding or self._hand_over is None or chat in self._busy or not queue:
            self._check_idle()
            return
        item = queue.popleft()
        if not queue:
            del self._queues[chat]
        self._busy.add(chat)
        self._in_flight[item.key] = item
        self._hand_over(item)

    def finished(self, key: str, handled: bool) -> None:
        """The update ``key`` is over: done if ``handled`` (else it stays pending for the
        next start); its chat's next update may go."""
        item = self._in_flight.pop(key, None)
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
            except Exception:  # the rows stay pending: a restart shows those people their place
                log.exception("could not mark %d inbox row(s) done", len(ids))


class Tasks(Generic[U]):
    """Hands each update to ``handle`` in a task of its own and reports the end to the inbox:
    for channels without a framework of their own (Zalo). At most ``limit`` at once."""

    def __init__(self, inbox: Inbox[U], handle: Callable[[U], Awaitable[None]],
                 limit: int) -> None:
        self.inbox, self.handle = inbox, handle
        self._slots = asyncio.Semaphore(limit)
        self._tasks: set[asyncio.Task[None]] = set()

    def __call__(self, item: Item[U]) -> None:
        task = asyncio.create_task(self._run(item), name=f"{self.inbox.channel}:{item.key}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, item: Item[U]) -> None:
        handled = False
        try:
            async with self._slots:
                await self.handle(item.update)
            handled = True
        except asyncio.CancelledError:
            raise
        except Exception:  # the handler's own error reply has been tried; never a crash loop
            log.exception("error while handling %s update %s", self.inbox.channel, item.key)
            handled = True
        finally:
            self.inbox.finished(item.key, handled)

    async def drain(self) -> None:
        """Let what is in flight finish (at shutdown, after ``stop_feeding``)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)


async def poll_backoff(failures: int, what: str, logger: logging.Logger, doing: str) -> None:
    """After the ``failures``-th failed poll in a row: wait 0.5 s doubling up to 30 s, and say
    so at the 1st, the 10th and every 100th failure (``doing``: what failed)."""
    delay = min(30.0, 0.5 * 2 ** min(failures, 6))
    if failures in (1, 10) or failures % 100 == 0:
        logger.warning("%s (%s), try %d; again in %.0f s", doing, what, failures, delay)
    await asyncio.sleep(delay)
