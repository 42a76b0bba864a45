"""The database handle: transactions for a chat bot, on SQLite by default, and migrations.

Every repository function takes a :class:`Conn`, an async connection inside one transaction.
Where its statements run depends on the backend and on the kind of transaction:

* **SQLite writes** (:meth:`Database.transaction`, one per update) run on the event loop
  itself, through SQLAlchemy's synchronous ``pysqlite`` driver. A handful of small indexed
  statements on a local file in WAL mode take microseconds each; handing each one to a worker
  thread (as ``aiosqlite`` does, three or four hops per statement) cost more than the
  statements, and was the largest item in a profile of the update path (see bench/README.md).
  Writers in this process are queued on an asyncio lock; a writer in another process (a CLI
  import) is waited for with ``asyncio.sleep`` between short attempts, so the loop never blocks
  on the file lock for more than ``LOOP_BUSY_MS``.
* **SQLite reads** (:meth:`Database.read`: exports, statistics, the reminder scan, the outbox's
  look-ups) run in ``aiosqlite``'s thread, so a long read never stalls the conversation.
* **PostgreSQL** runs everything through the async driver (``asyncpg``).

SQLite runs in WAL mode with foreign keys on; every write transaction starts with
``BEGIN IMMEDIATE`` so two updates that both write (say, two artisans taking the last seat) are
serialised by the database itself rather than by luck.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar, TypeVarTuple, overload

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, event, text
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.engine import Connection, CursorResult, Dialect, Engine
from sqlalchemy.engine.cursor import FullyBufferedCursorFetchStrategy
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.sql import Executable
from sqlalchemy.sql.selectable import TypedReturnsRows

from storage.urls import async_url, is_memory, is_sqlite

log = logging.getLogger(__name__)
MIGRATIONS = Path(__file__).with_name("migrations")
LOOP_BUSY_MS = 20
"""How long a statement run on the event loop may wait for another process's lock."""
BUSY_TIMEOUT_S = 10.0
"""How long a writer waits, in all, for another process to finish writing."""
WRITERS_GAP_S = 0.15
"""How long a long job leaves SQLite's write lock free between two of its transactions. The
lock is not a queue: a waiting writer retries every 100 ms at most (SQLite's busy handler, and
our own back-off in :meth:`Database._begin_immediate`), so a shorter gap is usually missed."""

_T = TypeVar("_T")
_Ts = TypeVarTuple("_Ts")
Params = Mapping[str, Any] | Sequence[Mapping[str, Any]] | None


def _sync_url(url: str) -> str:
    """The same SQLite database through the standard library's driver."""
    return "sqlite://" + url.split("://", 1)[1]


def _install_sqlite_hooks(engine: Engine, busy_ms: int) -> None:
    """Pragmas on every new connection, and ``BEGIN`` / ``BEGIN IMMEDIATE`` issued by us."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let us issue BEGIN ourselves (pysqlite's implicit transactions are off).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={busy_ms}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        # Deleted personal data is overwritten with zeros, not left in free pages (this build of
        # SQLite happens to default to it; others do not).
        cursor.execute("PRAGMA secure_delete=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # Writers take the write lock up front; readers use a plain (deferred) BEGIN.
        read_only = conn.get_execution_options().get("hirfa_read_only", False)
        conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


def make_engine(url: str) -> AsyncEngine:
    """The async engine (aiosqlite or asyncpg); for SQLite, with our pragmas and BEGINs."""
    engine = create_async_engine(url)
    if is_sqlite(url):
        _install_sqlite_hooks(engine.sync_engine, int(BUSY_TIMEOUT_S * 1000))
    return engine


def make_loop_engine(url: str) -> Engine:
    """A synchronous SQLite engine whose statements run on the event loop (see module doc)."""
    engine = create_engine(
        _sync_url(url), pool_reset_on_return=None, connect_args={"check_same_thread": False}
    )
    _install_sqlite_hooks(engine, LOOP_BUSY_MS)
    return engine


class Conn:
    """A connection inside one transaction: ``await conn.execute(statement)``.

    The same for every backend, so repositories neither know nor care whether their statements
    run on the loop or in a driver's thread. Results come back complete (like SQLAlchemy's
    ``AsyncConnection``), so they may be read after the transaction ends.
    """

    dialect: Dialect

    @overload
    async def execute(  # type: ignore[overload-overlap]  # as in SQLAlchemy's own
        self, statement: TypedReturnsRows[*_Ts], parameters: Params = None
    ) -> CursorResult[*_Ts]: ...

    @overload
    async def execute(self, statement: Executable, parameters: Params = None) -> CursorResult[Any]: ...

    async def execute(self, statement: Executable, parameters: Params = None) -> CursorResult[Any]:
        raise NotImplementedError

    async def run_sync(self, fn: Callable[[Connection], _T]) -> _T:
        """Run ``fn`` with the underlying synchronous connection (for inspection, Alembic)."""
        raise NotImplementedError


class _LoopConn(Conn):
    """Statements run right here, on the event loop (SQLite writes)."""

    def __init__(self, sync: Connection) -> None:
        self._sync = sync
        self.dialect = sync.dialect

    async def execute(self, statement: Executable, parameters: Params = None) -> CursorResult[Any]:
        return _buffered(self._sync.execute(statement, parameters))

    async def run_sync(self, fn: Callable[[Connection], _T]) -> _T:
        return fn(self._sync)


class _AsyncConn(Conn):
    """Statements run through the async driver (aiosqlite's thread, or asyncpg)."""

    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn
        self.dialect = conn.dialect

    async def execute(self, statement: Executable, parameters: Params = None) -> CursorResult[Any]:
        return await self._conn.execute(statement, parameters)

    async def run_sync(self, fn: Callable[[Connection], _T]) -> _T:
        return await self._conn.run_sync(fn)


def _buffered(result: CursorResult[Any]) -> CursorResult[Any]:
    """Fetch every row now, so the result outlives the cursor (as with the async drivers)."""
    if result.returns_rows and result.cursor is not None:
        result.cursor_strategy = FullyBufferedCursorFetchStrategy(result.cursor)
    return result


def _private_file(path: Path) -> None:
    """Create the database file readable by its owner only (0600), or make it so: it holds
    personal data. SQLite gives its -wal and -shm files the same mode."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
        os.close(fd)
        os.chmod(path, 0o600)
    except OSError:  # a read-only place: SQLite will say so when it opens the file
        pass


def _locked(err: OperationalError) -> bool:
    orig = err.orig
    return isinstance(orig, sqlite3.OperationalError) and "locked" in str(orig)


class Database:
    """Owns the engines; hands out transactions. Built once by the application."""

    def __init__(self, url: str) -> None:
        if is_memory(url):
            raise ValueError("an in-memory database cannot be shared; use sqlite:///path.db")
        url = async_url(url)
        self.url = url
        sqlite = is_sqlite(url)
        if sqlite:
            _private_file(Path(url.split("///", 1)[1]))
        self._checkpoint_due = False
        self.backend = "sqlite" if sqlite else "postgresql"
        self.loop_engine = make_loop_engine(url) if sqlite else None
        self.async_engine = make_engine(url)
        # SQLite has one writer at a time. Queueing our own writers here, instead of letting
        # them collide on the file lock, keeps them off SQLite's busy handler (which sleeps).
        self._writer = asyncio.Lock() if sqlite else None
        # ... and, since they take turns, they share one connection (kept open: checking one
        # out of the pool and back for every transaction cost more than a small transaction).
        self._loop_conn: Connection | None = None

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Conn]:
        """One unit of work: commits on success, rolls back on any exception."""
        if self.loop_engine is None or self._writer is None:
            async with self.async_engine.begin() as conn:
                yield _AsyncConn(conn)
            return
        async with self._writer:
            sync = await self._begin_immediate()
            try:
                yield _LoopConn(sync)
            except BaseException:
                self._drop_loop_conn(rollback=True)
                raise
            else:
                try:
                    sync.commit()
                except BaseException:
                    self._drop_loop_conn(rollback=True)
                    raise
            if self._checkpoint_due:
                self._checkpoint_due = False
                self._checkpoint()

    async def let_writers_in(self) -> None:
        """Between two transactions of a long job (an import committing in chunks): leave the
        write lock free long enough for a writer in another process (the bot, while a CLI
        imports) to take it. No-op on PostgreSQL, whose writers lock rows, not the database."""
        if self.loop_engine is not None:
            await asyncio.sleep(WRITERS_GAP_S)

    def checkpoint_after_commit(self) -> None:
        """Empty SQLite's write-ahead log once the current transaction commits (after personal
        data was erased, so that no copy of it stays in the ``-wal`` file). No-op elsewhere."""
        if self.loop_engine is not None:
            self._checkpoint_due = True

    def _checkpoint(self) -> None:
        """Old copies of erased rows live in the -wal file until a checkpoint; TRUNCATE copies
        the pages back (zeroed, see secure_delete) and empties the file. Outside a transaction,
        on a raw connection; a failure is logged, never raised (the erasure is committed)."""
        assert self.loop_engine is not None
        raw = self.loop_engine.raw_connection()
        try:
            busy, _, _ = raw.cursor().execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            if busy:
                log.warning("database: the write-ahead log could not be emptied (readers busy)")
        except sqlite3.Error:
            log.warning("database: checkpoint after an erasure failed", exc_info=True)
        finally:
            raw.close()

    async def _begin_immediate(self) -> Connection:
        """``BEGIN IMMEDIATE`` on the writers' connection, waiting with ``asyncio.sleep`` while
        another process writes."""
        assert self.loop_engine is not None
        deadline = time.monotonic() + BUSY_TIMEOUT_S
        delay = 0.002
        while True:
            if self._loop_conn is None:
                self._loop_conn = self.loop_engine.connect()
            try:
                self._loop_conn.begin()
                return self._loop_conn
            except OperationalError as err:
                self._drop_loop_conn(rollback=False)
                if not _locked(err) or time.monotonic() > deadline:
                    raise
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.1)

    def _drop_loop_conn(self, *, rollback: bool) -> None:
        """After a failure: roll back what is open and give the connection back to the pool
        (the next transaction checks out a fresh one, in case this one is broken)."""
        sync, self._loop_conn = self._loop_conn, None
        if sync is None:
            return
        try:
            if rollback:
                sync.rollback()
        finally:
            sync.close()

    @asynccontextmanager
    async def read(self) -> AsyncIterator[Conn]:
        """A connection for reads only (still a transaction, rolled back at the end)."""
        async with self.async_engine.connect() as conn:
            yield _AsyncConn(await conn.execution_options(hirfa_read_only=True))

    @asynccontextmanager
    async def scratch_copy(self) -> AsyncIterator[Database | None]:
        """A throw-away copy of a SQLite database (taken with the online backup API, under a
        read lock only), for work whose writes must never be kept nor hold the write lock (a
        dry run); removed afterwards. None on other engines (use a rolled-back transaction)."""
        if self.loop_engine is None:
            yield None
            return
        source = Path(self.url.split("///", 1)[1])
        with tempfile.TemporaryDirectory(prefix="hirfa-scratch-") as folder:
            target = Path(folder) / "scratch.db"

            def copy() -> None:
                src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_S)
                dst = sqlite3.connect(target)
                try:
                    src.backup(dst)
                finally:
                    dst.close()
                    src.close()

            await asyncio.to_thread(copy)
            scratch = Database(self.url.split("///", 1)[0] + "///" + str(target))
            try:
                yield scratch
            finally:
                await scratch.dispose()

    async def upgrade(self, revision: str = "heads") -> None:
        """Apply Alembic migrations up to ``revision`` (all feature branches by default)."""
        if self.loop_engine is not None:
            with self.loop_engine.connect() as sync:
                _run_upgrade(sync, revision)
                sync.commit()
            return
        async with self.async_engine.connect() as conn:
            await conn.run_sync(_run_upgrade, revision)
            await conn.commit()

    async def current_revisions(self) -> set[str]:
        if self.loop_engine is not None:
            with self.loop_engine.connect() as sync:
                return _current(sync)
        async with self.async_engine.connect() as conn:
            return await conn.run_sync(_current)

    async def dispose(self) -> None:
        await self.async_engine.dispose()
        if self._loop_conn is not None:
            self._drop_loop_conn(rollback=False)
        if self.loop_engine is not None:
            self.loop_engine.dispose()


def alembic_config(connection: Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg


def _run_upgrade(connection: Connection, revision: str) -> None:
    command.upgrade(alembic_config(connection), revision)


def _current(connection: Connection) -> set[str]:
    """The applied heads, read from Alembic's own table (not through a MigrationContext, which
    logs two INFO lines each time: ``/healthz`` asks this every few seconds)."""
    if not sa_inspect(connection).has_table("alembic_version"):
        return set()
    return {row[0] for row in connection.execute(text("SELECT version_num FROM alembic_version"))}
