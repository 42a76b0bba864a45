"""What an application looks like in a message: the artisan's card, the staff card, a notice.

Each builder returns a list of :data:`~bot.i18n.Text` parts (one per line); :func:`join` renders
them for one reader and glues them into one message. Parts that do not apply (no note, no
appointment) are simply left out, so no language has to carry empty placeholders.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from zoneinfo import ZoneInfo

from bot.i18n import Msg, Raw, Text
from handlers.catalog import CRAFTS
from handlers.certification.stages import stage
from storage.certifications import Application, HistoryEntry

TIMELINE_LENGTH = 6
BLANK: Text = Raw("")


def join(render: Callable[[Text], str], parts: Sequence[Text]) -> Raw:
    """Render every part for one reader and join them, one per line."""
    return Raw("\n".join(render(part) for part in parts))


def craft_text(craft: str | None) -> Text:
    if craft and craft in CRAFTS and craft != "other":
        return Msg(f"craft.{craft}")
    return craft or Msg("common.none")


def entry_day(entry: HistoryEntry, zone: ZoneInfo) -> date:
    """The day a stage was reached: the register's date, else the day it was recorded."""
    return entry.stage_date or entry.at.astimezone(zone).date()


def appointment_parts(app: Application) -> list[Text]:
    if not stage(app.stage).appointment:
        return []
    parts: list[Text] = []
    if app.summons_at is not None:
        parts.append(Msg("cert.card.when", when=app.summons_at))
    if app.summons_place:
        parts.append(Msg("cert.card.place", place=app.summons_place))
    return parts


def contact_parts(app: Application, contact: Text | None) -> list[Text]:
    """The chamber's contact card, when the stage's next step says to contact the chamber."""
    return [BLANK, contact] if contact is not None and stage(app.stage).contact else []


def artisan_card(app: Application, entries: Sequence[HistoryEntry], zone: ZoneInfo,
                 contact: Text | None = None) -> list[Text]:
    """The artisan's view: stage in plain words, appointment, note, what next (with ``contact``,
    the chamber's card, when it says to contact the chamber), short timeline."""
    current = stage(app.stage)
    parts: list[Text] = [Msg("cert.card.title", number=app.number)]
    if app.craft:
        parts.append(Msg("cert.card.craft", craft=craft_text(app.craft)))
    since = app.stage_date or (entry_day(entries[-1], zone) if entries else None)
    if since is not None:
        parts.append(Msg("cert.card.stage_since", icon=current.icon, stage=current.label, since=since))
    else:
        parts.append(Msg("cert.card.stage", icon=current.icon, stage=current.label))
    parts += appointment_parts(app)
    if app.note:
        parts.append(Msg("cert.card.note", note=app.note))
    parts += [BLANK, Msg("cert.card.next", next=current.next_step)]
    parts += contact_parts(app, contact)
    if entries:
        parts += [BLANK, Msg("cert.card.timeline")]
        shown = entries[-TIMELINE_LENGTH:]
        if len(entries) > len(shown):
            parts.append(Msg("cert.card.timeline_more", count=len(entries) - len(shown)))
        for entry in shown:
            parts.append(Msg("cert.card.timeline_entry", day=entry_day(entry, zone),
                             stage=stage(entry.stage).label))
    return parts


def application_line(app: Application) -> Msg:
    """A one-line summary, for a list of applications."""
    current = stage(app.stage)
    return Msg("cert.list.line", number=app.number, icon=current.icon, stage=current.label)


def notice(app: Application, previous: str | None, with_calendar: bool,
           contact: Text | None = None) -> list[Text]:
    """The notification of a stage change (or of a new date/place for the same stage), with
    ``contact`` (the chamber's card) when the next step says to contact the chamber."""
    current = stage(app.stage)
    same = previous == app.stage
    title = "cert.notice.updated" if same else "cert.notice.title"
    parts: list[Text] = [Msg(title, number=app.number),
                         Msg("cert.notice.stage", icon=current.icon, stage=current.label)]
    parts += appointment_parts(app)
    if app.note:
        parts.append(Msg("cert.card.note", note=app.note))
    parts += [BLANK, Msg("cert.card.next", next=current.next_step)]
    card = contact_parts(app, contact)  # right where the text says to contact the chamber
    parts += card
    if with_calendar:
        parts += [BLANK, Msg("cert.notice.calendar")] if card else [Msg("cert.notice.calendar")]
    return parts


def staff_card(
    app: Application, entries: Sequence[HistoryEntry], zone: ZoneInfo, *, linked: bool
) -> list[Text]:
    """Everything staff need about one application, including who recorded each stage."""
    current = stage(app.stage)
    parts: list[Text] = [
        Msg("cert.staff.card", number=app.number, name=app.full_name, cnie=app.cnie,
            phone=app.phone or Msg("common.none"), craft=craft_text(app.craft),
            icon=current.icon, stage=current.label,
            linked=Msg("cert.staff.linked_yes" if linked else "cert.staff.linked_no")),
    ]
    parts += appointment_parts(app)
    if app.note:
        parts.append(Msg("cert.card.note", note=app.note))
    if entries:
        parts += [BLANK, Msg("cert.card.timeline")]
        for entry in entries[-10:]:
            source = Msg("cert.staff.by_import") if entry.source == "import" else Msg(
                "cert.staff.by_staff", author=entry.author)
            parts.append(Msg("cert.staff.history_entry", day=entry_day(entry, zone),
                             stage=stage(entry.stage).label, source=source))
            if entry.note:
                parts.append(Msg("cert.staff.history_note", note=entry.note))
    return parts
