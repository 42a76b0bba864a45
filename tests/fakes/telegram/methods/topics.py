"""Forum topics: ``createForumTopic`` in a supergroup with topics on (the chamber's staff group,
one topic per question)."""

from __future__ import annotations

from typing import Any, Final

from tests.fakes.telegram.errors import bad_request
from tests.fakes.telegram.identity import bot_user
from tests.fakes.telegram.limits import MAX_TOPIC_NAME
from tests.fakes.telegram.params import as_int, chat_id, opt_str
from tests.fakes.telegram.state import State

JSONDict = dict[str, Any]

TOPIC_ICON_COLORS: Final = (0x6FB9F0, 0xFFD67E, 0xCB86DB, 0x8EEE98, 0xFF93B2, 0xFB6F5F)
"""The icon colours (RGB) ``createForumTopic`` accepts, as the Bot API lists them."""


def create_forum_topic(state: State, params: JSONDict) -> JSONDict:
    """Open a topic; the chat must be a forum (the fake assumes the bot may manage topics in
    every chat made with ``FakeBotAPI.make_forum``). Returns the ``ForumTopic``."""
    chat = chat_id(params)
    known = state.chats.get(chat)
    if known is None:
        raise bad_request("chat not found")
    if known.get("type") != "supergroup" or not known.get("is_forum"):
        raise bad_request("the chat is not a forum")
    name = opt_str(params, "name") or ""
    if not name.strip():
        raise bad_request("TOPIC_TITLE_EMPTY")
    if len(name) > MAX_TOPIC_NAME:
        raise bad_request("TOPIC_TITLE_TOO_LONG")
    color = params.get("icon_color")
    icon_color = TOPIC_ICON_COLORS[0] if color in (None, "") else as_int(color, "icon_color")
    if icon_color not in TOPIC_ICON_COLORS:
        raise bad_request("TOPIC_ICON_COLOR_INVALID")
    # The topic's id is that of its "topic created" service message.
    thread = state.next_message_id(chat)
    state.messages[(chat, thread)] = {
        "message_id": thread,
        "message_thread_id": thread,
        "from": bot_user(),
        "chat": state.chat(chat),
        "date": int(state.wall_time()),
        "forum_topic_created": {"name": name, "icon_color": icon_color},
        "is_topic_message": True,
    }
    topic = {"message_thread_id": thread, "name": name, "icon_color": icon_color}
    state.topics.setdefault(chat, {})[thread] = topic
    return topic
