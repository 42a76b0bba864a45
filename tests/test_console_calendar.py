"""The sessions calendar in the console: a month grid on Casablanca dates."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

from storage import sessions as session_repo
from tests.console_support import client, console_harness, csrf_of, sign_in
from tests.harness import ADMIN
from tests.sessions_support import local, make_session


def cell(html: str, day: str) -> str:
    match = re.search(rf'<td data-day="{day}"[^>]*>(.*?)</td>', html, re.S)
    assert match, day
    return match.group(1)


async def test_the_month_grid_places_sessions_on_their_casablanca_day(tmp_path: Path) -> None:
    async with console_harness(tmp_path) as h, client(h) as browser:
        # 00:30 in Casablanca on 1 December is still 30 November in UTC
        midnight = await make_session(h, starts_at=local(date(2026, 12, 1), 0, 30),
                                      title={"fr": "Poterie de nuit", "ar": "فخار الليل"})
        morning = await make_session(h, starts_at=local(date(2026, 11, 12), 9, 0),
                                     title={"fr": "Zellige du matin", "ar": "زليج الصباح"})
        gone = await make_session(h, starts_at=local(date(2026, 11, 20), 15, 0), title={"fr": "Cuir annulé"})
        async with h.app.db.transaction() as conn:
            assert await session_repo.cancel(conn, gone, h.clock.now())
        h.languages[ADMIN] = "fr"
        await sign_in(h, browser, ADMIN)
        sessions = await browser.get("/console/sessions")
        assert 'href="/console/sessions/calendar"' in sessions.text

        november = (await browser.get("/console/sessions/calendar")).text  # the clock's month
        assert "novembre 2026" in november
        assert f'data-session="{morning}"' in cell(november, "2026-11-12")
        assert "09:00" in cell(november, "2026-11-12")
        assert "Cuir annulé" in cell(november, "2026-11-20") and "cancelled" in cell(november, "2026-11-20")
        assert f'data-session="{midnight}"' not in november  # it belongs to December's 1st
        headers = re.findall(r'<th scope="col">([^<]+)</th>', november)
        assert headers[0] == "lun." and len(headers) == 7
        assert re.search(r'<td data-day="2026-10-26"', november)  # the first week starts on Monday

        december = (await browser.get("/console/sessions/calendar?month=2026-12")).text
        assert f'data-session="{midnight}"' in cell(december, "2026-12-01")
        assert "00:30" in cell(december, "2026-12-01")
        assert 'href="/console/sessions/calendar?month=2026-11"' in december
        assert 'href="/console/sessions/calendar?month=2027-01"' in december
        # a nonsense month falls back to this month, never an error
        assert "novembre 2026" in (await browser.get("/console/sessions/calendar?month=2026-13")).text

        await browser.post("/console/lang", data={"csrf": csrf_of(november), "lang": "ar"})
        arabic = (await browser.get("/console/sessions/calendar?month=2026-11")).text
        assert 'dir="rtl"' in arabic and "نونبر 2026" in arabic
        assert "زليج الصباح" in cell(arabic, "2026-11-12")
        assert re.search(r'<td data-day="2026-11-02" class=" today">', arabic)  # the clock's day
        assert "دجنبر 2026" in (await browser.get("/console/sessions/calendar?month=2026-12")).text
