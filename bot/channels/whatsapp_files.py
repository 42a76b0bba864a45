"""Files as WhatsApp takes them: only the MIME types Meta documents, so nothing is refused.

The Cloud API accepts documents in ``text/plain``, PDF and the Office formats, images in JPEG
and PNG, and some audio and video (:data:`ACCEPTED`); it refuses anything else at upload with
error 100 ("Param file must be a file with one of the following types ..."). What the rest of
Hirfa sends, fitted:

- a calendar file (``text/calendar``, a session or a summons) → no file: a few lines in the
  message itself (what, when in the reader's zone and language, where) and a link that opens
  the phone's calendar with the event filled in (Google Calendar's "add event" page, which the
  phone's browser or app opens);
- a CSV export (``text/csv``, for staff) → the same table as an XLSX workbook (cells that look
  like formulas are kept as text);
- a picture of another type is named by what its bytes are (JPEG or PNG);
- other ``text/*`` files → ``text/plain``.
"""

from __future__ import annotations

import csv
import html
import io
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from urllib.parse import urlencode

from bot.messages import Document, OutMessage

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ACCEPTED = frozenset({
    "text/plain", "application/pdf",
    "application/msword",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.ms-excel", XLSX,
    "application/vnd.ms-powerpoint",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "image/jpeg", "image/png", "image/webp",
    "audio/aac", "audio/amr", "audio/mpeg", "audio/mp4", "audio/ogg", "audio/opus",
    "video/mp4", "video/3gpp",
})
CALENDAR_LINK = "https://calendar.google.com/calendar/render"


@dataclass(frozen=True)
class CalendarEvent:
    """The one event of a calendar file, and the link that adds it to a phone's calendar."""

    title: str
    start: datetime
    end: datetime
    place: str
    details: str

    @property
    def link(self) -> str:
        def stamp(moment: datetime) -> str:
            return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")

        query = {"action": "TEMPLATE", "text": self.title,
                 "dates": f"{stamp(self.start)}/{stamp(self.end)}"}
        if self.place:
            query["location"] = self.place
        if self.details:
            query["details"] = self.details
        return f"{CALENDAR_LINK}?{urlencode(query)}"


# How a channel words an event for a reader: (event) → lines of HTML in their language.
Describe = Callable[[CalendarEvent], str]


def _moment(value: object) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    return None


def calendar_event(content: bytes) -> CalendarEvent | None:
    """The first event of an ``.ics`` file; None when there is none or it was cancelled."""
    from icalendar import Calendar

    try:
        calendar = Calendar.from_ical(content)
    except ValueError:
        return None
    for event in calendar.walk("VEVENT"):
        if str(event.get("status", "")).upper() == "CANCELLED":
            return None
        start = _moment(event.decoded("dtstart", None))
        if start is None:
            return None
        end = _moment(event.decoded("dtend", None)) or start + timedelta(hours=1)
        return CalendarEvent(str(event.get("summary", "")), start, end,
                             str(event.get("location", "")), str(event.get("description", "")))
    return None


def _cell(value: str) -> str | int:
    """A CSV field as a spreadsheet cell: whole numbers as numbers, formulas never run."""
    if value.isdigit() and len(value) <= 15 and not (value.startswith("0") and len(value) > 1):
        return int(value)
    if value[:1] in ("=", "+", "-", "@") and not value[1:2].isdigit():
        return "'" + value
    return value


def spreadsheet(document: Document) -> Document:
    """A CSV file as an XLSX workbook of one sheet, under the same name."""
    from openpyxl import Workbook

    text = document.content.decode("utf-8-sig", errors="replace")
    book = Workbook(write_only=True)
    sheet = book.create_sheet(document.filename.rsplit(".", 1)[0][:31] or "export")
    for row in csv.reader(io.StringIO(text)):
        sheet.append([_cell(field) for field in row])
    buffer = io.BytesIO()
    book.save(buffer)
    name = document.filename.rsplit(".", 1)[0] + ".xlsx"
    return Document(name, buffer.getvalue(), XLSX)


def image_type(content: bytes) -> str:
    """What a picture's bytes are (Meta checks the type it is told against the file)."""
    if content.startswith(b"\x89PNG"):
        return "image/png"
    if content.startswith(b"RIFF") and content[8:12] == b"WEBP":
        return "image/webp"
    return "image/jpeg"


def default_describe(event: CalendarEvent) -> str:
    return html.escape(f"📅 {event.title}\n{event.link}")


def fit(message: OutMessage, describe: Describe | None = None) -> OutMessage:
    """``message`` with its document in a form WhatsApp accepts (see the module's docstring)."""
    document = message.document
    if document is None:
        return message
    mime = document.mime_type.split(";")[0].strip().lower()
    if mime in ACCEPTED:
        return message
    if mime == "text/calendar":
        event = calendar_event(document.content)
        text = message.text
        if event is not None:
            lines = (describe or default_describe)(event)
            text = f"{text}\n\n{lines}" if text.strip() else lines
        return replace(message, document=None, text=text)
    if mime == "text/csv":
        return replace(message, document=spreadsheet(document))
    if mime.startswith("image/"):
        return replace(message, document=replace(document, mime_type=image_type(document.content)))
    if mime.startswith("text/"):
        name = document.filename.rsplit(".", 1)[0] + ".txt"
        return replace(message, document=Document(name, document.content, "text/plain"))
    return message
