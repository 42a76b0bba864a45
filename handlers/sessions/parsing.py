"""Reading what staff type (or put in a spreadsheet): local date and time, duration, capacity,
coordinates, titles. Each function returns the clean value or raises
:class:`~bot.errors.InvalidInput` with the catalog key that explains the problem.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.dialogue import strip_invisible
from bot.errors import InvalidInput
from bot.numbers import LATIN_DIGITS, parse_int

TITLE_MAX = 120
DESCRIPTION_MAX = 1000
VENUE_MAX = 200
CAPACITY_MAX = 10_000
DURATION_MAX_MINUTES = 14 * 24 * 60

_DMY = re.compile(
    r"^(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4})(?:[ T,]+(\d{1,2})(?:[:hH.](\d{2})?)?)?$"
)
_YMD = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T]+(\d{1,2})(?::(\d{2}))?(?::\d{2})?)?$")
_DURATION = re.compile(
    r"^(?:(\d{1,3})\s*(?:h|:|ساعة|ساعات)\s*(\d{1,2})?|(\d{1,5})\s*(min|m|دقيقة|دقائق)?)$"
)


def _squash(text: str) -> str:
    return re.sub(r"\s+", " ", strip_invisible(text).translate(LATIN_DIGITS)).strip()


def clean_text(text: str, maximum: int, *, key: str = "sess.text_too_long") -> str:
    """Free text (title, venue, description): trimmed; refused when empty or too long."""
    value = strip_invisible(text).strip()
    value = re.sub(r"[ \t]+", " ", value)
    if not value:
        raise InvalidInput("common.text_empty")
    if len(value) > maximum:
        raise InvalidInput(key, max=maximum, length=len(value))
    return value


def local_to_utc(day: date, at: time, zone: ZoneInfo) -> datetime:
    """A wall-clock time in ``zone`` as UTC (a time skipped by a clock change moves forward)."""
    local = datetime.combine(day, at, tzinfo=zone)
    utc = local.astimezone(UTC)
    if utc.astimezone(zone).replace(tzinfo=None) != local.replace(tzinfo=None):
        # In a gap (clocks jumped forward): take the first valid instant after it.
        utc = datetime.combine(day, at, tzinfo=zone).replace(fold=1).astimezone(UTC)
    return utc


def example_datetime(now: datetime, zone: ZoneInfo) -> str:
    """A date a staff member could type, always in the future: two weeks from now at 10:00."""
    return (now.astimezone(zone) + timedelta(days=14)).strftime("%d/%m/%Y") + " 10:00"


def date_problem(key: str, now: datetime, zone: ZoneInfo) -> InvalidInput:
    """``sess.bad_datetime`` / ``sess.missing_time`` with a future example to copy."""
    return InvalidInput(key, example=example_datetime(now, zone))


def parse_local_datetime(text: str, zone: ZoneInfo, now: datetime) -> datetime:
    """``25/09/2026 10:00``, ``25-9-2026 10h``, ``2026-09-25 10:00`` → aware UTC datetime
    (``now`` gives the example of the error message a future date)."""
    value = _squash(text)
    match = _DMY.match(value)
    if match:
        day, month, year, hour, minute = match.groups()
    else:
        match = _YMD.match(value)
        if not match:
            raise date_problem("sess.bad_datetime", now, zone)
        year, month, day, hour, minute = match.groups()
    if hour is None:
        raise date_problem("sess.missing_time", now, zone)
    try:
        return local_to_utc(date(int(year), int(month), int(day)), time(int(hour), int(minute or 0)), zone)
    except ValueError:
        raise date_problem("sess.bad_datetime", now, zone) from None


def parse_duration(text: str) -> int:
    """``2h``, ``1h30``, ``1:30``, ``90`` (minutes), ``90 min``, ``2`` (hours) → minutes."""
    value = _squash(text).lower().replace(" ", "")
    match = _DURATION.match(value)
    if not match:
        raise InvalidInput("sess.bad_duration")
    hours, minutes, only_minutes, unit = match.groups()
    if hours is not None:
        total = int(hours) * 60 + int(minutes or 0)
    else:
        # A bare small number is hours ("2" = 2 h): nobody means a 2-minute training.
        bare_hours = unit is None and int(only_minutes) <= 12
        total = int(only_minutes) * (60 if bare_hours else 1)
    if not 15 <= total <= DURATION_MAX_MINUTES:
        raise InvalidInput("sess.bad_duration")
    return total


def parse_capacity(text: str) -> int:
    capacity = parse_int(_squash(text), 1, CAPACITY_MAX)
    if capacity is None:
        raise InvalidInput("sess.bad_capacity", max=CAPACITY_MAX)
    return capacity


def parse_coordinates(text: str) -> tuple[float, float]:
    """``31.63, -8.00`` (latitude, longitude in degrees)."""
    parts = [p for p in re.split(r"[,;\s]+", _squash(text)) if p]
    try:
        lat, lon = (float(p) for p in parts)
    except ValueError:
        raise InvalidInput("sess.bad_location") from None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise InvalidInput("sess.bad_location")
    return lat, lon


def duration_of(starts_at: datetime, ends_at: datetime) -> int:
    return int((ends_at - starts_at) / timedelta(minutes=1))
