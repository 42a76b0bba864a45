"""The one HTTP server of the application: webhooks, ``/healthz`` and ``/metrics`` (Starlette,
uvicorn).

Channels add their routes; the server starts only when at least one webhook needs it.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from bot.metrics import CONTENT_TYPE_LATEST, Metrics
from bot.settings import HttpSettings
from storage.database import Database

log = logging.getLogger(__name__)

Endpoint = Callable[[Request], Awaitable[Response]]


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
        except ValueError:
            return PlainTextResponse("bad request", status_code=400)
        if not isinstance(payload, dict) or "update_id" not in payload:
            return PlainTextResponse("bad request", status_code=400)
        await channel.feed(payload)
        return PlainTextResponse("ok")

    return endpoint


class HttpServer:
    def __init__(self, settings: HttpSettings, health: Health = _ok) -> None:
        self.settings = settings
        self.routes: list[Route] = [Route("/healthz", healthz(health), methods=["GET"])]
        self._server: uvicorn.Server | None = None
        self._task: asyncio.Task[None] | None = None

    def add(self, path: str, endpoint: Endpoint, methods: list[str]) -> None:
        self.routes.append(Route(path, endpoint, methods=methods))

    def app(self) -> Starlette:
        return Starlette(routes=self.routes)

    async def start(self) -> None:
        config = uvicorn.Config(
            self.app(), host=self.settings.host, port=self.settings.port, lifespan="off",
            log_level="warning", access_log=False,
        )
        self._server = uvicorn.Server(config)
        self._task = asyncio.create_task(self._server.serve())
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
