"""Reminders derived from the database on every tick: once per offset, across restarts,
reschedules, quiet hours and Morocco's 2026 time-zone change; and the RSVP buttons."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from bot.clock import FakeClock
from handlers.sessions.reminders import due_time, send_reminders
from tests.harness import Harness
from tests.sessions_support import (
    CASABLANCA,
    artisan_id,
    local,
    make_session,
    outbox_rows,
    statuses,
    utc,
)

AMINA, KARIM, SALMA = 101, 102, 103
START = utc(2026, 11, 2, 9, 0)


async def tick(h: Harness, at: datetime) -> None:
    """The clock reaches ``at``; the scheduler's job runs; the outbox delivers."""
    h.clock.set(at)
    await send_reminders(h.app.services)
    await h.drain()


def reminders_to(h: Harness, user: int) -> list[str]:
    return [t for t in h.texts(user) if t.startswith("⏰")]


async def test_each_enrolled_artisan_gets_one_reminder_per_offset_across_a_restart(h: Harness) -> None:
    await h.register(AMINA, "fr")
    await h.register(KARIM, "en")
    await h.register(SALMA, "ar")
    starts = local(utc(2026, 11, 10, 12, 0).date(), 14)  # 14:00 local, well outside quiet hours
    session = await make_session(h, starts_at=starts, capacity=2)
    for user in (AMINA, KARIM, SALMA):  # Salma is wait-listed: no reminder
        await h.press_data(user, f"s:enrolok:{session}")
    await tick(h, starts - timedelta(hours=25))
    assert reminders_to(h, AMINA) == []
    await tick(h, starts - timedelta(hours=24))
    await tick(h, starts - timedelta(hours=23, minutes=59))
    await h.restart()
    await tick(h, starts - timedelta(hours=23))
    assert len(reminders_to(h, AMINA)) == 1 and len(reminders_to(h, KARIM)) == 1
    assert reminders_to(h, SALMA) == []
    assert "Rappel" in reminders_to(h, AMINA)[0] and "14:00" in reminders_to(h, AMINA)[0]
    assert "Reminder" in reminders_to(h, KARIM)[0]
    await tick(h, starts - timedelta(hours=2, minutes=1))
    assert len(reminders_to(h, AMINA)) == 1
    await tick(h, starts - timedelta(hours=2))
    await h.restart()
    await tick(h, starts - timedelta(hours=1))
    assert len(reminders_to(h, AMINA)) == 2 and len(reminders_to(h, KARIM)) == 2
    keys = sorted(r["idem_key"] for r in await outbox_rows(h, "reminder:"))
    amina, karim = await artisan_id(h, AMINA), await artisan_id(h, KARIM)
    assert keys == sorted([f"reminder:{session}:1:{amina}:1440", f"reminder:{session}:1:{amina}:120",
                           f"reminder:{session}:1:{karim}:1440", f"reminder:{session}:1:{karim}:120"])
    await tick(h, starts + timedelta(hours=3))  # over: marked done, nothing more
    assert len(reminders_to(h, AMINA)) == 2


async def test_rescheduled_session_gets_new_reminders_for_the_new_time(h: Harness) -> None:
    await h.register(AMINA, "fr")
    starts = local(utc(2026, 11, 10, 12, 0).date(), 14)
    session = await make_session(h, starts_at=starts)
    await h.press_data(AMINA, f"s:enrolok:{session}")
    await tick(h, starts - timedelta(hours=24))
    assert len(reminders_to(h, AMINA)) == 1
    new_start = starts + timedelta(days=2)
    from handlers.sessions.notices import announce_rescheduled
    from storage import sessions as session_repo

    async with h.app.db.transaction() as conn:
        await session_repo.reschedule(conn, session, new_start, new_start + timedelta(hours=2), h.clock.now())
        moved = await session_repo.get(conn, session)
        assert moved is not None
        await announce_rescheduled(h.app.services, conn, moved, starts)
    await tick(h, starts - timedelta(hours=2))  # the old 2 h reminder time: nothing
    assert len(reminders_to(h, AMINA)) == 1
    await tick(h, new_start - timedelta(hours=24))
    await tick(h, new_start - timedelta(hours=2))
    got = reminders_to(h, AMINA)
    assert len(got) == 3 and all("12 novembre" in t for t in got[1:])
    keys = [r["idem_key"] for r in await outbox_rows(h, "reminder:")]
    assert [k.split(":")[2] for k in keys] == ["1", "2", "2"]  # the version is in the key


async def test_rescheduled_to_sooner_than_24h_sends_one_reminder_at_once(h: Harness) -> None:
    await h.register(AMINA, "fr")
    starts = local(utc(2026, 11, 20, 12, 0).date(), 14)
    session = await make_session(h, starts_at=starts)
    await h.press_data(AMINA, f"s:enrolok:{session}")
    await tick(h, starts - timedelta(hours=24))
    from storage import sessions as session_repo

    soon = h.clock.now() + timedelta(hours=10)
    async with h.app.db.transaction() as conn:
        await session_repo.reschedule(conn, session, soon, soon + timedelta(hours=2), h.clock.now())
    await tick(h, h.clock.now() + timedelta(minutes=1))
    assert len(reminders_to(h, AMINA)) == 2
    await tick(h, h.clock.now() + timedelta(minutes=1))
    assert len(reminders_to(h, AMINA)) == 2


async def test_missed_ticks_send_only_the_latest_reminder(h: Harness) -> None:
    await h.register(AMINA, "fr")
    starts = local(utc(2026, 11, 10, 12, 0).date(), 14)
    session = await make_session(h, starts_at=starts)
    await h.press_data(AMINA, f"s:enrolok:{session}")
    await tick(h, starts - timedelta(hours=1))  # down from 25 h to 1 h before
    assert len(reminders_to(h, AMINA)) == 1
    [row] = await outbox_rows(h, "reminder:")
    assert row["idem_key"].endswith(":120")


async def test_no_reminder_for_a_seat_taken_after_the_reminder_time(h: Harness) -> None:
    await h.register(AMINA, "fr")
    starts = local(utc(2026, 11, 3, 12, 0).date(), 14)
    session = await make_session(h, starts_at=starts)
    h.clock.set(starts - timedelta(hours=10))
    await h.press_data(AMINA, f"s:enrolok:{session}")
    await tick(h, starts - timedelta(hours=9))
    assert reminders_to(h, AMINA) == []
    await tick(h, starts - timedelta(hours=2))
    assert len(reminders_to(h, AMINA)) == 1


def test_quiet_hours_move_a_reminder_to_their_end_unless_the_session_starts_first() -> None:
    quiet = (21, 8)
    two = timedelta(hours=2)
    # 09:30 session: its 2 h reminder (07:30) waits for 08:00.
    starts = local(utc(2026, 11, 10).date(), 9, 30)
    assert due_time(starts, two, CASABLANCA, quiet) == local(starts.date(), 8)
    # 22:30 session: 20:30 is before quiet hours: unchanged.
    starts = local(utc(2026, 11, 10).date(), 22, 30)
    assert due_time(starts, two, CASABLANCA, quiet) == local(starts.date(), 20, 30)
    # 23:30 session: 21:30 is quiet and the session starts before 08:00: keeps its time.
    starts = local(utc(2026, 11, 10).date(), 23, 30)
    assert due_time(starts, two, CASABLANCA, quiet) == local(starts.date(), 21, 30)
    # 24 h reminder of a 07:00 session falls at 07:00 the day before: moves to 08:00 that day.
    starts = local(utc(2026, 11, 10).date(), 7)
    assert due_time(starts, timedelta(hours=24), CASABLANCA, quiet) == local(utc(2026, 11, 9).date(), 8)
    # 24 h reminder of a 22:00 session falls at 22:00 the day before: next morning 08:00.
    starts = local(utc(2026, 11, 10).date(), 22)
    assert due_time(starts, timedelta(hours=24), CASABLANCA, quiet) == local(starts.date(), 8)
    assert due_time(starts, two, CASABLANCA, (0, 0)) == starts - two  # no quiet hours


async def test_quiet_hours_in_the_job(h: Harness) -> None:
    await h.register(AMINA, "fr")
    starts = local(utc(2026, 11, 10).date(), 9, 30)
    session = await make_session(h, starts_at=starts)
    h.clock.set(starts - timedelta(days=2))
    await h.press_data(AMINA, f"s:enrolok:{session}")
    await tick(h, starts - timedelta(hours=24))
    await tick(h, starts - timedelta(hours=2))  # 07:30: quiet
    assert len(reminders_to(h, AMINA)) == 1
    await tick(h, local(starts.date(), 8))
    assert len(reminders_to(h, AMINA)) == 2


@pytest.mark.parametrize(
    ("day", "utc_start", "reminder_at"),
    [
        # Before 20 Sept 2026 Morocco is UTC+1: 10:00 local is 09:00 UTC.
        (utc(2026, 6, 10).date(), utc(2026, 6, 10, 9, 0), utc(2026, 6, 9, 9, 0)),
        # From 20 Sept 2026 (tzdata 2026c) it is UTC+0: 10:00 local is 10:00 UTC.
        (utc(2026, 9, 25).date(), utc(2026, 9, 25, 10, 0), utc(2026, 9, 24, 10, 0)),
    ],
)
async def test_morocco_2026_change_local_time_and_reminder_instant(
    tmp_path: object, day: object, utc_start: datetime, reminder_at: datetime
) -> None:
    async with Harness.open(tmp_path, clock=FakeClock(utc(2026, 6, 1, 9))) as h:  # type: ignore[arg-type]
        await h.register(AMINA, "fr")
        starts = local(day, 10)  # type: ignore[arg-type]
        assert starts == utc_start
        session = await make_session(h, starts_at=starts)
        await h.press_data(AMINA, f"s:open:{session}")
        assert "10:00" in h.last_text(AMINA)
        await h.press_data(AMINA, f"s:enrolok:{session}")
        await tick(h, reminder_at - timedelta(minutes=1))
        assert reminders_to(h, AMINA) == []
        await tick(h, reminder_at)
        [reminder] = reminders_to(h, AMINA)
        assert "10:00" in reminder


async def test_opted_out_get_no_reminder_and_blocked_are_skipped_and_counted(h: Harness) -> None:
    await h.register(AMINA, "fr")
    await h.register(KARIM, "en")
    await h.register(SALMA, "ar")
    starts = local(utc(2026, 11, 10).date(), 14)
    session = await make_session(h, starts_at=starts, capacity=3)
    for user in (AMINA, KARIM, SALMA):
        await h.press_data(user, f"s:enrolok:{session}")
    await h.send(KARIM, "STOP")
    from tests import factories

    await h.feed(factories.my_chat_member_update(SALMA, "kicked"))
    h.clock.set(starts - timedelta(hours=24))
    stats = await send_reminders(h.app.services)
    assert (stats.queued, stats.opted_out, stats.blocked) == (1, 1, 1)
    await h.drain()
    assert len(reminders_to(h, AMINA)) == 1
    assert reminders_to(h, KARIM) == [] and reminders_to(h, SALMA) == []
    again = await send_reminders(h.app.services)
    assert (again.queued, again.blocked, again.already) == (0, 0, 2)


async def test_rsvp_yes_and_cant_come_frees_the_seat_for_the_wait_list(h: Harness) -> None:
    await h.register(AMINA, "fr")
    await h.register(KARIM, "en")
    starts = local(utc(2026, 11, 10).date(), 14)
    session = await make_session(h, starts_at=starts, capacity=1)
    await h.press_data(AMINA, f"s:enrolok:{session}")
    await h.press_data(KARIM, f"s:enrolok:{session}")
    await tick(h, starts - timedelta(hours=24))
    reminder = h.last(AMINA)
    assert [label for label, _ in reminder.buttons][:2] == ["👍 Je serai là", "🙁 Je ne peux pas venir"]
    await h.press(AMINA, "👍 Je serai là", message=reminder)
    assert "Merci" in h.last_text(AMINA)
    await h.press(AMINA, "🙁 Je ne peux pas venir", message=reminder)
    assert "Vous ne pouvez pas venir" in h.last_text(AMINA)
    await h.press(AMINA, f"s:cantok:{session}")
    amina, karim = await artisan_id(h, AMINA), await artisan_id(h, KARIM)
    assert await statuses(h, session) == {amina: "cancelled", karim: "enrolled"}
    await h.drain()
    assert "A seat has freed up" in h.last_text(KARIM)
    await tick(h, starts - timedelta(hours=2))
    assert len(reminders_to(h, KARIM)) == 1  # promoted 22 h before: only the 2 h one
    assert len(reminders_to(h, AMINA)) == 1


async def test_enrolling_after_the_last_reminder_time_still_gets_the_promised_reminder(
    h: Harness,
) -> None:
    # Issue 12 item 10: "you will get a reminder before it starts", and none came.
    await h.register(AMINA, "fr")
    starts = local(utc(2026, 11, 10, 12, 0).date(), 14)
    session = await make_session(h, starts_at=starts, capacity=2)
    h.clock.set(starts - timedelta(minutes=90))  # after the 2 h reminder's time
    await h.press_data(AMINA, f"s:enrolok:{session}")
    assert "rappel" in h.last_text(AMINA).lower()
    await tick(h, starts - timedelta(minutes=89))
    assert len(reminders_to(h, AMINA)) == 1
    await tick(h, starts - timedelta(minutes=60))
    assert len(reminders_to(h, AMINA)) == 1  # once


async def test_late_enrolment_reminder_waits_for_the_end_of_quiet_hours(h: Harness) -> None:
    await h.register(AMINA, "fr")
    starts = local(utc(2026, 11, 10, 12, 0).date(), 9)  # 09:00; quiet hours end at 08:00
    session = await make_session(h, starts_at=starts, capacity=2)
    h.clock.set(starts - timedelta(minutes=100))  # 07:20, after the 07:00 reminder time
    await h.press_data(AMINA, f"s:enrolok:{session}")
    await tick(h, starts - timedelta(minutes=99))
    assert reminders_to(h, AMINA) == []
    await tick(h, starts - timedelta(minutes=60))  # 08:00
    assert len(reminders_to(h, AMINA)) == 1
