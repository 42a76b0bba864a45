"""The conversations, one module per feature, gathered in order by :func:`build_router`.

Handlers never import a platform: they read :class:`~bot.messages.Incoming`, write through
``storage`` repositories and answer with ``ctx.say(...)``.
"""

from __future__ import annotations

from bot.dialogue import Router
from handlers import (
    aftercare,
    alerts,
    announcements,
    broadcast,
    broadcast_list,
    certification,
    console_link,
    core,
    privacy,
    profile,
    questions,
    registration,
    report,
    sessions,
    staff,
    stats,
    stats_cli,
    voice,
)


def build_router() -> Router:
    """Every feature's router, in order; registration is the catch-all for new users."""
    root = Router()
    for feature in (core.router, registration.router, profile.router, privacy.router,
                    sessions.router, certification.router, broadcast.router,
                    broadcast_list.router, staff.router, announcements.router, stats.router,
                    stats_cli.router, voice.router, questions.router, alerts.router, aftercare.router,
                    console_link.router, report.router):
        root.include(feature)
    return root
