"""Settings read from the environment (prefix ``HIRFA_``, ``__`` for nesting) or a ``.env`` file.

Build them once with :func:`load_settings`; a missing or malformed value raises
:class:`~bot.errors.ConfigError` whose message is one line naming the setting. Secrets are
``SecretStr`` so they print as ``**********`` in logs and reprs.
"""

from __future__ import annotations

import json
import os
import re
from datetime import timedelta
from typing import Any, Literal, get_args

from pydantic import BaseModel, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict, SettingsError

from bot.errors import ConfigError
from bot.timezones import load_zone
from storage.urls import async_url, is_memory

Locale = Literal["ar", "ary", "zgh", "fr", "en"]
SUPPORTED_LOCALES: tuple[Locale, ...] = ("ar", "ary", "zgh", "fr", "en")

_WEBHOOK_SECRET = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
_TELEGRAM_TOKEN = re.compile(r"^\d+:[A-Za-z0-9_-]+$")


class TelegramSettings(BaseModel):
    """``HIRFA_TELEGRAM__*``: the Telegram channel (enabled when a token is set)."""

    token: SecretStr | None = None
    api_url: str = "https://api.telegram.org/bot"
    admin_ids: list[int] = Field(default_factory=list)
    webhook_url: str | None = None
    webhook_secret: SecretStr | None = None
    bot_username: str | None = None
    concurrent_updates: int = Field(default=8, ge=1, le=256)
    # A forum supergroup where staff get artisans' questions, one topic per artisan (the bot
    # must be an admin there with "Manage topics"). Unset: questions wait in the bot's inbox.
    staff_group_id: int | None = None

    @field_validator("token")
    @classmethod
    def _token_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not _TELEGRAM_TOKEN.match(value.get_secret_value()):
            raise ValueError("expected the form 123456:ABC-def from @BotFather")
        return value

    @field_validator("api_url")
    @classmethod
    def _no_trailing_slash(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @field_validator("webhook_url")
    @classmethod
    def _webhook_https(cls, value: str | None) -> str | None:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError("must be a full URL such as https://example.org/telegram/webhook")
        return value or None

    @field_validator("webhook_secret")
    @classmethod
    def _secret_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not _WEBHOOK_SECRET.match(value.get_secret_value()):
            raise ValueError("1-256 characters from A-Z, a-z, 0-9, _ and -")
        return value

    @property
    def enabled(self) -> bool:
        return self.token is not None


_TEMPLATE_NAME = re.compile(r"^[a-z0-9_]{1,512}$")
_TEXT_PARAM = "$text"


class WhatsAppTemplate(BaseModel):
    """One approved WhatsApp message template, used outside the 24-hour window.

    ``params`` fill the body variables ``{{1}}``, ``{{2}}``, ... in order: each is the name of a
    parameter of the message's catalog text (rendered for the reader: a date in their zone and
    language), or ``"$text"`` for the whole message on one line. ``body`` is the catalog key of
    the text to submit to Meta (``hirfa whatsapp templates`` prints it in every language).
    """

    name: str
    params: list[str] = Field(default_factory=lambda: [_TEXT_PARAM])
    category: Literal["UTILITY", "MARKETING"] = "UTILITY"
    body: str | None = None

    @field_validator("name")
    @classmethod
    def _name_shape(cls, value: str) -> str:
        if not _TEMPLATE_NAME.match(value):
            raise ValueError("template names are lowercase letters, digits and _ (as in Meta)")
        return value


def _default_templates() -> dict[str, WhatsAppTemplate]:
    """One template per kind of outbox message; ``*`` serves every other kind."""
    return {
        "reminder": WhatsAppTemplate(name="hirfa_reminder", body="wa.tpl.reminder"),
        "certification": WhatsAppTemplate(name="hirfa_certification", body="wa.tpl.certification"),
        "broadcast": WhatsAppTemplate(name="hirfa_announcement", category="MARKETING",
                                      body="wa.tpl.broadcast"),
        "*": WhatsAppTemplate(name="hirfa_notice", body="wa.tpl.notice"),
    }


class WhatsAppSettings(BaseModel):
    """``HIRFA_WHATSAPP__*``: the WhatsApp Business Cloud API channel.

    ``templates`` (JSON, e.g. ``{"reminder": {"name": "session_reminder", "params": ["title",
    "when"]}}``) replaces the default set; ``template_languages`` maps our languages to Meta's
    template language codes. Meta has no Tamazight: ``zgh`` readers get the Arabic template,
    whose variables (the whole message by default) carry their Tifinagh text.
    """

    phone_id: str | None = None
    token: SecretStr | None = None
    app_secret: SecretStr | None = None
    verify_token: SecretStr | None = None
    api_url: str = "https://graph.facebook.com/v21.0"
    admin_numbers: list[str] = Field(default_factory=list)
    rate_per_second: float = Field(default=80.0, gt=0, le=1000)
    templates: dict[str, WhatsAppTemplate] = Field(default_factory=_default_templates)
    template_languages: dict[str, str] = Field(
        default_factory=lambda: {"ar": "ar", "ary": "ar_MA", "zgh": "ar", "fr": "fr", "en": "en"}
    )

    @field_validator("api_url")
    @classmethod
    def _api_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @field_validator("admin_numbers")
    @classmethod
    def _numbers(cls, values: list[str]) -> list[str]:
        """Numbers as WhatsApp gives them (``212612345678``): digits only, country code first."""
        out = []
        for value in values:
            digits = re.sub(r"[\s().+-]", "", str(value)).removeprefix("00")
            if not digits.isdigit() or not 8 <= len(digits) <= 15:
                raise ValueError(f"{value!r} is not an international number such as +212612345678")
            out.append(digits)
        return out

    @property
    def enabled(self) -> bool:
        return self.phone_id is not None or self.token is not None

    def template_for(self, kind: str) -> WhatsAppTemplate | None:
        return self.templates.get(kind) or self.templates.get("*")


class HttpSettings(BaseModel):
    """``HIRFA_HTTP__*``: the one HTTP server (webhooks, ``/healthz``, ``/metrics``)."""

    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=1, le=65535)
    serve: bool = False
    """Start the server even when no webhook needs it (for ``/healthz`` and ``/metrics``)."""


_HOUR_MINUTE = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


class ChamberSettings(BaseModel):
    """``HIRFA_CHAMBER__*``: how to reach the chamber (``/help``, "contact the chamber"), its
    opening hours (to say when an answer will come), and the questions' service level.

    ``open_days`` are ISO weekdays (1 = Monday); ``opens``/``closes`` are ``HH:MM`` in
    ``HIRFA_TIMEZONE``. A question is answered within ``answer_hours`` of opening hours, and
    flagged to staff when it waits longer. ``verify_url`` is the public base of the
    attestation check page (``https://hirfa.example.ma``); ``signing_key`` signs references.
    ``attendance_key`` signs the artisans' entry codes (QR at a training's door); without it the
    chat offers no entry code and the console no scanning.
    """

    name: str = ""
    phone: str = ""
    address: str = ""
    map_url: str = ""
    open_days: list[int] = Field(default_factory=lambda: [1, 2, 3, 4, 5])
    opens: str = "08:30"
    closes: str = "16:30"
    answer_hours: float = Field(default=8.0, gt=0, le=240)
    verify_url: str = ""
    signing_key: SecretStr | None = None
    attendance_key: SecretStr | None = None
    feedback_delay_hours: float = Field(default=24.0, ge=0, le=720)

    @field_validator("opens", "closes")
    @classmethod
    def _hour_minute(cls, value: str) -> str:
        if not _HOUR_MINUTE.match(value):
            raise ValueError("a time such as 08:30")
        return value

    @field_validator("open_days")
    @classmethod
    def _weekdays(cls, value: list[int]) -> list[int]:
        if not value or not all(1 <= d <= 7 for d in value):
            raise ValueError("ISO weekdays 1 (Monday) to 7 (Sunday), e.g. [1, 2, 3, 4, 5]")
        return sorted(set(value))

    @field_validator("verify_url")
    @classmethod
    def _verify_url(cls, value: str) -> str:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError("a full URL such as https://hirfa.example.ma")
        return value.rstrip("/")

    def minutes(self, which: str) -> int:
        hour, minute = (getattr(self, which)).split(":")
        return int(hour) * 60 + int(minute)
class ConsoleSettings(BaseModel):
    """``HIRFA_CONSOLE__*``: the staff console in the browser (``/console`` on the HTTP server).

    It is on when ``base_url`` is set: the address staff open, as seen from their browser (e.g.
    ``https://hirfa.chamber.ma``); sign-in links sent by ``/console`` start with it. The cookie is
    ``Secure`` when it starts with ``https://``.
    """

    base_url: str | None = None
    link_minutes: int = Field(default=10, ge=1, le=60)
    session_hours: float = Field(default=12.0, gt=0, le=24 * 7)

    @field_validator("base_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError("must be a full URL such as https://hirfa.example.org")
        return value.rstrip("/") if value else None

    @property
    def enabled(self) -> bool:
        return self.base_url is not None

    @property
    def secure(self) -> bool:
        return bool(self.base_url and self.base_url.startswith("https://"))


class OutboxSettings(BaseModel):
    """``HIRFA_OUTBOX__*``: pacing and retries of the durable sender."""

    telegram_rate: float = Field(default=29.0, gt=0, le=1000)
    per_chat_interval: float = Field(default=1.0, ge=0)
    max_attempts: int = Field(default=6, ge=1)
    max_in_flight: int = Field(default=8, ge=1, le=100)
    # Seconds a claimed (``sending``) row stays with its sender. The sender renews its claims
    # every quarter of this while it lives; rows claimed longer ago than this (their process
    # died) go back to the queue. Longer than any one send takes.
    claim_lease: float = Field(default=60.0, ge=1)


CertificationStage = Literal[
    "submitted", "eligible", "ineligible", "summoned", "assessed", "passed", "failed",
    "certificate_ready", "delivered",
]


class CertificationSettings(BaseModel):
    """``HIRFA_CERTIFICATION__*``: the certification (VAEP) tracker.

    ``stages`` is the list staff may use, in order (e.g. drop ``assessed`` if the chamber does not
    record it); each stage's words and "what to do" texts live in ``locales/*/certification.po``.
    """

    stages: list[CertificationStage] = Field(
        default_factory=lambda: list(get_args(CertificationStage))
    )
    link_attempts_per_hour: int = Field(default=5, ge=1, le=50)
    appointment_minutes: int = Field(default=180, ge=15, le=720)

    @field_validator("stages")
    @classmethod
    def _distinct(cls, value: list[CertificationStage]) -> list[CertificationStage]:
        if not value:
            raise ValueError("at least one stage")
        if len(set(value)) != len(value):
            raise ValueError("a stage is listed twice")
        return value


class Settings(BaseSettings):
    """Every setting of Hirfa. See the README for the table."""

    model_config = SettingsConfigDict(
        env_prefix="HIRFA_",
        env_nested_delimiter="__",
        env_file=".env",
        env_file_encoding="utf-8",
        # A line left blank in .env (``HIRFA_WHATSAPP__TOKEN=``, as .env.example ships them and
        # compose passes them on) means "not set", not "set to nothing".
        env_ignore_empty=True,
        extra="ignore",
    )

    database_url: str = "sqlite+aiosqlite:///hirfa.db"
    timezone: str = "Africa/Casablanca"
    default_locale: Locale = "ar"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    telegram: TelegramSettings = Field(default_factory=TelegramSettings)
    whatsapp: WhatsAppSettings = Field(default_factory=WhatsAppSettings)
    http: HttpSettings = Field(default_factory=HttpSettings)
    console: ConsoleSettings = Field(default_factory=ConsoleSettings)
    outbox: OutboxSettings = Field(default_factory=OutboxSettings)
    certification: CertificationSettings = Field(default_factory=CertificationSettings)
    chamber: ChamberSettings = Field(default_factory=ChamberSettings)
    reminder_offsets_hours: list[float] = Field(default_factory=lambda: [24.0, 2.0])
    quiet_hours: tuple[int, int] = (21, 8)

    @field_validator("database_url")
    @classmethod
    def _async_driver(cls, value: str) -> str:
        """Accept plain ``sqlite:///`` / ``postgresql://`` URLs and pick the async driver."""
        value = async_url(value)
        if is_memory(value):
            # The bot, its jobs and its CLI commands share the database: it must be a file.
            raise ValueError("an in-memory database cannot be shared; use sqlite:///path.db")
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        load_zone(value)  # raises ValueError for an unknown zone
        return value

    @field_validator("quiet_hours")
    @classmethod
    def _hours(cls, value: tuple[int, int]) -> tuple[int, int]:
        if not all(0 <= h <= 23 for h in value):
            raise ValueError("two hours between 0 and 23, e.g. [21, 8]")
        return value

    @property
    def reminder_offsets(self) -> list[timedelta]:
        return [timedelta(hours=h) for h in self.reminder_offsets_hours]


def _setting_name(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if not isinstance(p, int)]
    return "HIRFA_" + "__".join(p.upper() for p in parts) if parts else "HIRFA settings"


def _unparsable(error: SettingsError) -> str:
    """Name the variable behind pydantic-settings' "error parsing value for field X"."""
    match = re.search(r'field "(\w+)"', str(error))
    field = match.group(1) if match else ""
    prefix = f"HIRFA_{field.upper()}"
    for name, value in sorted(os.environ.items()):
        if name.upper() == prefix or name.upper().startswith(prefix + "__"):
            try:
                json.loads(value)
            except ValueError:
                if value.strip()[:1] in "[{" or name.upper().endswith(("_IDS", "_NUMBERS", "_HOURS")):
                    return f"{name.upper()}: not valid JSON (expected e.g. [123, 456])"
    return f"{prefix or 'HIRFA settings'}: a value could not be parsed (lists are JSON, e.g. [1, 2])"


def load_settings(**overrides: Any) -> Settings:
    """Read the settings once; raise :class:`ConfigError` with a one-line message on error."""
    try:
        return Settings(**overrides)
    except SettingsError as exc:
        raise ConfigError(_unparsable(exc)) from None
    except ValidationError as exc:
        first = exc.errors()[0]
        message = str(first.get("msg", "invalid value")).removeprefix("Value error, ")
        raise ConfigError(f"{_setting_name(tuple(first['loc']))}: {message}") from None


def require_runnable(settings: Settings) -> None:
    """Check what ``hirfa run`` needs on top of well-formed values."""
    tg = settings.telegram
    if not tg.enabled and not settings.whatsapp.enabled:
        raise ConfigError(
            "HIRFA_TELEGRAM__TOKEN: not set (and no HIRFA_WHATSAPP__* either): nothing to run"
        )
    if tg.enabled and tg.webhook_url and tg.webhook_secret is None:
        raise ConfigError(
            "HIRFA_TELEGRAM__WEBHOOK_SECRET: required when HIRFA_TELEGRAM__WEBHOOK_URL is set"
        )
    require_whatsapp(settings.whatsapp)


def require_whatsapp(wa: WhatsAppSettings) -> None:
    """WhatsApp runs only complete: it must check every webhook post and answer Meta's check."""
    if not wa.enabled:
        return
    needed = (
        ("PHONE_ID", wa.phone_id, "the phone number id from WhatsApp Manager"),
        ("TOKEN", wa.token, "the access token that sends messages"),
        ("APP_SECRET", wa.app_secret, "webhook posts are checked against it"),
        ("VERIFY_TOKEN", wa.verify_token, "Meta sends it to confirm the webhook"),
    )
    for name, value, why in needed:
        text = value.get_secret_value() if isinstance(value, SecretStr) else value
        if not text or not text.strip():
            raise ConfigError(f"HIRFA_WHATSAPP__{name}: required for WhatsApp ({why})")
