"""The secretary's tracker and a member's card cost a number of SQL statements that does not
grow with the cell (issue 10: a card cost 158 statements in a 50-member cell, the tracker
rebuilt every member's line with queries of its own). Counting statements is behaviour, not
timing: the counts are compared between a cell of 3 and the same cell grown to 50."""

from __future__ import annotations

from typing import cast

from bot.screens import Button, DeskAction, desk_press
from handlers.wiring import Core
from storage.db import Database
from tests.conftest import Chat, Seed, seed
from tests.test_review import linked


async def grow(core: Core, s: Seed, to: int) -> None:
    """Members up to ``to``: most with a review and answers, some leaders, some with the
    committee's points, and one collective shortcoming (what makes a line cost queries)."""
    store, now = core.store, core.clock.now()
    qids = [q.id for section in core.service.checklist.sections for q in section.questions][:3]
    async with store.transaction():
        await store.add_collective_shortcoming(s.round_id, "Sinh hoạt chưa đều", s.secretary_id,
                                               now)
        for n in range(3, to):
            member = await store.add_member(s.cell_id, f"Đảng viên {n:02d}", now,
                                            is_leader=n % 5 == 0)
            if n % 4 == 0:
                continue  # not started
            review = await store.create_review(s.round_id, member, now)
            for q in qids:
                await store.save_answer(review.id, q, "absent", skipped=False, vague=False,
                                        now=now)
            if n % 3 == 0:
                await store.add_review_item(s.round_id, member, "suggestion", "Giải trình",
                                            s.secretary_id, now)


async def statements(core: Core, chat: Chat, button: Button) -> tuple[int, list[str]]:
    db = cast(Database, core.db)
    with db.counting() as seen:
        await chat.press(button)
    return len(seen), seen


async def test_the_tracker_and_a_card_cost_the_same_statements_in_a_cell_of_3_and_of_50(
    core: Core,
) -> None:
    s = await seed(core)
    sec = await linked(core, s, s.secretary_id, "sec")
    tracker = Button("x", desk_press(DeskAction.TRACKER))
    card = Button("x", desk_press(DeskAction.MEMBER, s.member_id))
    # Each count is of a second press: the first may also write what does not depend on the
    # cell's size (when the secretary was last seen, the buttons shown if they changed).
    await sec.press(tracker)
    small_tracker, _ = await statements(core, sec, tracker)
    assert len(sec.screen("secretary/tracker").context["lines"]) == 3
    await sec.press(card)
    small_card, _ = await statements(core, sec, card)
    assert sec.screen("secretary/card").context["name"] == "Trần Thị Bình"

    await grow(core, s, 50)
    await sec.press(tracker)
    large_tracker, seen = await statements(core, sec, tracker)
    lines = sec.screen("secretary/tracker").context["lines"]
    assert len(lines) == 50
    assert sum(1 for line in lines if line["answered"] == 3) > 20
    assert large_tracker == small_tracker
    await sec.press(card)
    large_card, seen = await statements(core, sec, card)
    assert sec.screen("secretary/card").context["name"] == "Trần Thị Bình"
    assert large_card == small_card, seen
    assert large_card < 20  # a handful for the update, four for the card


async def test_a_card_in_a_cell_of_50_shows_the_same_line_as_the_tracker(core: Core) -> None:
    s = await seed(core)
    sec = await linked(core, s, s.secretary_id, "sec")
    await grow(core, s, 50)
    await sec.press(Button("x", desk_press(DeskAction.TRACKER)))
    lines = {line["id"]: line for line in sec.screen("secretary/tracker").context["lines"]}
    leader = next(i for i, line in lines.items() if line["name"] == "Đảng viên 10")
    await sec.press(Button("x", desk_press(DeskAction.MEMBER, leader)))
    card = sec.screen("secretary/card").context
    assert card["line"] == lines[leader]
    assert card["line"]["answered"] >= 3 and card["line"]["total"] > card["line"]["answered"]
