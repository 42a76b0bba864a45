"""Copy a whole database into another (a chamber's SQLite file into PostgreSQL).

The target gets the same Alembic migrations first, so both schemas are identical; then every
table is copied in foreign-key order, in batches, keeping primary keys. A row already in the
target is overwritten with the source's version (an upsert), so the copy is safe to re-run:
run it once while the bot still serves from SQLite, stop the bot, run it again (only what
changed moves), and switch ``HIRFA_DATABASE_URL``. Counts are compared table by table at the end.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Integer, Table, func, select, text, tuple_
from sqlalchemy.dialects import postgresql, sqlite

import storage
from storage.database import Conn, Database
from storage.schema import metadata

BATCH = 500


@dataclass(frozen=True)
class Copied:
    table: str
    source: int
    target: int

    @property
    def ok(self) -> bool:
        return self.source == self.target


def all_tables() -> list[Table]:
    """Every table of the application, parents before children (each feature declares its
    tables in its own module; importing them all puts them on the one metadata)."""
    for module in pkgutil.iter_modules(storage.__path__):
        if module.name not in ("migrations", "copy"):
            importlib.import_module(f"storage.{module.name}")
    return list(metadata.sorted_tables)


def _upsert(conn: Conn, table: Table) -> Any:
    module: Any = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = module.insert(table)
    keys = [c.name for c in table.primary_key.columns]
    others = {c.name: stmt.excluded[c.name] for c in table.columns if c.name not in keys}
    return stmt.on_conflict_do_update(index_elements=keys, set_=others) if others else (
        stmt.on_conflict_do_nothing(index_elements=keys))


async def _count(conn: Conn, table: Table) -> int:
    return int((await conn.execute(select(func.count()).select_from(table))).scalar_one())


async def copy_database(source: Database, target: Database,
                        progress: Callable[[str, int], None] | None = None) -> list[Copied]:
    """Copy every table of ``source`` into ``target`` (migrated first); the counts after."""
    await target.upgrade()
    tables = all_tables()
    for table in tables:
        keys = list(table.primary_key.columns)
        last: tuple[object, ...] | None = None
        moved = 0
        while True:  # keyset pagination: each batch is one read and one write transaction
            query = select(table).order_by(*keys).limit(BATCH)
            if last is not None and len(keys) == 1:
                query = query.where(keys[0] > last[0])
            elif last is not None:
                query = query.where(tuple_(*keys) > tuple_(*last))
            async with source.read() as conn:
                rows = [dict(r) for r in (await conn.execute(query)).mappings()]
            if not rows:
                break
            async with target.transaction() as conn:
                await conn.execute(_upsert(conn, table), rows)
            last = tuple(rows[-1][k.name] for k in keys)
            moved += len(rows)
        if progress is not None:
            progress(table.name, moved)
    async with target.transaction() as conn:
        if conn.dialect.name == "postgresql":
            await _reset_sequences(conn, tables)
    report = []
    async with source.read() as src, target.read() as dst:
        for table in tables:
            report.append(Copied(table.name, await _count(src, table), await _count(dst, table)))
    return report


async def _reset_sequences(conn: Conn, tables: list[Table]) -> None:
    """Rows came with their ids, so each id sequence must continue after the largest one."""
    for table in tables:
        keys = list(table.primary_key.columns)
        if len(keys) != 1 or not isinstance(keys[0].type, Integer):
            continue
        await conn.execute(text(
            f"SELECT setval(pg_get_serial_sequence('{table.name}', '{keys[0].name}'),"
            f" COALESCE((SELECT max({keys[0].name}) FROM {table.name}), 0) + 1, false)"
        ))
