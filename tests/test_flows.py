"""Each feature's conversation, drawn as a Mermaid diagram in ``docs/flows/<feature>.mmd``.

The diagrams are generated from the router and the handlers' source (bot/graph.py): states (with
their role), ways in (commands, menu items, buttons, deep links, keywords), ``goto`` edges (solid)
and ``back`` edges (dotted). This test fails when a committed diagram is out of date; regenerate
them with::

    HIRFA_WRITE_FLOWS=1 .venv/bin/pytest -q tests/test_flows.py
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bot import graph
from handlers import FEATURES, build_router

FLOWS = Path(__file__).resolve().parent.parent / "docs" / "flows"
WRITE = os.environ.get("HIRFA_WRITE_FLOWS") == "1"


def _drawn() -> dict[str, str]:
    root = build_router()
    drawn = {}
    for feature in FEATURES:
        router = feature.router
        if router.states or router.commands or router.menu or router.deeplinks:
            drawn[feature.__name__.rsplit(".", 1)[-1]] = graph.flows(router, root)
    return drawn


def test_the_flow_diagrams_in_docs_are_up_to_date() -> None:
    drawn = _drawn()
    if WRITE:
        FLOWS.mkdir(parents=True, exist_ok=True)
        for gone in {p.stem for p in FLOWS.glob("*.mmd")} - set(drawn):
            (FLOWS / f"{gone}.mmd").unlink()
        for name, text in drawn.items():
            (FLOWS / f"{name}.mmd").write_text(text, encoding="utf-8")
    committed = {p.stem: p.read_text(encoding="utf-8") for p in FLOWS.glob("*.mmd")}
    stale = sorted(n for n in drawn.keys() | committed.keys() if drawn.get(n) != committed.get(n))
    if stale:
        pytest.fail(f"docs/flows is out of date for {', '.join(stale)}: run "
                    "HIRFA_WRITE_FLOWS=1 .venv/bin/pytest -q tests/test_flows.py")


def test_a_diagram_shows_the_states_and_both_kinds_of_edges() -> None:
    registration = _drawn()["registration"]
    assert 's_reg_consent["reg.consent"]' in registration
    assert "c_start --> s_reg_lang" in registration  # /start opens the flow
    assert "s_reg_lang --> s_reg_consent" in registration  # a goto
    assert "s_reg_consent -. back .-> s_reg_lang" in registration  # a back= edge
