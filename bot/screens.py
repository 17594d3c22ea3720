"""What the core asks an adapter to show, and what an adapter tells the core.

The core never formats a sentence: a ``Screen`` names a template under
``templates/messages`` and the facts it needs. Buttons carry short ASCII actions so the
same screen works as Telegram inline buttons and as typed words on text-only channels.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bot.models import Account

if TYPE_CHECKING:
    from bot.roster import RosterPreview

# Button actions. Kept short: they travel in Telegram's 64-byte callback_data.
ANSWER = "a"
BACK = "back"
SKIP = "skip"
PAUSE = "pause"
RESUME = "go"
OFFICIAL = "off"
DONE = "done"
KEEP = "keep"
CLEAR = "clr"
SUMMARY = "sum"
SUBMIT = "sub"
HELP = "help"
LINK = "link"
DESK = "s"  # the secretary's desk; the sub-action travels in the qid field
NONE = "none"  # «không có» typed: the answer itself, or nothing to report (never a button)
ACTIONS = frozenset(
    {ANSWER, BACK, SKIP, PAUSE, RESUME, OFFICIAL, DONE, KEEP, CLEAR, SUMMARY, SUBMIT, HELP, DESK}
)


@dataclass(frozen=True)
class Button:
    """One choice offered to the member.

    ``label`` is a key in ``templates/labels.toml`` unless ``text`` is given (option
    labels come from the checklist pack). ``review_id`` and ``qid`` let the core
    recognise a stale or forged press.
    """

    label: str
    action: str
    review_id: int = 0
    qid: str = ""
    arg: str = ""
    text: str | None = None


@dataclass(frozen=True)
class Document:
    filename: str
    content: bytes


@dataclass(frozen=True)
class Screen:
    """One message to send: a template, its context, buttons and an optional file.

    ``to`` is None for a reply to whoever spoke; otherwise the accounts to notify.
    ``replaces_pressed`` asks the adapter to edit the message whose button was pressed
    (Telegram) instead of sending a new one. ``receipt``, when set, is handed back to
    ``ReviewService.delivered`` once every part of the screen has reached the person.
    """

    template: str
    context: dict[str, Any] = field(default_factory=dict)
    buttons: tuple[tuple[Button, ...], ...] = ()
    document: Document | None = None
    to: tuple[Account, ...] | None = None
    replaces_pressed: bool = False
    receipt: str | None = None


@dataclass(frozen=True)
class Press:
    """A decoded button press or command."""

    action: str
    review_id: int = 0
    qid: str = ""
    arg: str = ""


@dataclass(frozen=True)
class Incoming:
    """One thing a person did, as any channel reports it.

    Exactly one of ``text``, ``press``, ``document`` (a file the person sent, e.g. a
    roster) or ``unsupported`` is set. ``event_key`` is
    unique per delivered update (e.g. "telegram:update:123") so a repeated delivery is
    recognised; ``private`` is False in group chats. ``roster`` is filled in by the core
    itself, before its transaction, with the reading of a roster file (the heavy part).
    """

    channel: str
    external_id: str
    event_key: str | None = None
    text: str | None = None
    press: Press | None = None
    unsupported: str | None = None
    document: Document | None = None
    private: bool = True
    from_button: bool = False
    roster: RosterPreview | None = None


def encode_press(button: Button) -> str:
    """Pack a button into callback data: ``action|review|qid|arg`` (ASCII, ≤ 64 bytes)."""
    data = f"{button.action}|{button.review_id}|{button.qid}|{button.arg}"
    if len(data.encode()) > 64:
        raise ValueError(f"callback data too long: {data!r}")
    return data


def decode_press(data: str) -> Press | None:
    """Unpack callback data; None when it is not something this bot could have sent."""
    parts = data.split("|")
    # ASCII digits only ("²".isdigit() is True), and an id SQLite can hold.
    if (len(parts) != 4 or parts[0] not in ACTIONS or not parts[1].isascii()
            or not parts[1].isdigit() or len(parts[1]) > 18):
        return None
    return Press(action=parts[0], review_id=int(parts[1]), qid=parts[2], arg=parts[3])
