"""The ``tusoi`` command: run the bot, and the operator's commands to stand up a cell.

``tusoi`` alone runs the Telegram bot when a token is configured and the console demo
otherwise. Every other sub-command works on the same database without any chat.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import logging
import sys
from collections.abc import Awaitable, Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any, cast

from bot.checklist import PackError, check_pack_file
from bot.config import ConfigError, Settings, load_settings
from bot.deadlines import DeadlineProblem, RoundDeadlines, compute_deadlines
from bot.invites import hash_code, new_code
from bot.models import Role
from bot.reminders import local_day
from bot.workdays import (
    Convention,
    DateParseError, YearNotCovered, calendar_year_context, workdays_before_context,
    parse_vn_date,
)
from handlers.wiring import Core, build_core

log = logging.getLogger("tusoi")

ROSTER_COLUMNS = {
    "họ và tên": "full_name", "ngày sinh": "birth_date", "chức vụ đảng": "party_post",
    "chức vụ chính quyền": "gov_post", "chức vụ đoàn thể": "mass_post",
    "đơn vị công tác": "work_unit", "lãnh đạo": "is_leader",
}
YES = {"có", "co", "x", "1", "yes", "true"}


def say(core: Core, template: str, **context: Any) -> None:
    print(core.renderer.render_text(f"cli/{template}", context), end="")


# ----------------------------------------------------------------- commands


async def cmd_db_init(core: Core, args: argparse.Namespace) -> None:
    say(core, "db_ready", path=str(core.db.path.resolve()), version=await core.db.schema_version())


async def cmd_cell_add(core: Core, args: argparse.Namespace) -> None:
    async with core.store.transaction():
        cell_id = await core.store.add_cell(args.name, args.committee, args.place, core.clock.now())
    say(core, "cell_added", id=cell_id, name=args.name)


async def cmd_cell_list(core: Core, args: argparse.Namespace) -> None:
    say(core, "cell_list", cells=await core.store.cells())


def _role(args: argparse.Namespace) -> Role:
    return Role.SECRETARY if args.secretary else Role.DEPUTY if args.deputy else Role.MEMBER


async def cmd_member_add(core: Core, args: argparse.Namespace) -> None:
    await _require_cell(core, args.cell)
    async with core.store.transaction():
        member_id = await core.store.add_member(
            args.cell, args.name, core.clock.now(), birth_date=args.birth_date,
            party_post=args.party_post, gov_post=args.gov_post, mass_post=args.mass_post,
            work_unit=args.work_unit, is_leader=args.leader, role=_role(args),
        )
    say(core, "member_added", id=member_id, name=args.name)


async def cmd_member_list(core: Core, args: argparse.Namespace) -> None:
    await _require_cell(core, args.cell)
    say(core, "member_list", members=await core.store.members(args.cell))


async def cmd_member_remove(core: Core, args: argparse.Namespace) -> None:
    member = await core.store.member(args.member)
    if member is None:
        raise OperatorError("no_member", id=args.member)
    async with core.store.transaction():
        await core.store.deactivate_member(args.member)
    say(core, "member_removed", name=member.full_name)


def read_roster(path: Path) -> list[dict[str, Any]]:
    """Rows of a UTF-8 (with or without BOM) CSV roster, keyed by our field names."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        header = {h: ROSTER_COLUMNS.get(" ".join(h.lower().split())) for h in reader.fieldnames or []}
        if "full_name" not in header.values():
            raise OperatorError("roster_no_name", columns=list(ROSTER_COLUMNS))
        rows = []
        for raw in reader:
            row = {field: (raw[h] or "").strip() for h, field in header.items() if field}
            if not row.get("full_name"):
                continue
            row["is_leader"] = row.get("is_leader", "").lower() in YES
            rows.append({k: (v if v != "" else None) for k, v in row.items()})
        return rows


async def cmd_roster_import(core: Core, args: argparse.Namespace) -> None:
    await _require_cell(core, args.cell)
    rows = read_roster(Path(args.file))
    now = core.clock.now()
    async with core.store.transaction():  # all rows or none
        ids = [await core.store.add_member(args.cell, now=now, **row) for row in rows]
    say(core, "roster_imported", count=len(ids), first=ids[0] if ids else None)


async def cmd_invite(core: Core, args: argparse.Namespace) -> None:
    member = await core.store.member(args.member)
    if member is None or not member.active:
        raise OperatorError("no_member", id=args.member)
    code, now = new_code(), core.clock.now()
    expires = now + timedelta(hours=core.settings.invites.ttl_hours)
    async with core.store.transaction():
        await core.store.add_invite(member.id, hash_code(code), now, expires)
    username = core.settings.telegram.bot_username
    link = f"https://t.me/{username}?start={code}" if username else None
    say(core, "invite", name=member.full_name, code=code, link=link, expires=expires)


async def cmd_round_open(core: Core, args: argparse.Namespace) -> None:
    await _require_cell(core, args.cell)
    if args.form is not None and args.form not in core.service.forms:
        raise OperatorError("no_form", form=args.form, known=sorted(core.service.forms))
    deadlines = _deadlines(core, parse_vn_date(args.meeting, local_day(core.clock.now())))
    meeting = deadlines.meeting
    year = args.year or meeting.year
    title = args.title or core.renderer.render_text("cli/round_title", {"year": year}).strip()
    if await core.store.open_round(args.cell) is not None:
        raise OperatorError("round_already_open", cell=args.cell)
    async with core.store.transaction():
        round_id = await core.store.add_round(
            args.cell, year, title, meeting, deadlines.member_due, core.clock.now(), args.form
        )
    planned = await core.replan(round_id)
    say(core, "round_opened", id=round_id, title=title, deadlines=deadlines, planned=planned)


async def cmd_round_move(core: Core, args: argparse.Namespace) -> None:
    """A new meeting date: new deadlines, and every unsent reminder planned again."""
    round_ = await core.store.open_round(args.cell)
    if round_ is None:
        raise OperatorError("no_open_round", cell=args.cell)
    deadlines = _deadlines(core, parse_vn_date(args.meeting, local_day(core.clock.now())))
    async with core.store.transaction():
        await core.reminders.move_round(round_.id, deadlines.meeting, deadlines.member_due)
    planned = await core.replan(round_.id)
    say(core, "round_moved", title=round_.title, deadlines=deadlines, planned=planned,
        before=round_.meeting_date)


def _deadlines(core: Core, meeting: date) -> RoundDeadlines:
    calendar = core.settings.calendar
    return compute_deadlines(
        core.calendar, meeting, local_day(core.clock.now()), member_lead=calendar.member_lead_days,
        collective_lead=calendar.collective_lead_days,
        convention=calendar.convention,  # type: ignore[arg-type]
    )


async def cmd_round_close(core: Core, args: argparse.Namespace) -> None:
    round_ = await core.store.open_round(args.cell)
    if round_ is None:
        raise OperatorError("no_open_round", cell=args.cell)
    async with core.store.transaction():
        await core.store.close_round(round_.id)
    await core.replan(round_.id)  # a closed round keeps no unsent reminder
    say(core, "round_closed", title=round_.title)


async def _require_cell(core: Core, cell_id: int) -> None:
    if await core.store.cell(cell_id) is None:
        raise OperatorError("no_cell", id=cell_id)


class OperatorError(Exception):
    """A mistake in an operator command, shown through ``templates/messages/cli/error``."""

    def __init__(self, kind: str, **context: Any) -> None:
        super().__init__(kind)
        self.kind, self.context = kind, context


# ----------------------------------------------------------------- commands without a database


def cmd_checklist_check(settings: Settings, args: argparse.Namespace) -> int:
    from handlers.render import Renderer

    report = check_pack_file(Path(args.file))
    print(Renderer().render_text("cli/checklist_check", {"report": report}), end="")
    return 1 if report.problems else 0


def cmd_calendar(settings: Settings, args: argparse.Namespace) -> int:
    from bot.workdays import WorkCalendar
    from handlers.render import Renderer

    calendar = WorkCalendar.load(settings.data_path(settings.calendar.file),
                                 saturday_is_workday=settings.calendar.saturday_is_workday)
    renderer = Renderer()
    if args.calendar_command == "year":
        context = calendar_year_context(calendar, args.year)
        print(renderer.render_text("cli/calendar_year", context), end="")
    else:
        meeting = parse_vn_date(args.date, date.today())
        convention = args.convention or settings.calendar.convention
        context = workdays_before_context(calendar, meeting, args.days,
                                          cast(Convention, convention))
        print(renderer.render_text("cli/workdays_before", context), end="")
    return 0


# ----------------------------------------------------------------- parser


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="tusoi", description="tusoi: tự soi, tự sửa")
    p.add_argument("--config", type=Path, help="TOML settings file (default: ./tusoi.toml if present)")
    sub = p.add_subparsers(dest="command")
    sub.add_parser("run", help="run the bot: Telegram if a token is set, else the console")
    sub.add_parser("console", help="run the review in this terminal, offline")
    sub.add_parser("telegram", help="run the Telegram bot (long polling)")
    db = sub.add_parser("db", help="database").add_subparsers(dest="db_command", required=True)
    db.add_parser("init", help="create the database and apply migrations")

    cell = sub.add_parser("cell", help="party cells").add_subparsers(dest="cell_command", required=True)
    add = cell.add_parser("add", help="add a cell")
    add.add_argument("--name", required=True, help='cell name without "Chi bộ"')
    add.add_argument("--committee", default="", help='đảng bộ name without "Đảng bộ"')
    add.add_argument("--place", default="", help="place written on the date line")
    cell.add_parser("list", help="list cells")

    member = sub.add_parser("member", help="members").add_subparsers(dest="member_command", required=True)
    madd = member.add_parser("add", help="add a member")
    madd.add_argument("--cell", type=int, required=True)
    madd.add_argument("--name", required=True)
    madd.add_argument("--birth-date")
    madd.add_argument("--party-post")
    madd.add_argument("--gov-post")
    madd.add_argument("--mass-post")
    madd.add_argument("--work-unit")
    madd.add_argument("--leader", action="store_true", help="holds a leadership/management post")
    role = madd.add_mutually_exclusive_group()
    role.add_argument("--secretary", action="store_true", help="cell secretary (receives drafts)")
    role.add_argument("--deputy", action="store_true", help="deputy secretary (receives drafts)")
    mlist = member.add_parser("list", help="list a cell's members")
    mlist.add_argument("--cell", type=int, required=True)
    mremove = member.add_parser("remove", help="remove a member (answers are kept)")
    mremove.add_argument("member", type=int)

    roster = sub.add_parser("roster", help="rosters").add_subparsers(dest="roster_command", required=True)
    rimport = roster.add_parser("import", help="import members from a CSV file")
    rimport.add_argument("--cell", type=int, required=True)
    rimport.add_argument("file")

    invite = sub.add_parser("invite", help="issue a one-time invite code and link for a member")
    invite.add_argument("--member", type=int, required=True)

    rnd = sub.add_parser("round", help="review rounds").add_subparsers(dest="round_command", required=True)
    ropen = rnd.add_parser("open", help="open a review round")
    ropen.add_argument("--cell", type=int, required=True)
    ropen.add_argument("--meeting", required=True, help="meeting date, e.g. 18/12/2026")
    ropen.add_argument("--year", type=int, help="year under review (default: the meeting's)")
    ropen.add_argument("--title")
    ropen.add_argument("--form", help="form pack id (default: review.form); see review.other_forms")
    rmove = rnd.add_parser("move", help="move the meeting of the cell's open round; "
                           "deadlines and reminders are planned again")
    rmove.add_argument("--cell", type=int, required=True)
    rmove.add_argument("--meeting", required=True, help="new meeting date, e.g. 21/12/2026")
    rclose = rnd.add_parser("close", help="close the cell's open round")
    rclose.add_argument("--cell", type=int, required=True)

    checklist = sub.add_parser("checklist", help="checklist packs").add_subparsers(
        dest="checklist_command", required=True)
    check = checklist.add_parser("check", help="validate a checklist or form pack")
    check.add_argument("file")

    cal = sub.add_parser("calendar", help="working-day calendar").add_subparsers(
        dest="calendar_command", required=True)
    year = cal.add_parser("year", help="a year's days off and make-up working days")
    year.add_argument("year", type=int)
    before = cal.add_parser("before", help="the latest day that is N working days before a date")
    before.add_argument("date")
    before.add_argument("--days", type=int, default=3)
    before.add_argument("--convention", choices=("strict", "loose"))
    return p


COMMANDS: dict[tuple[str, str | None], Callable[[Core, argparse.Namespace], Awaitable[None]]] = {
    ("db", "init"): cmd_db_init,
    ("cell", "add"): cmd_cell_add,
    ("cell", "list"): cmd_cell_list,
    ("member", "add"): cmd_member_add,
    ("member", "list"): cmd_member_list,
    ("member", "remove"): cmd_member_remove,
    ("roster", "import"): cmd_roster_import,
    ("invite", None): cmd_invite,
    ("round", "open"): cmd_round_open,
    ("round", "move"): cmd_round_move,
    ("round", "close"): cmd_round_close,
}


async def _operate(core: Core, args: argparse.Namespace) -> None:
    key = (args.command, getattr(args, f"{args.command}_command", None))
    await core.open()
    try:
        await COMMANDS[key](core, args)
    finally:
        await core.close()


def configure_logging(level: str) -> None:
    """Our own loggers at ``level``; libraries never below the point where they would print
    secrets: httpx logs URLs (they contain the bot token); PTB at DEBUG logs every Bot API
    call's parameters and aiosqlite every statement's, and both contain what members wrote."""
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for name, floor in (("httpx", logging.WARNING), ("httpcore", logging.WARNING),
                        ("telegram", logging.INFO), ("apscheduler", logging.INFO),
                        ("aiosqlite", logging.INFO)):
        library = logging.getLogger(name)
        library.setLevel(max(floor, logging.getLogger().getEffectiveLevel()))


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    config = args.config or (Path("tusoi.toml") if Path("tusoi.toml").is_file() else None)
    try:
        settings = load_settings(config)
    except ConfigError as exc:
        print(f"tusoi: configuration error: {exc}", file=sys.stderr)
        return 2
    configure_logging(settings.logging.level)
    command = args.command or "run"
    try:
        if command == "checklist":
            return cmd_checklist_check(settings, args)
        if command == "calendar":
            return cmd_calendar(settings, args)
        core = build_core(settings)
        if command == "console" or (command == "run" and not settings.telegram.token):
            from handlers.console import run_console

            asyncio.run(run_console(core))
        elif command in ("run", "telegram"):
            from handlers.tg.app import run_polling

            run_polling(core)
        else:
            asyncio.run(_operate(core, args))
    except PackError as exc:
        print(f"tusoi: checklist pack error:\n{exc}", file=sys.stderr)
        return 2
    except DeadlineProblem as exc:
        from handlers.render import Renderer

        print(Renderer().render_text("cli/deadline_problem", {"problem": exc,
                                                             "kind": type(exc).__name__}),
              end="", file=sys.stderr)
        return 2
    except (OSError, ValueError, YearNotCovered, DateParseError) as exc:
        print(f"tusoi: {exc}", file=sys.stderr)
        return 2
    except OperatorError as exc:
        from handlers.render import Renderer

        print(Renderer().render_text("cli/error", {"kind": exc.kind, **exc.context}),
              end="", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
