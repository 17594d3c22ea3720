"""Run the real tusoi ``Application`` in-process against ``FakeBotApi``, over real HTTP.

The application is the one ``build_application`` makes for production; the only thing
added is an observer handler in a late group, which records each update once every
handler before it has finished, so a test can wait for "the bot is done with this
update" instead of guessing how many replies will come.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

from telegram import Update
from telegram.ext import Application, ContextTypes, TypeHandler

from handlers.tg.app import build_application, running
from handlers.wiring import Core, build_core
from tests.conftest import FixedClock, Seed, make_settings, seed
from tests.fakebotapi import FakeBotApi, JSONDict

# Group numbers run in ascending order; the product registers everything in group 0.
OBSERVER_GROUP = 1_000
# Bot API methods whose failure would mean the member did not see a reply.
REPLY_METHODS = ("sendMessage", "sendDocument", "editMessageText")
# The phrase of common/error: no bad input may end in the generic error reply.
ERROR_PHRASE = "đã có trục trặc"


@dataclass
class TgBot:
    """The running bot, its core and the fake Telegram it talks to."""

    api: FakeBotApi
    core: Core
    app: Application  # type: ignore[type-arg]
    clock: FixedClock
    seed: Seed
    runs: Counter[int] = field(default_factory=Counter)

    async def settle(self, update: JSONDict, chat_id: int, timeout: float = 10) -> list[JSONDict]:
        """Wait until the bot has handled ``update`` once more; return its new messages.

        Call right after pushing (no ``await`` in between), so nothing the bot sends for
        this update can slip in before the messages are counted.
        """
        before = len(self.api.sent_messages(chat_id))
        update_id = update["update_id"]
        target = self.runs[update_id] + 1
        await self.api.wait_for(lambda: self.runs[update_id] >= target, timeout)
        return self.api.sent_messages(chat_id)[before:]

    async def text(self, user_id: int, text: str) -> list[JSONDict]:
        """The member types ``text`` in the private chat."""
        return await self.settle(self.api.user_text(user_id, text), user_id)

    async def press(self, user_id: int, message_id: int, data: str) -> list[JSONDict]:
        """The member presses a button carrying ``data`` under the bot message ``message_id``."""
        return await self.settle(self.api.user_press(user_id, message_id, data), user_id)

    async def press_label(self, user_id: int, message: JSONDict, label: str) -> list[JSONDict]:
        """The member presses the button whose label contains ``label``."""
        return await self.press(user_id, message["message_id"], button_data(message, label))

    async def redeliver(self, update: JSONDict, chat_id: int) -> list[JSONDict]:
        """Telegram delivers ``update`` once more, with the same update_id; returns what the
        member was sent since. A probe (/huongdan, which changes nothing) follows it in the
        same chat: once the probe is handled, the duplicate has been too, if it ever will."""
        before = len(self.api.sent_messages(chat_id))
        self.api.redeliver(update["update_id"])
        await self.settle(self.api.user_text(chat_id, "/huongdan"), chat_id)
        return [m for m in self.api.sent_messages(chat_id)[before:]
                if "Tôi hỏi từng câu một" not in str(m.get("text"))]

    async def review_id(self, member_id: int | None = None) -> int:
        """The review of ``member_id`` (default: the seeded ordinary member)."""
        member_id = member_id or self.seed.member_id
        review = await self.core.store.review_for(self.seed.round_id, member_id)
        assert review is not None, "the member has no review yet"
        return review.id

    async def answers(self, member_id: int | None = None) -> dict[str, str | None]:
        """qid -> stored value of the member's review (empty if it does not exist yet)."""
        member_id = member_id or self.seed.member_id
        review = await self.core.store.review_for(self.seed.round_id, member_id)
        if review is None:
            return {}
        return {qid: a.value for qid, a in (await self.core.store.answers(review.id)).items()}

    async def pending(self, member_id: int | None = None) -> tuple[str | None, str | None]:
        """(question id, text) written so far for a text question, not yet finished."""
        review = await self.core.store.review(await self.review_id(member_id))
        assert review is not None
        return review.pending_qid, review.pending_text

    async def history(self, qid: str, member_id: int | None = None) -> list[str | None]:
        rid = await self.review_id(member_id)
        return [a.value for a in await self.core.store.answer_history(rid, qid)]

    async def count(self, table: str) -> int:
        """Rows in ``table`` (answers, answer_history, accounts…), read with plain SQL."""
        row = await self.core.db.fetch_one(f"SELECT COUNT(*) FROM {table}")
        return int(row[0]) if row else 0


def button_data(message: JSONDict, label: str) -> str:
    """The callback data of the first inline button whose label contains ``label``."""
    for row in (message.get("reply_markup") or {}).get("inline_keyboard", []):
        for button in row:
            if label in button["text"]:
                return str(button["callback_data"])
    raise AssertionError(f"no button {label!r} under: {message.get('text', '')[:200]!r}")


def texts(messages: list[JSONDict]) -> str:
    """What the member sees in ``messages``, joined (text or caption, markup removed)."""
    return "\n---\n".join(str(m.get("text") or m.get("caption") or "") for m in messages)


def with_buttons(messages: list[JSONDict]) -> JSONDict:
    """The last of ``messages`` that carries inline buttons (usually the question)."""
    found = [m for m in messages if m.get("reply_markup")]
    assert found, f"no message with buttons in: {texts(messages)[:500]!r}"
    return found[-1]


def check_replies(api: FakeBotApi) -> None:
    """Every reply reached the member: no rejected send or edit, no generic error reply.

    Errors a test injected (``fail_next``) are not counted: what matters is that the bot got
    past them.
    """
    failed = [c for c in api.calls()
              if c.method in REPLY_METHODS and c.status != 200 and not c.injected]
    assert not failed, "replies refused by the Bot API:\n" + "\n".join(
        f"  {c.method} -> {c.status} {c.response.get('description')}" for c in failed
    )
    for call in api.calls("sendMessage"):
        assert len(str(call.params.get("text", ""))) <= 4096
        assert ERROR_PHRASE not in str(call.params.get("text", "")), call.params


@asynccontextmanager
async def running_bot(tmp_path: Path, clock: FixedClock | None = None) -> AsyncIterator[TgBot]:
    """Start the fake Bot API and the real Application polling it; seed one cell.

    ``handlers.tg.app.running`` is what production runs too: the inbox polls the fake
    server, stores each update, and feeds the Application one chat at a time.
    """
    clock = clock or FixedClock()
    async with FakeBotApi() as api:
        settings = make_settings(tmp_path, base_url=api.base_url, base_file_url=api.base_file_url,
                                 poll_timeout=1, reply_retry_ms=[50, 50, 50])
        core = build_core(settings, clock)
        app = build_application(core)
        runs: Counter[int] = Counter()

        async def observe(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
            runs[update.update_id] += 1
            api._notify()  # wake wait_for(): it re-checks only on API activity

        app.add_handler(TypeHandler(Update, observe), group=OBSERVER_GROUP)
        async with running(app):  # the production start-up: inbox, poller, processor
            seeded = await seed(core)
            yield TgBot(api, core, app, clock, seeded, runs)
            check_replies(api)


async def link(bot: TgBot, user_id: int, code: str) -> list[JSONDict]:
    """``/start CODE`` from ``user_id``, as the invite link does; returns the replies."""
    return await bot.text(user_id, f"/start {code}")


async def linked_member(bot: TgBot, user_id: int, member_id: int | None = None) -> JSONDict:
    """Link ``user_id`` to the seeded member; return the first question's message."""
    member_id = member_id or bot.seed.member_id
    replies = await link(bot, user_id, bot.seed.codes[member_id])
    shown = texts(replies)
    assert "Đã liên kết tài khoản" in shown and "Tự soi 1/" in shown, shown
    return with_buttons(replies)
