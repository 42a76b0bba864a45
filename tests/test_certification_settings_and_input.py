"""Stage configuration, and what artisans may type into the linking flow."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.errors import ConfigError
from bot.settings import load_settings
from handlers.certification.artisan import prune_attempts
from storage.certification_schema import certification_link_attempts
from tests import factories
from tests.certification_support import do_import, row, write_csv
from tests.harness import Harness

USER = 101


def test_stage_list_is_configurable_and_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HIRFA_CERTIFICATION__STAGES", '["submitted", "eligible", "summoned"]')
    assert load_settings().certification.stages == ["submitted", "eligible", "summoned"]
    monkeypatch.setenv("HIRFA_CERTIFICATION__STAGES", '["submitted", "approved"]')
    with pytest.raises(ConfigError, match="HIRFA_CERTIFICATION__STAGES"):
        load_settings()
    monkeypatch.setenv("HIRFA_CERTIFICATION__STAGES", '["submitted", "submitted"]')
    with pytest.raises(ConfigError, match="listed twice"):
        load_settings()


async def test_a_stage_left_out_of_the_settings_is_refused_by_the_import(tmp_path: Path) -> None:
    async with Harness.open(tmp_path, certification={"stages": ["submitted", "eligible"]}) as h:
        report = await do_import(h, write_csv(tmp_path / "r.csv", [
            row("C-1", "BK1", stage="eligible"), row("C-2", "BK2", stage="assessed")]))
        assert report.created == 1 and report.rejected == 1
        assert "submitted, eligible" in h.app.translator.plain(
            report.problems[0].message, "en", h.app.services.zone)


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ("x" * 5000, "does not look like an application number"),
        ("😀🎉", "does not look like an application number"),
        ("<b>VAEP</b>", "does not look like an application number"),
        ("/help", "I am the assistant"),
    ],
)
async def test_odd_answers_to_the_number_question_get_a_clear_reply(
    h: Harness, answer: str, expected: str
) -> None:
    await h.register(USER, "en")
    await h.press_data(USER, "cert:link")
    await h.send(USER, answer)
    texts = h.texts(USER)
    assert expected in texts[-2] and "application number" in texts[-1]


async def test_photo_and_bidi_marks_in_the_linking_flow(h: Harness, tmp_path: Path) -> None:
    await do_import(h, write_csv(tmp_path / "r.csv", [row("VAEP-7", "BK777777", stage="passed")]))
    await h.register(USER, "ar")
    await h.press_data(USER, "cert:link")
    await h.feed(factories.photo_update(USER, language_code="ar"))
    assert "رقم ملفك" in h.last_text(USER)  # asked again after "text and buttons only"
    await h.send(USER, "\u200fvaep\u200e-٧")  # RTL marks and an Arabic-Indic digit
    await h.send(USER, "\u200fBK777777")
    assert "ناجح: مبروك!" in h.last_text(USER)


async def test_old_wrong_guesses_are_pruned_by_the_hourly_job(h: Harness) -> None:
    await h.register(USER, "fr")
    for _ in range(2):
        await h.press_data(USER, "cert:link")
        await h.send(USER, "NOPE-1")
        await h.send(USER, "BK1")

    async def count() -> int:
        async with h.app.db.read() as conn:
            stmt = select(func.count()).select_from(certification_link_attempts)
            return int((await conn.execute(stmt)).scalar_one())

    await prune_attempts(h.app.services)
    assert await count() == 2
    h.clock.advance(timedelta(hours=1, seconds=1))
    await prune_attempts(h.app.services)
    assert await count() == 0
