"""The buttons of training sessions that stay valid outside a step (see :mod:`bot.payloads`):
the artisan's (``s:``: cards, enrolment, reminders, notices) and the staff's (``sa:``).

Their ids are those of earlier versions (``s:open:42``), so buttons already in people's chats
keep working. Each handler re-reads the session and the enrolment from the database.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from bot.payloads import Payload

# -- the artisan's ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ListPage(Payload):
    """A page of upcoming sessions (0 is the first)."""

    prefix: ClassVar[str] = "s:list"
    page: int


@dataclass(frozen=True)
class OpenSession(Payload):
    prefix: ClassVar[str] = "s:open"
    session_id: int


@dataclass(frozen=True)
class ShowMap(Payload):
    prefix: ClassVar[str] = "s:map"
    session_id: int


@dataclass(frozen=True)
class Enrol(Payload):
    """Asks to confirm the enrolment (or joining the wait-list)."""

    prefix: ClassVar[str] = "s:enrol"
    session_id: int


@dataclass(frozen=True)
class ConfirmEnrol(Payload):
    prefix: ClassVar[str] = "s:enrolok"
    session_id: int


@dataclass(frozen=True)
class CancelSeat(Payload):
    """Asks to confirm giving up a seat or leaving the wait-list."""

    prefix: ClassVar[str] = "s:cancel"
    session_id: int


@dataclass(frozen=True)
class GiveBack(Payload):
    """The button of a promotion notice: the same as :class:`CancelSeat`."""

    prefix: ClassVar[str] = "s:giveback"
    session_id: int


@dataclass(frozen=True)
class ConfirmCancelSeat(Payload):
    prefix: ClassVar[str] = "s:cancelok"
    session_id: int


@dataclass(frozen=True)
class MySessions(Payload):
    prefix: ClassVar[str] = "s:mine"


@dataclass(frozen=True)
class CalendarFile(Payload):
    prefix: ClassVar[str] = "s:ics"
    session_id: int


@dataclass(frozen=True)
class EntryCode(Payload):
    prefix: ClassVar[str] = "s:qr"
    session_id: int


@dataclass(frozen=True)
class Coming(Payload):
    """"I'll come", under a reminder of ``version`` of the session (stale once it moved)."""

    prefix: ClassVar[str] = "s:rsvp:y"
    session_id: int
    version: int


@dataclass(frozen=True)
class NotComing(Payload):
    prefix: ClassVar[str] = "s:rsvp:n"
    session_id: int
    version: int


@dataclass(frozen=True)
class ConfirmNotComing(Payload):
    prefix: ClassVar[str] = "s:cantok"
    session_id: int


# -- the staff's --------------------------------------------------------------------------------


@dataclass(frozen=True)
class StaffListPage(Payload):
    prefix: ClassVar[str] = "sa:list"
    page: int


@dataclass(frozen=True)
class NewSession(Payload):
    prefix: ClassVar[str] = "sa:new"


@dataclass(frozen=True)
class StaffCard(Payload):
    prefix: ClassVar[str] = "sa:open"
    session_id: int


@dataclass(frozen=True)
class EditSession(Payload):
    prefix: ClassVar[str] = "sa:edit"
    session_id: int


@dataclass(frozen=True)
class MoveSession(Payload):
    prefix: ClassVar[str] = "sa:move"
    session_id: int


@dataclass(frozen=True)
class CancelSession(Payload):
    prefix: ClassVar[str] = "sa:cancel"
    session_id: int


@dataclass(frozen=True)
class ConfirmCancelSession(Payload):
    prefix: ClassVar[str] = "sa:cancelok"
    session_id: int


@dataclass(frozen=True)
class People(Payload):
    prefix: ClassVar[str] = "sa:people"
    session_id: int


@dataclass(frozen=True)
class PeopleXlsx(Payload):
    prefix: ClassVar[str] = "sa:xlsx"
    session_id: int


@dataclass(frozen=True)
class PeopleCsv(Payload):
    prefix: ClassVar[str] = "sa:csv"
    session_id: int


@dataclass(frozen=True)
class Attendance(Payload):
    """A page of the attendance sheet."""

    prefix: ClassVar[str] = "sa:att"
    session_id: int
    page: int


@dataclass(frozen=True)
class Mark(Payload):
    """Mark one enrolment present (``mark="p"``) or absent (``"a"``)."""

    prefix: ClassVar[str] = "sa:mark"
    enrolment_id: int
    mark: str


@dataclass(frozen=True)
class AllPresent(Payload):
    prefix: ClassVar[str] = "sa:allp"
    session_id: int


@dataclass(frozen=True)
class Poster(Payload):
    prefix: ClassVar[str] = "sa:poster"
    session_id: int
