"""The conversations, one module per feature, gathered in order by :func:`build_router`.

Handlers never import a platform: they read :class:`~bot.messages.Incoming`, write through
``storage`` repositories and answer with ``ctx.say(...)``.
"""

from __future__ import annotations

from bot.dialogue import Router
from handlers import (
    aftercare,
    alerts,
    broadcasts,
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
    voice,
)

# Every feature, in the order its router is included (registration is the catch-all for new users).
FEATURES = (core, registration, profile, privacy, sessions, certification, broadcasts, staff,
            voice, questions, alerts, aftercare, console_link, report)


def build_router() -> Router:
    """Every feature's router, in order, with the conversation graph checked (bot/graph.py):
    a conflict or a missing state stops start-up with one line naming it."""
    root = Router()
    for feature in FEATURES:
        root.include(feature.router)
    return root.check()
