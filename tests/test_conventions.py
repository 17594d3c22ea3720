"""Keeping the house easy to see: the core stays channel-free, every template a screen
names exists, and config.example.toml documents exactly the settings the code reads."""

from __future__ import annotations

import ast
import dataclasses
import re
import tomllib
import unicodedata
from pathlib import Path

from bot.config import Settings, load_settings
from tests.conftest import REPO


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_core_imports_neither_telegram_nor_storage_nor_handlers() -> None:
    for path in (REPO / "bot").glob("*.py"):
        assert not imports_of(path) & {"telegram", "storage", "handlers", "sqlite3"}, path


def test_storage_does_not_import_adapters() -> None:
    for path in (REPO / "storage").glob("*.py"):
        assert not imports_of(path) & {"telegram", "handlers"}, path


def test_every_screen_template_named_in_code_exists() -> None:
    messages = REPO / "templates" / "messages"
    pattern = re.compile(r'Screen\(\s*f?"([a-z_]+/[a-z_{}.]+)"')
    named: set[str] = set()
    for folder in ("bot", "handlers"):
        for path in (REPO / folder).rglob("*.py"):
            named |= set(pattern.findall(path.read_text(encoding="utf-8")))
    assert named
    for name in named:
        if "{" in name:  # f-strings: every expansion must exist
            prefix = name.split("{")[0]
            assert list(messages.glob(f"{prefix}*.html.j2")), name
        else:
            assert (messages / f"{name}.html.j2").is_file(), name


def test_templates_and_packs_are_nfc() -> None:
    for folder in ("templates", "checklists", "data"):
        for path in (REPO / folder).rglob("*"):
            if path.suffix in {".j2", ".toml"}:
                text = path.read_text(encoding="utf-8")
                assert unicodedata.is_normalized("NFC", text), path


def test_config_example_documents_every_setting_and_nothing_else() -> None:
    example = tomllib.loads((REPO / "config.example.toml").read_text(encoding="utf-8"))
    defaults = Settings()
    expected = {
        section.name: dataclasses.asdict(getattr(defaults, section.name))
        for section in dataclasses.fields(Settings)
    }
    assert example == expected
    assert load_settings(REPO / "config.example.toml", environ={}) == defaults


def test_no_assert_as_a_run_time_guard_in_product_code() -> None:
    """``python -O`` removes asserts: product code narrows with ``if`` and raises instead."""
    found = []
    for folder in ("bot", "storage", "handlers"):
        for path in (REPO / folder).rglob("*.py"):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            found += [f"{path.relative_to(REPO)}:{node.lineno}" for node in ast.walk(tree)
                      if isinstance(node, ast.Assert)]
    assert not found, found


def test_the_core_never_mentions_telegram() -> None:
    """Issue 9: a second channel lives with the core as it is. Only ``bot/config.py`` names
    Telegram (it reads every section of the one TOML file); callback data, deep links and
    «bấm» wording live in handlers/tg and templates/messages/telegram/."""
    for path in (REPO / "bot").glob("*.py"):
        if path.name == "config.py":
            continue
        text = path.read_text(encoding="utf-8").lower()
        for word in ("telegram", "t.me/", "callback_data", "bấm"):
            assert word not in text, (path.name, word)
    messages = REPO / "templates" / "messages"
    for path in messages.rglob("*.j2"):
        if messages / "telegram" in path.parents:
            continue
        assert "bấm" not in path.read_text(encoding="utf-8").lower(), path
