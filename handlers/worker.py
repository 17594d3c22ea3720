"""``tusoi worker``: one of K processes that handle a province's updates (PostgreSQL).

The ingress (``tusoi ingress``, ``handlers.web``) commits each update to the inbox and says
so with a NOTIFY. Each worker runs the real core and the real PTB ``Application`` (built with
``updater(None)``: no polling) and a number of slots. A slot claims one chat at a time
(``storage.chats``: ``FOR UPDATE SKIP LOCKED`` on the chat's row), hands that chat's pending
updates to the Application one after the other in arrival order, marks each done after its
handling, and lets the chat go when none is left. A worker killed at any moment loses its
claims with its connection; another worker picks the chat up where the done marks stop.

Zalo's events (stored by the ingress from Zalo's webhook) are claimed the same way and handled
by the real Zalo adapter when ``zalo.token`` is set.

The outbox and reminder sender runs in ONE worker at a time per bot token, since Telegram's
rate budget belongs to the token: the leader holds a session-level ``pg_try_advisory_lock``
for its whole life; the others try again every few seconds and take over when it dies.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import os
import random
from typing import Any

from psycopg import AsyncConnection
from telegram import Update
from telegram.error import NetworkError
from telegram.ext import Application

from handlers.wiring import Core
from storage.inbox import CHANNEL_NOTICE
from storage.chats import MAX_ATTEMPTS, ChatClaims, Claimed
from storage.pg import PgDatabase

log = logging.getLogger(__name__)

TELEGRAM = "telegram"
ZALO = "zalo"


def leader_key(token: str) -> int:
    """The advisory lock of the sender for this bot token (a signed 64-bit number derived
    from the token; the token itself never reaches the database or a log)."""
    digest = hashlib.sha256(b"tusoi-sender:" + token.encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class ZaloHandling:
    """Zalo in a worker: its real adapter (``ZaloBot.handle``) without its own inbox feeding
    or polling (the ingress stores Zalo's webhook events), its transport for the sender."""

    def __init__(self, core: Core) -> None:
        from handlers.downloads import DownloadLinks
        from handlers.zalo.api import ZaloApi
        from handlers.zalo.bot import ZaloBot
        from handlers.zalo.send import ZaloTransport

        settings = core.settings.zalo
        self.api = ZaloApi(settings.token, settings.base_url)
        self.transport = ZaloTransport(self.api, core.renderer, DownloadLinks(core),
                                       settings.rate_per_second)
        self.bot = ZaloBot(core, self.api, self.transport)

    async def handle(self, payload: str) -> None:
        await self.bot.handle(json.loads(payload))

    async def close(self) -> None:
        await self.api.close()


class Worker:
    def __init__(self, core: Core, app: Application, *, worker_id: int, slots: int,
                 poll_seconds: float = 2.0, leader_retry_seconds: float = 5.0,
                 zalo: ZaloHandling | None = None) -> None:
        if not isinstance(core.db, PgDatabase):
            raise TypeError("tusoi worker needs PostgreSQL (storage.url)")
        self.core = core
        self.db: PgDatabase = core.db
        self.app = app
        self.worker_id = worker_id
        self.slots = slots
        self.poll_seconds = poll_seconds
        self.leader_retry_seconds = leader_retry_seconds
        self.claims = ChatClaims(core.db)
        self.zalo = zalo
        self.channels = [TELEGRAM, ZALO] if zalo is not None else [TELEGRAM]
        self.leading = asyncio.Event()
        self.handled = 0
        self._signal = asyncio.Condition()
        self._stopping = False
        self._tasks: list[asyncio.Task[None]] = []

    # ------------------------------------------------------------------ life cycle

    async def run(self, stop: asyncio.Event) -> None:
        """Handle updates (and send, when leading) until ``stop`` is set; then finish the
        update in hand of each slot and let the chats go."""
        await self.claims.open(self.slots)
        self._tasks = [asyncio.create_task(self._listen(), name="worker:listen"),
                       asyncio.create_task(self._lead(), name="worker:lead")]
        slots = [asyncio.create_task(self._slot(n), name=f"worker:slot{n}")
                 for n in range(self.slots)]
        log.info("worker %d: %d slots", self.worker_id, self.slots)
        try:
            await stop.wait()
        finally:
            self._stopping = True
            async with self._signal:
                self._signal.notify_all()
            await asyncio.gather(*slots, return_exceptions=True)
            if self.leading.is_set():  # stop sending BEFORE the lock goes with its connection
                await self._stop_sending()
            for task in self._tasks:
                task.cancel()
            for task in self._tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            await self.claims.close()

    # ------------------------------------------------------------------ updates

    async def _slot(self, number: int) -> None:
        while not self._stopping:
            try:
                async with self.claims.claim(self.channels) as claimed:
                    if claimed is not None:
                        await self._handle_chat(claimed)
                        continue
            except asyncio.CancelledError:
                raise
            except Exception:  # the database went away for a moment: never a dead slot
                log.exception("worker %d slot %d: claiming failed", self.worker_id, number)
            async with self._signal:
                with contextlib.suppress(TimeoutError):
                    # jitter: idle slots do not all ask the database at the same instant
                    await asyncio.wait_for(self._signal.wait(),
                                           self.poll_seconds * random.uniform(0.5, 1.0))

    async def _handle_chat(self, claimed: Claimed) -> None:
        """The chat's pending updates in arrival order, then any that arrived meanwhile."""
        while not self._stopping:
            rows = await self.claims.pending(claimed)
            if not rows:
                return
            for row in rows:
                if self._stopping:
                    return
                now = self.core.clock.now()
                if await self.claims.hand_over(row.id) > MAX_ATTEMPTS:
                    log.error("inbox row %d (update %s) set aside: handed over %d times",
                              row.id, row.update_key, MAX_ATTEMPTS)
                    await self.claims.set_aside(row.id, now)
                    continue
                if row.channel == ZALO and self.zalo is not None:
                    try:
                        await self.zalo.handle(row.payload)  # it answers its own errors
                    except Exception:  # never a crash loop: the row is done, as in one process
                        log.exception("error while handling Zalo row %d", row.id)
                    await self.claims.done(row.id, self.core.clock.now())
                    self.handled += 1
                    continue
                try:
                    update = Update.de_json(json.loads(row.payload), self.app.bot)
                except Exception:  # stored by another version: never worth a crash loop
                    log.exception("inbox row %d (update %s) cannot be read", row.id,
                                  row.update_key)
                    await self.claims.set_aside(row.id, now)
                    continue
                await self.app.process_update(update)  # handler errors: the error handler
                await self.claims.done(row.id, self.core.clock.now())
                self.handled += 1

    async def _listen(self) -> None:
        """Wake one idle slot per NOTIFY from the ingress."""
        while True:
            try:
                conn: AsyncConnection[Any] = await AsyncConnection.connect(
                    self.db.url, autocommit=True)
                async with conn:
                    await conn.execute(f"LISTEN {CHANNEL_NOTICE}")
                    async for _ in conn.notifies():
                        async with self._signal:
                            self._signal.notify(1)
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - the slots poll meanwhile
                log.warning("worker %d: listening for new updates failed; again in %.0f s",
                            self.worker_id, self.poll_seconds)
                await asyncio.sleep(self.poll_seconds)

    # ------------------------------------------------------------------ the sender

    async def _lead(self) -> None:
        """Become the sender when no other worker is, and stay it for life."""
        key = leader_key(self.core.settings.telegram.token)
        while True:
            conn: AsyncConnection[Any] | None = None
            try:
                conn = await AsyncConnection.connect(self.db.url, autocommit=True)
                cur = await conn.execute("SELECT pg_try_advisory_lock(%s)", (key,))
                row = await cur.fetchone()
                if row is not None and row[0]:
                    await self._send_while_holding(conn)
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - try again later
                log.warning("worker %d: could not try the sender's lock", self.worker_id)
            finally:
                if conn is not None and not self.leading.is_set():
                    await conn.close()
            await asyncio.sleep(self.leader_retry_seconds)

    async def _stop_sending(self) -> None:
        if self.zalo is not None:
            await self.core.delivery.stop(ZALO)
        await self.core.delivery.stop(TELEGRAM)

    async def _send_while_holding(self, conn: AsyncConnection[Any]) -> None:
        from handlers.tg.transport import TelegramTransport

        log.info("worker %d leads: it sends the outbox and the reminders", self.worker_id)
        self.leading.set()
        await self.core.delivery.start(TelegramTransport(self.app.bot, self.core.renderer))
        if self.zalo is not None:
            await self.core.delivery.start(self.zalo.transport)
        try:
            while True:  # the lock lives with the connection: watch it
                await asyncio.sleep(self.leader_retry_seconds)
                await conn.execute("SELECT 1")
        except asyncio.CancelledError:
            raise
        except Exception:
            # The connection, and with it the lock, is gone: another worker may lead now.
            log.error("worker %d lost the sender's lock; it stops sending", self.worker_id)
            await self._stop_sending()
            self.leading.clear()
            raise
        finally:
            with contextlib.suppress(Exception):
                await conn.close()


async def run_worker(core: Core, stop: asyncio.Event, *, worker_id: int,
                     slots: int | None = None, poll_seconds: float = 2.0,
                     leader_retry_seconds: float = 5.0,
                     stop_grace_seconds: float = 30.0) -> Worker:
    """The whole worker process: open the database, start the Application, work until
    ``stop``, then close in order. Returns the worker (for its counts)."""
    from handlers.tg.app import build_application

    slots = slots or core.settings.telegram.concurrent_chats
    if isinstance(core.db, PgDatabase):
        # each slot runs one transaction at a time, plus a few for the sender and done marks
        core.db.max_size = max(core.db.max_size, slots + 4)
    app = build_application(core, delivery=False)
    zalo = ZaloHandling(core) if core.settings.zalo.token else None
    worker = Worker(core, app, worker_id=worker_id, slots=slots, poll_seconds=poll_seconds,
                    leader_retry_seconds=leader_retry_seconds, zalo=zalo)
    watchdog = asyncio.create_task(_exit_if_stuck(stop, stop_grace_seconds), name="watchdog")
    if not await _initialize(app, stop, worker_id):
        watchdog.cancel()
        if zalo is not None:
            await zalo.close()
        return worker
    try:
        if app.post_init is not None:
            await app.post_init(app)  # opens (and migrates) the database, sets the menu
        await app.start()
        try:
            await worker.run(stop)
        finally:
            await app.stop()
    finally:
        await app.shutdown()
        if app.post_shutdown is not None:
            await app.post_shutdown(app)
        if zalo is not None:
            await zalo.close()
        watchdog.cancel()
    return worker


async def _initialize(app: Application, stop: asyncio.Event, worker_id: int) -> bool:
    """``app.initialize()`` (Telegram's getMe), tried again after a network failure until it
    works (True) or ``stop`` is set (False). A worker restarted while Telegram, or this
    machine, is slow waits for it instead of exiting; a refused token still ends it."""
    delay = 0.5
    while True:
        try:
            await app.initialize()
            return True
        except NetworkError as exc:
            log.warning("worker %d: Telegram did not answer at start (%s); trying again in "
                        "%.1f s", worker_id, type(exc).__name__, delay)
        try:
            await asyncio.wait_for(stop.wait(), delay)
            return False
        except TimeoutError:
            delay = min(delay * 2, 30.0)


async def _exit_if_stuck(stop: asyncio.Event, grace: float) -> None:
    """A stop that has not finished after ``grace`` seconds (Telegram unreachable, a
    database that hangs) ends the process: being killed loses nothing (the chats in hand go
    to the next worker), so waiting longer only delays a restart. What was still running is
    logged first."""
    await stop.wait()
    await asyncio.sleep(grace)
    for task in asyncio.all_tasks():
        if task is not asyncio.current_task():
            stack = "".join(f"  {frame.f_code.co_filename}:{frame.f_lineno}\n"
                            for frame in task.get_stack())
            log.error("still running at stop: %s\n%s", task.get_name(), stack)
    log.error("the worker did not stop within %.0f s; exiting", grace)
    logging.shutdown()
    os._exit(1)
