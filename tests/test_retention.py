"""Retention (issue 11, item 4): a closed round's export, the dry run, the purge of its answer
texts after ``retention.days`` with the counts and levels kept, the refusals (an open round,
a round not exported, too early, twice), the operator's commands, and a purge killed with
SIGKILL half-way (all or nothing)."""

from __future__ import annotations

import asyncio
import dataclasses
import io
import os
import signal
import sqlite3
import subprocess
import sys
import zipfile
from datetime import timedelta
from pathlib import Path

import pytest
from openpyxl import load_workbook

from bot.config import RetentionSettings, load_settings
from bot.operations import OperationError
from bot.retention import ACCESS_LOG, TRACKER
from handlers.cli import main as tusoi
from handlers.wiring import Core, build_core
from tests.committeehelpers import DOCX, Fixture, build
from tests.conftest import REPO, FixedClock, make_settings
from tests.test_operator import HEADER, PEOPLE
from tests.test_roster import csv_text

SECRET = "Câu trả lời riêng tư XYZ-2026"


async def fixture_core(tmp_path: Path, clock: FixedClock, days: int = 365) -> tuple[Core, Fixture]:
    settings = dataclasses.replace(make_settings(tmp_path), retention=RetentionSettings(days))
    core = build_core(settings, clock)
    await core.open()
    fx = await build(core)
    return core, fx


async def close_a_with_a_secret(core: Core, fx: Fixture) -> tuple[int, int]:
    """Cell A's round closed, after its secretary wrote a free-text answer: (round, review)."""
    store, now = core.store, core.clock.now()
    async with store.transaction():
        review = await store.review_for(fx.rounds["A"], fx.secretary_id)
        assert review is not None
        await store.save_answer(review.id, "g1-02", SECRET, skipped=False, vague=False, now=now)
        await core.operations.close_round(fx.cells["A"])
    return fx.rounds["A"], review.id


def count(core_path: Path, sql: str, *params: object) -> int:
    with sqlite3.connect(core_path) as conn:
        return int(conn.execute(sql, params).fetchone()[0])


async def test_export_then_purge_keeps_the_counts_levels_and_scores(
        tmp_path: Path, clock: FixedClock) -> None:
    core, fx = await fixture_core(tmp_path, clock)
    try:
        round_a, secret_review = await close_a_with_a_secret(core, fx)
        before = await core.service.committee.summary(fx.committee_id)
        retention = core.retention

        plan = await retention.plan(round_a)
        assert plan.refusal == "not_exported"
        assert plan.counts["answers"] == 9 and plan.counts["drafts"] == 7

        async with core.store.transaction():
            export = await retention.export(round_a)
        assert (export.members, export.drafts) == (8, 7)  # 7 submitted, 1 started
        archive = zipfile.ZipFile(io.BytesIO(export.content))
        names = archive.namelist()
        assert TRACKER in names and ACCESS_LOG in names
        secretary = next(n for n in names if n.startswith(f"{fx.secretary_id}-")
                         and n.endswith("/cau-tra-loi.csv"))
        assert SECRET in archive.read(secretary).decode("utf-8-sig")
        assert sum(archive.read(n) == DOCX for n in names if n.endswith(".docx")) == 7
        # The workbook has counts, statuses, levels and scores, never an answer's text.
        book = load_workbook(io.BytesIO(archive.read(TRACKER)))
        cells_text = [str(c.value) for s in book.worksheets for row in s.iter_rows()
                      for c in row if c.value is not None]
        assert not any(SECRET in text for text in cells_text)
        assert "95" in cells_text  # the first leader's score
        log = archive.read(ACCESS_LOG).decode("utf-8-sig")
        assert "committee_officer_add" not in log  # about the office cell, not this round
        assert "delete_own" not in log and log.startswith("Mã dòng")

        plan = await retention.plan(round_a)
        assert plan.refusal == "too_early"
        assert plan.earliest == plan.closed_on + timedelta(days=365)  # type: ignore[operator]
        with pytest.raises(OperationError) as refused:
            await retention.purge(round_a)
        assert refused.value.kind == "purge_too_early"

        clock.advance(days=365)
        plan = await retention.plan(round_a)
        assert plan.ready
        await retention.purge(round_a)
        db = tmp_path / "tusoi.sqlite3"
        reviews = "SELECT id FROM reviews WHERE round_id = ?"
        assert count(db, f"SELECT COUNT(*) FROM answers WHERE review_id IN ({reviews})",
                     round_a) == 0
        assert count(db, f"SELECT COUNT(*) FROM answer_history WHERE review_id IN ({reviews})",
                     round_a) == 0
        assert count(db, f"SELECT COUNT(*) FROM submissions WHERE review_id IN ({reviews})"
                         " AND LENGTH(docx) > 0", round_a) == 0
        assert count(db, f"SELECT COUNT(*) FROM submissions WHERE review_id IN ({reviews})",
                     round_a) == 7  # names and dates stay
        assert count(db, "SELECT COUNT(*) FROM reviews WHERE id = ? AND purged_at IS NOT NULL",
                     secret_review) == 1
        # Cell B's round is open and untouched.
        assert count(db, f"SELECT COUNT(*) FROM answers WHERE review_id IN ({reviews})",
                     fx.rounds["B"]) == 15

        after = await core.service.committee.summary(fx.committee_id)
        assert [(c.cell.id, c.counts, c.segments) for c in after.cells] == [
            (c.cell.id, c.counts, c.segments) for c in before.cells]
        assert [[(m.id, m.status, m.level, m.score) for m in c.members] for c in after.cells] == [
            [(m.id, m.status, m.level, m.score) for m in c.members] for c in before.cells]
        assert after.cap == before.cap

        with pytest.raises(OperationError) as twice:
            await retention.purge(round_a)
        assert twice.value.kind == "purge_purged"
        round_ = await core.store.round(round_a)
        assert round_ is not None and round_.purged_at is not None
    finally:
        await core.close()


async def test_a_purge_or_export_asked_for_an_open_round_is_refused(
        tmp_path: Path, clock: FixedClock) -> None:
    core, fx = await fixture_core(tmp_path, clock, days=0)
    try:
        plan = await core.retention.plan(fx.rounds["B"])
        assert plan.refusal == "round_open" and plan.counts["answers"] == 15
        for attempt in (core.retention.purge, core.retention.export):
            with pytest.raises(OperationError) as refused:
                await attempt(fx.rounds["B"])
            assert refused.value.kind in ("purge_round_open", "round_open")
        with pytest.raises(OperationError) as unknown:
            await core.retention.plan(9999)
        assert unknown.value.kind == "no_round"
        db = tmp_path / "tusoi.sqlite3"
        assert count(db, "SELECT COUNT(*) FROM rounds WHERE exported_at IS NOT NULL"
                         " OR purged_at IS NOT NULL") == 0
    finally:
        await core.close()


# ------------------------------------------------------------------ the operator's commands


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("TUSOI_TELEGRAM_TOKEN", raising=False)
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "ops.toml"
    path.write_text(f'[database]\npath = "{tmp_path / "ops.sqlite3"}"\n'
                    f'[telegram]\nbot_username = "tusoi_test_bot"\n'
                    f'[retention]\ndays = 0\n', encoding="utf-8")
    return path


def run(capsys: pytest.CaptureFixture[str], config: Path, *args: str) -> tuple[int, str, str]:
    code = tusoi([*args, "--config", str(config)])
    out, err = capsys.readouterr()
    return code, out, err


def test_operator_sets_up_committees_and_archives_and_purges_a_round(
        capsys: pytest.CaptureFixture[str], config: Path, tmp_path: Path) -> None:
    assert run(capsys, config, "committee", "add", "--name", "Đảng bộ Phường Hòa Bình")[0] == 0
    code, _, err = run(capsys, config, "committee", "add", "--name", "phường hoà bình")
    assert code == 1 and "đã có Đảng bộ Phường Hòa Bình (mã số 1)" in err
    code, out, _ = run(capsys, config, "cell", "add", "--name", "Phòng Tổ chức", "--committee",
                       "1")
    assert code == 0 and "thuộc Đảng bộ Phường Hòa Bình" in out
    run(capsys, config, "cell", "add", "--name", "Phòng Kế hoạch")
    code, out, _ = run(capsys, config, "cell", "move", "--cell", "2", "--committee",
                       "Đảng bộ Xã An Khánh")
    assert code == 0 and "Đã thêm Đảng bộ Xã An Khánh, mã số 2" in out
    run(capsys, config, "member", "add", "--cell", "1", "--name", "Bùi Văn Đảng")
    # The roster import learns the committee: the cell joins it with the same transaction.
    roster = tmp_path / "ds.csv"
    roster.write_bytes(csv_text([HEADER, *PEOPLE]).encode("utf-8"))
    code, out, err = run(capsys, config, "cell", "add", "--name", "Trường Sao Mai")
    code, out, err = run(capsys, config, "roster", "import", "--cell", "3", str(roster),
                         "--committee", "phường hòa bình")
    assert code == 0, err
    assert "3 người mới" in out and "nay thuộc Đảng bộ Phường Hòa Bình" in out
    code, out, err = run(capsys, config, "roster", "import", "--cell", "3", str(roster),
                         "--committee", "9")
    assert code == 1 and "không có đảng bộ mã số 9" in err
    code, out, _ = run(capsys, config, "committee", "officer", "--committee", "2", "--member",
                       "1")
    assert code == 0 and "/dangbo" in out
    code, _, err = run(capsys, config, "committee", "officer", "--committee", "Không Có",
                       "--member", "1")
    assert code == 1 and "không có đảng bộ nào tên «Không Có»" in err
    code, out, _ = run(capsys, config, "committee", "list")
    assert "1\tĐảng bộ Phường Hòa Bình\n\tChi bộ: 1. Phòng Tổ chức; 3. Trường Sao Mai" in out
    assert "Cán bộ được xem: 1. Bùi Văn Đảng" in out
    code, out, _ = run(capsys, config, "committee", "officer", "--committee", "2", "--member",
                       "1", "--remove")
    assert code == 0 and "Đã thu hồi" in out

    run(capsys, config, "round", "open", "--cell", "1", "--meeting", "18/12/2026")
    # A purge (or an export) asked for an open round: refused, nothing happens.
    code, _, err = run(capsys, config, "round", "purge", "--round", "1")
    assert code == 1 and "đợt còn đang mở" in err
    code, _, err = run(capsys, config, "round", "export", "--round", "1", "--out", "a.zip")
    assert code == 1 and "còn đang mở" in err and not (tmp_path / "a.zip").exists()
    code, out, _ = run(capsys, config, "round", "purge", "--round", "1", "--dry-run")
    assert code == 0 and "Chạy thử, chưa xoá gì" in out and "đợt còn đang mở" in out

    run(capsys, config, "round", "close", "--cell", "1")
    code, _, err = run(capsys, config, "round", "purge", "--round", "1")
    assert code == 1 and "chưa được lưu trữ" in err
    code, out, _ = run(capsys, config, "round", "export", "--round", "1", "--out", "a.zip")
    assert code == 0 and "Đã lưu trữ" in out
    assert (tmp_path / "a.zip").stat().st_mode & 0o077 == 0
    code, _, err = run(capsys, config, "round", "export", "--round", "1", "--out", "a.zip")
    assert code == 1 and "đã có; không ghi đè" in err
    code, out, _ = run(capsys, config, "round", "purge", "--round", "1", "--dry-run")
    assert "Có thể xoá ngay" in out
    code, out, _ = run(capsys, config, "round", "list", "--cell", "1")
    assert "đã lưu trữ" in out and "đã xoá" not in out
    code, out, _ = run(capsys, config, "round", "purge", "--round", "1")
    assert code == 0 and "Đã xoá nội dung trả lời" in out
    code, out, _ = run(capsys, config, "round", "list", "--cell", "1")
    assert "đã xoá nội dung trả lời" in out
    code, _, err = run(capsys, config, "round", "purge", "--round", "7")
    assert code == 1 and "không có đợt kiểm điểm mã số 7" in err


# ------------------------------------------------------------------ killed half-way

KILLED_PURGE = """
import asyncio, sys
from storage.store import SqliteStore
from handlers.cli import main

async def hang(self, round_id, now):  # every answer text is deleted by now, uncommitted
    print("MID", flush=True)
    await asyncio.sleep(3600)

SqliteStore.mark_round_purged = hang
sys.exit(main(sys.argv[1:]))
"""


async def _closed_and_exported(config: Path) -> int:
    core = build_core(load_settings(config), FixedClock())
    await core.open()
    try:
        fx = await build(core)
        round_a, _ = await close_a_with_a_secret(core, fx)
        async with core.store.transaction():
            await core.retention.export(round_a)
        return round_a
    finally:
        await core.close()


def test_a_purge_killed_with_sigkill_half_way_removes_nothing(
        config: Path, tmp_path: Path) -> None:
    round_a = asyncio.run(_closed_and_exported(config))
    db = tmp_path / "ops.sqlite3"
    state = ("SELECT (SELECT COUNT(*) FROM answers) || '/' || (SELECT COUNT(*) FROM"
             " answer_history) || '/' || (SELECT SUM(LENGTH(docx)) FROM submissions) || '/' ||"
             " (SELECT COUNT(*) FROM reviews WHERE purged_at IS NOT NULL)")

    def snapshot() -> str:
        with sqlite3.connect(db) as conn:
            return str(conn.execute(state).fetchone()[0])

    before = snapshot()
    proc = subprocess.Popen(
        [sys.executable, "-c", KILLED_PURGE, "round", "purge", "--round", str(round_a),
         "--config", str(config)], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(REPO)})
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == b"MID"
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    assert snapshot() == before  # all or nothing: nothing
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT purged_at FROM rounds WHERE id = ?",
                            (round_a,)).fetchone()[0] is None
    # Run again, to the end: every answer text of the round goes.
    assert tusoi(["round", "purge", "--round", str(round_a), "--config", str(config)]) == 0
    assert snapshot() != before
    assert count(db, "SELECT COUNT(*) FROM answers a JOIN reviews v ON v.id = a.review_id"
                     " WHERE v.round_id = ?", round_a) == 0
