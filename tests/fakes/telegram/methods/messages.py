"""Text messages: ``sendMessage``, ``sendLocation``, ``editMessageText``, and :func:`send`, the
common tail of every method that sends a message (block list, topic, flood limits, record)."""

from __future__ import annotations

import copy
from typing import Any

from tests.fakes.telegram.errors import NOT_MODIFIED, bad_request
from tests.fakes.telegram.html import render
from tests.fakes.telegram.identity import bot_user
from tests.fakes.telegram.limits import MAX_CAPTION_LENGTH, MAX_TEXT_LENGTH, utf16_len
from tests.fakes.telegram.markup import reply_markup
from tests.fakes.telegram.params import as_float, as_int, chat_id, opt_str
from tests.fakes.telegram.state import SentMessage, State

JSONDict = dict[str, Any]


def text_of(state: State, params: JSONDict) -> tuple[str, str, list[JSONDict]]:
    """Check ``text`` + ``parse_mode``: (as sent, as the user sees it, entities)."""
    raw = opt_str(params, "text") or ""
    plain, entities = render(
        raw, opt_str(params, "parse_mode"), strict_ampersand=state.strict_html_ampersand
    )
    if not plain.strip():
        raise bad_request("message text is empty")
    if utf16_len(plain) > MAX_TEXT_LENGTH:
        raise bad_request("message is too long")
    return raw, plain, entities


def caption_of(state: State, params: JSONDict) -> tuple[str | None, str | None, list[JSONDict]]:
    """Check an optional ``caption`` + ``parse_mode``: (as sent, as seen, entities)."""
    raw = opt_str(params, "caption")
    if not raw:
        return None, None, []
    plain, entities = render(
        raw, opt_str(params, "parse_mode"), strict_ampersand=state.strict_html_ampersand
    )
    if utf16_len(plain) > MAX_CAPTION_LENGTH:
        raise bad_request("message caption is too long")
    return raw, plain, entities


def with_caption(content: JSONDict, plain: str | None, entities: list[JSONDict]) -> JSONDict:
    """Add ``caption`` and ``caption_entities`` to a media ``Message`` part, when there are."""
    if plain:
        content["caption"] = plain
    if entities:
        content["caption_entities"] = entities
    return content


def send(
    state: State,
    method: str,
    params: JSONDict,
    chat: int,
    content: JSONDict,
    *,
    text: str | None,
    plain_text: str | None,
    markup: JSONDict | None,
    document: bytes | None = None,
    filename: str | None = None,
    mime_type: str | None = None,
    location: tuple[float, float] | None = None,
) -> JSONDict:
    """Deliver a message whose parameters were checked: 403 if the user blocked the bot, 400 for
    an unknown topic, 429 over the flood limits; else build the ``Message``, record it and
    return it."""
    state.check_blocked(chat)
    thread = _thread(state, params, chat)
    now = state.time()
    state.flood.check(chat, now)
    message_id = state.next_message_id(chat)
    message: JSONDict = {
        "message_id": message_id,
        "from": bot_user(),
        "chat": state.chat(chat),
        "date": int(state.wall_time()),
    }
    if thread is not None:
        message["message_thread_id"] = thread
        message["is_topic_message"] = True
    message.update(content)
    # Telegram only echoes inline keyboards: a Message carries no reply keyboard.
    if markup is not None and "inline_keyboard" in markup:
        message["reply_markup"] = copy.deepcopy(markup)
    state.flood.count(chat, now)
    record = SentMessage(
        method=method,
        chat_id=chat,
        message_id=message_id,
        text=text,
        parse_mode=opt_str(params, "parse_mode") or None,
        reply_markup=markup,
        document=document,
        filename=filename,
        mime_type=mime_type,
        location=location,
        at=now,
        plain_text=plain_text,
        params=params,
        message=message,
    )
    state.sent.append(record)
    state.messages[(chat, message_id)] = message
    state.bot_messages[(chat, message_id)] = record
    return message


def _thread(state: State, params: JSONDict, chat: int) -> int | None:
    """Check ``message_thread_id``: only forum supergroups have topics, and it must exist."""
    value = params.get("message_thread_id")
    if value in (None, ""):
        return None
    thread = as_int(value, "message_thread_id")
    if thread not in state.topics.get(chat, {}):
        raise bad_request("message thread not found")
    return thread


def send_message(state: State, params: JSONDict) -> JSONDict:
    chat = chat_id(params)
    raw, plain, entities = text_of(state, params)
    markup = reply_markup(params)
    content: JSONDict = {"text": plain}
    if entities:
        content["entities"] = entities
    return send(state, "sendMessage", params, chat, content,
                text=raw, plain_text=plain, markup=markup)


def send_location(state: State, params: JSONDict) -> JSONDict:
    chat = chat_id(params)
    latitude = as_float(params.get("latitude"))
    longitude = as_float(params.get("longitude"))
    if latitude is None or not -90 <= latitude <= 90:
        raise bad_request("wrong latitude specified")
    if longitude is None or not -180 <= longitude <= 180:
        raise bad_request("wrong longitude specified")
    content = {"location": {"latitude": latitude, "longitude": longitude}}
    return send(state, "sendLocation", params, chat, content, text=None, plain_text=None,
                markup=reply_markup(params), location=(latitude, longitude))


def edit_message_text(state: State, params: JSONDict) -> JSONDict:
    """Replace the text (and inline keyboard: none given removes it) of a bot message.
    400 if nothing would change (``message is not modified``), as Telegram answers."""
    raw, plain, entities = text_of(state, params)
    markup = reply_markup(params)
    inline = markup if markup and "inline_keyboard" in markup else None
    chat = chat_id(params)
    if params.get("message_id") in (None, ""):
        raise bad_request("message identifier is not specified")
    message_id = as_int(params["message_id"], "message_id")
    state.check_blocked(chat)
    message = state.messages.get((chat, message_id))
    if message is None:
        raise bad_request("message to edit not found")
    record = state.bot_messages.get((chat, message_id))
    if record is None:
        raise bad_request("message can't be edited")
    if "text" not in message:
        raise bad_request("there is no text in the message to edit")

    updated = copy.deepcopy(message)
    for key, value in (("text", plain), ("entities", entities), ("reply_markup", inline)):
        if value is None or value == []:
            updated.pop(key, None)
        else:
            updated[key] = value
    if updated == message:
        raise bad_request(NOT_MODIFIED)
    updated["edit_date"] = int(state.wall_time())
    record.edits.append(
        {
            "text": record.text,
            "plain_text": record.plain_text,
            "parse_mode": record.parse_mode,
            "reply_markup": record.reply_markup,
            "at": record.at,
        }
    )
    record.text, record.plain_text = raw, plain
    record.parse_mode = opt_str(params, "parse_mode") or None
    record.reply_markup = inline
    record.message = updated
    state.messages[(chat, message_id)] = updated
    state.edits.append(
        {
            "method": "editMessageText",
            "chat_id": chat,
            "message_id": message_id,
            "text": raw,
            "reply_markup": inline,
            "at": state.time(),
        }
    )
    return updated
