"""The SQLite engine's transactions: group commit, savepoints, and what each caller may rely
on. Every check reads the database through a second, independent connection, which sees only
what is committed: "committed" here means what a crash right now would keep."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from storage.db import Database


@pytest.fixture
async def db(tmp_path: Path):  # type: ignore[no-untyped-def]
    database = Database(tmp_path / "g.sqlite3")
    await database.open()
    await database.execute("CREATE TABLE IF NOT EXISTS t (n INTEGER PRIMARY KEY, who TEXT)")
    yield database
    await database.close()


def committed(db: Database) -> list[int]:
    """What another connection sees: only committed rows."""
    with sqlite3.connect(db.path) as other:
        return [n for (n,) in other.execute("SELECT n FROM t ORDER BY n")]


async def test_concurrent_transactions_share_commits_and_each_returns_once_durable(
    db: Database,
) -> None:
    seen_at_return: dict[int, list[int]] = {}

    async def member(n: int) -> None:
        async with db.transaction():
            await db.execute("INSERT INTO t (n, who) VALUES (?, 'member')", (n,))
            await asyncio.sleep(0)  # let the others queue up meanwhile
        seen_at_return[n] = committed(db)  # the moment this caller would reply

    before = db.stats.groups
    await asyncio.gather(*(member(n) for n in range(1, 41)))
    for n, rows in seen_at_return.items():
        assert n in rows, f"transaction {n} returned before its COMMIT"
    assert committed(db) == list(range(1, 41))
    assert db.stats.groups - before < 40  # some commits held several transactions


async def test_a_failing_transaction_rolls_back_alone_inside_its_group(db: Database) -> None:
    started = asyncio.Event()

    async def member(n: int) -> None:
        async with db.transaction():
            await db.execute("INSERT INTO t (n, who) VALUES (?, 'member')", (n,))
            if n == 2:
                started.set()
                raise ValueError("this member's handler fails")

    results = await asyncio.gather(*(member(n) for n in (1, 2, 3)), return_exceptions=True)
    assert isinstance(results[1], ValueError) and results[0] is None and results[2] is None
    assert started.is_set()
    assert committed(db) == [1, 3]


async def test_a_failed_commit_fails_every_transaction_of_its_group_and_keeps_none(
    db: Database,
) -> None:
    await db.execute("CREATE TABLE IF NOT EXISTS parent (id INTEGER PRIMARY KEY)")
    await db.execute("CREATE TABLE IF NOT EXISTS child (parent_id INTEGER REFERENCES parent(id)"
                     " DEFERRABLE INITIALLY DEFERRED)")
    gate = asyncio.Event()

    async def holder() -> None:  # keeps the group open until the others have joined it
        async with db.transaction():
            await db.execute("INSERT INTO t (n, who) VALUES (100, 'holder')")
            await gate.wait()

    async def member(n: int) -> None:
        async with db.transaction():
            await db.execute("INSERT INTO t (n, who) VALUES (?, 'member')", (n,))
            if n == 1:  # a deferred foreign key: only the COMMIT can refuse it
                await db.execute("INSERT INTO child (parent_id) VALUES (999)")

    # Started together: the two members queue while the holder's group begins, so the
    # three share its COMMIT.
    tasks = [asyncio.create_task(holder()), *(asyncio.create_task(member(n)) for n in (1, 2))]
    await asyncio.sleep(0.05)
    gate.set()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert all(isinstance(r, sqlite3.IntegrityError) for r in results), results
    assert committed(db) == []
    async with db.transaction():  # the engine goes on with the next group
        await db.execute("INSERT INTO t (n, who) VALUES (7, 'after')")
    assert committed(db) == [7]


async def test_a_nested_transaction_is_a_savepoint_of_the_same_task(db: Database) -> None:
    async with db.transaction():
        await db.execute("INSERT INTO t (n, who) VALUES (1, 'outer')")
        with pytest.raises(ValueError):
            async with db.transaction():
                await db.execute("INSERT INTO t (n, who) VALUES (2, 'inner')")
                raise ValueError("the inner part fails")
        async with db.transaction():
            await db.execute("INSERT INTO t (n, who) VALUES (3, 'inner')")
        assert committed(db) == []  # nothing is committed before the outer one ends
    assert committed(db) == [1, 3]


async def test_reads_outside_a_transaction_see_only_what_is_committed(db: Database) -> None:
    inside, done = asyncio.Event(), asyncio.Event()

    async def writer() -> None:
        async with db.transaction():
            await db.execute("INSERT INTO t (n, who) VALUES (5, 'writer')")
            assert [r["n"] for r in await db.fetch_all("SELECT n FROM t")] == [5]  # its own
            inside.set()
            await done.wait()

    task = asyncio.create_task(writer())
    await inside.wait()
    assert await db.fetch_all("SELECT n FROM t") == []  # not committed yet: not seen
    done.set()
    await task
    assert [r["n"] for r in await db.fetch_all("SELECT n FROM t")] == [5]


async def test_a_write_outside_a_transaction_commits_by_itself(db: Database) -> None:
    await db.execute("INSERT INTO t (n, who) VALUES (9, 'alone')")
    assert committed(db) == [9]


async def test_without_group_commit_every_transaction_has_its_own_commit(tmp_path: Path) -> None:
    db = Database(tmp_path / "single.sqlite3", group_commit=False)
    await db.open()
    try:
        await db.execute("CREATE TABLE t (n INTEGER PRIMARY KEY, who TEXT)")
        before = db.stats.groups

        async def member(n: int) -> None:
            async with db.transaction():
                await db.execute("INSERT INTO t (n, who) VALUES (?, 'member')", (n,))
                await asyncio.sleep(0)
            assert n in committed(db)

        await asyncio.gather(*(member(n) for n in range(10)))
        assert db.stats.groups - before == 10
    finally:
        await db.close()


async def test_a_caller_cancelled_while_its_commit_is_under_way_leaves_the_others_unharmed(
    db: Database,
) -> None:
    async def member(n: int) -> None:
        async with db.transaction():
            await db.execute("INSERT INTO t (n, who) VALUES (?, 'member')", (n,))

    tasks = [asyncio.create_task(member(n)) for n in range(1, 9)]
    await asyncio.sleep(0)
    tasks[0].cancel()  # gone before or after its work joined a group: either is consistent
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert all(r is None for r in results[1:]), results
    assert set(range(2, 9)) <= set(committed(db))
    async with db.transaction():
        await db.execute("INSERT INTO t (n, who) VALUES (50, 'after')")
    assert 50 in committed(db)


async def test_closing_commits_what_is_queued(tmp_path: Path) -> None:
    db = Database(tmp_path / "close.sqlite3")
    await db.open()
    await db.execute("CREATE TABLE t (n INTEGER PRIMARY KEY, who TEXT)")

    async def member(n: int) -> None:
        async with db.transaction():
            await db.execute("INSERT INTO t (n, who) VALUES (?, 'member')", (n,))

    tasks = [asyncio.create_task(member(n)) for n in range(5)]
    await asyncio.sleep(0)
    await asyncio.gather(*tasks)
    await db.close()
    assert committed(db) == list(range(5))


async def test_the_statement_counter_sees_each_query_once(db: Database) -> None:
    with db.counting() as statements:
        async with db.transaction():
            await db.execute("INSERT INTO t (n, who) VALUES (1, 'x')")
            await db.fetch_all("SELECT n FROM t")
        await db.fetch_one("SELECT COUNT(*) FROM t")
    assert len(statements) == 3  # BEGIN, SAVEPOINT, RELEASE and COMMIT are not counted
