"""Every statement on the ``outbox`` table (the durable sender's queue) lives here.

Row statuses: ``pending`` → ``sending`` (claimed by a sender) → ``sent`` | ``failed`` |
``blocked``; ``skipped`` when nobody could be reached at enqueue time (or the artisan erased
their data). Direct replies are inserted already ``sending``: the update that wrote them sends
them right after its transaction commits.

Nothing else names the table: the sender (``bot/outbox.py``), the WhatsApp receipts, the
broadcasts and reminders all come here. Keys are ``<kind>:<ids...>``; a group of rows (one
broadcast's deliveries) is a key prefix, read as an index range.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import RowMapping, and_, bindparam, case, func, or_, select, update
from sqlalchemy import insert as sql_insert
from sqlalchemy.sql.dml import Update

from storage.database import Conn
from storage.schema import artisans, identities, outbox
from storage.sql import insert_ignore, insert_ignore_many
from storage.whatsapp import CHANNEL as WHATSAPP
from storage.whatsapp import windows

PENDING, SENDING, SENT, FAILED, BLOCKED, SKIPPED = (
    "pending", "sending", "sent", "failed", "blocked", "skipped",
)


# Statements of every update's path, built once (building one cost more than running it).
_INSERT_CLAIMED = sql_insert(outbox).returning(outbox.c.id)
_MARKS: dict[tuple[str, ...], Update] = {}  # by the names of the columns set (a dozen at most)


async def insert_claimed(
    conn: Conn, rows: list[dict[str, Any]], now: datetime, by: str | None = None
) -> list[int]:
    """Insert rows already claimed (``sending``) by process ``by``, or, with ``by=None``, due
    now (``pending``) for the process that sends for the channel; return their ids in order."""
    claim = {"status": SENDING, "claimed_at": now, "claimed_by": by} if by else {"status": PENDING}
    ids: list[int] = []
    for row in rows:
        values = {**claim, "attempts": 0, "next_attempt_at": now, "created_at": now, **row}
        result = await conn.execute(_INSERT_CLAIMED, values)
        ids.append(int(result.scalar_one()))
    return ids


@dataclass(frozen=True)
class Due:
    """A row a sender may claim, with what the claim needs to know about its chat."""

    id: int
    chat_id: str
    payload: dict[str, Any]
    attempts: int
    artisan_id: int | None
    blocked: bool  # the chat blocked us (rows for it are skipped)
    last_inbound: datetime | None  # when the chat last wrote to us (WhatsApp's 24-hour window)


@dataclass(frozen=True)
class Sent:
    """A row found by the id the platform gave its message (delivery receipts)."""

    id: int
    status: str
    chat_id: str
    artisan_id: int | None
    payload: dict[str, Any]
    attempts: int


def _prefixed(prefix: str) -> Any:
    """Rows whose key starts with ``prefix``, as an index range on the unique ``idem_key``."""
    upper = prefix[:-1] + chr(ord(prefix[-1]) + 1)
    return and_(outbox.c.idem_key >= prefix, outbox.c.idem_key < upper)


def _where(prefix: str | None, kind: str | None) -> list[Any]:
    conditions: list[Any] = []
    if prefix:
        conditions.append(_prefixed(prefix))
    if kind:
        conditions.append(outbox.c.kind == kind)
    return conditions


# -- queueing -------------------------------------------------------------------------------------

async def add(conn: Conn, row: dict[str, Any]) -> bool:
    """One row; ``False`` when its ``idem_key`` exists already (nothing is written)."""
    return await insert_ignore(conn, outbox, row)


async def add_many(conn: Conn, rows: list[dict[str, Any]]) -> int:
    """Many rows in one statement; returns how many were new."""
    return await insert_ignore_many(conn, outbox, rows)


async def existing_keys(conn: Conn, keys: list[str]) -> set[str]:
    """Which of ``keys`` were queued already (in chunks: a scan may check thousands)."""
    found: set[str] = set()
    for start in range(0, len(keys), 500):
        chunk = keys[start:start + 500]
        rows = await conn.execute(select(outbox.c.idem_key).where(outbox.c.idem_key.in_(chunk)))
        found.update(str(r[0]) for r in rows)
    return found


# -- sending: claim, settle, recover -----------------------------------------------------------

async def has_due(conn: Conn, channel: str, now: datetime) -> bool:
    stmt = select(outbox.c.id).where(
        outbox.c.channel == channel, outbox.c.status == PENDING, outbox.c.next_attempt_at <= now,
    ).limit(1)
    return (await conn.execute(stmt)).first() is not None


async def next_due(conn: Conn, channel: str) -> datetime | None:
    stmt = select(func.min(outbox.c.next_attempt_at)).where(
        outbox.c.channel == channel, outbox.c.status == PENDING
    )
    value = (await conn.execute(stmt)).scalar()
    return value if isinstance(value, datetime) else None


async def due(conn: Conn, channel: str, now: datetime, limit: int) -> list[Due]:
    """Due rows of ``channel``, most urgent first, each with its chat's state: blocked or not,
    and when it last wrote (WhatsApp's 24-hour window: the identity's ``last_inbound_at``, or
    ``whatsapp_windows`` for whoever wrote, staff who are not artisans included; the later of
    the two).

    Call inside the transaction that then :func:`mark` s the chosen rows ``sending``. Several
    senders (processes) may claim at once: on PostgreSQL the rows read are locked
    (``FOR UPDATE SKIP LOCKED``) until that transaction ends, and rows another sender has
    locked are passed over, so no row is claimed twice and nobody waits. (SQLite has no row
    locks: its write transactions, ``BEGIN IMMEDIATE``, already run one at a time.)

    Two indexed statements, each bounded by ``limit``: the rows, then the state of their chats
    only. (Joined in one statement with every chat's state, PostgreSQL planned a nested loop
    over all identities for every due row whenever its statistics predated a broadcast's
    thousands of new rows: two seconds per claim at 2,000 recipients.)"""
    stmt = (
        select(outbox.c.id, outbox.c.chat_id, outbox.c.payload, outbox.c.attempts,
               outbox.c.artisan_id)
        .where(outbox.c.channel == channel, outbox.c.status == PENDING,
               outbox.c.next_attempt_at <= now)
        .order_by(outbox.c.priority.desc(), outbox.c.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    rows = list(await conn.execute(stmt))
    chat_ids = sorted({r.chat_id for r in rows})
    blocked: dict[str, bool] = {}
    wrote: dict[str, datetime | None] = {}
    if chat_ids:
        chats = (
            select(identities.c.chat_id,
                   func.max(case((identities.c.blocked.is_(True), 1), else_=0)),
                   func.max(identities.c.last_inbound_at))
            .where(identities.c.channel == channel, identities.c.chat_id.in_(chat_ids))
            .group_by(identities.c.chat_id)
        )
        for chat_id, is_blocked, last_inbound in await conn.execute(chats):
            blocked[chat_id], wrote[chat_id] = bool(is_blocked), last_inbound
        if channel == WHATSAPP:
            opened = select(windows.c.chat_id, windows.c.last_inbound_at).where(
                windows.c.chat_id.in_(chat_ids))
            for chat_id, last_inbound in await conn.execute(opened):
                wrote[chat_id] = _later(wrote.get(chat_id), last_inbound)
    return [Due(r.id, r.chat_id, dict(r.payload), r.attempts, r.artisan_id,
                blocked.get(r.chat_id, False), wrote.get(r.chat_id)) for r in rows]


def _later(*moments: datetime | None) -> datetime | None:
    known = [m for m in moments if m is not None]
    return max(known) if known else None


async def mark(conn: Conn, ids: list[int], **values: Any) -> None:
    """Set ``values`` on rows ``ids`` (claimed: ``status=SENDING, claimed_at=now``; deferred:
    ``status=PENDING, next_attempt_at=...``; settled: the outcome)."""
    if not ids:
        return
    names = tuple(sorted(values))
    stmt = _MARKS.get(names)
    if stmt is None:
        stmt = _MARKS[names] = update(outbox).where(
            outbox.c.id.in_(bindparam("ids", expanding=True))
        ).values({name: bindparam(f"v_{name}", type_=outbox.c[name].type) for name in names})
    await conn.execute(stmt, {"ids": ids, **{f"v_{name}": values[name] for name in names}})


async def renew(conn: Conn, ids: list[int], now: datetime) -> None:
    """The sender still holds rows ``ids``: their claim starts again from ``now``."""
    if ids:
        await conn.execute(update(outbox).where(outbox.c.id.in_(ids), outbox.c.status == SENDING)
                           .values(claimed_at=now))


async def release_expired(conn: Conn, channels: list[str], before: datetime) -> dict[str, int]:
    """Rows of ``channels`` claimed before ``before`` (their sender died: a live one renews its
    claims) go back to ``pending``; returns how many, by the process that had claimed them."""
    result = await conn.execute(
        update(outbox)
        .where(outbox.c.channel.in_(channels), outbox.c.status == SENDING,
               or_(outbox.c.claimed_at.is_(None), outbox.c.claimed_at < before))
        .values(status=PENDING)
        .returning(outbox.c.claimed_by)
    )
    released: dict[str, int] = {}
    for (holder,) in result:
        name = str(holder or "an earlier version")
        released[name] = released.get(name, 0) + 1
    return released


async def forget_artisan(
    conn: Conn, artisan_id: int, chats: list[tuple[str, str]] | None = None
) -> None:
    """Nothing waiting for this artisan is sent, and no text sent to them is kept: their rows
    and the rows to their ``chats`` (replies written before they registered carry no artisan).
    Rows being sent right now (``sending``) are left to finish."""
    await conn.execute(
        update(outbox)
        .where(outbox.c.artisan_id == artisan_id, outbox.c.status == PENDING)
        .values(status=SKIPPED, payload={}, last_error="erased")
    )
    theirs = [outbox.c.artisan_id == artisan_id]
    theirs += [and_(outbox.c.channel == channel, outbox.c.chat_id == chat_id)
               for channel, chat_id in chats or []]
    await conn.execute(
        update(outbox).where(or_(*theirs), outbox.c.status.not_in((PENDING, SENDING)))
        .values(payload={})
    )


_SENT = (outbox.c.id, outbox.c.status, outbox.c.chat_id, outbox.c.artisan_id, outbox.c.payload,
         outbox.c.attempts)


def _sent(row: Any) -> Sent | None:
    if row is None:
        return None
    return Sent(row.id, row.status, row.chat_id, row.artisan_id, dict(row.payload or {}),
                row.attempts)


async def by_platform_id(conn: Conn, channel: str, message_id: str) -> Sent | None:
    """The row whose message the platform knows as ``message_id`` (receipts, late failures)."""
    stmt = select(*_SENT).where(outbox.c.channel == channel,
                                outbox.c.platform_message_id == message_id)
    return _sent((await conn.execute(stmt)).first())


async def by_id(conn: Conn, row_id: int) -> Sent | None:
    """The row ``row_id`` as receipts need it (a part of a WhatsApp message names its row)."""
    return _sent((await conn.execute(select(*_SENT).where(outbox.c.id == row_id))).first())


async def move_chat(conn: Conn, channel: str, old: str, new: str) -> int:
    """A user's chat changed its id (a new WhatsApp number): their pending rows follow."""
    result = await conn.execute(
        update(outbox).where(outbox.c.channel == channel, outbox.c.chat_id == old,
                             outbox.c.status == PENDING).values(chat_id=new))
    return int(result.rowcount or 0)


# -- following a group of rows (a broadcast, a progress message) ---------------------------------

async def counts(conn: Conn, prefix: str | None = None, kind: str | None = None) -> dict[str, int]:
    """Rows by status (of the rows whose key starts with ``prefix``, of ``kind``)."""
    stmt = select(outbox.c.status, func.count()).where(*_where(prefix, kind)).group_by(outbox.c.status)
    return {str(status): int(n) for status, n in await conn.execute(stmt)}


async def unsettled(conn: Conn, prefix: str) -> int:
    """Rows under ``prefix`` still ``pending`` or ``sending``."""
    stmt = select(func.count()).select_from(outbox).where(
        _prefixed(prefix), outbox.c.status.in_((PENDING, SENDING)))
    return int((await conn.execute(stmt)).scalar() or 0)


async def state_of(conn: Conn, key: str) -> tuple[str, str | None] | None:
    """(status, platform message id) of the row with ``key``."""
    stmt = select(outbox.c.status, outbox.c.platform_message_id).where(outbox.c.idem_key == key)
    row = (await conn.execute(stmt)).first()
    return (str(row[0]), str(row[1]) if row[1] else None) if row else None


async def failure_reasons(
    conn: Conn, prefix: str, kind: str, limit: int = 5
) -> list[tuple[str, int]]:
    """The most frequent errors of failed rows, with how many rows each."""
    stmt = (
        select(outbox.c.last_error, func.count().label("n"))
        .where(*_where(prefix, kind), outbox.c.status == FAILED)
        .group_by(outbox.c.last_error)
        .order_by(func.count().desc())
        .limit(limit)
    )
    return [(str(err or "?"), int(n)) for err, n in await conn.execute(stmt)]


async def skip(
    conn: Conn, reason: str, *, prefix: str | None = None, kind: str | None = None,
    key: str | None = None, artisan_ids: list[int] | None = None,
) -> int:
    """Rows not yet attempted (under ``prefix``/of ``kind``, or the one ``key``, for
    ``artisan_ids`` if given) become ``skipped`` with ``reason``."""
    conditions = [*_where(prefix, kind), outbox.c.status == PENDING]
    if key is not None:
        conditions.append(outbox.c.idem_key == key)
    if artisan_ids is not None:
        conditions.append(outbox.c.artisan_id.in_(artisan_ids))
    result = await conn.execute(update(outbox).where(*conditions).values(status=SKIPPED,
                                                                         last_error=reason))
    return int(result.rowcount or 0)


async def pending_for_opted_out(conn: Conn, prefix: str, kind: str) -> list[int]:
    """Artisans with a row still pending under ``prefix`` who said STOP since."""
    stopped = select(artisans.c.id).where(artisans.c.opted_out.is_(True))
    stmt = select(outbox.c.artisan_id).where(
        outbox.c.artisan_id.in_(stopped), outbox.c.status == PENDING, *_where(prefix, kind))
    return [int(r[0]) for r in await conn.execute(stmt)]


async def rows(conn: Conn, prefix: str, kind: str) -> list[RowMapping]:
    """Every row under ``prefix`` (for an export), in enqueue order."""
    stmt = (
        select(outbox.c.artisan_id, outbox.c.channel, outbox.c.chat_id, outbox.c.status,
               outbox.c.attempts, outbox.c.last_error, outbox.c.created_at, outbox.c.sent_at,
               outbox.c.payload)
        .where(*_where(prefix, kind))
        .order_by(outbox.c.id)
    )
    return list((await conn.execute(stmt)).mappings())


async def latest_for_artisan(
    conn: Conn, artisan_id: int, kind: str, limit: int
) -> list[tuple[str, datetime, str, str | None]]:
    """(key, created_at, status, last_error) of an artisan's latest rows of ``kind``."""
    stmt = (
        select(outbox.c.idem_key, outbox.c.created_at, outbox.c.status, outbox.c.last_error)
        .where(outbox.c.artisan_id == artisan_id, outbox.c.kind == kind)
        .order_by(outbox.c.id.desc())
        .limit(limit)
    )
    return [(str(k), c, str(s), e) for k, c, s, e in await conn.execute(stmt)]


# -- what the console, the report and /metrics read -----------------------------------------------

async def tally(
    conn: Conn, *, kind: str | None = None, since: datetime | None = None,
    until: datetime | None = None,
) -> list[tuple[str, str, int]]:
    """(channel, status, rows) over every row (the queue's depth), or those of ``kind`` created
    in ``[since, until)`` (the period report's announcements)."""
    conditions = _where(None, kind)
    if since is not None:
        conditions.append(outbox.c.created_at >= since)
    if until is not None:
        conditions.append(outbox.c.created_at < until)
    stmt = (select(outbox.c.channel, outbox.c.status, func.count()).where(*conditions)
            .group_by(outbox.c.channel, outbox.c.status))
    return [(str(c), str(st), int(n)) for c, st, n in await conn.execute(stmt)]


async def failed_since(conn: Conn, since: datetime) -> int:
    """Rows created since ``since`` that ended ``failed`` (the console's dashboard)."""
    stmt = select(func.count()).select_from(outbox).where(outbox.c.status == FAILED,
                                                          outbox.c.created_at >= since)
    return int((await conn.execute(stmt)).scalar_one())


async def history_of_artisan(conn: Conn, artisan_id: int, limit: int = 30) -> list[dict[str, Any]]:
    """An artisan's latest messages, newest first: kind, status, channel, created_at, sent_at,
    last_error (the console's artisan page)."""
    stmt = (
        select(outbox.c.kind, outbox.c.status, outbox.c.channel, outbox.c.created_at,
               outbox.c.sent_at, outbox.c.last_error)
        .where(outbox.c.artisan_id == artisan_id)
        .order_by(outbox.c.id.desc())
        .limit(limit)
    )
    return [dict(r) for r in (await conn.execute(stmt)).mappings()]

