"""tusoi against the route most PTB bots take, on the same traffic in the same process, and what
each of tusoi's levers is worth.

    .venv/bin/python bench/bench_levers.py --members 200 --in-flight 16

**The traffic** is ``bench_flow.py``'s: N members walk the 27-item checklist, pressing the
option button the bot last sent them; every fifth item admits a manifestation and brings three
follow-ups, each typed and closed with the «Xong» button. 58 updates per member, 42 of which
store an answer. At most ``--in-flight`` updates are outstanding at once: a member sends its
next update only after the bot has handled the last one (replies included), and waits for a
free slot first. Latency is from handing an update over to its handling being finished,
queueing included: with K updates in flight it is about K ÷ throughput.

**The systems**, one after the other in this process, each on its own fresh files:

* ``ConversationHandler + PicklePersistence``: a plain python-telegram-bot bot as the library's
  examples build it (``conversationbot.py``, ``persistentconversationbot.py``), defaults
  everywhere: updates one at a time, state in ``user_data``, flushed to a pickle file every
  60 s (``update_interval``). It makes the same Bot API calls as tusoi with the same texts and
  keyboards (answer the press, edit the pressed message, send the next question), so the two
  pay the same framework costs. A crash loses what was not yet flushed.
* the same bot with **one durable SQLite commit per update** (WAL, ``synchronous=FULL``, the
  ``sqlite3`` module called from the handler): what "save every answer" costs the plain way.
* **tusoi** through its production path (``handlers.tg.inbox``: every update stored in the
  inbox before it is handled, handed over one chat at a time, done marks written in batches),
  with ``synchronous=FULL`` and every reply sent only after its answer's COMMIT. Four rungs
  add one lever at a time, and three more take one away from the full set:

  - *hand-offs*: every statement sent to the database thread and back (as aiosqlite did) or
    run directly on the loop (the engine's default);
  - *group commit*: one COMMIT per transaction, or transactions sharing one COMMIT;
  - *concurrency*: one chat handled at a time, or up to ``--chats`` at once.

The ratios in the last column are to the ConversationHandler + PicklePersistence bot of the
same repetition. With ``--repeat N`` everything runs N times, alternating, and the median of
each row is printed last. Timings are never asserted; the exit status is 1 only if a run went
wrong (an error logged, or stored answers that do not match those sent).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import html
import itertools
import logging
import os
import platform
import sqlite3
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import telegram
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.ext import (
    Application, ApplicationBuilder, CallbackQueryHandler, ContextTypes,
    ConversationHandler, MessageHandler, PicklePersistence, TypeHandler, filters,
)

from bench_startup import fill, migrate
from bench_flow import (
    FIRST_USER_ID, ErrorCounter, FakeBotApi, Member, cpu_model, filesystem, next_update, pct,
    poll_like_get_updates, seed_members,
)
from bot.checklist import load_packs
from bot.config import DatabaseSettings, Settings, TelegramSettings
from handlers.tg.app import build_application, running
from handlers.wiring import build_core
from storage.db import Database

TARGET_RATIO, TARGET_P99_MS = 1.0, 20.0


# --------------------------------------------------------------------------- the plain bot


@dataclass(frozen=True)
class Item:
    qid: str
    number: str
    section: str
    prompt: str
    options: tuple[tuple[str, str], ...]


def checklist_items() -> list[Item]:
    settings = Settings()
    checklist, _ = load_packs(settings.data_path(settings.review.checklist),
                              settings.data_path(settings.review.form))
    return [Item(q.id, q.number or q.id, s.title, q.prompt,
                 tuple((o.id, o.label) for o in q.options))
            for s in checklist.sections for q in s.questions]


FOLLOW_UPS = (("what", "Cụ thể là biểu hiện gì, trong việc nào?"),
              ("why", "Nguyên nhân chủ yếu là gì?"),
              ("remedy", "Đồng chí sẽ khắc phục bằng việc gì, xong trước ngày nào?"))
ITEM, FOLLOW = range(2)


def _button(text: str, data: str) -> InlineKeyboardButton:
    return InlineKeyboardButton(text, callback_data=data)


def _walk_rows(qid: str) -> list[list[InlineKeyboardButton]]:
    return [[_button("⬅️ Quay lại", f"back|0|{qid}|"), _button("⏭ Bỏ qua, làm sau", f"skip|0|{qid}|")],
            [_button("📋 Xem lại tất cả", "sum|0||"), _button("⏸ Tạm dừng", "pause|0||")]]


class PlainBot:
    """The ConversationHandler bot: the same screens as tusoi's walk, state in user_data.
    ``db`` set: one durable SQLite commit per update as well."""

    def __init__(self, items: list[Item], db: sqlite3.Connection | None) -> None:
        self.items, self.db = items, db

    def handler(self) -> ConversationHandler[Any]:
        return ConversationHandler(
            # The benchmark's /start carries no command entity (tusoi parses commands itself).
            entry_points=[MessageHandler(filters.Regex(r"^/start"), self.start)],
            states={
                ITEM: [CallbackQueryHandler(self.choose, pattern=r"^a\|")],
                FOLLOW: [MessageHandler(filters.TEXT & ~filters.Regex(r"^/"), self.typed),
                         CallbackQueryHandler(self.done, pattern=r"^done\|")],
            },
            fallbacks=[MessageHandler(filters.Regex(r"^/start"), self.start)],
            name="review", persistent=True,
        )

    def _save(self, user_id: int, qid: str, value: str) -> None:
        if self.db is None:
            return
        self.db.execute("INSERT INTO answers (user_id, qid, value) VALUES (?, ?, ?)"
                        " ON CONFLICT (user_id, qid) DO UPDATE SET value = excluded.value",
                        (user_id, qid, value))
        self.db.commit()

    async def _ask(self, context: ContextTypes.DEFAULT_TYPE, chat_id: int, index: int) -> None:
        if index >= len(self.items):
            await context.bot.send_message(
                chat_id, "Phần tự soi đã xong. Tiếp theo: bản kiểm điểm.",
                reply_markup=InlineKeyboardMarkup([[_button("Tiếp tục", "a|0|I-1|go")]]))
            return
        item = self.items[index]
        lines = "\n".join(f"{n}. {label}" for n, (_, label) in enumerate(item.options, 1))
        text = (f"<b>Tự soi {index + 1}/{len(self.items)}</b> · {html.escape(item.section)}\n"
                f"<i>Biểu hiện {item.number} — tóm tắt, không phải nguyên văn Nghị quyết</i>\n"
                f"{html.escape(item.prompt)}\n{lines}\n<i>Bấm nút hoặc gõ số.</i>")
        rows = [[_button(label, f"a|0|{item.qid}|{option}")] for option, label in item.options]
        rows += [[_button("📜 Xem nguyên văn", f"off|0|{item.qid}|")], *_walk_rows(item.qid)]
        await context.bot.send_message(chat_id, text, parse_mode=ParseMode.HTML,
                                       reply_markup=InlineKeyboardMarkup(rows))

    async def _ask_follow_up(self, context: ContextTypes.DEFAULT_TYPE, chat_id: int,
                             index: int, which: int) -> None:
        item = self.items[index]
        kind, prompt = FOLLOW_UPS[which]
        text = (f"<b>Tự soi {index + 1}/{len(self.items)}</b> · {html.escape(item.section)}\n"
                f"<i>Hỏi thêm về biểu hiện {item.number}</i>\n{prompt}\n"
                "<i>Gõ câu trả lời; có thể gửi nhiều tin, xong thì bấm «Xong».</i>")
        await context.bot.send_message(
            chat_id, text, parse_mode=ParseMode.HTML,
            reply_markup=InlineKeyboardMarkup(_walk_rows(f"{item.qid}.{kind}")))

    async def start(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
        data, chat = context.user_data, update.effective_chat
        assert data is not None and chat is not None
        data.setdefault("item", 0)
        data.setdefault("answers", {})
        self._save(chat.id, "#started", "1")
        await context.bot.send_message(
            chat.id, "Chào đồng chí <b>Đảng viên</b>!\n<b>Kiểm điểm năm 2026</b>\n"
            "Hạn nộp bản kiểm điểm: <b>Thứ Năm, 10/12/2026</b>", parse_mode=ParseMode.HTML)
        await self._ask(context, chat.id, data["item"])
        return ITEM

    async def choose(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
        query, data = update.callback_query, context.user_data
        assert query is not None and query.data is not None and data is not None
        await query.answer()
        _, _, qid, option = query.data.split("|")
        item = self.items[data["item"]]
        label = dict(item.options)[option]
        data["answers"][qid] = option
        self._save(query.from_user.id, qid, option)
        await query.edit_message_text(
            f"<b>{item.number}</b> {html.escape(item.prompt)}\n✔️ Đã chọn: <b>{label}</b>",
            parse_mode=ParseMode.HTML)
        if option == "absent":
            data["item"] += 1
            await self._ask(context, query.from_user.id, data["item"])
            return ITEM
        data["follow"] = 0
        await self._ask_follow_up(context, query.from_user.id, data["item"], 0)
        return FOLLOW

    async def typed(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
        message, data = update.effective_message, context.user_data
        assert message is not None and message.text is not None and data is not None
        pending = "\n".join(filter(None, (data.get("pending"), message.text)))
        data["pending"] = pending
        item = self.items[data["item"]]
        kind, _ = FOLLOW_UPS[data["follow"]]
        self._save(message.chat_id, "#pending", pending)
        qid = f"{item.qid}.{kind}"
        await message.reply_text(
            f"✔️ Đã ghi ({len(pending)} ký tự):\n<i>{html.escape(pending)}</i>\n"
            "Gửi thêm nếu còn; xong thì bấm «Xong» (hoặc gõ «xong»).", parse_mode=ParseMode.HTML,
            reply_markup=InlineKeyboardMarkup([[_button("✅ Xong câu này", f"done|0|{qid}|"),
                                                _button("✏️ Viết lại từ đầu", f"clr|0|{qid}|")]]),
            do_quote=False)
        return FOLLOW

    async def done(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
        query, data = update.callback_query, context.user_data
        assert query is not None and data is not None
        await query.answer()
        item = self.items[data["item"]]
        kind, _ = FOLLOW_UPS[data["follow"]]
        text = data.pop("pending", "")
        data["answers"][f"{item.qid}.{kind}"] = text
        self._save(query.from_user.id, f"{item.qid}.{kind}", text)
        await query.edit_message_reply_markup(None)
        chat_id = query.from_user.id
        await context.bot.send_message(chat_id, f"✔️ Đã lưu câu trả lời ({len(text)} ký tự).",
                                       parse_mode=ParseMode.HTML)
        data["follow"] += 1
        if data["follow"] < len(FOLLOW_UPS):
            await self._ask_follow_up(context, chat_id, data["item"], data["follow"])
            return FOLLOW
        data["item"] += 1
        await self._ask(context, chat_id, data["item"])
        return ITEM


# --------------------------------------------------------------------------- driving


@dataclass
class Result:
    name: str
    answers: int = 0
    updates: int = 0
    elapsed: float = 0.0
    latencies: list[float] = field(default_factory=list)  # answering updates
    stored: int = 0
    errors: int = 0
    per_commit: float = 0.0  # transactions per COMMIT (tusoi)

    @property
    def rate(self) -> float:
        return self.answers / self.elapsed if self.elapsed else 0.0


async def drive(app: Application, feed: Callable[[dict[str, Any]], None], fake: FakeBotApi,  # type: ignore[type-arg]
                result: Result, members: int, in_flight: int,
                checklist_ids: frozenset[str]) -> None:
    """Every member walks; at most ``in_flight`` updates outstanding at once. ``feed`` gets
    each update as Telegram's JSON, as a poller would."""
    handled: dict[int, asyncio.Event] = {}

    async def observe(update: Update, context: Any) -> None:
        handled[update.update_id].set()

    app.add_handler(TypeHandler(Update, observe), group=1_000)
    slots = asyncio.Semaphore(in_flight)
    update_ids = itertools.count(1)
    clock = time.perf_counter

    async def member(user_id: int) -> None:
        person = Member(user_id)
        while True:
            step = next_update(person, next(update_ids), fake, checklist_ids)
            if step is None:
                return
            data, stores_answer = step
            done = handled[data["update_id"]] = asyncio.Event()
            async with slots:
                t0 = clock()
                feed(data)
                await done.wait()
                took = clock() - t0
            result.updates += 1
            if stores_answer:
                result.answers += 1
                result.latencies.append(took)

    start = clock()
    await asyncio.gather(*(member(FIRST_USER_ID + i) for i in range(members)))
    result.elapsed = clock() - start


async def run_plain(workdir: Path, items: list[Item], members: int, in_flight: int,
                    checklist_ids: frozenset[str], *, durable_sqlite: bool) -> Result:
    name = ("ConversationHandler + PicklePersistence + SQLite commit per update"
            if durable_sqlite else "ConversationHandler + PicklePersistence")
    result = Result(name)
    tag = "sqlite" if durable_sqlite else "pickle"
    db = None
    if durable_sqlite:
        db = sqlite3.connect(workdir / f"plain-{tag}.sqlite3", isolation_level="DEFERRED")
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")
        db.execute("CREATE TABLE answers (user_id INTEGER, qid TEXT, value TEXT,"
                   " PRIMARY KEY (user_id, qid))")
    fake = FakeBotApi()
    bot = PlainBot(items, db)
    app = (ApplicationBuilder().token("123456:PLAIN").request(fake).get_updates_request(fake)
           .updater(None).persistence(PicklePersistence(workdir / f"plain-{tag}.pickle"))
           .build())
    app.add_handler(bot.handler())
    errors = ErrorCounter()
    logging.getLogger().addHandler(errors)
    try:
        async with app:
            await app.start()
            try:
                # What PTB's Updater does with getUpdates' JSON: objects on the queue.
                await drive(app, lambda data: app.update_queue.put_nowait(
                    Update.de_json(data, app.bot)), fake, result, members, in_flight,
                    checklist_ids)
            finally:
                await app.stop()
        stored = sum(len(d.get("answers", {})) for d in app.user_data.values())
        result.stored = stored
    finally:
        logging.getLogger().removeHandler(errors)
        if db is not None:
            db.close()
    result.errors = errors.count
    return result


@dataclass(frozen=True)
class Rung:
    name: str
    statement_thread: bool
    group_commit: bool
    chats: int  # 1: one chat at a time


async def run_tusoi(workdir: Path, rung: Rung, members: int, in_flight: int,
                    province: int = 0) -> Result:
    """``province``: that many other members (2% of them per 50-member cell, each cell with an
    open round) already in the database when tusoi starts; the traffic starts once their
    reminders are planned, so what differs is the cost of an answer in a large database."""
    name = f"tusoi: {rung.name}"
    if province:
        name = f"tusoi: default, {province:,} other members in the database"
    result = Result(name)
    path = workdir / f"tusoi-{abs(hash(rung))}-{province}.sqlite3"
    if province:
        await migrate(path)
        await asyncio.to_thread(fill, path, province, 50)
    settings = dataclasses.replace(
        Settings(),
        database=DatabaseSettings(path=str(path), durable=True),
        telegram=dataclasses.replace(TelegramSettings(), token="123456:BENCH-TOKEN",
                                     concurrent_chats=rung.chats),
    )
    db = Database(path, group_commit=rung.group_commit, statement_thread=rung.statement_thread)
    core = build_core(settings, database=db)
    fake = FakeBotApi()
    app = build_application(core, request=fake, rate_limit=False)
    errors = ErrorCounter()
    logging.getLogger().addHandler(errors)
    try:
        async with running(app, poll=False) as inbox:
            while getattr(core.delivery, "_plan_first", False):  # the start's plan, if any
                await asyncio.sleep(0.05)
            await seed_members(core, members)
            checklist_ids = frozenset(q.id for s in core.service.checklist.sections
                                      for q in s.questions)
            arrivals: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

            polling = asyncio.create_task(poll_like_get_updates(arrivals, inbox))
            before = dataclasses.replace(db.stats)
            await drive(app, arrivals.put_nowait, fake, result, members, in_flight,
                        checklist_ids)
            groups = db.stats.groups - before.groups
            transactions = db.stats.transactions - before.transactions
            result.per_commit = transactions / groups if groups else 0.0
            polling.cancel()
            await inbox.idle()
            row = await db.fetch_one("SELECT COUNT(*) FROM answer_history")
            result.stored = int(row[0]) if row else 0
    finally:
        logging.getLogger().removeHandler(errors)
    result.errors = errors.count
    return result


# --------------------------------------------------------------------------- report


def line(result: Result, baseline: Result | None) -> str:
    ratio = f"{result.rate / baseline.rate:5.2f}×" if baseline and baseline.rate else "     "
    commits = f"{result.per_commit:5.1f}" if result.per_commit else "    –"
    return (f"  {result.name:<62} {result.rate:7,.0f} {pct(result.latencies, 50):7.2f}"
            f" {pct(result.latencies, 99):7.2f} {commits} {ratio}")


HEADER = (f"  {'system':<62} {'ans/s':>7} {'p50 ms':>7} {'p99 ms':>7} {'tx/cm':>5} "
          f"{'÷ CH+P':>6}")


def rungs(chats: int) -> list[Rung]:
    return [
        Rung("hand-offs, 1 commit each, 1 chat at a time (≈ before)", True, False, 1),
        Rung("+ no hand-offs", False, False, 1),
        Rung("+ no hand-offs + group commit", False, True, 1),
        Rung(f"+ no hand-offs + group commit + {chats} chats (default)", False, True, chats),
        Rung(f"all but: hand-offs back (group commit, {chats} chats)", True, True, chats),
        Rung(f"all but: 1 commit each (no hand-offs, {chats} chats)", False, False, chats),
        Rung("all but: 1 chat at a time (no hand-offs, group commit)", False, True, 1),
    ]


async def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=200)
    parser.add_argument("--in-flight", type=int, default=16,
                        help="updates outstanding at once (members waiting for a reply)")
    parser.add_argument("--chats", type=int, default=64,
                        help="tusoi's telegram.concurrent_chats for the concurrent rungs")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--only", choices=("default", "all"), default="all",
                        help="default: the two plain bots and tusoi's default only")
    parser.add_argument("--dir", type=Path, default=None, help="where the files go")
    parser.add_argument("--province", type=int, nargs="*", default=[],
                        help="also the default rung on a database already holding this many"
                             " other members (e.g. 1000 100000)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    # ConversationHandler warns that per_message=False does not track callback queries per
    # message: the library's own examples use it so, and so does this bot.
    warnings.filterwarnings("ignore", message="If 'per_message=False'")
    items = checklist_items()
    checklist_ids = frozenset(i.qid for i in items)
    ladder = rungs(args.chats)
    if args.only == "default":
        ladder = [ladder[3]]
    runs: dict[str, list[Result]] = {}
    ok = True
    print("tusoi against a plain PTB bot, and what each lever is worth")
    print(f"  machine   {os.cpu_count()} CPUs ({cpu_model()}), {platform.platform()}")
    print(f"  python    {platform.python_version()}, python-telegram-bot {telegram.__version__},"
          f" SQLite {sqlite3.sqlite_version}")
    print(f"  traffic   {args.members} members × 58 updates (42 answers), {args.in_flight}"
          f" in flight; synchronous=FULL for every SQLite file")
    for repetition in range(args.repeat):
        with tempfile.TemporaryDirectory(prefix="tusoi-levers-", dir=args.dir) as tmp:
            workdir = Path(tmp)
            if repetition == 0:
                print(f"  files     {filesystem(workdir)}")
            results: list[Result] = []
            jobs: list[Callable[[Path], Awaitable[Result]]] = [
                *((lambda w, d=d: run_plain(w, items, args.members, args.in_flight,
                                            checklist_ids, durable_sqlite=d))
                  for d in (False, True)),
                *((lambda w, r=r: run_tusoi(w, r, args.members, args.in_flight))
                  for r in ladder),
                *((lambda w, n=n: run_tusoi(w, rungs(args.chats)[3], args.members,
                                            args.in_flight, province=n))
                  for n in args.province)]
            for job in jobs:
                result = await job(workdir)
                results.append(result)
                if result.errors or result.stored != result.answers:
                    ok = False
                    print(f"  WRONG RUN: {result.name}: {result.errors} errors,"
                          f" {result.stored} stored of {result.answers} answers")
            print(f"\nrun {repetition + 1} of {args.repeat}")
            print(HEADER)
            for result in results:
                print(line(result, results[0]))
                runs.setdefault(result.name, []).append(result)
    if args.repeat > 1:
        print(f"\nmedian of {args.repeat} runs (answers/s; the ratio is of the medians)")
        print(HEADER)
        medians: list[Result] = []
        for results in runs.values():
            rates = [r.rate for r in results]
            middle = sorted(results, key=lambda r: r.rate)[len(results) // 2]
            median = dataclasses.replace(middle, elapsed=middle.answers / statistics.median(rates))
            medians.append(median)
            print(line(median, medians[0]))
        final = medians
    else:
        final = [rs[0] for rs in runs.values()]
    default = next(r for r in final if "(default)" in r.name)
    ratio = default.rate / final[0].rate
    p99 = pct(default.latencies, 99)
    print(f"\ntargets: tusoi ≥ {TARGET_RATIO:.1f}× ConversationHandler + PicklePersistence:"
          f" {ratio:.2f}× {'met' if ratio >= TARGET_RATIO else 'MISSED'};"
          f" p99 ≤ {TARGET_P99_MS:.0f} ms: {p99:.1f} ms"
          f" {'met' if p99 <= TARGET_P99_MS else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
