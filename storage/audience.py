"""Who a broadcast goes to: the audience filter and the recipients it selects.

The filter is a small JSON object stored with the broadcast::

    {}                                        everyone
    {"regions": ["MS", "CS"]}                 artisans of these regions
    {"crafts": ["zellige"], "langs": ["fr"]}  zellige makers who read French
    {"session": 7, "session_statuses": ["enrolled", "waitlisted"]}

Dimensions combine with AND, values within one dimension with OR. Artisans who opted out (STOP)
or erased their data are never selected. Each recipient is reached on one chat: the same choice as
:meth:`bot.outbox.Outbox.notify` (the most recently active identity that has not blocked the bot).

The ``sessions`` and ``enrolments`` tables belong to the sessions feature; they are read through
lightweight table clauses and their absence is tolerated (a session filter then selects nobody).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import JSON, Integer, String, and_, column, func, inspect, select, table
from sqlalchemy.sql import Select, Subquery

from storage.database import Conn
from storage.schema import artisans, identities
from storage.types import UTCDateTime

SESSION_STATUSES = ("enrolled", "waitlisted")

sessions_table = table(
    "sessions", column("id", Integer), column("title", JSON), column("starts_at", UTCDateTime()),
    column("status", String),
)
enrolments_table = table(
    "enrolments", column("id", Integer), column("session_id", Integer), column("artisan_id", Integer),
    column("status", String),
)


async def has_table(conn: Conn, name: str) -> bool:
    """Whether another feature's table exists yet (its migration may not be merged)."""
    return bool(await conn.run_sync(lambda sync: inspect(sync).has_table(name)))


@dataclass(frozen=True)
class Audience:
    """A parsed audience filter (see the module docstring)."""

    regions: tuple[str, ...] = ()
    crafts: tuple[str, ...] = ()
    langs: tuple[str, ...] = ()
    session: int | None = None
    session_statuses: tuple[str, ...] = SESSION_STATUSES

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> Audience:
        data = data or {}
        session = data.get("session")
        statuses = tuple(s for s in data.get("session_statuses") or SESSION_STATUSES
                         if s in SESSION_STATUSES)
        return cls(
            regions=tuple(sorted(str(r) for r in data.get("regions") or ())),
            crafts=tuple(sorted(str(c) for c in data.get("crafts") or ())),
            langs=tuple(sorted(str(lang) for lang in data.get("langs") or ())),
            session=int(session) if isinstance(session, int) else None,
            session_statuses=statuses or SESSION_STATUSES,
        )

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {}
        if self.regions:
            data["regions"] = list(self.regions)
        if self.crafts:
            data["crafts"] = list(self.crafts)
        if self.langs:
            data["langs"] = list(self.langs)
        if self.session is not None:
            data["session"] = self.session
            data["session_statuses"] = list(self.session_statuses)
        return data

    @property
    def everyone(self) -> bool:
        return not (self.regions or self.crafts or self.langs or self.session is not None)


@dataclass(frozen=True)
class Recipient:
    artisan_id: int
    locale: str
    channel: str  # "" when no chat can be reached
    chat_id: str


@dataclass
class Reach:
    """What a preview tells staff: recipients per channel, and who is left out and why."""

    by_channel: dict[str, int] = field(default_factory=dict)
    unreachable: int = 0
    opted_out: int = 0

    @property
    def total(self) -> int:
        return sum(self.by_channel.values()) + self.unreachable


async def _filtered(conn: Conn, audience: Audience, *, opted_out: bool) -> Select[int, str] | None:
    """``SELECT artisans.id, artisans.locale`` for the audience, or None if it selects nobody."""
    conditions = [artisans.c.erased_at.is_(None), artisans.c.opted_out.is_(opted_out)]
    if audience.regions:
        conditions.append(artisans.c.region.in_(audience.regions))
    if audience.crafts:
        conditions.append(artisans.c.craft.in_(audience.crafts))
    if audience.langs:
        conditions.append(artisans.c.locale.in_(audience.langs))
    if audience.session is not None:
        if not await has_table(conn, "enrolments"):
            return None
        e = enrolments_table
        conditions.append(
            artisans.c.id.in_(
                select(e.c.artisan_id).where(
                    e.c.session_id == audience.session, e.c.status.in_(audience.session_statuses)
                )
            )
        )
    return select(artisans.c.id, artisans.c.locale).where(and_(*conditions))


def _best_chats(artisan_ids: Any) -> Subquery:
    """Per artisan (of ``artisan_ids``, a subquery), the chat they are reached on: the most
    recently active identity that has not blocked the bot (never active = oldest; a tie goes to
    the newest identity). One row per artisan who has such a chat: artisan_id, channel, chat_id.
    The one place this rule is written, for the recipients and for the counts."""
    i = identities
    latest_first = (i.c.last_inbound_at.desc().nulls_last(), i.c.id.desc())
    ranked = (
        select(
            i.c.artisan_id,
            i.c.channel,
            i.c.chat_id,
            func.row_number()
            .over(partition_by=i.c.artisan_id, order_by=latest_first)
            .label("rank"),
        )
        .where(i.c.blocked.is_(False), i.c.artisan_id.in_(artisan_ids))
        .subquery()
    )
    return (
        select(ranked.c.artisan_id, ranked.c.channel, ranked.c.chat_id).where(ranked.c.rank == 1).subquery()
    )


async def recipients(conn: Conn, audience: Audience) -> list[Recipient]:
    """Every artisan the audience selects, with the chat to reach them on (in id order)."""
    chosen = await _filtered(conn, audience, opted_out=False)
    if chosen is None:
        return []
    people = [(int(r[0]), str(r[1])) for r in await conn.execute(chosen.order_by(artisans.c.id))]
    best = _best_chats(chosen.with_only_columns(artisans.c.id))
    chats = {int(r[0]): (str(r[1]), str(r[2])) for r in await conn.execute(select(best))}
    return [Recipient(a, locale, *chats.get(a, ("", ""))) for a, locale in people]


async def reach(conn: Conn, audience: Audience) -> Reach:
    """The exact numbers a preview shows: the same selection as :func:`recipients`, counted by
    the database (no recipient is loaded)."""
    result = Reach()
    chosen = await _filtered(conn, audience, opted_out=False)
    if chosen is not None:
        best = _best_chats(chosen.with_only_columns(artisans.c.id))
        by_channel = select(best.c.channel, func.count()).group_by(best.c.channel).order_by(best.c.channel)
        result.by_channel = {str(channel): int(n) for channel, n in await conn.execute(by_channel)}
        everyone = select(func.count()).select_from(chosen.with_only_columns(artisans.c.id).subquery())
        total = int((await conn.execute(everyone)).scalar_one())
        result.unreachable = total - sum(result.by_channel.values())
    excluded = await _filtered(conn, audience, opted_out=True)
    if excluded is not None:
        count = select(func.count()).select_from(excluded.subquery())
        result.opted_out = int((await conn.execute(count)).scalar_one())
    return result


@dataclass(frozen=True)
class SessionChoice:
    id: int
    title: dict[str, str]
    starts_at: datetime | None


def title_in(title: dict[str, str], lang: str, fallback: str = "") -> str:
    """A session title (JSON by language) in ``lang``, else any language it has."""
    return title.get(lang) or next(iter(title.values()), fallback)


async def sessions_for_audience(conn: Conn, now: datetime, limit: int = 8) -> list[SessionChoice]:
    """Training sessions staff may target (not cancelled, from a month ago on), soonest first."""
    if not await has_table(conn, "sessions"):
        return []
    s = sessions_table
    stmt = (
        select(s.c.id, s.c.title, s.c.starts_at)
        .where(s.c.status != "cancelled", s.c.starts_at >= now - timedelta(days=31))
        .order_by(s.c.starts_at)
        .limit(limit)
    )
    return [SessionChoice(int(r[0]), _title(r[1]), r[2]) for r in await conn.execute(stmt)]


async def session(conn: Conn, session_id: int) -> SessionChoice | None:
    if not await has_table(conn, "sessions"):
        return None
    s = sessions_table
    row = (await conn.execute(
        select(s.c.id, s.c.title, s.c.starts_at).where(s.c.id == session_id)
    )).first()
    return SessionChoice(int(row[0]), _title(row[1]), row[2]) if row else None


def _title(value: Any) -> dict[str, str]:
    if isinstance(value, dict):
        return {str(k): str(v) for k, v in value.items() if v}
    return {"": str(value)} if value else {}
