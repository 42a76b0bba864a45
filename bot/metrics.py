"""Prometheus metrics of one process, on a registry the application passes in (no globals).

    hirfa_updates_total{channel}               updates handled by the engine
    hirfa_reply_seconds{channel}               update in → its replies committed (histogram)
    hirfa_sends_total{channel,outcome}         outbox deliveries: sent, rate_limited, blocked,
                                               rerouted, failed, transient
    hirfa_rate_limited_total{channel}          429s from the platform (a subset of the above)
    hirfa_outbox_messages{channel,status}      outbox rows by channel and status (read from the
                                               database at each scrape, so the same in every
                                               process of a deployment)

``/metrics`` serves them in the Prometheus text format (``bot/http.py``).
"""

from __future__ import annotations

import time
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest

from bot.errors import Permanent, RetryLater, Transient, Unreachable, WindowClosed
from bot.messages import OutMessage
from storage import outbox as outbox_repo
from storage.database import Database

__all__ = ["CONTENT_TYPE_LATEST", "Metrics", "MeteredTransport"]

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    """The application's metrics; ``registry`` is the one ``/metrics`` exposes."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self.updates = Counter("hirfa_updates", "Updates handled", ["channel"], registry=registry)
        self.reply_seconds = Histogram(
            "hirfa_reply_seconds", "Seconds from an update reaching the engine to its replies committed",
            ["channel"], buckets=_LATENCY_BUCKETS, registry=registry,
        )
        self.sends = Counter("hirfa_sends", "Outbox deliveries by outcome", ["channel", "outcome"],
                             registry=registry)
        self.rate_limited = Counter("hirfa_rate_limited", "429 answers from the platform", ["channel"],
                                    registry=registry)
        self.queue = Gauge("hirfa_outbox_messages", "Outbox rows by channel and status",
                           ["channel", "status"], registry=registry)
        self._queue_labels: set[tuple[str, str]] = set()

    def handled(self, channel: str, started: float) -> None:
        """One update handled; ``started`` is its ``time.perf_counter()`` on arrival."""
        self.updates.labels(channel).inc()
        self.reply_seconds.labels(channel).observe(time.perf_counter() - started)

    async def refresh_queue(self, db: Database) -> None:
        """Read the outbox's depth by channel and status (every status present is reported,
        and one that emptied drops to 0)."""
        async with db.read() as conn:
            rows = await outbox_repo.tally(conn)
        seen = {(c, s) for c, s, _ in rows}
        for labels in self._queue_labels - seen:
            self.queue.labels(*labels).set(0)
        self._queue_labels |= seen
        for channel, status, n in rows:
            self.queue.labels(channel, status).set(n)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


class MeteredTransport:
    """Wraps a channel's transport to count each delivery's outcome (the outbox is unchanged)."""

    def __init__(self, inner: Any, metrics: Metrics) -> None:
        self.inner = inner
        self.channel: str = inner.channel
        self.metrics = metrics

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    async def send(
        self, chat_id: str, message: OutMessage, *, row_id: int | None = None
    ) -> str | None:
        try:
            result: str | None = await self.inner.send(chat_id, message, row_id=row_id)
        except BaseException as err:
            self._count(_outcome(err))
            if isinstance(err, RetryLater):
                self.metrics.rate_limited.labels(self.channel).inc()
            raise
        self._count("sent")
        return result

    def _count(self, outcome: str) -> None:
        self.metrics.sends.labels(self.channel, outcome).inc()


def _outcome(err: BaseException) -> str:
    for kind, name in ((RetryLater, "rate_limited"), (Unreachable, "blocked"), (WindowClosed, "rerouted"),
                       (Permanent, "failed"), (Transient, "transient")):
        if isinstance(err, kind):
            return name
    return "error"
