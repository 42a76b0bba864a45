"""Button payloads (bot/payloads.py): typed values packed into button ids, read back checked.

A forged, malformed or outdated button gets "this button is no longer available" in the
reader's language, on Telegram and WhatsApp, before any handler runs; a button id written by an
earlier version (already sitting in people's chats) still works.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import pytest

from bot.payloads import Payload, PayloadError
from handlers.sessions.buttons import Attendance, Mark, OpenSession
from handlers.staff import RemoveMember
from tests.harness import ADMIN, Harness
from tests.sessions_support import make_session
from tests.whatsapp_harness import WhatsAppHarness

USER = 8301
WA_USER = "212611220033"
STALE = {
    "en": "That button is no longer available.",
    "fr": "Ce bouton n'est plus disponible.",
    "ar": "هذا الزر لم يعد متاحًا.",
}
FORGED = [
    "s:open:abc",             # not a number
    "s:open:",                # the id is missing
    "s:open:1:2",             # one field too many
    "s:open:٤٢",              # digits, but not the ones we write
    "s:open:042",             # not as we write it either
    "s:open:99999999999",     # larger than any id
    "s:open:" + "1" * 58,     # 65 bytes: longer than any id we send
    "s:rsvp:y:5",             # one field missing
    "s:mine:1",               # a button without fields, with one
]
STAFF_FORGED = ["sa:att:1", "sa:mark:1:p:x", "sa:mark:x:p", "qs:use:1", "bc:stop:-1", "st:rm:telegram"]


@dataclass(frozen=True)
class _Note(Payload):
    prefix: ClassVar[str] = "t:note"
    note_id: int
    word: str


def test_a_payload_packs_into_the_id_of_earlier_versions_and_back() -> None:
    assert OpenSession(42).pack() == "s:open:42"
    assert Attendance(7, 0).pack() == "sa:att:7:0"
    assert Mark(12, "p").pack() == "sa:mark:12:p"
    assert RemoveMember("telegram", "123").pack() == "st:rm:telegram:123"
    assert OpenSession.unpack("s:open:42") == OpenSession(42)
    assert Mark.unpack("sa:mark:12:a") == Mark(12, "a")
    assert _Note.unpack(_Note(3, "ok").pack()) == _Note(3, "ok")


@pytest.mark.parametrize("forged", [*FORGED, *STAFF_FORGED, "s:opened:1", "x:open:1", "s:open"])
def test_a_malformed_id_unpacks_to_nothing(forged: str) -> None:
    for kind in (OpenSession, Attendance, Mark, RemoveMember):
        assert kind.unpack(forged) is None


def test_a_payload_that_would_not_fit_a_button_is_refused_when_packed() -> None:
    with pytest.raises(PayloadError, match="longer than 64 bytes"):
        _Note(1, "é" * 30).pack()  # 60 bytes of text: 71 in all
    assert len(_Note(1, "é" * 26).pack().encode()) == 61
    with pytest.raises(PayloadError):
        _Note(1, "a:b").pack()  # would read back as three fields
    with pytest.raises(PayloadError):
        _Note(1, "").pack()
    with pytest.raises(PayloadError):
        OpenSession(-1).pack()
    with pytest.raises(PayloadError):
        OpenSession(2**31).pack()


@pytest.mark.parametrize("lang", ["en", "ar"])
async def test_forged_buttons_are_stale_in_the_readers_language_on_telegram(h: Harness, lang: str) -> None:
    await h.register(USER, lang)
    for forged in FORGED:
        sent = await h.press_data(USER, forged)
        texts = [m.plain_text or "" for m in sent]
        assert texts and STALE[lang] in texts[0], (forged, texts)


async def test_forged_staff_buttons_are_stale_for_staff(h: Harness) -> None:
    h.languages[ADMIN] = "fr"
    await h.send(ADMIN, "/sessions")
    for forged in STAFF_FORGED:
        sent = await h.press_data(ADMIN, forged)
        texts = [m.plain_text or "" for m in sent]
        assert texts and STALE["fr"] in texts[0], (forged, texts)


async def test_a_button_sent_by_an_earlier_version_still_opens_its_session(h: Harness) -> None:
    session_id = await make_session(h)
    await h.register(USER, "fr")
    await h.press_data(USER, f"s:open:{session_id}")  # as written before payload classes
    assert "Techniques du zellige" in h.last_text(USER)
    assert f"s:enrol:{session_id}" in [data for _, data in h.last(USER).buttons]


async def test_forged_buttons_are_stale_in_the_readers_language_on_whatsapp(tmp_path: Path) -> None:
    async with WhatsAppHarness.open(tmp_path) as h:
        await h.wa_register(WA_USER, "ar")
        for forged in ("s:open:abc", "s:open:", "s:open:1:2", "s:open:" + "1" * 58):
            before = len(h.wa_texts(WA_USER))
            await h.post(h.graph.button_reply(WA_USER, forged, "Ouvrir"))
            said = h.wa_texts(WA_USER)[before:]
            assert any(STALE["ar"] in t for t in said), (forged, said)
