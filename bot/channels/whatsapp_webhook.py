"""What Meta posts to the webhook, read: the signature check and payload → ``Incoming``/``Status``.

A post is ``{"object": "whatsapp_business_account", "entry": [{"changes": [{"field":
"messages", "value": {...}}]}]}``; each ``value`` may hold ``messages`` (from users, with the
sender in ``contacts``) and ``statuses`` (what became of ours). Senders are named by ``wa_id``
(their number without "+") and, since 2026, a business-scoped ``user_id`` (``MA.123...``) that
stands in for the number when a user hides it behind a username.

Mapping (kinds as in :class:`~bot.messages.Incoming`): text → ``text`` (``command`` when it starts
with "/"); a reply-button or list-row tap → ``choice``; a shared contact card → ``contact``;
voice/audio → ``unsupported`` with media ``voice``; image, video, document, sticker, location and
the rest → ``unsupported``. Reactions, group and system messages are ignored. The sender's number
is their verified phone (WhatsApp checked it by SMS), so registration does not ask for it.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from typing import Any

from bot.languages import from_phone_number
from bot.messages import Contact, Incoming

CHANNEL = "whatsapp"
IGNORED_TYPES = {"reaction", "system", "ephemeral", "request_welcome"}


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


@dataclass
class Batch:
    messages: list[Incoming] = field(default_factory=list)
    statuses: list[Status] = field(default_factory=list)


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
    for card in message.get("contacts") or []:
        for phone in card.get("phones") or []:
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
        "verified_phone": f"+{wa_id}" if wa_id and wa_id.isdigit() else None,
        # WhatsApp says nothing of the user's language: the number's country is our first guess.
        "language_hint": from_phone_number(f"+{wa_id}") if wa_id and wa_id.isdigit() else None,
    }
    if kind == "text":
        body = str((message.get("text") or {}).get("body") or "")
        return Incoming(kind="command" if body.startswith("/") else "text", text=body, **base)
    if kind == "interactive":
        reply = message.get("interactive") or {}
        picked = reply.get("button_reply") or reply.get("list_reply")
        if isinstance(picked, dict) and picked.get("id"):
            return Incoming(kind="choice", choice_id=str(picked["id"]),
                            text=str(picked.get("title") or ""), **base)
        return Incoming(kind="unsupported", media="media", **base)
    if kind == "button":  # a quick-reply button of a template: its text answers like typing
        button = message.get("button") or {}
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
    return Incoming(kind="unsupported", media=media, text=caption, **base)


def _status(raw: dict[str, Any]) -> Status | None:
    if not raw.get("id") or not raw.get("status"):
        return None
    errors = raw.get("errors") or [{}]
    first = errors[0] if isinstance(errors[0], dict) else {}
    code = first.get("code")
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
    for entry in payload.get("entry") or []:
        for change in (entry or {}).get("changes") or []:
            if (change or {}).get("field") != "messages":
                continue
            value = change.get("value") or {}
            number = (value.get("metadata") or {}).get("phone_number_id")
            if phone_id and number and str(number) != phone_id:
                continue
            contacts = [c for c in value.get("contacts") or [] if isinstance(c, dict)]
            for message in value.get("messages") or []:
                if isinstance(message, dict) and (incoming := to_incoming(message, contacts)):
                    batch.messages.append(incoming)
            for raw in value.get("statuses") or []:
                if isinstance(raw, dict) and (status := _status(raw)):
                    batch.statuses.append(status)
    return batch
