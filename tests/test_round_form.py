"""The form version is data chosen per round: a cell can move to a new form family in a new
round while an old round keeps the form its drafts were written on."""

from __future__ import annotations

import dataclasses
import io
from collections.abc import AsyncIterator
from datetime import date, timedelta
from pathlib import Path

import docx
import pytest

from bot.config import ReviewConfig, Settings
from handlers.cli import main as tusoi_main
from handlers.wiring import Core, build_core
from tests.conftest import REPO, FixedClock, make_settings, seed
from tests.test_review import answer_checklist, answer_form, linked


def variant_pack(tmp_path: Path) -> Path:
    """The 2023 form under another id and form code: a stand-in for a future form pack."""
    text = (REPO / "checklists" / "form-02-2023.toml").read_text(encoding="utf-8")
    text = text.replace('id = "form-02-2023"', 'id = "form-variant"', 1)
    text = text.replace("Mẫu 02A-HD KĐ.ĐG 2023", "Mẫu THỬ-A").replace(
        "Mẫu 02B-HD KĐ.ĐG 2023", "Mẫu THỬ-B")
    text = text.replace('template = "templates/docx/', f'template = "{REPO}/templates/docx/')
    path = tmp_path / "form-variant.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
async def two_form_core(tmp_path: Path) -> AsyncIterator[Core]:
    base = make_settings(tmp_path)
    review = ReviewConfig()
    settings = dataclasses.replace(base, review=dataclasses.replace(
        review, other_forms=[*review.other_forms, str(variant_pack(tmp_path))]))
    core = build_core(settings, FixedClock())
    await core.open()
    yield core
    await core.close()


async def draft_text(core: Core, chat_name: str, member_id: int, s) -> str:  # type: ignore[no-untyped-def]
    chat = await linked(core, s, member_id, chat_name)
    await answer_checklist(chat)
    await answer_form(chat)
    await chat.press(chat.button("submit"))
    content = chat.screen("review/submitted").document.content  # type: ignore[union-attr]
    return "\n".join(p.text for p in docx.Document(io.BytesIO(content)).paragraphs)


async def test_each_round_prints_its_own_form(two_form_core: Core) -> None:
    core = two_form_core
    assert set(core.service.forms.families) == {"form-2025", "form-02-2023", "form-variant"}
    s = await seed(core)  # its round names no form: the default
    assert "Mẫu 2B-HD KĐ.ĐG 2025" in await draft_text(core, "m", s.member_id, s)

    await core.store.close_round(s.round_id)
    async with core.store.transaction():
        await core.store.add_round(s.cell_id, 2027, "Kiểm điểm năm 2027", date(2027, 12, 17),
                                   date(2027, 12, 10), core.clock.now(), "form-variant")
    chat = await linked(core, s, s.leader_id, "lead")
    await answer_checklist(chat)
    await answer_form(chat)
    await chat.press(chat.button("submit"))
    content = chat.screen("review/submitted").document.content  # type: ignore[union-attr]
    text = "\n".join(p.text for p in docx.Document(io.BytesIO(content)).paragraphs)
    assert "Mẫu THỬ-B" in text and "02B-HD" not in text


def test_round_open_refuses_an_unknown_form(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "c.toml"
    config.write_text(f'[database]\npath = "{tmp_path / "db.sqlite3"}"\n', encoding="utf-8")
    assert tusoi_main(["--config", str(config), "cell", "add", "--name", "A"]) == 0
    code = tusoi_main(["--config", str(config), "round", "open", "--cell", "1",
                       "--meeting", "thứ Sáu 18/12/2026", "--form", "form-2030"])
    assert code == 1
    assert "không có họ biểu mẫu hay gói biểu mẫu «form-2030»" in capsys.readouterr().err


def test_default_settings_open_rounds_on_the_2025_family_with_2023_selectable() -> None:
    review = Settings().review
    assert review.form == "checklists/form-2025-2b.toml"
    assert sorted(review.other_forms) == [
        "checklists/form-02-2023.toml", "checklists/form-2025-2a.toml",
        "checklists/form-2025-2c.toml"]


def test_member_add_takes_a_category_an_admission_date_and_a_standing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    import sqlite3

    db = tmp_path / "db.sqlite3"
    config = tmp_path / "c.toml"
    config.write_text(f'[database]\npath = "{db}"\n', encoding="utf-8")

    def tusoi(*args: str) -> int:
        return tusoi_main(["--config", str(config), *args])

    assert tusoi("cell", "add", "--name", "A") == 0
    add = ("member", "add", "--cell", "1", "--name")
    assert tusoi(*add, "Hưu Trí", "--category", "hưu trí", "--joined-on", "19/05/1975") == 0
    assert tusoi(*add, "Trưởng Phòng", "--category", "2A") == 0
    assert tusoi(*add, "Lãnh Đạo", "--leader") == 0
    assert tusoi(*add, "Miễn Sinh Hoạt", "--standing", "miễn sinh hoạt") == 0
    capsys.readouterr()
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT full_name, category, is_leader, joined_on, standing"
                            " FROM members ORDER BY id").fetchall()
    assert rows == [("Hưu Trí", "outside", 0, "1975-05-19", None),
                    ("Trưởng Phòng", "leader", 1, None, None),
                    ("Lãnh Đạo", "leader", 1, None, None),
                    ("Miễn Sinh Hoạt", "no_post", 0, None, "exempted")]

    for args, message in [
        (("--category", "02B"), "ký hiệu mẫu năm 2023"),
        (("--category", "cán bộ"), "không rõ đối tượng «cán bộ»"),
        (("--category", "2C", "--leader"), "mâu thuẫn"),
        (("--joined-on", "31/02/2010"), "không đọc được"),
        (("--joined-on", "01/01/2099"), "ở sau hôm nay"),
        (("--standing", "nghỉ phép"), "không rõ tình trạng"),
    ]:
        assert tusoi(*add, "Sai", *args) == 1
        assert message in capsys.readouterr().err
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT COUNT(*) FROM members").fetchone()[0] == 4  # nothing stored


def test_roster_import_does_not_invite_members_the_open_round_does_not_review(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    from bot.workdays import WorkCalendar
    from tests.conftest import REPO

    cal = WorkCalendar.load(REPO / "data" / "calendar" / "vn.toml")
    meeting = cal.next_working_day(date.today() + timedelta(days=30))
    recent = meeting - timedelta(days=150)  # five months before the meeting
    config = tmp_path / "c.toml"
    config.write_text(f'[database]\npath = "{tmp_path / "db.sqlite3"}"\n', encoding="utf-8")
    roster = tmp_path / "ds.csv"
    roster.write_text("Họ và tên,Ngày sinh,Đối tượng,Ngày kết nạp\n"
                      "Lý Văn Cũ,01/01/1980,2B,01/01/2005\n"
                      f"Lý Thị Mới,01/01/1995,hưu trí,{recent:%d/%m/%Y}\n", encoding="utf-8")

    def tusoi(*args: str) -> int:
        return tusoi_main(["--config", str(config), *args])

    assert tusoi("cell", "add", "--name", "A") == 0
    assert tusoi("round", "open", "--cell", "1", "--meeting", meeting.strftime("%d/%m/%Y")) == 0
    capsys.readouterr()
    assert tusoi("roster", "import", "--cell", "1", str(roster)) == 0
    out = capsys.readouterr().out
    assert "giữ chức vụ lãnh đạo, quản lý 0 · không giữ chức vụ 1 · ngoài hệ thống chính trị 1" in out
    assert "Lý Văn Cũ: liên kết " in out
    assert "Lý Thị Mới: mới kết nạp chưa đủ 6 tháng" in out and "Lý Thị Mới: liên kết" not in out


def test_a_form_family_missing_a_category_stops_the_start_with_the_keys_named(
    tmp_path: Path,
) -> None:
    from bot.checklist import PackError, describe_problem
    from handlers.render import load_pack_words

    base = make_settings(tmp_path)
    settings = dataclasses.replace(base, review=dataclasses.replace(ReviewConfig(),
                                                                    other_forms=[]))
    with pytest.raises(PackError) as caught:
        build_core(settings, FixedClock())
    (problem,) = caught.value.problems
    assert (problem.file, problem.key, problem.code) == (
        "review.form, review.other_forms", "form-2025", "family_category_missing")
    assert describe_problem(problem, load_pack_words()) == (
        "họ biểu mẫu «form-2025» chưa có gói cho đối tượng leader, outside: khai báo các gói "
        "còn lại của họ này trong review.other_forms (ví dụ checklists/form-2025-2a.toml và "
        "checklists/form-2025-2c.toml)")
