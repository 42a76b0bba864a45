"""The figures of the activity report for a period (what the chamber's session reviews).

Every count is one grouped query; sections whose tables do not exist (yet) come back empty with
``collected=False`` (feedback and questions are other features' tables). The period is a range of
local days ``[start, end]`` in the chamber's zone, turned into UTC bounds here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import column, func, inspect, select, table

from storage.audience import has_table
from storage.certification_schema import certification_history, certifications
from storage.database import Conn
from storage.schema import artisans, identities, outbox
from storage.sessions_schema import SEATED, EnrolmentStatus, SessionStatus, enrolments, sessions


@dataclass
class Breakdown:
    """One table (and chart) of a section: ``kind`` says how to name its codes
    (``region``, ``craft``, ``lang``, ``channel``, ``month``, ``stage``, ``status``)."""

    title: str
    kind: str
    rows: list[tuple[str, int]] = field(default_factory=list)


@dataclass
class Section:
    key: str
    figures: list[tuple[str, int]] = field(default_factory=list)
    breakdowns: list[Breakdown] = field(default_factory=list)
    collected: bool = True


@dataclass
class ActivityReport:
    start: date
    end: date
    sections: list[Section] = field(default_factory=list)

    def section(self, key: str) -> Section:
        return next(s for s in self.sections if s.key == key)


def bounds(start: date, end: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """UTC instants of the start of ``start`` and the end of ``end`` (local days)."""
    return (
        datetime.combine(start, time.min, zone),
        datetime.combine(end + timedelta(days=1), time.min, zone),
    )


async def _grouped(conn: Conn, stmt: Any) -> list[tuple[str, int]]:
    return [(str(code) if code is not None else "", int(n)) for code, n in await conn.execute(stmt)]


def _months(start: date, end: date) -> list[str]:
    out, day = [], start.replace(day=1)
    while day <= end:
        out.append(day.strftime("%Y-%m"))
        day = (day + timedelta(days=32)).replace(day=1)
    return out


async def collect(conn: Conn, start: date, end: date, zone: ZoneInfo) -> ActivityReport:
    since, until = bounds(start, end, zone)
    report = ActivityReport(start, end)
    report.sections.append(await _trainings(conn, since, until, start, end, zone))
    report.sections.append(await _attendance(conn, since, until))
    report.sections.append(await _certification(conn, since, until))
    report.sections.append(await _announcements(conn, since, until))
    report.sections.append(await _registrations(conn, since, until))
    for name in ("feedback", "questions"):
        report.sections.append(await _other_feature(conn, name, since, until))
    return report


async def _trainings(
    conn: Conn, since: datetime, until: datetime, start: date, end: date, zone: ZoneInfo
) -> Section:
    s = sessions
    held = (s.c.starts_at >= since, s.c.starts_at < until, s.c.status != SessionStatus.CANCELLED)
    section = Section("report.sec_trainings")
    total = (await conn.execute(select(func.count()).where(*held))).scalar_one()
    cancelled = (
        await conn.execute(
            select(func.count()).where(
                s.c.starts_at >= since, s.c.starts_at < until, s.c.status == SessionStatus.CANCELLED
            )
        )
    ).scalar_one()
    section.figures = [("report.fig_sessions", int(total)), ("report.fig_cancelled", int(cancelled))]
    section.breakdowns.append(
        Breakdown(
            "report.by_region",
            "region",
            await _grouped(
                conn,
                select(s.c.region, func.count())
                .where(*held)
                .group_by(s.c.region)
                .order_by(func.count().desc()),
            ),
        )
    )
    section.breakdowns.append(
        Breakdown(
            "report.by_craft",
            "craft",
            await _grouped(
                conn,
                select(s.c.craft, func.count())
                .where(*held)
                .group_by(s.c.craft)
                .order_by(func.count().desc()),
            ),
        )
    )
    months = dict.fromkeys(_months(start, end), 0)
    for (starts_at,) in await conn.execute(select(s.c.starts_at).where(*held)):
        key = starts_at.astimezone(zone).strftime("%Y-%m")
        if key in months:
            months[key] += 1
    section.breakdowns.append(Breakdown("report.by_month", "month", list(months.items())))
    return section


async def _attendance(conn: Conn, since: datetime, until: datetime) -> Section:
    s, e = sessions, enrolments
    stmt = (
        select(e.c.status, func.count())
        .join(s, s.c.id == e.c.session_id)
        .where(s.c.starts_at >= since, s.c.starts_at < until, s.c.status != SessionStatus.CANCELLED)
        .group_by(e.c.status)
    )
    counts = dict(await _grouped(conn, stmt))
    seated = sum(counts.get(status, 0) for status in SEATED)
    section = Section("report.sec_attendance")
    section.figures = [
        ("report.fig_enrolled", seated),
        ("report.fig_attended", counts.get(EnrolmentStatus.ATTENDED, 0)),
        ("report.fig_no_show", counts.get(EnrolmentStatus.NO_SHOW, 0)),
        ("report.fig_waitlisted", counts.get(EnrolmentStatus.WAITLISTED, 0)),
        ("report.fig_withdrawn", counts.get(EnrolmentStatus.WITHDRAWN, 0)),
    ]
    by_region = (
        select(s.c.region, func.count())
        .join(e, e.c.session_id == s.c.id)
        .where(s.c.starts_at >= since, s.c.starts_at < until, e.c.status == EnrolmentStatus.ATTENDED)
        .group_by(s.c.region)
        .order_by(func.count().desc())
    )
    section.breakdowns.append(
        Breakdown("report.attended_by_region", "region", await _grouped(conn, by_region))
    )
    return section


async def _certification(conn: Conn, since: datetime, until: datetime) -> Section:
    c, h = certifications, certification_history
    section = Section("report.sec_certification")
    by_stage = await _grouped(
        conn, select(c.c.stage, func.count()).group_by(c.c.stage).order_by(func.count().desc())
    )
    moved = dict(
        await _grouped(
            conn,
            select(h.c.stage, func.count(func.distinct(h.c.certification_id)))
            .where(h.c.at >= since, h.c.at < until)
            .group_by(h.c.stage),
        )
    )
    new = await conn.execute(select(func.count()).where(c.c.created_at >= since, c.c.created_at < until))
    section.figures = [
        ("report.fig_applications", sum(n for _, n in by_stage)),
        ("report.fig_new_applications", int(new.scalar_one())),
        ("report.fig_validated", moved.get("passed", 0)),
        ("report.fig_delivered", moved.get("delivered", 0)),
    ]
    section.breakdowns.append(Breakdown("report.by_stage", "stage", by_stage))
    section.breakdowns.append(
        Breakdown("report.stage_reached", "stage", sorted(moved.items(), key=lambda kv: -kv[1]))
    )
    return section


async def _announcements(conn: Conn, since: datetime, until: datetime) -> Section:
    o = outbox
    section = Section("report.sec_announcements")
    rows = list(
        await conn.execute(
            select(o.c.channel, o.c.status, func.count())
            .where(o.c.kind == "broadcast", o.c.created_at >= since, o.c.created_at < until)
            .group_by(o.c.channel, o.c.status)
        )
    )
    sent_by: dict[str, int] = {}
    total = reached = 0
    for channel, status, n in rows:
        total += int(n)
        if status == "sent":
            reached += int(n)
            sent_by[str(channel)] = sent_by.get(str(channel), 0) + int(n)
    if await has_table(conn, "broadcasts"):
        b = table("broadcasts", column("id"), column("started_at"))
        count = (
            await conn.execute(
                select(func.count()).select_from(b).where(b.c.started_at >= since, b.c.started_at < until)
            )
        ).scalar_one()
    else:
        count = 0
    section.figures = [
        ("report.fig_broadcasts", int(count)),
        ("report.fig_recipients", total),
        ("report.fig_reached", reached),
    ]
    section.breakdowns.append(
        Breakdown("report.reached_by_channel", "channel", sorted(sent_by.items(), key=lambda kv: -kv[1]))
    )
    return section


async def _registrations(conn: Conn, since: datetime, until: datetime) -> Section:
    a, i = artisans, identities
    new = (a.c.created_at >= since, a.c.created_at < until, a.c.erased_at.is_(None))
    section = Section("report.sec_registrations")
    total = (await conn.execute(select(func.count()).where(*new))).scalar_one()
    everyone = (await conn.execute(select(func.count()).where(a.c.erased_at.is_(None)))).scalar_one()
    section.figures = [("report.fig_registered", int(total)), ("report.fig_registered_total", int(everyone))]
    for title, kind, col in (
        ("report.by_region", "region", a.c.region),
        ("report.by_craft", "craft", a.c.craft),
        ("report.by_language", "lang", a.c.locale),
    ):
        section.breakdowns.append(
            Breakdown(
                title,
                kind,
                await _grouped(
                    conn, select(col, func.count()).where(*new).group_by(col).order_by(func.count().desc())
                ),
            )
        )
    channels = (
        select(i.c.channel, func.count(func.distinct(i.c.artisan_id)))
        .join(a, a.c.id == i.c.artisan_id)
        .where(*new)
        .group_by(i.c.channel)
        .order_by(func.count().desc())
    )
    section.breakdowns.append(Breakdown("report.by_channel", "channel", await _grouped(conn, channels)))
    return section


async def _other_feature(conn: Conn, name: str, since: datetime, until: datetime) -> Section:
    """Feedback and questions belong to other features: counted when their table exists (rows
    created in the period, when it has ``created_at``)."""
    section = Section(f"report.sec_{name}", collected=await has_table(conn, name))
    if not section.collected:
        return section
    columns = {str(c["name"]) for c in await conn.run_sync(lambda sync: inspect(sync).get_columns(name))}
    t = table(name, *(column(c) for c in columns))
    stmt = select(func.count()).select_from(t)
    if "created_at" in columns:
        stmt = stmt.where(t.c.created_at >= since, t.c.created_at < until)
    section.figures = [(f"report.fig_{name}", int((await conn.execute(stmt)).scalar_one()))]
    return section
