"""The artisan's side of training sessions, through the real app and the fake Bot API."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from icalendar import Calendar

from tests import factories
from tests.factories import picker
from tests.harness import Harness, shown
from tests.sessions_support import (
    artisan_id,
    make_session,
    outbox_rows,
    statuses,
    utc,
)

AMINA, KARIM, SALMA, YOUSSEF = 101, 102, 103, 104


async def test_trainings_menu_lists_matching_sessions_first_and_pages(h: Harness) -> None:
    await h.register(AMINA, "fr", region="region:MS", craft="craft:zellige")
    now = h.clock.now()
    other = await make_session(h, starts_at=now + timedelta(days=1), craft="pottery", region="FM",
                               title={"fr": "Poterie à Fès"})
    general = await make_session(h, starts_at=now + timedelta(days=2), craft=None, region=None,
                                 title={"fr": "Vendre en ligne"})
    match = await make_session(h, starts_at=now + timedelta(days=3), title={"fr": "Zellige à Marrakech"})
    for day in range(4, 9):
        await make_session(h, starts_at=now + timedelta(days=day), craft="carpets", region="SM",
                           title={"fr": f"Tapis {day}"})
    await h.press(AMINA, "m:trainings")
    page = h.last(AMINA)
    assert "page 1/2" in shown(page)
    ids = [data for _, data in page.buttons if data and data.startswith("s:open:")]
    assert ids[:3] == [f"s:open:{match}", f"s:open:{general}", f"s:open:{other}"]
    assert len(ids) == 5
    await h.press(AMINA, "s:list:1")
    assert "page 2/2" in h.last_text(AMINA)
    assert len([d for _, d in h.last(AMINA).buttons if d and d.startswith("s:open:")]) == 3
    assert "1. Tapis 6" in h.last_text(AMINA)


async def test_typed_number_opens_the_line_with_that_number_on_every_page(h: Harness) -> None:
    await h.register(AMINA, "fr")
    now = h.clock.now()
    for day in range(1, 8):
        await make_session(h, starts_at=now + timedelta(days=day), title={"fr": f"Formation {day}"})
    await h.press(AMINA, "m:trainings")
    await h.press(AMINA, "s:list:1")
    await h.send(AMINA, "2")
    assert h.last_text(AMINA).startswith("📅 Formation 7")


async def test_enrol_with_confirmation_then_cancel_with_confirmation(h: Harness) -> None:
    await h.register(AMINA, "fr")
    session = await make_session(h, capacity=3)
    await h.send(AMINA, "/trainings")
    await h.press(AMINA, f"s:open:{session}")
    card = h.last_text(AMINA)
    assert "Techniques du zellige" in card and "3 places restantes" in card
    await h.press(AMINA, f"s:enrol:{session}")
    assert "Vous inscrire" in h.last_text(AMINA)
    assert await statuses(h, session) == {}  # nothing before the confirmation
    await h.press(AMINA, f"s:enrolok:{session}")
    assert "Votre inscription à" in h.last_text(AMINA)
    me = await artisan_id(h, AMINA)
    assert await statuses(h, session) == {me: "enrolled"}
    await h.press(AMINA, f"s:enrolok:{session}")  # pressed twice: still one enrolment
    assert await statuses(h, session) == {me: "enrolled"}
    await h.press(AMINA, "s:mine")
    assert "Techniques du zellige" in h.last_text(AMINA)
    await h.press(AMINA, f"s:open:{session}")
    assert "Votre inscription est faite" in h.last_text(AMINA)
    await h.press(AMINA, f"s:cancel:{session}")
    assert "Annuler votre inscription" in h.last_text(AMINA)
    await h.press(AMINA, f"s:cancelok:{session}")
    assert "votre place est libre" in h.texts(AMINA)[-2]
    assert await statuses(h, session) == {me: "cancelled"}
    await h.press(AMINA, f"s:enrol:{session}")  # enrolling again after cancelling works
    await h.press(AMINA, f"s:enrolok:{session}")
    assert await statuses(h, session) == {me: "enrolled"}


async def test_full_session_waitlist_position_and_promotion_with_give_back(h: Harness) -> None:
    for user, lang in ((AMINA, "fr"), (KARIM, "en"), (SALMA, "ar"), (YOUSSEF, "fr")):
        await h.register(user, lang)
    session = await make_session(h, capacity=2)
    for user in (AMINA, KARIM):
        await h.press_data(user, f"s:enrolok:{session}")
    await h.press_data(SALMA, f"s:open:{session}")
    assert "مكتمل" in h.last_text(SALMA)
    assert ("⏳ لائحة الانتظار", f"s:enrol:{session}") in h.last(SALMA).buttons
    await h.press(SALMA, f"s:enrol:{session}")
    await h.press(SALMA, f"s:enrolok:{session}")
    assert "رقمك 1 في لائحة انتظار" in h.last_text(SALMA)
    await h.press_data(YOUSSEF, f"s:enrolok:{session}")
    assert "n° 2 sur la liste d'attente" in h.last_text(YOUSSEF)
    ids = {u: await artisan_id(h, u) for u in (AMINA, KARIM, SALMA, YOUSSEF)}

    await h.press_data(AMINA, f"s:cancelok:{session}")  # a seat frees up: Salma is promoted
    assert (await statuses(h, session))[ids[SALMA]] == "enrolled"
    await h.drain()
    notice = h.last(SALMA)
    assert "شغر مقعد" in shown(notice) and "تقنيات الزليج" in shown(notice)
    assert ("↩️ التنازل عن المقعد", f"s:giveback:{session}") in notice.buttons
    await h.press_data(YOUSSEF, f"s:open:{session}")
    assert "n° 1" in h.last_text(YOUSSEF)  # moved up the wait-list

    await h.press(SALMA, f"s:giveback:{session}", message=notice)
    await h.press(SALMA, f"s:cancelok:{session}")  # confirmed: the seat goes to Youssef
    final = await statuses(h, session)
    assert final[ids[SALMA]] == "cancelled" and final[ids[YOUSSEF]] == "enrolled"
    assert sum(1 for s in final.values() if s == "enrolled") == 2
    await h.drain()
    assert "Une place s'est libérée" in h.last_text(YOUSSEF)


async def test_concurrent_last_seat_one_enrolled_one_waitlisted(h: Harness) -> None:
    await h.register(AMINA, "fr")
    await h.register(KARIM, "en")
    session = await make_session(h, capacity=1)
    await asyncio.gather(
        h.feed(factories.callback_update(AMINA, f"s:enrolok:{session}")),
        h.feed(factories.callback_update(KARIM, f"s:enrolok:{session}")),
    )
    result = sorted((await statuses(h, session)).values())
    assert result == ["enrolled", "waitlisted"]


async def test_concurrent_double_press_enrols_once(h: Harness) -> None:
    await h.register(AMINA, "fr")
    session = await make_session(h, capacity=5)
    await asyncio.gather(*(h.feed(factories.callback_update(AMINA, f"s:enrolok:{session}"))
                           for _ in range(3)))
    assert list((await statuses(h, session)).values()) == ["enrolled"]


async def test_calendar_file_for_an_enrolment(h: Harness) -> None:
    await h.register(AMINA, "en")
    session = await make_session(h, location=(31.6295, -7.9811), starts_at=utc(2026, 11, 9, 9, 0))
    await h.press_data(AMINA, f"s:enrolok:{session}")
    await h.press(AMINA, f"s:ics:{session}")
    sent = h.last(AMINA)
    assert sent.method == "sendDocument" and sent.filename == f"training-{session}.ics"
    assert sent.document is not None
    event = Calendar.from_ical(sent.document).walk("VEVENT")[0]
    assert str(event["SUMMARY"]) == "Zellige techniques"
    assert str(event["LOCATION"]) == "Dar Al Maâlem, Marrakech"
    assert event.decoded("DTSTART") == utc(2026, 11, 9, 9, 0)
    assert event.decoded("DTEND") == utc(2026, 11, 9, 11, 0)
    await h.press_data(AMINA, f"s:map:{session}")
    assert h.last(AMINA).method == "sendLocation"
    # Issue 12 item 15: a link too, for phones that do not open a shared location.
    link = [t for t in h.texts(AMINA)[-3:] if "openstreetmap.org/?mlat=" in t]
    assert link, h.texts(AMINA)[-3:]


async def test_deep_link_registers_first_then_opens_the_card(h: Harness) -> None:
    session = await make_session(h)
    h.languages[AMINA] = "ar"
    await h.send(AMINA, f"/start s{session}")
    await h.press(AMINA, "lang:ar")
    await h.press(AMINA, "consent:yes")
    await h.send(AMINA, "Amina Benali")
    await h.share_contact(AMINA, "+212612345678")
    await h.press(AMINA, "region:MS")
    await h.press(AMINA, "craft:zellige")
    await h.press(AMINA, "cnie:skip")
    await h.press(AMINA, "reg:confirm")
    card = h.last(AMINA)
    assert "تقنيات الزليج" in shown(card)
    assert ("✅ سجلني", f"s:enrol:{session}") in card.buttons
    await h.send(AMINA, f"/start s{session}")  # registered: straight to the card
    assert "تقنيات الزليج" in h.last_text(AMINA)
    await h.send(AMINA, "/start s99999")
    assert "غير موجود" in h.texts(AMINA)[-2]


async def test_title_falls_back_to_another_language_and_says_so(h: Harness) -> None:
    await h.register(AMINA, "ar")
    session = await make_session(h, title={"fr": "Vendre en ligne"})
    await h.press_data(AMINA, f"s:open:{session}")
    text = h.last_text(AMINA)
    assert "Vendre en ligne" in text and "(بـالفرنسية)" in text


async def test_forged_and_stale_artisan_buttons(h: Harness) -> None:
    await h.register(AMINA, "fr")
    session = await make_session(h, capacity=1)
    for data in ("s:enrolok:99999", "s:open:abc", "s:cancelok:" + "9" * 40, "s:rsvp:y:1:x", "s:cantok:7"):
        await h.press_data(AMINA, data)
        assert any("n'est plus disponible" in t or "n'existe pas" in t for t in h.texts(AMINA)[-3:]), data
    await h.press_data(AMINA, f"s:cancelok:{session}")  # not enrolled: nothing happens
    assert "pas d'inscription" in h.texts(AMINA)[-2]
    assert await statuses(h, session) == {}
    h.clock.advance(timedelta(days=8))  # the session is over: enrolment closed
    await h.press_data(AMINA, f"s:enrolok:{session}")
    assert "fermées" in h.texts(AMINA)[-2]
    assert await statuses(h, session) == {}


async def test_unregistered_user_pressing_a_session_button_is_asked_to_register(h: Harness) -> None:
    session = await make_session(h)
    await h.press_data(AMINA, f"s:enrolok:{session}")
    assert h.labels(AMINA) == picker(h.lang(AMINA))
    assert await statuses(h, session) == {}


async def test_deleting_my_data_frees_my_seat_and_promotes_the_next(h: Harness) -> None:
    await h.register(AMINA, "fr")
    await h.register(KARIM, "en")
    session = await make_session(h, capacity=1)
    await h.press_data(AMINA, f"s:enrolok:{session}")
    await h.press_data(KARIM, f"s:enrolok:{session}")
    karim = await artisan_id(h, KARIM)
    await h.send(AMINA, "/delete")
    await h.press(AMINA, "del:yes")
    assert (await statuses(h, session))[karim] == "enrolled"
    await h.drain()
    assert "A seat has freed up" in h.last_text(KARIM)
    promoted = await outbox_rows(h, "promoted:")
    assert [r["artisan_id"] for r in promoted] == [karim]
