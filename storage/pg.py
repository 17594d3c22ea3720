"""The PostgreSQL engine: psycopg 3 (async) with a connection pool.

The stores' SQL is the same as on SQLite: ``?`` placeholders are translated to psycopg's
``%s`` once per statement (a literal ``%`` is doubled; a ``?`` inside a string literal is
refused, loudly). A transaction's connection travels in a context variable, so the store
methods awaited inside ``transaction()`` use it without being told; outside one, each
statement takes a pooled connection and commits by itself.

Migrations live in ``storage/migrations/postgres`` with the same numbers as SQLite's; the
version is a row of ``schema_version`` (SQLite keeps ``PRAGMA user_version``). Several
processes starting at once migrate one after the other (an advisory lock).
"""

from __future__ import annotations

import contextvars
import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlsplit, urlunsplit

from psycopg import AsyncConnection
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from storage.db import migration_files
from storage.engine import Row

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).with_name("migrations") / "postgres"
MIGRATION_LOCK = 0x7475736F69  # "tusoi": one process migrates at a time


class PlaceholderError(ValueError):
    """A ``?`` inside a string literal: it would silently stop being a parameter."""


@lru_cache(maxsize=2048)
def translate(sql: str) -> str:
    """``?`` → ``%s`` outside string literals, ``%`` → ``%%``."""
    out: list[str] = []
    quoted = False
    for ch in sql:
        if ch == "'":
            quoted = not quoted  # '' inside a literal toggles twice: still inside
            out.append(ch)
        elif ch == "?":
            if quoted:
                raise PlaceholderError(f"a ? inside a string literal: {sql!r}")
            out.append("%s")
        elif ch == "%":
            out.append("%%")
        else:
            out.append(ch)
    return "".join(out)


def redact(url: str) -> str:
    """The URL without its password (for logs and messages)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    user = f"{parts.username}:***@" if parts.username else ""
    return urlunsplit((parts.scheme, user + host, parts.path, parts.query, parts.fragment))


Conn = AsyncConnection[dict[str, Any]]


class PgDatabase:
    """A pool of connections to one PostgreSQL database."""

    kind = "postgres"

    def __init__(self, url: str, *, max_size: int = 10, min_size: int = 1) -> None:
        self.url = url
        self.max_size = max(max_size, min_size)
        self.min_size = min_size
        self._pool: AsyncConnectionPool[Conn] | None = None
        self._current: contextvars.ContextVar[Conn | None] = contextvars.ContextVar(
            f"pg-transaction-{id(self)}", default=None)

    def describe(self) -> str:
        return redact(self.url)

    @property
    def pool(self) -> AsyncConnectionPool[Conn]:
        if self._pool is None:
            raise RuntimeError("database is not open")
        return self._pool

    async def open(self) -> None:
        """Open the pool, then migrate."""
        if self._pool is None:
            pool: AsyncConnectionPool[Conn] = AsyncConnectionPool(
                self.url, min_size=self.min_size, max_size=self.max_size, open=False,
                kwargs={"autocommit": True, "row_factory": dict_row},
                name="tusoi")
            await pool.open(wait=True, timeout=30)
            self._pool = pool
        await self.migrate()

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[Conn]:
        """A connection of its own for the block (a claim held while a chat is handled, the
        sender's leadership): never the current transaction's."""
        async with self.pool.connection() as conn:
            yield conn

    # ------------------------------------------------------------------ migrations

    async def schema_version(self) -> int:
        present = await self.fetch_one("SELECT to_regclass('schema_version') IS NOT NULL AS present")
        if not (present and present["present"]):
            return 0
        row = await self.fetch_one("SELECT version FROM schema_version")
        return int(row["version"]) if row else 0

    async def migrate(self) -> int:
        """Apply every migration newer than the recorded version; return the version."""
        files = migration_files(MIGRATIONS)
        async with self.pool.connection() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
            await conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            cur = await conn.execute("SELECT version FROM schema_version")
            row = await cur.fetchone()
            if row is None:
                await conn.execute("INSERT INTO schema_version (version) VALUES (0)")
            current = int(row["version"]) if row else 0
            for number, path in files:
                if number <= current:
                    continue
                log.info("applying migration %s (postgres)", path.name)
                async with conn.transaction():  # a savepoint: one file, all or nothing
                    await conn.execute(cast(Any, path.read_text(encoding="utf-8")))
                    await conn.execute("UPDATE schema_version SET version = %s", (number,))
                current = number
        return current

    # ------------------------------------------------------------------ transactions

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[None]:
        """Run the enclosed statements as one atomic, durable write. Nested: a savepoint."""
        conn = self._current.get()
        if conn is not None:
            async with conn.transaction():
                yield
            return
        async with self.pool.connection() as conn, conn.transaction():
            token = self._current.set(conn)
            try:
                yield
            finally:
                self._current.reset(token)

    # ------------------------------------------------------------------ the query helpers

    @asynccontextmanager
    async def _conn(self) -> AsyncIterator[Conn]:
        conn = self._current.get()
        if conn is not None:
            yield conn
            return
        async with self.pool.connection() as conn:
            yield conn

    async def fetch_one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        async with self._conn() as conn:
            cur = await conn.execute(cast(Any, translate(sql)), tuple(params))
            return await cur.fetchone() if cur.description else None

    async def fetch_all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        async with self._conn() as conn:
            cur = await conn.execute(cast(Any, translate(sql)), tuple(params))
            return list(await cur.fetchall())

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        async with self._conn() as conn:
            cur = await conn.execute(cast(Any, translate(sql)), tuple(params))
            return max(cur.rowcount, 0)

    async def execute_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        async with self._conn() as conn, conn.cursor() as cur:
            await cur.executemany(cast(Any, translate(sql)), [tuple(r) for r in rows])
