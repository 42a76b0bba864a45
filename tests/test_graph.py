"""The conversation graph is checked when the router is built (bot/graph.py).

Before this check, two features registering the same command silently kept the first one, the
same deep link the last one, and a ``back=`` or ``goto`` to a state nobody registered only
failed when a user reached it.
"""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import pytest

from bot import graph
from bot.dialogue import Context, Handler, MenuItem, Router, State
from bot.graph import GraphError
from bot.payloads import Payload
from handlers import build_router


async def _first(ctx: Context) -> None:
    """A handler of one feature."""


async def _second(ctx: Context) -> None:
    """A handler of another feature."""


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
    feature.state(State("x.name", _first, _first))
    feature.state(State("x.phone", _first, _first, back="x.nmae"))
    root = Router()
    root.include(feature)
    with pytest.raises(GraphError) as error:
        root.check()
    assert _one_line(error) == "state 'x.phone' goes back to 'x.nmae', which no feature registers"


def _package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, source: str) -> None:
    package = tmp_path / name
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "steps.py").write_text('FIRST = "y.first"\nSTEPS = ("a", "b")\n')
    (package / "flow.py").write_text(textwrap.dedent(source))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, name, raising=False)


@pytest.mark.parametrize(("source", "wrong"), [
    ('async def f(ctx):\n    await ctx.goto("y.secnd")\n', "state 'y.secnd'"),
    ('from .steps import FIRST\nasync def f(ctx):\n    await ctx.goto(FIRST)\n', "state 'y.first'"),
    ('from .steps import STEPS\nasync def f(ctx, i):\n    await ctx.goto(f"y.{STEPS[i]}")\n',
     "state 'y.a'"),
    ('async def f(ctx, ok):\n    await ctx.goto("y.second" if ok else "y.thrid")\n',
     "state 'y.thrid'"),
    ('async def f(ctx, what):\n    await ctx.goto(f"z.{what}")\n', "a state 'z.'..."),
])
def test_a_goto_to_a_state_nobody_registers_stops_start_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, source: str, wrong: str,
) -> None:
    name = f"graphcase{abs(hash(source))}"
    _package(tmp_path, monkeypatch, name, source)
    feature = Router()
    feature.state(State("y.second", _first, _first))
    with pytest.raises(GraphError) as error:
        graph.check(feature, (name,))
    assert _one_line(error).startswith(f"{name}.flow:")
    assert wrong in _one_line(error)


def test_the_real_router_builds_clean_and_its_gotos_are_read() -> None:
    router = build_router()
    found = graph.gotos()
    assert len(found) > 50
    states = set(router.states)
    # The editor's f"sa.{STEPS[index]}" is read as every step of the session editor.
    editor = [g for g in found if g.module == "handlers.sessions.editor" and len(g.targets) > 5]
    assert editor and set(editor[0].targets) <= states
    # A back button of the registration flow leads to a registered state.
    assert all(s.back in states for s in router.states.values() if s.back)
