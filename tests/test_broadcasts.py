"""Staff broadcasts through the real application: compose, preview, send, progress, report,
idempotency, restarts, blocked and opted-out artisans, scheduling, stop, roles."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, insert, select

from bot.clock import FakeClock
from handlers.broadcasts import delivery as broadcast_delivery
from storage import broadcasts as broadcast_repo
from storage.schema import artisans, identities, outbox
from tests import factories
from tests.harness import ADMIN, STAFF, Harness

FR, AR, EN = 201, 202, 203
TEXT_FR = "Salon de l'artisanat : inscriptions ouvertes"
TEXT_AR = "معرض الصناعة التقليدية: التسجيل مفتوح"
SEEDED = 10_001  # chat ids of artisans created straight in the database
REFUSED = "réservé au personnel"
STALE = "n'est plus disponible"


def said(h: Harness, user: int, fragment: str) -> bool:
    """``fragment`` is in one of the last two messages to ``user`` (a refusal + a re-asked question)."""
    return any(fragment in t for t in h.texts(user)[-2:])


async def seed_artisans(h: Harness, count: int, *, locale: str = "fr", region: str = "MS") -> list[int]:
    """``count`` registered artisans (no conversation needed); returns their chat ids."""
    now = h.clock.now()
    async with h.app.db.transaction() as conn:
        start = int((await conn.execute(select(func.count()).select_from(artisans))).scalar_one())
        chats = [SEEDED + start + i for i in range(count)]
        for chat in chats:
            result = await conn.execute(insert(artisans).values(
                full_name=f"Artisan {chat}", phone=f"+2126{chat:08d}", phone_verified=True, region=region,
                craft="pottery", locale=locale, consent_at=now, opted_out=False, created_at=now,
                updated_at=now))
            assert result.inserted_primary_key is not None
            await conn.execute(insert(identities).values(
                channel="telegram", external_id=str(chat), artisan_id=result.inserted_primary_key[0],
                chat_id=str(chat), blocked=False, created_at=now, last_inbound_at=now))
    return chats


async def finish_sending(h: Harness) -> None:
    """Run the broadcasts job and the outbox until nothing is left (the fake clock moves)."""
    for _ in range(300):
        await broadcast_delivery.tick(h.app.services)
        await h.drain()
        async with h.app.db.read() as conn:
            waiting = (await conn.execute(select(func.count()).select_from(outbox).where(
                outbox.c.status.in_(("pending", "sending"))))).scalar()
            running = await broadcast_repo.running(conn)
        if not waiting and not running:
            return
        h.clock.advance(1.1)
    raise AssertionError("the outbox never emptied")


def received(h: Harness, chat: int, text: str) -> int:
    """How many messages with ``text`` reached ``chat``."""
    return sum(1 for m in h.api.messages_to(chat) if text in (m.plain_text or ""))


async def compose(h: Harness, user: int = ADMIN, text: str = TEXT_FR, lang: str = "fr") -> None:
    h.languages.setdefault(user, "fr")
    await h.send(user, "/broadcast")
    await h.press(user, f"bc:l:{lang}")
    await h.send(user, text)


async def broadcast_status(h: Harness, broadcast_id: int = 1) -> str:
    async with h.app.db.read() as conn:
        b = await broadcast_repo.get(conn, broadcast_id)
    assert b is not None
    return b.status


async def test_staff_broadcast_reaches_each_artisan_in_their_language(h: Harness) -> None:
    await h.register(FR, "fr")
    await h.register(AR, "ar")
    await h.register(EN, "en")
    await compose(h)
    await h.press(ADMIN, "bc:l:ar")  # a second language from the compose hub
    await h.send(ADMIN, TEXT_AR)
    assert "العربية, Français" in h.last_text(ADMIN)
    await h.press(ADMIN, "bc:preview")
    previews = h.texts(ADMIN)[-7:]
    assert any(TEXT_AR in t and "غرفة الصناعة التقليدية" in t for t in previews)  # as the reader sees it
    assert any(TEXT_FR in t and "Chamber of Artisans" in t for t in previews)  # English: fallback text
    assert "Prêt à envoyer à 3 artisans" in h.last_text(ADMIN)
    assert "Telegram : 3" in h.last_text(ADMIN)
    assert received(h, FR, TEXT_FR) == 0  # nothing before confirm
    await h.press(ADMIN, "bc:send:1")
    assert "part vers 3 artisans" in h.last_text(ADMIN)
    await finish_sending(h)
    assert received(h, FR, TEXT_FR) == 1 and "Chambre d'artisanat" in h.texts(FR)[-1]
    assert received(h, AR, TEXT_AR) == 1 and received(h, AR, TEXT_FR) == 0
    assert received(h, EN, TEXT_FR) == 1 and "Reply STOP" in h.texts(EN)[-1]
    report = h.last_text(ADMIN)
    assert "Rapport : diffusion n° 1 (terminée)" in report and "Envoyés : 3" in report
    async with h.app.db.read() as conn:
        b = await broadcast_repo.get(conn, 1)
    assert b is not None and b.status == "done" and (b.sent, b.total) == (3, 3)
    assert (b.author_channel, b.author_id) == ("telegram", str(ADMIN))  # recorded with its author


async def test_progress_is_one_message_edited_in_place(h: Harness) -> None:
    await seed_artisans(h, 12)
    await compose(h)
    await h.press(ADMIN, "bc:preview")
    await h.press(ADMIN, "bc:send:1")
    h.clock.advance(2)
    sender = h.app.outbox.senders["telegram"]
    await sender.step()  # the progress message goes first, then a few artisans
    await broadcast_delivery.tick(h.app.services)  # → an edit of the progress message
    h.clock.advance(1.1)
    await sender.step()
    await finish_sending(h)
    progress = [m for m in h.api.messages_to(ADMIN) if m.edits]
    assert len(progress) == 1  # one message, not a flood
    assert "Diffusion n° 1 :" in (progress[0].edits[0]["plain_text"] or "")
    assert len(progress[0].edits) >= 2
    assert "Rapport : diffusion n° 1" in (progress[0].plain_text or "")  # ends as the report
    assert progress[0].buttons == []  # the Stop button is gone at the end
    assert [e for e in h.api.edits if e["chat_id"] == ADMIN]


async def test_non_staff_pressing_forged_broadcast_buttons_is_refused(h: Harness) -> None:
    await h.register(FR, "fr")
    await compose(h)
    await h.press(ADMIN, "bc:preview")  # a draft exists, ready to send
    for forged in ("bc:send:1", "bc:stopok:1", "bc:cancel:1", "bc:csv:1", "bc:anything"):
        await h.press_data(FR, forged)
        assert REFUSED in h.last_text(FR), forged
    await h.send(FR, "/broadcast")
    await h.send(FR, "/staff")
    await h.send(FR, "/stats")
    assert all(REFUSED in t for t in h.texts(FR)[-3:])
    assert await broadcast_status(h) == "draft"
    assert received(h, FR, TEXT_FR) == 0


async def test_confirm_pressed_twice_sends_once(h: Harness) -> None:
    chats = await seed_artisans(h, 5)
    await compose(h)
    await h.press(ADMIN, "bc:preview")
    preview = h.find_button(ADMIN, "bc:send:1")
    await h.press(ADMIN, "bc:send:1", message=preview)
    await h.press(ADMIN, "bc:send:1", message=preview)  # a double tap
    assert said(h, ADMIN, STALE)
    await finish_sending(h)
    assert all(received(h, chat, TEXT_FR) == 1 for chat in chats)
    async with h.app.db.read() as conn:
        rows = (await conn.execute(select(func.count()).select_from(outbox).where(
            outbox.c.kind == "broadcast"))).scalar()
    assert rows == 5


async def test_restart_mid_broadcast_delivers_each_artisan_exactly_once(h: Harness) -> None:
    h.api.enforce_limits(30, 1)
    chats = await seed_artisans(h, 40)
    await compose(h)
    await h.press(ADMIN, "bc:preview")
    await h.press(ADMIN, "bc:send:1")
    sender = h.app.outbox.senders["telegram"]
    for _ in range(3):
        await sender.step()
    # The crash: a batch is claimed ("sending") and the process dies before it goes out.
    claimed = await sender._claim(h.clock.now())
    assert claimed
    await h.restart()
    await h.claims_expire()  # the dead process's claims expire: its rows are back in the queue
    await finish_sending(h)
    assert [received(h, chat, TEXT_FR) for chat in chats] == [1] * 40
    assert h.api.too_many_requests == 0
    assert await broadcast_status(h) == "done"


async def test_crash_after_sending_resends_at_most_the_messages_in_flight(h: Harness) -> None:
    chats = await seed_artisans(h, 20)
    await compose(h)
    await h.press(ADMIN, "bc:preview")
    await h.press(ADMIN, "bc:send:1")
    sender = h.app.outbox.senders["telegram"]
    batch = await sender._claim(h.clock.now())
    tasks = await sender._launch(batch)
    for task in tasks:
        await task  # delivered, but the process dies before recording it
    await h.restart()
    await h.claims_expire()
    await finish_sending(h)
    counts = [received(h, chat, TEXT_FR) for chat in chats]
    assert all(n >= 1 for n in counts)
    assert sum(counts) - len(chats) <= h.settings.outbox.max_in_flight


async def test_blocked_artisans_are_reported_and_skipped_afterwards(h: Harness) -> None:
    chats = await seed_artisans(h, 4)
    h.api.block(chats[1])
    await compose(h)
    await h.press(ADMIN, "bc:preview")
    await h.press(ADMIN, "bc:send:1")
    await finish_sending(h)
    report = h.last_text(ADMIN)
    assert "Envoyés : 3" in report and "Ont bloqué le bot : 1" in report
    async with h.app.db.read() as conn:
        blocked = (await conn.execute(select(identities.c.blocked).where(
            identities.c.chat_id == str(chats[1])))).scalar()
    assert blocked is True
    calls = len(h.api.calls)
    await compose(h, text="Deuxième message")
    await h.press(ADMIN, "bc:preview")
    assert "1 injoignables" in h.last_text(ADMIN)  # known before sending
    await h.press(ADMIN, "bc:send:2")
    await finish_sending(h)
    sent_to_blocked = [c for c in h.api.calls[calls:] if str(c[1].get("chat_id")) == str(chats[1])]
    assert sent_to_blocked == []  # no second attempt at a chat that blocked the bot
    assert "Ignorés : 1" in h.last_text(ADMIN)


async def test_opted_out_artisans_get_nothing(h: Harness) -> None:
    await h.register(FR, "fr")
    await h.register(EN, "en")
    await h.send(EN, "STOP")
    await compose(h)
    await h.press(ADMIN, "bc:preview")
    assert "Prêt à envoyer à 1 artisan" in h.last_text(ADMIN)
    assert "1 qui ont dit STOP" in h.last_text(ADMIN)
    await h.press(ADMIN, "bc:send:1")
    await finish_sending(h)
    assert received(h, FR, TEXT_FR) == 1 and received(h, EN, TEXT_FR) == 0


async def test_artisan_saying_stop_during_a_broadcast_is_skipped(h: Harness) -> None:
    await h.register(FR, "fr")
    await h.register(EN, "en")
    await compose(h)
    await h.press(ADMIN, "bc:preview")
    await h.press(ADMIN, "bc:send:1")
    await h.send(EN, "stop")  # before the outbox got to them
    await finish_sending(h)
    assert received(h, EN, TEXT_FR) == 0 and received(h, FR, TEXT_FR) == 1
    assert "Ignorés : 1" in h.last_text(ADMIN)


async def test_stop_a_running_broadcast(h: Harness) -> None:
    chats = await seed_artisans(h, 12)
    await compose(h)
    await h.press(ADMIN, "bc:preview")
    await h.press(ADMIN, "bc:send:1")
    h.clock.advance(2)
    await h.app.outbox.senders["telegram"].step()  # the progress message (with Stop) and 3 more
    await h.press(ADMIN, "bc:stop:1")
    assert "Arrêter la diffusion n° 1" in h.last_text(ADMIN)
    await h.press(ADMIN, "bc:stopok:1")
    await h.press_data(ADMIN, "bc:stopok:1")  # a second press: nothing left to stop
    assert said(h, ADMIN, STALE)
    await finish_sending(h)
    got = sum(received(h, chat, TEXT_FR) for chat in chats)
    assert 0 < got < 12
    assert f"Ignorés : {12 - got}" in h.last_text(ADMIN) and "(arrêtée)" in h.last_text(ADMIN)
    assert await broadcast_status(h) == "stopped"


async def test_scheduled_broadcast_survives_restart_and_fires_at_local_time(tmp_path: Path) -> None:
    # June 2026: Morocco is at UTC+1 (before the 2026-09-20 change), so 12:30 local is 11:30 UTC.
    clock = FakeClock(datetime(2026, 6, 1, 8, 0, tzinfo=UTC))
    async with Harness.open(tmp_path, clock=clock) as h:
        await h.register(FR, "fr")
        await compose(h)
        await h.press(ADMIN, "bc:preview")
        await h.press(ADMIN, "bc:sched:1")
        await h.send(ADMIN, "31/05/2026 10:00")
        assert "passé" in h.texts(ADMIN)[-2]
        await h.send(ADMIN, "1er juin")
        assert "pas pu lire" in h.texts(ADMIN)[-2]
        await h.send(ADMIN, "01/06/2026 12:30")
        assert "12:30" in h.last_text(ADMIN)
        await h.press(ADMIN, "bc:schedok:1")
        assert "programmée pour le" in h.last_text(ADMIN)
        async with h.app.db.read() as conn:
            b = await broadcast_repo.get(conn, 1)
        assert b is not None and b.scheduled_at == datetime(2026, 6, 1, 11, 30, tzinfo=UTC)
        await h.send(ADMIN, "/broadcasts")
        assert "n° 1" in h.last_text(ADMIN) and any("Annuler n° 1" in x for x in h.labels(ADMIN))
        h.clock.set(datetime(2026, 6, 1, 11, 29, tzinfo=UTC))
        await broadcast_delivery.tick(h.app.services)
        await h.drain()
        assert received(h, FR, TEXT_FR) == 0
        await h.restart()
        h.clock.set(datetime(2026, 6, 1, 11, 30, tzinfo=UTC))
        await finish_sending(h)
        assert received(h, FR, TEXT_FR) == 1
        assert await broadcast_status(h) == "done"


async def test_cancelled_scheduled_broadcast_never_goes_out(h: Harness) -> None:
    await h.register(FR, "fr")
    await compose(h)
    await h.press(ADMIN, "bc:preview")
    await h.press(ADMIN, "bc:sched:1")
    local = (h.clock.now() + timedelta(hours=3)).astimezone(h.app.services.zone)
    await h.send(ADMIN, local.strftime("%d/%m/%Y %H:%M"))
    await h.press(ADMIN, "bc:schedok:1")
    await h.send(ADMIN, "/broadcasts")
    await h.press(ADMIN, "bc:cancel:1")
    assert "annulée" in h.last_text(ADMIN)
    h.clock.advance(timedelta(hours=4))
    await finish_sending(h)
    assert received(h, FR, TEXT_FR) == 0
    assert await broadcast_status(h) == "cancelled"


async def test_audience_by_region_and_language(h: Harness) -> None:
    await h.register(FR, "fr", region="region:MS")
    await h.register(AR, "ar", region="region:MS")
    await h.register(EN, "en", region="region:CS")
    await compose(h)
    await h.press(ADMIN, "bc:aud")
    await h.press(ADMIN, "bc:a:regions")
    await h.press(ADMIN, "bc:r:MS")
    assert "✅ Marrakech-Safi" in h.labels(ADMIN)
    await h.press(ADMIN, "bc:a:back")
    assert "2 artisans joignables" in h.last_text(ADMIN)
    await h.press(ADMIN, "bc:a:langs")
    await h.press(ADMIN, "bc:g:ar")
    await h.press(ADMIN, "bc:a:back")
    assert "1 artisan joignable" in h.last_text(ADMIN)
    await h.press(ADMIN, "bc:a:done")
    await h.press(ADMIN, "bc:preview")
    await h.press(ADMIN, "bc:send:1")
    await finish_sending(h)
    assert (received(h, FR, TEXT_FR), received(h, AR, TEXT_FR), received(h, EN, TEXT_FR)) == (0, 1, 0)


async def add_session(h: Harness, session_id: int, title: str, enrolled: dict[int, str]) -> None:
    """A training session (the sessions feature's tables) with the given enrolments."""
    from storage.sessions_schema import enrolments, sessions

    now = h.clock.now()
    async with h.app.db.transaction() as conn:
        await conn.execute(sessions.insert().values(
            id=session_id, title={"fr": title, "ar": title, "en": title}, description={},
            venue="Marrakech", starts_at=now + timedelta(days=3),
            ends_at=now + timedelta(days=3, hours=3), capacity=20, status="scheduled", version=1,
            created_by="test", created_at=now, updated_at=now))
        for artisan_id, status in enrolled.items():
            await conn.execute(enrolments.insert().values(
                session_id=session_id, artisan_id=artisan_id, status=status, created_at=now,
                updated_at=now))


async def test_audience_of_a_training_session(h: Harness) -> None:
    await h.register(FR, "fr")
    await h.register(AR, "ar")
    await h.register(EN, "en")
    await add_session(h, 7, "Zellige avancé", {1: "enrolled", 2: "waitlisted", 3: "cancelled"})
    await compose(h)
    await h.press(ADMIN, "bc:aud")
    await h.press(ADMIN, "bc:a:session")
    await h.press(ADMIN, "bc:s:7")
    await h.press(ADMIN, "bc:ss:both")
    assert "2 artisans joignables" in h.last_text(ADMIN) and "Zellige avancé" in h.last_text(ADMIN)
    await h.press(ADMIN, "bc:a:session")
    await h.press(ADMIN, "bc:s:7")
    await h.press(ADMIN, "bc:ss:waitlisted")
    await h.press(ADMIN, "bc:a:done")
    await h.press(ADMIN, "bc:preview")
    await h.press(ADMIN, "bc:send:1")
    await finish_sending(h)
    assert (received(h, FR, TEXT_FR), received(h, AR, TEXT_FR), received(h, EN, TEXT_FR)) == (0, 1, 0)


async def test_session_filter_is_offered_with_the_sessions_feature(h: Harness) -> None:
    await compose(h)
    await h.press(ADMIN, "bc:aud")
    assert "bc:a:session" in [data for _, data in h.last(ADMIN).buttons]


async def test_broadcast_with_a_photo_uploads_it_once(h: Harness) -> None:
    chats = await seed_artisans(h, 3)
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 200
    h.api.add_file(png, file_id="POSTER1", filename="poster.png", mime_type="image/png")
    await compose(h)
    await h.press(ADMIN, "bc:media")
    await h.send(ADMIN, "pas une photo")
    assert "ni une photo ni un document" in h.texts(ADMIN)[-2]
    await h.feed(factories.photo_update(ADMIN, file_id="POSTER1"))
    assert "une photo" in h.last_text(ADMIN)
    await h.press(ADMIN, "bc:preview")
    await h.press(ADMIN, "bc:send:1")
    await finish_sending(h)
    photos = [m for m in h.api.sent if m.method == "sendPhoto" and m.chat_id in chats]
    assert len(photos) == 3 and all(TEXT_FR in (m.plain_text or "") for m in photos)
    uploads = [c for c in h.api.calls if c[0] == "sendPhoto"
               and not (isinstance(c[1].get("photo"), str) and not c[1]["photo"].startswith("attach://"))]
    # Once: the preview to staff (a reply, sent by the outbox's transport), then its file id
    # serves every artisan.
    assert len(uploads) == 1
    async with h.app.db.read() as conn:
        stmt = select(outbox.c.payload).where(outbox.c.kind == "broadcast")
        payloads = (await conn.execute(stmt)).scalars()
        assert all("photo" not in p and p["media_ref"] == "broadcast:1" for p in payloads)


async def test_bad_input_while_composing(h: Harness) -> None:
    await h.register(FR, "fr")
    await h.send(ADMIN, "/broadcast")
    await h.press(ADMIN, "bc:l:fr")
    await h.send(ADMIN, "x" * 3501)
    assert "raccourcissez" in h.texts(ADMIN)[-2]
    await h.send(ADMIN, "\u200f\u200e  ")  # only invisible marks
    assert "Écrivez quelques mots" in h.texts(ADMIN)[-2]
    await h.send(ADMIN, "/help")  # a command mid-flow, then back to the question
    await h.send(ADMIN, "<b>Attention</b> & 🎉 réunion")
    await h.press(ADMIN, "bc:preview")
    await h.press(ADMIN, "bc:send:1")
    await finish_sending(h)
    message = h.api.messages_to(FR)[-1]
    assert "&lt;b&gt;Attention&lt;/b&gt; &amp; 🎉 réunion" in (message.text or "")
    assert "<b>Attention</b> & 🎉 réunion" in (message.plain_text or "")


async def test_staff_are_added_and_removed_by_admins(h: Harness) -> None:
    h.languages[STAFF] = "fr"
    await h.send(STAFF, "/broadcast")
    assert REFUSED in h.last_text(STAFF)
    await h.send(ADMIN, "/staff")
    await h.press(ADMIN, "st:add")
    await h.send(ADMIN, "abc")
    assert "est un nombre" in h.texts(ADMIN)[-2]
    await h.send(ADMIN, str(STAFF))
    await h.press(ADMIN, "st:role:staff")
    assert str(STAFF) in h.last_text(ADMIN)
    await h.send(STAFF, "/staff")  # staff, not admin
    assert REFUSED in h.last_text(STAFF)
    await compose(h, user=STAFF)
    assert "Diffusion n° 1" in h.last_text(STAFF)
    await h.send(ADMIN, "/staff")
    await h.press(ADMIN, f"st:rm:telegram:{STAFF}")
    await h.press(ADMIN, "st:rmok")
    assert said(h, ADMIN, "ne fait plus partie")
    await h.press(STAFF, "bc:preview")  # mid-flow: refused at once
    assert REFUSED in h.last_text(STAFF)
    await h.press_data(ADMIN, f"st:rm:telegram:{ADMIN}")  # nobody removes themselves
    assert said(h, ADMIN, STALE)


async def test_announcements_list_recent_broadcasts_addressed_to_the_artisan(h: Harness) -> None:
    await h.register(FR, "fr")
    await compose(h)
    await h.press(ADMIN, "bc:preview")
    await h.press(ADMIN, "bc:send:1")
    await finish_sending(h)
    await h.register(EN, "en")  # registered after: it was not addressed to them
    await h.send(FR, "menu")
    await h.press(FR, "m:announcements")
    assert "Annonces récentes" in h.last_text(FR)
    await h.press(FR, "ann:1")
    assert TEXT_FR in h.last_text(FR)
    await h.send(EN, "/announcements")
    assert "No announcement" in h.last_text(EN)
    await h.press_data(EN, "ann:1")  # forged: not theirs
    assert said(h, EN, "no longer available")
    assert TEXT_FR not in "".join(h.texts(EN))


async def test_deliveries_button_sends_a_csv(h: Harness) -> None:
    chats = await seed_artisans(h, 2)
    h.api.block(chats[0])
    await compose(h)
    await h.press(ADMIN, "bc:preview")
    await h.press(ADMIN, "bc:send:1")
    await finish_sending(h)
    await h.press(ADMIN, "bc:csv:1")
    document = h.api.messages_to(ADMIN)[-1]
    assert document.method == "sendDocument" and document.filename == "deliveries-1.csv"
    assert document.document is not None
    lines = document.document.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("artisan_id,name,phone")
    assert sorted(line.split(",")[8] for line in lines[1:]) == ["blocked", "sent"]


async def test_stale_compose_buttons_after_sending(h: Harness) -> None:
    await seed_artisans(h, 1)
    await compose(h)
    await h.press(ADMIN, "bc:preview")
    await h.press(ADMIN, "bc:send:1")
    await h.press_data(ADMIN, "bc:sched:1")
    assert said(h, ADMIN, STALE)
    assert await broadcast_status(h) == "sending"


async def test_stats_numbers_and_chart(h: Harness) -> None:
    await h.register(FR, "fr", region="region:MS")
    await h.register(AR, "ar", region="region:MS")
    await h.register(EN, "en", region="region:CS", craft="craft:pottery")
    await add_session(h, 3, "Tadelakt", {1: "attended", 2: "no_show", 3: "waitlisted"})
    h.api.block(EN)
    await compose(h)
    await h.press(ADMIN, "bc:preview")
    await h.press(ADMIN, "bc:send:1")
    await finish_sending(h)
    h.clock.advance(2)
    await h.send(ADMIN, "/stats")
    chart, numbers = h.api.messages_to(ADMIN)[-2:]
    assert chart.method == "sendPhoto" and chart.document is not None
    assert chart.document.startswith(b"\x89PNG")
    text = numbers.plain_text or ""
    assert "3 artisans inscrits" in text
    assert "Marrakech-Safi : 2" in text and "Casablanca-Settat : 1" in text
    assert "Zellige : 2" in text and "Poterie : 1" in text
    assert "Tadelakt : 2 inscrits, 1 en attente, 1 présents, 1 absents (présence 50 %)" in text
    assert "2/3 envoyés (67 %), 0 échecs, 1 bloqués" in text
    week = [line for line in text.splitlines() if line.startswith("• semaine du")]
    assert len(week) == 12 and week[-1].endswith(": 3")


async def test_stats_before_any_training_session(h: Harness) -> None:
    await h.register(FR, "ar")
    await h.send(ADMIN, "/stats")
    text = h.last_text(ADMIN)
    assert "Par région" in text and "1 artisan inscrit\n" in text and "aucune pour l'instant" in text


def test_arabic_chart_labels_are_shaped_right_to_left() -> None:
    import matplotlib

    from handlers.charts import shape

    shaped = shape("مراكش آسفي")
    if tuple(int(p) for p in matplotlib.__version__.split(".")[:2]) >= (3, 11):
        # matplotlib 3.11 joins and orders Arabic itself (see test_report's regression test)
        assert shaped == "مراكش آسفي"
    else:
        assert shaped != "مراكش آسفي"
        assert all("\ufe70" <= ch <= "\ufeff" or ch == " " for ch in shaped)  # joined letter forms
    assert shape("Fès-Meknès") == "Fès-Meknès"


async def test_cli_exports_deliveries_and_prints_stats(h: Harness, tmp_path: Path,
                                                       capsys: object) -> None:
    import argparse

    from openpyxl import load_workbook

    from handlers.broadcasts.cli import export_deliveries, print_stats

    chats = await seed_artisans(h, 3)
    h.api.block(chats[2])
    await compose(h)
    await h.press(ADMIN, "bc:preview")
    await h.press(ADMIN, "bc:send:1")
    await finish_sending(h)
    out = tmp_path / "d.xlsx"
    assert await export_deliveries(h.app.services, argparse.Namespace(broadcast=1, out=out)) == 0
    sheet = load_workbook(out).active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:3] == ("artisan_id", "name", "phone") and len(rows) == 4
    assert sorted(str(r[8]) for r in rows[1:]) == ["blocked", "sent", "sent"]
    assert await export_deliveries(h.app.services, argparse.Namespace(broadcast=9, out=out)) == 1
    csv_out = tmp_path / "d.csv"
    assert await export_deliveries(h.app.services, argparse.Namespace(broadcast=1, out=csv_out)) == 0
    assert csv_out.read_text(encoding="utf-8-sig").count("\n") == 4
    assert await print_stats(h.app.services, argparse.Namespace(lang="en", chart=tmp_path / "s.png")) == 0
    assert (tmp_path / "s.png").read_bytes().startswith(b"\x89PNG")


async def test_preview_and_start_announce_the_same_count(h: Harness) -> None:
    # Issue 12 item 13: the preview said "1 artisan", then "on its way to 3 artisans" (the two
    # without any chat were counted when sending started).
    from sqlalchemy import delete

    chats = await seed_artisans(h, 3)
    async with h.app.db.transaction() as conn:
        await conn.execute(delete(identities).where(identities.c.external_id.in_(
            [str(c) for c in chats[1:]])))
    await compose(h)
    await h.press(ADMIN, "bc:preview")
    preview = h.last_text(ADMIN)
    assert "1 artisan" in preview and "3 artisans" not in preview
    await h.press(ADMIN, "bc:send:1")
    started = h.texts(ADMIN)[-2:]
    assert any("1 artisan" in t for t in started) and not any("3 artisans" in t for t in started), started


def test_chart_counts_have_whole_ticks_and_long_titles_are_shortened() -> None:
    # Issue 12 item 15: ticks at 0.5, 1.5 ("half an artisan") and session titles cut off.
    from handlers.charts import LABEL_MAX, Panel, draw_panels

    long_title = "Techniques avancées de la poterie traditionnelle de Safi et de Fès"
    figure = draw_panels([
        Panel("Par région", ["Marrakech-Safi", "Fès-Meknès"], [1, 2]),
        Panel("Sessions", [long_title], [3], horizontal=False),
        Panel("Présence", ["A"], [50.0], percent=True),
    ], "Statistiques")
    regions, sessions, _ = figure.axes
    assert all(float(t).is_integer() for t in regions.get_xticks())
    assert all(float(t).is_integer() for t in sessions.get_yticks())
    [label] = [t.get_text() for t in sessions.get_xticklabels()]
    assert len(label) <= LABEL_MAX and label.endswith("…") and label.startswith("Techniques avancées")


async def test_broadcast_of_3400_emoji_is_refused_when_written_not_when_sent(h: Harness) -> None:
    """3,400 emoji are 6,800 UTF-16 units, what Telegram counts: too long for any recipient.
    (It was accepted, then failed for every recipient with "message is too long".)"""
    await compose(h, text="🎉" * 3400)
    refusal = h.texts(ADMIN)[-2].replace("\u202f", "").replace("\xa0", "")
    assert "6800" in refusal and "3500" in refusal
    await h.send(ADMIN, "🎉" * 1700)  # 3,400 units: accepted
    assert h.find_button(ADMIN, "bc:preview")
