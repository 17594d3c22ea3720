"""Download links on a real SQLite file: bound to one submission version, only the hash kept,
expiry and limit, bytes forgotten when a link ends, every use in access_log, and the
Vietnamese file name in Content-Disposition."""

from __future__ import annotations

import dataclasses
from urllib.parse import unquote

from bot.config import ZaloSettings
from bot.screens import Document, SubmissionRef
from handlers.downloads import DownloadLinks, token_hash
from handlers.web import content_disposition
from handlers.wiring import Core
from tests.conftest import FixedClock, seed


def links(core: Core, **zalo: object) -> DownloadLinks:
    core.settings = dataclasses.replace(core.settings, zalo=dataclasses.replace(
        ZaloSettings(), public_base_url="https://tusoi.example.vn/", previews=False, **zalo))
    return DownloadLinks(core)


async def submit(core: Core, review_id: int, content: bytes) -> int:
    async with core.store.transaction():
        return await core.store.add_submission(review_id, "ban-kiem-diem-v.docx", content,
                                               core.clock.now())


async def test_a_link_is_bound_to_one_version_and_only_its_hash_is_stored(
    core: Core, clock: FixedClock,
) -> None:
    seeded = await seed(core)
    async with core.store.transaction():
        review = await core.store.create_review(seeded.round_id, seeded.member_id, clock.now())
    version = await submit(core, review.id, b"version one")
    made = links(core, link_max_downloads=2, link_ttl_minutes=30)
    async with core.store.transaction():
        await core.store.link_account("zalo", "z1", seeded.member_id, clock.now())
    issued = await made.issue(Document("ban-kiem-diem-v.docx", b"version one",
                                       SubmissionRef(review.id, version)), "zalo", "z1")
    await submit(core, review.id, b"version two")  # the member submits again
    token = issued.url.rsplit("/", 1)[1]
    assert issued.url == f"https://tusoi.example.vn/d/{token}" and len(token) == 43
    assert issued.preview_url is None and issued.facts["max_downloads"] == 2
    rows = await core.db.fetch_all("SELECT token_hash, version, content FROM downloads")
    assert [tuple(r) for r in rows] == [(token_hash(token), 1, None)]

    first = await made.open(token, ("docx", "file"))
    assert first is not None and first.content == b"version one"  # not version two
    assert await made.open(token, ("preview",)) is None  # a link of another kind
    assert (await made.open(token, ("docx",))) is not None
    assert await made.open(token, ("docx",)) is None  # used up
    log = await core.db.fetch_all("SELECT actor_id, action, target_id FROM access_log")
    assert [tuple(r) for r in log] == [(seeded.member_id, "download", seeded.member_id)] * 2


async def test_a_file_that_is_no_submission_is_kept_only_until_its_link_ends(
    core: Core, clock: FixedClock,
) -> None:
    await seed(core)
    made = links(core, link_ttl_minutes=10)
    issued = await made.issue(Document("ho-so.zip", b"PK bundle"), "zalo", "nobody")
    token = issued.url.rsplit("/", 1)[1]
    found = await made.open(token, ("docx", "file"))
    assert found is not None and found.media_type == "application/zip"
    clock.advance(minutes=11)
    assert await made.open(token, ("docx", "file")) is None
    await made.wipe()
    rows = await core.db.fetch_all("SELECT content FROM downloads")
    assert [tuple(r) for r in rows] == [(None,)]
    clock.advance(days=31)
    await made.wipe()
    assert list(await core.db.fetch_all("SELECT * FROM downloads")) == []


def test_content_disposition_carries_the_vietnamese_name() -> None:
    name = "Bản kiểm điểm – Trần Thị Bình (lần 2).docx"
    header = content_disposition(name)
    assert header.startswith('attachment; filename="B')
    assert header.isascii()
    encoded = header.split("filename*=UTF-8''", 1)[1]
    assert unquote(encoded) == name and " " not in encoded
