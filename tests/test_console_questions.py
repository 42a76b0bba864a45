"""The console's questions inbox: staff read the artisan's question in the browser and answer it;
the answer reaches the artisan on their own channel exactly as an answer from the chat does."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select

from bot.clock import FakeClock
from storage import console as console_repo
from storage import questions as repo
from storage.chamber_schema import question_messages
from storage.schema import artisans
from tests.console_support import BASE, client, console_harness, csrf, sign_in
from tests.harness import ADMIN, STAFF
from tests.test_console_auth import grant_staff
from tests.whatsapp_harness import WhatsAppHarness

AMINA = 5401
WA_USER = "212611223355"
# Tuesday 10:00 in Casablanca: inside the chamber's opening hours.
TUESDAY = datetime(2026, 5, 12, 9, 0, tzinfo=UTC)


async def _ask(h: object, user: int, text: str) -> None:
    await h.press(user, "m:ask")  # type: ignore[attr-defined]
    await h.send(user, text)  # type: ignore[attr-defined]


async def test_staff_answer_a_question_from_the_browser_and_the_artisan_gets_it(tmp_path: Path) -> None:
    async with console_harness(tmp_path, clock=FakeClock(TUESDAY)) as h, client(h) as browser:
        await h.register(AMINA, "fr", name="Amina Benali")
        await _ask(h, AMINA, "Quels documents pour la VAEP ?")
        await h.deliver_all()
        await grant_staff(h)
        await sign_in(h, browser, STAFF)

        inbox = await browser.get("/console/questions")
        assert inbox.status_code == 200
        assert "Amina Benali" in inbox.text and "Ouvertes (1)" in inbox.text
        page = await browser.get("/console/questions/1")
        assert "Quels documents pour la VAEP ?" in page.text
        assert 'href="/console/artisans/1"' in page.text  # the artisan's profile
        token = await csrf(browser, "/console/questions/1")

        before = len(h.texts(AMINA))
        sent = await browser.post(
            "/console/questions/1/answer", data={"csrf": token, "text": "Votre CNIE et une attestation."}
        )
        assert sent.status_code == 303
        await h.deliver_all()
        new = h.texts(AMINA)[before:]
        assert len(new) == 1
        assert "Réponse de la chambre" in new[0] and "Votre CNIE et une attestation." in new[0]

        async with h.app.db.read() as conn:
            question = await repo.get(conn, 1)
            messages = await repo.thread(conn, 1)
            lines = await console_repo.activity(conn)
        assert question is not None and question.status == "answered"
        assert question.first_answer_at is not None and question.first_answer_at >= question.opened_at
        assert messages[-1].direction == "out" and messages[-1].author == f"telegram:{STAFF}"
        assert any(
            line["action"] == "question_answer" and line["author"] == f"telegram:{STAFF}" for line in lines
        )
        # The answered tab lists it; the thread shows the answer with its author.
        assert "Répondues (1)" in (await browser.get("/console/questions?view=answered")).text
        thread = (await browser.get("/console/questions/1")).text
        assert f"Chambre (telegram:{STAFF})" in thread
        # The bot's staff inbox (same storage) sees it answered too.
        await h.send(STAFF, "/questions")
        await h.press(STAFF, "qs:list:answered")
        assert "Amina Benali" in " ".join(h.labels(STAFF))


async def test_an_empty_answer_is_refused_and_nothing_is_sent(tmp_path: Path) -> None:
    async with console_harness(tmp_path, clock=FakeClock(TUESDAY)) as h, client(h) as browser:
        await h.register(AMINA, "fr")
        await _ask(h, AMINA, "Bonjour")
        await h.deliver_all()
        await sign_in(h, browser, ADMIN)
        token = await csrf(browser, "/console/questions/1")
        before = len(h.texts(AMINA))
        answer = await browser.post("/console/questions/1/answer", data={"csrf": token, "text": "   "})
        assert (
            answer.status_code == 400 and 'id="problem"' in answer.text and "abord une réponse" in answer.text
        )
        no_csrf = await browser.post("/console/questions/1/answer", data={"text": "sans jeton"})
        assert no_csrf.status_code == 403
        await h.deliver_all()
        assert len(h.texts(AMINA)) == before
        async with h.app.db.read() as conn:
            question = await repo.get(conn, 1)
        assert question is not None and question.status == "open"


async def test_assign_mark_answered_reopen_and_a_canned_answer(tmp_path: Path) -> None:
    async with console_harness(tmp_path, clock=FakeClock(TUESDAY)) as h, client(h) as browser:
        await h.register(AMINA, "ar", name="أمينة")
        await _ask(h, AMINA, "متى التكوين المقبل؟")
        await h.deliver_all()
        async with h.app.db.transaction() as conn:
            await repo.save_canned(
                conn, "Horaires", "La chambre est ouverte de 8h30 à 16h30.", "test", TUESDAY
            )
        await sign_in(h, browser, ADMIN)
        token = await csrf(browser, "/console/questions/1")
        assert "Les miennes (0)" in (await browser.get("/console/questions")).text

        assert (await browser.post("/console/questions/1/assign", data={"csrf": token})).status_code == 303
        mine = (await browser.get("/console/questions?view=mine")).text
        assert "Les miennes (1)" in mine and "أمينة" in mine
        assert (await browser.post("/console/questions/1/done", data={"csrf": token})).status_code == 303
        async with h.app.db.read() as conn:
            question = await repo.get(conn, 1)
        assert (
            question is not None
            and question.status == "answered"
            and question.assigned_to == f"telegram:{ADMIN}"
        )
        assert 'id="reopen"' in (await browser.get("/console/questions/1")).text
        assert (await browser.post("/console/questions/1/reopen", data={"csrf": token})).status_code == 303
        async with h.app.db.read() as conn:
            question = await repo.get(conn, 1)
        assert question is not None and question.status == "open"

        before = len(h.texts(AMINA))
        page = (await browser.get("/console/questions/1")).text
        assert "Horaires" in page
        sent = await browser.post("/console/questions/1/answer", data={"csrf": token, "canned": "1"})
        assert sent.status_code == 303
        stale = await browser.post("/console/questions/1/answer", data={"csrf": token, "canned": "99"})
        assert stale.status_code == 409
        await h.deliver_all()
        new = h.texts(AMINA)[before:]
        assert len(new) == 1 and "La chambre est ouverte de 8h30 à 16h30." in new[0]
        assert "جواب الغرفة" in new[0]  # in the artisan's language
        async with h.app.db.read() as conn:
            actions = [line["action"] for line in await console_repo.activity(conn)]
        assert {"question_assign", "question_done", "question_reopen", "question_answer"} <= set(actions)


async def test_the_inbox_pages_and_the_dashboard_counts_waiting_questions(tmp_path: Path) -> None:
    async with console_harness(tmp_path, clock=FakeClock(TUESDAY)) as h, client(h) as browser:
        async with h.app.db.transaction() as conn:
            for n in range(1, 36):
                result = await conn.execute(
                    artisans.insert().values(
                        full_name=f"Artisan {n:02d}", locale="fr", created_at=TUESDAY, updated_at=TUESDAY
                    )
                )
                key = result.inserted_primary_key
                assert key is not None
                artisan_id = int(key[0])
                await repo.add_incoming(conn, artisan_id, TUESDAY, kind="text", text=f"question {n}")
        await sign_in(h, browser, ADMIN)
        first = (await browser.get("/console/questions")).text
        assert "Ouvertes (35)" in first
        assert "Artisan 01" in first and "Artisan 30" in first and "Artisan 31" not in first
        assert 'id="next-page"' in first
        second = (await browser.get("/console/questions?view=open&page=2")).text
        assert "Artisan 31" in second and "Artisan 35" in second and "Artisan 01" not in second
        assert 'id="next-page"' not in second and 'id="prev-page"' in second
        dashboard = (await browser.get("/console/")).text
        assert 'id="dash-questions">35<' in dashboard
        assert (await browser.get("/console/questions/999")).status_code == 404


async def test_a_whatsapp_voice_question_is_heard_in_the_browser_and_answered_on_whatsapp(
    tmp_path: Path,
) -> None:
    async with (
        WhatsAppHarness.open(
            tmp_path, clock=FakeClock(TUESDAY), default_locale="fr", console={"base_url": BASE}
        ) as h,
        client(h) as browser,
    ):
        await h.wa_register(WA_USER, "fr", name="Youssef Alaoui")
        await h.wa_tap(WA_USER, "m:ask")
        await h.post(h.graph.voice(WA_USER, content=b"OggS-whatsapp-voice", media_id="1000000077"))
        await h.deliver_all()
        await sign_in(h, browser, ADMIN)
        page = (await browser.get("/console/questions/1")).text
        assert "Youssef Alaoui" in page and "Message vocal" in page
        async with h.app.db.read() as conn:
            voice_id = (await conn.execute(select(question_messages.c.id))).scalar_one()
        heard = await browser.get(f"/console/questions/1/files/{voice_id}")
        assert heard.status_code == 200 and heard.content == b"OggS-whatsapp-voice"
        assert heard.headers["content-type"].startswith("audio/")
        assert (await browser.get(f"/console/questions/2/files/{voice_id}")).status_code == 404

        token = await csrf(browser, "/console/questions/1")
        sent = await browser.post(
            "/console/questions/1/answer", data={"csrf": token, "text": "Oui, venez jeudi."}
        )
        assert sent.status_code == 303
        await h.deliver_all()
        last = h.graph.last_to(WA_USER)
        assert "Oui, venez jeudi." in last.text and "Réponse de la chambre" in last.text
