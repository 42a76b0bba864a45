""""My certification": what an artisan sees, and how an application is linked to them safely."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from bot.i18n import Msg
from bot.timezones import load_zone
from tests.certification_support import applications, do_import, phone_of, row, write_csv
from tests.harness import Harness, shown

ZONE = load_zone("Africa/Casablanca")
AMINA, KARIM, INTRUDER = 101, 102, 103


async def register_typing_phone(h: Harness, user: int, phone: str, lang: str = "fr") -> None:
    """Register typing the phone number (so it is NOT verified)."""
    h.languages[user] = lang
    await h.send(user, "/start")
    await h.press(user, f"lang:{lang}")
    await h.press(user, "consent:yes")
    await h.send(user, "Karim Alaoui")
    await h.send(user, phone)
    await h.press(user, "region:FM")
    await h.press(user, "craft:pottery")
    await h.press(user, "cnie:skip")
    await h.press(user, "reg:confirm")


async def seed(h: Harness, tmp_path: Path) -> None:
    await do_import(h, write_csv(tmp_path / "register.csv", [
        row("VAEP-1", "BK111111", phone_of(AMINA), name="Amina Benali", stage="eligible",
            stage_date="01/10/2026"),
        row("VAEP-2", "BE222222", "0661234567", name="Karim Alaoui", stage="ineligible",
            note="Moins de 3 ans d'expérience"),
        row("VAEP-3", "JA333333", "0662345678", name="Nadia Tazi", stage="summoned",
            summons_date="15/12/2026", summons_time="09:00", summons_place="Institut, Salé"),
    ]))
    await do_import(h, write_csv(tmp_path / "register2.csv", [
        row("VAEP-1", "BK111111", phone_of(AMINA), name="Amina Benali", stage="summoned",
            stage_date="05/11/2026", summons_date="15/12/2026", summons_time="09:00",
            summons_place="Institut, Salé"),
    ]))


async def test_verified_phone_sees_stage_next_step_and_timeline(h: Harness, tmp_path: Path) -> None:
    await seed(h, tmp_path)
    await h.register(AMINA, "fr")
    assert ("m:certification", "🎓 Ma certification") in [(d, lbl) for lbl, d in h.last(AMINA).buttons]
    await h.press(AMINA, "m:certification")
    card = h.last_text(AMINA)
    assert "Dossier de certification VAEP-1" in card
    assert "Convoqué(e) aux épreuves" in card and "depuis le 5 novembre 2026" in card
    assert "mardi 15 décembre 2026 à 09:00" in card and "Institut, Salé" in card
    assert "Venez 30 minutes en avance" in card
    assert "• 1 octobre 2026 : Éligible" in card and "• 5 novembre 2026 : Convoqué(e)" in card
    assert "Karim" not in card and "VAEP-2" not in card
    app = (await applications(h))["VAEP-1"]
    assert app["link_method"] == "phone"
    await h.press(AMINA, f"cert:ics:{app['id']}")
    sent = h.last(AMINA)
    assert sent.method == "sendDocument" and b"LOCATION:Institut\\, Sal" in (sent.document or b"")


async def test_typed_phone_sees_nothing_until_shared_with_the_contact_button(
    h: Harness, tmp_path: Path
) -> None:
    await seed(h, tmp_path)
    await register_typing_phone(h, KARIM, "0661234567")
    await h.press_data(KARIM, "m:certification")
    text = h.last_text(KARIM)
    assert "Aucun dossier de certification" in text and "VAEP-2" not in text
    assert (await applications(h))["VAEP-2"]["artisan_id"] is None
    await h.press(KARIM, "cert:verify")
    await h.send(KARIM, "0661234567")  # typed: cannot be checked
    assert "un numéro tapé ne peut pas être vérifié" in h.texts(KARIM)[-2]
    await h.share_contact(KARIM, "+212661234567", owner=999)  # someone else's card
    assert "celui de quelqu'un d'autre" in h.texts(KARIM)[-2]
    await h.share_contact(KARIM, "+212661234567")
    card = h.last_text(KARIM)
    assert "VAEP-2" in card and "Non éligible" in card and "Moins de 3 ans d'expérience" in card
    assert "Contactez la chambre avec votre numéro de dossier" in card


async def test_link_with_application_number_and_cnie(h: Harness, tmp_path: Path) -> None:
    await seed(h, tmp_path)
    await h.register(KARIM, "en", phone="+212669999999")
    await h.press_data(KARIM, "m:certification")
    assert "no certification file linked to you" in h.last_text(KARIM)
    await h.press(KARIM, "cert:link")
    assert "application number" in h.last_text(KARIM)
    await h.send(KARIM, "vaep-2")
    await h.send(KARIM, "be 222222")
    texts = h.texts(KARIM)
    assert "File VAEP-2 is now linked to your profile" in texts[-2]
    assert "Not eligible" in texts[-1] and "Moins de 3 ans" in texts[-1]
    app = (await applications(h))["VAEP-2"]
    assert app["link_method"] == "cnie" and app["artisan_id"] is not None
    # Linking it again just says so.
    await h.press_data(KARIM, "cert:link")
    await h.send(KARIM, "VAEP-2")
    await h.send(KARIM, "BE222222")
    assert "already linked to you" in h.texts(KARIM)[-2]


async def test_wrong_guesses_are_limited_and_never_tell_whether_a_number_exists(
    h: Harness, tmp_path: Path
) -> None:
    await seed(h, tmp_path)
    await h.register(INTRUDER, "en", name="Omar Intrus", phone="+212669999998")
    t = h.app.translator

    async def guess(number: str, cnie: str) -> str:
        await h.press_data(INTRUDER, "cert:link")
        await h.send(INTRUDER, number)
        await h.send(INTRUDER, cnie)
        return h.texts(INTRUDER)[-2]

    # A real number with a wrong CNIE, and a number that does not exist: the same answer.
    assert await guess("VAEP-1", "BK999999") == t.render(Msg("cert.link.no_match", count=4), "en", ZONE)
    assert await guess("NOPE-404", "BK111111") == t.render(Msg("cert.link.no_match", count=3), "en", ZONE)
    assert await guess("VAEP-2", "BK111111") == t.render(Msg("cert.link.no_match", count=2), "en", ZONE)
    await guess("VAEP-3", "AA1")
    await h.press_data(INTRUDER, "cert:link")
    await h.send(INTRUDER, "VAEP-1")
    await h.send(INTRUDER, "BK000000")
    texts = h.texts(INTRUDER)
    assert "do not match" in texts[-3] and "linking is paused" in texts[-2]
    assert "10:00" in texts[-2]  # first wrong guess at 09:00 (UTC+0 in November) + 1 hour
    # Now even the right answer is refused, also after a restart.
    await h.restart()
    await h.press_data(INTRUDER, "cert:link")
    assert "linking is paused" in h.texts(INTRUDER)[-2]
    assert all(app["artisan_id"] is None or app["number"] == "VAEP-1"
               for app in (await applications(h)).values())
    everything = " ".join(h.texts(INTRUDER))
    for secret in ("Amina", "Karim Alaoui", "Nadia", "Institut", "Moins de 3 ans", "Summoned", "eligible"):
        assert secret not in everything
    # An hour later the counter has moved on.
    h.clock.advance(timedelta(hours=1, minutes=1))
    await h.press_data(INTRUDER, "cert:link")
    assert "application number" in h.last_text(INTRUDER)


async def test_rate_limit_counts_in_the_database_per_user(h: Harness, tmp_path: Path) -> None:
    await seed(h, tmp_path)
    await h.register(INTRUDER, "fr", name="Omar Intrus", phone="+212669999998")
    await h.register(KARIM, "fr", phone="+212669999997")
    for _ in range(5):
        await h.press_data(INTRUDER, "cert:link")
        await h.send(INTRUDER, "VAEP-2")
        await h.send(INTRUDER, "BK000001")
    await h.press_data(INTRUDER, "cert:link")
    assert "la liaison est suspendue" in h.texts(INTRUDER)[-2]
    # Another user is not affected.
    await h.press_data(KARIM, "cert:link")
    await h.send(KARIM, "VAEP-2")
    await h.send(KARIM, "BE222222")
    assert "VAEP-2" in h.last_text(KARIM)


async def test_no_leak_between_artisans(h: Harness, tmp_path: Path) -> None:
    await seed(h, tmp_path)
    await h.register(AMINA, "fr")
    await h.register(INTRUDER, "fr", name="Omar Intrus", phone="+212669999998")
    await h.press_data(AMINA, "m:certification")
    amina_app = (await applications(h))["VAEP-1"]["id"]
    other = (await applications(h))["VAEP-3"]["id"]
    for forged in (f"cert:show:{amina_app}", f"cert:ics:{amina_app}", f"cert:show:{other}",
                   "cert:show:99999", "cert:show:abc", "cert:ics:", "cert:linkX"):
        sent = await h.press_data(INTRUDER, forged)
        assert "n'est plus disponible" in shown(sent[0]), forged
        assert all(m.method == "sendMessage" for m in sent)
    everything = " ".join(h.texts(INTRUDER))
    for secret in ("VAEP-1", "VAEP-3", "Amina Benali", "Institut", "Convoqué"):
        assert secret not in everything


async def test_a_file_linked_to_someone_else_is_not_shown(h: Harness, tmp_path: Path) -> None:
    await seed(h, tmp_path)
    await h.register(AMINA, "en")
    await h.press_data(AMINA, "m:certification")  # VAEP-1 is now Amina's (verified phone)
    await h.register(INTRUDER, "en", name="Omar Intrus", phone="+212669999998")
    await h.press_data(INTRUDER, "cert:link")
    await h.send(INTRUDER, "VAEP-1")
    await h.send(INTRUDER, "BK111111")  # even knowing both, nothing of the file is shown
    text = h.texts(INTRUDER)[-2]
    assert "already linked to another profile" in text
    assert "Summoned" not in " ".join(h.texts(INTRUDER))


async def test_several_applications_are_listed_then_opened(h: Harness, tmp_path: Path) -> None:
    await do_import(h, write_csv(tmp_path / "r.csv", [
        row("OLD-1", "BK1", phone_of(AMINA), stage="failed"),
        row("NEW-2", "BK1", phone_of(AMINA), stage="submitted"),
    ]))
    await h.register(AMINA, "ar")
    await h.press_data(AMINA, "m:certification")
    listing = h.last(AMINA)
    assert "لديك ملفا تصديق" in (listing.plain_text or "")
    await h.press(AMINA, "NEW-2")
    assert "تم استلام الملف" in h.last_text(AMINA)


async def test_erased_profile_no_longer_owns_the_file(h: Harness, tmp_path: Path) -> None:
    await seed(h, tmp_path)
    await h.register(AMINA, "fr")
    await h.press_data(AMINA, "m:certification")
    await h.send(AMINA, "/delete")
    await h.press(AMINA, "del:yes")
    report = await do_import(h, write_csv(tmp_path / "later.csv", [
        row("VAEP-1", "BK111111", phone_of(AMINA), name="Amina Benali", stage="assessed")]))
    assert report.moved == 1 and report.notified == 0
    # She registers again with the same verified phone: the file is hers again.
    await h.register(AMINA, "fr")
    await h.press_data(AMINA, "m:certification")
    assert "le jury délibère" in h.last_text(AMINA)
