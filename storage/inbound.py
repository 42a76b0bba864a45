"""What the engine needs to know about whoever wrote, in one round trip.

Every update needs the sender's conversation, artisan record, identity (for the WhatsApp window
and the blocked flag) and staff role. One outer-joined query fetches all four, instead of four
statements per update.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import String, and_, bindparam, select

from storage.artisans import Artisan
from storage.database import Conn
from storage.schema import artisans, conversations, identities, staff

_ARTISAN_FIELDS = tuple(Artisan.__dataclass_fields__)


@dataclass
class Inbound:
    state: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    has_conversation: bool = False
    artisan: Artisan | None = None
    last_inbound_at: datetime | None = None
    blocked: bool = False
    role: str | None = None


def _statement() -> Any:
    key = select(bindparam("channel", type_=String).label("channel"),
                 bindparam("user_id", type_=String).label("user_id")).subquery("k")
    joined = (
        key.outerjoin(conversations, and_(conversations.c.channel == key.c.channel,
                                          conversations.c.user_id == key.c.user_id))
        .outerjoin(identities, and_(identities.c.channel == key.c.channel,
                                    identities.c.external_id == key.c.user_id))
        .outerjoin(artisans, and_(artisans.c.id == identities.c.artisan_id,
                                  artisans.c.erased_at.is_(None)))
        .outerjoin(staff, and_(staff.c.channel == key.c.channel, staff.c.external_id == key.c.user_id))
    )
    return select(
        conversations.c.user_id.label("c_user"), conversations.c.state, conversations.c.data,
        identities.c.last_inbound_at, identities.c.blocked, staff.c.role,
        *(artisans.c[name].label(f"a_{name}") for name in _ARTISAN_FIELDS),
    ).select_from(joined)


# Built once: this runs for every update, and building the statement costs more than running it.
_LOAD = _statement()


async def load(conn: Conn, channel: str, user_id: str) -> Inbound:
    row = (await conn.execute(_LOAD, {"channel": channel, "user_id": user_id})).mappings().first()
    if row is None:  # pragma: no cover - the anchor always yields one row
        return Inbound()
    artisan = None
    if row["a_id"] is not None:
        artisan = Artisan(**{name: row[f"a_{name}"] for name in _ARTISAN_FIELDS})
    return Inbound(
        state=row["state"],
        data=dict(row["data"] or {}),
        has_conversation=row["c_user"] is not None,
        artisan=artisan,
        last_inbound_at=row["last_inbound_at"],
        blocked=bool(row["blocked"]),
        role=row["role"],
    )
