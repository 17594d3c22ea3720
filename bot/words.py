"""The words the core recognises and writes, as ``templates/labels.toml`` sets them.

A deployer may change every word; what the words *mean* is fixed by ``Action`` and
``DeskAction``. ``Words.parse`` checks the file against those enums when the bot starts, so a
keyword for an action that does not exist stops the process instead of failing in a chat.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.compose import DraftTexts
from bot.screens import Action, DeskAction, Press, desk_press
from bot.text import fold

# Review actions a person may type as a word (the rest only come from buttons or the core).
TYPED_ACTIONS = frozenset({
    Action.DONE, Action.BACK, Action.SKIP, Action.NONE, Action.PAUSE, Action.SUMMARY,
    Action.SUBMIT, Action.KEEP, Action.CLEAR, Action.OFFICIAL, Action.RESUME, Action.HELP,
})


class WordsError(ValueError):
    """labels.toml names an action the core does not know, or gives one word two meanings."""


@dataclass(frozen=True)
class Words:
    keywords: Mapping[str, Action]  # folded word -> review action (a whole message)
    desk_keywords: Mapping[DeskAction, tuple[str, ...]]  # desk action -> folded words
    desk_words: Mapping[DeskAction, str]  # desk action -> the word shown (the first one)
    commands: Mapping[str, Press]  # command name without "/" -> what it does
    draft: DraftTexts
    dynamic: Mapping[str, str]  # prompts for the member's own points in sections III-V
    carryover_options: Mapping[str, str]  # option id -> label for a carried-over shortcoming

    @classmethod
    def parse(cls, labels: Mapping[str, Any]) -> Words:
        """Read labels.toml's tables; ``WordsError`` names the first thing wrong."""
        keywords: dict[str, Action] = {}
        for name, words in labels["keywords"].items():
            action = _enum(Action, name, "keywords")
            if action not in TYPED_ACTIONS:
                raise WordsError(f"[keywords] {name}: not an action a person may type")
            for word in words:
                if keywords.setdefault(fold(word), action) is not action:
                    raise WordsError(f"[keywords] «{word}» means two actions")
        desk: dict[DeskAction, tuple[str, ...]] = {}
        shown: dict[DeskAction, str] = {}
        for name, words in labels.get("desk_keywords", {}).items():
            action = _enum(DeskAction, name, "desk_keywords")
            if not words:
                raise WordsError(f"[desk_keywords] {name}: no word")
            desk[action] = tuple(fold(w) for w in words)
            shown[action] = words[0]
            clash = [w for w in words if fold(w) in keywords]
            if clash:  # read first after a desk screen, it would hide the review's word
                raise WordsError(f"[desk_keywords] {name}: «{clash[0]}» is also in [keywords]")
        commands: dict[str, Press] = {}
        for name, spec in labels["commands"].items():
            if "desk" in spec:
                commands[name] = desk_press(_enum(DeskAction, spec["desk"], f"commands.{name}"))
            else:
                commands[name] = Press(_enum(Action, spec["action"], f"commands.{name}"))
        dynamic = labels["dynamic"]
        return cls(
            keywords=keywords, desk_keywords=desk, desk_words=shown, commands=commands,
            draft=DraftTexts(**labels["draft"]),
            dynamic={k: v for k, v in dynamic.items() if isinstance(v, str)},
            carryover_options=dynamic["carryover_options"],
        )


def _enum(kind: type[Action | DeskAction], value: str, where: str) -> Any:
    try:
        return kind(value)
    except ValueError:
        known = ", ".join(sorted(m.value for m in kind))
        raise WordsError(f"[{where}] {value!r} is not one of: {known}") from None
