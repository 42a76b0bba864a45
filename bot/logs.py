"""Logging set-up that keeps secrets out of every log line."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable


class Redact(logging.Filter):
    """Replaces each secret (and any bot token in a URL) with ``***`` in formatted records."""

    _TOKEN = re.compile(r"bot\d+:[A-Za-z0-9_-]+")

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self.secrets = [s for s in secrets if s and len(s) >= 4]

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = self._TOKEN.sub("bot***", message)
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
