"""The Zalo adapter in-process, over real HTTP against the fake Zalo: linking by typing,
typed answers, the webhook's refusals, redelivered events, content Zalo cannot show, replies
that fail, a member who blocks the bot, and a draft delivered as a one-time link."""

from __future__ import annotations

import io
import json
import re
import sqlite3
import time
from pathlib import Path

import docx
import httpx
import pytest

from handlers import preview
from tests.fakezalo import FakeZalo
from tests.zalohelpers import LINK, SECRET, ZaloBotHarness, running_zalo_bot, walk_to_summary


async def linked(h: ZaloBotHarness, name: str = "Bình", member_id: int | None = None) -> str:
    user = h.fake.user(name)
    code = h.seed.codes[member_id or h.seed.member_id]
    shown = await h.say(user, f"liên kết {code.lower()}")
    assert "Đã liên kết tài khoản" in shown and "Tự soi 1/27" in shown, shown
    return user


async def test_a_zalo_member_links_by_typing_and_answers_by_number(tmp_path: Path) -> None:
    async with running_zalo_bot(tmp_path) as h:
        stranger = h.fake.user("Lạ")
        shown = await h.say(stranger, "Xin chào")
        assert "chưa được liên kết" in shown and "liên kết MÃMỜI" in shown
        user = await linked(h)
        question = h.fake.texts(user)[-1]
        assert "1. Không có biểu hiện" in question and "Gõ số." in question
        assert "bấm" not in question.lower()  # no buttons on Zalo: every choice is typed
        shown = await h.say(user, "2")
        assert "Đã chọn: Có biểu hiện ở mức độ nhẹ" in shown and "Hỏi thêm" in shown
        shown = await h.say(user, "quay lại")
        assert "Biểu hiện 1.1" in shown
        rows = await h.core.db.fetch_all(
            "SELECT channel, external_id FROM accounts WHERE member_id = ?", (h.seed.member_id,))
        assert [tuple(r) for r in rows] == [("zalo", user)]


async def test_images_stickers_voice_and_unsupported_content_get_a_polite_reply(
    tmp_path: Path,
) -> None:
    async with running_zalo_bot(tmp_path) as h:
        user = await linked(h)
        for push, word in ((h.fake.user_image, "ảnh"), (h.fake.user_sticker, "nhãn dán"),
                           (h.fake.user_voice, "tin nhắn thoại"),
                           (h.fake.user_unsupported, "nội dung này")):
            replies = "\n".join(await h.settle(push(user)))
            assert f"chưa đọc được {word}" in replies and "gõ số" in replies, replies
        assert await h.count("answers") == 0


async def test_a_group_chat_gets_no_personal_content(tmp_path: Path) -> None:
    async with running_zalo_bot(tmp_path) as h:
        user = await linked(h)
        group = h.fake.user("Nhóm chi bộ")
        event = h.fake.push(h.fake.event(user, "message.text.received", text="1",
                                         chat_id=group, chat_type="GROUP"))
        [reply] = await h.settle(event)
        assert "trò chuyện riêng" in reply or "riêng" in reply, reply
        assert await h.count("answers") == 0


@pytest.mark.parametrize("shape", ["wrapped", "bare"])
async def test_webhook_mode_takes_both_body_shapes_and_a_redelivery_once(
    tmp_path: Path, shape: str,
) -> None:
    async with running_zalo_bot(tmp_path, mode="webhook") as h:
        assert h.fake.webhook is not None and h.fake.webhook["secret_token"] == SECRET
        user = h.fake.user("Bình")
        code = h.seed.codes[h.seed.member_id]
        shown = "\n".join(await h.settle(h.fake.user_text(user, f"liên kết {code}", shape=shape)))
        assert "Tự soi 1/27" in shown
        answer = h.fake.user_text(user, "1", shape=shape)
        assert "Biểu hiện 1.2" in "\n".join(await h.settle(answer))
        before = len(h.fake.texts(user))
        h.fake.redeliver(answer["message"]["message_id"], shape=shape)
        await h.fake.wait_for(lambda: len(h.fake.deliveries) >= 3)
        assert "Biểu hiện 1.3" in await h.say(user, "1", shape=shape)  # after the duplicate
        assert h.handled[answer["message"]["message_id"]] == 1  # stored once, handled once
        assert await h.count("answer_history") == 2
        assert not any("Biểu hiện 1.3" in t for t in h.fake.texts(user)[before:-2])
        assert all(d.status == 200 for d in h.fake.deliveries)


async def test_the_webhook_refuses_before_anything_reaches_the_core(tmp_path: Path) -> None:
    async with running_zalo_bot(tmp_path, mode="webhook") as h:
        user = h.fake.user("Bình")
        event = h.fake.event(user, "message.text.received", text="liên kết " +
                             h.seed.codes[h.seed.member_id])
        url = f"{h.base}/zalo/webhook"
        body = json.dumps(FakeZalo.body(event))
        async with httpx.AsyncClient() as client:
            async def post(content: str, secret: str | None) -> httpx.Response:
                headers = {"Content-Type": "application/json"}
                if secret is not None:
                    headers["X-Bot-Api-Secret-Token"] = secret
                return await client.post(url, content=content, headers=headers)

            missing = await post(body, None)
            wrong = await post(body, SECRET + "x")
            malformed = await post("{not json", SECRET)
            not_event = await post(json.dumps({"ok": True, "result": []}), SECRET)
            no_ids = await post(json.dumps({"event_name": "message.text.received",
                                            "message": {"text": "x"}}), SECRET)
            unknown = await post(json.dumps({**FakeZalo.body(event), "result": {
                **event, "event_name": "message.reaction.received"}}), SECRET)
            health = await client.get(f"{h.base}/healthz")
        assert (missing.status_code, wrong.status_code) == (401, 403)
        assert malformed.status_code == not_event.status_code == no_ids.status_code == 400
        assert unknown.status_code == 422
        for refused in (missing, wrong, malformed, unknown):
            assert refused.json()["ok"] is False and refused.json()["description"]
        assert health.json() == {"ok": True}
        # Nothing was stored, nothing reached the core.
        assert await h.count("inbox") == 0 and await h.count("processed_events") == 0
        assert await h.count("accounts", "channel = 'zalo'") == 0
        assert h.fake.texts(user) == [] and not h.fake.calls("sendMessage")


async def test_a_reply_is_retried_after_5xx_and_ok_false_then_delivered(tmp_path: Path) -> None:
    async with running_zalo_bot(tmp_path) as h:
        user = await linked(h)
        h.fake.fail_next("sendMessage", 502, html=True, chat_id=user)
        h.fake.fail_next("sendMessage", 200, code=-1, chat_id=user)
        shown = await h.say(user, "1")
        assert "Biểu hiện 1.2" in shown and "Đã chọn" in shown
        tries = [c for c in h.fake.calls("sendMessage") if c.params["chat_id"] == user]
        assert [c.injected for c in tries[-4:]] == [True, True, False, False]
        assert await h.count("answer_history") == 1


async def test_a_reply_that_keeps_failing_is_reported_and_the_member_told_where_they_stand(
    tmp_path: Path,
) -> None:
    async with running_zalo_bot(tmp_path) as h:
        user = await linked(h)
        h.fake.fail_next("sendMessage", 503, times=4, chat_id=user)  # the first try + 3 retries
        assert await h.say(user, "1") == ""  # nothing reached the member
        assert await h.count("reviews", "reply_lost = 1") == 1
        shown = await h.say(user, "1")  # typed again: not applied to a question not seen
        assert "Đã ghi câu 1.1: Không có biểu hiện" in shown and "Câu tiếp theo" in shown
        assert "Biểu hiện 1.2" in shown
        assert await h.count("answer_history") == 1


async def test_a_member_who_blocks_the_bot_is_not_retried_and_comes_back(
    tmp_path: Path,
) -> None:
    async with running_zalo_bot(tmp_path) as h:
        user = await linked(h)
        h.fake.block(user)
        calls = len(h.fake.calls("sendMessage"))
        await h.say(user, "1")
        assert len(h.fake.calls("sendMessage")) == calls + 1  # a block is final: no retry
        assert await h.count("reviews", "reply_lost = 1") == 1
        h.fake.unblock(user)
        shown = await h.say(user, "/tieptuc")
        assert "Đã ghi câu 1.1" in shown and "Biểu hiện 1.2" in shown


async def fetch(url: str) -> httpx.Response:
    async with httpx.AsyncClient() as client:
        return await client.get(url)


async def test_tai_lai_counts_as_using_the_zalo_account(tmp_path: Path) -> None:
    """«tải lại» is answered by the adapter, before the core; it still marks the Zalo
    account as the one used last, so the member's notices follow them to Zalo."""
    async with running_zalo_bot(tmp_path, previews=False) as h:
        user = await linked(h)
        await h.core.db.execute("UPDATE accounts SET last_seen_at = NULL WHERE channel = 'zalo'")
        assert "chưa nộp bản kiểm điểm nào" in await h.say(user, "tải lại")
        [row] = await h.core.db.fetch_all(
            "SELECT last_seen_at FROM accounts WHERE channel = 'zalo'")
        assert row[0] is not None


async def test_the_draft_arrives_as_a_one_time_link_and_tai_lai_gives_a_new_one(
    tmp_path: Path,
) -> None:
    async with running_zalo_bot(tmp_path, previews=False, link_max_downloads=2) as h:
        user = await linked(h)
        assert "chưa nộp bản kiểm điểm nào" in await h.say(user, "tải lại")
        summary = await walk_to_summary(lambda text: h.say(user, text), h.fake.texts(user)[-1])
        assert "82/100" in summary
        shown = await h.say(user, "nộp")
        assert "Đã nộp" in shown and not h.fake.photos(user)  # previews off: the link alone
        [url] = LINK.findall(shown)
        assert url.startswith(h.base) and "dùng được 2 lần" in shown and "tải lại" in shown
        token = url.rsplit("/", 1)[1]
        stored = await h.core.db.fetch_all("SELECT token_hash, review_id, version"
                                                       " FROM downloads")
        assert [tuple(r)[1:] for r in stored] == [(await review_id(h), 1)]
        assert token not in str([tuple(r) for r in stored])  # only the hash is kept

        first = await fetch(url)
        assert first.status_code == 200
        assert first.headers["content-type"].startswith("application/vnd.openxmlformats")
        assert first.headers["cache-control"] == "no-store"
        assert first.headers["referrer-policy"] == "no-referrer"
        assert "noindex" in first.headers["x-robots-tag"]
        filename = "ban-kiem-diem-2026-tran-thi-binh-v1.docx"
        assert f"filename*=UTF-8''{filename}" in first.headers["content-disposition"]
        text = "\n".join(p.text for p in docx.Document(io.BytesIO(first.content)).paragraphs)
        assert "Trần Thị Bình" in text and "BẢN KIỂM ĐIỂM" in text
        assert (await fetch(url)).status_code == 200
        used_up = await fetch(url)  # the third download: the limit is 2
        assert used_up.status_code == 404 and "tải lại" in used_up.text
        log = await h.core.db.fetch_all(
            "SELECT actor_id, action, target_id FROM access_log WHERE action = 'download'")
        assert [tuple(r) for r in log] == [(h.seed.member_id, "download", h.seed.member_id)] * 2

        shown = await h.say(user, "Tải lại")
        [fresh] = LINK.findall(shown)
        assert fresh != url and "lần 1" in shown
        assert (await fetch(fresh)).content == first.content


async def review_id(h: ZaloBotHarness) -> int:
    review = await h.core.store.review_for(h.seed.round_id, h.seed.member_id)
    assert review is not None
    return review.id


async def test_a_guessed_expired_or_used_up_link_gets_the_same_page(tmp_path: Path) -> None:
    async with running_zalo_bot(tmp_path, previews=False, link_max_downloads=1,
                                link_ttl_minutes=60) as h:
        user = await linked(h)
        await walk_to_summary(lambda text: h.say(user, text), h.fake.texts(user)[-1])
        [used] = LINK.findall(await h.say(user, "nộp"))
        assert (await fetch(used)).status_code == 200
        [expiring] = LINK.findall(await h.say(user, "tải lại"))
        h.clock.advance(minutes=61)
        [live] = LINK.findall(await h.say(user, "tải lại"))
        guessed = used[:-43] + "A" * 43
        answers = {name: await fetch(url) for name, url in
                   (("used", used), ("expired", expiring), ("guessed", guessed))}
        pages = {(r.status_code, r.text, r.headers["cache-control"]) for r in answers.values()}
        assert len(pages) == 1 and next(iter(pages))[0] == 404
        assert "gõ <b>tải lại</b>" in answers["used"].text
        assert (await fetch(live)).status_code == 200
        # The bytes of the expired link's copy are gone; only hashes and counts remain.
        rows = await h.core.db.fetch_all("SELECT COUNT(*) FROM downloads"
                                                     " WHERE content IS NOT NULL")
        assert next(iter(rows))[0] == 0
        # Similar timing: the three dead links take the same path (one hash, one update).
        timings: dict[str, list[float]] = {"used": [], "expired": [], "guessed": []}
        async with httpx.AsyncClient() as client:
            for _ in range(15):
                for name, url in (("used", used), ("expired", expiring), ("guessed", guessed)):
                    start = time.perf_counter()
                    await client.get(url)
                    timings[name].append(time.perf_counter() - start)
        medians = {name: sorted(values)[len(values) // 2] for name, values in timings.items()}
        print("dead-link answer, median seconds:", medians)
        assert max(medians.values()) < 3 * min(medians.values()) + 0.005


@pytest.mark.skipif(not preview.available(), reason="LibreOffice (soffice) is not installed")
async def test_with_libreoffice_a_picture_of_page_one_is_sent_and_fetched_by_zalo(
    tmp_path: Path,
) -> None:
    async with running_zalo_bot(tmp_path) as h:
        user = await linked(h)
        await walk_to_summary(lambda text: h.say(user, text), h.fake.texts(user)[-1])
        event = h.fake.user_text(user, "nộp")
        await h.settle(event, timeout=120)
        [photo] = h.fake.photos(user)
        assert photo.photo.startswith(b"\x89PNG\r\n\x1a\n") and photo.content_type == "image/png"
        width, height = int.from_bytes(photo.photo[16:20], "big"), int.from_bytes(
            photo.photo[20:24], "big")
        assert 800 < width < height  # a portrait A4 page
        assert re.search(r"/p/[A-Za-z0-9_-]{43}\.png$", photo.photo_url)
        assert "Trang 1" in photo.text
        again = await fetch(photo.photo_url)
        assert again.status_code == 200 and again.headers["cache-control"] == "no-store"
        log = await h.core.db.fetch_all(
            "SELECT action FROM access_log WHERE action = 'preview'")
        assert len(list(log)) == 2  # Zalo's fetch and ours


async def test_polling_survives_a_5xx_and_a_408_at_http_200(tmp_path: Path) -> None:
    async with running_zalo_bot(tmp_path, fake=FakeZalo(empty_status=200)) as h:
        h.fake.fail_next("getUpdates", 500)
        user = await linked(h)
        assert "Biểu hiện 1.2" in await h.say(user, "1")


async def test_the_secretarys_desk_works_typed_on_zalo_and_drafts_reach_it_as_links(
    tmp_path: Path,
) -> None:
    """Both people on Zalo. The member's submission reaches the secretary through the outbox
    as a one-time link (and a picture of page 1 when LibreOffice is installed); the
    secretary runs the desk by typing only (a tracker number, «xem bản», «trả lại» and a
    comment, «chấp nhận», «thêm vấn đề» and a point); the member is told each time; the
    secretary's own review is untouched."""
    previews = preview.available()
    async with running_zalo_bot(tmp_path, previews=previews) as h:
        sec = await linked(h, "Dung", h.seed.secretary_id)
        user = await linked(h)
        await walk_to_summary(lambda text: h.say(user, text), h.fake.texts(user)[-1])
        await h.settle(h.fake.user_text(user, "nộp"), timeout=120)

        def received() -> str | None:
            return next((t for t in h.fake.texts(sec) if "đã nộp bản kiểm điểm" in t), None)

        notice = await h.fake.wait_for(received, 120)
        [url] = LINK.findall(notice)
        assert "Trần Thị Bình" in notice and "xem bản" in notice and "tải lại" not in notice
        draft = await fetch(url)
        text = "\n".join(p.text for p in docx.Document(io.BytesIO(draft.content)).paragraphs)
        assert draft.status_code == 200 and "Trần Thị Bình" in text
        if previews:  # the picture follows the outbox notice too, not only a reply
            [photo] = await h.fake.wait_for(lambda: h.fake.photos(sec) or None, 120)
            assert photo.photo.startswith(b"\x89PNG") and "Trang 1" in photo.text

        tracker = await h.say(sec, "/chibo")
        [number] = re.findall(r"^(\d+)\. Trần Thị Bình", tracker, re.MULTILINE)
        card = await h.say(sec, number)
        assert "Tình trạng: đã nộp — bản số 1" in card and "bấm" not in card.lower()
        shown = "\n".join(await h.settle(h.fake.user_text(sec, "xem bản"), timeout=120))
        [again] = LINK.findall(shown)
        assert again != url and "bản số 1" in shown and "/chibo" in shown
        assert (await fetch(again)).content == draft.content

        assert "gõ góp ý" in await h.say(sec, "trả lại")
        before = len(h.fake.texts(user))
        assert "đã được báo" in await h.say(sec, "Mục VI cần nêu rõ thời hạn")
        returned = await h.fake.wait_for(lambda: [t for t in h.fake.texts(user)[before:]
                                                  if "Mục VI cần nêu rõ thời hạn" in t] or None)
        assert "đã trả lại bản kiểm điểm (bản số 1)" in returned[0]

        await h.say(sec, "/chibo")
        await h.say(sec, number)
        assert "Đã chấp nhận bản kiểm điểm của đồng chí Trần Thị Bình" in await h.say(
            sec, "chấp nhận")
        assert "gõ một vấn đề" in (await h.say(sec, "thêm vấn đề")).lower()
        assert "đã được báo" in await h.say(sec, "Chậm nộp báo cáo quý")
        await h.fake.wait_for(lambda: sum("Chi ủy vừa nêu một vấn đề" in t or "đã chấp nhận" in t
                                          for t in h.fake.texts(user)[before:]) == 2 or None)
        secretary_review = await h.core.store.review_for(h.seed.round_id, h.seed.secretary_id)
        assert secretary_review is not None
        assert await h.count("answers", f"review_id = {secretary_review.id}") == 0

        def notices() -> list[tuple[str, str]]:
            with sqlite3.connect(h.core.settings.database.path) as conn:
                return sorted(conn.execute("SELECT template, status FROM outbox"
                                           " WHERE kind = 'notice'").fetchall())

        await h.fake.wait_for(lambda: all(s == "sent" for _, s in notices()), every=0.02)
        assert [t for t, _ in notices()] == [
            "review/accepted", "review/new_point", "review/returned", "secretary/draft_received"]


async def test_outbox_messages_zalo_keeps_refusing_are_retried_within_bounds_then_officers_told(
    tmp_path: Path,
) -> None:
    """Bad input and faults: a Zalo 5xx or ``ok: false`` on an outbox message (here the
    desk's «nhắc») is tried again, ``reminders.max_attempts`` times in all, then the officers
    are told as for a member who blocked the bot; a member who blocked the Zalo bot is marked
    unreachable at the first try and the officers are told once."""
    async with running_zalo_bot(tmp_path, reminders={"max_attempts": 3}) as h:
        sec = await linked(h, "Dung", h.seed.secretary_id)
        user = await linked(h)
        lead = await linked(h, "Cường", h.seed.leader_id)

        def tries(chat: str) -> int:
            return sum(1 for c in h.fake.calls("sendMessage") if c.params.get("chat_id") == chat)

        async def remind(name: str) -> None:
            tracker = await h.say(sec, "/chibo")
            [number] = re.findall(rf"^(\d+)\. {name}", tracker, re.MULTILINE)
            await h.say(sec, number)
            assert "Đã nhắc 1 đồng chí" in await h.say(sec, "nhắc")

        def told(name: str) -> list[str]:
            return [t for t in h.fake.texts(sec) if f"Không gửi được tin tới đồng chí {name}" in t]

        h.fake.fail_next("sendMessage", 502, html=True, chat_id=user)
        h.fake.fail_next("sendMessage", 200, code=-1, chat_id=user)  # HTTP 200, ok: false
        h.fake.fail_next("sendMessage", 503, chat_id=user)
        before = tries(user)
        await remind("Trần Thị Bình")

        def waiting(attempts: int) -> bool:
            with sqlite3.connect(h.core.settings.database.path) as conn:
                return conn.execute("SELECT status, attempts FROM outbox WHERE kind = 'notice'"
                                    " AND member_id = ?", (h.seed.member_id,)).fetchall() == [
                                        ("planned", attempts)]

        for attempt in (1, 2):
            await h.fake.wait_for(lambda n=attempt: waiting(n), every=0.02)  # postponed
            h.clock.advance(minutes=10)  # past the back-off; the sender is woken at once
            h.core.delivery.wake()
        await h.fake.wait_for(lambda: told("Trần Thị Bình") or None)
        assert tries(user) == before + 3  # bounded: no fourth try
        assert not any("Nhắc việc" in t for t in h.fake.texts(user))

        h.fake.block(lead)
        before = tries(lead)
        await remind("Lê Văn Cường")
        await h.fake.wait_for(lambda: told("Lê Văn Cường") or None)
        assert tries(lead) == before + 1  # a block is final: no retry
        assert await h.count("accounts", f"external_id = '{lead}' AND unreachable_at IS NOT NULL") == 1
        assert "Lê Văn Cường: " in (tracker := await h.say(sec, "/chibo")) and "đã chặn bot" in tracker
        assert len(told("Trần Thị Bình")) == len(told("Lê Văn Cường")) == 1
        rows = await h.core.db.fetch_all(
            "SELECT member_id, status, attempts, note FROM outbox WHERE kind = 'notice'"
            " ORDER BY member_id")
        assert [tuple(r)[:3] for r in rows] == [(h.seed.member_id, "failed", 3),
                                                (h.seed.leader_id, "failed", 1)]
