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



def _data_root() -> Path:
    """Where templates/, checklists/ and data/ live: the checkout (also an editable install),
    or, in an installed wheel, the ``tusoi_data`` folder beside the packages."""
    checkout = Path(__file__).resolve().parents[1]
    if (checkout / "templates" / "labels.toml").is_file():
        return checkout
    installed = checkout / "tusoi_data"
    return installed if installed.is_dir() else checkout


ROOT = _data_root()
TOKEN_ENV = "TUSOI_TELEGRAM_TOKEN"
ZALO_TOKEN_ENV = "TUSOI_ZALO_TOKEN"


class ConfigError(Exception):
    """A configuration problem naming the file and the key.

    ``kind`` is an ASCII code and ``context`` its facts (``source``: the file, ``key``: the
    dotted key or ``[section]``); ``templates/messages/cli/config_error.txt.j2`` words it
    for the operator. ``str()`` is a terse English form for logs.
    """

    def __init__(self, kind: str, *, source: str = "", key: str = "", **context: Any) -> None:
        self.kind = kind
        self.context: dict[str, Any] = {"source": source, "key": key, "env": TOKEN_ENV,
                                        **context}
        detail = ", ".join(f"{k}={v}" for k, v in context.items())
        where = ": ".join(x for x in (source, key) if x)
        super().__init__(f"{where}: {kind}" + (f" ({detail})" if detail else ""))


@dataclass(frozen=True)
class DatabaseSettings:
    path: str = "tusoi.sqlite3"
    durable: bool = True


@dataclass(frozen=True)
class StorageSettings:
    # Empty: the SQLite file database.path. "sqlite:///PATH" or a path: that SQLite file.
    # "postgresql://USER@HOST:PORT/DB": PostgreSQL (one database per province).
    url: str = field(default="", repr=False)  # may carry a password: never in a repr or log
    # PostgreSQL: connections per process (a worker holds one per chat it is handling, plus
    # one per transaction under way).
    pool_size: int = 20


@dataclass(frozen=True)
class ReviewConfig:
    checklist: str = "checklists/nq04-2016.toml"
    # A pack of the form family new rounds use (2025: 2A/2B/2C); the other packs of that family
    # and of any other selectable family (the 2023 forms) are listed in other_forms.
    form: str = "checklists/form-2025-2b.toml"
    other_forms: list[str] = field(default_factory=lambda: [
        "checklists/form-2025-2a.toml", "checklists/form-2025-2c.toml",
        "checklists/form-02-2023.toml"])
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
    concurrent_chats: int = 64
    reply_retry_ms: list[int] = field(default_factory=lambda: [500, 1000, 2000])
    # Webhook mode (`tusoi ingress` + `tusoi worker`): Telegram posts to /tg/WEBHOOK_PATH with
    # the header X-Telegram-Bot-Api-Secret-Token = WEBHOOK_SECRET. Both empty: no webhook.
    webhook_path: str = field(default="", repr=False)
    webhook_secret: str = field(default="", repr=False)

    @property
    def reply_delays(self) -> tuple[float, ...]:
        """Seconds to wait before each new try of a reply Telegram did not take."""
        return tuple(ms / 1000 for ms in self.reply_retry_ms)


@dataclass(frozen=True)
class ZaloSettings:
    token: str = field(default="", repr=False)
    base_url: str = "https://bot-api.zaloplatforms.com/bot"
    mode: str = "polling"  # or "webhook"
    webhook_secret: str = field(default="", repr=False)
    public_base_url: str = ""
    poll_timeout: int = 30
    concurrent_chats: int = 64
    rate_per_second: int = 10
    reply_retry_ms: list[int] = field(default_factory=lambda: [500, 1000, 2000])
    link_ttl_minutes: int = 120
    link_max_downloads: int = 3
    previews: bool = True
    preview_ttl_minutes: int = 10

    @property
    def reply_delays(self) -> tuple[float, ...]:
        """Seconds to wait before each new try of a reply Zalo did not take."""
        return tuple(ms / 1000 for ms in self.reply_retry_ms)


@dataclass(frozen=True)
class WebSettings:
    host: str = "127.0.0.1"
    port: int = 8080
    # The committee's web page: its public address (empty: zalo.public_base_url, and no page
    # when both are empty), how long a login link and a session last.
    public_base_url: str = ""
    login_minutes: int = 10
    session_minutes: int = 60

    def base_url(self, zalo: ZaloSettings) -> str:
        """The public address the web page's links start with; empty: no web page."""
        return (self.public_base_url or zalo.public_base_url).rstrip("/")


@dataclass(frozen=True)
class RetentionSettings:
    # Answer texts of a closed, exported round may be purged this many days after it closed.
    days: int = 365


@dataclass(frozen=True)
class ConsoleSettings:
    drafts_dir: str = "drafts"
    database: str = "tusoi-demo.sqlite3"


@dataclass(frozen=True)
class CalendarSettings:
    file: str = "data/calendar/vn.toml"
    member_lead_days: int = 5
    collective_lead_days: int = 3
    convention: str = "strict"
    saturday_is_workday: bool = False
    year_end_deadline: str = "31/12"


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
    storage: StorageSettings = StorageSettings()
    review: ReviewConfig = ReviewConfig()
    invites: InviteSettings = InviteSettings()
    telegram: TelegramSettings = TelegramSettings()
    zalo: ZaloSettings = ZaloSettings()
    web: WebSettings = WebSettings()
    console: ConsoleSettings = ConsoleSettings()
    calendar: CalendarSettings = CalendarSettings()
    reminders: ReminderConfig = ReminderConfig()
    retention: RetentionSettings = RetentionSettings()
    logging: LoggingSettings = LoggingSettings()

    def data_path(self, relative: str) -> Path:
        """Packs, templates and calendars ship with the code: resolve them from the repo."""
        path = Path(relative)
        return path if path.is_absolute() else ROOT / path


_TYPE_NAMES = {str: "str", int: "int", bool: "bool", float: "float", list: "list"}


def _type_name(value: Any) -> str:
    return _TYPE_NAMES.get(type(value), "table" if isinstance(value, dict) else type(value).__name__)


def _section(cls: type, raw: Any, where: str, source: str) -> Any:
    if not isinstance(raw, dict):
        raise ConfigError("not_a_table", source=source, key=f"[{where}]")
    hints = get_type_hints(cls)
    known = {f.name for f in fields(cls)}
    values: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in known:
            raise ConfigError("unknown_key", source=source, key=f"{where}.{key}",
                              known=sorted(known))
        expected = hints[key]
        if get_origin(expected) is list:  # nudge_days, other_forms, reply_retry_ms
            (item,) = get_args(expected)
            ok = isinstance(value, list) and all(
                isinstance(v, item) and not isinstance(v, bool) for v in value)
            expected = list
        else:
            ok = isinstance(value, expected) and not (expected is int and isinstance(value, bool))
        if not ok:
            raise ConfigError("wrong_type", source=source, key=f"{where}.{key}",
                              expected=_TYPE_NAMES.get(expected, expected.__name__),
                              got=_type_name(value))
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
            raise ConfigError("file_not_found", source=source) from None
        except IsADirectoryError:
            raise ConfigError("file_not_found", source=source) from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError("not_toml", source=source, detail=str(exc)) from None
        hints = get_type_hints(Settings)
        values = {}
        for name, table in raw.items():
            if name not in hints:
                raise ConfigError("unknown_section", source=source, key=f"[{name}]",
                                  known=sorted(hints))
            values[name] = _section(hints[name], table, name, source)
        settings = Settings(**values)
    token = env.get(TOKEN_ENV)
    if token:
        settings = dataclasses.replace(
            settings, telegram=dataclasses.replace(settings.telegram, token=token)
        )
    zalo_token = env.get(ZALO_TOKEN_ENV)
    if zalo_token:
        settings = dataclasses.replace(
            settings, zalo=dataclasses.replace(settings.zalo, token=zalo_token)
        )
    source = str(path) if path is not None else ""
    _check_zalo(settings, source)
    if settings.calendar.convention not in ("strict", "loose"):
        raise ConfigError("bad_choice", source=source, key="calendar.convention",
                          allowed=["strict", "loose"], value=settings.calendar.convention)
    if settings.console.database == settings.database.path:
        raise ConfigError("demo_is_real", source=source, key="console.database",
                          path=settings.database.path)
    from bot.deadlines import parse_year_end

    try:
        parse_year_end(settings.calendar.year_end_deadline)
    except ValueError:
        raise ConfigError("bad_day_month", source=source, key="calendar.year_end_deadline",
                          value=settings.calendar.year_end_deadline) from None
    _check_reminders(settings.reminders, source)
    hook = settings.telegram
    for key, value in (("webhook_path", hook.webhook_path), ("webhook_secret", hook.webhook_secret)):
        if value and not (len(value) <= 256 and all(c.isascii() and (c.isalnum() or c in "_-")
                                                    for c in value)):
            raise ConfigError("webhook_chars", source=source, key=f"telegram.{key}")
    if bool(hook.webhook_path) != bool(hook.webhook_secret):
        raise ConfigError("webhook_pair", source=source, key="telegram.webhook_secret")
    if settings.storage.pool_size < 2:
        raise ConfigError("not_positive", source=source, key="storage.pool_size")
    if settings.telegram.concurrent_chats < 1:
        raise ConfigError("not_positive", source=source, key="telegram.concurrent_chats")
    if any(ms < 0 for ms in settings.telegram.reply_retry_ms):
        raise ConfigError("negative", source=source, key="telegram.reply_retry_ms")
    return settings


def _check_reminders(config: ReminderConfig, source: str) -> None:
    for key in ("send_at", "quiet_start", "quiet_end"):
        hours, sep, minutes = getattr(config, key).partition(":")
        if not (sep and hours.isascii() and hours.isdigit() and minutes.isascii()
                and minutes.isdigit() and len(minutes) == 2 and int(hours) < 24
                and int(minutes) < 60):
            raise ConfigError("bad_clock", source=source, key=f"reminders.{key}",
                              value=getattr(config, key))
    positive = ("rate_per_second", "in_flight", "check_seconds", "max_attempts", "overdue_gap_days")
    for key in positive:
        if getattr(config, key) < 1:
            raise ConfigError("not_positive", source=source, key=f"reminders.{key}")
    if config.overdue_max < 0:
        raise ConfigError("negative", source=source, key="reminders.overdue_max")
    if any(n < 1 for n in config.nudge_days):
        raise ConfigError("not_positive", source=source, key="reminders.nudge_days")


def _check_zalo(settings: Settings, source: str) -> None:
    zalo = settings.zalo
    if zalo.mode not in ("polling", "webhook"):
        raise ConfigError("bad_choice", source=source, key="zalo.mode",
                          allowed=["polling", "webhook"], value=zalo.mode)
    for key in ("concurrent_chats", "rate_per_second", "poll_timeout", "link_ttl_minutes",
                "link_max_downloads", "preview_ttl_minutes"):
        if getattr(zalo, key) < 1:
            raise ConfigError("not_positive", source=source, key=f"zalo.{key}")
    if any(ms < 0 for ms in zalo.reply_retry_ms):
        raise ConfigError("negative", source=source, key="zalo.reply_retry_ms")
    secret = zalo.webhook_secret
    if secret and not 8 <= len(secret) <= 256:  # Zalo's setWebhook takes 8 to 256 characters
        raise ConfigError("zalo_secret_length", source=source, key="zalo.webhook_secret")
    url = zalo.public_base_url
    if url and not url.startswith(("https://", "http://")):
        raise ConfigError("zalo_base_url", source=source, key="zalo.public_base_url", value=url)
    if zalo.token and zalo.mode == "webhook":
        if not secret:
            raise ConfigError("zalo_webhook_needs", source=source, key="zalo.webhook_secret")
        if not url:
            raise ConfigError("zalo_webhook_needs", source=source, key="zalo.public_base_url")
    if zalo.token and not url:  # the .docx reaches a Zalo member only as a link
        raise ConfigError("zalo_needs_public_url", source=source, key="zalo.public_base_url")
    if not 0 < settings.web.port < 65536:
        raise ConfigError("bad_port", source=source, key="web.port", value=settings.web.port)
    web = settings.web
    if web.public_base_url and not web.public_base_url.startswith(("https://", "http://")):
        raise ConfigError("zalo_base_url", source=source, key="web.public_base_url",
                          value=web.public_base_url)
    for key in ("login_minutes", "session_minutes"):
        if getattr(web, key) < 1:
            raise ConfigError("not_positive", source=source, key=f"web.{key}")
    if settings.retention.days < 0:
        raise ConfigError("negative", source=source, key="retention.days")
