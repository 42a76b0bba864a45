"""An ``.ics`` file (RFC 5545, via ``icalendar``) for one session, so it lands in the phone's
calendar. Times are written in UTC, which every calendar app converts to the phone's zone; the
UID is stable and SEQUENCE is the session's version, so a rescheduled session updates the entry
instead of adding a second one.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from icalendar import Alarm, Calendar, Event

from storage.sessions import Session, SessionStatus


def session_ics(
    session: Session, *, title: str, description: str, now: datetime, domain: str = "hirfa"
) -> bytes:
    cal = Calendar()
    cal.add("prodid", "-//Hirfa//Training sessions//EN")
    cal.add("version", "2.0")
    cal.add("method", "PUBLISH")
    event = Event()
    event.add("uid", f"session-{session.id}@{domain}")
    event.add("sequence", session.version - 1)
    event.add("dtstamp", now)
    event.add("dtstart", session.starts_at)
    event.add("dtend", session.ends_at)
    event.add("summary", title)
    if description:
        event.add("description", description)
    event.add("location", session.venue)
    if session.location is not None:
        event.add("geo", session.location)
    event.add("status", "CANCELLED" if session.status == SessionStatus.CANCELLED else "CONFIRMED")
    alarm = Alarm()
    alarm.add("action", "DISPLAY")
    alarm.add("description", title)
    alarm.add("trigger", timedelta(hours=-2))
    event.add_component(alarm)
    cal.add_component(event)
    return bytes(cal.to_ical())
