"""What goes in and out of the dialogue engine, free of any platform.

A channel adapter turns a platform update into an :class:`Incoming`; handlers answer with
:class:`Reply` objects (catalog keys, not text); the engine renders them for the reader into
:class:`OutMessage` (HTML text and labelled buttons), which the adapter turns into platform calls.
The same :class:`OutMessage` is what the outbox stores and delivers later.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal
from zoneinfo import ZoneInfo

from bot.i18n import Msg, Text, Translator

if TYPE_CHECKING:
    from bot.payloads import Payload

Kind = Literal["text", "command", "choice", "contact", "location", "unsupported"]

# Telegram limits callback data to 64 bytes; WhatsApp reply ids are larger, so Telegram rules.
MAX_CHOICE_ID_BYTES = 64


def utf16_len(text: str) -> int:
    """The length Telegram counts (4,096 per message, 1,024 per caption): UTF-16 code units,
    so an emoji or any character beyond the Basic Multilingual Plane counts two."""
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


def utf16_cut(text: str, limit: int) -> tuple[str, str]:
    """``text`` cut after at most ``limit`` UTF-16 units, never inside a character."""
    units = 0
    for index, ch in enumerate(text):
        units += 2 if ord(ch) > 0xFFFF else 1
        if units > limit:
            return text[:index], text[index:]
    return text, ""


@dataclass(frozen=True)
class Contact:
    """A phone number shared by the user; ``user_id`` is the platform id of its owner, if known."""

    phone: str
    user_id: str | None = None


@dataclass(frozen=True)
class IncomingFile:
    """A photo, document or voice note the user sent: the platform's file id and what it says
    about it (``voice`` covers voice notes and audio files).

    The bytes are fetched on demand with the channel's fetcher (``services.extras["files"]``),
    so nobody downloads what no handler wants.
    """

    kind: Literal["photo", "document", "voice"]
    file_id: str
    filename: str
    mime_type: str
    size: int | None = None


@dataclass(frozen=True)
class Incoming:
    """One thing a user did: typed text, a command, pressed a button, shared a contact, ..."""

    channel: str
    user_id: str
    chat_id: str
    kind: Kind
    text: str = ""
    choice_id: str | None = None
    contact: Contact | None = None
    update_id: str | None = None
    language_hint: str | None = None
    verified_phone: str | None = None
    media: str | None = None
    location: tuple[float, float] | None = None
    file: IncomingFile | None = None
    # A message in a topic of a forum group (the chamber's staff group): the topic's id.
    thread_id: str | None = None


@dataclass(frozen=True, init=False)
class Choice:
    """A button (or a numbered option where buttons do not exist).

    ``id`` is given as a :class:`~bot.payloads.Payload` (packed here: ``Choice(OpenSession(42),
    label)`` has the id ``s:open:42``) or, for an answer only valid where it is offered, as a
    plain string (``consent:yes``)."""

    id: str
    label: Text
    description: Text | None = None

    def __init__(self, id: str | Payload, label: Text, description: Text | None = None) -> None:
        object.__setattr__(self, "id", id if isinstance(id, str) else id.pack())
        object.__setattr__(self, "label", label)
        object.__setattr__(self, "description", description)
        size = len(self.id.encode())
        if not 1 <= size <= MAX_CHOICE_ID_BYTES:
            raise ValueError(f"choice id {self.id!r} must be 1-{MAX_CHOICE_ID_BYTES} bytes")


@dataclass(frozen=True)
class Document:
    """A file sent along with a reply (an .ics calendar entry, an export, a poster)."""

    filename: str
    content: bytes
    mime_type: str = "application/octet-stream"


@dataclass
class Reply:
    """One message of the bot, in catalog keys; rendered per reader by the engine."""

    text: Text
    choices: list[Choice] = field(default_factory=list)
    ask_contact: bool = False
    remove_keyboard: bool = False
    document: Document | None = None
    photo: bytes | None = None
    location: tuple[float, float] | None = None
    numbered: bool = True
    media_ref: str | None = None  # a stored attachment, see OutMessage.media_ref
    voice_ref: str | None = None
    # The message this reply speaks, for voice help (a staff-recorded voice note of that catalog
    # key); by default the key of ``text``. Set when ``text`` is pre-rendered (a Raw).
    voice_key: str | None = None

    @property
    def speaks(self) -> str | None:
        return self.voice_key or (self.text.key if isinstance(self.text, Msg) else None)


@dataclass(frozen=True)
class Button:
    id: str
    label: str
    description: str | None = None


@dataclass
class OutMessage:
    """A reply rendered for one reader: HTML text, labelled buttons, attachments."""

    text: str
    buttons: list[Button] = field(default_factory=list)
    ask_contact: bool = False
    contact_label: str = ""
    remove_keyboard: bool = False
    document: Document | None = None
    photo: bytes | None = None
    location: tuple[float, float] | None = None
    locale: str = "ar"
    numbered: bool = True
    # What an outbox message says in catalog terms: ``{"kind", "key", "params"}`` with the
    # parameters already rendered as plain text for the reader. Channels that may only send
    # pre-approved templates at times (WhatsApp outside its 24-hour window) fill them from it.
    origin: dict[str, Any] | None = None
    # Edit the platform message with this id instead of sending a new one (progress reports).
    edit_id: str | None = None
    # A photo or document stored elsewhere (``"broadcast:12"``), loaded by the outbox just before
    # sending, so that thousands of queued copies do not each carry the bytes.
    media_ref: str | None = None
    # Send into this topic of a forum group (Telegram ``message_thread_id``).
    thread_id: str | None = None
    # A staff-recorded voice note sent just before the text (``"voice:12"``), for artisans who
    # turned voice help on; the channel loads it and sends it by its own file/media id.
    voice_ref: str | None = None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "text": self.text,
            "buttons": [[b.id, b.label, b.description] for b in self.buttons],
            "locale": self.locale,
        }
        if not self.numbered:
            data["numbered"] = False
        if self.ask_contact:
            data["ask_contact"] = True
            data["contact_label"] = self.contact_label
        if self.remove_keyboard:
            data["remove_keyboard"] = True
        if self.document is not None:
            data["document"] = {
                "filename": self.document.filename,
                "mime_type": self.document.mime_type,
                "content": base64.b64encode(self.document.content).decode(),
            }
        if self.photo is not None:
            data["photo"] = base64.b64encode(self.photo).decode()
        if self.location is not None:
            data["location"] = list(self.location)
        if self.origin is not None:
            data["origin"] = self.origin
        if self.edit_id is not None:
            data["edit_id"] = self.edit_id
        if self.media_ref is not None:
            data["media_ref"] = self.media_ref
        if self.thread_id is not None:
            data["thread_id"] = self.thread_id
        if self.voice_ref is not None:
            data["voice_ref"] = self.voice_ref
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> OutMessage:
        doc = data.get("document")
        location = data.get("location")
        return cls(
            text=data["text"],
            buttons=[Button(b[0], b[1], b[2] if len(b) > 2 else None) for b in data["buttons"]],
            ask_contact=bool(data.get("ask_contact")),
            contact_label=data.get("contact_label", ""),
            remove_keyboard=bool(data.get("remove_keyboard")),
            document=Document(doc["filename"], base64.b64decode(doc["content"]), doc["mime_type"])
            if doc
            else None,
            photo=base64.b64decode(data["photo"]) if data.get("photo") else None,
            location=(float(location[0]), float(location[1])) if location else None,
            locale=data.get("locale", "ar"),
            numbered=data.get("numbered", True),
            origin=data.get("origin"),
            edit_id=data.get("edit_id"),
            media_ref=data.get("media_ref"),
            thread_id=data.get("thread_id"),
            voice_ref=data.get("voice_ref"),
        )


def render(reply: Reply, translator: Translator, lang: str, zone: ZoneInfo) -> OutMessage:
    """Render ``reply`` for a reader of ``lang`` in ``zone``."""
    t = translator
    return OutMessage(
        text=t.render(reply.text, lang, zone),
        buttons=[
            Button(
                c.id,
                t.plain(c.label, lang, zone),
                t.plain(c.description, lang, zone) if c.description is not None else None,
            )
            for c in reply.choices
        ],
        ask_contact=reply.ask_contact,
        contact_label=t.plain(Msg("reg.share_phone_button"), lang, zone) if reply.ask_contact else "",
        remove_keyboard=reply.remove_keyboard,
        document=reply.document,
        photo=reply.photo,
        location=reply.location,
        locale=lang,
        numbered=reply.numbered,
        media_ref=reply.media_ref,
        voice_ref=reply.voice_ref,
    )
