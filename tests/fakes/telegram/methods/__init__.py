"""The Bot API methods the fake answers: the ones Hirfa (through python-telegram-bot) calls.

One module per area; :data:`METHODS` maps each method's lower-cased name (Telegram's method
names are case-insensitive) to its canonical name and its function ``(state, params) ->
result``. A function raises :class:`~tests.fakes.telegram.errors.ApiError` to answer an error.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from tests.fakes.telegram.methods import callbacks, commands, media, messages, topics, updates
from tests.fakes.telegram.state import State

JSONDict = dict[str, Any]
Method = Callable[[State, JSONDict], Any]

METHODS: Final[dict[str, tuple[str, Method]]] = {
    name.lower(): (name, function)
    for name, function in (
        ("getMe", commands.get_me),
        ("setMyCommands", commands.set_my_commands),
        ("deleteMyCommands", commands.delete_my_commands),
        ("getUpdates", updates.get_updates),
        ("setWebhook", updates.set_webhook),
        ("deleteWebhook", updates.delete_webhook),
        ("sendMessage", messages.send_message),
        ("sendLocation", messages.send_location),
        ("editMessageText", messages.edit_message_text),
        ("sendDocument", media.send_document),
        ("sendPhoto", media.send_photo),
        ("sendVoice", media.send_voice),
        ("sendAudio", media.send_audio),
        ("getFile", media.get_file),
        ("answerCallbackQuery", callbacks.answer_callback_query),
        ("createForumTopic", topics.create_forum_topic),
    )
}
