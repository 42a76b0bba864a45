"""The chamber staff's side of training sessions: the list, a session's card, create/edit
(:mod:`handlers.sessions.editor`), reschedule, cancel, the enrolment list (text, .xlsx, .csv),
attendance marking and the poster with its QR code.

Every command, state and action here is ``role="staff"`` (the engine checks the role before each
one), and every handler re-reads the session from the database: a forged or old button gets
"no longer available" or "only for staff", never an effect.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.dialogue import Context, MenuItem, Router, State, Step, nav_choices
from bot.errors import InvalidInput
from bot.i18n import Msg, Raw, Text
from bot.messages import Choice, Document
from bot.numbers import parse_id, parse_int
from handlers.sessions import attendance, changes, editor
from handlers.sessions.files import enrolment_export
from handlers.sessions.parsing import date_problem, parse_local_datetime
from handlers.sessions.poster import session_poster
from handlers.sessions.staff_card import deep_link, show_staff_card, show_staff_list, stale
from handlers.sessions.texts import LANGUAGES, title_of
from storage import enrolments as enrolment_repo
from storage import sessions as session_repo
from storage.enrolments import SEATED, EnrolmentStatus
from storage.sessions import Listed, Session, SessionStatus

router = Router()
STAFF = "staff"
ATTENDANCE_PAGE = 8


class Move(Step):
    """Moving a session: the new time, then its confirmation."""

    MOVE = "sa.move"
    MOVE_OK = "sa.move_ok"


# -- the list ---------------------------------------------------------------------------------

@router.command("sessions", role=STAFF, describe="sess.cmd_sessions")
async def cmd_sessions(ctx: Context) -> None:
    await show_staff_list(ctx, 0)


async def menu_manage(ctx: Context) -> None:
    if not ctx.is_staff():
        ctx.say(Msg("common.not_allowed"))
        return
    await show_staff_list(ctx, 0)


router.menu_item(MenuItem("manage_sessions", "sess.menu_staff", menu_manage, order=70, role="staff"))


@router.action("sa:list:", role=STAFF)
async def staff_list_page(ctx: Context) -> None:
    await show_staff_list(ctx, ctx.choice_number("sa:list:") or 0)


@router.action("sa:new", role=STAFF)
async def staff_new(ctx: Context) -> None:
    await editor.new_session(ctx)


@router.action("sa:open:", role=STAFF)
async def staff_open(ctx: Context) -> None:
    session_id = ctx.choice_number("sa:open:")
    if session_id is None:
        await stale(ctx)
        return
    await show_staff_card(ctx, session_id)


async def _scheduled(ctx: Context, prefix: str) -> Session | None:
    """The session named by the button, if it can still be changed (else say why)."""
    session_id = ctx.choice_number(prefix)
    session = await session_repo.get(ctx.conn, session_id) if session_id else None
    if session is None:
        await stale(ctx)
        return None
    if session.status != SessionStatus.SCHEDULED:
        await show_staff_card(ctx, session.id, Msg("sess.staff_not_editable"))
        return None
    return session


@router.action("sa:edit:", role=STAFF)
async def staff_edit(ctx: Context) -> None:
    session = await _scheduled(ctx, "sa:edit:")
    if session is not None:
        await editor.edit_session(ctx, session)


# -- reschedule -------------------------------------------------------------------------------

@router.action("sa:move:", role=STAFF)
async def staff_move(ctx: Context) -> None:
    session = await _scheduled(ctx, "sa:move:")
    if session is not None:
        ctx.finish()
        await ctx.goto(Move.MOVE, move={"id": session.id})


def _move(ctx: Context) -> dict[str, object]:
    value = ctx.data.get("move")
    return value if isinstance(value, dict) else {}


async def _move_session(ctx: Context) -> Session | None:
    session_id = _move(ctx).get("id")
    session = await session_repo.get(ctx.conn, int(str(session_id))) if session_id else None
    if session is None or session.status != SessionStatus.SCHEDULED:
        ctx.finish()
        ctx.say(Msg("sess.staff_not_editable"))
        await show_staff_list(ctx, 0)
        return None
    return session


async def ask_move(ctx: Context) -> None:
    session = await _move_session(ctx)
    if session is None:
        return
    example = (ctx.now + timedelta(days=7)).astimezone(ctx.zone).strftime("%d/%m/%Y 10:00")
    ctx.say(Msg("sess.ask_new_start", when=session.starts_at, example=example, zone=str(ctx.zone.key)),
            nav_choices(back=False), numbered=False)


async def take_move(ctx: Context) -> None:
    session = await _move_session(ctx)
    if session is None:
        return
    if ctx.incoming.kind != "text":
        raise date_problem("sess.bad_datetime", ctx.now, ctx.zone)
    starts_at = parse_local_datetime(ctx.text, ctx.zone, ctx.now)
    if starts_at <= ctx.now:
        raise InvalidInput("sess.start_in_past", when=starts_at)
    if starts_at == session.starts_at:
        raise InvalidInput("sess.same_time")
    _move(ctx)["start"] = starts_at.isoformat()
    await ctx.goto(Move.MOVE_OK)


async def ask_move_ok(ctx: Context) -> None:
    session = await _move_session(ctx)
    if session is None:
        return
    new_start = datetime.fromisoformat(str(_move(ctx)["start"]))
    people = len(await enrolment_repo.audience(ctx.conn, session.id))
    ctx.say(
        Msg("sess.confirm_move", title=title_of(session, ctx.lang, ctx.services.settings.default_locale),
            old=session.starts_at, new=new_start, count=people),
        [Choice("sa:yes", Msg("sess.btn_confirm_move")), *nav_choices()],
    )


async def take_move_ok(ctx: Context) -> None:
    if ctx.choice_id != "sa:yes":
        ctx.say(Msg("common.use_buttons"))
        await ctx.reprompt()
        return
    session = await _move_session(ctx)
    if session is None:
        return
    new_start = datetime.fromisoformat(str(_move(ctx)["start"]))
    outcome = await changes.reschedule(ctx.services, ctx.conn, session.id, new_start)
    if isinstance(outcome, changes.Refused) and outcome.reason == changes.Refusal.START_IN_PAST:
        ctx.say(outcome.message)
        await ctx.goto(Move.MOVE)
    elif isinstance(outcome, changes.Refused):
        await show_staff_card(ctx, session.id, outcome.message)
    else:
        await show_staff_card(ctx, session.id, Msg("sess.staff_moved", count=outcome.told))


router.state(State(Move.MOVE, ask_move, take_move, role=STAFF))
router.state(State(Move.MOVE_OK, ask_move_ok, take_move_ok, back=Move.MOVE, role=STAFF))


# -- cancel -----------------------------------------------------------------------------------

@router.action("sa:cancel:", role=STAFF)
async def staff_cancel(ctx: Context) -> None:
    session = await _scheduled(ctx, "sa:cancel:")
    if session is None:
        return
    people = len(await enrolment_repo.audience(ctx.conn, session.id))
    ctx.say(
        Msg("sess.confirm_cancel_session",
            title=title_of(session, ctx.lang, ctx.services.settings.default_locale),
            when=session.starts_at, count=people),
        [Choice(f"sa:cancelok:{session.id}", Msg("sess.btn_yes_cancel_session")),
         Choice(f"sa:open:{session.id}", Msg("sess.btn_no"))],
    )


@router.action("sa:cancelok:", role=STAFF)
async def staff_cancel_ok(ctx: Context) -> None:
    session = await _scheduled(ctx, "sa:cancelok:")
    if session is None:
        return
    outcome = await changes.cancel(ctx.services, ctx.conn, session.id)
    intro = (outcome.message if isinstance(outcome, changes.Refused)
             else Msg("sess.staff_cancelled", count=outcome.told))
    await show_staff_card(ctx, session.id, intro)


# -- enrolment list and exports ---------------------------------------------------------------

async def _listed(ctx: Context, prefix: str) -> Listed | None:
    session_id = ctx.choice_number(prefix)
    listed = await session_repo.get_listed(ctx.conn, session_id) if session_id else None
    if listed is None:
        await stale(ctx)
    return listed


@router.action("sa:people:", role=STAFF)
async def staff_people(ctx: Context) -> None:
    listed = await _listed(ctx, "sa:people:")
    if listed is None:
        return
    s = listed.session
    people = await enrolment_repo.of_session(ctx.conn, s.id)
    lines = []
    for number, person in enumerate(people, 1):
        e = person.enrolment
        status: Text = Msg(f"sess.status_{e.status}")
        if e.status == EnrolmentStatus.WAITLISTED:
            status = Msg("sess.status_waiting_rank", position=person.rank or 0)
        rsvp: Text = Msg(f"sess.rsvp_{e.rsvp}") if e.rsvp in ("yes", "no") else ""
        lines.append(ctx.render(Msg("sess.person_line", number=number, name=person.full_name or "—",
                                    phone=person.phone or "—", status=status, rsvp=rsvp)))
    title = title_of(s, ctx.lang, ctx.services.settings.default_locale)
    header = ctx.render(Msg("sess.people_title", title=title, seated=listed.seated, capacity=s.capacity,
                            waiting=listed.waiting))
    body = "\n".join(lines) if lines else ctx.render(Msg("sess.people_none"))
    ctx.finish()
    ctx.say(Raw(header + "\n\n" + body), [
        Choice(f"sa:xlsx:{s.id}", Msg("sess.btn_xlsx")), Choice(f"sa:csv:{s.id}", Msg("sess.btn_csv")),
        Choice(f"sa:att:{s.id}:0", Msg("sess.btn_attendance")),
        Choice(f"sa:open:{s.id}", Msg("sess.btn_back_session")),
    ])


async def _export(ctx: Context, prefix: str, kind: str) -> None:
    listed = await _listed(ctx, prefix)
    if listed is None:
        return
    s = listed.session
    content, count = await enrolment_export(ctx.conn, s, ctx.lang, ctx.zone, kind)
    mime = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" if kind == "xlsx" \
        else "text/csv"
    ctx.say(Msg("sess.export_caption", count=count),
            document=Document(f"enrolments-session-{s.id}.{kind}", content, mime))


@router.action("sa:xlsx:", role=STAFF)
async def staff_xlsx(ctx: Context) -> None:
    await _export(ctx, "sa:xlsx:", "xlsx")


@router.action("sa:csv:", role=STAFF)
async def staff_csv(ctx: Context) -> None:
    await _export(ctx, "sa:csv:", "csv")


# -- attendance -------------------------------------------------------------------------------

async def show_attendance(ctx: Context, session_id: int, page: int) -> None:
    ctx.finish()
    listed = await session_repo.get_listed(ctx.conn, session_id)
    if listed is None:
        await stale(ctx)
        return
    s = listed.session
    if s.status == SessionStatus.CANCELLED:
        await show_staff_card(ctx, s.id, Msg("sess.staff_not_editable"))
        return
    if ctx.now < s.starts_at - timedelta(hours=1):
        await show_staff_card(ctx, s.id, Msg("sess.attendance_not_yet", when=s.starts_at))
        return
    seated = [p for p in await enrolment_repo.of_session(ctx.conn, s.id) if p.enrolment.status in SEATED]
    pages = max(1, -(-len(seated) // ATTENDANCE_PAGE))
    page = min(max(page, 0), pages - 1)
    chunk = seated[page * ATTENDANCE_PAGE:(page + 1) * ATTENDANCE_PAGE]
    lines = []
    choices = []
    for number, person in enumerate(chunk, page * ATTENDANCE_PAGE + 1):
        e = person.enrolment
        lines.append(ctx.render(Msg("sess.attendance_line", number=number, name=person.full_name or "—",
                                    mark=Msg(f"sess.mark_{e.status}"))))
        choices += [Choice(f"sa:mark:{e.id}:p", f"✅ {number}"), Choice(f"sa:mark:{e.id}:a", f"❌ {number}")]
    if page > 0:
        choices.append(Choice(f"sa:att:{s.id}:{page - 1}", Msg("sess.btn_prev")))
    if page < pages - 1:
        choices.append(Choice(f"sa:att:{s.id}:{page + 1}", Msg("sess.btn_next")))
    if seated:
        choices.append(Choice(f"sa:allp:{s.id}", Msg("sess.btn_all_present")))
    choices.append(Choice(f"sa:open:{s.id}", Msg("sess.btn_back_session")))
    title = title_of(s, ctx.lang, ctx.services.settings.default_locale)
    header = ctx.render(Msg("sess.attendance_title", title=title, when=s.starts_at))
    body = "\n".join(lines) if lines else ctx.render(Msg("sess.people_none"))
    ctx.say(Raw(header + "\n\n" + body), choices)


@router.action("sa:att:", role=STAFF)
async def staff_attendance(ctx: Context) -> None:
    parts = (ctx.choice_id or "").removeprefix("sa:att:").split(":")
    ids = [parse_int(p) for p in parts]
    if len(ids) != 2 or ids[0] is None or ids[1] is None:
        await stale(ctx)
        return
    await show_attendance(ctx, ids[0], ids[1])


@router.action("sa:mark:", role=STAFF)
async def staff_mark(ctx: Context) -> None:
    parts = (ctx.choice_id or "").removeprefix("sa:mark:").split(":")
    enrolment_id = parse_id(parts[0])
    if len(parts) != 2 or enrolment_id is None or parts[1] not in ("p", "a"):
        await stale(ctx)
        return
    enrolment = await enrolment_repo.by_id(ctx.conn, enrolment_id)
    session = await session_repo.get(ctx.conn, enrolment.session_id) if enrolment else None
    if enrolment is None or session is None or not attendance.markable(session, enrolment, ctx.now):
        await stale(ctx)
        return
    await enrolment_repo.mark(ctx.conn, enrolment.id, parts[1] == "p", ctx.now)
    seated = [p.enrolment.id for p in await enrolment_repo.of_session(ctx.conn, session.id)
              if p.enrolment.status in SEATED]
    index = seated.index(enrolment.id) if enrolment.id in seated else 0
    await show_attendance(ctx, session.id, index // ATTENDANCE_PAGE)


@router.action("sa:allp:", role=STAFF)
async def staff_all_present(ctx: Context) -> None:
    session_id = ctx.choice_number("sa:allp:")
    session = await session_repo.get(ctx.conn, session_id) if session_id else None
    too_early = session is not None and ctx.now < session.starts_at - timedelta(hours=1)
    if session is None or session.status == SessionStatus.CANCELLED or too_early:
        await stale(ctx)
        return
    await enrolment_repo.mark_all_present(ctx.conn, session.id, ctx.now)
    await show_attendance(ctx, session.id, 0)


# -- poster -----------------------------------------------------------------------------------

@router.action("sa:poster:", role=STAFF)
async def staff_poster(ctx: Context) -> None:
    session_id = ctx.choice_number("sa:poster:")
    session = await session_repo.get(ctx.conn, session_id) if session_id else None
    if session is None:
        await stale(ctx)
        return
    link = deep_link(ctx, session.id)
    if link is None:
        await show_staff_card(ctx, session.id, Msg("sess.no_bot_username"))
        return
    png = session_poster(session, link, ctx.services.translator, ctx.services.zone, ctx.lang, LANGUAGES)
    ctx.say(Msg("sess.poster_caption", link=link),
            document=Document(f"poster-session-{session.id}.png", png, "image/png"))
