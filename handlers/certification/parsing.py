"""Reading what staff type or what a register holds: application numbers, dates, times.

Each function returns the cleaned value or raises :class:`~bot.errors.InvalidInput` with the
catalog key that explains the problem (the same keys serve the bot and the import report).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.dialogue import strip_invisible
from bot.errors import InvalidInput
from bot.numbers import LATIN_DIGITS

NUMBER_MAX = 32
NOTE_MAX = 500
PLACE_MAX = 200
_NUMBER = re.compile(r"^[A-Z0-9][A-Z0-9/_.-]{0,31}$")
_DMY = re.compile(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})$")
_YMD = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_CLOCK = re.compile(r"^(\d{1,2})\s*(?:[:hH.]\s*(\d{2})?)?$")
_EXCEL_EPOCH = date(1899, 12, 30)


def _text(value: object) -> str:
    return re.sub(r"\s+", " ", strip_invisible(str(value))).strip().translate(LATIN_DIGITS)


def clean_number(value: object) -> str:
    """An application number as the register writes it, upper-cased without spaces
    (``vaep 2026/0042`` → ``VAEP2026/0042``); a number cell ``42.0`` → ``42``."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = re.sub(r"\s", "", _text(value)).upper()
    if not _NUMBER.match(text):
        raise InvalidInput("cert.number_invalid")
    return text


def parse_day(value: object) -> date:
    """A day: a spreadsheet date, ``31/12/2026``, ``31-12-2026``, ``2026-12-31``, or an Excel
    serial number."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool) and 20000 <= value <= 80000:
        return _EXCEL_EPOCH + timedelta(days=int(value))
    text = _text(value)
    try:
        if match := _DMY.match(text):
            day, month, year = (int(g) for g in match.groups())
            result = date(year, month, day)
        elif match := _YMD.match(text):
            year, month, day = (int(g) for g in match.groups())
            result = date(year, month, day)
        else:
            raise InvalidInput("cert.date_invalid")
    except ValueError:
        raise InvalidInput("cert.date_invalid") from None
    if not 2000 <= result.year <= 2100:
        raise InvalidInput("cert.date_invalid")
    return result


def parse_clock(value: object) -> time:
    """A time of day: a spreadsheet time, ``09:30``, ``9h30``, ``9h``, ``14.00``."""
    if isinstance(value, datetime):
        return value.time().replace(second=0, microsecond=0)
    if isinstance(value, time):
        return value.replace(second=0, microsecond=0)
    if isinstance(value, float) and 0 <= value < 1:  # Excel stores a time as a day fraction
        minutes = round(value * 24 * 60)
        return time(minutes // 60 % 24, minutes % 60)
    match = _CLOCK.match(_text(value))
    if match is None:
        raise InvalidInput("cert.time_invalid")
    hour, minute = int(match.group(1)), int(match.group(2) or 0)
    if hour > 23 or minute > 59:
        raise InvalidInput("cert.time_invalid")
    return time(hour, minute)


def parse_when(text: str) -> tuple[date, time]:
    """``31/12/2026 09:30`` (or ``2026-12-31 9h30``): a day and a time, as staff type them."""
    parts = _text(text).replace(" à ", " ").replace(" at ", " ").split(" ")
    if len(parts) < 2:
        raise InvalidInput("cert.when_invalid")
    try:
        return parse_day(parts[0]), parse_clock("".join(parts[1:]))
    except InvalidInput:
        raise InvalidInput("cert.when_invalid") from None


def to_utc(day: date, clock: time, zone: ZoneInfo) -> datetime:
    """A local day and time in ``zone`` (the chamber's) as an aware UTC datetime."""
    return datetime.combine(day, clock, tzinfo=zone).astimezone(UTC)


def clean_note(value: object, maximum: int = NOTE_MAX) -> str | None:
    """Free text kept as typed (escaped when shown); empty → None."""
    text = re.sub(r"[ \t]+", " ", strip_invisible(str(value or ""))).strip()
    text = re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", "", text)
    if not text:
        return None
    if len(text) > maximum:
        raise InvalidInput("common.text_too_long", max=maximum)
    return text
