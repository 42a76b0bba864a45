"""Training sessions: staff publish them, artisans enrol, wait-lists move, reminders arrive.

Modules:

- :mod:`~handlers.sessions.artisan`   the Trainings menu, the card, enrol/cancel, my sessions, .ics
- :mod:`~handlers.sessions.staff`     the staff's actions: reschedule, cancel, lists, attendance, poster
- :mod:`~handlers.sessions.staff_card` the staff list and a session's card (shown by staff and editor)
- :mod:`~handlers.sessions.editor`    create/edit a session (draft → preview → publish)
- :mod:`~handlers.sessions.changes`   THE decision to edit, reschedule or cancel a published session
  (who is told, new version): used by the editor, Reschedule, the import and the console
- :mod:`~handlers.sessions.reminders` the reminder job and the "I'll be there"/"I can't come" answers
- :mod:`~handlers.sessions.notices`   promotion, reschedule and cancel notices (outbox)
- :mod:`~handlers.sessions.files`     .csv/.xlsx import and export
- :mod:`~handlers.sessions.cli`       ``hirfa import sessions`` and ``hirfa export enrolments``
- :mod:`~handlers.sessions.texts`, :mod:`~handlers.sessions.parsing`, :mod:`~handlers.sessions.calendar`,
  :mod:`~handlers.sessions.poster`, :mod:`~handlers.sessions.demo`

Storage: ``storage/sessions.py``, ``storage/enrolments.py``, tables in
``storage/sessions_schema.py`` (migration ``0002``).
"""

from __future__ import annotations

from bot.dialogue import Context, Router
from handlers.sessions import artisan, cli, editor, notices, reminders, staff
from handlers.sessions.demo import seed_demo
from storage import enrolments as enrolment_repo


async def free_seats_of_erased(ctx: Context, artisan_id: int) -> None:
    """"Delete my data": leave every open session (freed seats promote the next in line)."""
    for session_id in await enrolment_repo.active_sessions_of(ctx.conn, artisan_id, ctx.now):
        await notices.withdraw(ctx.services, ctx.conn, session_id, artisan_id)


router = Router()
for _part in (artisan.router, reminders.router, staff.router, editor.router):
    router.include(_part)
router.erase_hooks.append(free_seats_of_erased)
router.demo.append(seed_demo)
router.cli.append(cli.register)
