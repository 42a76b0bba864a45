"""A session at the door in the console: the poster download, and attendance by QR code."""

from __future__ import annotations

import re
from datetime import timedelta
from io import BytesIO
from pathlib import Path

import httpx
from PIL import Image
from sqlalchemy import select

from handlers.sessions import attendance
from storage import sessions as session_repo
from storage.console import console_activity
from tests.console_support import client, console_harness, csrf, csrf_of, sign_in
from tests.harness import ADMIN, Harness
from tests.sessions_support import make_session, statuses

AMINA, KARIM = 5401, 5402
RED = (178, 34, 52)


async def chat_poster(h: Harness, session_id: int) -> bytes:
    await h.press_data(ADMIN, f"sa:poster:{session_id}")
    document = h.last(ADMIN).document
    assert document is not None
    return document


def band(png: bytes) -> tuple[int, int, int]:
    image = Image.open(BytesIO(png)).convert("RGB")
    assert image.size == (1240, 1754)
    return image.getpixel((5, image.height // 2))  # type: ignore[return-value]


async def test_the_poster_downloads_as_the_chat_sends_it_and_shows_a_cancellation(tmp_path: Path) -> None:
    async with console_harness(tmp_path) as h, client(h) as browser:
        session_id = await make_session(h, starts_at=h.clock.now() + timedelta(days=5))
        h.languages[ADMIN] = "fr"
        await sign_in(h, browser, ADMIN)
        page = await browser.get(f"/console/sessions/{session_id}")
        assert f'href="/console/sessions/{session_id}/poster.png"' in page.text
        answer = await browser.get(f"/console/sessions/{session_id}/poster.png")
        assert answer.status_code == 200
        assert answer.headers["content-type"] == "image/png"
        assert f"poster-session-{session_id}.png" in answer.headers["content-disposition"]
        assert answer.content == await chat_poster(h, session_id)  # the one poster, not a copy
        assert band(answer.content) != RED
        async with h.app.db.transaction() as conn:
            assert await session_repo.cancel(conn, session_id, h.clock.now())
        cancelled = await browser.get(f"/console/sessions/{session_id}/poster.png")
        assert band(cancelled.content) == RED
        assert (await browser.get("/console/sessions/999/poster.png")).status_code == 404
    async with console_harness(tmp_path / "other") as h, client(h) as anonymous:
        session_id = await make_session(h)
        assert (await anonymous.get(f"/console/sessions/{session_id}/poster.png")).status_code == 401


KEY = "door-test-key-0123456789"


def door_harness(tmp_path: Path, **overrides: object):  # type: ignore[no-untyped-def]
    return console_harness(tmp_path, chamber={"attendance_key": KEY}, **overrides)


async def enrol(h: Harness, user: int, session_id: int) -> None:
    await h.press_data(user, f"s:enrolok:{session_id}")


async def entry_code(h: Harness, user: int, session_id: int) -> str:
    """What the artisan does: opens the session's card in "My trainings", asks for the entry
    code, and gets a QR image with the short code under it."""
    await h.press(user, "s:mine")
    await h.press(user, f"s:open:{session_id}")
    await h.press(user, f"s:qr:{session_id}")
    sent = h.last(user)
    assert sent.method == "sendDocument" and sent.document is not None
    code = re.search(r"\d+-[A-Z2-7]{8}", sent.plain_text or "")
    assert code, sent.plain_text
    assert sent.document == attendance.qr_png(code.group(0))  # the QR holds the code, nothing else
    return code.group(0)


async def door(browser: httpx.AsyncClient, session_id: int, code: str, token: str) -> httpx.Response:
    return await browser.post(
        f"/console/sessions/{session_id}/door",
        data={"csrf": token, "code": code},
        headers={"Accept": "application/json"},
    )


async def test_a_scanned_entry_code_marks_its_holder_present_once(tmp_path: Path) -> None:
    async with door_harness(tmp_path) as h, client(h) as browser:
        await h.register(AMINA, "fr", name="Amina Benali")
        await h.register(KARIM, "ar", name="كريم العلوي")
        start = h.clock.now() + timedelta(minutes=30)
        session_id = await make_session(h, starts_at=start, capacity=5)
        other_id = await make_session(h, starts_at=start, capacity=5)
        await enrol(h, AMINA, session_id)
        await enrol(h, KARIM, other_id)
        amina_code = await entry_code(h, AMINA, session_id)
        karim_code = await entry_code(h, KARIM, other_id)
        assert "Benali" not in amina_code and str(AMINA) not in amina_code  # no personal data
        await sign_in(h, browser, ADMIN)
        page = await browser.get(f"/console/sessions/{session_id}")
        assert 'id="door-form"' in page.text
        token = csrf_of(page.text)

        # forged: a genuine id with other letters, letters from another enrolment, junk
        forged = amina_code[:-1] + ("A" if amina_code[-1] != "A" else "B")
        enrolment = amina_code.split("-")[0]
        for bad in (forged, f"{enrolment}-{karim_code.split('-')[1]}", "hello", ""):
            answer = await door(browser, session_id, bad, token)
            assert answer.status_code == 400 and answer.json()["outcome"] == "invalid", bad
        # a genuine code of another session
        answer = await door(browser, session_id, karim_code, token)
        assert answer.status_code == 409 and answer.json()["outcome"] == "other_session"
        assert set((await statuses(h, session_id)).values()) == {"enrolled"}
        assert set((await statuses(h, other_id)).values()) == {"enrolled"}
        # no CSRF token: refused, nothing marked
        refused = await browser.post(f"/console/sessions/{session_id}/door", data={"code": amina_code})
        assert refused.status_code == 403
        assert set((await statuses(h, session_id)).values()) == {"enrolled"}

        # typed as people type it: lower case, spaces
        typed = " " + amina_code.lower().replace("-", " - ", 1) + " "
        answer = await door(browser, session_id, typed, token)
        assert answer.status_code == 200, answer.text
        assert answer.json()["outcome"] == "marked" and "Amina Benali" in answer.json()["message"]
        assert set((await statuses(h, session_id)).values()) == {"attended"}
        again = await door(browser, session_id, amina_code, token)
        assert again.json()["outcome"] == "already"
        async with h.app.db.read() as conn:
            rows = (await conn.execute(
                select(console_activity.c.action, console_activity.c.author)
                .where(console_activity.c.action == "attendance_door")
            )).all()
        assert [tuple(r) for r in rows] == [("attendance_door", f"telegram:{ADMIN}")]  # once

        # without script: the form posts and comes back to the session page with the outcome
        form = {"csrf": token, "code": karim_code}
        back = await browser.post(f"/console/sessions/{other_id}/door", data=form)
        assert back.status_code == 303
        shown = await browser.get(back.headers["location"])
        assert "كريم العلوي" in shown.text
        assert set((await statuses(h, other_id)).values()) == {"attended"}


async def test_entry_codes_follow_the_marking_rule(tmp_path: Path) -> None:
    async with door_harness(tmp_path) as h, client(h) as browser, client(h) as nobody:
        await h.register(AMINA, "fr", name="Amina Benali")
        await h.register(KARIM, "fr", name="Karim Alaoui")
        start = h.clock.now() + timedelta(hours=3)
        session_id = await make_session(h, starts_at=start, capacity=1)
        await enrol(h, AMINA, session_id)
        await enrol(h, KARIM, session_id)  # full: the wait-list
        amina = await entry_code(h, AMINA, session_id)
        await h.press_data(KARIM, f"s:open:{session_id}")
        assert f"s:qr:{session_id}" not in [data for _, data in h.last(KARIM).buttons]  # no seat, no code
        await h.press_data(KARIM, f"s:qr:{session_id}")  # forged button
        assert h.last(KARIM).method != "sendDocument"
        waiting = attendance.code_for(KEY, int(amina.split("-")[0]) + 1)  # Karim's enrolment
        await sign_in(h, browser, ADMIN)
        token = await csrf(browser)
        # three hours before: too early, as in the chat
        assert (await door(browser, session_id, amina, token)).json()["outcome"] == "closed"
        h.clock.advance(timedelta(hours=2, minutes=30).total_seconds())
        assert (await door(browser, session_id, waiting, token)).json()["outcome"] == "not_seated"
        assert (await door(browser, session_id, amina, token)).json()["outcome"] == "marked"
        # not signed in
        anonymous = await nobody.post(f"/console/sessions/{session_id}/door", data={"code": amina})
        assert anonymous.status_code == 401
        # a cancelled session takes no attendance
        second = await make_session(h, starts_at=h.clock.now() + timedelta(minutes=20), capacity=3)
        await enrol(h, KARIM, second)
        karim = await entry_code(h, KARIM, second)
        async with h.app.db.transaction() as conn:
            assert await session_repo.cancel(conn, second, h.clock.now())
        assert (await door(browser, second, karim, token)).json()["outcome"] == "closed"


async def test_without_a_key_there_are_no_entry_codes(tmp_path: Path) -> None:
    async with console_harness(tmp_path) as h, client(h) as browser:
        await h.register(AMINA, "fr")
        session_id = await make_session(h, starts_at=h.clock.now() + timedelta(minutes=30))
        await enrol(h, AMINA, session_id)
        await h.press_data(AMINA, f"s:open:{session_id}")
        assert f"s:qr:{session_id}" not in [data for _, data in h.last(AMINA).buttons]
        await sign_in(h, browser, ADMIN)
        page = await browser.get(f"/console/sessions/{session_id}")
        assert 'id="door-form"' not in page.text
        answer = await door(browser, session_id, "1-AAAAAAAA", csrf_of(page.text))
        assert answer.json()["outcome"] == "no_key"


def test_codes_are_signed_per_enrolment_and_key() -> None:
    code = attendance.code_for(KEY, 42)
    assert attendance.read_code(KEY, code) == 42
    assert attendance.read_code(KEY, code.lower().replace("-", " - ")) == 42
    assert attendance.read_code("another key", code) is None
    assert attendance.read_code(KEY, "43-" + code.split("-")[1]) is None
