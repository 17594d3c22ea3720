"""Reading a roster file in a child process, with a memory and a time bound.

A roster is whatever file a secretary sends. A hostile or broken one (a 232 KB XLSX that
unpacks to 90 MB of cells) once kept the bot busy for a minute and took 800 MB from it, for
everyone. Here the reading runs in a separate Python process: its address space is capped
(``RLIMIT_AS``), its CPU time too, and the parent waits at most ``seconds`` without blocking
its event loop. Whatever goes wrong in the child, the secretary gets one clear sentence
(``too_complex``) and the bot carries on.

The child is this module run with ``python -m``; it reads the request from stdin and writes
the ``RosterPreview`` to stdout, both pickled (the parent only unpickles what its own child
wrote).
"""

from __future__ import annotations

import asyncio
import logging
import math
import pickle
import resource
import sys
from datetime import date

from bot.roster import TOO_COMPLEX, RosterPreview, parse_roster

log = logging.getLogger(__name__)

MEMORY = 512 * 1024 * 1024  # bytes of address space; a 2,000-row XLSX needs about 120 MB
SECONDS = 30.0


async def read_roster(filename: str, content: bytes, max_rows: int, today: date, *,
                      memory: int = MEMORY, seconds: float = SECONDS) -> RosterPreview:
    """``bot.roster.parse_roster`` in a bounded child process."""
    request = pickle.dumps((filename, content, max_rows, today, memory, seconds))
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-m", __name__,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(child.communicate(request), seconds)
    except TimeoutError:
        child.kill()
        await child.wait()
        log.warning("roster reading stopped after %.1f s", seconds)
        return RosterPreview(file_problem=TOO_COMPLEX)
    if child.returncode != 0 or not out:
        # The exception's name only: its message could quote a cell, i.e. someone's data.
        last = (err.decode(errors="replace").strip().splitlines() or [""])[-1]
        log.warning("roster reading failed (exit %s): %s", child.returncode,
                    last.split(":", 1)[0][:80])
        return RosterPreview(file_problem=TOO_COMPLEX)
    preview: RosterPreview = pickle.loads(out)
    return preview


def _child() -> None:
    filename, content, max_rows, today, memory, seconds = pickle.load(sys.stdin.buffer)
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    cpu = math.ceil(seconds) + 1
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    try:
        preview = parse_roster(filename, content, max_rows=max_rows, today=today)
    except MemoryError:
        preview = RosterPreview(file_problem=TOO_COMPLEX)
    sys.stdout.buffer.write(pickle.dumps(preview))


if __name__ == "__main__":
    _child()
