"""Turning the core's screens into text: one Jinja environment, configured once.

Message templates (``*.html.j2``) produce Telegram HTML and are autoescaped, so what a
member typed can never become markup. Text-only channels get the same text with the
tags removed and the buttons written out as numbers and keywords.
"""

from __future__ import annotations

import html
import re
import tomllib
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from bot.compose import VIETNAM, DraftTexts
from bot.config import ROOT
from bot.review import Texts
from bot.screens import ANSWER, NONE, Button, Screen
from bot.text import fold
from bot.workdays import format_vn_date

TEMPLATES = ROOT / "templates"
_TAG = re.compile(r"<[^>]+>")


def vn_date(value: date, weekday: bool = True) -> str:
    """A date as Vietnamese readers expect it: "Thứ Sáu, 18/12/2026" or "18/12/2026"."""
    return format_vn_date(value) if weekday else value.strftime("%d/%m/%Y")


def vn_datetime(value: datetime) -> str:
    """A moment in Vietnam's time zone: "14:05 Thứ Hai, 30/11/2026"."""
    local = value.astimezone(VIETNAM)
    return f"{local:%H:%M} {format_vn_date(local.date())}"


def make_environment(folder: Path) -> Environment:
    env = Environment(
        loader=FileSystemLoader(folder),
        autoescape=select_autoescape(enabled_extensions=("html.j2",), default=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["vn_date"] = vn_date
    env.filters["vn_datetime"] = vn_datetime
    # True while rendering for a channel without buttons: templates then say "gõ «xong»"
    # where Telegram says "bấm «Xong»" (common/_press.html.j2).
    env.globals["typed"] = False
    return env


@dataclass(frozen=True)
class MenuCommand:
    command: str
    description: str


class Renderer:
    """Renders screens and button labels from ``templates/``."""

    def __init__(self, root: Path = TEMPLATES) -> None:
        self.root = root
        self.env = make_environment(root / "messages")
        self.labels: dict[str, Any] = tomllib.loads(
            (root / "labels.toml").read_text(encoding="utf-8")
        )
        self._typed = {action: words[0] for action, words in self.labels["keywords"].items()}

    # ------------------------------------------------------------- core vocabulary

    def texts(self) -> Texts:
        """The words the core recognises and writes, as configured in labels.toml."""
        keywords = {
            fold(word): action
            for action, words in self.labels["keywords"].items()
            for word in words
        }
        commands = {name: spec["action"] for name, spec in self.labels["commands"].items()}
        dynamic = self.labels["dynamic"]
        return Texts(
            keywords=keywords, commands=commands, draft=DraftTexts(**self.labels["draft"]),
            dynamic={k: v for k, v in dynamic.items() if isinstance(v, str)},
            carryover_options=dynamic["carryover_options"],
        )

    def menu(self) -> list[MenuCommand]:
        return [MenuCommand(name, spec["description"])
                for name, spec in self.labels["commands"].items()]

    # ------------------------------------------------------------- rendering

    def html(self, screen: Screen) -> str:
        return self.render(screen.template, screen.context)

    def render(self, name: str, context: dict[str, Any], *, typed: bool = False) -> str:
        template = self.env.get_template(f"{name}.html.j2")
        return template.render(**context, typed=typed).strip()

    def render_text(self, name: str, context: dict[str, Any]) -> str:
        """A plain-text template (``*.txt.j2``), e.g. for the operator's command line."""
        return self.env.get_template(f"{name}.txt.j2").render(**context)

    def label(self, button: Button) -> str:
        return button.text if button.text is not None else self.labels["buttons"][button.label]

    def plain(self, screen: Screen) -> str:
        """The screen for a channel without buttons or markup (console, Zalo Bot API)."""
        text = html.unescape(_TAG.sub("", self.render(screen.template, screen.context,
                                                      typed=True)))
        hints = [
            f"«{self._typed[action]}»: {self.label(b)}"
            for row in screen.buttons
            for b in row
            if b.action != ANSWER
            # The «Không có nội dung này» button is typed as «không có».
            and (action := NONE if b.label == "none_to_report" else b.action) in self._typed
        ]
        if hints:
            text += "\n" + self.labels["plain"]["hints"] + " · ".join(dict.fromkeys(hints))
        return text
