"""Translations, plural rules, dates and numbers.

Catalogs are gettext ``.po`` files in ``locales/<lang>/<domain>.po`` (one domain per feature, so
features never edit the same file). Message ids are stable keys such as ``reg.ask_name``;
``msgstr`` holds the text with ``{placeholders}`` (Python ``str.format`` names). Plural messages
use ``msgid_plural`` and the catalog's ``Plural-Forms`` header (Arabic has six forms), chosen by the
``count`` parameter.

Texts are HTML (Telegram's subset): a catalog may use ``<b>``; every parameter that is plain text
is escaped when it is put in, so a name like ``<b>Ali</b>`` shows as typed.
"""

from __future__ import annotations

import gettext
import html
import io
import logging
import re
import string
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_time
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal

from bot.languages import BABEL_LOCALE, LANGUAGES, from_platform_code

log = logging.getLogger(__name__)

LOCALES_DIR = Path(__file__).resolve().parent.parent / "locales"



@dataclass(frozen=True)
class Msg:
    """A message to translate later: a catalog key and its parameters.

    Parameter values may be ``str`` (escaped), ``int``/``float`` (formatted for the locale),
    ``datetime`` (shown in the reader's zone), ``date``, another ``Msg`` or :class:`Raw`.
    """

    key: str
    params: Mapping[str, Any] = field(default_factory=dict)

    def __init__(self, key: str, /, **params: Any) -> None:
        object.__setattr__(self, "key", key)
        object.__setattr__(self, "params", params)

    def to_json(self) -> dict[str, Any]:
        return {"key": self.key, "params": {k: _param_json(v) for k, v in self.params.items()}}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Msg:
        return cls(data["key"], **{k: _param_from_json(v) for k, v in data["params"].items()})


@dataclass(frozen=True)
class Raw:
    """Text that is already safe HTML (or deliberately unescaped, e.g. a rendered list)."""

    html: str


Text = Msg | Raw | str


def _param_json(value: Any) -> Any:
    if isinstance(value, Msg):
        return {"$msg": value.to_json()}
    if isinstance(value, datetime):
        return {"$dt": value.isoformat()}
    if isinstance(value, date):
        return {"$date": value.isoformat()}
    if isinstance(value, Raw):
        return {"$raw": value.html}
    return value


def _param_from_json(value: Any) -> Any:
    if isinstance(value, dict):
        if "$msg" in value:
            return Msg.from_json(value["$msg"])
        if "$dt" in value:
            return datetime.fromisoformat(value["$dt"])
        if "$date" in value:
            return date.fromisoformat(value["$date"])
        if "$raw" in value:
            return Raw(value["$raw"])
    return value


_FORMATTER = string.Formatter()


def placeholders(text: str) -> set[str]:
    """Names of the ``{placeholders}`` in a catalog text."""
    return {name for _, name, _, _ in _FORMATTER.parse(text) if name}


class Catalogs:
    """All catalogs of all languages, loaded once."""

    def __init__(self, directory: Path = LOCALES_DIR, languages: Iterable[str] = LANGUAGES):
        self.directory = directory
        self.languages = tuple(languages)
        self.catalogs: dict[str, Catalog] = {}
        self._translations: dict[str, gettext.GNUTranslations] = {}
        for lang in self.languages:
            catalog = self._load(lang)
            self.catalogs[lang] = catalog
            buffer = io.BytesIO()
            write_mo(buffer, catalog)
            buffer.seek(0)
            self._translations[lang] = gettext.GNUTranslations(buffer)

    def _load(self, lang: str) -> Catalog:
        merged: Catalog | None = None
        # core.po first: its header (Plural-Forms above all) is the language's.
        files = sorted((self.directory / lang).glob("*.po"), key=lambda p: (p.stem != "core", p.name))
        if not files:
            raise FileNotFoundError(f"no catalogs for {lang!r} in {self.directory / lang}")
        for path in files:
            with path.open("rb") as fh:
                catalog = read_po(fh, locale=lang)
            if merged is None:
                merged = catalog
                continue
            for message in catalog:
                if message.id:
                    merged[message.id] = message
        assert merged is not None
        return merged

    def keys(self, lang: str) -> dict[str, tuple[str, ...]]:
        """Every key of ``lang`` with its text(s) (one per plural form)."""
        out: dict[str, tuple[str, ...]] = {}
        for message in self.catalogs[lang]:
            if not message.id:
                continue
            key = message.id[0] if isinstance(message.id, tuple | list) else message.id
            strings = message.string
            texts = tuple(strings) if isinstance(strings, tuple | list) else (strings,)
            out[str(key)] = tuple(str(t) for t in texts)
        return out

    def has(self, lang: str, key: str) -> bool:
        return key in self.catalogs[lang]

    def raw(self, lang: str, key: str, count: int | None = None) -> str:
        t = self._translations[lang]
        if count is not None and self._is_plural(lang, key):
            return t.ngettext(key, key, count)
        return t.gettext(key)

    def _is_plural(self, lang: str, key: str) -> bool:
        message = self.catalogs[lang].get(key)
        return message is not None and message.pluralizable


class Translator:
    """Renders :class:`Msg` objects into HTML text for one reader (language and time zone)."""

    def __init__(self, catalogs: Catalogs, default_locale: str) -> None:
        self.catalogs = catalogs
        self.default_locale = default_locale

    @property
    def languages(self) -> tuple[str, ...]:
        return self.catalogs.languages

    def supported(self, lang: str | None) -> str | None:
        """The catalog language for a platform language code (``fr-MA`` → ``fr``, ``tzm`` →
        ``zgh``), if any."""
        return from_platform_code(lang, self.catalogs.languages)

    def render(self, text: Text, lang: str, zone: ZoneInfo) -> str:
        """HTML for ``text`` in ``lang``: catalog text with escaped parameters."""
        if isinstance(text, str):
            return html.escape(text, quote=False)
        if isinstance(text, Raw):
            return text.html
        if lang not in self.catalogs.languages:
            lang = self.default_locale
        count = text.params.get("count")
        count_int = count if isinstance(count, int) else None
        if not self.catalogs.has(lang, text.key):
            log.warning("missing catalog key %s in %s", text.key, lang)
            lang = "en" if self.catalogs.has("en", text.key) else lang
        template = self.catalogs.raw(lang, text.key, count_int)
        values = {name: self._value(v, lang, zone) for name, v in text.params.items()}
        try:
            return template.format(**values)
        except (KeyError, IndexError, ValueError):
            log.exception("bad placeholders in %s/%s", lang, text.key)
            return template

    def plain(self, text: Text, lang: str, zone: ZoneInfo) -> str:
        """Plain text (tags removed, entities decoded) for places without formatting."""
        return html_to_plain(self.render(text, lang, zone))

    def plain_param(self, value: Any, lang: str, zone: ZoneInfo) -> str:
        """One :class:`Msg` parameter as the reader would see it, in plain text (a date in their
        zone and language, a number in their locale): what fills a WhatsApp template variable."""
        return html_to_plain(self._value(value, lang, zone))

    def _value(self, value: Any, lang: str, zone: ZoneInfo) -> str:
        if isinstance(value, Msg):
            return self.render(value, lang, zone)
        if isinstance(value, Raw):
            return value.html
        if isinstance(value, bool):
            return html.escape(str(value))
        if isinstance(value, int | float):
            return format_decimal(value, locale=BABEL_LOCALE.get(lang, lang))
        if isinstance(value, datetime):
            return self.format_datetime(value, lang, zone)
        if isinstance(value, date):
            return format_date(value, "long", locale=BABEL_LOCALE.get(lang, lang))
        return html.escape(str(value), quote=False)

    def format_datetime(self, moment: datetime, lang: str, zone: ZoneInfo) -> str:
        """``moment`` (aware) in ``zone``: weekday, day, month name, year and 24-hour time."""
        local = moment.astimezone(zone)
        day, clock = _date_and_time(local.date(), local.time(), BABEL_LOCALE.get(lang, lang))
        template = self.catalogs.raw(lang, "fmt.datetime")
        return template.format(date=day, time=clock)

    def format_date(self, day: date, lang: str) -> str:
        return format_date(day, "long", locale=BABEL_LOCALE.get(lang, lang))


@lru_cache(maxsize=4096)
def _date_and_time(day: date, moment: time, locale: str) -> tuple[str, str]:
    """Babel's formatting is slow and the same few session dates are shown again and again."""
    return format_date(day, "full", locale=locale), format_time(moment, "HH:mm", locale=locale)


_TAG = re.compile(r"<[^>]+>")


def html_to_plain(text: str) -> str:
    """Strip Telegram-style HTML tags and decode entities."""
    return html.unescape(_TAG.sub("", text))


_BOLD = re.compile(r"</?(b|strong)>")
_ITALIC = re.compile(r"</?(i|em)>")


def html_to_whatsapp(text: str) -> str:
    """Telegram HTML → WhatsApp's markup (``*bold*``, ``_italic_``)."""
    text = _BOLD.sub("*", text)
    text = _ITALIC.sub("_", text)
    return html_to_plain(text)
