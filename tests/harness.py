"""Drive the real application (PTB ``Application`` → engine → database) through the fake Bot API.

    async with Harness.open(tmp_path) as h:
        await h.send(USER, "/start")
        await h.press(USER, "Français")        # a button label (or its callback data)
        await h.send(USER, "Amina Benali")
        await h.share_contact(USER, "+212612345678")
        assert "Amina" in h.last_text(USER)

Everything is offline: PTB talks to :class:`FakeBotAPI` through :class:`FakeRequest`; time is a
:class:`FakeClock` (``h.clock.advance(...)``); the outbox is drained explicitly with
``await h.drain()``. ``await h.restart()`` simulates a crash and a restart on the same database
(nothing is stopped cleanly; a new application is built).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from bot.app import Hirfa
from bot.clock import FakeClock
from bot.settings import Settings, load_settings
from tests import databases, factories
from tests.fakes.telegram import FakeBotAPI, FakeRequest, SentMessage

ADMIN = 9000
STAFF = 9001


def shown(message: SentMessage) -> str:
    """The text the user reads (Telegram's parsed plain text) of a message that has text."""
    assert message.plain_text is not None, "a message without text"
    return message.plain_text


def sent_html(message: SentMessage) -> str:
    """The HTML text of a message that has text (as Hirfa sent it)."""
    assert message.text is not None, "a message without text"
    return message.text


def make_settings(tmp_path: Path, **overrides: Any) -> Settings:
    telegram = {"token": "123456:TEST", "admin_ids": [ADMIN], "api_url": "http://fake.invalid/bot",
                "bot_username": "hirfa_test_bot"}
    telegram.update(overrides.pop("telegram", {}))
    return load_settings(
        database_url=overrides.pop("database_url", None) or databases.url_for(tmp_path),
        telegram=telegram,
        **overrides,
    )


@dataclass
class Harness:
    settings: Settings
    api: FakeBotAPI
    clock: FakeClock
    app: Hirfa = field(init=False)
    languages: dict[int, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.app = self._build()

    def _build(self) -> Hirfa:
        return Hirfa(
            self.settings, clock=self.clock,
            telegram_request=FakeRequest(self.api), telegram_updates_request=FakeRequest(self.api),
        )

    @classmethod
    @contextlib.asynccontextmanager
    async def open(cls, tmp_path: Path, clock: FakeClock | None = None,
                   **overrides: Any) -> AsyncIterator[Harness]:
        clock = clock or FakeClock()
        api = FakeBotAPI(time_fn=lambda: clock.now().timestamp(),
                         wall_time_fn=lambda: clock.now().timestamp())
        api.strict_html_ampersand = False
        harness = cls(make_settings(tmp_path, **overrides), api, clock)
        await harness._start()
        try:
            yield harness
        finally:
            await harness._stop()

    async def _start(self) -> None:
        await self.app.prepare()
        assert self.app.telegram is not None
        await self.app.telegram.application.initialize()

    async def _stop(self) -> None:
        assert self.app.telegram is not None
        await self.app.telegram.application.shutdown()
        await self.app.db.dispose()

    async def restart(self) -> None:
        """A crash and a restart: the old application is dropped, a new one opens the same DB."""
        await self.app.db.dispose()
        self.app = self._build()
        await self._start()

    async def claims_expire(self) -> None:
        """After a crash: the dead process's claims on outbox rows expire (``claim_lease``, as
        the new process cannot tell it from a live one before that), and the periodic job that
        every process runs puts those rows back in the queue."""
        self.clock.advance(self.settings.outbox.claim_lease * 1.25)
        await self.app.outbox.keep_claims()

    # -- acting as a user ----------------------------------------------------------------
    @property
    def ptb(self) -> Any:
        assert self.app.telegram is not None
        return self.app.telegram.application

    async def feed(self, data: dict[str, Any]) -> list[SentMessage]:
        """Process one update dict; return what the bot sent to anyone meanwhile."""
        before = len(self.api.sent)
        self.api.observe(data)
        assert self.app.telegram is not None
        await self.app.telegram.receive([data])
        await self.app.telegram.inbox.idle()
        return self.api.sent[before:]

    def lang(self, user: int) -> str:
        return self.languages.get(user, "fr")

    async def send(self, user: int, text: str, **kw: Any) -> list[SentMessage]:
        kw.setdefault("language_code", self.lang(user))
        if text.startswith("/"):
            command, _, args = text[1:].partition(" ")
            return await self.feed(factories.command_update(user, command, args, **kw))
        return await self.feed(factories.text_update(user, text, **kw))

    async def press(self, user: int, button: str, message: SentMessage | None = None) -> list[SentMessage]:
        """Press the inline button labelled ``button`` (or with that callback data) on the
        latest message to ``user`` that has it (or on ``message``)."""
        target = message or self.find_button(user, button)
        data = None
        for label, callback in target.buttons:
            if button in (label, callback):
                data = callback
                break
        if data is None:
            raise LookupError(f"no button {button!r} on {target.buttons}")
        if data == "request_contact" or (data is None and not target.buttons):
            raise LookupError("reply-keyboard buttons are typed, use send()")
        update = factories.callback_update(user, data, message=target.message,
                                           language_code=self.lang(user))
        return await self.feed(update)

    async def press_data(self, user: int, data: str) -> list[SentMessage]:
        """Press a button with arbitrary (possibly forged or stale) callback data."""
        return await self.feed(factories.callback_update(user, data, language_code=self.lang(user)))

    async def share_contact(
        self, user: int, phone: str, owner: int | None | Literal["sender"] = "sender"
    ) -> list[SentMessage]:
        update = factories.contact_update(user, phone, contact_user_id=owner, language_code=self.lang(user))
        return await self.feed(update)

    def find_button(self, user: int, button: str) -> SentMessage:
        for message in reversed(self.api.messages_to(user)):
            if any(button in (label, data) for label, data in message.buttons):
                return message
        raise LookupError(f"no message to {user} has a button {button!r}")

    # -- reading ------------------------------------------------------------------------------
    def last(self, user: int) -> SentMessage:
        return self.api.last_to(user)

    def last_text(self, user: int) -> str:
        return self.api.texts_to(user, plain=True)[-1]

    def texts(self, user: int) -> list[str]:
        return self.api.texts_to(user, plain=True)

    def labels(self, user: int) -> list[str]:
        return [label for label, _ in self.last(user).buttons]

    async def drain(self) -> int:
        """Deliver what is due now (no time passes except the pacer's spacing)."""
        return await self.app.outbox.drain()

    async def deliver_all(self, max_rounds: int = 500) -> None:
        """Deliver until nothing is pending, moving the fake clock over pauses and backoffs."""
        for _ in range(max_rounds):
            await self.app.outbox.drain()
            async with self.app.db.read() as conn:
                counts = await self.app.outbox.counts(conn)
            if not counts.get("pending") and not counts.get("sending"):
                return
            self.clock.advance(1.0)
        raise AssertionError(f"outbox still busy after {max_rounds} rounds: {counts}")

    # -- ready-made users -----------------------------------------------------------------
    async def register(self, user: int, lang: str = "fr", *, name: str = "Amina Benali",
                       phone: str | None = None, region: str = "region:MS",
                       craft: str = "craft:zellige", cnie: str | None = None,
                       alerts: bool = True) -> None:
        """Register ``user`` through the real conversation (buttons only where possible);
        ``alerts=False`` taps "turn off alerts" on the summary before confirming."""
        self.languages[user] = lang
        await self.send(user, "/start")
        await self.press(user, f"lang:{lang}")
        await self.press(user, "consent:yes")
        await self.send(user, name)
        await self.share_contact(user, phone or f"+2126{user % 100000000:08d}")
        await self.press(user, region)
        await self.press(user, craft)
        if cnie:
            await self.send(user, cnie)
        else:
            await self.press(user, "cnie:skip")
        if not alerts:
            await self.press(user, "reg:alerts")
        await self.press(user, "reg:confirm")
