"""The SQLite database: one writer connection, WAL, numbered migrations at start-up.

The SQLite engine of ``storage.engine``: the stores' SQL (``?`` placeholders, portable to
PostgreSQL) runs here unchanged; ``storage.pg`` is the other engine.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import stat
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiosqlite

from storage.engine import Engine, Row

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).with_name("migrations") / "sqlite"
_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


def migration_files(folder: Path = MIGRATIONS) -> list[tuple[int, Path]]:
    """The numbered ``NNNN_name.sql`` files, in order; numbers must run 1, 2, 3 …"""
    found = sorted((int(m.group(1)), p) for p in folder.iterdir() if (m := _NAME.match(p.name)))
    numbers = [n for n, _ in found]
    if numbers != list(range(1, len(numbers) + 1)):
        raise RuntimeError(f"migration numbers must be 1..N without gaps, got {numbers}")
    return found


PRIVATE_FILE = 0o600  # members' answers: the owner only
PRIVATE_DIR = 0o700


def private_dir(folder: Path) -> None:
    """Create ``folder`` (and missing parents) readable by the owner only."""
    if not folder.exists():
        folder.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)


def create_private(path: Path) -> None:
    """Create an empty file that only its owner can read, whatever the umask."""
    private_dir(path.parent)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
    os.close(fd)
    os.chmod(path, PRIVATE_FILE)  # an umask can only remove bits; be explicit anyway


def make_private(path: Path) -> None:
    """Take group and world access away from an existing database file (and its -wal and
    -shm, which SQLite creates with the main file's mode)."""
    for part in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        try:
            mode = stat.S_IMODE(part.stat().st_mode)
        except FileNotFoundError:
            continue
        if mode & 0o077:
            log.warning("%s was readable by others (mode %o); now owner-only", part, mode)
            os.chmod(part, mode & 0o700)


class Database:
    """Owns the single connection. Writes go through ``transaction()``, one at a time."""

    kind = "sqlite"

    def __init__(self, path: Path | str, *, durable: bool = True) -> None:
        self.path = Path(path)
        self.durable = durable
        self._conn: aiosqlite.Connection | None = None
        self._lock = asyncio.Lock()

    def describe(self) -> str:
        """Where the data is, for the operator and the log."""
        return str(self.path.resolve())

    @property
    def conn(self) -> aiosqlite.Connection:
        if self._conn is None:
            raise RuntimeError("database is not open")
        return self._conn

    async def open(self) -> None:
        """Open (creating it owner-only if needed), set WAL and durability, migrate."""
        if not self.path.exists():
            create_private(self.path)
        make_private(self.path)
        self._conn = await aiosqlite.connect(self.path, isolation_level=None)
        self._conn.row_factory = aiosqlite.Row
        await self._conn.execute("PRAGMA journal_mode=WAL")
        # FULL: a commit survives power loss, not only a crash of this process.
        await self._conn.execute(f"PRAGMA synchronous={'FULL' if self.durable else 'NORMAL'}")
        await self._conn.execute("PRAGMA foreign_keys=ON")
        await self._conn.execute("PRAGMA busy_timeout=5000")
        await self.migrate()

    async def close(self) -> None:
        if self._conn is not None:
            await self._conn.close()
            self._conn = None

    async def schema_version(self) -> int:
        async with self.conn.execute("PRAGMA user_version") as cur:
            row = await cur.fetchone()
        return int(row[0]) if row else 0

    async def migrate(self) -> int:
        """Apply every migration newer than the recorded schema version; return the version."""
        current = await self.schema_version()
        for number, path in migration_files():
            if number <= current:
                continue
            log.info("applying migration %s", path.name)
            script = path.read_text(encoding="utf-8")
            # executescript commits first; the version bump rides in the same script.
            await self.conn.executescript(
                f"BEGIN IMMEDIATE;\n{script}\nPRAGMA user_version={number};\nCOMMIT;"
            )
            current = number
        return current

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[None]:
        """Run the enclosed statements as one atomic, durable write."""
        async with self._lock:
            await self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                await self.conn.execute("ROLLBACK")
                raise
            await self.conn.execute("COMMIT")


    # ------------------------------------------------------------------ the query helpers

    async def fetch_one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        rows = await self.conn.execute_fetchall(sql, tuple(params))
        return next(iter(rows), None)

    async def fetch_all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        return list(await self.conn.execute_fetchall(sql, tuple(params)))

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Execute one write; return how many rows it changed."""
        cursor = await self.conn.execute(sql, tuple(params))
        return cursor.rowcount

    async def execute_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        await self.conn.executemany(sql, [tuple(r) for r in rows])


class Queries:
    """What every store is built on: the engine's query helpers, with ``?`` placeholders and
    rows addressed by column name. On SQLite each helper is one hop to aiosqlite's thread; on
    a busy bot the hops, not SQLite, are what costs (bench/bench_flow.py)."""

    def __init__(self, db: Engine) -> None:
        self.db = db

    async def _one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        return await self.db.fetch_one(sql, params)

    async def _all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        return await self.db.fetch_all(sql, params)

    async def _run(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Execute one write; return how many rows it changed (an insert's id: ``_insert``)."""
        return await self.db.execute(sql, params)

    async def _many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        """One statement for each parameter row."""
        if rows:
            await self.db.execute_many(sql, rows)

    async def _insert(self, sql: str, params: Sequence[Any] = ()) -> int:
        """An ``INSERT … RETURNING id``: the new row's id."""
        row = await self.db.fetch_one(sql, params)
        if row is None:
            raise RuntimeError("an INSERT … RETURNING id returned no row")
        return int(row["id"])


def utcnow() -> datetime:
    return datetime.now(UTC)
