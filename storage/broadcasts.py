"""Broadcasts written by staff: the ``broadcasts`` table and its repository.

A broadcast holds its text in one or more languages (``texts``: language → text) and the language
used for artisans whose own has no text (``fallback_lang``), an optional photo or document (bytes
kept in the row, sent by reference so 10,000 outbox rows do not carry 10,000 copies), the audience
filter (see :mod:`storage.audience`), an optional scheduled time (UTC) and its status:

    draft → scheduled → sending → done
      │         └→ cancelled      └→ stopped (pending deliveries → skipped)
      └→ sending / cancelled

Who got it lives in the ``outbox`` table, one row per recipient with the idempotency key
``broadcast:{id}:{artisan}`` and kind ``broadcast``; :func:`delivery_counts` reads them.
The counters on the row are a snapshot written when the broadcast finishes (for lists and stats).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    select,
    update,
)
from sqlalchemy.engine import RowMapping

from storage import outbox as outbox_repo
from storage.database import Conn
from storage.schema import metadata
from storage.types import UTCDateTime


class BroadcastStatus(StrEnum):
    """``broadcasts.status`` (stored as these strings; the transitions in the module's doc)."""

    DRAFT = "draft"
    SCHEDULED = "scheduled"
    SENDING = "sending"
    DONE = "done"
    STOPPED = "stopped"
    CANCELLED = "cancelled"


STATUSES = tuple(BroadcastStatus)
KIND = "broadcast"  # outbox kind of the per-artisan rows
MEDIA_KINDS = ("photo", "document")

broadcasts = Table(
    "broadcasts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("author_channel", String(16), nullable=False),
    Column("author_id", String(64), nullable=False),
    Column("author_chat", String(64), nullable=False),
    Column("author_lang", String(8), nullable=False),
    Column("texts", JSON, nullable=False),
    Column("fallback_lang", String(8), nullable=False),
    Column("media_kind", String(10)),
    Column("media", LargeBinary),
    Column("media_name", String(255)),
    Column("media_mime", String(100)),
    Column("audience", JSON, nullable=False),
    Column("scheduled_at", UTCDateTime()),
    Column("status", String(12), nullable=False),
    Column("total", Integer, nullable=False, default=0),
    Column("sent", Integer, nullable=False, default=0),
    Column("failed", Integer, nullable=False, default=0),
    Column("blocked", Integer, nullable=False, default=0),
    Column("skipped", Integer, nullable=False, default=0),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("started_at", UTCDateTime()),
    Column("finished_at", UTCDateTime()),
    Index("ix_broadcasts_status", "status", "scheduled_at"),
)


@dataclass(frozen=True)
class Broadcast:
    """One broadcast without its media bytes (see :func:`media_of`)."""

    id: int
    author_channel: str
    author_id: str
    author_chat: str
    author_lang: str
    texts: dict[str, str]
    fallback_lang: str
    media_kind: str | None
    media_name: str | None
    media_mime: str | None
    audience: dict[str, Any]
    scheduled_at: datetime | None
    status: BroadcastStatus
    total: int
    sent: int
    failed: int
    blocked: int
    skipped: int
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

    @classmethod
    def from_row(cls, row: RowMapping) -> Broadcast:
        values = {name: row[name] for name in cls.__dataclass_fields__}
        values["texts"] = dict(values["texts"] or {})
        values["audience"] = dict(values["audience"] or {})
        values["status"] = BroadcastStatus(values["status"])
        return cls(**values)

    def text_for(self, lang: str) -> tuple[str, str]:
        """The text an artisan reading ``lang`` gets, and its language (theirs or the fallback)."""
        if lang in self.texts:
            return self.texts[lang], lang
        if self.fallback_lang in self.texts:
            return self.texts[self.fallback_lang], self.fallback_lang
        first = next(iter(self.texts.items()), ("", self.fallback_lang))
        return first[1], first[0]


_COLUMNS = [c for c in broadcasts.c if c.name != "media"]


def key_prefix(broadcast_id: int) -> str:
    return f"{KIND}:{broadcast_id}:"


def delivery_key(broadcast_id: int, artisan_id: int) -> str:
    return f"{KIND}:{broadcast_id}:{artisan_id}"


async def create_draft(
    conn: Conn, *, channel: str, author_id: str, author_chat: str, lang: str,
    now: datetime,
) -> int:
    result = await conn.execute(
        broadcasts.insert().values(
            author_channel=channel, author_id=author_id, author_chat=author_chat, author_lang=lang,
            texts={}, fallback_lang=lang, audience={}, status=BroadcastStatus.DRAFT, total=0, sent=0,
            failed=0, blocked=0, skipped=0, created_at=now, updated_at=now,
        )
    )
    pk = result.inserted_primary_key
    assert pk is not None
    return int(pk[0])


async def get(conn: Conn, broadcast_id: int) -> Broadcast | None:
    stmt = select(*_COLUMNS).where(broadcasts.c.id == broadcast_id)
    row = (await conn.execute(stmt)).mappings().first()
    return Broadcast.from_row(row) if row else None


async def media_of(conn: Conn, broadcast_id: int) -> tuple[str, bytes, str, str] | None:
    """``(kind, content, filename, mime type)`` of the attachment, if there is one."""
    stmt = select(
        broadcasts.c.media_kind, broadcasts.c.media, broadcasts.c.media_name, broadcasts.c.media_mime
    ).where(broadcasts.c.id == broadcast_id)
    row = (await conn.execute(stmt)).first()
    if row is None or row[0] is None or row[1] is None:
        return None
    return str(row[0]), bytes(row[1]), str(row[2] or "file"), str(row[3] or "application/octet-stream")


async def update_fields(conn: Conn, broadcast_id: int, now: datetime, **values: Any) -> None:
    await conn.execute(
        update(broadcasts).where(broadcasts.c.id == broadcast_id).values(updated_at=now, **values)
    )


async def move(
    conn: Conn, broadcast_id: int, to: BroadcastStatus, *, allowed_from: tuple[BroadcastStatus, ...],
    now: datetime,
    **values: Any,
) -> bool:
    """Change the status only from one of ``allowed_from`` (a guarded, race-free transition).

    False when the broadcast was not in such a status (confirmed twice, already started, ...).
    """
    result = await conn.execute(
        update(broadcasts)
        .where(broadcasts.c.id == broadcast_id, broadcasts.c.status.in_(allowed_from))
        .values(status=to, updated_at=now, **values)
    )
    return bool(result.rowcount)


async def listed(
    conn: Conn, statuses: tuple[BroadcastStatus, ...] = STATUSES, limit: int = 10
) -> list[Broadcast]:
    stmt = (
        select(*_COLUMNS)
        .where(broadcasts.c.status.in_(statuses))
        .order_by(broadcasts.c.id.desc())
        .limit(limit)
    )
    return [Broadcast.from_row(r) for r in (await conn.execute(stmt)).mappings()]


async def due(conn: Conn, now: datetime) -> list[int]:
    """Scheduled broadcasts whose time has come."""
    stmt = select(broadcasts.c.id).where(
        broadcasts.c.status == BroadcastStatus.SCHEDULED, broadcasts.c.scheduled_at <= now
    ).order_by(broadcasts.c.scheduled_at, broadcasts.c.id)
    return [int(r[0]) for r in await conn.execute(stmt)]


async def running(conn: Conn) -> list[Broadcast]:
    """Broadcasts being sent, or stopped but not yet reported."""
    stmt = select(*_COLUMNS).where(
        broadcasts.c.status.in_((BroadcastStatus.SENDING, BroadcastStatus.STOPPED)),
        broadcasts.c.finished_at.is_(None),
    ).order_by(broadcasts.c.id)
    return [Broadcast.from_row(r) for r in (await conn.execute(stmt)).mappings()]


async def delivery_counts(conn: Conn, broadcast_id: int) -> dict[str, int]:
    """Outbox rows of the broadcast by status (pending, sending, sent, failed, blocked, skipped)."""
    return await outbox_repo.counts(conn, key_prefix(broadcast_id), KIND)


async def failure_reasons(conn: Conn, broadcast_id: int, limit: int = 5) -> list[tuple[str, int]]:
    """The most frequent errors of failed deliveries, with how many rows each."""
    return await outbox_repo.failure_reasons(conn, key_prefix(broadcast_id), KIND, limit)


async def skip_pending(conn: Conn, broadcast_id: int, reason: str) -> int:
    """Stop: every delivery not yet attempted becomes ``skipped`` with ``reason``."""
    return await outbox_repo.skip(conn, reason, prefix=key_prefix(broadcast_id), kind=KIND)


async def skip_opted_out(conn: Conn, broadcast_id: int) -> int:
    """Artisans who said STOP after the broadcast started get nothing more from it."""
    prefix = key_prefix(broadcast_id)
    stopped = await outbox_repo.pending_for_opted_out(conn, prefix, KIND)
    if not stopped:
        return 0
    return await outbox_repo.skip(conn, "opted out", prefix=prefix, kind=KIND, artisan_ids=stopped)


async def deliveries(conn: Conn, broadcast_id: int) -> list[RowMapping]:
    """Every delivery row of the broadcast (for the export), in enqueue order."""
    return await outbox_repo.rows(conn, key_prefix(broadcast_id), KIND)


async def received_by(conn: Conn, artisan_id: int, limit: int = 8) -> list[tuple[int, datetime]]:
    """Broadcasts addressed to an artisan (newest first) with when they were queued for them.

    Deliveries skipped because the broadcast was stopped, or because the artisan opted out or
    erased their data, do not count as addressed to them.
    """
    latest = await outbox_repo.latest_for_artisan(conn, artisan_id, KIND, limit * 3)
    found: list[tuple[int, datetime]] = []
    for key, created, status, error in latest:
        if status == "skipped" and error != "no reachable chat":
            continue
        parts = str(key).split(":")
        if len(parts) == 3 and parts[1].isdigit():
            found.append((int(parts[1]), created))
        if len(found) >= limit:
            break
    return found
