"""A rendered reply (:class:`~bot.messages.OutMessage`) as WhatsApp Cloud API messages.

WhatsApp has no inline keyboard; what it has, and how choices map onto it:

- 1-3 choices → one message with **reply buttons** (titles <= 20 characters);
- 4-10 → one **list message** (a "Choose" button opening up to 10 rows; row title <= 24,
  description <= 72);
- 11-30 → two or three list messages of even size (the question first, then "More choices
  (2/3)"), so every answer is still a tap — Morocco's 12 regions plus Back and Cancel are 14;
- more → **numbered text** ("Reply with the number"): the engine reads typed numbers and labels.

Long labels are shortened at a word boundary with "…" (the full label then goes in the row's
description); lengths are counted in characters (UTF-16 units, as Meta counts), never bytes, so
Arabic and Tifinagh get the same room as Latin text. HTML becomes WhatsApp markup; text longer
than 4096 characters is split at paragraph or line breaks. ``ask_contact`` is dropped: WhatsApp
already told us the number. Files are first fitted to the types Meta accepts
(:mod:`~bot.channels.whatsapp_files`: a calendar file becomes words and an "add" link, a CSV an
XLSX).
"""

from __future__ import annotations

import math
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from bot.channels.whatsapp_files import Describe, fit, image_type
from bot.i18n import html_to_whatsapp
from bot.messages import Button, Document, OutMessage

TEXT_MAX = 4096
BODY_MAX = 1024
CAPTION_MAX = 1024
BUTTON_TITLE_MAX = 20
LIST_BUTTON_MAX = 20
ROW_TITLE_MAX = 24
ROW_DESCRIPTION_MAX = 72
MAX_BUTTONS = 3
MAX_ROWS = 10
MAX_LISTS = 3
ELLIPSIS = "…"
_TRAILING = " \t,.;:-–—،؛/(«\"'"
_JOINER = "\u200d"


@dataclass(frozen=True)
class Labels:
    """The few words WhatsApp's widgets need, in the reader's language."""

    choose: str  # the button that opens a list
    pick_below: str  # a list's body when the question went ahead in its own message
    more_choices: str  # body of the 2nd/3rd list; has {page} and {pages}
    reply_number: str  # the hint under numbered options
    describe: Describe | None = None  # a calendar event in words, with its "add" link


@dataclass
class Part:
    """One Cloud API message: ``body`` is the message object without ``to``; ``upload`` is a file
    to upload first, whose media id then goes in ``body[body["type"]]["id"]``."""

    body: dict[str, Any]
    upload: Document | None = None
    kind: str = field(init=False)

    def __post_init__(self) -> None:
        self.kind = str(self.body["type"])


def measure(text: str) -> int:
    """Length as WhatsApp counts it: characters (UTF-16 code units), not bytes."""
    return len(text.encode("utf-16-le")) // 2


def _fitting(text: str, limit: int) -> int:
    """How many leading characters of ``text`` fit in ``limit`` UTF-16 units."""
    used = 0
    for index, char in enumerate(text):
        used += 2 if ord(char) > 0xFFFF else 1
        if used > limit:
            return index
    return len(text)


def _splits_a_letter(text: str, end: int) -> bool:
    """Would cutting before ``text[end]`` part a letter from its mark or break an emoji?"""
    if end <= 0 or end >= len(text):
        return False
    return bool(unicodedata.combining(text[end])) or _JOINER in (text[end], text[end - 1]) \
        or text[end] == "\ufe0f"


def shorten(text: str, limit: int) -> str:
    """``text`` in at most ``limit`` characters, cut at a word boundary and ending with "…"."""
    text = " ".join(text.split())
    if measure(text) <= limit:
        return text
    end = _fitting(text, limit - 1)
    space = text.rfind(" ", 0, end + 1)
    if space >= end // 3:
        end = space
    else:  # one long word: cut inside it (with the ellipsis), but never inside a letter
        while _splits_a_letter(text, end):
            end -= 1
    cut = text[:end].rstrip(_TRAILING) or text[: _fitting(text, limit - 1)]
    return cut + ELLIPSIS


def split_text(text: str, limit: int = TEXT_MAX) -> list[str]:
    """Pieces of at most ``limit`` characters, split at paragraph, line or word breaks."""
    pieces: list[str] = []
    rest = text
    while measure(rest) > limit:
        end = _fitting(rest, limit)
        cut = -1
        for separator in ("\n\n", "\n", " "):
            cut = rest.rfind(separator, 0, end)
            if cut >= end // 2:
                break
        if cut < end // 2:
            cut = end
            while _splits_a_letter(rest, cut):
                cut -= 1
        pieces.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest:
        pieces.append(rest)
    return [p for p in pieces if p]


def _text(body: str) -> Part:
    return Part({"type": "text", "text": {"body": body, "preview_url": False}})


def _unique_titles(buttons: list[Button], limit: int) -> list[tuple[str, bool]]:
    """Shortened titles, made distinct (WhatsApp refuses two equal titles in one message)."""
    out: list[tuple[str, bool]] = []
    seen: set[str] = set()
    for button in buttons:
        label = " ".join(button.label.split()) or "·"
        title = shorten(label, limit)
        number = 2
        while title in seen:
            suffix = f" ({number})"
            title = shorten(label, limit - measure(suffix)) + suffix
            number += 1
        seen.add(title)
        out.append((title, title != label))
    return out


def reply_buttons(body: str, buttons: list[Button]) -> Part:
    titles = _unique_titles(buttons, BUTTON_TITLE_MAX)
    return Part({
        "type": "interactive",
        "interactive": {
            "type": "button",
            "body": {"text": body},
            "action": {"buttons": [
                {"type": "reply", "reply": {"id": b.id, "title": title}}
                for b, (title, _) in zip(buttons, titles, strict=True)
            ]},
        },
    })


def list_message(body: str, buttons: list[Button], labels: Labels) -> Part:
    rows = []
    for b, (title, shortened) in zip(buttons, _unique_titles(buttons, ROW_TITLE_MAX), strict=True):
        row: dict[str, str] = {"id": b.id, "title": title}
        description = b.description or (b.label if shortened else None)
        if description:
            row["description"] = shorten(description, ROW_DESCRIPTION_MAX)
        rows.append(row)
    return Part({
        "type": "interactive",
        "interactive": {
            "type": "list",
            "body": {"text": body},
            "action": {"button": shorten(labels.choose, LIST_BUTTON_MAX),
                       "sections": [{"rows": rows}]},
        },
    })


def _chunks(buttons: list[Button]) -> list[list[Button]]:
    """Split into the fewest lists of at most 10 rows, of even sizes (7 + 7, not 10 + 4)."""
    count = math.ceil(len(buttons) / MAX_ROWS)
    size, extra = divmod(len(buttons), count)
    out, start = [], 0
    for index in range(count):
        end = start + size + (1 if index < extra else 0)
        out.append(buttons[start:end])
        start = end
    return out


def numbered_text(text: str, message: OutMessage, labels: Labels) -> str:
    if message.numbered:
        lines = [f"{i}. {b.label}" for i, b in enumerate(message.buttons, 1)]
        lines.append(f"\n{labels.reply_number}")
    else:
        lines = [f"• {b.label}" for b in message.buttons]
    return f"{text}\n\n" + "\n".join(lines) if text else "\n".join(lines)


def _media(message: OutMessage) -> Part | None:
    if message.document is not None:
        doc = message.document
        if doc.mime_type.startswith("audio/"):  # a voice note plays as one (no caption)
            return Part({"type": "audio", "audio": {}}, upload=doc)
        return Part({"type": "document", "document": {"filename": doc.filename}}, upload=doc)
    if message.photo is not None:
        mime = image_type(message.photo)
        return Part({"type": "image", "image": {}},
                    upload=Document(f"image.{mime.split('/')[1]}", message.photo, mime))
    return None


def render(message: OutMessage, labels: Labels) -> list[Part]:
    """The Cloud API messages that carry ``message``, in sending order."""
    message = fit(message, labels.describe)
    text = html_to_whatsapp(message.text).strip()
    buttons = list(message.buttons)
    parts: list[Part] = []
    media = _media(message)
    if media is not None:
        if text and not buttons and media.kind != "audio" and measure(text) <= CAPTION_MAX:
            media.body[media.kind]["caption"] = text
            text = ""
        parts.append(media)
    if not buttons:
        if text or not parts:
            parts += [_text(piece) for piece in split_text(text or ELLIPSIS)]
    elif len(buttons) > MAX_ROWS * MAX_LISTS:
        parts += [_text(piece) for piece in split_text(numbered_text(text, message, labels))]
    else:
        body = text
        if not body or measure(body) > BODY_MAX:
            if body:
                parts += [_text(piece) for piece in split_text(body)]
            body = labels.pick_below
        if len(buttons) <= MAX_BUTTONS:
            parts.append(reply_buttons(body, buttons))
        else:
            chunks = _chunks(buttons)
            for page, chunk in enumerate(chunks, 1):
                if page > 1:
                    body = labels.more_choices.format(page=page, pages=len(chunks))
                parts.append(list_message(body, chunk, labels))
    if message.location is not None:
        lat, lon = message.location
        parts.append(Part({"type": "location", "location": {"latitude": lat, "longitude": lon}}))
    return parts
