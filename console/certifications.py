"""The certification (VAEP) register in the console: search, a file's timeline, set a stage.

- ``/console/certifications?q=``: search by file number, CNIE or phone (read exactly as the chat's
  ``/certs`` reads them, :func:`handlers.certification.staff.search_register`), or by name; with no
  query, the files changed last.
- ``/console/certifications/{id}``: the file, its artisan (linked to their profile), its timeline
  (every stage with date, note, appointment, author and source) and a form to set a stage with a
  note, and a date/time and place for stages that have an appointment.

Setting a stage goes through :func:`handlers.certification.changes.record`, as in the chat: one
history row with the author, and one notice to the artisan. If the file changed since the page was
opened (an import, a colleague), nothing is saved and the page says so.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from handlers.certification import parsing
from handlers.certification.changes import SOURCE_STAFF, Change, record
from handlers.certification.staff import search_register
from handlers.certification.stages import active, stage
from handlers.sessions.parsing import local_to_utc
from storage import certifications as repo
from storage import console as console_repo
from storage import console_queries as cq
from storage.certifications import Application
from storage.database import Conn

if TYPE_CHECKING:
    from console.web import Console, Req

LIMIT = 50


def _number(value: Any) -> int | None:
    text = str(value or "")
    return int(text) if text.isdigit() and len(text) < 10 else None


async def search(req: Req) -> Response:
    query = req.request.query_params.get("q", "").strip()[:80]
    async with req.services.db.read() as conn:
        exact = await search_register(conn, query) if query else []
        named = await cq.applications_named(conn, query, LIMIT) if len(query) != 1 else []
    seen = {a.id for a in exact}
    rows = exact + [a for a in named if a.id not in seen]
    return req.render("certifications.html", query=query, rows=rows[:LIMIT], recent=not query)


async def _version(conn: Conn, app: Application) -> str:
    """What the file looked like when the page was opened (same as the chat's check)."""
    entries = await repo.history(conn, app.id)
    return f"{app.updated_at.isoformat()}/{entries[-1].id if entries else 0}"


async def _page(req: Req, app_id: int | None, status: int = 200, **extra: Any) -> Response:
    async with req.services.db.read() as conn:
        app = await repo.get(conn, app_id) if app_id else None
        if app is None:
            return req.console.message("console.not_found", 404, req=req)
        timeline = await repo.history(conn, app.id)
        seen = await _version(conn, app)
    values = {"stage": app.stage, "when": "", "place": app.summons_place or "", "note": ""}
    values.update(extra.pop("values", {}))
    return req.render(
        "certification.html",
        status,
        app=app,
        timeline=list(reversed(timeline)),
        stages=active(req.services.settings),
        appointment={s.code for s in active(req.services.settings) if s.appointment},
        seen=seen,
        v=values,
        done=req.request.query_params.get("done", ""),
        problems=extra.pop("problems", []),
        **extra,
    )


async def file_page(req: Req) -> Response:
    return await _page(req, _number(req.request.path_params["id"]))


def _read_change(req: Req) -> tuple[Change | None, list[str]]:
    code = req.field("stage")
    target = stage(code)
    problems: list[str] = []
    if code not in {s.code for s in active(req.services.settings)}:
        return None, ["console.cert_stage_invalid"]
    when = None
    if target.appointment and req.field("when"):
        try:
            local = datetime.strptime(req.field("when"), "%Y-%m-%dT%H:%M")  # noqa: DTZ007 (local time)
            when = local_to_utc(local.date(), local.time(), req.services.zone)
        except ValueError:
            problems.append("console.cert_when_invalid")
        else:
            if when <= req.console.now:
                problems.append("console.cert_when_past")
    if target.time_required and when is None and not problems:
        problems.append("console.cert_when_required")
    place = parsing.clean_note(req.field("place"), parsing.PLACE_MAX) if target.appointment else None
    if target.appointment and place is None:
        problems.append("console.cert_place_required")
    note = parsing.clean_note(req.field("note"))
    change = Change(
        stage=code,
        stage_date=req.console.now.astimezone(req.services.zone).date(),
        note=note,
        summons_at=when,
        summons_place=place,
    ).normalized()
    return (None if problems else change), problems


async def set_stage(req: Req) -> Response:
    app_id = _number(req.request.path_params["id"])
    change, problems = _read_change(req)
    typed = {k: req.field(k) for k in ("stage", "when", "place", "note")}
    stale = same = queued = False
    if change is None:
        return await _page(req, app_id, 400, problems=problems, values=typed)
    async with req.services.db.transaction() as conn:
        app = await repo.get(conn, app_id) if app_id else None
        if app is None:
            return req.console.message("console.not_found", 404, req=req)
        stale = await _version(conn, app) != req.field("seen")
        if not stale:
            same = change.stage == app.stage and (change.note, change.summons_at, change.summons_place) == (
                app.note,
                app.summons_at,
                app.summons_place,
            )
            if not same:
                _, queued = await record(
                    conn, req.services, app, change, author=req.author, source=SOURCE_STAFF
                )
                await console_repo.record(
                    conn,
                    req.console.now,
                    req.author,
                    "cert_stage",
                    f"certification:{app.number}",
                    stage=change.stage,
                    notified=queued,
                )
    if stale:
        return await _page(req, app_id, 409, problems=["console.cert_changed_meanwhile"], values=typed)
    if same:
        return await _page(req, app_id, 400, problems=["console.cert_nothing_changed"], values=typed)
    req.services.outbox.wake()
    return RedirectResponse(
        f"/console/certifications/{app_id}?done={'notified' if queued else 'saved'}", status_code=303
    )


def routes(console: Console) -> list[BaseRoute]:
    g = console.guard
    return [
        Route("/certifications", g(search), methods=["GET"]),
        Route("/certifications/{id:int}", g(file_page), methods=["GET"]),
        Route("/certifications/{id:int}/stage", g(set_stage), methods=["POST"]),
    ]
