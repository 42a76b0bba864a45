"""Time zones from the ``tzdata`` package, never from the operating system.

Morocco's rules changed in 2026 (tzdata 2026c: permanent UTC+0 from 2026-09-20). Many systems ship
an older zone database, and ``zoneinfo`` prefers the system's copy; reading the zone files straight
from the ``tzdata`` package keeps every machine on the same, current rules.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from zoneinfo import ZoneInfo

import tzdata

MINIMUM_TZDATA = "2026c"


@lru_cache(maxsize=64)
def load_zone(name: str) -> ZoneInfo:
    """Return the zone ``name`` (e.g. ``Africa/Casablanca``) from the tzdata package."""
    if name in ("UTC", "Etc/UTC"):
        name = "Etc/UTC"
    parts = name.split("/")
    if not name or any(not p or p.startswith(".") for p in parts):
        raise ValueError(f"unknown time zone {name!r}")
    node = resources.files("tzdata.zoneinfo")
    for part in parts:
        node = node.joinpath(part)
    try:
        with node.open("rb") as fh:
            return ZoneInfo.from_file(fh, key=name)
    except (FileNotFoundError, IsADirectoryError, ValueError):
        raise ValueError(f"unknown time zone {name!r}") from None


def tzdata_version() -> str:
    return str(tzdata.IANA_VERSION)


def tzdata_is_current() -> bool:
    """True when the installed tzdata knows Morocco's 2026 change."""
    return tzdata_version() >= MINIMUM_TZDATA
