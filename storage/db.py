"""The SQLite database: one writer connection with group commit, one reader, WAL, numbered
migrations and fresh statistics at start-up.

The SQLite engine of ``storage.engine``: the stores' SQL (``?`` placeholders, portable to
PostgreSQL) runs here unchanged; ``storage.pg`` is the other engine.

**Where statements run.** Statements run on the event loop's own thread, straight through the
``sqlite3`` module: in WAL mode a statement on a page already in memory takes microseconds,
far less than a hand-off to another thread (``bench/bench_flow.py`` measures both). What can
take long is sent to the database's one thread instead: opening and migrating, ``BEGIN
IMMEDIATE`` (which may wait for another process, such as the operator's command line, to
finish writing) and ``COMMIT`` (the fsync that makes it durable). While that thread syncs,
the loop goes on with other members' updates.

**Group commit.** ``transaction()`` is the one way to write. Transactions of different tasks
run one after the other on the writer connection, each in its own ``SAVEPOINT``: one that
fails rolls back its own work only, and the others go on. They share the enclosing ``BEGIN
IMMEDIATE … COMMIT``: whoever comes while a COMMIT is being synced joins the next group,
and the group is committed once every member queued before it has run, so a busy bot syncs
once for many updates. Each caller returns from ``transaction()`` only after the COMMIT that
holds its work is durable (``synchronous=FULL``), so a reply is never sent for an answer a
crash could still lose. A transaction entered again by the same task is a nested savepoint.

**Reads.** Inside a transaction, reads see its own writes (and those of the group members
before it, which commit with it or not at all). Outside one, reads go to a second,
read-only connection that sees what is committed; a write outside a transaction is a
transaction of its own.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import itertools
import logging
import os
import re
import sqlite3
import stat
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager, contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from storage.engine import Engine
from storage.engine import Row as EngineRow

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).with_name("migrations") / "sqlite"
_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")

T = TypeVar("T")

# Rows ANALYZE samples per index: bounded, so start-up stays quick however large the
# database grows, and enough for the planner to tell a selective index from a poor one.
ANALYSIS_LIMIT = 1000


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


@dataclass(eq=False)
class _Group:
    """One ``BEGIN IMMEDIATE … COMMIT`` shared by the transactions that ran inside it."""

    done: asyncio.Future[None]
    members: int = 0


@dataclass(frozen=True)
class _Scope:
    """Set while a task runs inside a transaction of ``db``."""

    db: Database
    task: asyncio.Task[Any] | None
    names: Iterator[int] = field(default_factory=itertools.count)


_SCOPE: ContextVar[_Scope | None] = ContextVar("tusoi_sqlite_transaction", default=None)
_CONTROL = re.compile(r"\s*(BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE|PRAGMA)\b", re.IGNORECASE)
_READ = re.compile(r"\s*SELECT\b", re.IGNORECASE)


@dataclass
class CommitStats:
    """What group commit did so far (the benchmark prints it)."""

    groups: int = 0
    transactions: int = 0


class Database:
    """Owns the connections. Writes go through ``transaction()``.

    ``group_commit=False`` commits every transaction on its own, and ``statement_thread=True``
    sends every statement to the database thread and back, as aiosqlite did: both exist so
    the benchmark can show what each lever is worth; production uses neither.
    """

    kind = "sqlite"

    def __init__(self, path: Path | str, *, durable: bool = True, group_commit: bool = True,
                 statement_thread: bool = False) -> None:
        self.path = Path(path)
        self.durable = durable
        self.group_commit = group_commit
        self.statement_thread = statement_thread
        self.stats = CommitStats()
        self._writer: sqlite3.Connection | None = None
        self._reader: sqlite3.Connection | None = None
        self._thread: concurrent.futures.ThreadPoolExecutor | None = None
        self._lock = asyncio.Lock()
        self._group: _Group | None = None
        self._committers: set[asyncio.Task[None]] = set()

    def describe(self) -> str:
        """Where the data is, for the operator and the log."""
        return str(self.path.resolve())

    # ------------------------------------------------------------------ life cycle

    @property
    def is_open(self) -> bool:
        return self._writer is not None

    async def open(self) -> None:
        """Open (creating it owner-only if needed), set WAL and durability, migrate, and
        refresh the planner's statistics."""
        if self._writer is not None:
            return
        if not self.path.exists():
            create_private(self.path)
        make_private(self.path)
        self._lock = asyncio.Lock()  # bound to the loop that opens the database
        self._thread = concurrent.futures.ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="sqlite")
        try:
            self._writer, self._reader = await self._in_thread(self._connect)
        except BaseException:
            self._thread.shutdown(wait=False)
            self._thread = None
            raise

    def _connect(self) -> tuple[sqlite3.Connection, sqlite3.Connection]:
        writer = self._connection()
        try:
            writer.execute("PRAGMA journal_mode=WAL")
            # FULL: a commit survives power loss, not only a crash of this process.
            writer.execute(f"PRAGMA synchronous={'FULL' if self.durable else 'NORMAL'}")
            self._migrate(writer)
            writer.execute(f"PRAGMA analysis_limit={ANALYSIS_LIMIT}")
            writer.execute("ANALYZE")
            reader = self._connection()
            reader.execute("PRAGMA query_only=1")  # a write here is a bug: say so loudly
        except BaseException:
            writer.close()
            raise
        return writer, reader

    def _connection(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False,
                               cached_statements=256)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("PRAGMA busy_timeout=5000")
        return conn

    async def close(self) -> None:
        """Wait for the transaction under way, commit what is queued, and close."""
        if self._writer is None:
            return
        async with self._lock:
            if self._group is not None:
                await self._finish(self._group)
            writer, reader, self._writer, self._reader = self._writer, self._reader, None, None
            thread, self._thread = self._thread, None

            def shut() -> None:
                try:
                    writer.execute("PRAGMA optimize")  # statistics for what this run queried
                finally:
                    writer.close()
                    if reader is not None:
                        reader.close()

            if thread is not None:
                try:
                    await asyncio.get_running_loop().run_in_executor(thread, shut)
                finally:
                    thread.shutdown(wait=True)

    async def schema_version(self) -> int:
        row = self._require(self._reader).execute("PRAGMA user_version").fetchone()
        return int(row[0]) if row else 0

    async def migrate(self) -> int:
        """Apply every migration newer than the recorded schema version; return the version."""
        async with self._lock:
            return await self._in_thread(lambda: self._migrate(self._require(self._writer)))

    @staticmethod
    def _migrate(conn: sqlite3.Connection) -> int:
        row = conn.execute("PRAGMA user_version").fetchone()
        current = int(row[0]) if row else 0
        for number, path in migration_files():
            if number <= current:
                continue
            log.info("applying migration %s", path.name)
            script = path.read_text(encoding="utf-8")
            # executescript commits first; the version bump rides in the same script.
            conn.executescript(
                f"BEGIN IMMEDIATE;\n{script}\nPRAGMA user_version={number};\nCOMMIT;")
            current = number
        return current

    # ------------------------------------------------------------------ transactions

    def transaction(self) -> AbstractAsyncContextManager[None]:
        """Run the enclosed statements as one atomic, durable write (see the module's
        docstring: a savepoint inside a group commit). Returns once it is durable."""
        return self._transaction()

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[None]:
        scope = self._scope()
        if scope is not None:  # the same task again: a savepoint inside its transaction
            async with self._savepoint(scope):
                yield
            return
        await self._lock.acquire()
        group: _Group | None = None
        failed = True
        try:
            group = self._group if self._group is not None else await self._begin()
            scope = _Scope(self, asyncio.current_task())
            token = _SCOPE.set(scope)
            try:
                async with self._savepoint(scope):
                    yield
            finally:
                _SCOPE.reset(token)
            group.members += 1
            failed = False
        finally:
            if group is not None and not self.group_commit:
                await self._finish(group)
            self._lock.release()
        if not failed and group is not None:
            await asyncio.shield(group.done)  # durable: now the caller may reply

    @asynccontextmanager
    async def _savepoint(self, scope: _Scope) -> AsyncIterator[None]:
        name = f"s{next(scope.names)}"
        await self._control(f"SAVEPOINT {name}")
        try:
            yield
        except BaseException:
            await self._control(f"ROLLBACK TO {name}")
            await self._control(f"RELEASE {name}")
            raise
        await self._control(f"RELEASE {name}")

    def _scope(self) -> _Scope | None:
        scope = _SCOPE.get()
        if scope is None or scope.db is not self:
            return None
        try:
            task = asyncio.current_task()
        except RuntimeError:
            return None
        return scope if scope.task is task else None

    async def _begin(self) -> _Group:
        writer = self._require(self._writer)
        # Once BEGIN has run, the group exists, even if the task that began it is cancelled
        # meanwhile: the next transaction joins it instead of beginning another.
        future = self._submit(lambda: writer.execute("BEGIN IMMEDIATE"))
        cancelled = await self._settle(future)
        future.result()  # BEGIN's own error, e.g. another process kept the write lock
        group = _Group(asyncio.get_running_loop().create_future())
        self._group = group
        if self.group_commit:
            # Queued on the lock behind whoever is waiting now: they join this group, and
            # whoever comes later waits for the next.
            task = asyncio.create_task(self._commit_in_turn(group), name="sqlite:commit")
            self._committers.add(task)
            task.add_done_callback(self._committers.discard)
        if cancelled:
            raise asyncio.CancelledError
        return group

    async def _commit_in_turn(self, group: _Group) -> None:
        async with self._lock:
            if self._group is group:
                await self._finish(group)

    async def _finish(self, group: _Group) -> None:
        """COMMIT the group (the lock is held), then let its members return."""
        self._group = None
        writer = self._require(self._writer)
        # Whatever happens to the task running this, the members learn what the COMMIT did.
        future = self._submit(lambda: writer.execute("COMMIT"))
        cancelled = await self._settle(future)
        error = future.exception()
        if error is None:
            self.stats.groups += 1
            self.stats.transactions += group.members
            group.done.set_result(None)
        else:
            if writer.in_transaction:
                writer.execute("ROLLBACK")
            log.error("a commit failed (%s); its %d transaction(s) are rolled back",
                      type(error).__name__, group.members)
            group.done.set_exception(error)
            group.done.exception()  # retrieved here: members that left need not see it
        if cancelled:
            raise asyncio.CancelledError

    async def _control(self, sql: str) -> None:
        writer = self._require(self._writer)
        if self.statement_thread:
            await self._in_thread(lambda: writer.execute(sql))
        else:
            writer.execute(sql)

    # ------------------------------------------------------------------ statements

    def _connection_for(self, sql: str) -> sqlite3.Connection | None:
        """The writer inside a transaction, the reader for a read outside one; None for a
        write outside a transaction (it gets one of its own)."""
        if self._scope() is not None:
            return self._require(self._writer)
        if _READ.match(sql):
            return self._require(self._reader)
        return None

    async def _call(self, sql: str, work: Callable[[sqlite3.Connection], T]) -> T:
        conn = self._connection_for(sql)
        if conn is None:
            async with self.transaction():
                return await self._call(sql, work)
        if self.statement_thread:
            return await self._in_thread(lambda: work(conn))
        return work(conn)

    async def fetch_one(self, sql: str, params: Sequence[Any] = ()) -> EngineRow | None:
        def one(conn: sqlite3.Connection) -> EngineRow | None:
            cursor = conn.execute(sql, params)
            try:
                row: EngineRow | None = cursor.fetchone()
                return row
            finally:
                cursor.close()  # the statement is reset: nothing left open at COMMIT

        return await self._call(sql, one)

    async def fetch_all(self, sql: str, params: Sequence[Any] = ()) -> list[EngineRow]:
        rows: list[EngineRow] = await self._call(sql, lambda c: c.execute(sql, params).fetchall())
        return rows

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """One write; how many rows it changed."""
        return await self._call(sql, lambda c: max(c.execute(sql, params).rowcount, 0))

    async def execute_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        await self._call(sql, lambda c: c.executemany(sql, rows))

    # ------------------------------------------------------------------ the thread

    async def _in_thread(self, work: Callable[[], T]) -> T:
        """Run ``work`` on the database thread. Cancelling the caller does not cut it short:
        this returns (or raises) only once the thread is done with the connection."""
        future = self._submit(work)
        try:
            return await asyncio.shield(future)
        except asyncio.CancelledError:
            await self._settle(future)
            raise

    def _submit(self, work: Callable[[], T]) -> asyncio.Future[T]:
        if self._thread is None:
            raise RuntimeError("database is not open")
        return asyncio.get_running_loop().run_in_executor(self._thread, work)

    @staticmethod
    async def _settle(future: asyncio.Future[Any]) -> bool:
        """Wait until ``future`` is done, even through cancellation; True if cancelled."""
        cancelled = False
        while not future.done():
            try:
                await asyncio.wait([future])
            except asyncio.CancelledError:
                cancelled = True
        return cancelled

    @staticmethod
    def _require(conn: sqlite3.Connection | None) -> sqlite3.Connection:
        if conn is None:
            raise RuntimeError("database is not open")
        return conn

    # ------------------------------------------------------------------ for tests

    @contextmanager
    def counting(self) -> Iterator[list[str]]:
        """The statements run on either connection while the block runs (transaction
        control and pragmas left out): tests pin how many queries a screen costs."""
        seen: list[str] = []

        def trace(sql: str) -> None:
            if not _CONTROL.match(sql):
                seen.append(sql)

        conns = [c for c in (self._writer, self._reader) if c is not None]
        for conn in conns:
            conn.set_trace_callback(trace)
        try:
            yield seen
        finally:
            for conn in conns:
                conn.set_trace_callback(None)


def by_name(name: str, member_id: int) -> tuple[str, int]:
    """Members in name order, case aside, the same on every engine (a database's collation
    would differ between SQLite and PostgreSQL, and between PostgreSQL installations)."""
    return name.casefold(), member_id


def marks(values: Sequence[object]) -> str:
    """One ``?`` per value, for ``IN (…)``."""
    return ", ".join("?" * len(values))


class Queries:
    """What every store is built on: the engine's query helpers, with ``?`` placeholders and
    rows addressed by column name, inside the caller's transaction if there is one."""

    def __init__(self, db: Engine) -> None:
        self.db = db

    async def _one(self, sql: str, params: Sequence[Any] = ()) -> EngineRow | None:
        return await self.db.fetch_one(sql, params)

    async def _all(self, sql: str, params: Sequence[Any] = ()) -> list[EngineRow]:
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
