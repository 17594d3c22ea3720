"""Problem 17: files only their owner can read, roster uploads wiped once decided, and a
backup that keeps every committed answer, even those still in the write-ahead log."""

from __future__ import annotations

import os
import shutil
import sqlite3
import stat
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from handlers.cli import main as tusoi
from handlers.console import save_draft
from handlers.wiring import Core
from storage.backup import BackupError, backup, restore
from storage.db import Database
from tests.conftest import Chat, FixedClock, seed
from tests.test_roster import csv_text


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@contextmanager
def umask(value: int) -> Iterator[None]:
    old = os.umask(value)
    try:
        yield
    finally:
        os.umask(old)


async def test_problem_17_database_wal_shm_drafts_and_backups_are_owner_only(
    tmp_path: Path,
) -> None:
    with umask(0o022):  # the usual umask, which made everything world-readable
        db = Database(tmp_path / "new" / "tusoi.sqlite3")
        await db.open()
        async with db.transaction():
            await db.execute("INSERT INTO cells (name, party_committee, place, created_at)"
                                  " VALUES ('A', '', '', '2026-01-01')")
        path = db.path
        assert mode(path.parent) == 0o700
        for part in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
            assert part.exists() and mode(part) == 0o600, part
        await db.close()
        draft = save_draft(tmp_path / "drafts", "ban-kiem-diem.docx", b"PK...")
        assert mode(draft) == 0o600 and mode(draft.parent) == 0o700
        report = backup(path, tmp_path / "saved.sqlite3")
        assert mode(Path(report.target)) == 0o600
        # A database an older version left world-readable is tightened when opened.
        os.chmod(path, 0o644)
        await db.open()
        assert mode(path) == 0o600
        await db.close()


async def test_problem_17_roster_uploads_are_wiped_once_confirmed_or_cancelled(
    core: Core, clock: FixedClock
) -> None:
    seeded = await seed(core)
    secretary = Chat(core, "s")
    await secretary.say(f"liên kết {seeded.codes[seeded.secretary_id]}")
    roster = csv_text([["Họ và tên", "Ngày sinh", "Lãnh đạo"], ["Vũ Thị Mai", "01/02/1990", ""]])

    async def upload() -> int:
        from bot.screens import Document, Incoming

        screens = await core.service.handle(Incoming(
            "test", "s", event_key=f"u{clock.now().timestamp()}",
            document=Document("ds.csv", roster.encode())))
        secretary.last = screens
        clock.advance(seconds=1)
        return secretary.button("roster_confirm").press.target

    def content(upload_id: int) -> bytes:
        with sqlite3.connect(core.db.path) as conn:
            return bytes(conn.execute("SELECT content FROM roster_uploads WHERE id = ?",
                                      (upload_id,)).fetchone()[0])

    cancelled = await upload()
    assert content(cancelled) == roster.encode()
    await secretary.press(secretary.button("roster_cancel"))
    assert content(cancelled) == b""
    confirmed = await upload()
    await secretary.press(secretary.button("roster_confirm"))
    assert "secretary/roster_imported" in secretary.templates()
    assert content(confirmed) == b""
    forgotten = await upload()  # never decided: wiped after a week, at the next start
    clock.advance(days=8)
    await core.close()
    await core.open()
    assert content(forgotten) == b""


WRITER = r"""
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("PRAGMA journal_mode=WAL")
conn.execute("PRAGMA wal_autocheckpoint=0")  # keep every answer in the -wal file
for n in range(int(sys.argv[2])):
    conn.execute("INSERT INTO answers (review_id, qid, value, skipped, vague, updated_at)"
                 " VALUES (1, ?, 'câu trả lời', 0, 0, '2026-12-01')", (f"q{n}",))
    print(f"q{n}", flush=True)
print("DONE", flush=True)
sys.stdin.readline()  # hold the connection: the answers stay in the WAL until it closes
"""


def answers(path: Path) -> set[str]:
    with sqlite3.connect(path) as conn:
        return {r[0] for r in conn.execute("SELECT qid FROM answers")}


def write_and_back_up(live: Path, total: int, tmp_path: Path,
                      capsys: pytest.CaptureFixture[str]) -> Path:
    """Another process commits ``total`` answers, all left in the -wal file; back up while it
    writes and once it is done (through ``tusoi backup``). Returns the final backup."""
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(live), str(total)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert writer.stdout is not None
        for line in writer.stdout:
            if line.strip() == "q100":
                break
        during = backup(live, tmp_path / "during.sqlite3")  # while the writer commits
        seen = answers(Path(during.target))
        assert len(seen) >= 101 and seen == {f"q{n}" for n in range(len(seen))}  # a prefix
        for line in writer.stdout:  # every answer committed
            if line == "DONE\n":
                break
        assert os.path.getsize(f"{live}-wal") > 0
        naive = tmp_path / "naive.sqlite3"
        shutil.copy(live, naive)  # what an operator might do: copy only the main file
        assert len(answers(naive)) < total  # the last answers are only in the -wal file

        config = tmp_path / "c.toml"
        config.write_text(f'[database]\npath = "{live}"\n', encoding="utf-8")
        saved = tmp_path / "saved.sqlite3"
        assert tusoi(["backup", str(saved), "--config", str(config)]) == 0
        assert "Đã sao lưu" in capsys.readouterr().out
        assert tusoi(["backup", str(saved), "--config", str(config)]) == 1  # never overwrites
        assert "đã có; không ghi đè" in capsys.readouterr().err
    finally:
        writer.communicate("\n", timeout=30)
    return saved


async def test_problem_17_backup_during_writes_then_restore_keeps_every_committed_answer(
    core: Core, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    seeded = await seed(core)
    async with core.store.transaction():
        await core.store.create_review(seeded.round_id, seeded.member_id, core.clock.now())
    await core.close()
    live = core.db.path
    total = 400
    saved = write_and_back_up(live, total, tmp_path, capsys)
    assert answers(saved) == {f"q{n}" for n in range(total)}
    assert not Path(f"{saved}-wal").exists()  # one self-contained file

    # Restore over a database that has since changed, with a -wal of its own.
    with sqlite3.connect(live) as conn:
        conn.execute("DELETE FROM answers WHERE qid LIKE 'q1%'")
    config = tmp_path / "c.toml"
    assert tusoi(["restore", str(saved), "--config", str(config)]) == 1  # asks for --yes
    assert "--yes" in capsys.readouterr().err
    assert tusoi(["restore", str(saved), "--yes", "--config", str(config)]) == 0
    assert "Đã khôi phục" in capsys.readouterr().out
    await core.open()  # the bot starts again on the restored data
    review = await core.store.review_for(seeded.round_id, seeded.member_id)
    assert review is not None
    assert set(await core.store.answers(review.id)) == {f"q{n}" for n in range(total)}


def test_problem_17_restore_refuses_what_is_not_a_backup(tmp_path: Path) -> None:
    junk = tmp_path / "junk.sqlite3"
    junk.write_bytes(b"not a database at all" * 100)
    with pytest.raises(BackupError) as raised:
        restore(junk, tmp_path / "live.sqlite3")
    assert raised.value.kind == "not_a_backup"
    assert not (tmp_path / "live.sqlite3").exists()
