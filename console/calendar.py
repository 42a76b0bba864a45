"""The sessions calendar: a month grid of training sessions on Africa/Casablanca dates.

A session appears on the local day it starts (a session at 00:30 in Casablanca on the 1st is on
the 1st, though it is still the previous day in UTC). Weeks start on Monday; in Arabic the page is
right to left, so Monday is the rightmost column.
"""

from __future__ import annotations

import calendar as stdlib_calendar
import re
from datetime import date, time
from typing import TYPE_CHECKING, Any

from babel.dates import format_date, get_day_names
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from bot.languages import BABEL_LOCALE
from handlers.sessions.parsing import local_to_utc
from storage import console_queries as q
from storage.audience import title_in

if TYPE_CHECKING:
    from console.web import Console, Req

_MONTH = re.compile(r"(\d{4})-(\d{2})")


def _month(text: str, today: date) -> date:
    match = _MONTH.fullmatch(text)
    if match and 1 <= int(match.group(2)) <= 12 and 2000 <= int(match.group(1)) <= 2100:
        return date(int(match.group(1)), int(match.group(2)), 1)
    return today.replace(day=1)


def _shift(first: date, months: int) -> date:
    index = first.year * 12 + first.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


async def month_page(req: Req) -> Response:
    """``/console/sessions/calendar?month=YYYY-MM`` (this month by default)."""
    zone = req.services.zone
    today = req.console.now.astimezone(zone).date()
    first = _month(req.request.query_params.get("month", ""), today)
    following = _shift(first, 1)
    async with req.services.db.read() as conn:
        rows = await q.sessions_between(
            conn, local_to_utc(first, time(0), zone), local_to_utc(following, time(0), zone)
        )
    by_day: dict[date, list[dict[str, Any]]] = {}
    for row in rows:
        local = row["starts_at"].astimezone(zone)
        row["local_time"] = local.strftime("%H:%M")
        row["label"] = title_in(row["title"], req.lang, "—")
        by_day.setdefault(local.date(), []).append(row)
    locale = BABEL_LOCALE.get(req.lang, req.lang)
    names = get_day_names("abbreviated", locale=locale)
    return req.render(
        "calendar.html",
        weeks=stdlib_calendar.Calendar(firstweekday=0).monthdatescalendar(first.year, first.month),
        weekdays=[names[i] for i in range(7)],
        month=first,
        month_title=format_date(first, "LLLL y", locale=locale),
        previous=_shift(first, -1).strftime("%Y-%m"),
        following=following.strftime("%Y-%m"),
        this_month=today.strftime("%Y-%m"),
        today=today,
        by_day=by_day,
    )


def routes(console: Console) -> list[BaseRoute]:
    return [Route("/sessions/calendar", console.guard(month_page), methods=["GET"])]
