"""Issue 12 items 1 and 2: a typed (unverified) phone number never links an account to a profile,
never reveals whether it is known, and is lost when its owner proves it; every cross-channel
order of events between a squatter (Telegram, typed) and the owner (WhatsApp, or Telegram's
contact button)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from storage.schema import artisans, identities, outbox
from tests.certification_support import do_import, row, write_csv
from tests.whatsapp_harness import WhatsAppHarness

OWNER_WA = "212612345678"
OWNER_PHONE = "+212612345678"
SQUATTER = 606
OWNER_TG = 707


async def squat(h: WhatsAppHarness, user: int = SQUATTER, lang: str = "en",
                phone: str = "0612345678") -> list[str]:
    """Register on Telegram typing ``phone``; return what the bot said after the number."""
    h.languages[user] = lang
    await h.send(user, "/start")
    await h.press(user, f"lang:{lang}")
    await h.press(user, "consent:yes")
    await h.send(user, "Squatter Person")
    await h.send(user, phone)
    said = h.texts(user)[-2:]
    await h.press(user, "region:CS")
    await h.press(user, "craft:pottery")
    await h.press(user, "cnie:skip")
    await h.press(user, "reg:confirm")
    return said


async def owner_on_whatsapp(h: WhatsAppHarness) -> None:
    await h.wa_register(OWNER_WA, "fr", name="Amina Benali")


async def seed_file(h: WhatsAppHarness, tmp_path: Path) -> None:
    await do_import(h, write_csv(tmp_path / "register.csv", [
        row("VAEP-9", "BK999999", OWNER_PHONE, name="Amina Benali", stage="eligible",
            note="Note de la chambre pour Amina"),
    ]))


async def profiles(h: WhatsAppHarness) -> dict[int, dict[str, object]]:
    async with h.app.db.read() as conn:
        rows = (await conn.execute(select(artisans))).mappings().all()
        links = (await conn.execute(select(identities))).mappings().all()
    out = {int(r["id"]): dict(r) for r in rows}
    for link in links:
        out[int(link["artisan_id"])].setdefault("channels", set()).add(
            (link["channel"], link["external_id"]))
    return out


def owner_of(found: dict[int, dict[str, object]], channel: str, external: str) -> dict[str, object]:
    [profile] = [p for p in found.values() if (channel, external) in p.get("channels", set())]  # type: ignore[operator]
    return profile


async def certification_seen_by_squatter(h: WhatsAppHarness) -> str:
    await h.send(SQUATTER, "/start")
    await h.press_data(SQUATTER, "m:certification")
    return "\n".join(h.texts(SQUATTER)[-2:])


async def test_squatter_first_then_owner_on_whatsapp(tmp_path: Path) -> None:
    async with WhatsAppHarness.open(tmp_path) as h:
        await seed_file(h, tmp_path)
        await squat(h)
        await owner_on_whatsapp(h)
        # The owner was never offered the squatter's profile: they registered their own.
        assert not any("Un profil existe déjà" in t for t in h.wa_texts(OWNER_WA))
        found = await profiles(h)
        owner = owner_of(found, "whatsapp", OWNER_WA)
        squatter = owner_of(found, "telegram", str(SQUATTER))
        assert owner["id"] != squatter["id"]
        assert owner["phone"] == OWNER_PHONE and owner["phone_verified"]
        assert squatter["phone"] is None  # the claim lost the number...
        async with h.app.db.read() as conn:
            told = (await conn.execute(select(outbox.c.payload).where(
                outbox.c.artisan_id == squatter["id"], outbox.c.kind == "phone_claim_lost"))).all()
        assert len(told) == 1
        await h.deliver_all()
        assert any("confirmed by its owner" in t for t in h.texts(SQUATTER))  # ...and is told, in English
        seen = await certification_seen_by_squatter(h)
        assert "VAEP-9" not in seen and "Note de la chambre" not in seen
        await h.wa_send(OWNER_WA, "menu")
        await h.wa_tap(OWNER_WA, "m:certification")
        assert "VAEP-9" in h.wa_texts(OWNER_WA)[-1]


async def test_owner_on_whatsapp_first_then_squatter(tmp_path: Path) -> None:
    async with WhatsAppHarness.open(tmp_path) as h:
        await seed_file(h, tmp_path)
        await owner_on_whatsapp(h)
        said_known = await squat(h)
        said_unknown = await squat(h, user=SQUATTER + 1, phone="0698765432")
        # The same answer whether the number is known or not (no oracle).
        assert [t.replace("+212612345678", "N").replace("+212698765432", "N") for t in said_known] == \
            [t.replace("+212612345678", "N").replace("+212698765432", "N") for t in said_unknown]
        found = await profiles(h)
        owner = owner_of(found, "whatsapp", OWNER_WA)
        squatter = owner_of(found, "telegram", str(SQUATTER))
        assert owner["id"] != squatter["id"] and len(owner["channels"]) == 1  # type: ignore[arg-type]
        assert not squatter["phone_verified"]
        seen = await certification_seen_by_squatter(h)
        assert "VAEP-9" not in seen and "Note de la chambre" not in seen


async def test_squatter_then_owner_with_telegram_contact_button(tmp_path: Path) -> None:
    async with WhatsAppHarness.open(tmp_path) as h:
        await seed_file(h, tmp_path)
        await squat(h, lang="fr")
        await h.register(OWNER_TG, "ar", phone=OWNER_PHONE)  # shares the contact: proven
        found = await profiles(h)
        owner = owner_of(found, "telegram", str(OWNER_TG))
        squatter = owner_of(found, "telegram", str(SQUATTER))
        assert owner["id"] != squatter["id"] and owner["phone_verified"]
        assert squatter["phone"] is None
        await h.deliver_all()
        assert any("confirmé par son propriétaire" in t for t in h.texts(SQUATTER))  # in French
        seen = await certification_seen_by_squatter(h)
        assert "VAEP-9" not in seen


async def test_owner_on_telegram_proven_then_whatsapp_links_the_same_profile(tmp_path: Path) -> None:
    async with WhatsAppHarness.open(tmp_path) as h:
        await h.register(OWNER_TG, "fr", phone=OWNER_PHONE)
        await h.wa_send(OWNER_WA, "bonjour")
        await h.wa_tap(OWNER_WA, "lang:fr")
        await h.wa_tap(OWNER_WA, "consent:yes")
        await h.wa_send(OWNER_WA, "Amina Benali")
        assert "Un profil existe déjà" in h.graph.last_to(OWNER_WA).text
        await h.wa_tap(OWNER_WA, "link:yes")
        found = await profiles(h)
        assert len(found) == 1


async def test_squatter_who_later_proves_another_number_keeps_nothing_of_the_owner(tmp_path: Path) -> None:
    async with WhatsAppHarness.open(tmp_path) as h:
        await seed_file(h, tmp_path)
        await owner_on_whatsapp(h)
        await squat(h)
        # The squatter tries "verify my number" with the contact button: Telegram only sends
        # their own number, which is not the owner's.
        await h.send(SQUATTER, "/start")
        await h.press_data(SQUATTER, "cert:verify")
        await h.share_contact(SQUATTER, "+212677777777")
        seen = await certification_seen_by_squatter(h)
        assert "VAEP-9" not in seen


async def test_family_sharing_one_phone_registers_several_profiles(tmp_path: Path) -> None:
    async with WhatsAppHarness.open(tmp_path) as h:
        await owner_on_whatsapp(h)  # the mother, on the family's WhatsApp
        await squat(h, user=SQUATTER, lang="ar")  # a son on his own Telegram, typing the same number
        await squat(h, user=SQUATTER + 1, lang="fr")  # a daughter too
        found = await profiles(h)
        assert len(found) == 3
        assert sum(1 for p in found.values() if p["phone"] == OWNER_PHONE) == 3
