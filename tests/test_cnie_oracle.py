"""Issue 12 item 2: no answer, card or error tells whether a CNIE is already on another profile.

A profile's CNIE is what its owner typed (a claim, like a typed phone number); several profiles may
carry the same one. Only the certification register's CNIE, given together with the application
number, links a certification file, so a claimed CNIE opens nothing.
"""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from storage import certifications as cert_repo
from storage.certification_schema import certifications
from storage.schema import artisans
from tests.harness import Harness

HOLDER, PROBER = 101, 202
KNOWN, UNKNOWN = "BK123456", "BK654321"
LANGUAGES = ["ar", "fr", "en", "ary", "zgh"]


async def cnie_of(h: Harness, name: str) -> str | None:
    async with h.app.db.read() as conn:
        cnie = (await conn.execute(select(artisans.c.cnie).where(artisans.c.full_name == name))).scalar_one()
    return None if cnie is None else str(cnie)


async def edit_cnie(h: Harness, user: int, cnie: str) -> list[str]:
    """What the artisan reads after typing ``cnie`` in their profile, the CNIE itself masked."""
    await h.press(user, "m:profile")
    await h.press(user, "prof:edit:cnie")
    before = len(h.texts(user))
    await h.send(user, cnie)
    return [text.replace(cnie, "<CNIE>") for text in h.texts(user)[before:]]


@pytest.mark.parametrize("lang", LANGUAGES)
async def test_profile_cnie_edit_answers_the_same_for_a_known_and_an_unknown_cnie(
    h: Harness, lang: str
) -> None:
    await h.register(HOLDER, "fr", cnie=KNOWN)
    await h.register(PROBER, lang, name="Karim Alaoui")
    known = await edit_cnie(h, PROBER, KNOWN)
    unknown = await edit_cnie(h, PROBER, UNKNOWN)
    assert known == unknown  # before: "this CNIE is already registered" and the question again
    assert UNKNOWN in h.last_text(PROBER)  # the card shows what they typed
    known_again = await edit_cnie(h, PROBER, KNOWN)
    assert known_again == unknown
    assert KNOWN in h.last_text(PROBER)
    assert await cnie_of(h, "Karim Alaoui") == KNOWN
    assert await cnie_of(h, "Amina Benali") == KNOWN  # the first holder keeps theirs


@pytest.mark.parametrize("lang", LANGUAGES)
async def test_registering_with_anothers_cnie_shows_it_on_ones_own_card(h: Harness, lang: str) -> None:
    await h.register(HOLDER, "fr", cnie=KNOWN)
    await h.register(PROBER, lang, name="Karim Alaoui", cnie=KNOWN)
    await h.press(PROBER, "m:profile")
    assert KNOWN in h.last_text(PROBER)  # before: "CNIE: none", which told them it was taken
    assert await cnie_of(h, "Karim Alaoui") == KNOWN


async def test_a_claimed_cnie_opens_no_certification_file(h: Harness) -> None:
    async with h.app.db.transaction() as conn:
        await cert_repo.create(conn, h.clock.now(), number="VAEP-2026-0042", cnie=KNOWN,
                               full_name="Amina Benali", craft="Zellige",
                               stage="submitted", stage_date=date(2026, 4, 2))
    await h.register(PROBER, "en", name="Karim Alaoui", cnie=KNOWN)
    await h.press(PROBER, "m:certification")
    assert not any("VAEP-2026-0042" in text for text in h.texts(PROBER))
    async with h.app.db.read() as conn:
        [app] = (await conn.execute(select(certifications))).mappings().all()
    assert app["artisan_id"] is None
