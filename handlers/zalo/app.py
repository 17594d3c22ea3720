"""Zalo and the web app, started inside the bot's one event loop."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from handlers.dashboard import Dashboard
from handlers.downloads import DownloadLinks
from handlers.web import WebServer, build_web_app
from handlers.wiring import Core
from handlers.zalo.api import ZaloApi
from handlers.zalo.bot import ZaloBot
from handlers.zalo.send import CHANNEL, ZaloTransport


@dataclass
class ZaloRuntime:
    bot: ZaloBot
    transport: ZaloTransport
    links: DownloadLinks
    web: WebServer


@asynccontextmanager
async def running_zalo(core: Core, *, port: int | None = None) -> AsyncIterator[ZaloRuntime]:
    """Zalo (polling or webhook, as configured) and the web app, for the duration of the block.
    The core must be open. ``getMe`` is asked first: a refused token or an unreachable Zalo
    stops the start with the error (the command line words it). The Zalo transport joins the
    core's one outbox sender while the block runs and leaves it before the block ends, so the
    core can be closed after. No webhook is set or deleted here: that is the operator's
    ``tusoi zalo webhook``."""
    settings = core.settings.zalo
    api = ZaloApi(settings.token, settings.base_url)
    try:
        await api.get_me()
        links = DownloadLinks(core)
        await links.wipe()
        transport = ZaloTransport(api, core.renderer, links, settings.rate_per_second)
        bot = ZaloBot(core, api, transport)
        webhook = settings.mode == "webhook"
        app = build_web_app(core, zalo=bot if webhook else None, downloads=links,
                            dashboard=Dashboard(core))
        web = WebServer(app, core.settings.web.host, core.settings.web.port if port is None
                        else port)
        await bot.start(poll=not webhook)  # pending events first, then new ones
        try:
            await web.start()
            try:
                # The one outbox sender now also sends to Zalo accounts (notices, reminders).
                await core.delivery.start(transport)
                try:
                    yield ZaloRuntime(bot, transport, links, web)
                finally:
                    await core.delivery.stop(CHANNEL)  # before the core closes
            finally:
                await web.stop()  # no new webhook call, no new download
        finally:
            await bot.stop()
    finally:
        await api.close()
