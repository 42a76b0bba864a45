"""What handlers (and the console) may ask of a messaging channel, whichever it is.

Each channel adapter (:mod:`bot.channels.telegram`, :mod:`bot.channels.whatsapp`) is a
:class:`Channel` and registers itself in :attr:`bot.dialogue.Services.channels` when it is built.
Handlers ask the registry by the channel an update came from (``ctx.incoming.channel``) or a
file was kept from, never test a channel's name for what it can do:

- ``fetch_file``: the bytes of a photo, document or voice note a user sent;
- ``session_link``: a link that opens a training session's card for an artisan (Telegram's
  ``t.me/<bot>?start=s<ID>``; None where the channel has no such link);
- ``create_topic``: a topic in a forum group (Telegram's staff group; None elsewhere);
- ``settings_admin``: whether the settings make this user an admin (granted again at every start);
- ``role_changed`` / ``language_changed``: hooks a channel may act on outside the caller's
  transaction (Telegram updates that chat's "/" menu).

A channel that is not enabled is simply absent: ``get`` gives None and the hooks do nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol


class Channel(Protocol):
    """One messaging channel, as handlers see it."""

    name: str

    async def fetch_file(self, file_id: str) -> bytes:
        """The bytes of a file a user sent (raises when the platform cannot give them)."""
        ...

    def session_link(self, session_id: int) -> str | None:
        """A link that opens session ``session_id``'s card for an artisan, or None."""
        ...

    async def create_topic(self, chat_id: str, name: str) -> str | None:
        """Open a topic in the forum group ``chat_id``; its id, or None without topics."""
        ...

    def settings_admin(self, user_id: str) -> bool:
        """Whether the channel's settings name ``user_id`` an admin (granted at every start)."""
        ...

    def role_changed(self, user_id: str, role: str | None) -> None:
        """A staff role was granted (``role``) or revoked (None) for ``user_id``."""
        ...

    def language_changed(self, chat_id: str, lang: str, role: str | None) -> None:
        """The user of ``chat_id`` (staff ``role`` or None) chose the language ``lang``."""
        ...


class Channels:
    """The channels running in this process, by name, in the order they were added."""

    def __init__(self) -> None:
        self._by_name: dict[str, Channel] = {}

    def add(self, channel: Channel) -> None:
        self._by_name[channel.name] = channel

    def get(self, name: str | None) -> Channel | None:
        return self._by_name.get(name) if name is not None else None

    def __iter__(self) -> Iterator[Channel]:
        return iter(self._by_name.values())

    def session_link(self, session_id: int) -> str | None:
        """The first link any channel gives to open the session's card (None if none can)."""
        for channel in self:
            link = channel.session_link(session_id)
            if link is not None:
                return link
        return None

    def settings_admin(self, channel: str, user_id: str) -> bool:
        """Whether ``channel``'s settings name ``user_id`` an admin (False if not running here)."""
        found = self.get(channel)
        return found is not None and found.settings_admin(user_id)

    def role_changed(self, channel: str, user_id: str, role: str | None) -> None:
        """Tell ``channel`` (if running here) that a staff role was granted or revoked."""
        found = self.get(channel)
        if found is not None:
            found.role_changed(user_id, role)

    def language_changed(self, channel: str, chat_id: str, lang: str, role: str | None) -> None:
        """Tell ``channel`` (if running here) that a chat chose its language."""
        found = self.get(channel)
        if found is not None:
            found.language_changed(chat_id, lang, role)
