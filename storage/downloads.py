"""Download links: only each token's hash is stored, with its expiry and its count of uses.

Callers group writes in ``transaction()``, as everywhere in ``storage``; the SQL runs on
SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.screens import SubmissionRef
from storage.db import Queries, marks
from storage.outbox import ts

KEEP_EXPIRED = timedelta(days=30)  # then the row itself goes; access_log keeps the history


@dataclass(frozen=True)
class Download:
    """A link that was just used: what to serve."""

    kind: str  # "docx", "preview" or "file"
    filename: str
    media_type: str
    content: bytes


_ts = ts  # the one encoding of a moment (storage.outbox.ts)


class DownloadStore(Queries):
    async def submission_file(self, ref: SubmissionRef) -> tuple[str, int] | None:
        """The stored submission's file name and the member whose draft it is."""
        row = await self._one(
            "SELECT s.filename, r.member_id FROM submissions s JOIN reviews r ON r.id = s.review_id"
            " WHERE s.review_id = ? AND s.version = ?", (ref.review_id, ref.version))
        return (str(row["filename"]), int(row["member_id"])) if row else None

    async def add(self, token_hash: str, kind: str, *, filename: str, media_type: str,
                  member_id: int | None, now: datetime, expires_at: datetime, max_uses: int,
                  submission: SubmissionRef | None = None, content: bytes | None = None) -> int:
        return await self._insert(
            "INSERT INTO downloads (token_hash, kind, review_id, version, member_id, filename,"
            " media_type, content, created_at, expires_at, max_uses)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
            (token_hash, kind, submission.review_id if submission else None,
             submission.version if submission else None, member_id, filename, media_type,
             content, _ts(now), _ts(expires_at), max_uses),
        )

    async def use(self, token_hash: str, kinds: tuple[str, ...], now: datetime
                  ) -> Download | None:
        """Count one use of a live link of one of ``kinds`` and log it; None when there is
        no such link, or it has expired or been used up (the caller cannot tell which, on
        purpose)."""
        listed = marks(kinds)
        row = await self._one(
            f"UPDATE downloads SET uses = uses + 1 WHERE token_hash = ? AND kind IN ({listed})"
            " AND expires_at > ? AND uses < max_uses"
            " RETURNING id, kind, review_id, version, member_id, filename, media_type, content",
            (token_hash, *kinds, _ts(now)),
        )
        if row is None:
            return None
        content, owner = row["content"], None
        if row["review_id"] is not None:
            found = await self._one(
                "SELECT s.docx, r.member_id FROM submissions s JOIN reviews r ON r.id = s.review_id"
                " WHERE s.review_id = ? AND s.version = ?",
                (row["review_id"], row["version"]),
            )
            if found is None:
                return None
            owner = found["member_id"]
            if row["kind"] == "docx":
                content = found["docx"]
        if content is None:
            return None
        await self._run(
            "INSERT INTO access_log (actor_id, action, target_id, at) VALUES (?, ?, ?, ?)",
            (row["member_id"], "preview" if row["kind"] == "preview" else "download", owner,
             _ts(now)),
        )
        return Download(row["kind"], row["filename"], row["media_type"], bytes(content))

    async def wipe(self, now: datetime) -> None:
        """Drop the bytes of links that can no longer be used, and, a month later, the rows."""
        await self._run(
            "UPDATE downloads SET content = NULL WHERE content IS NOT NULL"
            " AND (expires_at <= ? OR uses >= max_uses)",
            (_ts(now),),
        )
        await self._run("DELETE FROM downloads WHERE expires_at < ?",
                        (_ts(now - KEEP_EXPIRED),))
