"""The access matrix of the committee's view (issue 11): every kind of person × every action,
in the chat and on the web page. ``bot.access.allowed`` decides all of them; this test drives
the real paths (the core's routing, the web app over HTTP) and checks each answer.

People: a plain member, the cell's secretary, an officer of this committee, an officer of
another committee, and an officer of this committee who was removed. Targets are always this
committee and its late cell A."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from bot.access import Act, Actor, allowed
from bot.committee_desk import login_hash
from bot.models import Cell, Member, Role
from bot.screens import Button, DeskAction, desk_press
from handlers.dashboard import COOKIE
from tests.committeehelpers import Fixture, WebHarness, serving
from tests.conftest import Chat, FixedClock

PEOPLE = ("member", "secretary", "officer", "other_officer", "removed")
CHAT = ("overview", "cell", "remind", "web_link", "own_data")
WEB = ("home", "committee", "cell", "chart", "xlsx")

# What each person gets: a template in the chat, an HTTP status on the web.
EXPECTED_CHAT = {
    "member": ("committee/not_officer", "committee/no_such_cell", "committee/not_officer",
               "secretary/not_officer", "mydata/files"),
    "secretary": ("committee/not_officer", "committee/cell", "committee/not_officer",
                  "committee/web_link", "mydata/files"),
    "officer": ("committee/overview", "committee/cell", "committee/reminded",
                "committee/web_link", "mydata/nothing"),
    "other_officer": ("committee/no_such_cell", "committee/no_such_cell",
                      "committee/no_such_cell", "committee/web_link", "mydata/nothing"),
    "removed": ("common/account_inactive",) * 5,
}
EXPECTED_WEB = {
    "member": (401, 401, 401, 401, 401),  # no session can be had; a forged one is refused
    "secretary": (200, 404, 200, 404, 404),
    "officer": (200, 200, 200, 200, 200),
    "other_officer": (200, 404, 404, 404, 404),
    "removed": (401, 401, 401, 401, 401),
}


def person(fx: Fixture, who: str) -> int:
    return {"member": fx.member_id, "secretary": fx.secretary_id, "officer": fx.officer_id,
            "other_officer": fx.other_officer_id, "removed": fx.removed_id}[who]


def press(desk: DeskAction, target: int) -> Button:
    return Button("x", desk_press(desk, target))


async def chat_answers(h: WebHarness, chat: Chat) -> tuple[str, ...]:
    fx = h.fx
    got = []
    for action in CHAT:
        if action == "overview":
            await chat.press(press(DeskAction.COMMITTEE, fx.committee_id))
        elif action == "cell":
            await chat.press(press(DeskAction.COMMITTEE_CELL, fx.cells["A"]))
        elif action == "remind":
            await chat.press(press(DeskAction.COMMITTEE_REMIND, fx.committee_id))
        elif action == "web_link":
            await chat.say("/trangweb")
        else:
            await chat.say("/dulieu")
        got.append(chat.templates()[-1])
    return tuple(got)


async def web_answers(h: WebHarness, session: str) -> tuple[int, ...]:
    fx = h.fx
    cid = fx.committee_id
    pages = {"home": "/w/", "committee": f"/w/committee/{cid}", "cell": f"/w/cell/{fx.cells['A']}",
             "chart": f"/w/files/dang-bo-{cid}.png", "xlsx": f"/w/files/dang-bo-{cid}.xlsx"}
    async with httpx.AsyncClient(cookies={COOKIE: session}) as client:
        return tuple([(await client.get(h.base + pages[p])).status_code for p in WEB])


@pytest.mark.parametrize("who", PEOPLE)
async def test_access_matrix_in_the_chat_and_on_the_web(tmp_path: Path, clock: FixedClock,
                                                        who: str) -> None:
    async with serving(tmp_path, clock) as h:
        core, fx = h.core, h.fx
        member_id = person(fx, who)
        chat = Chat(core, f"chat-{who}")
        await chat.say(f"liên kết {fx.codes[member_id]}")
        # A session for everyone, made directly in the store (as if a link had been had):
        # the web page must check the person, not only the link.
        session = f"session-of-{who}"
        async with core.store.transaction():
            await core.store.add_web_session(login_hash(session), member_id, clock.now(),
                                             clock.now().replace(year=2027))
        if who == "removed":
            async with core.store.transaction():
                await core.operations.remove_member(member_id, None)
        assert await chat_answers(h, chat) == EXPECTED_CHAT[who]
        assert await web_answers(h, session) == EXPECTED_WEB[who]
        # Only this committee's officer may remind; cell A's secretary is not linked in this
        # test, so even that tap queues nothing — and no refused tap queued anything.
        rows = await core.db.fetch_all(
            "SELECT COUNT(*) FROM outbox WHERE template = 'committee/late_cell'")
        assert next(iter(rows))[0] == 0


def test_allowed_is_the_one_rule_for_every_act() -> None:
    """The same matrix on ``bot.access.allowed`` itself, for each act and target."""
    mine = Cell(1, "A", "P", "", committee_id=10)
    theirs = Cell(2, "D", "Q", "", committee_id=20)

    def who(role: Role, cell: int, committees: frozenset[int] = frozenset(),
            active: bool = True) -> Actor:
        return Actor(Member(1, cell, "X", None, None, None, None, None, False, role, active),
                     committees)

    people = {
        "member": who(Role.MEMBER, 1),
        "secretary": who(Role.SECRETARY, 1),
        "officer": who(Role.MEMBER, 99, frozenset({10})),
        "other_officer": who(Role.MEMBER, 99, frozenset({20})),
        "removed": who(Role.SECRETARY, 1, frozenset({10}), active=False),
    }
    table = {name: (allowed(a, Act.COMMITTEE_VIEW, committee_id=10),
                    allowed(a, Act.CELL_VIEW, cell=mine), allowed(a, Act.CELL_VIEW, cell=theirs),
                    allowed(a, Act.REMIND_LATE, committee_id=10), allowed(a, Act.WEB_LOGIN),
                    allowed(a, Act.OWN_DATA))
             for name, a in people.items()}
    assert table == {
        "member": (False, False, False, False, False, True),
        "secretary": (False, True, False, False, True, True),
        "officer": (True, True, False, True, True, True),
        "other_officer": (False, False, True, False, True, True),
        "removed": (False, False, False, False, False, False),
    }
    assert not allowed(None, Act.OWN_DATA)
    assert not allowed(people["officer"], Act.CELL_VIEW, cell=None)
