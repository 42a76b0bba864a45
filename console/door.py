"""A session at the door: its printable poster, and attendance by the artisan's QR code.

The poster is the chat's own (:func:`handlers.sessions.poster.session_poster`), so a cancelled
session's poster carries the same red band.

At the door, staff scan the artisan's entry code (the QR the chat gives from the session's card)
with the phone's camera, where the browser has ``BarcodeDetector``, or type the short code
printed under it. The server decides everything (:func:`handlers.sessions.attendance.mark_by_code`:
signature, this session, seated, the marking rule, once); the page only sends the text.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from handlers.sessions.attendance import mark_by_code
from handlers.sessions.poster import session_poster
from storage import artisans as artisan_repo
from storage import console as console_repo
from storage import sessions as session_repo

if TYPE_CHECKING:
    from console.web import Console, Req


def _id(req: Req) -> int:
    text = str(req.request.path_params["id"])
    return int(text) if text.isdigit() and len(text) < 10 else 0


async def poster(req: Req) -> Response:
    """``/console/sessions/{id}/poster.png``: the same PNG the chat's "poster" button sends."""
    async with req.services.db.read() as conn:
        session = await session_repo.get(conn, _id(req))
    if session is None:
        return req.console.message("console.not_found", 404, req=req)
    link = req.services.channels.session_link(session.id)
    if link is None:
        return req.console.message("sess.no_bot_username", 409, req=req)
    png = session_poster(session, link, req.services.translator, req.services.zone, req.lang)
    return Response(
        png,
        media_type="image/png",
        headers={
            "Content-Disposition": f'attachment; filename="poster-session-{session.id}.png"',
            "Cache-Control": "no-store",
        },
    )


def door_key(req: Req) -> str | None:
    key = req.services.settings.chamber.attendance_key
    return key.get_secret_value() if key is not None else None


async def door(req: Req) -> Response:
    """``POST /console/sessions/{id}/door`` with ``code``: mark its holder present, once.
    Answers JSON to the page's script, or goes back to the session page with the outcome."""
    session_id = _id(req)
    key = door_key(req)
    wants_json = req.request.headers.get("accept", "").startswith("application/json")
    if key is None:
        outcome, name, enrolment_id = "no_key", "", None
    else:
        now = req.console.now
        async with req.services.db.transaction() as conn:
            result = await mark_by_code(conn, key, req.field("code"), session_id, now)
            person = await artisan_repo.get(conn, result.artisan_id) if result.artisan_id else None
            if result.outcome == "marked":
                await console_repo.record(
                    conn, now, req.author, "attendance_door", f"enrolment:{result.enrolment_id}"
                )
        outcome, enrolment_id = result.outcome, result.enrolment_id
        name = (person.full_name if person else "") or "—"
    message = req.t(f"console.door_{outcome}", name=name)
    ok = outcome in ("marked", "already")
    if wants_json:
        return JSONResponse(
            {
                "ok": ok,
                "outcome": outcome,
                "message": message,
                "enrolment": enrolment_id if ok else None,
                "label": req.t("sess.mark_attended") if ok else None,
            },
            status_code=200 if ok else 409 if outcome != "invalid" else 400,
        )
    if not ok:
        return req.console.message(f"console.door_{outcome}", 409, req=req, name=name)
    return RedirectResponse(
        f"/console/sessions/{session_id}?door={outcome}&e={enrolment_id}#door", status_code=303
    )


def routes(console: Console) -> list[BaseRoute]:
    g = console.guard
    return [
        Route("/sessions/{id:int}/poster.png", g(poster), methods=["GET"]),
        Route("/sessions/{id:int}/door", g(door), methods=["POST"]),
    ]
