"""Every statement on the ``outbox`` table (the durable sender's queue) lives here.

Row statuses: ``pending`` → ``sending`` (claimed by a sender) → ``sent`` | ``failed`` |
``blocked``; ``skipped`` when nobody could be reached at enqueue time (or the artisan erased
their data). Direct replies are inserted already ``sending``: the update that wrote them sends
them right after its transaction commits.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import insert

from storage.database import Conn
from storage.schema import outbox

PENDING, SENDING, SENT, FAILED, BLOCKED, SKIPPED = (
    "pending", "sending", "sent", "failed", "blocked", "skipped",
)


async def insert_claimed(conn: Conn, rows: list[dict[str, Any]], now: datetime) -> list[int]:
    """Insert rows already claimed (``sending``) by the caller; return their ids in order."""
    ids: list[int] = []
    for row in rows:
        values = {"status": SENDING, "claimed_at": now, "attempts": 0, "next_attempt_at": now,
                  "created_at": now, **row}
        result = await conn.execute(insert(outbox).values(**values).returning(outbox.c.id))
        ids.append(int(result.scalar_one()))
    return ids
