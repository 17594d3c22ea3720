"""The operator's first hour (issue 8, problems 14, 15, 16, 21 and the newcomer's notes):
every command through the real ``tusoi`` entry point on a real SQLite file, in Vietnamese,
with the same rules as the secretary's desk (bot/operations.py)."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from handlers.cli import main as tusoi
from tests.conftest import REPO
from tests.test_roster import cp1258_form, csv_text, xlsx_bytes

HEADER = ["Họ và tên", "Ngày sinh", "Chức vụ Đảng", "Lãnh đạo"]
PEOPLE = [
    ["Trần Văn Bình", "12/03/1979", "Đảng viên", "không"],
    ["Lê Thị Thu Hương", "05/09/1985", "Phó Bí thư chi bộ", "có"],
    ["Phạm Quốc Đạt", "20/11/1990", "", ""],
]


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("TUSOI_TELEGRAM_TOKEN", raising=False)
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "ops.toml"
    path.write_text(f'[database]\npath = "{tmp_path / "ops.sqlite3"}"\n'
                    f'[telegram]\nbot_username = "tusoi_test_bot"\n', encoding="utf-8")
    return path


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = tusoi(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def rows(config: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(config.parent / "ops.sqlite3") as conn:
        return conn.execute(sql).fetchall()


def cell(capsys: pytest.CaptureFixture[str], config: Path) -> None:
    code, _, err = run(capsys, "cell", "add", "--name", "Phòng Hành chính", "--committee",
                       "Sở X", "--config", str(config))
    assert code == 0, err


# ----------------------------------------------------------------- problem 15: one roster reader


@pytest.mark.parametrize("encoding", ["utf-16", "cp1258", "xlsx", "utf-8-sig"])
def test_problem_15_cli_roster_import_reads_what_the_bot_reads(
    capsys: pytest.CaptureFixture[str], config: Path, tmp_path: Path, encoding: str
) -> None:
    cell(capsys, config)
    path = tmp_path / f"roster.{'xlsx' if encoding == 'xlsx' else 'csv'}"
    if encoding == "xlsx":
        path.write_bytes(xlsx_bytes([HEADER, *PEOPLE]))
    elif encoding == "cp1258":
        path.write_bytes(cp1258_form(csv_text([HEADER, *PEOPLE])).encode("cp1258"))
    else:
        path.write_bytes(csv_text([HEADER, *PEOPLE]).encode(encoding))
    code, out, err = run(capsys, "roster", "import", "--cell", "1", str(path),
                         "--config", str(config))
    assert code == 0, err
    assert "3 người mới, 0 người được cập nhật" in out
    assert out.count("https://t.me/tusoi_test_bot?start=") == 3  # an invite per new member
    names = [r[0] for r in rows(config, "SELECT full_name FROM members ORDER BY id")]
    assert names == ["Trần Văn Bình", "Lê Thị Thu Hương", "Phạm Quốc Đạt"]


def test_problem_15_cli_roster_reimport_updates_and_bad_rows_are_refused_by_number(
    capsys: pytest.CaptureFixture[str], config: Path, tmp_path: Path
) -> None:
    cell(capsys, config)
    good = tmp_path / "roster.csv"
    good.write_text(csv_text([HEADER, *PEOPLE]), encoding="utf-8")
    assert run(capsys, "roster", "import", "--cell", "1", str(good), "--config", str(config))[0] == 0
    changed = [list(p) for p in PEOPLE]
    changed[0][2] = "Bí thư chi bộ"
    good.write_text(csv_text([HEADER, *changed]), encoding="utf-8")
    code, out, _ = run(capsys, "roster", "import", "--cell", "1", str(good), "--config", str(config))
    assert code == 0 and "0 người mới, 3 người được cập nhật" in out
    assert rows(config, "SELECT COUNT(*) FROM members") == [(3,)]
    assert rows(config, "SELECT party_post FROM members WHERE id = 1") == [("Bí thư chi bộ",)]

    bad = tmp_path / "bad.csv"
    bad.write_text(csv_text([HEADER, ["Vũ Thị Mai", "31/02/1991", "", ""],
                             ["", "01/01/1980", "", ""], ["Hoàng Văn Mới", "01/13/1990", "", ""],
                             ["Đỗ Văn Đúng", "1990-07-21", "", ""]]), encoding="utf-8")
    code, out, err = run(capsys, "roster", "import", "--cell", "1", str(bad), "--config", str(config))
    assert code == 1
    assert "Dòng 2" in out and "31/02/1991" in out and "Dòng 3" in out and "Dòng 4" in out
    assert err.startswith("tusoi: có 3 dòng lỗi") and "--skip-bad-rows" in err
    assert rows(config, "SELECT COUNT(*) FROM members") == [(3,)]  # nothing imported
    code, out, _ = run(capsys, "roster", "import", "--cell", "1", str(bad), "--skip-bad-rows",
                       "--config", str(config))
    assert code == 0 and "1 người mới" in out
    assert rows(config, "SELECT birth_date FROM members WHERE full_name = 'Đỗ Văn Đúng'") == [
        ("21/07/1990",)]


def test_problem_15_cli_roster_refuses_an_unreadable_file_in_vietnamese(
    capsys: pytest.CaptureFixture[str], config: Path, tmp_path: Path
) -> None:
    cell(capsys, config)
    junk = tmp_path / "anh.png"
    junk.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(200))
    code, _, err = run(capsys, "roster", "import", "--cell", "1", str(junk), "--config", str(config))
    assert code == 1 and err.startswith(f"tusoi: không nhập tệp {junk}:")
    assert "codec" not in err and "Traceback" not in err
    missing = tmp_path / "khong-co.csv"
    code, _, err = run(capsys, "roster", "import", "--cell", "1", str(missing), "--config", str(config))
    assert code == 2 and err.startswith(f"tusoi: không đọc được tệp {missing}")


def test_problem_15_cli_invite_revokes_the_old_one_and_removal_is_logged(
    capsys: pytest.CaptureFixture[str], config: Path
) -> None:
    cell(capsys, config)
    assert run(capsys, "member", "add", "--cell", "1", "--name", "Nguyễn Thị Hoa",
               "--config", str(config))[0] == 0
    first = run(capsys, "invite", "--member", "1", "--config", str(config))[1]
    second = run(capsys, "invite", "--member", "1", "--config", str(config))[1]
    assert first != second
    live = rows(config, "SELECT COUNT(*) FROM invites WHERE revoked_at IS NULL")
    assert live == [(1,)]  # one live invite per member
    code, out, _ = run(capsys, "invite", "--member", "1", "--revoke", "--config", str(config))
    assert code == 0 and "Đã thu hồi" in out
    assert rows(config, "SELECT COUNT(*) FROM invites WHERE revoked_at IS NULL") == [(0,)]
    assert run(capsys, "member", "remove", "1", "--config", str(config))[0] == 0
    assert rows(config, "SELECT actor_id, action, target_id FROM access_log") == [
        (None, "remove", 1)]


# ----------------------------------------------------------------- problem 21


def test_problem_21_missing_cell_and_second_removal_say_so(
    capsys: pytest.CaptureFixture[str], config: Path
) -> None:
    code, _, err = run(capsys, "round", "move", "--cell", "6", "--meeting", "22/12/2026",
                       "--config", str(config))
    assert code == 1 and err.startswith("tusoi: không có chi bộ mã số 6.")
    cell(capsys, config)
    run(capsys, "member", "add", "--cell", "1", "--name", "Nguyễn Văn Một", "--config", str(config))
    assert run(capsys, "member", "remove", "1", "--config", str(config))[0] == 0
    code, out, err = run(capsys, "member", "remove", "1", "--config", str(config))
    assert code == 1 and out == ""
    assert err.startswith("tusoi: đảng viên «Nguyễn Văn Một» (mã số 1) đã được đưa ra khỏi")
    assert rows(config, "SELECT COUNT(*) FROM access_log") == [(1,)]


# ----------------------------------------------------------------- problem 16: Vietnamese, validated


def test_problem_16_config_anywhere_and_names_and_dates_validated(
    capsys: pytest.CaptureFixture[str], config: Path
) -> None:
    code, out, err = run(capsys, "cell", "add", "--name", "Chi bộ X", "--config", str(config),
                         "--committee", "Đảng bộ Y")
    assert code == 0, err
    assert "Đã bỏ chữ «Chi bộ»" in out and "Đã bỏ chữ «Đảng bộ»" in out
    assert run(capsys, "cell", "list", "--config", str(config))[1] == "1\tChi bộ X\t(Đảng bộ Y)\n"
    code, _, err = run(capsys, "member", "add", "--cell", "1", "--name", "  ", "--config", str(config))
    assert code == 1 and err == "tusoi: họ và tên không được để trống.\n"
    for impossible in ("31/02/1991", "hôm qua", "01/13/1990", "01/01/2999"):
        code, _, err = run(capsys, "member", "add", "--cell", "1", "--name", "Hoàng Văn Sai",
                           "--birth-date", impossible, "--config", str(config))
        assert code == 1 and err.startswith(f"tusoi: ngày sinh «{impossible}» không dùng được")
    assert rows(config, "SELECT COUNT(*) FROM members") == [(0,)]
    code, out, _ = run(capsys, "member", "add", "--cell", "1", "--name", "Hoàng Văn Đúng",
                       "--birth-date", "1/2/1991", "--config", str(config))
    assert code == 0 and "sinh ngày 01/02/1991" in out


def test_problem_16_review_year_is_the_year_under_review(
    capsys: pytest.CaptureFixture[str], config: Path
) -> None:
    cell(capsys, config)
    code, out, err = run(capsys, "round", "open", "--cell", "1", "--meeting", "11/02/2027",
                         "--config", str(config))
    assert code == 0, err
    assert "«Kiểm điểm, đánh giá, xếp loại chất lượng đảng viên năm 2026»" in out
    assert rows(config, "SELECT year FROM rounds") == [(2026,)]
    run(capsys, "round", "close", "--cell", "1", "--config", str(config))
    code, out, _ = run(capsys, "round", "open", "--cell", "1", "--meeting", "14/04/2027",
                       "--config", str(config))
    assert code == 0 and "năm 2027»" in out
    run(capsys, "round", "close", "--cell", "1", "--config", str(config))
    code, out, _ = run(capsys, "round", "open", "--cell", "1", "--meeting", "11/02/2027",
                       "--year", "2027", "--title", "Đợt riêng", "--config", str(config))
    assert code == 0 and "«Đợt riêng»" in out
    assert rows(config, "SELECT year, title FROM rounds WHERE status = 'open'") == [
        (2027, "Đợt riêng")]


def test_problem_16_help_and_errors_are_vietnamese_and_help_is_light(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("TUSOI_TELEGRAM_TOKEN", None)
    probe = ("import sys, handlers.cli as c\n"
             "try:\n    c.main(['round', 'open', '--help'])\nexcept SystemExit:\n    pass\n"
             "heavy = {'openpyxl', 'docxtpl', 'docx', 'telegram', 'jinja2'}\n"
             "print('LOADED', sorted(heavy & {m.split('.')[0] for m in sys.modules}))\n")
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=60, check=False)
    elapsed = time.perf_counter() - started
    assert "Cách dùng: tusoi round open" in result.stdout
    assert "năm được kiểm điểm" in result.stdout and "tùy chọn" in result.stdout
    assert "LOADED []" in result.stdout, result.stdout  # --help imports no heavy library
    print(f"tusoi round open --help: {elapsed:.2f} s")
    bad = subprocess.run([sys.executable, "-m", "handlers.cli", "cell", "list", "--nope"],
                         cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60,
                         check=False)
    assert bad.returncode == 2 and "tusoi: lỗi: không hiểu tham số: --nope" in bad.stderr


def test_problem_16_unreachable_telegram_is_one_vietnamese_line(tmp_path: Path) -> None:
    import socket

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = tmp_path / "c.toml"
    config.write_text(f'[database]\npath = "{tmp_path / "db.sqlite3"}"\n'
                      f'[telegram]\ntoken = "123:SECRET"\nbase_url = "http://127.0.0.1:{port}/bot"\n',
                      encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k != "TUSOI_TELEGRAM_TOKEN"}
    result = subprocess.run([sys.executable, "-m", "handlers.cli", "telegram", "--config",
                             str(config)], cwd=REPO, env=env, capture_output=True, text=True,
                            timeout=60, check=False)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr and "SECRET" not in result.stderr
    assert "tusoi: không kết nối được máy chủ Telegram" in result.stderr, result.stderr
    assert len(result.stderr.splitlines()) <= 3, result.stderr


def test_newcomer_24_calendar_year_lists_no_plain_weekend(
    capsys: pytest.CaptureFixture[str], config: Path
) -> None:
    code, out, _ = run(capsys, "calendar", "year", "2026", "--config", str(config))
    assert code == 0
    assert "Thứ Hai, 16/02/2026" in out  # a weekday of Tết
    for weekend in ("14/02/2026", "15/02/2026", "21/02/2026", "22/02/2026"):
        assert weekend not in out


def test_newcomer_23_checklist_check_of_a_form_pack_counts_sections(
    capsys: pytest.CaptureFixture[str], config: Path
) -> None:
    code, out, _ = run(capsys, "checklist", "check", str(REPO / "checklists" / "form-02-2023.toml"))
    assert code == 0
    assert "nguyên văn" not in out and "7 mục" in out and "15 câu" in out


def test_newcomer_15_commands_print_no_log_lines(
    capsys: pytest.CaptureFixture[str], config: Path
) -> None:
    code, out, err = run(capsys, "db", "init", "--config", str(config))
    assert code == 0 and "INFO" not in out + err and "applying migration" not in out + err
