"""Staff in the bot: look an application up, set its stage with a note; rights on every step."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from storage import staff as staff_repo
from tests.certification_support import (
    applications,
    do_import,
    history_rows,
    notices,
    phone_of,
    row,
    write_csv,
)
from tests.harness import ADMIN, STAFF, Harness

AMINA, KARIM = 101, 102


@pytest.fixture
async def staffed(h: Harness, tmp_path: Path) -> Harness:
    async with h.app.db.transaction() as conn:
        await staff_repo.grant(conn, "telegram", str(STAFF), "staff", h.clock.now(), "test")
    h.languages[STAFF] = "en"
    await do_import(h, write_csv(tmp_path / "register.csv", [
        row("VAEP-1", "BK111111", phone_of(AMINA), name="Amina Benali", stage="eligible"),
        row("VAEP-2", "BE222222", "0661234567", name="Karim Alaoui", stage="submitted"),
        row("VAEP-3", "JA333333", "0662345678", name="Nadia Tazi", stage="assessed"),
        row("VAEP-9", "BK111111", "", name="Amina Benali", stage="failed"),
    ]))
    return h


async def app_id(h: Harness, number: str) -> int:
    return int((await applications(h))[number]["id"])


async def test_staff_look_up_by_number_cnie_and_phone(staffed: Harness) -> None:
    h = staffed
    await h.send(STAFF, "/certs")
    assert "application number" in h.last_text(STAFF)
    await h.send(STAFF, "vaep-2")
    card = h.last_text(STAFF)
    assert "VAEP-2 — Karim Alaoui" in card and "BE222222" in card and "+212661234567" in card
    assert "File received" in card and "register import" in card and "not linked yet" in card
    await h.press(STAFF, "cs:find")
    await h.send(STAFF, "bk 111111")
    assert "2 applications found" in h.last_text(STAFF)
    await h.press(STAFF, "VAEP-9")
    assert "Not passed this time" in h.last_text(STAFF)
    await h.press(STAFF, "cs:find")
    await h.send(STAFF, "06 62 34 56 78")
    assert "VAEP-3 — Nadia Tazi" in h.last_text(STAFF)
    await h.press(STAFF, "cs:find")
    await h.send(STAFF, "<b>ZZZ</b>")
    texts = h.texts(STAFF)
    assert "No application found for «<b>ZZZ</b>»" in texts[-2] and "application number" in texts[-1]
    await h.send(STAFF, "/certs VAEP-3")
    assert "VAEP-3 — Nadia Tazi" in h.last_text(STAFF)
    await h.press(STAFF, "cs:done")
    assert h.last_text(STAFF) == "Closed."


async def test_staff_set_stage_with_note_is_recorded_with_author_and_told_once(
    staffed: Harness,
) -> None:
    h = staffed
    await h.register(AMINA, "fr")
    await h.send(STAFF, "/certs VAEP-1")
    assert "linked (notified of each change)" in h.last_text(STAFF)
    target = await app_id(h, "VAEP-1")
    await h.press(STAFF, f"cs:stage:{target}")
    assert "is at ✅ Eligible" in h.last_text(STAFF)
    await h.press(STAFF, "cs:to:ineligible")
    assert "shown to them" in h.last_text(STAFF)
    await h.send(STAFF, "Pièces manquantes : <attestation> & CNIE 😀")
    confirm = h.last_text(STAFF)
    assert "from Eligible to ⛔ Not eligible" in confirm and "will be notified at once" in confirm
    before = len(await notices(h))
    await h.press(STAFF, "cs:confirm")
    texts = h.texts(STAFF)
    assert "Saved; the artisan is being notified" in texts[-2]
    assert "by telegram:9001" in texts[-1] and "<attestation> & CNIE 😀" in texts[-1]
    last = (await history_rows(h))[-1]
    assert (last["stage"], last["source"], last["author"]) == ("ineligible", "staff", "telegram:9001")
    assert last["note"] == "Pièces manquantes : <attestation> & CNIE 😀"
    assert len(await notices(h)) == before + 1
    # The confirm button pressed again (a double tap, a stale message): nothing more.
    await h.press_data(STAFF, "cs:confirm")
    assert "no longer available" in h.texts(STAFF)[-2]
    assert len(await notices(h)) == before + 1
    h.clock.advance(timedelta(seconds=5))
    await h.drain()
    notice = h.api.messages_to(AMINA)[-1]
    assert "Non éligible" in (notice.plain_text or "")
    assert "&lt;attestation&gt; &amp; CNIE 😀" in (notice.text or "")


async def test_staff_summons_asks_date_and_place_and_sends_a_calendar_file(staffed: Harness) -> None:
    h = staffed
    await h.register(AMINA, "ar")
    await h.send(STAFF, "/certs VAEP-1")
    await h.press(STAFF, f"cs:stage:{await app_id(h, 'VAEP-1')}")
    await h.press(STAFF, "cs:to:summoned")
    assert "31/12/2026 09:30" in h.last_text(STAFF)
    await h.send(STAFF, "demain matin")
    assert "like 31/12/2026 09:30" in h.texts(STAFF)[-2]
    await h.send(STAFF, "01/11/2026 09:00")  # the clock says 2 November 2026
    assert "already past" in h.texts(STAFF)[-2]
    await h.send(STAFF, "15/12/2026 9h30")
    await h.send(STAFF, "Institut <Salé>, salle 3")
    await h.press(STAFF, "cs:nonote")
    confirm = h.last_text(STAFF)
    assert "Tuesday, December 15, 2026 at 09:30" in confirm and "Institut <Salé>, salle 3" in confirm
    await h.press(STAFF, "cs:confirm")
    h.clock.advance(timedelta(seconds=5))
    await h.drain()
    notice = h.api.messages_to(AMINA)[-1]
    assert notice.method == "sendDocument" and notice.filename == "summoned-VAEP-1.ics"
    assert "الثلاثاء، 15 دجنبر 2026 على الساعة 09:30" in (notice.plain_text or "")
    ics = (notice.document or b"").decode()
    assert "DTSTART:20261215T093000Z" in ics and "Institut <Salé>\\, salle 3" in ics


async def test_back_goes_one_step_and_close_leaves_the_flow(staffed: Harness) -> None:
    h = staffed
    await h.send(STAFF, "/certs VAEP-3")
    await h.press(STAFF, f"cs:stage:{await app_id(h, 'VAEP-3')}")
    await h.press(STAFF, "cs:to:certificate_ready")
    await h.press(STAFF, "cs:nodate")  # a certificate to collect may have no date
    await h.press(STAFF, "nav:back")
    assert "date and time" in h.last_text(STAFF)
    await h.press(STAFF, "cs:done")
    assert h.last_text(STAFF) == "Closed."
    assert [r["source"] for r in await history_rows(h)] == ["import"] * 4


async def test_staff_edit_does_not_overwrite_a_change_made_meanwhile(
    staffed: Harness, tmp_path: Path
) -> None:
    h = staffed
    await h.send(STAFF, "/certs VAEP-2")
    await h.press(STAFF, f"cs:stage:{await app_id(h, 'VAEP-2')}")
    await h.press(STAFF, "cs:to:eligible")
    await h.press(STAFF, "cs:nonote")
    await do_import(h, write_csv(tmp_path / "later.csv", [
        row("VAEP-2", "BE222222", "0661234567", name="Karim Alaoui", stage="ineligible")]))
    await h.press(STAFF, "cs:confirm")
    texts = h.texts(STAFF)
    assert "changed while you were editing" in texts[-2] and "Not eligible" in texts[-1]
    assert [r["source"] for r in await history_rows(h)].count("staff") == 0


async def test_artisans_cannot_reach_the_staff_flow(staffed: Harness) -> None:
    h = staffed
    await h.register(KARIM, "en", name="Karim Alaoui", phone="+212669999999")
    target = await app_id(h, "VAEP-1")
    for attempt in ("/certs", "/certs VAEP-1"):
        await h.send(KARIM, attempt)
        assert h.last_text(KARIM) == "Sorry, this is only for chamber staff."
    for forged in (f"cs:open:{target}", f"cs:stage:{target}", "cs:find", "cs:done", "cs:confirm"):
        sent = await h.press_data(KARIM, forged)
        assert any("only for chamber staff" in (m.plain_text or "") or "no longer available"
                   in (m.plain_text or "") for m in sent), forged
        assert not any("Amina" in (m.plain_text or "") for m in sent)
    await h.press_data(KARIM, "m:cert_staff")
    assert "no longer available" in h.texts(KARIM)[-2]
    assert "🗂 Certification files (staff)" not in h.labels(KARIM)


async def test_role_is_checked_on_every_step_not_only_at_the_start(staffed: Harness) -> None:
    h = staffed
    await h.send(STAFF, "/certs VAEP-1")
    await h.press(STAFF, f"cs:stage:{await app_id(h, 'VAEP-1')}")
    async with h.app.db.transaction() as conn:
        await staff_repo.revoke(conn, "telegram", str(STAFF))
    await h.press(STAFF, "cs:to:passed")
    assert h.last_text(STAFF) == "Sorry, this is only for chamber staff."
    await h.press_data(STAFF, "cs:confirm")
    assert [r["source"] for r in await history_rows(h)].count("staff") == 0


async def test_the_staff_menu_entry_shows_only_for_staff(staffed: Harness) -> None:
    h = staffed
    await h.register(ADMIN, "fr", name="Admin Chambre", phone="+212669999990")
    assert "🗂 Dossiers de certification (agents)" in h.labels(ADMIN)
    await h.press(ADMIN, "m:cert_staff")
    assert "numéro de dossier" in h.last_text(ADMIN)
    await h.register(KARIM, "fr", name="Karim Alaoui", phone="+212669999999")
    assert "🗂 Dossiers de certification (agents)" not in h.labels(KARIM)
