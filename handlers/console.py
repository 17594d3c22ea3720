"""The terminal channel: the same review flow, typed, offline, no token.

On an empty database it sets up a demo cell, member and open round so a newcomer can
walk through the whole review and get the Word draft in a minute.
"""

from __future__ import annotations

import asyncio
import sys
import tomllib
from datetime import timedelta
from pathlib import Path
from typing import TextIO

from bot.config import ROOT
from bot.screens import Incoming, Screen
from handlers.wiring import Core

CHANNEL = "console"
LOCAL = "local"


async def ensure_demo(core: Core) -> None:
    """Create the demo cell and link this terminal to its member, once."""
    store, now = core.store, core.clock.now()
    if await store.account(CHANNEL, LOCAL) is not None:
        return
    demo = tomllib.loads((ROOT / "data" / "demo.toml").read_text(encoding="utf-8"))
    async with store.transaction():
        cells = await store.cells()
        cell_id = cells[0].id if cells else await store.add_cell(
            demo["cell"]["name"], demo["cell"]["party_committee"], demo["cell"]["place"], now
        )
        member_id = await store.add_member(cell_id, now=now, **demo["member"])
        await store.link_account(CHANNEL, LOCAL, member_id, now)
        if await store.open_round(cell_id) is None:
            today = now.date()
            meeting = core.calendar.next_working_day(
                today + timedelta(days=demo["round"]["meeting_in_days"])
            )
            due = core.calendar.working_days_before(
                meeting, core.settings.calendar.member_lead_days,
                core.settings.calendar.convention,  # type: ignore[arg-type]
            ).send_by
            title = demo["round"]["title"].format(year=today.year)
            await store.add_round(cell_id, today.year, title, meeting, due, now)


def show(core: Core, screens: list[Screen], out: TextIO, drafts: Path) -> None:
    for screen in screens:
        if screen.to is not None:  # notifications for other people's chats
            continue
        print(core.renderer.plain(screen), file=out)
        if screen.document is not None:
            drafts.mkdir(parents=True, exist_ok=True)
            path = drafts / screen.document.filename
            path.write_bytes(screen.document.content)
            print(core.renderer.render("console/saved", {"path": str(path.resolve())}), file=out)
        print(file=out)


async def run_console(core: Core, stdin: TextIO = sys.stdin, out: TextIO = sys.stdout) -> None:
    """Read lines until end of input. An empty line finishes a written answer ("xong")."""
    await core.open()
    try:
        await ensure_demo(core)
        drafts = Path(core.settings.console.drafts_dir)
        print(core.renderer.render("console/intro", {}), file=out)
        screens = await core.service.handle(Incoming(CHANNEL, LOCAL, text="/tieptuc"))
        show(core, screens, out, drafts)
        while True:
            print("> ", end="", file=out, flush=True)
            line = await asyncio.to_thread(stdin.readline)
            if not line:
                break
            text = line.rstrip("\n") or "xong"
            screens = await core.service.handle(Incoming(CHANNEL, LOCAL, text=text))
            show(core, screens, out, drafts)
        print(core.renderer.render("console/bye", {}), file=out)
    finally:
        await core.close()
