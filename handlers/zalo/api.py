"""A small client for the Zalo Bot API, on httpx (channels.md §2b: no SDK is a good base).

Every call is ``POST {base_url}{token}/{method}`` with a JSON body, answered with the envelope
``{ok, result?, error_code?, description?}``. HTTP 2xx alone is not success: ``ok`` decides,
and Zalo may answer HTTP 200 with ``ok: false``. Whatever is not ``ok: true`` raises
``ZaloError``; ``outcome`` maps it (and httpx's own errors) to the delivery seam's outcomes.

The token is part of every URL: it is never logged (httpx's request log is turned down by
``handlers.cli.configure_logging``), and errors here carry only the method and the code.
"""

from __future__ import annotations

import logging
from typing import Any

import httpx

from bot.delivery import Delivery, Outcome

log = logging.getLogger(__name__)

TEXT_LIMIT = 2000  # sendMessage text and sendPhoto caption: 1 to 2,000 characters
EMPTY_POLL = 408  # getUpdates with nothing to deliver (HTTP 200 or 408, the body says 408)
NO_WEBHOOK = 404  # getWebhookInfo when none is set
BAD_TOKEN = 401
# Zalo documents no code for "this user blocked the bot"; 403 is what every HTTP API of its
# kind answers, and what the fake server uses. Anything else unknown is taken as transient.
BLOCKED = 403
PERMANENT = frozenset({400, 404, 413, 422})


class ZaloError(Exception):
    """Zalo did not take the call: ``ok`` was false, or the HTTP status was not 2xx.

    ``code`` is the envelope's ``error_code`` (None when the body had none), ``status`` the
    HTTP status. ``str()`` names the method and the codes, never the URL (it holds the token).
    """

    def __init__(self, method: str, status: int, code: int | None, description: str) -> None:
        super().__init__(f"{method}: HTTP {status}, error_code {code}: {description[:200]}")
        self.method, self.status, self.code, self.description = method, status, code, description

    @property
    def kind(self) -> int:
        """The code that decides: the envelope's, else the HTTP status."""
        return self.code if self.code is not None else self.status


class ZaloApi:
    """The Bot API methods tusoi uses. One ``httpx.AsyncClient``, closed by ``close``."""

    def __init__(self, token: str, base_url: str, *, timeout: float = 15.0,
                 client: httpx.AsyncClient | None = None) -> None:
        if not token:
            raise ValueError("zalo.token is empty")
        self._url = f"{base_url.rstrip('/')}{token}/"
        self._timeout = timeout
        self._client = client or httpx.AsyncClient(
            timeout=httpx.Timeout(timeout, connect=5.0), follow_redirects=False)

    def __repr__(self) -> str:
        return "ZaloApi(…)"  # the URL holds the token

    async def close(self) -> None:
        await self._client.aclose()

    async def call(self, method: str, params: dict[str, Any] | None = None, *,
                   read_timeout: float | None = None) -> Any:
        """``method`` with ``params``; returns ``result`` (True when there is none)."""
        timeout = httpx.Timeout(read_timeout or self._timeout, connect=5.0)
        response = await self._client.post(self._url + method, json=params or {},
                                           timeout=timeout)
        try:
            body = response.json()
        except ValueError:
            raise ZaloError(method, response.status_code, None, "not JSON") from None
        if not isinstance(body, dict):
            raise ZaloError(method, response.status_code, None, "not a JSON object")
        if body.get("ok") is True and response.is_success:
            return body.get("result", True)
        code = body.get("error_code")
        raise ZaloError(method, response.status_code, code if isinstance(code, int) else None,
                        str(body.get("description") or ""))

    # ------------------------------------------------------------------ methods

    async def get_me(self) -> dict[str, Any]:
        result: dict[str, Any] = await self.call("getMe")
        return result

    async def get_updates(self, timeout: int) -> dict[str, Any] | None:
        """One event, or None when the long poll ended empty. (Zalo's getUpdates returns
        one object, has no offset and no acknowledgement.)"""
        try:
            result = await self.call("getUpdates", {"timeout": timeout},
                                     read_timeout=timeout + 10)
        except ZaloError as exc:
            if exc.kind == EMPTY_POLL or exc.status == EMPTY_POLL:
                return None
            raise
        return result if isinstance(result, dict) and result else None

    async def send_message(self, chat_id: str, text: str) -> dict[str, Any]:
        result: dict[str, Any] = await self.call("sendMessage", {"chat_id": chat_id, "text": text})
        return result

    async def send_photo(self, chat_id: str, photo: str, caption: str = "") -> dict[str, Any]:
        params = {"chat_id": chat_id, "photo": photo}
        if caption:
            params["caption"] = caption
        result: dict[str, Any] = await self.call("sendPhoto", params)
        return result

    async def send_chat_action(self, chat_id: str, action: str = "typing") -> None:
        await self.call("sendChatAction", {"chat_id": chat_id, "action": action})

    async def set_webhook(self, url: str, secret: str) -> dict[str, Any]:
        result: dict[str, Any] = await self.call("setWebhook",
                                                 {"url": url, "secret_token": secret})
        return result

    async def delete_webhook(self) -> dict[str, Any]:
        result: dict[str, Any] = await self.call("deleteWebhook")
        return result

    async def get_webhook_info(self) -> dict[str, Any] | None:
        """The webhook set, or None when there is none."""
        try:
            result = await self.call("getWebhookInfo")
        except ZaloError as exc:
            if exc.kind == NO_WEBHOOK:
                return None
            raise
        return result if isinstance(result, dict) and result.get("url") else None


def outcome(exc: BaseException) -> Delivery:
    """What a failed send means for the delivery seam."""
    if isinstance(exc, ZaloError):
        kind = exc.kind
        detail = f"zalo:{kind}"
        if kind == BLOCKED:
            return Delivery(Outcome.BLOCKED, detail=detail)
        if kind == BAD_TOKEN or kind in PERMANENT:
            return Delivery(Outcome.REJECTED, detail=detail)
        return Delivery(Outcome.RETRY, detail=detail)  # 429, 5xx, ok:false with another code
    name = type(exc).__name__
    if isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout,
                        httpx.WriteError)):
        return Delivery(Outcome.RETRY, detail=name)  # the request never reached Zalo whole
    if isinstance(exc, httpx.HTTPError):
        return Delivery(Outcome.UNCERTAIN, detail=name)  # sent; the answer was lost
    return Delivery(Outcome.RETRY, detail=name)
