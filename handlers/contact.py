"""How to reach the chamber: its phone, address, map link and opening hours (from
``HIRFA_CHAMBER__*``), shown in ``/help`` and wherever a message says "contact the chamber",
and :func:`answer_by`: when an artisan who writes now will hear back, counted in opening hours.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.i18n import Msg, Text
from bot.settings import ChamberSettings


def opening_hours(chamber: ChamberSettings) -> Msg:
    """"Monday to Friday, 08:30–16:30" (days in the reader's language)."""
    days = chamber.open_days
    consecutive = days == list(range(days[0], days[-1] + 1))
    if len(days) > 2 and consecutive:
        span: Text = Msg("chamber.days_range", first=Msg(f"chamber.day_{days[0]}"),
                         last=Msg(f"chamber.day_{days[-1]}"))
    else:
        span = Msg("chamber.days_list", days=_day_list(days))
    return Msg("chamber.hours", days=span, opens=chamber.opens, closes=chamber.closes)


def _day_list(days: list[int]) -> Msg:
    """Days joined by commas, each translated (nested messages render in the reader's language)."""
    out: Msg = Msg(f"chamber.day_{days[0]}")
    for day in days[1:]:
        out = Msg("chamber.day_and", first=out, then=Msg(f"chamber.day_{day}"))
    return out


def contact_card(chamber: ChamberSettings) -> Msg:
    """Everything the chamber set about itself, one line each; lines it did not set are left out."""
    lines: list[Text] = []
    if chamber.name:
        lines.append(Msg("chamber.line_name", name=chamber.name))
    if chamber.phone:
        lines.append(Msg("chamber.line_phone", phone=chamber.phone))
    if chamber.address:
        lines.append(Msg("chamber.line_address", address=chamber.address))
    lines.append(Msg("chamber.line_hours", hours=opening_hours(chamber)))
    if chamber.map_url:
        lines.append(Msg("chamber.line_map", url=chamber.map_url))
    body: Msg = Msg("chamber.card_start")
    for line in lines:
        body = Msg("chamber.card_line", before=body, line=line)
    return body


def with_card(text: Text, chamber: ChamberSettings) -> Msg:
    """``text`` — a message that tells the artisan to contact the chamber — followed by the
    contact card, so the phone number, address and hours are right there."""
    return Msg("chamber.with_card", text=text, card=contact_card(chamber))


def answer_by(now: datetime, chamber: ChamberSettings, zone: ZoneInfo) -> datetime:
    """The moment ``chamber.answer_hours`` of opening time have passed after ``now`` (UTC).

    Time outside the opening days and hours does not count: a question sent on Friday evening
    with 8 hours to answer is due on Monday at closing time.
    """
    left = timedelta(hours=chamber.answer_hours)
    opens = time(chamber.minutes("opens") // 60, chamber.minutes("opens") % 60)
    closes = time(chamber.minutes("closes") // 60, chamber.minutes("closes") % 60)
    local = now.astimezone(zone)
    day = local.date()
    for _ in range(400):  # at most a year of days
        if day.isoweekday() in chamber.open_days:
            start = datetime.combine(day, opens, zone)
            end = datetime.combine(day, closes, zone)
            start = max(start, local)
            if start < end:
                if end - start >= left:
                    return (start + left).astimezone(now.tzinfo)
                left -= end - start
        day += timedelta(days=1)
    return now + timedelta(hours=chamber.answer_hours)
