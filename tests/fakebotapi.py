"""A fake Telegram Bot API HTTP server for tests.

The REAL python-telegram-bot stack (``Application``, ``Updater``, ``HTTPXRequest``) talks real
HTTP to this server on 127.0.0.1, so tests exercise the same code paths as production without
ever touching a Telegram server.

Typical use::

    async with FakeBotApi() as api:
        app = (
            ApplicationBuilder()
            .token("123:ABC")
            .base_url(api.base_url)
            .base_file_url(api.base_file_url)
            .build()
        )
        ...
        api.user_text(42, "/start")
        [reply] = await api.wait_for_reply(42, after_count=0)

All state lives in the event loop that runs the server; call the ``user_*`` helpers from that
loop (i.e. from the async test itself).

How PTB 22.8 encodes requests (``HTTPXRequest.do_request``): every call is a POST whose body is
built by httpx from ``RequestData.json_parameters`` (``data=``) and, when files are uploaded,
``RequestData.multipart_data`` (``files=``). ``json_parameters`` maps each parameter name to a
*string*: ``str`` values are passed through unchanged, everything else (ints, bools, lists,
dicts such as ``reply_markup``) is ``json.dumps``-ed; ``None`` values are left out. Without files
httpx sends ``application/x-www-form-urlencoded`` (an empty body when there are no parameters);
with files it sends ``multipart/form-data`` where the plain parameters are text parts and each
file is a part with a filename (the part name is the parameter name, e.g. ``document``, or the
``attach://`` name for media groups). This server also accepts ``application/json`` bodies and
query-string parameters, like the real Bot API.
"""

from __future__ import annotations

import asyncio
import contextvars
import copy
import itertools
import json
import re
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Self

from aiohttp import web

JSONDict = dict[str, Any]

#: Parameters whose values are free text (or string ids) and must never be JSON-decoded, even
#: when they look like JSON (e.g. a message text of ``"42"`` or ``"true"``).
STRING_PARAMS: frozenset[str] = frozenset(
    {
        "text",
        "caption",
        "parse_mode",
        "callback_query_id",
        "inline_message_id",
        "file_id",
        "description",
        "short_description",
        "language_code",
        "action",
        "url",
        "title",
        "name",
        "query",
        "message_effect_id",
        "business_connection_id",
        "emoji",
        "first_name",
        "last_name",
        "username",
        "question",
        "address",
        "secret_token",
        "ip_address",
        "sticker",
        "document",
        "photo",
        "audio",
        "video",
        "voice",
        "animation",
        "thumbnail",
        "certificate",
        "switch_pm_text",
        "switch_pm_parameter",
        "next_offset",
        "start_parameter",
        "payload",
        "provider_token",
        "currency",
    }
)

#: HTML tags Telegram accepts with ``parse_mode="HTML"``.
HTML_TAGS: frozenset[str] = frozenset(
    {
        "b",
        "strong",
        "i",
        "em",
        "u",
        "ins",
        "s",
        "strike",
        "del",
        "span",
        "tg-spoiler",
        "a",
        "tg-emoji",
        "code",
        "pre",
        "blockquote",
    }
)
_HTML_TOKEN = re.compile(
    r"<(?P<close>/?)(?P<tag>[A-Za-z][A-Za-z0-9-]*)(?P<attrs>(?:\s[^<>]*)?)>"
    r"|&(?P<ent>lt|gt|amp|quot|#[0-9]+|#x[0-9A-Fa-f]+);"
    r"|(?P<lt><)"
)
_HTML_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}

#: The request being handled (each aiohttp handler runs in its own task, so this is per request).
_current_request: contextvars.ContextVar[web.Request] = contextvars.ContextVar("_current_request")

MAX_TEXT_LEN = 4096
MAX_CAPTION_LEN = 1024
MAX_CALLBACK_DATA_BYTES = 64

TOO_OLD_CALLBACK = (
    "Bad Request: query is too old and response timeout expired or query ID is invalid"
)
NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup "
    "are exactly the same as a current content and reply markup of the message"
)


class ApiError(Exception):
    """Raise inside a method handler to answer a Bot-API-style error."""

    def __init__(self, status: int, description: str, parameters: JSONDict | None = None):
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters

    def payload(self) -> JSONDict:
        """The JSON body Telegram would send for this error."""
        body: JSONDict = {"ok": False, "error_code": self.status, "description": self.description}
        if self.parameters:
            body["parameters"] = self.parameters
        return body


@dataclass(frozen=True)
class UploadedFile:
    """One file part of a multipart request (what the bot uploaded)."""

    filename: str
    content: bytes
    content_type: str


#: Uploaded files of one request by multipart part name (``document``, ``photo``, ...).
Files = dict[str, UploadedFile]

#: Signature of a custom method handler registered with :meth:`FakeBotApi.on`. It receives the
#: decoded params and uploaded files and returns the ``result`` value (or raises ``ApiError``).
MethodHandler = Callable[[JSONDict, Files], Any]


@dataclass
class Call:
    """One recorded Bot API call. Unpacks as ``method, params, files``.

    ``status`` is the HTTP status answered and ``response`` the full JSON body sent back.
    """

    method: str
    params: JSONDict
    files: Files
    status: int = 200
    response: JSONDict = field(default_factory=dict)
    injected: bool = False  # the error was asked for by the test (``fail_next``)

    def __iter__(self) -> Iterator[Any]:
        return iter((self.method, self.params, self.files))


@dataclass(frozen=True)
class Document:
    """A document the bot sent with ``sendDocument``."""

    filename: str
    content: bytes
    caption: str | None
    message_id: int
    file_id: str
    photo: bool = False  # sent with ``sendPhoto``


@dataclass
class _StoredFile:
    file_id: str
    file_unique_id: str
    file_path: str
    content: bytes


@dataclass
class _Fault:
    status: int
    description: str
    parameters: JSONDict | None
    times: int
    chat_id: int | None = None  # only calls to this chat; None: any call of the method


class InjectedError(ApiError):
    """An error answered because a test asked for it (``fail_next``), not because the call
    was wrong: ``Call.injected`` tells them apart."""


@dataclass
class Hold:
    """A call kept unanswered until :meth:`release` (see :meth:`FakeBotApi.hold`).

    ``reached`` is set when the call arrives. Once released, the call is carried out as
    usual, even if the client has gone away meanwhile (Telegram does not know a bot died).
    """

    method: str
    match: Callable[[JSONDict], bool]
    reached: asyncio.Event = field(default_factory=asyncio.Event)
    released: asyncio.Event = field(default_factory=asyncio.Event)
    params: JSONDict = field(default_factory=dict)

    def release(self) -> None:
        self.released.set()


@dataclass
class _QueuedUpdate:
    update: JSONDict
    forced: bool = False  # redelivered: hand out once even if below the confirmed offset
    delivered: bool = False


def _connected(request: web.Request) -> bool:
    """Whether the client of ``request`` is still waiting for the answer."""
    return request.transport is not None and not request.transport.is_closing()


def decode_value(name: str, raw: str) -> Any:
    """Decode one form value the way PTB encoded it: JSON for non-strings, raw for strings."""
    if name in STRING_PARAMS:
        return raw
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def utf16_len(text: str) -> int:
    """Length of ``text`` in UTF-16 code units, the unit Telegram uses for entities/limits."""
    return len(text.encode("utf-16-le")) // 2


def parse_html(text: str) -> str:
    """Return what the user sees for an HTML-formatted text; raise ``ApiError`` like Telegram.

    Tags are validated (supported, properly nested, closed) and stripped; the entities
    ``&lt; &gt; &amp; &quot;`` and numeric ones are decoded. A bare ``<`` is an error.
    """
    out: list[str] = []
    stack: list[str] = []
    pos = 0
    for m in _HTML_TOKEN.finditer(text):
        out.append(text[pos : m.start()])
        pos = m.end()
        offset = len(text[: m.start()].encode())
        if m.group("lt"):
            raise ApiError(
                400,
                "Bad Request: can't parse entities: Unexpected end of name token "
                f"at byte offset {offset}",
            )
        if m.group("ent"):
            ent = m.group("ent")
            if ent.startswith("#x"):
                out.append(chr(int(ent, 0)))
            elif ent.startswith("#"):
                out.append(chr(int(ent[1:])))
            else:
                out.append(_HTML_ENTITIES[ent])
            continue
        tag = m.group("tag").lower()
        if tag not in HTML_TAGS:
            kind = "end" if m.group("close") else "start"
            raise ApiError(
                400,
                f'Bad Request: can\'t parse entities: Unsupported {kind} tag "{tag}" '
                f"at byte offset {offset}",
            )
        if not m.group("close"):
            stack.append(tag)
        elif not stack or stack[-1] != tag:
            raise ApiError(
                400,
                f'Bad Request: can\'t parse entities: Unmatched end tag at byte offset {offset}, '
                f'expected "</{stack[-1] if stack else ""}>", found "</{tag}>"',
            )
        else:
            stack.pop()
    out.append(text[pos:])
    if stack:
        raise ApiError(
            400,
            "Bad Request: can't parse entities: Can't find end tag corresponding to start "
            f'tag "{stack[-1]}"',
        )
    return "".join(out)


class FakeBotApi:
    """In-process fake of the Telegram Bot API served over real HTTP on 127.0.0.1."""

    def __init__(self, bot_first_name: str = "tusoi", bot_username: str = "tusoi_test_bot"):
        self.token: str | None = None  # the token of the last request, set by the bot
        self._bot_first_name = bot_first_name
        self._bot_username = bot_username
        self._bot_id = 123
        self._runner: web.AppRunner | None = None
        self._port: int | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closing = False
        self._tick = asyncio.Event()

        self._calls: list[Call] = []
        self._updates: list[_QueuedUpdate] = []
        self._delivered: dict[int, JSONDict] = {}  # every update ever queued, by update_id
        self._update_ids = itertools.count(1)
        self._callback_ids = itertools.count(1)
        self._file_ids = itertools.count(1)
        self._next_message_id: dict[int, int] = {}
        self._messages: dict[int, list[JSONDict]] = {}  # chat_id -> all messages, in order
        self._deleted: set[tuple[int, int]] = set()
        self._chats: dict[int, JSONDict] = {}
        self._users: dict[int, JSONDict] = {}
        self._files: dict[str, _StoredFile] = {}
        self._documents: dict[int, list[Document]] = {}
        self._reply_keyboards: dict[int, JSONDict | None] = {}
        self._commands: dict[str, list[JSONDict]] = {}
        self._descriptions: dict[str, str] = {}
        self._faults: dict[str, list[_Fault]] = {}
        self._holds: list[Hold] = []
        self._issued_callbacks: set[str] = set()
        self._expired_callbacks: set[str] = set()
        self._blocked: set[int] = set()
        self._custom: dict[str, MethodHandler] = {}
        self._parked: dict[int, web.Request] = {}  # id(request) -> request
        self.webhook_deleted = False

        self._handlers: dict[str, MethodHandler] = {
            "getMe": self._get_me,
            "getUpdates": self._get_updates,
            "deleteWebhook": self._delete_webhook,
            "setMyCommands": self._set_my_commands,
            "getMyCommands": self._get_my_commands,
            "deleteMyCommands": self._delete_my_commands,
            "setMyDescription": self._set_description("description"),
            "setMyShortDescription": self._set_description("short_description"),
            "sendMessage": self._send_message,
            "editMessageText": self._edit_message_text,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "answerCallbackQuery": self._answer_callback_query,
            "sendDocument": self._send_document,
            "sendPhoto": self._send_photo,
            "sendChatAction": self._ok,
            "getFile": self._get_file,
            "deleteMessage": self._delete_message,
            "close": self._ok,
            "logOut": self._ok,
        }

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> FakeBotApi:
        """Start serving on 127.0.0.1 on a free port."""
        self._loop = asyncio.get_running_loop()
        app = web.Application(client_max_size=60 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_api)
        app.router.add_get("/file/bot{token}/{path:.+}", self._handle_file)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self._port = int(self._runner.addresses[0][1])
        return self

    async def stop(self) -> None:
        """Wake pending long polls (they answer an empty list) and shut the server down."""
        self._closing = True
        self._notify()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def port(self) -> int:
        """The TCP port the server listens on."""
        if self._port is None:
            raise RuntimeError("FakeBotApi is not started")
        return self._port

    @property
    def base_url(self) -> str:
        """Value for ``ApplicationBuilder().base_url(...)``; PTB appends the token."""
        return f"http://127.0.0.1:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        """Value for ``ApplicationBuilder().base_file_url(...)``; PTB appends the token."""
        return f"http://127.0.0.1:{self.port}/file/bot"

    @property
    def bot_id(self) -> int:
        """The bot's user id (the numeric prefix of the token once the bot has called us)."""
        return self._bot_id

    @property
    def bot_user(self) -> JSONDict:
        """The bot as a ``User`` object (the ``from`` of every bot message)."""
        return {
            "id": self._bot_id,
            "is_bot": True,
            "first_name": self._bot_first_name,
            "username": self._bot_username,
        }

    @property
    def get_me_result(self) -> JSONDict:
        """What ``getMe`` answers."""
        return {
            **self.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    # ------------------------------------------------------------------ HTTP plumbing

    async def _handle_api(self, request: web.Request) -> web.Response:
        token = request.match_info["token"]
        method = request.match_info["method"]
        self.token = token
        _current_request.set(request)
        prefix = token.split(":", 1)[0]
        if prefix.isdigit():
            self._bot_id = int(prefix)
        params, files = await self._parse_request(request)
        call = Call(method=method, params=params, files=files)
        body: JSONDict
        try:
            body = {"ok": True, "result": await self._dispatch(method, params, files)}
            status = 200
        except ApiError as err:
            body, status = err.payload(), err.status
            call.injected = isinstance(err, InjectedError)
        except (ValueError, TypeError, KeyError) as err:  # malformed params, like Telegram's 400
            body, status = ApiError(400, f"Bad Request: {err!r}").payload(), 400
        call.status, call.response = status, body
        self._calls.append(call)
        self._notify()
        return web.json_response(body, status=status)

    async def _parse_request(
        self, request: web.Request
    ) -> tuple[JSONDict, Files]:
        params: JSONDict = {k: decode_value(k, v) for k, v in request.query.items()}
        files: Files = {}
        ctype = request.content_type
        if ctype == "application/json":
            raw = await request.read()
            if raw.strip():
                params.update(json.loads(raw))
        elif ctype == "multipart/form-data":
            reader = await request.multipart()
            async for part in reader:
                name = part.name or ""
                if part.filename is not None:
                    content = bytes(await part.read(decode=True))
                    files[name] = UploadedFile(
                        filename=part.filename,
                        content=content,
                        content_type=part.headers.get("Content-Type", "application/octet-stream"),
                    )
                else:
                    params[name] = decode_value(name, await part.text())
        elif request.can_read_body:
            form = await request.post()
            for key, value in form.items():
                if isinstance(value, str):
                    params[key] = decode_value(key, value)
        return params, files

    async def _dispatch(self, method: str, params: JSONDict, files: Files) -> Any:
        hold = next((h for h in self._holds if h.method == method and h.match(params)), None)
        if hold is not None:
            self._holds.remove(hold)
            hold.params = copy.deepcopy(params)
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
            raise InjectedError(fault.status, fault.description, fault.parameters)
        handler = self._custom.get(method) or self._handlers.get(method)
        if handler is None:
            raise ApiError(404, "Not Found: method not found")
        result = handler(params, files)
        if isinstance(result, Awaitable):
            result = await result
        return result

    async def _handle_file(self, request: web.Request) -> web.Response:
        path = request.match_info["path"]
        for stored in self._files.values():
            if stored.file_path == path:
                return web.Response(body=stored.content)
        return web.json_response(
            {"ok": False, "error_code": 404, "description": "Not Found"}, status=404
        )

    def _notify(self) -> None:
        """Wake everybody waiting in ``wait_for`` or a long poll."""
        if self._loop is not None and self._loop.is_running():
            try:
                running = asyncio.get_running_loop()
            except RuntimeError:
                running = None
            if running is not self._loop:
                self._loop.call_soon_threadsafe(self._notify_now)
                return
        self._notify_now()

    def _notify_now(self) -> None:
        tick, self._tick = self._tick, asyncio.Event()
        tick.set()

    # ------------------------------------------------------------------ chats and messages

    def _user(self, user_id: int, first_name: str | None = None) -> JSONDict:
        user = self._users.get(user_id)
        if user is None:
            user = {
                "id": user_id,
                "is_bot": False,
                "first_name": first_name or f"User{user_id}",
                "language_code": "vi",
            }
            self._users[user_id] = user
        elif first_name:
            user["first_name"] = first_name
        return user

    def _chat(
        self, chat_id: int, chat_type: str | None = None, title: str | None = None
    ) -> JSONDict:
        chat = self._chats.get(chat_id)
        if chat is None:
            if chat_type is None:
                chat_type = "private" if chat_id > 0 else "group"
            chat = {"id": chat_id, "type": chat_type}
            if chat_type == "private":
                user = self._user(chat_id)
                chat["first_name"] = user["first_name"]
            else:
                chat["title"] = title or f"Group {chat_id}"
            self._chats[chat_id] = chat
        elif title and chat["type"] != "private":
            chat["title"] = title
        return chat

    def _new_message(self, chat_id: int, sender: JSONDict, **content: Any) -> JSONDict:
        message_id = self._next_message_id.get(chat_id, 1)
        self._next_message_id[chat_id] = message_id + 1
        message = {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": copy.deepcopy(self._chat(chat_id)),
            "from": copy.deepcopy(sender),
            **{k: v for k, v in content.items() if v is not None},
        }
        self._messages.setdefault(chat_id, []).append(message)
        return message

    def _find_message(self, chat_id: int, message_id: int) -> JSONDict | None:
        for message in self._messages.get(chat_id, []):
            if message["message_id"] == message_id:
                return message
        return None

    def _check_target(self, chat_id: Any) -> int:
        if not isinstance(chat_id, int):
            raise ApiError(400, "Bad Request: chat not found")
        if chat_id in self._blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        return chat_id

    def _formatted(self, text: Any, parse_mode: Any, limit: int, what: str) -> str:
        text = "" if text is None else str(text)
        if parse_mode == "HTML":
            text = parse_html(text)
        if utf16_len(text) > limit:
            raise ApiError(400, f"Bad Request: {what} is too long")
        return text

    def _inline_markup(self, chat_id: int, markup: Any) -> JSONDict | None:
        """Validate a reply_markup; return it if inline (Telegram only echoes inline ones)."""
        if not isinstance(markup, dict):
            return None
        if "inline_keyboard" in markup:
            for row in markup["inline_keyboard"]:
                for button in row:
                    data = button.get("callback_data")
                    if data is not None and not (
                        0 < len(str(data).encode()) <= MAX_CALLBACK_DATA_BYTES
                    ):
                        raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
            return markup
        if "keyboard" in markup:
            self._reply_keyboards[chat_id] = markup
        elif markup.get("remove_keyboard"):
            self._reply_keyboards[chat_id] = None
        return None

    # ------------------------------------------------------------------ method handlers

    def _ok(self, params: JSONDict, files: Files) -> bool:
        return True

    def _get_me(self, params: JSONDict, files: Files) -> JSONDict:
        return self.get_me_result

    async def _get_updates(self, params: JSONDict, files: Files) -> list[JSONDict]:
        offset = int(params.get("offset") or 0)
        limit = max(1, min(100, int(params.get("limit") or 100)))
        timeout = float(params.get("timeout") or 0)
        deadline = asyncio.get_running_loop().time() + timeout
        request = _current_request.get()
        while True:
            if offset < 0:  # Telegram: only the last -offset updates are kept
                self._updates = self._updates[offset:]
                offset = 0
            self._updates = [
                q
                for q in self._updates
                if not (q.update["update_id"] < offset and (not q.forced or q.delivered))
            ]
            if self._updates or self._closing:
                break
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                break
            self._parked[id(request)] = request
            self._notify()  # lets tests wait until the bot is parked in a long poll
            tick = self._tick
            try:
                await asyncio.wait_for(tick.wait(), remaining)
            except TimeoutError:
                break
            finally:
                self._parked.pop(id(request), None)
        if not _connected(request):
            return []  # the client gave up (e.g. Updater.stop()): deliver nothing to nobody
        batch = self._updates[:limit]
        for queued in batch:
            queued.delivered = True
        return [copy.deepcopy(q.update) for q in batch]

    def _delete_webhook(self, params: JSONDict, files: Files) -> bool:
        self.webhook_deleted = True
        if params.get("drop_pending_updates"):
            self._updates.clear()
        return True

    @staticmethod
    def _scope_key(params: JSONDict) -> str:
        return json.dumps([params.get("scope"), params.get("language_code")], sort_keys=True)

    def _set_my_commands(self, params: JSONDict, files: Files) -> bool:
        self._commands[self._scope_key(params)] = list(params.get("commands") or [])
        return True

    def _get_my_commands(self, params: JSONDict, files: Files) -> list[JSONDict]:
        return copy.deepcopy(self._commands.get(self._scope_key(params), []))

    def _delete_my_commands(self, params: JSONDict, files: Files) -> bool:
        self._commands.pop(self._scope_key(params), None)
        return True

    def _set_description(self, key: str) -> MethodHandler:
        def handler(params: JSONDict, files: Files) -> bool:
            self._descriptions[key] = str(params.get(key) or "")
            return True

        return handler

    def _send_message(self, params: JSONDict, files: Files) -> JSONDict:
        chat_id = self._check_target(params.get("chat_id"))
        text = self._formatted(
            params.get("text"), params.get("parse_mode"), MAX_TEXT_LEN, "message"
        )
        if not text.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        markup = self._inline_markup(chat_id, params.get("reply_markup"))
        message = self._new_message(chat_id, self.bot_user, text=text, reply_markup=markup)
        return copy.deepcopy(message)

    def _message_to_edit(self, params: JSONDict) -> JSONDict | None:
        if params.get("inline_message_id"):
            return None
        chat_id = self._check_target(params.get("chat_id"))
        message = self._find_message(chat_id, int(params.get("message_id") or 0))
        if (
            message is None
            or (chat_id, message["message_id"]) in self._deleted
            or message["from"]["id"] != self._bot_id
        ):
            raise ApiError(400, "Bad Request: message to edit not found")
        return message

    def _edit_message_text(self, params: JSONDict, files: Files) -> Any:
        message = self._message_to_edit(params)
        if message is None:
            return True
        if "text" not in message:
            raise ApiError(400, "Bad Request: there is no text in the message to edit")
        text = self._formatted(
            params.get("text"), params.get("parse_mode"), MAX_TEXT_LEN, "message"
        )
        if not text.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        markup = self._inline_markup(message["chat"]["id"], params.get("reply_markup"))
        if text == message["text"] and markup == message.get("reply_markup"):
            raise ApiError(400, NOT_MODIFIED)
        message["text"] = text
        self._set_markup(message, markup)
        message["edit_date"] = int(time.time())
        return copy.deepcopy(message)

    def _edit_message_reply_markup(self, params: JSONDict, files: Files) -> Any:
        message = self._message_to_edit(params)
        if message is None:
            return True
        markup = self._inline_markup(message["chat"]["id"], params.get("reply_markup"))
        if markup == message.get("reply_markup"):
            raise ApiError(400, NOT_MODIFIED)
        self._set_markup(message, markup)
        message["edit_date"] = int(time.time())
        return copy.deepcopy(message)

    @staticmethod
    def _set_markup(message: JSONDict, markup: JSONDict | None) -> None:
        if markup is None:
            message.pop("reply_markup", None)
        else:
            message["reply_markup"] = markup

    def _answer_callback_query(self, params: JSONDict, files: Files) -> bool:
        query_id = str(params.get("callback_query_id"))
        if query_id in self._expired_callbacks or query_id not in self._issued_callbacks:
            raise ApiError(400, TOO_OLD_CALLBACK)
        return True

    def _send_document(self, params: JSONDict, files: Files) -> JSONDict:
        chat_id = self._check_target(params.get("chat_id"))
        caption = params.get("caption")
        if caption is not None:
            caption = self._formatted(caption, params.get("parse_mode"), MAX_CAPTION_LEN, "caption")
        upload = files.get("document")
        if upload is not None:
            stored = self._store_file(upload.content, "documents", upload.filename)
            filename, mime, content = upload.filename, upload.content_type, upload.content
        else:
            ref = params.get("document")
            existing = self._files.get(str(ref))
            if existing is None:
                raise ApiError(400, "Bad Request: wrong file identifier/HTTP URL specified")
            stored, content = existing, existing.content
            filename, mime = existing.file_path.rsplit("/", 1)[-1], "application/octet-stream"
        document = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_name": filename,
            "mime_type": mime,
            "file_size": len(content),
        }
        markup = self._inline_markup(chat_id, params.get("reply_markup"))
        message = self._new_message(
            chat_id, self.bot_user, document=document, caption=caption, reply_markup=markup
        )
        self._documents.setdefault(chat_id, []).append(
            Document(filename, content, caption, message["message_id"], stored.file_id)
        )
        return copy.deepcopy(message)

    def _send_photo(self, params: JSONDict, files: Files) -> JSONDict:
        """A picture uploaded with the call; kept with the documents (``photo=True``)."""
        chat_id = self._check_target(params.get("chat_id"))
        caption = params.get("caption")
        if caption is not None:
            caption = self._formatted(caption, params.get("parse_mode"), MAX_CAPTION_LEN, "caption")
        upload = files.get("photo")
        if upload is None:
            raise ApiError(400, "Bad Request: there is no photo in the request")
        if not upload.content.startswith((b"\x89PNG", b"\xff\xd8")):
            raise ApiError(400, "Bad Request: IMAGE_PROCESS_FAILED")
        stored = self._store_file(upload.content, "photos", upload.filename)
        photo = [{"file_id": stored.file_id, "file_unique_id": stored.file_unique_id,
                  "width": 1080, "height": 720, "file_size": len(upload.content)}]
        markup = self._inline_markup(chat_id, params.get("reply_markup"))
        message = self._new_message(chat_id, self.bot_user, photo=photo, caption=caption,
                                    reply_markup=markup)
        self._documents.setdefault(chat_id, []).append(
            Document(upload.filename, upload.content, caption, message["message_id"],
                     stored.file_id, photo=True))
        return copy.deepcopy(message)

    def _get_file(self, params: JSONDict, files: Files) -> JSONDict:
        stored = self._files.get(str(params.get("file_id")))
        if stored is None:
            raise ApiError(400, "Bad Request: invalid file_id")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.content),
            "file_path": stored.file_path,
        }

    def _delete_message(self, params: JSONDict, files: Files) -> bool:
        chat_id = self._check_target(params.get("chat_id"))
        message_id = int(params.get("message_id") or 0)
        if self._find_message(chat_id, message_id) is None or self.is_deleted(chat_id, message_id):
            raise ApiError(400, "Bad Request: message to delete not found")
        self._deleted.add((chat_id, message_id))
        return True

    def _store_file(self, content: bytes, folder: str, filename: str | None = None) -> _StoredFile:
        n = next(self._file_ids)
        suffix = ""
        if filename and "." in filename:
            suffix = "." + filename.rsplit(".", 1)[-1]
        stored = _StoredFile(
            file_id=f"FILE{n:06d}-{folder}",
            file_unique_id=f"U{n:06d}",
            file_path=f"{folder}/file_{n}{suffix}",
            content=content,
        )
        self._files[stored.file_id] = stored
        return stored

    # ------------------------------------------------------------------ configuration

    def on(self, method: str, handler: MethodHandler) -> None:
        """Answer ``method`` with ``handler(params, files)`` (sync or async) instead of the default.

        Use it for methods this fake does not implement; raise ``ApiError`` to answer an error.
        """
        self._custom[method] = handler

    def fail_next(
        self,
        method: str,
        status: int = 429,
        retry_after: int = 1,
        times: int = 1,
        description: str | None = None,
        chat_id: int | None = None,
    ) -> None:
        """Make the next ``times`` calls of ``method`` (to ``chat_id`` only, if given) fail
        like Telegram would.

        429 -> "Too Many Requests: retry after N" with ``parameters.retry_after`` (PTB raises
        ``RetryAfter``); 403 -> "Forbidden: bot was blocked by the user"; 400 -> "Bad Request";
        5xx -> "Internal Server Error"/"Bad Gateway" (PTB raises ``NetworkError``).
        """
        parameters: JSONDict | None = None
        if status == 429:
            default = f"Too Many Requests: retry after {retry_after}"
            parameters = {"retry_after": retry_after}
        elif status == 403:
            default = "Forbidden: bot was blocked by the user"
        elif status == 400:
            default = "Bad Request: injected failure"
        elif status == 502:
            default = "Bad Gateway"
        elif status >= 500:
            default = "Internal Server Error"
        else:
            default = f"Error {status}"
        self._faults.setdefault(method, []).append(
            _Fault(status, description or default, parameters, times, chat_id)
        )

    def hold(self, method: str, match: Callable[[JSONDict], bool] | None = None) -> Hold:
        """Keep the next call of ``method`` whose params satisfy ``match`` unanswered until
        the returned :class:`Hold` is released: a request in flight, for kill tests."""
        hold = Hold(method, match or (lambda params: True))
        self._holds.append(hold)
        return hold

    def expire_callback(self, callback_query_id: str | None = None) -> None:
        """Make ``answerCallbackQuery`` for this id (or, if None, every id issued so far) fail
        with 400 "query is too old...", as Telegram does after a restart or a slow answer."""
        if callback_query_id is None:
            self._expired_callbacks |= self._issued_callbacks
        else:
            self._expired_callbacks.add(str(callback_query_id))

    def block_user(self, user_id: int) -> None:
        """From now on every send to this chat answers 403 "bot was blocked by the user"."""
        self._blocked.add(user_id)

    def unblock_user(self, user_id: int) -> None:
        """Undo :meth:`block_user`."""
        self._blocked.discard(user_id)

    # ------------------------------------------------------------------ injecting user activity

    def push_update(self, update: JSONDict) -> JSONDict:
        """Queue a raw update; an ``update_id`` is assigned if missing. Returns the update."""
        update = copy.deepcopy(update)
        if "update_id" not in update:
            update["update_id"] = next(self._update_ids)
        self._delivered[update["update_id"]] = update
        if "callback_query" in update:
            self._issued_callbacks.add(str(update["callback_query"]["id"]))
        self._updates.append(_QueuedUpdate(update))
        self._notify()
        return copy.deepcopy(update)

    def redeliver(self, update_id: int) -> JSONDict:
        """Deliver an already queued update once more with the SAME update_id (duplicate
        delivery), even if the bot already confirmed it."""
        update = self._delivered.get(update_id)
        if update is None:
            raise KeyError(f"no update with update_id={update_id} was ever pushed")
        self._updates.append(_QueuedUpdate(copy.deepcopy(update), forced=True))
        self._notify()
        return copy.deepcopy(update)

    def _user_message(
        self,
        user_id: int,
        chat_id: int | None,
        first_name: str | None,
        chat_type: str | None,
        title: str | None = None,
        **content: Any,
    ) -> JSONDict:
        sender = self._user(user_id, first_name)
        chat_id = user_id if chat_id is None else chat_id
        self._chat(chat_id, chat_type, title)
        message = self._new_message(chat_id, sender, **content)
        return self.push_update(
            {"update_id": next(self._update_ids), "message": copy.deepcopy(message)}
        )

    def user_text(
        self,
        user_id: int,
        text: str,
        chat_id: int | None = None,
        first_name: str | None = None,
        chat_type: str = "private",
    ) -> JSONDict:
        """A user sends ``text``; a leading ``/command`` gets a ``bot_command`` entity."""
        entities = None
        if text.startswith("/"):
            command = text.split(maxsplit=1)[0]
            entities = [{"type": "bot_command", "offset": 0, "length": utf16_len(command)}]
        return self._user_message(
            user_id, chat_id, first_name, chat_type, text=text, entities=entities
        )

    def group_text(
        self,
        chat_id: int,
        user_id: int,
        text: str,
        chat_type: str = "group",
        title: str | None = None,
    ) -> JSONDict:
        """A user writes ``text`` in a group chat (negative ``chat_id`` by convention)."""
        entities = None
        if text.startswith("/"):
            command = text.split(maxsplit=1)[0]
            entities = [{"type": "bot_command", "offset": 0, "length": utf16_len(command)}]
        return self._user_message(
            user_id, chat_id, None, chat_type, title, text=text, entities=entities
        )

    def user_press(
        self, user_id: int, message_id: int, data: str, chat_id: int | None = None
    ) -> JSONDict:
        """A user presses an inline button with ``data`` under the bot message ``message_id``."""
        chat_id = user_id if chat_id is None else chat_id
        message = self._find_message(chat_id, message_id)
        if message is None:
            raise KeyError(f"no message {message_id} in chat {chat_id}")
        query_id = str(next(self._callback_ids) * 1000 + user_id % 1000)
        return self.push_update(
            {
                "update_id": next(self._update_ids),
                "callback_query": {
                    "id": query_id,
                    "from": copy.deepcopy(self._user(user_id)),
                    "message": copy.deepcopy(message),
                    "chat_instance": f"ci{chat_id}",
                    "data": data,
                },
            }
        )

    def user_sticker(
        self, user_id: int, emoji: str = "👍", chat_id: int | None = None
    ) -> JSONDict:
        """A user sends a sticker."""
        stored = self._store_file(b"RIFF-webp-sticker", "stickers", "sticker.webp")
        sticker = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "emoji": emoji,
        }
        return self._user_message(user_id, chat_id, None, None, sticker=sticker)

    def user_photo(
        self,
        user_id: int,
        content: bytes = b"\xff\xd8fake-jpeg",
        caption: str | None = None,
        chat_id: int | None = None,
    ) -> JSONDict:
        """A user sends a photo (two sizes, both downloadable with ``content``)."""
        sizes = []
        for width, height in ((90, 67), (800, 600)):
            stored = self._store_file(content, "photos", "photo.jpg")
            sizes.append(
                {
                    "file_id": stored.file_id,
                    "file_unique_id": stored.file_unique_id,
                    "width": width,
                    "height": height,
                    "file_size": len(content),
                }
            )
        return self._user_message(user_id, chat_id, None, None, photo=sizes, caption=caption)

    def user_voice(
        self,
        user_id: int,
        duration: int = 3,
        content: bytes = b"OggS-fake",
        chat_id: int | None = None,
    ) -> JSONDict:
        """A user sends a voice note."""
        stored = self._store_file(content, "voice", "voice.oga")
        voice = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "duration": duration,
            "mime_type": "audio/ogg",
            "file_size": len(content),
        }
        return self._user_message(user_id, chat_id, None, None, voice=voice)

    def user_document(
        self,
        user_id: int,
        filename: str,
        content: bytes,
        mime_type: str = "application/octet-stream",
        caption: str | None = None,
        chat_id: int | None = None,
    ) -> JSONDict:
        """A user uploads a document; the bot can ``getFile`` + download ``content``."""
        stored = self._store_file(content, "documents", filename)
        document = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_name": filename,
            "mime_type": mime_type,
            "file_size": len(content),
        }
        return self._user_message(user_id, chat_id, None, None, document=document, caption=caption)

    def user_location(
        self,
        user_id: int,
        latitude: float = 21.0285,
        longitude: float = 105.8542,
        chat_id: int | None = None,
    ) -> JSONDict:
        """A user shares a location (default: Hanoi)."""
        location = {"latitude": latitude, "longitude": longitude}
        return self._user_message(user_id, chat_id, None, None, location=location)

    def bot_added_to_group(
        self, chat_id: int, by_user_id: int, title: str | None = None, chat_type: str = "group"
    ) -> JSONDict:
        """``by_user_id`` adds the bot to a group: a ``my_chat_member`` update (left -> member)."""
        chat = self._chat(chat_id, chat_type, title)
        bot = {**self.bot_user}
        return self.push_update(
            {
                "update_id": next(self._update_ids),
                "my_chat_member": {
                    "chat": copy.deepcopy(chat),
                    "from": copy.deepcopy(self._user(by_user_id)),
                    "date": int(time.time()),
                    "old_chat_member": {"status": "left", "user": bot},
                    "new_chat_member": {"status": "member", "user": bot},
                },
            }
        )

    # ------------------------------------------------------------------ inspecting

    def calls(self, method: str | None = None) -> list[Call]:
        """Every recorded call (optionally only ``method``), in the order they were answered."""
        return [c for c in self._calls if method is None or c.method == method]

    def sent_messages(self, chat_id: int) -> list[JSONDict]:
        """Every message the bot sent to ``chat_id``, in order, with edits applied (deleted ones
        included; see :meth:`visible_messages`)."""
        return [
            copy.deepcopy(m)
            for m in self._messages.get(chat_id, [])
            if m["from"]["id"] == self._bot_id and m["from"].get("is_bot")
        ]

    def visible_messages(self, chat_id: int) -> list[JSONDict]:
        """Like :meth:`sent_messages` but without messages the bot deleted."""
        return [
            m for m in self.sent_messages(chat_id) if not self.is_deleted(chat_id, m["message_id"])
        ]

    def transcript(self, chat_id: int) -> list[JSONDict]:
        """All messages of the chat (user's and bot's), in order, edits applied."""
        return copy.deepcopy(self._messages.get(chat_id, []))

    def is_deleted(self, chat_id: int, message_id: int) -> bool:
        """Whether the bot deleted that message."""
        return (chat_id, message_id) in self._deleted

    def documents(self, chat_id: int) -> list[Document]:
        """Documents the bot sent to ``chat_id`` (filename, content bytes, caption...)."""
        return list(self._documents.get(chat_id, []))

    def reply_keyboard(self, chat_id: int) -> JSONDict | None:
        """The reply keyboard currently shown in the chat (None if never set or removed)."""
        return copy.deepcopy(self._reply_keyboards.get(chat_id))

    def commands(
        self, scope: JSONDict | None = None, language_code: str | None = None
    ) -> list[JSONDict]:
        """The command list set with ``setMyCommands`` for that scope/language."""
        key = self._scope_key({"scope": scope, "language_code": language_code})
        return copy.deepcopy(self._commands.get(key, []))

    def description(self, short: bool = False) -> str | None:
        """The text set with ``setMyDescription`` (or ``setMyShortDescription`` if short)."""
        return self._descriptions.get("short_description" if short else "description")

    @property
    def polls_waiting(self) -> int:
        """How many ``getUpdates`` long polls (of still-connected clients) are parked waiting."""
        return sum(1 for request in self._parked.values() if _connected(request))

    @property
    def pending_updates(self) -> list[JSONDict]:
        """Updates queued and not yet confirmed by the bot."""
        return [copy.deepcopy(q.update) for q in self._updates]

    # ------------------------------------------------------------------ waiting

    async def wait_for(self, predicate: Callable[[], Any], timeout: float = 10) -> Any:
        """Wait until ``predicate()`` is truthy and return its value; re-checked after every
        answered call or queued update. Raises AssertionError with the recent calls on timeout."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            tick = self._tick
            value = predicate()
            if value:
                return value
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise AssertionError(
                    f"FakeBotApi.wait_for timed out after {timeout}s.\n{self.describe_calls()}"
                )
            try:
                await asyncio.wait_for(tick.wait(), remaining)
            except TimeoutError:
                pass

    def describe_calls(self, last: int = 15) -> str:
        """Human-readable list of the most recent calls (getUpdates left out) for error messages."""
        recent = [c for c in self._calls if c.method != "getUpdates"][-last:]
        lines = [f"  {c.method} -> {c.status} {c.params!r}" for c in recent]
        return "Recent calls:\n" + ("\n".join(lines) if lines else "  (none)")

    async def wait_for_call(
        self, method: str, count: int = 1, chat_id: int | None = None, timeout: float = 10
    ) -> list[Call]:
        """Wait until at least ``count`` calls of ``method`` (to ``chat_id`` if given) were
        answered; returns all matching calls."""

        def matching() -> list[Call]:
            found = [
                c
                for c in self.calls(method)
                if chat_id is None or c.params.get("chat_id") == chat_id
            ]
            return found if len(found) >= count else []

        return await self.wait_for(matching, timeout)

    async def wait_for_reply(
        self, chat_id: int, after_count: int, timeout: float = 10
    ) -> list[JSONDict]:
        """Wait until the bot has sent more than ``after_count`` messages to ``chat_id`` (use
        ``len(api.sent_messages(chat_id))`` before acting) and return the new ones."""
        return await self.wait_for(lambda: self.sent_messages(chat_id)[after_count:], timeout)
