"""How ``hirfa`` subcommands are declared: by the feature that owns them, imported statically.

A feature appends a *register* function to its router's ``cli`` list (as it appends periodic jobs
to ``router.jobs``)::

    router.cli.append(register)

    def register(sub: Subparsers) -> None:
        p = subgroup(sub, "export", "export records to a .csv or .xlsx file").add_parser("things")
        p.add_argument("--lang", choices=LANGUAGES, default="en")
        p.set_defaults(func=export_things)

    async def export_things(services: Services, args: argparse.Namespace) -> int: ...

``bot/cli.py`` builds the parser from the core commands and the router, runs the chosen
``func`` with the application's services (migrated database, no channel started) and exits with
the ``int`` it returns. Several features share a verb (``hirfa import sessions|certifications``):
:func:`subgroup` returns the verb's own subparsers, created by whichever feature registers first.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TypeAlias

Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
# Adds a feature's parsers to ``hirfa``'s subparsers.
Register: TypeAlias = Callable[[Subparsers], None]


def subgroup(subparsers: Subparsers, verb: str, help_text: str) -> Subparsers:
    """The subparsers of ``hirfa <verb>`` (e.g. ``import``), shared by every feature."""
    parser = subparsers.choices.get(verb)
    if parser is None:
        parser = subparsers.add_parser(verb, help=help_text)
        kinds = parser.add_subparsers(dest=f"{verb}_kind", required=True, metavar="KIND")
        parser.set_defaults(_kinds=kinds)
        return kinds
    kinds_of_verb: Subparsers = parser.get_default("_kinds")
    return kinds_of_verb
