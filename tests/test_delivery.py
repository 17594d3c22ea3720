"""The outbox and its one sender (bot/delivery.py) through the real core on real SQLite, with
recording transports: where a notice goes (the account used last, the next one when blocked),
when (quiet hours for reminders only), at most once across a restart, retries within bounds,
documents loaded when sent, reminders for a member who uses only Zalo."""

from __future__ import annotations

import asyncio
from datetime import date, time

from bot.delivery import Delivery, Notice, Outcome
from bot.reminders import Kind, at_local
from bot.screens import Screen, SubmissionRef
from handlers.wiring import Core, build_core
from tests.conftest import Chat, FixedClock, Recorder, Seed, delivered, record, seed
from tests.test_review import answer_checklist, answer_form


async def link(core: Core, s: Seed, member_id: int, channel: str, external_id: str) -> Chat:
    """``external_id`` on ``channel`` linked to the member, with a fresh invite each time."""
    async with core.store.transaction():
        invite = await core.operations.issue_invite(
            await core.operations.active_member(member_id))
    chat = Chat(core, external_id, channel=channel)
    await chat.say(f"liên kết {invite.code}")
    assert chat.templates()[0] == "link/ok", chat.templates()
    return chat


async def submit(chat: Chat) -> None:
    await answer_checklist(chat)
    await answer_form(chat)
    await chat.press(chat.button("submit"))
    assert chat.screen("review/submitted").document is not None


def recorders(core: Core) -> dict[str, Recorder]:
    found: dict[str, Recorder] = core.recorders  # type: ignore[attr-defined]
    return found


async def queue(core: Core, member_id: int, template: str = "review/new_point",
                **facts: object) -> None:
    async with core.store.transaction():
        await core.store.enqueue([Notice(member_id, template, facts)], core.clock.now())


# ------------------------------------------------------------------ where a notice goes


async def test_a_notice_goes_to_the_channel_used_last(core: Core, clock: FixedClock) -> None:
    s = await seed(core)
    tg = await link(core, s, s.member_id, "telegram", "7001")
    clock.advance(minutes=1)
    zalo = await link(core, s, s.member_id, "zalo", "z-7001")  # used after Telegram
    await queue(core, s.member_id)
    await core.delivery.sender.run()
    assert [x.template for x in delivered(core, "z-7001", "zalo")] == ["review/new_point"]
    assert delivered(core, "7001", "telegram") == []

    clock.advance(minutes=1)
    await tg.say("/huongdan")  # now Telegram is the one used last
    await queue(core, s.member_id)
    await core.delivery.sender.run()
    assert [x.template for x in delivered(core, "7001", "telegram")] == ["review/new_point"]
    assert len(delivered(core, "z-7001", "zalo")) == 1
    del zalo


async def test_a_notice_blocked_on_one_channel_goes_to_the_next_and_officers_hear_when_none_left(
    core: Core, clock: FixedClock
) -> None:
    s = await seed(core)
    await link(core, s, s.secretary_id, "test", "sec")
    await link(core, s, s.member_id, "telegram", "7001")
    clock.advance(minutes=1)
    await link(core, s, s.member_id, "zalo", "z-7001")
    recorders(core)["zalo"].outcomes["z-7001"].append(Outcome.BLOCKED)
    await queue(core, s.member_id)
    await core.delivery.sender.run()
    # Blocked on Zalo (the one used last): marked unreachable there, sent on Telegram.
    assert [x.template for x in delivered(core, "7001", "telegram")] == ["review/new_point"]
    assert delivered(core, "z-7001", "zalo") == []
    assert await core.outbox.reachable_accounts(s.member_id, ["telegram", "zalo"]) == 1
    assert not [x for x in delivered(core, "sec") if x.template == "reminders/unreachable"]

    recorders(core)["telegram"].outcomes["7001"].append(Outcome.BLOCKED)
    await queue(core, s.member_id, "review/accepted", version=1)
    await core.delivery.sender.run()
    told = [x for x in delivered(core, "sec") if x.template == "reminders/unreachable"]
    assert [x.context["subject"] for x in told] == ["Trần Thị Bình"]
    html = core.renderer.html(told[0])
    assert "Trần Thị Bình" in html and "chặn bot" in html
    await queue(core, s.member_id)  # nobody left: failed, and the officers are not told twice
    await core.delivery.sender.run()
    assert len([x for x in delivered(core, "sec") if x.template == "reminders/unreachable"]) == 1

    clock.advance(minutes=1)
    member = Chat(core, "z-7001", channel="zalo")
    await member.say("/tieptuc")  # writing again makes that account reachable again
    await queue(core, s.member_id)
    await core.delivery.sender.run()
    assert [x.template for x in delivered(core, "z-7001", "zalo")] == ["review/new_point"]


async def test_a_row_for_a_member_reachable_only_on_a_stopped_channel_waits_for_it(
    core: Core, clock: FixedClock
) -> None:
    """`tusoi run` starts Telegram before Zalo: the sender's first pass must not give up the
    notices and reminders of a member who uses only Zalo, nor a member whose other account
    blocked the bot while Zalo was not running yet."""
    s = await seed(core)
    await link(core, s, s.secretary_id, "test", "sec")
    async with core.store.transaction():  # linked, review not started: the invite is due
        await core.store.link_account("zalo", "z-7001", s.member_id, clock.now())
    await link(core, s, s.leader_id, "telegram", "7002")
    clock.advance(minutes=1)
    await link(core, s, s.leader_id, "zalo", "z-7002")
    await core.replan(s.round_id)
    zalo = recorders(core)["zalo"]
    core.delivery.sender.remove("zalo")  # Zalo not started yet
    recorders(core)["telegram"].outcomes["7002"].append(Outcome.BLOCKED)
    await queue(core, s.member_id)
    await queue(core, s.leader_id)
    for _ in range(2):
        await core.delivery.sender.run()
    assert delivered(core, "7002", "telegram") == []  # blocked there
    statuses = await core.outbox.statuses(s.round_id)
    invite = f"r{s.round_id}:m{s.member_id}:invite:2026-11-23"
    assert statuses[invite] == "planned"
    assert [status for _, _, status in await core.outbox.notices()] == ["planned", "planned"]

    core.delivery.sender.add(zalo)  # Zalo starts: everything goes, once
    for _ in range(2):
        await core.delivery.sender.run()
    assert sorted(x.template for x in delivered(core, "z-7001", "zalo")) == [
        "reminders/invite", "review/new_point"]
    assert [x.template for x in delivered(core, "z-7002", "zalo")] == ["review/new_point"]
    assert not [x for x in delivered(core, "sec") if x.template == "reminders/unreachable"]


async def test_a_channel_that_stops_waits_for_its_sends_and_leaves_the_rest_planned(
    core: Core, clock: FixedClock
) -> None:
    """`tusoi run` stops Zalo before Telegram: the sends already handed to Zalo finish and
    are settled before Zalo closes its connection, and no new one starts; what was not
    handed over stays planned, its tries untouched, for the next start."""
    s = await seed(core)
    async with core.store.transaction():
        for member_id, external_id in ((s.member_id, "z1"), (s.leader_id, "z2")):
            await core.store.link_account("zalo", external_id, member_id, clock.now())
    gate, started = asyncio.Event(), asyncio.Event()
    sent: list[str] = []

    class Slow:
        channel = "zalo"

        async def send(self, external_id: str, screen: Screen) -> Delivery:
            started.set()
            await gate.wait()
            sent.append(external_id)
            return Delivery(Outcome.SENT)

    core.delivery.sender.add(Slow())
    await queue(core, s.member_id)
    await queue(core, s.leader_id)
    run = asyncio.create_task(core.delivery.sender.run())
    await started.wait()
    stop = asyncio.create_task(core.delivery.stop("zalo"))
    for _ in range(20):
        await asyncio.sleep(0)
    assert not stop.done()  # waiting for the send in hand
    gate.set()
    await stop
    await run
    assert len(sent) == 1
    rows = await core.db.fetch_all(
        "SELECT status, attempts FROM outbox WHERE kind = 'notice' ORDER BY status")
    assert [tuple(r) for r in rows] == [("planned", 0), ("sent", 1)]


# ------------------------------------------------------------------ when


async def test_action_notices_go_at_once_at_night_reminders_wait_for_the_morning(
    core: Core, clock: FixedClock
) -> None:
    s = await seed(core)
    sec = await link(core, s, s.secretary_id, "test", "sec")
    member = await link(core, s, s.member_id, "test", "m")
    clock.current = at_local(date(2026, 11, 23), time(23, 30))
    await submit(member)  # at 23:30: the secretary's copy goes at once, as it always did
    assert [x.template for x in delivered(core, "sec")] == ["secretary/draft_received"]
    await core.replan(s.round_id)
    async with core.outbox.transaction():  # the digest is due now, in quiet hours
        await core.db.execute(
            "UPDATE outbox SET wake_at = '2026-11-23T00:00:00.000000+00:00' WHERE kind = ?",
            (Kind.DIGEST.value,))
    await core.delivery.sender.run()
    assert [x.template for x in delivered(core, "sec")] == ["secretary/draft_received"]
    clock.current = at_local(date(2026, 11, 24), time(8, 1))
    await core.delivery.sender.run()
    assert "reminders/digest" in [x.template for x in delivered(core, "sec")]
    del sec


# ------------------------------------------------------------------ nothing lost, nothing twice


async def test_a_submission_stored_but_not_yet_sent_reaches_the_secretary_after_a_restart(
    settings: object, clock: FixedClock
) -> None:
    """The core commits the submission and its outbox rows; the process dies before the
    sender runs (no transport at all here). The next process sends them."""
    first = build_core(settings, clock)  # type: ignore[arg-type]
    await first.open()
    s = await seed(first)
    for member_id, name in ((s.secretary_id, "sec"), (s.member_id, "m")):
        async with first.store.transaction():
            await first.store.link_account("test", name, member_id, clock.now())
    member = Chat(first, "m")
    await member.say("/tieptuc")
    await submit(member)
    assert [t for _, t, status in await first.outbox.notices() if status == "planned"] == [
        "secretary/draft_received"]
    await first.close()  # "killed": nothing was sent

    second = build_core(settings, clock)  # type: ignore[arg-type]
    recorders = record(second)
    await second.open()
    await second.delivery.start()
    await second.delivery.sender.run()
    [draft] = [x for x in recorders["test"].sent["sec"] if x.template != "reminders/invite"]
    assert draft.template == "secretary/draft_received" and draft.document is not None
    assert draft.document.ref == SubmissionRef(await review_of(second, s), 1)
    stored = await second.store.latest_submission(await review_of(second, s))
    assert stored is not None and draft.document.content == stored.docx
    await second.delivery.sender.run()
    assert [x.template for x in recorders["test"].sent["sec"]].count(
        "secretary/draft_received") == 1
    await second.delivery.stop()
    await second.close()


async def review_of(core: Core, s: Seed) -> int:
    review = await core.store.review_for(s.round_id, s.member_id)
    assert review is not None
    return review.id


async def test_a_notice_is_delivered_exactly_once_across_a_restart(
    settings: object, clock: FixedClock
) -> None:
    first = build_core(settings, clock)  # type: ignore[arg-type]
    recorders = record(first)
    await first.open()
    s = await seed(first)
    async with first.store.transaction():
        await first.store.link_account("test", "m", s.member_id, clock.now())
    await queue(first, s.member_id, "review/accepted", version=1)
    await queue(first, s.member_id, "review/new_point")
    await first.delivery.sender.run()
    assert len(recorders["test"].sent["m"]) == 2
    await queue(first, s.member_id, "review/returned", comment="Sửa mục VI", version=1)
    [row] = [i for i, _, status in await first.outbox.notices() if status == "planned"]
    async with first.outbox.transaction():  # in flight when the process dies
        assert await first.outbox.mark_sending([(row, "test", "m")]) == [row]
    await first.close()

    second = build_core(settings, clock)  # type: ignore[arg-type]
    again = record(second)
    await second.open()
    await second.delivery.start()  # settles the row in flight: counted as sent
    for _ in range(3):
        await second.delivery.sender.run()
    # Nothing sent twice (the one in flight may be lost); the reminders planned at the start
    # are another matter.
    assert [x for x in again["test"].sent["m"] if not x.template.startswith("reminders/")] == []
    statuses = {template: status for _, template, status in await second.outbox.notices()}
    assert statuses == {"review/accepted": "sent", "review/new_point": "sent",
                        "review/returned": "sent"}
    await second.delivery.stop()
    await second.close()


async def test_retries_are_bounded_then_the_officers_are_told(core: Core, clock: FixedClock) -> None:
    s = await seed(core)
    await link(core, s, s.secretary_id, "test", "sec")
    await link(core, s, s.member_id, "zalo", "z-1")
    recorders(core)["zalo"].outcomes["z-1"].extend([Outcome.RETRY] * 10)
    await queue(core, s.member_id)
    for _ in range(core.settings.reminders.max_attempts):
        report = await core.delivery.sender.run()
        clock.advance(minutes=10)  # past every back-off
    assert report.failed == 1
    assert delivered(core, "z-1", "zalo") == []
    [(_, _, status)] = await core.outbox.notices(s.member_id)
    assert status == "failed"
    assert [x.template for x in delivered(core, "sec")] == ["reminders/unreachable"]


async def test_an_uncertain_send_counts_as_sent_and_is_never_repeated(
    core: Core, clock: FixedClock
) -> None:
    s = await seed(core)
    await link(core, s, s.member_id, "test", "m")
    recorders(core)["test"].outcomes["m"].append(Outcome.UNCERTAIN)
    await queue(core, s.member_id)
    await core.delivery.sender.run()
    clock.advance(hours=1)
    await core.delivery.sender.run()
    assert len(delivered(core, "m")) == 1  # the recorder counts what may have arrived
    [(_, _, status)] = await core.outbox.notices(s.member_id)
    assert status == "sent"


# ------------------------------------------------------------------ every channel is planned


async def test_reminders_are_planned_and_sent_for_a_member_who_uses_only_zalo(
    core: Core, clock: FixedClock
) -> None:
    s = await seed(core)
    async with core.store.transaction():  # linked (say, by the operator), not started yet
        await core.store.link_account("zalo", "z-only", s.member_id, clock.now())
    await core.replan(s.round_id)
    invite = f"r{s.round_id}:m{s.member_id}:invite:2026-11-23"
    assert (await core.outbox.statuses(s.round_id))[invite] == "planned"
    await core.delivery.sender.run()
    await core.delivery.sender.run()
    assert [x.template for x in delivered(core, "z-only", "zalo")] == ["reminders/invite"]
    clock.current = at_local(date(2026, 12, 7), time(8, 5))  # a nudge day
    await core.delivery.sender.run()
    await core.delivery.sender.run()
    assert [x.template for x in delivered(core, "z-only", "zalo")].count("reminders/nudge") == 1


async def test_submitting_wakes_the_sender_after_the_commit(core: Core) -> None:
    s = await seed(core)
    woken: list[bool] = []
    core.service.on_notice = lambda: woken.append(True)
    await link(core, s, s.secretary_id, "test", "sec")
    member = await link(core, s, s.member_id, "test", "m")
    woken.clear()
    await member.say("/tieptuc")
    assert woken == []  # nothing queued, nothing to wake
    await submit(member)
    assert woken == [True]
