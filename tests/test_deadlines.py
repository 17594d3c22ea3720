"""Round deadlines counted back from the meeting, and the problems a meeting date can have."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from bot.deadlines import (
    MeetingInPast,
    MeetingNotWorkingDay,
    MeetingTooClose,
    compute_deadlines,
    earliest_meeting,
)
from bot.workdays import WorkCalendar, YearNotCovered

DATA = Path(__file__).resolve().parents[1] / "data" / "calendar" / "vn.toml"


@pytest.fixture(scope="module")
def cal() -> WorkCalendar:
    return WorkCalendar.load(DATA)


def test_default_deadlines_on_a_plain_week(cal: WorkCalendar) -> None:
    # Meeting Fri 18/12/2026. Strict: members 5 days -> counted 11,14,15,16,17 -> Thu 10/12;
    # collective 3 days -> counted 15,16,17 -> Mon 14/12.
    result = compute_deadlines(cal, date(2026, 12, 18), date(2026, 12, 1))
    assert result.meeting == date(2026, 12, 18)
    assert result.convention == "strict"
    assert result.member_due == date(2026, 12, 10)
    assert result.collective_due == date(2026, 12, 14)
    assert result.member_countback.send_by == result.member_due
    assert len(result.member_countback.counted) == 5
    assert result.collective_countback.counted == [
        date(2026, 12, 15),
        date(2026, 12, 16),
        date(2026, 12, 17),
    ]


def test_loose_convention_gives_one_working_day_more(cal: WorkCalendar) -> None:
    result = compute_deadlines(cal, date(2026, 12, 18), date(2026, 12, 1), convention="loose")
    assert result.convention == "loose"
    assert result.member_due == date(2026, 12, 11)
    assert result.collective_due == date(2026, 12, 15)


def test_deadlines_across_tet(cal: WorkCalendar) -> None:
    # Meeting Thu 26/2/2026: counted 23, 24, 25 then the Tết block, then 13, 12.
    result = compute_deadlines(cal, date(2026, 2, 26), date(2026, 2, 2))
    assert result.collective_due == date(2026, 2, 13)
    assert result.member_due == date(2026, 2, 11)
    assert result.member_due <= result.collective_due


def test_custom_lead_times(cal: WorkCalendar) -> None:
    result = compute_deadlines(
        cal, date(2026, 12, 18), date(2026, 12, 1), member_lead=3, collective_lead=3
    )
    assert result.member_due == result.collective_due == date(2026, 12, 14)


def test_a_make_up_saturday_is_a_valid_meeting_day(cal: WorkCalendar) -> None:
    result = compute_deadlines(cal, date(2026, 8, 22), date(2026, 8, 1), convention="loose")
    assert result.collective_due == date(2026, 8, 19)


def test_meeting_in_the_past_suggests_the_earliest_possible_meeting(cal: WorkCalendar) -> None:
    with pytest.raises(MeetingInPast) as caught:
        compute_deadlines(cal, date(2026, 12, 1), date(2026, 12, 10))
    err = caught.value
    assert (err.meeting, err.today) == (date(2026, 12, 1), date(2026, 12, 10))
    # From Thu 10/12, five whole working days (11,14,15,16,17) -> Fri 18/12.
    assert err.suggestion == date(2026, 12, 18)


def test_meeting_too_close_suggests_the_earliest_meeting(cal: WorkCalendar) -> None:
    today = date(2026, 12, 10)
    with pytest.raises(MeetingTooClose) as caught:
        compute_deadlines(cal, date(2026, 12, 16), today)
    err = caught.value
    assert err.earliest == err.suggestion == date(2026, 12, 18)
    # The suggestion really works, and sends members' drafts today at the latest.
    assert compute_deadlines(cal, err.earliest, today).member_due == today
    with pytest.raises(MeetingTooClose):
        compute_deadlines(cal, date(2026, 12, 17), today)


def test_meeting_today_is_too_close(cal: WorkCalendar) -> None:
    with pytest.raises(MeetingTooClose):
        compute_deadlines(cal, date(2026, 12, 10), date(2026, 12, 10))


def test_earliest_meeting_depends_on_the_convention_and_tet(cal: WorkCalendar) -> None:
    assert earliest_meeting(cal, date(2026, 12, 10), 5, "loose") == date(2026, 12, 17)
    # From Wed 11/2/2026 the Tết block pushes everything past 22/2:
    # strict 5 -> 11, 12, 13, 23, 24, 25 -> meeting Thu 26/2.
    assert earliest_meeting(cal, date(2026, 2, 11), 5, "strict") == date(2026, 2, 26)


def test_meeting_on_a_weekend_suggests_the_next_working_day(cal: WorkCalendar) -> None:
    with pytest.raises(MeetingNotWorkingDay) as caught:
        compute_deadlines(cal, date(2026, 12, 19), date(2026, 12, 1))
    err = caught.value
    assert err.status.reason == "Thứ Bảy" and not err.status.working
    assert err.suggestion == date(2026, 12, 21)


def test_meeting_during_tet_suggests_the_first_day_after(cal: WorkCalendar) -> None:
    with pytest.raises(MeetingNotWorkingDay) as caught:
        compute_deadlines(cal, date(2026, 2, 17), date(2026, 1, 5))
    assert caught.value.suggestion == date(2026, 2, 23)
    assert caught.value.status.reason == "Tết Nguyên đán"


def test_too_close_is_reported_before_not_working_day(cal: WorkCalendar) -> None:
    # Sun 13/12 is both a rest day and too close: suggesting Mon 14/12 would fail again.
    with pytest.raises(MeetingTooClose) as caught:
        compute_deadlines(cal, date(2026, 12, 13), date(2026, 12, 10))
    assert caught.value.suggestion == date(2026, 12, 18)


def test_meeting_in_an_uncovered_year(cal: WorkCalendar) -> None:
    with pytest.raises(YearNotCovered) as caught:
        compute_deadlines(cal, date(2028, 1, 20), date(2027, 12, 1))
    assert caught.value.year == 2028
    assert caught.value.suggestion is None


@pytest.mark.parametrize(("member_lead", "collective_lead"), [(2, 3), (3, 0)])
def test_inconsistent_lead_times_are_refused(
    cal: WorkCalendar, member_lead: int, collective_lead: int
) -> None:
    with pytest.raises(ValueError, match="lead"):
        compute_deadlines(
            cal,
            date(2026, 12, 18),
            date(2026, 12, 1),
            member_lead=member_lead,
            collective_lead=collective_lead,
        )


# ----------------------------------------------------------------- 43-HD 4.1: before 31/12


def test_a_meeting_after_the_year_end_of_its_review_year_is_warned() -> None:
    from bot.deadlines import late_meeting

    late = late_meeting(date(2027, 1, 5), 2026)
    assert late is not None and late.deadline == date(2026, 12, 31)
    assert late_meeting(date(2026, 12, 31), 2026) is None  # on the day itself: no warning
    assert late_meeting(date(2026, 12, 18), 2026) is None
    # Bodies whose higher level sets 15/01 of the next year.
    assert late_meeting(date(2027, 1, 15), 2026, "15/01") is None
    later = late_meeting(date(2027, 1, 18), 2026, "15/01")
    assert later is not None and later.deadline == date(2027, 1, 15)
    with pytest.raises(ValueError):
        late_meeting(date(2027, 1, 5), 2026, "31/02")


def test_round_open_and_move_warn_and_cite_43_hd(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    from handlers.cli import main as tusoi_main

    cal = WorkCalendar.load(DATA)
    today = date.today()
    in_january = cal.next_working_day(date(today.year + 1, 1, 11))
    config = tmp_path / "c.toml"
    config.write_text(f'[database]\npath = "{tmp_path / "db.sqlite3"}"\n', encoding="utf-8")
    assert tusoi_main(["--config", str(config), "cell", "add", "--name", "A"]) == 0
    capsys.readouterr()
    assert tusoi_main(["--config", str(config), "round", "open", "--cell", "1", "--year",
                       str(today.year), "--meeting", in_january.strftime("%d/%m/%Y")]) == 0
    out = capsys.readouterr().out
    assert "Đã mở đợt" in out  # a warning, never a refusal
    assert "Hướng dẫn 43-HD/BTCTW, mục 4.1" in out
    assert "«…tiến hành vào dịp cuối năm và kết thúc trước ngày 31/12 hằng năm»" in out
    assert f"sau 31/12/{today.year}" in out
    december = cal.next_working_day(date(today.year, 12, 21))
    assert tusoi_main(["--config", str(config), "round", "move", "--cell", "1", "--meeting",
                       december.strftime("%d/%m/%Y")]) == 0
    assert "43-HD" not in capsys.readouterr().out
    assert tusoi_main(["--config", str(config), "round", "move", "--cell", "1", "--meeting",
                       in_january.strftime("%d/%m/%Y")]) == 0
    assert "43-HD/BTCTW, mục 4.1" in capsys.readouterr().out

    config.write_text(f'[database]\npath = "{tmp_path / "db.sqlite3"}"\n'
                      '[calendar]\nyear_end_deadline = "15/01"\n', encoding="utf-8")
    assert tusoi_main(["--config", str(config), "round", "move", "--cell", "1", "--meeting",
                       in_january.strftime("%d/%m/%Y")]) == 0
    assert "43-HD" not in capsys.readouterr().out
