"""The certification register in the console: search, a file's timeline, set a stage with a note;
the artisan is told exactly as when staff set it from the chat."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from storage import console as console_repo
from tests.certification_support import applications, do_import, history_rows, phone_of, row, write_csv
from tests.console_support import client, console_harness, csrf, sign_in
from tests.harness import ADMIN

AMINA = 5501


async def test_search_timeline_and_set_a_stage_with_a_note(tmp_path: Path) -> None:
    async with console_harness(tmp_path) as h, client(h) as browser:
        await h.register(AMINA, "fr", name="Amina Benali")
        await do_import(
            h,
            write_csv(
                tmp_path / "register.csv",
                [
                    row("VAEP-1", "BK111111", phone_of(AMINA), name="Amina Benali", stage="eligible"),
                    row("VAEP-2", "BE222222", "0661234567", name="Karim Alaoui", stage="submitted"),
                ],
            ),
        )
        await h.deliver_all()
        await sign_in(h, browser, ADMIN)
        found = (await browser.get("/console/certifications?q=BK111111")).text
        assert "VAEP-1" in found and "VAEP-2" not in found
        assert "VAEP-2" in (await browser.get("/console/certifications?q=0661234567")).text
        by_name = (await browser.get("/console/certifications?q=karim")).text
        assert "Karim Alaoui" in by_name and "VAEP-1" not in by_name
        recent = (await browser.get("/console/certifications")).text
        assert "VAEP-1" in recent and "VAEP-2" in recent

        file_id = int((await applications(h))["VAEP-1"]["id"])
        page = await browser.get(f"/console/certifications/{file_id}")
        assert page.status_code == 200 and 'id="timeline"' in page.text
        assert 'href="/console/artisans/1"' in page.text  # linked to Amina by her phone
        token = await csrf(browser, f"/console/certifications/{file_id}")
        seen = page.text.split('name="seen" value="')[1].split('"')[0]

        # A summons needs a date: refused, nothing recorded.
        refused = await browser.post(
            f"/console/certifications/{file_id}/stage",
            data={"csrf": token, "seen": seen, "stage": "summoned", "place": "Fès"},
        )
        assert refused.status_code == 400 and "demande une date" in refused.text
        when = (h.clock.now() + timedelta(days=5)).astimezone(h.app.services.zone).strftime("%Y-%m-%dT09:30")
        before = len(h.texts(AMINA))
        saved = await browser.post(
            f"/console/certifications/{file_id}/stage",
            data={
                "csrf": token,
                "seen": seen,
                "stage": "summoned",
                "when": when,
                "place": "Chambre, Fès",
                "note": "Apportez vos photos de travaux",
            },
        )
        assert saved.status_code == 303 and "done=notified" in saved.headers["location"]
        await h.deliver_all()
        told = " ".join(h.texts(AMINA)[before:])
        assert "09:30" in told and "Chambre, Fès" in told
        rows = await history_rows(h)
        last = rows[-1]
        assert (
            last["stage"] == "summoned"
            and last["author"] == f"telegram:{ADMIN}"
            and last["source"] == "staff"
        )
        assert last["note"] == "Apportez vos photos de travaux"
        timeline = (await browser.get(f"/console/certifications/{file_id}")).text
        assert "Apportez vos photos de travaux" in timeline and f"telegram:{ADMIN}" in timeline

        # The page was opened before that change: a second save with the old version is refused.
        stale = await browser.post(
            f"/console/certifications/{file_id}/stage",
            data={"csrf": token, "seen": seen, "stage": "assessed"},
        )
        assert stale.status_code == 409
        assert len(await history_rows(h)) == len(rows)
        async with h.app.db.read() as conn:
            actions = [line["action"] for line in await console_repo.activity(conn)]
        assert actions.count("cert_stage") == 1
