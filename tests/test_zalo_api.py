"""The Zalo client and transport against the fake server: the envelope, the empty poll, the
error mapping to the delivery seam, and replies cut at 2,000 characters without cutting a
word, a number or a «keyword»."""

from __future__ import annotations

import asyncio
import re
import shutil
import unicodedata
from pathlib import Path

import httpx
import pytest

from bot.delivery import Outcome
from bot.screens import Screen
from handlers.render import Renderer
from handlers.zalo.api import TEXT_LIMIT, ZaloApi, ZaloError, outcome
from handlers.zalo.send import ZaloTransport, text_chunks
from tests.conftest import REPO
from tests.fakezalo import TOKEN, FakeZalo


def units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


@pytest.mark.parametrize("empty_status", [408, 200])
async def test_an_empty_poll_is_no_event_with_either_http_status(empty_status: int) -> None:
    async with FakeZalo(empty_status=empty_status) as fake:
        api = ZaloApi(TOKEN, fake.base_url)
        try:
            assert await api.get_updates(timeout=0) is None  # type: ignore[arg-type]
            user = fake.user()
            sent = fake.user_text(user, "Xin chào")
            event = await api.get_updates(timeout=1)
            assert event == sent and await api.get_webhook_info() is None
            assert (await api.get_me())["account_name"] == "bot.tusoi"
        finally:
            await api.close()


async def test_errors_map_to_the_delivery_seam() -> None:
    async with FakeZalo() as fake:
        api = ZaloApi(TOKEN, fake.base_url, timeout=0.5)
        user = fake.user()

        async def send(text: str = "chào") -> Outcome:
            try:
                await api.send_message(user, text)
            except (ZaloError, httpx.HTTPError) as exc:
                return outcome(exc).outcome
            return Outcome.SENT

        try:
            assert await send() is Outcome.SENT
            fake.fail_next("sendMessage", 502, html=True)  # a proxy's page, not JSON
            assert await send() is Outcome.RETRY
            fake.fail_next("sendMessage", 503)
            assert await send() is Outcome.RETRY
            fake.fail_next("sendMessage", 200, code=-32)  # HTTP 200, ok:false, unknown code
            assert await send() is Outcome.RETRY
            assert await send("x" * (TEXT_LIMIT + 1)) is Outcome.REJECTED
            hold = fake.hold("sendMessage")  # taken, but the answer never comes in time
            assert await send() is Outcome.UNCERTAIN
            hold.release()
            fake.block(user)
            assert await send() is Outcome.BLOCKED
        finally:
            await api.close()
        dead = ZaloApi(TOKEN, "http://127.0.0.1:9/bot")  # nothing listens: never sent
        try:
            with pytest.raises(httpx.ConnectError) as caught:
                await dead.send_message(user, "chào")
            assert outcome(caught.value).outcome is Outcome.RETRY
        finally:
            await dead.close()
        bad = ZaloApi("1:wrong", fake.base_url)
        try:
            with pytest.raises(ZaloError) as refused:
                await bad.get_me()
            assert refused.value.kind == 401 and "wrong" not in str(refused.value)
        finally:
            await bad.close()


async def test_the_transport_sends_a_long_screen_in_pieces_the_fake_accepts(
    tmp_path: Path,
) -> None:
    (tmp_path / "messages" / "test").mkdir(parents=True)
    shutil.copy(REPO / "templates" / "labels.toml", tmp_path / "labels.toml")
    (tmp_path / "messages" / "test" / "long.html.j2").write_text(
        "<b>Đã ghi</b> &amp; lưu:\n{{ text }}", encoding="utf-8")
    renderer = Renderer(tmp_path)
    long_answer = " ".join(f"việc {n}: 1.234.567 đồng «giữ nguyên» https://x.vn/a{n}"
                           for n in range(200))
    async with FakeZalo() as fake:
        api = ZaloApi(TOKEN, fake.base_url)
        user = fake.user()
        transport = ZaloTransport(api, renderer, None, rate_per_second=100)
        try:
            screen = Screen("test/long", {"text": long_answer})
            delivery = await transport.send(user, screen)
        finally:
            await api.close()
    assert delivery.outcome is Outcome.SENT
    pieces = fake.texts(user)
    assert len(pieces) > 1 and all(units(p) <= TEXT_LIMIT for p in pieces)
    assert "".join(pieces).count("1.234.567") == 200  # every number whole
    assert pieces[0].startswith("Đã ghi & lưu:")  # plain text: no tags, no entities
    assert re.sub(r"\s+", " ", " ".join(pieces)) == re.sub(
        r"\s+", " ", renderer.plain(screen))


def test_chunks_never_cut_a_word_a_number_or_a_keyword() -> None:
    words = ["Nguyễn", "1.234.567,89", "«giữ", "nguyên»", "https://tusoi.example.vn/d/abc",
             "😀😀", "biểu\u00a0hiện", "đ"]
    text = "\n".join(" ".join(words[(i + j) % len(words)] for j in range(i % 13 + 1))
                     for i in range(400))
    pieces = text_chunks(text)
    assert len(pieces) > 2
    assert all(0 < units(p) <= TEXT_LIMIT for p in pieces)
    assert [w for p in pieces for w in p.split()] == text.split()


def test_chunks_prefer_a_blank_line_then_a_line_then_a_space() -> None:
    paragraph = "a" * 900
    assert text_chunks(f"{paragraph}\n\n{paragraph}\n{paragraph}") == [
        f"{paragraph}\n\n{paragraph}", paragraph]
    assert text_chunks("x " * 1500) == [("x " * 1000).strip(), ("x " * 500).strip()]
    assert text_chunks("  ") == [] and text_chunks("ngắn") == ["ngắn"]


def test_only_an_unbroken_run_longer_than_a_message_is_cut_and_never_before_a_mark() -> None:
    run = ("a\u0301" * 1500)  # letters with a combining accent, no space anywhere
    pieces = text_chunks(run)
    assert "".join(pieces) == run
    assert all(units(p) <= TEXT_LIMIT and not unicodedata.combining(p[0]) for p in pieces)
    emoji = "😀" * 1500  # two UTF-16 units each
    assert [units(p) for p in text_chunks(emoji)] == [2000, 1000]


async def test_replies_are_paced_by_the_overall_rate() -> None:
    async with FakeZalo() as fake:
        api = ZaloApi(TOKEN, fake.base_url)
        user = fake.user()
        transport = ZaloTransport(api, Renderer(), None, rate_per_second=20)
        loop = asyncio.get_running_loop()
        try:
            start = loop.time()
            for _ in range(30):
                await transport.send(user, Screen("common/help"))
            took = loop.time() - start
        finally:
            await api.close()
    assert len(fake.texts(user)) == 30
    assert took >= 0.4  # 30 messages at 20 a second: the burst of 20, then 10 more
