"""The Vietnamese working-day calendar: which days count when a lead time says "N working days".

Public holidays come from the ``holidays`` package (country "VN"); the yearly decisions it does
not know (make-up Saturdays, swaps, the official Tết block, holidays still pending) come from a
TOML data file that always wins. A year outside the file's range is refused, never guessed.

Nothing here reads the clock: "today" is always an argument.
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

import holidays

from bot.text import strip_marks

__all__ = [
    "TEMPLATE_FILTERS",
    "WEEKDAYS_VI",
    "CalendarDataError",
    "Convention",
    "Countback",
    "DateParseError",
    "DayStatus",
    "WorkCalendar",
    "YearNotCovered",
    "calendar_year_context",
    "format_vn_date",
    "parse_vn_date",
    "workdays_before_context",
]

WEEKDAYS_VI: tuple[str, ...] = (
    "Thứ Hai",
    "Thứ Ba",
    "Thứ Tư",
    "Thứ Năm",
    "Thứ Sáu",
    "Thứ Bảy",
    "Chủ nhật",
)
_SATURDAY, _SUNDAY = 5, 6

Convention = Literal["strict", "loose"]
_CONVENTIONS: tuple[str, ...] = ("strict", "loose")


def format_vn_date(d: date) -> str:
    """Return a date the way a Vietnamese office writes it: "Thứ Sáu, 18/12/2026"."""
    return f"{WEEKDAYS_VI[d.weekday()]}, {d:%d/%m/%Y}"


# Filters the CLI templates use; register them on the Jinja environment under these names.
TEMPLATE_FILTERS = {"vn_date": format_vn_date}


# --------------------------------------------------------------------------------------------
# Records and errors


@dataclass(frozen=True)
class DayStatus:
    """Whether a day is a working day, and why it is not one (or why a Saturday is).

    ``reason`` is None for an ordinary working day; it names the rest day or holiday
    ("Chủ nhật", "Tết Nguyên đán", …) for a day off, and the make-up ("Làm bù …") or override
    for a working day that would otherwise be off.
    """

    date: date
    working: bool
    reason: str | None


@dataclass(frozen=True)
class Countback:
    """The answer to "when must this be sent to be N working days before the meeting?".

    ``counted`` are the N working days that make up the lead time (oldest first),
    ``skipped`` the days off met on the way back from the meeting to ``send_by`` (oldest first).
    """

    send_by: date
    counted: list[date]
    skipped: list[DayStatus]
    convention: Convention


class YearNotCovered(LookupError):
    """The calendar has no verified data for this year; we refuse rather than guess."""

    def __init__(self, year: int, first: int, last: int) -> None:
        self.year = year
        self.first = first
        self.last = last
        self.suggestion: date | None = None
        super().__init__(
            f"Lịch ngày nghỉ chưa có dữ liệu cho năm {year} "
            f"(hiện có từ năm {first} đến năm {last})."
        )


class CalendarDataError(ValueError):
    """The calendar data file is malformed (a mistake by whoever edited it)."""


class DateParseError(ValueError):
    """A typed date could not be understood; ``str(err)`` is a polite Vietnamese message.

    ``problem`` is "unreadable", "invalid" (no such day, e.g. 31/2) or "weekday_mismatch";
    for a mismatch, ``parsed`` is the date and ``given_weekday``/``actual_weekday`` are
    indexes into WEEKDAYS_VI.
    """

    def __init__(
        self,
        message: str,
        *,
        problem: Literal["unreadable", "invalid", "weekday_mismatch"],
        text: str,
        parsed: date | None = None,
        given_weekday: int | None = None,
        actual_weekday: int | None = None,
    ) -> None:
        super().__init__(message)
        self.problem = problem
        self.text = text
        self.parsed = parsed
        self.given_weekday = given_weekday
        self.actual_weekday = actual_weekday


# --------------------------------------------------------------------------------------------
# The calendar


@dataclass(frozen=True)
class _Override:
    day: date
    kind: Literal["off", "work"]
    reason: str
    mon_fri_only: bool


@dataclass(frozen=True)
class WorkCalendar:
    """Working days of one organisation for the supported years."""

    first_year: int
    last_year: int
    saturday_is_workday: bool
    _days: Mapping[date, DayStatus] = field(repr=False)

    @classmethod
    def load(cls, path: Path, *, saturday_is_workday: bool | None = None) -> WorkCalendar:
        """Build the calendar from the data file; ``saturday_is_workday`` overrides the file."""
        try:
            raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise CalendarDataError(f"{path}: not valid TOML: {exc}") from exc
        first, last, file_saturday, overrides = _read_data(raw, path)
        saturdays = file_saturday if saturday_is_workday is None else saturday_is_workday
        days = _build_days(first, last, saturdays, overrides)
        return cls(first, last, saturdays, MappingProxyType(days))

    # -- single days ---------------------------------------------------------------------

    def day_status(self, d: date) -> DayStatus:
        """Say whether ``d`` is a working day and, if it is special, why."""
        try:
            return self._days[d]
        except KeyError:
            raise YearNotCovered(d.year, self.first_year, self.last_year) from None

    def is_working(self, d: date) -> bool:
        return self.day_status(d).working

    def year_days(self, year: int) -> list[DayStatus]:
        """The days worth printing for ``year``: every weekday that is off (holidays,
        compensatory and swapped days) and every working day that would otherwise be off
        (make-up Saturdays, cancelled holidays), in date order. A weekend day off is never
        listed, even inside a holiday block: it is off anyway."""
        if not self.first_year <= year <= self.last_year:
            raise YearNotCovered(year, self.first_year, self.last_year)
        return [
            status
            for d in _dates_of_year(year)
            if (status := self._days[d]).reason is not None
            and not (not status.working and _ordinary(d, self.saturday_is_workday).reason)
        ]

    # -- walking -------------------------------------------------------------------------

    def next_working_day(self, d: date) -> date:
        """The first working day strictly after ``d``."""
        return self.add_working_days(d, 1)

    def add_working_days(self, d: date, n: int) -> date:
        """The date ``n`` working days after ``d`` (before it if ``n`` is negative).

        ``d`` itself is never counted (a period starts the next day, Civil Code Art. 147),
        so ``add_working_days(friday, 1)`` is the next Monday; ``n == 0`` returns ``d``.
        """
        step = timedelta(days=1 if n >= 0 else -1)
        remaining = abs(n)
        current = d
        while remaining:
            current += step
            if self.day_status(current).working:
                remaining -= 1
        return current

    def working_days_before(
        self, meeting: date, n: int, convention: Convention = "strict"
    ) -> Countback:
        """The latest day to send a document so that it arrives N working days before a meeting.

        Both conventions walk back from the day before the meeting and count the first N
        working days met (Mon–Fri or a make-up Saturday, and not a holiday, compensatory or
        swapped day off); the meeting day itself never counts.

        * ``"strict"`` (default, conservative; Civil Code 2015 Art. 147: a period starts the
          day after the event): N whole working days must lie strictly between the send day
          and the meeting day, so the latest send day is the working day before the N-th
          counted day.
        * ``"loose"`` (domain.md §7 backward rule): the latest send day IS the N-th counted
          working day.

        Example, meeting Friday 18/12/2026, N = 3: counted Tue 15, Wed 16, Thu 17; strict
        send-by Mon 14/12, loose send-by Tue 15/12.
        """
        if n < 1:
            raise ValueError(f"n must be at least 1 working day, got {n}")
        if convention not in _CONVENTIONS:
            raise ValueError(f"unknown convention {convention!r}; use 'strict' or 'loose'")
        counted: list[date] = []
        skipped: list[DayStatus] = []
        current = meeting
        while True:
            current -= timedelta(days=1)
            status = self.day_status(current)
            if not status.working:
                skipped.append(status)
                continue
            if len(counted) == n:  # strict: this working day is the send day
                send_by = current
                break
            counted.append(current)
            if len(counted) == n and convention == "loose":
                send_by = current
                break
        counted.reverse()
        skipped.reverse()
        return Countback(send_by=send_by, counted=counted, skipped=skipped, convention=convention)


# --------------------------------------------------------------------------------------------
# Loading and building


_ENTRY_KEYS = {"date", "kind", "reason", "mon_fri_only"}


def _read_data(
    raw: dict[str, Any], path: Path
) -> tuple[int, int, bool, dict[date, _Override]]:
    def fail(message: str) -> CalendarDataError:
        return CalendarDataError(f"{path}: {message}")

    unknown = set(raw) - {"first_year", "last_year", "saturday_is_workday", "days"}
    if unknown:
        raise fail(f"unknown keys {sorted(unknown)}")
    first, last = raw.get("first_year"), raw.get("last_year")
    if not isinstance(first, int) or not isinstance(last, int) or first > last:
        raise fail("first_year and last_year must be integers with first_year <= last_year")
    saturday = raw.get("saturday_is_workday", False)
    if not isinstance(saturday, bool):
        raise fail("saturday_is_workday must be true or false")

    overrides: dict[date, _Override] = {}
    for i, entry in enumerate(raw.get("days", []), start=1):
        where = f"days entry {i}"
        if not isinstance(entry, dict) or set(entry) - _ENTRY_KEYS:
            raise fail(f"{where}: only the keys {sorted(_ENTRY_KEYS)} are allowed")
        day, kind, reason = entry.get("date"), entry.get("kind"), entry.get("reason")
        # tomllib gives datetime for "2026-01-01T00:00"; only a bare date is meant here.
        if not isinstance(day, date) or hasattr(day, "hour"):
            raise fail(f"{where}: date must be a bare TOML date like 2026-02-14")
        if kind not in ("off", "work"):
            raise fail(f"{where} ({day}): kind must be \"off\" or \"work\"")
        if not isinstance(reason, str) or not reason.strip():
            raise fail(f"{where} ({day}): reason must be a non-empty string")
        if not first <= day.year <= last:
            raise fail(f"{where} ({day}): outside first_year..last_year ({first}..{last})")
        if day in overrides:
            raise fail(f"{where} ({day}): the date is listed twice")
        mon_fri_only = entry.get("mon_fri_only", False)
        if not isinstance(mon_fri_only, bool):
            raise fail(f"{where} ({day}): mon_fri_only must be true or false")
        overrides[day] = _Override(
            day, kind, unicodedata.normalize("NFC", reason.strip()), mon_fri_only
        )
    return first, last, saturday, overrides


def _package_holidays(first: int, last: int, saturday_is_workday: bool) -> dict[date, str]:
    """Public holidays from the ``holidays`` package, named in Vietnamese.

    For the usual Monday–Friday week we keep the package's observed days (a holiday on a
    weekend moves to a nearby working day). For organisations working Saturdays we take the
    legal days only and apply Labour Code Art. 111 §3 ourselves: a holiday on the weekly rest
    day (Sunday) gives the next working day off.
    """
    years = range(first, last + 1)
    table = holidays.country_holidays(
        "VN", years=years, language="vi", observed=not saturday_is_workday
    )
    found = {d: _tidy_name(name) for d, name in table.items() if first <= d.year <= last}
    if saturday_is_workday:
        for d in sorted(found):
            if d.weekday() != _SUNDAY:
                continue
            substitute = d + timedelta(days=1)
            while substitute.weekday() == _SUNDAY or substitute in found:
                substitute += timedelta(days=1)
            if substitute.year <= last:
                found[substitute] = f"{found[d]} (nghỉ bù)"
    return found


def _tidy_name(name: str) -> str:
    # The package capitalises "Đán"; Vietnamese writing (and official texts) use "Nguyên đán".
    return unicodedata.normalize("NFC", name.replace("Nguyên Đán", "Nguyên đán"))


def _build_days(
    first: int, last: int, saturday_is_workday: bool, overrides: dict[date, _Override]
) -> dict[date, DayStatus]:
    package = _package_holidays(first, last, saturday_is_workday)
    days: dict[date, DayStatus] = {}
    for year in range(first, last + 1):
        for d in _dates_of_year(year):
            override = overrides.get(d)
            if override and override.mon_fri_only and saturday_is_workday:
                # A swap or block announced for the Mon–Fri week does not apply; the day
                # follows the ordinary rule, whatever the package says (its swap days too).
                days[d] = _ordinary(d, saturday_is_workday)
            elif override:
                days[d] = DayStatus(d, override.kind == "work", override.reason)
            elif d in package:
                days[d] = DayStatus(d, False, package[d])
            else:
                days[d] = _ordinary(d, saturday_is_workday)
    return days


def _ordinary(d: date, saturday_is_workday: bool) -> DayStatus:
    weekday = d.weekday()
    if weekday == _SUNDAY or (weekday == _SATURDAY and not saturday_is_workday):
        return DayStatus(d, False, WEEKDAYS_VI[weekday])
    return DayStatus(d, True, None)


def _dates_of_year(year: int) -> Iterator[date]:
    d = date(year, 1, 1)
    while d.year == year:
        yield d
        d += timedelta(days=1)


# --------------------------------------------------------------------------------------------
# Reading dates typed by people


def _fold(text: str) -> str:
    """Lower-case, strip diacritics, keep spaces: "Thứ Sáu" -> "thu sau"."""
    return " ".join(strip_marks(text).split())


_WEEKDAY_WORDS = {"hai": 0, "ba": 1, "tu": 2, "bon": 2, "nam": 3, "sau": 4, "bay": 5}
_WD = r"(?P<wd>thu\s?(?:[2-7]|hai|ba|tu|bon|nam|sau|bay)|th?\s?[2-7]|cn|chu\s?nhat)"
_DATE_FORMS = (
    r"(?P<iy>\d{4})\s?-\s?(?P<im>\d{1,2})\s?-\s?(?P<id>\d{1,2})",
    r"(?P<d>\d{1,2})\s?(?P<sep>[/.\-])\s?(?P<m>\d{1,2})(?:\s?(?P=sep)\s?(?P<y>\d{4}|\d{2}))?",
    r"(?P<wdd>\d{1,2})\s?thang\s?(?P<wdm>\d{1,2})(?:\s?,?\s?(?:nam\s?)(?P<wdy>\d{4}))?",
)
_DATE_RE = re.compile(
    rf"^(?:{_WD}\s?[,:\-]?\s?)?(?:ngay\s?)?(?:{'|'.join(_DATE_FORMS)})\s?[.,]?$"
)
_EXAMPLE = "18/12/2026"


def _weekday_index(token: str) -> int:
    token = token.replace(" ", "")
    if token in ("cn", "chunhat"):
        return _SUNDAY
    rest = token
    for prefix in ("thu", "th", "t"):
        if token.startswith(prefix):
            rest = token[len(prefix) :]
            break
    if rest.isdigit():
        return int(rest) - 2  # "thứ 2" is Monday
    return _WEEKDAY_WORDS[rest]


def parse_vn_date(text: str, today: date) -> date:
    """Read a date as Vietnamese people type it.

    Accepts "20/12/2026", "20-12-2026", "20.12.2026", "2026-12-20", "ngày 20 tháng 12 năm
    2026", optionally preceded by a weekday ("thứ Sáu", "Thứ 6,", "T6", "CN"). Without a year
    ("20/12") it means the next such date on or after ``today``. A weekday that does not match
    the date, an impossible date or unreadable text raise DateParseError with a message saying
    what to fix.
    """
    original = unicodedata.normalize("NFC", text).strip()
    match = _DATE_RE.match(_fold(original))
    if not match:
        raise DateParseError(
            f"Xin lỗi, tôi chưa đọc được ngày «{original}». "
            f"Xin nhập theo dạng ngày/tháng/năm, ví dụ: {_EXAMPLE}.",
            problem="unreadable",
            text=original,
        )
    g = match.groupdict()
    year: int | None
    if g["iy"]:
        day, month, year = int(g["id"]), int(g["im"]), int(g["iy"])
    elif g["d"]:
        day, month = int(g["d"]), int(g["m"])
        year = None if g["y"] is None else int(g["y"]) + (2000 if len(g["y"]) == 2 else 0)
    else:
        day, month = int(g["wdd"]), int(g["wdm"])
        year = None if g["wdy"] is None else int(g["wdy"])

    parsed = _make_date(day, month, year, today, original)
    if g["wd"]:
        given = _weekday_index(g["wd"])
        actual = parsed.weekday()
        if given != actual:
            raise DateParseError(
                f"Ngày {parsed:%d/%m/%Y} là {WEEKDAYS_VI[actual]}, không phải "
                f"{WEEKDAYS_VI[given]}. Xin kiểm tra lại ngày hoặc thứ.",
                problem="weekday_mismatch",
                text=original,
                parsed=parsed,
                given_weekday=given,
                actual_weekday=actual,
            )
    return parsed


def _make_date(day: int, month: int, year: int | None, today: date, original: str) -> date:
    def invalid(shown: str) -> DateParseError:
        return DateParseError(
            f"Xin lỗi, ngày {shown} không có trong lịch. "
            f"Xin kiểm tra lại, ví dụ: {_EXAMPLE}.",
            problem="invalid",
            text=original,
        )

    if year is not None:
        try:
            return date(year, month, day)
        except ValueError:
            raise invalid(f"{day}/{month}/{year}") from None
    # No year: the next such date on or after today (29/2 may be up to 8 years away).
    for candidate_year in range(today.year, today.year + 9):
        try:
            candidate = date(candidate_year, month, day)
        except ValueError:
            continue
        if candidate >= today:
            return candidate
    raise invalid(f"{day}/{month}")


# --------------------------------------------------------------------------------------------
# Template contexts for the operator's command line


def calendar_year_context(cal: WorkCalendar, year: int) -> dict[str, Any]:
    """Context for ``cli/calendar_year.txt.j2`` (needs the ``vn_date`` filter)."""
    return {
        "year": year,
        "days": cal.year_days(year),
        "saturday_is_workday": cal.saturday_is_workday,
    }


def workdays_before_context(
    cal: WorkCalendar, meeting: date, n: int, convention: Convention = "strict"
) -> dict[str, Any]:
    """Context for ``cli/workdays_before.txt.j2`` (needs the ``vn_date`` filter)."""
    return {
        "meeting": meeting,
        "meeting_status": cal.day_status(meeting),
        "n": n,
        "countback": cal.working_days_before(meeting, n, convention),
    }
