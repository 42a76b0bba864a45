"""Every message that tells the artisan to contact the chamber carries the chamber's contact card
(phone, address, opening hours, map link): certification notices and cards whose next step says
so (not accepted, summoned, not passed), a certification file linked elsewhere or linking paused,
a CNIE already registered, attestations not available. Telegram and WhatsApp."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.clock import FakeClock
from storage import enrolments as enrolment_repo
from tests.certification_support import do_import, phone_of, row, write_csv
from tests.harness import Harness
from tests.sessions_support import make_session
from tests.whatsapp_harness import WhatsAppHarness

pytestmark = pytest.mark.asyncio

TUESDAY = datetime(2026, 5, 12, 9, 0, tzinfo=UTC)
CHAMBER = {"name": "Chambre d'Artisanat Fès-Meknès", "phone": "+212 535 00 00 00",
           "address": "Avenue des Almohades, Fès", "map_url": "https://maps.example.org/chambre"}


def has_card(text: str, hours: str) -> bool:
    return all(part in text for part in ("+212 535 00 00 00", "Avenue des Almohades, Fès",
                                         "https://maps.example.org/chambre", hours, "08:30–16:30"))


AR_HOURS = "من الإثنين إلى الجمعة"
FR_HOURS = "du lundi au vendredi"


async def test_certification_notices_that_say_contact_the_chamber_carry_its_card(
    tmp_path: Path,
) -> None:
    async with Harness.open(tmp_path, clock=FakeClock(TUESDAY), chamber=CHAMBER) as h:
        await h.register(801, "ar", name="Fatima Zahra")
        await h.register(802, "fr", name="Karim Tazi")
        await h.register(803, "fr", name="Said Fassi")
        register = [
            row("VAEP-2026-0001", "BK000001", phone_of(801), name="Fatima Zahra", stage="summoned",
                summons_date="20/05/2026", summons_time="09:30", summons_place="Institut, salle 2"),
            row("VAEP-2026-0002", "BK000002", phone_of(802), name="Karim Tazi", stage="failed"),
            row("VAEP-2026-0003", "BK000003", phone_of(803), name="Said Fassi", stage="eligible"),
        ]
        await do_import(h, write_csv(tmp_path / "register.csv", register))
        h.clock.advance(timedelta(seconds=5))
        await h.deliver_all()

        summons = h.texts(801)[-1]
        assert "VAEP-2026-0001" in summons and "Institut, salle 2" in summons
        assert has_card(summons, AR_HOURS)
        # The card comes after the sentence that says to tell the chamber.
        assert summons.index("أخبر الغرفة") < summons.index("+212 535 00 00 00")
        failed = h.texts(802)[-1]
        assert "Contactez la chambre" in failed and has_card(failed, FR_HOURS)
        eligible = h.texts(803)[-1]
        assert "VAEP-2026-0003" in eligible and "+212 535 00 00 00" not in eligible

        # The artisan's own view of the file says the same.
        await h.send(801, "/certification")
        assert has_card(h.last_text(801), AR_HOURS)
        await h.send(803, "/certification")
        assert "+212 535 00 00 00" not in h.last_text(803)


async def test_a_paused_certification_link_shows_how_to_reach_the_chamber(
    tmp_path: Path,
) -> None:
    async with Harness.open(tmp_path, clock=FakeClock(TUESDAY), chamber=CHAMBER,
                            certification={"link_attempts_per_hour": 1}) as h:
        await h.register(811, "fr", cnie="BK123456")
        # (a CNIE already on another profile is no longer announced: issue 12, no oracle)
        await h.send(811, "/certification")
        await h.press(811, "cert:link")
        await h.send(811, "VAEP-2026-9999")
        await h.send(811, "ZZ999999")
        paused = next(t for t in reversed(h.texts(811)) if "🔒" in t)
        assert has_card(paused, FR_HOURS)


async def test_whatsapp_summons_and_attestations_unavailable_carry_the_card(tmp_path: Path) -> None:
    user = "212611110851"
    async with WhatsAppHarness.open(tmp_path, clock=FakeClock(TUESDAY), chamber=CHAMBER,
                                    default_locale="fr") as h:
        await h.wa_register(user, "fr", name="Youssef Alaoui")
        await do_import(h, write_csv(tmp_path / "register.csv", [
            row("VAEP-2026-0042", "BK000042", "+" + user, name="Youssef Alaoui", stage="summoned",
                summons_date="20/05/2026", summons_time="09:30", summons_place="Institut, salle 2")]))
        h.clock.advance(timedelta(seconds=5))
        await h.deliver_all()
        summons = next(t for t in reversed(h.wa_texts(user)) if "VAEP-2026-0042" in t)
        assert "Prévenez vite la chambre" in summons and has_card(summons, FR_HOURS)

        # No signing key set: attestations are not available yet; the artisan is told whom to ask.
        session_id = await make_session(h, starts_at=h.clock.now() + timedelta(hours=2))
        async with h.app.db.transaction() as conn:
            enrolment = await enrolment_repo.enrol(conn, session_id, 1, h.clock.now())
            assert enrolment is not None
            await enrolment_repo.mark(conn, enrolment.id, True, h.clock.now())
        h.clock.advance(timedelta(hours=4))
        await h.wa_send(user, "/attestations")
        await h.wa_tap(user, f"att:get:{session_id}")
        assert "pas encore disponibles" in h.wa_texts(user)[-1]
        assert has_card(h.wa_texts(user)[-1], FR_HOURS)
