"""Conversation state per (channel, user) and the record of updates already handled."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, delete, func, select, update

from storage.database import Conn
from storage.schema import conversations, processed_updates
from storage.sql import insert_ignore

# Built once: these run for almost every update.
_LOCK = select(func.pg_advisory_xact_lock(func.hashtextextended(bindparam("key"), 0)))
_INSERT = conversations.insert()
_UPDATE = (
    update(conversations)
    .where(conversations.c.channel == bindparam("k_channel"),
           conversations.c.user_id == bindparam("k_user"))
)


async def save(
    conn: Conn,
    channel: str,
    user_id: str,
    state: str | None,
    data: dict[str, Any],
    now: datetime,
    *,
    exists: bool | None = None,
) -> None:
    """Write the state; ``exists`` (known from loading) saves a statement when given."""
    values = {"channel": channel, "user_id": user_id, "state": state, "data": data, "updated_at": now}
    if exists is False:
        await conn.execute(_INSERT, values)
        return
    inserted = False if exists else await insert_ignore(conn, conversations, values)
    if not inserted:
        await conn.execute(_UPDATE, {"k_channel": channel, "k_user": user_id, "state": state,
                                     "data": data, "updated_at": now})


async def lock(conn: Conn, channel: str, user_id: str) -> None:
    """Hold this conversation until the transaction ends: one user's updates, one at a time.

    Two workers may receive two updates of the same user at once (a webhook retried, a user
    typing fast). On SQLite every write transaction is ``BEGIN IMMEDIATE``, so they are already
    serialised. On PostgreSQL (read committed) both would read the same state and the last
    writer would silently win; a transaction-scoped advisory lock on the conversation's key
    makes the second wait for the first to commit, then read what it wrote.
    """
    if conn.dialect.name == "postgresql":
        await conn.execute(_LOCK, {"key": f"conversation:{channel}:{user_id}"})


async def forget(conn: Conn, channel: str, user_id: str) -> None:
    await conn.execute(
        delete(conversations).where(
            conversations.c.channel == channel, conversations.c.user_id == user_id
        )
    )


async def mark_processed(conn: Conn, channel: str, update_id: str, now: datetime) -> bool:
    """Remember an update; False when it was seen before (a duplicate delivery)."""
    return await insert_ignore(
        conn, processed_updates, {"channel": channel, "update_id": update_id, "processed_at": now}
    )


async def prune_processed(conn: Conn, now: datetime, keep: timedelta) -> int:
    result = await conn.execute(
        delete(processed_updates).where(processed_updates.c.processed_at < now - keep)
    )
    return int(result.rowcount or 0)
