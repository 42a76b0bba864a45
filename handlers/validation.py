"""Checks of what artisans type: names, phone numbers, CNIE numbers, free text.

Each function returns the cleaned value or raises :class:`~bot.errors.InvalidInput` with the
catalog key that explains the problem to the user.
"""

from __future__ import annotations

import re
import unicodedata

import phonenumbers

from bot.dialogue import strip_invisible
from bot.errors import InvalidInput
from bot.numbers import LATIN_DIGITS

NAME_MIN, NAME_MAX = 2, 80
NAME_PUNCTUATION = frozenset(" '’-.")
FREE_TEXT_MAX = 60
# DOMAIN.md §6: no official CNIE format; 1-2 letters and 1-6 digits is what validators accept.
_CNIE = re.compile(r"^[A-Z]{1,2}\d{1,6}$")


def _squash(text: str) -> str:
    return re.sub(r"\s+", " ", strip_invisible(text)).strip()


def clean_name(text: str) -> str:
    """A person's name: letters (any script), spaces, apostrophes, hyphens and dots."""
    name = _squash(text)
    if len(name) > NAME_MAX:
        raise InvalidInput("reg.name_too_long", max=NAME_MAX)
    letters = [ch for ch in name if unicodedata.category(ch).startswith("L")]
    if len(letters) < NAME_MIN or not all(name_character(ch) for ch in name):
        raise InvalidInput("reg.name_invalid")
    if not unicodedata.category(name[0]).startswith("L"):
        raise InvalidInput("reg.name_invalid")
    return name


def name_character(ch: str) -> bool:
    """What a person's name is made of in any script: letters, their marks (Arabic vowels,
    accents), spaces, apostrophes, hyphens and dots; never digits, ``=``, ``@``, ``|``..."""
    return unicodedata.category(ch)[0] in "LM" or ch in NAME_PUNCTUATION


def parse_phone(text: str, default_region: str = "MA") -> str:
    """A phone number in any usual form (0612..., +212 6..., 00212...) → E.164."""
    raw = _squash(text).translate(LATIN_DIGITS)
    if raw.startswith("00"):
        raw = "+" + raw[2:]
    digits = re.sub(r"\D", "", raw)
    if not raw.startswith(("+", "0")) and digits.startswith("212"):
        raw = "+" + digits  # a contact shared without the plus sign
    try:
        number = phonenumbers.parse(raw, default_region)
    except phonenumbers.NumberParseException:
        raise InvalidInput("reg.phone_invalid") from None
    if not phonenumbers.is_valid_number(number):
        raise InvalidInput("reg.phone_invalid")
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


# Prefixes that Meta still sends in their legacy form, and what they are now (Mexico's mobile
# numbers lost their "1" after the country code in 2019; wa_ids still carry it).
_LEGACY_PREFIXES = (("+521", "+52"),)
_E164 = re.compile(r"^\+[1-9][0-9]{6,14}$", re.ASCII)


def verified_number(raw: str) -> str:
    """The number a platform verified for its user (a WhatsApp ``wa_id`` as ``+digits``), in
    E.164: normalised when the phone library knows it (legacy prefixes brought up to date),
    kept as given otherwise. Never refused: the platform checked it, not us."""
    candidates = [raw] + [new + raw[len(old):] for old, new in _LEGACY_PREFIXES if raw.startswith(old)]
    for candidate in reversed(candidates):
        try:
            return parse_phone(candidate)
        except InvalidInput:
            continue
    value = "+" + re.sub(r"[^0-9]", "", raw.translate(LATIN_DIGITS))
    return value if _E164.match(value) else raw


def clean_cnie(text: str) -> str:
    """A CNIE number, upper-cased without spaces (``bk 123456`` → ``BK123456``)."""
    value = re.sub(r"[\s-]", "", strip_invisible(text)).upper()
    if not _CNIE.match(value):
        raise InvalidInput("reg.cnie_invalid")
    return value


def clean_free_text(text: str, maximum: int = FREE_TEXT_MAX) -> str:
    value = _squash(text)
    if not value or not any(unicodedata.category(ch).startswith("L") for ch in value):
        raise InvalidInput("common.text_empty")
    if len(value) > maximum:
        raise InvalidInput("common.text_too_long", max=maximum)
    return value


def mask_phone(phone: str) -> str:
    """+212612345678 → +212 6•• •• •• 78 (shown when confirming a link)."""
    return phone[:5] + "•" * max(0, len(phone) - 7) + phone[-2:]
