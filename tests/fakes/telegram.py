"""An offline, in-memory fake of the Telegram Bot API for Hirfa's tests.

Nothing here talks to Telegram. There are three layers; pick the one your test needs:

``FakeBotAPI``
    The fake *server*: plain Python with no I/O. ``handle(method, params)`` answers like
    ``api.telegram.org`` would, with an HTTP status and a JSON body of the form
    ``{"ok": true, "result": ...}`` or ``{"ok": false, "error_code": 400, "description": ...}``.
    It records what the bot sent (``sent``, ``calls``, ``commands``, ...), checks requests the way
    Telegram does (message length, HTML, ``callback_data``, ...), and lets a test queue incoming
    updates (``push_update``), block a chat, turn on flood limits or inject failures.

``FakeRequest``
    A python-telegram-bot transport (a ``telegram.request.BaseRequest``) that hands every
    request to a ``FakeBotAPI`` in-process. This is what most tests use::

        api = FakeBotAPI()
        app = (
            ApplicationBuilder()
            .token(TOKEN)
            .request(FakeRequest(api))
            .get_updates_request(FakeRequest(api))
            .updater(None)
            .build()
        )
        async with app:
            await app.process_update(as_update(text_update(42, "salam"), app.bot))
        assert api.texts_to(42) == ["..."]

``FakeBotAPIServer``
    The same ``FakeBotAPI`` served over real HTTP on 127.0.0.1 (for end-to-end tests that start
    the bot in a subprocess). Point ``HIRFA_TELEGRAM__API_URL`` (or PTB's ``base_url``) at
    ``server.base_url``.

Where the fake knowingly differs from Telegram:

* With ``parse_mode="HTML"`` a lone ``&`` (one that does not start ``&amp;``, ``&lt;``, ``&gt;``,
  ``&quot;`` or ``&#NN;``) is rejected. Real Telegram lets it through, but a lone ``&`` almost
  always means user text was interpolated without ``html.escape`` (and the next user who types
  ``<`` breaks the message). Set ``api.strict_html_ampersand = False`` to behave like Telegram.
* Webhooks are recorded, never called. Tests of the webhook endpoint should POST updates to it
  themselves.
* Methods the fake does not know answer 404 "Not Found" like Telegram does for unknown methods,
  which PTB turns into ``telegram.error.InvalidToken``. If you see ``InvalidToken: Not Found`` in a
  test, the bot called a method this fake does not implement yet: add it here.
"""

from __future__ import annotations

import asyncio
import copy
import email.message
import hashlib
import itertools
import json
import math
import mimetypes
import re
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Final
from urllib.parse import parse_qsl, unquote, urlsplit

from telegram.error import NetworkError
from telegram.request import BaseRequest, RequestData

JSONDict = dict[str, Any]

# --------------------------------------------------------------------------------------------
# Identity of the fake bot
# --------------------------------------------------------------------------------------------

BOT_ID: Final = 123456
BOT_USERNAME: Final = "hirfa_test_bot"
BOT_FIRST_NAME: Final = "Hirfa"
TOKEN: Final = f"{BOT_ID}:TEST"
"""A token that matches the fake bot's id; any well-formed token is accepted unless the
``FakeBotAPI`` was built with ``token=...``."""


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


# --------------------------------------------------------------------------------------------
# Telegram limits (https://core.telegram.org/bots/api and observed behaviour)
# --------------------------------------------------------------------------------------------

MAX_TEXT_LENGTH: Final = 4096  # UTF-16 code units, after entity parsing
MAX_CAPTION_LENGTH: Final = 1024
MAX_CALLBACK_DATA_BYTES: Final = 64
MAX_INLINE_BUTTONS: Final = 100
MAX_CALLBACK_ANSWER_LENGTH: Final = 200
MAX_UPLOAD_BYTES: Final = 50 * 1024 * 1024

SEND_METHODS: Final = frozenset(
    {"sendmessage", "senddocument", "sendphoto", "sendvoice", "sendlocation"}
)
# createForumTopic's allowed icon colours (RGB), as the Bot API lists them.
TOPIC_ICON_COLORS: Final = (0x6FB9F0, 0xFFD67E, 0xCB86DB, 0x8EEE98, 0xFF93B2, 0xFB6F5F)
MAX_TOPIC_NAME: Final = 128
"""Lower-cased methods that create a message; these are what the flood limits count."""

CHAT_ACTIONS: Final = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)

_NOT_MODIFIED: Final = (
    "Bad Request: message is not modified: specified new message content and reply markup are "
    "exactly the same as a current content and reply markup of the message"
)
_QUERY_TOO_OLD: Final = (
    "Bad Request: query is too old and response timeout expired or query ID is invalid"
)
_WEBHOOK_CONFLICT: Final = (
    "Conflict: can't use getUpdates method while webhook is active; "
    "use deleteWebhook to delete the webhook first"
)


def utf16_len(text: str) -> int:
    """Length of ``text`` the way Telegram counts it: in UTF-16 code units (emoji count 2)."""
    return len(text.encode("utf-16-le")) // 2


# --------------------------------------------------------------------------------------------
# Records
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class UploadedFile:
    """A file that arrived as a multipart part (``InputFile`` on the PTB side)."""

    filename: str
    content: bytes
    mime_type: str | None = None


@dataclass
class StoredFile:
    """A file the fake server knows, by ``file_id``: uploaded by the bot or added by a test."""

    file_id: str
    file_unique_id: str
    content: bytes
    filename: str | None = None
    mime_type: str | None = None
    file_path: str = ""


@dataclass
class SentMessage:
    """One message the bot sent successfully (rejected requests are never recorded).

    ``text`` is the text or caption *as the bot sent it* (with its HTML tags, if any);
    ``plain_text`` is what the user sees after Telegram parsed the markup. Both follow later
    edits; the earlier versions are kept in ``edits``. ``document`` holds the bytes of an uploaded
    document or photo. ``message`` is the ``Message`` JSON as Telegram returned it to the bot.
    """

    method: str
    chat_id: int
    message_id: int
    text: str | None
    parse_mode: str | None
    reply_markup: JSONDict | None
    document: bytes | None = None
    filename: str | None = None
    mime_type: str | None = None
    location: tuple[float, float] | None = None
    at: float = 0.0
    plain_text: str | None = None
    params: JSONDict = field(default_factory=dict)
    message: JSONDict = field(default_factory=dict)
    edits: list[JSONDict] = field(default_factory=list)
    deleted: bool = False

    @property
    def caption(self) -> str | None:
        """The caption of a document or photo (``None`` for text and location messages)."""
        return self.text if self.method in ("sendDocument", "sendPhoto", "sendVoice") else None

    @property
    def thread_id(self) -> int | None:
        """The forum topic the message went to (``message_thread_id``), if any."""
        value = self.message.get("message_thread_id")
        return int(value) if value is not None else None

    @property
    def buttons(self) -> list[tuple[str, str | None]]:
        """Shortcut for :meth:`FakeBotAPI.buttons`."""
        return buttons_of(self.reply_markup)


def buttons_of(markup: JSONDict | SentMessage | None) -> list[tuple[str, str | None]]:
    """Flatten a keyboard into ``[(label, data), ...]``, row by row.

    For an inline keyboard ``data`` is the ``callback_data`` (``None`` for URL buttons and the
    like). For a reply keyboard it is ``"request_contact"`` / ``"request_location"`` when the
    button asks for it, else ``None``.
    """
    if isinstance(markup, SentMessage):
        markup = markup.reply_markup
    if not markup:
        return []
    result: list[tuple[str, str | None]] = []
    for row in markup.get("inline_keyboard") or []:
        for button in row:
            result.append((str(button.get("text", "")), button.get("callback_data")))
    for row in markup.get("keyboard") or []:
        for button in row:
            if isinstance(button, str):  # Telegram accepts bare strings as reply buttons
                result.append((button, None))
            elif button.get("request_contact"):
                result.append((str(button.get("text", "")), "request_contact"))
            elif button.get("request_location"):
                result.append((str(button.get("text", "")), "request_location"))
            else:
                result.append((str(button.get("text", "")), None))
    return result


class ApiError(Exception):
    """A Telegram error answer; raised inside the fake and turned into a JSON body."""

    def __init__(self, status: int, description: str, *, retry_after: int | None = None):
        super().__init__(description)
        self.status = status
        self.description = description
        self.retry_after = retry_after

    def body(self) -> JSONDict:
        """The JSON body Telegram would send for this error."""
        body: JSONDict = {"ok": False, "error_code": self.status, "description": self.description}
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


def _bad_request(reason: str) -> ApiError:
    return ApiError(400, f"Bad Request: {reason}")


def _parse_error(reason: str) -> ApiError:
    return _bad_request(f"can't parse entities: {reason}")


@dataclass
class _Injected:
    method: str  # lower-cased, or "*" for any method
    status: int
    description: str
    retry_after: int | None
    remaining: int


@dataclass
class _Limits:
    global_per_second: int
    per_chat_per_second: int
    window: float


@dataclass
class _Result:
    """A handler result with the optional top-level ``description`` Telegram sometimes adds."""

    value: Any
    description: str | None = None


# --------------------------------------------------------------------------------------------
# Markup parsing (HTML, MarkdownV2, Markdown): returns the plain text and its entities
# --------------------------------------------------------------------------------------------

_HTML_TAGS: Final = frozenset(
    {
        "a",
        "b",
        "strong",
        "i",
        "em",
        "u",
        "ins",
        "s",
        "strike",
        "del",
        "code",
        "pre",
        "tg-spoiler",
        "tg-emoji",
        "span",
        "blockquote",
    }
)
_HTML_ENTITY_TYPES: Final = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
    "a": "text_link",
}


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode("utf-8"))


def _decode_html_entity(text: str, pos: int) -> tuple[str | None, int]:
    """Decode ``&...;`` at ``pos`` like Telegram (tdlib ``decode_html_entity``).

    Returns ``(character, end)`` or ``(None, pos)`` if this ``&`` does not start an entity.
    """
    end = pos + 1
    if text.startswith("#", end):
        end += 1
        if text.startswith("x", end):
            end += 1
            start = end
            while end < len(text) and text[end] in "0123456789abcdefABCDEF":
                end += 1
            digits = text[start:end]
            code = int(digits, 16) if digits else 0
        else:
            start = end
            while end < len(text) and text[end].isascii() and text[end].isdigit():
                end += 1
            digits = text[start:end]
            code = int(digits) if digits else 0
        if code == 0 or code >= 0x10FFFF or end - pos >= 10:
            return None, pos
        if 0xD800 <= code <= 0xDFFF:
            raise _parse_error(
                "Text contains invalid Unicode characters after decoding HTML entities, "
                "check for unmatched surrogate code units"
            )
        char = chr(code)
    else:
        while end < len(text) and text[end].isascii() and text[end].isalpha():
            end += 1
        named = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}.get(text[pos + 1 : end])
        if named is None:
            return None, pos
        char = named
    if text.startswith(";", end):
        end += 1
    return char, end


def parse_html(text: str, *, strict_ampersand: bool = True) -> tuple[str, list[JSONDict]]:
    """Parse Telegram-flavoured HTML into ``(plain_text, entities)``.

    Follows tdlib's ``parse_html`` (the code behind the Bot API), including its error messages,
    e.g. ``Unsupported start tag "p" at byte offset 0``. Raises :class:`ApiError` (400).
    """
    out: list[str] = []
    u16 = 0
    entities: list[JSONDict] = []
    # (tag, argument, utf16 offset where it started, index into ``out`` where it started)
    stack: list[tuple[str, str, int, int]] = []
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        if char == "&":
            decoded, end = _decode_html_entity(text, i)
            if decoded is not None:
                out.append(decoded)
                u16 += utf16_len(decoded)
                i = end
                continue
            if strict_ampersand:
                raise _parse_error(
                    f'Unescaped "&" at byte offset {_byte_offset(text, i)}; write it as &amp; '
                    "(the fake is stricter than Telegram here, see tests/fakes/telegram.py)"
                )
        if char != "<":
            out.append(char)
            u16 += utf16_len(char)
            i += 1
            continue

        begin = i
        i += 1
        if not text.startswith("/", i):
            while i < n and not text[i].isspace() and text[i] != ">":
                i += 1
            if i >= n:
                raise _parse_error(f"Unclosed start tag at byte offset {_byte_offset(text, begin)}")
            tag = text[begin + 1 : i].lower()
            where = f"at byte offset {_byte_offset(text, begin)}"
            if tag not in _HTML_TAGS:
                raise _parse_error(f'Unsupported start tag "{tag}" {where}')
            argument = ""
            while True:
                while i < n and text[i].isspace():
                    i += 1
                if i >= n:
                    raise _parse_error(f"Unclosed start tag {where}")
                if text[i] == ">":
                    break
                attr_begin = i
                while i < n and not text[i].isspace() and text[i] not in "=>":
                    i += 1
                attr = text[attr_begin:i].lower()
                if not attr:
                    raise _parse_error(f'Empty attribute name in the tag "{tag}" {where}')
                while i < n and text[i].isspace():
                    i += 1
                if i >= n:
                    raise _parse_error(f"Unclosed start tag {where}")
                if text[i] != "=":
                    if tag == "blockquote" and attr == "expandable":
                        continue
                    raise _parse_error(
                        f'Expected equal sign in declaration of an attribute of the tag "{tag}" '
                        f"{where}"
                    )
                i += 1
                while i < n and text[i].isspace():
                    i += 1
                if i >= n:
                    raise _parse_error(f'Unclosed start tag "{tag}" {where}')
                if text[i] in "'\"":
                    quote = text[i]
                    i += 1
                    value_chars: list[str] = []
                    while i < n and text[i] != quote:
                        if text[i] == "&":
                            decoded, end = _decode_html_entity(text, i)
                            if decoded is not None:
                                value_chars.append(decoded)
                                i = end
                                continue
                        value_chars.append(text[i])
                        i += 1
                    if i >= n:
                        raise _parse_error(f"Unclosed start tag {where}")
                    i += 1
                    value = "".join(value_chars)
                else:
                    token_begin = i
                    while i < n and (text[i].isalnum() or text[i] in ".-"):
                        i += 1
                    value = text[token_begin:i].lower()
                    if i < n and not text[i].isspace() and text[i] != ">":
                        raise _parse_error(
                            "Unexpected end of name token at byte offset "
                            f"{_byte_offset(text, token_begin)}"
                        )
                if tag == "a" and attr == "href":
                    argument = value
                elif tag == "code" and attr == "class" and value.startswith("language-"):
                    argument = value[len("language-") :]
                elif tag == "span" and attr == "class" and value.startswith("tg-"):
                    argument = value[len("tg-") :]
                elif tag == "tg-emoji" and attr == "emoji-id":
                    argument = value
            i += 1  # the ">"
            if tag == "span" and argument != "spoiler":
                raise _parse_error(f'Tag "span" must have class "tg-spoiler" {where}')
            stack.append((tag, argument, u16, len(out)))
            continue

        # an end tag
        if not stack:
            raise _parse_error(f"Unexpected end tag at byte offset {_byte_offset(text, begin)}")
        i += 1  # the "/"
        name_begin = i
        while i < n and not text[i].isspace() and text[i] != ">":
            i += 1
        end_tag = text[name_begin:i].lower()
        while i < n and text[i].isspace():
            i += 1
        if i >= n or text[i] != ">":
            raise _parse_error(f"Unclosed end tag at byte offset {_byte_offset(text, begin)}")
        i += 1
        tag, argument, start, out_start = stack[-1]
        if end_tag and end_tag != tag:
            raise _parse_error(
                f"Unmatched end tag at byte offset {_byte_offset(text, begin)}, "
                f'expected "</{tag}>", found "</{end_tag}>"'
            )
        stack.pop()
        length = u16 - start
        if length <= 0:
            continue
        entity: JSONDict = {"type": _HTML_ENTITY_TYPES[tag], "offset": start, "length": length}
        if tag == "a":
            entity["url"] = argument or "".join(out[out_start:])
        elif tag == "tg-emoji":
            if not argument.isdigit() or int(argument) == 0:
                raise _bad_request("Invalid custom emoji identifier specified")
            entity["custom_emoji_id"] = argument
        elif tag == "code" and argument:
            entity["language"] = argument  # only kept when wrapped in <pre>, see below
        elif tag == "pre" and entities:
            last = entities[-1]
            if (
                last["type"] == "code"
                and last["offset"] == start
                and last["length"] == length
                and last.get("language")
            ):
                entities.pop()
                entity["language"] = last["language"]
        entities.append(entity)
    if stack:
        raise _parse_error(f'Can\'t find end tag corresponding to start tag "{stack[-1][0]}"')
    for entity in entities:
        if entity["type"] == "code":
            entity.pop("language", None)
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return "".join(out), entities


_MDV2_RESERVED: Final = frozenset("_*[]()~`>#+-=|{}.!")
_MDV2_NAMES: Final = {
    "*": "Bold",
    "_": "Italic",
    "__": "Underline",
    "~": "Strikethrough",
    "||": "Spoiler",
    "[": "TextUrl",
    "![": "CustomEmoji",
}
_MDV2_TYPES: Final = {
    "*": "bold",
    "_": "italic",
    "__": "underline",
    "~": "strikethrough",
    "||": "spoiler",
}


def parse_markdown_v2(text: str) -> tuple[str, list[JSONDict]]:
    """Parse ``parse_mode="MarkdownV2"`` into ``(plain_text, entities)``.

    Covers what bots actually trip over: every one of ``_*[]()~`>#+-=|{}.!`` that is not markup
    must be escaped with ``\\`` (error ``Character '.' is reserved and must be escaped with the
    preceding '\\'``), and every entity must be closed (``Can't find end of Bold entity at byte
    offset N``). Raises :class:`ApiError` (400).
    """
    out: list[str] = []
    u16 = 0
    entities: list[JSONDict] = []
    stack: list[tuple[str, int, int]] = []  # (marker, utf16 offset, index in text)
    quote_start: int | None = None
    i, n = 0, len(text)

    def close_quote() -> None:
        nonlocal quote_start
        if quote_start is not None and u16 > quote_start:
            entities.append(
                {"type": "blockquote", "offset": quote_start, "length": u16 - quote_start}
            )
        quote_start = None

    while i < n:
        char = text[i]
        if char == "\\" and i + 1 < n and 0 < ord(text[i + 1]) <= 126:
            out.append(text[i + 1])
            u16 += 1
            i += 2
            continue
        if char == "\n" and quote_start is not None and not text.startswith(">", i + 1):
            close_quote()
        if char == "`":
            marker = "```" if text.startswith("```", i) else "`"
            j = i + len(marker)
            chunk: list[str] = []
            while j < n and not text.startswith(marker, j):
                if text[j] == "\\" and j + 1 < n and text[j + 1] in "`\\":
                    chunk.append(text[j + 1])
                    j += 2
                    continue
                chunk.append(text[j])
                j += 1
            if j >= n:
                kind = "Pre" if marker == "```" else "Code"
                raise _parse_error(
                    f"Can't find end of {kind} entity at byte offset {_byte_offset(text, i)}"
                )
            content = "".join(chunk)
            entity: JSONDict = {"type": "pre" if marker == "```" else "code", "offset": u16}
            if marker == "```":
                first, newline, rest = content.partition("\n")
                if newline and first and not any(c.isspace() for c in first):
                    entity["language"] = first
                    content = rest
            out.append(content)
            entity["length"] = utf16_len(content)
            if entity["length"]:
                entities.append(entity)
            u16 += entity["length"]
            i = j + len(marker)
            continue
        marker_found: str | None = None
        if char == "_":
            marker_found = "__" if text.startswith("__", i) else "_"
        elif char in "*~":
            marker_found = char
        elif text.startswith("||", i):
            marker_found = "||"
        if marker_found is not None:
            if marker_found == "__" and stack and stack[-1][0] == "_":
                marker_found = "_"
            if stack and stack[-1][0] == marker_found:
                _, start, _ = stack.pop()
                if u16 > start:
                    entities.append(
                        {"type": _MDV2_TYPES[marker_found], "offset": start, "length": u16 - start}
                    )
                i += len(marker_found)
                continue
            if any(open_marker == marker_found for open_marker, _, _ in stack):
                open_marker, _, pos = stack[-1]
                raise _parse_error(
                    f"Can't find end of {_MDV2_NAMES[open_marker]} entity at byte offset "
                    f"{_byte_offset(text, pos)}"
                )
            stack.append((marker_found, u16, i))
            i += len(marker_found)
            continue
        if char == "[" or text.startswith("![", i):
            opener = "[" if char == "[" else "!["
            stack.append((opener, u16, i))
            i += len(opener)
            continue
        if char == "]" and stack and stack[-1][0] in ("[", "!["):
            opener, start, _ = stack.pop()
            i += 1
            url = ""
            if text.startswith("(", i):
                j = i + 1
                url_chars: list[str] = []
                while j < n and text[j] != ")":
                    if text[j] == "\\" and j + 1 < n and 0 < ord(text[j + 1]) <= 126:
                        url_chars.append(text[j + 1])
                        j += 2
                        continue
                    url_chars.append(text[j])
                    j += 1
                if j >= n:
                    raise _parse_error(
                        f"Can't find end of a URL at byte offset {_byte_offset(text, i)}"
                    )
                url = "".join(url_chars)
                i = j + 1
            if opener == "![":
                if not url.startswith("tg://emoji?id="):
                    raise _parse_error("Custom emoji entity must contain a tg://emoji URL")
                if u16 > start:
                    entities.append(
                        {
                            "type": "custom_emoji",
                            "offset": start,
                            "length": u16 - start,
                            "custom_emoji_id": url.removeprefix("tg://emoji?id="),
                        }
                    )
            elif u16 > start:
                link = url or "".join(out)[-(u16 - start) :]
                entities.append(
                    {"type": "text_link", "offset": start, "length": u16 - start, "url": link}
                )
            continue
        if char == ">" and (i == 0 or text[i - 1] == "\n"):
            if quote_start is None:
                quote_start = u16
            i += 1
            continue
        if char in _MDV2_RESERVED:
            raise _parse_error(
                f"Character '{char}' is reserved and must be escaped with the preceding '\\'"
            )
        out.append(char)
        u16 += utf16_len(char)
        i += 1
    if stack:
        open_marker, _, pos = stack[-1]
        raise _parse_error(
            f"Can't find end of {_MDV2_NAMES[open_marker]} entity at byte offset "
            f"{_byte_offset(text, pos)}"
        )
    close_quote()
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return "".join(out), entities


def parse_markdown(text: str) -> tuple[str, list[JSONDict]]:
    """Parse legacy ``parse_mode="Markdown"``: ``*bold*``, ``_italic_``, `` `code` ``,
    ```` ```pre``` ```` and ``[text](url)``, no nesting. Raises :class:`ApiError` (400)."""
    out: list[str] = []
    u16 = 0
    entities: list[JSONDict] = []
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        if char == "\\" and i + 1 < n and text[i + 1] in "_*`[":
            out.append(text[i + 1])
            u16 += 1
            i += 2
            continue
        if char not in "_*`[":
            out.append(char)
            u16 += utf16_len(char)
            i += 1
            continue
        unclosed = _parse_error(
            f"Can't find end of the entity starting at byte offset {_byte_offset(text, i)}"
        )
        entity: JSONDict
        if char == "[":
            close = text.find("]", i + 1)
            if close == -1:
                raise unclosed
            inner = text[i + 1 : close]
            url = ""
            end = close + 1
            if text.startswith("(", end):
                url_end = text.find(")", end + 1)
                if url_end == -1:
                    raise unclosed
                url = text[end + 1 : url_end]
                end = url_end + 1
            entity = {"type": "text_link", "url": url or inner}
        elif text.startswith("```", i):
            close = text.find("```", i + 3)
            if close == -1:
                raise unclosed
            inner = text[i + 3 : close]
            entity = {"type": "pre"}
            first, newline, rest = inner.partition("\n")
            if newline and first and not any(c.isspace() for c in first):
                entity["language"] = first
                inner = rest
            end = close + 3
        else:
            close = text.find(char, i + 1)
            if close == -1:
                raise unclosed
            inner = text[i + 1 : close]
            entity = {"type": {"*": "bold", "_": "italic", "`": "code"}[char]}
            end = close + 1
        length = utf16_len(inner)
        if length:
            entity.update(offset=u16, length=length)
            entities.append(entity)
        out.append(inner)
        u16 += length
        i = end
    return "".join(out), entities


def render(
    text: str, parse_mode: str | None, *, strict_ampersand: bool = True
) -> tuple[str, list[JSONDict]]:
    """Apply ``parse_mode`` like Telegram; returns ``(plain_text, entities)`` or raises 400."""
    if not parse_mode:
        return text, []
    mode = parse_mode.lower()
    if mode == "html":
        return parse_html(text, strict_ampersand=strict_ampersand)
    if mode == "markdownv2":
        return parse_markdown_v2(text)
    if mode == "markdown":
        return parse_markdown(text)
    raise _bad_request("unsupported parse_mode")


# --------------------------------------------------------------------------------------------
# Parameter decoding: values arrive as JSON natives (JSON bodies, RequestData.parameters) or as
# strings (form bodies, RequestData.json_parameters, multipart parts); Telegram accepts both.
# --------------------------------------------------------------------------------------------


def _as_int(value: Any, name: str) -> int:
    if isinstance(value, bool):
        raise _bad_request(f"invalid {name} specified")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            pass
    raise _bad_request(f"invalid {name} specified")


def _as_float(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def _as_bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1")
    return bool(value)


def _as_json(value: Any, what: str) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            raise _bad_request(f"can't parse {what} JSON object") from None
    return value


def _opt_str(params: JSONDict, name: str) -> str | None:
    value = params.get(name)
    if value is None:
        return None
    return value if isinstance(value, str) else str(value)


# --------------------------------------------------------------------------------------------
# The fake server
# --------------------------------------------------------------------------------------------

_METHODS: Final = {
    name.lower(): name
    for name in (
        "getMe",
        "logOut",
        "close",
        "getUpdates",
        "setWebhook",
        "deleteWebhook",
        "getWebhookInfo",
        "sendMessage",
        "sendDocument",
        "sendPhoto",
        "sendVoice",
        "sendAudio",
        "sendLocation",
        "sendChatAction",
        "createForumTopic",
        "editMessageText",
        "editMessageCaption",
        "editMessageReplyMarkup",
        "deleteMessage",
        "answerCallbackQuery",
        "setMyCommands",
        "getMyCommands",
        "deleteMyCommands",
        "setMyDescription",
        "getMyDescription",
        "setMyShortDescription",
        "getMyShortDescription",
        "setMyName",
        "getMyName",
        "setChatMenuButton",
        "getChatMenuButton",
        "getChat",
        "getFile",
    )
}

_PNG_MAGIC: Final = b"\x89PNG\r\n\x1a\n"
_IMAGE_MAGICS: Final = (_PNG_MAGIC, b"\xff\xd8\xff", b"GIF87a", b"GIF89a", b"BM")


def _looks_like_image(content: bytes) -> bool:
    if content.startswith(_IMAGE_MAGICS):
        return True
    return content[:4] == b"RIFF" and content[8:12] == b"WEBP"


def _image_size(content: bytes) -> tuple[int, int]:
    if content.startswith(_PNG_MAGIC) and len(content) >= 24:
        return int.from_bytes(content[16:20], "big"), int.from_bytes(content[20:24], "big")
    return 800, 600


class FakeBotAPI:
    """In-memory Telegram Bot API: the server logic, independent of any transport.

    Thread-safe (one re-entrant lock around everything), so a test thread can push updates while
    :class:`FakeBotAPIServer` answers from its own threads.

    Args:
        time_fn: clock for the flood limits and ``SentMessage.at`` (monotonic seconds). Pass a
            function returning a value you control to test rate limiting deterministically.
        wall_time_fn: clock for the Unix ``date`` fields of messages.
        token: if given, requests carrying another token get 401 Unauthorized (PTB raises
            ``InvalidToken``). By default any token is accepted.

    What tests usually read:
        ``sent`` (list of :class:`SentMessage`), ``messages_to(chat_id)``, ``last_to(chat_id)``,
        ``texts_to(chat_id)``, ``buttons(msg)``, ``calls`` (every ``(method, params)`` received,
        except ``getUpdates`` unless ``record_polling`` is set), ``commands`` (default-scope
        commands by language code, ``""`` for none), ``scoped_commands``, ``webhook``,
        ``answered_callbacks``, ``chat_actions``, ``edits``, ``deleted``,
        ``too_many_requests``.

    What tests usually do:
        ``push_update(update)`` (or ``observe(update)`` before ``app.process_update``),
        ``click(msg, label)``, ``block(chat_id)``,
        ``enforce_limits(...)``, ``fail_next(...)``, ``fail_network_next(...)``,
        ``add_file(...)``.
    """

    def __init__(
        self,
        *,
        time_fn: Callable[[], float] = time.monotonic,
        wall_time_fn: Callable[[], float] = time.time,
        token: str | None = None,
    ) -> None:
        self._time = time_fn
        self._wall_time = wall_time_fn
        self.token = token
        self.strict_html_ampersand = True
        """Reject a lone ``&`` in HTML text (Telegram accepts it; see the module docstring)."""
        self.strict_webhook = True
        """Require an HTTPS webhook URL on port 443, 80, 88 or 8443, as Telegram does."""
        self.record_polling = False
        """Also record ``getUpdates`` in ``calls`` (off: a polling bot would flood the list)."""

        self.lock = threading.RLock()
        self._updates_changed = threading.Condition(self.lock)

        self.sent: list[SentMessage] = []
        self.calls: list[tuple[str, JSONDict]] = []
        self.commands: dict[str, list[JSONDict]] = {}
        self.scoped_commands: dict[tuple[str, str], list[JSONDict]] = {}
        self.webhook: JSONDict | None = None
        self.answered_callbacks: list[JSONDict] = []
        self.chat_actions: list[tuple[int, str]] = []
        self.menu_buttons: dict[int | None, JSONDict] = {}
        self.profile: dict[tuple[str, str], str] = {}
        self.edits: list[JSONDict] = []
        self.deleted: list[tuple[int, int]] = []
        self.blocked: set[int] = set()
        self.files: dict[str, StoredFile] = {}
        self.too_many_requests = 0
        self.topics: dict[int, dict[int, JSONDict]] = {}
        """Forum topics by chat id, then ``message_thread_id`` (``ForumTopic`` objects)."""

        self._updates: list[JSONDict] = []
        self._last_update_id = 0
        self._messages: dict[tuple[int, int], JSONDict] = {}
        self._bot_messages: dict[tuple[int, int], SentMessage] = {}
        self._last_message_id: dict[int, int] = {}
        self._chats: dict[int, JSONDict] = {}
        self._pending_callbacks: dict[str, JSONDict] = {}
        self._answered_ids: set[str] = set()
        self._limits: _Limits | None = None
        self._send_times: deque[tuple[float, int]] = deque()
        self._injected: list[_Injected] = []
        self._network_failures: list[list[Any]] = []  # [method lower-cased or None, remaining]
        self._file_counter = itertools.count(1)
        self._callback_counter = itertools.count(1)

    # ----------------------------------------------------------------------------------------
    # Entry point
    # ----------------------------------------------------------------------------------------

    def handle(
        self, method: str, params: JSONDict | None = None, *, token: str | None = None
    ) -> tuple[int, JSONDict]:
        """Answer one Bot API call.

        ``method`` is case-insensitive (``sendmessage`` works, as on Telegram). ``params`` may
        hold JSON natives or their string forms (``"123"``, ``"true"``, a JSON-encoded
        ``reply_markup``), and :class:`UploadedFile` values for multipart files. Returns the
        HTTP status and the JSON body.
        """
        params = dict(params or {})
        lower = method.lower()
        canonical = _METHODS.get(lower, method)
        with self.lock:
            if lower != "getupdates" or self.record_polling:
                self.calls.append((canonical, params))
            if self.token is not None and token is not None and token != self.token:
                return 401, {"ok": False, "error_code": 401, "description": "Unauthorized"}
            if lower not in _METHODS:
                return 404, {"ok": False, "error_code": 404, "description": "Not Found"}
            injected = self._take_injected(lower)
            if injected is not None:
                return injected.status, injected.body()
            try:
                result = getattr(self, f"_m_{lower}")(params)
            except ApiError as exc:
                return exc.status, exc.body()
            body: JSONDict = {"ok": True}
            if isinstance(result, _Result):
                body["result"] = copy.deepcopy(result.value)
                if result.description:
                    body["description"] = result.description
            else:
                body["result"] = copy.deepcopy(result)
            return 200, body

    # ----------------------------------------------------------------------------------------
    # Test controls
    # ----------------------------------------------------------------------------------------

    def push_update(self, update: JSONDict) -> JSONDict:
        """Queue an incoming update (a dict shaped like Telegram's, see ``tests/factories.py``).

        ``update_id`` is assigned if missing. The fake also learns from it: the chat (so replies
        echo the user's name), the message ids (so the bot's next message id is higher, as in a
        real private chat), the message itself (so the bot can reply to or edit it) and
        callback query ids (see :meth:`unanswered_callbacks`). Returns the queued update.
        """
        update = copy.deepcopy(update)
        with self.lock:
            if "update_id" not in update:
                update["update_id"] = self._last_update_id + 1
            self._last_update_id = max(self._last_update_id, int(update["update_id"]))
            self._learn(update)
            self._updates.append(update)
            self._updates_changed.notify_all()
        return update

    def observe(self, update: JSONDict) -> JSONDict:
        """Learn from ``update`` like :meth:`push_update` does, without queueing it.

        For tests that feed updates straight to ``app.process_update``: observing a
        ``callback_update(...)`` first lets the handler edit or delete the message under the
        button. Returns ``update`` unchanged, so it can wrap the factory call.
        """
        with self.lock:
            self._learn(copy.deepcopy(update))
        return update

    @property
    def pending_updates(self) -> list[JSONDict]:
        """Updates queued and not yet confirmed by a ``getUpdates`` offset."""
        with self.lock:
            return copy.deepcopy(self._updates)

    def make_forum(self, chat_id: int, title: str = "Staff") -> JSONDict:
        """A supergroup with topics enabled (``is_forum``) where the bot is an admin allowed to
        manage topics: what ``createForumTopic`` needs. Returns the ``Chat``."""
        chat = {"id": chat_id, "type": "supergroup", "title": title, "is_forum": True}
        with self.lock:
            self._chats[chat_id] = chat
            self.topics.setdefault(chat_id, {})
        return copy.deepcopy(chat)

    def in_topic(self, chat_id: int, thread_id: int) -> list[SentMessage]:
        """What the bot sent into one topic of a forum group, oldest first."""
        with self.lock:
            return [m for m in self.sent if m.chat_id == chat_id and m.thread_id == thread_id]

    def block(self, chat_id: int, *, notify: bool = False) -> None:
        """Make the user of ``chat_id`` block the bot: sends to it answer 403 Forbidden.

        With ``notify=True`` also queue the ``my_chat_member`` update (status ``kicked``)
        Telegram sends when a user blocks a bot.
        """
        with self.lock:
            self.blocked.add(chat_id)
            if notify:
                self.push_update(self._member_update(chat_id, old="member", new="kicked"))

    def unblock(self, chat_id: int, *, notify: bool = False) -> None:
        """Undo :meth:`block` (the user pressed Restart); ``notify`` queues ``my_chat_member``."""
        with self.lock:
            self.blocked.discard(chat_id)
            if notify:
                self.push_update(self._member_update(chat_id, old="kicked", new="member"))

    def enforce_limits(
        self, global_per_second: int = 30, per_chat_per_second: int = 1, window: float = 1.0
    ) -> None:
        """Switch on Telegram's flood limits (off by default).

        A sliding ``window`` over the sending methods (``sendMessage``, ``sendDocument``,
        ``sendPhoto``, ``sendLocation``; edits and callback answers don't count). A send that
        would make more than ``global_per_second`` messages in the window, or more than
        ``per_chat_per_second`` to one chat, gets 429 with ``parameters.retry_after`` (whole
        seconds, at least 1) and is not recorded. Each 429 increments ``too_many_requests``.
        """
        with self.lock:
            self._limits = _Limits(global_per_second, per_chat_per_second, window)
            self._send_times.clear()

    def disable_limits(self) -> None:
        """Switch the flood limits off again."""
        with self.lock:
            self._limits = None
            self._send_times.clear()

    def fail_next(
        self,
        method: str,
        status: int,
        description: str,
        retry_after: int | None = None,
        times: int = 1,
    ) -> None:
        """Answer the next ``times`` calls of ``method`` (``"*"`` for any) with an error.

        E.g. ``fail_next("sendMessage", 502, "Bad Gateway")`` or
        ``fail_next("sendMessage", 429, "Too Many Requests: retry after 3", retry_after=3)``.
        The failed call is recorded in ``calls`` but not in ``sent``.
        """
        with self.lock:
            key = "*" if method == "*" else method.lower()
            self._injected.append(_Injected(key, status, description, retry_after, times))

    def fail_network_next(self, times: int = 1, *, method: str | None = None) -> None:
        """Make the transport fail the next ``times`` requests (of ``method``, or any) as if the
        network were down: :class:`FakeRequest` raises ``telegram.error.NetworkError`` and
        :class:`FakeBotAPIServer` drops the connection without answering. The request never
        reaches the fake server (nothing is recorded)."""
        with self.lock:
            self._network_failures.append([method.lower() if method else None, times])

    def take_network_failure(self, method: str) -> bool:
        """For transports: should this request fail at the network level? Consumes one."""
        with self.lock:
            lower = method.lower()
            for entry in self._network_failures:
                if entry[0] in (None, lower) and entry[1] > 0:
                    entry[1] -= 1
                    if entry[1] == 0:
                        self._network_failures.remove(entry)
                    return True
            return False

    def add_file(
        self,
        content: bytes,
        *,
        file_id: str | None = None,
        filename: str | None = None,
        mime_type: str | None = None,
    ) -> str:
        """Make a file downloadable (``getFile`` + download) and re-sendable by ``file_id``.

        Use it to give real bytes to a ``file_id`` that appears in a pushed update (photos,
        voice notes, documents). Returns the ``file_id``.
        """
        with self.lock:
            return self._store_file(content, filename, mime_type, file_id=file_id).file_id

    def file_content(self, file_path: str) -> bytes | None:
        """Bytes served at ``<base_file_url><token>/<file_path>``, or ``None`` if unknown."""
        with self.lock:
            for stored in self.files.values():
                if stored.file_path == file_path:
                    return stored.content
            return None

    def click(
        self,
        message: SentMessage,
        button: str,
        *,
        user_id: int | None = None,
        first_name: str = "Amina",
        language_code: str = "fr",
    ) -> JSONDict:
        """Simulate the user pressing an inline button of ``message`` and queue the
        ``callback_query`` update. ``button`` is the label or the ``callback_data``.
        Returns the queued update."""
        data: str | None = None
        for label, callback_data in buttons_of(message.reply_markup if message else None):
            if button in (label, callback_data) and callback_data is not None:
                data = callback_data
                break
        if data is None:
            raise LookupError(
                f"no inline button {button!r} with callback_data on message "
                f"{message.message_id}; buttons are {buttons_of(message.reply_markup)}"
            )
        chat = message.message.get("chat") or self._chat(message.chat_id)
        sender_id = user_id if user_id is not None else message.chat_id
        if user_id is None and chat.get("type") == "private":
            first_name = str(chat.get("first_name") or first_name)
        user = {
            "id": sender_id,
            "is_bot": False,
            "first_name": first_name,
            "language_code": language_code,
        }
        query_id = f"{sender_id}{next(self._callback_counter):08d}"
        update = {
            "callback_query": {
                "id": query_id,
                "from": user,
                "message": copy.deepcopy(message.message),
                "chat_instance": str(abs(message.chat_id) * 7919 % 10**18),
                "data": data,
            }
        }
        return self.push_update(update)

    def unanswered_callbacks(self) -> list[str]:
        """Ids of pushed callback queries the bot never answered (the user sees a spinner)."""
        with self.lock:
            return [qid for qid in self._pending_callbacks if qid not in self._answered_ids]

    def has_pending_updates(self, offset: int = 0) -> bool:
        """Would ``getUpdates(offset=offset)`` return something right now?"""
        with self.lock:
            return self._has_pending(offset)

    def wait_for_updates(
        self,
        offset: int,
        timeout: float,
        *,
        stop: Callable[[], bool] | None = None,
    ) -> bool:
        """Block the calling *thread* up to ``timeout`` seconds until an update with
        ``update_id >= offset`` is queued (or ``stop()`` is true). For long polling in
        :class:`FakeBotAPIServer`; never call it from an event loop."""
        with self._updates_changed:
            return self._updates_changed.wait_for(
                lambda: (stop is not None and stop()) or self._has_pending(offset), timeout
            )

    def wake_waiters(self) -> None:
        """Wake every thread blocked in :meth:`wait_for_updates` (used on server shutdown)."""
        with self._updates_changed:
            self._updates_changed.notify_all()

    # ----------------------------------------------------------------------------------------
    # Reading what the bot did
    # ----------------------------------------------------------------------------------------

    def messages_to(self, chat_id: int) -> list[SentMessage]:
        """Everything sent to ``chat_id``, oldest first (deleted ones included, see
        ``SentMessage.deleted``)."""
        with self.lock:
            return [m for m in self.sent if m.chat_id == chat_id]

    def last_to(self, chat_id: int) -> SentMessage:
        """The most recent message sent to ``chat_id``; raises ``LookupError`` if none."""
        messages = self.messages_to(chat_id)
        if not messages:
            chats = sorted({m.chat_id for m in self.sent})
            raise LookupError(f"nothing was sent to chat {chat_id} (messages went to {chats})")
        return messages[-1]

    def texts_to(self, chat_id: int, *, plain: bool = False) -> list[str]:
        """Texts/captions sent to ``chat_id`` as the bot wrote them (``plain=True``: as the user
        sees them, markup removed). Messages without text (locations, bare files) are skipped."""
        attr = "plain_text" if plain else "text"
        return [value for m in self.messages_to(chat_id) if (value := getattr(m, attr)) is not None]

    @staticmethod
    def buttons(msg: SentMessage | JSONDict | None) -> list[tuple[str, str | None]]:
        """Flatten the keyboard of ``msg`` (or of a ``reply_markup`` dict); see
        :func:`buttons_of`."""
        return buttons_of(msg)

    def calls_to(self, method: str) -> list[JSONDict]:
        """Parameters of every recorded call of ``method`` (case-insensitive)."""
        lower = method.lower()
        with self.lock:
            return [params for name, params in self.calls if name.lower() == lower]

    def message_dict(self, chat_id: int, message_id: int) -> JSONDict | None:
        """The ``Message`` JSON the fake holds for a chat and id (bot's or user's)."""
        with self.lock:
            stored = self._messages.get((chat_id, message_id))
            return copy.deepcopy(stored) if stored is not None else None

    # ----------------------------------------------------------------------------------------
    # Internals shared by the methods
    # ----------------------------------------------------------------------------------------

    def _take_injected(self, lower: str) -> ApiError | None:
        for entry in self._injected:
            if entry.method in ("*", lower) and entry.remaining > 0:
                entry.remaining -= 1
                if entry.remaining == 0:
                    self._injected.remove(entry)
                return ApiError(entry.status, entry.description, retry_after=entry.retry_after)
        return None

    def _has_pending(self, offset: int) -> bool:
        if offset > 0:
            return any(u["update_id"] >= offset for u in self._updates)
        return bool(self._updates)

    def _learn(self, update: JSONDict) -> None:
        for key in (
            "message",
            "edited_message",
            "channel_post",
            "edited_channel_post",
            "business_message",
        ):
            if isinstance(update.get(key), dict):
                self._learn_message(update[key])
        query = update.get("callback_query")
        if isinstance(query, dict):
            self._pending_callbacks[str(query.get("id"))] = query
            if isinstance(query.get("message"), dict):
                self._learn_message(query["message"])
        member = update.get("my_chat_member")
        if isinstance(member, dict) and isinstance(member.get("chat"), dict):
            self._learn_chat(member["chat"])

    def _learn_chat(self, chat: JSONDict) -> None:
        if "id" in chat:
            self._chats[int(chat["id"])] = {k: v for k, v in chat.items() if k != "api_kwargs"}

    def _learn_message(self, message: JSONDict) -> None:
        chat = message.get("chat")
        if not isinstance(chat, dict) or "id" not in chat:
            return
        self._learn_chat(chat)
        chat_id = int(chat["id"])
        message_id = message.get("message_id")
        if isinstance(message_id, int):
            self._last_message_id[chat_id] = max(self._last_message_id.get(chat_id, 0), message_id)
            key = (chat_id, message_id)
            if key not in self._messages:
                self._messages[key] = copy.deepcopy(message)
                sender = message.get("from")
                if isinstance(sender, dict) and sender.get("id") == BOT_ID:
                    self._adopt_bot_message(chat_id, message_id, self._messages[key])
        for size in message.get("photo") or []:
            self._learn_file(size)
        for kind in ("document", "voice", "audio", "video", "video_note", "sticker", "animation"):
            if isinstance(message.get(kind), dict):
                self._learn_file(message[kind])

    def _adopt_bot_message(self, chat_id: int, message_id: int, message: JSONDict) -> None:
        """A bot message seen only in an update (e.g. under a callback query): make it
        editable/deletable. It is not added to ``sent`` (the fake did not see it being sent);
        its edits still show in ``edits``."""
        method = "sendMessage"
        if "document" in message:
            method = "sendDocument"
        elif "photo" in message:
            method = "sendPhoto"
        elif "location" in message:
            method = "sendLocation"
        text = message.get("text", message.get("caption"))
        self._bot_messages[(chat_id, message_id)] = SentMessage(
            method=method,
            chat_id=chat_id,
            message_id=message_id,
            text=text,
            parse_mode=None,
            reply_markup=message.get("reply_markup"),
            at=self._time(),
            plain_text=text,
            message=message,
        )

    def _learn_file(self, obj: JSONDict) -> None:
        file_id = obj.get("file_id")
        if isinstance(file_id, str) and file_id not in self.files:
            content = b"fake-telegram-file:" + file_id.encode()
            stored = self._store_file(
                content, obj.get("file_name"), obj.get("mime_type"), file_id=file_id
            )
            stored.file_unique_id = str(obj.get("file_unique_id") or stored.file_unique_id)

    def _store_file(
        self,
        content: bytes,
        filename: str | None,
        mime_type: str | None,
        *,
        file_id: str | None = None,
        folder: str = "documents",
    ) -> StoredFile:
        number = next(self._file_counter)
        digest = hashlib.sha1(content).hexdigest()[:10]
        if file_id is None:
            file_id = f"BQACAgQAAxkBAAI{number:05d}{digest}"
        suffix = ""
        if filename and "." in filename:
            suffix = "." + filename.rsplit(".", 1)[1]
        stored = StoredFile(
            file_id=file_id,
            file_unique_id=f"AgAD{digest}{number}",
            content=content,
            filename=filename,
            mime_type=mime_type,
            file_path=f"{folder}/file_{number}{suffix}",
        )
        self.files[file_id] = stored
        return stored

    def _member_update(self, chat_id: int, *, old: str, new: str) -> JSONDict:
        chat = self._chat(chat_id)
        user = {
            "id": chat_id,
            "is_bot": False,
            "first_name": chat.get("first_name", "User"),
        }

        def member(status: str) -> JSONDict:
            data: JSONDict = {"user": bot_user(), "status": status}
            if status == "kicked":
                data["until_date"] = 0
            return data

        return {
            "my_chat_member": {
                "chat": chat,
                "from": user,
                "date": int(self._wall_time()),
                "old_chat_member": member(old),
                "new_chat_member": member(new),
            }
        }

    def _chat(self, chat_id: int) -> JSONDict:
        known = self._chats.get(chat_id)
        if known is not None:
            return copy.deepcopy(known)
        if chat_id > 0:
            return {"id": chat_id, "type": "private", "first_name": "User"}
        chat_type = "supergroup" if str(chat_id).startswith("-100") else "group"
        return {"id": chat_id, "type": chat_type, "title": "Group"}

    def _chat_id(self, params: JSONDict, *, required: bool = True) -> int:
        value = params.get("chat_id")
        if value is None or value == "":
            if required:
                raise _bad_request("chat_id is empty")
            return 0
        if isinstance(value, str) and value.startswith("@"):
            raise _bad_request("chat not found")  # no channels/usernames in this fake
        try:
            return _as_int(value, "chat_id")
        except ApiError:
            raise _bad_request("chat not found") from None

    def _check_blocked(self, chat_id: int) -> None:
        if chat_id in self.blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")

    def _check_rate(self, chat_id: int) -> None:
        limits = self._limits
        if limits is None:
            return
        now = self._time()
        while self._send_times and self._send_times[0][0] <= now - limits.window:
            self._send_times.popleft()
        everywhere = [t for t, _ in self._send_times]
        here = [t for t, chat in self._send_times if chat == chat_id]
        waits: list[float] = []
        if len(everywhere) >= limits.global_per_second:
            waits.append(everywhere[len(everywhere) - limits.global_per_second] + limits.window)
        if len(here) >= limits.per_chat_per_second:
            waits.append(here[len(here) - limits.per_chat_per_second] + limits.window)
        if waits:
            retry_after = max(1, math.ceil(max(waits) - now - 1e-9))
            self.too_many_requests += 1
            raise ApiError(
                429, f"Too Many Requests: retry after {retry_after}", retry_after=retry_after
            )

    def _next_message_id(self, chat_id: int) -> int:
        next_id = self._last_message_id.get(chat_id, 0) + 1
        self._last_message_id[chat_id] = next_id
        return next_id

    def _render(self, text: str, parse_mode: str | None) -> tuple[str, list[JSONDict]]:
        return render(text, parse_mode, strict_ampersand=self.strict_html_ampersand)

    def _text(self, params: JSONDict) -> tuple[str, str, list[JSONDict], str | None]:
        """Validate ``text`` + ``parse_mode``; returns (raw, plain, entities, parse_mode)."""
        raw = _opt_str(params, "text") or ""
        parse_mode = _opt_str(params, "parse_mode") or None
        plain, entities = self._render(raw, parse_mode)
        if not parse_mode and params.get("entities") is not None:
            entities = list(_as_json(params["entities"], "entities") or [])
        if not plain.strip():
            raise _bad_request("message text is empty")
        if utf16_len(plain) > MAX_TEXT_LENGTH:
            raise _bad_request("message is too long")
        return raw, plain, entities, parse_mode

    def _caption(self, params: JSONDict) -> tuple[str | None, str | None, list[JSONDict]]:
        raw = _opt_str(params, "caption")
        if raw is None or raw == "":
            return None, None, []
        plain, entities = self._render(raw, _opt_str(params, "parse_mode") or None)
        if utf16_len(plain) > MAX_CAPTION_LENGTH:
            raise _bad_request("message caption is too long")
        return raw, plain, entities

    def _reply_markup(self, params: JSONDict) -> JSONDict | None:
        if params.get("reply_markup") in (None, ""):
            return None
        markup = _as_json(params["reply_markup"], "reply keyboard markup")
        if not isinstance(markup, dict):
            raise _bad_request("can't parse reply keyboard markup JSON object")
        if "inline_keyboard" in markup:
            rows = markup["inline_keyboard"]
            if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
                raise _bad_request("can't parse inline keyboard button: Array expected")
            count = 0
            for row in rows:
                for button in row:
                    count += 1
                    self._check_inline_button(button)
            if count > MAX_INLINE_BUTTONS:
                raise _bad_request("reply markup is too long")
        elif "keyboard" in markup:
            rows = markup["keyboard"]
            if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
                raise _bad_request("can't parse keyboard button: Array expected")
            for row in rows:
                for button in row:
                    label = button if isinstance(button, str) else button.get("text")
                    if not isinstance(label, str) or not label:
                        raise _bad_request(
                            'can\'t parse keyboard button: Field "text" must be of type String'
                        )
        elif not ({"remove_keyboard", "force_reply"} & markup.keys()):
            raise _bad_request("can't parse reply keyboard markup JSON object")
        return markup

    @staticmethod
    def _check_inline_button(button: Any) -> None:
        if not isinstance(button, dict):
            raise _bad_request(
                "can't parse inline keyboard button: InlineKeyboardButton must be an Object"
            )
        if not isinstance(button.get("text"), str):
            raise _bad_request(
                'can\'t parse inline keyboard button: Field "text" must be of type String'
            )
        actions = {
            "url",
            "callback_data",
            "web_app",
            "login_url",
            "switch_inline_query",
            "switch_inline_query_current_chat",
            "switch_inline_query_chosen_chat",
            "copy_text",
            "callback_game",
            "pay",
        } & button.keys()
        if not actions:
            raise _bad_request(
                "can't parse inline keyboard button: Text buttons are unallowed in the inline "
                "keyboard"
            )
        if "callback_data" in button:
            data = button["callback_data"]
            if (
                not isinstance(data, str)
                or not data
                or len(data.encode("utf-8")) > MAX_CALLBACK_DATA_BYTES
            ):
                raise _bad_request("BUTTON_DATA_INVALID")
        if "url" in button:
            url = button["url"]
            if not isinstance(url, str) or not re.match(r"^(https?|tg)://\S+$", url, re.I):
                raise _bad_request("BUTTON_URL_INVALID")

    def _reply_to(self, params: JSONDict, chat_id: int) -> JSONDict | None:
        reply: Any = params.get("reply_parameters")
        if reply not in (None, ""):
            reply = _as_json(reply, "reply parameters")
        elif params.get("reply_to_message_id") not in (None, ""):
            reply = {
                "message_id": params["reply_to_message_id"],
                "allow_sending_without_reply": params.get("allow_sending_without_reply"),
            }
        else:
            return None
        if not isinstance(reply, dict) or "message_id" not in reply:
            raise _bad_request("can't parse reply parameters JSON object")
        target_chat = reply.get("chat_id", chat_id)
        key = (_as_int(target_chat, "chat_id"), _as_int(reply["message_id"], "message_id"))
        original = self._messages.get(key)
        if original is None:
            if _as_bool(reply.get("allow_sending_without_reply") or False):
                return None
            raise _bad_request("message to be replied not found")
        quoted = copy.deepcopy(original)
        quoted.pop("reply_to_message", None)
        return quoted

    def _send(
        self,
        method: str,
        params: JSONDict,
        chat_id: int,
        content: JSONDict,
        *,
        text: str | None,
        plain_text: str | None,
        reply_markup: JSONDict | None,
        document: bytes | None = None,
        filename: str | None = None,
        mime_type: str | None = None,
        location: tuple[float, float] | None = None,
    ) -> JSONDict:
        """Common tail of the send methods: checks the block list and flood limits, then builds
        the Message, records it and returns it."""
        self._check_blocked(chat_id)
        thread = self._thread(params, chat_id)
        reply_to = self._reply_to(params, chat_id)
        self._check_rate(chat_id)
        now = self._time()
        message_id = self._next_message_id(chat_id)
        message: JSONDict = {
            "message_id": message_id,
            "from": bot_user(),
            "chat": self._chat(chat_id),
            "date": int(self._wall_time()),
        }
        if thread is not None:
            message["message_thread_id"] = thread
            message["is_topic_message"] = True
        if reply_to is not None:
            message["reply_to_message"] = reply_to
        message.update(content)
        # Telegram only echoes inline keyboards: a Message carries no reply keyboard.
        if reply_markup is not None and "inline_keyboard" in reply_markup:
            message["reply_markup"] = copy.deepcopy(reply_markup)
        if self._limits is not None:
            self._send_times.append((now, chat_id))
        record = SentMessage(
            method=method,
            chat_id=chat_id,
            message_id=message_id,
            text=text,
            parse_mode=_opt_str(params, "parse_mode") or None,
            reply_markup=reply_markup,
            document=document,
            filename=filename,
            mime_type=mime_type,
            location=location,
            at=now,
            plain_text=plain_text,
            params=params,
            message=message,
        )
        self.sent.append(record)
        self._messages[(chat_id, message_id)] = message
        self._bot_messages[(chat_id, message_id)] = record
        return message

    def _thread(self, params: JSONDict, chat_id: int) -> int | None:
        """Check ``message_thread_id``: only forum supergroups have topics, and it must exist."""
        value = params.get("message_thread_id")
        if value in (None, ""):
            return None
        thread = _as_int(value, "message_thread_id")
        if thread not in self.topics.get(chat_id, {}):
            raise _bad_request("message thread not found")
        return thread

    def _upload(self, params: JSONDict, field_name: str) -> tuple[StoredFile | None, str | None]:
        """Resolve a file parameter: an upload, ``attach://name``, a known ``file_id`` or an
        HTTP URL. Returns (stored file or None for URLs, url)."""
        value = params.get(field_name)
        if isinstance(value, str) and value.startswith("attach://"):
            value = params.get(value[len("attach://") :])
        if isinstance(value, UploadedFile):
            if not value.content:
                raise _bad_request("file must be non-empty")
            if len(value.content) > MAX_UPLOAD_BYTES:
                raise ApiError(413, "Request Entity Too Large")
            mime = value.mime_type or mimetypes.guess_type(value.filename)[0]
            folder = {"photo": "photos", "voice": "voice"}.get(field_name, "documents")
            return self._store_file(value.content, value.filename, mime, folder=folder), None
        if isinstance(value, str) and value:
            if value in self.files:
                return self.files[value], None
            if re.match(r"^https?://", value):
                return None, value
            raise _bad_request("wrong file identifier/HTTP URL specified")
        raise _bad_request(f"there is no {field_name} in the request")

    def _target(self, params: JSONDict, *, action: str) -> tuple[int, int, JSONDict] | None:
        """Find the message an edit/delete targets; ``None`` for inline messages."""
        if params.get("inline_message_id") not in (None, "") and action != "delete":
            return None
        chat_id = self._chat_id(params)
        if params.get("message_id") in (None, ""):
            raise _bad_request("message identifier is not specified")
        message_id = _as_int(params["message_id"], "message_id")
        self._check_blocked(chat_id)
        message = self._messages.get((chat_id, message_id))
        if message is None:
            raise _bad_request(f"message to {action} not found")
        if action == "edit" and (chat_id, message_id) not in self._bot_messages:
            raise _bad_request("message can't be edited")
        return chat_id, message_id, message

    def _apply_edit(
        self,
        method: str,
        chat_id: int,
        message_id: int,
        message: JSONDict,
        changes: JSONDict,
        *,
        text: str | None = None,
        plain_text: str | None = None,
        parse_mode: str | None = None,
        reply_markup: JSONDict | None = None,
        set_text: bool = True,
    ) -> JSONDict:
        """Apply ``changes`` (``None`` values delete the key) unless nothing would change."""
        updated = copy.deepcopy(message)
        for key, value in changes.items():
            if value is None or value == []:
                updated.pop(key, None)
            else:
                updated[key] = value
        if updated == message:
            raise _bad_request(_NOT_MODIFIED.removeprefix("Bad Request: "))
        updated["edit_date"] = int(self._wall_time())
        record = self._bot_messages[(chat_id, message_id)]
        record.edits.append(
            {
                "text": record.text,
                "plain_text": record.plain_text,
                "parse_mode": record.parse_mode,
                "reply_markup": record.reply_markup,
                "at": record.at,
            }
        )
        if set_text:
            record.text, record.plain_text, record.parse_mode = text, plain_text, parse_mode
        record.reply_markup = reply_markup
        record.message = updated
        self._messages[(chat_id, message_id)] = updated
        self.edits.append(
            {
                "method": method,
                "chat_id": chat_id,
                "message_id": message_id,
                "text": record.text,
                "reply_markup": reply_markup,
                "at": self._time(),
            }
        )
        return updated

    @staticmethod
    def _scope_key(params: JSONDict) -> str:
        scope = _as_json(params.get("scope"), "scope") if params.get("scope") else None
        if not scope:
            return "default"
        if not isinstance(scope, dict) or "type" not in scope:
            raise _bad_request("can't parse scope JSON object")
        key = str(scope["type"])
        for extra in ("chat_id", "user_id"):
            if extra in scope:
                key += f":{scope[extra]}"
        return key

    # ----------------------------------------------------------------------------------------
    # Bot API methods (one per ``_m_<lower-cased name>``)
    # ----------------------------------------------------------------------------------------

    def _m_getme(self, params: JSONDict) -> JSONDict:
        return bot_user()

    def _m_logout(self, params: JSONDict) -> bool:
        return True

    def _m_close(self, params: JSONDict) -> bool:
        return True

    def _m_getupdates(self, params: JSONDict) -> list[JSONDict]:
        if self.webhook is not None:
            raise ApiError(409, _WEBHOOK_CONFLICT)
        offset = _as_int(params.get("offset") or 0, "offset")
        limit = min(max(_as_int(params.get("limit") or 100, "limit"), 1), 100)
        if offset > 0:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        elif offset < 0:
            self._updates = self._updates[offset:]
        self._updates_changed.notify_all()
        return copy.deepcopy(self._updates[:limit])

    def _m_setwebhook(self, params: JSONDict) -> _Result:
        url = _opt_str(params, "url") or ""
        if not url:
            self.webhook = None
            return _Result(True, "Webhook was deleted")
        if self.strict_webhook:
            parts = urlsplit(url)
            if parts.scheme != "https":
                raise _bad_request("bad webhook: An HTTPS URL must be provided for webhook")
            if (parts.port or 443) not in (80, 88, 443, 8443):
                raise _bad_request(
                    "bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443"
                )
        secret = _opt_str(params, "secret_token")
        if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", secret):
            raise _bad_request("bad webhook: secret token contains unallowed characters")
        allowed = params.get("allowed_updates")
        self.webhook = {
            "url": url,
            "secret_token": secret,
            "allowed_updates": _as_json(allowed, "allowed updates") if allowed else None,
            "max_connections": _as_int(params.get("max_connections") or 40, "max_connections"),
            "ip_address": _opt_str(params, "ip_address"),
            "has_custom_certificate": params.get("certificate") is not None,
            "drop_pending_updates": _as_bool(params.get("drop_pending_updates") or False),
        }
        if self.webhook["drop_pending_updates"]:
            self._updates.clear()
        return _Result(True, "Webhook was set")

    def _m_deletewebhook(self, params: JSONDict) -> _Result:
        existed = self.webhook is not None
        self.webhook = None
        if _as_bool(params.get("drop_pending_updates") or False):
            self._updates.clear()
        return _Result(True, "Webhook was deleted" if existed else "Webhook is already deleted")

    def _m_getwebhookinfo(self, params: JSONDict) -> JSONDict:
        info: JSONDict = {
            "url": "",
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }
        if self.webhook is not None:
            info.update(
                url=self.webhook["url"],
                has_custom_certificate=self.webhook["has_custom_certificate"],
                max_connections=self.webhook["max_connections"],
            )
            if self.webhook["allowed_updates"]:
                info["allowed_updates"] = self.webhook["allowed_updates"]
            if self.webhook["ip_address"]:
                info["ip_address"] = self.webhook["ip_address"]
        return info

    def _m_sendmessage(self, params: JSONDict) -> JSONDict:
        chat_id = self._chat_id(params)
        raw, plain, entities, _ = self._text(params)
        markup = self._reply_markup(params)
        content: JSONDict = {"text": plain}
        if entities:
            content["entities"] = entities
        return self._send(
            "sendMessage",
            params,
            chat_id,
            content,
            text=raw,
            plain_text=plain,
            reply_markup=markup,
        )

    def _m_senddocument(self, params: JSONDict) -> JSONDict:
        chat_id = self._chat_id(params)
        raw, plain, entities = self._caption(params)
        markup = self._reply_markup(params)
        stored, url = self._upload(params, "document")
        if stored is not None:
            filename = stored.filename
            document: JSONDict = {
                "file_id": stored.file_id,
                "file_unique_id": stored.file_unique_id,
                "file_size": len(stored.content),
            }
            if stored.filename:
                document["file_name"] = stored.filename
            document["mime_type"] = stored.mime_type or "application/octet-stream"
        else:
            filename = unquote((url or "").rsplit("/", 1)[-1]) or None
            stored = self._store_file(b"", filename, None)
            document = {
                "file_id": stored.file_id,
                "file_unique_id": stored.file_unique_id,
                "file_name": filename,
            }
        content: JSONDict = {"document": document}
        if plain:
            content["caption"] = plain
        if entities:
            content["caption_entities"] = entities
        return self._send(
            "sendDocument",
            params,
            chat_id,
            content,
            text=raw,
            plain_text=plain,
            reply_markup=markup,
            document=stored.content if url is None else None,
            filename=filename,
            mime_type=document.get("mime_type"),
        )

    def _m_sendphoto(self, params: JSONDict) -> JSONDict:
        chat_id = self._chat_id(params)
        raw, plain, entities = self._caption(params)
        markup = self._reply_markup(params)
        stored, url = self._upload(params, "photo")
        if stored is not None and url is None and not _looks_like_image(stored.content):
            raise _bad_request("IMAGE_PROCESS_FAILED")
        if stored is None:
            stored = self._store_file(b"", None, "image/jpeg", folder="photos")
        width, height = _image_size(stored.content)
        thumb_w = 90
        thumb_h = max(1, round(height * thumb_w / max(width, 1)))
        photo = [
            {
                "file_id": stored.file_id + "-thumb",
                "file_unique_id": stored.file_unique_id + "t",
                "width": thumb_w,
                "height": thumb_h,
                "file_size": max(1, len(stored.content) // 10),
            },
            {
                "file_id": stored.file_id,
                "file_unique_id": stored.file_unique_id,
                "width": width,
                "height": height,
                "file_size": len(stored.content),
            },
        ]
        content: JSONDict = {"photo": photo}
        if plain:
            content["caption"] = plain
        if entities:
            content["caption_entities"] = entities
        return self._send(
            "sendPhoto",
            params,
            chat_id,
            content,
            text=raw,
            plain_text=plain,
            reply_markup=markup,
            document=stored.content if url is None else None,
            filename=stored.filename,
            mime_type=stored.mime_type,
        )

    def _send_audio(self, params: JSONDict, kind: str) -> JSONDict:
        """``sendVoice`` (an OGG/Opus voice note) and ``sendAudio`` (a music file)."""
        chat_id = self._chat_id(params)
        raw, plain, entities = self._caption(params)
        markup = self._reply_markup(params)
        stored, url = self._upload(params, kind)
        if stored is None:
            stored = self._store_file(b"", None, "audio/ogg")
        mime = stored.mime_type or ("audio/ogg" if kind == "voice" else "audio/mpeg")
        content: JSONDict = {kind: {
            "file_id": stored.file_id, "file_unique_id": stored.file_unique_id,
            "duration": max(1, len(stored.content) // 2000), "mime_type": mime,
            "file_size": len(stored.content),
        }}
        if plain:
            content["caption"] = plain
        if entities:
            content["caption_entities"] = entities
        return self._send(
            "sendVoice" if kind == "voice" else "sendAudio", params, chat_id, content,
            text=raw, plain_text=plain, reply_markup=markup,
            document=stored.content if url is None else None, filename=stored.filename,
            mime_type=mime,
        )

    def _m_sendvoice(self, params: JSONDict) -> JSONDict:
        return self._send_audio(params, "voice")

    def _m_sendaudio(self, params: JSONDict) -> JSONDict:
        return self._send_audio(params, "audio")

    def _m_createforumtopic(self, params: JSONDict) -> JSONDict:
        """Open a topic in a forum supergroup; the bot must be an admin there (the fake assumes
        it is in every chat made with :meth:`make_forum`)."""
        chat_id = self._chat_id(params)
        chat = self._chats.get(chat_id)
        if chat is None:
            raise _bad_request("chat not found")
        if chat.get("type") != "supergroup" or not chat.get("is_forum"):
            raise _bad_request("the chat is not a forum")
        name = _opt_str(params, "name") or ""
        if not name.strip():
            raise _bad_request("TOPIC_TITLE_EMPTY")
        if len(name) > MAX_TOPIC_NAME:
            raise _bad_request("TOPIC_TITLE_TOO_LONG")
        color = params.get("icon_color")
        icon_color = TOPIC_ICON_COLORS[0] if color in (None, "") else _as_int(color, "icon_color")
        if icon_color not in TOPIC_ICON_COLORS:
            raise _bad_request("TOPIC_ICON_COLOR_INVALID")
        # The topic's id is that of its "topic created" service message.
        thread = self._next_message_id(chat_id)
        self._messages[(chat_id, thread)] = {
            "message_id": thread, "message_thread_id": thread, "from": bot_user(),
            "chat": self._chat(chat_id), "date": int(self._wall_time()),
            "forum_topic_created": {"name": name, "icon_color": icon_color},
            "is_topic_message": True,
        }
        topic = {"message_thread_id": thread, "name": name, "icon_color": icon_color}
        self.topics.setdefault(chat_id, {})[thread] = topic
        return topic

    def _m_sendlocation(self, params: JSONDict) -> JSONDict:
        chat_id = self._chat_id(params)
        latitude = _as_float(params.get("latitude"))
        longitude = _as_float(params.get("longitude"))
        if latitude is None or not -90 <= latitude <= 90:
            raise _bad_request("wrong latitude specified")
        if longitude is None or not -180 <= longitude <= 180:
            raise _bad_request("wrong longitude specified")
        markup = self._reply_markup(params)
        return self._send(
            "sendLocation",
            params,
            chat_id,
            {"location": {"latitude": latitude, "longitude": longitude}},
            text=None,
            plain_text=None,
            reply_markup=markup,
            location=(latitude, longitude),
        )

    def _m_sendchataction(self, params: JSONDict) -> bool:
        chat_id = self._chat_id(params)
        action = _opt_str(params, "action")
        if action not in CHAT_ACTIONS:
            raise _bad_request("wrong parameter action in request")
        self._check_blocked(chat_id)
        self.chat_actions.append((chat_id, action))
        return True

    def _m_editmessagetext(self, params: JSONDict) -> JSONDict | bool:
        raw, plain, entities, parse_mode = self._text(params)
        markup = self._reply_markup(params)
        target = self._target(params, action="edit")
        if target is None:
            return True
        chat_id, message_id, message = target
        if "text" not in message:
            raise _bad_request("there is no text in the message to edit")
        inline = markup if markup and "inline_keyboard" in markup else None
        return self._apply_edit(
            "editMessageText",
            chat_id,
            message_id,
            message,
            {"text": plain, "entities": entities, "reply_markup": inline},
            text=raw,
            plain_text=plain,
            parse_mode=parse_mode,
            reply_markup=inline,
        )

    def _m_editmessagecaption(self, params: JSONDict) -> JSONDict | bool:
        raw, plain, entities = self._caption(params)
        markup = self._reply_markup(params)
        target = self._target(params, action="edit")
        if target is None:
            return True
        chat_id, message_id, message = target
        if not any(kind in message for kind in ("document", "photo", "video", "audio")):
            raise _bad_request("there is no caption in the message to edit")
        inline = markup if markup and "inline_keyboard" in markup else None
        return self._apply_edit(
            "editMessageCaption",
            chat_id,
            message_id,
            message,
            {"caption": plain, "caption_entities": entities, "reply_markup": inline},
            text=raw,
            plain_text=plain,
            parse_mode=_opt_str(params, "parse_mode") or None,
            reply_markup=inline,
        )

    def _m_editmessagereplymarkup(self, params: JSONDict) -> JSONDict | bool:
        markup = self._reply_markup(params)
        target = self._target(params, action="edit")
        if target is None:
            return True
        chat_id, message_id, message = target
        inline = markup if markup and "inline_keyboard" in markup else None
        return self._apply_edit(
            "editMessageReplyMarkup",
            chat_id,
            message_id,
            message,
            {"reply_markup": inline},
            reply_markup=inline,
            set_text=False,
        )

    def _m_deletemessage(self, params: JSONDict) -> bool:
        target = self._target(params, action="delete")
        assert target is not None
        chat_id, message_id, _ = target
        del self._messages[(chat_id, message_id)]
        record = self._bot_messages.pop((chat_id, message_id), None)
        if record is not None:
            record.deleted = True
        self.deleted.append((chat_id, message_id))
        return True

    def _m_answercallbackquery(self, params: JSONDict) -> bool:
        query_id = _opt_str(params, "callback_query_id")
        if not query_id or query_id in self._answered_ids:
            raise _bad_request(_QUERY_TOO_OLD.removeprefix("Bad Request: "))
        text = _opt_str(params, "text")
        if text is not None and utf16_len(text) > MAX_CALLBACK_ANSWER_LENGTH:
            raise _bad_request("MESSAGE_TOO_LONG")
        self._answered_ids.add(query_id)
        self.answered_callbacks.append(
            {
                "callback_query_id": query_id,
                "text": text,
                "show_alert": _as_bool(params.get("show_alert") or False),
                "url": _opt_str(params, "url"),
                "cache_time": _as_int(params.get("cache_time") or 0, "cache_time"),
            }
        )
        return True

    def _m_setmycommands(self, params: JSONDict) -> bool:
        commands = _as_json(params.get("commands"), "commands")
        if not isinstance(commands, list):
            raise _bad_request("can't parse commands JSON object")
        cleaned: list[JSONDict] = []
        for command in commands:
            if not isinstance(command, dict):
                raise _bad_request("can't parse BotCommand JSON object")
            name = command.get("command")
            description = command.get("description")
            if not isinstance(name, str) or not re.fullmatch(r"[a-z0-9_]{1,32}", name):
                raise _bad_request("BOT_COMMAND_INVALID")
            if not isinstance(description, str) or not 1 <= len(description.strip()) <= 256:
                raise _bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
            cleaned.append({"command": name, "description": description})
        if len(cleaned) > 100:
            raise _bad_request("too many commands")
        scope = self._scope_key(params)
        language = _opt_str(params, "language_code") or ""
        if language and not re.fullmatch(r"[a-z]{2}", language):  # two-letter ISO 639-1 only
            raise _bad_request("LANGUAGE_CODE_INVALID")
        if cleaned:
            self.scoped_commands[(scope, language)] = cleaned
            if scope == "default":
                self.commands[language] = cleaned
        else:  # an empty list deletes, like deleteMyCommands
            self.scoped_commands.pop((scope, language), None)
            if scope == "default":
                self.commands.pop(language, None)
        return True

    def _m_getmycommands(self, params: JSONDict) -> list[JSONDict]:
        key = (self._scope_key(params), _opt_str(params, "language_code") or "")
        return self.scoped_commands.get(key, [])

    def _m_deletemycommands(self, params: JSONDict) -> bool:
        scope = self._scope_key(params)
        language = _opt_str(params, "language_code") or ""
        self.scoped_commands.pop((scope, language), None)
        if scope == "default":
            self.commands.pop(language, None)
        return True

    def _profile_text(self, params: JSONDict, kind: str, limit: int) -> bool:
        value = _opt_str(params, kind) or ""
        if len(value) > limit:
            raise _bad_request(f"{kind.replace('_', ' ')} is too long")
        language = _opt_str(params, "language_code") or ""
        if value:
            self.profile[(kind, language)] = value
        else:
            self.profile.pop((kind, language), None)
        return True

    def _m_setmydescription(self, params: JSONDict) -> bool:
        return self._profile_text(params, "description", 512)

    def _m_setmyshortdescription(self, params: JSONDict) -> bool:
        return self._profile_text(params, "short_description", 120)

    def _m_setmyname(self, params: JSONDict) -> bool:
        return self._profile_text(params, "name", 64)

    def _profile_get(self, params: JSONDict, kind: str) -> JSONDict:
        language = _opt_str(params, "language_code") or ""
        value = self.profile.get((kind, language), BOT_FIRST_NAME if kind == "name" else "")
        return {kind: value}

    def _m_getmydescription(self, params: JSONDict) -> JSONDict:
        return self._profile_get(params, "description")

    def _m_getmyshortdescription(self, params: JSONDict) -> JSONDict:
        return self._profile_get(params, "short_description")

    def _m_getmyname(self, params: JSONDict) -> JSONDict:
        return self._profile_get(params, "name")

    def _m_setchatmenubutton(self, params: JSONDict) -> bool:
        chat_id = self._chat_id(params, required=False) or None
        button = (
            _as_json(params.get("menu_button"), "menu button")
            if params.get("menu_button")
            else {"type": "default"}
        )
        if not isinstance(button, dict) or button.get("type") not in (
            "default",
            "commands",
            "web_app",
        ):
            raise _bad_request("can't parse menu button JSON object")
        self.menu_buttons[chat_id] = button
        return True

    def _m_getchatmenubutton(self, params: JSONDict) -> JSONDict:
        chat_id = self._chat_id(params, required=False) or None
        return self.menu_buttons.get(chat_id) or self.menu_buttons.get(None) or {"type": "default"}

    def _m_getchat(self, params: JSONDict) -> JSONDict:
        chat = self._chat(self._chat_id(params))
        chat.update(
            accent_color_id=0,
            max_reaction_count=11,
            accepted_gift_types={
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
        )
        return chat

    def _m_getfile(self, params: JSONDict) -> JSONDict:
        file_id = _opt_str(params, "file_id") or ""
        stored = self.files.get(file_id)
        if stored is None:
            raise _bad_request("invalid file_id")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.content),
            "file_path": stored.file_path,
        }


# --------------------------------------------------------------------------------------------
# URL helpers shared by both transports
# --------------------------------------------------------------------------------------------

_TOKEN_IN_PATH: Final = re.compile(r"/bot(?P<token>[^/]+)/")
_FILE_PATH: Final = re.compile(r"/file/bot(?P<token>[^/]*)/(?P<path>.+)$")
_NOT_FOUND_BODY: Final = {"ok": False, "error_code": 404, "description": "Not Found"}


def _split_api_path(path: str) -> tuple[str | None, str]:
    """``/bot123:ABC/sendMessage`` (any prefix) -> (``"123:ABC"``, ``"sendMessage"``)."""
    method = path.rstrip("/").rsplit("/", 1)[-1]
    match = _TOKEN_IN_PATH.search(path)
    return (unquote(match["token"]) if match else None), method


# --------------------------------------------------------------------------------------------
# In-process transport for python-telegram-bot
# --------------------------------------------------------------------------------------------


class FakeRequest(BaseRequest):
    """A PTB transport that answers from a :class:`FakeBotAPI` without any networking.

    Use one instance for ``.request(...)`` and another for ``.get_updates_request(...)`` (PTB
    shuts both down; sharing one instance also works). Requests are decoded the way Telegram
    would see them on the wire: ``RequestData.json_parameters`` (strings; dicts JSON-encoded)
    plus multipart files as :class:`UploadedFile`. Files are served for ``File.download_*``
    (GET on ``<base_file_url><token>/<file_path>``).

    ``getUpdates`` with a ``timeout`` long-polls for at most ``max_long_poll`` seconds (0.05 by
    default) and returns as soon as an update is pushed.

    ``requests`` records ``(http_method, url)`` of every request, handy to check ``base_url``.
    """

    __slots__ = ("_closed", "_read_timeout", "api", "max_long_poll", "requests")

    def __init__(
        self,
        api: FakeBotAPI,
        *,
        max_long_poll: float = 0.05,
        read_timeout: float | None = 5.0,
    ) -> None:
        self.api = api
        self.max_long_poll = max_long_poll
        self._read_timeout = read_timeout
        self._closed = False
        self.requests: list[tuple[str, str]] = []

    @property
    def read_timeout(self) -> float | None:
        """Default read timeout PTB adds to the ``getUpdates`` timeout (required by PTB 22)."""
        return self._read_timeout

    async def initialize(self) -> None:
        """Nothing to open; re-enables the instance after :meth:`shutdown`."""
        self._closed = False

    async def shutdown(self) -> None:
        """Mark the transport closed; further requests raise ``RuntimeError`` like
        ``HTTPXRequest`` does after shutdown."""
        self._closed = True

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = BaseRequest.DEFAULT_NONE,
        write_timeout: Any = BaseRequest.DEFAULT_NONE,
        connect_timeout: Any = BaseRequest.DEFAULT_NONE,
        pool_timeout: Any = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        """Route one PTB request to the fake server; returns (HTTP status, JSON bytes)."""
        if self._closed:
            raise RuntimeError("This FakeRequest is not initialized!")
        self.requests.append((method, url))
        path = urlsplit(url).path
        file_match = _FILE_PATH.search(path)
        if method == "GET" and file_match:
            content = self.api.file_content(unquote(file_match["path"]))
            if content is None:
                return 404, json.dumps(_NOT_FOUND_BODY).encode()
            return 200, content
        token, api_method = _split_api_path(path)
        if self.api.take_network_failure(api_method):
            raise NetworkError(
                "httpx.ConnectError: All connection attempts failed (injected by FakeBotAPI)"
            )
        params = decode_request_data(request_data)
        if api_method.lower() == "getupdates":
            await self._long_poll(params)
        else:
            await asyncio.sleep(0)  # a real request always yields to the event loop
        status, body = self.api.handle(api_method, params, token=token)
        return status, json.dumps(body, ensure_ascii=False).encode("utf-8")

    async def _long_poll(self, params: JSONDict) -> None:
        try:
            timeout = float(params.get("timeout") or 0)
            offset = int(params.get("offset") or 0)
        except (TypeError, ValueError):
            return
        wait = min(timeout, self.max_long_poll)
        if wait <= 0 or self.api.webhook is not None:
            await asyncio.sleep(0)
            return
        deadline = asyncio.get_running_loop().time() + wait
        while not self.api.has_pending_updates(offset):
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                return
            await asyncio.sleep(min(0.005, remaining))


def decode_request_data(request_data: RequestData | None) -> JSONDict:
    """Turn PTB's ``RequestData`` into the parameters Telegram would receive.

    Uses ``json_parameters`` (what ``HTTPXRequest`` puts on the wire: strings, with lists and
    objects JSON-encoded) and adds each multipart file as :class:`UploadedFile` under its part
    name (the parameter name, or the ``attach://`` name).
    """
    if request_data is None:
        return {}
    params: JSONDict = dict(request_data.json_parameters)
    for name, (filename, content, mime_type) in request_data.multipart_data.items():
        data = content if isinstance(content, bytes) else content.read()
        params[name] = UploadedFile(filename=filename, content=data, mime_type=mime_type)
    return params


# --------------------------------------------------------------------------------------------
# Real HTTP server on loopback
# --------------------------------------------------------------------------------------------


def _content_type(header: str) -> tuple[str, dict[str, str]]:
    message = email.message.Message()
    message["content-type"] = header or "application/octet-stream"
    params = {str(k).lower(): str(v) for k, v in message.get_params(failobj=[])[1:]}
    return message.get_content_type(), params


_DISPOSITION_PARAM: Final = re.compile(r';\s*([\w*-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;\s]*))')


def parse_multipart(body: bytes, boundary: str) -> JSONDict:
    """Parse a ``multipart/form-data`` body into parameters (files as :class:`UploadedFile`).

    Handles the ``name``/``filename`` quoting of httpx (``%22`` for quotes) and browsers, and
    ``filename*=UTF-8''...`` (RFC 5987).
    """
    params: JSONDict = {}
    delimiter = b"\r\n--" + boundary.encode("latin-1")
    sections = (b"\r\n" + body).split(delimiter)
    for section in sections[1:]:
        if section.startswith(b"--"):
            break
        section = section.lstrip(b" \t")
        if section.startswith(b"\r\n"):
            section = section[2:]
        head, _, content = section.partition(b"\r\n\r\n")
        headers: dict[str, str] = {}
        for line in head.decode("utf-8", "replace").split("\r\n"):
            key, sep, value = line.partition(":")
            if sep:
                headers[key.strip().lower()] = value.strip()
        disposition: dict[str, str] = {}
        for match in _DISPOSITION_PARAM.finditer(headers.get("content-disposition", "")):
            key = match[1].lower()
            value = match[2] if match[2] is not None else match[3]
            value = value.replace('\\"', '"').replace("\\\\", "\\").replace("%22", '"')
            if key.endswith("*"):
                _, _, encoded = value.partition("''")
                key, value = key[:-1], unquote(encoded)
            disposition[key] = value
        name = disposition.get("name")
        if not name:
            continue
        if "filename" in disposition:
            params[name] = UploadedFile(
                filename=disposition["filename"],
                content=content,
                mime_type=headers.get("content-type"),
            )
        else:
            params[name] = content.decode("utf-8")
    return params


def parse_body(content_type: str, body: bytes) -> JSONDict:
    """Decode a Bot API request body: JSON, urlencoded form or multipart form."""
    if not body:
        return {}
    kind, options = _content_type(content_type)
    if kind == "multipart/form-data":
        return parse_multipart(body, options.get("boundary", ""))
    if kind == "application/x-www-form-urlencoded":
        return dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
    data = json.loads(body.decode("utf-8"))
    if not isinstance(data, dict):
        raise ValueError("JSON body must be an object")
    return data


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    fake: FakeBotAPIServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Stay quiet about clients that hang up; anything else is a bug worth printing."""
        exc = sys.exc_info()[1]
        if isinstance(exc, ConnectionError | TimeoutError):
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "FakeTelegramBotAPI/1.0"
    timeout = 30  # idle keep-alive connections are closed after this
    server: _HTTPServer

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the default per-request stderr log."""

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send(self, status: int, payload: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def _send_json(self, status: int, body: JSONDict) -> None:
        payload = json.dumps(body, ensure_ascii=False).encode("utf-8")
        self._send(status, payload, "application/json")

    def _dispatch(self) -> None:
        fake = self.server.fake
        api = fake.api
        split = urlsplit(self.path)
        body = self._read_body()
        if fake.stopping.is_set():  # stopped: keep-alive connections get no more answers
            self.close_connection = True
            return

        file_match = _FILE_PATH.fullmatch(split.path)
        if file_match and self.command == "GET":
            content = api.file_content(unquote(file_match["path"]))
            if content is None:
                self._send_json(404, _NOT_FOUND_BODY)
            else:
                self._send(200, content, "application/octet-stream")
            return

        match = re.fullmatch(r"/bot(?P<token>[^/]+)/(?P<method>[A-Za-z0-9_]+)/?", split.path)
        if match is None:
            self._send_json(404, _NOT_FOUND_BODY)
            return
        token, method = unquote(match["token"]), match["method"]
        if api.take_network_failure(method):
            self.close_connection = True  # hang up without an answer
            return
        try:
            params: JSONDict = dict(parse_qsl(split.query, keep_blank_values=True))
            params.update(parse_body(self.headers.get("Content-Type", ""), body))
        except (ValueError, UnicodeDecodeError):
            self._send_json(
                400,
                {"ok": False, "error_code": 400, "description": "Bad Request: invalid request"},
            )
            return
        if method.lower() == "getupdates" and api.webhook is None:
            try:
                timeout = min(float(params.get("timeout") or 0), fake.max_long_poll)
                offset = int(params.get("offset") or 0)
            except (TypeError, ValueError):
                timeout, offset = 0.0, 0
            if timeout > 0:
                api.wait_for_updates(offset, timeout, stop=fake.stopping.is_set)
        status, payload = api.handle(method, params, token=token)
        self._send_json(status, payload)


class FakeBotAPIServer:
    """Serve a :class:`FakeBotAPI` over real HTTP on 127.0.0.1 (ephemeral port by default).

    For end-to-end tests that run the bot in another process::

        with FakeBotAPIServer() as server:
            env = {"HIRFA_TELEGRAM__API_URL": server.base_url, ...}
            ...  # start the bot, server.api.push_update(...), check server.api.sent

    Accepts JSON, urlencoded and multipart bodies (what PTB's ``HTTPXRequest`` sends), serves
    downloads at ``base_file_url``, and long-polls ``getUpdates`` for at most ``max_long_poll``
    seconds, answering as soon as an update is pushed.
    """

    def __init__(
        self,
        api: FakeBotAPI | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        max_long_poll: float = 1.0,
    ) -> None:
        self.api = api if api is not None else FakeBotAPI()
        self.host = host
        self.max_long_poll = max_long_poll
        self.stopping = threading.Event()
        self._requested_port = port
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> FakeBotAPIServer:
        """Bind and serve in a daemon thread; returns ``self``."""
        if self._httpd is not None:
            return self
        self.stopping.clear()
        httpd = _HTTPServer((self.host, self._requested_port), _Handler)
        httpd.fake = self
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"FakeBotAPIServer:{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, wake long polls and close the listening socket."""
        httpd, thread = self._httpd, self._thread
        if httpd is None:
            return
        self.stopping.set()
        self.api.wake_waiters()
        httpd.shutdown()
        httpd.server_close()
        if thread is not None:
            thread.join(timeout=5)
        self._httpd = None
        self._thread = None

    def __enter__(self) -> FakeBotAPIServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        """The bound TCP port (only while started)."""
        if self._httpd is None:
            raise RuntimeError("FakeBotAPIServer is not started")
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT``."""
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT/bot``: PTB's ``base_url`` / ``HIRFA_TELEGRAM__API_URL``."""
        return f"{self.url}/bot"

    @property
    def base_file_url(self) -> str:
        """``http://127.0.0.1:PORT/file/bot``: PTB's ``base_file_url`` for downloads."""
        return f"{self.url}/file/bot"


__all__ = [
    "BOT_FIRST_NAME",
    "BOT_ID",
    "BOT_USERNAME",
    "TOKEN",
    "ApiError",
    "FakeBotAPI",
    "FakeBotAPIServer",
    "FakeRequest",
    "SentMessage",
    "StoredFile",
    "UploadedFile",
    "bot_user",
    "buttons_of",
    "decode_request_data",
    "parse_body",
    "parse_html",
    "parse_markdown",
    "parse_markdown_v2",
    "parse_multipart",
    "render",
    "utf16_len",
]
