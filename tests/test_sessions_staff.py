"""The staff's side of training sessions: create, edit, reschedule, cancel, lists, attendance,
poster; and every staff button refused to non-staff."""

from __future__ import annotations

from datetime import timedelta
from io import BytesIO

import pytest
from openpyxl import load_workbook

from bot.clock import FakeClock
from tests import factories
from tests.harness import ADMIN, Harness, shown
from tests.sessions_support import (
    all_sessions,
    artisan_id,
    local,
    make_session,
    session_row,
    statuses,
    utc,
)

AMINA, KARIM, SALMA = 101, 102, 103
JUNE = utc(2026, 6, 1, 9, 0)


@pytest.fixture
async def hj(tmp_path: object) -> object:
    """A harness whose clock starts on 1 June 2026 (Morocco still on UTC+1)."""
    async with Harness.open(tmp_path, clock=FakeClock(JUNE)) as harness:  # type: ignore[arg-type]
        yield harness


async def test_staff_creates_a_session_end_to_end(hj: Harness) -> None:
    h = hj
    h.languages[ADMIN] = "fr"
    await h.send(ADMIN, "/sessions")
    assert "Aucune formation" in h.last_text(ADMIN)
    await h.send(ADMIN, "1")  # typed: the first line of the list ("New session" when it is empty)
    assert "titre" in h.last_text(ADMIN) and "français" in h.last_text(ADMIN)
    await h.send(ADMIN, "  Techniques <b>du</b> zellige 🧱 ")
    await h.send(ADMIN, "Atelier pratique & démonstration")
    await h.press(ADMIN, "craft:zellige")
    await h.press(ADMIN, "region:MS")
    await h.send(ADMIN, "Dar Al Maâlem, Marrakech")
    await h.send(ADMIN, "31.6295, -7.9811")
    await h.send(ADMIN, "25/09/2026 10h")  # after Morocco's change to UTC+0
    await h.send(ADMIN, "1h30")
    await h.send(ADMIN, "2")  # a number: the capacity, not the 2nd button
    preview = h.last(ADMIN)
    assert "Aperçu" in h.texts(ADMIN)[-2]
    assert "Techniques <b>du</b> zellige 🧱" in shown(preview)  # shown as typed
    assert "10:00" in shown(preview) and "1 heure" not in shown(preview)
    assert "90 minutes" in shown(preview) and "2 places restantes" in shown(preview)
    assert "Les lecteurs d'autres langues" in shown(preview)
    await h.press(ADMIN, "sa:tr:ar")
    await h.send(ADMIN, "تقنيات الزليج")
    await h.press(ADMIN, "sa:skip")
    assert "Aperçu" in h.texts(ADMIN)[-2]
    await h.press(ADMIN, "sa:f:capacity")
    await h.send(ADMIN, "0")
    assert "entre 1 et" in h.texts(ADMIN)[-2]
    await h.send(ADMIN, "3")
    await h.press(ADMIN, "sa:publish")
    assert "Publiée" in h.texts(ADMIN)[-2]
    assert "https://t.me/hirfa_test_bot?start=s1" in h.last_text(ADMIN)
    [row] = await all_sessions(h)
    assert row["title"] == {"fr": "Techniques <b>du</b> zellige 🧱", "ar": "تقنيات الزليج"}
    assert row["description"] == {"fr": "Atelier pratique & démonstration"}
    assert row["craft"] == "zellige" and row["region"] == "MS" and row["capacity"] == 3
    assert (row["latitude"], row["longitude"]) == (31.6295, -7.9811)
    assert row["starts_at"] == utc(2026, 9, 25, 10, 0)  # 10:00 local = 10:00 UTC after 20 Sept
    assert row["ends_at"] == utc(2026, 9, 25, 11, 30)
    assert row["status"] == "scheduled" and row["version"] == 1
    assert row["created_by"] == f"telegram:{ADMIN}"


async def test_start_date_in_june_is_utc_plus_one(hj: Harness) -> None:
    h = hj
    h.languages[ADMIN] = "en"
    await h.send(ADMIN, "/sessions")
    await h.press(ADMIN, "sa:new")
    answers = ("Safety first", None, "craft:*", "region:*", "Fès", "map", "10/06/2026 10:00", "dur:120", "12")
    for answer in answers:
        if answer == "map":
            await h.feed(factories.location_update(ADMIN, 34.0331, -5.0003, language_code="en"))
        elif answer is None:
            await h.press(ADMIN, "sa:skip")
        elif answer.startswith(("craft:", "region:", "dur:")):
            await h.press(ADMIN, answer)
        else:
            await h.send(ADMIN, answer)
    await h.press(ADMIN, "sa:publish")
    [row] = await all_sessions(h)
    assert row["starts_at"] == utc(2026, 6, 10, 9, 0)  # 10:00 local = 09:00 UTC before 20 Sept
    assert row["craft"] is None and row["region"] is None
    assert (row["latitude"], row["longitude"]) == (34.0331, -5.0003)
    assert "10:00" in h.last_text(ADMIN)


BAD_STARTS = [
    ("demain", "could not read that date"),
    ("31/02/2026 10:00", "could not read that date"),
    ("25/09/2026", "add the time"),
    ("01/05/2026 10:00", "already passed"),
    ("<b>25/09</b>", "could not read that date"),
]


async def test_bad_start_dates_get_a_clear_answer(hj: Harness) -> None:
    h = hj
    h.languages[ADMIN] = "en"
    await h.send(ADMIN, "/sessions")
    await h.press(ADMIN, "sa:new")
    await h.send(ADMIN, "Title")
    await h.press(ADMIN, "sa:skip")
    await h.press(ADMIN, "craft:*")
    await h.press(ADMIN, "region:*")
    await h.send(ADMIN, "Venue")
    await h.press(ADMIN, "sa:skip")
    for answer, expected in BAD_STARTS:
        await h.send(ADMIN, answer)
        assert expected in h.texts(ADMIN)[-2], answer
        assert "When does it start" in h.last_text(ADMIN)


async def test_long_title_and_back_and_commands_mid_flow(hj: Harness) -> None:
    h = hj
    h.languages[ADMIN] = "en"
    await h.send(ADMIN, "/sessions")
    await h.press(ADMIN, "sa:new")
    await h.send(ADMIN, "x" * 300)
    assert "too long (300 characters)" in h.texts(ADMIN)[-2]
    await h.send(ADMIN, "Title")
    await h.press(ADMIN, "nav:back")
    assert "title" in h.last_text(ADMIN)
    await h.send(ADMIN, "/whoami")  # a command mid-flow answers and the draft is kept
    assert "administrator" in h.last_text(ADMIN)
    await h.send(ADMIN, "/cancel")
    assert await all_sessions(h) == []


async def _enrol(h: Harness, session: int, *users: int) -> None:
    for user in users:
        await h.press_data(user, f"s:enrolok:{session}")


async def test_reschedule_notifies_enrolled_and_waitlisted_in_their_language(hj: Harness) -> None:
    h = hj
    await h.register(AMINA, "fr")
    await h.register(KARIM, "en")
    await h.register(SALMA, "ar")
    session = await make_session(h, starts_at=local(JUNE.date() + timedelta(days=9), 10), capacity=2)
    await _enrol(h, session, AMINA, KARIM, SALMA)
    h.languages[ADMIN] = "en"
    await h.send(ADMIN, "/sessions")
    await h.press(ADMIN, f"sa:open:{session}")
    await h.press(ADMIN, f"sa:move:{session}")
    await h.send(ADMIN, "12/06/2026 15:00")
    assert "will be told: 3" in h.last_text(ADMIN)
    await h.press(ADMIN, "sa:yes")
    assert "Notices queued: 3" in h.texts(ADMIN)[-2]
    row = await session_row(h, session)
    assert row["version"] == 2 and row["starts_at"] == utc(2026, 6, 12, 14, 0)
    assert row["ends_at"] == utc(2026, 6, 12, 16, 0)
    await h.drain()
    assert "change de date" in h.last_text(AMINA) and "15:00" in h.last_text(AMINA)
    assert "has moved" in h.last_text(KARIM) and "15:00" in h.last_text(KARIM)
    assert "تغير موعد" in h.last_text(SALMA) and "15:00" in h.last_text(SALMA)


async def test_edit_time_in_editor_is_a_reschedule(hj: Harness) -> None:
    h = hj
    await h.register(AMINA, "fr")
    session = await make_session(h, starts_at=local(JUNE.date() + timedelta(days=9), 10), capacity=1)
    await _enrol(h, session, AMINA)
    h.languages[ADMIN] = "fr"
    await h.press_data(ADMIN, f"sa:edit:{session}")
    await h.press(ADMIN, "sa:f:venue")
    await h.send(ADMIN, "Nouvelle salle, Marrakech")
    await h.press(ADMIN, "sa:f:start")
    await h.send(ADMIN, "20/06/2026 09:00")
    await h.press(ADMIN, "sa:f:capacity")
    await h.send(ADMIN, "5")
    await h.press(ADMIN, "sa:publish")
    assert "reprogrammé. Avis envoyés : 1" in h.texts(ADMIN)[-2]
    row = await session_row(h, session)
    assert row["venue"] == "Nouvelle salle, Marrakech" and row["capacity"] == 5 and row["version"] == 2
    await h.drain()
    assert "Nouvelle salle" in h.last_text(AMINA)


async def test_capacity_cannot_go_below_seats_taken(hj: Harness) -> None:
    h = hj
    await h.register(AMINA, "fr")
    await h.register(KARIM, "fr")
    session = await make_session(h, starts_at=JUNE + timedelta(days=5), capacity=2)
    await _enrol(h, session, AMINA, KARIM)
    h.languages[ADMIN] = "en"
    await h.press_data(ADMIN, f"sa:edit:{session}")
    await h.press(ADMIN, "sa:f:capacity")
    await h.send(ADMIN, "1")
    assert "Seats already taken: 2" in h.texts(ADMIN)[-2]


async def test_cancel_session_notifies_everyone_and_closes_it(hj: Harness) -> None:
    h = hj
    await h.register(AMINA, "fr")
    await h.register(KARIM, "en")
    session = await make_session(h, starts_at=JUNE + timedelta(days=5), capacity=1)
    await _enrol(h, session, AMINA, KARIM)
    h.languages[ADMIN] = "fr"
    await h.press_data(ADMIN, f"sa:cancel:{session}")
    assert "Personnes inscrites ou en attente, qui seront prévenues : 2" in h.last_text(ADMIN)
    await h.press(ADMIN, f"sa:cancelok:{session}")
    assert (await session_row(h, session))["status"] == "cancelled"
    await h.drain()
    assert "est annulée" in h.last_text(AMINA)
    assert "is cancelled" in h.last_text(KARIM)
    await h.press_data(AMINA, f"s:open:{session}")
    assert "annulée" in h.last_text(AMINA)
    await h.press_data(ADMIN, f"sa:cancelok:{session}")  # pressed again: nothing twice
    assert "ne peut plus être modifiée" in h.texts(ADMIN)[-2]
    await h.press_data(ADMIN, f"sa:move:{session}")
    assert "ne peut plus être modifiée" in h.texts(ADMIN)[-2]


async def test_enrolment_list_exports_and_attendance(hj: Harness) -> None:
    h = hj
    await h.register(AMINA, "fr", name="Amina Benali")
    # A name as an older version stored it (names now refuse "="): exports must neutralise it.
    from storage import artisans as artisan_repo

    async with h.app.db.transaction() as conn:
        await artisan_repo.update_fields(conn, await artisan_id(h, AMINA), h.clock.now(),
                                         full_name="=Amina Benali")
    await h.register(KARIM, "en", name="Karim Alaoui")
    await h.register(SALMA, "ar", name="سلمى")
    start = JUNE + timedelta(days=2)
    session = await make_session(h, starts_at=start, capacity=2)
    await _enrol(h, session, AMINA, KARIM, SALMA)
    await h.press_data(KARIM, f"s:rsvp:y:{session}:1")
    h.languages[ADMIN] = "en"
    await h.press_data(ADMIN, f"sa:people:{session}")
    listing = h.last_text(ADMIN)
    assert "Seats taken: 2/2 · wait-list: 1" in listing
    assert "=Amina Benali" in listing and "wait-list no. 1" in listing and "سلمى" in listing
    await h.press(ADMIN, f"sa:xlsx:{session}")
    sent = h.last(ADMIN)
    assert sent.filename == f"enrolments-session-{session}.xlsx" and sent.document is not None
    sheet = load_workbook(BytesIO(sent.document)).active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:3] == ("session_id", "ext_ref", "title")
    assert [r[5] for r in rows[1:]] == ["'=Amina Benali", "Karim Alaoui", "سلمى"]
    assert [r[7] for r in rows[1:]] == ["enrolled", "enrolled", "waitlisted"]
    await h.press_data(ADMIN, f"sa:csv:{session}")
    csv_doc = h.last(ADMIN).document
    assert csv_doc is not None and csv_doc.startswith("\ufeff".encode())
    assert "سلمى" in csv_doc.decode("utf-8-sig")

    await h.press_data(ADMIN, f"sa:att:{session}:0")
    assert "from one hour before" in h.texts(ADMIN)[-2]
    h.clock.set(start + timedelta(minutes=30))
    await h.press_data(ADMIN, f"sa:att:{session}:0")
    assert "1. =Amina Benali: not marked" in h.last_text(ADMIN)
    buttons = h.last(ADMIN).buttons
    present_amina = next(d for label, d in buttons if label == "✅ 1" and d is not None)
    absent_karim = next(d for label, d in buttons if label == "❌ 2" and d is not None)
    await h.press(ADMIN, present_amina)
    await h.press(ADMIN, absent_karim)
    assert "1. =Amina Benali: ✅ present" in h.last_text(ADMIN)
    assert "2. Karim Alaoui: ❌ absent" in h.last_text(ADMIN)
    ids = {u: await artisan_id(h, u) for u in (AMINA, KARIM, SALMA)}
    assert await statuses(h, session) == {ids[AMINA]: "attended", ids[KARIM]: "no_show",
                                         ids[SALMA]: "waitlisted"}


async def test_poster_is_a_png_with_the_deep_link(hj: Harness) -> None:
    h = hj
    session = await make_session(h, starts_at=JUNE + timedelta(days=5))
    h.languages[ADMIN] = "ar"
    await h.press_data(ADMIN, f"sa:poster:{session}")
    sent = h.last(ADMIN)
    assert sent.method == "sendDocument" and sent.filename == f"poster-session-{session}.png"
    assert sent.document is not None and sent.document.startswith(b"\x89PNG")
    assert f"https://t.me/hirfa_test_bot?start=s{session}" in (sent.plain_text or "")
    from PIL import Image

    image = Image.open(BytesIO(sent.document))
    assert image.size == (1240, 1754)


FORGED = ["sa:open:1", "sa:new", "sa:edit:1", "sa:move:1", "sa:cancel:1", "sa:cancelok:1", "sa:people:1",
          "sa:xlsx:1", "sa:csv:1", "sa:att:1:0", "sa:mark:1:p", "sa:allp:1", "sa:poster:1", "sa:list:0",
          "sa:publish", "sa:f:capacity", "sa:yes"]


async def test_staff_buttons_are_refused_to_artisans(hj: Harness) -> None:
    h = hj
    await h.register(AMINA, "fr")
    session = await make_session(h, starts_at=JUNE + timedelta(days=5))
    await h.press_data(AMINA, f"s:enrolok:{session}")
    h.clock.set(JUNE + timedelta(days=5, minutes=10))  # attendance would be open for staff
    before = (await all_sessions(h), await statuses(h, session))
    for data in FORGED:
        await h.press_data(AMINA, data)
        texts = h.texts(AMINA)[-2:]
        assert any(("réservé au personnel" in t) or ("n'est plus disponible" in t) for t in texts), data
        assert (await all_sessions(h), await statuses(h, session)) == before, data
    assert not any(m.method == "sendDocument" for m in h.api.messages_to(AMINA))


async def test_staff_command_and_states_refused_to_artisans(hj: Harness) -> None:
    h = hj
    await h.register(AMINA, "fr")
    await h.send(AMINA, "/sessions")
    assert "réservé au personnel" in h.last_text(AMINA)
    # A staff member loses the role in the middle of a flow: the next answer is refused.
    h.languages[ADMIN] = "fr"
    await h.send(ADMIN, "/sessions")
    await h.press(ADMIN, "sa:new")
    from storage import staff as staff_repo

    async with h.app.db.transaction() as conn:
        await staff_repo.revoke(conn, "telegram", str(ADMIN))
    await h.send(ADMIN, "Titre")
    assert "réservé au personnel" in h.last_text(ADMIN)
    assert await all_sessions(h) == []


def test_durations_and_dates_as_staff_type_them() -> None:
    from handlers.sessions.parsing import parse_duration, parse_local_datetime
    from tests.sessions_support import CASABLANCA

    assert [parse_duration(t) for t in ("2", "2h", "1h30", "1:30", "90", "90 min", "٣ساعات")] == \
        [120, 120, 90, 90, 90, 90, 180]
    assert parse_local_datetime("٢٥/٠٩/٢٠٢٦ ١٠:٠٠", CASABLANCA, utc(2026, 1, 1)) == utc(2026, 9, 25, 10, 0)
    assert parse_local_datetime("2026-06-10 10:00", CASABLANCA, utc(2026, 1, 1)) == utc(2026, 6, 10, 9, 0)


async def test_date_error_example_is_a_future_date(hj: Harness) -> None:
    # Issue 12 item 15: the example was 25/09/2026, already past when staff read it.
    from datetime import timedelta

    from handlers.sessions.parsing import example_datetime, parse_local_datetime
    from tests.sessions_support import CASABLANCA

    h = hj
    h.languages[ADMIN] = "en"
    await h.send(ADMIN, "/sessions")
    await h.press(ADMIN, "sa:new")
    await h.send(ADMIN, "Title")
    await h.press(ADMIN, "sa:skip")
    await h.press(ADMIN, "craft:*")
    await h.press(ADMIN, "region:*")
    await h.send(ADMIN, "Venue")
    await h.press(ADMIN, "sa:skip")
    example = example_datetime(h.clock.now(), CASABLANCA)
    assert parse_local_datetime(example, CASABLANCA, h.clock.now()) > h.clock.now() + timedelta(days=1)
    for answer in ("demain", "25/12/2030"):
        await h.send(ADMIN, answer)
        assert example in h.texts(ADMIN)[-2], h.texts(ADMIN)[-2]
        assert "25/09/2026" not in h.texts(ADMIN)[-2]


async def test_cancelled_session_poster_is_marked(hj: Harness) -> None:
    # Issue 12 item 15: a cancelled session's poster looked like any other.
    from PIL import Image

    from storage import sessions as session_repo

    h = hj
    session = await make_session(h, starts_at=JUNE + timedelta(days=5))
    h.languages[ADMIN] = "fr"

    async def band_pixel() -> tuple[int, int, int]:
        await h.press_data(ADMIN, f"sa:poster:{session}")
        document = h.last(ADMIN).document
        assert document is not None
        image = Image.open(BytesIO(document)).convert("RGB")
        return image.getpixel((5, image.height // 2))  # type: ignore[return-value]

    assert await band_pixel() != (178, 34, 52)
    async with h.app.db.transaction() as conn:
        assert await session_repo.cancel(conn, session, h.clock.now())
    assert await band_pixel() == (178, 34, 52)
