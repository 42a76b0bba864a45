"""A session at the door in the console: the poster download, and attendance by QR code."""

from __future__ import annotations

from datetime import timedelta
from io import BytesIO
from pathlib import Path

from PIL import Image

from storage import sessions as session_repo
from tests.console_support import client, console_harness, sign_in
from tests.harness import ADMIN, Harness
from tests.sessions_support import make_session

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
