"""The secretary's desk through the real core on real SQLite: tracker, nudges, decisions,
the committee's points, the collective's shortcomings, carry-over, and who may see what."""

from __future__ import annotations

import itertools
from datetime import date
from typing import Any

import pytest

from bot.models import Role
from bot.screens import Action, Button, DeskAction, Document, Incoming, Press, desk_press
from handlers.wiring import Core
from tests.conftest import Chat, Seed, delivered, seed
from tests.test_review import answer_checklist, answer_form, linked, review_id


def desk(sub: str, target: int = 0) -> Button:
    return Button("x", desk_press(DeskAction(sub), target))


async def submitted(core: Core, s: Seed, member_id: int, name: str) -> Chat:
    chat = await linked(core, s, member_id, name)
    await answer_checklist(chat)
    await answer_form(chat)
    await chat.press(chat.button("submit"))
    assert chat.screen("review/submitted")
    return chat


async def test_tracker_counts_every_state(core: Core) -> None:
    s = await seed(core)
    sec = await linked(core, s, s.secretary_id, "sec")
    member = await submitted(core, s, s.member_id, "m")
    await sec.say("/chibo")
    tracker = sec.screen("secretary/tracker").context
    by_name = {line["name"]: line for line in tracker["lines"]}
    assert by_name["Trần Thị Bình"]["status"] == "submitted"
    assert by_name["Lê Văn Cường"]["status"] == "not_linked"
    assert by_name["Phạm Thu Dung"]["status"] == "not_started"
    assert tracker["counts"] == {"submitted": 1, "not_linked": 1, "not_started": 1}
    html = core.renderer.html(sec.screen("secretary/tracker"))
    assert "Trần Thị Bình: đã nộp (bản 1)" in html
    del member


async def test_return_with_comment_then_resubmit_then_accept(core: Core) -> None:
    s = await seed(core)
    sec = await linked(core, s, s.secretary_id, "sec")
    member = await submitted(core, s, s.member_id, "m")
    await sec.press(desk("drf", s.member_id))
    assert sec.screen("secretary/draft").document is not None
    await sec.press(desk("ret", s.member_id))
    assert sec.templates() == ["secretary/ask_comment"]
    await sec.say("Mục VI cần ghi rõ thời hạn & việc cụ thể")
    assert sec.templates() == ["secretary/returned"]
    notice = member.notices[-1]  # through the outbox, to the member's account
    assert notice.template == "review/returned"
    assert notice.context["comment"] == "Mục VI cần ghi rõ thời hạn & việc cụ thể"
    await sec.say("/chibo")
    lines = {x["name"]: x["status"] for x in sec.screen("secretary/tracker").context["lines"]}
    assert lines["Trần Thị Bình"] == "returned"

    await member.say("/tieptuc")
    assert "Mục VI cần ghi rõ" in core.renderer.html(member.screen("review/welcome"))
    await member.say("/xemlai")
    await member.press(member.button("resubmit"))
    assert member.screen("review/submitted").context["version"] == 2
    await sec.press(desk("acc", s.member_id))
    assert sec.templates() == ["secretary/accepted"]
    assert member.notices[-1].template == "review/accepted"
    await sec.say("/chibo")
    lines = {x["name"]: x["status"] for x in sec.screen("secretary/tracker").context["lines"]}
    assert lines["Trần Thị Bình"] == "accepted"
    log = await core.store.access_log(s.member_id)
    assert log == [(s.secretary_id, "view_draft"), (s.secretary_id, "return"),
                   (s.secretary_id, "accept")]


async def test_reminders_go_only_to_unfinished_linked_members_without_content(core: Core) -> None:
    s = await seed(core)
    sec = await linked(core, s, s.secretary_id, "sec")
    await submitted(core, s, s.member_id, "m")
    started = await linked(core, s, s.leader_id, "lead")
    await started.say("1")
    await sec.press(desk("rall"))
    ack = sec.screen("secretary/reminded").context
    assert ack["reminded"] == ["Lê Văn Cường", "Phạm Thu Dung"]
    sent = {who: [x for x in delivered(core, who) if x.template == "review/reminder"]
            for who in ("m", "lead", "sec")}
    assert {who for who, got in sent.items() if got} == {"lead", "sec"}
    for screen in sent["lead"] + sent["sec"]:
        assert set(screen.context) == {"round", "due", "returned"}


async def test_points_and_collective_shortcomings_become_questions(core: Core) -> None:
    s = await seed(core)
    sec = await linked(core, s, s.secretary_id, "sec")
    leader = await linked(core, s, s.leader_id, "lead")
    member = await linked(core, s, s.member_id, "m")
    await sec.press(desk("pnt", s.leader_id))
    await sec.say("Việc chậm triển khai dự án X")
    assert sec.templates() == ["secretary/point_added"]
    assert leader.notices[-1].template == "review/new_point"
    await sec.press(desk("col"))
    await sec.say("Tập thể chậm sơ kết nghị quyết")
    assert sec.templates() == ["secretary/collective_added"]

    await answer_checklist(leader)
    asked: list[tuple[str, str]] = []
    await answer_form(leader, score="75", choose=lambda q: q["options"][1], seen=asked,
                      write=lambda q: f"Giải trình {q['number']}, xong trước 30/6/2027 bằng việc cụ thể")
    seen = dict(asked)
    assert "«Việc chậm triển khai dự án X»" in seen["IV.1"]
    assert "«Tập thể chậm sơ kết nghị quyết»" in seen["V.1"]
    await leader.press(leader.button("submit"))
    import io

    import docx
    content = leader.screen("review/submitted").document.content  # type: ignore[union-attr]
    text = "\n".join(p.text for p in docx.Document(io.BytesIO(content)).paragraphs)
    assert "Việc chậm triển khai dự án X" in text and "Giải trình IV.1" in text
    assert "Giải trình V.1" in text
    # An ordinary member gets neither the leader's point nor the collective question.
    await answer_checklist(member)
    await answer_form(member)
    numbers = [r["label"] for r in member.screen("review/summary").context["rows"]]
    assert "IV" in numbers and "IV.1" not in numbers and "V.1" not in numbers


async def test_accepted_shortcomings_carry_into_next_round(core: Core) -> None:
    s = await seed(core)
    sec = await linked(core, s, s.secretary_id, "sec")
    member = await linked(core, s, s.member_id, "m")
    await answer_checklist(member, {"1.2": ("Ngại học tập", "Chủ quan", "Học đủ, trước 1/3/2027")})
    await answer_form(member)
    await member.press(member.button("submit"))
    await sec.press(desk("acc", s.member_id))
    await core.store.close_round(s.round_id)
    async with core.store.transaction():
        await core.store.add_round(s.cell_id, 2027, "Kiểm điểm năm 2027", date(2027, 12, 17),
                                   date(2027, 12, 10), core.clock.now())
    await member.say("/tieptuc")
    await answer_checklist(member)
    prompts: list[tuple[str, str]] = []

    def choose(q: dict[str, Any]) -> str:
        if q["number"] != "III.1":
            return str(q["options"][1])
        assert q["options"] == ["Đã khắc phục", "Đang khắc phục", "Chưa khắc phục"]
        return "Đang khắc phục"

    await answer_form(
        member, seen=prompts, choose=choose,
        write=lambda q: "Đã học 2 chuyên đề, xong trước 30/6/2028 bằng việc cụ thể")
    carried = next(q for n, q in prompts if n == "III.1")
    assert "Biểu hiện 1.2: Ngại học tập" in carried
    assert any(n == "III.1a" for n, _ in prompts)


# ----------------------------------------------------------------- the access matrix

ACTIONS = ["mem", "rem", "drf", "ret", "acc", "pnt", "inv", "rvk", "del"]


async def _other_cell(core: Core) -> tuple[int, int]:
    now = core.clock.now()
    async with core.store.transaction():
        cell = await core.store.add_cell("Chi bộ khác", "", "", now)
        other_member = await core.store.add_member(cell, "Người Khác", now)
        other_secretary = await core.store.add_member(cell, "Bí Thư Khác", now, role=Role.SECRETARY)
        await core.store.link_account("test", "other-sec", other_secretary, now)
        await core.store.add_round(cell, 2026, "R", date(2026, 12, 18), date(2026, 12, 10), now)
    return other_member, other_secretary


@pytest.mark.parametrize("action", ACTIONS)
async def test_access_matrix(core: Core, action: str) -> None:
    """Who may do what to whom; every refusal leaves the target untouched."""
    s = await seed(core)
    await submitted(core, s, s.member_id, "m")
    other_member, _ = await _other_cell(core)
    sec = await linked(core, s, s.secretary_id, "sec")
    lead = await linked(core, s, s.leader_id, "lead")
    other_sec = Chat(core, "other-sec")
    before = await core.store.answers(await review_id(core, s, s.member_id))

    async def attempt(chat: Chat, target: int) -> list[str]:
        await chat.press(desk(action, target))
        return chat.templates()

    # A plain member may not act on anyone, not even on themselves.
    assert await attempt(lead, s.member_id) == ["secretary/not_officer"]
    assert await attempt(lead, s.leader_id) == ["secretary/not_officer"]
    # Another cell's secretary learns nothing, whether the member exists or not.
    assert await attempt(other_sec, s.member_id) == ["secretary/no_such_member"]
    assert await attempt(other_sec, 99_999) == ["secretary/no_such_member"]
    # Our secretary may not reach into the other cell.
    assert await attempt(sec, other_member) == ["secretary/no_such_member"]
    # Our secretary may act on their own member.
    allowed = await attempt(sec, s.member_id)
    assert allowed[0].startswith("secretary/") and allowed[0] not in (
        "secretary/not_officer", "secretary/no_such_member")
    assert await core.store.answers(await review_id(core, s, s.member_id)) == before
    assert all(actor == s.secretary_id for actor, _ in await core.store.access_log(s.member_id))


async def test_a_member_never_reaches_another_members_review(core: Core) -> None:
    s = await seed(core)
    victim = await submitted(core, s, s.member_id, "m")
    victim_review = await review_id(core, s, s.member_id)
    intruder = await linked(core, s, s.leader_id, "lead")
    for action, qid, arg in itertools.product(["a", "sub", "sum", "off", "back"], ["g1-01", ""],
                                              ["absent", ""]):
        screens = await core.service.handle(Incoming(
            "test", "lead", press=Press(Action(action), victim_review, qid, arg),
            from_button=True))
        assert screens[0].template == "common/forged"
        assert all(x.document is None for x in screens)
    assert (await core.store.review(victim_review)).submitted_version == 1  # type: ignore[union-attr]
    del victim, intruder


async def test_removed_member_loses_access_at_once_and_secretary_buttons_say_so(core: Core) -> None:
    s = await seed(core)
    sec = await linked(core, s, s.secretary_id, "sec")
    member = await linked(core, s, s.member_id, "m")
    await sec.press(desk("del", s.member_id))
    await sec.press(sec.button("confirm_remove"))
    assert sec.templates() == ["secretary/removed"]
    await member.say("1")
    assert member.templates() == ["common/account_inactive"]
    await sec.press(desk("rem", s.member_id))  # a button for a member who was just removed
    assert sec.templates() == ["secretary/member_removed"]
    # Removing someone who never linked kills their unused invite too.
    await sec.press(desk("dely", s.leader_id))
    stranger = Chat(core, "stranger")
    await stranger.say(f"liên kết {s.codes[s.leader_id]}")
    assert stranger.templates() == ["link/revoked"]


async def test_invites_are_reissued_and_revoked(core: Core) -> None:
    s = await seed(core)
    sec = await linked(core, s, s.secretary_id, "sec")
    await sec.press(desk("inv", s.leader_id))
    code = sec.screen("secretary/invite").context["code"]
    old = Chat(core, "old")
    await old.say(f"liên kết {s.codes[s.leader_id]}")
    assert old.templates() == ["link/revoked"]  # the reissue revoked the earlier code
    await sec.press(desk("rvk", s.leader_id))
    new = Chat(core, "new")
    await new.say(f"liên kết {code}")
    assert new.templates() == ["link/revoked"]
    await sec.press(desk("inv", s.leader_id))
    fresh = sec.screen("secretary/invite").context["code"]
    await new.say(f"liên kết {fresh}")
    assert new.templates()[0] == "link/ok"


async def test_tracker_flags_a_member_who_blocked_the_bot(core: Core) -> None:
    s = await seed(core)
    sec = await linked(core, s, s.secretary_id, "sec")
    await linked(core, s, s.member_id, "m")
    await core.outbox.mark_unreachable("test", "m", core.clock.now())
    await sec.say("/chibo")
    html = core.renderer.html(sec.screen("secretary/tracker"))
    assert "Trần Thị Bình: chưa bắt đầu ⚠️ đã chặn bot" in html
    assert "Lê Văn Cường: chưa liên kết\n" in html


ROSTER = ("Họ và tên,Ngày sinh,Chức vụ Đảng,Chức vụ chính quyền,Chức vụ đoàn thể,"
          "Đơn vị công tác,Lãnh đạo\nNgô Văn Mới,04/04/1984,,,,,\n").encode()


async def test_two_secretaries_confirming_one_roster_import_it_once(core: Core) -> None:
    s = await seed(core)
    now = core.clock.now()
    async with core.store.transaction():
        deputy_id = await core.store.add_member(s.cell_id, "Phó Bí Thư", now, role=Role.DEPUTY)
        await core.store.link_account("test", "deputy", deputy_id, now)
    sec = await linked(core, s, s.secretary_id, "sec")
    deputy = Chat(core, "deputy")
    sent = await core.service.handle(Incoming(
        "test", "sec", document=Document("ds.csv", ROSTER)))
    assert [x.template for x in sent] == ["secretary/roster_preview"]
    confirm = next(b for row in sent[0].buttons for b in row
                   if b.press.desk is DeskAction.ROSTER_OK)
    await sec.press(confirm)
    await deputy.press(confirm)  # the same button, pressed by the deputy a moment later
    assert sec.templates() == ["secretary/roster_imported"]
    assert deputy.templates() == ["secretary/roster_done_already"]
    names = [m.full_name for m in await core.store.members(s.cell_id)]
    assert names.count("Ngô Văn Mới") == 1


async def test_a_draft_returned_while_its_member_is_writing_keeps_their_words(core: Core) -> None:
    s = await seed(core)
    sec = await linked(core, s, s.secretary_id, "sec")
    member = await submitted(core, s, s.member_id, "m")
    await member.say("/xemlai")
    await member.say("28")  # I.1, a text question
    await member.say("Bổ sung: đã hoàn thành 3 chuyên đề")
    await sec.press(desk("ret", s.member_id))
    await sec.say("Cần cụ thể hơn")
    await member.press(member.button("done"))
    answers = await core.store.answers(await review_id(core, s, s.member_id))
    assert answers["a-i1"].value == "Bổ sung: đã hoàn thành 3 chuyên đề"
    await member.say("/xemlai")
    await member.press(member.button("resubmit"))
    assert member.screen("review/submitted").context["version"] == 2


async def test_officers_see_the_collective_draft_date_members_do_not(core: Core) -> None:
    s = await seed(core)  # meeting Friday 18/12/2026
    sec = await linked(core, s, s.secretary_id, "sec")
    member = await linked(core, s, s.member_id, "m")
    # Strict count: 15, 16 and 17/12 lie wholly between sending and the meeting.
    assert sec.screen("review/welcome").context["collective_due"] == date(2026, 12, 14)
    html = core.renderer.html(sec.screen("review/welcome"))
    assert "Dự thảo báo cáo tập thể gửi chậm nhất: Thứ Hai, 14/12/2026" in html
    assert member.screen("review/welcome").context["collective_due"] is None
    assert "Dự thảo báo cáo tập thể" not in core.renderer.html(member.screen("review/welcome"))
