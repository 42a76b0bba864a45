"""Who the fake bot is: its id, username and token, and the ``User`` object Telegram shows."""

from __future__ import annotations

from typing import Any, Final

JSONDict = dict[str, Any]

BOT_ID: Final = 123456
BOT_USERNAME: Final = "hirfa_test_bot"
BOT_FIRST_NAME: Final = "Hirfa"
TOKEN: Final = f"{BOT_ID}:TEST"
"""A token that matches the fake bot's id (the fake accepts any well-formed token)."""


def bot_user() -> JSONDict:
    """The fake bot as a Telegram ``User`` object (what ``getMe`` returns and ``from`` shows)."""
    return {
        "id": BOT_ID,
        "is_bot": True,
        "first_name": BOT_FIRST_NAME,
        "username": BOT_USERNAME,
        "can_join_groups": True,
        "can_read_all_group_messages": False,
        "supports_inline_queries": False,
        "can_connect_to_business": False,
        "has_main_web_app": False,
    }
