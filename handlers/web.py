"""tusoi's one small web app (Starlette, served by uvicorn): the webhooks of Telegram and
Zalo, one-time downloads, previews for Zalo's ``sendPhoto``, and a health check.

Routes:
* ``POST /tg/{path}``: Telegram's webhook (``tusoi ingress``, README "Running a province").
  The path must be ``telegram.webhook_path`` and the header
  ``X-Telegram-Bot-Api-Secret-Token`` must be ``telegram.webhook_secret`` (compared in
  constant time; wrong path: 404, header missing: 401, wrong: 403), checked before the body
  is read; a body that is no Telegram update: 400, nothing stored. The update is committed to
  the inbox (``ON CONFLICT DO NOTHING`` on its ``update_id``, so a redelivery is ignored), with
  a NOTIFY for the workers, before the 200: only then may Telegram forget it.
* ``POST /zalo/webhook``: the secret header ``X-Bot-Api-Secret-Token`` is checked before the
  body is even read (none: 401, wrong: 403); then the body must be one Zalo event in either
  shape (malformed JSON or shape: 400, an event name tusoi does not know: 422, both answered
  as ``{"ok": false, "error_code", "description"}`` with nothing stored); a good event is
  committed to the inbox before the 200.
* ``GET /d/{token}``: a download link; ``GET /p/{token}.png``: a preview picture. A link that
  never existed, has expired or is used up gets the same short Vietnamese page (404) after the
  same work.
* ``GET /healthz``: ``{"ok": true}``; never calls Zalo or Telegram.
* ``/w/…``: the committee's read-only web page (``handlers.dashboard``).
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
from collections.abc import AsyncIterator, Iterator
from typing import Any, Protocol
from urllib.parse import quote

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route
from telegram import Update

from handlers.dashboard import Dashboard
from handlers.downloads import DownloadLinks
from handlers.wiring import Core
from handlers.zalo.bot import BadEvent, ZaloBot, parse_event
from storage.inbox import Arrival, InboxStore

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Bot-Api-Secret-Token"
MAX_BODY = 64 * 1024  # a Zalo event is well under a kilobyte
TELEGRAM_SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
TELEGRAM_MAX_BODY = 1024 * 1024  # an update is a few kilobytes; a document is a file_id
TELEGRAM = "telegram"
ZALO = "zalo"
PRIVATE = {  # every answer that carries a member's file, or says a link is dead
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex, nofollow",
    "X-Content-Type-Options": "nosniff",
}


def _refusal(status: int, description: str) -> JSONResponse:
    return JSONResponse({"ok": False, "error_code": status, "description": description},
                        status_code=status)


async def _checked_body(request: Request, header: str, secret: bytes,
                        max_body: int) -> bytes | Response:
    """A webhook's body, read only once its secret header matched (compared in constant
    time); else the refusal: 401 without the header, 403 with a wrong one, 413 too large."""
    given = request.headers.get(header)
    if given is None:
        return _refusal(401, f"{header} is missing")
    if not hmac.compare_digest(given.encode(), secret):
        return _refusal(403, f"{header} is wrong")
    body = await request.body()
    if len(body) > max_body:
        return _refusal(413, "body too large")
    return body


def content_disposition(filename: str) -> str:
    """``attachment`` with the Vietnamese name (RFC 5987 ``filename*``) and an ASCII fallback
    for old clients."""
    fallback = "".join(c if c.isascii() and (c.isalnum() or c in "-_.") else "_"
                       for c in filename) or "tep"
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


def telegram_arrival(body: bytes) -> Arrival:
    """The update's key, chat and payload; ValueError if it is not a Telegram update."""
    from handlers.tg.inbox import chat_key

    data = json.loads(body)
    if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
        raise ValueError("not a Telegram update")  # noqa: TRY004 - bad input, not a bug
    update = Update.de_json(data, None)
    return Arrival(str(update.update_id), chat_key(update), json.dumps(data, ensure_ascii=False))


async def to_inbox(core: Core, inbox: InboxStore, channel: str, arrival: Arrival) -> int:
    """A webhook's update committed to the inbox, and the workers woken when it is new;
    how many were stored (0: a redelivery)."""
    async with core.db.transaction():
        added = await inbox.add(channel, [arrival], core.clock.now())
        if added:
            await inbox.announce()
    return len(added)


class EventSink(Protocol):
    """Where Zalo's webhook puts a checked event: the single process's ``ZaloBot`` (stored
    and handled there), or ``ZaloToInbox`` in ``tusoi ingress`` (stored for the workers)."""

    async def accept(self, event: dict[str, Any]) -> bool: ...


class ZaloToInbox:
    """Zalo's webhook in ``tusoi ingress``: the event committed to the inbox, the workers
    woken; they handle it (``handlers.worker``)."""

    def __init__(self, core: Core) -> None:
        self.core = core
        self.inbox = InboxStore(core.db)

    async def accept(self, event: dict[str, Any]) -> bool:
        message = event["message"]
        arrival = Arrival(str(message["message_id"]), str(message["chat"]["id"]),
                          json.dumps(event, ensure_ascii=False))
        return await to_inbox(self.core, self.inbox, ZALO, arrival) > 0


def build_web_app(core: Core, *, zalo: EventSink | ZaloBot | None = None,
                  downloads: DownloadLinks | None = None,
                  telegram_webhook: bool = False,
                  dashboard: Dashboard | None = None) -> Starlette:
    """The app; routes whose part is missing (no Zalo webhook, no downloads, no Telegram
    webhook, no web page) answer 404."""
    secret = core.settings.zalo.webhook_secret.encode()
    hook = core.settings.telegram
    tg_path, tg_secret = hook.webhook_path.encode(), hook.webhook_secret.encode()
    inbox = InboxStore(core.db)

    async def telegram(request: Request) -> Response:
        given_path = str(request.path_params["path"]).encode()
        if not telegram_webhook or not tg_path or not hmac.compare_digest(given_path, tg_path):
            return _refusal(404, "Not Found")
        body_or_refusal = await _checked_body(request, TELEGRAM_SECRET_HEADER, tg_secret,
                                              TELEGRAM_MAX_BODY)
        if isinstance(body_or_refusal, Response):
            return body_or_refusal
        body = body_or_refusal
        try:
            arrival = telegram_arrival(body)
        except (ValueError, UnicodeDecodeError, TypeError, KeyError):
            log.info("Telegram webhook: a malformed body refused")
            return _refusal(400, "malformed JSON or not a Telegram update")
        stored = await to_inbox(core, inbox, TELEGRAM, arrival)
        return JSONResponse({"ok": True, "result": {"stored": stored}})

    async def zalo_webhook(request: Request) -> Response:
        if zalo is None or not secret:
            return _refusal(404, "Not Found")
        body_or_refusal = await _checked_body(request, SECRET_HEADER, secret, MAX_BODY)
        if isinstance(body_or_refusal, Response):
            return body_or_refusal
        body = body_or_refusal
        try:
            event = parse_event(json.loads(body))
        except (ValueError, UnicodeDecodeError) as exc:  # BadEvent is a ValueError
            if isinstance(exc, BadEvent) and exc.reason == "unknown_event":
                log.info("Zalo webhook: an unknown event refused (%s)", exc)
                return _refusal(422, "unknown event_name")
            log.info("Zalo webhook: a malformed body refused")
            return _refusal(400, "malformed JSON or not a Zalo event")
        new = await zalo.accept(event)  # committed: only now may Zalo forget it
        return JSONResponse({"ok": True, "result": {"stored": new}})

    async def download(request: Request) -> Response:
        return await _serve(request.path_params["token"], ("docx", "file"), attachment=True)

    async def preview(request: Request) -> Response:
        return await _serve(request.path_params["token"], ("preview",), attachment=False)

    async def _serve(token: str, kinds: tuple[str, ...], *, attachment: bool) -> Response:
        found = await downloads.open(token, kinds) if downloads is not None else None
        if found is None:
            page = core.renderer.render("downloads/gone", {})
            return HTMLResponse(page, status_code=404, headers=PRIVATE)
        headers = dict(PRIVATE)
        if attachment:
            headers["Content-Disposition"] = content_disposition(found.filename)
        return Response(found.content, media_type=found.media_type, headers=headers)

    async def healthz(request: Request) -> Response:
        return JSONResponse({"ok": True})

    return Starlette(routes=[
        Route("/tg/{path}", telegram, methods=["POST"]),
        Route("/zalo/webhook", zalo_webhook, methods=["POST"]),
        Route("/d/{token}", download, methods=["GET"]),
        Route("/p/{token}.png", preview, methods=["GET"]),
        Route("/healthz", healthz, methods=["GET"]),
        *(dashboard.routes() if dashboard is not None else ()),
    ])


class _Server(uvicorn.Server):
    """uvicorn without its own signal handlers: tusoi's loop stops everything in order."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@contextlib.asynccontextmanager
async def running_web(core: Core, *, port: int | None = None) -> AsyncIterator[WebServer]:
    """The web app alone (the committee's page and /healthz), for a deployment without Zalo
    that has ``web.public_base_url``. The core must be open."""
    web = WebServer(build_web_app(core, dashboard=Dashboard(core)), core.settings.web.host,
                    core.settings.web.port if port is None else port)
    await web.start()
    try:
        yield web
    finally:
        await web.stop()


class WebServer:
    """The app served on ``web.host``:``web.port`` inside the bot's own event loop."""

    def __init__(self, app: Starlette, host: str, port: int) -> None:
        config = uvicorn.Config(app, host=host, port=port, lifespan="off", access_log=False,
                                log_level="warning", server_header=False)
        self.server = _Server(config)
        self._task: Any = None

    async def start(self) -> None:
        import asyncio

        self._task = asyncio.create_task(self.server.serve(), name="web")
        while not self.server.started:
            if self._task.done():  # e.g. the port is taken
                self._task.result()
                raise OSError("the web server stopped at start")
            await asyncio.sleep(0.01)

    @property
    def port(self) -> int:
        """The port actually bound (``web.port = 0`` picks a free one, for tests)."""
        for server in getattr(self.server, "servers", []):
            for sock in server.sockets:
                return int(sock.getsockname()[1])
        return self.server.config.port

    async def stop(self) -> None:
        if self._task is None:
            return
        self.server.should_exit = True
        await self._task
        self._task = None


async def serve_ingress(core: Core, stop: asyncio.Event) -> None:
    """``tusoi ingress``: open the database (migrating it), serve Telegram's webhook (and
    Zalo's, and the download links, when Zalo is configured; and the committee's web page)
    until ``stop``."""
    await core.open()
    try:
        zalo = core.settings.zalo
        hook = ZaloToInbox(core) if zalo.token and zalo.mode == "webhook" else None
        links = DownloadLinks(core) if zalo.token else None  # Zalo members' drafts
        app = build_web_app(core, zalo=hook, downloads=links, telegram_webhook=True,
                            dashboard=Dashboard(core))
        server = WebServer(app, core.settings.web.host, core.settings.web.port)
        await server.start()
        log.info("ingress listening on %s:%d", core.settings.web.host, server.port)
        try:
            await stop.wait()
        finally:
            await server.stop()
    finally:
        await core.close()
