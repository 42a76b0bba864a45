"""``/broadcasts``: what is scheduled, running and done; cancel, stop, report, deliveries file.

Every button here carries a broadcast id and is re-checked against the database (a scheduled
broadcast can only be cancelled while still scheduled, a running one stopped while running) and
requires the ``staff`` role. Any other ``bc:`` button is refused.
"""

from __future__ import annotations

from bot.dialogue import Context, MenuItem, Router
from bot.i18n import Msg, Raw
from bot.messages import Choice, Document
from bot.spreadsheets import to_csv
from handlers.broadcasts import delivery
from handlers.broadcasts.buttons import (
    AnyBroadcast,
    CancelScheduled,
    ConfirmStop,
    DeliveriesCsv,
    KeepRunning,
    Report,
    Stop,
)
from handlers.broadcasts.exports import delivery_table
from storage import broadcasts as repo
from storage.broadcasts import BroadcastStatus

router = Router()
STAFF = "staff"


@router.command("broadcasts", role=STAFF, describe="cmd.broadcasts")
async def cmd_broadcasts(ctx: Context) -> None:
    ctx.finish()
    scheduled = await repo.listed(ctx.conn, (BroadcastStatus.SCHEDULED,), limit=20)
    running = await repo.listed(ctx.conn, (BroadcastStatus.SENDING,), limit=10)
    finished = await repo.listed(
        ctx.conn, (BroadcastStatus.DONE, BroadcastStatus.STOPPED, BroadcastStatus.CANCELLED), limit=5)
    if not (scheduled or running or finished):
        ctx.say(Msg("bc.list_empty"))
        return
    choices: list[Choice] = []
    lines: list[str] = []
    for b in scheduled:
        lines.append(ctx.render(Msg("bc.list_scheduled", id=b.id, when=b.scheduled_at or ctx.now,
                                    author=b.author_id, preview=_snippet(b))))
        choices.append(Choice(CancelScheduled(b.id), Msg("bc.cancel_button", id=b.id)))
    for b in running:
        lines.append(ctx.render(Msg("bc.list_running", id=b.id, author=b.author_id, preview=_snippet(b))))
        choices.append(Choice(Stop(b.id), Msg("bc.stop_button_id", id=b.id)))
    for b in finished:
        lines.append(ctx.render(Msg("bc.list_finished", id=b.id, status=Msg(f"bc.status_{b.status}"),
                                    author=b.author_id, sent=b.sent, total=b.total, preview=_snippet(b))))
        if b.status != BroadcastStatus.CANCELLED:
            choices.append(Choice(Report(b.id), Msg("bc.report_button", id=b.id)))
    ctx.say(Msg("bc.list", items=Raw("\n\n".join(lines))), choices)


def _snippet(b: repo.Broadcast) -> str:
    text, _ = b.text_for(b.fallback_lang)
    first = text.strip().splitlines()[0] if text.strip() else ""
    return first[:60] + ("…" if len(first) > 60 or len(text) > len(first) else "")


@router.action(CancelScheduled, role=STAFF)
async def cancel_scheduled(ctx: Context, button: CancelScheduled) -> None:
    broadcast_id = button.broadcast_id
    if not await repo.move(
        ctx.conn, broadcast_id, BroadcastStatus.CANCELLED, allowed_from=(BroadcastStatus.SCHEDULED,),
        now=ctx.now,
    ):
        ctx.say(Msg("common.stale"))
        return
    ctx.say(Msg("bc.cancelled", id=broadcast_id))


@router.action(Stop, role=STAFF)
async def ask_stop(ctx: Context, button: Stop) -> None:
    b = await repo.get(ctx.conn, button.broadcast_id)
    if b is None or b.status != BroadcastStatus.SENDING:
        ctx.say(Msg("common.stale"))
        return
    counts = await repo.delivery_counts(ctx.conn, b.id)
    ctx.say(Msg("bc.stop_confirm", id=b.id, pending=counts.get("pending", 0)),
            [Choice(ConfirmStop(b.id), Msg("bc.stop_yes")), Choice(KeepRunning(), Msg("bc.stop_no"))])


@router.action(ConfirmStop, role=STAFF)
async def stop_running(ctx: Context, button: ConfirmStop) -> None:
    broadcast_id = button.broadcast_id
    skipped = await delivery.stop(ctx.services, ctx.conn, broadcast_id)
    if skipped is None:
        ctx.say(Msg("common.stale"))
        return
    ctx.say(Msg("bc.stopped", id=broadcast_id, count=skipped))


@router.action(KeepRunning, role=STAFF)
async def keep_running(ctx: Context, _: KeepRunning) -> None:
    ctx.say(Msg("bc.kept"))


async def _with_deliveries(ctx: Context, broadcast_id: int) -> repo.Broadcast | None:
    """The broadcast the button names, if it has deliveries to show (else say it is stale)."""
    b = await repo.get(ctx.conn, broadcast_id)
    if b is None or b.status in (BroadcastStatus.DRAFT, BroadcastStatus.SCHEDULED, BroadcastStatus.CANCELLED):
        ctx.say(Msg("common.stale"))
        return None
    return b


@router.action(Report, role=STAFF)
async def show_report(ctx: Context, button: Report) -> None:
    b = await _with_deliveries(ctx, button.broadcast_id)
    if b is None:
        return
    counts = await repo.delivery_counts(ctx.conn, b.id)
    if b.status == BroadcastStatus.SENDING:
        text = delivery.progress_text(b.id, counts, sum(counts.values()))
    else:
        text = delivery.report_text(b, counts, await repo.failure_reasons(ctx.conn, b.id))
    ctx.say(text, [Choice(DeliveriesCsv(b.id), Msg("bc.export_button"))])


@router.action(DeliveriesCsv, role=STAFF)
async def send_deliveries(ctx: Context, button: DeliveriesCsv) -> None:
    b = await _with_deliveries(ctx, button.broadcast_id)
    if b is None:
        return
    header, rows = await delivery_table(ctx.conn, b.id, ctx.zone)
    document = Document(f"deliveries-{b.id}.csv", to_csv(header, rows), "text/csv")
    ctx.say(Msg("bc.export_caption", id=b.id, count=len(rows)), document=document)


@router.action(AnyBroadcast, role=STAFF)
async def unknown_broadcast_button(ctx: Context, _: AnyBroadcast) -> None:
    """Any other broadcast button outside its step: refused to non-staff; for staff, the engine
    finds it malformed and calls it stale (this handler only answers a bare ``bc``)."""
    ctx.say(Msg("common.stale"))
    if ctx.state:
        await ctx.reprompt()


router.menu_item(MenuItem("broadcasts", "bc.menu_list", cmd_broadcasts, order=73, role=STAFF))
