"""The staff side: look an application up (number, CNIE or phone) and set its stage.

Every state, action and command here has ``role="staff"``, checked by the engine before each
answer; ids in buttons are re-read from the database. Setting a stage goes
stage → (date and time → place, for a summons or a certificate to collect) → note → confirm, and
is recorded with its author (``telegram:<id>``); the artisan it belongs to is told at once
through the outbox. If the application changed meanwhile (an import, a colleague), nothing is
overwritten: the new state is shown instead.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from bot.dialogue import NAV_BACK, Context, MenuItem, Router, State, Step, show_menu
from bot.errors import InvalidInput
from bot.i18n import Msg, Text
from bot.messages import Choice
from bot.payloads import Payload
from handlers.certification import parsing
from handlers.certification.changes import SOURCE_STAFF, Change, owner_of, record
from handlers.certification.stages import active, stage
from handlers.certification.texts import application_line, join, staff_card
from handlers.validation import clean_cnie, parse_phone
from storage import certifications as repo
from storage.certifications import Application
from storage.database import Conn

router = Router()
STAFF = "staff"
SHOWN = 10
DONE = "cs:done"


@dataclass(frozen=True)
class FindAgain(Payload):
    prefix: ClassVar[str] = "cs:find"


@dataclass(frozen=True)
class Close(Payload):
    """"Close", offered by every step and card of the staff's flow."""

    prefix: ClassVar[str] = DONE


@dataclass(frozen=True)
class OpenCard(Payload):
    prefix: ClassVar[str] = "cs:open"
    application_id: int


@dataclass(frozen=True)
class SetStage(Payload):
    prefix: ClassVar[str] = "cs:stage"
    application_id: int
class CertStaff(Step):
    """Staff finding a file, then recording its next stage (when, where, a note, confirm)."""

    FIND = "cert.staff.find"
    STAGE = "cert.staff.stage"
    WHEN = "cert.staff.when"
    PLACE = "cert.staff.place"
    NOTE = "cert.staff.note"
    CONFIRM = "cert.staff.confirm"


def _is_staff(ctx: Context) -> bool:
    return ctx.is_staff(STAFF)


# -- finding -------------------------------------------------------------------------------------

async def start(ctx: Context) -> None:
    """Entry from the menu or ``/certs``: re-checks the role (a menu entry has none of its own)."""
    if not _is_staff(ctx):
        ctx.finish()
        ctx.say(Msg("common.not_allowed"))
        return
    ctx.finish()
    await ctx.goto(CertStaff.FIND)


router.menu_item(MenuItem("cert_staff", "cert.staff.menu", start, order=70, role=STAFF))


@router.command("certs", role=STAFF, describe="cert.cmd_staff")
async def cmd_certs(ctx: Context) -> None:
    if ctx.args:
        ctx.finish()
        ctx.state = CertStaff.FIND.value
        await find(ctx, ctx.args)
        return
    await start(ctx)


@router.action(FindAgain, role=STAFF)
async def find_again(ctx: Context, _: FindAgain) -> None:
    await start(ctx)


@router.action(Close, role=STAFF)
async def close(ctx: Context, _: Close) -> None:
    await done(ctx)


async def done(ctx: Context) -> None:
    ctx.finish()
    ctx.say(Msg("cert.staff.bye"))
    if ctx.artisan is not None:
        await show_menu(ctx)


async def ask_query(ctx: Context) -> None:
    ctx.say(Msg("cert.staff.ask_query"), [Choice(DONE, Msg("cert.staff.close"))], numbered=False)


def _read(read: Callable[[str], str], query: str) -> str | None:
    try:
        return read(query)
    except InvalidInput:
        return None


async def lookup(ctx: Context, query: str) -> list[Application]:
    return await search_register(ctx.conn, query)


async def search_register(conn: Conn, query: str) -> list[Application]:
    """Applications whose number, CNIE or phone is ``query`` (each read the way it is stored);
    the chat's search and the web console's."""
    phone = _read(parse_phone, query) if any(ch.isdigit() for ch in query) else None
    return await repo.search(conn, number=_read(parsing.clean_number, query),
                             cnie=_read(clean_cnie, query), phone=phone, limit=50)


async def find(ctx: Context, query: str) -> None:
    apps = await lookup(ctx, query)
    if not apps:
        ctx.say(Msg("cert.staff.not_found", query=query[:60]))
        await ctx.reprompt()
        return
    if len(apps) == 1:
        ctx.finish()
        await show_card(ctx, apps[0])
        return
    ctx.finish()
    lines: list[Text] = [Msg("cert.staff.found", count=len(apps))]
    lines += [Msg("cert.staff.found_line", line=application_line(app), name=app.full_name)
              for app in apps[:SHOWN]]
    if len(apps) > SHOWN:
        lines.append(Msg("cert.staff.found_more", count=len(apps) - SHOWN))
    choices = [Choice(OpenCard(app.id), app.number) for app in apps[:SHOWN]]
    choices += [Choice(FindAgain(), Msg("cert.staff.find_another")), Choice(DONE, Msg("cert.staff.close"))]
    ctx.say(join(ctx.render, lines), choices)


async def take_query(ctx: Context) -> None:
    if ctx.choice_id == DONE:
        await done(ctx)
        return
    if ctx.incoming.kind != "text" or not ctx.text.strip():
        raise InvalidInput("cert.staff.query_expected")
    await find(ctx, ctx.text.strip())


router.state(State(CertStaff.FIND, ask_query, take_query, role=STAFF))


# -- one application -------------------------------------------------------------------------------

async def show_card(ctx: Context, app: Application, intro: Text | None = None) -> None:
    ctx.finish()
    if intro is not None:
        ctx.say(intro)
    entries = await repo.history(ctx.conn, app.id)
    linked = await owner_of(ctx.conn, app) is not None
    ctx.say(
        join(ctx.render, staff_card(app, entries, ctx.zone, linked=linked)),
        [Choice(SetStage(app.id), Msg("cert.staff.set_stage")),
         Choice(FindAgain(), Msg("cert.staff.find_another")),
         Choice(DONE, Msg("cert.staff.close"))],
    )


@router.action(OpenCard, role=STAFF)
async def open_card(ctx: Context, button: OpenCard) -> None:
    app = await repo.get(ctx.conn, button.application_id)
    if app is None:
        ctx.say(Msg("common.stale"))
        await start(ctx)
        return
    await show_card(ctx, app)


@router.action(SetStage, role=STAFF)
async def start_stage(ctx: Context, button: SetStage) -> None:
    app = await repo.get(ctx.conn, button.application_id)
    if app is None:
        ctx.say(Msg("common.stale"))
        await start(ctx)
        return
    ctx.finish()
    await ctx.goto(CertStaff.STAGE, cert_app=app.id, cert_seen=await _version(ctx, app))


async def _version(ctx: Context, app: Application) -> str:
    """What the application looked like when the edit began (to notice a change meanwhile)."""
    entries = await repo.history(ctx.conn, app.id)
    return f"{app.updated_at.isoformat()}/{entries[-1].id if entries else 0}"


# -- setting a stage ---------------------------------------------------------------------------------

async def _current(ctx: Context) -> Application | None:
    app_id = ctx.data.get("cert_app")
    return await repo.get(ctx.conn, int(app_id)) if isinstance(app_id, int) else None


def _nav(*, back: bool = True) -> list[Choice]:
    out = [Choice(NAV_BACK, Msg("nav.back"))] if back else []
    return [*out, Choice(DONE, Msg("cert.staff.close"))]


def _step(handle: Callable[[Context], Awaitable[None]]) -> Callable[[Context], Awaitable[None]]:
    """Let "close" work from every step of the flow."""

    async def wrapped(ctx: Context) -> None:
        if ctx.choice_id == DONE:
            await done(ctx)
            return
        await handle(ctx)

    return wrapped


async def back_to_card(ctx: Context) -> None:
    app = await _current(ctx)
    if app is None:
        await start(ctx)
        return
    await show_card(ctx, app)


async def ask_stage(ctx: Context) -> None:
    app = await _current(ctx)
    if app is None:
        ctx.say(Msg("common.stale"))
        await start(ctx)
        return
    now = stage(app.stage)
    choices = [Choice(f"cs:to:{s.code}", Msg("cert.staff.stage_choice", icon=s.icon, stage=s.label))
               for s in active(ctx.services.settings)]
    ctx.say(Msg("cert.staff.ask_stage", number=app.number, icon=now.icon, stage=now.label),
            [*choices, *_nav()])


async def take_stage(ctx: Context) -> None:
    code = (ctx.choice_id or "").removeprefix("cs:to:")
    if code not in {s.code for s in active(ctx.services.settings)}:
        raise InvalidInput("common.use_buttons")
    ctx.data["cert_to"] = code
    for key in ("cert_when", "cert_place"):
        ctx.data.pop(key, None)
    await ctx.goto(CertStaff.WHEN if stage(code).appointment else CertStaff.NOTE)


async def ask_when(ctx: Context) -> None:
    target = stage(str(ctx.data.get("cert_to")))
    choices = [] if target.time_required else [Choice("cs:nodate", Msg("cert.staff.no_date"))]
    ctx.say(Msg("cert.staff.ask_when", stage=target.label), [*choices, *_nav()], numbered=False)


async def take_when(ctx: Context) -> None:
    if ctx.choice_id == "cs:nodate" and not stage(str(ctx.data.get("cert_to"))).time_required:
        ctx.data["cert_when"] = None
        await ctx.goto(CertStaff.PLACE)
        return
    if ctx.incoming.kind != "text":
        raise InvalidInput("cert.when_invalid")
    day, clock = parsing.parse_when(ctx.text)
    when = parsing.to_utc(day, clock, ctx.services.zone)
    if when <= ctx.now:
        raise InvalidInput("cert.staff.when_past")
    ctx.data["cert_when"] = when.isoformat()
    await ctx.goto(CertStaff.PLACE)


async def ask_place(ctx: Context) -> None:
    ctx.say(Msg("cert.staff.ask_place"), _nav(), numbered=False)


async def take_place(ctx: Context) -> None:
    if ctx.incoming.kind != "text":
        raise InvalidInput("common.text_empty")
    place = parsing.clean_note(ctx.text, parsing.PLACE_MAX)
    if place is None:
        raise InvalidInput("common.text_empty")
    ctx.data["cert_place"] = place
    await ctx.goto(CertStaff.NOTE)


async def ask_note(ctx: Context) -> None:
    ctx.say(Msg("cert.staff.ask_note"), [Choice("cs:nonote", Msg("cert.staff.no_note")), *_nav()],
            numbered=False)


async def take_note(ctx: Context) -> None:
    if ctx.choice_id == "cs:nonote":
        ctx.data["cert_note"] = None
    elif ctx.incoming.kind == "text":
        ctx.data["cert_note"] = parsing.clean_note(ctx.text)
    else:
        raise InvalidInput("common.text_empty")
    await ctx.goto(CertStaff.CONFIRM)


async def note_back(ctx: Context) -> None:
    appointment = stage(str(ctx.data.get("cert_to"))).appointment
    await ctx.goto(CertStaff.PLACE if appointment else CertStaff.STAGE)


def _change(ctx: Context) -> Change:
    when = ctx.data.get("cert_when")
    return Change(
        stage=str(ctx.data.get("cert_to")),
        stage_date=ctx.now.astimezone(ctx.services.zone).date(),
        note=ctx.data.get("cert_note"),
        summons_at=datetime.fromisoformat(when) if isinstance(when, str) else None,
        summons_place=ctx.data.get("cert_place"),
    ).normalized()


async def ask_confirm(ctx: Context) -> None:
    app = await _current(ctx)
    if app is None:
        ctx.say(Msg("common.stale"))
        await start(ctx)
        return
    change = _change(ctx)
    before, after = stage(app.stage), stage(change.stage)
    lines: list[Text] = [Msg("cert.staff.confirm", number=app.number, name=app.full_name,
                             before=before.label, after=after.label, icon=after.icon)]
    if change.summons_at is not None:
        lines.append(Msg("cert.card.when", when=change.summons_at))
    if change.summons_place:
        lines.append(Msg("cert.card.place", place=change.summons_place))
    if change.note:
        lines.append(Msg("cert.card.note", note=change.note))
    owner = await owner_of(ctx.conn, app)
    lines.append(Msg("cert.staff.will_notify" if owner else "cert.staff.nobody_to_notify"))
    ctx.say(join(ctx.render, lines),
            [Choice("cs:confirm", Msg("cert.staff.confirm_button")), *_nav()])


async def take_confirm(ctx: Context) -> None:
    if ctx.choice_id != "cs:confirm":
        raise InvalidInput("common.use_buttons")
    app = await _current(ctx)
    if app is None:
        ctx.say(Msg("common.stale"))
        await start(ctx)
        return
    if await _version(ctx, app) != ctx.data.get("cert_seen"):
        await show_card(ctx, app, Msg("cert.staff.changed_meanwhile"))
        return
    change = _change(ctx)
    if change.stage == app.stage and (change.note, change.summons_at, change.summons_place) == (
        app.note, app.summons_at, app.summons_place
    ):
        await show_card(ctx, app, Msg("cert.staff.nothing_changed"))
        return
    author = f"{ctx.incoming.channel}:{ctx.incoming.user_id}"
    current, queued = await record(ctx.conn, ctx.services, app, change, author=author,
                                   source=SOURCE_STAFF)
    await show_card(ctx, current, Msg("cert.staff.saved_notified" if queued else "cert.staff.saved"))


router.state(State(CertStaff.STAGE, ask_stage, _step(take_stage), role=STAFF,
                   on_back=back_to_card))
router.state(State(CertStaff.WHEN, ask_when, _step(take_when), back=CertStaff.STAGE,
                   role=STAFF))
router.state(State(CertStaff.PLACE, ask_place, _step(take_place), back=CertStaff.WHEN,
                   role=STAFF))
router.state(State(CertStaff.NOTE, ask_note, _step(take_note), role=STAFF, on_back=note_back))
router.state(State(CertStaff.CONFIRM, ask_confirm, _step(take_confirm), back=CertStaff.NOTE,
                   role=STAFF))
