"""The admin page, served by `orienta run`: access control over HTTP, and the page itself in a real
headless Chromium (Debian's, driven by Playwright)."""

from __future__ import annotations

import asyncio
import os
import shutil
import sqlite3
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from bot.app import serve
from bot.config import ConfigError, Settings
from bot.web.admin import COOKIE
from tests.conftest import shipped
from tests.fakes.started import Started
from tests.test_stats import seed_async

pytestmark = pytest.mark.e2e  # real servers or processes: `make test`, not `make test-fast`

TOKEN = "s3cret-admin-token-0123456789-Zx"
CHROMIUM = os.environ.get("ORIENTA_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@dataclass
class Admin:
    url: str
    db: Path


@pytest.fixture()
async def admin(tmp_path: Path, request: pytest.FixtureRequest) -> AsyncIterator[Admin]:
    db = tmp_path / "usage.db"
    await seed_async(db)
    # Plain HTTP on loopback, as `ORIENTA_ADMIN_PLAIN_HTTP=1` allows: httpx, unlike a browser,
    # keeps Secure cookies away from http://127.0.0.1. (`secure_admin` tests the default.)
    secure = getattr(request, "param", False)
    settings = Settings(
        db_path=db, admin_token=TOKEN, port=0, content_poll_seconds=0, admin_cookie_secure=secure
    )
    stop, started = asyncio.Event(), Started()
    task = asyncio.create_task(serve(settings, stop, started))
    await started.wait()
    yield Admin(f"http://127.0.0.1:{started.port}", db)
    stop.set()
    assert await task == 0


async def test_everything_but_health_needs_the_token(admin: Admin) -> None:
    async with httpx.AsyncClient(base_url=admin.url) as client:
        assert (await client.get("/healthz")).status_code == 200
        page = await client.get("/admin")
        assert (
            page.status_code == 401
            and 'name="token"' in page.text
            and "complaint.bribe" not in page.text
        )
        assert (await client.get("/admin/export.csv")).status_code == 401
        assert (
            await client.get("/admin", headers={"Authorization": "Bearer wrong"})
        ).status_code == 401
    for cookie in ("forged", TOKEN):  # the raw token is not a session either
        async with httpx.AsyncClient(base_url=admin.url, cookies={COOKIE: cookie}) as client:
            assert (await client.get("/admin")).status_code == 401
    async with httpx.AsyncClient(base_url=admin.url) as client:
        wrong = await client.post("/admin/login", data={"token": "nope"})
        assert wrong.status_code == 401 and "That token is not right." in wrong.text
        bearer = await client.get(
            "/admin?since=2026-11-01&until=2026-11-30", headers={"Authorization": f"Bearer {TOKEN}"}
        )
        assert bearer.status_code == 200 and "complaint.bribe" in bearer.text
        assert "default-src 'none'" in bearer.headers["content-security-policy"]
        assert "<script" not in bearer.text and "http://" not in bearer.text.replace(
            admin.url, ""
        )  # works offline
        csv_text = (
            await client.get(
                "/admin/export.csv?since=2026-11-01&until=2026-11-30",
                headers={"Authorization": f"Bearer {TOKEN}"},
            )
        ).text
        assert csv_text.splitlines()[0] == "day,channel,language,event,topic,count"
        assert "2026-11-20,telegram,es,answered,complaint.bribe,3" in csv_text


async def test_a_session_is_not_the_token_and_logout_revokes_it(admin: Admin) -> None:
    async with httpx.AsyncClient(base_url=admin.url) as client:
        response = await client.post("/admin/login", data={"token": TOKEN})
        assert response.status_code == 303
        cookie = response.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")
        assert TOKEN not in cookie and "Max-Age=43200" in cookie
        session = client.cookies[COOKIE]
        assert (await client.get("/admin")).status_code == 200
        await client.post("/admin/logout")
        assert (await client.get("/admin")).status_code == 401
    # A copy of the cookie taken before the logout is worth nothing after it.
    async with httpx.AsyncClient(base_url=admin.url, cookies={COOKIE: session}) as stolen:
        assert (await stolen.get("/admin")).status_code == 401
        again = (await stolen.post("/admin/login", data={"token": TOKEN})).cookies[COOKIE]
        assert again != session  # every login is a new session


@pytest.mark.parametrize("admin", [True], indirect=True)
async def test_the_session_cookie_is_secure_by_default(admin: Admin) -> None:
    async with httpx.AsyncClient(base_url=admin.url) as client:
        response = await client.post("/admin/login", data={"token": TOKEN})
        assert "Secure" in response.headers["set-cookie"]


async def test_failed_logins_are_slowed_down(admin: Admin) -> None:
    async with httpx.AsyncClient(base_url=admin.url) as client:
        for _ in range(5):
            assert (await client.post("/admin/login", data={"token": "wrong"})).status_code == 401
        # After five failures the client waits, even with the right token.
        blocked = await client.post("/admin/login", data={"token": TOKEN})
        assert blocked.status_code == 429 and int(blocked.headers["retry-after"]) >= 1
        assert COOKIE not in blocked.cookies


async def test_wrong_bearer_tokens_are_slowed_down_too(admin: Admin) -> None:
    async with httpx.AsyncClient(base_url=admin.url) as client:
        for _ in range(5):
            wrong = await client.get("/admin", headers={"Authorization": "Bearer wrong"})
            assert wrong.status_code == 401
        right = {"Authorization": f"Bearer {TOKEN}"}
        assert (await client.get("/admin", headers=right)).status_code == 429
        assert (await client.get("/admin/export.csv", headers=right)).status_code == 429


async def test_posts_from_another_site_are_refused(admin: Admin) -> None:
    async with httpx.AsyncClient(base_url=admin.url) as client:
        forged = await client.post(
            "/admin/login", data={"token": TOKEN}, headers={"Origin": "https://evil.example"}
        )
        assert forged.status_code == 403 and COOKIE not in forged.cookies
        same = await client.post(
            "/admin/login", data={"token": TOKEN}, headers={"Origin": admin.url}
        )
        assert same.status_code == 303


@pytest.mark.parametrize("token", ["a", "short-token", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"])
def test_a_weak_admin_token_stops_the_start(token: str) -> None:
    with pytest.raises(ConfigError, match="ORIENTA_ADMIN_TOKEN is too weak"):
        Settings.from_env({"ORIENTA_ADMIN_TOKEN": token})


async def test_a_weak_token_set_directly_is_refused_too(tmp_path: Path) -> None:
    weak = Settings(db_path=tmp_path / "u.db", admin_token="a", port=0, content_poll_seconds=0)
    assert await serve(weak, asyncio.Event()) == 2


async def test_a_date_no_calendar_survives_is_a_polite_error(admin: Admin) -> None:
    async with httpx.AsyncClient(base_url=admin.url) as client:
        page = await client.get(
            "/admin?until=0001-01-01", headers={"Authorization": f"Bearer {TOKEN}"}
        )
        assert page.status_code == 200 and "Dates must look like 2026-11-28" in page.text


def _chromium_or_skip() -> None:
    if not shutil.which(CHROMIUM) and not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"Chromium not found at {CHROMIUM}; `make test` installs Debian's chromium")
        pytest.skip(f"Chromium not found at {CHROMIUM} (make test installs it when run as root)")


@pytest.mark.parametrize("admin", [True], indirect=True)  # the default Secure cookie
async def test_the_admin_page_in_a_real_browser(admin: Admin, tmp_path: Path) -> None:
    _chromium_or_skip()
    from playwright.async_api import async_playwright

    with sqlite3.connect(admin.db) as db:
        expected = dict(
            db.execute(
                "SELECT topic, SUM(count) FROM usage WHERE event = 'answered' AND day >= '2026-10-30' GROUP BY topic"
            ).fetchall()
        )
        messages = db.execute(
            "SELECT SUM(count) FROM usage WHERE event = 'message' AND day >= '2026-10-30'"
        ).fetchone()[0]
    # Chromium keeps Secure cookies for http://localhost (a secure context), as for HTTPS.
    site = admin.url.replace("127.0.0.1", "localhost")
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        try:
            context = await browser.new_context(accept_downloads=True)
            page = await context.new_page()
            response = await page.goto(f"{site}/admin")
            assert response is not None and response.status == 401
            await page.fill("#token", TOKEN)
            await page.click("button[type=submit]")
            await page.locator("#daily-chart").wait_for(
                state="visible"
            )  # the default range: last 30 days
            # A fixed range, so the test does not depend on today's date.
            await page.goto(f"{site}/admin?since=2026-10-30&until=2026-11-28")
            chart = page.locator("#daily-chart")
            await chart.wait_for(state="visible")
            assert (await chart.bounding_box() or {}).get("height", 0) > 100
            assert await page.locator("#daily-chart rect.bar").count() == 30
            assert (
                await page.locator('#daily-chart rect.bar[data-day="2026-11-20"]').get_attribute(
                    "data-count"
                )
                == "4"
            )
            assert await page.locator("#messages").inner_text() == str(messages)
            cells = await page.locator("#topics tbody tr").evaluate_all(
                "rows => rows.map(r => [...r.cells].map(c => c.innerText))"
            )
            assert {row[0]: int(row[1]) for row in cells} == expected
            assert ["rights.asylum", "2", "1", "0"] in cells
            cookies = await context.cookies()
            (session,) = [c for c in cookies if c["name"] == COOKIE]
            assert session["httpOnly"] and session["sameSite"] == "Strict"
            await page.screenshot(path=str(tmp_path / "admin.png"), full_page=True)
            if os.environ.get("ORIENTA_SCREENSHOT"):
                await page.screenshot(path=os.environ["ORIENTA_SCREENSHOT"], full_page=True)
            # The date-range filter.
            await page.fill("input[name=since]", "2026-10-01")
            await page.fill("input[name=until]", "2026-11-30")
            await page.click("form.range button[type=submit]")
            await page.wait_for_url("**/admin?since=2026-10-01&until=2026-11-30")
            assert await page.locator("#messages").inner_text() == "15"
            assert await page.locator("#daily-chart rect.bar").count() == 61
            # CSV download.
            async with page.expect_download() as info:
                await page.click("text=Download CSV")
            download = await info.value
            text = Path(await download.path()).read_text()
            assert "2026-10-01,telegram,es,message,,9" in text
            # How many translated answers still wait for a native speaker, per language.
            waiting = {code: len(topics) for code, topics in shipped().drafts.items()}
            if waiting:
                rows = await page.locator("#drafts tbody tr").evaluate_all(
                    "rows => rows.map(r => [...r.cells].map(c => c.innerText))"
                )
                assert {row[0]: int(row[1]) for row in rows} == waiting
            else:
                assert "Every answer has been checked" in await page.locator("#drafts").inner_text()
        finally:
            await browser.close()


def test_every_value_on_the_page_is_escaped() -> None:
    from bot.web.admin import TEMPLATES

    evil = '<script>alert("x")</script>'
    page = TEMPLATES.get_template("dashboard.html").render(
        error=evil,
        since="2026-11-01",
        until="2026-11-30",
        query="since=2026-11-01",
        cards=(("Messages", "messages", evil),),
        chart=None,
        topics=[(evil, 1, 0, 0)],
        languages=[(evil, 1)],
        channels=[],
        events=[],
        drafts=[(evil, 3)],
        inbox=evil,
    )
    assert "<script" not in page and page.count("&lt;script&gt;") == 6
    # The inbox shows text people typed: escaped too, in the list and in the YAML to paste.
    from bot.stats.store import InboxItem

    page = TEMPLATES.get_template("inbox.html").render(
        groups=[
            ("2026-11-29", "es", evil, [InboxItem("a1", "2026-11-29", "x", "es", evil, (evil,))])
        ],
        topics=[evil],
        notice=evil,
        paste={"topic": evil, "file": evil, "after_line": 3, "line": evil},
        days=90,
    )
    assert "<script" not in page and page.count("&lt;script&gt;") == 9


async def test_the_question_inbox_in_a_real_browser(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A staff member turns a sent question into a phrasing (the page gives the file, the line
    and the YAML), another into an out-of-scope example (written to the file), deletes a third;
    the pasted phrasing then passes `orienta content check`. Over the small content fixture,
    lexical, so the check takes seconds."""
    _chromium_or_skip()
    from playwright.async_api import async_playwright

    from bot.cli import main
    from bot.engine.recall import Kept
    from bot.stats.store import UsageStore
    from tests.conftest import SMALL_CONTENT_DIR

    monkeypatch.setenv("ORIENTA_EMBEDDINGS", "none")
    content = tmp_path / "content"
    shutil.copytree(SMALL_CONTENT_DIR, content)
    db = tmp_path / "usage.db"
    store = UsageStore(db)
    bribe = "los de migracion me pidieron 300 pesos para dejarme pasar en la garita"
    chit_chat = "quien gano el clasico del domingo"
    for text, guesses in ((bribe, ("complaint.bribe",)), (chit_chat, ()), ("asdf qwer", ())):
        store.keep("telegram", Kept(text, "es", guesses))
    await store.flush()
    await store.close()
    settings = Settings(
        db_path=db,
        admin_token=TOKEN,
        port=0,
        content_poll_seconds=0,
        admin_cookie_secure=False,
        content_dir=content,
        embeddings="none",
        cache_dir=tmp_path / "cache",
    )
    stop, started = asyncio.Event(), Started()
    task = asyncio.create_task(serve(settings, stop, started))
    await started.wait()
    site = f"http://localhost:{started.port}"
    try:
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
            try:
                page = await browser.new_page()
                await page.goto(f"{site}/admin")
                await page.fill("#token", TOKEN)
                await page.click("button[type=submit]")
                link = page.locator("#inbox-link")
                assert await link.inner_text() == "Questions people sent (3)"
                await link.click()
                headings = await page.locator("section.inbox-group h2").all_inner_texts()
                assert any(h.endswith("· es · complaint.bribe") for h in headings)
                item = page.locator("li.question", has_text="300 pesos")
                assert await item.locator("select[name=topic]").input_value() == "complaint.bribe"
                await item.locator("button[value=phrasing]").click()
                await page.locator("#paste").wait_for(state="visible")
                assert await page.locator("#paste-file").inner_text() == "content/faq_es.yaml"
                after = int(await page.locator("#paste-after").inner_text())
                line = await page.locator("#paste-line").inner_text()
                assert line.strip() == f'- "{bribe}"'
                assert await page.locator("li.question", has_text="300 pesos").count() == 0
                other = page.locator("li.question", has_text="clasico")
                await other.locator("button[value=out_of_scope]").click()
                assert "out_of_scope_es.yaml" in await page.locator("#notice").inner_text()
                last = page.locator("li.question", has_text="asdf")
                await last.locator("button[value=delete]").click()
                await page.locator("#inbox-empty").wait_for(state="visible")
            finally:
                await browser.close()
    finally:
        stop.set()
        assert await task == 0
    scope = (content / "out_of_scope_es.yaml").read_text(encoding="utf-8")
    assert scope.rstrip().endswith(f'- "{chit_chat}"')
    # The staff member pastes the line where the page said; the check shows it on its topic.
    faq = content / "faq_es.yaml"
    lines = faq.read_text(encoding="utf-8").splitlines()
    assert lines[after - 1].strip() == "questions:"
    lines.insert(after, line)
    faq.write_text("\n".join(lines) + "\n", encoding="utf-8")
    capsys.readouterr()
    assert main(["content", "check", str(content)]) == 0
    assert "example questions match their entry" in capsys.readouterr().out
    with sqlite3.connect(db) as connection:
        events = dict(
            connection.execute(
                "SELECT event, SUM(count) FROM usage WHERE channel = 'admin' GROUP BY event"
            ).fetchall()
        )
        left = connection.execute("SELECT COUNT(*) FROM inbox").fetchone()[0]
    assert events == {"inbox_phrasing": 1, "inbox_out_of_scope": 1, "inbox_deleted": 1}
    assert left == 0
