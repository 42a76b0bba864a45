"""The stages of a certification (VAEP) application, and what each one means for the artisan.

An application goes: submitted → eligible | ineligible → summoned (tests: date, time, place) →
assessed → passed | failed → certificate ready (where and when to collect it) → delivered.
Which stages are in use, and in which order staff see them, is the setting
``HIRFA_CERTIFICATION__STAGES``; the words of each stage live in ``locales/*/certification.po``:

- ``cert.stage.<code>``: the stage in plain words ("Summoned to the tests");
- ``cert.stage_word.<code>``: a short word for it, also accepted in an imported register;
- ``cert.next.<code>``: what happens next and what the artisan should do (when that is "contact
  the chamber", the stage is ``contact=True`` and the chamber's contact card follows).
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.dialogue import normalize
from bot.i18n import Msg, Translator
from bot.settings import Settings
from bot.timezones import load_zone


@dataclass(frozen=True)
class Stage:
    """One stage. ``appointment``: it comes with a place (and a date) to go to;
    ``time_required``: that date and time must be given (a summons), not just the place."""

    code: str
    icon: str
    appointment: bool = False
    time_required: bool = False
    contact: bool = False  # its next step tells the artisan to contact the chamber: show how

    @property
    def label(self) -> Msg:
        return Msg(f"cert.stage.{self.code}")

    @property
    def word(self) -> Msg:
        """The short word a register may use ("Convoqué", "مستدعى")."""
        return Msg(f"cert.stage_word.{self.code}")

    @property
    def next_step(self) -> Msg:
        return Msg(f"cert.next.{self.code}")


STAGES: tuple[Stage, ...] = (
    Stage("submitted", "📥"),
    Stage("eligible", "✅"),
    Stage("ineligible", "⛔", contact=True),
    Stage("summoned", "📅", appointment=True, time_required=True, contact=True),
    Stage("assessed", "📝"),
    Stage("passed", "🎉"),
    Stage("failed", "❌", contact=True),
    Stage("certificate_ready", "🏅", appointment=True),
    Stage("delivered", "🎓"),
)
BY_CODE = {stage.code: stage for stage in STAGES}
UNKNOWN = Stage("unknown", "•")


def stage(code: str) -> Stage:
    """The stage ``code`` (a placeholder for a code no longer configured, never an error)."""
    return BY_CODE.get(code, UNKNOWN)


def active(settings: Settings) -> list[Stage]:
    """The stages staff may set, in the configured order."""
    return [BY_CODE[code] for code in settings.certification.stages]


def _fold(text: str) -> str:
    return normalize(text).replace("_", " ").replace("-", " ").replace("(", "").replace(")", "")


def matcher(settings: Settings, translator: Translator) -> dict[str, str]:
    """Folded words that name each configured stage in a register: its code ("summoned",
    "certificate_ready"), its label and its short word in every language ("Convoqué")."""
    zone = load_zone(settings.timezone)
    words: dict[str, str] = {}
    for item in active(settings):
        words[_fold(item.code)] = item.code
        for lang in translator.languages:
            for text in (item.label, item.word):
                words[_fold(translator.plain(text, lang, zone))] = item.code
    return words


def read_stage(text: str, words: dict[str, str]) -> str | None:
    return words.get(_fold(text))
