"""Signed references and what ``/verify/<signed reference>`` shows.

A reference (an attestation's ``HA2026-000042`` or a VAEP application number) is signed with an
HMAC of ``HIRFA_CHAMBER__SIGNING_KEY``: ``HA2026-000042.K7Q2...``. The page answers "genuine" only
for a valid signature *and* a record that exists (attestation issued, or VAEP certificate
delivered), and shows nothing but the name and the session (or craft and delivery date).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from datetime import date, datetime

from storage import attestations as attestation_repo
from storage import certifications as cert_repo
from storage.database import Conn

SIG_CHARS = 16


def sign(reference: str, key: str) -> str:
    digest = hmac.new(key.encode(), reference.encode(), hashlib.sha256).digest()
    return f"{reference}.{base64.b32encode(digest).decode()[:SIG_CHARS]}"


def unsign(token: str, key: str) -> str | None:
    """The reference of a correctly signed token, else None."""
    reference, _, _sig = token.rpartition(".")
    if not reference or len(token) > 100:
        return None
    return reference if hmac.compare_digest(sign(reference, key), token) else None


@dataclass(frozen=True)
class Verified:
    """What the page may show: kind (``attestation`` | ``vaep``), name, and what it is for."""

    kind: str
    reference: str
    name: str
    subject: str
    start: datetime | None = None
    delivered: date | None = None


async def verify(conn: Conn, token: str, key: str, lang: str = "fr") -> Verified | None:
    reference = unsign(token, key)
    if reference is None:
        return None
    att = await attestation_repo.by_reference(conn, reference)
    if att is not None:
        title = att.title.get(lang) or next(iter(att.title.values()), "")
        return Verified("attestation", reference, att.full_name, title, start=att.starts_at)
    application = await cert_repo.by_number(conn, reference)
    if application is not None and application.stage == "delivered":
        return Verified("vaep", reference, application.full_name, application.craft or "",
                        delivered=application.stage_date)
    return None


def verify_url(base: str, reference: str, key: str) -> str:
    return f"{base}/verify/{sign(reference, key)}"
