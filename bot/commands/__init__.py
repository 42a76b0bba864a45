"""Feature subcommands of ``hirfa`` (import, export, stats, ...).

Each module here defines ``register(subparsers)`` (adding its parser and setting
``func=<async callable(app, args) -> int>`` as default) and is listed in :data:`MODULES`.
The CLI builds the application (migrated database, no channels started) and awaits ``func``.

Several features add to the same verb (``hirfa import sessions``, ``hirfa import
certifications``): get the verb's sub-parsers with :func:`group` instead of adding the verb
again (argparse refuses a verb added twice).
"""

from __future__ import annotations

import argparse
from typing import Any

MODULES: list[str] = ["certifications"]


def group(subparsers: Any, verb: str, help_text: str) -> Any:
    """The sub-parsers of ``hirfa <verb>``, created by the first feature that asks."""
    parser = subparsers.choices.get(verb)
    if parser is None:
        parser = subparsers.add_parser(verb, help=help_text)
    kinds = getattr(parser, "hirfa_kinds", None)
    if kinds is None:
        assert isinstance(parser, argparse.ArgumentParser)
        kinds = parser.add_subparsers(dest="kind", required=True, metavar="WHAT")
        parser.hirfa_kinds = kinds  # type: ignore[attr-defined]
    return kinds
