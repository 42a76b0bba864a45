"""Errors of Hirfa, in one place.

    HirfaError
    ├── ConfigError       a setting is missing or malformed (start-up stops with one line)
    ├── InvalidInput      a user's answer failed validation; carries the locale key to show
    ├── FileTooLarge      a file a user sent is over the size we download
    └── DeliveryError     the outbox could not hand a message to a platform
        ├── RetryLater    429 / flood: try again after ``retry_after`` seconds
        ├── Unreachable   403 / blocked / deactivated: stop sending to this chat
        ├── Transient     network trouble or 5xx: retry with backoff
        ├── Permanent     400-like refusal: retrying would not help
        └── WindowClosed  the platform takes only pre-approved templates for this chat now
                          (WhatsApp's 24-hour window) and none fits: try another channel

Users never see these messages; handlers turn them into translated replies and logs keep the
details.
"""

from __future__ import annotations

from typing import Any


class HirfaError(Exception):
    """Base of every error Hirfa raises on purpose."""


class ConfigError(HirfaError):
    """A setting is missing or malformed; ``str(err)`` is one line naming it."""


class InvalidInput(HirfaError):
    """An answer was refused; ``key`` names the locale message that explains why."""

    def __init__(self, key: str, **params: Any) -> None:
        super().__init__(key)
        self.key = key
        self.params = params


class FileTooLarge(HirfaError):
    """A file a user sent is ``size`` bytes, more than the ``limit`` a channel downloads."""

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(f"file of {size} bytes, over the limit of {limit}")
        self.size = size
        self.limit = limit


class DeliveryError(HirfaError):
    """A platform did not accept a message."""


class RetryLater(DeliveryError):
    """A rate limit. ``per_chat``: True when the platform says it is this recipient's own limit
    (WhatsApp 131056), False when it is the whole account's, None when it does not say
    (Telegram's 429): the sender then pauses the chat, and the channel only if another chat
    is limited at the same time."""

    def __init__(
        self, retry_after: float, detail: str = "429 Too Many Requests", *,
        per_chat: bool | None = None,
    ) -> None:
        super().__init__(detail)
        self.retry_after = retry_after
        self.per_chat = per_chat


class Unreachable(DeliveryError):
    """The user blocked the bot or the chat no longer exists."""


class Transient(DeliveryError):
    """Network error, timeout or server error."""


class Permanent(DeliveryError):
    """The platform refused the message itself (too long, bad markup, ...)."""


class WindowClosed(DeliveryError):
    """Only a pre-approved template may reach this chat now and none could be used.

    The outbox then moves the message to the artisan's other channel, if any, or marks it
    ``failed`` with this error's text as the reason.
    """
