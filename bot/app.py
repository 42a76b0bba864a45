"""Builds everything once, hands it down, and starts/stops it in order.

Order at start: migrations → staff from settings → outbox recovery (rows a crashed process left
``sending`` go back to the queue once their claim has expired, ``outbox.claim_lease``) → on
PostgreSQL, the sender leases (which process sends for each channel, ``bot/roles.py``) →
channels (each first handles the updates it stored and had not handled) → outbox senders →
scheduler → HTTP server. At stop, the reverse: what is not done
within a few seconds stays stored for the next start.

A worker of ``hirfa run --workers N`` (``bot/workers.py``) is the same application, given its
:class:`~bot.workers.Seat`: it serves HTTP on the socket its supervisor opened, and stops when
the supervisor is gone.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from typing import Any

from prometheus_client import CollectorRegistry

from bot import verify_page
from bot.channels.telegram import CHANNEL as TELEGRAM
from bot.channels.telegram import TelegramChannel
from bot.channels.whatsapp import WEBHOOK_PATH, WhatsAppChannel
from bot.channels.whatsapp_webhook import CHANNEL as WHATSAPP
from bot.clock import Clock, SystemClock
from bot.dialogue import Engine, Router, Services
from bot.http import HttpServer, metrics_endpoint, telegram_webhook
from bot.i18n import Catalogs, Translator
from bot.metrics import MeteredTransport, Metrics
from bot.outbox import Outbox
from bot.pacing import Pacer
from bot.roles import Roles
from bot.scheduler import Scheduler
from bot.settings import Settings, require_whatsapp
from bot.timezones import tzdata_is_current, tzdata_version
from bot.voices import VoiceStore
from bot.workers import Seat, watch_supervisor
from handlers import build_router
from storage import staff as staff_repo
from storage.database import Database

log = logging.getLogger(__name__)


class Hirfa:
    """The application. Tests build it with a fake clock and a fake Bot API request."""

    def __init__(
        self,
        settings: Settings,
        *,
        clock: Clock | None = None,
        router: Router | None = None,
        catalogs: Catalogs | None = None,
        telegram_request: Any = None,
        telegram_updates_request: Any = None,
        whatsapp_transport: Any = None,
        registry: CollectorRegistry | None = None,
        seat: Seat | None = None,
    ) -> None:
        self.settings = settings
        self.seat = seat
        self.clock = clock or SystemClock()
        self.db = Database(settings.database_url)
        self.metrics = Metrics(registry or CollectorRegistry())
        self.translator = Translator(catalogs or Catalogs(), settings.default_locale)
        self.outbox = Outbox(self.db, self.clock, self.translator, settings)
        self.router = router or build_router()
        self.services = Services(
            db=self.db, clock=self.clock, settings=settings, translator=self.translator,
            outbox=self.outbox, router=self.router, bot_username=settings.telegram.bot_username,
            metrics=self.metrics,
        )
        self.outbox.attachments.update(self.router.attachments)
        for prefix, make in self.router.attachment_factories.items():
            self.outbox.attachments[prefix] = make(self.services)
        self.outbox.voice_of = self.router.voice_of
        self.voices = VoiceStore(self.db, self.clock)  # voice help, sent by the channels
        self.engine = Engine(self.services)
        self.telegram: TelegramChannel | None = None
        if settings.telegram.enabled:
            pacer = Pacer(settings.outbox.telegram_rate, self.clock, settings.outbox.per_chat_interval)
            self.telegram = TelegramChannel(
                settings.telegram, self.engine, pacer, self.translator, voices=self.voices,
                request=telegram_request, updates_request=telegram_updates_request,
            )
            self.outbox.add_transport(MeteredTransport(self.telegram.transport, self.metrics), pacer)
        self.scheduler: Scheduler | None = None
        self.http: HttpServer | None = None
        self.whatsapp: WhatsAppChannel | None = None
        if settings.whatsapp.enabled:
            require_whatsapp(settings.whatsapp)
            pacer = Pacer(settings.whatsapp.rate_per_second, self.clock)
            self.whatsapp = WhatsAppChannel(
                settings.whatsapp, self.engine, pacer, self.translator, voices=self.voices,
                http_transport=whatsapp_transport,
            )
            self.outbox.add_transport(MeteredTransport(self.whatsapp.transport, self.metrics), pacer,
                                     space_replies=False)
            self.http = self._http_server()
            self.http.add(WEBHOOK_PATH, self.whatsapp.endpoint, ["GET", "POST"])
        if settings.chamber.signing_key is not None:  # the attestation check page
            self.http = self.http or self._http_server()
            self.http.add("/verify/{token}", verify_page.endpoint(self.services), ["GET"])
        if settings.console.enabled:
            from console.web import mount

            self.http = self.http or self._http_server()
            mount(self.services, self.http.add_route)
        self.roles: Roles | None = None  # several processes: who sends for each channel
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    def _http_server(self) -> HttpServer:
        server = HttpServer(self.settings.http, self.health)
        server.add("/metrics", metrics_endpoint(self.metrics, self.db), ["GET"])
        return server

    async def health(self) -> dict[str, Any]:
        """``/healthz``: the database (reachable, which backend) and this process's role."""
        role = {
            "channels": sorted(self.outbox.senders),
            "clock": self.scheduler is not None and self.scheduler.leading,
            "process": self.scheduler.holder if self.scheduler is not None else self.outbox.process,
            # the channels this process sends for, for the whole deployment (bot/roles.py)
            "sending": sorted(n for n, sender in self.outbox.senders.items() if sender.leading),
            "worker": self.seat.index if self.seat is not None else None,
        }
        database: dict[str, Any] = {"backend": self.db.backend}
        try:
            database["revisions"] = sorted(await self.db.current_revisions())
            database["ok"] = True
        except Exception as err:
            log.warning("healthz: database unreachable: %s", type(err).__name__)
            database["ok"] = False
        return {"status": "ok" if database["ok"] else "unavailable", "database": database, "role": role}

    async def prepare(self) -> None:
        """Everything that must hold before the first update: schema, staff, outbox."""
        if not tzdata_is_current():
            log.warning("tzdata %s predates Morocco's 2026 change; upgrade tzdata", tzdata_version())
        await self.db.upgrade()
        async with self.db.transaction() as conn:
            for admin in self.settings.telegram.admin_ids:
                await staff_repo.grant(conn, TELEGRAM, str(admin), "admin", self.clock.now(), "settings")
            if self.whatsapp is not None:
                for number in self.settings.whatsapp.admin_numbers:
                    await staff_repo.grant(conn, WHATSAPP, number, "admin", self.clock.now(), "settings")
        await self.outbox.keep_claims()

    async def share_sending(self) -> Roles:
        """Send only while this process holds each channel's lease (several processes on one
        PostgreSQL database; ``bot/roles.py``)."""
        outbox = self.outbox

        def wake(channel: str | None) -> None:
            for name, sender in outbox.senders.items():
                if channel is None or name == channel:
                    sender.wake()

        roles = Roles(sorted(outbox.senders), outbox.process, self.db, self.clock, wake)
        for name, sender in outbox.senders.items():
            sender.lease = roles.leases[name]
            sender.relay = roles.relay
        outbox.relay = roles.relay
        self.roles = roles
        await roles.start()
        return roles

    async def start(self, *, scheduler: bool = True, senders: bool = True) -> None:
        await self.prepare()
        if senders and self.db.backend == "postgresql" and self.outbox.senders:
            await self.share_sending()
        if self.telegram is not None:
            await self.telegram.start()
            path = self.telegram.webhook_path
            if path is not None:
                self.http = self.http or self._http_server()
                self.http.add(path, telegram_webhook(self.telegram), ["POST"])
        if self.http is None and (self.settings.http.serve or self.seat is not None):
            self.http = self._http_server()
        if self.whatsapp is not None:
            await self.whatsapp.start()
        if senders:
            for sender in self.outbox.senders.values():
                self._tasks.append(asyncio.create_task(sender.run(self._stop)))
        if scheduler:
            self.scheduler = Scheduler(self.services, holder=self.outbox.process)
            await self.scheduler.tick()
            self.scheduler.start()
        if self.http is not None:
            await self.http.start(self.seat.listening() if self.seat is not None else None)
        log.info("hirfa started (channels: %s)", ", ".join(self.outbox.senders) or "none")

    async def stop(self) -> None:
        self._stop.set()
        self.outbox.wake()
        if self.http is not None:
            await self.http.stop()
        if self.whatsapp is not None:
            await self.whatsapp.stop()
        if self.scheduler is not None:
            await self.scheduler.stop()
            await self.scheduler.release()
        if self.telegram is not None:
            await self.telegram.stop()
        for task in self._tasks:
            try:
                await asyncio.wait_for(task, timeout=10)
            except (TimeoutError, asyncio.CancelledError):
                task.cancel()
        if self.roles is not None:
            await self.roles.stop()
        await self.db.dispose()

    async def run_forever(self) -> None:
        """``hirfa run``: start, wait for SIGINT/SIGTERM, stop cleanly."""
        loop = asyncio.get_running_loop()
        done = asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, done.set)
        if self.seat is not None:  # a worker outlives its supervisor by a second at most
            self._tasks.append(asyncio.create_task(watch_supervisor(self.seat, done)))
        await self.start()
        try:
            await done.wait()
        finally:
            log.info("stopping")
            await self.stop()
