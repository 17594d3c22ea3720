"""What the core asks a channel to show, and what a channel tells the core.

The core never formats a sentence: a ``Screen`` names a template under
``templates/messages`` and the facts it needs. A ``Button`` carries a ``Press``: what
happens when it is chosen, on any channel. A channel with buttons shows them; a channel
without (console, Zalo) lets the person type the choice's number (``Screen.choices``) or
a keyword (``templates/labels.toml``): every button has a typed route.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.roster import RosterPreview


class Action(StrEnum):
    """What a press or a typed word asks of the core. The values are short ASCII codes:
    a channel may carry them in its own button data."""

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
    DESK = "s"  # the secretary's desk: ``Press.desk`` says which action
    NONE = "none"  # «không có» typed: the answer itself, or nothing to report (never a button)
    FORGED = "forged"  # a press no button of this bot could have made
    UNKNOWN = "unknown"  # a command nobody knows


class DeskAction(StrEnum):
    """The secretary's desk. ``Press.target`` is the member acted on (or the roster upload
    for ROSTER_OK / ROSTER_NO)."""

    TRACKER = "trk"
    COLLECTIVE = "col"
    CANCEL = "cnl"
    REMIND_ALL = "rall"
    BUNDLE = "bnd"
    ROSTER_OK = "rok"
    ROSTER_NO = "rno"
    MEMBER = "mem"
    REMIND = "rem"
    INVITE = "inv"
    REVOKE = "rvk"
    CATEGORY = "cat"
    SET_CATEGORY = "setc"
    SET_STANDING = "sets"
    REMOVE = "del"
    CONFIRM_REMOVE = "dely"
    POINT = "pnt"
    DRAFT = "drf"
    RETURN = "ret"
    ACCEPT = "acc"
    # The committee's view (``bot.committee_desk``): ``target`` is a committee, or a cell.
    COMMITTEE = "dbo"
    COMMITTEE_CELL = "dbc"
    COMMITTEE_REMIND = "dbr"
    WEB_LINK = "web"
    # A member's own data: ``target`` is one of their reviews.
    MY_DATA = "dl"
    DELETE_MINE = "dlx"
    CONFIRM_DELETE_MINE = "dlxy"


# Actions ``bot.committee_desk`` answers (committee officers, and every member for their own
# data); the others are the cell's desk (``bot.secretary``).
COMMITTEE_ACTIONS = frozenset({
    DeskAction.COMMITTEE, DeskAction.COMMITTEE_CELL, DeskAction.COMMITTEE_REMIND,
    DeskAction.WEB_LINK, DeskAction.MY_DATA, DeskAction.DELETE_MINE,
    DeskAction.CONFIRM_DELETE_MINE,
})

# Desk actions that need no target member.
CELL_WIDE = frozenset({DeskAction.TRACKER, DeskAction.COLLECTIVE, DeskAction.CANCEL,
                       DeskAction.REMIND_ALL, DeskAction.BUNDLE})


@dataclass(frozen=True)
class Press:
    """A choice: a button pressed, a number or keyword typed, a command.

    ``review_id`` and ``qid`` let the core recognise a stale or forged answer. A desk press
    names its ``desk`` action and the ``target`` member (or roster upload).
    """

    action: Action
    review_id: int = 0
    qid: str = ""
    arg: str = ""
    desk: DeskAction | None = None
    target: int = 0


def desk_press(desk: DeskAction, target: int = 0, arg: str = "") -> Press:
    return Press(Action.DESK, arg=arg, desk=desk, target=target)


@dataclass(frozen=True)
class Button:
    """One choice offered. ``label`` is a key in ``templates/labels.toml`` unless ``text``
    is given (option labels come from the checklist pack)."""

    label: str
    press: Press
    text: str | None = None

    @property
    def action(self) -> Action:
        return self.press.action


@dataclass(frozen=True)
class SubmissionRef:
    """One stored version of a member's draft."""

    review_id: int
    version: int


@dataclass(frozen=True)
class Document:
    """A file to hand over. ``ref`` names the stored submission it is, when it is one (a
    channel without file sending makes a download link from it)."""

    filename: str
    content: bytes
    ref: SubmissionRef | None = None
    picture: bool = False  # a PNG to show as a picture where the channel can (the chart)


@dataclass(frozen=True)
class Screen:
    """One message to the person who spoke: a template, its context, buttons, a file.

    ``choices`` are the presses a typed number selects, in the order the text numbers them
    (1, 2, …). ``ack`` marks the acknowledgement of a choice just made: a channel that can
    edit the message whose button was pressed may show it there instead. ``receipt``, when
    set, is handed back to ``ReviewService.delivered`` once every part reached the person.
    Messages for anyone else go through the outbox (``bot.delivery``), never a Screen.
    """

    template: str
    context: dict[str, Any] = field(default_factory=dict)
    buttons: tuple[tuple[Button, ...], ...] = ()
    document: Document | None = None
    choices: tuple[Press, ...] = ()
    ack: bool = False
    receipt: str | None = None

    def presses(self) -> list[Press]:
        return [b.press for row in self.buttons for b in row]


@dataclass(frozen=True)
class Incoming:
    """One thing a person did, as any channel reports it.

    Exactly one of ``text``, ``press``, ``document`` (a file the person sent, e.g. a
    roster) or ``unsupported`` is set. ``event_key`` is unique per delivered update (e.g.
    "<channel>:123") so a repeated delivery is recognised; ``private`` is False in group
    chats. ``roster`` is filled in by the core itself, before its transaction, with the
    reading of a roster file (the heavy part).
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
