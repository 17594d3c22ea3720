"""The committee's web page over real HTTP (httpx against the running web app): the
one-time link, the session cookie and its attributes, logout with its token, every refusal
(forged, expired, reused link; no, stale or forged cookie; another committee's cell or file;
path traversal), escaping, and every view and download in access_log."""

from __future__ import annotations

import re
from pathlib import Path

import httpx

from handlers.dashboard import COOKIE
from tests.committeehelpers import WebHarness, login_link, serving
from tests.conftest import FixedClock

NO_ANSWER = "absent"  # the one answer value the fixture stores: never on a page


def local(h: WebHarness, url: str) -> str:
    """A link from the chat, pointed at the test server."""
    return h.base + url[url.index("/w/"):]


async def log_in(h: WebHarness, client: httpx.AsyncClient, member_id: int,
                 name: str) -> httpx.Response:
    url = local(h, await login_link(h.core, h.fx, member_id, name))
    page = await client.get(url)
    assert page.status_code == 200 and 'name="token"' in page.text
    token = url.rsplit("/", 1)[1]
    return await client.post(f"{h.base}/w/login", data={"token": token},
                             headers={"Origin": h.base})


def refused(response: httpx.Response, kind: str, status: int) -> bool:
    return response.status_code == status and f'data-kind="{kind}"' in response.text


async def test_a_link_logs_in_once_with_a_strict_httponly_cookie(tmp_path: Path,
                                                                  clock: FixedClock) -> None:
    async with serving(tmp_path, clock) as h, httpx.AsyncClient() as client:
        url = local(h, await login_link(h.core, h.fx, h.fx.officer_id, "o"))
        token = url.rsplit("/", 1)[1]
        for _ in range(2):  # opening the link (a chat's preview, a second look) spends nothing
            assert (await client.get(url)).status_code == 200
        response = await client.post(f"{h.base}/w/login", data={"token": token},
                                     headers={"Origin": h.base})
        assert response.status_code == 303 and response.headers["location"] == "/w/"
        cookie = response.headers["set-cookie"]
        assert cookie.startswith(f"{COOKIE}=")
        for attribute in ("HttpOnly", "SameSite=strict", "Path=/w", "Max-Age=3600"):
            assert attribute.lower() in cookie.lower(), cookie
        assert "secure" not in cookie.lower()  # plain http here; see the https test
        page = await client.get(f"{h.base}/w/")
        assert page.status_code == 200 and "Phường Hòa Bình" in page.text
        assert "Phòng Tổ chức" in page.text and "trễ hạn 3 ngày" in page.text
        assert "Tổ dân phố" not in page.text and NO_ANSWER not in page.text
        assert "script-src" not in page.headers["content-security-policy"]
        assert "default-src 'none'" in page.headers["content-security-policy"]
        # The same link again, in another browser: dead.
        async with httpx.AsyncClient() as other:
            again = await other.post(f"{h.base}/w/login", data={"token": token},
                                     headers={"Origin": h.base})
            assert refused(again, "dead_link", 404)
            assert refused(await other.get(url), "dead_link", 404)
            assert COOKIE not in other.cookies


async def test_expired_forged_and_overlong_links_are_refused_alike(tmp_path: Path,
                                                                   clock: FixedClock) -> None:
    async with serving(tmp_path, clock) as h, httpx.AsyncClient() as client:
        url = local(h, await login_link(h.core, h.fx, h.fx.officer_id, "o"))
        clock.advance(minutes=10, seconds=1)
        assert refused(await client.get(url), "dead_link", 404)
        token = url.rsplit("/", 1)[1]
        expired = await client.post(f"{h.base}/w/login", data={"token": token},
                                    headers={"Origin": h.base})
        assert refused(expired, "dead_link", 404)
        for forged in ("A" * 43, token[:-1] + ("B" if token[-1] != "B" else "C"), "x" * 5000):
            assert refused(await client.get(f"{h.base}/w/login/{forged}"), "dead_link", 404)
            answer = await client.post(f"{h.base}/w/login", data={"token": forged},
                                       headers={"Origin": h.base})
            assert refused(answer, "dead_link", 404)
        assert COOKIE not in client.cookies


async def test_behind_tls_the_cookie_is_secure(tmp_path: Path, clock: FixedClock) -> None:
    async with serving(tmp_path, clock, https=True) as h, httpx.AsyncClient() as client:
        url = await login_link(h.core, h.fx, h.fx.officer_id, "o")
        assert url.startswith("https://tusoi.example.vn/w/login/")
        response = await client.post(f"{h.base}/w/login", data={"token": url.rsplit("/", 1)[1]},
                                     headers={"Origin": h.base})
        assert "secure" in response.headers["set-cookie"].lower()


async def test_no_stale_or_forged_cookie_reaches_a_page(tmp_path: Path,
                                                        clock: FixedClock) -> None:
    async with serving(tmp_path, clock) as h:
        pages = ["/w/", f"/w/committee/{h.fx.committee_id}", f"/w/cell/{h.fx.cells['A']}",
                 f"/w/files/dang-bo-{h.fx.committee_id}.xlsx"]
        async with httpx.AsyncClient() as nobody:
            for page in pages:
                assert refused(await nobody.get(h.base + page), "need_login", 401)
        async with httpx.AsyncClient(cookies={COOKIE: "forged-value"}) as forger:
            for page in pages:
                assert refused(await forger.get(h.base + page), "need_login", 401)
        async with httpx.AsyncClient() as client:
            await log_in(h, client, h.fx.officer_id, "o")
            assert (await client.get(f"{h.base}/w/")).status_code == 200
            clock.advance(minutes=60, seconds=1)  # the session's hour is over
            for page in pages:
                assert refused(await client.get(h.base + page), "need_login", 401)


async def test_logout_needs_its_token_and_ends_the_session(tmp_path: Path,
                                                           clock: FixedClock) -> None:
    async with serving(tmp_path, clock) as h, httpx.AsyncClient() as client:
        await log_in(h, client, h.fx.officer_id, "o")
        page = (await client.get(f"{h.base}/w/")).text
        csrf = re.search(r'name="csrf" value="([0-9a-f]{64})"', page)
        assert csrf is not None
        session = client.cookies[COOKIE]
        no_token = await client.post(f"{h.base}/w/logout", headers={"Origin": h.base})
        assert refused(no_token, "forbidden", 403)
        other_site = await client.post(f"{h.base}/w/logout", data={"csrf": csrf.group(1)},
                                       headers={"Origin": "https://evil.example"})
        assert refused(other_site, "forbidden", 403)
        assert (await client.get(f"{h.base}/w/")).status_code == 200  # still logged in
        bye = await client.post(f"{h.base}/w/logout", data={"csrf": csrf.group(1)},
                                headers={"Origin": h.base})
        assert bye.status_code == 200 and 'id="bye"' in bye.text
        assert COOKIE not in client.cookies
        async with httpx.AsyncClient(cookies={COOKIE: session}) as replay:  # the old cookie
            assert refused(await replay.get(f"{h.base}/w/"), "need_login", 401)


async def test_another_committees_cell_or_file_and_path_traversal_are_not_found(
    tmp_path: Path, clock: FixedClock,
) -> None:
    async with serving(tmp_path, clock) as h, httpx.AsyncClient() as client:
        await log_in(h, client, h.fx.officer_id, "o")
        other = h.fx.other_committee_id
        for page in (f"/w/cell/{h.fx.cells['D']}", "/w/cell/99999", "/w/cell/-1",
                     f"/w/committee/{other}", f"/w/files/dang-bo-{other}.xlsx",
                     f"/w/files/dang-bo-{other}.png", "/w/files/../../etc/passwd",
                     "/w/files/..%2F..%2Fetc%2Fpasswd", "/w/files/%2e%2e/%2e%2e/etc/passwd",
                     f"/w/files/dang-bo-{h.fx.committee_id}.xlsx/../../x",
                     f"/w/files/dang-bo-{h.fx.committee_id}.docx",
                     f"/w/files/dang-bo-{h.fx.committee_id}.xlsx%00.png",
                     "/w/files/tusoi.sqlite3"):
            response = await client.get(h.base + page)
            assert response.status_code in (404,), (page, response.status_code)
            assert "Tổ dân phố" not in response.text and "root:" not in response.text


async def test_the_workbook_and_chart_download_and_every_view_is_logged(
    tmp_path: Path, clock: FixedClock,
) -> None:
    async with serving(tmp_path, clock) as h, httpx.AsyncClient() as client:
        await log_in(h, client, h.fx.officer_id, "o")
        cid = h.fx.committee_id
        xlsx = await client.get(f"{h.base}/w/files/dang-bo-{cid}.xlsx")
        assert xlsx.status_code == 200 and xlsx.content.startswith(b"PK")
        assert xlsx.headers["content-disposition"].startswith("attachment; filename=")
        png = await client.get(f"{h.base}/w/files/dang-bo-{cid}.png")
        assert png.headers["content-type"] == "image/png"
        assert (await client.get(f"{h.base}/w/cell/{h.fx.cells['A']}")).status_code == 200
        rows = await h.core.store.access_log_rows(actor_id=h.fx.officer_id)
        seen = [(r["action"], r["detail"]) for r in rows if r["action"].startswith("web")]
        assert seen == [("web_link", None), ("web_login", None),
                        ("web_xlsx", f"committee:{cid}"), ("web_png", f"committee:{cid}"),
                        ("web_cell", f"cell:{h.fx.cells['A']}")]


async def test_a_secretary_sees_their_own_cell_only_and_names_are_escaped(
    tmp_path: Path, clock: FixedClock,
) -> None:
    async with serving(tmp_path, clock) as h, httpx.AsyncClient() as client:
        async with h.core.store.transaction():
            await h.core.store.add_member(h.fx.cells["A"], "<script>alert(1)</script> Hùng",
                                          clock.now())
        await log_in(h, client, h.fx.secretary_id, "s")
        home = await client.get(f"{h.base}/w/")  # straight to their cell
        assert home.status_code == 200 and 'id="cell"' in home.text
        assert "&lt;script&gt;alert(1)&lt;/script&gt; Hùng" in home.text
        assert "<script>" not in home.text
        assert (await client.get(f"{h.base}/w/cell/{h.fx.cells['B']}")).status_code == 404
        committee = await client.get(f"{h.base}/w/committee/{h.fx.committee_id}")
        assert committee.status_code == 404
        assert h.core.renderer.web_env.autoescape is True
