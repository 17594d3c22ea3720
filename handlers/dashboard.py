"""The committee's read-only web page, in tusoi's one web app (``handlers.web``).

Who: committee officers (every cell of their committee: the overview, each cell's tracker,
the chart, the workbook) and cells' secretaries and deputies (their own cell's tracker).
Counts, statuses, levels and scores only: no answer text is ever on a page.

Login is by a one-time link the bot sends in the private chat (``/trangweb``): a random token
(only its SHA-256 stored) that works once, for ``web.login_minutes``. Opening the link shows a
button (a GET changes nothing, so a chat app fetching the link for a preview spends nothing);
pressing it (a POST) spends the link and starts a session: a random cookie value (only its
hash stored), ``HttpOnly``, ``SameSite=Strict``, ``Secure`` behind TLS, expiring after
``web.session_minutes``. Logging out is a POST carrying a token derived from the session (a
page of another site can neither read it nor send the cookie). Every page view and download
is written to ``access_log``. A refused request gets a short Vietnamese page, the same one
whether the thing asked for exists or not. Pages need no JavaScript (a Content-Security-Policy
forbids scripts) and fit a phone's screen.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from bot.access import Act, Actor, allowed
from bot.committee_desk import login_hash
from bot.errors import NoSuchCell
from handlers.wiring import Core

log = logging.getLogger(__name__)

COOKIE = "tusoi_web"
PREFIX = "/w"
MAX_TOKEN = 200  # characters: a token is 43; anything longer is no token of ours
MAX_FORM = 2048  # bytes of a login or logout form
FILE_NAME = re.compile(r"dang-bo-([0-9]{1,9})\.(png|xlsx)")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex, nofollow",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": ("default-src 'none'; img-src 'self'; style-src 'unsafe-inline';"
                                " form-action 'self'; frame-ancestors 'none'; base-uri 'none'"),
}


def csrf_token(session: str) -> str:
    """The logout form's token: derived from the session's secret value, so only a page that
    was served to this session carries it."""
    return hashlib.sha256(f"csrf:{session}".encode()).hexdigest()


class Dashboard:
    """The web page's routes, on the core's store and committee desk."""

    def __init__(self, core: Core) -> None:
        self.core = core
        self.desk = core.service.committee
        web = core.settings.web
        self.base_url = web.base_url(core.settings.zalo)
        self.session_ttl = timedelta(minutes=web.session_minutes)
        self.texts = self.desk.settings.texts

    def routes(self) -> list[Route]:
        return [
            Route(f"{PREFIX}/login/{{token}}", self.login_page, methods=["GET"]),
            Route(f"{PREFIX}/login", self.login, methods=["POST"]),
            Route(f"{PREFIX}/", self.home, methods=["GET"]),
            Route(f"{PREFIX}/committee/{{committee}}", self.committee_page, methods=["GET"]),
            Route(f"{PREFIX}/cell/{{cell}}", self.cell_page, methods=["GET"]),
            Route(f"{PREFIX}/files/{{name:path}}", self.file, methods=["GET"]),
            Route(f"{PREFIX}/logout", self.logout, methods=["POST"]),
        ]

    # ----------------------------------------------------------------- pages and refusals

    def _page(self, name: str, context: dict[str, Any], status: int = 200) -> HTMLResponse:
        return HTMLResponse(self.core.renderer.web(name, context), status_code=status,
                            headers=HEADERS)

    def _refused(self, kind: str, status: int) -> HTMLResponse:
        """need_login (401), dead_link (404), not_found (404), forbidden (403)."""
        return self._page("refused", {"kind": kind, "actor": None}, status)

    def _secure(self, request: Request) -> bool:
        """``Secure`` cookies behind TLS: the public address is https, or the request came
        over https."""
        return self.base_url.startswith("https://") or request.url.scheme == "https"

    def _same_origin(self, request: Request) -> bool:
        """A POST from a page of this site. A browser says where a form comes from: its
        ``Origin`` names this host, or is "null" (pages here send no referrer, and Chromium
        then writes "null") with ``Sec-Fetch-Site: same-origin``. A client that sends
        neither is no browser, and so no page of another site."""
        origin = request.headers.get("origin")
        site = request.headers.get("sec-fetch-site")
        if site is not None and site not in ("same-origin", "none"):
            return False
        if origin is None or origin == "null":
            return origin is None or site is not None
        return urlsplit(origin).netloc == request.headers.get("host", "")

    async def _session(self, request: Request) -> tuple[Actor, str] | None:
        """The actor of a live session, and the session's cookie value."""
        value = request.cookies.get(COOKIE, "")
        if not value or len(value) > MAX_TOKEN:
            return None
        store, now = self.core.store, self.core.clock.now()
        member_id = await store.web_session(login_hash(value), now)
        if member_id is None:
            return None
        actor = await self.desk.web_actor(member_id)
        return (actor, value) if actor is not None else None

    def _context(self, actor: Actor, session: str, **more: Any) -> dict[str, Any]:
        return {"actor": {"name": actor.member.full_name}, "csrf": csrf_token(session),
                "texts": self.texts, **more}

    # ----------------------------------------------------------------- login and logout

    async def login_page(self, request: Request) -> Response:
        """The link from the chat: a button that logs in (nothing is spent by a GET)."""
        token = request.path_params["token"]
        found = (await self.core.store.web_login(login_hash(token))
                 if len(token) <= MAX_TOKEN else None)
        if found is None or found.used or found.expires_at <= self.core.clock.now():
            return self._refused("dead_link", 404)
        return self._page("login", {"token": token, "actor": None})

    async def login(self, request: Request) -> Response:
        if not self._same_origin(request):
            return self._refused("forbidden", 403)
        token = (await _form(request)).get("token", "")
        store, now = self.core.store, self.core.clock.now()
        if not token or len(token) > MAX_TOKEN:
            return self._refused("dead_link", 404)
        async with store.transaction():
            member_id = await store.use_web_login(login_hash(token), now)
            actor = await self.desk.web_actor(member_id) if member_id is not None else None
            if actor is None:
                return self._refused("dead_link", 404)
            session = secrets.token_urlsafe(32)
            await store.add_web_session(login_hash(session), actor.member.id, now,
                                        now + self.session_ttl)
            await self.desk.log(actor, "web_login", None, now)
        response = RedirectResponse(f"{PREFIX}/", status_code=303, headers=HEADERS)
        response.set_cookie(COOKIE, session, max_age=int(self.session_ttl.total_seconds()),
                            path=PREFIX, secure=self._secure(request), httponly=True,
                            samesite="strict")
        return response

    async def logout(self, request: Request) -> Response:
        found = await self._session(request)
        if found is None:
            return self._refused("need_login", 401)
        actor, session = found
        given = (await _form(request)).get("csrf", "")
        if not self._same_origin(request) or not hmac.compare_digest(given,
                                                                     csrf_token(session)):
            return self._refused("forbidden", 403)
        store, now = self.core.store, self.core.clock.now()
        async with store.transaction():
            await store.end_web_session(login_hash(session), now)
            await self.desk.log(actor, "web_logout", None, now)
        response = self._page("bye", {"actor": None})
        response.delete_cookie(COOKIE, path=PREFIX, secure=self._secure(request), httponly=True,
                               samesite="strict")
        return response

    # ----------------------------------------------------------------- what may be seen

    async def home(self, request: Request) -> Response:
        found = await self._session(request)
        if found is None:
            return self._refused("need_login", 401)
        actor, session = found
        committees = sorted(actor.committees)
        if len(committees) == 1:
            return await self._committee(actor, session, committees[0])
        store = self.core.store
        listed = [c for cid in committees if (c := await store.committee(cid)) is not None]
        own = await store.cell(actor.member.cell_id)
        cell = own if allowed(actor, Act.CELL_VIEW, cell=own) else None
        if not listed and cell is not None:
            return await self._cell(actor, session, cell.id)
        await self._log(actor, "web_home", None)
        return self._page("home", self._context(actor, session, committees=listed, cell=cell))

    async def committee_page(self, request: Request) -> Response:
        found = await self._session(request)
        if found is None:
            return self._refused("need_login", 401)
        number = _number(request.path_params["committee"])
        return await self._committee(*found, number)

    async def _committee(self, actor: Actor, session: str, committee_id: int) -> Response:
        if not allowed(actor, Act.COMMITTEE_VIEW, committee_id=committee_id):
            return self._refused("not_found", 404)
        summary = await self.desk.summary(committee_id)
        await self._log(actor, "web_committee", f"committee:{committee_id}")
        return self._page("committee", self._context(
            actor, session, summary=summary, cap=self.desk._cap_context(summary),
            chart=f"{PREFIX}/files/dang-bo-{committee_id}.png",
            xlsx=f"{PREFIX}/files/dang-bo-{committee_id}.xlsx"))

    async def cell_page(self, request: Request) -> Response:
        found = await self._session(request)
        if found is None:
            return self._refused("need_login", 401)
        return await self._cell(*found, _number(request.path_params["cell"]))

    async def _cell(self, actor: Actor, session: str, cell_id: int) -> Response:
        try:
            cell = await self.desk.cell_summary(actor, cell_id)
        except NoSuchCell:
            return self._refused("not_found", 404)
        await self._log(actor, "web_cell", f"cell:{cell_id}")
        back = (f"{PREFIX}/committee/{cell.cell.committee_id}"
                if cell.cell.committee_id in actor.committees else None)
        return self._page("cell", self._context(actor, session, cell=cell, back=back))

    async def file(self, request: Request) -> Response:
        """The chart or the workbook of a committee; any other name (a path, «..», another
        extension) is not found."""
        found = await self._session(request)
        if found is None:
            return self._refused("need_login", 401)
        actor, _ = found
        match = FILE_NAME.fullmatch(request.path_params["name"])
        if match is None:
            return self._refused("not_found", 404)
        committee_id, kind = int(match.group(1)), match.group(2)
        if not allowed(actor, Act.COMMITTEE_VIEW, committee_id=committee_id):
            return self._refused("not_found", 404)
        summary = await self.desk.summary(committee_id)
        content = await (self.desk.workbook(summary) if kind == "xlsx"
                         else self.desk.chart(summary))  # only the file asked for
        await self._log(actor, f"web_{kind}", f"committee:{committee_id}")
        headers = dict(HEADERS)
        if kind == "xlsx":
            stamp = self.core.clock.now().strftime("%Y%m%d")
            headers["Content-Disposition"] = (
                f'attachment; filename="dang-bo-{committee_id}-{stamp}.xlsx"')
            return Response(content, media_type=XLSX, headers=headers)
        return Response(content, media_type="image/png", headers=headers)

    async def _log(self, actor: Actor, action: str, detail: str | None) -> None:
        async with self.core.store.transaction():
            await self.desk.log(actor, action, detail)


async def _form(request: Request) -> dict[str, str]:
    """A small urlencoded form (the login's token, the logout's csrf); anything else or
    anything large reads as empty."""
    if not request.headers.get("content-type", "").startswith(
            "application/x-www-form-urlencoded"):
        return {}
    body = await request.body()
    if len(body) > MAX_FORM:
        return {}
    try:
        fields = parse_qs(body.decode("ascii", "replace"), max_num_fields=4)
    except ValueError:  # more fields than a form of ours has
        return {}
    return {key: values[0] for key, values in fields.items() if values}


def _number(text: str) -> int:
    """A path's id; anything but a few ASCII digits is no id (0 is no one's)."""
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 9 else 0
