"""``FakeBotAPI``: the fake Bot API server as plain Python, with no I/O.

``handle(method, params)`` answers like ``api.telegram.org``: an HTTP status and a JSON body,
``{"ok": true, "result": ...}`` or ``{"ok": false, "error_code": 400, "description": ...}``.
Around it sit the controls a test uses (push updates, press buttons, block a chat, switch on
the flood limits, inject failures) and the readers of what the bot sent.
"""

from __future__ import annotations

import copy
import itertools
import time
from collections.abc import Callable
from typing import Any

from tests.fakes.telegram.errors import NOT_FOUND, ApiError
from tests.fakes.telegram.markup import buttons_of
from tests.fakes.telegram.methods import METHODS
from tests.fakes.telegram.methods.updates import Described
from tests.fakes.telegram.state import SentMessage, State

JSONDict = dict[str, Any]


class FakeBotAPI(State):
    """In-memory Telegram Bot API: the server logic, independent of any transport.

    Thread-safe (one re-entrant lock around everything), so a test thread can push updates while
    :class:`~tests.fakes.telegram.server.FakeBotAPIServer` answers from its own threads.

    Args:
        time_fn: clock for the flood limits and ``SentMessage.at`` (monotonic seconds). Pass a
            function returning a value you control to test rate limiting deterministically.
        wall_time_fn: clock for the Unix ``date`` fields of messages.

    What tests usually read (see :class:`~tests.fakes.telegram.state.State` for all):
        ``sent``, ``messages_to(chat_id)``, ``last_to(chat_id)``, ``texts_to(chat_id)``,
        ``buttons(msg)``, ``calls``, ``commands``, ``scoped_commands``, ``webhook``, ``edits``,
        ``answered_callbacks``, ``too_many_requests``.

    What tests usually do:
        ``push_update(update)`` (or ``observe(update)`` before ``app.process_update``),
        ``click(msg, label)``, ``block(chat_id)``, ``make_forum(chat_id)``,
        ``enforce_limits(...)``, ``fail_next(...)``, ``fail_network_next(...)``,
        ``add_file(...)``.
    """

    def __init__(
        self,
        *,
        time_fn: Callable[[], float] = time.monotonic,
        wall_time_fn: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(time_fn=time_fn, wall_time_fn=wall_time_fn)
        self._callback_numbers = itertools.count(1)

    def handle(self, method: str, params: JSONDict | None = None) -> tuple[int, JSONDict]:
        """Answer one Bot API call.

        ``method`` is case-insensitive (``sendmessage`` works, as on Telegram). ``params`` may
        hold JSON natives or their string forms (``"123"``, ``"true"``, a JSON-encoded
        ``reply_markup``), and ``UploadedFile`` values for multipart files. A method the fake
        does not implement answers 404 "Not Found" like Telegram does, which PTB turns into
        ``InvalidToken``: if a test shows ``InvalidToken: Not Found``, Hirfa called a method
        missing from ``methods/``. Returns the HTTP status and the JSON body.
        """
        params = dict(params or {})
        lower = method.lower()
        known = METHODS.get(lower)
        with self.lock:
            if lower != "getupdates":  # a polling bot would flood the list
                self.calls.append((known[0] if known else method, params))
            if known is None:
                return 404, dict(NOT_FOUND)
            injected = self.faults.take_error(lower)
            if injected is not None:
                return injected.status, injected.body()
            try:
                result = known[1](self, params)
            except ApiError as exc:
                return exc.status, exc.body()
            if isinstance(result, Described):
                return 200, {"ok": True, "result": result.value, "description": result.description}
            return 200, {"ok": True, "result": copy.deepcopy(result)}

    # -- incoming updates -----------------------------------------------------------------------

    def push_update(self, update: JSONDict) -> JSONDict:
        """Queue an incoming update (a dict shaped like Telegram's, see ``tests/factories.py``).

        ``update_id`` is assigned if missing. The fake also learns from it: the chat (so replies
        echo the user's name), the message ids (so the bot's next message id is higher, as in a
        real private chat), the message itself (so the bot can edit the one under a button) and
        callback query ids (see :meth:`unanswered_callbacks`). Returns the queued update.
        """
        update = copy.deepcopy(update)
        with self.lock:
            if "update_id" not in update:
                update["update_id"] = self.last_update_id + 1
            self.last_update_id = max(self.last_update_id, int(update["update_id"]))
            self.learn(update)
            self.updates.append(update)
            self.updates_changed.notify_all()
        return update

    def observe(self, update: JSONDict) -> JSONDict:
        """Learn from ``update`` like :meth:`push_update` does, without queueing it.

        For tests that feed updates straight to ``app.process_update``: observing a
        ``callback_update(...)`` first lets the handler edit the message under the button.
        Returns ``update`` unchanged, so it can wrap the factory call.
        """
        with self.lock:
            self.learn(copy.deepcopy(update))
        return update

    @property
    def pending_updates(self) -> list[JSONDict]:
        """Updates queued and not yet confirmed by a ``getUpdates`` offset."""
        with self.lock:
            return copy.deepcopy(self.updates)

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
        data = next(
            (d for label, d in message.buttons if button in (label, d) and d is not None), None
        )
        if data is None:
            raise LookupError(
                f"no inline button {button!r} with callback_data on message "
                f"{message.message_id}; buttons are {message.buttons}"
            )
        chat = message.message.get("chat") or self.chat(message.chat_id)
        sender_id = user_id if user_id is not None else message.chat_id
        if user_id is None and chat.get("type") == "private":
            first_name = str(chat.get("first_name") or first_name)
        user = {
            "id": sender_id,
            "is_bot": False,
            "first_name": first_name,
            "language_code": language_code,
        }
        query = {
            "id": f"{sender_id}{next(self._callback_numbers):08d}",
            "from": user,
            "message": copy.deepcopy(message.message),
            "chat_instance": str(abs(message.chat_id) * 7919 % 10**18),
            "data": data,
        }
        return self.push_update({"callback_query": query})

    def unanswered_callbacks(self) -> list[str]:
        """Ids of pushed callback queries the bot never answered (the user sees a spinner)."""
        with self.lock:
            return [qid for qid in self.callback_queries if qid not in self.answered_ids]

    def has_pending_updates(self, offset: int = 0) -> bool:
        """Would ``getUpdates(offset=offset)`` return something right now?"""
        with self.lock:
            return self.has_pending(offset)

    def wait_for_updates(
        self, offset: int, timeout: float, *, stop: Callable[[], bool] | None = None
    ) -> bool:
        """Block the calling *thread* up to ``timeout`` seconds until an update with
        ``update_id >= offset`` is queued (or ``stop()`` is true). For long polling in the HTTP
        server; never call it from an event loop."""
        with self.updates_changed:
            return self.updates_changed.wait_for(
                lambda: (stop is not None and stop()) or self.has_pending(offset), timeout
            )

    def wake_waiters(self) -> None:
        """Wake every thread blocked in :meth:`wait_for_updates` (used on server shutdown)."""
        with self.updates_changed:
            self.updates_changed.notify_all()

    # -- the world around the bot ---------------------------------------------------------------

    def make_forum(self, chat_id: int, title: str = "Staff") -> JSONDict:
        """A supergroup with topics enabled (``is_forum``) where the bot is an admin allowed to
        manage topics: what ``createForumTopic`` needs. Returns the ``Chat``."""
        chat = {"id": chat_id, "type": "supergroup", "title": title, "is_forum": True}
        with self.lock:
            self.chats[chat_id] = chat
            self.topics.setdefault(chat_id, {})
        return copy.deepcopy(chat)

    def block(self, chat_id: int) -> None:
        """Make the user of ``chat_id`` block the bot: sends to it answer 403 Forbidden."""
        with self.lock:
            self.blocked.add(chat_id)

    def unblock(self, chat_id: int) -> None:
        """Undo :meth:`block` (the user pressed Restart)."""
        with self.lock:
            self.blocked.discard(chat_id)

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
            return self.store_file(content, filename, mime_type, file_id=file_id).file_id

    def file_content(self, file_path: str) -> bytes | None:
        """Bytes served at ``<base_file_url><token>/<file_path>``, or ``None`` if unknown."""
        with self.lock:
            found = (f for f in self.files.values() if f.file_path == file_path)
            return next((f.content for f in found), None)

    # -- limits and failures --------------------------------------------------------------------

    def enforce_limits(
        self, global_per_second: int = 30, per_chat_per_second: int = 1, window: float = 1.0
    ) -> None:
        """Switch on Telegram's flood limits (off by default); see ``limits.FloodLimits``.
        Each 429 increments :attr:`too_many_requests`; the refused message is not recorded."""
        with self.lock:
            self.flood.enforce(global_per_second, per_chat_per_second, window)

    @property
    def too_many_requests(self) -> int:
        """How many sends the flood limits refused with 429."""
        return self.flood.rejected

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
            self.faults.fail_next(method, status, description, retry_after, times)

    def fail_network_next(self, times: int = 1, *, method: str | None = None) -> None:
        """Make the transport fail the next ``times`` requests (of ``method``, or any) as if the
        network were down: ``FakeRequest`` raises ``telegram.error.NetworkError`` and
        ``FakeBotAPIServer`` drops the connection without answering. The request never
        reaches the fake server (nothing is recorded)."""
        with self.lock:
            self.faults.fail_network_next(times, method)

    def take_network_failure(self, method: str) -> bool:
        """For transports: should this request fail at the network level? Consumes one."""
        with self.lock:
            return self.faults.take_network_failure(method)

    # -- what the bot sent ----------------------------------------------------------------------

    def messages_to(self, chat_id: int) -> list[SentMessage]:
        """Everything sent to ``chat_id``, oldest first."""
        with self.lock:
            return [m for m in self.sent if m.chat_id == chat_id]

    def last_to(self, chat_id: int) -> SentMessage:
        """The most recent message sent to ``chat_id``; raises ``LookupError`` if none."""
        messages = self.messages_to(chat_id)
        if not messages:
            chats = sorted({m.chat_id for m in self.sent})
            raise LookupError(f"nothing was sent to chat {chat_id} (messages went to {chats})")
        return messages[-1]

    def in_topic(self, chat_id: int, thread_id: int) -> list[SentMessage]:
        """What the bot sent into one topic of a forum group, oldest first."""
        return [m for m in self.messages_to(chat_id) if m.thread_id == thread_id]

    def texts_to(self, chat_id: int, *, plain: bool = False) -> list[str]:
        """Texts/captions sent to ``chat_id`` as the bot wrote them (``plain=True``: as the user
        sees them, markup removed). Messages without text (locations, bare files) are skipped."""
        attr = "plain_text" if plain else "text"
        return [value for m in self.messages_to(chat_id) if (value := getattr(m, attr)) is not None]

    @staticmethod
    def buttons(msg: SentMessage | JSONDict | None) -> list[tuple[str, str | None]]:
        """Flatten the keyboard of ``msg`` (or of a ``reply_markup`` dict) into
        ``[(label, data), ...]``; see :func:`~tests.fakes.telegram.markup.buttons_of`."""
        return buttons_of(msg.reply_markup if isinstance(msg, SentMessage) else msg)
