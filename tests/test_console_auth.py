"""Console sign-in: one-time links from the bot, cookies, roles on every request, CSRF."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from storage.console import console_activity
from tests.console_support import BASE, client, console_harness, csrf, link_for, sign_in
from tests.harness import ADMIN, STAFF, Harness

ARTISAN = 5001


async def test_staff_signs_in_with_the_link_from_the_bot_and_gets_a_safe_cookie(tmp_path: Path) -> None:
    async with console_harness(tmp_path) as h, client(h) as browser:
        h.languages[ADMIN] = "ar"  # the staff member's Telegram is in Arabic
        path = await link_for(h, ADMIN)
        assert "10" in h.last_text(ADMIN)  # how long it lasts
        page = await browser.get(path)
        assert page.status_code == 200 and '<form method="post">' in page.text  # a preview uses nothing
        answer = await browser.post(path)
        assert answer.status_code == 303
        cookie = answer.headers["set-cookie"]
        assert "HttpOnly" in cookie and "Secure" in cookie and "SameSite=strict" in cookie
        home = await browser.get("/console/")
        assert home.status_code == 200
        assert 'dir="rtl"' in home.text and "لوحة حرفة" in home.text  # the admin's chat language: ar
        async with h.app.db.read() as conn:
            rows = (await conn.execute(select(console_activity.c.author, console_activity.c.action))).all()
        assert ("telegram:9000", "signin") in rows


async def test_a_link_works_once(tmp_path: Path) -> None:
    async with console_harness(tmp_path) as h, client(h) as first, client(h) as second:
        path = await link_for(h, ADMIN)
        assert (await first.post(path)).status_code == 303
        again = await second.post(path)
        assert again.status_code == 403 and "/console" in again.text
        assert (await second.get("/console/")).status_code == 401


async def test_an_expired_link_is_refused(tmp_path: Path) -> None:
    async with console_harness(tmp_path) as h, client(h) as browser:
        path = await link_for(h, ADMIN)
        h.clock.advance(timedelta(minutes=11))
        answer = await browser.post(path)
        assert answer.status_code == 403
        assert (await browser.get("/console/")).status_code == 401


async def test_a_forged_or_altered_link_is_refused(tmp_path: Path) -> None:
    async with console_harness(tmp_path) as h, client(h) as browser:
        path = await link_for(h, ADMIN)
        nonce, _, signature = path.rpartition("/")[2].partition(".")
        forged = f"/console/signin/{nonce}.{'A' * len(signature)}"
        assert (await browser.post(forged)).status_code == 403
        assert (await browser.post("/console/signin/nothing")).status_code == 403
        assert (await browser.post(path)).status_code == 303  # the real one still works


async def test_another_staff_members_link_is_refused_in_a_signed_in_browser(tmp_path: Path) -> None:
    async with console_harness(tmp_path) as h, client(h) as browser:
        await grant_staff(h)
        await sign_in(h, browser, STAFF)
        admins_link = await link_for(h, ADMIN)
        assert (await browser.get(admins_link)).status_code == 403
        assert (await browser.post(admins_link)).status_code == 403
        page = await browser.get("/console/")
        assert "/console/staff" not in page.text  # still the staff member, not the admin


async def test_artisans_and_strangers_get_no_link(tmp_path: Path) -> None:
    async with console_harness(tmp_path) as h:
        await h.register(ARTISAN)
        await h.send(ARTISAN, "/console")
        assert "/console/signin" not in h.last_text(ARTISAN)


async def test_every_page_needs_a_session(tmp_path: Path) -> None:
    async with console_harness(tmp_path) as h, client(h) as browser:
        for path in (
            "/console/",
            "/console/artisans",
            "/console/sessions",
            "/console/broadcasts",
            "/console/staff",
            "/console/report",
            "/console/import/certifications",
        ):
            assert (await browser.get(path)).status_code == 401, path


async def test_a_post_without_the_csrf_token_is_refused(tmp_path: Path) -> None:
    async with console_harness(tmp_path) as h, client(h) as browser:
        await sign_in(h, browser, ADMIN)
        token = await csrf(browser)
        refused = await browser.post(
            "/console/staff/add", data={"channel": "telegram", "user_id": "777", "role": "staff"}
        )
        assert refused.status_code == 403
        wrong = await browser.post(
            "/console/staff/add",
            data={"csrf": token + "x", "channel": "telegram", "user_id": "777", "role": "staff"},
        )
        assert wrong.status_code == 403
        page = await browser.get("/console/staff")
        assert "777" not in page.text
        ok = await browser.post(
            "/console/staff/add",
            data={"csrf": token, "channel": "telegram", "user_id": "777", "role": "staff"},
        )
        assert ok.status_code == 303
        assert "777" in (await browser.get("/console/staff")).text


async def test_roles_are_checked_on_every_request(tmp_path: Path) -> None:
    async with console_harness(tmp_path) as h, client(h) as admin, client(h) as staff:
        await grant_staff(h)
        await sign_in(h, admin, ADMIN)
        await sign_in(h, staff, STAFF)
        assert (await staff.get("/console/staff")).status_code == 403  # admins only
        assert (await staff.get("/console/sessions")).status_code == 200
        token = await csrf(admin, "/console/staff")
        removed = await admin.post(
            "/console/staff/remove", data={"csrf": token, "channel": "telegram", "user_id": str(STAFF)}
        )
        assert removed.status_code == 303
        assert (await staff.get("/console/sessions")).status_code == 401  # signed out at once
        own = await admin.post(
            "/console/staff/remove", data={"csrf": token, "channel": "telegram", "user_id": str(ADMIN)}
        )
        assert own.status_code == 400


async def test_sign_out_and_expiry(tmp_path: Path) -> None:
    async with console_harness(tmp_path) as h, client(h) as browser:
        await sign_in(h, browser, ADMIN)
        token = await csrf(browser)
        assert (await browser.post("/console/signout", data={"csrf": token})).status_code == 200
        assert (await browser.get("/console/")).status_code == 401
        await sign_in(h, browser, ADMIN)
        h.clock.advance(timedelta(hours=12, seconds=1))
        assert (await browser.get("/console/")).status_code == 401


async def test_language_switch(tmp_path: Path) -> None:
    async with console_harness(tmp_path) as h, client(h) as browser:
        await sign_in(h, browser, ADMIN)
        token = await csrf(browser)
        await browser.post("/console/lang", data={"csrf": token, "lang": "fr", "next": "/console/sessions"})
        page = await browser.get("/console/sessions")
        assert 'dir="ltr"' in page.text and "Nouvelle session" in page.text


async def grant_staff(h: Harness) -> None:
    await h.send(ADMIN, "/staff")
    await h.press(ADMIN, "st:add")
    await h.send(ADMIN, str(STAFF))
    await h.press(ADMIN, "st:role:staff")


__all__ = ["BASE"]
