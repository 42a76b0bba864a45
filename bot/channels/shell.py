"""The terminal channel (``hirfa shell``): the same conversations, typed at a prompt.

Options are numbered (reply with the number or the label); ``/share`` shares a phone number as
Telegram's contact button would; notifications from the outbox are printed as they go out.
"""

from __future__ import annotations

import asyncio
import itertools
import sys
from collections.abc import Callable
from typing import TextIO

from bot.demo import DEMO_PHONE
from bot.dialogue import Engine
from bot.i18n import html_to_plain
from bot.messages import Contact, Incoming, OutMessage

CHANNEL = "shell"


def format_message(message: OutMessage) -> str:
    """A rendered message as terminal text: plain text then numbered options."""
    lines = [html_to_plain(message.text)]
    if message.buttons:
        if message.numbered:
            lines += [f"  {b.label}" if b.label.startswith(f"{i}. ") else f"  {i}. {b.label}"
                      for i, b in enumerate(message.buttons, 1)]
        else:
            lines.append("  " + "  ".join(f"[{b.label}]" for b in message.buttons))
    if message.ask_contact:
        lines.append(f"  (/share → {message.contact_label})")
    if message.document is not None:
        lines.append(f"  📎 {message.document.filename} ({len(message.document.content)} bytes)")
    if message.photo is not None:
        lines.append(f"  🖼 image ({len(message.photo)} bytes)")
    if message.location is not None:
        lines.append(f"  📍 {message.location[0]:.5f}, {message.location[1]:.5f}")
    return "\n".join(lines)


class ShellTransport:
    """Outbox delivery to the terminal: notifications are printed."""

    channel = CHANNEL

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self._ids = itertools.count(1)

    async def send(
        self, chat_id: str, message: OutMessage, *, row_id: int | None = None
    ) -> str | None:
        self.out.write("\n🔔 " + format_message(message) + "\n")
        self.out.flush()
        return str(next(self._ids))


class ShellChannel:
    """Reads lines, hands them to the engine, prints the replies."""

    def __init__(
        self,
        engine: Engine,
        *,
        user_id: str = "local",
        phone: str = DEMO_PHONE,
        language: str | None = None,
        out: TextIO = sys.stdout,
        read_line: Callable[[], str] | None = None,
    ) -> None:
        self.engine = engine
        self.user_id = user_id
        self.phone = phone
        self.language = language
        self.out = out
        self.read_line = read_line or (lambda: input("> "))
        self._updates = itertools.count(1)

    def to_incoming(self, line: str) -> Incoming | None:
        text = line.strip()
        if text.startswith("/share"):
            phone = text.removeprefix("/share").strip() or self.phone
            return Incoming(CHANNEL, self.user_id, self.user_id, "contact",
                            contact=Contact(phone, self.user_id), language_hint=self.language)
        return Incoming(CHANNEL, self.user_id, self.user_id,
                        "command" if text.startswith("/") else "text",
                        text=text, language_hint=self.language)

    async def say(self, line: str) -> list[OutMessage]:
        incoming = self.to_incoming(line)
        if incoming is None:
            return []
        replies = await self.engine.handle(incoming)
        for message in replies:
            self.out.write(format_message(message) + "\n\n")
        self.out.flush()
        return replies

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        await self.say("/start")
        while True:
            try:
                line = await loop.run_in_executor(None, self.read_line)
            except (EOFError, KeyboardInterrupt):
                self.out.write("\n")
                return
            if line.strip() in ("/quit", "/exit"):
                return
            if not line.strip():
                continue
            await self.say(line)
