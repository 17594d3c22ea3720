"""Turning the core's screens into text: one Jinja environment per channel, configured once.

Message templates (``*.html.j2``) produce HTML and are autoescaped, so what a member typed
can never become markup. The default templates word every choice as something to type
(console, Zalo); a channel may override any template in ``messages/<channel>/`` (Telegram
says «bấm …» in ``messages/telegram/common/_press.html.j2``), found first by a
``ChoiceLoader``. Text-only channels get the same text with the tags removed and the buttons
written out as numbers and keywords (``plain``).
"""

from __future__ import annotations

import html
import re
import tomllib
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from jinja2 import (
    BaseLoader, ChoiceLoader, Environment, FileSystemLoader, StrictUndefined, select_autoescape,
)

from bot.checklist import Problem, describe_problem
from bot.compose import VIETNAM
from bot.config import ROOT
from bot.screens import Action, Button, Screen
from bot.workdays import format_vn_date
from bot.words import Words

TEMPLATES = ROOT / "templates"
_TAG = re.compile(r"<[^>]+>")


def vn_date(value: date, weekday: bool = True) -> str:
    """A date as Vietnamese readers expect it: "Thứ Sáu, 18/12/2026" or "18/12/2026"."""
    return format_vn_date(value) if weekday else value.strftime("%d/%m/%Y")


def vn_datetime(value: datetime) -> str:
    """A moment in Vietnam's time zone: "14:05 Thứ Hai, 30/11/2026"."""
    local = value.astimezone(VIETNAM)
    return f"{local:%H:%M} {format_vn_date(local.date())}"


def make_environment(folder: Path, channel: str = "", *,
                     escape_all: bool = False) -> Environment:
    """The environment for ``channel``: its override folder first, then the defaults.
    ``escape_all``: every template is autoescaped, whatever its name (the web page)."""
    loader: BaseLoader = FileSystemLoader(folder)
    override = folder / channel if channel else None
    if override is not None and override.is_dir():
        loader = ChoiceLoader([FileSystemLoader(override), loader])
    env = Environment(
        loader=loader,
        autoescape=True if escape_all else select_autoescape(enabled_extensions=("html.j2",),
                                                             default=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["vn_date"] = vn_date
    env.filters["vn_datetime"] = vn_datetime
    return env


def load_pack_words(root: Path = TEMPLATES) -> dict[str, Any]:
    """The Vietnamese for every pack problem (see ``bot.checklist.describe_problem``)."""
    return tomllib.loads((root / "pack_problems.toml").read_text(encoding="utf-8"))


@dataclass(frozen=True)
class MenuCommand:
    command: str
    description: str


class Renderer:
    """Renders screens and button labels from ``templates/``."""

    def __init__(self, root: Path = TEMPLATES) -> None:
        self.root = root
        self._envs: dict[str, Environment] = {}
        self.env = self.environment("")
        self.env.filters["pack_problem"] = self.pack_problem
        self.labels: dict[str, Any] = tomllib.loads(
            (root / "labels.toml").read_text(encoding="utf-8")
        )
        self.words = Words.parse(self.labels)  # checks labels.toml against the core's actions
        self._typed = {action: words[0] for action, words in self.labels["keywords"].items()}
        self._pack_words: dict[str, Any] | None = None

    @property
    def web_env(self) -> Environment:
        """The web page's templates (``templates/web``): every one autoescaped."""
        if "<web>" not in self._envs:
            self._envs["<web>"] = make_environment(self.root / "web", escape_all=True)
        return self._envs["<web>"]

    def web(self, name: str, context: dict[str, Any]) -> str:
        return self.web_env.get_template(f"{name}.html.j2").render(**context)

    def environment(self, channel: str) -> Environment:
        if channel not in self._envs:
            self._envs[channel] = make_environment(self.root / "messages", channel)
        return self._envs[channel]

    # ------------------------------------------------------------- core vocabulary

    def menu(self) -> list[MenuCommand]:
        return [MenuCommand(name, spec["description"])
                for name, spec in self.labels["commands"].items()]

    # ------------------------------------------------------------- rendering

    def html(self, screen: Screen, channel: str = "telegram") -> str:
        """The screen as HTML, worded for ``channel`` (a channel with buttons)."""
        return self.render(screen.template, screen.context, channel=channel)

    def render(self, name: str, context: dict[str, Any], *, channel: str = "") -> str:
        template = self.environment(channel).get_template(f"{name}.html.j2")
        return template.render(**context).strip()

    def render_text(self, name: str, context: dict[str, Any]) -> str:
        """A plain-text template (``*.txt.j2``), e.g. for the operator's command line."""
        return self.env.get_template(f"{name}.txt.j2").render(**context)

    def pack_problem(self, problem: Problem) -> str:
        """What is wrong with a pack, in Vietnamese (``templates/pack_problems.toml``); the
        ``pack_problem`` filter of the operator's templates."""
        if self._pack_words is None:
            self._pack_words = load_pack_words(self.root)
        return describe_problem(problem, self._pack_words)

    def label(self, button: Button) -> str:
        return button.text if button.text is not None else self.labels["buttons"][button.label]

    def typed_word(self, button: Button) -> str | None:
        """What to type instead of pressing ``button`` when it is not a numbered choice."""
        press = button.press
        if press.desk is not None:
            return self.words.desk_words.get(press.desk)
        # The «Không có nội dung này» button is typed as «không có».
        action = Action.NONE if button.label == "none_to_report" else press.action
        return self._typed.get(action.value)

    def plain(self, screen: Screen, channel: str = "") -> str:
        """The screen for a channel without buttons or markup (console, Zalo Bot API): the
        numbered choices are in the text; every other button is listed with its word."""
        text = html.unescape(_TAG.sub("", self.render(screen.template, screen.context,
                                                      channel=channel)))
        hints = [
            f"«{word}»: {self.label(b)}"
            for row in screen.buttons
            for b in row
            if b.press not in screen.choices and (word := self.typed_word(b)) is not None
        ]
        if hints:
            text += "\n" + self.labels["plain"]["hints"] + " · ".join(dict.fromkeys(hints))
        return text
