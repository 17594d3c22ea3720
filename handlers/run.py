"""``tusoi run``: every configured channel in one asyncio loop.

Telegram (when ``telegram.token`` is set), Zalo with the web app (when ``zalo.token`` is set),
both when both are; the web app alone (the committee's page) when ``web.public_base_url`` is
set without Zalo. Stops on SIGINT or SIGTERM, or when a channel refuses its token (raised,
so the command line can say which). On the way down Zalo stops before Telegram, whose
shutdown closes the database.
"""

from __future__ import annotations

import asyncio
import contextlib

from handlers.wiring import Core


async def serve(core: Core, stop: asyncio.Event) -> None:
    """Run until ``stop`` is set, or until a channel fails for good (raised)."""
    from handlers.tg.app import build_application, running
    from handlers.web import running_web
    from handlers.zalo.app import running_zalo

    failures: list[tuple[asyncio.Event, object]] = []
    async with contextlib.AsyncExitStack() as stack:
        if core.settings.telegram.token:
            inbox = await stack.enter_async_context(running(build_application(core)))
            failures.append((inbox.failed, inbox))
        else:
            await core.open()
            stack.push_async_callback(core.close)
        if core.settings.zalo.token:
            zalo = await stack.enter_async_context(running_zalo(core))
            failures.append((zalo.bot.failed, zalo.bot))
        elif core.settings.web.base_url(core.settings.zalo):  # the committee's page alone
            await stack.enter_async_context(running_web(core))
        waiters = [asyncio.create_task(stop.wait()),
                   *(asyncio.create_task(event.wait()) for event, _ in failures)]
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        for waiter in waiters:
            waiter.cancel()
    for event, owner in failures:
        fatal = getattr(owner, "fatal", None)
        if event.is_set() and isinstance(fatal, BaseException):
            raise fatal

