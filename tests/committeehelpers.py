"""A fixture committee for the committee's view: two committees, cells in every state, and
members whose proposed levels exercise the cap in each group.

Built through the store (a submission's level and score recorded as ``Submitter`` records
them), so a test states exactly the numbers it expects.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from bot.invites import hash_code, new_code
from bot.models import Category, Role, Standing
from bot.config import WebSettings
from handlers.wiring import Core, build_core
from tests.conftest import FixedClock

LATE_DUE = date(2026, 11, 20)  # before START (23/11/2026): cell A is late by 3 days
LATE_MEETING = date(2026, 12, 1)
DUE = date(2026, 12, 10)
MEETING = date(2026, 12, 18)
DOCX = b"PK\x03\x04 not really a docx"

# (category, level, score) of each submitted member; the cap per group follows:
#  leader:  htxs 2, htt 5  -> 20%: at most 1 (over), 25%: at most 1 (over)
#  no_post: htxs 1, htt 8  -> 20%: at most 1 (within), 25%: at most 2
#  outside: htxs 1, htt 4  -> 20%: at most 0 (over), 25%: at most 1 (within)
CELL_A = (  # late: 3 of its 9 reviewed members have not submitted
    [(Category.LEADER, "htxs", 95), (Category.LEADER, "htt", 85), (Category.LEADER, "htt", 80),
     (Category.NO_POST, "htxs", 92), (Category.NO_POST, "htt", 75), (Category.NO_POST, "htt", 78),
     ]
)
CELL_B = (
    [(Category.LEADER, "htxs", 91), (Category.LEADER, "htt", 88), (Category.LEADER, "htt", 72),
     (Category.LEADER, "htt", 74), (Category.NO_POST, "htt", 70), (Category.NO_POST, "htt", 71), (Category.NO_POST, "htt", 80),
     (Category.NO_POST, "htt", 81), (Category.NO_POST, "htt", 82), (Category.NO_POST, "ht", 60),
     (Category.OUTSIDE, "htxs", 90), (Category.OUTSIDE, "htt", 75), (Category.OUTSIDE, "htt", 76),
     (Category.OUTSIDE, "htt", 77), (Category.OUTSIDE, "htt", 79)]
)


@dataclass
class Fixture:
    committee_id: int
    other_committee_id: int
    cells: dict[str, int]  # "A", "B", "C" (no round), "D" (the other committee)
    officer_id: int  # committee officer of committee_id (member of an office cell)
    other_officer_id: int  # committee officer of the other committee
    secretary_id: int  # secretary of cell A
    member_id: int  # a plain member of cell A (not submitted)
    removed_id: int  # a committee officer of committee_id, then removed
    codes: dict[int, str] = field(default_factory=dict)
    rounds: dict[str, int] = field(default_factory=dict)


async def build(core: Core) -> Fixture:
    store, ops = core.store, core.operations
    now = core.clock.now()
    codes: dict[int, str] = {}

    async def invite(member_id: int) -> None:
        codes[member_id] = new_code()
        await store.add_invite(member_id, hash_code(codes[member_id]), now, now + timedelta(days=7))

    async def submit(member_id: int, round_id: int, level: str, score: int,
                     decision: str | None = None) -> None:
        review = await store.create_review(round_id, member_id, now)
        await store.save_answer(review.id, "g1-01", "absent", skipped=False, vague=False,
                                now=now)
        await store.add_submission(review.id, f"ban-kiem-diem-{member_id}.docx", DOCX, now)
        await store.set_review_result(review.id, level, score)
        if decision is not None:
            await store.set_decision(review.id, decision, None, member_id, now)

    async with store.transaction():
        a = await ops.add_cell("Chi bộ Phòng Tổ chức", "Đảng bộ Phường Hòa Bình", "Hà Nội")
        committee = a.committee_id or 0
        b = await ops.add_cell("Phòng Kế hoạch", str(committee), "Hà Nội")
        c = await ops.add_cell("Trường Tiểu học Sao Mai", "Phường Hòa Bình", "Hà Nội")
        d = await ops.add_cell("Tổ dân phố 5", "Đảng bộ Xã An Khánh", "Hà Nội")
        office = await ops.add_cell("Văn phòng Đảng ủy", "", "Hà Nội")  # no committee
        other = d.committee_id or 0
        cells = {"A": a.id, "B": b.id, "C": c.id, "D": d.id}
        round_a = await store.add_round(a.id, 2026, "Kiểm điểm năm 2026", LATE_MEETING, LATE_DUE,
                                        now)
        round_b = await store.add_round(b.id, 2026, "Kiểm điểm năm 2026", MEETING, DUE, now)
        round_d = await store.add_round(d.id, 2026, "Kiểm điểm năm 2026", MEETING, DUE, now)
        secretary = await store.add_member(a.id, "Nguyễn Thị Bí Thư", now, role=Role.SECRETARY)
        await invite(secretary)
        await submit(secretary, round_a, "htt", 85)
        for n, (category, level, score) in enumerate(CELL_A, start=1):
            member = await store.add_member(a.id, f"Đảng Viên A{n}", now, category=category)
            await invite(member)
            await submit(member, round_a, level, score, "accepted" if n == 1 else None)
        plain = await store.add_member(a.id, "Trần Văn Chưa Nộp", now)  # invited, not linked
        await invite(plain)
        linked = await store.add_member(a.id, "Lê Thị Đã Liên Kết", now)
        await store.link_account("test", "a-linked", linked, now)
        started = await store.add_member(a.id, "Phạm Văn Đang Làm", now)
        await store.link_account("test", "a-started", started, now)
        review = await store.create_review(round_a, started, now)
        await store.save_answer(review.id, "g1-01", "absent", skipped=False, vague=False, now=now)
        await store.add_member(a.id, "Hoàng Văn Miễn", now, standing=Standing.EXEMPTED)
        for n, (category, level, score) in enumerate(CELL_B, start=1):
            member = await store.add_member(b.id, f"Đảng Viên B{n:02d}", now, category=category)
            await invite(member)
            await submit(member, round_b, level, score, "returned" if n == 2 else None)
        await store.add_member(c.id, "Đỗ Văn Trường", now)
        d_member = await store.add_member(d.id, "Vũ Thị Dân Phố", now)
        await submit(d_member, round_d, "htxs", 99)
        officer = await store.add_member(office.id, "Bùi Văn Đảng Ủy", now)
        other_officer = await store.add_member(office.id, "Ngô Thị Xã Ủy", now)
        removed = await store.add_member(office.id, "Cán Bộ Đã Nghỉ", now)
        for person in (officer, other_officer, removed):
            await invite(person)
        await ops.grant_officer(str(committee), officer, None)
        await ops.grant_officer(str(other), other_officer, None)
        await ops.grant_officer(str(committee), removed, None)
    return Fixture(committee, other, cells, officer, other_officer, secretary, plain, removed,
                   codes, {"A": round_a, "B": round_b, "D": round_d})


# ------------------------------------------------------------------ the web page, served


@dataclass
class WebHarness:
    core: Core
    fx: Fixture
    base: str


@asynccontextmanager
async def serving(tmp_path: Path, clock: FixedClock, *, https: bool = False
                  ) -> AsyncIterator[WebHarness]:
    """The fixture committee, with the web app serving it on 127.0.0.1 (the public address
    says https when ``https``, as behind a TLS proxy)."""
    from handlers.web import running_web
    from tests.conftest import make_settings, record
    from tests.zalohelpers import free_port

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    settings = make_settings(tmp_path)
    settings = dataclasses.replace(settings, web=WebSettings(
        port=port, public_base_url="https://tusoi.example.vn" if https else base))
    core = build_core(settings, clock)
    core.recorders = record(core)  # type: ignore[attr-defined]
    await core.open()
    try:
        fx = await build(core)
        async with running_web(core):
            yield WebHarness(core, fx, base)
    finally:
        await core.close()


async def login_link(core: Core, fx: Fixture, member_id: int, name: str) -> str:
    """The one-time link /trangweb gives this person in the chat (linked the first time)."""
    from tests.conftest import Chat

    chats: dict[int, Chat] = core.__dict__.setdefault("test_chats", {})
    chat = chats.get(member_id)
    if chat is None:
        chat = chats[member_id] = Chat(core, name)
        await chat.say(f"liên kết {fx.codes[member_id]}")
    await chat.say("/trangweb")
    url: str = chat.screen("committee/web_link").context["url"]
    return url
