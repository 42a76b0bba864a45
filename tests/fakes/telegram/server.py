"""``FakeBotAPIServer``: a ``FakeBotAPI`` served over real HTTP on 127.0.0.1.

For end-to-end tests that run the bot in another process: point ``HIRFA_TELEGRAM__API_URL`` (or
PTB's ``base_url``) at ``server.base_url``. The HTTP app here only routes: downloads to
``FakeBotAPI.file_content``, ``/bot<token>/<method>`` to ``FakeBotAPI.handle`` (after holding a
``getUpdates`` long poll until an update arrives).
"""

from __future__ import annotations

import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from tests.fakes.telegram.api import FakeBotAPI
from tests.fakes.telegram.errors import NOT_FOUND, bad_request
from tests.fakes.telegram.wire import FILE_PATH, METHOD_PATH, parse_body

JSONDict = dict[str, Any]


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

        file_match = FILE_PATH.fullmatch(split.path)
        if file_match and self.command == "GET":
            content = api.file_content(unquote(file_match["path"]))
            if content is None:
                self._send_json(404, NOT_FOUND)
            else:
                self._send(200, content, "application/octet-stream")
            return

        match = METHOD_PATH.fullmatch(split.path)
        if match is None:
            self._send_json(404, NOT_FOUND)
            return
        method = match["method"]
        if api.take_network_failure(method):
            self.close_connection = True  # hang up without an answer
            return
        try:
            params: JSONDict = dict(parse_qsl(split.query, keep_blank_values=True))
            params.update(parse_body(self.headers.get("Content-Type", ""), body))
        except (ValueError, UnicodeDecodeError):
            self._send_json(400, bad_request("invalid request").body())
            return
        if method.lower() == "getupdates" and api.webhook is None:
            try:
                timeout = min(float(params.get("timeout") or 0), fake.max_long_poll)
                offset = int(params.get("offset") or 0)
            except (TypeError, ValueError):
                timeout, offset = 0.0, 0
            if timeout > 0:
                api.wait_for_updates(offset, timeout, stop=fake.stopping.is_set)
        status, payload = api.handle(method, params)
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


