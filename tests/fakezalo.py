"""A fake Zalo Bot API server for tests, on 127.0.0.1 (like ``tests/fakebotapi.py``).

It answers what ``shared/reference/channels.md`` §2b documents, with its exact JSON:

* every call is ``POST /bot{token}/{method}``, JSON or form-encoded; the answer is the envelope
  ``{ok, result?, error_code?, description?}``; a wrong token answers ``ok: false`` 401;
* ``getUpdates`` returns ONE event object (no offset, no acknowledgement: an event handed out
  is gone), or, after ``timeout`` seconds with nothing, ``{"ok": false, "error_code": 408}``
  with HTTP 408 or HTTP 200 (``empty_status``: the reference could not tell which);
* ``setWebhook`` wants a public HTTPS URL and a secret of 8 to 256 characters (a loopback URL
  is accepted only with ``allow_local_webhook``, which tests need); once set, every user event
  is POSTed there with ``X-Bot-Api-Secret-Token``, in the documented wrapped shape
  ``{"ok": true, "result": {...}}`` or the observed bare one ``{"event_name": …, "message": …}``;
* ``sendMessage`` refuses a text of more than 2,000 characters (counted in UTF-16 units, the
  stricter reading), an unknown chat, and a user who blocked the bot (``ok: false`` 403: Zalo
  documents no code for it, this is the fake's choice);
* ``sendPhoto`` fetches its URL as Zalo's servers would, and fails if that does not give an
  image;
* faults: ``fail_next`` answers HTTP 5xx (JSON or an HTML error page) or HTTP 200 with
  ``ok: false``; ``hold`` keeps a call unanswered (kill tests).
"""

from __future__ import annotations

import asyncio
import copy
import itertools
import json
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Self
from urllib.parse import urlsplit

import aiohttp
from aiohttp import web

JSONDict = dict[str, Any]
TEXT_LIMIT = 2000
TOKEN = "2718281828:fake-zalo-TOKEN"
EVENTS = ("message.text.received", "message.image.received", "message.sticker.received",
          "message.voice.received", "message.unsupported.received")


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def zalo_id() -> str:
    """An opaque 20-hex-character id, like Zalo's user, chat and message ids."""
    return secrets.token_hex(10)


class ApiError(Exception):
    """Raise in a method handler: answered as ``{ok: false, error_code, description}``."""

    def __init__(self, code: int, description: str, http_status: int = 200) -> None:
        super().__init__(description)
        self.code, self.description, self.http_status = code, description, http_status


@dataclass
class Call:
    method: str
    params: JSONDict
    status: int = 200
    response: JSONDict | str = field(default_factory=dict)
    injected: bool = False

    def __iter__(self) -> Iterator[Any]:
        return iter((self.method, self.params))

    @property
    def ok(self) -> bool:
        return isinstance(self.response, dict) and self.response.get("ok") is True


@dataclass
class Sent:
    """What the bot put in a chat: a text, or a photo with the bytes the fake fetched."""

    kind: str  # "text" or "photo"
    message_id: str
    text: str = ""
    photo_url: str = ""
    photo: bytes = b""
    content_type: str = ""


@dataclass
class _Fault:
    http_status: int
    code: int | None
    description: str
    times: int
    chat_id: str | None
    html: bool


@dataclass
class Hold:
    """A call kept unanswered until ``release``; ``reached`` is set when it arrives."""

    method: str
    match: Callable[[JSONDict], bool]
    reached: asyncio.Event = field(default_factory=asyncio.Event)
    released: asyncio.Event = field(default_factory=asyncio.Event)

    def release(self) -> None:
        self.released.set()


@dataclass
class WebhookDelivery:
    """One POST of an event to the registered webhook, and what it answered."""

    event: JSONDict
    status: int | None  # None: the connection failed
    body: str = ""


class FakeZalo:
    """In-process fake of the Zalo Bot API over real HTTP on 127.0.0.1."""

    def __init__(self, token: str = TOKEN, *, empty_status: int = 408,
                 allow_local_webhook: bool = True, webhook_attempts: int = 5,
                 webhook_retry_delay: float = 0.2) -> None:
        self.token = token
        self.empty_status = empty_status
        self.allow_local_webhook = allow_local_webhook
        self.webhook_attempts = webhook_attempts
        self.webhook_retry_delay = webhook_retry_delay
        self.bot_id = zalo_id()
        self.webhook: JSONDict | None = None  # {"url", "secret_token", "updated_at"}
        self.deliveries: list[WebhookDelivery] = []
        self._runner: web.AppRunner | None = None
        self._port: int | None = None
        self._tick = asyncio.Event()
        self._calls: list[Call] = []
        self._events: list[JSONDict] = []  # waiting for getUpdates
        self._seen: dict[str, JSONDict] = {}  # every event ever made, by message_id
        self._users: dict[str, str] = {}  # user id -> display name
        self._messages: dict[str, list[Sent]] = {}
        self._blocked: set[str] = set()
        self._faults: dict[str, list[_Fault]] = {}
        self._holds: list[Hold] = []
        self._polls_waiting = 0
        self._posting: set[asyncio.Task[None]] = set()
        self._session: aiohttp.ClientSession | None = None
        self._closing = False
        self._ids = itertools.count(1)
        self._handlers: dict[str, Callable[[JSONDict], Any]] = {
            "getMe": self._get_me,
            "getUpdates": self._get_updates,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "sendMessage": self._send_message,
            "sendPhoto": self._send_photo,
            "sendChatAction": self._send_chat_action,
        }

    # ------------------------------------------------------------------ life cycle

    async def start(self) -> Self:
        app = web.Application()
        app.router.add_post("/bot{token}/{method}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self._port = int(self._runner.addresses[0][1])
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
        return self

    async def stop(self) -> None:
        self._closing = True
        self._notify()
        for task in list(self._posting):
            task.cancel()
        if self._session is not None:
            await self._session.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        """Value for ``zalo.base_url``: the token and the method are appended."""
        if self._port is None:
            raise RuntimeError("FakeZalo is not started")
        return f"http://127.0.0.1:{self._port}/bot"

    # ------------------------------------------------------------------ HTTP

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        method = request.match_info["method"]
        params = await self._params(request)
        call = Call(method, params)
        try:
            if request.match_info["token"] != self.token:
                raise ApiError(401, "Unauthorized: invalid bot token")
            response = await self._dispatch(method, params, call)
        except ApiError as err:
            call.status = err.http_status
            call.response = {"ok": False, "error_code": err.code, "description": err.description}
            response = web.json_response(call.response, status=err.http_status)
        self._calls.append(call)
        self._notify()
        return response

    async def _params(self, request: web.Request) -> JSONDict:
        if request.content_type == "application/json":
            raw = await request.read()
            try:
                body = json.loads(raw) if raw.strip() else {}
            except ValueError:
                body = None
            return body if isinstance(body, dict) else {"__malformed__": True}
        if request.can_read_body:
            return {k: v for k, v in (await request.post()).items() if isinstance(v, str)}
        return {}

    async def _dispatch(self, method: str, params: JSONDict, call: Call) -> web.StreamResponse:
        hold = next((h for h in self._holds if h.method == method and h.match(params)), None)
        if hold is not None:
            self._holds.remove(hold)
            hold.reached.set()
            self._notify()
            await hold.released.wait()
        faults = self._faults.get(method, [])
        fault = next((f for f in faults
                      if f.chat_id is None or f.chat_id == params.get("chat_id")), None)
        if fault is not None:
            fault.times -= 1
            if fault.times <= 0:
                faults.remove(fault)
            call.injected = True
            call.status = fault.http_status
            if fault.html:
                call.response = f"<html><body><h1>{fault.description}</h1></body></html>"
                return web.Response(text=call.response, status=fault.http_status,
                                    content_type="text/html")
            call.response = {"ok": False, "error_code": fault.code or fault.http_status,
                             "description": fault.description}
            return web.json_response(call.response, status=fault.http_status)
        if params.get("__malformed__"):
            raise ApiError(400, "Bad Request: body is not a JSON object")
        handler = self._handlers.get(method)
        if handler is None:
            raise ApiError(404, "Not Found: method not found")
        result = handler(params)
        if asyncio.iscoroutine(result):
            result = await result
        if isinstance(result, web.StreamResponse):  # the empty long poll
            return result
        call.response = {"ok": True} if result is None else {"ok": True, "result": result}
        return web.json_response(call.response)

    def _notify(self) -> None:
        tick, self._tick = self._tick, asyncio.Event()
        tick.set()

    # ------------------------------------------------------------------ methods

    def _get_me(self, params: JSONDict) -> JSONDict:
        return {"id": self.bot_id, "account_name": "bot.tusoi", "account_type": "BASIC",
                "can_join_groups": False, "display_name": "Bot tusoi"}

    async def _get_updates(self, params: JSONDict) -> Any:
        if self.webhook is not None:
            raise ApiError(409, "Conflict: a webhook is set; getUpdates is not available")
        try:
            timeout = float(params.get("timeout", 30))
        except (TypeError, ValueError):
            raise ApiError(400, "Bad Request: timeout") from None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        self._polls_waiting += 1
        self._notify()  # lets a test wait until the bot is parked in a long poll
        try:
            while not self._events and not self._closing:
                remaining = deadline - loop.time()
                if remaining <= 0:
                    break
                tick = self._tick
                try:
                    await asyncio.wait_for(tick.wait(), remaining)
                except TimeoutError:
                    break
        finally:
            self._polls_waiting -= 1
        if not self._events:
            body = {"ok": False, "error_code": 408, "description": "Request timeout"}
            return web.json_response(body, status=self.empty_status)
        return copy.deepcopy(self._events.pop(0))  # handed out: gone, no acknowledgement

    def _set_webhook(self, params: JSONDict) -> JSONDict:
        url, secret = params.get("url"), params.get("secret_token")
        if not isinstance(url, str) or not isinstance(secret, str):
            raise ApiError(400, "Bad Request: url and secret_token are required")
        if not 8 <= len(secret) <= 256:
            raise ApiError(400, "Bad Request: secret_token must be 8-256 characters")
        parts = urlsplit(url)
        local = (parts.hostname or "") in ("localhost", "127.0.0.1") or (
            parts.hostname or "").startswith(("10.", "192.168."))
        if local and not self.allow_local_webhook:
            raise ApiError(400, "Bad Request: url must be public")
        if parts.scheme != "https" and not (local and self.allow_local_webhook):
            raise ApiError(400, "Bad Request: url must use https")
        self.webhook = {"url": url, "secret_token": secret, "updated_at": self._now_ms()}
        return {"url": url, "updated_at": self.webhook["updated_at"]}

    def _delete_webhook(self, params: JSONDict) -> JSONDict:
        self.webhook = None
        return {"url": "", "updated_at": self._now_ms()}

    def _get_webhook_info(self, params: JSONDict) -> JSONDict:
        if self.webhook is None:
            raise ApiError(404, "Not Found: no webhook is set")
        return {"url": self.webhook["url"], "updated_at": self.webhook["updated_at"]}

    def _target(self, params: JSONDict) -> str:
        chat_id = params.get("chat_id")
        if not isinstance(chat_id, str) or chat_id not in self._users:
            raise ApiError(400, "Bad Request: chat not found")
        if chat_id in self._blocked:
            raise ApiError(403, "Forbidden: the user has blocked the bot")
        return chat_id

    @staticmethod
    def _text(value: Any, what: str, *, required: bool) -> str:
        if value is None and not required:
            return ""
        if not isinstance(value, str) or (required and not value):
            raise ApiError(400, f"Bad Request: {what} is required")
        if utf16_len(value) > TEXT_LIMIT:
            raise ApiError(400, f"Bad Request: {what} is longer than {TEXT_LIMIT} characters")
        return value

    def _send_message(self, params: JSONDict) -> JSONDict:
        chat_id = self._target(params)
        text = self._text(params.get("text"), "text", required=True)
        if params.get("parse_mode") not in (None, "markdown", "html"):
            raise ApiError(400, "Bad Request: parse_mode")
        sent = Sent("text", zalo_id(), text=text)
        self._messages.setdefault(chat_id, []).append(sent)
        return {"message_id": sent.message_id, "date": self._now_ms()}

    async def _send_photo(self, params: JSONDict) -> JSONDict:
        chat_id = self._target(params)
        caption = self._text(params.get("caption"), "caption", required=False)
        url = params.get("photo")
        if not isinstance(url, str) or urlsplit(url).scheme not in ("http", "https"):
            raise ApiError(400, "Bad Request: photo must be a URL")
        if self._session is None:
            raise ApiError(500, "fake not started", 500)
        try:  # Zalo's servers fetch the picture themselves
            async with self._session.get(url) as response:
                content = await response.read()
                ctype = response.headers.get("Content-Type", "")
                status = response.status
        except aiohttp.ClientError:
            raise ApiError(400, "Bad Request: photo could not be fetched") from None
        if status != 200 or not ctype.startswith("image/"):
            raise ApiError(400, f"Bad Request: photo URL answered {status} {ctype}")
        sent = Sent("photo", zalo_id(), text=caption, photo_url=url, photo=content,
                    content_type=ctype)
        self._messages.setdefault(chat_id, []).append(sent)
        return {"message_id": sent.message_id, "date": self._now_ms()}

    def _send_chat_action(self, params: JSONDict) -> None:
        self._target(params)
        if params.get("action") not in ("typing", "upload_photo"):
            raise ApiError(400, "Bad Request: action")

    @staticmethod
    def _now_ms() -> int:
        return int(time.time() * 1000)

    # ------------------------------------------------------------------ faults

    def fail_next(self, method: str, http_status: int = 500, *, code: int | None = None,
                  times: int = 1, chat_id: str | None = None, html: bool = False,
                  description: str | None = None) -> None:
        """The next ``times`` calls of ``method`` (to ``chat_id`` only, if given) fail.

        ``http_status=500`` (or 502, 503…): a server error, as JSON or, with ``html``, as a
        proxy's HTML page. ``http_status=200`` with ``code``: HTTP 200 carrying ``ok: false``.
        """
        text = description or ("Internal Server Error" if http_status >= 500
                               else f"injected error {code}")
        self._faults.setdefault(method, []).append(
            _Fault(http_status, code, text, times, chat_id, html))

    def hold(self, method: str, match: Callable[[JSONDict], bool] | None = None) -> Hold:
        hold = Hold(method, match or (lambda params: True))
        self._holds.append(hold)
        return hold

    def block(self, user_id: str) -> None:
        """The user blocks the bot: every send to them fails from now on."""
        self._blocked.add(user_id)

    def unblock(self, user_id: str) -> None:
        self._blocked.discard(user_id)

    # ------------------------------------------------------------------ user activity

    def user(self, name: str = "Thành viên") -> str:
        """A new Zalo user; returns their id (in a private chat, also the chat id)."""
        user_id = zalo_id()
        self._users[user_id] = name
        return user_id

    def event(self, user_id: str, event_name: str, **content: Any) -> JSONDict:
        """An event as the webhook documents it (``message`` inside ``result``)."""
        message: JSONDict = {
            "from": {"id": user_id, "display_name": self._users.get(user_id, "?"),
                     "is_bot": False},
            "chat": {"id": content.pop("chat_id", user_id),
                     "chat_type": content.pop("chat_type", "PRIVATE")},
            **{k: v for k, v in content.items() if v is not None},
            "message_id": zalo_id(),
            "date": self._now_ms() + next(self._ids),
        }
        self._users.setdefault(user_id, "?")
        return {"event_name": event_name, "message": message}

    def push(self, event: JSONDict, *, shape: str = "wrapped") -> JSONDict:
        """Deliver ``event``: POSTed to the webhook when one is set, else kept for getUpdates."""
        self._seen[event["message"]["message_id"]] = copy.deepcopy(event)
        if self.webhook is None:
            self._events.append({"event_name": event["event_name"],
                                 "message": copy.deepcopy(event["message"])})
            self._notify()
        else:
            task = asyncio.get_running_loop().create_task(self._post(event, shape))
            self._posting.add(task)
            task.add_done_callback(self._posting.discard)
        return copy.deepcopy(event)

    def user_text(self, user_id: str, text: str, *, shape: str = "wrapped") -> JSONDict:
        return self.push(self.event(user_id, "message.text.received", text=text), shape=shape)

    def user_image(self, user_id: str, caption: str = "") -> JSONDict:
        return self.push(self.event(user_id, "message.image.received",
                                    photo="https://photo.zdn.vn/fake.jpg", caption=caption or None))

    def user_sticker(self, user_id: str) -> JSONDict:
        return self.push(self.event(user_id, "message.sticker.received", sticker="sticker-1",
                                    url="https://zalo-api.zadn.vn/sticker.png"))

    def user_voice(self, user_id: str) -> JSONDict:
        return self.push(self.event(user_id, "message.voice.received",
                                    voice_url="https://voice.zdn.vn/fake.aac"))

    def user_unsupported(self, user_id: str) -> JSONDict:
        return self.push(self.event(user_id, "message.unsupported.received"))

    def redeliver(self, message_id: str, *, shape: str = "wrapped") -> JSONDict:
        """Deliver an event once more, with the same message_id."""
        return self.push(copy.deepcopy(self._seen[message_id]), shape=shape)

    @staticmethod
    def body(event: JSONDict, shape: str = "wrapped") -> JSONDict:
        """The webhook body for ``event`` in the documented (wrapped) or observed (bare) shape."""
        if shape == "bare":
            return copy.deepcopy(event)
        return {"ok": True, "result": copy.deepcopy(event)}

    async def _post(self, event: JSONDict, shape: str) -> None:
        """POST to the webhook, tried again while it fails (Zalo's own retry policy is not
        documented; this one is the fake's)."""
        for attempt in range(self.webhook_attempts):
            if self.webhook is None or self._session is None:
                return
            try:
                async with self._session.post(
                    self.webhook["url"], json=self.body(event, shape),
                    headers={"X-Bot-Api-Secret-Token": self.webhook["secret_token"]},
                ) as response:
                    delivery = WebhookDelivery(event, response.status, await response.text())
            except aiohttp.ClientError:
                delivery = WebhookDelivery(event, None)
            self.deliveries.append(delivery)
            self._notify()
            if delivery.status is not None and 200 <= delivery.status < 300:
                return
            if attempt + 1 < self.webhook_attempts:
                await asyncio.sleep(self.webhook_retry_delay * (attempt + 1))

    # ------------------------------------------------------------------ reading

    def calls(self, method: str | None = None) -> list[Call]:
        return [c for c in self._calls if method is None or c.method == method]

    def sent(self, chat_id: str) -> list[Sent]:
        return list(self._messages.get(chat_id, []))

    def texts(self, chat_id: str) -> list[str]:
        return [s.text for s in self.sent(chat_id) if s.kind == "text"]

    def photos(self, chat_id: str) -> list[Sent]:
        return [s for s in self.sent(chat_id) if s.kind == "photo"]

    @property
    def polls_waiting(self) -> int:
        return self._polls_waiting

    @property
    def pending_events(self) -> int:
        return len(self._events)

    async def wait_for(self, predicate: Callable[[], Any], timeout: float = 10,
                       every: float = 0.5) -> Any:
        """Until ``predicate()`` is truthy: re-checked after every call and delivery, and at
        least every ``every`` seconds (for what the fake cannot see, like a database)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            tick = self._tick
            value = predicate()
            if value:
                return value
            remaining = deadline - loop.time()
            if remaining <= 0:
                recent = [f"  {c.method} -> {c.status} {str(c.params)[:120]}"
                          for c in self._calls if c.method != "getUpdates"][-12:]
                raise AssertionError(f"FakeZalo.wait_for timed out after {timeout}s\n"
                                     + "\n".join(recent))
            try:
                await asyncio.wait_for(tick.wait(), min(remaining, every))
            except TimeoutError:
                pass
