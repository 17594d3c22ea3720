"""The one factory that builds the Telegram application; tests call it too."""

from __future__ import annotations

import logging

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from telegram import BotCommand
from telegram.error import NetworkError
from telegram.request import BaseRequest
from telegram.ext import (
    Application, ApplicationBuilder, CallbackQueryHandler, ChatMemberHandler, MessageHandler,
    filters,
)

from handlers.tg import common, review
from handlers.tg.inbox import ChatOrderedProcessor, Inbox
from handlers.tg.limits import ChatRateLimiter
from handlers.tg.send import CHANNEL
from handlers.tg.transport import TelegramTransport
from handlers.wiring import Core

log = logging.getLogger(__name__)


def build_application(
    core: Core, *, request: BaseRequest | None = None, rate_limit: bool = True,
    delivery: bool = True,
) -> Application:
    """A ready-to-run Application: opens the database on start, closes it on stop.

    It has no ``Updater``: updates come through the inbox (``app.bot_data["inbox"]``, see
    ``handlers.tg.inbox``), which ``serve`` starts. ``request`` replaces the network
    (benchmarks); ``rate_limit=False`` drops the Telegram-sized rate limiter so a benchmark
    measures the bot, not the limiter. ``delivery=False``: the outbox sender is not started
    here (a worker process, where one leader per bot token sends: ``handlers.worker``).
    """
    settings = core.settings.telegram
    if not settings.token:
        raise ValueError("telegram.token is empty")

    async def post_init(app: Application) -> None:
        await core.open()
        menu = [BotCommand(c.command, c.description) for c in core.renderer.menu()]
        try:
            await app.bot.set_my_commands(menu)
        except NetworkError as exc:  # a convenience: the next start sets it; never fatal
            log.warning("the command menu was not set (%s)", type(exc).__name__)
        # The outbox sender (one per process, for every channel) now also sends on Telegram;
        # the first channel to start settles a crash's in-flight rows and plans the rounds.
        if delivery:
            await core.delivery.start(TelegramTransport(app.bot, core.renderer))

    async def post_shutdown(app: Application) -> None:
        await core.delivery.stop(CHANNEL)  # already stopped by ``running``; harmless twice
        await core.close()

    processor = ChatOrderedProcessor(settings.concurrent_chats)
    builder = (
        ApplicationBuilder()
        .token(settings.token)
        .base_url(settings.base_url)
        .base_file_url(settings.base_file_url)
        .updater(None)  # the inbox polls: PTB's Updater confirms updates before handling them
        .concurrent_updates(processor)
        .post_init(post_init)
        .post_shutdown(post_shutdown)
    )
    if rate_limit:
        builder = builder.rate_limiter(ChatRateLimiter(core.settings.reminders.rate_per_second))
    if request is not None:
        builder = builder.request(request).get_updates_request(request)
    app = builder.build()
    app.bot_data["core"] = core
    app.bot_data["inbox"] = Inbox(core, processor)
    private = filters.ChatType.PRIVATE
    new = filters.UpdateType.MESSAGE
    # Order matters: the first matching handler in the group wins.
    app.add_handlers([
        # Groups: no personal content, ever. Commands and mentions get a pointer.
        ChatMemberHandler(common.on_added_to_group, ChatMemberHandler.MY_CHAT_MEMBER),
        MessageHandler(filters.ChatType.GROUPS & new & (filters.COMMAND | filters.Entity("mention")),
                       common.on_group),
        CallbackQueryHandler(review.on_press),
        # Private chats: text and commands go to the core, which parses both.
        MessageHandler(private & new & filters.TEXT, review.on_text),
        MessageHandler(private & filters.UpdateType.EDITED_MESSAGE, common.on_edited),
        MessageHandler(private & new & ~filters.TEXT, review.on_unsupported),
    ])
    app.add_error_handler(common.on_error)
    return app


@asynccontextmanager
async def running(app: Application, *, poll: bool = True) -> AsyncIterator[Inbox]:
    """``app`` running with its inbox polling (unless ``poll`` is False: a benchmark hands
    updates to ``Inbox.accept`` itself), for the duration of the block.

    The order matters on the way down: stop fetching, let what is in flight finish
    (``app.stop``), write the last done marks, then close the database (``post_shutdown``).
    """
    inbox: Inbox = app.bot_data["inbox"]
    await app.initialize()
    try:
        if app.post_init is not None:
            await app.post_init(app)  # opens the database (PTB's run_polling used to call it)
        await app.start()
        try:
            await inbox.start(app, poll=poll)
            yield inbox
        finally:
            await inbox.stop_polling()
            await app.stop()
            await inbox.close()
            await app.bot_data["core"].delivery.stop(CHANNEL)  # before the bot shuts down
    finally:
        await app.shutdown()
        if app.post_shutdown is not None:
            await app.post_shutdown(app)


async def serve(app: Application, stop: asyncio.Event) -> None:
    """Run ``app`` until ``stop`` is set, or until Telegram refuses the token (raised)."""
    async with running(app) as inbox:
        waiters = [asyncio.create_task(stop.wait()), asyncio.create_task(inbox.failed.wait())]
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        for waiter in waiters:
            waiter.cancel()
    if inbox.fatal is not None:
        raise inbox.fatal

