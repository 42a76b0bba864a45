"""``/stats`` for staff: a chart image and, beside it, the same numbers as text.

Registrations by region, craft and week; enrolments and attendance per training session (when
the sessions feature's tables exist); delivery rate per broadcast. ``hirfa stats`` prints the same
text (and can save the chart) from the command line.
"""

from __future__ import annotations

import asyncio
from zoneinfo import ZoneInfo

from bot.dialogue import Context, MenuItem, Router
from bot.i18n import Msg, Raw, Text, Translator
from bot.outbox import BLOCKED, FAILED, PENDING, SENDING, SENT, SKIPPED
from handlers.aftercare import chamber_stats
from handlers.charts import Panel, render_panels
from storage.audience import title_in
from storage.stats import Stats, collect

router = Router()
STAFF = "staff"


def _label(t: Translator, lang: str, zone: ZoneInfo, kind: str, code: str | None) -> str:
    if not code:
        return t.plain(Msg("stats.unknown"), lang, zone)
    return t.plain(Msg(f"{kind}.{code}"), lang, zone)


def stats_text(t: Translator, stats: Stats, lang: str, zone: ZoneInfo) -> str:
    """Every figure of the chart as HTML text (what the bot sends beside the image)."""
    def line(text: Text) -> str:
        return t.render(text, lang, zone)

    out = [line(Msg("stats.title", count=stats.total))]
    out.append(line(Msg("stats.by_region")))
    out += [line(Msg("stats.line", name=_label(t, lang, zone, "region", r), n=n)) for r, n in stats.by_region]
    out += [] if stats.by_region else [line(Msg("stats.none"))]
    out.append("\n" + line(Msg("stats.by_craft")))
    out += [line(Msg("stats.line", name=_label(t, lang, zone, "craft", c), n=n)) for c, n in stats.by_craft]
    out += [] if stats.by_craft else [line(Msg("stats.none"))]
    out.append("\n" + line(Msg("stats.by_week")))
    out += [line(Msg("stats.week_line", week=w, n=n)) for w, n in stats.by_week]
    if stats.sessions is not None:
        out.append("\n" + line(Msg("stats.sessions")))
        if not stats.sessions:
            out.append(line(Msg("stats.none")))
        for s in stats.sessions:
            rate = s.attendance
            out.append(line(Msg(
                "stats.session_line", title=title_in(s.title, lang, f"#{s.id}"),
                enrolled=s.enrolled, waitlisted=s.counts.get("waitlisted", 0),
                attended=s.counts.get("attended", 0), no_show=s.counts.get("no_show", 0),
                rate=Msg("stats.percent", value=round(100 * rate)) if rate is not None else "—",
            )))
    out.append("\n" + line(Msg("stats.broadcasts")))
    if not stats.broadcasts:
        out.append(line(Msg("stats.none")))
    for b in stats.broadcasts:
        rate = b.rate
        out.append(line(Msg(
            "stats.broadcast_line", id=b.id, when=b.created_at.astimezone(zone).date(),
            sent=b.counts.get(SENT, 0), total=b.total, failed=b.counts.get(FAILED, 0),
            blocked=b.counts.get(BLOCKED, 0), skipped=b.counts.get(SKIPPED, 0),
            pending=b.counts.get(PENDING, 0) + b.counts.get(SENDING, 0),
            rate=Msg("stats.percent", value=round(100 * rate)) if rate is not None else "—",
        )))
    return "\n".join(out)


def stats_chart(t: Translator, stats: Stats, lang: str, zone: ZoneInfo) -> bytes:
    """The chart image (PNG) with labels in ``lang``."""
    def plain(key: str, **params: object) -> str:
        return t.plain(Msg(key, **params), lang, zone)

    panels = [
        Panel(plain("stats.by_region"), [_label(t, lang, zone, "region", r) for r, _ in stats.by_region],
              [n for _, n in stats.by_region]),
        Panel(plain("stats.by_craft"), [_label(t, lang, zone, "craft", c) for c, _ in stats.by_craft[:12]],
              [n for _, n in stats.by_craft[:12]]),
        Panel(plain("stats.by_week"), [t.format_date(w, lang) for w, _ in stats.by_week],
              [n for _, n in stats.by_week], horizontal=False),
    ]
    if stats.sessions:
        sessions = stats.sessions
        panels.append(Panel(
            plain("stats.sessions"), [title_in(s.title, lang, f"#{s.id}")[:24] for s in sessions], [],
            series=[
                (plain("stats.series_enrolled"), [float(s.enrolled) for s in sessions]),
                (plain("stats.series_waitlisted"), [float(s.counts.get("waitlisted", 0)) for s in sessions]),
                (plain("stats.series_attended"), [float(s.counts.get("attended", 0)) for s in sessions]),
            ],
        ))
    panels.append(Panel(plain("stats.delivery_rate"), [f"#{b.id}" for b in stats.broadcasts],
                        [100 * (b.rate or 0.0) for b in stats.broadcasts], percent=True))
    return render_panels(panels, plain("stats.chart_title", count=stats.total))


@router.command("stats", role=STAFF, describe="cmd.stats")
async def cmd_stats(ctx: Context) -> None:
    ctx.finish()
    t = ctx.services.translator
    stats = await collect(ctx.conn, ctx.now, ctx.zone)
    png = await asyncio.to_thread(stats_chart, t, stats, ctx.lang, ctx.zone)
    ctx.say(Msg("stats.chart_caption"), photo=png)
    chamber = ctx.render(await chamber_stats(ctx.conn))
    ctx.say(Raw(stats_text(t, stats, ctx.lang, ctx.zone) + "\n\n" + chamber))


router.menu_item(MenuItem("stats", "bc.menu_stats", cmd_stats, order=74, role=STAFF))
