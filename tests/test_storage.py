"""Storage on real SQLite files: migrations, atomic writes, answer history, invites."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.invites import hash_code
from bot.ports import Redeem
from storage.db import Database, migration_files
from storage.store import SqliteStore

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)


@pytest.fixture
async def store(tmp_path: Path):  # type: ignore[no-untyped-def]
    db = Database(tmp_path / "s.sqlite3")
    await db.open()
    yield SqliteStore(db)
    await db.close()


async def test_migrations_apply_once_and_record_the_version(tmp_path: Path) -> None:
    path = tmp_path / "m.sqlite3"
    db = Database(path)
    await db.open()
    latest = len(migration_files())
    assert await db.schema_version() == latest
    async with db.transaction():  # the writer's settings
        assert (await db.fetch_one("PRAGMA journal_mode"))[0] == "wal"
        assert (await db.fetch_one("PRAGMA synchronous"))[0] == 2  # FULL
    await db.close()
    again = Database(path)
    await again.open()  # a second start applies nothing and loses nothing
    assert await again.migrate() == latest
    await again.close()


async def test_a_failed_transaction_leaves_nothing_behind(store: SqliteStore) -> None:
    with pytest.raises(RuntimeError):
        async with store.transaction():
            await store.add_cell("A", "", "", NOW)
            raise RuntimeError("boom")
    assert await store.cells() == []


async def test_committed_answers_survive_reopening(tmp_path: Path) -> None:
    path = tmp_path / "r.sqlite3"
    db = Database(path)
    await db.open()
    store = SqliteStore(db)
    async with store.transaction():
        cell = await store.add_cell("A", "B", "C", NOW)
        member = await store.add_member(cell, "Người Một", NOW)
        round_id = await store.add_round(cell, 2026, "R", NOW.date(), NOW.date(), NOW)
        review = await store.create_review(round_id, member, NOW)
        await store.save_answer(review.id, "q1", "một", skipped=False, vague=False, now=NOW)
        await store.save_answer(review.id, "q1", "hai", skipped=False, vague=True, now=NOW)
    await db.close()

    reopened = Database(path)
    await reopened.open()
    store = SqliteStore(reopened)
    answers = await store.answers(review.id)
    assert answers["q1"].value == "hai" and answers["q1"].vague
    assert [a.value for a in await store.answer_history(review.id, "q1")] == ["một", "hai"]
    await reopened.close()


async def test_saving_an_answer_clears_its_pending_text_and_the_cursor(store: SqliteStore) -> None:
    async with store.transaction():
        cell = await store.add_cell("A", "", "", NOW)
        member = await store.add_member(cell, "X", NOW)
        round_id = await store.add_round(cell, 2026, "R", NOW.date(), NOW.date(), NOW)
        review = await store.create_review(round_id, member, NOW)
        await store.set_pending(review.id, "q1", "đang viết", True)
        await store.set_cursor(review.id, "q0")
        await store.save_answer(review.id, "q2", "x", skipped=False, vague=False, now=NOW)
    kept = await store.review(review.id)
    assert kept is not None and kept.pending_text == "đang viết" and kept.cursor is None
    await store.save_answer(review.id, "q1", "xong", skipped=False, vague=False, now=NOW)
    cleared = await store.review(review.id)
    assert cleared is not None and cleared.pending_qid is None and not cleared.pending_warned


async def test_events_are_claimed_once(store: SqliteStore) -> None:
    assert await store.claim_event("telegram:1", NOW) is True
    assert await store.claim_event("telegram:1", NOW) is False
    await store.forget_events_before(NOW + timedelta(seconds=1))
    assert await store.claim_event("telegram:1", NOW) is True


async def test_invites_are_single_use_expire_and_die_with_the_member(store: SqliteStore) -> None:
    async with store.transaction():
        cell = await store.add_cell("A", "", "", NOW)
        one = await store.add_member(cell, "Một", NOW)
        two = await store.add_member(cell, "Hai", NOW)
        await store.add_invite(one, hash_code("AAAA2222"), NOW, NOW + timedelta(days=1))
        await store.add_invite(two, hash_code("BBBB3333"), NOW, NOW + timedelta(days=1))
    assert await store.redeem_invite(hash_code("ZZZZ9999"), "t", "1", NOW) == (Redeem.UNKNOWN, None)
    late = NOW + timedelta(days=2)
    assert await store.redeem_invite(hash_code("AAAA2222"), "t", "1", late) == (Redeem.EXPIRED, None)
    assert await store.redeem_invite(hash_code("aaaa-2222"), "t", "1", NOW) == (Redeem.OK, one)
    assert await store.redeem_invite(hash_code("AAAA2222"), "t", "2", NOW) == (Redeem.USED, None)
    account = await store.account("t", "1")
    assert account is not None and account.member_id == one
    await store.deactivate_member(two)
    assert await store.redeem_invite(hash_code("BBBB3333"), "t", "3", NOW) == (Redeem.REVOKED, None)


async def test_only_one_open_round_per_cell(store: SqliteStore) -> None:
    import sqlite3

    cell = await store.add_cell("A", "", "", NOW)
    await store.add_round(cell, 2026, "R1", NOW.date(), NOW.date(), NOW)
    with pytest.raises(sqlite3.IntegrityError):
        await store.add_round(cell, 2026, "R2", NOW.date(), NOW.date(), NOW)


async def test_submissions_are_numbered_versions(store: SqliteStore) -> None:
    cell = await store.add_cell("A", "", "", NOW)
    member = await store.add_member(cell, "X", NOW)
    round_id = await store.add_round(cell, 2026, "R", NOW.date(), NOW.date(), NOW)
    review = await store.create_review(round_id, member, NOW)
    assert await store.add_submission(review.id, "a.docx", b"1", NOW) == 1
    assert await store.add_submission(review.id, "b.docx", b"2", NOW) == 2
    latest = await store.latest_submission(review.id)
    assert latest is not None and (latest.version, latest.docx) == (2, b"2")


async def test_migration_5_keeps_old_rounds_on_the_2023_form_and_leaders_as_leaders(
    tmp_path: Path,
) -> None:
    """A database from before the 2025 forms: its rounds named no form (the default then was
    the 2023 form) and its leaders were a flag; after migrating, the rounds keep 02A/02B and
    the leaders are category "leader"."""
    import sqlite3

    path = tmp_path / "old.sqlite3"
    with sqlite3.connect(path) as conn:
        for number, script in migration_files():
            if number <= 5:
                conn.executescript(script.read_text(encoding="utf-8"))
        conn.executescript(
            "PRAGMA user_version=5;"
            "INSERT INTO cells (id, name, created_at) VALUES (1, 'A', '2026-01-01');"
            "INSERT INTO members (id, cell_id, full_name, is_leader, created_at)"
            " VALUES (1, 1, 'Lãnh Đạo', 1, '2026-01-01'), (2, 1, 'Đảng Viên', 0, '2026-01-01');"
            "INSERT INTO rounds (id, cell_id, year, title, meeting_date, member_due, created_at)"
            " VALUES (1, 1, 2025, 'x', '2025-12-18', '2025-12-10', '2025-11-01');")
    db = Database(path)
    await db.open()
    store = SqliteStore(db)
    leader, member = await store.member(1), await store.member(2)
    assert leader is not None and leader.category.value == "leader" and leader.is_leader
    assert member is not None and member.category.value == "no_post" and member.standing is None
    old_round = await store.round(1)
    assert old_round is not None and old_round.form_id == "form-02-2023"
    await db.close()
