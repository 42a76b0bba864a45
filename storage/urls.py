"""Database URLs: what kind of database a URL names (no imports, so settings can use it).

Two backends: SQLite (the default, one file) and PostgreSQL (several processes, one server).
People write the plain forms (``sqlite:///hirfa.db``, ``postgresql://user@host/db``); the
application needs the async drivers' forms, which :func:`async_url` gives.
"""

from __future__ import annotations

_PG_PREFIXES = ("postgresql+asyncpg://", "postgresql://", "postgres://")


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def is_postgres(url: str) -> bool:
    return url.startswith(_PG_PREFIXES)


def is_memory(url: str) -> bool:
    """An in-memory SQLite URL (not supported: the bot, its jobs and its CLI share one file)."""
    bare = url.rstrip("/").endswith(("sqlite:", "aiosqlite:"))
    return is_sqlite(url) and (url.endswith(":memory:") or bare)


def async_url(url: str) -> str:
    """The URL with its async driver: ``sqlite+aiosqlite://`` or ``postgresql+asyncpg://``.

    Raises ``ValueError`` for any other kind of URL.
    """
    if url.startswith("sqlite:///"):
        return "sqlite+aiosqlite:///" + url.removeprefix("sqlite:///")
    for prefix in _PG_PREFIXES:
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url.removeprefix(prefix)
    if url.startswith("sqlite+aiosqlite://"):
        return url
    raise ValueError("use sqlite:///path.db or postgresql://user@host/db")


def plain_url(url: str) -> str:
    """The libpq form of a PostgreSQL URL (for ``pg_dump`` / ``psql``), without the driver."""
    for prefix in _PG_PREFIXES:
        if url.startswith(prefix):
            return "postgresql://" + url.removeprefix(prefix)
    raise ValueError("not a PostgreSQL URL")


def redacted(url: str) -> str:
    """The URL with any password replaced by ``***`` (for logs and messages)."""
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest:
        return url
    creds, _, host = rest.rpartition("@")
    user, colon, _password = creds.partition(":")
    return f"{scheme}://{user}{':***' if colon else ''}@{host}"
