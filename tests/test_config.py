"""Configuration: mistakes stop the process with the key's name; secrets stay secret."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import ConfigError, load_settings
from tests.conftest import REPO


@pytest.mark.parametrize("text, message", [
    ("[telegram]\ntokn = 'x'\n", "telegram.tokn: unknown key"),
    ("[telegarm]\n", "[telegarm]: unknown section"),
    ("[database]\ndurable = 'yes'\n", "database.durable: expected bool, got str"),
    ("[invites]\nttl_hours = true\n", "invites.ttl_hours: expected int, got bool"),
    ("[database\n", "not valid TOML"),
    ("[calendar]\nconvention = 'lax'\n", "calendar.convention"),
])
def test_bad_config_names_the_key(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "tusoi.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace(".", r"\.")):
        load_settings(path, environ={})


def test_token_from_environment_and_never_in_repr(tmp_path: Path) -> None:
    settings = load_settings(None, environ={"TUSOI_TELEGRAM_TOKEN": "999:SECRET"})
    assert settings.telegram.token == "999:SECRET"
    assert "SECRET" not in repr(settings)


def run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "handlers.cli", *args], cwd=REPO,
                          capture_output=True, text=True, timeout=60, check=False)


def test_process_refuses_to_start_on_bad_config(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("[telegram]\ntoken = 42\n", encoding="utf-8")
    result = run(tmp_path, "--config", str(path), "run")
    assert result.returncode == 2
    assert "telegram.token: expected str, got int" in result.stderr


def test_process_refuses_to_start_on_a_broken_pack(tmp_path: Path) -> None:
    pack = tmp_path / "pack.toml"
    pack.write_text("[pack]\nid = 'x'\n", encoding="utf-8")
    config = tmp_path / "c.toml"
    config.write_text(f"[review]\nchecklist = '{pack}'\n[database]\npath = '{tmp_path / 'db'}'\n",
                      encoding="utf-8")
    result = run(tmp_path, "--config", str(config), "console")
    assert result.returncode == 2
    assert "checklist pack error" in result.stderr and "pack.kind" in result.stderr


def test_checklist_check_command_reports_counts_and_errors(tmp_path: Path) -> None:
    good = run(tmp_path, "checklist", "check", str(REPO / "checklists" / "nq04-2016.toml"))
    assert good.returncode == 0
    assert "9 câu có nguyên văn đã đối chiếu, 3 câu có trích đoạn, 15 câu chỉ có tóm tắt" in good.stdout
    bad = tmp_path / "bad.toml"
    bad.write_text("[pack]\nid = 'x'\nkind = 'checklist'\n", encoding="utf-8")
    result = run(tmp_path, "checklist", "check", str(bad))
    assert result.returncode == 1 and "bad.toml: pack.title" in result.stdout
