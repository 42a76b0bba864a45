"""What staff see of training sessions: the list and a session's card with its buttons.

Shown by the staff's actions (:mod:`handlers.sessions.staff`) and after the editor saves
(:mod:`handlers.sessions.editor`); both import it, neither imports the other for it.
"""

from __future__ import annotations

from datetime import timedelta

from bot.dialogue import Context
from bot.i18n import Msg, Raw, Text
from bot.messages import Choice
from handlers import aftercare
from handlers.sessions.buttons import (
    Attendance,
    CancelSession,
    EditSession,
    MoveSession,
    NewSession,
    People,
    Poster,
    StaffCard,
    StaffListPage,
)
from handlers.sessions.texts import card, title_of
from storage import sessions as session_repo
from storage.sessions import SessionStatus

PAGE_SIZE = 6
RECENT = timedelta(days=30)


def deep_link(ctx: Context, session_id: int) -> str | None:
    """The link that opens the session's card for an artisan (None if no channel gives one)."""
    return ctx.services.channels.session_link(session_id)


async def stale(ctx: Context) -> None:
    """An old or forged button: say so and show the list."""
    ctx.say(Msg("common.stale"))
    await show_staff_list(ctx, 0)


async def show_staff_list(ctx: Context, page: int, intro: Text | None = None) -> None:
    ctx.finish()
    rows, total = await session_repo.for_staff(ctx.conn, ctx.now - RECENT, limit=PAGE_SIZE,
                                               offset=max(page, 0) * PAGE_SIZE)
    pages = max(1, -(-total // PAGE_SIZE))
    if intro is not None:
        ctx.say(intro)
    choices = []
    lines = []
    default = ctx.services.settings.default_locale
    for number, listed in enumerate(rows, 1):  # per page: a typed "2" is the 2nd line shown
        s = listed.session
        title = title_of(s, ctx.lang, default)
        lines.append(ctx.render(Msg(
            "sess.staff_line", number=number, title=title, when=s.starts_at, seated=listed.seated,
            capacity=s.capacity, waiting=listed.waiting, status=Msg(f"sess.status_{s.status}"),
        )))
        choices.append(Choice(StaffCard(s.id), f"{number}. {title}"[:60]))
    if page > 0:
        choices.append(Choice(StaffListPage(page - 1), Msg("sess.btn_prev")))
    if page < pages - 1:
        choices.append(Choice(StaffListPage(page + 1), Msg("sess.btn_next")))
    choices += [Choice(NewSession(), Msg("sess.btn_new")), Choice("nav:menu", Msg("nav.menu"))]
    header = ctx.render(Msg("sess.staff_list_title", count=total, page=page + 1, pages=pages))
    body = "\n\n".join(lines) if lines else ctx.render(Msg("sess.staff_none"))
    ctx.say(Raw(header + "\n\n" + body), choices)


async def show_staff_card(ctx: Context, session_id: int, intro: Text | None = None) -> None:
    ctx.finish()
    listed = await session_repo.get_listed(ctx.conn, session_id)
    if listed is None:
        await stale(ctx)
        return
    s = listed.session
    link = deep_link(ctx, s.id)
    staff = Msg(
        "sess.staff_block", id=str(s.id), status=Msg(f"sess.status_{s.status}"), seated=listed.seated,
        capacity=s.capacity, waiting=listed.waiting, ref=s.ext_ref or "—",
        link=link or Msg("sess.no_bot_username"),
    )
    choices = []
    feedback = await aftercare.card_line(ctx, s.id)
    if feedback is not None:  # after the session: what the artisans said, and a tap for more
        staff = Msg("fb.card_block", staff=staff, feedback=feedback)
        choices.append(Choice(aftercare.SessionFeedback(s.id), Msg("fb.btn_card")))
    if s.status == SessionStatus.SCHEDULED:
        choices += [Choice(EditSession(s.id), Msg("sess.btn_edit")),
                    Choice(MoveSession(s.id), Msg("sess.btn_reschedule")),
                    Choice(CancelSession(s.id), Msg("sess.btn_cancel_session"))]
    choices += [Choice(People(s.id), Msg("sess.btn_people")),
                Choice(Attendance(s.id, 0), Msg("sess.btn_attendance")),
                Choice(Poster(s.id), Msg("sess.btn_poster")),
                Choice(StaffListPage(0), Msg("sess.btn_staff_list"))]
    if intro is not None:
        ctx.say(intro)
    ctx.say(card(listed, ctx.lang, ctx.services.settings.default_locale, staff=staff), choices)
