"""Every message of the sessions feature exists and renders in each language; a whole artisan
journey (list → card → enrol → reminder → promotion notice) reads right in ar, fr and en."""

from __future__ import annotations

import logging
import re
from datetime import timedelta
from pathlib import Path

import pytest

from bot.i18n import Catalogs, Msg, Translator, placeholders
from bot.timezones import load_zone
from handlers.catalog import CRAFTS
from handlers.sessions.editor import STEPS
from handlers.sessions.reminders import send_reminders
from tests.harness import Harness
from tests.sessions_support import local, make_session, utc

CATALOGS = Catalogs()
ROOT = Path(__file__).resolve().parent.parent
SOURCES = list(ROOT.glob("handlers/sessions/*.py"))  # the CLI is handlers/sessions/cli.py
DYNAMIC = (
    [f"sess.lang_{lang}" for lang in ("ar", "fr", "en")]
    + [f"sess.edit_{step}" for step in STEPS]
    + [f"sess.status_{s}" for s in ("scheduled", "cancelled", "done", "enrolled", "waitlisted",
                                    "attended", "no_show")]
    + [f"sess.mark_{s}" for s in ("enrolled", "attended", "no_show")]
    + [f"sess.closed_{s}" for s in ("cancelled", "done")]
    + ["sess.rsvp_yes", "sess.rsvp_no"]
    + [f"craft.{c}" for c in CRAFTS]
)


def used_keys() -> set[str]:
    keys: set[str] = set(DYNAMIC)
    for path in SOURCES:
        keys |= set(re.findall(r'"(sess\.[a-z_]+)"', path.read_text(encoding="utf-8")))
    return keys


@pytest.mark.parametrize("lang", ["ar", "fr", "en"])
def test_every_key_used_by_the_code_exists(lang: str) -> None:
    assert sorted(k for k in used_keys() if not CATALOGS.has(lang, k)) == []


@pytest.mark.parametrize("lang", ["ar", "fr", "en"])
def test_every_message_renders(lang: str, caplog: pytest.LogCaptureFixture) -> None:
    translator = Translator(CATALOGS, "ar")
    zone = load_zone("Africa/Casablanca")
    caplog.set_level(logging.WARNING)
    for key, texts in CATALOGS.keys(lang).items():
        if not key.startswith("sess."):
            continue
        names = set().union(*(placeholders(t) for t in texts))
        params: dict[str, object] = {name: f"<{name}>" for name in names}
        for count in (0, 1, 2, 3, 11, 100):
            params["count"] = count
            html = translator.render(Msg(key, **params), lang, zone)
            assert "{" not in html, (lang, key)
    assert caplog.records == []


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        ("ar", ("نونبر", "مقعدان شاغران", "تم تسجيلك", "تذكير", "شغر مقعد", "ساعتان")),
        ("fr", ("novembre", "2 places restantes", "Votre inscription à", "Rappel", "Une place s'est libérée",
                "2 heures")),
        ("en", ("November", "2 seats left", "You are enrolled", "Reminder", "A seat has freed up",
                "2 hours")),
    ],
)
async def test_artisan_journey_in_each_language(h: Harness, lang: str, expected: tuple[str, ...]) -> None:
    month, seats, enrolled, reminder, promoted, duration = expected
    user, other = 101, 102
    await h.register(user, lang)
    await h.register(other, "fr")
    starts = local(utc(2026, 11, 10).date(), 14, 30)
    session = await make_session(h, starts_at=starts, capacity=2)
    await h.press(user, "m:trainings")
    assert month in h.last_text(user)
    await h.press(user, f"s:open:{session}")
    card = h.last_text(user)
    assert "14:30" in card and duration in card and month in card and seats in card
    await h.press(user, f"s:enrol:{session}")
    await h.press(user, f"s:enrolok:{session}")
    assert enrolled in h.last_text(user)
    h.clock.set(starts - timedelta(hours=24))
    await send_reminders(h.app.services)
    await h.drain()
    assert reminder in h.last_text(user) and "14:30" in h.last_text(user)
    # A full session: on the wait-list, then promoted when the seat holder can't come.
    full = await make_session(h, starts_at=starts + timedelta(days=3), capacity=1)
    await h.press_data(other, f"s:enrolok:{full}")
    await h.press_data(user, f"s:enrolok:{full}")
    await h.press_data(other, f"s:cancelok:{full}")
    h.clock.advance(5)  # the outbox sends at most one message a second to a chat
    await h.drain()
    assert promoted in h.last_text(user)
