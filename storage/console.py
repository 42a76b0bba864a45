"""The staff console's own tables (migration 0015) and their repository.

- ``console_keys``: one random key (row 1) that signs the one-time sign-in links; made on first use,
  so a new installation needs no setting.
- ``console_links``: one row per link sent by ``/console`` in the chat: a random ``nonce``, the
  staff member it is bound to, when it expires and when it was used (single use).
- ``console_sessions``: a browser signed in: the SHA-256 of its cookie (the cookie itself is never
  stored), the staff member, the CSRF token of its forms, its language and its expiry.
- ``console_uploads``: a file uploaded for a preview, kept until "apply" (a day at most), readable
  only by the staff member who uploaded it.
- ``console_activity``: every change made from the console, with its author written as the chat
  writes it (``channel:user_id``), for the staff page's "who did what".
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import JSON, Column, Index, Integer, LargeBinary, String, Table, delete, select, update

from storage.database import Conn
from storage.schema import artisans, metadata
from storage.sql import insert_ignore
from storage.types import UTCDateTime

console_keys = Table(
    "console_keys",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("secret", String(64), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
)

console_links = Table(
    "console_links",
    metadata,
    Column("nonce", String(32), primary_key=True),
    Column("channel", String(16), nullable=False),
    Column("external_id", String(64), nullable=False),
    Column("lang", String(8), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("expires_at", UTCDateTime(), nullable=False),
    Column("used_at", UTCDateTime()),
)

console_sessions = Table(
    "console_sessions",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("channel", String(16), nullable=False),
    Column("external_id", String(64), nullable=False),
    Column("csrf", String(64), nullable=False),
    Column("lang", String(8), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("expires_at", UTCDateTime(), nullable=False),
    Index("ix_console_sessions_expires_at", "expires_at"),
)

console_activity = Table(
    "console_activity",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("at", UTCDateTime(), nullable=False),
    Column("author", String(80), nullable=False),
    Column("action", String(40), nullable=False),
    Column("subject", String(120), nullable=False),
    Column("details", JSON, nullable=False),
    Index("ix_console_activity_at", "at"),
    Index("ix_console_activity_author", "author", "at"),
)


console_uploads = Table(
    "console_uploads",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("owner", String(80), nullable=False),
    Column("name", String(200), nullable=False),
    Column("content", LargeBinary, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
)


@dataclass(frozen=True)
class Staffer:
    """Who a link or a browser session belongs to."""

    channel: str
    external_id: str

    @property
    def author(self) -> str:
        """As the chat writes authors (``sessions.created_by``, certification history)."""
        return f"{self.channel}:{self.external_id}"[:80]


@dataclass(frozen=True)
class BrowserSession:
    staffer: Staffer
    csrf: str
    lang: str
    expires_at: datetime


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def _key(conn: Conn, now: datetime) -> bytes:
    await insert_ignore(conn, console_keys, {"id": 1, "secret": secrets.token_hex(32), "created_at": now})
    secret = (await conn.execute(select(console_keys.c.secret).where(console_keys.c.id == 1))).scalar_one()
    return str(secret).encode()


def _signature(key: bytes, nonce: str, staffer: Staffer, expires_at: datetime) -> str:
    message = f"{nonce}|{staffer.channel}|{staffer.external_id}|{int(expires_at.timestamp())}"
    digest = hmac.new(key, message.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:18]).decode().rstrip("=")


async def issue_link(conn: Conn, staffer: Staffer, lang: str, now: datetime, ttl: timedelta) -> str:
    """A one-time sign-in token ``nonce.signature`` for ``staffer``, valid for ``ttl``."""
    nonce = secrets.token_urlsafe(18)
    expires_at = now + ttl
    await conn.execute(
        console_links.insert().values(
            nonce=nonce,
            channel=staffer.channel,
            external_id=staffer.external_id,
            lang=lang,
            created_at=now,
            expires_at=expires_at,
        )
    )
    return f"{nonce}.{_signature(await _key(conn, now), nonce, staffer, expires_at)}"


@dataclass(frozen=True)
class Redeemed:
    staffer: Staffer | None
    lang: str = ""
    reason: str = ""  # "" | "invalid" | "expired" | "used"


async def redeem_link(conn: Conn, token: str, now: datetime) -> Redeemed:
    """Check a link's signature, expiry and single use, and use it up. Never raises."""
    nonce, _, signature = token.partition(".")
    if not nonce or not signature or len(token) > 100:
        return Redeemed(None, reason="invalid")
    row = (await conn.execute(select(console_links).where(console_links.c.nonce == nonce))).mappings().first()
    if row is None:
        return Redeemed(None, reason="invalid")
    staffer = Staffer(row["channel"], row["external_id"])
    expected = _signature(await _key(conn, now), nonce, staffer, row["expires_at"])
    if not hmac.compare_digest(expected, signature):
        return Redeemed(None, reason="invalid")
    if row["used_at"] is not None:
        return Redeemed(None, reason="used")
    if row["expires_at"] <= now:
        return Redeemed(None, reason="expired")
    used = await conn.execute(
        update(console_links)
        .where(console_links.c.nonce == nonce, console_links.c.used_at.is_(None))
        .values(used_at=now)
    )
    if not used.rowcount:
        return Redeemed(None, reason="used")
    return Redeemed(staffer, lang=str(row["lang"]))


async def link_owner(conn: Conn, token: str) -> Staffer | None:
    """Whom a link was issued to (without checking or using it)."""
    nonce = token.partition(".")[0]
    row = (
        await conn.execute(
            select(console_links.c.channel, console_links.c.external_id).where(console_links.c.nonce == nonce)
        )
    ).first()
    return Staffer(row[0], row[1]) if row else None


async def open_session(conn: Conn, staffer: Staffer, lang: str, now: datetime, ttl: timedelta) -> str:
    """Start a browser session; returns the cookie value (only its hash is stored)."""
    token = secrets.token_urlsafe(32)
    await conn.execute(delete(console_sessions).where(console_sessions.c.expires_at <= now))
    await conn.execute(
        console_sessions.insert().values(
            token_hash=_hash(token),
            channel=staffer.channel,
            external_id=staffer.external_id,
            csrf=secrets.token_urlsafe(24),
            lang=lang,
            created_at=now,
            expires_at=now + ttl,
        )
    )
    return token


async def session_of(conn: Conn, token: str, now: datetime) -> BrowserSession | None:
    if not token or len(token) > 100:
        return None
    row = (
        (
            await conn.execute(
                select(console_sessions).where(
                    console_sessions.c.token_hash == _hash(token), console_sessions.c.expires_at > now
                )
            )
        )
        .mappings()
        .first()
    )
    if row is None:
        return None
    return BrowserSession(
        Staffer(row["channel"], row["external_id"]), row["csrf"], row["lang"], row["expires_at"]
    )


async def set_lang(conn: Conn, token: str, lang: str) -> None:
    await conn.execute(
        update(console_sessions).where(console_sessions.c.token_hash == _hash(token)).values(lang=lang)
    )


async def close_session(conn: Conn, token: str) -> None:
    await conn.execute(delete(console_sessions).where(console_sessions.c.token_hash == _hash(token)))


async def close_sessions_of(conn: Conn, staffer: Staffer) -> None:
    """Sign a removed staff member out everywhere."""
    await conn.execute(
        delete(console_sessions).where(
            console_sessions.c.channel == staffer.channel,
            console_sessions.c.external_id == staffer.external_id,
        )
    )


async def save_upload(conn: Conn, owner: str, name: str, content: bytes, now: datetime) -> str:
    """Keep an uploaded file for its "apply"; files older than a day go."""
    await conn.execute(delete(console_uploads).where(console_uploads.c.created_at < now - timedelta(days=1)))
    upload_id = secrets.token_hex(12)
    await conn.execute(
        console_uploads.insert().values(
            id=upload_id, owner=owner, name=name[:200], content=content, created_at=now
        )
    )
    return upload_id


async def load_upload(conn: Conn, owner: str, upload_id: str) -> tuple[str, bytes] | None:
    row = (
        await conn.execute(
            select(console_uploads.c.name, console_uploads.c.content).where(
                console_uploads.c.id == upload_id, console_uploads.c.owner == owner
            )
        )
    ).first()
    return (str(row[0]), bytes(row[1])) if row else None


async def record(conn: Conn, now: datetime, author: str, action: str, subject: str, **details: Any) -> None:
    """Write one line of the console's history."""
    await conn.execute(
        console_activity.insert().values(
            at=now, author=author[:80], action=action[:40], subject=subject[:120], details=details
        )
    )


async def activity(
    conn: Conn, *, limit: int = 100, before: int | None = None, author: str | None = None
) -> list[dict[str, Any]]:
    """The newest lines first (keyset: ``before`` is the last id of the previous page)."""
    stmt = select(console_activity).order_by(console_activity.c.id.desc()).limit(limit)
    if before is not None:
        stmt = stmt.where(console_activity.c.id < before)
    if author:
        stmt = stmt.where(console_activity.c.author == author)
    return [dict(r) for r in (await conn.execute(stmt)).mappings()]


# The artisans' list in the console filters on these and pages by id (keyset); migration 0015.

Index("ix_artisans_region_id", artisans.c.region, artisans.c.id)
Index("ix_artisans_craft_id", artisans.c.craft, artisans.c.id)
Index("ix_artisans_locale_id", artisans.c.locale, artisans.c.id)
Index("ix_artisans_created_at", artisans.c.created_at)
