"""Every staff action — commands, buttons and conversation steps — refused to artisans and to
unknown users, and logged."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import select

from storage import conversations as conversation_repo
from storage.schema import conversations
from tests.harness import Harness

ARTISAN, STRANGER = 801, 802
REFUSAL = "réservé au personnel"


def staff_commands(h: Harness) -> list[str]:
    return sorted(name for name, c in h.app.router.commands.items() if c.role)


def staff_actions(h: Harness) -> list[str]:
    return sorted({a.prefix for a in h.app.router.actions if a.role})


def staff_states(h: Harness) -> list[str]:
    return sorted(name for name, s in h.app.router.states.items() if s.role)


async def test_the_matrix_is_not_empty(h: Harness) -> None:
    assert staff_commands(h) and staff_actions(h) and staff_states(h)


@pytest.mark.parametrize("who", [ARTISAN, STRANGER])
async def test_staff_commands_are_refused(h: Harness, who: int, caplog: pytest.LogCaptureFixture) -> None:
    if who == ARTISAN:
        await h.register(ARTISAN, "fr")
    caplog.set_level(logging.WARNING, logger="bot.dialogue")
    for name in staff_commands(h):
        await h.send(who, f"/{name} 1")
        assert REFUSAL in h.last_text(who), name
    assert len([r for r in caplog.records if "refused" in r.getMessage()]) >= len(staff_commands(h))


@pytest.mark.parametrize("who", [ARTISAN, STRANGER])
async def test_staff_buttons_are_refused(h: Harness, who: int) -> None:
    if who == ARTISAN:
        await h.register(ARTISAN, "fr")
    for prefix in staff_actions(h):
        await h.press_data(who, f"{prefix}:1")
        assert REFUSAL in h.last_text(who), prefix


@pytest.mark.parametrize("who", [ARTISAN, STRANGER])
async def test_staff_steps_are_refused_even_mid_flow(h: Harness, who: int) -> None:
    """A user whose stored state somehow points into a staff flow cannot act in it."""
    if who == ARTISAN:
        await h.register(ARTISAN, "fr")
    for state in staff_states(h):
        async with h.app.db.transaction() as conn:
            await conversation_repo.save(conn, "telegram", str(who), state, {}, h.clock.now())
        await h.send(who, "1")
        assert REFUSAL in h.last_text(who), state
        async with h.app.db.read() as conn:
            left = (await conn.execute(select(conversations.c.state).where(
                conversations.c.user_id == str(who)))).scalar()
        assert left is None, state
