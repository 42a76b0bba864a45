"""The database handle: an async engine with SQLite set up for a chat bot, and migrations.

SQLite runs in WAL mode with foreign keys on and a busy timeout; every transaction starts with
``BEGIN IMMEDIATE`` so two updates that both write (say, two artisans taking the last seat) are
serialised by the database itself rather than by luck.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import StaticPool

MIGRATIONS = Path(__file__).with_name("migrations")


def _is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def _is_memory(url: str) -> bool:
    return _is_sqlite(url) and (url.endswith(":memory:") or url.rstrip("/").endswith("aiosqlite:"))


def make_engine(url: str) -> AsyncEngine:
    """Create the engine; for SQLite, install the pragmas and ``BEGIN IMMEDIATE``."""
    kwargs: dict[str, Any] = {}
    if _is_memory(url):
        kwargs["poolclass"] = StaticPool
        kwargs["connect_args"] = {"check_same_thread": False}
    engine = create_async_engine(url, **kwargs)
    if _is_sqlite(url):
        sync_engine = engine.sync_engine

        @event.listens_for(sync_engine, "connect")
        def _on_connect(dbapi_connection: Any, _record: Any) -> None:
            # Let us issue BEGIN ourselves (pysqlite's implicit transactions are off).
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            if not _is_memory(url):
                cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=10000")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        @event.listens_for(sync_engine, "begin")
        def _on_begin(conn: Connection) -> None:
            # Writers take the write lock up front; readers use a plain (deferred) BEGIN.
            read_only = conn.get_execution_options().get("hirfa_read_only", False)
            conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")

    return engine


class Database:
    """Owns the engine; hands out transactions. Built once by the application."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        # SQLite has one writer at a time. Queueing our own writers here, instead of letting
        # them collide on the file lock, avoids SQLite's busy handler, which sleeps in steps of
        # up to 100 ms. Other processes (a CLI import) still wait through busy_timeout.
        self._writer = asyncio.Lock() if _is_sqlite(url) else None

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncConnection]:
        """One unit of work: commits on success, rolls back on any exception."""
        if self._writer is None:
            async with self.engine.begin() as conn:
                yield conn
            return
        async with self._writer, self.engine.begin() as conn:
            yield conn

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        """A connection for reads only (still a transaction, rolled back at the end)."""
        async with self.engine.connect() as conn:
            yield await conn.execution_options(hirfa_read_only=True)

    async def upgrade(self, revision: str = "heads") -> None:
        """Apply Alembic migrations up to ``revision`` (all feature branches by default)."""
        async with self.engine.connect() as conn:
            await conn.run_sync(_run_upgrade, revision)
            await conn.commit()

    async def current_revisions(self) -> set[str]:
        async with self.engine.connect() as conn:
            return await conn.run_sync(_current)

    async def dispose(self) -> None:
        await self.engine.dispose()


def alembic_config(connection: Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg


def _run_upgrade(connection: Connection, revision: str) -> None:
    command.upgrade(alembic_config(connection), revision)


def _current(connection: Connection) -> set[str]:
    from alembic.runtime.migration import MigrationContext

    return set(MigrationContext.configure(connection).get_current_heads())
