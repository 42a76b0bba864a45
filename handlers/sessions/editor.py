"""Staff create or edit a session in the bot: title → description → craft → region → venue →
map location → start (local time) → duration → capacity → preview, where any field can be
changed and a translation added, then publish.

The draft lives in the conversation state (``ctx.data["draft"]``) until it is published, so a
restart resumes at the same step. Editing an existing session uses the same steps; changing its
time is a reschedule (the version goes up, enrolled and wait-listed artisans are told). Every
state is ``role="staff"``: the engine re-checks the role before every answer.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from bot.dialogue import Context, Router, State, Step, nav_choices
from bot.errors import InvalidInput
from bot.i18n import Msg, Raw, Text
from bot.messages import Choice
from bot.numbers import parse_int
from handlers.catalog import CRAFTS, REGIONS
from handlers.sessions import changes
from handlers.sessions.parsing import (
    DESCRIPTION_MAX,
    TITLE_MAX,
    VENUE_MAX,
    clean_text,
    date_problem,
    parse_capacity,
    parse_coordinates,
    parse_duration,
    parse_local_datetime,
)
from handlers.sessions.staff_card import show_staff_card
from handlers.sessions.texts import LANGUAGES, card
from storage import enrolments as enrolment_repo
from storage import sessions as session_repo
from storage.sessions import Listed, Session, SessionStatus

router = Router()
STAFF = "staff"

# The fields, in the order they are asked; each has its step ``Editor(f"sa.{field}")``.
STEPS = ("title", "desc", "craft", "region", "venue", "location", "start", "duration", "capacity")
DURATIONS = (60, 120, 180, 240, 360, 480)


class Editor(Step):
    """A question of the session editor per field of ``STEPS``, then the preview."""

    TITLE = "sa.title"
    DESC = "sa.desc"
    CRAFT = "sa.craft"
    REGION = "sa.region"
    VENUE = "sa.venue"
    LOCATION = "sa.location"
    START = "sa.start"
    DURATION = "sa.duration"
    CAPACITY = "sa.capacity"
    PREVIEW = "sa.preview"


def draft(ctx: Context) -> dict[str, Any]:
    value = ctx.data.setdefault("draft", {})
    assert isinstance(value, dict)
    return value


def start_draft(ctx: Context, session: Session | None) -> None:
    ctx.finish()
    if session is None:
        ctx.data["draft"] = {"id": None, "lang": ctx.lang, "title": {}, "description": {}}
        return
    ctx.data["draft"] = {
        "id": session.id, "lang": ctx.lang, "title": dict(session.title),
        "description": dict(session.description), "craft": session.craft, "region": session.region,
        "venue": session.venue, "lat": session.latitude, "lon": session.longitude,
        "start": session.starts_at.isoformat(),
        "minutes": int((session.ends_at - session.starts_at).total_seconds() // 60),
        "capacity": session.capacity,
    }
    ctx.data["editing"] = True


async def new_session(ctx: Context) -> None:
    start_draft(ctx, None)
    await ctx.goto(Editor.TITLE)


async def edit_session(ctx: Context, session: Session) -> None:
    start_draft(ctx, session)
    await ctx.goto(Editor.PREVIEW)


async def _next(ctx: Context, step: str) -> None:
    """After answering ``step``: the next step, or the preview when editing."""
    if ctx.data.get("translating") and step == "title":
        await ctx.goto(Editor.DESC)
        return
    index = STEPS.index(step) + 1
    if ctx.data.get("editing") or ctx.data.get("translating") or index == len(STEPS):
        ctx.data.pop("translating", None)
        await ctx.goto(Editor.PREVIEW)
        return
    await ctx.goto(Editor(f"sa.{STEPS[index]}"))


def _language(ctx: Context) -> Msg:
    return Msg(f"sess.lang_{draft(ctx).get('lang', ctx.lang)}")


# -- the questions ----------------------------------------------------------------------------

async def ask_title(ctx: Context) -> None:
    ctx.say(Msg("sess.ask_title", language=_language(ctx)), nav_choices())


async def take_title(ctx: Context) -> None:
    if ctx.incoming.kind != "text":
        raise InvalidInput("common.text_empty")
    draft(ctx)["title"][draft(ctx)["lang"]] = clean_text(ctx.text, TITLE_MAX)
    await _next(ctx, "title")


async def ask_desc(ctx: Context) -> None:
    ctx.say(Msg("sess.ask_description", language=_language(ctx)),
            [Choice("sa:skip", Msg("sess.btn_skip")), *nav_choices()])


async def take_desc(ctx: Context) -> None:
    d = draft(ctx)
    if ctx.choice_id == "sa:skip":
        d["description"].pop(d["lang"], None)
    elif ctx.incoming.kind == "text":
        d["description"][d["lang"]] = clean_text(ctx.text, DESCRIPTION_MAX)
    else:
        raise InvalidInput("common.text_empty")
    await _next(ctx, "desc")


async def ask_craft(ctx: Context) -> None:
    choices = [Choice(f"craft:{c}", Msg(f"craft.{c}")) for c in CRAFTS if c != "other"]
    ctx.say(Msg("sess.ask_craft"), [Choice("craft:*", Msg("sess.all_crafts")), *choices, *nav_choices()])


async def take_craft(ctx: Context) -> None:
    code = (ctx.choice_id or "").removeprefix("craft:")
    if code != "*" and (code not in CRAFTS or code == "other"):
        raise InvalidInput("common.use_buttons")
    draft(ctx)["craft"] = None if code == "*" else code
    await _next(ctx, "craft")


async def ask_region(ctx: Context) -> None:
    choices = [Choice(f"region:{r}", Msg(f"region.{r}")) for r in REGIONS]
    ctx.say(Msg("sess.ask_region"), [Choice("region:*", Msg("sess.all_regions")), *choices, *nav_choices()])


async def take_region(ctx: Context) -> None:
    code = (ctx.choice_id or "").removeprefix("region:")
    if code != "*" and code not in REGIONS:
        raise InvalidInput("common.use_buttons")
    draft(ctx)["region"] = None if code == "*" else code
    await _next(ctx, "region")


async def ask_venue(ctx: Context) -> None:
    ctx.say(Msg("sess.ask_venue"), nav_choices())


async def take_venue(ctx: Context) -> None:
    if ctx.incoming.kind != "text":
        raise InvalidInput("common.text_empty")
    draft(ctx)["venue"] = clean_text(ctx.text, VENUE_MAX)
    await _next(ctx, "venue")


async def ask_location(ctx: Context) -> None:
    ctx.say(Msg("sess.ask_location"), [Choice("sa:skip", Msg("sess.btn_no_map")), *nav_choices()])


async def take_location(ctx: Context) -> None:
    d = draft(ctx)
    inc = ctx.incoming
    if ctx.choice_id == "sa:skip":
        d["lat"] = d["lon"] = None
    elif inc.kind == "location" and inc.location is not None:
        d["lat"], d["lon"] = inc.location
    elif inc.kind == "text":
        d["lat"], d["lon"] = parse_coordinates(inc.text)
    else:
        raise InvalidInput("sess.bad_location")
    await _next(ctx, "location")


async def ask_start(ctx: Context) -> None:
    example = ctx.now + timedelta(days=7)
    ctx.say(Msg("sess.ask_start", example=example.astimezone(ctx.zone).strftime("%d/%m/%Y 10:00"),
                zone=str(ctx.zone.key)), nav_choices(), numbered=False)


async def take_start(ctx: Context) -> None:
    if ctx.incoming.kind != "text":
        raise date_problem("sess.bad_datetime", ctx.now, ctx.zone)
    starts_at = parse_local_datetime(ctx.text, ctx.zone, ctx.now)
    if starts_at <= ctx.now:
        raise InvalidInput("sess.start_in_past", when=starts_at)
    draft(ctx)["start"] = starts_at.isoformat()
    await _next(ctx, "start")


async def ask_duration(ctx: Context) -> None:
    choices = [Choice(f"dur:{m}", Msg("sess.hours", count=m // 60)) for m in DURATIONS]
    ctx.say(Msg("sess.ask_duration"), [*choices, *nav_choices()], numbered=False)


async def take_duration(ctx: Context) -> None:
    choice = ctx.choice_id or ""
    chosen = parse_int(choice.removeprefix("dur:"), 15, 24 * 60) if choice.startswith("dur:") else None
    if chosen is not None:
        minutes = chosen
    elif ctx.incoming.kind == "text":
        minutes = parse_duration(ctx.text)
    else:
        raise InvalidInput("sess.bad_duration")
    draft(ctx)["minutes"] = minutes
    await _next(ctx, "duration")


async def ask_capacity(ctx: Context) -> None:
    ctx.say(Msg("sess.ask_capacity"), nav_choices(), numbered=False)


async def take_capacity(ctx: Context) -> None:
    if ctx.incoming.kind != "text":
        raise InvalidInput("sess.bad_capacity", max=10_000)
    capacity = parse_capacity(ctx.text)
    session_id = draft(ctx).get("id")
    if session_id:
        seated = await enrolment_repo.seated_count(ctx.conn, int(session_id))
        if capacity < seated:
            raise InvalidInput("sess.capacity_below", count=seated)
    draft(ctx)["capacity"] = capacity
    await _next(ctx, "capacity")


async def back(ctx: Context) -> None:
    """Back: to the preview when editing, else to the previous question."""
    if ctx.data.get("editing") or ctx.data.get("translating"):
        ctx.data.pop("translating", None)
        await ctx.goto(Editor.PREVIEW)
        return
    step = (ctx.state or "").removeprefix("sa.")
    index = STEPS.index(step) if step in STEPS else 0
    if index == 0:
        await ctx.reprompt()
        return
    await ctx.goto(Editor(f"sa.{STEPS[index - 1]}"))


_QUESTIONS = {
    "title": (ask_title, take_title), "desc": (ask_desc, take_desc),
    "craft": (ask_craft, take_craft), "region": (ask_region, take_region),
    "venue": (ask_venue, take_venue), "location": (ask_location, take_location),
    "start": (ask_start, take_start), "duration": (ask_duration, take_duration),
    "capacity": (ask_capacity, take_capacity),
}
for _step in STEPS:
    _ask, _take = _QUESTIONS[_step]
    router.state(State(Editor(f"sa.{_step}"), _ask, _take, role=STAFF, on_back=back))


# -- preview and publish ----------------------------------------------------------------------

def _missing(d: dict[str, Any]) -> str | None:
    """The first step whose answer is missing (a draft can be left half-done)."""
    if not d.get("title"):
        return "title"
    for key, step in (("venue", "venue"), ("start", "start"), ("minutes", "duration"),
                      ("capacity", "capacity")):
        if not d.get(key):
            return step
    return None


def draft_session(d: dict[str, Any], now: datetime, author: str) -> Session:
    starts_at = datetime.fromisoformat(d["start"])
    return Session(
        id=int(d.get("id") or 0), ext_ref=None, title=dict(d["title"]),
        description=dict(d.get("description") or {}), craft=d.get("craft"), region=d.get("region"),
        venue=d["venue"], latitude=d.get("lat"), longitude=d.get("lon"), starts_at=starts_at,
        ends_at=starts_at + timedelta(minutes=int(d["minutes"])), capacity=int(d["capacity"]),
        status=SessionStatus.SCHEDULED, version=1, created_by=author, created_at=now, updated_at=now,
    )


def author_of(ctx: Context) -> str:
    return f"{ctx.incoming.channel}:{ctx.incoming.user_id}"[:80]


async def ask_preview(ctx: Context) -> None:
    d = draft(ctx)
    ctx.data["editing"] = True
    missing = _missing(d)
    if missing is not None:
        ctx.data.pop("editing", None)
        await ctx.goto(Editor(f"sa.{missing}"))
        return
    session = draft_session(d, ctx.now, author_of(ctx))
    seated = waiting = 0
    if session.id:
        current = await session_repo.get_listed(ctx.conn, session.id)
        if current is not None:
            seated, waiting = current.seated, current.waiting
    listed = Listed(session, seated, waiting)
    translated = [lang for lang in LANGUAGES if d["title"].get(lang)]
    names = ", ".join(ctx.render(Msg(f"sess.lang_{lang}")) for lang in translated)
    key = "sess.preview_languages" if len(translated) == len(LANGUAGES) else "sess.preview_fallback"
    note: Text = Msg(key, languages=Raw(names))
    ctx.say(Msg("sess.preview_title" if not session.id else "sess.preview_title_edit"))
    choices = [Choice("sa:publish", Msg("sess.btn_publish" if not session.id else "sess.btn_save"))]
    choices += [Choice(f"sa:f:{step}", Msg(f"sess.edit_{step}")) for step in STEPS]
    choices += [Choice(f"sa:tr:{lang}", Msg("sess.btn_translate", language=Msg(f"sess.lang_{lang}")))
                for lang in LANGUAGES]
    choices += nav_choices(back=False)
    ctx.say(card(listed, ctx.lang, ctx.services.settings.default_locale, staff=note), choices)


async def take_preview(ctx: Context) -> None:
    choice = ctx.choice_id or ""
    if choice.startswith("sa:f:") and choice.removeprefix("sa:f:") in STEPS:
        await ctx.goto(Editor(f"sa.{choice.removeprefix('sa:f:')}"))
        return
    if choice.startswith("sa:tr:") and choice.removeprefix("sa:tr:") in LANGUAGES:
        draft(ctx)["lang"] = choice.removeprefix("sa:tr:")
        ctx.data.pop("editing", None)
        ctx.data["translating"] = True
        await ctx.goto(Editor.TITLE)
        return
    if choice == "sa:publish":
        await publish(ctx)
        return
    ctx.say(Msg("common.use_buttons"))
    await ctx.reprompt()


router.state(State(Editor.PREVIEW, ask_preview, take_preview, role=STAFF))


async def publish(ctx: Context) -> None:
    d = draft(ctx)
    if _missing(d) is not None:
        await ctx.reprompt()
        return
    proposed = draft_session(d, ctx.now, author_of(ctx))
    if proposed.id:
        outcome = await changes.edit(
            ctx.services, ctx.conn, proposed.id, starts_at=proposed.starts_at, ends_at=proposed.ends_at,
            title=proposed.title, description=proposed.description, craft=proposed.craft,
            region=proposed.region, venue=proposed.venue, latitude=proposed.latitude,
            longitude=proposed.longitude, capacity=proposed.capacity,
        )
        if isinstance(outcome, changes.Refused):
            retry = {changes.Refusal.START_IN_PAST: Editor.START,
                     changes.Refusal.CAPACITY_BELOW: Editor.CAPACITY}
            ctx.say(outcome.message)
            if outcome.reason in retry:
                await ctx.goto(retry[outcome.reason])
            else:
                ctx.finish()
            return
        ctx.finish()
        intro = (Msg("sess.staff_saved_moved", count=outcome.told) if outcome.moved
                 else Msg("sess.staff_saved"))
        await show_staff_card(ctx, proposed.id, intro)
        return
    if proposed.starts_at <= ctx.now:
        ctx.say(Msg("sess.start_in_past", when=proposed.starts_at))
        await ctx.goto(Editor.START)
        return
    session_id = await session_repo.create(
        ctx.conn, ctx.now, title=proposed.title, description=proposed.description,
        craft=proposed.craft, region=proposed.region, venue=proposed.venue,
        latitude=proposed.latitude, longitude=proposed.longitude, starts_at=proposed.starts_at,
        ends_at=proposed.ends_at, capacity=proposed.capacity, created_by=author_of(ctx),
    )
    ctx.finish()
    await show_staff_card(ctx, session_id, Msg("sess.staff_published"))
