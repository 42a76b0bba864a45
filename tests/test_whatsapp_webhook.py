"""The webhook: Meta's handshake, signatures, acknowledging at once, repeats, odd payloads."""

from __future__ import annotations

import asyncio
import copy
import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from bot.channels.whatsapp_webhook import parse
from storage.schema import processed_updates
from tests.fakes.graph import PHONE_ID, VERIFY_TOKEN, FakeGraphAPI, bsuid
from tests.whatsapp_harness import WhatsAppHarness

AMINA = "212612345678"


@pytest.fixture
async def h(tmp_path: Path) -> AsyncIterator[WhatsAppHarness]:
    async with WhatsAppHarness.open(tmp_path) as harness:
        yield harness


async def handled(h: WhatsAppHarness) -> int:
    async with h.app.db.read() as conn:
        return int((await conn.execute(select(func.count()).select_from(processed_updates))).scalar_one())


async def test_verification_handshake(h: WhatsAppHarness) -> None:
    ok = await h.request("GET", params={"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN,
                                        "hub.challenge": "1158201444"})
    assert ok.status_code == 200 and ok.text == "1158201444"
    wrong = await h.request("GET", params={"hub.mode": "subscribe", "hub.verify_token": "guess",
                                           "hub.challenge": "1158201444"})
    assert wrong.status_code == 403 and "1158201444" not in wrong.text
    missing = await h.request("GET")
    assert missing.status_code == 403


async def test_unsigned_post_is_refused_with_401(h: WhatsAppHarness) -> None:
    response = await h.post(h.graph.text(AMINA, "salam"), signature=None)
    assert response.status_code == 401
    assert h.graph.sent == [] and await handled(h) == 0


@pytest.mark.parametrize(
    "signature",
    ["sha256=" + "0" * 64, "sha256=", "md5=abc", "garbage", "sha1=" + "a" * 40],
)
async def test_wrongly_signed_post_is_refused_with_403(h: WhatsAppHarness, signature: str) -> None:
    response = await h.post(h.graph.text(AMINA, "salam"), signature=signature)
    assert response.status_code == 403
    assert h.graph.sent == [] and await handled(h) == 0


async def test_signature_of_another_body_is_refused(h: WhatsAppHarness) -> None:
    genuine = h.graph.text(AMINA, "salam")
    signature = h.graph.sign(json.dumps(genuine).encode())
    forged = copy.deepcopy(genuine)
    forged["entry"][0]["changes"][0]["value"]["messages"][0]["text"]["body"] = "/start"
    response = await h.post(forged, signature=signature)
    assert response.status_code == 403 and h.graph.sent == []


async def test_signature_from_another_app_secret_is_refused(h: WhatsAppHarness) -> None:
    body = json.dumps(h.graph.text(AMINA, "salam")).encode()
    h.graph.app_secret = "someone-elses-secret"
    response = await h.request("POST", content=body,
                               headers={"X-Hub-Signature-256": h.graph.sign(body)})
    assert response.status_code == 403


async def test_post_is_acknowledged_before_it_is_handled(h: WhatsAppHarness) -> None:
    """Meta wants 200 within a few seconds; the reply may take longer (here Meta is slow)."""
    h.graph.gate = asyncio.Event()
    body = json.dumps(h.graph.text(AMINA, "salam")).encode()
    assert h.app.http is not None
    transport = httpx.ASGITransport(app=h.app.http.app())
    async with httpx.AsyncClient(transport=transport, base_url="http://hirfa.test") as client:
        response = await client.post("/whatsapp/webhook", content=body,
                                     headers={"X-Hub-Signature-256": h.graph.sign(body)})
    assert response.status_code == 200 and h.graph.sent == []  # answered, reply not sent yet
    h.graph.gate.set()
    await h.wa.idle()
    assert len(h.graph.sent) == 1


async def test_same_message_delivered_twice_is_answered_once(h: WhatsAppHarness) -> None:
    post = h.graph.text(AMINA, "salam")
    assert (await h.post(post)).status_code == 200
    assert (await h.post(post)).status_code == 200  # Meta retried: still 200, not answered again
    assert len(h.graph.to(AMINA)) == 1


async def test_redelivery_after_a_restart_is_dropped(h: WhatsAppHarness) -> None:
    await h.wa_send(AMINA, "salam")
    tap = h.graph.tap(AMINA, "lang:fr")
    await h.post(tap)
    answered = len(h.graph.to(AMINA))
    await h.restart()
    await h.post(tap)
    assert len(h.graph.to(AMINA)) == answered
    await h.wa_tap(AMINA, "consent:yes")  # and the conversation goes on where it was
    assert "nom complet" in h.graph.last_to(AMINA).text


async def test_two_messages_in_one_post_are_answered_in_order(h: WhatsAppHarness) -> None:
    first = h.graph.text(AMINA, "salam")
    second = h.graph.text(AMINA, "4")
    value = first["entry"][0]["changes"][0]["value"]
    value["messages"] += second["entry"][0]["changes"][0]["value"]["messages"]
    await h.post(first)
    texts = h.wa_texts(AMINA)
    assert len(texts) == 2 and "Vos données" in texts[1]  # "4" chose Français (Darija first)


async def test_posts_for_another_number_of_the_account_are_ignored(h: WhatsAppHarness) -> None:
    post = h.graph.text(AMINA, "salam")
    post["entry"][0]["changes"][0]["value"]["metadata"]["phone_number_id"] = "999"
    assert (await h.post(post)).status_code == 200
    assert h.graph.sent == []


@pytest.mark.parametrize("body", [b"not json", b"[1, 2", b"{}", b'{"object": "page"}', b"null"])
async def test_odd_bodies_are_harmless(h: WhatsAppHarness, body: bytes) -> None:
    response = await h.request("POST", content=body,
                               headers={"X-Hub-Signature-256": h.graph.sign(body)})
    assert response.status_code in (200, 400)
    assert h.graph.sent == []


async def test_user_without_a_visible_number_is_answered_by_business_scoped_id(
    h: WhatsAppHarness,
) -> None:
    """A user who adopted a username: no ``wa_id``/``from``, only ``user_id``."""
    post = h.graph.text(AMINA, "salam")
    value = post["entry"][0]["changes"][0]["value"]
    del value["contacts"][0]["wa_id"]
    del value["messages"][0]["from"]
    await h.post(post)
    [answer] = h.graph.sent
    assert answer.body.get("recipient") == bsuid(AMINA) and "to" not in answer.body


def test_parse_reads_real_shaped_posts() -> None:
    graph = FakeGraphAPI()
    text = parse(graph.text(AMINA, "/start s42"), PHONE_ID).messages[0]
    assert (text.kind, text.text, text.user_id, text.verified_phone) == (
        "command", "/start s42", AMINA, "+212612345678")
    assert text.update_id is not None and text.update_id.startswith("wamid.")
    button = parse(graph.button_reply(AMINA, "lang:ar", "العربية"), PHONE_ID).messages[0]
    assert (button.kind, button.choice_id) == ("choice", "lang:ar")
    row = parse(graph.list_reply(AMINA, "region:MS", "Marrakech-Safi"), PHONE_ID).messages[0]
    assert (row.kind, row.choice_id) == ("choice", "region:MS")
    voice = parse(graph.voice(AMINA), PHONE_ID).messages[0]
    assert (voice.kind, voice.media) == ("unsupported", "voice")
    image = parse(graph.image(AMINA, caption="mon travail"), PHONE_ID).messages[0]
    assert (image.kind, image.media, image.text) == ("unsupported", "photo", "mon travail")
    assert image.file is not None and (image.file.file_id, image.file.mime_type) == (
        "1009876543", "image/jpeg")
    changed = parse(graph.number_changed(AMINA, "212699999999"), PHONE_ID)
    assert changed.messages == [] and [(c.old, c.new) for c in changed.number_changes] == [
        (AMINA, "212699999999")]
    errors = parse(graph.post_errors(131051), PHONE_ID).errors
    assert [e.code for e in errors] == [131051] and "Unsupported message type" in errors[0].title
    card = parse(graph.contact(AMINA, "+212 661 234 567", "212661234567"), PHONE_ID).messages[0]
    assert card.kind == "contact" and card.contact is not None
    assert (card.contact.phone, card.contact.user_id) == ("+212 661 234 567", "212661234567")
    reaction = graph.inbound(AMINA, "reaction", {"message_id": "wamid.x", "emoji": "👍"})
    assert parse(reaction, PHONE_ID).messages == []


async def test_oversized_post_is_refused_before_it_is_read(h: WhatsAppHarness) -> None:
    body = b"{" + b" " * 1_000_001 + b"}"
    response = await h.request("POST", content=body,
                               headers={"X-Hub-Signature-256": h.graph.sign(body)})
    assert response.status_code == 413 and h.graph.sent == []
