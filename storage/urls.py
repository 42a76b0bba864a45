"""Database URLs: what kind of database a URL names (no imports, so settings can use it)."""

from __future__ import annotations


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def is_memory(url: str) -> bool:
    """An in-memory SQLite URL (not supported: the bot, its jobs and its CLI share one file)."""
    bare = url.rstrip("/").endswith(("sqlite:", "aiosqlite:"))
    return is_sqlite(url) and (url.endswith(":memory:") or bare)
