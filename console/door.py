"""A session at the door: its printable poster, and attendance by the artisan's QR code.

The poster is the chat's own (:func:`handlers.sessions.poster.session_poster`), so a cancelled
session's poster carries the same red band. The QR attendance endpoints are below.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from handlers.sessions.poster import session_poster
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
    username = req.services.bot_username
    if not username:
        return req.console.message("sess.no_bot_username", 409, req=req)
    link = f"https://t.me/{username}?start=s{session.id}"
    png = session_poster(session, link, req.services.translator, req.services.zone, req.lang)
    return Response(
        png,
        media_type="image/png",
        headers={
            "Content-Disposition": f'attachment; filename="poster-session-{session.id}.png"',
            "Cache-Control": "no-store",
        },
    )


def routes(console: Console) -> list[BaseRoute]:
    g = console.guard
    return [
        Route("/sessions/{id:int}/poster.png", g(poster), methods=["GET"]),
    ]
