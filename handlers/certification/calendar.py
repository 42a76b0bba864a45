"""The ``.ics`` file sent with a summons (or a certificate to collect): one calendar event.

Times are written in UTC (``DTSTART:20261201T090000Z``), which every calendar app shows in the
phone's own zone, so no time-zone table has to travel with the file.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from icalendar import Calendar, Event

from bot.messages import Document

MIME = "text/calendar"


def appointment(
    *, uid: str, start: datetime, minutes: int, summary: str, location: str, description: str,
    stamp: datetime, filename: str, sequence: int = 0,
) -> Document:
    """A one-event calendar file; ``uid`` stays the same for the same summons so a calendar app
    updates the event instead of adding a second one (``sequence`` grows with each change)."""
    calendar = Calendar()
    calendar.add("prodid", "-//Hirfa//Chamber of Artisans//EN")
    calendar.add("version", "2.0")
    calendar.add("method", "PUBLISH")
    event = Event()
    event.add("uid", uid)
    event.add("dtstamp", stamp)
    event.add("sequence", sequence)
    event.add("dtstart", start)
    event.add("dtend", start + timedelta(minutes=minutes))
    event.add("summary", summary)
    event.add("location", location)
    event.add("description", description)
    calendar.add_component(event)
    return Document(filename, calendar.to_ical(), MIME)
