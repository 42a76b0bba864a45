"""The console's pages: dashboard, artisans, training sessions, imports, broadcasts, staff, report.

Each endpoint receives a checked :class:`~console.web.Req` (see :meth:`Console.guard`). Reads
use ``db.read()``; every change runs in one ``db.transaction()`` through the same functions the
chat uses, then is written to the console's history.
"""

from __future__ import annotations

import asyncio
import re
import tempfile
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from bot.errors import InvalidInput
from bot.i18n import Msg
from bot.messages import Document
from console.broadcast_preview import preview as channel_preview
from console.exports import spreadsheet
from handlers.broadcasts import compose as broadcast_flow
from handlers.broadcasts import delivery as broadcast_delivery
from handlers.broadcasts.exports import DELIVERY_HEADERS, delivery_table
from handlers.broadcasts.stats import stats_chart
from handlers.catalog import CRAFTS, REGIONS
from handlers.certification.importer import FileProblem, import_file
from handlers.sessions import attendance, changes
from handlers.sessions import files as session_files
from handlers.sessions.parsing import local_to_utc
from storage import broadcasts as broadcast_repo
from storage import console as console_repo
from storage import console_queries as q
from storage import enrolments as enrolment_repo
from storage import feedback as feedback_repo
from storage import sessions as session_repo
from storage import staff as staff_repo
from storage.audience import Audience, reach, title_in
from storage.broadcasts import BroadcastStatus
from storage.certifications import of_artisan as applications_of
from storage.enrolments import EnrolmentStatus
from storage.sessions import SessionStatus
from storage.stats import collect

if TYPE_CHECKING:
    from console.web import Console, Req

LANGS = ("ar", "fr", "en")
CHANNELS = ("telegram", "whatsapp")
MAX_UPLOAD = 20 * 1024 * 1024


def _see_other(url: str) -> Response:
    return RedirectResponse(url, status_code=303)


def _download(content: bytes, mime: str, name: str) -> Response:
    return Response(
        content,
        media_type=mime,
        headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"},
    )


def _int(value: Any) -> int | None:
    text = str(value or "")
    return int(text) if text.isdigit() and len(text) < 10 else None


def _title(req: Req, title: dict[str, str]) -> str:
    return title_in(title, req.lang, "—")


# -- dashboard ---------------------------------------------------------------------------------


async def dashboard(req: Req) -> Response:
    c = req.console
    now = c.now
    async with req.services.db.read() as conn:
        stats = await collect(conn, now, req.services.zone)
        waiting = await q.full_with_waitlist(conn, now)
        failed = await q.failed_deliveries(conn, now - timedelta(days=7))
        questions = await q.question_counts(conn, req.author) if req.nav_questions else None
    return req.render(
        "dashboard.html", stats=stats, waiting=waiting, failed=failed, questions=questions, title_of=_title
    )


async def stats_png(req: Req) -> Response:
    async with req.services.db.read() as conn:
        stats = await collect(conn, req.console.now, req.services.zone)
    png = await asyncio.to_thread(stats_chart, req.services.translator, stats, req.lang, req.services.zone)
    return Response(png, media_type="image/png", headers={"Cache-Control": "no-store"})


# -- artisans ----------------------------------------------------------------------------------


def _filter(req: Req) -> q.ArtisanFilter:
    p = req.request.query_params
    sort = p.get("sort", "new")
    return q.ArtisanFilter(
        q=p.get("q", "")[:80],
        region=p.get("region", "") if p.get("region") in REGIONS else "",
        craft=p.get("craft", "") if p.get("craft") in CRAFTS else "",
        lang=p.get("lang", "") if p.get("lang") in LANGS else "",
        channel=p.get("channel", "") if p.get("channel") in CHANNELS else "",
        sort=sort if sort in q.SORTS else "new",
    )


def _query(f: q.ArtisanFilter, **extra: str) -> str:
    from urllib.parse import urlencode

    values = {
        "q": f.q,
        "region": f.region,
        "craft": f.craft,
        "lang": f.lang,
        "channel": f.channel,
        "sort": f.sort,
        **extra,
    }
    return urlencode({k: v for k, v in values.items() if v})


async def artisans(req: Req) -> Response:
    f = _filter(req)
    after = req.request.query_params.get("after") or None
    async with req.services.db.read() as conn:
        page = await q.search_artisans(conn, f, after)
    next_url = f"?{_query(f, after=page.next_after)}" if page.next_after else None
    return req.render(
        "artisans.html",
        f=f,
        page=page,
        next_url=next_url,
        regions=REGIONS,
        crafts=CRAFTS,
        langs_all=LANGS,
        channels=CHANNELS,
        query=_query(f),
    )


ARTISAN_HEADER = (
    "id",
    "full_name",
    "phone",
    "cnie",
    "region",
    "craft",
    "language",
    "channels",
    "registered_at",
    "opted_out",
)


async def artisans_export(req: Req) -> Response:
    kind = req.request.path_params["kind"]
    if kind not in ("csv", "xlsx"):
        return req.console.message("console.not_found", 404, req=req)
    f = _filter(req)
    async with req.services.db.read() as conn:
        rows = await q.all_artisans(conn, f)
    zone = req.services.zone
    table = [
        [
            r["id"],
            r["full_name"] or "",
            r["phone"] or "",
            r["cnie"] or "",
            r["region"] or "",
            r["craft"] or "",
            r["locale"],
            " ".join(r["channels"]),
            r["created_at"].astimezone(zone).strftime("%Y-%m-%d %H:%M"),
            "yes" if r["opted_out"] else "",
        ]
        for r in rows
    ]
    content, mime = spreadsheet(kind, [("artisans", ARTISAN_HEADER, table)])
    await req.console.record(req, "export_artisans", _query(f) or "all", rows=len(rows))
    return _download(content, mime, f"artisans.{kind}")


async def artisan(req: Req) -> Response:
    artisan_id = _int(req.request.path_params["id"])
    async with req.services.db.read() as conn:
        profile = await q.artisan_profile(conn, artisan_id) if artisan_id else None
        applications = await applications_of(conn, int(profile["id"])) if profile else []
    if profile is None:
        return req.console.message("console.not_found", 404, req=req)
    return req.render("artisan.html", a=profile, applications=applications, title_of=_title)


# -- training sessions -------------------------------------------------------------------------


async def sessions_list(req: Req) -> Response:
    past = req.request.query_params.get("past") == "1"
    async with req.services.db.read() as conn:
        rows = await q.staff_sessions(conn, req.console.now, past=past)
    return req.render("sessions.html", rows=rows, past=past, title_of=_title)


def _session_values(req: Req, session: Any = None) -> dict[str, Any]:
    zone = req.services.zone
    if session is None:
        return {
            "title": {},
            "description": {},
            "craft": "",
            "region": "",
            "venue": "",
            "start": "",
            "minutes": "120",
            "capacity": "20",
        }
    return {
        "title": session.title,
        "description": session.description,
        "craft": session.craft or "",
        "region": session.region or "",
        "venue": session.venue,
        "start": session.starts_at.astimezone(zone).strftime("%Y-%m-%dT%H:%M"),
        "minutes": str(int((session.ends_at - session.starts_at).total_seconds() // 60)),
        "capacity": str(session.capacity),
    }


def _read_session_form(req: Req) -> tuple[dict[str, Any], list[str]]:
    """The form's values, and the problems (catalog keys) found in them."""
    problems: list[str] = []
    titles = {lang: req.field(f"title_{lang}")[:120] for lang in LANGS if req.field(f"title_{lang}")}
    descriptions = {
        lang: req.field(f"description_{lang}")[:1000] for lang in LANGS if req.field(f"description_{lang}")
    }
    if not titles:
        problems.append("console.sess_title_required")
    venue = req.field("venue")[:200]
    if not venue:
        problems.append("console.sess_venue_required")
    starts_at = None
    try:
        local = datetime.strptime(req.field("start"), "%Y-%m-%dT%H:%M")  # noqa: DTZ007 (local time)
        starts_at = local_to_utc(local.date(), local.time(), req.services.zone)
    except ValueError:
        problems.append("console.sess_start_invalid")
    minutes, capacity = _int(req.field("minutes")), _int(req.field("capacity"))
    if not minutes or not 15 <= minutes <= 24 * 60 * 14:
        problems.append("console.sess_minutes_invalid")
    if not capacity or capacity > 10_000:
        problems.append("console.sess_capacity_invalid")
    region = req.field("region") if req.field("region") in REGIONS else None
    craft = req.field("craft") if req.field("craft") in CRAFTS else None
    values = {
        "title": titles,
        "description": descriptions,
        "venue": venue,
        "region": region,
        "craft": craft,
        "starts_at": starts_at,
        "minutes": minutes or 0,
        "capacity": capacity or 0,
    }
    return values, problems


async def session_new(req: Req) -> Response:
    if req.request.method == "GET":
        return req.render(
            "session_form.html",
            v=_session_values(req),
            session=None,
            problems=[],
            regions=REGIONS,
            crafts=CRAFTS,
        )
    values, problems = _read_session_form(req)
    if not problems and values["starts_at"] <= req.console.now:
        problems.append("console.sess_start_past")
    if problems:
        return req.render(
            "session_form.html",
            400,
            v=_form_echo(req),
            session=None,
            problems=problems,
            regions=REGIONS,
            crafts=CRAFTS,
        )
    starts_at = values["starts_at"]
    async with req.services.db.transaction() as conn:
        session_id = await session_repo.create(
            conn,
            req.console.now,
            title=values["title"],
            description=values["description"],
            craft=values["craft"],
            region=values["region"],
            venue=values["venue"],
            starts_at=starts_at,
            ends_at=starts_at + timedelta(minutes=values["minutes"]),
            capacity=values["capacity"],
            created_by=req.author,
        )
        await console_repo.record(
            conn, req.console.now, req.author, "session_create", f"session:{session_id}"
        )
    return _see_other(f"/console/sessions/{session_id}?done=created")


def _form_echo(req: Req) -> dict[str, Any]:
    return {
        "title": {lang: req.field(f"title_{lang}") for lang in LANGS},
        "description": {lang: req.field(f"description_{lang}") for lang in LANGS},
        "craft": req.field("craft"),
        "region": req.field("region"),
        "venue": req.field("venue"),
        "start": req.field("start"),
        "minutes": req.field("minutes"),
        "capacity": req.field("capacity"),
    }


async def session_edit(req: Req) -> Response:
    session_id = _int(req.request.path_params["id"])
    async with req.services.db.read() as conn:
        session = await session_repo.get(conn, session_id) if session_id else None
    if session is None:
        return req.console.message("console.not_found", 404, req=req)
    if req.request.method == "GET":
        return req.render(
            "session_form.html",
            v=_session_values(req, session),
            session=session,
            problems=[],
            regions=REGIONS,
            crafts=CRAFTS,
        )
    values, problems = _read_session_form(req)
    if problems:
        return req.render(
            "session_form.html",
            400,
            v=_form_echo(req),
            session=session,
            problems=problems,
            regions=REGIONS,
            crafts=CRAFTS,
        )
    starts_at = values["starts_at"]
    async with req.services.db.transaction() as conn:
        outcome = await changes.edit(
            req.services,
            conn,
            session.id,
            starts_at=starts_at,
            ends_at=starts_at + timedelta(minutes=values["minutes"]),
            title=values["title"],
            description=values["description"],
            craft=values["craft"],
            region=values["region"],
            venue=values["venue"],
            capacity=values["capacity"],
        )
        if isinstance(outcome, changes.Applied):
            await console_repo.record(
                conn,
                req.console.now,
                req.author,
                "session_reschedule" if outcome.moved else "session_edit",
                f"session:{session.id}",
                told=outcome.told,
            )
    req.services.outbox.wake()
    if isinstance(outcome, changes.Refused):
        return req.render(
            "session_form.html",
            400,
            v=_form_echo(req),
            session=session,
            problems=[],
            problem=req.text(outcome.message),
            regions=REGIONS,
            crafts=CRAFTS,
        )
    return _see_other(
        f"/console/sessions/{session.id}?done={'moved' if outcome.moved else 'saved'}&told={outcome.told}"
    )


async def session_cancel(req: Req) -> Response:
    session_id = _int(req.request.path_params["id"]) or 0
    async with req.services.db.transaction() as conn:
        outcome = await changes.cancel(req.services, conn, session_id)
        if isinstance(outcome, changes.Applied):
            await console_repo.record(
                conn,
                req.console.now,
                req.author,
                "session_cancel",
                f"session:{session_id}",
                told=outcome.told,
            )
    req.services.outbox.wake()
    if isinstance(outcome, changes.Refused):
        return req.console.message("console.sess_not_editable", 409, req=req)
    return _see_other(f"/console/sessions/{session_id}?done=cancelled&told={outcome.told}")


async def session_page(req: Req) -> Response:
    session_id = _int(req.request.path_params["id"])
    async with req.services.db.read() as conn:
        listed = await session_repo.get_listed(conn, session_id) if session_id else None
        people = await enrolment_repo.of_session(conn, listed.session.id) if listed else []
        opinions = await feedback_repo.summary(conn, listed.session.id) if listed else None
    if listed is None:
        return req.console.message("console.not_found", 404, req=req)
    s = listed.session
    can_mark = s.status != SessionStatus.CANCELLED and req.console.now >= s.starts_at - timedelta(hours=1)
    p = req.request.query_params
    door = p.get("door", "") if p.get("door") in ("marked", "already") else ""
    door_name = next((x.full_name or "—" for x in people if str(x.enrolment.id) == p.get("e")), "—")
    return req.render(
        "session.html",
        listed=listed,
        s=s,
        people=people,
        can_mark=can_mark,
        door_on=can_mark and req.services.settings.chamber.attendance_key is not None,
        door=door,
        door_name=door_name,
        feedback=opinions,
        done=p.get("done", ""),
        told=_int(p.get("told")) or 0,
        title_of=_title,
    )


async def session_mark(req: Req) -> Response:
    """Mark one person present or absent (a form button, or ``fetch`` from the phone page)."""
    session_id = _int(req.request.path_params["id"]) or 0
    enrolment_id = _int(req.field("enrolment")) or 0
    present = req.field("present") == "1"
    async with req.services.db.transaction() as conn:
        enrolment = await enrolment_repo.by_id(conn, enrolment_id)
        session = await session_repo.get(conn, session_id)
        ok = (
            enrolment is not None
            and session is not None
            and attendance.markable(session, enrolment, req.console.now)
            and await enrolment_repo.mark(conn, enrolment_id, present, req.console.now)
        )
        if ok:
            await console_repo.record(
                conn, req.console.now, req.author, "attendance", f"enrolment:{enrolment_id}", present=present
            )
    if req.request.headers.get("accept", "").startswith("application/json"):
        status = EnrolmentStatus.ATTENDED if present else EnrolmentStatus.NO_SHOW
        return JSONResponse(
            {
                "ok": bool(ok),
                "status": status if ok else None,
                "label": req.t(f"sess.mark_{status}") if ok else req.t("console.stale"),
            },
            status_code=200 if ok else 409,
        )
    if not ok:
        return req.console.message("console.stale", 409, req=req)
    return _see_other(f"/console/sessions/{session_id}#e{enrolment_id}")


async def session_export(req: Req) -> Response:
    session_id = _int(req.request.path_params["id"]) or 0
    kind = req.request.path_params["kind"]
    if kind not in ("csv", "xlsx"):
        return req.console.message("console.not_found", 404, req=req)
    async with req.services.db.read() as conn:
        session = await session_repo.get(conn, session_id)
        rows = (
            await session_files.enrolment_table(conn, session, req.lang, req.services.zone) if session else []
        )
    if session is None:
        return req.console.message("console.not_found", 404, req=req)
    content, mime = spreadsheet(kind, [("enrolments", session_files.EXPORT_COLUMNS, rows)])
    return _download(content, mime, f"enrolments-session-{session_id}.{kind}")


# -- imports: certification register and sessions, with a dry-run preview ---------------------

IMPORT_KINDS = ("certifications", "sessions")


async def import_page(req: Req) -> Response:
    kind = req.request.path_params["kind"]
    if kind not in IMPORT_KINDS:
        return req.console.message("console.not_found", 404, req=req)
    return req.render("import.html", kind=kind, report=None, rows=[])


async def import_preview(req: Req) -> Response:
    """Upload → dry run shown row by row; "apply" runs the same file for real."""
    kind = req.request.path_params["kind"]
    if kind not in IMPORT_KINDS:
        return req.console.message("console.not_found", 404, req=req)
    apply = req.field("apply") == "1"
    if apply:
        upload_id = req.field("upload")
        async with req.services.db.read() as conn:
            found = await console_repo.load_upload(conn, req.author, upload_id[:32])
        if found is None:
            return req.console.message("console.stale", 409, req=req)
        name, data = found
    else:
        upload = req.upload("file")
        if upload is None or not upload.filename:
            return req.console.message("console.import_no_file", 400, req=req)
        data = await upload.read(MAX_UPLOAD + 1)
        name = re.sub(r"[^\w.\- ]", "_", upload.filename)[-120:]
        if len(data) > MAX_UPLOAD or not name.lower().endswith((".csv", ".xlsx")):
            return req.console.message("console.import_bad_file", 400, req=req)
        async with req.services.db.transaction() as conn:
            upload_id = await console_repo.save_upload(conn, req.author, name, data, req.console.now)
    with tempfile.TemporaryDirectory(prefix="hirfa-console-") as folder:
        path = Path(folder) / f"upload{Path(name).suffix.lower()}"
        await asyncio.to_thread(path.write_bytes, data)
        if kind == "certifications":
            return await _certifications(req, path, name, upload_id, apply)
        return await _sessions_import(req, path, name, upload_id, apply)


async def _certifications(req: Req, path: Any, name: str, upload_id: str, apply: bool) -> Response:
    try:
        report = await import_file(req.services, path, dry_run=not apply, author=req.author, name=name)
    except FileProblem as problem:
        return req.render(
            "import.html",
            400,
            kind="certifications",
            report=None,
            rows=[],
            problem=req.text(Msg(problem.key, **problem.params)),
        )
    rows: list[dict[str, Any]] = [
        {"line": line, "ref": number, "outcome": outcome, "notice": notice, "problem": ""}
        for line, number, outcome, notice in report.outcomes
    ]
    for p in report.problems:
        rows.append(
            {
                "line": p.line,
                "ref": p.value,
                "outcome": "rejected",
                "notice": False,
                "problem": f"{p.column}: {req.text(p.message)}",
            }
        )
    for w in report.warnings:
        rows.append(
            {
                "line": w.line,
                "ref": w.value,
                "outcome": "warning",
                "notice": False,
                "problem": f"{w.column}: {req.text(w.message)}",
            }
        )
    rows.sort(key=lambda r: (r["line"], r["outcome"] == "warning"))
    summary = {
        "rows": report.rows,
        "created": report.created,
        "moved": report.moved + report.rescheduled,
        "updated": report.updated,
        "unchanged": report.unchanged,
        "rejected": len(report.problems),
        "notices": report.notified,
    }
    if apply:
        await req.console.record(req, "import_certifications", name, **summary)
    return req.render(
        "import.html",
        kind="certifications",
        report=summary,
        rows=rows,
        applied=apply,
        upload=upload_id,
        name=name,
    )


async def _sessions_import(req: Req, path: Any, name: str, upload_id: str, apply: bool) -> Response:
    try:
        table = await asyncio.to_thread(session_files.read_table, path)
    except session_files.FileError as err:
        return req.render(
            "import.html", 400, kind="sessions", report=None, rows=[], problem=req.text(err.message)
        )
    rows: list[dict[str, Any]] = []
    if apply:
        result = await session_files.import_rows(req.services, table, author=req.author)
        summary = {
            "rows": len(table),
            "created": result.created,
            "updated": result.updated,
            "unchanged": result.unchanged,
            "rejected": len(result.rejected),
        }
        rows = [
            {"line": n, "ref": "", "outcome": "rejected", "notice": False, "problem": req.text(m)}
            for n, m in result.rejected
        ]
        await req.console.record(req, "import_sessions", name, **summary)
    else:
        lookup = session_files.Lookup(req.services)
        counts = {"created": 0, "updated": 0, "unchanged": 0, "rejected": 0}
        seen: set[str] = set()
        async with req.services.db.read() as conn:
            for number, values in table:
                try:
                    d = session_files.check_row(values, lookup, req.services.zone, req.console.now)
                except InvalidInput as err:
                    rows.append(
                        {
                            "line": number,
                            "ref": str(values.get("ext_ref") or ""),
                            "outcome": "rejected",
                            "notice": False,
                            "problem": req.text(Msg(err.key, **err.params)),
                        }
                    )
                    counts["rejected"] += 1
                    continue
                existing = await session_repo.by_ext_ref(conn, d.ext_ref)
                if d.ext_ref in seen:
                    outcome = "rejected"
                elif existing is None:
                    outcome = "created"
                elif session_files.same_as(existing, d):
                    outcome = "unchanged"
                else:
                    outcome = "updated"
                seen.add(d.ext_ref)
                counts[outcome] += 1
                moved = existing is not None and existing.starts_at != d.starts_at
                rows.append(
                    {"line": number, "ref": d.ext_ref, "outcome": outcome, "notice": moved, "problem": ""}
                )
        summary = {"rows": len(table), **counts}
    return req.render(
        "import.html", kind="sessions", report=summary, rows=rows, applied=apply, upload=upload_id, name=name
    )


# -- broadcasts --------------------------------------------------------------------------------


def _audience(values: Any) -> Audience:
    def pick(name: str, allowed: tuple[str, ...]) -> list[str]:
        return [v for v in values.getlist(name) if v in allowed]

    return Audience.from_json(
        {"regions": pick("regions", REGIONS), "crafts": pick("crafts", CRAFTS), "langs": pick("langs", LANGS)}
    )


async def broadcasts(req: Req) -> Response:
    async with req.services.db.read() as conn:
        listed = await broadcast_repo.listed(conn, broadcast_repo.STATUSES, limit=50)
    return req.render("broadcasts.html", rows=listed)


async def broadcast_count(req: Req) -> Response:
    """The live count of the audience being built (JSON, for the compose page)."""
    async with req.services.db.read() as conn:
        r = await reach(conn, _audience(req.request.query_params))
    return JSONResponse(
        {
            "total": r.total,
            "by_channel": r.by_channel,
            "unreachable": r.unreachable,
            "opted_out": r.opted_out,
            "text": req.t(
                "console.bc_count", count=r.total, unreachable=r.unreachable, opted_out=r.opted_out
            ),
        }
    )


async def broadcast_new(req: Req) -> Response:
    if req.request.method == "GET":
        # The count comes from /broadcasts/count as soon as the page loads (counted by the database,
        # storage.audience.reach), and again at each change of the audience.
        return req.render("broadcast_new.html", regions=REGIONS, crafts=CRAFTS, reach=None, problems=[], v={})
    texts = {lang: req.field(f"text_{lang}")[:4000] for lang in LANGS if req.field(f"text_{lang}")}
    fallback = req.field("fallback")
    if fallback not in texts:
        fallback = next(iter(texts), "")
    audience = _audience(req.form)
    if not texts:
        async with req.services.db.read() as conn:
            r = await reach(conn, audience)
        return req.render(
            "broadcast_new.html",
            400,
            regions=REGIONS,
            crafts=CRAFTS,
            reach=r,
            problems=["console.bc_text_required"],
            v={},
        )
    action = req.field("action", "send")
    staffer = req.session.staffer
    now = req.console.now
    moment = None
    if action == "schedule":
        moment, problem = _schedule_time(req)
        if problem:
            async with req.services.db.read() as conn:
                r = await reach(conn, audience)
            return req.render(
                "broadcast_new.html", 400, regions=REGIONS, crafts=CRAFTS, reach=r, problems=[problem], v={},
                problem_params={"now": now},
            )
    async with req.services.db.transaction() as conn:
        broadcast_id = await broadcast_repo.create_draft(
            conn,
            channel=staffer.channel,
            author_id=staffer.external_id,
            author_chat=staffer.external_id,
            lang=req.lang,
            now=now,
        )
        await broadcast_repo.update_fields(
            conn, broadcast_id, now, texts=texts, fallback_lang=fallback, audience=audience.to_json()
        )
        if action == "preview":  # a draft: the page shows it on each channel, then send or schedule
            return _see_other(f"/console/broadcasts/{broadcast_id}")
        if moment is not None:
            await broadcast_flow.schedule(conn, broadcast_id, moment, now)
            await console_repo.record(
                conn, now, req.author, "broadcast_schedule", f"broadcast:{broadcast_id}",
                at=moment.isoformat(),
            )
            return _see_other(f"/console/broadcasts/{broadcast_id}")
        total = await broadcast_delivery.start(req.services, conn, broadcast_id)
        await console_repo.record(
            conn, now, req.author, "broadcast_send", f"broadcast:{broadcast_id}", recipients=total or 0
        )
    req.services.outbox.wake()
    return _see_other(f"/console/broadcasts/{broadcast_id}")


def _schedule_time(req: Req) -> tuple[datetime | None, str]:
    """The form's ``when`` (a local date and time, ``YYYY-MM-DDTHH:MM``) as UTC, checked by the
    chat's own rule (handlers.broadcasts.compose.schedule_problem); or the problem's catalog key."""
    try:
        day, _, clock = req.field("when").partition("T")
        local_day = date.fromisoformat(day)
        hour, minute = (int(x) for x in clock.split(":")[:2])
        moment = local_to_utc(local_day, time(hour, minute), req.services.zone)
    except ValueError:
        return None, "bc.when_invalid"
    problem = broadcast_flow.schedule_problem(moment, req.console.now)
    return (None, problem) if problem else (moment, "")


async def broadcast_draft(req: Req) -> Response:
    """``POST /console/broadcasts/{id}/send`` or ``/schedule``: a draft (from "preview") goes
    out now, or is scheduled; anything else than a draft is stale."""
    broadcast_id = _int(req.request.path_params["id"]) or 0
    action = req.request.path_params["action"]
    if action not in ("send", "schedule"):
        return req.console.message("console.not_found", 404, req=req)
    now = req.console.now
    moment = None
    if action == "schedule":
        moment, problem = _schedule_time(req)
        if problem:
            return req.console.message(problem, 400, req=req, now=now)
    async with req.services.db.transaction() as conn:
        b = await broadcast_repo.get(conn, broadcast_id)
        if b is None or b.status != BroadcastStatus.DRAFT:
            return req.console.message("console.stale", 409, req=req)
        if moment is not None:
            if not await broadcast_flow.schedule(conn, broadcast_id, moment, now):
                return req.console.message("console.stale", 409, req=req)
            await console_repo.record(
                conn, now, req.author, "broadcast_schedule", f"broadcast:{broadcast_id}",
                at=moment.isoformat(),
            )
        else:
            total = await broadcast_delivery.start(req.services, conn, broadcast_id)
            if total is None:
                return req.console.message("console.stale", 409, req=req)
            await console_repo.record(
                conn, now, req.author, "broadcast_send", f"broadcast:{broadcast_id}", recipients=total
            )
    req.services.outbox.wake()
    return _see_other(f"/console/broadcasts/{broadcast_id}")


async def _broadcast_state(req: Req, broadcast_id: int) -> tuple[Any, dict[str, int]] | None:
    async with req.services.db.read() as conn:
        b = await broadcast_repo.get(conn, broadcast_id)
        counts = await broadcast_repo.delivery_counts(conn, broadcast_id) if b else {}
    return (b, counts) if b else None


async def broadcast_page(req: Req) -> Response:
    state = await _broadcast_state(req, _int(req.request.path_params["id"]) or 0)
    if state is None:
        return req.console.message("console.not_found", 404, req=req)
    b, counts = state
    async with req.services.db.read() as conn:
        media = await broadcast_repo.media_of(conn, b.id)
    photo = media[1] if media and media[0] == "photo" else None
    document = Document(media[2], media[1], media[3]) if media and media[0] == "document" else None
    return req.render(
        "broadcast.html",
        b=b,
        counts=counts,
        done=broadcast_delivery.done_count(counts),
        previews=channel_preview(req.services, b, photo, document),
        zone_name=req.services.zone.key,
    )


async def broadcast_progress(req: Req) -> Response:
    state = await _broadcast_state(req, _int(req.request.path_params["id"]) or 0)
    if state is None:
        return JSONResponse({"error": "not found"}, status_code=404)
    b, counts = state
    total = b.total or sum(counts.values())
    done = broadcast_delivery.done_count(counts)
    return JSONResponse(
        {
            "status": b.status,
            "total": total,
            "done": done,
            "counts": counts,
            "text": req.text(broadcast_delivery.progress_text(b.id, counts, total)),
            "status_text": req.t(f"bc.status_{b.status}"),
        }
    )


async def broadcast_stop(req: Req) -> Response:
    broadcast_id = _int(req.request.path_params["id"]) or 0
    async with req.services.db.transaction() as conn:
        skipped = await broadcast_delivery.stop(req.services, conn, broadcast_id)
        if skipped is not None:
            await console_repo.record(
                conn,
                req.console.now,
                req.author,
                "broadcast_stop",
                f"broadcast:{broadcast_id}",
                skipped=skipped,
            )
    return _see_other(f"/console/broadcasts/{broadcast_id}")


async def broadcast_export(req: Req) -> Response:
    broadcast_id = _int(req.request.path_params["id"]) or 0
    kind = req.request.path_params["kind"]
    if kind not in ("csv", "xlsx"):
        return req.console.message("console.not_found", 404, req=req)
    async with req.services.db.read() as conn:
        if await broadcast_repo.get(conn, broadcast_id) is None:
            return req.console.message("console.not_found", 404, req=req)
        header, rows = await delivery_table(conn, broadcast_id, req.services.zone)
    content, mime = spreadsheet(kind, [("deliveries", header or list(DELIVERY_HEADERS), rows)])
    return _download(content, mime, f"deliveries-{broadcast_id}.{kind}")


# -- staff (admins) ----------------------------------------------------------------------------


async def staff_page(req: Req, problem: str = "", status: int = 200) -> Response:
    before = _int(req.request.query_params.get("before"))
    async with req.services.db.read() as conn:
        members = await staff_repo.members(conn)
        lines = await console_repo.activity(conn, limit=100, before=before)
    me = (req.session.staffer.channel, req.session.staffer.external_id)
    return req.render(
        "staff.html",
        status,
        members=sorted(members, key=lambda m: (m[2] != "admin", m)),
        lines=lines,
        me=me,
        channels=CHANNELS,
        problem=problem,
        next_before=lines[-1]["id"] if len(lines) == 100 else None,
    )


async def staff_add(req: Req) -> Response:
    channel, user_id, role = (
        req.field("channel"),
        re.sub(r"\s", "", req.field("user_id")).lstrip("+"),
        req.field("role"),
    )
    if channel not in CHANNELS or role not in staff_repo.ROLES or not re.fullmatch(r"\d{3,20}", user_id):
        return await staff_page(req, "console.staff_invalid", 400)
    async with req.services.db.transaction() as conn:
        await staff_repo.grant(conn, channel, user_id, role, req.console.now, req.author)
        await console_repo.record(
            conn, req.console.now, req.author, "staff_add", f"{channel}:{user_id}", role=role
        )
    req.services.channels.role_changed(channel, user_id, role)
    return _see_other("/console/staff")


async def staff_remove(req: Req) -> Response:
    channel, user_id = req.field("channel"), req.field("user_id")
    if (channel, user_id) == (req.session.staffer.channel, req.session.staffer.external_id):
        return await staff_page(req, "console.staff_not_yourself", 400)
    async with req.services.db.transaction() as conn:
        removed = await staff_repo.revoke(conn, channel, user_id)
        if removed:
            await console_repo.close_sessions_of(conn, console_repo.Staffer(channel, user_id))
            await console_repo.record(
                conn, req.console.now, req.author, "staff_remove", f"{channel}:{user_id}"
            )
    if removed:
        req.services.channels.role_changed(channel, user_id, None)
    return _see_other("/console/staff")


# -- the activity report -----------------------------------------------------------------------


def _period(req: Req) -> tuple[date, date] | None:
    p = req.request.query_params
    try:
        start, end = date.fromisoformat(p.get("from", "")), date.fromisoformat(p.get("to", ""))
    except ValueError:
        return None
    return (start, end) if start <= end and (end - start).days <= 3 * 366 else None


async def report_page(req: Req) -> Response:
    today = req.console.now.astimezone(req.services.zone).date()
    start = (today.replace(day=1) - timedelta(days=120)).replace(day=1)
    return req.render("report.html", start=start.isoformat(), end=today.isoformat())


async def report_download(req: Req) -> Response:
    from handlers.report import build_report

    period = _period(req)
    kind = req.request.path_params["kind"]
    lang = req.request.query_params.get("lang", req.lang)
    if kind not in ("pdf", "xlsx"):
        return req.console.message("console.not_found", 404, req=req)
    if period is None or lang not in LANGS:
        return req.console.message("console.report_bad_period", 400, req=req)
    content, mime, name = await build_report(req.services, period[0], period[1], lang, kind)
    await req.console.record(req, "report", f"{period[0]}..{period[1]}", kind=kind, lang=lang)
    return _download(content, mime, name)


def routes(console: Console) -> list[BaseRoute]:
    g = console.guard
    return [
        Route("/", g(dashboard), methods=["GET"]),
        Route("/stats.png", g(stats_png), methods=["GET"]),
        Route("/artisans", g(artisans), methods=["GET"]),
        Route("/artisans/export.{kind:str}", g(artisans_export), methods=["GET"]),
        Route("/artisans/{id:int}", g(artisan), methods=["GET"]),
        Route("/sessions", g(sessions_list), methods=["GET"]),
        Route("/sessions/new", g(session_new), methods=["GET", "POST"]),
        Route("/sessions/{id:int}", g(session_page), methods=["GET"]),
        Route("/sessions/{id:int}/edit", g(session_edit), methods=["GET", "POST"]),
        Route("/sessions/{id:int}/cancel", g(session_cancel), methods=["POST"]),
        Route("/sessions/{id:int}/mark", g(session_mark), methods=["POST"]),
        Route("/sessions/{id:int}/export.{kind:str}", g(session_export), methods=["GET"]),
        Route("/import/{kind:str}", g(import_page), methods=["GET"]),
        Route("/import/{kind:str}", g(import_preview), methods=["POST"]),
        Route("/broadcasts", g(broadcasts), methods=["GET"]),
        Route("/broadcasts/count", g(broadcast_count), methods=["GET"]),
        Route("/broadcasts/new", g(broadcast_new), methods=["GET", "POST"]),
        Route("/broadcasts/{id:int}", g(broadcast_page), methods=["GET"]),
        Route("/broadcasts/{id:int}/progress", g(broadcast_progress), methods=["GET"]),
        Route("/broadcasts/{id:int}/stop", g(broadcast_stop), methods=["POST"]),
        Route("/broadcasts/{id:int}/{action:str}", g(broadcast_draft), methods=["POST"]),
        Route("/broadcasts/{id:int}/deliveries.{kind:str}", g(broadcast_export), methods=["GET"]),
        Route("/staff", g(staff_page, "admin"), methods=["GET"]),
        Route("/staff/add", g(staff_add, "admin"), methods=["POST"]),
        Route("/staff/remove", g(staff_remove, "admin"), methods=["POST"]),
        Route("/report", g(report_page), methods=["GET"]),
        Route("/report/download.{kind:str}", g(report_download), methods=["GET"]),
    ]
