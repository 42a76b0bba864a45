"""Told when it moves: one notice per stage change, in the artisan's language, through the outbox
and the fake Bot API; none for a re-import, none twice across a restart."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.i18n import Msg
from bot.timezones import load_zone
from handlers.certification.stages import STAGES
from tests.certification_support import (
    applications,
    do_import,
    notices,
    phone_of,
    row,
    write_csv,
)
from tests.harness import Harness

ZONE = load_zone("Africa/Casablanca")
LANGS = ("fr", "ar", "en")


def plain(h: Harness, key: str, lang: str, **params: object) -> str:
    return h.app.translator.plain(Msg(key, **params), lang, ZONE)


async def settle(h: Harness) -> int:
    """Let the per-chat pause pass, then deliver everything due."""
    h.clock.advance(timedelta(seconds=5))
    return await h.drain()


async def test_second_import_moving_ten_to_summoned_sends_exactly_ten_notices(
    h: Harness, tmp_path: Path
) -> None:
    users = list(range(201, 213))
    for index, user in enumerate(users):
        await h.register(user, LANGS[index % 3])
    register = [row(f"VAEP-2026-{i:04d}", f"BK{i:06d}", phone_of(users[i]) if i < len(users)
                     else f"+2126610{i:05d}", name=f"Artisan Numero {i}", stage="eligible")
                 for i in range(300)]
    first = await do_import(h, write_csv(tmp_path / "october.csv", register))
    assert (first.created, first.notified) == (300, 12)
    assert await settle(h) == 12
    sent_before = len(h.api.sent)

    places = {i: f"Institut de formation, salle {i}" for i in range(10)}
    moved = [dict(r) for r in register]
    for i in range(10):
        moved[i].update(stage="summoned", summons_date=f"{10 + i}/12/2026", summons_time="09:30",
                        summons_place=places[i])
    november = write_csv(tmp_path / "november.csv", moved)
    second = await do_import(h, november)
    assert (second.moved, second.unchanged, second.notified) == (10, 290, 10)
    rows = await notices(h)
    assert len(rows) == 22
    assert await settle(h) == 10
    new = h.api.sent[sent_before:]
    assert len(new) == 10 and all(m.method == "sendDocument" for m in new)
    for i in range(10):
        user, lang = users[i], LANGS[i % 3]
        [message] = [m for m in new if m.chat_id == user]
        when = datetime(2026, 12, 10 + i, 9, 30, tzinfo=UTC)  # Casablanca is UTC+0 by then
        caption = message.plain_text or ""
        assert h.app.translator.format_datetime(when, lang, ZONE) in caption
        assert places[i] in caption and f"VAEP-2026-{i:04d}" in caption
        assert plain(h, "cert.stage.summoned", lang) in caption
        assert message.filename == f"summoned-VAEP-2026-{i:04d}.ics"
        ics = (message.document or b"").decode()
        assert f"DTSTART:202612{10 + i:02d}T093000Z" in ics
        assert "salle " + str(i) in ics.replace("\r\n ", "")

    # The same file again, before and after a restart: nothing new, nothing sent.
    again = await do_import(h, november)
    assert (again.moved, again.notified, again.unchanged) == (0, 0, 300)
    await h.restart()
    again = await do_import(h, november)
    assert again.notified == 0
    assert len(await notices(h)) == 22
    assert await settle(h) == 0
    assert len(h.api.sent) == sent_before + 10


async def test_one_notice_per_change_even_when_the_bot_crashes_before_sending(
    h: Harness, tmp_path: Path
) -> None:
    await h.register(101, "fr")
    await do_import(h, write_csv(tmp_path / "a.csv", [row("R-1", "BK1", phone_of(101), stage="eligible")]))
    await settle(h)
    before = len(h.api.messages_to(101))
    moved = write_csv(tmp_path / "b.csv", [row("R-1", "BK1", phone_of(101), stage="assessed")])
    await do_import(h, moved)
    await h.restart()  # crash: the notice is in the outbox, not sent yet
    await do_import(h, moved)
    assert await settle(h) == 1
    await h.restart()
    assert await settle(h) == 0
    texts = h.texts(101)[before:]
    assert len(texts) == 1 and "Épreuves passées : le jury délibère" in texts[0]
    [first, second] = await notices(h)
    app = (await applications(h))["R-1"]
    assert second["idem_key"].startswith(f"cert:{app['id']}:") and first["idem_key"] != second["idem_key"]


async def test_artisans_who_said_stop_still_hear_about_their_own_file(
    h: Harness, tmp_path: Path
) -> None:
    await h.register(101, "en")
    await h.send(101, "STOP")
    assert "no more notifications" in h.texts(101)[-2]
    await do_import(h, write_csv(tmp_path / "a.csv", [row("O-1", "BK1", phone_of(101), stage="passed")]))
    assert await settle(h) == 1
    assert "Passed: congratulations!" in h.texts(101)[-1]


async def test_nobody_is_notified_about_an_unlinked_file(h: Harness, tmp_path: Path) -> None:
    await h.register(101, "fr")
    report = await do_import(h, write_csv(tmp_path / "a.csv", [row("U-1", "BK1", "0661234567")]))
    assert report.notified == 0 and await notices(h) == []


@pytest.mark.parametrize("lang", LANGS)
async def test_every_stage_message_in_every_language(h: Harness, tmp_path: Path, lang: str) -> None:
    await h.register(101, lang)
    for step, stage in enumerate(STAGES):
        extra = {}
        if stage.appointment:
            extra = {"summons_date": "20/12/2026", "summons_time": "10:00", "summons_place": "Rabat"}
        path = write_csv(tmp_path / f"{step}.csv", [row("E-1", "BK1", phone_of(101), stage=stage.code,
                                                        **extra)])
        report = await do_import(h, path)
        assert report.notified == 1, stage.code
        assert await settle(h) == 1
        notice = h.texts(101)[-1]
        label = plain(h, f"cert.stage.{stage.code}", lang)
        assert label in notice, (stage.code, notice)
        assert plain(h, f"cert.next.{stage.code}", lang) in notice
        assert "cert." not in notice
        if stage.appointment:
            assert h.api.messages_to(101)[-1].method == "sendDocument" and "Rabat" in notice
        # "My certification" says the same, in plain words, with the history so far.
        await h.press_data(101, "m:certification")
        card = h.last_text(101)
        assert label in card and plain(h, f"cert.next.{stage.code}", lang) in card
        assert "cert." not in card
