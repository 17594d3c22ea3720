"""The committee's web page in a real headless browser: Debian's chromium driven by
Playwright for Python (``executable_path=/usr/bin/chromium``; no browser is downloaded), with
JavaScript switched off, on a phone-sized screen.

A committee officer logs in by the link the bot sent, sees the overview, follows a cell,
downloads the workbook, logs out; and is refused with an expired link, a reused link, another
committee's cell id, and no cookie. The screenshots land in the test's folder; with
``TUSOI_UPDATE_DOCS=1`` they replace ``docs/web-committee.png`` and ``docs/web-cell.png``.

CI installs chromium from Debian (``.ci/run``, which sets ``TUSOI_REQUIRE_BROWSER=1``); without
it, the test fails under CI and is skipped elsewhere with the command that installs it.
"""

from __future__ import annotations

import io
import os
import shutil
from pathlib import Path

import pytest
from openpyxl import load_workbook

from tests.committeehelpers import login_link, serving
from tests.conftest import REPO, FixedClock

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
PHONE = {"width": 390, "height": 844}

if not CHROMIUM.exists():
    if os.environ.get("TUSOI_REQUIRE_BROWSER") or os.environ.get("CI"):
        raise RuntimeError(f"{CHROMIUM} is missing: .ci/run installs Debian's chromium")
    pytest.skip("needs Debian's chromium: apt-get install chromium", allow_module_level=True)


def local(base: str, url: str) -> str:
    return base + url[url.index("/w/"):]


async def test_an_officer_logs_in_by_link_browses_downloads_and_logs_out_and_is_refused(
    tmp_path: Path, clock: FixedClock,
) -> None:
    from playwright.async_api import async_playwright

    shots = tmp_path / "shots"
    shots.mkdir()
    async with serving(tmp_path, clock) as h, async_playwright() as p:
        browser = await p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            context = await browser.new_context(viewport=PHONE, java_script_enabled=False,
                                                accept_downloads=True, locale="vi-VN")
            page = await context.new_page()
            link = local(h.base, await login_link(h.core, h.fx, h.fx.officer_id, "o"))

            # Log in by the link: a page with one button; pressing it logs in.
            await page.goto(link)
            await page.click("#login")
            await page.wait_for_load_state("load")  # the chart too
            assert await page.inner_text("h1") == "Đảng bộ Phường Hòa Bình"
            cells = await page.locator("a.cell").all_inner_texts()
            assert cells == ["Phòng Kế hoạch", "Phòng Tổ chức", "Trường Tiểu học Sao Mai"]
            assert "trễ hạn 3 ngày" in await page.inner_text("main")
            cap = await page.inner_text("#cap")
            assert "Giữ chức vụ lãnh đạo, quản lý" in cap
            cookies = await context.cookies()
            assert [(c["name"], c["httpOnly"], c["sameSite"]) for c in cookies] == [
                ("tusoi_web", True, "Strict")]
            # The chart is really an image the browser decoded; the page fits a phone.
            width = await page.locator("img.chart").evaluate("img => img.naturalWidth")
            assert width == 1080
            box = await page.locator("main").bounding_box()
            assert box is not None and box["width"] <= PHONE["width"]
            await page.screenshot(path=shots / "web-committee.png", full_page=True)

            # Follow a cell.
            await page.click("text=Phòng Tổ chức")
            assert await page.inner_text("h1") == "Chi bộ Phòng Tổ chức"
            rows = await page.locator("#members tr").all_inner_texts()
            assert any("Đảng Viên A1" in r and "Hoàn thành xuất sắc nhiệm vụ" in r for r in rows)
            assert not any("absent" in r for r in rows)  # no answer text, ever
            await page.screenshot(path=shots / "web-cell.png", full_page=True)

            # Download the workbook.
            await page.click("text=← Về tổng hợp đảng bộ")
            async with page.expect_download() as info:
                await page.click("#xlsx")
            download = await info.value
            saved = tmp_path / download.suggested_filename
            await download.save_as(saved)
            assert saved.name.startswith(f"dang-bo-{h.fx.committee_id}-")
            book = load_workbook(io.BytesIO(saved.read_bytes()))
            assert book.sheetnames == ["Chi bộ", "Đảng viên", "Tỷ lệ xuất sắc"]

            # Log out: the page says so, and the pages are closed again.
            await page.click("text=Đăng xuất")
            assert await page.get_attribute("#bye", "id") == "bye"
            await page.goto(f"{h.base}/w/")
            assert await page.get_attribute("#refused", "data-kind") == "need_login"

            # A reused link.
            await page.goto(link)
            assert await page.get_attribute("#refused", "data-kind") == "dead_link"

            # An expired link.
            late = local(h.base, await login_link(h.core, h.fx, h.fx.officer_id, "o"))
            clock.advance(minutes=11)
            await page.goto(late)
            assert await page.get_attribute("#refused", "data-kind") == "dead_link"

            # Another committee's cell id, while logged in.
            fresh = local(h.base, await login_link(h.core, h.fx, h.fx.officer_id, "o"))
            await page.goto(fresh)
            await page.click("#login")
            response = await page.goto(f"{h.base}/w/cell/{h.fx.cells['D']}")
            assert response is not None and response.status == 404
            assert await page.get_attribute("#refused", "data-kind") == "not_found"
            assert "Tổ dân phố" not in await page.inner_text("main")

            # No cookie: a fresh browser.
            stranger = await browser.new_context(viewport=PHONE, java_script_enabled=False)
            other = await stranger.new_page()
            response = await other.goto(f"{h.base}/w/cell/{h.fx.cells['A']}")
            assert response is not None and response.status == 401
            assert await other.get_attribute("#refused", "data-kind") == "need_login"
            await stranger.close()
            await context.close()
        finally:
            await browser.close()
    if os.environ.get("TUSOI_UPDATE_DOCS"):
        for name in ("web-committee.png", "web-cell.png"):
            shutil.copyfile(shots / name, REPO / "docs" / name)
