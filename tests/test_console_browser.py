"""The console in a real browser: Playwright driving Debian's Chromium (/usr/bin/chromium).

Outside CI these tests skip (one line) when Chromium is missing; in CI (``CI`` set) they run,
``.ci/run`` installs the ``chromium`` package. They never download a browser.
"""

from __future__ import annotations

import contextlib
import os
import re
import socket
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
if not os.path.exists(CHROMIUM) and not os.environ.get("CI"):
    pytest.skip("browser tests: no /usr/bin/chromium (apt-get install chromium)", allow_module_level=True)

from playwright.async_api import Browser, Page, async_playwright, expect  # noqa: E402

from bot.http import HttpServer  # noqa: E402
from bot.settings import HttpSettings  # noqa: E402
from tests.certification_support import row, write_csv  # noqa: E402
from tests.harness import ADMIN, Harness  # noqa: E402
from tests.sessions_support import statuses  # noqa: E402

SHOTS = Path(__file__).resolve().parent.parent / "docs" / "screenshots"
AMINA = 5301
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PHONE = {"width": 390, "height": 844}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[tuple[Harness, str]]:
    """The application with its console served on a loopback port (same event loop)."""
    async with serve(tmp_path) as pair:
        yield pair


@contextlib.asynccontextmanager
async def serve(tmp_path: Path, **overrides: Any) -> AsyncIterator[tuple[Harness, str]]:
    port = free_port()
    base = f"http://localhost:{port}"
    async with Harness.open(tmp_path, console={"base_url": base}, **overrides) as h:
        assert h.app.http is not None
        server = HttpServer(HttpSettings(host="127.0.0.1", port=port))
        server.routes = h.app.http.routes
        await server.start()
        try:
            yield h, base
        finally:
            await server.stop()


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as p:
        chromium = await p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield chromium
        finally:
            await chromium.close()


async def signed_in(h: Harness, browser: Browser, lang: str = "ar", **context: Any) -> Page:
    """A page signed in through the link the bot sends to the admin."""
    h.languages[ADMIN] = lang
    await h.send(ADMIN, "/console")
    link = re.search(r"http://localhost:\d+/console/signin/\S+", h.last_text(ADMIN))
    assert link, h.last_text(ADMIN)
    page = await (await browser.new_context(**context)).new_page()
    await page.goto(link.group(0))
    await page.click("#signin")
    await page.wait_for_url(re.compile(r".*/console/$"))
    return page


async def test_sign_in_from_the_link_and_screenshots_in_arabic_and_french(
    served: tuple[Harness, str], browser: Browser
) -> None:
    h, base = served
    await h.register(AMINA, "ar", name="أمينة بنعلي")
    page = await signed_in(h, browser, "ar", viewport={"width": 1280, "height": 900})
    assert await page.get_attribute("html", "dir") == "rtl"
    assert "لوحة حرفة" in await page.title()
    SHOTS.mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240 (the test's own pictures)
    for lang in ("ar", "fr"):
        if lang == "fr":
            await page.click("button[name=lang][value=fr]")
            await page.wait_for_load_state()
            assert await page.get_attribute("html", "dir") == "ltr"
        for name, path in (
            ("dashboard", "/console/"),
            ("artisans", "/console/artisans"),
            ("sessions", "/console/sessions"),
            ("broadcast", "/console/broadcasts/new"),
            ("register", "/console/import/certifications"),
            ("report", "/console/report"),
        ):
            await page.goto(base + path)
            await page.screenshot(path=str(SHOTS / f"console-{name}-{lang}.png"), full_page=False)
    assert "Tableau de bord" in await page.content()


async def test_upload_a_register_preview_then_apply(
    served: tuple[Harness, str], browser: Browser, tmp_path: Path
) -> None:
    h, base = served
    page = await signed_in(h, browser, "fr")
    register = write_csv(
        tmp_path / "registre.csv",
        [row(f"V-{n}", f"AB{n:06d}") for n in range(1, 31)] + [row("V-99", "pas une cnie")],
    )
    await page.goto(base + "/console/import/certifications")
    await page.set_input_files("input[name=file]", str(register))
    await page.click("#preview")
    await page.wait_for_selector("#summary")
    assert await page.locator("tr.o-created").count() == 30
    assert await page.locator("tr.o-rejected").count() == 1
    await page.screenshot(path=str(SHOTS / "console-register-preview-fr.png"), full_page=False)
    await page.click("#apply")
    await page.wait_for_selector("text=Appliqué")
    async with h.app.db.read() as conn:
        from sqlalchemy import func, select

        from storage.certification_schema import certifications

        assert (await conn.execute(select(func.count()).select_from(certifications))).scalar_one() == 30


async def test_create_a_session_and_mark_attendance_on_a_phone(
    served: tuple[Harness, str], browser: Browser
) -> None:
    h, base = served
    await h.register(AMINA, "fr", name="Amina Benali")
    page = await signed_in(h, browser, "fr", viewport=PHONE, is_mobile=True, has_touch=True)
    start = (h.clock.now() + timedelta(minutes=45)).astimezone(h.app.services.zone)
    await page.goto(base + "/console/sessions/new")
    await page.fill("input[name=title_fr]", "Zellige : les bases")
    await page.fill("input[name=venue]", "Maison de l'artisan, Fès")
    await page.fill("input[name=start]", start.strftime("%Y-%m-%dT%H:%M"))
    await page.fill("input[name=capacity]", "10")
    await page.click("#save-session")
    await page.wait_for_selector("#done")
    session_id = int(page.url.split("/sessions/")[1].split("?")[0])
    await h.press_data(AMINA, f"s:enrolok:{session_id}")
    await page.reload()
    await page.click("button.present")
    await page.wait_for_selector("li[data-status=attended]")
    await page.screenshot(path=str(SHOTS / "console-attendance-phone-fr.png"), full_page=True)
    assert list((await statuses(h, session_id)).values()) == ["attended"]


async def test_compose_and_send_a_broadcast_then_follow_it(
    served: tuple[Harness, str], browser: Browser
) -> None:
    h, base = served
    await h.register(AMINA, "ar", name="أمينة بنعلي", region="region:MS")
    await h.register(AMINA + 1, "fr", name="Karim Alaoui", region="region:FM")
    page = await signed_in(h, browser, "ar")
    page.on("dialog", lambda dialog: dialog.accept())
    await page.goto(base + "/console/broadcasts/new")
    await page.fill("textarea[name=text_ar]", "معرض الصناعة التقليدية بمراكش")
    await page.check("input[name=regions][value=MS]")
    # a locator wait (polled by Playwright itself; a function would be refused by the page's CSP)
    await expect(page.locator("#audience-count")).to_contain_text("1 ", timeout=15_000)
    await page.click("#send")
    await page.wait_for_selector("#progress")
    await h.deliver_all()
    assert "معرض الصناعة التقليدية" in h.last_text(AMINA)
    assert all("معرض" not in t for t in h.texts(AMINA + 1))
    await page.reload()
    assert "1" in await page.inner_text("#bc-counts")


async def test_download_the_report(served: tuple[Harness, str], browser: Browser) -> None:
    h, base = served
    page = await signed_in(h, browser, "ar")
    await page.goto(base + "/console/report")
    async with page.expect_download() as pdf_download:
        await page.click("#report-pdf")
    pdf = await (await pdf_download.value).path()
    assert Path(pdf).read_bytes().startswith(b"%PDF")  # noqa: ASYNC240
    async with page.expect_download() as xlsx_download:
        await page.click("#report-xlsx")
    assert (await xlsx_download.value).suggested_filename.endswith(".xlsx")


async def test_answer_a_question_from_the_inbox(served: tuple[Harness, str], browser: Browser) -> None:
    h, base = served
    await h.register(AMINA, "ar", name="أمينة بنعلي")
    await h.press(AMINA, "m:ask")
    await h.send(AMINA, "متى يبدأ التكوين في الزليج؟")
    await h.deliver_all()
    page = await signed_in(h, browser, "ar")
    await page.click("a[href='/console/questions']")
    await page.click("tr.question a >> nth=1")
    assert "متى يبدأ التكوين في الزليج؟" in await page.inner_text("ol.thread")
    assert await page.get_attribute("#profile", "href") == "/console/artisans/1"
    await page.click("#assign")
    await page.wait_for_selector("#done")
    await page.fill("textarea[name=text]", "يبدأ التكوين يوم الإثنين على الساعة التاسعة.")
    await page.screenshot(path=str(SHOTS / "console-question-ar.png"), full_page=True)
    await page.click("#send-answer")
    await page.wait_for_selector("ol.thread li[data-direction=out]")
    assert await page.inner_text("#q-status") == "مجاب عنه"
    await h.deliver_all()
    assert "يبدأ التكوين يوم الإثنين على الساعة التاسعة." in h.last_text(AMINA)


async def test_mark_attendance_at_the_door_with_a_typed_entry_code(tmp_path: Path, browser: Browser) -> None:
    async with serve(tmp_path, chamber={"attendance_key": "browser-door-key"}) as (h, base):
        await h.register(AMINA, "ar", name="أمينة بنعلي")
        start = h.clock.now() + timedelta(minutes=20)
        from tests.sessions_support import make_session

        session_id = await make_session(h, starts_at=start, capacity=5)
        await h.press_data(AMINA, f"s:enrolok:{session_id}")
        await h.press_data(AMINA, f"s:open:{session_id}")
        await h.press(AMINA, f"s:qr:{session_id}")
        code = re.search(r"\d+-[A-Z2-7]{8}", h.last(AMINA).plain_text or "")
        assert code
        page = await signed_in(h, browser, "ar", viewport=PHONE, is_mobile=True, has_touch=True)
        await page.goto(f"{base}/console/sessions/{session_id}")
        await page.fill("#door-code", "0" + code.group(0)[:-1] + "X")  # a mistyped code
        await page.click("#door-submit")
        await page.wait_for_selector("#door-result.refused")
        assert list((await statuses(h, session_id)).values()) == ["enrolled"]
        await page.fill("#door-code", code.group(0).lower())
        await page.click("#door-submit")
        await page.wait_for_selector("li[data-status=attended]")
        assert "أمينة بنعلي" in await page.inner_text("#door-result")
        assert await page.input_value("#door-code") == ""
        await page.screenshot(path=str(SHOTS / "console-door-phone-ar.png"), full_page=True)
        assert list((await statuses(h, session_id)).values()) == ["attended"]


async def test_the_sessions_calendar_is_a_month_grid_right_to_left_in_arabic(
    served: tuple[Harness, str], browser: Browser
) -> None:
    h, base = served
    from tests.sessions_support import make_session

    session_id = await make_session(h, starts_at=h.clock.now() + timedelta(days=3),
                                    title={"ar": "تقنيات الزليج", "fr": "Techniques du zellige"})
    page = await signed_in(h, browser, "ar", viewport={"width": 1280, "height": 900})
    await page.goto(base + "/console/sessions")
    await page.click("#calendar-link")
    await page.wait_for_selector("table.calendar")
    assert await page.inner_text("#cal-month") == "نونبر 2026"
    headers = page.locator("table.calendar thead th")
    monday, sunday = await headers.nth(0).bounding_box(), await headers.nth(6).bounding_box()
    assert monday and sunday and monday["x"] > sunday["x"]  # Monday on the right
    await page.screenshot(path=str(SHOTS / "console-calendar-ar.png"), full_page=True)
    await page.click(f"a[data-session='{session_id}']")
    await page.wait_for_url(re.compile(rf".*/console/sessions/{session_id}$"))
    await page.goto(base + "/console/sessions/calendar")
    await page.click("#cal-next")
    assert await page.inner_text("#cal-month") == "دجنبر 2026"


async def test_preview_a_broadcast_on_each_channel_then_schedule_it(
    served: tuple[Harness, str], browser: Browser
) -> None:
    h, base = served
    await h.register(AMINA, "ar", name="أمينة بنعلي", region="region:MS")
    page = await signed_in(h, browser, "ar", viewport={"width": 1280, "height": 900})
    await page.goto(base + "/console/broadcasts/new")
    await page.fill("textarea[name=text_ar]", "معرض الصناعة التقليدية بمراكش\nيوم السبت")
    await page.click("#preview")
    await page.wait_for_selector("#draft-actions")
    telegram = await page.inner_text("[data-preview=ar-telegram]")
    whatsapp = await page.inner_text("[data-preview=ar-whatsapp]")
    assert "معرض الصناعة التقليدية بمراكش" in telegram and "<b>" not in telegram  # HTML drawn, not shown
    assert "معرض الصناعة التقليدية بمراكش" in whatsapp and "*" in whatsapp  # WhatsApp's own markup
    await page.screenshot(path=str(SHOTS / "console-broadcast-preview-ar.png"), full_page=True)
    later = (h.clock.now() + timedelta(days=1)).astimezone(h.app.services.zone)
    await page.fill("#when", later.strftime("%Y-%m-%dT%H:%M"))
    await page.click("#schedule-draft")
    await page.wait_for_selector("#bc-scheduled")
    await h.deliver_all()
    assert all("معرض" not in t for t in h.texts(AMINA))
