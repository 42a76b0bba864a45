"""The figures of the activity report for a period (what the chamber's session reviews).

Every count is one grouped query. Sections: trainings held, enrolment and attendance, feedback
(ratings and absence reasons after the trainings of the period), certification (VAEP),
announcements, questions to the chamber (answered share, time to the first answer) and
registrations. The period is a range of local days ``[start, end]`` in the chamber's zone, turned
into UTC bounds here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import column, func, select, table

from storage import outbox as outbox_repo
from storage.audience import has_table
from storage.certification_schema import certification_history, certifications
from storage.chamber_schema import feedback, questions
from storage.database import Conn
from storage.questions import figures as question_figures
from storage.schema import artisans, identities
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
    # A figure is a count, or a measure (an average, hours) that may be "—" when nothing was measured.
    figures: list[tuple[str, int | float | str]] = field(default_factory=list)
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
    report.sections.append(await _feedback(conn, since, until))
    report.sections.append(await _questions(conn, since, until, start, end, zone))
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
    section = Section("report.sec_announcements")
    rows = await outbox_repo.tally(conn, kind="broadcast", since=since, until=until)
    sent_by: dict[str, int] = {}
    total = reached = 0
    for channel, status, n in rows:
        total += int(n)
        if status == outbox_repo.SENT:
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


async def _feedback(conn: Conn, since: datetime, until: datetime) -> Section:
    """Ratings (1-5) and absence reasons given after the trainings held in the period."""
    f, s = feedback, sessions
    held = (s.c.starts_at >= since, s.c.starts_at < until, s.c.status != SessionStatus.CANCELLED)
    section = Section("report.sec_feedback")
    ratings = dict(
        await _grouped(
            conn,
            select(f.c.rating, func.count())
            .join(s, s.c.id == f.c.session_id)
            .where(*held, f.c.rating.is_not(None))
            .group_by(f.c.rating),
        )
    )
    distribution = [(str(n), ratings.get(str(n), 0)) for n in range(5, 0, -1)]
    responses = sum(n for _, n in distribution)
    average = round(sum(int(k) * n for k, n in distribution) / responses, 1) if responses else None
    rated, comments = (
        await conn.execute(
            select(func.count(func.distinct(f.c.session_id)), func.count(f.c.comment))
            .join(s, s.c.id == f.c.session_id)
            .where(*held)
        )
    ).one()
    reasons = await _grouped(
        conn,
        select(f.c.reason, func.count())
        .join(s, s.c.id == f.c.session_id)
        .where(*held, f.c.reason.is_not(None))
        .group_by(f.c.reason)
        .order_by(func.count().desc()),
    )
    section.figures = [
        ("report.fig_feedback", responses),
        ("report.fig_rating_avg", average if average is not None else "—"),
        ("report.fig_rated_sessions", int(rated or 0)),
        ("report.fig_comments", int(comments or 0)),
        ("report.fig_absence_reasons", sum(n for _, n in reasons)),
    ]
    section.breakdowns.append(Breakdown("report.by_rating", "rating", distribution if responses else []))
    section.breakdowns.append(Breakdown("report.by_reason", "reason", reasons))
    return section


WAITS = ((60, "1h"), (4 * 60, "4h"), (24 * 60, "24h"), (3 * 24 * 60, "72h"))


async def _questions(
    conn: Conn, since: datetime, until: datetime, start: date, end: date, zone: ZoneInfo
) -> Section:
    """Questions to the chamber asked in the period: answered share and time to the first answer
    (the figures are :func:`storage.questions.figures`, the same as ``/stats``)."""
    section = Section("report.sec_questions")
    figures = await question_figures(conn, since, until)
    median = figures.median_minutes
    section.figures = [
        ("report.fig_questions", figures.asked),
        ("report.fig_answered", figures.answered),
        ("report.fig_answered_share", round(100 * figures.answered_share)),
        ("report.fig_answer_hours", round(median / 60, 1) if median is not None else "—"),
    ]
    q = questions
    months = dict.fromkeys(_months(start, end), 0)
    waits = {code: 0 for _, code in WAITS} | {"later": 0, "none": 0}
    rows = await conn.execute(
        select(q.c.opened_at, q.c.first_answer_at).where(q.c.opened_at >= since, q.c.opened_at < until)
    )
    for opened, first in rows:
        key = opened.astimezone(zone).strftime("%Y-%m")
        if key in months:
            months[key] += 1
        if first is None:
            waits["none"] += 1
            continue
        minutes = (first - opened).total_seconds() / 60
        waits[next((code for limit, code in WAITS if minutes <= limit), "later")] += 1
    section.breakdowns.append(Breakdown("report.by_month", "month", list(months.items())))
    section.breakdowns.append(
        Breakdown("report.answer_time", "wait", list(waits.items()) if figures.asked else [])
    )
    return section
