"""Small SQL helpers that keep queries portable between SQLite and PostgreSQL."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite

from storage.database import Conn


@lru_cache(maxsize=64)
def _insert_ignore(dialect: str, table: Table) -> Any:
    module: Any = postgresql if dialect == "postgresql" else sqlite
    return module.insert(table).on_conflict_do_nothing()


async def insert_ignore(conn: Conn, table: Table, values: dict[str, Any]) -> bool:
    """``INSERT ... ON CONFLICT DO NOTHING``; True when a row was inserted.

    The statement is built once per table (and its compiled form cached by SQLAlchemy); the
    values travel as parameters.
    """
    result = await conn.execute(_insert_ignore(conn.dialect.name, table), values)
    return bool(result.rowcount)


async def insert_ignore_many(conn: Conn, table: Table, rows: list[dict[str, Any]]) -> int:
    """One multi-row ``INSERT ... ON CONFLICT DO NOTHING``; returns how many rows were inserted."""
    if not rows:
        return 0
    if conn.dialect.name == "postgresql":
        stmt: Any = postgresql.insert(table).values(rows).on_conflict_do_nothing()
    else:
        stmt = sqlite.insert(table).values(rows).on_conflict_do_nothing()
    result = await conn.execute(stmt)
    return int(result.rowcount or 0)
