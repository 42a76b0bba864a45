"""WhatsApp delivery as Meta's Cloud API behaves (issue 11, items 4, 6, 10, 11, 12, 13): messages
of several parts, 131026, one template per message kind, staff windows and edits, files Meta
accepts, changed numbers, post-level errors and media users send. Everything goes through the
fake Graph API (tests/fakes/graph.py); time moves with the FakeClock."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from bot.channels.whatsapp_api import DOWNLOAD_MAX, GraphRefused
from bot.i18n import Msg
from bot.messages import Button, Document, OutMessage, Reply
from bot.outbox import Queued
from handlers.broadcasts import delivery as broadcast_delivery
from handlers.certification.calendar import appointment
from storage import artisans as artisan_repo
from storage import broadcasts as broadcast_repo
from storage.schema import identities, outbox
from tests.fakes.graph import UPLOAD_TYPES, FakeGraphAPI
from tests.harness import ADMIN
from tests.sessions_support import make_session
from tests.whatsapp_harness import WA_ADMIN, WhatsAppHarness

AMINA = "212612345678"
PDF = Document("summons.pdf", b"%PDF-1.4\n% a summons\n%%EOF\n", "application/pdf")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PHOTO = b"\xff\xd8\xff\xe0" + b"\x00JFIF" + bytes(2000) + b"\xff\xd9"


@pytest.fixture
async def h(tmp_path: Path) -> AsyncIterator[WhatsAppHarness]:
    async with WhatsAppHarness.open(tmp_path) as harness:
        for name in ("hirfa_reminder", "hirfa_certification", "hirfa_announcement", "hirfa_notice"):
            harness.graph.approve(name)
        await harness.wa_register(AMINA, "fr")
        yield harness


async def artisan_id(h: WhatsAppHarness, number: str = AMINA) -> int:
    async with h.app.db.read() as conn:
        artisan = await artisan_repo.by_identity(conn, "whatsapp", number)
    assert artisan is not None
    return artisan.id


async def queue(h: WhatsAppHarness, message: OutMessage, *, key: str = "m:1", kind: str = "notice",
                chat: str = AMINA) -> None:
    artisan = await artisan_id(h) if chat == AMINA else None
    async with h.app.db.transaction() as conn:
        assert await h.app.outbox.to_chat(conn, "whatsapp", chat, message, kind=kind, key=key,
                                          artisan_id=artisan)


async def row(h: WhatsAppHarness, key: str = "m:1") -> dict[str, Any]:
    async with h.app.db.read() as conn:
        found = (await conn.execute(select(outbox).where(outbox.c.idem_key == key))).mappings().one()
    return dict(found)


async def blocked(h: WhatsAppHarness, number: str = AMINA) -> bool:
    async with h.app.db.read() as conn:
        stmt = select(identities.c.blocked).where(identities.c.channel == "whatsapp",
                                                  identities.c.chat_id == number)
        return bool((await conn.execute(stmt)).scalar())


def summons() -> OutMessage:
    """A document followed by its question with buttons: two Cloud API messages."""
    return OutMessage("Convocation : venez le 3 décembre.", buttons=[
        Button("cert:ok:1", "Je viendrai"), Button("cert:no:1", "Je ne peux pas")],
        document=PDF, locale="fr")


def of_type(h: WhatsAppHarness, kind: str, user: str = AMINA) -> list[Any]:
    return [m for m in h.graph.to(user) if m.type == kind]


# -- 4. a message of several parts never sends a part twice ------------------------------------

@pytest.mark.parametrize("code", [130429, 131000])  # rate limit; Meta-side 500
async def test_document_is_not_sent_twice_when_the_buttons_part_fails(
    h: WhatsAppHarness, code: int
) -> None:
    """A summons' file went out, its buttons got a 130429 or a 500: after a retry (and a
    restart in between) the artisan has one file and one question, not two files."""
    h.clock.advance(timedelta(hours=1))
    h.graph.fail_next(code, kind="interactive")
    await queue(h, summons())
    await h.drain()
    assert (await row(h))["status"] == "pending"
    assert len(of_type(h, "document")) == 1 and of_type(h, "interactive")[-1].text != summons().text
    await h.restart()
    h.clock.advance(timedelta(minutes=1))
    await h.deliver_all()
    assert (await row(h))["status"] == "sent"
    assert len(of_type(h, "document")) == 1 and len(h.graph.uploads) == 1
    [question] = [m for m in of_type(h, "interactive") if "Convocation" in m.text]
    assert (await row(h))["platform_message_id"] == question.id


async def test_a_late_failure_of_the_buttons_part_resends_only_that_part(h: WhatsAppHarness) -> None:
    h.graph.fail_async(130429, kind="interactive")
    await queue(h, summons())
    await h.drain()
    await h.deliver_statuses()  # Meta: the buttons message failed after all
    assert (await row(h))["status"] == "pending"
    h.clock.advance(timedelta(seconds=5))
    await h.drain()
    assert (await row(h))["status"] == "sent"
    assert len(of_type(h, "document")) == 1
    assert sum("Convocation" in m.text for m in of_type(h, "interactive")) == 2


# -- 6. 131026 is not a block ------------------------------------------------------------------

async def test_undeliverable_131026_is_retried_and_never_blocks_the_chat(h: WhatsAppHarness) -> None:
    h.graph.fail_next(131026)
    await queue(h, OutMessage("Rappel : formation demain", locale="fr"))
    await h.drain()
    waiting = await row(h)
    assert waiting["status"] == "pending" and "131026" in waiting["last_error"]
    assert not await blocked(h)
    await queue(h, OutMessage("Deuxième avis", locale="fr"), key="m:2")  # not skipped
    await h.deliver_all()
    assert (await row(h))["status"] == "sent" and (await row(h, "m:2"))["status"] == "sent"
    assert h.graph.texts_to(AMINA)[-2:] == ["Rappel : formation demain", "Deuxième avis"]


async def test_undeliverable_131026_every_time_gives_up_that_message_only(h: WhatsAppHarness) -> None:
    h.graph.fail_next(131026, times=h.app.settings.outbox.max_attempts)
    await queue(h, OutMessage("Rappel", locale="fr"))
    await h.deliver_all()
    done = await row(h)
    assert done["status"] == "failed" and "131026" in done["last_error"]
    assert done["attempts"] == h.app.settings.outbox.max_attempts
    assert not await blocked(h)
    await queue(h, OutMessage("Avis suivant", locale="fr"), key="m:2")
    await h.deliver_all()
    assert (await row(h, "m:2"))["status"] == "sent"


async def test_late_131026_status_retries_the_message_without_blocking(h: WhatsAppHarness) -> None:
    h.graph.fail_async(131026)
    await queue(h, OutMessage("Rappel", locale="fr"))
    await h.drain()
    await h.deliver_statuses()
    assert (await row(h))["status"] == "pending" and not await blocked(h)
    await h.deliver_all()
    assert (await row(h))["status"] == "sent"
    assert h.graph.texts_to(AMINA)[-2:] == ["Rappel", "Rappel"]


# -- 10. each kind of message has its own template outside the window --------------------------

KIND_TEMPLATES = [
    ("reminder", "hirfa_reminder"),
    ("certification", "hirfa_certification"),
    ("broadcast", "hirfa_announcement"),
    ("promotion", "hirfa_notice"),
    ("session_change", "hirfa_notice"),
    ("broadcast_progress", "hirfa_notice"),
    ("broadcast_report", "hirfa_notice"),
]


@pytest.mark.parametrize(("kind", "template"), KIND_TEMPLATES)
async def test_each_kind_uses_its_own_template_outside_the_window(
    h: WhatsAppHarness, kind: str, template: str
) -> None:
    h.clock.advance(timedelta(hours=25))
    async with h.app.db.transaction() as conn:
        await h.app.outbox.notify(conn, await artisan_id(h), Reply(Msg("reg.done", name="Amina")),
                                  kind=kind, key="n:1")
        payload = OutMessage("Salon de l'artisanat", locale="fr").to_json()
        await h.app.outbox.enqueue_many(
            conn, [Queued("n:2", "whatsapp", AMINA, await artisan_id(h), payload)], kind=kind)
    await h.deliver_all()
    first, second = h.graph.to(AMINA)[-2:]
    assert (first.template_name, second.template_name) == (template, template)
    assert second.template_params == ["Salon de l'artisanat"]


async def test_a_broadcast_outside_the_window_uses_the_marketing_template(h: WhatsAppHarness) -> None:
    """The real path: a broadcast started by staff (rows from ``enqueue_many``)."""
    h.clock.advance(timedelta(hours=25))
    now = h.clock.now()
    async with h.app.db.transaction() as conn:
        broadcast = await broadcast_repo.create_draft(
            conn, channel="whatsapp", author_id=WA_ADMIN, author_chat=WA_ADMIN, lang="fr", now=now)
        await broadcast_repo.update_fields(conn, broadcast, now, texts={"fr": "Salon de Fès"})
        assert await broadcast_delivery.start(h.app.services, conn, broadcast) == 1
    await h.deliver_all()
    [sent] = [m for m in h.graph.to(AMINA) if m.type == "template"]
    assert sent.template_name == "hirfa_announcement"
    assert h.app.settings.whatsapp.templates["broadcast"].category == "MARKETING"
    assert "Salon de Fès" in sent.template_params[0]


# -- 11. staff get a window; edits are one final message ---------------------------------------

async def test_staff_who_are_not_artisans_get_buttons_after_writing(h: WhatsAppHarness) -> None:
    await h.wa_send(WA_ADMIN, "/whoami")
    h.clock.advance(timedelta(hours=2))
    progress = OutMessage("Diffusion n° 1 : 0/20", buttons=[Button("bc:stop:1", "Arrêter")],
                          locale="ar")
    await queue(h, progress, chat=WA_ADMIN, kind="broadcast_progress")
    await h.drain()
    sent = h.graph.last_to(WA_ADMIN)
    assert sent.type == "interactive" and sent.buttons == [("bc:stop:1", "Arrêter")]


async def test_staff_window_survives_a_restart(h: WhatsAppHarness) -> None:
    await h.wa_send(WA_ADMIN, "/whoami")
    await h.restart()
    await queue(h, OutMessage("Rapport", locale="ar"), chat=WA_ADMIN, kind="broadcast_report")
    await h.drain()
    assert h.graph.last_to(WA_ADMIN).type == "text"


async def test_admins_from_either_channels_settings_are_marked_in_the_staff_list(
    h: WhatsAppHarness,
) -> None:
    """Both channels re-grant their settings' admins at every start: /staff says so of each,
    and not of a member added by hand."""
    await h.wa_send(WA_ADMIN, "/staff")
    await h.wa_tap(WA_ADMIN, "st:add")
    await h.wa_send(WA_ADMIN, "212655555555")
    await h.wa_tap(WA_ADMIN, "st:role:staff")
    lines = {line.split()[1]: line  # "• 212600000001 (whatsapp): مسؤول · من الإعدادات ..."
             for line in h.graph.last_to(WA_ADMIN).text.splitlines() if line.startswith("•")}
    note = "من الإعدادات"
    assert note in lines[WA_ADMIN] and note in lines[str(ADMIN)]
    assert note not in lines["212655555555"]


async def test_whatsapp_staff_get_the_broadcast_report_once(h: WhatsAppHarness) -> None:
    """Progress edits are not sent as new messages on WhatsApp: the author gets the progress
    message, then one report."""
    for n, name in enumerate(("Karim Alaoui", "Fatima Zahra", "Youssef Idrissi", "Salma Bennani")):
        await h.wa_register(f"2126200000{n:02d}", "fr", name=name)
    await h.wa_send(WA_ADMIN, "/broadcast")
    await h.wa_tap(WA_ADMIN, "bc:l:fr")
    await h.wa_send(WA_ADMIN, "Salon de Fès")
    await h.wa_tap(WA_ADMIN, "bc:preview")
    await h.wa_tap(WA_ADMIN, "bc:send:1")
    for _ in range(100):
        await broadcast_delivery.tick(h.app.services)
        await h.drain()
        async with h.app.db.read() as conn:
            running = await broadcast_repo.running(conn)
            waiting = (await conn.execute(select(func.count()).select_from(outbox).where(
                outbox.c.status.in_(("pending", "sending"))))).scalar()
        if not running and not waiting:
            break
        h.clock.advance(timedelta(seconds=1.1))
    to_staff = h.graph.to(WA_ADMIN)
    reports = [m for m in to_staff if "5" in m.text and "bc:csv:1" in dict(m.buttons)]
    assert len(reports) == 1, [m.text for m in to_staff[-4:]]
    assert reports[0].type == "interactive"  # with its export button, not a template
    assert all(m.type != "template" for m in to_staff)


async def test_an_edit_is_not_sent_as_a_new_message_on_whatsapp(h: WhatsAppHarness) -> None:
    await h.wa_send(WA_ADMIN, "/whoami")
    before = len(h.graph.to(WA_ADMIN))
    edit = OutMessage("Diffusion n° 1 : 10/20", locale="ar", edit_id="wamid.ABC")
    await queue(h, edit, chat=WA_ADMIN, kind="edit")
    await h.drain()
    assert len(h.graph.to(WA_ADMIN)) == before
    assert (await row(h))["status"] == "sent"


# -- 12. files Meta accepts -------------------------------------------------------------------

async def test_the_fake_refuses_upload_types_meta_does_not_document(h: WhatsAppHarness) -> None:
    api = h.wa.api
    for mime in ("text/calendar", "text/csv", "application/octet-stream"):
        with pytest.raises(GraphRefused, match="Param file must be a file with one of") as err:
            await api.upload(Document("x.bin", b"x", mime))
        assert err.value.code == 100
    assert "application/pdf" in UPLOAD_TYPES and "text/calendar" not in UPLOAD_TYPES


async def test_summons_calendar_arrives_as_an_add_to_calendar_link(h: WhatsAppHarness) -> None:
    ics = appointment(uid="hirfa-cert-1-oral@hirfa", start=datetime(2026, 12, 3, 9, 0, tzinfo=UTC),
                      minutes=60, summary="Entretien VAEP", location="Chambre de Fès",
                      description="Dossier 2026/12", stamp=h.clock.now(), filename="oral.ics")
    await queue(h, OutMessage("Vous êtes convoqué(e).", document=ics, locale="fr"),
                kind="certification")
    await h.drain()
    assert (await row(h))["status"] == "sent" and h.graph.refused == []
    sent = h.graph.last_to(AMINA)
    assert sent.type == "text" and "Vous êtes convoqué(e)." in sent.text
    assert "Entretien VAEP" in sent.text and "Chambre de Fès" in sent.text
    assert "3 déc" in sent.text and "09:00" in sent.text  # Casablanca: UTC+0 in December
    link = next(word for word in sent.text.split() if word.startswith("https://"))
    query = httpx.URL(link).params
    assert link.startswith("https://calendar.google.com/calendar/render?")
    assert query["action"] == "TEMPLATE" and query["text"] == "Entretien VAEP"
    assert query["dates"] == "20261203T090000Z/20261203T100000Z"


async def test_a_training_calendar_tapped_on_whatsapp_is_a_link(h: WhatsAppHarness) -> None:
    """The direct reply of the Trainings menu's "add to calendar" (an .ics on Telegram)."""
    session_id = await make_session(h, title={"fr": "Zellige moderne", "ar": "زليج"})
    await h.post(h.graph.button_reply(AMINA, f"s:ics:{session_id}", "Agenda"))
    assert h.graph.refused == []
    sent = h.graph.last_to(AMINA)
    assert "Zellige moderne" in sent.text and "calendar.google.com" in sent.text


async def test_csv_exports_arrive_as_xlsx(h: WhatsAppHarness) -> None:
    csv = "\ufeffname,phone,count\n=HYPERLINK(\"x\"),+212612345678,12\nAmina,0612,3\n"
    await queue(h, OutMessage("Export", document=Document("deliveries-1.csv", csv.encode(),
                                                          "text/csv"), locale="fr"))
    await h.drain()
    assert (await row(h))["status"] == "sent" and h.graph.refused == []
    [(filename, mime, raw)] = h.graph.uploads.values()
    assert (filename, mime) == ("deliveries-1.xlsx", XLSX)
    start = raw.index(b"PK\x03\x04")
    sheet = load_workbook(io.BytesIO(raw[start:])).active
    assert sheet is not None
    rows = [[c.value for c in r] for r in sheet.iter_rows()]
    assert rows[0] == ["name", "phone", "count"]
    assert rows[1] == ["'=HYPERLINK(\"x\")", "+212612345678", 12]  # a formula stays text
    assert rows[2] == ["Amina", "0612", 3]


# -- 13. system messages, post-level errors, media users send ---------------------------------

async def test_a_changed_number_keeps_the_artisan(h: WhatsAppHarness) -> None:
    new = "212699999999"
    response = await h.post(h.graph.number_changed(AMINA, new))
    assert response.status_code == 200
    await h.wa_send(new, "menu")
    async with h.app.db.read() as conn:
        moved = await artisan_repo.by_identity(conn, "whatsapp", new)
        old = await artisan_repo.by_identity(conn, "whatsapp", AMINA)
    assert moved is not None and moved.full_name == "Amina Benali" and old is None
    assert not any("consent" in i for m in h.graph.to(new) for i, _ in m.buttons)  # not re-registering
    async with h.app.db.transaction() as conn:
        await h.app.outbox.notify(conn, moved.id, Reply(Msg("reg.done", name="Amina")),
                                  kind="reminder", key="n:9")
    await h.drain()
    assert (await row(h, "n:9"))["chat_id"] == new


async def test_errors_for_a_whole_post_are_logged_not_fatal(
    h: WhatsAppHarness, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        response = await h.post(h.graph.post_errors(131051))
    assert response.status_code == 200
    assert any("131051" in r.getMessage() for r in caplog.records)
    await h.wa_send(AMINA, "menu")  # still answering
    assert h.graph.last_to(AMINA).type in ("interactive", "text")


async def test_fetch_file_downloads_a_users_photo_through_the_graph_api(h: WhatsAppHarness) -> None:
    media_id = h.graph.add_media(PHOTO)
    assert await h.wa.fetch_file(media_id) == PHOTO
    assert h.graph.downloads == 1


async def test_fetch_file_refuses_a_file_over_the_limit_before_downloading(h: WhatsAppHarness) -> None:
    from bot.errors import FileTooLarge

    media_id = h.graph.add_media(bytes(DOWNLOAD_MAX + 1))
    with pytest.raises(FileTooLarge):
        await h.wa.fetch_file(media_id)
    assert h.graph.downloads == 0


async def test_staff_attach_a_photo_to_a_broadcast_from_whatsapp(h: WhatsAppHarness) -> None:
    await h.wa_send(WA_ADMIN, "/broadcast")
    await h.wa_tap(WA_ADMIN, "bc:l:fr")
    await h.wa_send(WA_ADMIN, "Salon de Fès")
    await h.wa_tap(WA_ADMIN, "bc:media")
    await h.post(h.graph.image(WA_ADMIN, media_id=h.graph.add_media(PHOTO)))
    async with h.app.db.read() as conn:
        media = await broadcast_repo.media_of(conn, 1)
    assert media is not None and media[0] == "photo" and media[1] == PHOTO
    await h.wa_tap(WA_ADMIN, "bc:preview")
    await h.wa_tap(WA_ADMIN, "bc:send:1")
    for _ in range(20):
        await broadcast_delivery.tick(h.app.services)
        await h.drain()
        h.clock.advance(timedelta(seconds=1.1))
    [image] = of_type(h, "image")
    assert "Salon de Fès" in image.text
    uploaded = [(name, mime, raw) for name, mime, raw in h.graph.uploads.values() if PHOTO in raw]
    assert [mime for _, mime, _ in uploaded][-1] == "image/jpeg"


async def test_a_photo_too_big_gets_a_clear_answer(h: WhatsAppHarness) -> None:
    await h.wa_send(WA_ADMIN, "/broadcast")
    await h.wa_tap(WA_ADMIN, "bc:l:fr")
    await h.wa_send(WA_ADMIN, "Salon de Fès")
    await h.wa_tap(WA_ADMIN, "bc:media")
    await h.post(h.graph.image(WA_ADMIN, media_id=h.graph.add_media(bytes(DOWNLOAD_MAX + 1))))
    answers = h.graph.texts_to(WA_ADMIN)[-2:]
    # a Moroccan number that has not chosen a language reads Darija
    assert any("هاد الملف كبير بزاف: 10 MB على الأكثر" in text for text in answers)
    assert h.graph.downloads == 0  # refused on the size Meta announced, nothing downloaded
    async with h.app.db.read() as conn:
        assert await broadcast_repo.media_of(conn, 1) is None


def test_fake_graph_media_answers_like_meta() -> None:
    graph = FakeGraphAPI()
    media_id = graph.add_media(PHOTO)
    client = httpx.Client(transport=httpx.MockTransport(graph.handler),
                          headers={"Authorization": f"Bearer {graph.token}"})
    info = client.get(f"https://graph.facebook.com/v21.0/{media_id}").json()
    assert set(info) == {"messaging_product", "url", "mime_type", "sha256", "file_size", "id"}
    assert client.get(info["url"]).content == PHOTO
    anonymous = httpx.Client(transport=httpx.MockTransport(graph.handler))
    assert anonymous.get(info["url"]).status_code == 401
    missing = client.get("https://graph.facebook.com/v21.0/123456789")
    assert missing.status_code == 400 and json.loads(missing.content)["error"]["code"] == 100
