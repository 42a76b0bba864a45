"""Logging set-up that keeps secrets out of every log line."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

# Loggers of the platform libraries: at DEBUG they print whole requests and updates, with the
# names, phone numbers and CNIEs people send.
LIBRARY_LOGGERS = ("telegram", "httpx", "httpcore", "aiohttp", "uvicorn")
_PERSONAL_KEYS = re.compile(
    r"""(?P<key>['"](?:first_name|last_name|username|phone_number|full_name|name|text|caption|"""
    r"""vcard|title|body|formatted_name|wa_id|from|recipient_id|chat_id)['"]\s*[:=]\s*)"""
    r"""(?:(?P<q>['"])(?:\\.|(?!(?P=q)).)*(?P=q)|-?\d+)""",
    re.DOTALL,
)
_PHONE = re.compile(r"(?<![\w+])\+?\d[\d .-]{7,16}\d(?!\w)")
_CNIE = re.compile(r"\b[A-Z]{1,2}\d{4,6}\b")


def redact_personal(message: str) -> str:
    """Names, texts, phone numbers and CNIEs in a library's debug line → ``***``."""
    message = _PERSONAL_KEYS.sub(lambda m: m.group("key") + "'***'", message)
    return _CNIE.sub("***", _PHONE.sub("***", message))


class Redact(logging.Filter):
    """Replaces each secret (and any bot token in a URL) with ``***`` in formatted records, and
    personal data in the platform libraries' records (:func:`redact_personal`)."""

    _TOKEN = re.compile(r"bot\d+:[A-Za-z0-9_-]+")

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self.secrets = [s for s in secrets if s and len(s) >= 4]

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = self._TOKEN.sub("bot***", message)
        if record.name.split(".", 1)[0] in LIBRARY_LOGGERS:
            clean = redact_personal(clean)
        for secret in self.secrets:
            clean = clean.replace(secret, "***")
        if clean != message:
            record.msg = clean
            record.args = None
        return True


def setup(level: str, secrets: Iterable[str]) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(Redact(secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # httpx logs every request URL at INFO, and Telegram URLs contain the token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
