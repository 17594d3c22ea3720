"""Backup and restore with SQLite's online backup API.

A copy of the main database file alone misses whatever is still in its ``-wal`` file: the
last committed answers. ``backup`` reads the database through SQLite, in one step under
one read transaction, so it sees every committed transaction (WAL included) and nothing
half-done, even while the bot keeps writing. The result is one self-contained file
(rollback journal, no ``-wal``), readable only by its owner.

``restore`` copies a backup into the configured database through the same API, so a stale
``-wal`` beside the old file can never be replayed over the restored data.
"""

from __future__ import annotations

import os
import sqlite3
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from storage.db import create_private, migration_files


class BackupError(Exception):
    """A backup or restore that cannot be done; ``kind`` and ``context`` name why."""

    def __init__(self, kind: str, **context: object) -> None:
        super().__init__(kind)
        self.kind = kind
        self.context = context


@dataclass(frozen=True)
class BackupReport:
    source: str
    target: str
    size: int
    version: int


def _version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def backup(database: Path, target: Path) -> BackupReport:
    """Write a consistent copy of ``database`` to ``target`` (which must not exist)."""
    if not database.is_file():
        raise BackupError("no_database", path=str(database))
    if target.exists():
        raise BackupError("backup_exists", path=str(target))
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    create_private(partial)
    try:
        with closing(sqlite3.connect(database, timeout=30)) as source, \
                closing(sqlite3.connect(partial)) as copy:
            source.backup(copy)  # all pages in one step: one consistent snapshot
            copy.execute("PRAGMA journal_mode=DELETE")
            if copy.execute("PRAGMA quick_check").fetchone()[0] != "ok":
                raise BackupError("not_a_backup", path=str(target), reason="quick_check")
            version = _version(copy)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return BackupReport(str(database), str(target), target.stat().st_size, version)


def restore(source: Path, database: Path) -> BackupReport:
    """Replace the content of ``database`` with the backup ``source``. Stop the bot first."""
    if not source.is_file():
        raise BackupError("not_a_backup", path=str(source), reason="no such file")
    supported = len(migration_files())
    try:
        with closing(sqlite3.connect(f"file:{source}?mode=ro", uri=True)) as backup_conn:
            if backup_conn.execute("PRAGMA quick_check").fetchone()[0] != "ok":
                raise BackupError("not_a_backup", path=str(source), reason="quick_check")
            tables = {r[0] for r in backup_conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'")}
            if not {"members", "answers", "rounds"} <= tables:
                raise BackupError("not_a_backup", path=str(source), reason="no tusoi tables")
            version = _version(backup_conn)
            if version > supported:
                raise BackupError("backup_too_new", path=str(source), version=version,
                                  supported=supported)
            if not database.exists():
                create_private(database)
            with closing(sqlite3.connect(database, timeout=30)) as live:
                backup_conn.backup(live)
    except sqlite3.DatabaseError as exc:
        raise BackupError("not_a_backup", path=str(source), reason=str(exc)) from None
    return BackupReport(str(source), str(database), database.stat().st_size, version)
