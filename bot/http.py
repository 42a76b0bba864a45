"""The one HTTP server of the application: webhooks, ``/healthz`` and ``/metrics`` (Starlette,
uvicorn).

Channels add their routes; the server starts only when at least one webhook needs it.

Everything a client sends is bounded before a route sees it (:class:`RequestGuard`): the body
(:data:`MAX_BODY`, Telegram and WhatsApp posts are a few kilobytes) whether or not the client
declares its length, the time to send it (:data:`BODY_TIMEOUT`), and the nesting of a JSON body
(:data:`MAX_DEPTH`, checked on the raw bytes so that the parser never recurses deeply). uvicorn
bounds the headers (:data:`MAX_HEADER`, and :data:`HEADER_TIMEOUT` for a client that never
finishes them), idle connections and the number of connections. Malformed payloads get a 400
and a one-line warning, never a traceback.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import socket
from collections.abc import Awaitable, Callable
from typing import Any

import h11
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.http.h11_impl import H11Protocol

from bot.metrics import CONTENT_TYPE_LATEST, Metrics
from bot.settings import HttpSettings
from storage.database import Database

log = logging.getLogger(__name__)

Endpoint = Callable[[Request], Awaitable[Response]]

MAX_BODY = 1_000_000
BODY_TIMEOUT = 10.0
# The staff console's uploads (a register or sessions spreadsheet, bot.spreadsheets.MAX_BYTES
# plus the form's envelope) get a larger limit and more time; everything else stays small.
UPLOAD_PREFIX = "/console/"
MAX_UPLOAD = 21 * 1024 * 1024
UPLOAD_TIMEOUT = 120.0
MAX_DEPTH = 32
MAX_HEADER = 16 * 1024
HEADER_TIMEOUT = 10.0
KEEP_ALIVE = 5
MAX_CONNECTIONS = 500
_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_NOT_BRACKET = re.compile(rb"[^\[\]{}]+")


def too_deep(body: bytes, limit: int = MAX_DEPTH) -> bool:
    """True when the JSON text ``body`` nests arrays/objects more than ``limit`` deep (strings,
    where brackets mean nothing, are skipped first; a malformed text is left to the parser)."""
    depth = 0
    for char in _NOT_BRACKET.sub(b"", _JSON_STRING.sub(b"", body)):
        depth += 1 if char in b"[{" else -1
        if depth > limit:
            return True
    return False


async def _answer(send: Send, status: int, text: str) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"text/plain; charset=utf-8"), (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": text.encode()})


class RequestGuard:
    """ASGI middleware: reads the whole body first, within :data:`MAX_BODY` bytes and
    :data:`BODY_TIMEOUT` seconds (413 / 408 otherwise), refuses JSON nested deeper than
    :data:`MAX_DEPTH` (400), then hands the route a body it can read at once."""

    def __init__(self, app: ASGIApp, max_body: int = MAX_BODY, timeout: float = BODY_TIMEOUT) -> None:
        self.app = app
        self.max_body = max_body
        self.timeout = timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        upload = str(scope.get("path") or "").startswith(UPLOAD_PREFIX)
        max_body = MAX_UPLOAD if upload else self.max_body
        timeout = UPLOAD_TIMEOUT if upload else self.timeout
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > max_body):
            log.warning("http: %s refused: declared body of %r bytes", scope.get("path"), declared[:20])
            await _answer(send, 413, "too large")
            return
        chunks: list[bytes] = []
        size = 0
        try:
            async with asyncio.timeout(timeout):
                while True:
                    message = await receive()
                    if message["type"] == "http.disconnect":
                        return
                    chunk = message.get("body", b"")
                    size += len(chunk)
                    if size > max_body:
                        log.warning("http: %s refused: body over %d bytes", scope.get("path"), max_body)
                        await _answer(send, 413, "too large")
                        return
                    chunks.append(chunk)
                    if not message.get("more_body", False):
                        break
        except TimeoutError:
            log.warning("http: %s refused: body not sent within %.0f s", scope.get("path"), timeout)
            await _answer(send, 408, "request timeout")
            return
        body = b"".join(chunks)
        if body[:1] in (b"{", b"[") and too_deep(body):
            log.warning("http: %s refused: JSON nested deeper than %d", scope.get("path"), MAX_DEPTH)
            await _answer(send, 400, "bad request")
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


def malformed_telegram_update(payload: Any) -> str | None:
    """Why a Telegram webhook payload cannot be an update (None when its shape is right): the
    parts we read must be objects, and a message or button press must say who sent it."""
    if not isinstance(payload, dict) or not isinstance(payload.get("update_id"), int):
        return "not an update"
    for name in ("message", "edited_message", "callback_query", "my_chat_member"):
        part = payload.get(name)
        if part is None:
            continue
        if not isinstance(part, dict):
            return f"{name} is not an object"
        sender = part.get("from")
        if name in ("message", "callback_query") and not isinstance(sender, dict):
            return f"{name} without a sender"
        if isinstance(sender, dict) and not isinstance(sender.get("id"), int):
            return f"{name} sender without an id"
        chat = part.get("chat")
        if chat is not None and not (isinstance(chat, dict) and isinstance(chat.get("id"), int)):
            return f"{name} chat is not an object"
    return None


Health = Callable[[], Awaitable[dict[str, Any]]]
"""Reports the process's state for ``/healthz``; ``{"status": "ok"}`` or anything else (503)."""


async def _ok() -> dict[str, Any]:
    return {"status": "ok"}


def healthz(report: Health) -> Endpoint:
    async def endpoint(_request: Request) -> Response:
        body = await report()
        return JSONResponse(body, status_code=200 if body.get("status") == "ok" else 503)

    return endpoint


def metrics_endpoint(metrics: Metrics, db: Database) -> Endpoint:
    """Prometheus text format; the outbox depth is read from the database at each scrape."""

    async def endpoint(_request: Request) -> Response:
        try:
            await metrics.refresh_queue(db)
        except Exception:  # the counters are still worth serving while the database is away
            log.warning("metrics: could not read the outbox depth", exc_info=True)
        return Response(metrics.exposition(), media_type=CONTENT_TYPE_LATEST)

    return endpoint


def telegram_webhook(channel: object) -> Endpoint:
    """POST endpoint for Telegram: checks the secret header, queues the update, answers 200."""
    from bot.channels.telegram import TelegramChannel

    assert isinstance(channel, TelegramChannel)

    async def endpoint(request: Request) -> Response:
        if not channel.secret_ok(request.headers.get("X-Telegram-Bot-Api-Secret-Token")):
            log.warning("telegram webhook: request with a wrong or missing secret refused")
            return PlainTextResponse("forbidden", status_code=403)
        try:
            payload = json.loads(await request.body())
        except (ValueError, RecursionError):
            payload = None
        problem = malformed_telegram_update(payload)
        if problem is not None:
            log.warning("telegram webhook: malformed update refused (%s)", problem)
            return PlainTextResponse("bad request", status_code=400)
        await channel.feed(payload)
        return PlainTextResponse("ok")

    return endpoint


class GuardedH11(H11Protocol):
    """uvicorn's h11 protocol with a deadline for the request head: a client that has not sent
    complete headers :data:`HEADER_TIMEOUT` seconds after connecting (or after the previous
    response) is disconnected (uvicorn itself waits forever, one file descriptor each)."""

    header_timeout = HEADER_TIMEOUT

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_header_deadline()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._arm_header_deadline()

    def _arm_header_deadline(self) -> None:
        timer = getattr(self, "_header_timer", None)
        if timer is not None:
            timer.cancel()
        self._header_timer = self.loop.call_later(self.header_timeout, self._headers_late)

    def _headers_late(self) -> None:
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        timer = getattr(self, "_header_timer", None)
        if timer is not None:
            timer.cancel()
        super().connection_lost(exc)


class HttpServer:
    def __init__(self, settings: HttpSettings, health: Health = _ok) -> None:
        self.settings = settings
        self.routes: list[BaseRoute] = [Route("/healthz", healthz(health), methods=["GET"])]
        self._server: uvicorn.Server | None = None
        self._task: asyncio.Task[None] | None = None

    def add(self, path: str, endpoint: Endpoint, methods: list[str]) -> None:
        self.routes.append(Route(path, endpoint, methods=methods))

    def add_route(self, route: BaseRoute) -> None:
        """A ready-made route or mount (the console's pages)."""
        self.routes.append(route)


    def app(self) -> ASGIApp:
        return RequestGuard(Starlette(routes=self.routes))

    def config(self) -> uvicorn.Config:
        """uvicorn's limits: header size, idle keep-alive, connections (see the module)."""
        return uvicorn.Config(
            self.app(), host=self.settings.host, port=self.settings.port, lifespan="off",
            log_level="warning", access_log=False, http=GuardedH11, timeout_keep_alive=KEEP_ALIVE,
            h11_max_incomplete_event_size=MAX_HEADER, limit_concurrency=MAX_CONNECTIONS,
        )

    async def start(self, sock: socket.socket | None = None) -> None:
        """Listen on ``settings.host:port``, or serve ``sock``, a listening socket opened by a
        supervisor and shared by its workers (``bot/workers.py``)."""
        config = self.config()
        self._server = uvicorn.Server(config)
        self._task = asyncio.create_task(self._server.serve(sockets=[sock] if sock else None))
        while not self._server.started:
            if self._task.done():
                self._task.result()
            await asyncio.sleep(0.01)
        log.info("http: listening on %s:%s", self.settings.host, self.settings.port)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._task is not None:
            await self._task
