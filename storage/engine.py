"""The seam between the stores and a database engine (SQLite or PostgreSQL).

Stores hold ONE body of SQL, written with ``?`` placeholders and portable to both engines
(``INSERT … ON CONFLICT DO NOTHING``, ``RETURNING id``, no ``COLLATE NOCASE``, no temporary
tables, every moment as fixed-width UTC text: ``storage.outbox.ts``). An engine owns its
connections and runs that SQL through four helpers; rows are addressed by column name.

Only callers open transactions: ``transaction()`` is an async context manager in which every
statement commits together, durably, or not at all. Store methods never open one. Outside a
transaction each statement commits by itself.

``storage.url`` in the configuration chooses the engine (``open_engine``): empty, a path or
``sqlite:///path`` is SQLite (``storage.db.Database``); ``postgresql://…`` is PostgreSQL
(``storage.pg.PgDatabase``).
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol


class Row(Protocol):
    """A result row: ``row["column"]`` (``sqlite3.Row``, psycopg's ``dict_row``)."""

    def __getitem__(self, key: str, /) -> Any: ...


class Engine(Protocol):
    kind: str  # "sqlite" or "postgres"

    async def open(self) -> None:
        """Connect and apply the migrations this engine has not seen yet."""
        ...

    async def close(self) -> None: ...
    async def schema_version(self) -> int: ...
    def describe(self) -> str:
        """Where the data is, for the operator and the log (never a password)."""
        ...

    def transaction(self) -> AbstractAsyncContextManager[None]: ...
    async def fetch_one(self, sql: str, params: Sequence[Any] = ()) -> Row | None: ...
    async def fetch_all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]: ...
    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int: ...
    async def execute_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None: ...


POSTGRES_SCHEMES = ("postgresql://", "postgres://")


def is_postgres(url: str) -> bool:
    return url.startswith(POSTGRES_SCHEMES)


def sqlite_path(url: str, default: str) -> str:
    """The SQLite file a ``storage.url`` names (empty: ``database.path``)."""
    if not url:
        return default
    return url.removeprefix("sqlite:///") if url.startswith("sqlite:///") else url


def open_engine(url: str, *, sqlite_default: str, durable: bool = True,
                pool_size: int = 10) -> Engine:
    """The engine ``url`` names (not yet opened)."""
    if is_postgres(url):
        from storage.pg import PgDatabase

        return PgDatabase(url, max_size=pool_size)
    from storage.db import Database

    return Database(sqlite_path(url, sqlite_default), durable=durable)
