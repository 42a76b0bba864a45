"""How a session reads: title in the reader's language, the card, list lines, notices.

Everything here returns :class:`~bot.i18n.Msg` trees (not rendered text), so the same card is
rendered for each reader in their language and zone, whether it is a direct reply or an outbox
notice.
"""

from __future__ import annotations

from bot.i18n import Msg, Text
from storage.enrolments import Enrolment, EnrolmentStatus
from storage.sessions import Listed, Session, pick_text

LANGUAGES = ("ar", "fr", "en")


def title_of(session: Session, lang: str, default: str) -> str:
    return pick_text(session.title, lang, default)[0]


def fallback_note(texts: dict[str, str], lang: str, default: str) -> Text:
    """" (in French)" when the text is not in the reader's language, else nothing."""
    _, used = pick_text(texts, lang, default)
    if used == lang or not texts:
        return ""
    return Msg("sess.fallback_note", language=Msg(f"sess.lang_{used}"))


def duration_text(minutes: int) -> Msg:
    if minutes % 60 == 0:
        return Msg("sess.hours", count=minutes // 60)
    return Msg("sess.minutes", count=minutes)


def audience_text(session: Session) -> Msg:
    craft = Msg(f"craft.{session.craft}") if session.craft else Msg("sess.all_crafts")
    region = Msg(f"region.{session.region}") if session.region else Msg("sess.all_regions")
    return Msg("sess.audience", craft=craft, region=region)


def seats_text(listed: Listed) -> Msg:
    if listed.seats_left > 0:
        return Msg("sess.seats_left", count=listed.seats_left)
    if listed.waiting == 0:
        return Msg("sess.full_no_wait")
    return Msg("sess.full", count=listed.waiting)


def mine_text(enrolment: Enrolment | None, rank: int | None) -> Text:
    if enrolment is None:
        return ""
    if enrolment.status == EnrolmentStatus.ENROLLED:
        return Msg("sess.you_are_enrolled")
    if enrolment.status == EnrolmentStatus.WAITLISTED and rank is not None:
        return Msg("sess.you_are_waiting", position=rank)
    return ""


def card(
    listed: Listed, lang: str, default: str, *, mine: Text = "", staff: Text = ""
) -> Msg:
    """The session card: title, when, how long, where, for whom, seats, your place, details."""
    s = listed.session
    title, _ = pick_text(s.title, lang, default)
    description, _ = pick_text(s.description, lang, default)
    return Msg(
        "sess.card",
        title=title,
        fallback=fallback_note(s.title, lang, default),
        when=s.starts_at,
        duration=duration_text(int((s.ends_at - s.starts_at).total_seconds() // 60)),
        venue=s.venue,
        audience=audience_text(s),
        seats=seats_text(listed),
        mine=mine,
        description=Msg("sess.description", text=description) if description else "",
        staff=staff,
    )


def short(session: Session, lang: str, default: str) -> dict[str, object]:
    """Parameters shared by notices: ``title``, ``when``, ``venue``."""
    return {"title": title_of(session, lang, default), "when": session.starts_at, "venue": session.venue}
