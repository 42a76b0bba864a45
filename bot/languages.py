"""The languages Hirfa speaks, their own names, their script direction, and the guess made
from what a platform tells us (Telegram's ``language_code``, a WhatsApp number's country).

The guess only decides the language of the first messages and which language the picker
offers first; every artisan chooses (and can change) their language themselves.
"""

from __future__ import annotations

import phonenumbers

# The picker's order: Arabic and the two Moroccan languages, then French and English.
LANGUAGES: tuple[str, ...] = ("ar", "ary", "zgh", "fr", "en")

# Each language named in itself, as the picker shows it.
SELF_NAMES: dict[str, str] = {
    "ar": "العربية",
    "ary": "الدارجة",
    "zgh": "ⵜⴰⵎⴰⵣⵉⵖⵜ",
    "fr": "Français",
    "en": "English",
}

# Written right to left (Darija is written here in Arabic letters; Tifinagh runs left to right).
RIGHT_TO_LEFT = frozenset({"ar", "ary"})

# Babel locale for dates and numbers. Darija: Moroccan Arabic month names (دجنبر, غشت), since
# Babel's ``ary`` data is a stub (months "M12"). Tamazight: Babel's ``zgh`` has Tifinagh month
# and day names and Latin digits.
BABEL_LOCALE: dict[str, str] = {"ar": "ar_MA", "ary": "ar_MA", "zgh": "zgh", "fr": "fr_MA", "en": "en"}

# Telegram's command menus are keyed by two-letter ISO 639-1 codes only: Darija and Tamazight
# have none, so their speakers get their menu per chat (see the Telegram channel).
ISO_639_1 = frozenset(code for code in LANGUAGES if len(code) == 2)

# Platform codes that mean one of our languages: Amazigh varieties read Tifinagh Tamazight.
_ALIASES: dict[str, str] = {
    "ary": "ary", "zgh": "zgh", "tzm": "zgh", "shi": "zgh", "rif": "zgh", "ber": "zgh",
    "kab": "zgh", "tmh": "zgh",
}

# A WhatsApp number's country: Morocco → Darija (the first language of about 92% of Moroccans,
# written in Arabic letters that anyone who reads Arabic reads); Arabic-speaking countries →
# Arabic; French-speaking ones → French. Elsewhere: no guess (the configured default).
_ARABIC = frozenset({"DZ", "TN", "LY", "EG", "MR", "SA", "AE", "QA", "KW", "BH", "OM", "JO",
                     "LB", "SY", "IQ", "PS", "YE", "SD"})
_FRENCH = frozenset({"FR", "BE", "LU", "MC", "CH", "SN", "CI", "ML", "BF", "NE", "GN", "CM",
                     "GA", "CG", "CD", "BJ", "TG", "CA"})
_ENGLISH = frozenset({"GB", "IE", "US", "AU", "NZ", "ZA", "NG", "GH"})


def from_platform_code(code: str | None, shipped: tuple[str, ...] = LANGUAGES) -> str | None:
    """Our language for a platform language code (``fr-MA`` → ``fr``, ``tzm`` → ``zgh``)."""
    if not code:
        return None
    base = code.replace("_", "-").split("-")[0].lower()
    base = _ALIASES.get(base, base)
    return base if base in shipped else None


def from_phone_number(number: str | None, shipped: tuple[str, ...] = LANGUAGES) -> str | None:
    """Our guess for a number's country (``+212…`` → Darija); ``None`` when we cannot tell."""
    if not number:
        return None
    try:
        region = phonenumbers.region_code_for_number(phonenumbers.parse(number, None))
    except phonenumbers.NumberParseException:
        return None
    if region == "MA":
        guess = "ary"
    elif region in _ARABIC:
        guess = "ar"
    elif region in _FRENCH:
        guess = "fr"
    elif region in _ENGLISH:
        guess = "en"
    else:
        return None
    return guess if guess in shipped else None


def ordered(first: str | None, shipped: tuple[str, ...] = LANGUAGES) -> list[str]:
    """The shipped languages with ``first`` (the guess) in front, the others in the usual order."""
    return sorted(shipped, key=lambda code: (code != first, LANGUAGES.index(code)
                                              if code in LANGUAGES else len(LANGUAGES)))
