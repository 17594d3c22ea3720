"""Settings: one TOML file, read once into frozen, typed dataclasses.

Every key is documented in ``config.example.toml`` (a test keeps the two in step). An
unknown or mistyped key stops the process with the key's name, never a guess. Secrets
are excluded from ``repr`` so they cannot reach a log.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, get_args, get_origin, get_type_hints

ROOT = Path(__file__).resolve().parents[1]
TOKEN_ENV = "TUSOI_TELEGRAM_TOKEN"


class ConfigError(Exception):
    """A configuration problem, phrased for the operator, naming file and key."""


@dataclass(frozen=True)
class DatabaseSettings:
    path: str = "tusoi.sqlite3"
    durable: bool = True


@dataclass(frozen=True)
class ReviewConfig:
    checklist: str = "checklists/nq04-2016.toml"
    form: str = "checklists/form-02-2023.toml"
    other_forms: list[str] = field(default_factory=list)
    draft_template: str = "templates/docx/ban-kiem-diem-2023.docx"
    max_answer_chars: int = 50_000


@dataclass(frozen=True)
class InviteSettings:
    ttl_hours: int = 168
    max_failed_attempts: int = 5
    attempt_window_minutes: int = 60


@dataclass(frozen=True)
class TelegramSettings:
    token: str = field(default="", repr=False)
    base_url: str = "https://api.telegram.org/bot"
    base_file_url: str = "https://api.telegram.org/file/bot"
    bot_username: str = ""
    poll_timeout: int = 30


@dataclass(frozen=True)
class ConsoleSettings:
    drafts_dir: str = "drafts"


@dataclass(frozen=True)
class CalendarSettings:
    file: str = "data/calendar/vn.toml"
    member_lead_days: int = 5
    collective_lead_days: int = 3
    convention: str = "strict"
    saturday_is_workday: bool = False


@dataclass(frozen=True)
class ReminderConfig:
    enabled: bool = True
    send_at: str = "08:00"
    quiet_start: str = "21:00"
    quiet_end: str = "07:00"
    nudge_days: list[int] = field(default_factory=lambda: [3, 1])
    overdue_max: int = 2
    overdue_gap_days: int = 2
    rate_per_second: int = 25
    in_flight: int = 1
    check_seconds: int = 30
    max_attempts: int = 5


@dataclass(frozen=True)
class LoggingSettings:
    level: str = "INFO"


@dataclass(frozen=True)
class Settings:
    database: DatabaseSettings = DatabaseSettings()
    review: ReviewConfig = ReviewConfig()
    invites: InviteSettings = InviteSettings()
    telegram: TelegramSettings = TelegramSettings()
    console: ConsoleSettings = ConsoleSettings()
    calendar: CalendarSettings = CalendarSettings()
    reminders: ReminderConfig = ReminderConfig()
    logging: LoggingSettings = LoggingSettings()

    def data_path(self, relative: str) -> Path:
        """Packs, templates and calendars ship with the code: resolve them from the repo."""
        path = Path(relative)
        return path if path.is_absolute() else ROOT / path


def _section(cls: type, raw: Any, where: str, source: str) -> Any:
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: [{where}] must be a table")
    hints = get_type_hints(cls)
    known = {f.name for f in fields(cls)}
    values: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in known:
            raise ConfigError(f"{source}: {where}.{key}: unknown key (known: {', '.join(sorted(known))})")
        expected = hints[key]
        if get_origin(expected) is list:  # reminders.nudge_days, review.other_forms
            (item,) = get_args(expected)
            ok = isinstance(value, list) and all(
                isinstance(v, item) and not isinstance(v, bool) for v in value)
            expected = list
        else:
            ok = isinstance(value, expected) and not (expected is int and isinstance(value, bool))
        if not ok:
            raise ConfigError(
                f"{source}: {where}.{key}: expected {expected.__name__}, got {type(value).__name__}"
            )
        values[key] = value
    return cls(**values)


def load_settings(path: Path | None, environ: dict[str, str] | None = None) -> Settings:
    """Read ``path`` (or use the defaults when None) and apply the token from the environment."""
    env = os.environ if environ is None else environ
    settings = Settings()
    if path is not None:
        source = str(path)
        try:
            raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"{source}: file not found") from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{source}: not valid TOML: {exc}") from None
        hints = get_type_hints(Settings)
        values = {}
        for name, table in raw.items():
            if name not in hints:
                raise ConfigError(
                    f"{source}: [{name}]: unknown section (known: {', '.join(sorted(hints))})"
                )
            values[name] = _section(hints[name], table, name, source)
        settings = Settings(**values)
    token = env.get(TOKEN_ENV)
    if token:
        settings = dataclasses.replace(
            settings, telegram=dataclasses.replace(settings.telegram, token=token)
        )
    if settings.calendar.convention not in ("strict", "loose"):
        raise ConfigError("calendar.convention: must be \"strict\" or \"loose\"")
    _check_reminders(settings.reminders)
    return settings


def _check_reminders(config: ReminderConfig) -> None:
    from bot.reminders import parse_clock

    for key in ("send_at", "quiet_start", "quiet_end"):
        try:
            parse_clock(getattr(config, key))
        except ValueError:
            raise ConfigError(f"reminders.{key}: expected a time as HH:MM, e.g. \"08:00\"") from None
    positive = ("rate_per_second", "in_flight", "check_seconds", "max_attempts", "overdue_gap_days")
    for key in positive:
        if getattr(config, key) < 1:
            raise ConfigError(f"reminders.{key}: must be at least 1")
    if config.overdue_max < 0 or any(n < 1 for n in config.nudge_days):
        raise ConfigError("reminders.nudge_days / overdue_max: working days must be positive")
