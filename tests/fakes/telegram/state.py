"""What the fake Bot API remembers: chats, messages, files, queued updates and what the bot did.

:class:`State` is the data every Bot API method reads and changes (``methods/``), and what
:class:`~tests.fakes.telegram.api.FakeBotAPI` exposes to tests. The records a test reads are
:class:`SentMessage` (one message the bot sent) and :class:`StoredFile` (a file by ``file_id``).
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tests.fakes.telegram.errors import ApiError, Faults
from tests.fakes.telegram.identity import BOT_ID
from tests.fakes.telegram.limits import FloodLimits
from tests.fakes.telegram.markup import buttons_of

JSONDict = dict[str, Any]
_MEDIA_KINDS = ("document", "voice", "audio", "video", "video_note", "sticker", "animation")


@dataclass(frozen=True)
class UploadedFile:
    """A file that arrived as a multipart part (``InputFile`` on the PTB side)."""

    filename: str
    content: bytes
    mime_type: str | None = None


@dataclass
class StoredFile:
    """A file the fake knows, by ``file_id``: uploaded by the bot or added by a test."""

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
    document, photo or voice note. ``message`` is the ``Message`` JSON Telegram returned.
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

    @property
    def caption(self) -> str | None:
        """The caption of a file (``None`` for text and location messages)."""
        return None if self.method in ("sendMessage", "sendLocation") else self.text

    @property
    def thread_id(self) -> int | None:
        """The forum topic the message went to (``message_thread_id``), if any."""
        value = self.message.get("message_thread_id")
        return int(value) if value is not None else None

    @property
    def buttons(self) -> list[tuple[str, str | None]]:
        """The keyboard flattened to ``[(label, data), ...]`` (see :func:`buttons_of`)."""
        return buttons_of(self.reply_markup)


class State:
    """The fake's memory. Guard every access with ``lock`` (the HTTP server answers from several
    threads while a test pushes updates).

    What the bot did: ``sent``, ``calls`` (every ``(method, params)`` received except
    ``getUpdates``), ``edits``, ``commands`` (default-scope menus by language code, ``""`` for
    none), ``scoped_commands`` (by ``(scope, language)``), ``webhook``, ``answered_callbacks``.

    The world it talks to: ``blocked`` chats, ``files`` by ``file_id``, forum ``topics`` (by chat,
    then ``message_thread_id``), ``updates`` not yet confirmed, and the chats and messages learned
    from pushed updates (so the bot can edit them, and its message ids follow the user's).
    """

    def __init__(self, *, time_fn: Callable[[], float], wall_time_fn: Callable[[], float]) -> None:
        self.time = time_fn
        self.wall_time = wall_time_fn
        self.strict_html_ampersand = True
        """Reject a lone ``&`` in HTML text (Telegram accepts it; see ``html.py``)."""
        self.lock = threading.RLock()
        self.updates_changed = threading.Condition(self.lock)
        self.flood = FloodLimits()
        self.faults = Faults()

        self.sent: list[SentMessage] = []
        self.calls: list[tuple[str, JSONDict]] = []
        self.edits: list[JSONDict] = []
        self.commands: dict[str, list[JSONDict]] = {}
        self.scoped_commands: dict[tuple[str, str], list[JSONDict]] = {}
        self.webhook: JSONDict | None = None
        self.answered_callbacks: list[JSONDict] = []

        self.blocked: set[int] = set()
        self.files: dict[str, StoredFile] = {}
        self.topics: dict[int, dict[int, JSONDict]] = {}
        self.updates: list[JSONDict] = []
        self.last_update_id = 0
        self.chats: dict[int, JSONDict] = {}
        self.messages: dict[tuple[int, int], JSONDict] = {}
        """Every ``Message`` by ``(chat_id, message_id)``, the bot's and the users'."""
        self.bot_messages: dict[tuple[int, int], SentMessage] = {}
        """The bot's messages (the ones it may edit), by ``(chat_id, message_id)``."""
        self.callback_queries: dict[str, JSONDict] = {}
        self.answered_ids: set[str] = set()
        self._last_message_id: dict[int, int] = {}
        self._file_numbers = itertools.count(1)

    # -- chats and messages -------------------------------------------------------------------

    def chat(self, chat_id: int) -> JSONDict:
        """The ``Chat`` object for ``chat_id``: as learned from updates, else a plausible one."""
        known = self.chats.get(chat_id)
        if known is not None:
            return copy.deepcopy(known)
        if chat_id > 0:
            return {"id": chat_id, "type": "private", "first_name": "User"}
        chat_type = "supergroup" if str(chat_id).startswith("-100") else "group"
        return {"id": chat_id, "type": chat_type, "title": "Group"}

    def check_blocked(self, chat_id: int) -> None:
        """403, as Telegram answers when the user blocked the bot."""
        if chat_id in self.blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")

    def next_message_id(self, chat_id: int) -> int:
        """Message ids grow per chat, shared by the user's and the bot's messages."""
        next_id = self._last_message_id.get(chat_id, 0) + 1
        self._last_message_id[chat_id] = next_id
        return next_id

    def has_pending(self, offset: int) -> bool:
        """Would ``getUpdates(offset=offset)`` return something?"""
        if offset > 0:
            return any(u["update_id"] >= offset for u in self.updates)
        return bool(self.updates)

    # -- files --------------------------------------------------------------------------------

    def store_file(
        self,
        content: bytes,
        filename: str | None,
        mime_type: str | None,
        *,
        file_id: str | None = None,
        folder: str = "documents",
    ) -> StoredFile:
        """Keep a file under a Telegram-looking ``file_id`` and ``file_path``."""
        number = next(self._file_numbers)
        digest = hashlib.sha1(content).hexdigest()[:10]
        suffix = "." + filename.rsplit(".", 1)[1] if filename and "." in filename else ""
        stored = StoredFile(
            file_id=file_id or f"BQACAgQAAxkBAAI{number:05d}{digest}",
            file_unique_id=f"AgAD{digest}{number}",
            content=content,
            filename=filename,
            mime_type=mime_type,
            file_path=f"{folder}/file_{number}{suffix}",
        )
        self.files[stored.file_id] = stored
        return stored

    # -- learning from incoming updates ---------------------------------------------------------

    def learn(self, update: JSONDict) -> None:
        """Remember the chats, messages, files and callback queries an update carries."""
        for key in ("message", "edited_message", "channel_post", "edited_channel_post"):
            if isinstance(update.get(key), dict):
                self._learn_message(update[key])
        query = update.get("callback_query")
        if isinstance(query, dict):
            self.callback_queries[str(query.get("id"))] = query
            if isinstance(query.get("message"), dict):
                self._learn_message(query["message"])
        member = update.get("my_chat_member")
        if isinstance(member, dict) and isinstance(member.get("chat"), dict):
            self._learn_chat(member["chat"])

    def _learn_chat(self, chat: JSONDict) -> None:
        if "id" in chat:
            self.chats[int(chat["id"])] = {k: v for k, v in chat.items() if k != "api_kwargs"}

    def _learn_message(self, message: JSONDict) -> None:
        chat = message.get("chat")
        if not isinstance(chat, dict) or "id" not in chat:
            return
        self._learn_chat(chat)
        chat_id = int(chat["id"])
        message_id = message.get("message_id")
        if isinstance(message_id, int):
            last = self._last_message_id.get(chat_id, 0)
            self._last_message_id[chat_id] = max(last, message_id)
            key = (chat_id, message_id)
            if key not in self.messages:
                self.messages[key] = copy.deepcopy(message)
                sender = message.get("from")
                if isinstance(sender, dict) and sender.get("id") == BOT_ID:
                    self._adopt_bot_message(chat_id, message_id, self.messages[key])
        for size in message.get("photo") or []:
            self._learn_file(size)
        for kind in _MEDIA_KINDS:
            if isinstance(message.get(kind), dict):
                self._learn_file(message[kind])

    def _adopt_bot_message(self, chat_id: int, message_id: int, message: JSONDict) -> None:
        """A bot message seen only in an update (e.g. under a callback query): make it
        editable. It is not added to ``sent`` (the fake did not see it being sent); its edits
        still show in ``edits``."""
        method = "sendMessage"
        for key, name in (("document", "sendDocument"), ("photo", "sendPhoto"),
                          ("location", "sendLocation")):
            if key in message:
                method = name
                break
        text = message.get("text", message.get("caption"))
        self.bot_messages[(chat_id, message_id)] = SentMessage(
            method=method,
            chat_id=chat_id,
            message_id=message_id,
            text=text,
            parse_mode=None,
            reply_markup=message.get("reply_markup"),
            at=self.time(),
            plain_text=text,
            message=message,
        )

    def _learn_file(self, obj: JSONDict) -> None:
        """A ``file_id`` seen in an update is downloadable (placeholder bytes until a test gives
        real ones with ``add_file``)."""
        file_id = obj.get("file_id")
        if isinstance(file_id, str) and file_id not in self.files:
            content = b"fake-telegram-file:" + file_id.encode()
            stored = self.store_file(
                content, obj.get("file_name"), obj.get("mime_type"), file_id=file_id
            )
            stored.file_unique_id = str(obj.get("file_unique_id") or stored.file_unique_id)
