"""The working-day calendar, date parsing and the two CLI templates (no real clock anywhere)."""

from __future__ import annotations

import re
import unicodedata
from datetime import date, timedelta
from pathlib import Path

import holidays
import pytest
from jinja2 import Environment, FileSystemLoader, StrictUndefined, UndefinedError

from bot.workdays import (
    TEMPLATE_FILTERS,
    WEEKDAYS_VI,
    CalendarDataError,
    DateParseError,
    WorkCalendar,
    YearNotCovered,
    calendar_year_context,
    format_vn_date,
    parse_vn_date,
    workdays_before_context,
)

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data" / "calendar" / "vn.toml"


@pytest.fixture(scope="module")
def cal() -> WorkCalendar:
    return WorkCalendar.load(DATA)


@pytest.fixture(scope="module")
def sat_cal() -> WorkCalendar:
    return WorkCalendar.load(DATA, saturday_is_workday=True)


def days_between(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def write_calendar(tmp_path: Path, body: str, years: tuple[int, int] = (2026, 2026)) -> Path:
    path = tmp_path / "vn.toml"
    path.write_text(f"first_year = {years[0]}\nlast_year = {years[1]}\n{body}", encoding="utf-8")
    return path


# ------------------------------------------------------------------------------ holidays ----


def test_tet_2026_is_nine_days_off_from_saturday_14_to_sunday_22(cal: WorkCalendar) -> None:
    # Official decision for civil servants (domain.md §7): Sat 14/2 – Sun 22/2/2026.
    for d in days_between(date(2026, 2, 14), date(2026, 2, 22)):
        status = cal.day_status(d)
        assert not status.working, d
        assert status.reason is not None and "Tết" in status.reason, d
    assert cal.day_status(date(2026, 2, 13)).working
    assert cal.day_status(date(2026, 2, 23)).working


def test_tet_2027_follows_the_package_until_an_official_decision(cal: WorkCalendar) -> None:
    # No decision yet for Tết Đinh Mùi (mùng 1 = Sat 6/2/2027). holidays 0.109 gives
    # Thu 4/2 ("29 Tết", moved from Sat 6/2) to Wed 10/2 ("Mùng năm", moved from Sun 7/2).
    for d in days_between(date(2027, 2, 4), date(2027, 2, 10)):
        assert not cal.day_status(d).working, d
    assert cal.day_status(date(2027, 2, 3)).working
    assert cal.day_status(date(2027, 2, 11)).working
    assert cal.day_status(date(2027, 2, 6)).reason == "Tết Nguyên đán"


def test_30_4_and_1_5_with_the_2025_swap(cal: WorkCalendar) -> None:
    assert cal.day_status(date(2026, 4, 30)).reason == "Ngày Chiến thắng"
    assert cal.day_status(date(2026, 5, 1)).reason == "Ngày Quốc tế Lao động"
    assert not cal.day_status(date(2026, 4, 30)).working
    assert not cal.day_status(date(2026, 5, 1)).working
    # 2025: Fri 2/5 off, swapped with the make-up Saturday 26/4.
    assert not cal.day_status(date(2025, 5, 2)).working
    saturday = cal.day_status(date(2025, 4, 26))
    assert saturday.working and saturday.reason is not None
    assert saturday.reason.startswith("Làm bù")
    # 1/5/2027 is a Saturday: compensatory Monday 3/5.
    assert not cal.day_status(date(2027, 5, 3)).working


@pytest.mark.parametrize(
    ("off", "working_after"),
    [
        # 2025: Mon 1/9 is the adjacent day.
        ([date(2025, 9, 1), date(2025, 9, 2)], date(2025, 9, 3)),
        # 2026: Tue 1/9 adjacent, plus Mon 31/8 swapped with Sat 22/8.
        ([date(2026, 8, 31), date(2026, 9, 1), date(2026, 9, 2)], date(2026, 9, 3)),
        # 2027: Fri 3/9 adjacent.
        ([date(2027, 9, 2), date(2027, 9, 3)], date(2027, 9, 6)),
    ],
)
def test_national_day_and_its_adjacent_day(
    cal: WorkCalendar, off: list[date], working_after: date
) -> None:
    for d in off:
        assert not cal.day_status(d).working, d
    assert cal.day_status(working_after).working
    assert all(cal.day_status(d).reason == "Quốc khánh" for d in off if d.month == 9)


def test_make_up_saturday_2026_is_a_working_day_and_is_counted(cal: WorkCalendar) -> None:
    status = cal.day_status(date(2026, 8, 22))
    assert status.working
    assert status.reason is not None and status.reason.startswith("Làm bù")
    # Meeting Tue 25/8: back from Mon 24, skip Sun 23, Sat 22 counts, then Fri 21.
    countback = cal.working_days_before(date(2026, 8, 25), 3, "loose")
    assert countback.counted == [date(2026, 8, 21), date(2026, 8, 22), date(2026, 8, 24)]
    assert countback.send_by == date(2026, 8, 21)
    assert [s.date for s in countback.skipped] == [date(2026, 8, 23)]


def test_every_package_swap_has_its_make_up_saturday_in_the_data_file(cal: WorkCalendar) -> None:
    # The package knows the swapped weekday off but not the Saturday worked instead.
    package = holidays.country_holidays(
        "VN", years=range(cal.first_year, cal.last_year + 1), language="vi"
    )
    swaps = {d: n for d, n in package.items() if n.startswith("Ngày nghỉ (thay cho ngày")}
    assert swaps, "expected the package to list swaps (2025, 2026)"
    for off_day, name in swaps.items():
        found = re.search(r"(\d{2})/(\d{2})/(\d{4})", name)
        assert found
        day, month, year = (int(x) for x in found.groups())
        make_up = cal.day_status(date(year, month, day))
        assert make_up.working and make_up.reason and make_up.reason.startswith("Làm bù")
        assert not cal.day_status(off_day).working


def test_vietnam_culture_day_is_not_a_day_off_while_pending(cal: WorkCalendar) -> None:
    # holidays 0.109 lists 24/11 from 2026; domain.md §7 says it is not in force yet.
    assert date(2026, 11, 24) in holidays.country_holidays("VN", years=2026)
    assert cal.day_status(date(2026, 11, 24)).working
    assert cal.day_status(date(2027, 11, 24)).working


def test_ordinary_days_and_weekends(cal: WorkCalendar) -> None:
    assert cal.day_status(date(2026, 12, 16)).working
    assert cal.day_status(date(2026, 12, 16)).reason is None
    assert cal.day_status(date(2026, 12, 19)).reason == "Thứ Bảy"
    assert cal.day_status(date(2026, 12, 20)).reason == "Chủ nhật"
    assert not cal.day_status(date(2026, 12, 20)).working


def test_year_days_lists_holidays_and_make_up_days_but_not_plain_weekends(
    cal: WorkCalendar,
) -> None:
    days = {s.date: s for s in cal.year_days(2026)}
    assert date(2026, 8, 22) in days and days[date(2026, 8, 22)].working
    assert date(2026, 2, 17) in days and not days[date(2026, 2, 17)].working
    assert date(2026, 2, 14) not in days  # a Saturday inside the Tết block: off anyway
    assert date(2026, 12, 19) not in days  # an ordinary Saturday
    assert date(2026, 12, 16) not in days  # an ordinary Wednesday
    assert list(days) == sorted(days)
    with pytest.raises(YearNotCovered):
        cal.year_days(2030)


# ----------------------------------------------------------------------------- coverage ----


def test_year_outside_the_range_is_refused(cal: WorkCalendar) -> None:
    with pytest.raises(YearNotCovered) as caught:
        cal.day_status(date(2028, 3, 1))
    assert (caught.value.year, caught.value.first, caught.value.last) == (2028, 2025, 2027)
    assert caught.value.suggestion is None
    assert "2028" in str(caught.value)


def test_countback_walking_into_an_uncovered_year_is_refused(tmp_path: Path) -> None:
    cal = WorkCalendar.load(write_calendar(tmp_path, ""))
    with pytest.raises(YearNotCovered) as caught:
        cal.working_days_before(date(2026, 1, 2), 3)
    assert caught.value.year == 2025


# ---------------------------------------------------------------------------- overrides ----


def test_override_file_adds_a_day_off_and_a_working_saturday(
    tmp_path: Path, cal: WorkCalendar
) -> None:
    # Baseline with the shipped data: meeting Fri 18/12/2026, 3 days strict -> Mon 14/12.
    assert cal.working_days_before(date(2026, 12, 18), 3).send_by == date(2026, 12, 14)
    path = write_calendar(
        tmp_path,
        """
[[days]]
date = 2026-12-16
kind = "off"
reason = "Nghỉ theo quyết định của cơ quan"

[[days]]
date = 2026-12-12
kind = "work"
reason = "Làm bù cho thứ Tư 16/12/2026"
""",
    )
    local = WorkCalendar.load(path)
    assert local.day_status(date(2026, 12, 16)).reason == "Nghỉ theo quyết định của cơ quan"
    assert not local.day_status(date(2026, 12, 16)).working
    assert local.day_status(date(2026, 12, 12)).working
    countback = local.working_days_before(date(2026, 12, 18), 3)
    assert countback.counted == [date(2026, 12, 14), date(2026, 12, 15), date(2026, 12, 17)]
    assert countback.send_by == date(2026, 12, 12)  # the working Saturday
    assert [s.date for s in countback.skipped] == [date(2026, 12, 13), date(2026, 12, 16)]


def test_override_reasons_are_stored_as_nfc(tmp_path: Path) -> None:
    reason = unicodedata.normalize("NFD", "Nghỉ hoán đổi")
    path = write_calendar(
        tmp_path, f'[[days]]\ndate = 2026-12-16\nkind = "off"\nreason = "{reason}"\n'
    )
    status = WorkCalendar.load(path).day_status(date(2026, 12, 16))
    assert status.reason == unicodedata.normalize("NFC", "Nghỉ hoán đổi")


@pytest.mark.parametrize(
    "body",
    [
        '[[days]]\ndate = 2026-12-16\nkind = "holiday"\nreason = "x"\n',
        '[[days]]\ndate = 2027-01-04\nkind = "off"\nreason = "ngoài phạm vi"\n',
        '[[days]]\ndate = 2026-12-16\nkind = "off"\nreason = ""\n',
        ('[[days]]\ndate = 2026-12-16\nkind = "off"\nreason = "a"\n'
        '[[days]]\ndate = 2026-12-16\nkind = "work"\nreason = "b"\n'),
        '[[days]]\ndate = "2026-12-16"\nkind = "off"\nreason = "chuỗi, không phải ngày"\n',
        '[[days]]\ndate = 2026-12-16\nkind = "off"\nreason = "a"\nnote = "khoá lạ"\n',
        "saturday_is_workday = 1\n",
    ],
    ids=["bad-kind", "outside-range", "empty-reason", "duplicate", "string-date", "extra-key",
         "bad-saturday"],
)
def test_malformed_data_file_is_refused(tmp_path: Path, body: str) -> None:
    with pytest.raises(CalendarDataError):
        WorkCalendar.load(write_calendar(tmp_path, body))


# --------------------------------------------------------------------- saturday workday ----


def test_saturday_workday_counts_saturdays(cal: WorkCalendar, sat_cal: WorkCalendar) -> None:
    assert sat_cal.saturday_is_workday and not cal.saturday_is_workday
    assert sat_cal.day_status(date(2026, 12, 19)).working
    assert not sat_cal.day_status(date(2026, 12, 20)).working
    # Meeting Mon 21/12/2026, 3 days loose: Sat 19 counts for a Saturday-working unit.
    assert sat_cal.working_days_before(date(2026, 12, 21), 3, "loose").send_by == date(
        2026, 12, 17
    )
    assert cal.working_days_before(date(2026, 12, 21), 3, "loose").send_by == date(2026, 12, 16)


def test_saturday_workday_ignores_swaps_for_the_monday_friday_week(sat_cal: WorkCalendar) -> None:
    # The 2026 Quốc khánh swap (Mon 31/8 <-> Sat 22/8) is for bodies off on Saturdays only.
    assert sat_cal.day_status(date(2026, 8, 31)).working
    assert sat_cal.day_status(date(2026, 8, 22)).reason is None
    # Legal holidays still apply; a Saturday holiday is simply that day off, no Monday in lieu.
    assert not sat_cal.day_status(date(2027, 5, 1)).working
    assert sat_cal.day_status(date(2027, 5, 3)).working
    # A Sunday holiday still gives the next working day off (Labour Code Art. 111 §3).
    assert not sat_cal.day_status(date(2026, 4, 27)).working
    # The Saturdays of the 2026 Tết block are working days; the five legal days are not.
    assert sat_cal.day_status(date(2026, 2, 14)).working
    assert not sat_cal.day_status(date(2026, 2, 16)).working


def test_saturday_workday_comes_from_the_file_unless_overridden(tmp_path: Path) -> None:
    path = write_calendar(tmp_path, "saturday_is_workday = true\n")
    assert WorkCalendar.load(path).day_status(date(2026, 12, 19)).working
    assert not WorkCalendar.load(path, saturday_is_workday=False).day_status(
        date(2026, 12, 19)
    ).working


# --------------------------------------------------------------------------- countbacks ----


def test_conventions_on_a_plain_week(cal: WorkCalendar) -> None:
    strict = cal.working_days_before(date(2026, 12, 18), 3)
    loose = cal.working_days_before(date(2026, 12, 18), 3, "loose")
    assert strict.convention == "strict" and loose.convention == "loose"
    expected = [date(2026, 12, 15), date(2026, 12, 16), date(2026, 12, 17)]
    assert strict.counted == loose.counted == expected
    assert strict.send_by == date(2026, 12, 14)
    assert loose.send_by == date(2026, 12, 15)
    assert strict.skipped == loose.skipped == []


def test_conventions_across_a_weekend(cal: WorkCalendar) -> None:
    # Meeting Tue 22/12/2026: counted Thu 17, Fri 18, Mon 21.
    strict = cal.working_days_before(date(2026, 12, 22), 3)
    loose = cal.working_days_before(date(2026, 12, 22), 3, "loose")
    assert loose.send_by == date(2026, 12, 17)
    assert strict.send_by == date(2026, 12, 16)
    assert [s.reason for s in loose.skipped] == ["Thứ Bảy", "Chủ nhật"]


def test_conventions_across_tet_2026(cal: WorkCalendar) -> None:
    meeting = date(2026, 2, 26)  # Thursday after Tết
    loose = cal.working_days_before(meeting, 3, "loose")
    assert loose.send_by == date(2026, 2, 23)
    assert loose.skipped == []
    strict = cal.working_days_before(meeting, 3, "strict")
    assert strict.counted == [date(2026, 2, 23), date(2026, 2, 24), date(2026, 2, 25)]
    # The working day before Mon 23/2 is Fri 13/2: the whole Tết block lies between.
    assert strict.send_by == date(2026, 2, 13)
    assert [s.date for s in strict.skipped] == days_between(date(2026, 2, 14), date(2026, 2, 22))


def test_countback_rejects_bad_arguments(cal: WorkCalendar) -> None:
    with pytest.raises(ValueError):
        cal.working_days_before(date(2026, 12, 18), 0)
    with pytest.raises(ValueError):
        cal.working_days_before(date(2026, 12, 18), 3, "lenient")  # type: ignore[arg-type]


def test_next_and_add_working_days(cal: WorkCalendar) -> None:
    assert cal.next_working_day(date(2026, 2, 13)) == date(2026, 2, 23)
    assert cal.next_working_day(date(2026, 12, 16)) == date(2026, 12, 17)
    assert cal.add_working_days(date(2026, 2, 13), 2) == date(2026, 2, 24)
    assert cal.add_working_days(date(2026, 2, 23), -1) == date(2026, 2, 13)
    assert cal.add_working_days(date(2026, 12, 19), 0) == date(2026, 12, 19)
    assert cal.add_working_days(date(2026, 8, 21), 1) == date(2026, 8, 22)  # make-up Saturday


# -------------------------------------------------------------------------------- dates ----

TODAY = date(2026, 3, 1)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("20/12/2026", date(2026, 12, 20)),
        ("20-12-2026", date(2026, 12, 20)),
        ("20.12.2026", date(2026, 12, 20)),
        ("5/1/2027", date(2027, 1, 5)),
        ("20/12/26", date(2026, 12, 20)),
        ("20/12", date(2026, 12, 20)),
        ("20-12", date(2026, 12, 20)),
        ("2026-12-20", date(2026, 12, 20)),
        ("thứ Sáu 18/12", date(2026, 12, 18)),
        ("Thứ 6, 18/12/2026", date(2026, 12, 18)),
        ("T6 18/12", date(2026, 12, 18)),
        ("thứ bảy 19/12/2026", date(2026, 12, 19)),
        ("Thứ Tư, ngày 16/12/2026", date(2026, 12, 16)),
        ("ngày 20 tháng 12 năm 2026", date(2026, 12, 20)),
        ("Chủ nhật, ngày 20 tháng 12 năm 2026", date(2026, 12, 20)),
        ("ngày 20 tháng 12", date(2026, 12, 20)),
        ("CN 20/12", date(2026, 12, 20)),
        ("  Thứ   Hai   21/12/2026  ", date(2026, 12, 21)),
        (unicodedata.normalize("NFD", "thứ Sáu 18/12/2026"), date(2026, 12, 18)),
        (unicodedata.normalize("NFD", "ngày 20 tháng 12 năm 2026"), date(2026, 12, 20)),
    ],
)
def test_parse_vn_date_forms(text: str, expected: date) -> None:
    assert parse_vn_date(text, TODAY) == expected


def test_day_and_month_only_mean_the_next_such_date() -> None:
    assert parse_vn_date("1/3", date(2026, 3, 1)) == date(2026, 3, 1)  # today counts
    assert parse_vn_date("28/2", date(2026, 3, 1)) == date(2027, 2, 28)
    assert parse_vn_date("29/2", date(2026, 3, 1)) == date(2028, 2, 29)


def test_weekday_mismatch_names_the_real_weekday() -> None:
    with pytest.raises(DateParseError) as caught:
        parse_vn_date("thứ Sáu 20/12/2026", TODAY)
    err = caught.value
    assert err.problem == "weekday_mismatch"
    assert err.parsed == date(2026, 12, 20)
    assert (err.given_weekday, err.actual_weekday) == (4, 6)
    assert "Chủ nhật" in str(err) and "Thứ Sáu" in str(err)
    assert unicodedata.is_normalized("NFC", str(err))


def test_weekday_abbreviation_mismatch_is_caught() -> None:
    with pytest.raises(DateParseError) as caught:
        parse_vn_date("CN 18/12/2026", TODAY)
    assert "Thứ Sáu" in str(caught.value)


@pytest.mark.parametrize("text", ["31/2/2026", "31/4", "0/5/2026", "15/13/2026", "2026-02-30"])
def test_impossible_dates_are_refused_politely(text: str) -> None:
    with pytest.raises(DateParseError) as caught:
        parse_vn_date(text, TODAY)
    assert caught.value.problem == "invalid"
    assert str(caught.value).startswith("Xin lỗi")


@pytest.mark.parametrize("text", ["", "mai", "thứ Sáu", "20/12/2026 lúc 8 giờ", "thứ Tám 20/12"])
def test_unreadable_text_is_refused_politely(text: str) -> None:
    with pytest.raises(DateParseError) as caught:
        parse_vn_date(text, TODAY)
    assert caught.value.problem == "unreadable"
    assert "ví dụ" in str(caught.value)


def test_format_vn_date() -> None:
    assert format_vn_date(date(2026, 12, 18)) == "Thứ Sáu, 18/12/2026"
    assert format_vn_date(date(2026, 2, 22)) == "Chủ nhật, 22/02/2026"
    assert len(WEEKDAYS_VI) == 7
    assert all(unicodedata.is_normalized("NFC", name) for name in WEEKDAYS_VI)


# ---------------------------------------------------------------------------- templates ----


@pytest.fixture(scope="module")
def env() -> Environment:
    environment = Environment(
        loader=FileSystemLoader(ROOT / "templates" / "messages"),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
    )
    environment.filters.update(TEMPLATE_FILTERS)
    return environment


def test_calendar_year_template(env: Environment, cal: WorkCalendar) -> None:
    text = env.get_template("cli/calendar_year.txt.j2").render(calendar_year_context(cal, 2026))
    lines = text.splitlines()
    assert lines[0] == "Lịch ngày nghỉ năm 2026"
    assert "- Thứ Ba, 17/02/2026: nghỉ. Tết Nguyên đán" in lines
    assert any(line.startswith("- Thứ Bảy, 22/08/2026: làm việc. Làm bù") for line in lines)
    assert "19/12/2026" not in text
    assert text.endswith("\n") and "\n\n" not in text
    assert unicodedata.is_normalized("NFC", text)


def test_calendar_year_template_for_a_saturday_working_unit(
    env: Environment, sat_cal: WorkCalendar
) -> None:
    text = env.get_template("cli/calendar_year.txt.j2").render(
        calendar_year_context(sat_cal, 2026)
    )
    assert "làm việc cả thứ Bảy" in text
    assert "22/08/2026" not in text


def test_workdays_before_template_strict_across_tet(env: Environment, cal: WorkCalendar) -> None:
    text = env.get_template("cli/workdays_before.txt.j2").render(
        workdays_before_context(cal, date(2026, 2, 26), 3, "strict")
    )
    assert "Ngày họp: Thứ Năm, 26/02/2026" in text
    assert "Cách tính: chặt chẽ" in text
    assert "Gửi muộn nhất: Thứ Sáu, 13/02/2026" in text
    assert "- Thứ Ba, 17/02/2026: Tết Nguyên đán" in text.splitlines()
    assert text.count("\n- ") == 3 + 9  # three counted days, nine skipped days
    assert "\n\n" not in text


def test_workdays_before_template_loose_with_weekend_meeting(
    env: Environment, cal: WorkCalendar
) -> None:
    text = env.get_template("cli/workdays_before.txt.j2").render(
        workdays_before_context(cal, date(2026, 12, 20), 3, "loose")
    )
    assert "Lưu ý: ngày họp là ngày nghỉ (Chủ nhật)." in text
    assert "Cách tính: nới" in text
    assert "Gửi muộn nhất: Thứ Tư, 16/12/2026" in text
    assert "- Thứ Bảy, 19/12/2026: nghỉ cuối tuần" in text


def test_workdays_before_template_needs_its_whole_context(
    env: Environment, cal: WorkCalendar
) -> None:
    context = workdays_before_context(cal, date(2026, 12, 18), 3)
    del context["meeting_status"]
    with pytest.raises(UndefinedError):
        env.get_template("cli/workdays_before.txt.j2").render(context)
