"""The conversation graph is checked when the router is built (bot/graph.py).

Before this check, two features registering the same command silently kept the first one, the
same deep link the last one, and a ``back=`` or ``goto`` to a state nobody registered only
failed when a user reached it. Steps are now enum members (``bot.dialogue.Step``): a misspelt
``goto`` is a mypy error (see :func:`_misspelt`), and start-up checks that every member is a
registered state.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

import pytest

from bot import graph
from bot.dialogue import Context, Handler, MenuItem, Router, State, Step
from bot.graph import GraphError
from bot.payloads import Payload
from handlers import build_router
from handlers.registration import Reg


async def _first(ctx: Context) -> None:
    """A handler of one feature."""


async def _second(ctx: Context) -> None:
    """A handler of another feature."""


class X(Step):
    NAME = "x.name"
    PHONE = "x.phone"


class Y(Step):
    FIRST = "y.first"
    SECOND = "y.second"


class Misspelt(Step):
    NAME = "x.nmae"


async def _misspelt(ctx: Context) -> None:
    """Never run: mypy (which checks the tests, with ``warn_unused_ignores``) proves that
    ``goto`` refuses a plain string. Were ``goto`` to take one again, this ignore would be
    unused and mypy would fail."""
    await ctx.goto("reg.nmae")  # type: ignore[arg-type]
    await ctx.goto(Reg.NAME)


def _one_line(error: pytest.ExceptionInfo[GraphError]) -> str:
    message = str(error.value)
    assert "\n" not in message
    return message


def test_two_features_with_the_same_command_stop_start_up() -> None:
    one, two = Router(), Router()
    one.command("help")(_first)
    two.command("help")(_second)
    root = Router()
    root.include(one)
    with pytest.raises(GraphError) as error:
        root.include(two)
    assert _one_line(error) == ("command '/help' is claimed twice: by tests.test_graph "
                                "and by tests.test_graph")


def test_the_same_command_twice_in_one_feature_is_refused() -> None:
    one = Router()
    one.command("help")(_first)
    with pytest.raises(GraphError, match="command '/help' is claimed twice"):
        one.command("help")(_second)


@pytest.mark.parametrize(("kind", "register"), [
    ("deep-link prefix 's'", lambda r, fn: r.deeplinks.__setitem__("s", fn)),
    ("menu item 'trainings'", lambda r, fn: r.menu_item(MenuItem("trainings", "sess.menu", fn))),
    ("keyword 'menu'", lambda r, fn: r.keyword(["Menu"], fn)),
])
def test_two_features_with_the_same_entry_stop_start_up(
    kind: str, register: Callable[[Router, Handler], object],
) -> None:
    one, two = Router(), Router()
    register(one, _first)
    register(two, _second)
    root = Router()
    root.include(one)
    with pytest.raises(GraphError) as error:
        root.include(two)
    assert _one_line(error).startswith(f"{kind} is claimed twice")


@dataclass(frozen=True)
class _Open(Payload):
    prefix: ClassVar[str] = "s:open"
    session_id: int


@dataclass(frozen=True)
class _OpenToo(Payload):
    """Another feature's button with the same prefix (its ids would reach either handler)."""

    prefix: ClassVar[str] = "s:open"
    thing: str


async def _open(ctx: Context, button: _Open) -> None:
    """A button handler of one feature."""


async def _open_too(ctx: Context, button: _OpenToo) -> None:
    """A button handler of another feature."""


def test_two_features_with_the_same_button_prefix_stop_start_up() -> None:
    one, two = Router(), Router()
    one.action(_Open)(_open)
    two.action(_OpenToo)(_open_too)
    root = Router()
    root.include(one)
    with pytest.raises(GraphError) as error:
        root.include(two)
    assert _one_line(error).startswith("button prefix 's:open' is claimed twice")


def test_the_same_button_prefix_twice_in_one_feature_is_refused() -> None:
    one = Router()
    one.action(_Open)(_open)
    with pytest.raises(GraphError, match="button prefix 's:open' is claimed twice"):
        one.action(_OpenToo)(_open_too)


def test_a_back_to_a_state_nobody_registers_stops_start_up() -> None:
    feature = Router()
    feature.state(State(X.NAME, _first, _first))
    feature.state(State(X.PHONE, _first, _first, back=Misspelt.NAME))
    root = Router()
    root.include(feature)
    with pytest.raises(GraphError) as error:
        root.check(packages=())
    assert _one_line(error) == "state 'x.phone' goes back to 'x.nmae', which no feature registers"


def test_a_step_nobody_registers_stops_start_up() -> None:
    """``goto(Y.SECOND)`` type-checks; had no feature registered it, a user reaching it would
    have met an error at run time. Checked: the enums of registered states, and every enum
    declared in the packages (here the tests: ``Misspelt`` has no state at all)."""
    feature = Router()
    feature.state(State(Y.FIRST, _first, _first))
    with pytest.raises(GraphError) as error:
        feature.check(packages=())
    assert _one_line(error) == ("step tests.test_graph.Y.SECOND ('y.second') is not registered "
                                "as a state")
    feature.state(State(Y.SECOND, _first, _first))
    feature.check(packages=())
    with pytest.raises(GraphError, match=r"step tests\.test_graph\.Misspelt\.NAME \('x\.nmae'\)"):
        feature.check(packages=("tests",))


def test_the_real_router_builds_clean_and_its_gotos_are_read() -> None:
    router = build_router()
    found = graph.gotos()
    assert len(found) > 50
    states = set(router.states)
    # The editor's Editor(f"sa.{STEPS[index]}") is read as every step of the session editor.
    editor = [g for g in found if g.module == "handlers.sessions.editor" and len(g.targets) > 5]
    assert editor and set(editor[0].targets) <= states
    # Members are read, also of an enum imported from another feature (Prof, Reg in core).
    core = [g for g in found if g.module == "handlers.core"]
    assert [set(g.targets) for g in core] == [{"prof.lang", "reg.lang"}]
    # A back button of the registration flow leads to a registered state.
    assert all(s.back in states for s in router.states.values() if s.back)
