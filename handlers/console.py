"""The terminal channel: the same review flow, typed, offline, no token.

It runs on its own database (``console.database``), never the configured one: on first run
it sets up a demo cell, member and open round there, so a newcomer can walk through the
whole review and get the Word draft in a minute, and a forgotten token on a production
machine cannot put a demo member into a real cell.
"""

from __future__ import annotations

import asyncio
import os
import sys
import threading
import tomllib
from datetime import timedelta
from pathlib import Path
from typing import TextIO

from bot.config import ROOT
from bot.delivery import Delivery, Outcome
from bot.operations import OperationError
from bot.screens import Incoming, Screen
from handlers.wiring import Core
from storage.db import PRIVATE_FILE, private_dir

CHANNEL = "console"
LOCAL = "local"
# A terminal in canonical mode hands over at most this many bytes of one line.
TTY_LINE_LIMIT = 4095


async def ensure_demo(core: Core) -> None:
    """Create the demo cell, member and open round, and link this terminal to the member,
    once. A database that already holds cells but no console account is someone's real
    data: it is refused, never touched."""
    store = core.store
    if await store.account(CHANNEL, LOCAL) is not None:
        return
    if await store.cells():
        raise OperationError("not_demo_database", path=core.db.describe())
    demo = tomllib.loads((ROOT / "data" / "demo.toml").read_text(encoding="utf-8"))
    ops = core.operations
    meeting = core.calendar.next_working_day(
        ops.today() + timedelta(days=demo["round"]["meeting_in_days"] - 1))
    async with store.transaction():
        cell = await ops.add_cell(demo["cell"]["name"], demo["cell"]["party_committee"],
                                  demo["cell"]["place"])
        member_id = await ops.add_member(cell.id, **demo["member"])
        await store.link_account(CHANNEL, LOCAL, member_id, core.clock.now())
        await ops.open_round(cell.id, meeting)


def save_draft(folder: Path, filename: str, content: bytes) -> Path:
    """Write a draft readable by its owner only (it holds what the member wrote)."""
    private_dir(folder)
    path = folder / filename
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE)
    with os.fdopen(fd, "wb") as handle:
        handle.write(content)
    os.chmod(path, PRIVATE_FILE)
    return path


def show(core: Core, screens: list[Screen], out: TextIO, drafts: Path) -> None:
    for screen in screens:
        print(core.renderer.plain(screen, CHANNEL), file=out)
        if screen.document is not None:
            path = save_draft(drafts, screen.document.filename, screen.document.content)
            print(core.renderer.render("console/saved", {"path": str(path.resolve())},
                                       channel=CHANNEL), file=out)
        print(file=out)


class ConsoleTransport:
    """The outbox's way to the terminal: a message for the console's own account (a
    reminder, a notice) is printed, marked as such, before the next prompt."""

    channel = CHANNEL

    def __init__(self, core: Core, out: TextIO, drafts: Path) -> None:
        self.core, self.out, self.drafts = core, out, drafts

    async def send(self, external_id: str, screen: Screen) -> Delivery:
        if external_id != LOCAL:
            return Delivery(Outcome.REJECTED, detail="not this terminal")
        print(self.core.renderer.render("console/notice", {}, channel=CHANNEL), file=self.out)
        show(self.core, [screen], self.out, self.drafts)
        return Delivery(Outcome.SENT)


def _reader(stdin: TextIO, loop: asyncio.AbstractEventLoop, lines: asyncio.Queue[str]) -> None:
    """Read lines in a daemon thread: a pending read never holds up the process's exit
    (Ctrl-C ends the console at once)."""
    while True:
        try:
            line = stdin.readline()
        except (OSError, ValueError):
            line = ""
        try:
            loop.call_soon_threadsafe(lines.put_nowait, line)
        except RuntimeError:  # the loop is closed: the console has ended
            return
        if not line:
            return


async def run_console(core: Core, stdin: TextIO = sys.stdin, out: TextIO = sys.stdout) -> None:
    """Read lines until end of input. An empty line finishes a written answer ("xong")."""
    await core.open()
    try:
        await ensure_demo(core)
        drafts = Path(core.settings.console.drafts_dir)
        sender = core.delivery.sender
        sender.add(ConsoleTransport(core, out, drafts))
        print(core.renderer.render("console/intro", {}, channel=CHANNEL), file=out)
        screens = await core.service.handle(Incoming(CHANNEL, LOCAL, text="/tieptuc"))
        show(core, screens, out, drafts)
        await sender.run()
        lines: asyncio.Queue[str] = asyncio.Queue()
        threading.Thread(target=_reader, args=(stdin, asyncio.get_running_loop(), lines),
                         name="console-stdin", daemon=True).start()
        tty = stdin.isatty()
        while True:
            print("> ", end="", file=out, flush=True)
            line = await lines.get()
            if not line:
                break
            if tty and len(line.rstrip("\n").encode()) >= TTY_LINE_LIMIT:
                print(core.renderer.render("console/line_cut", {"limit": TTY_LINE_LIMIT},
                                           channel=CHANNEL), file=out)
            text = line.rstrip("\n") or "xong"
            screens = await core.service.handle(Incoming(CHANNEL, LOCAL, text=text))
            show(core, screens, out, drafts)
            await sender.run()  # anything queued for this terminal's own account
        print(core.renderer.render("console/bye", {}, channel=CHANNEL), file=out)
    finally:
        await core.close()
