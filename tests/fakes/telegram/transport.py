"""``FakeRequest``: a python-telegram-bot transport that answers from a ``FakeBotAPI`` in-process,
with no networking. This is what most tests use::

    api = FakeBotAPI()
    app = (
        ApplicationBuilder()
        .token(TOKEN)
        .request(FakeRequest(api))
        .get_updates_request(FakeRequest(api))
        .updater(None)
        .build()
    )
"""

from __future__ import annotations

import asyncio
import json
from typing import Any
from urllib.parse import unquote, urlsplit

from telegram.error import NetworkError
from telegram.request import BaseRequest, RequestData

from tests.fakes.telegram.api import FakeBotAPI
from tests.fakes.telegram.errors import NOT_FOUND
from tests.fakes.telegram.state import UploadedFile
from tests.fakes.telegram.wire import FILE_PATH

JSONDict = dict[str, Any]


class FakeRequest(BaseRequest):
    """A PTB transport that answers from a :class:`FakeBotAPI` without any networking.

    Use one instance for ``.request(...)`` and another for ``.get_updates_request(...)`` (PTB
    shuts both down; sharing one instance also works). Requests are decoded the way Telegram
    would see them on the wire: ``RequestData.json_parameters`` (strings; dicts JSON-encoded)
    plus multipart files as ``UploadedFile``. Files are served for ``File.download_*``
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
        file_match = FILE_PATH.search(path)
        if method == "GET" and file_match:
            content = self.api.file_content(unquote(file_match["path"]))
            return (404, json.dumps(NOT_FOUND).encode()) if content is None else (200, content)
        api_method = path.rstrip("/").rsplit("/", 1)[-1]
        if self.api.take_network_failure(api_method):
            raise NetworkError(
                "httpx.ConnectError: All connection attempts failed (injected by FakeBotAPI)"
            )
        params = decode_request_data(request_data)
        if api_method.lower() == "getupdates":
            await self._long_poll(params)
        else:
            await asyncio.sleep(0)  # a real request always yields to the event loop
        status, body = self.api.handle(api_method, params)
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
    objects JSON-encoded) and adds each multipart file as ``UploadedFile`` under its part name.
    """
    if request_data is None:
        return {}
    params: JSONDict = dict(request_data.json_parameters)
    for name, (filename, content, mime_type) in request_data.multipart_data.items():
        data = content if isinstance(content, bytes) else content.read()
        params[name] = UploadedFile(filename=filename, content=data, mime_type=mime_type)
    return params
