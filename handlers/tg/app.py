"""The one factory that builds the Telegram application; tests call it too."""

from __future__ import annotations

import logging

from telegram import BotCommand, Update
from telegram.request import BaseRequest
from telegram.ext import (
    AIORateLimiter, Application, ApplicationBuilder, CallbackQueryHandler, ChatMemberHandler,
    MessageHandler, TypeHandler, filters,
)

from handlers.tg import common, reminders, review
from handlers.wiring import Core

log = logging.getLogger(__name__)


def build_application(
    core: Core, *, request: BaseRequest | None = None, rate_limit: bool = True
) -> Application:
    """A ready-to-run Application: opens the database on start, closes it on stop.

    ``request`` replaces the network (benchmarks); ``rate_limit=False`` drops the
    Telegram-sized rate limiter so a benchmark measures the bot, not the limiter.
    """
    settings = core.settings.telegram
    if not settings.token:
        raise ValueError("telegram.token is empty")

    async def post_init(app: Application) -> None:
        await core.open()
        menu = [BotCommand(c.command, c.description) for c in core.renderer.menu()]
        await app.bot.set_my_commands(menu)
        await reminders.start(app)  # settle a crash's in-flight reminders, plan, arm the jobs

    async def post_shutdown(app: Application) -> None:
        await core.close()

    builder = (
        ApplicationBuilder()
        .token(settings.token)
        .base_url(settings.base_url)
        .base_file_url(settings.base_file_url)
        .concurrent_updates(False)
        .post_init(post_init)
        .post_shutdown(post_shutdown)
    )
    if rate_limit:
        rate = core.settings.reminders.rate_per_second
        builder = builder.rate_limiter(
            AIORateLimiter(overall_max_rate=rate, max_retries=3))  # type: ignore[arg-type]
    if request is not None:
        builder = builder.request(request).get_updates_request(request)
    app = builder.build()
    app.bot_data["core"] = core
    private = filters.ChatType.PRIVATE
    new = filters.UpdateType.MESSAGE
    # Before every handler: a person who had blocked the bot and writes again is reachable.
    app.add_handler(TypeHandler(Update, reminders.on_any_update), group=-1)
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


def run_polling(core: Core) -> None:
    """Run until stopped. Logging is set up by the caller (handlers.cli.configure_logging)."""
    app = build_application(core)
    app.run_polling(allowed_updates=Update.ALL_TYPES,
                    timeout=core.settings.telegram.poll_timeout, drop_pending_updates=False)
