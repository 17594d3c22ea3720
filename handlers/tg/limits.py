"""Telegram's flood limits, kept without letting one chat's 429 hold up every other chat.

PTB's ``AIORateLimiter`` pauses *every* request for the ``retry_after`` Telegram gave one of
them: a member whose chat was told "retry after 25" made every other member wait 25 s too.
Here the pause belongs to the chat that got it. The overall pace (``reminders.rate_per_second``
over all chats) and the pace for groups (20 a minute) are kept as leaky buckets, as PTB does.
A ``retry_after`` longer than ``MAX_WAIT`` is not waited for: the request fails and the caller
decides (a reply is recorded as lost, a reminder is tried again later).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from aiolimiter import AsyncLimiter
from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter

log = logging.getLogger(__name__)

MAX_WAIT = 60.0  # seconds: beyond this a member is better told nothing than kept waiting
GROUP_PER_MINUTE = 20


class ChatRateLimiter(BaseRateLimiter[None]):
    def __init__(self, overall_per_second: float, max_retries: int = 5) -> None:
        self._overall = AsyncLimiter(overall_per_second, 1) if overall_per_second else None
        self._groups: dict[int | str, AsyncLimiter] = {}
        self._max_retries = max_retries
        self._paused_until: dict[int | str, float] = {}  # chat -> loop time

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to release."""

    def _group(self, chat: int | str) -> AsyncLimiter:
        if len(self._groups) > 512:  # forget groups whose bucket is empty again
            for key, limiter in list(self._groups.items()):
                if key != chat and limiter.has_capacity(limiter.max_rate):
                    del self._groups[key]
        return self._groups.setdefault(chat, AsyncLimiter(GROUP_PER_MINUTE, 60))

    async def _wait_for_chat(self, chat: int | str | None) -> None:
        if chat is None:
            return
        loop = asyncio.get_running_loop()
        until = self._paused_until.get(chat, 0.0)
        while (delay := until - loop.time()) > 0:
            await asyncio.sleep(delay)
            until = self._paused_until.get(chat, 0.0)
        self._paused_until.pop(chat, None)

    async def _once(self, chat: int | str | None,
                    callback: Callable[..., Coroutine[Any, Any, Any]], args: Any,
                    kwargs: dict[str, Any]) -> Any:
        await self._wait_for_chat(chat)
        group = chat if isinstance(chat, str) or (isinstance(chat, int) and chat < 0) else None
        async with contextlib.AsyncExitStack() as stack:
            if group is not None:
                await stack.enter_async_context(self._group(group))
            if chat is not None and self._overall is not None:
                await stack.enter_async_context(self._overall)
            return await callback(*args, **kwargs)

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | dict[str, Any] | list[dict[str, Any]]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: None,
    ) -> bool | dict[str, Any] | list[dict[str, Any]]:
        chat: int | str | None = data.get("chat_id")
        with contextlib.suppress(ValueError, TypeError):
            chat = int(chat)  # type: ignore[arg-type]
        retries = self._max_retries
        attempt = 0
        while True:
            try:
                result: bool | dict[str, Any] | list[dict[str, Any]] = await self._once(
                    chat, callback, args, kwargs)
                return result
            except RetryAfter as exc:
                seconds = retry_seconds(exc)
                if attempt >= retries or seconds > MAX_WAIT:
                    raise
                attempt += 1
                log.info("%s: Telegram asked this chat to wait %.0f s", endpoint, seconds)
                if chat is None:
                    await asyncio.sleep(seconds + 0.1)
                    continue
                until = asyncio.get_running_loop().time() + seconds + 0.1
                self._paused_until[chat] = max(self._paused_until.get(chat, 0.0), until)


def retry_seconds(exc: RetryAfter) -> float:
    """How long Telegram asked to wait. (PTB 22's public ``retry_after`` warns about its
    coming type change on every read; PTB's own limiter reads the timedelta it keeps.)"""
    return exc._retry_after.total_seconds()
