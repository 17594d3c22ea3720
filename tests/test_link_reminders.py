"""Problem 10: a member who links after the round opened gets their reminders planned at
once, not at the next restart or 06:30 re-plan; nobody else's reminders are planned again."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.reminders import Verdict, decide
from handlers.wiring import Core
from tests.conftest import Chat, FixedClock, seed


async def test_problem_10_linking_on_a_nudge_day_plans_that_days_nudge_at_once(
    core: Core, clock: FixedClock
) -> None:
    seeded = await seed(core)  # round open on 23/11, members' deadline 10/12, nobody linked
    secretary = Chat(core, "2002", channel="telegram")
    await secretary.say(f"liên kết {seeded.codes[seeded.secretary_id]}")
    others = {k: v for k, v in (await core.outbox.statuses()).items()
              if f":m{seeded.secretary_id}:" in k}
    assert others  # the secretary's own reminders, planned when they linked

    clock.current = datetime(2026, 12, 7, 0, 30, tzinfo=UTC)  # 07:30 in Hà Nội, a nudge day
    async with core.store.transaction():  # the first invite has expired: a new one
        invite = await core.operations.issue_invite(await core.operations.active_member(
            seeded.member_id))
    member = Chat(core, "1001", channel="telegram")
    await member.say(f"liên kết {invite.code}")
    assert member.templates()[0] == "link/ok"

    rows = await core.outbox.statuses()
    nudge = f"r{seeded.round_id}:m{seeded.member_id}:nudge:2026-12-07"
    assert rows[nudge] == "planned"
    assert {k: v for k, v in rows.items() if f":m{seeded.secretary_id}:" in k
            and "2026-12-07" <= k.rsplit(":", 1)[1]} == {
        k: v for k, v in others.items() if "2026-12-07" <= k.rsplit(":", 1)[1]}

    clock.current = datetime(2026, 12, 7, 1, 1, tzinfo=UTC)  # 08:01: the nudge is due and sent
    due = {row.reminder.id: row for row in await core.outbox.due(clock.now(), 100, ['telegram'], True)}
    assert decide(due[nudge].reminder, clock.now(), core.reminder_settings).verdict is Verdict.SEND
