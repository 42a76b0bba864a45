"""Broadcasts in the console: preview as each channel shows it, and schedule for later (the chat's
rule, the chat's job sends it)."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape
from pathlib import Path

from sqlalchemy import select

from handlers.broadcasts import delivery as broadcast_delivery
from storage import broadcasts as broadcast_repo
from storage.console import console_activity
from tests.console_support import BASE, client, csrf
from tests.harness import ADMIN
from tests.whatsapp_harness import WhatsAppHarness

AMINA = 5501
WA_KARIM = "212600005502"
TEXT = "Salon du cuir à Fès\nSamedi 10 h, entrée libre"


def bubbles(html: str, channel: str) -> list[str]:
    """The preview's messages on ``channel``, in the order ar, fr, en."""
    return [
        " ".join(re.findall(rf'data-preview="{lang}-{channel}">(.*?)</div>', html, re.S))
        for lang in ("ar", "fr", "en")
    ]


async def test_preview_then_schedule_and_the_job_sends_it_later(tmp_path: Path) -> None:
    async with WhatsAppHarness.open(tmp_path, console={"base_url": BASE}) as h, client(h) as browser:
        await h.register(AMINA, "fr", region="region:MS")
        await h.wa_register(WA_KARIM, "fr", name="Karim Alaoui", region="region:MS")
        from tests.console_support import sign_in

        await sign_in(h, browser, ADMIN)
        token = await csrf(browser, "/console/broadcasts/new")
        form = {"csrf": token, "text_fr": TEXT, "fallback": "fr", "regions": "MS"}

        preview = await browser.post("/console/broadcasts/new", data={**form, "action": "preview"})
        assert preview.status_code == 303
        broadcast_id = int(preview.headers["location"].rsplit("/", 1)[1])
        page = (await browser.get(preview.headers["location"])).text
        assert 'id="draft-actions"' in page
        telegram = bubbles(page, "telegram")
        whatsapp = bubbles(page, "whatsapp")
        assert len(telegram) == 3 and len(whatsapp) == 3  # ar, fr, en readers (fallback French)
        assert "Salon du cuir à Fès<br>Samedi 10 h" in unescape(telegram[1])
        wa_preview = unescape(re.sub(r"<[^>]+>", "", whatsapp[1])).strip()
        assert "Salon du cuir à Fès\nSamedi 10 h, entrée libre" in wa_preview
        await h.deliver_all()
        assert all("Salon du cuir" not in t for t in h.texts(AMINA))  # a preview sends nothing

        # the chat's rule: not in the past, not beyond a year
        local_now = h.clock.now().astimezone(h.app.services.zone)
        past = await browser.post(f"/console/broadcasts/{broadcast_id}/schedule",
                                  data={"csrf": token, "when": local_now.strftime("%Y-%m-%dT%H:%M")})
        assert past.status_code == 400
        far = local_now + timedelta(days=400)
        too_far = await browser.post(f"/console/broadcasts/{broadcast_id}/schedule",
                                     data={"csrf": token, "when": far.strftime("%Y-%m-%dT%H:%M")})
        assert too_far.status_code == 400
        refused = await browser.post(f"/console/broadcasts/{broadcast_id}/schedule", data={"when": "x"})
        assert refused.status_code == 403  # no CSRF

        later = (local_now + timedelta(hours=2)).replace(second=0, microsecond=0)
        scheduled = await browser.post(f"/console/broadcasts/{broadcast_id}/schedule",
                                       data={"csrf": token, "when": later.strftime("%Y-%m-%dT%H:%M")})
        assert scheduled.status_code == 303
        async with h.app.db.read() as conn:
            b = await broadcast_repo.get(conn, broadcast_id)
            assert b is not None and b.status == "scheduled" and b.scheduled_at == later
            acts = (await conn.execute(select(console_activity.c.action))).scalars().all()
        assert "broadcast_schedule" in acts
        shown = (await browser.get(f"/console/broadcasts/{broadcast_id}")).text
        assert 'id="bc-scheduled"' in shown and later.strftime("%H:%M") in shown
        again = await browser.post(f"/console/broadcasts/{broadcast_id}/send", data={"csrf": token})
        assert again.status_code == 409  # no longer a draft

        await broadcast_delivery.tick(h.app.services)
        await h.deliver_all()
        assert all("Salon du cuir" not in t for t in h.texts(AMINA))  # not yet
        h.clock.advance(timedelta(hours=2, minutes=1))
        await broadcast_delivery.tick(h.app.services)
        await h.deliver_all()
        assert "Salon du cuir à Fès" in h.last_text(AMINA)
        assert h.wa_texts(WA_KARIM)[-1].strip() == wa_preview  # WhatsApp got what the preview showed


async def test_schedule_straight_from_the_compose_form(tmp_path: Path) -> None:
    async with WhatsAppHarness.open(tmp_path, console={"base_url": BASE}) as h, client(h) as browser:
        await h.register(AMINA, "fr", region="region:MS")
        from tests.console_support import sign_in

        await sign_in(h, browser, ADMIN)
        token = await csrf(browser, "/console/broadcasts/new")
        form = {"csrf": token, "text_fr": TEXT, "fallback": "fr", "action": "schedule"}
        bad = await browser.post("/console/broadcasts/new", data={**form, "when": "2020-01-01T10:00"})
        assert bad.status_code == 400 and "class=\"error\"" in bad.text
        async with h.app.db.read() as conn:
            assert await broadcast_repo.due(conn, h.clock.now() + timedelta(days=400)) == []  # nothing made
        when = (h.clock.now().astimezone(h.app.services.zone) + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
        ok = await browser.post("/console/broadcasts/new", data={**form, "when": when})
        assert ok.status_code == 303
        h.clock.advance(timedelta(days=1, minutes=1))
        await broadcast_delivery.tick(h.app.services)
        await h.deliver_all()
        assert "Salon du cuir à Fès" in h.last_text(AMINA)
