"""Spreadsheets in and out: importing sessions from .csv/.xlsx, exporting enrolment lists.

Import (``hirfa import sessions FILE``): the columns are those of
``templates/sessions_template.csv`` (header names, any order; unknown columns are ignored).
Each row is checked on its own and either accepted or rejected with a reason (a catalog key, so
the report can be shown in any language). The ``ext_ref`` column makes an import idempotent: a
row whose reference exists updates that session through :mod:`handlers.sessions.changes` (a
changed time is a reschedule, and the people enrolled are told); a row identical to the stored
session changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bot.dialogue import Services, normalize
from bot.errors import InvalidInput
from bot.i18n import Msg
from bot.spreadsheets import SheetError, map_columns, read_sheet, to_csv, to_workbook
from handlers.catalog import CRAFTS, REGIONS
from handlers.sessions import changes
from handlers.sessions.parsing import (
    DESCRIPTION_MAX,
    TITLE_MAX,
    VENUE_MAX,
    clean_text,
    date_problem,
    local_to_utc,
    parse_capacity,
    parse_duration,
    parse_local_datetime,
)
from handlers.sessions.texts import LANGUAGES
from storage import enrolments as enrolment_repo
from storage import feedback as feedback_repo
from storage import sessions as session_repo
from storage.database import Conn
from storage.sessions import Session, pick_text

COLUMNS = (
    "ext_ref", "title_ar", "title_fr", "title_en", "description_ar", "description_fr",
    "description_en", "craft", "region", "venue", "latitude", "longitude", "start",
    "duration_minutes", "capacity",
)
REQUIRED = ("ext_ref", "venue", "start", "duration_minutes", "capacity")
EXT_REF_MAX = 64
# Header names other than the column's own (compared folded: case, accents, spaces, "_").
ALIASES: dict[str, tuple[str, ...]] = {
    "ext_ref": ("ref", "reference", "المرجع"),
    "title_ar": ("titre ar", "title arabic", "العنوان", "العنوان بالعربية"),
    "title_fr": ("titre", "titre fr", "title french", "العنوان بالفرنسية"),
    "title_en": ("title", "title english", "titre en", "العنوان بالإنجليزية"),
    "description_ar": ("description arabe", "الوصف", "الوصف بالعربية"),
    "description_fr": ("description", "description francais", "الوصف بالفرنسية"),
    "description_en": ("description english", "الوصف بالإنجليزية"),
    "craft": ("metier", "الحرفة"),
    "region": ("الجهة",),
    "venue": ("lieu", "place", "المكان"),
    "latitude": ("lat", "خط العرض"),
    "longitude": ("lon", "lng", "خط الطول"),
    "start": ("debut", "date", "starts at", "البداية", "التاريخ"),
    "duration_minutes": ("duree", "duree minutes", "duration", "المدة"),
    "capacity": ("places", "capacite", "seats", "المقاعد", "عدد المقاعد"),
}


class FileError(Exception):
    """The file as a whole cannot be read; ``message`` says why (a catalog Msg)."""

    def __init__(self, message: Msg) -> None:
        super().__init__(message.key)
        self.message = message


@dataclass
class Draft:
    """A valid row, ready to be written."""

    ext_ref: str
    title: dict[str, str]
    description: dict[str, str]
    craft: str | None
    region: str | None
    venue: str
    latitude: float | None
    longitude: float | None
    starts_at: datetime
    ends_at: datetime
    capacity: int


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[tuple[int, Msg]] = field(default_factory=list)

    @property
    def accepted(self) -> int:
        return self.created + self.updated + self.unchanged


# -- reading ------------------------------------------------------------------------------------

def read_table(path: Path) -> list[tuple[int, dict[str, Any]]]:
    """Rows of a .csv or .xlsx file as ``(row number in the file, {column: value})``.

    Bounded and cleaned by :mod:`bot.spreadsheets`; a file that cannot be read as a whole raises
    :class:`FileError`."""
    try:
        sheet = read_sheet(path)
    except SheetError as err:
        problem = Msg(err.key, **err.params)
        raise FileError(Msg("sheet.file_problem", file=path.name, problem=problem)) from None
    columns = map_columns(sheet.header, ALIASES)
    missing = [c for c in REQUIRED if c not in columns]
    if missing or not any(c.startswith("title_") for c in columns):
        raise FileError(Msg("sess.import_missing_columns",
                            columns=", ".join(missing or ["title_ar / title_fr / title_en"])))
    return [(number, {name: row[i] if i < len(row) else None for name, i in columns.items()})
            for number, row in sheet.rows]


# -- checking one row -------------------------------------------------------------------------

class Lookup:
    """Craft and region codes from codes or labels in any language (``Zellige``, ``الزليج``)."""

    def __init__(self, services: Services) -> None:
        t = services.translator
        zone = services.zone
        self.crafts: dict[str, str] = {}
        self.regions: dict[str, str] = {}
        for lang in t.languages:
            for code in CRAFTS:
                if code != "other":
                    self.crafts[normalize(code)] = code
                    self.crafts[normalize(t.plain(Msg(f"craft.{code}"), lang, zone))] = code
            for code in REGIONS:
                self.regions[normalize(code)] = code
                self.regions[normalize(t.plain(Msg(f"region.{code}"), lang, zone))] = code


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _start(value: Any, zone: ZoneInfo, now: datetime) -> datetime:
    if isinstance(value, datetime):  # an .xlsx date cell: wall-clock time in the chamber's zone
        if value.tzinfo is not None:
            return value.astimezone(UTC)
        return local_to_utc(value.date(), value.time(), zone)
    if isinstance(value, date):
        raise date_problem("sess.missing_time", now, zone)
    return parse_local_datetime(_text(value), zone, now)


def check_row(values: dict[str, Any], lookup: Lookup, zone: ZoneInfo, now: datetime) -> Draft:
    """A valid :class:`Draft`, or :class:`InvalidInput` naming the first problem."""
    for column in REQUIRED:
        if not _text(values.get(column)):
            raise InvalidInput("sess.import_missing", column=column)
    ext_ref = _text(values["ext_ref"])
    if len(ext_ref) > EXT_REF_MAX:
        raise InvalidInput("sess.import_too_long", column="ext_ref", max=EXT_REF_MAX)
    title: dict[str, str] = {}
    description: dict[str, str] = {}
    for lang in LANGUAGES:
        for column, store, maximum in ((f"title_{lang}", title, TITLE_MAX),
                                       (f"description_{lang}", description, DESCRIPTION_MAX)):
            text = _text(values.get(column))
            if text:
                if len(text) > maximum:
                    raise InvalidInput("sess.import_too_long", column=column, max=maximum)
                store[lang] = clean_text(text, maximum)
    if not title:
        raise InvalidInput("sess.import_no_title")
    craft = region = None
    if _text(values.get("craft")):
        craft = lookup.crafts.get(normalize(_text(values["craft"])))
        if craft is None:
            raise InvalidInput("sess.import_bad_craft", value=_text(values["craft"]))
    if _text(values.get("region")):
        region = lookup.regions.get(normalize(_text(values["region"])))
        if region is None:
            raise InvalidInput("sess.import_bad_region", value=_text(values["region"]))
    venue = _text(values["venue"])
    if len(venue) > VENUE_MAX:
        raise InvalidInput("sess.import_too_long", column="venue", max=VENUE_MAX)
    lat_text, lon_text = _text(values.get("latitude")), _text(values.get("longitude"))
    latitude = longitude = None
    if lat_text or lon_text:
        try:
            latitude, longitude = float(lat_text.replace(",", ".")), float(lon_text.replace(",", "."))
        except ValueError:
            raise InvalidInput("sess.bad_location") from None
        if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
            raise InvalidInput("sess.bad_location")
    starts_at = _start(values["start"], zone, now)
    if starts_at <= now:
        raise InvalidInput("sess.start_in_past", when=starts_at)
    minutes = parse_duration(_text(values["duration_minutes"]))
    capacity = parse_capacity(_text(values["capacity"]))
    return Draft(ext_ref, title, description, craft, region, clean_text(venue, VENUE_MAX), latitude,
                 longitude, starts_at, starts_at + timedelta(minutes=minutes), capacity)


def same_as(session: Session, d: Draft) -> bool:
    return (
        session.title == d.title and session.description == d.description
        and session.craft == d.craft and session.region == d.region and session.venue == d.venue
        and session.latitude == d.latitude and session.longitude == d.longitude
        and session.starts_at == d.starts_at and session.ends_at == d.ends_at
        and session.capacity == d.capacity
    )


# -- writing ----------------------------------------------------------------------------------

async def import_rows(
    services: Services,
    rows: Sequence[tuple[int, dict[str, Any]]],
    *,
    author: str,
    progress: Callable[[int, int], None] | None = None,
) -> ImportReport:
    """Check and write every row (one transaction per row: a bad row never undoes a good one)."""
    report = ImportReport()
    lookup = Lookup(services)
    zone = services.zone
    seen: dict[str, int] = {}
    for done, (number, values) in enumerate(rows, 1):
        if progress is not None:
            progress(done, len(rows))
        try:
            d = check_row(values, lookup, zone, services.clock.now())
        except InvalidInput as err:
            report.rejected.append((number, Msg(err.key, **err.params)))
            continue
        if d.ext_ref in seen:
            report.rejected.append((number, Msg("sess.import_duplicate_ref", ref=d.ext_ref,
                                                row=seen[d.ext_ref])))
            continue
        seen[d.ext_ref] = number
        async with services.db.transaction() as conn:
            outcome = await _write(services, conn, d, author)
        if isinstance(outcome, Msg):
            report.rejected.append((number, outcome))
        elif outcome == "created":
            report.created += 1
        elif outcome == "updated":
            report.updated += 1
        else:
            report.unchanged += 1
    services.outbox.wake()
    return report


async def _write(services: Services, conn: Conn, d: Draft, author: str) -> str | Msg:
    now = services.clock.now()
    existing = await session_repo.by_ext_ref(conn, d.ext_ref)
    fields = {"title": d.title, "description": d.description, "craft": d.craft, "region": d.region,
              "venue": d.venue, "latitude": d.latitude, "longitude": d.longitude,
              "capacity": d.capacity}
    if existing is None:
        await session_repo.create(conn, now, ext_ref=d.ext_ref, starts_at=d.starts_at,
                                  ends_at=d.ends_at, created_by=author[:80], **fields)
        return "created"
    if same_as(existing, d):
        return "unchanged"
    outcome = await changes.edit(services, conn, existing.id, starts_at=d.starts_at,
                                 ends_at=d.ends_at, **fields)
    if isinstance(outcome, changes.Refused):
        if outcome.reason == changes.Refusal.NOT_EDITABLE:
            return Msg("sess.import_not_scheduled", ref=d.ext_ref)
        return outcome.message
    return "updated"


# -- exporting --------------------------------------------------------------------------------

EXPORT_COLUMNS = (
    "session_id", "ext_ref", "title", "starts_at_local", "artisan_id", "name", "phone", "status",
    "waitlist_position", "rsvp", "enrolled_at_local", "rating", "absence_reason", "feedback_comment",
)
FEEDBACK_COLUMNS = ("figure", "value")


async def enrolment_table(
    conn: Conn, session: Session, lang: str, zone: ZoneInfo
) -> list[list[Any]]:
    """One row per enrolment of ``session`` (seated first, then the wait-list in order), with
    what the person said after the session (rating 1-5, why absent, comment) when they did."""
    title = pick_text(session.title, lang, lang)[0]
    start = session.starts_at.astimezone(zone).strftime("%Y-%m-%d %H:%M")
    given = await feedback_repo.of_session(conn, session.id)
    rows: list[list[Any]] = []
    for person in await enrolment_repo.of_session(conn, session.id):
        e = person.enrolment
        said = given.get(e.artisan_id)
        rows.append([
            session.id, session.ext_ref or "", title, start, e.artisan_id, person.full_name or "",
            person.phone or "", e.status, person.rank or "", e.rsvp or "",
            e.created_at.astimezone(zone).strftime("%Y-%m-%d %H:%M"),
            said.rating if said and said.rating is not None else "",
            said.reason or "" if said else "", said.comment or "" if said else "",
        ])
    return rows


async def feedback_table(conn: Conn, session_id: int) -> list[list[Any]]:
    """The session's feedback in figures (the .xlsx export's second sheet): responses, average,
    how many gave each rating, how many absent gave each reason."""
    s = await feedback_repo.summary(conn, session_id)
    rows: list[list[Any]] = [["responses", s.responses],
                             ["average", s.average if s.average is not None else ""]]
    rows += [[f"rating_{n}", s.distribution[n]] for n in range(1, 6)]
    rows += [[f"absent_{reason}", count] for reason, count in sorted(s.reasons.items())]
    return rows


async def enrolment_export(
    conn: Conn, session: Session, lang: str, zone: ZoneInfo, kind: str
) -> tuple[bytes, int]:
    """The enrolment list as ``kind`` (``csv``: one table; ``xlsx``: also a "feedback" sheet),
    and how many people it lists."""
    rows = await enrolment_table(conn, session, lang, zone)
    if kind == "csv":
        return to_csv(EXPORT_COLUMNS, rows), len(rows)
    feedback = ("feedback", FEEDBACK_COLUMNS, await feedback_table(conn, session.id))
    return to_workbook([("enrolments", EXPORT_COLUMNS, rows), feedback]), len(rows)

