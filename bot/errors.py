"""The few expected refusals of the core, and the one place that words them.

A use case raises one of these when it cannot go on (the account is not linked, the round
is closed…); ``ReviewService`` turns it into the screen named here, inside its transaction
(the update stays claimed, so a repeat is not handled twice).
"""

from __future__ import annotations

from typing import Any

from bot.screens import Screen


class Refusal(Exception):
    """An expected "no", with the template that says it and that template's facts."""

    template = "common/error"

    def __init__(self, **context: Any) -> None:
        super().__init__(self.template)
        self.context = context

    def screen(self) -> Screen:
        return Screen(self.template, dict(self.context))


class NotLinked(Refusal):
    template = "common/not_linked"


class Inactive(Refusal):
    """The member was removed from the cell: their account no longer works."""

    template = "common/account_inactive"


class NoOpenRound(Refusal):
    template = "review/no_round"


class NotReviewed(Refusal):
    """The round does not review this member (366 Điều 5); the context says why."""

    template = "review/not_reviewed"


class NotOfficer(Refusal):
    template = "secretary/not_officer"


class NoSuchMember(Refusal):
    """Not a member of the officer's cell, or none at all: the same answer, so nothing
    leaks about other cells."""

    template = "secretary/no_such_member"


class DeskNoRound(Refusal):
    template = "secretary/no_round"


def screens_for(refusal: Refusal) -> list[Screen]:
    return [refusal.screen()]


class NotCommitteeOfficer(Refusal):
    """/dangbo from someone who is no committee officer; ``secretary`` says whether they
    have a cell's desk instead (/chibo)."""

    template = "committee/not_officer"


class NoSuchCell(Refusal):
    """A cell (or committee) the officer may not see, or none at all: the same answer."""

    template = "committee/no_such_cell"


class NotYours(Refusal):
    """A review id that is not the member's own (a forged button), or none at all."""

    template = "mydata/not_yours"
