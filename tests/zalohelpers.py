"""Run tusoi's Zalo adapter in-process against ``FakeZalo``, over real HTTP: the same
``running_zalo`` production uses (the inbox, the poller or the webhook, the web app).

An observer wraps the adapter's handler and counts each event once it has been handled, so a
test waits for "the bot is done with this message" instead of guessing how many replies come.
"""

from __future__ import annotations

import dataclasses
import re
import socket
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.config import Settings, WebSettings, ZaloSettings
from handlers.wiring import Core, build_core
from handlers.zalo.app import ZaloRuntime, running_zalo
from tests.conftest import FixedClock, Seed, make_settings, seed
from tests.fakezalo import TOKEN, FakeZalo, JSONDict

SECRET = "webhook-secret-for-tests"
ERROR_PHRASE = "đã có trục trặc"
LINK = re.compile(r"https?://\S+/d/[A-Za-z0-9_-]{43}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def zalo_settings(tmp_path: Path, fake: FakeZalo, port: int, *,
                  reminders: dict[str, Any] | None = None, **zalo: Any) -> Settings:
    settings = make_settings(tmp_path)
    settings = dataclasses.replace(settings, reminders=dataclasses.replace(
        settings.reminders, **(reminders or {})))
    return dataclasses.replace(settings, web=WebSettings(port=port), zalo=dataclasses.replace(
        ZaloSettings(), token=TOKEN, base_url=fake.base_url, poll_timeout=1,
        webhook_secret=SECRET, public_base_url=f"http://127.0.0.1:{port}",
        reply_retry_ms=[20, 20, 20], **{"rate_per_second": 1000, **zalo}))


@dataclass
class ZaloBotHarness:
    fake: FakeZalo
    core: Core
    runtime: ZaloRuntime
    clock: FixedClock
    seed: Seed
    port: int
    handled: Counter[str] = field(default_factory=Counter)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def settle(self, event: JSONDict, timeout: float = 10) -> list[str]:
        """Wait until ``event`` has been handled once more; return the texts it produced."""
        chat = event["message"]["chat"]["id"]
        before = len(self.fake.texts(chat))
        key = event["message"]["message_id"]
        target = self.handled[key] + 1
        await self.fake.wait_for(lambda: self.handled[key] >= target, timeout)
        return self.fake.texts(chat)[before:]

    async def say(self, user: str, text: str, **kwargs: Any) -> str:
        """The member types ``text``; returns the replies joined."""
        return "\n---\n".join(await self.settle(self.fake.user_text(user, text, **kwargs)))

    async def count(self, table: str, where: str = "1") -> int:
        rows = await self.core.db.fetch_all(f"SELECT COUNT(*) FROM {table} WHERE {where}")
        return int(next(iter(rows))[0])


def check_replies(fake: FakeZalo) -> None:
    """Every reply was taken by Zalo (errors a test injected aside), none is HTML, none is the
    generic error."""
    for call in fake.calls("sendMessage"):
        if call.injected:
            continue
        text = str(call.params.get("text", ""))
        assert call.ok or "blocked" in str(call.response), (call.status, call.response)
        assert ERROR_PHRASE not in text, text
        assert not re.search(r"</?(b|i|code|a)\b|&(amp|lt|gt|quot);", text), text


@asynccontextmanager
async def running_zalo_bot(tmp_path: Path, *, clock: FixedClock | None = None,
                           fake: FakeZalo | None = None,
                           reminders: dict[str, Any] | None = None, **zalo: Any
                           ) -> AsyncIterator[ZaloBotHarness]:
    clock = clock or FixedClock()
    async with (fake or FakeZalo()) as api:
        port = free_port()
        settings = zalo_settings(tmp_path, api, port, reminders=reminders, **zalo)
        core = build_core(settings, clock)  # type: ignore[arg-type]
        await core.open()
        try:
            async with running_zalo(core) as runtime:
                handled: Counter[str] = Counter()
                handle = runtime.bot.tasks.handle

                async def observed(event: dict[str, Any]) -> None:
                    try:
                        await handle(event)
                    finally:
                        handled[event["message"]["message_id"]] += 1
                        api._notify()

                runtime.bot.tasks.handle = observed
                if runtime.bot.settings.mode == "webhook":
                    await runtime.bot.api.set_webhook(f"http://127.0.0.1:{port}/zalo/webhook",
                                                      SECRET)
                seeded = await seed(core)
                yield ZaloBotHarness(api, core, runtime, clock, seeded, port, handled)
                check_replies(api)
        finally:
            await core.close()


SUMMARY_END = "gõ «nộp» khi đã hài lòng"


async def walk_to_summary(say: Any, shown: str, text: str = "Hoàn thành tốt công việc") -> str:
    """Answer every question on the screen by typing, as a member on Zalo would: «1» on the
    checklist, scores as numbers, the pre-fills kept, no annex, a level in the band. ``say``
    types one message and returns the replies; ``shown`` is what is on screen now. Returns the
    review list."""
    for _ in range(200):
        if SUMMARY_END in shown:
            return shown
        last = shown.split("\n---\n")[-1]
        options = dict(re.findall(r"^(\d+)\. (.+)$", last, re.MULTILINE))
        if "Gõ một số" in last:
            answer = "25" if "đến 30" in last else "57"
        elif "giữ nguyên" in last:
            answer = "giữ nguyên"
        elif options:
            answer = next((n for n, label in options.items() if label.startswith(
                ("Không có biểu hiện", "Không lập", "Hoàn thành tốt", "Đã khắc phục hết", "Có"))),
                "1")
        elif "«không có»" in last:
            answer = "không có"
        else:
            await say(text)
            answer = "xong"
        shown = await say(answer)
    raise AssertionError(f"the walk did not end: {shown[-500:]}")
