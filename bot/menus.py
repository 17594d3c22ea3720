"""The last menu shown to an account, so a typed number or keyword means what it showed.

On a channel without buttons, «1» after the secretary's tracker means the first member on
it, not the first option of the secretary's own next question. After each reply the core
keeps, per account, the choices of the desk screen it showed (``accounts.menu``); a typed
number resolves against them before the review flow sees the text. The member's own review
keeps its own, finer binding (``reviews.shown_qid``): when a review screen is shown, the
account's menu is cleared and typed input goes to the review as before.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from bot.screens import Action, DeskAction, Press, Screen
from bot.text import ascii_number, fold
from bot.words import Words


@dataclass(frozen=True)
class Menu:
    """The desk's last screen: its numbered choices and every press it offered. A question
    the desk asks (a comment, a point, a category, "remove for sure?": «thôi» drops it) keeps
    the menu it was asked from in ``under``; once it is answered or dropped, that menu is in
    force again."""

    choices: tuple[Press, ...] = ()
    presses: tuple[Press, ...] = ()
    under: Menu | None = None

    @property
    def asks(self) -> bool:
        """A question (typed text or a confirmation, with «thôi» to drop it), not a menu of
        its own."""
        return any(p.desk is DeskAction.CANCEL for p in self.presses)


@dataclass(frozen=True)
class OutOfRange:
    """A number the menu does not have: say which numbers it has."""

    count: int


def desk_menu(screens: Sequence[Screen], before: Menu | None = None) -> Menu:
    """The menu a desk reply leaves: that of its last screen offering any choice (a
    question keeps ``before`` under it); with none, ``before`` — or, if ``before`` was a
    question, now answered, the menu it was asked from."""
    for screen in reversed(screens):
        if screen.buttons or screen.choices:
            menu = Menu(screen.choices, tuple(screen.presses()))
            if menu.asks and before is not None:
                return Menu(menu.choices, menu.presses, before.under if before.asks else before)
            return menu
    if before is not None and before.asks:
        return before.under or Menu()
    return before or Menu()


def shows_review(screens: Sequence[Screen]) -> bool:
    """Whether the reply puts one of the member's own review screens with choices in front
    of them (a question, the list, a half-written answer…)."""
    return any((s.buttons or s.choices) and all(p.action != Action.DESK
                                                for p in (*s.presses(), *s.choices))
               for s in screens)


def resolve(menu: Menu, text: str, words: Words) -> Press | OutOfRange | None:
    """What ``text`` selects on ``menu``: a choice by its number, or a button by its
    keyword; None if it names neither (a comment, a command, a review keyword…)."""
    number = ascii_number(text)
    if number is not None:
        if not menu.choices:
            return None
        if 1 <= number <= len(menu.choices):
            return menu.choices[number - 1]
        return OutOfRange(len(menu.choices))
    folded = fold(text)
    for press in menu.presses:
        if press.desk is not None and folded in words.desk_keywords.get(press.desk, ()):
            return press
    return None


def _press(data: dict[str, object]) -> Press:
    desk = data.get("d")
    return Press(Action(str(data["a"])), int(str(data.get("r", 0))), str(data.get("q", "")),
                 str(data.get("g", "")), DeskAction(str(desk)) if desk else None,
                 int(str(data.get("t", 0))))


def _data(press: Press) -> dict[str, object]:
    data: dict[str, object] = {"a": press.action.value}
    for key, value in (("r", press.review_id), ("q", press.qid), ("g", press.arg),
                       ("d", press.desk.value if press.desk else None), ("t", press.target)):
        if value:
            data[key] = value
    return data


def _menu_data(menu: Menu) -> dict[str, object]:
    data: dict[str, object] = {"c": [_data(p) for p in menu.choices],
                               "p": [_data(p) for p in menu.presses]}
    if menu.under is not None:
        data["u"] = _menu_data(menu.under)
    return data


def _menu(data: dict[str, object]) -> Menu:
    under = data.get("u")
    return Menu(tuple(_press(p) for p in data.get("c", [])),  # type: ignore[attr-defined]
                tuple(_press(p) for p in data.get("p", [])),  # type: ignore[attr-defined]
                _menu(under) if isinstance(under, dict) else None)


def dump(menu: Menu) -> str:
    return json.dumps(_menu_data(menu), separators=(",", ":"))


def load(text: str | None) -> Menu | None:
    """The stored menu; None when there is none (or it cannot be read: a menu is a
    convenience, never worth a failed message)."""
    if not text:
        return None
    try:
        return _menu(json.loads(text))
    except (ValueError, KeyError, TypeError, AttributeError):
        return None
