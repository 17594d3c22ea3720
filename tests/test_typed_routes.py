"""Every screen works without buttons (issue 9, item 3).

On a text-only channel (here "zalo", as the Zalo Bot API has no buttons) the secretary runs
the whole desk by typed numbers and keywords; a typed number means what the last menu shown
to that account numbered; and every screen the core can produce, rendered as plain text,
offers a typed route for each of its buttons."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from bot import menus
from bot.screens import Action, DeskAction, Screen
from handlers.wiring import Core
from tests.conftest import REPO, Chat, Seed, delivered, seed
from tests.test_review import answer_checklist, answer_form

ZALO = "zalo"
ROSTER = ("Họ và tên,Ngày sinh,Lãnh đạo\nNgô Văn Mới,04/04/1984,\n").encode()


async def typed_secretary(core: Core, s: Seed) -> Chat:
    """The seeded secretary, on a text-only channel, linked by typing the code."""
    chat = Chat(core, "zs", channel=ZALO)
    await chat.say(f"liên kết {s.codes[s.secretary_id]}")
    assert chat.templates()[:2] == ["link/ok", "review/welcome"]
    return chat


async def member_chat(core: Core, s: Seed, member_id: int, name: str) -> Chat:
    chat = Chat(core, name)
    await chat.say(f"liên kết {s.codes[member_id]}")
    return chat


def number_of(screen: Screen, name: str) -> str:
    """The number the tracker shows before ``name`` (as a person reads it)."""
    lines = [line["name"] for line in screen.context["lines"]]
    return str(lines.index(name) + 1)


# ------------------------------------------------------------------ the bug in the issue


async def test_typing_1_after_chibo_opens_the_first_member_not_the_secretarys_own_answer(
    core: Core,
) -> None:
    """Issue 9: on a plain-text rendering of the desk, «1» after /chibo recorded «Không có
    biểu hiện» as the secretary's own answer to item 1.1."""
    s = await seed(core)
    sec = await typed_secretary(core, s)
    assert sec.screen("review/question").context["number"] == "1.1"  # on screen before /chibo
    await sec.say("/chibo")
    tracker = sec.screen("secretary/tracker")
    first = tracker.context["lines"][0]["name"]
    await sec.say("1")
    assert sec.templates() == ["secretary/card"]
    assert sec.screen().context["name"] == first
    review = await core.store.review_for(s.round_id, s.secretary_id)
    assert review is not None and await core.store.answers(review.id) == {}
    # Back to one's own review: the numbers are the question's options again.
    await sec.say("tiếp tục")
    assert sec.screen("review/question").context["number"] == "1.1"
    await sec.say("1")
    assert sec.templates()[0] == "review/answered"
    assert (await core.store.answers(review.id))["g1-01"].value == "absent"


async def test_a_number_or_word_the_desk_did_not_show_gets_its_hint_not_the_review(
    core: Core,
) -> None:
    s = await seed(core)
    sec = await typed_secretary(core, s)
    await sec.say("/chibo")
    await sec.say("9")
    assert sec.templates() == ["secretary/menu_hint"]
    hint = core.renderer.plain(sec.screen(), ZALO)
    assert "Không có số này" in hint and "từ 1 đến 3" in hint and "«nhắc tất cả»" in hint
    await sec.say("bỏ qua")  # a review word: not applied to a question off the screen
    assert sec.templates() == ["secretary/menu_hint"]
    review = await core.store.review_for(s.round_id, s.secretary_id)
    assert review is not None and await core.store.answers(review.id) == {}


# ------------------------------------------------------------------ the whole desk, typed


async def test_the_secretarys_desk_runs_entirely_on_typed_numbers_and_keywords(core: Core) -> None:
    s = await seed(core)
    sec = await typed_secretary(core, s)
    member = await member_chat(core, s, s.member_id, "m")
    leader = await member_chat(core, s, s.leader_id, "lead")
    await answer_checklist(member)
    await answer_form(member)
    await member.say("nộp")
    assert member.screen("review/submitted").context["version"] == 1
    assert [x.template for x in delivered(core, "zs", ZALO)] == ["secretary/draft_received"]

    # tracker → card → remind
    await sec.say("/chibo")
    tracker = sec.screen("secretary/tracker")
    await sec.say(number_of(tracker, "Lê Văn Cường"))
    assert sec.screen("secretary/card").context["name"] == "Lê Văn Cường"
    await sec.say("nhắc")
    assert sec.screen("secretary/reminded").context["reminded"] == ["Lê Văn Cường"]
    assert leader.notices[-1].template == "review/reminder"

    # the member's card: view the draft, return it with a comment
    await sec.say("chi bộ")
    await sec.say(number_of(sec.screen("secretary/tracker"), "Trần Thị Bình"))
    assert sec.screen("secretary/card").context["status"] == "submitted"
    await sec.say("xem bản nháp")
    assert sec.screen("secretary/draft").document is not None
    await sec.say("trả lại")  # the card is still the last menu shown
    assert sec.templates() == ["secretary/ask_comment"]
    await sec.say("Mục VI cần ghi rõ thời hạn")
    assert sec.templates() == ["secretary/returned"]
    assert member.notices[-1].context["comment"] == "Mục VI cần ghi rõ thời hạn"

    # accept, add a point
    await sec.say("/chibo")
    await sec.say(number_of(sec.screen("secretary/tracker"), "Trần Thị Bình"))
    await sec.say("chấp nhận")
    assert sec.templates() == ["secretary/accepted"]
    assert member.notices[-1].template == "review/accepted"
    await sec.say("thêm vấn đề")
    assert sec.templates() == ["secretary/ask_point"]
    await sec.say("Chậm nộp báo cáo quý")
    assert sec.templates() == ["secretary/point_added"]

    # change the category by number, then a new invite and the removal of the leader
    await sec.say("đổi đối tượng")
    assert sec.templates() == ["secretary/ask_category"]
    await sec.say("3")
    assert sec.screen("secretary/category_set").context["category"] == "outside"
    assert member.notices[-1].template == "review/category_changed"
    await sec.say("chi bộ")
    await sec.say(number_of(sec.screen("secretary/tracker"), "Lê Văn Cường"))
    await sec.say("mã mời")
    code = sec.screen("secretary/invite").context["code"]
    assert f"liên kết {code}" in core.renderer.plain(sec.screen(), ZALO)
    await sec.say("xóa")
    assert sec.templates() == ["secretary/confirm_remove"]
    await sec.say("thôi")
    assert sec.templates() == ["secretary/cancelled"]
    assert (await core.store.member(s.leader_id)).active  # type: ignore[union-attr]
    await sec.say("chi bộ")
    await sec.say(number_of(sec.screen("secretary/tracker"), "Lê Văn Cường"))
    await sec.say("xóa")
    await sec.say("xác nhận xóa")
    assert sec.templates() == ["secretary/removed"]
    assert not (await core.store.member(s.leader_id)).active  # type: ignore[union-attr]

    # the roster: cancel one upload, confirm another, by typing
    await sec.upload("ds.csv", ROSTER)
    assert sec.templates() == ["secretary/roster_preview"]
    await sec.say("hủy")
    assert sec.templates() == ["secretary/cancelled"]
    await sec.upload("ds.csv", ROSTER)
    await sec.say("nhập danh sách")
    done = sec.screen("secretary/roster_imported")
    assert [i["name"] for i in done.context["invites"]] == ["Ngô Văn Mới"]
    assert "liên kết " in core.renderer.plain(done, ZALO)

    # cell-wide: a collective shortcoming, remind all, the bundle
    await sec.say("chi bộ")
    await sec.say("hạn chế tập thể")
    assert sec.templates() == ["secretary/ask_collective"]
    await sec.say("Tập thể chậm sơ kết nghị quyết")
    assert sec.templates() == ["secretary/collective_added"]
    await sec.say("chi bộ")
    await sec.say("nhắc tất cả")
    assert sec.templates() == ["secretary/reminded"]
    await sec.say("tổng hợp")
    assert sec.screen("secretary/bundle").document is not None
    # The secretary's own review was never touched by any of it.
    review = await core.store.review_for(s.round_id, s.secretary_id)
    assert review is not None and await core.store.answers(review.id) == {}


# ------------------------------------------------------------------ every screen, plain


def _screens_with_buttons_in_code() -> set[str]:
    """Templates the core builds with buttons or numbered choices (an AST read of bot/)."""
    found: set[str] = set()
    for path in (REPO / "bot").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and getattr(node.func, "id", "") == "Screen"
                    and node.args and isinstance(node.args[0], ast.Constant)
                    and any(k.arg in ("buttons", "choices") for k in node.keywords)):
                found.add(str(node.args[0].value))
    return found


def check_typed_routes(core: Core, screen: Screen) -> None:
    """Each button of ``screen`` can be chosen by typing what its plain text shows."""
    text = core.renderer.plain(screen, ZALO)
    menu = menus.desk_menu([screen])
    words: dict[str, object] = {}
    for row in screen.buttons:
        for button in row:
            press = button.press
            if press in screen.choices:
                number = screen.choices.index(press) + 1
                assert re.search(rf"(^|\n){number}\. ", text), (screen.template, number, text)
                if press.action == Action.DESK:
                    assert menus.resolve(menu, str(number), core.service.words) == press
                continue
            word = core.renderer.typed_word(button)
            assert word is not None, (screen.template, button.label)
            assert f"«{word}»" in text, (screen.template, word, text)
            assert words.setdefault(word, press) == press, (screen.template, word)
            if press.action == Action.DESK:
                assert menus.resolve(menu, word, core.service.words) == press, (word, press)
            else:
                parsed = core.service.parse(word)
                assert parsed is not None, word
                expected = Action.NONE if button.label == "none_to_report" else press.action
                assert parsed.action == expected, (screen.template, word)


async def test_every_screen_in_plain_text_has_a_typed_route_for_each_button(
    core: Core, tmp_path: Path
) -> None:
    s = await seed(core)
    seen: list[Screen] = []

    async def say(chat: Chat, text: str) -> None:
        await chat.say(text)
        seen.extend(chat.last)

    sec = await typed_secretary(core, s)
    member = await member_chat(core, s, s.member_id, "m")
    leader = await member_chat(core, s, s.leader_id, "lead")
    seen += sec.last + member.last
    # The member's walk: choices, a half-written answer, a vague remedy, the official text.
    await say(member, "2")  # 1.1 admitted: follow-ups
    await say(member, "Có lúc chưa chú ý")
    await say(member, "xong")
    await say(member, "Chủ quan")
    await say(member, "xong")
    await say(member, "Sẽ cố gắng")
    await say(member, "xong")  # vague: the «giữ nguyên như vậy» screen
    await say(member, "giữ nguyên")
    await say(member, "xem lại")
    await say(member, "tiếp tục")
    await say(member, "tạm dừng")
    await say(member, "nộp")  # not done yet: the missing list
    await say(member, "tiếp tục")
    await answer_form(member)
    seen += member.last
    await say(member, "nộp")
    # A prefilled question kept, on the leader's walk.
    await answer_checklist(leader, {"1.2": ("Ngại học", "Chủ quan", "Học đủ, trước 1/3/2027")})
    for _ in range(40):
        seen += leader.last
        q = leader.screen().context
        if leader.screen().template != "review/question" or q.get("prefill"):
            break
        await say(leader, "1" if q["kind"] == "choice" else
                  "80" if q["kind"] == "score" else "không có" if q["optional"] else
                  f"Trả lời {q['number']}, hoàn thành trước 30/6/2027")
        if q["kind"] == "text" and not q["optional"]:
            await say(leader, "xong")
    # The desk.
    for text in ("/chibo", "1", "đổi đối tượng", "thôi", "chi bộ"):
        await say(sec, text)
    await say(sec, number_of(sec.screen("secretary/tracker"), "Trần Thị Bình"))
    for text in ("trả lại", "thôi", "thêm vấn đề", "thôi", "xóa", "thôi", "chi bộ",
                 "hạn chế tập thể", "thôi", "chi bộ", "1", "đổi đối tượng", "2"):
        await say(sec, text)
    await sec.upload("ds.csv", ROSTER)
    seen += sec.last
    await say(sec, "nhập danh sách")
    # The committee's view, typed (issue 11): the secretary is also an officer of two
    # committees, and by now the cell is late.
    async with core.store.transaction():
        await core.operations.move_cell(s.cell_id, "Phường Một")
        await core.operations.add_committee("Phường Hai")
        await core.operations.grant_officer("Phường Một", s.secretary_id, None)
        await core.operations.grant_officer("Phường Hai", s.secretary_id, None)
    core.clock.advance(days=20)  # type: ignore[attr-defined]
    await say(sec, "/dangbo")
    assert sec.templates() == ["committee/choose"]
    await say(sec, "1")
    assert sec.templates()[-1] == "committee/overview"
    remind = core.renderer.typed_word(sec.button("remind_late"))
    await say(sec, "1")
    assert sec.templates() == ["committee/cell"]
    await say(sec, "đảng bộ")
    assert sec.templates()[-1] == "committee/overview"
    await say(sec, str(remind))
    assert sec.templates() == ["committee/reminded"]
    # One's own data, typed, once the round is closed.
    async with core.store.transaction():
        await core.operations.close_round(s.cell_id)
    await say(member, "/dulieu")
    assert member.screen("mydata/files").context["deletable"] == 1
    await say(member, "1")
    assert member.templates() == ["mydata/confirm_delete"]
    seen += [x for who in ("m", "lead", "zs") for x in delivered(core, who, ZALO if who == "zs"
                                                                     else "test")]

    with_buttons = {x.template for x in seen if x.buttons or x.choices}
    missing = _screens_with_buttons_in_code() - with_buttons
    assert not missing, f"never rendered in this test: {sorted(missing)}"
    for screen in seen:
        check_typed_routes(core, screen)
    del tmp_path


async def test_labels_toml_is_checked_against_the_actions_at_start_up() -> None:
    import tomllib

    import pytest

    from bot.words import Words, WordsError

    labels = tomllib.loads((REPO / "templates" / "labels.toml").read_text(encoding="utf-8"))
    words = Words.parse(labels)
    assert words.desk_keywords[DeskAction.REMIND] == ("nhac",)
    bad = {**labels, "desk_keywords": {**labels["desk_keywords"], "xyz": ["gì đó"]}}
    with pytest.raises(WordsError, match="xyz"):
        Words.parse(bad)
    clash = {**labels, "desk_keywords": {**labels["desk_keywords"], "rem": ["xong"]}}
    with pytest.raises(WordsError, match="xong"):
        Words.parse(clash)
    wrong = {**labels, "commands": {**labels["commands"], "x": {"action": "s:trk",
                                                                 "description": ""}}}
    with pytest.raises(WordsError, match="s:trk"):
        Words.parse(wrong)
