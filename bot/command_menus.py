"""The "/" command menus: which commands each role sees, described in which language.

Decided here once, from the router's commands (those with a ``describe=`` key, for the roles
that may use them) and the translator's languages, as plain data. A channel with such a menu
(Telegram) only turns it into its platform's calls: :func:`menu` for one role and language,
:func:`staff_roles` for the chats whose menu is not the artisans' one.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.dialogue import ROLE_RANK, Services
from bot.i18n import Msg
from storage import staff as staff_repo

CANCEL = ("cancel", "cmd.cancel")  # a word of the engine, not a routed command: always offered


@dataclass(frozen=True)
class MenuCommand:
    """One line of a "/" menu: the command (without the slash) and what it does."""

    name: str
    description: str


def menu(services: Services, lang: str, role: str | None) -> list[MenuCommand]:
    """The commands someone with ``role`` (None: an artisan) may use, described in ``lang``,
    in the order they were registered, ``/cancel`` last."""
    rank = ROLE_RANK.get(role, 0)
    commands = [(c.name, c.describe) for c in services.router.commands.values()
                if c.describe and ROLE_RANK.get(c.role, 0) <= rank]
    commands.append(CANCEL)
    return [MenuCommand(name, services.translator.plain(Msg(key), lang, services.zone))
            for name, key in commands]


async def staff_roles(services: Services, channel: str) -> list[tuple[str, str]]:
    """``(user id, role)`` of each staff member on ``channel``: whose menu has more commands."""
    async with services.db.read() as conn:
        members = await staff_repo.members(conn)
    return [(external_id, role) for name, external_id, role in members if name == channel]
