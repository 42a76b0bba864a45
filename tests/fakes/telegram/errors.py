"""Bot API error answers, shaped like Telegram's, and the failures a test can inject.

Telegram answers an error with an HTTP status and ``{"ok": false, "error_code": N,
"description": "..."}`` (plus ``parameters.retry_after`` on a 429); python-telegram-bot turns
400 into ``BadRequest``, 403 into ``Forbidden``, 409 into ``Conflict``, 429 into ``RetryAfter``
and 5xx into ``NetworkError``. The descriptions below are Telegram's own wording.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final, TypeVar

JSONDict = dict[str, Any]

NOT_FOUND: Final = {"ok": False, "error_code": 404, "description": "Not Found"}
"""Telegram's answer to an unknown method or file path (PTB raises ``InvalidToken``)."""

NOT_MODIFIED: Final = (
    "message is not modified: specified new message content and reply markup are "
    "exactly the same as a current content and reply markup of the message"
)
QUERY_TOO_OLD: Final = "query is too old and response timeout expired or query ID is invalid"
WEBHOOK_CONFLICT: Final = (
    "Conflict: can't use getUpdates method while webhook is active; "
    "use deleteWebhook to delete the webhook first"
)


class ApiError(Exception):
    """A Telegram error answer; raised inside the fake and turned into a JSON body."""

    def __init__(self, status: int, description: str, *, retry_after: int | None = None):
        super().__init__(description)
        self.status = status
        self.description = description
        self.retry_after = retry_after

    def body(self) -> JSONDict:
        """The JSON body Telegram would send for this error."""
        body: JSONDict = {"ok": False, "error_code": self.status, "description": self.description}
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


def bad_request(reason: str) -> ApiError:
    """A 400 ``Bad Request: <reason>``."""
    return ApiError(400, f"Bad Request: {reason}")


def parse_error(reason: str) -> ApiError:
    """A 400 about the markup of a text (``Bad Request: can't parse entities: ...``)."""
    return bad_request(f"can't parse entities: {reason}")


@dataclass
class _Countdown:
    method: str | None  # lower-cased; None for any method
    remaining: int


@dataclass
class _InjectedError(_Countdown):
    status: int = 500
    description: str = ""
    retry_after: int | None = None


class Faults:
    """Failures queued by a test: error answers (``fail_next``) and dropped connections
    (``fail_network_next``), each for the next N calls of one method or of any."""

    def __init__(self) -> None:
        self._errors: list[_InjectedError] = []
        self._network: list[_Countdown] = []

    def fail_next(
        self, method: str, status: int, description: str, retry_after: int | None, times: int
    ) -> None:
        """Queue ``times`` error answers for ``method`` (``"*"``: any method)."""
        key = None if method == "*" else method.lower()
        self._errors.append(_InjectedError(key, times, status, description, retry_after))

    def fail_network_next(self, times: int, method: str | None) -> None:
        """Queue ``times`` network failures for ``method`` (``None``: any method)."""
        self._network.append(_Countdown(method.lower() if method else None, times))

    def take_error(self, method: str) -> ApiError | None:
        """The injected error for this call of ``method``, if one is queued (consumes it)."""
        entry = _take(self._errors, method)
        if entry is None:
            return None
        return ApiError(entry.status, entry.description, retry_after=entry.retry_after)

    def take_network_failure(self, method: str) -> bool:
        """Should this call of ``method`` fail at the network level? (consumes one)."""
        return _take(self._network, method) is not None


_Entry = TypeVar("_Entry", bound=_Countdown)


def _take(queue: list[_Entry], method: str) -> _Entry | None:
    lower = method.lower()
    for entry in queue:
        if entry.method in (None, lower) and entry.remaining > 0:
            entry.remaining -= 1
            if entry.remaining == 0:
                queue.remove(entry)
            return entry
    return None
