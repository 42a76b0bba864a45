"""After a session: feedback and the attestation of participation.

- :func:`ask_feedback` (a job) asks, once per person (outbox key ``fb:<session>:<artisan>``),
  those marked present to rate the session 1-5 (buttons with faces) with their attestation
  button, those marked absent why (choices + other); when attendance was not marked, everyone
  still enrolled is asked to rate after ``HIRFA_CHAMBER__FEEDBACK_DELAY_HOURS``.
- After a rating, an optional comment (text, or a voice note kept by reference).
- "📜 My trainings" (``/attestations``) lists past sessions; those where the artisan was marked
  present have their attestation PDF (Arabic and French, QR code to ``/verify/...``).
- Staff: ``/feedback`` shows per session the responses, average, distribution and comments.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import ClassVar

from bot.dialogue import Context, Job, MenuItem, Router, Services, State, Step, show_menu
from bot.i18n import Msg, Raw, Text
from bot.messages import Choice, Document, Reply
from bot.payloads import Payload
from handlers import attestation_pdf
from handlers.contact import with_card
from handlers.sessions.buttons import StaffCard
from handlers.verification import sign
from storage import artisans as artisan_repo
from storage import attestations as attestation_repo
from storage import feedback as repo
from storage import questions as questions_repo
from storage.database import Conn
from storage.enrolments import EnrolmentStatus

router = Router()


@dataclass(frozen=True)
class Rate(Payload):
    """A rating of a session, 1 to 5."""

    prefix: ClassVar[str] = "fb:r"
    session_id: int
    rating: int


@dataclass(frozen=True)
class AbsentReason(Payload):
    """Why the artisan did not come (one of ``REASONS``)."""

    prefix: ClassVar[str] = "fb:a"
    session_id: int
    reason: str


@dataclass(frozen=True)
class GetAttestation(Payload):
    prefix: ClassVar[str] = "att:get"
    session_id: int


@dataclass(frozen=True)
class SessionFeedback(Payload):
    """The staff's summary of one session's feedback."""

    prefix: ClassVar[str] = "fbs"
    session_id: int
KIND = "feedback"
FACES = {1: "😞", 2: "🙁", 3: "😐", 4: "🙂", 5: "😄"}
REASONS = ("sick", "work", "transport", "forgot", "other")
REASON_OTHER = "fb.reason_other"
HORIZON = timedelta(days=14)


class Aftercare(Step):
    COMMENT = "fb.comment"


def _title(title: dict[str, str], lang: str, default: str) -> str:
    return title.get(lang) or title.get(default) or next(iter(title.values()), "")


# -- asking -------------------------------------------------------------------------------------

async def ask_feedback(services: Services) -> None:
    now = services.clock.now()
    delay = timedelta(hours=services.settings.chamber.feedback_delay_hours)
    async with services.db.transaction() as conn:
        for session_id, title, ends_at in await repo.ended_between(conn, now - HORIZON, now):
            people = await repo.to_ask(conn, session_id, unmarked_too=now >= ends_at + delay)
            for artisan_id, status in people:
                artisan = await artisan_repo.get(conn, artisan_id)
                if artisan is None or artisan.erased_at is not None:
                    continue
                name = _title(title, artisan.locale, services.settings.default_locale)
                reply = _ask_reply(session_id, name, status)
                await services.outbox.notify(conn, artisan_id, reply, kind=KIND,
                                             key=f"fb:{session_id}:{artisan_id}")
    services.outbox.wake_if_queued()


def _ask_reply(session_id: int, title: str, status: str) -> Reply:
    if status == EnrolmentStatus.NO_SHOW:
        return Reply(Msg("fb.ask_absent", session=title),
                     [Choice(AbsentReason(session_id, r), Msg(f"fb.reason_{r}")) for r in REASONS])
    choices = [Choice(Rate(session_id, n), f"{FACES[n]} {n}") for n in range(1, 6)]
    if status == EnrolmentStatus.ATTENDED:
        choices.append(Choice(GetAttestation(session_id), Msg("att.btn_get")))
    return Reply(Msg("fb.ask_rating", session=title), choices)


router.jobs.append(Job("aftercare.feedback", ask_feedback, 300.0))


@router.action(Rate, registered=True)
async def rate(ctx: Context, button: Rate) -> None:
    assert ctx.artisan is not None
    if not 1 <= button.rating <= 5:
        ctx.say(Msg("common.stale"))
        return
    session_id = button.session_id
    status = await repo.enrolment_status(ctx.conn, session_id, ctx.artisan.id)
    if status not in (EnrolmentStatus.ATTENDED, EnrolmentStatus.ENROLLED):
        ctx.say(Msg("common.stale"))
        return
    await repo.save(ctx.conn, session_id, ctx.artisan.id, ctx.now, rating=button.rating)
    await ctx.goto(Aftercare.COMMENT, fb_session=session_id)


async def comment_prompt(ctx: Context) -> None:
    ctx.say(Msg("fb.thanks_comment"), [Choice("fb:skip", Msg("fb.btn_skip"))])


async def comment_handle(ctx: Context) -> None:
    assert ctx.artisan is not None
    session_id = int(ctx.data.get("fb_session", 0))
    if ctx.choice_id == "fb:skip":
        ctx.finish()
        await show_menu(ctx, Msg("fb.thanks"))
        return
    inc = ctx.incoming
    if inc.kind == "text" and inc.text.strip():
        comment = inc.text.strip()[:2000]
    elif inc.file is not None and inc.file.kind == "voice":
        comment = f"🎤 {inc.channel}:{inc.file.file_id}"
    else:
        await comment_prompt(ctx)
        return
    await repo.save(ctx.conn, session_id, ctx.artisan.id, ctx.now, comment=comment)
    ctx.finish()
    await show_menu(ctx, Msg("fb.thanks"))


router.state(State(Aftercare.COMMENT, comment_prompt, comment_handle, registered=True, files=True,
                   voice=True))


@router.action(AbsentReason, registered=True)
async def absent_reason(ctx: Context, button: AbsentReason) -> None:
    assert ctx.artisan is not None
    if button.reason not in REASONS:
        ctx.say(Msg("common.stale"))
        return
    session_id, reason = button.session_id, button.reason
    if await repo.enrolment_status(ctx.conn, session_id, ctx.artisan.id) != EnrolmentStatus.NO_SHOW:
        ctx.say(Msg("common.stale"))
        return
    await repo.save(ctx.conn, session_id, ctx.artisan.id, ctx.now, reason=reason)
    if reason == "other":
        await ctx.goto(Aftercare.COMMENT, fb_session=session_id)
        return
    await show_menu(ctx, Msg("fb.thanks_absent"))


# -- attestations -------------------------------------------------------------------------------

async def my_trainings(ctx: Context) -> None:
    assert ctx.artisan is not None
    ctx.finish()
    past = await attestation_repo.attended(ctx.conn, ctx.artisan.id, ctx.now)
    default = ctx.services.settings.default_locale
    if not past:
        await show_menu(ctx, Msg("att.none"))
        return
    lines: Text = Msg("att.title")
    choices = []
    for session_id, title, starts_at, status in past:
        name = _title(title, ctx.lang, default)
        lines = Msg("chamber.card_line", before=lines, line=Msg(
            f"att.line_{status}" if status in (EnrolmentStatus.ATTENDED, EnrolmentStatus.NO_SHOW)
            else "att.line_other",
            title=name, when=starts_at.date()))
        if status == EnrolmentStatus.ATTENDED:
            choices.append(Choice(GetAttestation(session_id), f"📜 {name}"[:60]))
    ctx.say(lines, [*choices, Choice("nav:menu", Msg("nav.menu"))])


router.menu_item(MenuItem("attest", "att.menu", my_trainings, order=65))


@router.command("attestations", registered=True, describe="cmd.attestations")
async def cmd_attestations(ctx: Context) -> None:
    await my_trainings(ctx)


@router.action(GetAttestation, registered=True)
async def get_attestation(ctx: Context, button: GetAttestation) -> None:
    assert ctx.artisan is not None
    chamber = ctx.services.settings.chamber
    att = await attestation_repo.issue(ctx.conn, button.session_id, ctx.artisan.id, ctx.now)
    if att is None:
        ctx.say(Msg("att.not_present"))
        return
    if chamber.signing_key is None:
        ctx.say(with_card(Msg("att.not_configured"), chamber))
        return
    token = sign(att.reference, chamber.signing_key.get_secret_value())
    url = f"{chamber.verify_url}/verify/{token}" if chamber.verify_url else token
    default = ctx.services.settings.default_locale
    pdf = attestation_pdf.render(
        name=att.full_name, title_ar=_title(att.title, "ar", default),
        title_fr=_title(att.title, "fr", default), venue=att.venue, starts_at=att.starts_at,
        ends_at=att.ends_at, zone=ctx.services.zone, chamber=chamber.name or "Chambre d'Artisanat",
        reference=att.reference, url=url)
    ctx.say(Msg("att.here", reference=att.reference),
            document=Document(f"attestation-{att.reference}.pdf", pdf, "application/pdf"))


# -- staff view ---------------------------------------------------------------------------------

@router.command("feedback", role="staff", describe="cmd.feedback")
async def cmd_feedback(ctx: Context) -> None:
    default = ctx.services.settings.default_locale
    items = await repo.recent_sessions(ctx.conn)
    if not items:
        ctx.say(Msg("fb.staff_none"))
        return
    ctx.say(Msg("fb.staff_pick"), [
        Choice(SessionFeedback(sid), f"{_title(title, ctx.lang, default)} ({n})"[:60])
        for sid, title, n in items])


@router.action(SessionFeedback, role="staff")
async def staff_session_feedback(ctx: Context, button: SessionFeedback) -> None:
    session_id = button.session_id
    ctx.say(await summary_text(ctx, session_id),
            [Choice(StaffCard(session_id), Msg("fb.btn_session"))])


def _reasons(ctx: Context, reasons: dict[str, int]) -> Text:
    """"🤒 Sick: 2, 🚌 Transport: 1" in the reader's language ("-" when nobody said)."""
    known = [r for r in REASONS if r in reasons]
    return Raw(", ".join(ctx.render(Msg("fb.reason_count", reason=Msg(f"fb.reason_{r}"),
                                        count=reasons[r])) for r in known)) if known else "-"


async def summary_text(ctx: Context, session_id: int) -> Msg:
    """A session's feedback for staff: responses, average, ratings by face, why absent, the
    last comments (``/feedback`` and the session's staff card)."""
    s = await repo.summary(ctx.conn, session_id)
    bars = " · ".join(f"{FACES[n]} {s.distribution[n]}" for n in range(1, 6))
    comments = "\n".join(f"• {c}" for c in s.comments[-10:]) or "-"
    return Msg("fb.staff_summary", number=session_id, responses=s.responses,
               average=s.average if s.average is not None else "-", bars=bars,
               comments=comments, reasons=_reasons(ctx, s.reasons))


async def card_line(ctx: Context, session_id: int) -> Msg | None:
    """One line for the session's staff card ("⭐ 4.5/5 · 12 ratings · absent: …"), or None
    while nobody has answered."""
    s = await repo.summary(ctx.conn, session_id)
    if not s.responses and not s.reasons:
        return None
    return Msg("fb.card_line", responses=s.responses,
               average=s.average if s.average is not None else "-", reasons=_reasons(ctx, s.reasons))


async def chamber_stats(conn: Conn) -> Msg:
    """``/stats``: questions asked, answered share, median time to answer; ratings."""
    asked = await questions_repo.figures(conn)
    rated, average = await repo.overall(conn)
    return Msg("fb.stats", asked=asked.asked, answered=round(100 * asked.answered_share),
               median=asked.median_minutes if asked.median_minutes is not None else "-",
               rated=rated, average=average if average is not None else "-")
