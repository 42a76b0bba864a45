"""Behaviour that differs between SQLite and PostgreSQL unless the code says what it means.

Each test runs on both backends (``HIRFA_TEST_DATABASE_URL`` selects PostgreSQL) and names the
difference it pins down.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import inspect, select, text

from bot.numbers import ID_MAX as ROW_ID_MAX
from bot.numbers import parse_id
from storage import artisans as artisan_repo
from storage import stats as stats_repo
from storage.schema import artisans
from storage.sessions_schema import sessions
from tests.harness import ADMIN, Harness
from tests.sessions_support import make_session

AMINA = 101


async def test_a_forged_id_beyond_32_bits_gets_the_stale_answer_not_an_error(h: Harness) -> None:
    """PostgreSQL's ``integer`` refuses 2**31 and more (SQLite's holds 64 bits): a forged button
    with an 11-digit id used to reach the database and fail there (the error apology on
    PostgreSQL, "no longer available" on SQLite). Ids are now checked before any look-up."""
    await h.register(AMINA, "fr")
    for forged in ("ann:99999999999", f"ann:{ROW_ID_MAX + 1}"):
        await h.press_data(AMINA, forged)
        assert h.texts(AMINA)[-2] == "Ce bouton n'est plus disponible."
    h.languages[ADMIN] = "en"
    await h.press_data(ADMIN, "cs:open:99999999999")  # staff's certification file, same path
    assert "problem" not in h.last_text(ADMIN)
    assert parse_id(str(ROW_ID_MAX)) == ROW_ID_MAX and parse_id(str(ROW_ID_MAX + 1)) is None


async def test_instants_are_the_same_whatever_the_connection_time_zone(h: Harness) -> None:
    """Columns are ``timestamptz`` on PostgreSQL (UTC text on SQLite): an instant written in
    Casablanca time reads back as the same instant, compares right in SQL, and a session whose
    ``TimeZone`` is set elsewhere changes nothing."""
    casablanca = datetime(2026, 3, 1, 10, 0, tzinfo=ZoneInfo("Africa/Casablanca"))
    async with h.app.db.transaction() as conn:
        artisan = await artisan_repo.create(conn, casablanca, full_name="سعاد", locale="ar",
                                            consent_at=casablanca)
    async with h.app.db.transaction() as conn:
        if conn.dialect.name == "postgresql":
            await conn.execute(text("SET LOCAL TIME ZONE 'Pacific/Kiritimati'"))
            kinds = await conn.run_sync(lambda c: {col["name"]: str(col["type"]) for col in
                                                   inspect(c).get_columns("artisans")})
            assert kinds["consent_at"] == "TIMESTAMP"  # with time zone: the reflected type
            tz = (await conn.execute(text(
                "SELECT data_type FROM information_schema.columns WHERE table_name = 'artisans'"
                " AND column_name = 'consent_at'"))).scalar()
            assert tz == "timestamp with time zone"
        row = (await conn.execute(select(artisans.c.consent_at, artisans.c.full_name)
                                  .where(artisans.c.id == artisan))).one()
        before = (await conn.execute(select(artisans.c.id).where(
            artisans.c.consent_at < casablanca.astimezone(UTC) + timedelta(seconds=1)))).scalars().all()
        after = (await conn.execute(select(artisans.c.id).where(
            artisans.c.consent_at < casablanca.astimezone(UTC) - timedelta(seconds=1)))).scalars().all()
    assert row.consent_at == casablanca and row.consent_at.tzinfo == UTC
    assert row.full_name == "سعاد"
    assert (before, after) == ([artisan], [])


async def test_arabic_json_and_text_read_back_unchanged(h: Harness) -> None:
    """JSON columns keep Arabic text as is (no escaping leaks out), and ``=`` on text is exact:
    the same letters with and without a tatweel or in another case are different values."""
    title = {"ar": "تقنيات الزليج", "fr": "Techniques du Zellige"}
    session_id = await make_session(h, title=title)
    async with h.app.db.read() as conn:
        stored = (await conn.execute(select(sessions.c.title).where(sessions.c.id == session_id))).scalar()
        venue = "Dar Al Maâlem, Marrakech"
        exact = (await conn.execute(select(sessions.c.id).where(sessions.c.venue == venue))).scalars().all()
        other_case = (await conn.execute(select(sessions.c.id).where(
            sessions.c.venue == venue.upper()))).scalars().all()
    assert stored == title
    assert exact == [session_id] and other_case == []


async def test_statistics_list_the_unknown_region_last_on_both_backends(h: Harness) -> None:
    """``ORDER BY region``: SQLite puts NULL first, PostgreSQL last. Ties in the statistics
    (an artisan still registering has no region) now list "unknown" last everywhere."""
    now = h.clock.now()
    async with h.app.db.transaction() as conn:
        await artisan_repo.create(conn, now, full_name="A", locale="fr", region="MS")
        await artisan_repo.create(conn, now, full_name="B", locale="fr", region=None)
    async with h.app.db.read() as conn:
        stats = await stats_repo.collect(conn, now + timedelta(seconds=1), ZoneInfo("Africa/Casablanca"))
    assert stats.by_region == [("MS", 1), (None, 1)]
