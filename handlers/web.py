"""tusoi's one small web app (Starlette, served by uvicorn): Zalo's webhook, one-time
downloads, previews for Zalo's ``sendPhoto``, and a health check.

Routes:
* ``POST /zalo/webhook``: the secret header ``X-Bot-Api-Secret-Token`` is checked before the
  body is even read (none: 401, wrong: 403); then the body must be one Zalo event in either
  shape (malformed JSON or shape: 400, an event name tusoi does not know: 422, both answered
  as ``{"ok": false, "error_code", "description"}`` with nothing stored); a good event is
  committed to the inbox before the 200.
* ``GET /d/{token}``: a download link; ``GET /p/{token}.png``: a preview picture. A link that
  never existed, has expired or is used up gets the same short Vietnamese page (404) after the
  same work.
* ``GET /healthz``: ``{"ok": true}``; never calls Zalo or Telegram.
Issue 10 adds Telegram's webhook and issue 11 a dashboard to the same factory.
"""

from __future__ import annotations

import contextlib
import hmac
import json
import logging
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from handlers.downloads import DownloadLinks
from handlers.wiring import Core
from handlers.zalo.bot import BadEvent, ZaloBot, parse_event

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Bot-Api-Secret-Token"
MAX_BODY = 64 * 1024  # a Zalo event is well under a kilobyte
PRIVATE = {  # every answer that carries a member's file, or says a link is dead
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex, nofollow",
    "X-Content-Type-Options": "nosniff",
}


def _refusal(status: int, description: str) -> JSONResponse:
    return JSONResponse({"ok": False, "error_code": status, "description": description},
                        status_code=status)


def content_disposition(filename: str) -> str:
    """``attachment`` with the Vietnamese name (RFC 5987 ``filename*``) and an ASCII fallback
    for old clients."""
    fallback = "".join(c if c.isascii() and (c.isalnum() or c in "-_.") else "_"
                       for c in filename) or "tep"
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


def build_web_app(core: Core, *, zalo: ZaloBot | None = None,
                  downloads: DownloadLinks | None = None) -> Starlette:
    """The app; routes whose part is missing (no Zalo webhook, no downloads) answer 404."""
    secret = core.settings.zalo.webhook_secret.encode()

    async def zalo_webhook(request: Request) -> Response:
        given = request.headers.get(SECRET_HEADER)
        if zalo is None or not secret:
            return _refusal(404, "Not Found")
        if given is None:
            return _refusal(401, f"{SECRET_HEADER} is missing")
        if not hmac.compare_digest(given.encode(), secret):
            return _refusal(403, f"{SECRET_HEADER} is wrong")
        body = await request.body()
        if len(body) > MAX_BODY:
            return _refusal(413, "body too large")
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
        Route("/zalo/webhook", zalo_webhook, methods=["POST"]),
        Route("/d/{token}", download, methods=["GET"]),
        Route("/p/{token}.png", preview, methods=["GET"]),
        Route("/healthz", healthz, methods=["GET"]),
    ])


class _Server(uvicorn.Server):
    """uvicorn without its own signal handlers: tusoi's loop stops everything in order."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


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
