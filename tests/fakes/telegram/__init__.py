"""An offline, in-memory fake of the Telegram Bot API for Hirfa's tests.

Nothing here talks to Telegram. Three layers; pick the one your test needs:

``FakeBotAPI`` (``api.py``)
    The fake *server*: plain Python with no I/O. ``handle(method, params)`` answers like
    ``api.telegram.org``. It records what the bot sent (``sent``, ``calls``, ``commands``, ...),
    checks requests the way Telegram does (HTML, lengths in UTF-16 units, ``callback_data``,
    keyboards, files, topics) and lets a test queue incoming updates (``push_update``), press
    buttons, block a chat, switch on the flood limits or inject failures.

``FakeRequest`` (``transport.py``)
    A python-telegram-bot transport that hands every request to a ``FakeBotAPI`` in-process.
    This is what most tests use (through ``tests/harness.py``).

``FakeBotAPIServer`` (``server.py``)
    The same ``FakeBotAPI`` over real HTTP on 127.0.0.1, for tests that start the bot in a
    subprocess: point ``HIRFA_TELEGRAM__API_URL`` at ``server.base_url``.

The rest: ``state.py`` (what the fake remembers), ``methods/`` (one module per area of the Bot
API), ``html.py`` (HTML entity parsing), ``markup.py`` (keyboards), ``limits.py`` (sizes and
flood limits), ``errors.py`` (error answers, injected failures), ``params.py`` and ``wire.py``
(decoding requests).

It implements the methods Hirfa calls, and only HTML as ``parse_mode``. A method it does not
know answers 404 "Not Found" like Telegram, which PTB turns into ``InvalidToken``: if a test
shows ``InvalidToken: Not Found``, Hirfa called a method to add to ``methods/``. Where it
knowingly differs from Telegram: a lone ``&`` in HTML is refused (see ``html.py``), and a webhook
is recorded, never called (tests POST updates to Hirfa's endpoint themselves).
"""

from tests.fakes.telegram.api import FakeBotAPI
from tests.fakes.telegram.identity import BOT_ID, BOT_USERNAME, TOKEN, bot_user
from tests.fakes.telegram.limits import utf16_len
from tests.fakes.telegram.server import FakeBotAPIServer
from tests.fakes.telegram.state import SentMessage
from tests.fakes.telegram.transport import FakeRequest
from tests.fakes.telegram.wire import parse_body

__all__ = [
    "BOT_ID",
    "BOT_USERNAME",
    "TOKEN",
    "FakeBotAPI",
    "FakeBotAPIServer",
    "FakeRequest",
    "SentMessage",
    "bot_user",
    "parse_body",
    "utf16_len",
]
