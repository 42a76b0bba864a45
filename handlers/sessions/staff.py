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
from handlers.sessions import attendance, changes, editor
from handlers.sessions.buttons import (
    AllPresent,
    Attendance,
    CancelSession,
    ConfirmCancelSession,
    EditSession,
    Mark,
    MoveSession,
    NewSession,
    People,
    PeopleCsv,
    PeopleXlsx,
    Poster,
    StaffCard,
    StaffListPage,
)
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


@router.action(StaffListPage, role=STAFF)
async def staff_list_page(ctx: Context, button: StaffListPage) -> None:
    await show_staff_list(ctx, button.page)


@router.action(NewSession, role=STAFF)
async def staff_new(ctx: Context, _: NewSession) -> None:
    await editor.new_session(ctx)


@router.action(StaffCard, role=STAFF)
async def staff_open(ctx: Context, button: StaffCard) -> None:
    await show_staff_card(ctx, button.session_id)


async def _scheduled(ctx: Context, session_id: int) -> Session | None:
    """The session named by the button, if it can still be changed (else say why)."""
    session = await session_repo.get(ctx.conn, session_id)
    if session is None:
        await stale(ctx)
        return None
    if session.status != SessionStatus.SCHEDULED:
        await show_staff_card(ctx, session.id, Msg("sess.staff_not_editable"))
        return None
    return session


@router.action(EditSession, role=STAFF)
async def staff_edit(ctx: Context, button: EditSession) -> None:
    session = await _scheduled(ctx, button.session_id)
    if session is not None:
        await editor.edit_session(ctx, session)


# -- reschedule -------------------------------------------------------------------------------

@router.action(MoveSession, role=STAFF)
async def staff_move(ctx: Context, button: MoveSession) -> None:
    session = await _scheduled(ctx, button.session_id)
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

@router.action(CancelSession, role=STAFF)
async def staff_cancel(ctx: Context, button: CancelSession) -> None:
    session = await _scheduled(ctx, button.session_id)
    if session is None:
        return
    people = len(await enrolment_repo.audience(ctx.conn, session.id))
    ctx.say(
        Msg("sess.confirm_cancel_session",
            title=title_of(session, ctx.lang, ctx.services.settings.default_locale),
            when=session.starts_at, count=people),
        [Choice(ConfirmCancelSession(session.id), Msg("sess.btn_yes_cancel_session")),
         Choice(StaffCard(session.id), Msg("sess.btn_no"))],
    )


@router.action(ConfirmCancelSession, role=STAFF)
async def staff_cancel_ok(ctx: Context, button: ConfirmCancelSession) -> None:
    session = await _scheduled(ctx, button.session_id)
    if session is None:
        return
    outcome = await changes.cancel(ctx.services, ctx.conn, session.id)
    intro = (outcome.message if isinstance(outcome, changes.Refused)
             else Msg("sess.staff_cancelled", count=outcome.told))
    await show_staff_card(ctx, session.id, intro)


# -- enrolment list and exports ---------------------------------------------------------------

async def _listed(ctx: Context, session_id: int) -> Listed | None:
    listed = await session_repo.get_listed(ctx.conn, session_id)
    if listed is None:
        await stale(ctx)
    return listed


@router.action(People, role=STAFF)
async def staff_people(ctx: Context, button: People) -> None:
    listed = await _listed(ctx, button.session_id)
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
        Choice(PeopleXlsx(s.id), Msg("sess.btn_xlsx")), Choice(PeopleCsv(s.id), Msg("sess.btn_csv")),
        Choice(Attendance(s.id, 0), Msg("sess.btn_attendance")),
        Choice(StaffCard(s.id), Msg("sess.btn_back_session")),
    ])


async def _export(ctx: Context, session_id: int, kind: str) -> None:
    listed = await _listed(ctx, session_id)
    if listed is None:
        return
    s = listed.session
    content, count = await enrolment_export(ctx.conn, s, ctx.lang, ctx.zone, kind)
    mime = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" if kind == "xlsx" \
        else "text/csv"
    ctx.say(Msg("sess.export_caption", count=count),
            document=Document(f"enrolments-session-{s.id}.{kind}", content, mime))


@router.action(PeopleXlsx, role=STAFF)
async def staff_xlsx(ctx: Context, button: PeopleXlsx) -> None:
    await _export(ctx, button.session_id, "xlsx")


@router.action(PeopleCsv, role=STAFF)
async def staff_csv(ctx: Context, button: PeopleCsv) -> None:
    await _export(ctx, button.session_id, "csv")


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
        choices += [Choice(Mark(e.id, "p"), f"✅ {number}"), Choice(Mark(e.id, "a"), f"❌ {number}")]
    if page > 0:
        choices.append(Choice(Attendance(s.id, page - 1), Msg("sess.btn_prev")))
    if page < pages - 1:
        choices.append(Choice(Attendance(s.id, page + 1), Msg("sess.btn_next")))
    if seated:
        choices.append(Choice(AllPresent(s.id), Msg("sess.btn_all_present")))
    choices.append(Choice(StaffCard(s.id), Msg("sess.btn_back_session")))
    title = title_of(s, ctx.lang, ctx.services.settings.default_locale)
    header = ctx.render(Msg("sess.attendance_title", title=title, when=s.starts_at))
    body = "\n".join(lines) if lines else ctx.render(Msg("sess.people_none"))
    ctx.say(Raw(header + "\n\n" + body), choices)


@router.action(Attendance, role=STAFF)
async def staff_attendance(ctx: Context, button: Attendance) -> None:
    await show_attendance(ctx, button.session_id, button.page)


@router.action(Mark, role=STAFF)
async def staff_mark(ctx: Context, button: Mark) -> None:
    if button.mark not in ("p", "a"):
        await stale(ctx)
        return
    enrolment = await enrolment_repo.by_id(ctx.conn, button.enrolment_id)
    session = await session_repo.get(ctx.conn, enrolment.session_id) if enrolment else None
    if enrolment is None or session is None or not attendance.markable(session, enrolment, ctx.now):
        await stale(ctx)
        return
    await enrolment_repo.mark(ctx.conn, enrolment.id, button.mark == "p", ctx.now)
    seated = [p.enrolment.id for p in await enrolment_repo.of_session(ctx.conn, session.id)
              if p.enrolment.status in SEATED]
    index = seated.index(enrolment.id) if enrolment.id in seated else 0
    await show_attendance(ctx, session.id, index // ATTENDANCE_PAGE)


@router.action(AllPresent, role=STAFF)
async def staff_all_present(ctx: Context, button: AllPresent) -> None:
    session = await session_repo.get(ctx.conn, button.session_id)
    too_early = session is not None and ctx.now < session.starts_at - timedelta(hours=1)
    if session is None or session.status == SessionStatus.CANCELLED or too_early:
        await stale(ctx)
        return
    await enrolment_repo.mark_all_present(ctx.conn, session.id, ctx.now)
    await show_attendance(ctx, session.id, 0)


# -- poster -----------------------------------------------------------------------------------

@router.action(Poster, role=STAFF)
async def staff_poster(ctx: Context, button: Poster) -> None:
    session = await session_repo.get(ctx.conn, button.session_id)
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
