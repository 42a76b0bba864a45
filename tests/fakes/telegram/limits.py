"""Telegram's size and flood limits, counted the way Telegram counts them.

Sizes of texts are in UTF-16 code units (an emoji counts 2), after the HTML is parsed;
``callback_data`` is in UTF-8 bytes. The flood limits (about 30 messages a second overall and 1
a second per chat) answer 429 with ``retry_after``; they are off until a test switches them on.
"""

from __future__ import annotations

import math
from collections import deque
from typing import Final

from tests.fakes.telegram.errors import ApiError

MAX_TEXT_LENGTH: Final = 4096  # UTF-16 code units, after entity parsing
MAX_CAPTION_LENGTH: Final = 1024
MAX_CALLBACK_DATA_BYTES: Final = 64
MAX_INLINE_BUTTONS: Final = 100
MAX_CALLBACK_ANSWER_LENGTH: Final = 200
MAX_UPLOAD_BYTES: Final = 50 * 1024 * 1024
MAX_TOPIC_NAME: Final = 128
MAX_COMMANDS: Final = 100


def utf16_len(text: str) -> int:
    """Length of ``text`` the way Telegram counts it: in UTF-16 code units (emoji count 2)."""
    return len(text.encode("utf-16-le")) // 2


class FloodLimits:
    """A sliding window over the messages sent (``send*`` methods; edits and callback answers
    don't count). A send that would exceed ``global_per_second`` in the window, or
    ``per_chat_per_second`` to one chat, gets 429 ``Too Many Requests: retry after N`` (whole
    seconds, at least 1). ``rejected`` counts the 429s."""

    def __init__(self) -> None:
        self.enabled = False
        self.global_per_second = 30
        self.per_chat_per_second = 1
        self.window = 1.0
        self.rejected = 0
        self._sends: deque[tuple[float, int]] = deque()  # (time, chat id)

    def enforce(self, global_per_second: int, per_chat_per_second: int, window: float) -> None:
        """Switch the limits on (again), forgetting earlier sends."""
        self.enabled = True
        self.global_per_second = global_per_second
        self.per_chat_per_second = per_chat_per_second
        self.window = window
        self._sends.clear()

    def check(self, chat_id: int, now: float) -> None:
        """Raise the 429 a send to ``chat_id`` at ``now`` would get, if any."""
        if not self.enabled:
            return
        while self._sends and self._sends[0][0] <= now - self.window:
            self._sends.popleft()
        everywhere = [t for t, _ in self._sends]
        here = [t for t, chat in self._sends if chat == chat_id]
        waits: list[float] = []
        if len(everywhere) >= self.global_per_second:
            waits.append(everywhere[len(everywhere) - self.global_per_second] + self.window)
        if len(here) >= self.per_chat_per_second:
            waits.append(here[len(here) - self.per_chat_per_second] + self.window)
        if waits:
            retry_after = max(1, math.ceil(max(waits) - now - 1e-9))
            self.rejected += 1
            raise ApiError(
                429, f"Too Many Requests: retry after {retry_after}", retry_after=retry_after
            )

    def count(self, chat_id: int, now: float) -> None:
        """Remember a message that went out."""
        if self.enabled:
            self._sends.append((now, chat_id))
