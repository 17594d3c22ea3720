"""The ``tusoi`` command: run the bot, and the operator's commands to stand up a cell.

``tusoi`` alone runs the Telegram bot when a token is configured and the console demo
otherwise (on the demo's own database). Every other sub-command works on the configured
database without any chat, through the same operations the secretary's desk uses
(``bot.operations``). Help, messages and errors are Vietnamese, from ``templates/``.

Imports are lazy: ``tusoi --help`` reads one small TOML file and nothing else.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tomllib
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from bot.config import ROOT, TOKEN_ENV, ConfigError, Settings, load_settings

if TYPE_CHECKING:
    import asyncio

    from handlers.render import Renderer
    from handlers.wiring import Core

log = logging.getLogger("tusoi")

EXIT_OK, EXIT_REFUSED, EXIT_BAD_INPUT, EXIT_INTERRUPTED = 0, 1, 2, 130


def _words() -> dict[str, Any]:
    return tomllib.loads((ROOT / "templates" / "cli.toml").read_text(encoding="utf-8"))


class Refusal(Exception):
    """Stop with a message from ``templates/messages/cli/error.txt.j2`` and an exit code."""

    def __init__(self, kind: str, code: int = EXIT_REFUSED, **context: Any) -> None:
        super().__init__(kind)
        self.kind, self.code, self.context = kind, code, context


def _renderer() -> Renderer:
    from handlers.render import Renderer

    return Renderer()


def say(renderer: Renderer, template: str, **context: Any) -> None:
    print(renderer.render_text(f"cli/{template}", context), end="")


def complain(renderer: Renderer, template: str, **context: Any) -> None:
    print(renderer.render_text(f"cli/{template}", context), end="", file=sys.stderr)


# ----------------------------------------------------------------- commands on the database


async def cmd_db_init(core: Core, args: argparse.Namespace) -> None:
    say(core.renderer, "db_ready", path=core.db.describe(),
        version=await core.db.schema_version())


async def cmd_cell_add(core: Core, args: argparse.Namespace) -> None:
    async with core.store.transaction():
        added = await core.operations.add_cell(args.name, args.committee, args.place)
    say(core.renderer, "cell_added", cell=added)


async def cmd_cell_list(core: Core, args: argparse.Namespace) -> None:
    say(core.renderer, "cell_list", cells=await core.store.cells())


async def cmd_member_add(core: Core, args: argparse.Namespace) -> None:
    from bot.models import Role

    role = Role.SECRETARY if args.secretary else Role.DEPUTY if args.deputy else Role.MEMBER
    async with core.store.transaction():
        member_id = await core.operations.add_member(
            args.cell, args.name, birth_date=args.birth_date, party_post=args.party_post,
            gov_post=args.gov_post, mass_post=args.mass_post, work_unit=args.work_unit,
            is_leader=args.leader, role=role, category=args.category, joined_on=args.joined_on,
            standing=args.standing,
        )
    member = await core.store.member(member_id)
    say(core.renderer, "member_added", id=member_id, member=member)


async def cmd_member_list(core: Core, args: argparse.Namespace) -> None:
    await core.operations.cell(args.cell)
    say(core.renderer, "member_list", members=await core.store.members(args.cell))


async def cmd_member_remove(core: Core, args: argparse.Namespace) -> None:
    async with core.store.transaction():
        member = await core.operations.remove_member(args.member, None)
    say(core.renderer, "member_removed", name=member.full_name)


async def cmd_roster_import(core: Core, args: argparse.Namespace) -> None:
    """Preview, then import in one transaction: all rows or none. The bot's own upload
    parser reads the file (any Excel CSV encoding, XLSX)."""
    from bot.bundle import load_texts
    from bot.roster import describe_file_problem, describe_problem

    path = Path(args.file)
    try:
        content = path.read_bytes()
    except OSError as exc:
        raise Refusal("file_unreadable", EXIT_BAD_INPUT, path=str(path),
                      reason=exc.strerror or type(exc).__name__) from None
    texts = load_texts()
    ops = core.operations
    async with core.store.transaction():
        await ops.cell(args.cell)
        preview = ops.read_roster(path.name, content)
        reason = describe_file_problem(preview, texts)
        if reason is not None or not preview.rows:
            raise Refusal("roster_refused", path=str(path),
                          reason=reason or texts["roster"]["file_problems"]["no_rows"])
        plan = await ops.plan_roster(args.cell, preview)
        problems = [describe_problem(p, texts) for p in preview.problems]
        say(core.renderer, "roster_preview", path=str(path), plan=plan, problems=problems,
            warnings=[describe_problem(w, texts) for w in preview.warnings])
        if args.preview:
            return
        if problems and not args.skip_bad_rows:
            raise Refusal("roster_has_problems", count=len(problems), path=str(path),
                          cell=args.cell)
        result = await ops.import_roster(args.cell, plan, None)
        moved = await ops.move_cell(args.cell, args.committee) if args.committee else None
    say(core.renderer, "roster_imported", result=result)
    if moved is not None:
        say(core.renderer, "cell_moved", cell=moved[0], committee=moved[1].committee,
            created=moved[1].created)


async def cmd_invite(core: Core, args: argparse.Namespace) -> None:
    async with core.store.transaction():
        member = await core.operations.active_member(args.member)
        if args.revoke:
            await core.operations.revoke_invites(member)
            invite = None
        else:
            invite = await core.operations.issue_invite(member)
    if invite is None:
        say(core.renderer, "invite_revoked", name=member.full_name)
    else:
        say(core.renderer, "invite", **invite.context())


def _meeting(core: Core, text: str) -> Any:
    from bot.workdays import parse_vn_date

    return parse_vn_date(text, core.operations.today())


async def cmd_round_open(core: Core, args: argparse.Namespace) -> None:
    meeting = _meeting(core, args.meeting)
    async with core.store.transaction():
        change = await core.operations.open_round(args.cell, meeting, year=args.year,
                                                  title=args.title, form=args.form)
    planned = await core.replan(change.round.id)
    say(core.renderer, "round_opened", round=change.round, deadlines=change.deadlines,
        planned=planned, year_given=args.year is not None)
    _warn_late(core, change.round.meeting_date, change.round.year)


async def cmd_round_move(core: Core, args: argparse.Namespace) -> None:
    """A new meeting date: new deadlines, and every unsent reminder planned again."""
    meeting = _meeting(core, args.meeting)
    async with core.store.transaction():
        change = await core.operations.move_round(args.cell, meeting)
    planned = await core.replan(change.round.id)
    say(core.renderer, "round_moved", title=change.round.title, deadlines=change.deadlines,
        planned=planned, before=change.before)
    _warn_late(core, change.deadlines.meeting, change.round.year)


def _warn_late(core: Core, meeting: Any, review_year: int) -> None:
    """43-HD 4.1: the review ends before the year-end deadline; warn, never refuse."""
    from bot.deadlines import late_meeting

    late = late_meeting(meeting, review_year, core.settings.calendar.year_end_deadline)
    if late is not None:
        say(core.renderer, "late_meeting", late=late)


async def cmd_round_close(core: Core, args: argparse.Namespace) -> None:
    async with core.store.transaction():
        round_ = await core.operations.close_round(args.cell)
    await core.replan(round_.id)  # a closed round keeps no unsent reminder
    say(core.renderer, "round_closed", title=round_.title)


# ----------------------------------------------------------------- committees


async def cmd_committee_add(core: Core, args: argparse.Namespace) -> None:
    async with core.store.transaction():
        found = await core.operations.add_committee(args.name)
    say(core.renderer, "committee_added", committee=found.committee, dropped=found.dropped)


async def cmd_committee_list(core: Core, args: argparse.Namespace) -> None:
    listed = [(c, await core.store.committee_cells(c.id),
               await core.store.committee_officers(c.id))
              for c in await core.store.committees()]
    say(core.renderer, "committee_list", committees=listed)


async def cmd_committee_officer(core: Core, args: argparse.Namespace) -> None:
    change = core.operations.revoke_officer if args.remove else core.operations.grant_officer
    async with core.store.transaction():
        committee, member, changed = await change(args.committee, args.member, None)
    say(core.renderer, "committee_officer", committee=committee, member=member,
        changed=changed, removed=args.remove)


async def cmd_cell_move(core: Core, args: argparse.Namespace) -> None:
    async with core.store.transaction():
        cell, found = await core.operations.move_cell(args.cell, args.committee)
    say(core.renderer, "cell_moved", cell=cell, committee=found.committee, created=found.created)


# ----------------------------------------------------------------- retention


async def cmd_round_list(core: Core, args: argparse.Namespace) -> None:
    await core.operations.cell(args.cell)
    say(core.renderer, "round_list", rounds=await core.store.rounds_of(args.cell))


async def cmd_round_export(core: Core, args: argparse.Namespace) -> None:
    """The round's archive written to a new private file; the round is marked exported only
    if the file was written."""
    out = Path(args.out)
    if out.exists():
        raise Refusal("backup_exists", path=str(out))
    async with core.store.transaction():
        export = await core.retention.export(args.round)
        try:
            fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except OSError as exc:
            raise Refusal("os_error", path=str(out), reason=exc.strerror) from exc
        with os.fdopen(fd, "wb") as file:
            file.write(export.content)
            file.flush()
            os.fsync(file.fileno())
    say(core.renderer, "round_exported", export=export, path=str(out),
        days=core.settings.retention.days)


async def cmd_round_purge(core: Core, args: argparse.Namespace) -> None:
    if args.dry_run:
        plan = await core.retention.plan(args.round)
        say(core.renderer, "purge_plan", plan=plan, days=core.settings.retention.days)
        return
    plan = await core.retention.purge(args.round)
    say(core.renderer, "purged", plan=plan)


COMMANDS: dict[tuple[str, str | None], Callable[[Core, argparse.Namespace], Awaitable[None]]] = {
    ("db", "init"): cmd_db_init,
    ("cell", "add"): cmd_cell_add,
    ("cell", "list"): cmd_cell_list,
    ("cell", "move"): cmd_cell_move,
    ("committee", "add"): cmd_committee_add,
    ("committee", "list"): cmd_committee_list,
    ("committee", "officer"): cmd_committee_officer,
    ("member", "add"): cmd_member_add,
    ("member", "list"): cmd_member_list,
    ("member", "remove"): cmd_member_remove,
    ("roster", "import"): cmd_roster_import,
    ("invite", None): cmd_invite,
    ("round", "open"): cmd_round_open,
    ("round", "move"): cmd_round_move,
    ("round", "close"): cmd_round_close,
    ("round", "list"): cmd_round_list,
    ("round", "export"): cmd_round_export,
    ("round", "purge"): cmd_round_purge,
}


async def _operate(core: Core, args: argparse.Namespace) -> None:
    key = (args.command, getattr(args, f"{args.command}_command", None))
    await core.open()
    try:
        await COMMANDS[key](core, args)
    finally:
        await core.close()


# ----------------------------------------------------------------- commands without a chat


def _sqlite_only(settings: Settings, command: str) -> None:
    from storage.engine import is_postgres

    if is_postgres(settings.storage.url):
        raise Refusal("postgres_backup", command=command)


def cmd_backup(settings: Settings, args: argparse.Namespace) -> int:
    from storage.backup import backup

    _sqlite_only(settings, "backup")
    report = backup(Path(settings.database.path), Path(args.file))
    say(_renderer(), "backup_done", report=report)
    return EXIT_OK


def cmd_restore(settings: Settings, args: argparse.Namespace) -> int:
    from storage.backup import restore

    _sqlite_only(settings, "restore")
    if not args.yes:
        raise Refusal("restore_needs_yes", path=settings.database.path, file=args.file)
    report = restore(Path(args.file), Path(settings.database.path))
    say(_renderer(), "restore_done", report=report)
    return EXIT_OK


def cmd_checklist_check(settings: Settings, args: argparse.Namespace) -> int:
    from bot.checklist import check_pack_file

    report = check_pack_file(Path(args.file))
    say(_renderer(), "checklist_check", report=report)
    return EXIT_REFUSED if report.problems else EXIT_OK


def cmd_calendar(settings: Settings, args: argparse.Namespace) -> int:
    from datetime import date

    from bot.workdays import (
        Convention, WorkCalendar, calendar_year_context, parse_vn_date, workdays_before_context,
    )

    calendar = WorkCalendar.load(settings.data_path(settings.calendar.file),
                                 saturday_is_workday=settings.calendar.saturday_is_workday)
    renderer = _renderer()
    if args.calendar_command == "year":
        say(renderer, "calendar_year", **calendar_year_context(calendar, args.year))
    else:
        meeting = parse_vn_date(args.date, date.today())
        convention = cast(Convention, args.convention or settings.calendar.convention)
        say(renderer, "workdays_before",
            **workdays_before_context(calendar, meeting, args.days, convention))
    return EXIT_OK


def run_console(settings: Settings, config: Path | None, announce: bool) -> int:
    """The console demo, on its own database (``console.database``), never the real one."""
    import asyncio
    import dataclasses

    from bot.config import DatabaseSettings, StorageSettings
    from handlers.console import run_console as console
    from handlers.wiring import build_core

    demo = dataclasses.replace(settings, database=DatabaseSettings(
        path=settings.console.database, durable=settings.database.durable),
        storage=StorageSettings())  # never the configured PostgreSQL either
    if Path(demo.database.path).resolve() == Path(settings.database.path).resolve():
        raise ConfigError("demo_is_real", source=str(config or ""), key="console.database",
                          path=settings.database.path)
    core = build_core(demo)
    if announce:
        complain(core.renderer, "console_no_token", config=str(config) if config else None,
                 env=TOKEN_ENV, database=str(Path(demo.database.path).resolve()))
    asyncio.run(console(core))
    return EXIT_OK


def run_bot(settings: Settings) -> int:
    """Every configured channel (Telegram, Zalo and its web app) in one process."""
    from handlers.run import serve
    from handlers.wiring import build_core

    core = build_core(settings)
    _until_signal(lambda stop: serve(core, stop))
    return EXIT_OK


def cmd_zalo_webhook(settings: Settings, config: Path | None, args: argparse.Namespace) -> int:
    """``tusoi zalo webhook set|delete|info``: the operator registers, removes or reads Zalo's
    webhook (the bot never does it by itself). The secret is sent, never printed."""
    import asyncio

    from handlers.zalo.api import ZaloApi

    zalo = settings.zalo
    source = str(config or "")
    if not zalo.token:
        raise ConfigError("no_zalo_token", source=source, key="zalo.token")
    url = f"{zalo.public_base_url.rstrip('/')}/zalo/webhook"
    if args.action == "set":
        for key in ("public_base_url", "webhook_secret"):
            if not getattr(zalo, key):
                raise ConfigError("zalo_webhook_needs", source=source, key=f"zalo.{key}")

    async def call() -> dict[str, Any] | None:
        api = ZaloApi(zalo.token, zalo.base_url)
        try:
            if args.action == "set":
                return await api.set_webhook(url, zalo.webhook_secret)
            if args.action == "delete":
                return await api.delete_webhook()
            return await api.get_webhook_info()
        finally:
            await api.close()

    result = asyncio.run(call())
    say(_renderer(), "zalo_webhook", action=args.action, result=result, url=url,
        mode=zalo.mode, updated=_from_ms((result or {}).get("updated_at")))
    return EXIT_OK


def _from_ms(value: Any) -> Any:
    """Zalo's timestamps (milliseconds since 1970) as an aware datetime, or None."""
    from datetime import UTC, datetime

    if not isinstance(value, int | float) or isinstance(value, bool) or value <= 0:
        return None
    return datetime.fromtimestamp(value / 1000, UTC)


def run_telegram(settings: Settings, config: Path | None) -> int:
    from handlers.tg.app import build_application, serve
    from handlers.wiring import build_core

    if not settings.telegram.token:
        raise ConfigError("no_token", source=str(config or ""), key="telegram.token")
    app = build_application(build_core(settings))
    _until_signal(lambda stop: serve(app, stop))
    return EXIT_OK


def _postgres_core(settings: Settings, config: Path | None) -> Core:
    from handlers.wiring import build_core
    from storage.engine import is_postgres

    if not is_postgres(settings.storage.url):
        raise ConfigError("needs_postgres", source=str(config or ""), key="storage.url")
    return build_core(settings)


def _until_signal(work: Callable[[asyncio.Event], Awaitable[object]]) -> None:
    """Run ``work(stop)`` until SIGINT or SIGTERM sets ``stop``."""
    import asyncio
    import signal

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await work(stop)

    asyncio.run(main())


def run_ingress(settings: Settings, config: Path | None) -> int:
    """``tusoi ingress``: the webhook (Telegram posts here) writing to the inbox."""
    from handlers.web import serve_ingress

    core = _postgres_core(settings, config)
    _until_signal(lambda stop: serve_ingress(core, stop))
    return EXIT_OK


def run_worker(settings: Settings, config: Path | None, args: argparse.Namespace) -> int:
    """``tusoi worker --id N``: handle updates from the inbox; the leader also sends."""
    from handlers.worker import run_worker as work

    if not settings.telegram.token:
        raise ConfigError("no_token", source=str(config or ""), key="telegram.token")
    core = _postgres_core(settings, config)
    _until_signal(lambda stop: work(core, stop, worker_id=args.id, slots=args.slots))
    return EXIT_OK


# ----------------------------------------------------------------- parser


def _positive(words: dict[str, Any]) -> Callable[[str], int]:
    def positive(text: str) -> int:
        if not (text.isascii() and text.isdigit()) or int(text) < 1:
            raise argparse.ArgumentTypeError(words["help"]["not_a_number"] % text)
        return int(text)

    return positive


@contextmanager
def vietnamese_argparse(words: dict[str, Any]) -> Iterator[None]:
    """argparse's own sentences ("usage:", "error:") in Vietnamese while parsing."""
    table: dict[str, str] = words["argparse"]
    original = argparse._  # type: ignore[attr-defined]
    argparse._ = lambda text: table.get(text, text)  # type: ignore[attr-defined]
    try:
        yield
    finally:
        argparse._ = original  # type: ignore[attr-defined]


def parser(words: dict[str, Any] | None = None) -> argparse.ArgumentParser:
    """Every command and option, with Vietnamese help. ``--config`` is accepted anywhere."""
    h = (words or _words())["help"]
    number = _positive(words or _words())
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", type=Path, default=argparse.SUPPRESS, metavar="TỆP",
                        help=h["config"])
    p = argparse.ArgumentParser(prog="tusoi", description=h["program"], epilog=h["epilog"],
                                parents=[common],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", title=h["commands"], metavar="LỆNH")

    def command(group: Any, name: str, key: str) -> argparse.ArgumentParser:
        made: argparse.ArgumentParser = group.add_parser(name, help=h[key], description=h[key],
                                                         parents=[common])
        return made

    def group(name: str, key: str) -> Any:
        return command(sub, name, key).add_subparsers(dest=f"{name}_command", required=True,
                                                       metavar="LỆNH")

    command(sub, "run", "run")
    command(sub, "console", "console")
    command(sub, "telegram", "telegram")
    zalo = group("zalo", "zalo")
    webhook = command(zalo, "webhook", "zalo_webhook")
    webhook.add_argument("action", choices=("set", "delete", "info"), metavar="set|delete|info",
                         help=h["zalo_webhook_action"])
    command(sub, "ingress", "ingress")
    worker = command(sub, "worker", "worker")
    worker.add_argument("--id", type=number, required=True, metavar="SỐ", help=h["worker_id"])
    worker.add_argument("--slots", type=number, metavar="N", help=h["worker_slots"])
    command(group("db", "db"), "init", "db_init")
    backup = command(sub, "backup", "backup")
    backup.add_argument("file", metavar="TỆP", help=h["backup_file"])
    restore = command(sub, "restore", "restore")
    restore.add_argument("file", metavar="TỆP", help=h["restore_file"])
    restore.add_argument("--yes", action="store_true", help=h["restore_yes"])

    cell = group("cell", "cell")
    add = command(cell, "add", "cell_add")
    add.add_argument("--name", required=True, metavar="TÊN", help=h["cell_name"])
    add.add_argument("--committee", default="", metavar="TÊN", help=h["cell_committee"])
    add.add_argument("--place", default="", metavar="ĐỊA DANH", help=h["cell_place"])
    command(cell, "list", "cell_list")
    cmove = command(cell, "move", "cell_move")
    cmove.add_argument("--cell", type=number, required=True, metavar="MÃ", help=h["round_cell"])
    cmove.add_argument("--committee", required=True, metavar="ĐẢNG BỘ",
                       help=h["committee_ref"])

    committee = group("committee", "committee")
    cadd = command(committee, "add", "committee_add")
    cadd.add_argument("--name", required=True, metavar="TÊN", help=h["committee_name"])
    command(committee, "list", "committee_list")
    officer = command(committee, "officer", "committee_officer")
    officer.add_argument("--committee", required=True, metavar="ĐẢNG BỘ",
                         help=h["committee_ref"])
    officer.add_argument("--member", type=number, required=True, metavar="MÃ",
                         help=h["member_id"])
    officer.add_argument("--remove", action="store_true", help=h["committee_officer_remove"])

    member = group("member", "member")
    madd = command(member, "add", "member_add")
    madd.add_argument("--cell", type=number, required=True, metavar="MÃ", help=h["member_cell"])
    madd.add_argument("--name", required=True, metavar="HỌ TÊN", help=h["member_name"])
    madd.add_argument("--birth-date", metavar="NGÀY", help=h["member_birth"])
    for option, key in (("--party-post", "member_party_post"), ("--gov-post", "member_gov_post"),
                        ("--mass-post", "member_mass_post"),
                        ("--work-unit", "member_work_unit")):
        madd.add_argument(option, metavar="…", help=h[key])
    madd.add_argument("--leader", action="store_true", help=h["member_leader"])
    madd.add_argument("--category", metavar="ĐỐI TƯỢNG", help=h["member_category"])
    madd.add_argument("--joined-on", metavar="NGÀY", help=h["member_joined_on"])
    madd.add_argument("--standing", metavar="TÌNH TRẠNG", help=h["member_standing"])
    role = madd.add_mutually_exclusive_group()
    role.add_argument("--secretary", action="store_true", help=h["member_secretary"])
    role.add_argument("--deputy", action="store_true", help=h["member_deputy"])
    mlist = command(member, "list", "member_list")
    mlist.add_argument("--cell", type=number, required=True, metavar="MÃ", help=h["member_cell"])
    mremove = command(member, "remove", "member_remove")
    mremove.add_argument("member", type=number, metavar="MÃ", help=h["member_id"])

    roster = group("roster", "roster")
    rimport = command(roster, "import", "roster_import")
    rimport.add_argument("--cell", type=number, required=True, metavar="MÃ", help=h["member_cell"])
    rimport.add_argument("file", metavar="TỆP", help=h["roster_file"])
    rimport.add_argument("--preview", action="store_true", help=h["roster_preview"])
    rimport.add_argument("--skip-bad-rows", action="store_true", help=h["roster_skip_bad"])
    rimport.add_argument("--committee", metavar="ĐẢNG BỘ", help=h["roster_committee"])

    invite = command(sub, "invite", "invite")
    invite.add_argument("--member", type=number, required=True, metavar="MÃ",
                        help=h["invite_member"])
    invite.add_argument("--revoke", action="store_true", help=h["invite_revoke"])

    rnd = group("round", "round")
    ropen = command(rnd, "open", "round_open")
    ropen.add_argument("--cell", type=number, required=True, metavar="MÃ", help=h["round_cell"])
    ropen.add_argument("--meeting", required=True, metavar="NGÀY", help=h["round_meeting"])
    ropen.add_argument("--year", type=number, metavar="NĂM", help=h["round_year"])
    ropen.add_argument("--title", metavar="TÊN", help=h["round_title"])
    ropen.add_argument("--form", metavar="MÃ GÓI", help=h["round_form"])
    rmove = command(rnd, "move", "round_move")
    rmove.add_argument("--cell", type=number, required=True, metavar="MÃ", help=h["round_cell"])
    rmove.add_argument("--meeting", required=True, metavar="NGÀY", help=h["round_new_meeting"])
    rclose = command(rnd, "close", "round_close")
    rclose.add_argument("--cell", type=number, required=True, metavar="MÃ", help=h["round_cell"])
    rlist = command(rnd, "list", "round_list")
    rlist.add_argument("--cell", type=number, required=True, metavar="MÃ", help=h["round_cell"])
    rexport = command(rnd, "export", "round_export")
    rexport.add_argument("--round", type=number, required=True, metavar="MÃ",
                         help=h["round_id"])
    rexport.add_argument("--out", required=True, metavar="TỆP", help=h["round_export_out"])
    rpurge = command(rnd, "purge", "round_purge")
    rpurge.add_argument("--round", type=number, required=True, metavar="MÃ", help=h["round_id"])
    rpurge.add_argument("--dry-run", action="store_true", help=h["round_purge_dry_run"])

    checklist = group("checklist", "checklist")
    check = command(checklist, "check", "checklist_check")
    check.add_argument("file", metavar="TỆP", help=h["checklist_file"])

    cal = group("calendar", "calendar")
    year = command(cal, "year", "calendar_year")
    year.add_argument("year", type=number, metavar="NĂM", help=h["calendar_year_year"])
    before = command(cal, "before", "calendar_before")
    before.add_argument("date", metavar="NGÀY", help=h["calendar_date"])
    before.add_argument("--days", type=number, default=3, metavar="N", help=h["calendar_days"])
    before.add_argument("--convention", choices=("strict", "loose"), help=h["calendar_convention"])
    return p


def configure_logging(level: str, *, quiet: bool = False) -> None:
    """Our own loggers at ``level`` (at WARNING at least for ``quiet`` commands, whose
    output is for people: no "database ready" line among the answers); libraries never
    below the point where they would print secrets: httpx logs URLs (they contain the bot
    token); PTB at DEBUG logs every Bot API call's parameters, which contain what members
    wrote."""
    effective = getattr(logging, level, logging.INFO)
    if quiet and effective != logging.DEBUG:
        effective = max(effective, logging.WARNING)
    logging.basicConfig(level=effective,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger().setLevel(effective)
    for name, floor in (("httpx", logging.WARNING), ("httpcore", logging.WARNING),
                        ("telegram", logging.INFO), ("apscheduler", logging.INFO)):
        library = logging.getLogger(name)
        library.setLevel(max(floor, effective))
    if effective != logging.DEBUG:
        logging.getLogger("telegram.ext").addFilter(_StartupNetworkNoise())


class _StartupNetworkNoise(logging.Filter):
    """python-telegram-bot logs a full traceback when it cannot reach the Bot API at start;
    the command line says the same in one Vietnamese line (``_unexpected``)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and "Bootstrap" in record.getMessage())


def _fail(renderer: Renderer | None, template: str, code: int, **context: Any) -> int:
    complain(renderer or _renderer(), template, **context)
    return code


def main(argv: list[str] | None = None) -> int:
    words = _words()
    with vietnamese_argparse(words):
        args = parser(words).parse_args(argv)
    given = getattr(args, "config", None)
    config = given or (Path("tusoi.toml") if Path("tusoi.toml").is_file() else None)
    command = args.command or "run"
    try:
        return _main(args, command, config)
    except KeyboardInterrupt:
        return _fail(None, "interrupted", EXIT_INTERRUPTED)


def _main(args: argparse.Namespace, command: str, config: Path | None) -> int:
    from bot.checklist import PackError
    from bot.deadlines import DeadlineProblem
    from bot.operations import OperationError
    from bot.workdays import CalendarDataError, DateParseError, YearNotCovered
    from storage.backup import BackupError

    settings: Settings | None = None
    try:
        settings = load_settings(config)
        on_console = command == "console" or (
            command == "run" and not settings.telegram.token and not settings.zalo.token)
        configure_logging(settings.logging.level,
                          quiet=command not in ("run", "telegram", "ingress", "worker")
                          or on_console)
        if command == "checklist":
            return cmd_checklist_check(settings, args)
        if command == "calendar":
            return cmd_calendar(settings, args)
        if command == "backup":
            return cmd_backup(settings, args)
        if command == "restore":
            return cmd_restore(settings, args)
        if command == "zalo":
            return cmd_zalo_webhook(settings, config, args)
        if on_console:
            return run_console(settings, config, announce=command == "run")
        if command == "run":
            return run_bot(settings)
        if command == "telegram":
            return run_telegram(settings, config)
        if command == "ingress":
            return run_ingress(settings, config)
        if command == "worker":
            return run_worker(settings, config, args)
        import asyncio

        from handlers.wiring import build_core

        asyncio.run(_operate(build_core(settings), args))
        return EXIT_OK
    except ConfigError as exc:
        return _fail(None, "config_error", EXIT_BAD_INPUT, kind=exc.kind, **exc.context)
    except PackError as exc:
        return _fail(None, "error", EXIT_BAD_INPUT, kind="pack", problems=exc.problems)
    except DeadlineProblem as exc:
        return _fail(None, "deadline_problem", EXIT_BAD_INPUT, problem=exc,
                     kind=type(exc).__name__)
    except (DateParseError, YearNotCovered) as exc:
        return _fail(None, "error", EXIT_BAD_INPUT, kind="date", detail=str(exc))
    except CalendarDataError as exc:
        return _fail(None, "error", EXIT_BAD_INPUT, kind="calendar_data", detail=str(exc))
    except OperationError as exc:
        return _fail(None, "error", EXIT_REFUSED, kind=exc.kind, **exc.context)
    except Refusal as exc:
        return _fail(None, "error", exc.code, kind=exc.kind, **exc.context)
    except BackupError as exc:
        return _fail(None, "error", EXIT_REFUSED, kind=exc.kind, **exc.context)
    except KeyboardInterrupt:
        raise
    except Exception as exc:  # noqa: BLE001 - the one place that turns the rest into a line
        return _unexpected(exc, settings)


def _unexpected(exc: Exception, settings: Settings | None) -> int:
    """A network failure, a missing file or a bug: one Vietnamese line with a hint, and the
    traceback only at DEBUG (or in the log)."""
    kind = "unexpected"
    context: dict[str, Any] = {"type": type(exc).__name__}
    try:
        from telegram.error import InvalidToken, NetworkError
    except ImportError:  # pragma: no cover - telegram is a dependency
        InvalidToken = NetworkError = ()  # type: ignore[assignment,misc]
    import httpx

    from handlers.zalo.api import BAD_TOKEN, ZaloError

    if isinstance(exc, ZaloError):
        kind = "zalo_token" if exc.kind == BAD_TOKEN else "zalo_refused"
        context.update(error_code=exc.kind, description=exc.description[:200])
    elif isinstance(exc, httpx.HTTPError):
        kind = "zalo_unreachable"
        context["url"] = settings.zalo.base_url if settings else ""
    elif isinstance(exc, InvalidToken):
        kind = "telegram_token"
    elif isinstance(exc, NetworkError):
        kind = "telegram_unreachable"
        context["url"] = settings.telegram.base_url if settings else ""
    elif isinstance(exc, OSError):
        kind = "os_error"
        context.update(path=str(exc.filename or ""), reason=exc.strerror or str(exc))
    debug = settings is not None and settings.logging.level == "DEBUG"
    log.debug("failed", exc_info=exc)
    if debug:
        import traceback

        traceback.print_exception(exc, file=sys.stderr)
    return _fail(None, "error", EXIT_REFUSED, kind=kind, **context)


if __name__ == "__main__":
    sys.exit(main())
