"""The console's inbox of questions to the chamber (the same questions the staff group and the
bot's "Questions" show).

- ``/console/questions?view=open|mine|answered&page=N``: the inbox, paged (open questions oldest
  first, answered ones newest first, as in the bot).
- ``/console/questions/{id}``: the thread, who asked (with a link to their profile), when it is
  due; answer in text, send a canned answer, assign to me, mark answered, reopen. Files the artisan
  sent (voice notes, photos, documents) are fetched from their platform on demand.

An answer goes through :func:`handlers.questions.send_answer`, the one function the staff group
and the bot's inbox use: stored with its author (``channel:user_id``), the question marked
answered, and queued to the artisan on their own channel exactly once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from handlers.contact import answer_by
from handlers.questions import send_answer
from storage import artisans as artisan_repo
from storage import console as console_repo
from storage import console_queries as cq
from storage import questions as repo
from storage.questions import QuestionStatus

if TYPE_CHECKING:
    from console.web import Console, Req

PAGE = 30
VIEWS = ("open", "mine", "answered")
MAX_ANSWER = 4000
INLINE = ("audio/", "image/")


def _number(value: Any) -> int | None:
    text = str(value or "")
    return int(text) if text.isdigit() and len(text) < 10 else None


async def inbox(req: Req) -> Response:
    p = req.request.query_params
    view = p.get("view", "open") if p.get("view") in VIEWS else "open"
    page = max(1, min(_number(p.get("page")) or 1, 10_000))
    async with req.services.db.read() as conn:
        items = await repo.listing(
            conn,
            QuestionStatus.ANSWERED if view == "answered" else QuestionStatus.OPEN,
            assigned_to=req.author if view == "mine" else None,
            limit=PAGE + 1,
            offset=(page - 1) * PAGE,
        )
        counts = await cq.question_counts(conn, req.author)
    chamber, zone = req.services.settings.chamber, req.services.zone
    now = req.console.now
    rows = [
        {"item": i, "due": answer_by(i.question.opened_at, chamber, zone) if view != "answered" else None}
        for i in items[:PAGE]
    ]
    return req.render(
        "questions.html",
        view=view,
        views=VIEWS,
        rows=rows,
        counts=counts,
        page=page,
        more=len(items) > PAGE,
        now=now,
    )


async def _loaded(req: Req) -> tuple[Any, Any] | None:
    question_id = _number(req.request.path_params["id"])
    async with req.services.db.read() as conn:
        question = await repo.get(conn, question_id) if question_id else None
        artisan = await artisan_repo.get(conn, question.artisan_id) if question else None
    return (question, artisan) if question is not None else None


async def thread(req: Req) -> Response:
    found = await _loaded(req)
    if found is None:
        return req.console.message("console.not_found", 404, req=req)
    question, artisan = found
    async with req.services.db.read() as conn:
        messages = await repo.thread(conn, question.id)
        canned = await repo.canned(conn)
    due = answer_by(question.opened_at, req.services.settings.chamber, req.services.zone)
    return req.render(
        "question.html",
        q=question,
        a=artisan,
        messages=messages,
        canned=canned,
        due=due,
        late=question.status == QuestionStatus.OPEN and due < req.console.now,
        done=req.request.query_params.get("done", ""),
        problem="",
        draft="",
    )


async def answer(req: Req) -> Response:
    """A text typed in the browser, or a canned answer chosen from the list."""
    found = await _loaded(req)
    if found is None:
        return req.console.message("console.not_found", 404, req=req)
    question, _ = found
    canned_id = _number(req.field("canned"))
    text = req.field("text")[:MAX_ANSWER]
    title = ""
    async with req.services.db.transaction() as conn:
        if canned_id is not None:
            canned = await repo.canned_one(conn, canned_id)
            if canned is None:
                return req.console.message("console.stale", 409, req=req)
            text, title = canned.body, canned.title
        if not text:
            problem = "console.q_answer_empty"
        else:
            problem = ""
            message_id = await send_answer(
                req.services, conn, question, req.author, req.console.now, {"kind": "text", "text": text}
            )
            await console_repo.record(
                conn,
                req.console.now,
                req.author,
                "question_answer",
                f"question:{question.id}",
                message=message_id,
                canned=title,
            )
    if problem:
        return await _again(req, problem)
    req.services.outbox.wake()
    return RedirectResponse(f"/console/questions/{question.id}?done=answered#answer", status_code=303)


async def _again(req: Req, problem: str) -> Response:
    found = await _loaded(req)
    assert found is not None
    question, artisan = found
    async with req.services.db.read() as conn:
        messages = await repo.thread(conn, question.id)
        canned = await repo.canned(conn)
    due = answer_by(question.opened_at, req.services.settings.chamber, req.services.zone)
    return req.render(
        "question.html",
        400,
        q=question,
        a=artisan,
        messages=messages,
        canned=canned,
        due=due,
        late=question.status == QuestionStatus.OPEN and due < req.console.now,
        done="",
        problem=problem,
        draft=req.field("text"),
    )


async def change(req: Req) -> Response:
    """Assign to me, mark answered (answered by phone, say), or reopen."""
    action = req.request.path_params["action"]
    if action not in ("assign", "done", "reopen"):
        return req.console.message("console.not_found", 404, req=req)
    found = await _loaded(req)
    if found is None:
        return req.console.message("console.not_found", 404, req=req)
    question, _ = found
    now = req.console.now
    async with req.services.db.transaction() as conn:
        if action == "assign":
            await repo.assign(conn, question.id, req.author)
            changed = True
        else:
            status = QuestionStatus.ANSWERED if action == "done" else QuestionStatus.OPEN
            changed = await repo.set_status(conn, question.id, status, now)
        if changed:
            await console_repo.record(conn, now, req.author, f"question_{action}", f"question:{question.id}")
    return RedirectResponse(f"/console/questions/{question.id}?done={action}", status_code=303)


async def file(req: Req) -> Response:
    """A voice note, photo or document the artisan sent, fetched from their platform."""
    question_id = _number(req.request.path_params["id"])
    message_id = _number(req.request.path_params["message"])
    async with req.services.db.read() as conn:
        m = await repo.message(conn, message_id) if message_id else None
    if m is None or m.question_id != question_id or not m.file_id or not m.file_channel:
        return req.console.message("console.not_found", 404, req=req)
    channel = req.services.channels.get(m.file_channel)
    if channel is None:
        return req.console.message("console.q_file_unavailable", 503, req=req)
    try:
        content = bytes(await channel.fetch_file(m.file_id))
    except Exception:  # the platform may have dropped it; say so rather than fail
        return req.console.message("console.q_file_unavailable", 502, req=req)
    mime = m.mime_type or ("image/jpeg" if m.kind == "photo" else "application/octet-stream")
    inline = mime.startswith(INLINE) and "svg" not in mime
    name = "".join(ch for ch in (m.file_name or f"{m.kind}-{m.id}") if ch.isalnum() or ch in "._-")
    disposition = "inline" if inline else f'attachment; filename="{name or m.id}"'
    return Response(
        content,
        media_type=mime if inline else "application/octet-stream",
        headers={
            "Content-Disposition": disposition,
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'; sandbox",
        },
    )


def routes(console: Console) -> list[BaseRoute]:
    g = console.guard
    return [
        Route("/questions", g(inbox), methods=["GET"]),
        Route("/questions/{id:int}", g(thread), methods=["GET"]),
        Route("/questions/{id:int}/answer", g(answer), methods=["POST"]),
        Route("/questions/{id:int}/{action:str}", g(change), methods=["POST"]),
        Route("/questions/{id:int}/files/{message:int}", g(file), methods=["GET"]),
    ]
