"""Running a province on PostgreSQL, piece by piece (the soak, ``tests/test_soak.py``, runs
them all together as processes): the ingress's checks, one chat held by one worker at a time,
and one sender per bot token that another worker replaces when it stops."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from bot.config import (
    ReminderConfig, Settings, StorageSettings, TelegramSettings, WebSettings, ZaloSettings,
)
from bot.delivery import Notice
from handlers.cli import main
from handlers.web import TELEGRAM_SECRET_HEADER, ZaloToInbox, build_web_app
from handlers.wiring import Core, build_core
from handlers.worker import Worker, leader_key, run_worker
from storage.chats import MAX_ATTEMPTS, ChatClaims
from storage.inbox import Arrival, InboxStore
from storage.pg import PgDatabase
from tests.conftest import FixedClock, make_settings
from tests.fakebotapi import FakeBotApi
from tests.fakezalo import TOKEN as ZALO_TOKEN
from tests.fakezalo import FakeZalo
from tests.pgserver import fresh_database

PATH, SECRET = "p4th", "s3cret-token"
ZALO_SECRET = "zalo-s3cret-token"


def province_settings(tmp_path: Path, url: str, api: FakeBotApi | None = None) -> Settings:
    settings = make_settings(tmp_path)
    telegram = dataclasses.replace(settings.telegram, webhook_path=PATH, webhook_secret=SECRET)
    if api is not None:
        telegram = dataclasses.replace(telegram, base_url=api.base_url,
                                       base_file_url=api.base_file_url)
    return dataclasses.replace(
        settings, storage=StorageSettings(url=url, pool_size=6), telegram=telegram,
        reminders=dataclasses.replace(ReminderConfig(), check_seconds=1,
                                      quiet_start="00:00", quiet_end="00:00"))


@pytest.fixture
async def core(tmp_path: Path) -> AsyncIterator[Core]:
    made = build_core(province_settings(tmp_path, fresh_database()), FixedClock())
    await made.open()
    try:
        yield made
    finally:
        await made.close()


def update(update_id: int, chat: int, text: str = "1") -> dict[str, object]:
    return {"update_id": update_id, "message": {
        "message_id": update_id, "date": 0, "text": text,
        "chat": {"id": chat, "type": "private", "first_name": "Bình"},
        "from": {"id": chat, "is_bot": False, "first_name": "Bình"}}}


async def test_the_ingress_checks_path_and_secret_before_storing_once(core: Core) -> None:
    body = json.dumps(update(41, 9001))
    good = {TELEGRAM_SECRET_HEADER: SECRET}
    single = httpx.ASGITransport(app=build_web_app(core))  # `tusoi run`'s app: no such route
    async with httpx.AsyncClient(transport=single, base_url="http://bot") as client:
        assert (await client.post(f"/tg/{PATH}", content=body, headers=good)).status_code == 404
    transport = httpx.ASGITransport(app=build_web_app(core, telegram_webhook=True))
    async with httpx.AsyncClient(transport=transport, base_url="http://ingress") as client:
        assert (await client.post("/tg/wrong", content=body, headers=good)).status_code == 404
        assert (await client.post(f"/tg/{PATH}", content=body)).status_code == 401
        wrong = {TELEGRAM_SECRET_HEADER: "guess"}
        assert (await client.post(f"/tg/{PATH}", content=body, headers=wrong)).status_code == 403
        assert await InboxStore(core.db).pending("telegram") == []
        assert (await client.post(f"/tg/{PATH}", content=b"{nope", headers=good)).status_code == (
            400)
        assert (await client.post(f"/tg/{PATH}", content=b'{"x": 1}',
                                  headers=good)).status_code == 400
        first = await client.post(f"/tg/{PATH}", content=body, headers=good)
        again = await client.post(f"/tg/{PATH}", content=body, headers=good)  # redelivered
        assert first.json() == {"ok": True, "result": {"stored": 1}}
        assert again.json() == {"ok": True, "result": {"stored": 0}}
        assert (await client.get("/healthz")).json() == {"ok": True}
    pending = await InboxStore(core.db).pending("telegram")
    assert [(r.update_key, r.chat_key) for r in pending] == [("41", "9001")]


async def test_a_chat_is_held_by_one_worker_until_it_lets_go(core: Core) -> None:
    assert isinstance(core.db, PgDatabase)
    store = InboxStore(core.db)
    async with core.db.transaction():
        await store.add("telegram", [Arrival("1", "a", "{}"), Arrival("2", "b", "{}"),
                                     Arrival("3", "a", "{}")], core.clock.now())
    first, second = ChatClaims(core.db), ChatClaims(core.db)
    async with first.claim(["telegram"]) as held:
        assert held is not None and held.chat_key == "a"  # the oldest pending update's chat
        assert [r.update_key for r in await first.pending(held)] == ["1", "3"]
        async with second.claim(["telegram"]) as other:
            assert other is not None and other.chat_key == "b"  # "a" is taken: skipped
            async with ChatClaims(core.db).claim(["telegram"]) as third:
                assert third is None
        for row in await first.pending(held):
            assert await first.hand_over(row.id) == 1
            await first.done(row.id, core.clock.now())
    async with second.claim(["telegram"]) as again:
        assert again is not None and again.chat_key == "b"


async def test_a_worker_killed_mid_chat_leaves_it_to_the_next(core: Core) -> None:
    """A claim whose connection dies (the process was killed) is released by PostgreSQL;
    the rows not marked done are handed over again, counted."""
    assert isinstance(core.db, PgDatabase)
    async with core.db.transaction():
        await InboxStore(core.db).add("telegram", [Arrival("7", "a", "{}")], core.clock.now())
    doomed = PgDatabase(core.db.url, max_size=2)
    await doomed.open()
    claims = ChatClaims(doomed)
    async with claims.claim(["telegram"]) as held:
        assert held is not None
        assert await claims.hand_over((await claims.pending(held))[0].id) == 1
        pid = (await (await held.conn.execute("SELECT pg_backend_pid() AS pid")).fetchone())["pid"]
        async with ChatClaims(core.db).claim(["telegram"]) as blocked:
            assert blocked is None
        await core.db.execute("SELECT pg_terminate_backend(?)", (pid,))  # as a SIGKILL would
        with pytest.raises(Exception):  # noqa: B017 - the dead connection's own error
            await held.conn.execute("SELECT 1")
    await doomed.close()
    next_worker = ChatClaims(core.db)
    async with next_worker.claim(["telegram"]) as taken:
        assert taken is not None and taken.chat_key == "a"
        rows = await next_worker.pending(taken)
        assert [(r.update_key, r.attempts) for r in rows] == [("7", 1)]


async def test_an_update_that_keeps_killing_workers_is_set_aside(core: Core) -> None:
    """A row handed over MAX_ATTEMPTS times already (each worker that took it died) is set
    aside the next time instead of being handled (its payload dropped, as the single process
    does at start-up); so is a row no worker can read. Neither reaches the Application."""
    from handlers.tg.app import build_application

    assert isinstance(core.db, PgDatabase)
    store = InboxStore(core.db)
    async with core.db.transaction():
        await store.add("telegram", [Arrival("50", "9001", json.dumps(update(50, 9001))),
                                     Arrival("51", "9001", "not json")],
                        core.clock.now())
    await core.db.execute("UPDATE inbox SET attempts = ? WHERE update_key = '50'",
                          (MAX_ATTEMPTS,))
    worker = Worker(core, build_application(core, delivery=False), worker_id=1, slots=1)
    async with worker.claims.claim(["telegram"]) as held:
        assert held is not None
        await worker._handle_chat(held)
    rows = await core.db.fetch_all("SELECT update_key, state, attempts, payload IS NULL AS gone"
                                   " FROM inbox ORDER BY id")
    assert [(r["update_key"], r["state"], r["attempts"], r["gone"]) for r in rows] == [
        ("50", "failed", MAX_ATTEMPTS + 1, True), ("51", "failed", 1, True)]
    assert worker.handled == 0


async def test_one_worker_sends_and_another_takes_over_when_it_stops(tmp_path: Path) -> None:
    url = fresh_database()
    async with FakeBotApi() as api:
        settings = province_settings(tmp_path, url, api)
        cores = [build_core(settings) for _ in range(2)]
        setup = cores[0]
        await setup.open()
        now = datetime.now(UTC)
        async with setup.store.transaction():
            cell = await setup.store.add_cell("Phòng Một", "", "", now)
            member = await setup.store.add_member(cell, "Trần Thị Bình", now)
            await setup.store.add_round(cell, 2026, "Kiểm điểm", date.today() + timedelta(30),
                                        date.today() + timedelta(20), now)
            await setup.store.link_account("telegram", "9100", member, now)
        await setup.close()
        api.user_text(9100, "xin chào")  # the chat exists for the fake server
        stops = [asyncio.Event(), asyncio.Event()]
        runs = [asyncio.create_task(run_worker(c, s, worker_id=n + 1, slots=2,
                                               leader_retry_seconds=0.2))
                for n, (c, s) in enumerate(zip(cores, stops, strict=True))]

        async def leaders() -> list[int]:
            return [n for n, c in enumerate(cores) if c.delivery._task is not None]

        async def notice(core: Core, text: str) -> None:
            async with core.store.transaction():
                await core.store.enqueue([Notice(member, "review/new_point",
                                                 {"text": text})], datetime.now(UTC))

        try:
            await api.wait_for(lambda: len(api.calls("setMyCommands")) >= 2, 20)
            for _ in range(100):
                if await leaders():
                    break
                await asyncio.sleep(0.1)
            first = await leaders()
            assert len(first) == 1
            def sent(words: str) -> int:
                return sum(words in c.params["text"] for c in api.calls("sendMessage"))

            await notice(cores[1 - first[0]], "một")
            # the round's invitation (a reminder) and the notice, once each
            await api.wait_for(lambda: sent("mục IV") == 1 and sent("đã bắt đầu") == 1, 20)
            stops[first[0]].set()  # the leader stops; the other takes the lock over
            await runs[first[0]]
            for _ in range(100):
                if await leaders() == [1 - first[0]]:
                    break
                await asyncio.sleep(0.1)
            assert await leaders() == [1 - first[0]]
            await notice(cores[1 - first[0]], "hai")
            await api.wait_for(lambda: sent("mục IV") == 2, 20)
            await asyncio.sleep(1.5)  # a second sender, or a second invitation, would show now
            assert (sent("mục IV"), sent("đã bắt đầu")) == (2, 1)
        finally:
            for stop in stops:
                stop.set()
            await asyncio.gather(*runs, return_exceptions=True)
    assert leader_key("123456:TEST-TOKEN") != leader_key("654321:OTHER")


async def test_zalos_webhook_goes_through_the_ingress_to_a_worker(tmp_path: Path) -> None:
    """Zalo in a province: the ingress stores the webhook's event, a worker claims the chat
    and the real Zalo adapter answers; a redelivered event is stored once."""
    url = fresh_database()
    async with FakeBotApi() as api, FakeZalo() as fake:
        settings = province_settings(tmp_path, url, api)
        settings = dataclasses.replace(settings, zalo=dataclasses.replace(
            ZaloSettings(), token=ZALO_TOKEN, base_url=fake.base_url, mode="webhook",
            webhook_secret=ZALO_SECRET, public_base_url="http://127.0.0.1:9",
            reply_retry_ms=[20], rate_per_second=1000))
        ingress, worker_core = build_core(settings), build_core(settings)
        await ingress.open()
        user = fake.user("Bình")
        now = datetime.now(UTC)
        async with ingress.store.transaction():
            cell = await ingress.store.add_cell("Phòng Một", "", "", now)
            member = await ingress.store.add_member(cell, "Trần Thị Bình", now)
            await ingress.store.add_round(cell, 2026, "Kiểm điểm", date.today() + timedelta(30),
                                          date.today() + timedelta(20), now, "form-2025")
            await ingress.store.link_account("zalo", user, member, now)
        stop = asyncio.Event()
        run = asyncio.create_task(run_worker(worker_core, stop, worker_id=1, slots=2))
        try:
            app = build_web_app(ingress, zalo=ZaloToInbox(ingress), telegram_webhook=True)
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                         base_url="http://ingress") as client:
                event = fake.event(user, "message.text.received", text="1")
                for _ in range(2):  # Zalo retries a webhook call: stored once
                    response = await client.post(
                        "/zalo/webhook", json=FakeZalo.body(event),
                        headers={"X-Bot-Api-Secret-Token": ZALO_SECRET})
                    assert response.status_code == 200
            await fake.wait_for(lambda: any("Đã chọn" in t for t in fake.texts(user)), 30)
            history = await ingress.db.fetch_all(
                "SELECT h.qid, h.value FROM answer_history h JOIN reviews v ON v.id = h.review_id"
                " WHERE v.member_id = ?", (member,))
            assert [(r["qid"], r["value"]) for r in history] == [("g1-01", "absent")]
        finally:
            stop.set()
            await run
            await ingress.close()


def test_ingress_and_worker_need_postgresql(tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "tusoi.toml"
    config.write_text(f'[database]\npath = "{tmp_path / "t.sqlite3"}"\n'
                      '[telegram]\ntoken = "1:T"\n', encoding="utf-8")
    assert main(["ingress", "--config", str(config)]) == 2
    assert "cần PostgreSQL" in capsys.readouterr().err
    assert main(["worker", "--id", "1", "--config", str(config)]) == 2
    assert "cần PostgreSQL" in capsys.readouterr().err
    pg = tmp_path / "pg.toml"
    pg.write_text('[storage]\nurl = "postgresql://nobody@127.0.0.1:1/none"\n', encoding="utf-8")
    assert main(["backup", str(tmp_path / "b.sqlite3"), "--config", str(pg)]) == 1
    assert "pg_dump" in capsys.readouterr().err
    assert isinstance(Settings().web, WebSettings) and TelegramSettings().webhook_path == ""


async def test_a_worker_started_while_telegram_fails_waits_for_it(tmp_path: Path) -> None:
    """A worker restarted while Telegram (or the machine) is slow used to exit with code 1 at
    its first failed getMe (seen once in the soak under load); it now tries again until
    Telegram answers, and a stop meanwhile ends it cleanly."""
    url = fresh_database()
    async with FakeBotApi() as api:
        settings = province_settings(tmp_path, url, api)
        api.fail_next("getMe", status=502, times=2)
        api.fail_next("setMyCommands", status=502)  # the menu: a convenience, never fatal
        stop = asyncio.Event()
        core = build_core(settings)
        run = asyncio.create_task(run_worker(core, stop, worker_id=1, slots=2))
        try:
            for _ in range(200):  # started: it leads the sending
                if core.delivery._task is not None or run.done():
                    break
                await asyncio.sleep(0.05)
            assert core.delivery._task is not None and not run.done()
            assert len(api.calls("getMe")) == 3  # two failures, then the answer
        finally:
            stop.set()
            await asyncio.wait_for(run, 30)  # returns: no exception, no exit

        api.fail_next("getMe", status=502, times=1000)
        stop = asyncio.Event()
        run = asyncio.create_task(run_worker(build_core(settings), stop, worker_id=2, slots=2))
        await api.wait_for(lambda: len(api.calls("getMe")) >= 5, 20)
        stop.set()
        await asyncio.wait_for(run, 10)  # stopped while waiting for Telegram: ends cleanly
