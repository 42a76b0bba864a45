"""Attendance at the door: the one marking rule, and the artisan's signed entry code.

The rule (chat and console alike): a seated person of a session that is not cancelled can be
marked from one hour before it starts.

The entry code names an enrolment and nothing else: ``<enrolment id>-<8 letters>``, the letters
being an HMAC-SHA256 of the id under ``HIRFA_CHAMBER__ATTENDANCE_KEY`` (base32, 40 bits). It holds
no name, phone or CNIE; a forged code fails the HMAC, and a code of another session is refused
because the enrolment it names belongs elsewhere. The artisan shows it as a QR code from the
session's card in the chat; staff scan it or type it on the session's console page.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from handlers.sessions.poster import qr_image
from storage import enrolments as enrolment_repo
from storage import sessions as session_repo
from storage.database import Conn
from storage.enrolments import SEATED, Enrolment, EnrolmentStatus
from storage.sessions import Session, SessionStatus

OPENS_BEFORE = timedelta(hours=1)
_CODE = re.compile(r"(\d{1,9})-([A-Z2-7]{8})")


def markable(session: Session, enrolment: Enrolment, now: datetime) -> bool:
    """May ``enrolment`` be marked present or absent now? (Its session, seated, not cancelled,
    from an hour before the start.)"""
    return (
        enrolment.session_id == session.id
        and session.status != SessionStatus.CANCELLED
        and enrolment.status in SEATED
        and now >= session.starts_at - OPENS_BEFORE
    )


def _signature(key: str, enrolment_id: int) -> str:
    digest = hmac.new(key.encode(), f"hirfa-attendance:{enrolment_id}".encode(), hashlib.sha256).digest()
    return base64.b32encode(digest[:5]).decode()


def code_for(key: str, enrolment_id: int) -> str:
    """The entry code of an enrolment, e.g. ``1234-K7QPX2MA``."""
    return f"{enrolment_id}-{_signature(key, enrolment_id)}"


def read_code(key: str, text: str) -> int | None:
    """The enrolment id in a scanned or typed code, or None when it is not a genuine code.
    Spaces, case and extra dashes in the letters are forgiven (people type it)."""
    cleaned = re.sub(r"\s+", "", text).upper()
    head, _, tail = cleaned.partition("-")
    match = _CODE.fullmatch(f"{head}-{tail.replace('-', '')}")
    if match is None:
        return None
    enrolment_id = int(match.group(1))
    if not hmac.compare_digest(match.group(2), _signature(key, enrolment_id)):
        return None
    return enrolment_id


def qr_png(code: str) -> bytes:
    """The code as a QR image to show at the door (PNG)."""
    buffer = io.BytesIO()
    qr_image(code, box=16).save(buffer, "PNG", optimize=True)
    return buffer.getvalue()


@dataclass(frozen=True)
class DoorResult:
    """What a scan did: ``outcome`` is ``marked``, ``already`` (marked present before: nothing
    changed), ``invalid`` (not a genuine code), ``other_session``, ``not_seated`` or ``closed``
    (cancelled, or more than an hour before the start)."""

    outcome: str
    enrolment_id: int | None = None
    artisan_id: int | None = None


async def mark_by_code(conn: Conn, key: str, text: str, session_id: int, now: datetime) -> DoorResult:
    """Mark the person whose code was scanned at the door of ``session_id`` present, once."""
    enrolment_id = read_code(key, text)
    if enrolment_id is None:
        return DoorResult("invalid")
    enrolment = await enrolment_repo.by_id(conn, enrolment_id)
    session = await session_repo.get(conn, session_id)
    if enrolment is None or session is None:
        return DoorResult("invalid")
    if enrolment.session_id != session.id:
        return DoorResult("other_session", enrolment.id)
    if enrolment.status == EnrolmentStatus.ATTENDED:
        return DoorResult("already", enrolment.id, enrolment.artisan_id)
    if enrolment.status not in SEATED:
        return DoorResult("not_seated", enrolment.id, enrolment.artisan_id)
    if not markable(session, enrolment, now):
        return DoorResult("closed", enrolment.id, enrolment.artisan_id)
    if not await enrolment_repo.mark_arrived(conn, enrolment.id, now):
        return DoorResult("already", enrolment.id, enrolment.artisan_id)  # a scan at the same instant
    return DoorResult("marked", enrolment.id, enrolment.artisan_id)
