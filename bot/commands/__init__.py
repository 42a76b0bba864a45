"""Feature subcommands of ``hirfa`` (import, export, stats, ...).

Each module here defines ``register(subparsers)`` (adding its parser and setting
``func=<async callable(app, args) -> int>`` as default) and is listed in :data:`MODULES`.
The CLI builds the application (migrated database, no channels started) and awaits ``func``.
"""

from __future__ import annotations

MODULES: list[str] = ["broadcasts"]
