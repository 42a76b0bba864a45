"""Console pages through HTTP: every page for staff and admin, and the changes they make reach
artisans exactly as the chat's do."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import select, update

from storage.certification_schema import certification_history
from storage.schema import artisans
from tests.certification_support import row, write_csv
from tests.console_support import client, console_harness, csrf, csrf_of, sign_in
from tests.harness import ADMIN, STAFF
from tests.sessions_support import make_session, outbox_keys, session_row, statuses
from tests.test_console_auth import grant_staff

AMINA, KARIM = 5101, 5102


async def test_every_page_answers_for_staff_and_admin(tmp_path: Path) -> None:
    async with console_harness(tmp_path) as h, client(h) as admin, client(h) as staff:
        await h.register(AMINA, name="Amina Benali")
        session_id = await make_session(h)
        await grant_staff(h)
        await sign_in(h, admin, ADMIN)
        await sign_in(h, staff, STAFF)
        pages = [
            "/console/",
            "/console/stats.png",
            "/console/artisans",
            "/console/artisans?q=Amina&sort=name",
            "/console/artisans/1",
            "/console/sessions",
            "/console/sessions?past=1",
            "/console/sessions/new",
            f"/console/sessions/{session_id}",
            f"/console/sessions/{session_id}/edit",
            "/console/import/certifications",
            "/console/import/sessions",
            "/console/broadcasts",
            "/console/broadcasts/new",
            "/console/broadcasts/count",
            "/console/report",
            "/console/questions",
            "/console/questions?view=answered",
            "/console/certifications",
            "/console/certifications?q=Amina",
        ]
        for browser in (admin, staff):
            for page in pages:
                answer = await browser.get(page)
                assert answer.status_code == 200, (page, answer.text[:300])
        assert (await admin.get("/console/staff")).status_code == 200
        assert (await staff.get("/console/staff")).status_code == 403
        assert (await admin.get("/console/artisans/999")).status_code == 404


async def test_artisans_search_filters_and_pages_by_key(tmp_path: Path) -> None:
    async with console_harness(tmp_path) as h, client(h) as browser:
        await h.register(AMINA, name="Amina Benali", region="region:MS")
        await h.register(KARIM, name="Karim Alaoui", region="region:FM", lang="ar")
        await sign_in(h, browser, ADMIN)
        found = (await browser.get("/console/artisans?q=karim")).text
        assert "Karim Alaoui" in found and "Amina" not in found
        by_region = (await browser.get("/console/artisans?region=MS")).text
        assert "Amina Benali" in by_region and "Karim" not in by_region
        by_lang = (await browser.get("/console/artisans?lang=ar")).text
        assert "Karim Alaoui" in by_lang and "Amina" not in by_lang
        assert "Amina" in (await browser.get("/console/artisans?channel=telegram")).text
        assert "Amina" not in (await browser.get("/console/artisans?channel=whatsapp")).text


async def test_artisans_export_neutralises_formulas(tmp_path: Path) -> None:
    async with console_harness(tmp_path) as h, client(h) as browser:
        await h.register(AMINA)
        # Registration refuses such a name today; data from before (or typed by staff) may not.
        async with h.app.db.transaction() as conn:
            await conn.execute(update(artisans).values(full_name='=HYPERLINK("http://x")'))
        await sign_in(h, browser, ADMIN)
        csv_file = await browser.get("/console/artisans/export.csv")
        assert csv_file.status_code == 200
        text = csv_file.content.decode("utf-8-sig")
        assert "'=HYPERLINK" in text
        xlsx = await browser.get("/console/artisans/export.xlsx")
        from io import BytesIO

        from openpyxl import load_workbook

        sheet = load_workbook(BytesIO(xlsx.content)).active
        assert sheet is not None
        names = [c.value for c in sheet["B"]]
        assert any(isinstance(v, str) and v.startswith("'=") for v in names)


async def test_create_reschedule_and_cancel_tell_the_artisans_as_the_chat_does(tmp_path: Path) -> None:
    async with console_harness(tmp_path) as h, client(h) as browser:
        await h.register(AMINA)
        await sign_in(h, browser, ADMIN)
        token = await csrf(browser, "/console/sessions/new")
        start = (h.clock.now() + timedelta(days=10)).astimezone(h.app.services.zone)
        form = {
            "csrf": token,
            "title_fr": "Zellige avancé",
            "venue": "Fès",
            "start": start.strftime("%Y-%m-%dT10:00"),
            "minutes": "120",
            "capacity": "1",
            "region": "FM",
            "craft": "zellige",
        }
        created = await browser.post("/console/sessions/new", data=form)
        assert created.status_code == 303
        session_id = int(created.headers["location"].split("/")[3].split("?")[0])
        assert (await session_row(h, session_id))["created_by"] == "telegram:9000"
        await h.press_data(AMINA, f"s:enrolok:{session_id}")
        assert list((await statuses(h, session_id)).values()) == ["enrolled"]
        moved_form = dict(form, start=start.strftime("%Y-%m-%dT15:00"))
        moved = await browser.post(f"/console/sessions/{session_id}/edit", data=moved_form)
        assert moved.status_code == 303 and "told=1" in moved.headers["location"]
        assert any(k.startswith(f"moved:{session_id}:2:") for k in await outbox_keys(h))
        await h.deliver_all()
        assert "15:00" in h.last_text(AMINA)
        cancelled = await browser.post(f"/console/sessions/{session_id}/cancel", data={"csrf": token})
        assert cancelled.status_code == 303
        assert (await session_row(h, session_id))["status"] == "cancelled"
        assert any(k.startswith(f"cancelled:{session_id}:") for k in await outbox_keys(h))


async def test_a_bad_session_form_says_why_and_keeps_what_was_typed(tmp_path: Path) -> None:
    async with console_harness(tmp_path) as h, client(h) as browser:
        await sign_in(h, browser, ADMIN)
        token = await csrf(browser, "/console/sessions/new")
        answer = await browser.post(
            "/console/sessions/new",
            data={
                "csrf": token,
                "title_fr": "Atelier",
                "venue": "",
                "start": "demain",
                "minutes": "5",
                "capacity": "0",
            },
        )
        assert answer.status_code == 400
        assert "Atelier" in answer.text and 'class="error"' in answer.text


async def test_attendance_is_marked_from_the_session_page(tmp_path: Path) -> None:
    async with console_harness(tmp_path) as h, client(h) as browser:
        await h.register(AMINA)
        session_id = await make_session(h, starts_at=h.clock.now() + timedelta(hours=3))
        await h.press_data(AMINA, f"s:enrolok:{session_id}")
        await sign_in(h, browser, ADMIN)
        enrolment_id = next(iter(await statuses(h, session_id)))
        page = await browser.get(f"/console/sessions/{session_id}")
        assert 'class="mark"' not in page.text  # not yet: three hours early
        h.clock.advance(timedelta(hours=2, minutes=30))
        page = await browser.get(f"/console/sessions/{session_id}")
        token = csrf_of(page.text)
        answer = await browser.post(
            f"/console/sessions/{session_id}/mark",
            data={"csrf": token, "enrolment": str(enrolment_id), "present": "1"},
            headers={"Accept": "application/json"},
        )
        assert answer.json()["ok"] is True
        assert (await statuses(h, session_id))[enrolment_id] == "attended"


async def test_register_upload_previews_row_by_row_then_applies(tmp_path: Path) -> None:
    async with console_harness(tmp_path) as h, client(h) as browser:
        await sign_in(h, browser, ADMIN)
        path = write_csv(
            tmp_path / "register.csv",
            [
                row("V-1", "AB123456"),
                row("V-2", "CD654321", stage="eligible"),
                row("V-3", "bad cnie!"),
            ],
        )
        token = await csrf(browser, "/console/import/certifications")
        preview = await browser.post(
            "/console/import/certifications",
            data={"csrf": token},
            files={"file": ("register.csv", path.read_bytes(), "text/csv")},
        )
        assert preview.status_code == 200
        assert "V-1" in preview.text and "V-2" in preview.text and 'class="o-rejected"' in preview.text
        async with h.app.db.read() as conn:
            assert (await conn.execute(select(certification_history))).first() is None  # a dry run
        upload = preview.text.split('name="upload" value="')[1].split('"')[0]
        applied = await browser.post(
            "/console/import/certifications", data={"csrf": token, "upload": upload, "apply": "1"}
        )
        assert applied.status_code == 200
        async with h.app.db.read() as conn:
            authors = {r[0] for r in await conn.execute(select(certification_history.c.author))}
        assert authors == {"telegram:9000"}  # the history names who applied it


async def test_another_staff_member_cannot_apply_my_upload(tmp_path: Path) -> None:
    async with console_harness(tmp_path) as h, client(h) as admin, client(h) as staff:
        await grant_staff(h)
        await sign_in(h, admin, ADMIN)
        await sign_in(h, staff, STAFF)
        path = write_csv(tmp_path / "register.csv", [row("V-1", "AB123456")])
        token = await csrf(admin, "/console/import/certifications")
        preview = await admin.post(
            "/console/import/certifications",
            data={"csrf": token},
            files={"file": ("register.csv", path.read_bytes(), "text/csv")},
        )
        upload = preview.text.split('name="upload" value="')[1].split('"')[0]
        other = await csrf(staff, "/console/import/certifications")
        answer = await staff.post(
            "/console/import/certifications", data={"csrf": other, "upload": upload, "apply": "1"}
        )
        assert answer.status_code == 409


async def test_sessions_import_preview_then_apply(tmp_path: Path) -> None:
    async with console_harness(tmp_path) as h, client(h) as browser:
        await sign_in(h, browser, ADMIN)
        start = (
            (h.clock.now() + timedelta(days=20)).astimezone(h.app.services.zone).strftime("%d/%m/%Y 09:00")
        )
        content = (
            "ext_ref,title_fr,venue,start,duration_minutes,capacity\n"
            f"F-1,Poterie,Safi,{start},120,10\nF-2,,Safi,{start},120,10\n"
        ).encode()
        token = await csrf(browser, "/console/import/sessions")
        preview = await browser.post(
            "/console/import/sessions",
            data={"csrf": token},
            files={"file": ("sessions.csv", content, "text/csv")},
        )
        assert preview.status_code == 200 and "F-1" in preview.text and 'class="o-rejected"' in preview.text
        upload = preview.text.split('name="upload" value="')[1].split('"')[0]
        await browser.post("/console/import/sessions", data={"csrf": token, "upload": upload, "apply": "1"})
        assert "Poterie" in (await browser.get("/console/sessions")).text


async def test_broadcast_compose_count_send_follow_and_export(tmp_path: Path) -> None:
    async with console_harness(tmp_path) as h, client(h) as browser:
        await h.register(AMINA, region="region:MS")
        await h.register(KARIM, region="region:FM")
        await sign_in(h, browser, ADMIN)
        count = (await browser.get("/console/broadcasts/count?regions=MS")).json()
        assert count["total"] == 1
        token = await csrf(browser, "/console/broadcasts/new")
        sent = await browser.post(
            "/console/broadcasts/new",
            data={"csrf": token, "text_fr": "Salon à Marrakech", "fallback": "fr", "regions": "MS"},
        )
        assert sent.status_code == 303
        broadcast_id = int(sent.headers["location"].rsplit("/", 1)[1])
        await h.deliver_all()
        assert "Salon à Marrakech" in h.last_text(AMINA)
        assert all("Salon" not in t for t in h.texts(KARIM))
        progress = (await browser.get(f"/console/broadcasts/{broadcast_id}/progress")).json()
        assert progress["done"] == progress["total"] == 1
        deliveries = await browser.get(f"/console/broadcasts/{broadcast_id}/deliveries.csv")
        assert "Amina" in deliveries.content.decode("utf-8-sig")


async def test_the_session_page_shows_its_feedback(tmp_path: Path) -> None:
    from handlers import aftercare
    from storage import enrolments as enrolment_repo

    async with console_harness(tmp_path) as h, client(h) as browser:
        await h.register(AMINA, "fr", name="Amina Benali")
        await h.register(KARIM, "fr", name="Karim Alaoui")
        session_id = await make_session(h, starts_at=h.clock.now() + timedelta(days=1), capacity=5)
        await sign_in(h, browser, ADMIN)
        assert "Pas encore d" in (await browser.get(f"/console/sessions/{session_id}")).text
        async with h.app.db.transaction() as conn:
            for artisan_id, here in ((1, True), (2, False)):
                enrolment = await enrolment_repo.enrol(conn, session_id, artisan_id, h.clock.now())
                assert enrolment is not None
                await enrolment_repo.mark(conn, enrolment.id, here, h.clock.now())
        h.clock.advance(timedelta(days=1, hours=3))
        await aftercare.ask_feedback(h.app.services)
        await h.deliver_all()
        await h.press_data(AMINA, f"fb:r:{session_id}:4")
        await h.send(AMINA, "Très utile, merci")
        await h.press_data(KARIM, f"fb:a:{session_id}:transport")
        await sign_in(h, browser, ADMIN)  # the first browser session has expired (12 hours)
        page = (await browser.get(f"/console/sessions/{session_id}")).text
        assert "Notes reçues : 1" in page and 'id="fb-average">Moyenne : 4 / 5' in page
        assert "Transport: 1" in page and "Très utile, merci" in page
