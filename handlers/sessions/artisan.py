"""The artisan's side of training sessions: the Trainings menu (paged, matching craft and region
first), the session card, enrol / join the wait-list / cancel (each confirmed), my sessions, the
calendar file, the map, and the deep link ``/start s42`` (posters and QR codes).

Every button is an action that stays valid outside a flow; each handler re-reads the session and
the artisan's enrolment from the database, so an old or forged button can do no harm.
"""

from __future__ import annotations

from bot.dialogue import Context, MenuItem, Router
from bot.i18n import Msg, Raw, Text
from bot.messages import Choice, Document
from bot.numbers import parse_id
from handlers.sessions import attendance, notices
from handlers.sessions.buttons import (
    CalendarFile,
    CancelSeat,
    ConfirmCancelSeat,
    ConfirmEnrol,
    Enrol,
    EntryCode,
    GiveBack,
    ListPage,
    MySessions,
    OpenSession,
    ShowMap,
)
from handlers.sessions.calendar import session_ics
from handlers.sessions.texts import card, mine_text, seats_text, title_of
from storage import enrolments as enrolment_repo
from storage import sessions as session_repo
from storage.enrolments import Enrolment, EnrolmentStatus
from storage.sessions import Listed, SessionStatus, pick_text

router = Router()

PAGE_SIZE = 5


def default_locale(ctx: Context) -> str:
    return ctx.services.settings.default_locale


async def stale(ctx: Context) -> None:
    ctx.say(Msg("common.stale"))
    await show_list(ctx, 0)


# -- the list ---------------------------------------------------------------------------------

async def show_list(ctx: Context, page: int) -> None:
    """Upcoming sessions, those for the artisan's craft and region first, a page at a time."""
    ctx.finish()
    artisan = ctx.artisan
    assert artisan is not None
    total = await session_repo.count_upcoming(ctx.conn, ctx.now)
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(max(page, 0), pages - 1)
    rows = await session_repo.upcoming(
        ctx.conn, ctx.now, craft=artisan.craft, region=artisan.region,
        limit=PAGE_SIZE, offset=page * PAGE_SIZE,
    )
    nav = [Choice(MySessions(), Msg("sess.btn_mine")), Choice("nav:menu", Msg("nav.menu"))]
    if not rows:
        ctx.say(Msg("sess.none_upcoming"), nav)
        return
    lines = []
    choices = []
    for number, listed in enumerate(rows, 1):  # per page: a typed "2" is the 2nd line shown
        title = title_of(listed.session, ctx.lang, default_locale(ctx))
        lines.append(ctx.render(Msg(
            "sess.list_line", number=number, title=title, when=listed.session.starts_at,
            venue=listed.session.venue, seats=seats_text(listed),
        )))
        choices.append(Choice(OpenSession(listed.session.id), f"{number}. {title}"[:60]))
    if page > 0:
        choices.append(Choice(ListPage(page - 1), Msg("sess.btn_prev")))
    if page < pages - 1:
        choices.append(Choice(ListPage(page + 1), Msg("sess.btn_next")))
    header = ctx.render(Msg("sess.list_title", page=page + 1, pages=pages))
    ctx.say(Raw(header + "\n\n" + "\n\n".join(lines)), [*choices, *nav])


async def menu_trainings(ctx: Context) -> None:
    await show_list(ctx, 0)


router.menu_item(MenuItem("trainings", "sess.menu", menu_trainings, order=20))


@router.command("trainings", registered=True, describe="sess.cmd_trainings")
async def cmd_trainings(ctx: Context) -> None:
    await show_list(ctx, 0)


@router.action(ListPage, registered=True)
async def list_page(ctx: Context, button: ListPage) -> None:
    await show_list(ctx, button.page)


# -- the card -----------------------------------------------------------------------------------

async def _mine(ctx: Context, session_id: int) -> tuple[Enrolment | None, int | None]:
    assert ctx.artisan is not None
    enrolment = await enrolment_repo.get(ctx.conn, session_id, ctx.artisan.id)
    if enrolment is None or enrolment.status not in (EnrolmentStatus.ENROLLED, EnrolmentStatus.WAITLISTED):
        return None, None
    return enrolment, await enrolment_repo.rank(ctx.conn, enrolment)


async def show_card(ctx: Context, session_id: int, intro: Text | None = None) -> None:
    ctx.finish()
    listed = await session_repo.get_listed(ctx.conn, session_id)
    if listed is None:
        ctx.say(Msg("sess.not_found"))
        await show_list(ctx, 0)
        return
    session = listed.session
    enrolment, rank = await _mine(ctx, session_id)
    choices: list[Choice] = []
    status_note: Text = mine_text(enrolment, rank)
    if not session.is_open(ctx.now):
        status_note = Msg(f"sess.closed_{session.status}") if session.status != SessionStatus.SCHEDULED \
            else Msg("sess.closed_started")
    elif enrolment is None:
        label = "sess.btn_enrol" if listed.seats_left > 0 else "sess.btn_wait"
        choices.append(Choice(Enrol(session.id), Msg(label)))
    elif enrolment.status == EnrolmentStatus.ENROLLED:
        choices.append(Choice(CalendarFile(session.id), Msg("sess.btn_ics")))
        choices.append(Choice(CancelSeat(session.id), Msg("sess.btn_cancel")))
    else:
        choices.append(Choice(CancelSeat(session.id), Msg("sess.btn_leave")))
    if _entry_key(ctx) and enrolment is not None and enrolment.status == EnrolmentStatus.ENROLLED \
            and session.status == SessionStatus.SCHEDULED and ctx.now < session.ends_at:
        choices.append(Choice(EntryCode(session.id), Msg("sess.btn_entry_qr")))
    if session.location is not None:
        choices.append(Choice(ShowMap(session.id), Msg("sess.btn_map")))
    choices += [Choice(ListPage(0), Msg("sess.btn_list")), Choice(MySessions(), Msg("sess.btn_mine")),
                Choice("nav:menu", Msg("nav.menu"))]
    if intro is not None:
        ctx.say(intro)
    ctx.say(card(listed, ctx.lang, default_locale(ctx), mine=status_note), choices)


@router.action(OpenSession, registered=True)
async def open_card(ctx: Context, button: OpenSession) -> None:
    await show_card(ctx, button.session_id)


async def open_deeplink(ctx: Context) -> None:
    """``/start s42`` (after registration if needed): the card of session 42."""
    if ctx.artisan is None:  # the foundation registers first; be safe anyway
        return
    tail = ctx.args.strip().removeprefix("s")
    session_id = parse_id(tail)
    if session_id is None:
        ctx.say(Msg("sess.not_found"))
        await show_list(ctx, 0)
        return
    await show_card(ctx, session_id)


router.deeplinks["s"] = open_deeplink


@router.action(ShowMap, registered=True)
async def send_map(ctx: Context, button: ShowMap) -> None:
    session = await session_repo.get(ctx.conn, button.session_id)
    if session is None or session.location is None:
        await stale(ctx)
        return
    # The text carries a map link too: some phones do not open a shared location.
    latitude, longitude = session.location
    link = f"https://www.openstreetmap.org/?mlat={latitude:.5f}&mlon={longitude:.5f}#map=17/" \
           f"{latitude:.5f}/{longitude:.5f}"
    ctx.say(Msg("sess.map", venue=session.venue, link=link), location=session.location)


# -- enrol ------------------------------------------------------------------------------------

async def _open_listed(ctx: Context, session_id: int) -> Listed | None:
    listed = await session_repo.get_listed(ctx.conn, session_id)
    if listed is None:
        await stale(ctx)
        return None
    if not listed.session.is_open(ctx.now):
        await show_card(ctx, listed.session.id, Msg("sess.not_open"))
        return None
    return listed


@router.action(Enrol, registered=True)
async def ask_enrol(ctx: Context, button: Enrol) -> None:
    listed = await _open_listed(ctx, button.session_id)
    if listed is None:
        return
    s = listed.session
    enrolment, _ = await _mine(ctx, s.id)
    if enrolment is not None:
        await show_card(ctx, s.id)
        return
    title = title_of(s, ctx.lang, default_locale(ctx))
    key = "sess.confirm_enrol" if listed.seats_left > 0 else "sess.confirm_wait"
    ctx.say(
        Msg(key, title=title, when=s.starts_at, venue=s.venue),
        [Choice(ConfirmEnrol(s.id), Msg("sess.btn_yes_enrol" if listed.seats_left > 0
                                         else "sess.btn_yes_wait")),
         Choice(OpenSession(s.id), Msg("sess.btn_no"))],
    )


@router.action(ConfirmEnrol, registered=True)
async def do_enrol(ctx: Context, button: ConfirmEnrol) -> None:
    listed = await _open_listed(ctx, button.session_id)
    if listed is None:
        return
    assert ctx.artisan is not None
    s = listed.session
    enrolment = await enrolment_repo.enrol(ctx.conn, s.id, ctx.artisan.id, ctx.now)
    if enrolment is None:
        await show_card(ctx, s.id, Msg("sess.not_open"))
        return
    title = title_of(s, ctx.lang, default_locale(ctx))
    ctx.finish()
    if enrolment.status == EnrolmentStatus.ENROLLED:
        ctx.say(
            Msg("sess.enrolled", title=title, when=s.starts_at, venue=s.venue),
            [Choice(CalendarFile(s.id), Msg("sess.btn_ics")), Choice(MySessions(), Msg("sess.btn_mine")),
             Choice("nav:menu", Msg("nav.menu"))],
        )
        return
    rank = await enrolment_repo.rank(ctx.conn, enrolment)
    ctx.say(
        Msg("sess.waitlisted", title=title, position=rank or 1),
        [Choice(OpenSession(s.id), Msg("sess.btn_open")), Choice(MySessions(), Msg("sess.btn_mine")),
         Choice("nav:menu", Msg("nav.menu"))],
    )


# -- cancel -----------------------------------------------------------------------------------

async def ask_cancel(ctx: Context, session_id: int) -> None:
    listed = await _open_listed(ctx, session_id)
    if listed is None:
        return
    s = listed.session
    enrolment, _ = await _mine(ctx, s.id)
    if enrolment is None:
        await show_card(ctx, s.id, Msg("sess.not_enrolled"))
        return
    key = "sess.confirm_cancel" if enrolment.status == EnrolmentStatus.ENROLLED else "sess.confirm_leave"
    ctx.say(
        Msg(key, title=title_of(s, ctx.lang, default_locale(ctx)), when=s.starts_at),
        [Choice(ConfirmCancelSeat(s.id), Msg("sess.btn_yes_cancel")),
         Choice(OpenSession(s.id), Msg("sess.btn_keep"))],
    )


@router.action(CancelSeat, registered=True)
async def cancel_enrolment(ctx: Context, button: CancelSeat) -> None:
    await ask_cancel(ctx, button.session_id)


@router.action(GiveBack, registered=True)
async def give_back(ctx: Context, button: GiveBack) -> None:
    """The button of a promotion notice: same as cancelling, with the same confirmation."""
    await ask_cancel(ctx, button.session_id)


@router.action(ConfirmCancelSeat, registered=True)
async def do_cancel(ctx: Context, button: ConfirmCancelSeat) -> None:
    listed = await _open_listed(ctx, button.session_id)
    if listed is None:
        return
    assert ctx.artisan is not None
    previous = await notices.withdraw(ctx.services, ctx.conn, listed.session.id, ctx.artisan.id)
    if previous is None:
        await show_card(ctx, listed.session.id, Msg("sess.not_enrolled"))
        return
    key = "sess.seat_freed" if previous == EnrolmentStatus.ENROLLED else "sess.left_waitlist"
    await show_list_after(ctx, Msg(key))


async def show_list_after(ctx: Context, intro: Msg) -> None:
    ctx.finish()
    ctx.say(intro)
    await show_mine(ctx)


# -- my sessions ------------------------------------------------------------------------------

async def show_mine(ctx: Context) -> None:
    ctx.finish()
    assert ctx.artisan is not None
    rows = await enrolment_repo.of_artisan(ctx.conn, ctx.artisan.id, ctx.now)
    nav = [Choice(ListPage(0), Msg("sess.btn_list")), Choice("nav:menu", Msg("nav.menu"))]
    if not rows:
        ctx.say(Msg("sess.mine_none"), nav)
        return
    lines = []
    choices = []
    for number, (session, enrolment) in enumerate(rows, 1):
        title = title_of(session, ctx.lang, default_locale(ctx))
        rank = await enrolment_repo.rank(ctx.conn, enrolment)
        lines.append(ctx.render(Msg(
            "sess.mine_line", number=number, title=title, when=session.starts_at,
            status=mine_text(enrolment, rank),
        )))
        choices.append(Choice(OpenSession(session.id), f"{number}. {title}"[:60]))
    ctx.say(Raw(ctx.render(Msg("sess.mine_title")) + "\n\n" + "\n\n".join(lines)), [*choices, *nav])


@router.action(MySessions, registered=True)
async def mine(ctx: Context, _: MySessions) -> None:
    await show_mine(ctx)


# -- calendar file ----------------------------------------------------------------------------

@router.action(CalendarFile, registered=True)
async def send_ics(ctx: Context, button: CalendarFile) -> None:
    session = await session_repo.get(ctx.conn, button.session_id)
    if session is None:
        await stale(ctx)
        return
    default = default_locale(ctx)
    title = title_of(session, ctx.lang, default)
    description = pick_text(session.description, ctx.lang, default)[0]
    content = session_ics(session, title=title, description=description, now=ctx.now,
                          domain=ctx.services.bot_username or "hirfa")
    ctx.say(
        Msg("sess.ics_caption", title=title),
        document=Document(f"training-{session.id}.ics", content, "text/calendar"),
    )


# -- entry code (QR at the door) --------------------------------------------------------------

def _entry_key(ctx: Context) -> str | None:
    key = ctx.services.settings.chamber.attendance_key
    return key.get_secret_value() if key is not None else None


@router.action(EntryCode, registered=True)
async def send_entry_qr(ctx: Context, button: EntryCode) -> None:
    """The artisan's own entry code for a session they hold a seat in, as a QR image."""
    session = await session_repo.get(ctx.conn, button.session_id)
    enrolment, _ = await _mine(ctx, button.session_id)
    key = _entry_key(ctx)
    if session is None or enrolment is None or enrolment.status != EnrolmentStatus.ENROLLED or key is None \
            or session.status != SessionStatus.SCHEDULED or ctx.now >= session.ends_at:
        await stale(ctx)
        return
    code = attendance.code_for(key, enrolment.id)
    ctx.say(
        Msg("sess.entry_qr_caption", title=title_of(session, ctx.lang, default_locale(ctx)), code=code),
        document=Document(f"entry-{session.id}.png", attendance.qr_png(code), "image/png"),
    )
