"""Configuration: mistakes stop the process with the key's name; secrets stay secret."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import ConfigError, load_settings
from tests.conftest import REPO


@pytest.mark.parametrize("text, kind, key, said", [
    ("[telegram]\ntokn = 'x'\n", "unknown_key", "telegram.tokn", "không có khóa này"),
    ("[telegarm]\n", "unknown_section", "[telegarm]", "không có bảng này"),
    ("[database]\ndurable = 'yes'\n", "wrong_type", "database.durable",
     "cần true hoặc false, nhưng đang là chuỗi"),
    ("[invites]\nttl_hours = true\n", "wrong_type", "invites.ttl_hours",
     "cần số nguyên, nhưng đang là true hoặc false"),
    ("[database\n", "not_toml", "", "không phải TOML hợp lệ"),
    ("[calendar]\nconvention = 'lax'\n", "bad_choice", "calendar.convention", "«lax»"),
    ("[reminders]\nsend_at = '²:00'\n", "bad_clock", "reminders.send_at", "GIỜ:PHÚT"),
    ("[console]\ndatabase = 'tusoi.sqlite3'\n", "demo_is_real", "console.database",
     "cơ sở dữ liệu riêng"),
])
def test_bad_config_names_the_file_and_the_key_in_vietnamese(
    tmp_path: Path, text: str, kind: str, key: str, said: str
) -> None:
    path = tmp_path / "tusoi.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as raised:
        load_settings(path, environ={})
    assert (raised.value.kind, raised.value.context["key"]) == (kind, key)
    result = run(tmp_path, "--config", str(path), "cell", "list")
    assert result.returncode == 2
    first = result.stderr.splitlines()[0]
    assert first.startswith(f"tusoi: lỗi cấu hình trong {path}"), result.stderr
    assert key in first and said in result.stderr, result.stderr
    assert "Traceback" not in result.stderr


def test_token_from_environment_and_never_in_repr(tmp_path: Path) -> None:
    settings = load_settings(None, environ={"TUSOI_TELEGRAM_TOKEN": "999:SECRET"})
    assert settings.telegram.token == "999:SECRET"
    assert "SECRET" not in repr(settings)


def run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "TUSOI_TELEGRAM_TOKEN"}
    return subprocess.run([sys.executable, "-m", "handlers.cli", *args], cwd=REPO,
                          capture_output=True, text=True, timeout=60, check=False, env=env)


def test_process_refuses_to_start_on_bad_config(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("[telegram]\ntoken = 42\n", encoding="utf-8")
    result = run(tmp_path, "--config", str(path), "run")
    assert result.returncode == 2
    assert result.stderr == (f"tusoi: lỗi cấu hình trong {path}, khóa telegram.token: cần chuỗi"
                             ' trong ngoặc kép, ví dụ "abc", nhưng đang là số nguyên.\n')


def test_telegram_without_a_token_names_the_key_and_the_environment_variable(
    tmp_path: Path,
) -> None:
    path = tmp_path / "tusoi.toml"
    path.write_text(f"[database]\npath = '{tmp_path / 'db.sqlite3'}'\n", encoding="utf-8")
    result = run(tmp_path, "--config", str(path), "telegram")
    assert result.returncode == 2
    assert "telegram.token" in result.stderr and "TUSOI_TELEGRAM_TOKEN" in result.stderr
    assert str(path) in result.stderr


def test_process_refuses_to_start_on_a_broken_pack(tmp_path: Path) -> None:
    pack = tmp_path / "pack.toml"
    pack.write_text("[pack]\nid = 'x'\n", encoding="utf-8")
    config = tmp_path / "c.toml"
    config.write_text(f"[review]\nchecklist = '{pack}'\n[database]\npath = '{tmp_path / 'db'}'\n",
                      encoding="utf-8")
    result = run(tmp_path, "--config", str(config), "console")
    assert result.returncode == 2
    assert result.stderr.startswith("tusoi: gói câu hỏi hoặc biểu mẫu có lỗi:\n")
    assert (f"  {pack}: pack.kind: thiếu khóa bắt buộc «kind»: ghi rõ đây là gói câu hỏi "
            '("checklist") hay gói biểu mẫu ("form")\n') in result.stderr
    assert f"  {pack}: pack.title: thiếu khóa bắt buộc «title»\n" in result.stderr
    assert "missing" not in result.stderr and "Traceback" not in result.stderr


def test_checklist_check_command_reports_counts_and_errors(tmp_path: Path) -> None:
    good = run(tmp_path, "checklist", "check", str(REPO / "checklists" / "nq04-2016.toml"))
    assert good.returncode == 0
    assert ("9 câu có nguyên văn đã đối chiếu (trong đó 4 câu theo một nguồn, chưa đối chiếu "
            "bản gốc), 4 câu có trích đoạn, 14 câu chỉ có tóm tắt") in good.stdout
    form = run(tmp_path, "checklist", "check", str(REPO / "checklists" / "form-2025-2a.toml"))
    assert form.returncode == 0
    assert "gói biểu mẫu «form-2025-2a», 10 mục, 19 câu" in form.stdout
    assert "Họ biểu mẫu «form-2025», Mẫu 2A-HD KĐ.ĐG 2025" in form.stdout
    assert "3 dòng lấy từ văn bản khác" in form.stdout and "2 câu tự chấm điểm" in form.stdout
    assert "Các nhóm tiêu chí của Phụ lục 3, Quy định 366-QĐ/TW" in form.stdout
    bad = tmp_path / "bad.toml"
    bad.write_text("[pack]\nid = 'x'\nkind = 'checklist'\n", encoding="utf-8")
    result = run(tmp_path, "checklist", "check", str(bad))
    assert result.returncode == 1
    assert f"  {bad}: pack.title: thiếu khóa bắt buộc «title»\n" in result.stdout
