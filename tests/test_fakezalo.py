"""The fake Zalo Bot API answers what channels.md §2b documents, with its JSON."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
from aiohttp import web

from tests.fakezalo import TOKEN, FakeZalo


async def call(fake: FakeZalo, method: str, params: dict[str, Any] | None = None, *,
               token: str = TOKEN, form: bool = False) -> tuple[int, Any]:
    async with httpx.AsyncClient(timeout=10) as client:
        url = f"{fake.base_url}{token}/{method}"
        if form:
            response = await client.post(url, data=params or {})
        else:
            response = await client.post(url, json=params or {})
    try:
        return response.status_code, response.json()
    except ValueError:
        return response.status_code, response.text


async def test_get_me_and_a_wrong_token() -> None:
    async with FakeZalo() as fake:
        status, body = await call(fake, "getMe")
        assert status == 200 and body["ok"] is True
        assert set(body["result"]) >= {"id", "account_name", "account_type", "can_join_groups"}
        status, body = await call(fake, "getMe", token="1:wrong")
        assert body == {"ok": False, "error_code": 401, "description": body["description"]}


@pytest.mark.parametrize("empty_status", [408, 200])
async def test_an_empty_long_poll_answers_408_in_the_body_with_either_http_status(
    empty_status: int,
) -> None:
    async with FakeZalo(empty_status=empty_status) as fake:
        status, body = await call(fake, "getUpdates", {"timeout": 0.2})
        assert status == empty_status
        assert body == {"ok": False, "error_code": 408, "description": "Request timeout"}


async def test_get_updates_returns_one_event_object_and_forgets_it() -> None:
    async with FakeZalo() as fake:
        user = fake.user("Ted")
        first = fake.user_text(user, "Xin chào")
        fake.user_text(user, "Lần hai")
        status, body = await call(fake, "getUpdates", {"timeout": 1})
        assert status == 200 and body["ok"] is True
        event = body["result"]
        assert isinstance(event, dict) and event["event_name"] == "message.text.received"
        assert event["message"]["message_id"] == first["message"]["message_id"]
        assert event["message"]["chat"] == {"id": user, "chat_type": "PRIVATE"}
        assert event["message"]["from"]["id"] == user and event["message"]["text"] == "Xin chào"
        _, body = await call(fake, "getUpdates", {"timeout": "1"})  # docs: timeout a string
        assert body["result"]["message"]["text"] == "Lần hai"
        _, body = await call(fake, "getUpdates", {"timeout": 0.1})
        assert body["error_code"] == 408  # no acknowledgement: handed out is gone


async def test_send_message_limits_unknown_chats_and_blocked_users() -> None:
    async with FakeZalo() as fake:
        user = fake.user()
        fake.user_text(user, "hi")
        status, body = await call(fake, "sendMessage", {"chat_id": user, "text": "x" * 2000})
        assert status == 200 and body["ok"] and set(body["result"]) == {"message_id", "date"}
        _, body = await call(fake, "sendMessage", {"chat_id": user, "text": "x" * 2001})
        assert body["ok"] is False and body["error_code"] == 400
        _, body = await call(fake, "sendMessage", {"chat_id": user, "text": "😀" * 1001})
        assert body["ok"] is False  # 2,002 UTF-16 units
        _, body = await call(fake, "sendMessage", {"chat_id": user, "text": ""})
        assert body["ok"] is False
        _, body = await call(fake, "sendMessage", {"chat_id": "0" * 20, "text": "hi"})
        assert body["ok"] is False and body["error_code"] == 400
        fake.block(user)
        _, body = await call(fake, "sendMessage", {"chat_id": user, "text": "hi"})
        assert body["ok"] is False and body["error_code"] == 403
        assert fake.texts(user) == ["x" * 2000]
        status, body = await call(fake, "sendMessage", {"chat_id": user, "text": "form"},
                                  form=True)
        assert body["error_code"] == 403  # form-encoded bodies are read as well


async def test_injected_faults_5xx_as_json_or_html_and_ok_false_with_http_200() -> None:
    async with FakeZalo() as fake:
        user = fake.user()
        fake.fail_next("sendMessage", 502, html=True)
        fake.fail_next("sendMessage", 500)
        fake.fail_next("sendMessage", 200, code=-201)
        status, body = await call(fake, "sendMessage", {"chat_id": user, "text": "a"})
        assert status == 502 and "<html>" in body
        status, body = await call(fake, "sendMessage", {"chat_id": user, "text": "a"})
        assert status == 500 and body["ok"] is False
        status, body = await call(fake, "sendMessage", {"chat_id": user, "text": "a"})
        assert status == 200 and body == {"ok": False, "error_code": -201,
                                          "description": "injected error -201"}
        status, body = await call(fake, "sendMessage", {"chat_id": user, "text": "a"})
        assert body["ok"] is True
        assert [c.injected for c in fake.calls("sendMessage")] == [True, True, True, False]


async def test_set_webhook_checks_url_and_secret_and_info_answers_404_without_one() -> None:
    async with FakeZalo(allow_local_webhook=False) as fake:
        _, body = await call(fake, "getWebhookInfo")
        assert body["ok"] is False and body["error_code"] == 404
        for url, secret in (("https://tusoi.example.vn/zalo/webhook", "short"),
                            ("http://tusoi.example.vn/zalo/webhook", "long-enough-secret"),
                            ("https://127.0.0.1/zalo/webhook", "long-enough-secret"),
                            ("https://192.168.1.2/zalo/webhook", "long-enough-secret")):
            _, body = await call(fake, "setWebhook", {"url": url, "secret_token": secret})
            assert body["ok"] is False, url
        _, body = await call(fake, "setWebhook", {"url": "https://tusoi.example.vn/zalo/webhook",
                                                  "secret_token": "x" * 256})
        assert body["ok"] and body["result"]["url"] == "https://tusoi.example.vn/zalo/webhook"
        _, body = await call(fake, "getWebhookInfo")
        assert body["result"]["url"] == "https://tusoi.example.vn/zalo/webhook"
        _, body = await call(fake, "getUpdates", {"timeout": 0.1})
        assert body["ok"] is False  # no polling while a webhook is set
        _, body = await call(fake, "deleteWebhook")
        assert body["ok"] and body["result"]["url"] == ""
        _, body = await call(fake, "getWebhookInfo")
        assert body["error_code"] == 404


async def test_webhook_delivery_in_both_shapes_with_the_secret_header() -> None:
    received: list[tuple[str | None, Any]] = []

    async def endpoint(request: web.Request) -> web.Response:
        received.append((request.headers.get("X-Bot-Api-Secret-Token"), await request.json()))
        return web.json_response({"ok": True}, status=200 if len(received) > 1 else 500)

    app = web.Application()
    app.router.add_post("/hook", endpoint)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        async with FakeZalo(webhook_retry_delay=0.01) as fake:
            await call(fake, "setWebhook", {"url": f"http://127.0.0.1:{port}/hook",
                                            "secret_token": "secret-of-the-test"})
            user = fake.user()
            event = fake.user_text(user, "Xin chào")  # the first POST answers 500: again
            await fake.wait_for(lambda: len(received) == 2)
            fake.user_text(user, "Trần trụi", shape="bare")
            await fake.wait_for(lambda: len(received) == 3)
    finally:
        await runner.cleanup()
    assert [secret for secret, _ in received] == ["secret-of-the-test"] * 3
    assert received[0][1] == {"ok": True, "result": event} == received[1][1]
    bare = received[2][1]
    assert bare["event_name"] == "message.text.received" and "ok" not in bare
    assert [d.status for d in fake.deliveries] == [500, 200, 200]


async def test_send_photo_fetches_its_url_like_zalos_servers() -> None:
    png = b"\x89PNG\r\n\x1a\nfake"

    async def picture(request: web.Request) -> web.Response:
        if request.match_info["name"] == "ok.png":
            return web.Response(body=png, content_type="image/png")
        return web.Response(text="gone", status=404)

    app = web.Application()
    app.router.add_get("/p/{name}", picture)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    port = runner.addresses[0][1]
    try:
        async with FakeZalo() as fake:
            user = fake.user()
            _, body = await call(fake, "sendPhoto", {
                "chat_id": user, "photo": f"http://127.0.0.1:{port}/p/ok.png", "caption": "Trang 1"})
            assert body["ok"] is True
            _, body = await call(fake, "sendPhoto", {
                "chat_id": user, "photo": f"http://127.0.0.1:{port}/p/gone.png"})
            assert body["ok"] is False and body["error_code"] == 400
    finally:
        await runner.cleanup()
    [photo] = fake.photos(user)
    assert photo.photo == png and photo.text == "Trang 1" and photo.content_type == "image/png"


async def test_a_held_call_waits_until_released() -> None:
    async with FakeZalo() as fake:
        user = fake.user()
        hold = fake.hold("sendMessage")
        pending = asyncio.create_task(call(fake, "sendMessage", {"chat_id": user, "text": "a"}))
        await asyncio.wait_for(hold.reached.wait(), 5)
        assert not pending.done() and fake.texts(user) == []
        hold.release()
        _, body = await pending
        assert body["ok"] is True and fake.texts(user) == ["a"]
        assert json.dumps(body)
