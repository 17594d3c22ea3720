"""Zalo's settings and commands: mistakes named by key in Vietnamese, secrets kept secret, the
operator's webhook command, and a refused token stopping the start with one line."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest

from bot.config import ConfigError, load_settings
from handlers.cli import main as tusoi_main
from tests.conftest import REPO
from tests.fakezalo import TOKEN, FakeZalo
from tests.zalohelpers import free_port

URL = 'public_base_url = "https://tusoi.example.vn"\n'


@pytest.mark.parametrize("text, kind, key, said", [
    ("[zalo]\nmode = 'push'\n", "bad_choice", "zalo.mode", "«push»"),
    ("[zalo]\nwebhook_secret = 'short'\n", "zalo_secret_length", "zalo.webhook_secret",
     "từ 8 đến 256 ký tự"),
    (f"[zalo]\ntoken = 'x'\nmode = 'webhook'\n{URL}", "zalo_webhook_needs",
     "zalo.webhook_secret", "chế độ webhook"),
    ("[zalo]\ntoken = 'x'\n", "zalo_needs_public_url", "zalo.public_base_url",
     "đường liên kết tải về"),
    ("[zalo]\npublic_base_url = 'tusoi.example.vn'\n", "zalo_base_url", "zalo.public_base_url",
     "https://"),
    ("[zalo]\nlink_max_downloads = 0\n", "not_positive", "zalo.link_max_downloads", "từ 1"),
    ("[web]\nport = 70000\n", "bad_port", "web.port", "65535"),
])
def test_bad_zalo_config_names_the_key_in_vietnamese(
    tmp_path: Path, text: str, kind: str, key: str, said: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = tmp_path / "tusoi.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as raised:
        load_settings(path, environ={})
    assert (raised.value.kind, raised.value.context["key"]) == (kind, key)
    assert tusoi_main(["--config", str(path), "cell", "list"]) == 2
    err = capsys.readouterr().err
    assert key in err.splitlines()[0] and said in err, err


def test_the_zalo_token_comes_from_the_environment_and_secrets_stay_out_of_repr(
    tmp_path: Path,
) -> None:
    path = tmp_path / "tusoi.toml"
    path.write_text(f"[zalo]\n{URL}webhook_secret = 'HOOK-SECRET'\n", encoding="utf-8")
    settings = load_settings(path, environ={"TUSOI_ZALO_TOKEN": "555:ZALO-SECRET"})
    assert settings.zalo.token == "555:ZALO-SECRET"
    text = repr(settings)
    assert "ZALO-SECRET" not in text and "HOOK-SECRET" not in text


def config(tmp_path: Path, fake: FakeZalo, *extra: str) -> Path:
    path = tmp_path / "tusoi.toml"
    path.write_text(
        f'[database]\npath = "{tmp_path / "tusoi.sqlite3"}"\n'
        f'[zalo]\nbase_url = "{fake.base_url}"\n{URL}'
        f'webhook_secret = "secret-of-the-operator"\n{"".join(extra)}'
        f'[web]\nport = {free_port()}\n', encoding="utf-8")
    return path


async def run(*args: str, token: str | None = TOKEN) -> tuple[int, str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TUSOI_")}
    if token is not None:
        env["TUSOI_ZALO_TOKEN"] = token
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "handlers.cli", *args, cwd=REPO, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    return proc.returncode or 0, out.decode(), err.decode()


async def test_the_webhook_command_sets_reads_and_deletes_and_says_so_in_vietnamese(
    tmp_path: Path,
) -> None:
    async with FakeZalo(allow_local_webhook=False) as fake:
        path = config(tmp_path, fake)
        code, out, err = await run("--config", str(path), "zalo", "webhook", "info")
        assert (code, out) == (0, "Bot Zalo chưa có webhook (nhận tin bằng polling).\n"), err
        code, out, _ = await run("--config", str(path), "zalo", "webhook", "set")
        assert code == 0 and "https://tusoi.example.vn/zalo/webhook" in out
        assert 'zalo.mode đang là "polling"' in out  # the bot would not take the webhook yet
        assert "secret-of-the-operator" not in out
        assert fake.webhook is not None
        assert fake.webhook["secret_token"] == "secret-of-the-operator"
        code, out, _ = await run("--config", str(path), "zalo", "webhook", "info")
        assert "Webhook của bot Zalo: https://tusoi.example.vn/zalo/webhook (đặt lúc" in out
        code, out, _ = await run("--config", str(path), "zalo", "webhook", "delete")
        assert code == 0 and out.startswith("Đã xoá webhook")
        assert fake.webhook is None


async def test_zalo_refusals_are_one_vietnamese_line(tmp_path: Path) -> None:
    async with FakeZalo() as fake:
        path = config(tmp_path, fake)
        code, _, err = await run("--config", str(path), "zalo", "webhook", "info", token=None)
        assert code == 2 and "chưa có mã bot Zalo" in err and "TUSOI_ZALO_TOKEN" in err
        code, _, err = await run("--config", str(path), "zalo", "webhook", "set", token="1:bad")
        assert code == 1 and "Zalo không nhận mã bot" in err and "1:bad" not in err
        # tusoi run with a refused token stops at once, with the same line.
        webhook_calls = len([c for c in fake.calls() if "ebhook" in c.method])
        code, _, err = await run("--config", str(path), "run", token="1:bad")
        assert code == 1 and "Zalo không nhận mã bot" in err and "Traceback" not in err
        assert len([c for c in fake.calls() if "ebhook" in c.method]) == webhook_calls
    code, _, err = await run("--config", str(path), "zalo", "webhook", "info")
    assert code == 1 and "không kết nối được máy chủ Zalo" in err  # the fake is gone
