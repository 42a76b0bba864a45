"""Send slots for one channel, shared by its direct replies and its queued messages."""

from __future__ import annotations

import asyncio
import math
import weakref
from collections import deque

from bot.clock import Clock


class Pacer:
    """Send slots for one channel, shared by direct replies and the outbox.

    - Evenly spaced: ``acquire()`` returns at least ``1/rate`` seconds after the previous one,
      counted from when each really returned (a slot is never handed out in advance, so an
      event loop that stalled for a moment cannot release two sends back to back).
    - A sliding window on the moments sends were really dispatched (``record()``): never
      ``limit`` sends within ``1 s`` plus a small margin, which is what the platform counts.
      (``limit - 1`` earlier sends at most). At ``rate`` < ``limit`` it never binds in steady
      state; it catches bunching.
    - Per chat: ``acquire(chat_id)`` also waits until ``per_chat`` seconds have passed since the
      last message to that chat, direct reply or queued; ``chat_free_at`` lets the outbox pick
      other chats meanwhile.
    - ``pause(seconds)`` after a 429 pushes every slot back.
    """

    def __init__(
        self, rate: float, clock: Clock, per_chat: float = 0.0, limit: int | None = None
    ) -> None:
        self.interval = 1.0 / rate
        self.clock = clock
        self.per_chat = per_chat
        self.margin = 0.05 if per_chat > 0 else 0.0
        # The platform's hard cap per second (Telegram: 30); by default the next whole number.
        self.limit = limit if limit is not None else math.floor(rate) + 1
        self.window = 1.0 + min(0.02, max(0.0, (self.limit / rate - 1.0) / 2))
        self._next = 0.0
        self._lock = asyncio.Lock()
        self._chat_last: dict[str, float] = {}
        self._chat_paused: dict[str, float] = {}  # a recipient's own rate limit: until when
        self._chat_locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()
        self._dispatched: deque[float] = deque()

    def _now(self) -> float:
        return self.clock.now().timestamp()

    def chat_free_at(self, chat_id: str) -> float:
        """When ``chat_id`` may get its next message (a timestamp; in the past if free now).

        A small margin on top of ``per_chat`` absorbs the jitter between our slot and the
        moment the request reaches the platform (which is what its limit counts)."""
        spaced = self._chat_last.get(chat_id, -math.inf) + self.per_chat + self.margin
        return max(spaced, self._chat_paused.get(chat_id, -math.inf))

    def chat_ready(self, chat_id: str) -> bool:
        """Whether a message to ``chat_id`` could go now: its spacing (or its own rate limit)
        has passed and no other message to it is already waiting for its turn."""
        if self.per_chat <= 0 and chat_id not in self._chat_paused:
            return True
        lock = self._chat_locks.get(chat_id)
        if lock is not None and lock.locked():
            return False
        return self.chat_free_at(chat_id) <= self._now()

    async def acquire(self, chat_id: str | None = None, *, record: bool = True) -> None:
        """Wait for a slot (and for ``chat_id`` to be free). ``record=False`` when the caller
        calls :meth:`record` itself right before dispatching (the outbox does)."""
        if chat_id is None or (self.per_chat <= 0 and chat_id not in self._chat_paused):
            await self._slot(record)
            return
        lock = self._chat_locks.get(chat_id)
        if lock is None:
            lock = self._chat_locks[chat_id] = asyncio.Lock()
        async with lock:  # messages to one chat queue behind each other
            wait = self.chat_free_at(chat_id) - self._now()
            if wait > 1e-6:
                await self.clock.sleep(wait)
            await self._slot(record)
            self._chat_last[chat_id] = self._now()
            self._prune()

    async def _slot(self, record: bool) -> None:
        while True:
            async with self._lock:
                now = self._now()
                wait = self._next - now
                recent = self._dispatched
                while recent and recent[0] <= now - self.window:
                    recent.popleft()
                if len(recent) >= self.limit:  # the platform would see one too many
                    wait = max(wait, recent[len(recent) - self.limit] + self.window - now)
                if wait <= 1e-6:  # clocks count in microseconds: less is no wait at all
                    # Keep the cadence when only a little late (a timer's usual overshoot);
                    # after a real stall, start again from now: never two sends back to back.
                    late = now - self._next
                    self._next = (self._next if late < self.interval / 4 else now) + self.interval
                    if record:
                        recent.append(now)
                    return
            await self.clock.sleep(wait)

    def record(self) -> None:
        """A send is being dispatched now (counted by the sliding window)."""
        self._dispatched.append(self._now())

    def _prune(self) -> None:
        if len(self._chat_last) > 4096:
            horizon = self._now() - self.per_chat
            self._chat_last = {c: t for c, t in self._chat_last.items() if t > horizon}
        now = self._now()
        self._chat_paused = {c: t for c, t in self._chat_paused.items() if t > now}

    def pause(self, seconds: float) -> None:
        """The whole channel waits (the account's rate limit)."""
        self._next = max(self._next, self._now() + seconds)

    def pause_chat(self, chat_id: str, seconds: float) -> None:
        """Only ``chat_id`` waits (that recipient's own rate limit); the others go on."""
        self._chat_paused[chat_id] = max(self._chat_paused.get(chat_id, 0.0), self._now() + seconds)

    def chats_paused(self, now: float | None = None) -> set[str]:
        moment = self._now() if now is None else now
        return {c for c, t in self._chat_paused.items() if t > moment}
