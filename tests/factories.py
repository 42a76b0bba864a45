"""Build incoming Telegram updates as the Bot API sends them (plain JSON-shaped dicts).

Every factory returns a fresh ``dict`` with an auto-incrementing ``update_id`` (and message
ids), ready to be pushed into the fake server or turned into a PTB object::

    api.push_update(text_update(42, "salam"))                  # the bot polls it
    await app.process_update(as_update(text_update(42, "salam"), app.bot))  # direct

Users default to ``first_name="Amina"``, ``language_code="fr"``; the chat is the user's
private chat unless ``chat_id`` says otherwise (negative ids are groups).
"""

from __future__ import annotations

import itertools
import time
from typing import Any, Literal

from telegram import Bot, Update

from bot.languages import SELF_NAMES, ordered
from tests.fakes.telegram import bot_user, utf16_len

JSONDict = dict[str, Any]

_update_ids = itertools.count(1)
_message_ids = itertools.count(1)
_callback_ids = itertools.count(1)
_file_ids = itertools.count(1)

DEFAULT_LOCATION = (33.5731, -7.5898)  # Casablanca


def picker(first: str) -> list[str]:
    """The language picker's buttons when the platform suggests ``first`` (it comes first)."""
    return [SELF_NAMES[code] for code in ordered(first)]


def next_update_id() -> int:
    """The next ``update_id`` (shared by all factories, strictly increasing)."""
    return next(_update_ids)


def next_message_id() -> int:
    """The next message id used for user messages."""
    return next(_message_ids)


def user_dict(
    user_id: int,
    *,
    first_name: str = "Amina",
    language_code: str | None = "fr",
    last_name: str | None = None,
    username: str | None = None,
) -> JSONDict:
    """A Telegram ``User`` for a human."""
    user: JSONDict = {"id": user_id, "is_bot": False, "first_name": first_name}
    if last_name:
        user["last_name"] = last_name
    if username:
        user["username"] = username
    if language_code:
        user["language_code"] = language_code
    return user


def chat_dict(user_id: int, chat_id: int | None = None, *, first_name: str = "Amina") -> JSONDict:
    """The user's private chat, or a group if ``chat_id`` is another (negative) id."""
    if chat_id is None or chat_id == user_id:
        return {"id": user_id, "type": "private", "first_name": first_name}
    chat_type = "supergroup" if str(chat_id).startswith("-100") else "group"
    return {"id": chat_id, "type": chat_type, "title": "Groupe des artisans"}


def _now() -> int:
    return int(time.time())


def _message(
    user_id: int,
    *,
    first_name: str,
    language_code: str | None,
    chat_id: int | None,
    message_id: int | None = None,
    **content: Any,
) -> JSONDict:
    return {
        "message_id": message_id if message_id is not None else next_message_id(),
        "from": user_dict(user_id, first_name=first_name, language_code=language_code),
        "chat": chat_dict(user_id, chat_id, first_name=first_name),
        "date": _now(),
        **content,
    }


def _file_id(prefix: str) -> tuple[str, str]:
    number = next(_file_ids)
    return f"{prefix}{number:06d}", f"U{prefix}{number}"


def text_update(
    user_id: int,
    text: str,
    *,
    first_name: str = "Amina",
    language_code: str | None = "fr",
    chat_id: int | None = None,
    message_id: int | None = None,
    entities: list[JSONDict] | None = None,
) -> JSONDict:
    """A plain text message from ``user_id``."""
    extra: JSONDict = {"text": text}
    if entities:
        extra["entities"] = entities
    return {
        "update_id": next_update_id(),
        "message": _message(
            user_id,
            first_name=first_name,
            language_code=language_code,
            chat_id=chat_id,
            message_id=message_id,
            **extra,
        ),
    }


def command_update(
    user_id: int,
    command: str,
    args: str = "",
    *,
    first_name: str = "Amina",
    language_code: str | None = "fr",
    chat_id: int | None = None,
    bot_username: str | None = None,
) -> JSONDict:
    """``/command args`` with the ``bot_command`` entity Telegram adds (what PTB's
    ``CommandHandler`` looks for). ``bot_username`` gives ``/command@bot`` as in groups."""
    head = "/" + command.lstrip("/")
    if bot_username:
        head += "@" + bot_username
    text = f"{head} {args}" if args else head
    entities = [{"type": "bot_command", "offset": 0, "length": utf16_len(head)}]
    return text_update(
        user_id,
        text,
        first_name=first_name,
        language_code=language_code,
        chat_id=chat_id,
        entities=entities,
    )


def callback_update(
    user_id: int,
    data: str,
    *,
    message_id: int = 1,
    message_text: str = "…",
    message: JSONDict | None = None,
    reply_markup: JSONDict | None = None,
    first_name: str = "Amina",
    language_code: str | None = "fr",
    chat_id: int | None = None,
    callback_id: str | None = None,
) -> JSONDict:
    """A press on an inline button with ``callback_data=data``.

    The ``message`` field is the bot's message carrying the keyboard; build it from
    ``message_id``/``message_text`` or pass the real one (``sent_message.message`` from the
    fake) as ``message``.
    """
    if message is None:
        message = {
            "message_id": message_id,
            "from": bot_user(),
            "chat": chat_dict(user_id, chat_id, first_name=first_name),
            "date": _now(),
            "text": message_text,
        }
        if reply_markup is not None:
            message["reply_markup"] = reply_markup
    chat = message.get("chat") or {}
    return {
        "update_id": next_update_id(),
        "callback_query": {
            "id": callback_id or f"{user_id}{next(_callback_ids):08d}",
            "from": user_dict(user_id, first_name=first_name, language_code=language_code),
            "message": message,
            "chat_instance": str(abs(int(chat.get("id", user_id))) * 7919 % 10**18),
            "data": data,
        },
    }


def contact_update(
    user_id: int,
    phone_number: str,
    *,
    contact_user_id: int | None | Literal["sender"] = "sender",
    first_name: str = "Amina",
    last_name: str | None = None,
    language_code: str | None = "fr",
    chat_id: int | None = None,
) -> JSONDict:
    """A shared contact. By default it is the sender's own (``contact.user_id == user_id``,
    what a ``request_contact`` button sends); pass another id, or ``None`` for a contact card
    that is not linked to a Telegram account."""
    contact: JSONDict = {"phone_number": phone_number, "first_name": first_name}
    if last_name:
        contact["last_name"] = last_name
    linked = user_id if contact_user_id == "sender" else contact_user_id
    if linked is not None:
        contact["user_id"] = linked
    return {
        "update_id": next_update_id(),
        "message": _message(
            user_id,
            first_name=first_name,
            language_code=language_code,
            chat_id=chat_id,
            contact=contact,
        ),
    }


def location_update(
    user_id: int,
    latitude: float = DEFAULT_LOCATION[0],
    longitude: float = DEFAULT_LOCATION[1],
    *,
    first_name: str = "Amina",
    language_code: str | None = "fr",
    chat_id: int | None = None,
) -> JSONDict:
    """A shared location (Casablanca by default)."""
    return {
        "update_id": next_update_id(),
        "message": _message(
            user_id,
            first_name=first_name,
            language_code=language_code,
            chat_id=chat_id,
            location={"latitude": latitude, "longitude": longitude},
        ),
    }


def photo_update(
    user_id: int,
    *,
    caption: str | None = None,
    file_id: str | None = None,
    width: int = 1280,
    height: int = 960,
    first_name: str = "Amina",
    language_code: str | None = "fr",
    chat_id: int | None = None,
) -> JSONDict:
    """A photo, in the sizes Telegram sends (smallest first; ``photo[-1]`` is the largest)."""
    big_id, big_unique = _file_id("AgACAgQAAxkBAAIB") if file_id is None else (file_id, file_id)
    sizes = [
        {
            "file_id": f"{big_id}-s",
            "file_unique_id": f"{big_unique}s",
            "width": 90,
            "height": max(1, height * 90 // width),
            "file_size": 1_500,
        },
        {
            "file_id": big_id,
            "file_unique_id": big_unique,
            "width": width,
            "height": height,
            "file_size": 120_000,
        },
    ]
    extra: JSONDict = {"photo": sizes}
    if caption:
        extra["caption"] = caption
    return {
        "update_id": next_update_id(),
        "message": _message(
            user_id,
            first_name=first_name,
            language_code=language_code,
            chat_id=chat_id,
            **extra,
        ),
    }


def voice_update(
    user_id: int,
    *,
    duration: int = 4,
    file_id: str | None = None,
    mime_type: str = "audio/ogg",
    file_size: int = 12_000,
    first_name: str = "Amina",
    language_code: str | None = "fr",
    chat_id: int | None = None,
) -> JSONDict:
    """A voice note."""
    voice_id, unique = _file_id("AwACAgQAAxkBAAIC") if file_id is None else (file_id, file_id)
    voice = {
        "file_id": voice_id,
        "file_unique_id": unique,
        "duration": duration,
        "mime_type": mime_type,
        "file_size": file_size,
    }
    return {
        "update_id": next_update_id(),
        "message": _message(
            user_id,
            first_name=first_name,
            language_code=language_code,
            chat_id=chat_id,
            voice=voice,
        ),
    }


def document_update(
    user_id: int,
    *,
    file_name: str = "devis.pdf",
    mime_type: str = "application/pdf",
    file_id: str | None = None,
    file_size: int = 30_000,
    caption: str | None = None,
    first_name: str = "Amina",
    language_code: str | None = "fr",
    chat_id: int | None = None,
) -> JSONDict:
    """A document (file) sent by the user."""
    doc_id, unique = _file_id("BQACAgQAAxkBAAID") if file_id is None else (file_id, file_id)
    extra: JSONDict = {
        "document": {
            "file_id": doc_id,
            "file_unique_id": unique,
            "file_name": file_name,
            "mime_type": mime_type,
            "file_size": file_size,
        }
    }
    if caption:
        extra["caption"] = caption
    return {
        "update_id": next_update_id(),
        "message": _message(
            user_id,
            first_name=first_name,
            language_code=language_code,
            chat_id=chat_id,
            **extra,
        ),
    }


def my_chat_member_update(
    user_id: int,
    status: str = "kicked",
    *,
    old_status: str = "member",
    first_name: str = "Amina",
    language_code: str | None = "fr",
) -> JSONDict:
    """The bot's membership changed in the user's private chat: ``status="kicked"`` is what
    Telegram sends when the user blocks the bot, ``"member"`` when they restart it."""

    def member(member_status: str) -> JSONDict:
        data: JSONDict = {"user": bot_user(), "status": member_status}
        if member_status == "kicked":
            data["until_date"] = 0
        return data

    return {
        "update_id": next_update_id(),
        "my_chat_member": {
            "chat": chat_dict(user_id, first_name=first_name),
            "from": user_dict(user_id, first_name=first_name, language_code=language_code),
            "date": _now(),
            "old_chat_member": member(old_status),
            "new_chat_member": member(status),
        },
    }


def edited_message_update(
    user_id: int,
    text: str,
    *,
    message_id: int | None = None,
    first_name: str = "Amina",
    language_code: str | None = "fr",
    chat_id: int | None = None,
) -> JSONDict:
    """The user edited one of their text messages (``message_id``: which one)."""
    message = _message(
        user_id,
        first_name=first_name,
        language_code=language_code,
        chat_id=chat_id,
        message_id=message_id,
        text=text,
    )
    message["date"] = _now() - 60
    message["edit_date"] = _now()
    return {"update_id": next_update_id(), "edited_message": message}


def as_update(data: JSONDict, bot: Bot | None = None) -> Update:
    """Turn an update dict into ``telegram.Update`` (bound to ``bot`` so shortcuts such as
    ``update.message.reply_text`` work)."""
    return Update.de_json(data, bot)


def topic_update(
    user_id: int,
    group_id: int,
    thread_id: int,
    *,
    text: str | None = None,
    voice_file_id: str | None = None,
    first_name: str = "Karim",
    language_code: str | None = "fr",
) -> JSONDict:
    """A staff member's message in a topic of a forum supergroup (``message_thread_id`` set and
    ``is_topic_message`` true, as Telegram sends them): text, or a voice note."""
    content: JSONDict = {"message_thread_id": thread_id, "is_topic_message": True}
    if voice_file_id is not None:
        content["voice"] = {"file_id": voice_file_id, "file_unique_id": f"U{voice_file_id}",
                            "duration": 3, "mime_type": "audio/ogg", "file_size": 9_000}
    else:
        content["text"] = text or "…"
    message = _message(user_id, first_name=first_name, language_code=language_code,
                       chat_id=group_id, **content)
    message["chat"] = {"id": group_id, "type": "supergroup", "title": "Staff", "is_forum": True}
    return {"update_id": next_update_id(), "message": message}
