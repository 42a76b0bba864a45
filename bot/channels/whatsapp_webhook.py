"""What Meta posts to the webhook, read: the signature check and payload → ``Incoming``/``Status``.

A post is ``{"object": "whatsapp_business_account", "entry": [{"changes": [{"field":
"messages", "value": {...}}]}]}``; each ``value`` may hold ``messages`` (from users, with the
sender in ``contacts``) and ``statuses`` (what became of ours). Senders are named by ``wa_id``
(their number without "+") and, since 2026, a business-scoped ``user_id`` (``MA.123...``) that
stands in for the number when a user hides it behind a username.

Mapping (kinds as in :class:`~bot.messages.Incoming`): text → ``text`` (``command`` when it starts
with "/"); a reply-button or list-row tap → ``choice``; a shared contact card → ``contact``;
voice/audio → ``unsupported`` with media ``voice``; an image or a document → ``unsupported`` with
its media id as an :class:`~bot.messages.IncomingFile` (a step that takes files downloads it with
the channel's ``fetch_file``); video, sticker, location and the rest → ``unsupported``. Reactions
and group messages are ignored. A ``system`` message saying the user changed number becomes a
:class:`NumberChange`; errors Meta reports for the whole post (``value.errors``) are collected in
:attr:`Batch.errors` to be logged. The sender's number is their verified phone (WhatsApp checked
it by SMS), so registration does not ask for it.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from typing import Any

from bot.languages import from_phone_number
from bot.messages import Contact, Incoming, IncomingFile

CHANNEL = "whatsapp"
IGNORED_TYPES = {"reaction", "system", "ephemeral", "request_welcome"}
NUMBER_CHANGED = {"user_changed_number", "customer_changed_number"}


def signature_ok(app_secret: str, body: bytes, header: str) -> bool:
    """``X-Hub-Signature-256: sha256=<hex HMAC-SHA256(app secret, raw body)>``, in constant time."""
    scheme, _, digest = header.strip().partition("=")
    if scheme.lower() != "sha256" or not digest:
        return False
    expected = hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), digest.strip().lower().encode())


@dataclass(frozen=True)
class Status:
    """A status callback: what became of the message ``message_id`` we sent."""

    message_id: str
    status: str  # sent | delivered | read | failed
    recipient: str
    error_code: int | None = None
    error_title: str = ""


@dataclass(frozen=True)
class NumberChange:
    """A user moved their WhatsApp account from number ``old`` to ``new`` (digits only)."""

    old: str
    new: str


@dataclass(frozen=True)
class PostError:
    """An error Meta reports about a whole post rather than one message (``value.errors``)."""

    code: int | None
    title: str


@dataclass
class Batch:
    messages: list[Incoming] = field(default_factory=list)
    statuses: list[Status] = field(default_factory=list)
    number_changes: list[NumberChange] = field(default_factory=list)
    errors: list[PostError] = field(default_factory=list)


def _obj(value: Any) -> dict[str, Any]:
    """``value`` if it is a JSON object, else an empty one (a post is never trusted to be
    well-formed)."""
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _sender(message: dict[str, Any], contacts: list[dict[str, Any]]) -> tuple[str | None, str | None]:
    """(phone digits, business-scoped id) of the sender, from the message or its contact."""
    wa_id = message.get("from")
    user_id = message.get("from_user_id")
    for contact in contacts:
        if (wa_id and contact.get("wa_id") == wa_id) or (user_id and contact.get("user_id") == user_id):
            wa_id = wa_id or contact.get("wa_id")
            user_id = user_id or contact.get("user_id")
            break
    else:
        if len(contacts) == 1 and not (wa_id or user_id):
            wa_id, user_id = contacts[0].get("wa_id"), contacts[0].get("user_id")
    return (str(wa_id) if wa_id else None), (str(user_id) if user_id else None)


def _shared_contact(message: dict[str, Any]) -> Contact | None:
    for card in _list(message.get("contacts")):
        for phone in _list(_obj(card).get("phones")):
            phone = _obj(phone)
            number = phone.get("phone") or phone.get("wa_id")
            if number:
                owner = phone.get("wa_id")
                return Contact(str(number), str(owner) if owner else None)
    return None


def to_incoming(message: dict[str, Any], contacts: list[dict[str, Any]]) -> Incoming | None:
    """One user message as an :class:`Incoming`; ``None`` for what needs no answer."""
    kind = message.get("type")
    if kind in IGNORED_TYPES or message.get("group_id"):
        return None
    wa_id, user_id = _sender(message, contacts)
    user = wa_id or user_id
    if not user or not message.get("id"):
        return None
    base: dict[str, Any] = {
        "channel": CHANNEL, "user_id": user, "chat_id": user, "update_id": str(message["id"]),
        "verified_phone": f"+{wa_id}" if wa_id and wa_id.isascii() and wa_id.isdigit() else None,
        # WhatsApp says nothing of the user's language: the number's country is our first guess.
        "language_hint": (from_phone_number(f"+{wa_id}")
                          if wa_id and wa_id.isascii() and wa_id.isdigit() else None),
    }
    if kind == "text":
        body = str(_obj(message.get("text")).get("body") or "")
        return Incoming(kind="command" if body.startswith("/") else "text", text=body, **base)
    if kind == "interactive":
        reply = _obj(message.get("interactive"))
        picked = reply.get("button_reply") or reply.get("list_reply")
        if isinstance(picked, dict) and picked.get("id"):
            return Incoming(kind="choice", choice_id=str(picked["id"]),
                            text=str(picked.get("title") or ""), **base)
        return Incoming(kind="unsupported", media="media", **base)
    if kind == "button":  # a quick-reply button of a template: its text answers like typing
        button = _obj(message.get("button"))
        return Incoming(kind="text", text=str(button.get("text") or button.get("payload") or ""),
                        **base)
    if kind == "contacts":
        contact = _shared_contact(message)
        if contact is not None:
            return Incoming(kind="contact", contact=contact, **base)
        return Incoming(kind="unsupported", media="media", **base)
    media = "voice" if kind == "audio" else "media"
    content = message.get(str(kind))
    caption = str(content.get("caption") or "") if isinstance(content, dict) else ""
    file = _file(str(kind), content)
    if file is not None:
        return Incoming(kind="unsupported", media=file.kind, text=caption, file=file, **base)
    return Incoming(kind="unsupported", media=media, text=caption, **base)


def _file(kind: str, content: Any) -> IncomingFile | None:
    """A voice note, an image or a document, by its media id (the bytes are fetched only if a step
    wants them)."""
    if kind not in ("audio", "image", "document") or not isinstance(content, dict):
        return None
    media_id = str(content.get("id") or "")
    if not media_id.isdigit():
        return None
    mime = str(content.get("mime_type") or "application/octet-stream").split(";")[0].strip()
    size = str(content.get("file_size") or "")
    if kind == "audio":
        return IncomingFile("voice", media_id, "voice.ogg", mime or "audio/ogg",
                            int(size) if size.isdigit() else None)
    if kind == "image":
        extension = {"image/png": "png", "image/webp": "webp"}.get(mime, "jpg")
        return IncomingFile("photo", media_id, f"photo.{extension}", mime,
                            int(size) if size.isdigit() else None)
    name = str(content.get("filename") or "document")
    return IncomingFile("document", media_id, name, mime, int(size) if size.isdigit() else None)


def _number_change(message: dict[str, Any]) -> NumberChange | None:
    """``{"type": "system", "system": {"type": "user_changed_number", "wa_id": NEW}}`` (older
    posts name the new number ``new_wa_id``)."""
    system = message.get("system")
    if not isinstance(system, dict) or system.get("type") not in NUMBER_CHANGED:
        return None
    old = str(message.get("from") or "")
    new = str(system.get("wa_id") or system.get("new_wa_id") or "")
    if not (old.isdigit() and new.isdigit()) or old == new:
        return None
    return NumberChange(old, new)


def _post_error(raw: Any) -> PostError | None:
    if not isinstance(raw, dict):
        return None
    code = raw.get("code")
    title = str(raw.get("title") or raw.get("message") or "")
    error_data = raw.get("error_data")
    details = error_data.get("details") if isinstance(error_data, dict) else None
    if details:
        title = f"{title}: {details}"
    return PostError(int(code) if isinstance(code, int | str) and str(code).isdigit() else None,
                     title[:300])


def _status(raw: dict[str, Any]) -> Status | None:
    if not raw.get("id") or not raw.get("status"):
        return None
    errors = _list(raw.get("errors")) or [{}]
    first = _obj(errors[0])
    code = first.get("code")
    code = code if isinstance(code, int) or (isinstance(code, str) and code.isdecimal()) else None
    return Status(
        message_id=str(raw["id"]),
        status=str(raw["status"]),
        recipient=str(raw.get("recipient_id") or raw.get("recipient_user_id") or ""),
        error_code=int(code) if code is not None else None,
        error_title=str(first.get("title") or first.get("message") or "")[:300],
    )


def parse(payload: Any, phone_id: str | None) -> Batch:
    """Messages and statuses addressed to our number (other numbers of the account are skipped)."""
    batch = Batch()
    if not isinstance(payload, dict) or payload.get("object") != "whatsapp_business_account":
        return batch
    for entry in _list(payload.get("entry")):
        for change in _list(_obj(entry).get("changes")):
            change = _obj(change)
            if change.get("field") != "messages":
                continue
            value = _obj(change.get("value"))
            number = _obj(value.get("metadata")).get("phone_number_id")
            if phone_id and number and str(number) != phone_id:
                continue
            contacts = [c for c in _list(value.get("contacts")) if isinstance(c, dict)]
            for raw_error in _list(value.get("errors")):
                if (error := _post_error(raw_error)) is not None:
                    batch.errors.append(error)
            for message in _list(value.get("messages")):
                if not isinstance(message, dict):
                    continue
                if message.get("type") == "system":
                    if (change := _number_change(message)) is not None:
                        batch.number_changes.append(change)
                elif incoming := to_incoming(message, contacts):
                    batch.messages.append(incoming)
            for raw in _list(value.get("statuses")):
                if isinstance(raw, dict) and (status := _status(raw)):
                    batch.statuses.append(status)
    return batch
