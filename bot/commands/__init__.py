"""Feature subcommands of ``hirfa`` (import, export, stats, ...).

Each module here defines ``register(subparsers)`` (adding its parser and setting
``func=<async callable(app, args) -> int>`` as default) and is listed in :data:`MODULES`.
The CLI builds the application (migrated database, no channels started) and awaits ``func``.

Several features share a verb (``hirfa import sessions|artisans|...``): use :func:`subgroup`
to get the verb's own subparsers, created by whichever feature registers first.
"""

from __future__ import annotations

from typing import Any

MODULES: list[str] = ["backup", "sessions", "certifications", "whatsapp", "broadcasts", "report",
                     "translations"]


def subgroup(subparsers: Any, verb: str, help_text: str) -> Any:
    """The subparsers of ``hirfa <verb>`` (e.g. ``import``), shared by every feature."""
    parser = subparsers.choices.get(verb)
    if parser is None:
        parser = subparsers.add_parser(verb, help=help_text)
        kinds = parser.add_subparsers(dest=f"{verb}_kind", required=True, metavar="KIND")
        parser.set_defaults(_kinds=kinds)
        return kinds
    return parser.get_default("_kinds")


__all__ = ["MODULES", "subgroup"]
