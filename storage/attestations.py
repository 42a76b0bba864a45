"""Attendance attestations: one per (session, artisan marked present), with a public reference."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select, update

from storage.chamber_schema import attestations
from storage.database import Conn
from storage.schema import artisans
from storage.sessions_schema import EnrolmentStatus, enrolments, sessions
from storage.sql import insert_ignore


@dataclass(frozen=True)
class Attestation:
    reference: str
    session_id: int
    artisan_id: int
    full_name: str
    title: dict[str, str]
    venue: str
    starts_at: datetime
    ends_at: datetime
    issued_at: datetime


_COLUMNS = (attestations.c.reference, attestations.c.session_id, attestations.c.artisan_id,
            artisans.c.full_name, sessions.c.title, sessions.c.venue, sessions.c.starts_at,
            sessions.c.ends_at, attestations.c.issued_at)


def _query() -> Select[Any]:
    return (select(*_COLUMNS).join(sessions, sessions.c.id == attestations.c.session_id)
            .join(artisans, artisans.c.id == attestations.c.artisan_id))


def _row(r: object) -> Attestation:
    values = dict(r._mapping)  # type: ignore[attr-defined]
    values["full_name"] = values["full_name"] or ""
    return Attestation(**values)


async def issue(conn: Conn, session_id: int, artisan_id: int, now: datetime) -> Attestation | None:
    """The attestation of an artisan marked present (made the first time); None if they were
    not marked present."""
    present = (await conn.execute(select(enrolments.c.id).where(
        enrolments.c.session_id == session_id, enrolments.c.artisan_id == artisan_id,
        enrolments.c.status == EnrolmentStatus.ATTENDED))).scalar()
    if present is None:
        return None
    pending = f"pending-{session_id}-{artisan_id}"
    if await insert_ignore(conn, attestations, {"session_id": session_id, "artisan_id": artisan_id,
                                                "reference": pending, "issued_at": now}):
        row_id = (await conn.execute(select(attestations.c.id).where(
            attestations.c.reference == pending))).scalar_one()
        reference = f"HA{now.year}-{row_id:06d}"
        await conn.execute(update(attestations).where(attestations.c.id == row_id)
                           .values(reference=reference))
    row = (await conn.execute(_query().where(attestations.c.session_id == session_id,
                                             attestations.c.artisan_id == artisan_id))).first()
    return _row(row) if row else None


async def by_reference(conn: Conn, reference: str) -> Attestation | None:
    row = (await conn.execute(_query().where(attestations.c.reference == reference))).first()
    return _row(row) if row else None


async def attended(
    conn: Conn, artisan_id: int, now: datetime
) -> list[tuple[int, dict[str, str], datetime, str]]:
    """Past sessions of an artisan: (session id, title, start, enrolment status), newest first."""
    rows = (await conn.execute(
        select(sessions.c.id, sessions.c.title, sessions.c.starts_at, enrolments.c.status)
        .join(enrolments, enrolments.c.session_id == sessions.c.id)
        .where(enrolments.c.artisan_id == artisan_id, sessions.c.ends_at <= now)
        .order_by(sessions.c.starts_at.desc()).limit(20))).all()
    return [(int(r.id), dict(r.title), r.starts_at, str(r.status)) for r in rows]
