"""The WhatsApp Cloud API (Graph API) over httpx: send, upload, download media, map errors.

Sending goes to ``{HIRFA_WHATSAPP__API_URL}/{phone_id}/...``, media a user sent are read from
``{HIRFA_WHATSAPP__API_URL}/{media_id}`` (a short-lived URL, fetched with the same token), always
with the access token as a bearer header (never in a URL, so it cannot leak into a log line).
Meta's error codes become ours:

==================  ================================================================
130429, 131056      :class:`RetryLater` (throughput / per-recipient pair limit)
4, 80007, 131048    :class:`RetryLater` (application, account or spam rate limits)
131047              :class:`WindowClosed` (more than 24 h since the user wrote: template)
131026              :class:`Undeliverable` (not now: retried later, that message only;
                    it is not a block, the number may come back)
190                 :class:`TokenRejected`: sending stops until a new token and a restart;
                    one clear error line for staff
1, 2, 131000,       :class:`Transient` (Meta-side trouble), as are 5xx and network errors
131016, 133004
anything else       :class:`GraphRefused` (a :class:`Permanent` refusal with its code)
==================  ================================================================
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any

import httpx

from bot.channels.whatsapp_render import Part
from bot.errors import FileTooLarge, Permanent, RetryLater, Transient, WindowClosed
from bot.messages import Document
from bot.pacing import Pacer
from bot.settings import WhatsAppSettings

log = logging.getLogger(__name__)

THROTTLED = {130429: 2.0, 131056: 6.0, 4: 60.0, 80007: 60.0, 131048: 60.0}
META_TROUBLE = {1, 2, 131000, 131016, 133004}
OUTSIDE_WINDOW = 131047
PAIR_LIMIT = 131056  # too many messages to this one recipient: only they wait
UNDELIVERABLE = 131026
TOKEN_INVALID = 190
TOKEN_RETRY_SECONDS = 300.0
# The largest file a user may send us that we download (Meta's own cap is 100 MB for documents).
DOWNLOAD_MAX = 16 * 1024 * 1024


class Undeliverable(Transient):
    """131026: Meta could not deliver this message now (the number is not on WhatsApp for the
    moment, an old app, terms not accepted, the user's marketing limit). Not a block: the message
    is retried with backoff and given up alone after the outbox's ``max_attempts``."""


class GraphRefused(Permanent):
    """Meta refused the request itself; ``code`` is its error code (e.g. 132001)."""

    def __init__(self, code: int, detail: str) -> None:
        super().__init__(f"whatsapp error {code}: {detail}")
        self.code = code


class TokenRejected(RetryLater):
    """Error 190: the access token is expired or revoked. Nothing is sent until a restart with
    a valid token; outbox rows stay ``pending`` (retried every few minutes, never lost)."""

    def __init__(self) -> None:
        super().__init__(TOKEN_RETRY_SECONDS, "whatsapp access token rejected (error 190)")


def recipient(chat_id: str) -> dict[str, str]:
    """A phone number (``212612345678``) goes in ``to``; a business-scoped user id
    (``MA.1234...``, users who hide their number behind a username) in ``recipient``."""
    return {"to": chat_id} if chat_id.isdigit() else {"recipient": chat_id}


def error_for(status: int, data: Any) -> Exception:
    """Our delivery error for a failed Graph API response."""
    error = data.get("error") if isinstance(data, dict) else None
    if not isinstance(error, dict):
        if status >= 500 or status == 429:
            return Transient(f"whatsapp http {status}")
        return Permanent(f"whatsapp http {status}")
    code = int(error.get("code") or 0)
    error_data = error.get("error_data")
    details = error_data.get("details") if isinstance(error_data, dict) else None
    detail = " ".join(str(x) for x in (error.get("message"), details) if x)[:300] or "refused"
    if code == TOKEN_INVALID:
        return TokenRejected()
    if code in THROTTLED:
        return RetryLater(THROTTLED[code], f"whatsapp error {code}: {detail}",
                          per_chat=code == PAIR_LIMIT)
    if code == OUTSIDE_WINDOW:
        return WindowClosed(f"more than 24 hours since the artisan last wrote (whatsapp {code})")
    if code == UNDELIVERABLE:
        return Undeliverable(f"whatsapp error {code}: {detail}")
    if code in META_TROUBLE or status >= 500:
        return Transient(f"whatsapp error {code}: {detail}")
    return GraphRefused(code, detail)


class GraphClient:
    """Calls to one business phone number's endpoints; ``halted`` after error 190."""

    def __init__(
        self, settings: WhatsAppSettings, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        assert settings.token is not None and settings.phone_id is not None
        self.root = settings.api_url
        self.base = f"{settings.api_url}/{settings.phone_id}"
        self.client = httpx.AsyncClient(
            transport=transport,
            timeout=httpx.Timeout(20.0, connect=5.0),
            headers={"Authorization": f"Bearer {settings.token.get_secret_value()}"},
        )
        self.halted = False

    async def close(self) -> None:
        await self.client.aclose()

    async def _call(self, path: str, **kwargs: Any) -> dict[str, Any]:
        return await self._request("POST", f"{self.base}/{path}", **kwargs)

    async def _request(self, method: str, url: str, **kwargs: Any) -> dict[str, Any]:
        if self.halted:
            raise TokenRejected()
        try:
            response = await self.client.request(method, url, **kwargs)
        except httpx.TransportError as err:
            raise Transient(f"whatsapp network error: {type(err).__name__}") from err
        try:
            data = response.json()
        except ValueError:
            data = None
        if response.is_success and isinstance(data, dict):
            return data
        error = error_for(response.status_code, data)
        if isinstance(error, TokenRejected) and not self.halted:
            self.halted = True
            log.error(
                "WhatsApp refused the access token (error 190: expired or revoked). Sending on "
                "WhatsApp is stopped; waiting messages are kept. Set a valid "
                "HIRFA_WHATSAPP__TOKEN and restart."
            )
        raise error

    async def post_message(self, chat_id: str, body: dict[str, Any]) -> str:
        """Send one message object; return its ``wamid``."""
        payload = {"messaging_product": "whatsapp", "recipient_type": "individual",
                   **recipient(chat_id), **body}
        data = await self._call("messages", json=payload)
        messages = data.get("messages") or [{}]
        return str(messages[0].get("id") or "")

    async def upload(self, document: Document) -> str:
        """Upload a file to ``/media``; return the media id to send it by."""
        data = await self._call(
            "media",
            data={"messaging_product": "whatsapp", "type": document.mime_type},
            files={"file": (document.filename, document.content, document.mime_type)},
        )
        return str(data["id"])

    async def download(self, media_id: str, limit: int = DOWNLOAD_MAX) -> bytes:
        """The bytes of a file a user sent, by its media id: ask Meta for its short-lived URL,
        then fetch that with the token. :class:`FileTooLarge` past ``limit`` bytes (checked on
        the size Meta announces, and again while reading)."""
        if not media_id.isdigit():
            raise Permanent("whatsapp: not a media id")
        info = await self._request("GET", f"{self.root}/{media_id}")
        url = str(info.get("url") or "")
        if not url.startswith(("https://", "http://")):
            raise Permanent("whatsapp: the media has no download URL")
        announced = str(info.get("file_size") or "")
        if announced.isdigit() and int(announced) > limit:
            raise FileTooLarge(int(announced), limit)
        try:
            async with self.client.stream("GET", url) as response:
                if not response.is_success:
                    raise error_for(response.status_code, None)
                content = bytearray()
                async for chunk in response.aiter_bytes():
                    content += chunk
                    if len(content) > limit:
                        raise FileTooLarge(len(content), limit)
        except httpx.TransportError as err:
            raise Transient(f"whatsapp network error: {type(err).__name__}") from err
        return bytes(content)

    async def send_parts(
        self, chat_id: str, parts: Iterable[Part], pacer: Pacer, *, first_slot_taken: bool = False,
        done: Mapping[int, str] | None = None,
        on_sent: Callable[[int, str], Awaitable[None]] | None = None,
    ) -> str:
        """Send the parts of one message in order, each in its own pacer slot; return the last id.

        Parts in ``done`` (number → ``wamid``) were accepted by Meta before and are skipped;
        ``on_sent(number, wamid)`` runs as soon as Meta accepts a part, before the next is tried,
        so a failure further on never makes it go twice."""
        done = done or {}
        message_id = ""
        slot_taken = first_slot_taken
        for index, part in enumerate(parts):
            if index in done:
                message_id = done[index]
                continue
            body = part.body
            if part.upload is not None:
                media_id = await self.upload(part.upload)
                body = {**body, part.kind: {**body[part.kind], "id": media_id}}
            if not slot_taken:
                await pacer.acquire()
            slot_taken = False
            message_id = await self.post_message(chat_id, body)
            if on_sent is not None:
                await on_sent(index, message_id)
        return message_id
