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
