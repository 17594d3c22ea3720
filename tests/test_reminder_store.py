"""Reminder rows in the outbox on a real SQLite file, and the one sender (``bot.delivery``)
with the Telegram transport over real HTTP against FakeBotApi."""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import AsyncIterator
from datetime import date, time, timedelta
from typing import cast

import pytest
from telegram.ext import AIORateLimiter, ExtBot

from bot.delivery import Sender, SenderSettings
from bot.reminders import Kind, at_local, parse_clock
from handlers.tg.transport import TelegramTransport
from handlers.wiring import Core
from storage.db import Database
from tests.conftest import FixedClock, Seed, seed
from tests.fakebotapi import FakeBotApi

CHATS = {"member": 5001, "leader": 5002, "secretary": 5003}
SECRET = "BÍ-MẬT-TRẢ-LỜI"  # an answer that must never appear in a reminder


async def link_all(core: Core, s: Seed) -> None:
    now = core.clock.now()
    async with core.store.transaction():
        for mid, chat in zip((s.member_id, s.leader_id, s.secretary_id), CHATS.values(),
                             strict=True):
            await core.store.link_account("telegram", str(chat), mid, now)


async def sql(core: Core, statement: str, *params: object) -> None:
    async with core.db.transaction():
        await core.db.execute(statement, params)


async def submit(core: Core, round_id: int, member_id: int) -> None:
    await sql(core, "INSERT INTO reviews (round_id, member_id, status, submitted_version,"
              " created_at) VALUES (?, ?, 'submitted', 1, '2026-11-23')", round_id, member_id)


@pytest.fixture
async def seeded(core: Core) -> Seed:
    s = await seed(core)
    await link_all(core, s)
    return s


# ------------------------------------------------------------------------ the plan in SQLite

async def test_replan_is_idempotent_and_keeps_sent_rows_when_the_meeting_moves(
    core: Core, seeded: Seed
) -> None:
    store = core.outbox
    first = await core.replan(seeded.round_id)
    rows = await store.statuses()
    assert await core.replan(seeded.round_id) == first and await store.statuses() == rows
    invite = f"r{seeded.round_id}:m{seeded.member_id}:invite:2026-11-23"
    nudge = f"r{seeded.round_id}:m{seeded.member_id}:nudge:2026-12-07"
    assert rows[invite] == rows[nudge] == "planned"
    async with core.db.transaction():
        assert await store.mark_sending([(invite, "telegram", "5001")]) == [invite]
        await store.mark_sent([invite], core.clock.now())

    async with core.db.transaction():
        await core.store.move_round(seeded.round_id, date(2026, 12, 22), date(2026, 12, 14))
    await core.replan(seeded.round_id)
    after = await store.statuses()
    assert after[invite] == "sent"  # never touched, never planned again
    assert nudge not in after  # the old date's nudge is gone ...
    assert after[f"r{seeded.round_id}:m{seeded.member_id}:due_day:2026-12-14"] == "planned"
    assert await core.replan(seeded.round_id) == await core.replan(seeded.round_id)


async def test_replanning_with_nothing_changed_writes_nothing_and_one_member_reads_only_theirs(
    core: Core, seeded: Seed
) -> None:
    """Issue 10: a start re-plans every open round; with nothing changed that must cost reads
    only. Re-planning one member (who links, or writes again after blocking the bot) reads
    that member's rows, not the round's."""
    db = cast(Database, core.db)
    planned = await core.replan(seeded.round_id)
    assert planned > 0
    with db.counting() as seen:
        assert await core.replan(seeded.round_id) == planned
    assert [q for q in seen if not q.lstrip().upper().startswith("SELECT")] == []
    member = await core.store.member(seeded.member_id)
    assert member is not None
    before = await core.outbox.statuses()
    with db.counting() as seen:
        assert await core.replan_member(member) > 0
    assert await core.outbox.statuses() == before
    reads = [q for q in seen if "FROM outbox" in q or "FROM rounds r JOIN members" in q]
    assert len(reads) == 2 and all(f"= {seeded.member_id}" in q for q in reads), reads


async def test_members_who_submitted_get_no_member_reminders(core: Core, seeded: Seed) -> None:
    await submit(core, seeded.round_id, seeded.member_id)
    await core.replan(seeded.round_id)
    ids = await core.outbox.statuses()
    assert not [i for i in ids if f":m{seeded.member_id}:" in i]
    assert [i for i in ids if f":m{seeded.secretary_id}:digest" in i]


async def test_closing_the_round_removes_unsent_reminders(core: Core, seeded: Seed) -> None:
    await core.replan(seeded.round_id)
    async with core.store.transaction():
        await core.store.close_round(seeded.round_id)
    await core.replan(seeded.round_id)
    assert await core.outbox.statuses() == {}


async def test_rows_left_sending_by_a_crash_count_as_sent(core: Core, seeded: Seed) -> None:
    store = core.outbox
    await core.replan(seeded.round_id)
    [first, second, *_] = await store.due(core.clock.now(), 10, ["telegram"], True)
    async with core.db.transaction():
        await store.mark_sending([(first.id, "telegram", first.external_id or "")])
        assert await store.resolve_in_flight(core.clock.now()) == 1
    statuses = await store.statuses()
    assert statuses[first.id] == "sent" and statuses[second.id] == "planned"
    await core.replan(seeded.round_id)  # and planning again does not revive it
    assert (await store.statuses())[first.id] == "sent"


# ------------------------------------------------------------------------ sending over HTTP

@pytest.fixture
async def api() -> AsyncIterator[FakeBotApi]:
    async with FakeBotApi() as server:
        yield server


@pytest.fixture
async def bot(api: FakeBotApi) -> AsyncIterator[ExtBot]:  # type: ignore[type-arg]
    ext = ExtBot("123456:TEST-TOKEN", base_url=api.base_url, base_file_url=api.base_file_url,
                 rate_limiter=AIORateLimiter(overall_max_rate=1000, max_retries=3))
    async with ext:
        yield ext


def sender(core: Core, bot: ExtBot, *, check_seconds: int = 30,  # type: ignore[type-arg]
           quiet_start: str = "21:00", quiet_end: str = "07:00") -> Sender:
    """The production sender with only the Telegram transport (the core fixture's recording
    transports are not added: this is Telegram's test)."""
    reminders = dataclasses.replace(core.reminder_settings, quiet_start=parse_clock(quiet_start),
                                    quiet_end=parse_clock(quiet_end))
    send = Sender(core.outbox, core.clock.now, reminders,
                  SenderSettings(check_seconds=check_seconds),
                  collective_due=core.delivery.sender.collective_due, rules=core.service.rules)
    send.add(TelegramTransport(bot, core.renderer))
    return send


def per_chat(api: FakeBotApi) -> Counter[int]:
    return Counter(c.params["chat_id"] for c in api.calls("sendMessage") if c.status == 200)


async def test_invites_go_out_once_even_with_429_and_5xx_mid_fan_out(
    core: Core, seeded: Seed, api: FakeBotApi, bot: ExtBot, clock: FixedClock  # type: ignore[type-arg]
) -> None:
    await core.replan(seeded.round_id)
    api.fail_next("sendMessage", 429, retry_after=1)
    api.fail_next("sendMessage", 502)
    send = sender(core, bot, check_seconds=1)
    report = await send.run()
    assert report.retry == 1 and report.sent == 2
    clock.advance(seconds=2)
    assert (await send.run()).sent == 1
    assert per_chat(api) == Counter(CHATS.values())  # each invite exactly once
    assert (await send.run()).sent == 0  # nothing more is due today
    assert [c.status for c in api.calls("sendMessage")].count(429) == 1


async def test_quiet_hours_hold_everything_until_morning(
    core: Core, seeded: Seed, api: FakeBotApi, bot: ExtBot, clock: FixedClock  # type: ignore[type-arg]
) -> None:
    clock.current = at_local(date(2026, 11, 23), time(22, 15))  # the round opens late at night
    async with core.db.transaction():
        await core.db.execute("UPDATE rounds SET created_at = ?", (clock.current.isoformat(),))
    await core.replan(seeded.round_id)
    send = sender(core, bot)
    assert (await send.run()).sent == 0
    clock.current = at_local(date(2026, 11, 24), time(6, 59))
    assert (await send.run()).sent == 0 and not api.calls("sendMessage")
    clock.current = at_local(date(2026, 11, 24), time(7, 0))
    assert (await send.run()).sent == 3
    assert all(c.params["chat_id"] in CHATS.values() for c in api.calls("sendMessage"))


async def test_a_day_of_downtime_sends_todays_reminders_once_and_drops_yesterdays(
    core: Core, seeded: Seed, api: FakeBotApi, bot: ExtBot, clock: FixedClock  # type: ignore[type-arg]
) -> None:
    await core.replan(seeded.round_id)
    send = sender(core, bot)
    await send.run()  # the invites
    api._calls.clear()
    clock.current = at_local(date(2026, 12, 9), time(10, 0))  # down since 6/12, back on 9/12
    report = await send.run()
    # 9/12: everyone's last nudge (the secretary writes a review too) and the digest.
    assert report.sent == 4 and per_chat(api) == Counter(
        {CHATS["member"]: 1, CHATS["leader"]: 1, CHATS["secretary"]: 2})
    assert report.dropped > 0  # 7/12's nudges and the older digests: stale
    texts = [str(c.params["text"]) for c in api.calls("sendMessage")]
    assert any("Thứ Năm, 10/12/2026" in t for t in texts)
    assert (await send.run()).sent == 0


async def test_blocked_member_is_marked_unreachable_and_the_secretary_told(
    core: Core, seeded: Seed, api: FakeBotApi, bot: ExtBot, clock: FixedClock  # type: ignore[type-arg]
) -> None:
    api.block_user(CHATS["member"])
    await core.replan(seeded.round_id)
    send = sender(core, bot)
    await send.run()
    assert await core.outbox.reachable_accounts(seeded.member_id, ["telegram"]) == 0
    to_secretary = [str(m["text"]) for m in api.sent_messages(CHATS["secretary"])]
    assert any("Trần Thị Bình" in t and "chặn bot" in t for t in to_secretary)
    clock.current = at_local(date(2026, 11, 24), time(8, 0))
    await core.replan(seeded.round_id)
    await send.run()
    digest = str(api.sent_messages(CHATS["secretary"])[-1]["text"])
    assert "Đã nộp: 0/3" in digest and "Đã chặn bot, không nhắc được: Trần Thị Bình" in digest
    assert not [i for i, s in (await core.outbox.statuses()).items()
                if f":m{seeded.member_id}:" in i and s == "planned"]


async def test_no_reminder_contains_answer_content(
    core: Core, seeded: Seed, api: FakeBotApi, bot: ExtBot, clock: FixedClock  # type: ignore[type-arg]
) -> None:
    await sql(core, "INSERT INTO reviews (id, round_id, member_id, created_at)"
              " VALUES (77, ?, ?, '2026-11-23')", seeded.round_id, seeded.leader_id)
    await sql(core, "INSERT INTO answers (review_id, qid, value, updated_at)"
              " VALUES (77, 'q1', ?, '2026-11-23')", SECRET)
    await core.replan(seeded.round_id)
    send = sender(core, bot, quiet_start="00:00", quiet_end="00:00")
    day = date(2026, 11, 23)
    while day <= date(2026, 12, 18):  # every reminder of the round, day by day
        clock.current = at_local(day, time(8, 5))
        await send.run()
        day += timedelta(days=1)
    sent = api.calls("sendMessage")
    kinds = Counter(i.split(":")[2] for i, s in (await core.outbox.statuses()).items()
                    if s == "sent")
    assert set(kinds) == {k.value for k in Kind} - {Kind.UNREACHABLE.value}
    assert kinds["invite"] == 2  # the leader had already started: no invite
    assert kinds["overdue"] == 3 * 2 and kinds["digest"] == 19  # up to and including the meeting day
    assert sent and not [c for c in sent if SECRET in str(c.params["text"])]
