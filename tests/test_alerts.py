"""New-session alerts: a Zellige session in Fès-Meknès reaches the Zellige artisans of
Fès-Meknès once (not others, not those who said STOP or turned alerts off), with the enrol
button; during quiet hours it waits for the morning."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.clock import FakeClock
from handlers import alerts
from storage import sessions as session_repo
from tests.harness import Harness
from tests.sessions_support import make_session
from tests.whatsapp_harness import WhatsAppHarness

pytestmark = pytest.mark.asyncio

MORNING = datetime(2026, 5, 12, 9, 0, tzinfo=UTC)  # 10:00 in Casablanca
NIGHT = datetime(2026, 5, 12, 22, 0, tzinfo=UTC)  # 23:00 in Casablanca


def alerted(h: Harness, user: int) -> list[str]:
    return [t for t in h.texts(user) if "nouvelle formation pour vous" in t or "تكوين جديد لك" in t]


async def test_a_zellige_session_in_fes_reaches_the_zellige_artisans_of_fes_meknes_once(
    tmp_path: Path,
) -> None:
    async with Harness.open(tmp_path, clock=FakeClock(MORNING)) as h:
        await h.register(601, "fr", name="Hamid Zellij", region="region:FM", craft="craft:zellige")
        await h.register(602, "ar", name="Fatima Zahra", region="region:FM", craft="craft:zellige")
        await h.register(603, "fr", name="Said Marrakchi", region="region:MS", craft="craft:zellige")
        await h.register(604, "fr", name="Nadia Potier", region="region:FM", craft="craft:pottery")
        await h.register(605, "fr", name="Omar Stop", region="region:FM", craft="craft:zellige")
        await h.register(606, "fr", name="Rachid Off", region="region:FM", craft="craft:zellige")
        await h.send(605, "STOP")
        await h.send(606, "/alerts")
        await h.press(606, "al:off")

        session_id = await make_session(h, craft="zellige", region="FM", venue="Dar Al Maâlem, Fès",
                                        title={"fr": "Zellige de Fès", "ar": "زليج فاس"})
        await alerts.announce(h.app.services)
        # Edited afterwards (published again): still one alert each.
        async with h.app.db.transaction() as conn:
            await session_repo.update_fields(conn, session_id, h.clock.now(), venue="Dar Al Maâlem")
        await alerts.announce(h.app.services)
        await h.deliver_all()

        assert len(alerted(h, 601)) == 1 and "Zellige de Fès" in alerted(h, 601)[0]
        assert len(alerted(h, 602)) == 1 and "زليج فاس" in alerted(h, 602)[0]
        for other in (603, 604, 605, 606):
            assert alerted(h, other) == []
        await h.press(601, f"s:enrol:{session_id}")
        assert "Zellige de Fès" in h.last_text(601)
        assert any(data == f"s:enrolok:{session_id}" for _, data in h.last(601).buttons)


async def test_an_alert_published_at_night_waits_for_the_end_of_quiet_hours(tmp_path: Path) -> None:
    clock = FakeClock(NIGHT)
    async with Harness.open(tmp_path, clock=clock) as h:
        await h.register(611, "fr", region="region:FM", craft="craft:zellige")
        await make_session(h, craft="zellige", region="FM")
        await alerts.announce(h.app.services)
        await h.drain()
        assert alerted(h, 611) == []
        clock.advance(9 * 3600)  # 08:00 in Casablanca
        await h.drain()
        assert len(alerted(h, 611)) == 1


async def test_one_tap_in_an_alert_turns_alerts_off(tmp_path: Path) -> None:
    async with Harness.open(tmp_path, clock=FakeClock(MORNING)) as h:
        await h.register(621, "fr", region="region:FM", craft="craft:zellige")
        await make_session(h, craft="zellige", region="FM")
        await alerts.announce(h.app.services)
        await h.deliver_all()
        await h.press(621, "al:off")
        assert "pas averti" in h.last_text(621)
        await make_session(h, craft="zellige", region="FM")
        await alerts.announce(h.app.services)
        await h.deliver_all()
        assert len(alerted(h, 621)) == 1


async def test_registration_summary_turns_alerts_off_in_one_tap_and_keeps_them_on_by_default(
    tmp_path: Path,
) -> None:
    """Telegram, Arabic: the summary says new trainings will be announced; one tap turns that off
    (the line and the button change); confirming keeps the choice: no alert, /alerts says off."""
    async with Harness.open(tmp_path, clock=FakeClock(MORNING)) as h:
        h.languages[631] = "ar"
        await h.send(631, "/start")
        await h.press(631, "lang:ar")
        await h.press(631, "consent:yes")
        await h.send(631, "فاطمة الزهراء")
        await h.share_contact(631, "+212612340631")
        await h.press(631, "region:FM")
        await h.press(631, "craft:zellige")
        await h.press(631, "cnie:skip")
        summary = h.last_text(631)
        assert "فاطمة الزهراء" in summary and "سنخبرك بها" in summary
        assert "🔕 إيقاف التنبيهات" in h.labels(631)
        await h.press(631, "reg:alerts")
        assert "لن نخبرك بالتكوينات الجديدة" in h.last_text(631)
        assert "🔔 تفعيل التنبيهات" in h.labels(631)
        assert h.labels(631)[0] == "✅ تأكيد"  # confirm stays first: one tap for everyone
        await h.press(631, "reg:confirm")
        await h.register(632, "fr", region="region:FM", craft="craft:zellige")  # default: on

        await make_session(h, craft="zellige", region="FM")
        await alerts.announce(h.app.services)
        await h.deliver_all()
        assert alerted(h, 631) == []
        assert len(alerted(h, 632)) == 1
        await h.send(631, "/alerts")
        assert "لا يصلك خبر التكوينات الجديدة" in h.last_text(631)


async def test_whatsapp_registration_summary_lists_the_alerts_toggle(tmp_path: Path) -> None:
    """WhatsApp, French: the summary's list offers "turn off alerts" (a row title that fits);
    tapping it twice leaves alerts on, once turns them off."""
    async with WhatsAppHarness.open(tmp_path, clock=FakeClock(MORNING), default_locale="fr") as h:
        await h.wa_register("212611110641", "fr", region="region:FM", alerts=False)
        await h.wa_send("212611110642", "salam")
        await h.wa_tap("212611110642", "lang:fr")
        await h.wa_tap("212611110642", "consent:yes")
        await h.wa_send("212611110642", "Karim Bennani")
        await h.wa_tap("212611110642", "region:FM")
        await h.wa_tap("212611110642", "craft:zellige")
        await h.wa_tap("212611110642", "cnie:skip")
        summary = h.graph.last_to("212611110642")
        assert "je vous préviens" in summary.text
        assert {"id": "reg:alerts", "title": "🔕 Couper les alertes"} in summary.rows
        await h.wa_tap("212611110642", "reg:alerts")
        assert "pas prévenu(e)" in h.graph.last_to("212611110642").text
        await h.wa_tap("212611110642", "reg:alerts")
        assert "je vous préviens" in h.graph.last_to("212611110642").text
        await h.wa_tap("212611110642", "reg:confirm")

        await make_session(h, craft="zellige", region="FM", title={"fr": "Zellige de Fès"})
        await alerts.announce(h.app.services)
        await h.deliver_all()
        told = [t for t in h.wa_texts("212611110642") if "nouvelle formation pour vous" in t]
        assert len(told) == 1 and "Zellige de Fès" in told[0]
        assert not [t for t in h.wa_texts("212611110641") if "nouvelle formation pour vous" in t]
