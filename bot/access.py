"""Who may see and do what: every access check of the chat and the web page, in one place.

The people:
* a **member** reaches only their own review and their own data;
* a cell's **secretary or deputy** (``is_officer``) manages the members of their own cell
  (the desk) and sees their own cell's tracker, in the chat and on the web page;
* a **committee officer** (``Actor.committees``) sees every cell of their committee — the
  overview, each cell's tracker, the chart, the workbook — reminds the secretaries of late
  cells, and nothing beyond that committee; they manage no member;
* a **removed** member (inactive) may do nothing at all.

``allowed`` answers for one action on one target; ``may_manage`` is the desk's check on a
member. A refusal never says whether the target exists (``bot.errors``). Core module: no
channel, no storage.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from bot.models import Cell, Member, is_officer

__all__ = ["Act", "Actor", "allowed", "is_officer", "may_manage"]


class Act(StrEnum):
    """Everything the access check is asked about (chat and web alike)."""

    COMMITTEE_VIEW = "committee_view"  # a committee's overview, chart and workbook
    CELL_VIEW = "cell_view"            # one cell's tracker (counts, statuses, levels)
    REMIND_LATE = "remind_late"        # tell the secretaries of a committee's late cells
    WEB_LOGIN = "web_login"            # get a one-time link to the web page, and use it
    OWN_DATA = "own_data"              # a member's own answers and drafts (/dulieu)
    DELETE_OWN = "delete_own"          # a member deletes their own answer texts


@dataclass(frozen=True)
class Actor:
    """The person asking: their member record and the committees they are an officer of."""

    member: Member
    committees: frozenset[int] = frozenset()

    @property
    def committee_officer(self) -> bool:
        return self.member.active and bool(self.committees)


def may_manage(actor: Member, target: Member | None) -> bool:
    """An active secretary or deputy may manage the members of their own cell only."""
    return target is not None and is_officer(actor) and actor.cell_id == target.cell_id


def allowed(actor: Actor | None, act: Act, *, cell: Cell | None = None,
            committee_id: int | None = None) -> bool:
    """Whether ``actor`` may do ``act`` (on ``cell`` or ``committee_id`` where the act has a
    target). Unknown targets (None) are refused like forbidden ones."""
    if actor is None or not actor.member.active:
        return False
    member = actor.member
    if act in (Act.OWN_DATA, Act.DELETE_OWN):
        return True  # a member's own data; what and when is checked where it is done
    if act is Act.WEB_LOGIN:
        return is_officer(member) or actor.committee_officer
    if act in (Act.COMMITTEE_VIEW, Act.REMIND_LATE):
        return committee_id is not None and committee_id in actor.committees
    if act is Act.CELL_VIEW:
        if cell is None:
            return False
        own = is_officer(member) and cell.id == member.cell_id
        return own or (cell.committee_id is not None and cell.committee_id in actor.committees)
    return False
