"""Sending a broadcast: enqueue it in bulk, follow its progress, stop it, report on it.

Starting (:func:`start`) happens in ONE transaction: the status moves ``draft|scheduled →
sending`` only if it still is draft or scheduled (so a second confirm, a double press or a second
worker does nothing), and every recipient gets an outbox row keyed ``broadcast:{id}:{artisan}``
(so nobody can get the same broadcast twice, even across restarts). The message is rendered once
per language and the rows are inserted in batches of 500.

The author gets ONE progress message, edited in place as deliveries settle (an outbox row of kind
``edit`` that carries the platform message id of the progress message, see
``OutMessage.edit_id``), then a report: sent, failed (with the reasons), blocked, skipped.

:func:`tick` is the periodic job: it starts scheduled broadcasts whose time has come, drops
pending deliveries to artisans who said STOP meanwhile, refreshes progress and finishes
broadcasts with nothing left to send. Everything it does is derived from the database, so a
restart or a missed tick loses nothing and repeats nothing.
"""

from __future__ import annotations

import logging

from bot.dialogue import Job, Services
from bot.i18n import Msg, Text
from bot.messages import Choice, Document, OutMessage, Reply, render
from bot.outbox import BLOCKED, FAILED, PENDING, SENDING, SENT, SKIPPED, Queued
from handlers.broadcasts.buttons import DeliveriesCsv, Stop
from storage import audience as audience_repo
from storage import broadcasts as repo
from storage import outbox as outbox_repo
from storage.broadcasts import BroadcastStatus
from storage.database import Conn

log = logging.getLogger(__name__)

PRIORITY_BROADCAST = -1  # behind reminders and other notices, which are more urgent
PRIORITY_AUTHOR = 10  # the author's progress and report go before everything else
TICK_SECONDS = 5.0


def artisan_message(services: Services, b: repo.Broadcast, lang: str) -> OutMessage:
    """The message as an artisan reading ``lang`` gets it (also what the preview shows)."""
    text, _ = b.text_for(lang)
    reply = Reply(Msg("bc.message", text=text))
    message = render(reply, services.translator, lang, services.zone)
    if b.media_kind is not None:
        message.media_ref = f"broadcast:{b.id}"
    return message


async def load_attachment(conn: Conn, ref: str) -> tuple[bytes | None, Document | None]:
    """Outbox attachment loader for ``broadcast:{id}`` references."""
    broadcast_id = int(ref.split(":", 1)[1])
    media = await repo.media_of(conn, broadcast_id)
    if media is None:
        raise LookupError(f"broadcast {broadcast_id} has no attachment")
    kind, content, name, mime = media
    if kind == "photo":
        return content, None
    return None, Document(name, content, mime)


async def start(services: Services, conn: Conn, broadcast_id: int) -> int | None:
    """Start sending now; return the number of recipients it is on its way to (the preview's
    count), or None if it was not startable."""
    now = services.clock.now()
    if not await repo.move(conn, broadcast_id, BroadcastStatus.SENDING,
                           allowed_from=(BroadcastStatus.DRAFT, BroadcastStatus.SCHEDULED),
                           now=now, started_at=now):
        return None
    b = await repo.get(conn, broadcast_id)
    assert b is not None
    people = await audience_repo.recipients(conn, audience_repo.Audience.from_json(b.audience))
    payloads = {}
    for lang in {p.locale for p in people}:
        payloads[lang] = artisan_message(services, b, lang).to_json()
    rows = (
        Queued(repo.delivery_key(b.id, p.artisan_id), p.channel, p.chat_id, p.artisan_id,
               payloads[p.locale])
        if p.channel
        else Queued(repo.delivery_key(b.id, p.artisan_id), "", "", p.artisan_id, payloads[p.locale],
                    status=SKIPPED, error="no reachable chat")
        for p in people
    )
    await services.outbox.enqueue_many(conn, rows, kind=repo.KIND, priority=PRIORITY_BROADCAST)
    await repo.update_fields(conn, b.id, now, total=len(people))
    progress = _author_message(services, b, progress_text(b.id, {}, len(people)),
                               [Choice(Stop(b.id), Msg("bc.stop_button"))])
    await services.outbox.to_chat(conn, b.author_channel, b.author_chat, progress,
                                  kind="broadcast_progress", key=f"broadcast:{b.id}:progress",
                                  priority=PRIORITY_AUTHOR)
    reachable = sum(1 for p in people if p.channel)
    log.info("broadcast %s started by %s/%s: %d recipients (%d reachable)", b.id, b.author_channel,
             b.author_id, len(people), reachable)
    # The number the preview announced (audience.reach: recipients with a chat), not the
    # artisans without one, who are recorded as skipped.
    return reachable


async def stop(services: Services, conn: Conn, broadcast_id: int) -> int | None:
    """Stop a running broadcast: deliveries not yet attempted become skipped. None if not running."""
    now = services.clock.now()
    if not await repo.move(conn, broadcast_id, BroadcastStatus.STOPPED,
                           allowed_from=(BroadcastStatus.SENDING,), now=now):
        return None
    return await repo.skip_pending(conn, broadcast_id, "stopped")


def done_count(counts: dict[str, int]) -> int:
    return sum(n for status, n in counts.items() if status not in (PENDING, SENDING))


def progress_text(broadcast_id: int, counts: dict[str, int], total: int) -> Msg:
    """The author's progress line: done out of total, with the outcomes so far."""
    done = done_count(counts)
    percent = int(100 * done / total) if total else 100
    return Msg("bc.progress", id=broadcast_id, done=done, total=total, percent=percent,
               sent=counts.get(SENT, 0), failed=counts.get(FAILED, 0),
               blocked=counts.get(BLOCKED, 0), skipped=counts.get(SKIPPED, 0))


def report_text(b: repo.Broadcast, counts: dict[str, int], reasons: list[tuple[str, int]]) -> Msg:
    """The final report: sent, failed with reasons, blocked, skipped."""
    lines = "\n".join(f"• {reason} ({n})" for reason, n in reasons)
    why: Text = Msg("bc.report_reasons", reasons=lines) if reasons else ""
    status = Msg(f"bc.status_{b.status}")
    return Msg("bc.report", id=b.id, status=status, total=b.total or sum(counts.values()),
               sent=counts.get(SENT, 0), failed=counts.get(FAILED, 0),
               blocked=counts.get(BLOCKED, 0), skipped=counts.get(SKIPPED, 0), reasons=why)


def _author_message(services: Services, b: repo.Broadcast, text: Text,
                    choices: list[Choice] | None = None) -> OutMessage:
    return render(Reply(text, choices or []), services.translator, b.author_lang, services.zone)


async def _progress_row(conn: Conn, broadcast_id: int) -> tuple[str, str | None] | None:
    """(status, platform message id) of the author's progress message."""
    return await outbox_repo.state_of(conn, f"broadcast:{broadcast_id}:progress")


async def _edit_waiting(conn: Conn, broadcast_id: int) -> bool:
    return await outbox_repo.unsettled(conn, f"broadcast:{broadcast_id}:edit:") > 0


async def _edit_progress(services: Services, conn: Conn, b: repo.Broadcast,
                         text: Msg, key: str, *, final: bool) -> None:
    row = await _progress_row(conn, b.id)
    message_id = row[1] if row and row[0] == SENT else None
    if message_id is None or (not final and await _edit_waiting(conn, b.id)):
        return
    choices = [] if final else [Choice(Stop(b.id), Msg("bc.stop_button"))]
    message = _author_message(services, b, text, choices)
    message.edit_id = message_id
    await services.outbox.to_chat(conn, b.author_channel, b.author_chat, message, kind="edit",
                                  key=f"broadcast:{b.id}:edit:{key}", priority=PRIORITY_AUTHOR)


async def _follow(services: Services, b: repo.Broadcast) -> None:
    """One progress step of a running broadcast (its own transaction)."""
    now = services.clock.now()
    async with services.db.transaction() as conn:
        if b.status == BroadcastStatus.SENDING:
            await repo.skip_opted_out(conn, b.id)
        counts = await repo.delivery_counts(conn, b.id)
        total = sum(counts.values())
        if counts.get(PENDING, 0) or counts.get(SENDING, 0):
            await _edit_progress(services, conn, b, progress_text(b.id, counts, total),
                                 str(done_count(counts)), final=False)
            return
        progress = await _progress_row(conn, b.id)
        if progress is not None and progress[0] == SENDING:
            return  # its message id is not known yet: finish at the next tick, with the edit
        if progress is not None and progress[0] == PENDING:
            # Never shown: the report below says everything, so the author gets one message.
            await outbox_repo.skip(conn, "superseded by the report",
                                   key=f"broadcast:{b.id}:progress")
        status = BroadcastStatus.DONE if b.status == BroadcastStatus.SENDING else b.status
        await repo.move(conn, b.id, status, allowed_from=(b.status,), now=now, finished_at=now,
                        total=total, sent=counts.get(SENT, 0), failed=counts.get(FAILED, 0),
                        blocked=counts.get(BLOCKED, 0), skipped=counts.get(SKIPPED, 0))
        finished = await repo.get(conn, b.id)
        assert finished is not None
        reasons = await repo.failure_reasons(conn, b.id)
        await _edit_progress(services, conn, finished, report_text(finished, counts, reasons),
                             "final", final=True)
        report = _author_message(services, finished, report_text(finished, counts, reasons),
                                 [Choice(DeliveriesCsv(b.id), Msg("bc.export_button"))])
        await services.outbox.to_chat(conn, b.author_channel, b.author_chat, report, kind="broadcast_report",
                                      key=f"broadcast:{b.id}:report", priority=PRIORITY_AUTHOR)
    log.info("broadcast %s finished: %s", b.id, counts)


async def tick(services: Services) -> None:
    """The periodic job: start what is due, follow what runs, finish what is done."""
    now = services.clock.now()
    async with services.db.read() as conn:
        due = await repo.due(conn, now)
    for broadcast_id in due:
        async with services.db.transaction() as conn:
            await start(services, conn, broadcast_id)
    async with services.db.read() as conn:
        running = await repo.running(conn)
    for b in running:
        await _follow(services, b)
    if due or running:
        services.outbox.wake()


JOB = Job("broadcasts", tick, TICK_SECONDS)
