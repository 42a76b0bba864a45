"""``hirfa shell --demo``: sample applications at several stages, one for the demo user's phone."""

from __future__ import annotations

import io

from bot.channels.shell import CHANNEL, ShellChannel
from storage import staff as staff_repo
from tests.certification_support import applications
from tests.harness import Harness


async def test_demo_user_sees_their_summons_as_soon_as_registered(h: Harness) -> None:
    for seed in h.app.router.demo:
        await seed(h.app.services)
    for seed in h.app.router.demo:  # seeding twice (a second demo start) adds nothing
        await seed(h.app.services)
    apps = await applications(h)
    assert {a["stage"] for a in apps.values()} >= {"summoned", "eligible", "ineligible",
                                                   "certificate_ready", "submitted"}
    out = io.StringIO()
    shell = ShellChannel(h.app.engine, language="en", out=out)
    async with h.app.db.transaction() as conn:
        await staff_repo.grant(conn, CHANNEL, shell.user_id, "admin", h.clock.now(), "demo")
    for line in ("/start", "1", "1", "Amina Benali", "/share", "7", "1", "BK123456", "1"):
        await shell.say(line)
    assert "My certification" in out.getvalue()
    replies = await shell.say("My certification")
    card = replies[-1].text
    assert "VAEP-2026-0001" in card and "Summoned to the tests" in card
    assert "Institut de formation" in card and "History" in card
    staff_view = await shell.say("/certs BE654321")
    assert "Youssef El Idrissi" in staff_view[-1].text
