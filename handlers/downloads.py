"""One-time download links, for channels that cannot send a file (the Zalo Bot API).

A link is ``{public_base_url}/d/{token}``: the token is ``secrets.token_urlsafe(32)`` (256
random bits), only its SHA-256 is stored, and it works ``link_ttl_minutes`` and at most
``link_max_downloads`` times. A draft's link is bound to one submission version and serves
exactly those bytes. With LibreOffice installed, a PNG of the draft's first page gets a link of
its own (``/p/{token}.png``, a few minutes, a few fetches): Zalo's servers fetch it for
``sendPhoto``. Every use is written to ``access_log``.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from bot.screens import Document, SubmissionRef
from bot.text import token_hash
from handlers import preview
from handlers.wiring import Core
from storage.downloads import Download, DownloadStore

log = logging.getLogger(__name__)

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
PNG = "image/png"
# Zalo's servers fetch a preview once, perhaps again on a retry of their own: a few fetches.
PREVIEW_FETCHES = 5


@dataclass(frozen=True)
class Issued:
    """The links made for one document, and the facts the message about them needs."""

    url: str
    preview_url: str | None
    facts: dict[str, Any] = field(default_factory=dict)


class DownloadLinks:
    """Makes download links and opens them again when they are used."""

    def __init__(self, core: Core, *, render: Callable[[bytes], bytes] | None = None) -> None:
        zalo = core.settings.zalo
        self.core = core
        self.store = DownloadStore(core.db)
        self.base_url = zalo.public_base_url.rstrip("/")
        self.ttl = timedelta(minutes=zalo.link_ttl_minutes)
        self.max_uses = zalo.link_max_downloads
        self.preview_ttl = timedelta(minutes=zalo.preview_ttl_minutes)
        if render is None and zalo.previews and preview.available():
            render = preview.first_page_png
        self.render = render  # None: links only

    # ------------------------------------------------------------------ making links

    async def _docx_link(self, submission: SubmissionRef, member_id: int | None
                         ) -> tuple[str, int]:
        """A submission's link, and the member whose draft it is."""
        found = await self.store.submission_file(submission)
        if found is None:
            raise LookupError(f"no submission {submission}")
        filename, owner = found
        token = await self._add("docx", filename, DOCX, member_id, self.ttl, self.max_uses,
                                submission=submission)
        return f"{self.base_url}/d/{token}", owner

    async def issue(self, document: Document, channel: str, external_id: str) -> Issued:
        """Links for ``document``, given to the account ``external_id``: bound to its
        submission version when it is one (a draft), else to a copy kept until the link
        ends (the secretary's bundle). Plus a preview, when previews are on. ``facts`` say
        how to get a new link: «tải lại» for one's own draft, the desk for someone else's
        (an officer), the command again for any other file."""
        member = await self.core.store.member_by_account(channel, external_id)
        member_id = member.id if member is not None else None
        submission = document.ref
        again = "file"  # how to get a new link once this one ends: the message says
        if submission is not None:
            url, owner = await self._docx_link(submission, member_id)
            again = "own" if owner == member_id else "desk"
        else:
            token = await self._add("file", document.filename, _media_type(document.filename),
                                    member_id, self.ttl, self.max_uses, content=document.content)
            url = f"{self.base_url}/d/{token}"
        preview_url = None
        if document.picture:  # a picture (the committee's chart): shown as one, too
            token = await self._add("preview", document.filename, PNG, member_id,
                                    self.preview_ttl, PREVIEW_FETCHES, content=document.content)
            preview_url = f"{self.base_url}/p/{token}.png"
        elif self.render is not None and document.filename.lower().endswith(".docx"):
            preview_url = await self._preview(document, member_id, submission)
        expires = self.core.clock.now() + self.ttl
        return Issued(url, preview_url, {
            "url": url, "expires": expires, "minutes": self.ttl // timedelta(minutes=1),
            "max_downloads": self.max_uses, "filename": document.filename, "again": again,
        })

    async def _preview(self, document: Document, member_id: int | None,
                       submission: SubmissionRef | None) -> str | None:
        render = self.render
        if render is None:
            return None
        try:  # LibreOffice takes a second or two: off the event loop
            png = await asyncio.to_thread(render, document.content)
        except Exception:
            log.warning("no preview for a draft: LibreOffice failed", exc_info=True)
            return None
        name = document.filename.rsplit(".", 1)[0] + ".png"
        token = await self._add("preview", name, PNG, member_id, self.preview_ttl,
                                PREVIEW_FETCHES, content=png, submission=submission)
        return f"{self.base_url}/p/{token}.png"

    async def _add(self, kind: str, filename: str, media_type: str, member_id: int | None,
                   ttl: timedelta, max_uses: int, *, submission: SubmissionRef | None = None,
                   content: bytes | None = None) -> str:
        """Store a new link; returns its token (never stored, never logged)."""
        token = secrets.token_urlsafe(32)
        now = self.core.clock.now()
        async with self.core.db.transaction():
            await self.store.wipe(now)
            await self.store.add(token_hash(token), kind, filename=filename,
                                 media_type=media_type, member_id=member_id, now=now,
                                 expires_at=now + ttl, max_uses=max_uses,
                                 submission=submission if kind != "file" else None,
                                 content=content)
        return token

    # ------------------------------------------------------------------ using links

    async def open(self, token: str, kinds: tuple[str, ...]) -> Download | None:
        """Count one use of the link ``token``; None for a link that never existed, has
        expired or is used up: the same answer, after the same work (one hash, one indexed
        update), so a guess learns nothing."""
        digest = token_hash(token[:200])
        async with self.core.db.transaction():
            return await self.store.use(digest, kinds, self.core.clock.now())

    async def wipe(self, now: datetime | None = None) -> None:
        """Forget the bytes of links that ended (at start, and whenever a link is made)."""
        async with self.core.db.transaction():
            await self.store.wipe(now or self.core.clock.now())


def _media_type(filename: str) -> str:
    lower = filename.lower()
    if lower.endswith(".docx"):
        return DOCX
    if lower.endswith(".zip"):
        return "application/zip"
    if lower.endswith(".xlsx"):
        return "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    if lower.endswith(".png"):
        return PNG
    return "application/octet-stream"
