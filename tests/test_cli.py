"""The ``hirfa`` command line is built from the core commands and what each feature declares on
its router (``router.cli``): every command keeps its name, and a feature's is found by import."""

from __future__ import annotations

import argparse

import pytest

from bot.cli import parser
from handlers import build_router


def _subcommands(p: argparse.ArgumentParser) -> dict[str, set[str]]:
    """``{command: {kind, ...}}`` of the parser (kinds of ``import``/``export``, ``whatsapp`` ...)."""
    top = next(a for a in p._actions if isinstance(a, argparse._SubParsersAction))
    found: dict[str, set[str]] = {}
    for name, sub in top.choices.items():
        kinds = [a for a in sub._actions if isinstance(a, argparse._SubParsersAction)]
        found[name] = set(kinds[0].choices) if kinds else set()
    return found


def test_every_command_is_on_the_command_line() -> None:
    assert _subcommands(parser()) == {
        "shell": set(), "run": set(), "db": set(), "backup": set(),
        "import": {"sessions", "certifications"}, "export": {"enrolments", "deliveries"},
        "stats": set(), "report": set(), "whatsapp": {"templates"},
        "translations": {"export", "import"},
    }


def test_a_feature_command_comes_from_the_router() -> None:
    """Without the features' registrations only the core commands and tools remain."""
    assert set(_subcommands(parser(features=[]))) == {
        "shell", "run", "db", "backup", "whatsapp", "translations"}
    assert len(build_router().cli) == 4  # sessions, certification, stats/deliveries, report


def test_a_shared_verb_keeps_every_kind() -> None:
    args = parser().parse_args(["import", "certifications", "register.csv", "--dry-run"])
    assert args.import_kind == "certifications" and args.dry_run
    args = parser().parse_args(["export", "enrolments", "--session", "3"])
    assert args.export_kind == "enrolments" and args.session == 3
    with pytest.raises(SystemExit) as exit_:
        parser().parse_args(["import", "nothing", "x.csv"])
    assert exit_.value.code == 2
