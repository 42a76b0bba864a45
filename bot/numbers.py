"""Whole numbers as people type them, read in one place.

People type digits in three scripts: ASCII ``0-9``, Arabic-Indic ``٠-٩`` (Arabic keyboards) and
Eastern Arabic-Indic ``۰-۹`` (some Android keyboards). Those, and only those, are digits here:
``str.isdigit()`` also accepts superscripts such as ``²`` that ``int()`` refuses, and ``int()``
accepts digits of every other script; neither is what a person at the chamber types.

Every number read from a button id, a typed answer or a spreadsheet goes through
:func:`parse_int` with the range the caller can store, so a 30-digit id never reaches a database
integer and ``²`` is an ordinary wrong answer, never a traceback.
"""

from __future__ import annotations

import re

# Arabic-Indic and Eastern Arabic-Indic digits → 0-9 (typed numbers, phones, dates, capacities).
LATIN_DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "01234567890123456789")
# The largest id a database integer column holds on every engine (PostgreSQL's INTEGER).
ID_MAX = 2**31 - 1
_ASCII_DIGITS = re.compile(r"[0-9]+", re.ASCII)


def to_latin(text: str) -> str:
    """``٤٢`` → ``42``: Arabic-Indic and Eastern digits as ASCII, everything else unchanged."""
    return text.translate(LATIN_DIGITS)


def parse_int(text: str, minimum: int = 0, maximum: int = ID_MAX) -> int | None:
    """``text`` (surrounding spaces allowed) as a whole number in ``[minimum, maximum]``, or None
    when it is not made only of digits people type, or is out of range."""
    value = to_latin(text).strip()
    if not _ASCII_DIGITS.fullmatch(value) or len(value) > len(str(maximum)):
        return None
    number = int(value)
    return number if minimum <= number <= maximum else None


def parse_id(text: str) -> int | None:
    """A database id (1 … :data:`ID_MAX`) from a button or a stored value, or None."""
    return parse_int(text, 1, ID_MAX)
