"""Questions to the chamber: the artisan's messages, staff answers, topics, canned answers.

Reusable by every surface that shows the inbox (the bot, the staff group, the web console):
:func:`listing`, :func:`thread`, :func:`add_answer`, :func:`set_status`, :func:`assign`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from statistics import median
from typing import Any

from sqlalchemy import and_, delete, func, select, update
from sqlalchemy.engine import RowMapping

from storage.chamber_schema import Direction as Direction
from storage.chamber_schema import QuestionStatus as QuestionStatus
from storage.chamber_schema import (
    canned_answers,
    chamber_topics,
    question_messages,
    questions,
)
from storage.database import Conn
from storage.schema import artisans
from storage.sql import insert_ignore


@dataclass(frozen=True)
class Question:
    id: int
    artisan_id: int
    status: str
    source: str
    assigned_to: str | None
    opened_at: datetime
    answered_at: datetime | None
    first_answer_at: datetime | None
    flagged_at: datetime | None

    @classmethod
    def from_row(cls, row: RowMapping) -> Question:
        return cls(**{name: row[name] for name in cls.__dataclass_fields__})


@dataclass(frozen=True)
class QMessage:
    id: int
    question_id: int
    direction: str
    author: str | None
    kind: str
    text: str
    file_channel: str | None
    file_id: str | None
    file_name: str | None
    mime_type: str | None
    created_at: datetime
    relayed_at: datetime | None

    @classmethod
    def from_row(cls, row: RowMapping) -> QMessage:
        return cls(**{name: row[name] for name in cls.__dataclass_fields__})


@dataclass(frozen=True)
class Listed:
    """A question as an inbox line: who asked, when, how many messages."""

    question: Question
    full_name: str | None
    messages: int


@dataclass(frozen=True)
class Figures:
    """Questions asked in a period: how many, how many answered, median minutes to answer."""

    asked: int
    answered: int
    median_minutes: float | None

    @property
    def answered_share(self) -> float:
        return self.answered / self.asked if self.asked else 0.0


@dataclass(frozen=True)
class Canned:
    id: int
    title: str
    body: str


def _pk(result: Any) -> int:
    pk = result.inserted_primary_key
    assert pk is not None
    return int(pk[0])


# -- questions ------------------------------------------------------------------------------

async def get(conn: Conn, question_id: int) -> Question | None:
    row = (await conn.execute(select(questions).where(questions.c.id == question_id))).mappings().first()
    return Question.from_row(row) if row else None


async def open_of(conn: Conn, artisan_id: int) -> Question | None:
    """The artisan's question still waiting for an answer, if any."""
    row = (await conn.execute(
        select(questions)
        .where(questions.c.artisan_id == artisan_id, questions.c.status == QuestionStatus.OPEN)
        .order_by(questions.c.id.desc()).limit(1)
    )).mappings().first()
    return Question.from_row(row) if row else None


async def latest_of(conn: Conn, artisan_id: int) -> Question | None:
    row = (await conn.execute(
        select(questions).where(questions.c.artisan_id == artisan_id)
        .order_by(questions.c.id.desc()).limit(1)
    )).mappings().first()
    return Question.from_row(row) if row else None


async def add_incoming(
    conn: Conn, artisan_id: int, now: datetime, *, kind: str, text: str, source: str = "menu",
    file_channel: str | None = None, file_id: str | None = None, file_name: str | None = None,
    mime_type: str | None = None,
) -> tuple[int, int, bool]:
    """Add an artisan's message to their open question (opening one if needed).

    Returns (question id, message id, whether the question is new).
    """
    current = await open_of(conn, artisan_id)
    created = current is None
    if current is None:
        result = await conn.execute(questions.insert().values(
            artisan_id=artisan_id, status=QuestionStatus.OPEN, source=source, opened_at=now))
        question_id = _pk(result)
    else:
        question_id = current.id
    message_id = await _add_message(
        conn, question_id, Direction.IN, None, now, kind=kind, text=text, file_channel=file_channel,
        file_id=file_id, file_name=file_name, mime_type=mime_type)
    return question_id, message_id, created


async def _add_message(
    conn: Conn, question_id: int, direction: str, author: str | None, now: datetime, **fields: Any,
) -> int:
    result = await conn.execute(question_messages.insert().values(
        question_id=question_id, direction=direction, author=author, created_at=now, **fields))
    return _pk(result)


async def add_answer(
    conn: Conn, question_id: int, author: str, now: datetime, *, kind: str, text: str,
    file_channel: str | None = None, file_id: str | None = None, file_name: str | None = None,
    mime_type: str | None = None,
) -> int:
    """Record a staff answer; the question becomes answered (the first answer time is kept)."""
    message_id = await _add_message(
        conn, question_id, Direction.OUT, author, now, kind=kind, text=text, file_channel=file_channel,
        file_id=file_id, file_name=file_name, mime_type=mime_type, relayed_at=now)
    await conn.execute(update(questions).where(questions.c.id == question_id).values(
        status=QuestionStatus.ANSWERED, answered_at=now,
        first_answer_at=func.coalesce(questions.c.first_answer_at, now)))
    return message_id


async def set_status(conn: Conn, question_id: int, status: str, now: datetime) -> bool:
    """Mark answered (without a message: answered by phone) or reopen. False if unchanged."""
    values: dict[str, Any] = {"status": status}
    if status == QuestionStatus.ANSWERED:
        values["answered_at"] = now
    else:
        values["flagged_at"] = None
    result = await conn.execute(update(questions).where(
        questions.c.id == question_id, questions.c.status != status).values(**values))
    return bool(result.rowcount)


async def assign(conn: Conn, question_id: int, who: str) -> None:
    await conn.execute(update(questions).where(questions.c.id == question_id)
                       .values(assigned_to=who))


async def listing(
    conn: Conn, status: str, *, assigned_to: str | None = None, limit: int = 10, offset: int = 0
) -> list[Listed]:
    """The inbox: open questions oldest first, answered ones newest first (``offset``: pages)."""
    count = (select(func.count()).select_from(question_messages)
             .where(question_messages.c.question_id == questions.c.id).scalar_subquery())
    stmt = (select(questions, artisans.c.full_name, count.label("n"))
            .join(artisans, artisans.c.id == questions.c.artisan_id)
            .where(questions.c.status == status))
    if assigned_to is not None:
        stmt = stmt.where(questions.c.assigned_to == assigned_to)
    order = (questions.c.opened_at.asc() if status == QuestionStatus.OPEN
             else questions.c.answered_at.desc())
    rows = (await conn.execute(stmt.order_by(order, questions.c.id).limit(limit).offset(offset))
            ).mappings().all()
    return [Listed(Question.from_row(r), r["full_name"], int(r["n"])) for r in rows]


async def thread(conn: Conn, question_id: int) -> list[QMessage]:
    rows = (await conn.execute(select(question_messages)
            .where(question_messages.c.question_id == question_id)
            .order_by(question_messages.c.id))).mappings().all()
    return [QMessage.from_row(r) for r in rows]


async def history(conn: Conn, artisan_id: int, limit: int = 6) -> list[QMessage]:
    """The artisan's latest messages with the chamber (both ways), oldest first."""
    rows = (await conn.execute(
        select(question_messages).join(questions, questions.c.id == question_messages.c.question_id)
        .where(questions.c.artisan_id == artisan_id)
        .order_by(question_messages.c.id.desc()).limit(limit))).mappings().all()
    return [QMessage.from_row(r) for r in reversed(rows)]


async def message(conn: Conn, message_id: int) -> QMessage | None:
    row = (await conn.execute(select(question_messages)
           .where(question_messages.c.id == message_id))).mappings().first()
    return QMessage.from_row(row) if row else None


async def unrelayed(conn: Conn, limit: int = 200) -> list[tuple[int, QMessage]]:
    """Artisans' messages not yet passed to staff, oldest first, with their artisan id."""
    rows = (await conn.execute(
        select(question_messages, questions.c.artisan_id)
        .join(questions, questions.c.id == question_messages.c.question_id)
        .where(question_messages.c.direction == Direction.IN, question_messages.c.relayed_at.is_(None))
        .order_by(question_messages.c.id).limit(limit))).mappings().all()
    return [(int(r["artisan_id"]), QMessage.from_row(r)) for r in rows]


async def mark_relayed(conn: Conn, message_ids: list[int], now: datetime) -> None:
    if message_ids:
        await conn.execute(update(question_messages).where(
            question_messages.c.id.in_(message_ids), question_messages.c.relayed_at.is_(None))
            .values(relayed_at=now))


async def overdue(conn: Conn, before: datetime) -> list[Question]:
    """Open questions asked before ``before`` that were not flagged yet."""
    rows = (await conn.execute(select(questions).where(
        questions.c.status == QuestionStatus.OPEN, questions.c.opened_at < before,
        questions.c.flagged_at.is_(None)).order_by(questions.c.id))).mappings().all()
    return [Question.from_row(r) for r in rows]


async def flag(conn: Conn, question_id: int, now: datetime) -> bool:
    result = await conn.execute(update(questions).where(
        questions.c.id == question_id, questions.c.flagged_at.is_(None)).values(flagged_at=now))
    return bool(result.rowcount)


async def figures(conn: Conn, since: datetime | None = None, until: datetime | None = None) -> Figures:
    """Questions opened in [since, until): asked, answered, median minutes to the first answer
    (for ``/stats`` and the activity report)."""
    cond = []
    if since is not None:
        cond.append(questions.c.opened_at >= since)
    if until is not None:
        cond.append(questions.c.opened_at < until)
    rows = (await conn.execute(select(questions.c.opened_at, questions.c.first_answer_at,
                                      questions.c.status).where(and_(True, *cond)))).all()
    waits = [(first - opened).total_seconds() / 60 for opened, first, _ in rows if first is not None]
    answered = sum(1 for _, first, status in rows if first is not None or status == QuestionStatus.ANSWERED)
    return Figures(len(rows), answered, round(median(waits), 1) if waits else None)


# -- the staff group's topics ---------------------------------------------------------------

async def topic_of(conn: Conn, artisan_id: int, group_id: str) -> str | None:
    return (await conn.execute(select(chamber_topics.c.thread_id).where(
        chamber_topics.c.artisan_id == artisan_id, chamber_topics.c.group_id == group_id))).scalar()


async def artisan_of_topic(conn: Conn, group_id: str, thread_id: str) -> int | None:
    return (await conn.execute(select(chamber_topics.c.artisan_id).where(
        chamber_topics.c.group_id == group_id, chamber_topics.c.thread_id == thread_id))).scalar()


async def save_topic(conn: Conn, artisan_id: int, group_id: str, thread_id: str,
                     now: datetime) -> str:
    """Remember the artisan's topic (a topic made for another group replaces the old one);
    return the one that holds (another worker's, if it was first)."""
    await conn.execute(delete(chamber_topics).where(
        chamber_topics.c.artisan_id == artisan_id, chamber_topics.c.group_id != group_id))
    await insert_ignore(conn, chamber_topics, {"artisan_id": artisan_id, "group_id": group_id,
                                               "thread_id": thread_id, "created_at": now})
    held = await topic_of(conn, artisan_id, group_id)
    return held or thread_id


# -- canned answers (the chamber's FAQ) -----------------------------------------------------

async def canned(conn: Conn) -> list[Canned]:
    rows = (await conn.execute(select(canned_answers).order_by(canned_answers.c.title))).all()
    return [Canned(int(r.id), str(r.title), str(r.body)) for r in rows]


async def canned_one(conn: Conn, canned_id: int) -> Canned | None:
    r = (await conn.execute(select(canned_answers).where(canned_answers.c.id == canned_id))).first()
    return Canned(int(r.id), str(r.title), str(r.body)) if r else None


async def save_canned(conn: Conn, title: str, body: str, who: str, now: datetime,
                      canned_id: int | None = None) -> int:
    if canned_id is None:
        result = await conn.execute(canned_answers.insert().values(
            title=title, body=body, updated_by=who, updated_at=now))
        return _pk(result)
    await conn.execute(update(canned_answers).where(canned_answers.c.id == canned_id).values(
        title=title, body=body, updated_by=who, updated_at=now))
    return canned_id


async def delete_canned(conn: Conn, canned_id: int) -> None:
    await conn.execute(delete(canned_answers).where(canned_answers.c.id == canned_id))


async def forget_artisan(conn: Conn, artisan_id: int) -> None:
    """An artisan erased their data: their questions (and messages) and topic go."""
    await conn.execute(delete(question_messages).where(question_messages.c.question_id.in_(
        select(questions.c.id).where(questions.c.artisan_id == artisan_id))))
    await conn.execute(delete(questions).where(questions.c.artisan_id == artisan_id))
    await conn.execute(delete(chamber_topics).where(chamber_topics.c.artisan_id == artisan_id))
