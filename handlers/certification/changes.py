"""Moving an application to a stage: history row, safe owner, exactly one notification.

Both the register import and the staff flow go through :func:`record`, inside the transaction of
the change. The notification's idempotency key is ``cert:{application}:{history row}``: one
history row, one message, however often the job or the import is run again, restart or not.
Notices about one's own application are service messages: they go out even to artisans who
said STOP (``Outbox.notify`` does not filter opt-outs; broadcasts do).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

from bot.dialogue import Services
from bot.i18n import Msg
from bot.messages import Choice, Document, Reply
from bot.timezones import load_zone
from handlers.certification import calendar
from handlers.certification.stages import stage
from handlers.certification.texts import join, notice
from handlers.contact import contact_card
from storage import artisans as artisan_repo
from storage import certifications as repo
from storage.artisans import Artisan
from storage.certifications import Application
from storage.database import Conn

SOURCE_IMPORT = "import"
SOURCE_STAFF = "staff"
NOTICE_KIND = "certification"


@dataclass(frozen=True)
class Change:
    """Where an application goes: a stage, its date, a note, and for a summons when and where."""

    stage: str
    stage_date: date | None = None
    note: str | None = None
    summons_at: datetime | None = None
    summons_place: str | None = None

    def normalized(self) -> Change:
        """Appointment fields only belong to a stage that has an appointment."""
        if stage(self.stage).appointment:
            return self
        return replace(self, summons_at=None, summons_place=None)

    def columns(self) -> dict[str, Any]:
        """The columns of ``certifications`` (and of its history) that this change sets."""
        return {"stage": self.stage, "stage_date": self.stage_date, "note": self.note,
                "summons_at": self.summons_at, "summons_place": self.summons_place}


def moves(app: Application, change: Change) -> bool:
    """True when ``change`` is news for the artisan: a new stage, or a new date/place."""
    change = change.normalized()
    if change.stage != app.stage:
        return True
    return stage(app.stage).appointment and (
        (change.summons_at, change.summons_place) != (app.summons_at, app.summons_place)
    )


async def owner_of(conn: Conn, app: Application) -> Artisan | None:
    """The artisan this application is shown to and notified: the one linked to it, or else the
    one whose *verified* phone is the application's phone (then linked for good). An erased
    profile no longer owns anything."""
    if app.artisan_id is not None:
        linked = await artisan_repo.get(conn, app.artisan_id)
        if linked is not None and linked.erased_at is None:
            return linked
    if app.phone:
        candidate = await artisan_repo.by_phone(conn, app.phone)
        if (
            candidate is not None and candidate.phone_verified
            and await repo.link(conn, app.id, candidate.id, repo.LINK_PHONE, replacing=app.artisan_id)
        ):
            return candidate
    return None


async def claim_for(conn: Conn, artisan: Artisan) -> None:
    """Link to ``artisan`` the applications that carry their verified phone and nobody else's
    link (or an erased profile's)."""
    if not artisan.phone or not artisan.phone_verified:
        return
    for app in await repo.with_phone(conn, artisan.phone):
        if app.artisan_id == artisan.id:
            continue
        if app.artisan_id is not None:
            holder = await artisan_repo.get(conn, app.artisan_id)
            if holder is not None and holder.erased_at is None:
                continue
        await repo.link(conn, app.id, artisan.id, repo.LINK_PHONE, replacing=app.artisan_id)


async def record(
    conn: Conn, services: Services, app: Application, change: Change, *,
    author: str, source: str, new: bool = False,
) -> tuple[Application, bool]:
    """Put ``app`` at ``change`` and write its history row; notify the owner if there is one.

    ``new``: the application was just created with these values (its first stage is news, not
    a move).
    Returns the application as it now is and whether a notification was queued.
    """
    change = change.normalized()
    now = services.clock.now()
    previous = None if new else app.stage
    fields = change.columns()
    if not new:
        await repo.update_fields(conn, app.id, now, **fields)
    history_id = await repo.add_history(
        conn, app.id, **fields, at=now, author=author[:120], source=source,
    )
    current = replace(app, **fields, updated_at=now)
    owner = await owner_of(conn, current)
    if owner is None:
        return current, False
    reply = notice_for(services, owner, current, previous, history_id)
    queued = await services.outbox.notify(
        conn, owner.id, reply, kind=NOTICE_KIND, key=f"cert:{app.id}:{history_id}", priority=5,
    )
    return current, queued


def calendar_file(
    services: Services, artisan: Artisan, app: Application, sequence: int
) -> Document | None:
    """The ``.ics`` of the application's appointment, in the artisan's language (if it has a
    date and time)."""
    if not stage(app.stage).appointment or app.summons_at is None:
        return None
    lang = artisan.locale
    zone = load_zone(artisan.time_zone or services.settings.timezone)
    plain = services.translator.plain
    return calendar.appointment(
        uid=f"hirfa-cert-{app.id}-{app.stage}@hirfa",
        start=app.summons_at,
        minutes=services.settings.certification.appointment_minutes,
        summary=plain(Msg(f"cert.ics.summary.{app.stage}"), lang, zone),
        location=app.summons_place or "",
        description=plain(Msg("cert.ics.description", number=app.number), lang, zone),
        stamp=services.clock.now(),
        filename=f"{app.stage}-{app.number.replace('/', '-')}.ics",
        sequence=sequence,
    )


def notice_for(
    services: Services, artisan: Artisan, app: Application, previous: str | None, history_id: int
) -> Reply:
    """The notification for one history row, rendered for ``artisan`` (language and zone)."""
    lang = artisan.locale
    zone = load_zone(artisan.time_zone or services.settings.timezone)
    document = calendar_file(services, artisan, app, history_id)
    parts = notice(app, previous, document is not None, contact_card(services.settings.chamber))
    text = join(lambda part: services.translator.render(part, lang, zone), parts)
    return Reply(text, [Choice("m:certification", Msg("cert.menu"))], document=document,
                 voice_key=f"cert.stage.{app.stage}")
