"""Every update a platform hands us, kept before we acknowledge it (``inbound_updates``).

A Telegram update (``update_id``) or a WhatsApp message (``wamid``) is stored here, raw, *before*
the webhook answers 200 or the polling offset moves past it: after that moment the platform
will not give it again, so from then on this row is the only copy. The engine marks it handled
in the same transaction as its effects (state, replies in the outbox). At start, what was
stored and never handled is handled then. A repeat of the same id makes no second row.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    Index,
    Integer,
    String,
    Table,
    UniqueConstraint,
    bindparam,
    delete,
    exists,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite

from storage.database import Conn
from storage.schema import metadata
from storage.types import UTCDateTime

inbound_updates = Table(
    "inbound_updates",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("channel", String(16), nullable=False),
    Column("external_id", String(128), nullable=False),
    Column("chat_id", String(64), nullable=False),
    Column("payload", JSON, nullable=False),
    Column("received_at", UTCDateTime(), nullable=False),
    Column("handled_at", UTCDateTime()),
    Column("outcome", String(16)),
    UniqueConstraint("channel", "external_id", name="uq_inbound_updates_channel_external"),
    Index("ix_inbound_updates_waiting", "channel", "handled_at", "id"),
    # A chat's updates not handled yet, in the order they came (:func:`take_turn`); partial,
    # so it holds only what is in flight (migration 0013).
    Index("ix_inbound_updates_chat_waiting", "channel", "chat_id", "id",
          sqlite_where=text("handled_at IS NULL"), postgresql_where=text("handled_at IS NULL")),
)


# INSERT ... ON CONFLICT DO NOTHING RETURNING id: one statement, no row back for a repeat.
_STORE = {
    postgres: (postgresql if postgres else sqlite).insert(inbound_updates)
    .on_conflict_do_nothing().returning(inbound_updates.c.id)
    for postgres in (False, True)
}


# Built once: it runs for every update (building it cost more than running it).
_MARK = (
    update(inbound_updates)
    .where(inbound_updates.c.channel == bindparam("m_channel"),
           inbound_updates.c.external_id == bindparam("m_external_id"),
           inbound_updates.c.handled_at.is_(None))
    .values(handled_at=bindparam("m_now", type_=UTCDateTime()), outcome=bindparam("m_outcome"))
)


# The same, only when no earlier update of the chat, received since ``m_since``, is waiting.
_earlier = inbound_updates.alias("earlier")
_TAKE_TURN = _MARK.where(~exists().where(
    _earlier.c.channel == inbound_updates.c.channel,
    _earlier.c.chat_id == inbound_updates.c.chat_id,
    _earlier.c.handled_at.is_(None),
    _earlier.c.id < inbound_updates.c.id,
    _earlier.c.received_at > bindparam("m_since", type_=UTCDateTime()),
))
_IS_HANDLED = (select(inbound_updates.c.handled_at.is_not(None))
               .where(inbound_updates.c.channel == bindparam("m_channel"),
                      inbound_updates.c.external_id == bindparam("m_external_id")))


class Turn(StrEnum):
    """What :func:`take_turn` found."""

    TAKEN = "taken"  # marked handled: its effects commit with the mark
    DONE = "done"  # handled before, or never stored (a repeat): do nothing
    WAIT = "wait"  # an earlier update of the same chat is still being handled: not yet


@dataclass(frozen=True)
class Stored:
    """One update as kept: ``payload`` is what the platform sent for it."""

    id: int
    channel: str
    external_id: str
    chat_id: str
    payload: dict[str, Any]


async def store(
    conn: Conn, channel: str, external_id: str, chat_id: str, payload: dict[str, Any],
    now: datetime,
) -> Stored | None:
    """Keep one update; ``None`` when this id was stored before (a repeat)."""
    values = {"channel": channel, "external_id": external_id, "chat_id": chat_id,
              "payload": payload, "received_at": now}
    row_id = (await conn.execute(_STORE[conn.dialect.name == "postgresql"], values)).scalar()
    return None if row_id is None else Stored(int(row_id), channel, external_id, chat_id, payload)


async def mark_handled(
    conn: Conn, channel: str, external_id: str, now: datetime, outcome: str = "handled"
) -> bool:
    """The update's effects commit with this (``outcome``: handled, dropped, ignored, failed);
    ``False`` when it is not waiting (handled before, or never stored): then do nothing."""
    result = await conn.execute(_MARK, {"m_channel": channel, "m_external_id": external_id,
                                        "m_now": now, "m_outcome": outcome})
    return bool(result.rowcount)


async def take_turn(
    conn: Conn, channel: str, external_id: str, now: datetime, patience: timedelta | None
) -> Turn:
    """Mark the update handled if it is its chat's turn: no earlier update of the chat (stored
    first) is still waiting, unless that one came more than ``patience`` ago (it is stuck: a
    crash, an error; it must not hold the chat up for good, and is handled at the next start).
    ``patience=None``: its turn now, whatever waits before it (the caller has waited enough).

    Two workers may receive one chat's updates at once; the conversation lock makes them take
    turns, this makes the turns follow the order the updates were stored in. One statement when
    it is the update's turn (nearly always); a second read tells a repeat from a wait."""
    params: dict[str, Any] = {"m_channel": channel, "m_external_id": external_id, "m_now": now,
                              "m_outcome": "handled"}
    if patience is None:
        return Turn.TAKEN if (await conn.execute(_MARK, params)).rowcount else Turn.DONE
    params["m_since"] = now - patience
    if (await conn.execute(_TAKE_TURN, params)).rowcount:
        return Turn.TAKEN
    handled = (await conn.execute(_IS_HANDLED, params)).scalar()
    return Turn.WAIT if handled is False else Turn.DONE


async def waiting(conn: Conn, channel: str, limit: int = 10_000) -> list[Stored]:
    """Updates stored and never handled (a crash or a stop came first), oldest first."""
    c = inbound_updates.c
    stmt = (select(c.id, c.channel, c.external_id, c.chat_id, c.payload)
            .where(c.channel == channel, c.handled_at.is_(None)).order_by(c.id).limit(limit))
    return [Stored(r.id, r.channel, r.external_id, r.chat_id, dict(r.payload))
            for r in await conn.execute(stmt)]


async def prune(conn: Conn, before: datetime) -> int:
    """Forget handled updates older than ``before`` (the platforms stop redelivering by then)."""
    result = await conn.execute(
        delete(inbound_updates).where(inbound_updates.c.handled_at.is_not(None),
                                      inbound_updates.c.handled_at < before)
    )
    return int(result.rowcount or 0)


async def forget_chats(conn: Conn, chats: list[tuple[str, str]]) -> None:
    """A person erased their data: what they wrote is not kept (the handled updates of their
    chats keep only their ids, enough to drop a redelivery)."""
    c = inbound_updates.c
    for channel, chat_id in chats:
        await conn.execute(update(inbound_updates).where(
            c.channel == channel, c.chat_id == chat_id, c.handled_at.is_not(None)).values(payload={}))

