"""Which database the tests run on: SQLite files by default, PostgreSQL with one switch.

    HIRFA_TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test .venv/bin/pytest

``url_for(tmp_path)`` is the one place tests get a database URL from. Each test's database is
its own: a SQLite file under ``tmp_path``, or (with the switch) a PostgreSQL database created
for it on that server (named ``hirfa_t<pid>_<n>``, dropped when the test ends).

It starts **migrated**: the real Alembic migrations run once per pytest session, into a
template (a SQLite file, or a PostgreSQL database ``hirfa_tpl<pid>``), and each test's database
is a copy of it (a file copy; ``CREATE DATABASE ... TEMPLATE``). Running every migration for
every test cost about half a second each, most of the PostgreSQL run. The application still
runs ``upgrade()`` at start; on a copy it finds nothing to do.

Tests of the migrations themselves (from empty, from an earlier revision) and targets that must
start empty (``hirfa db copy --to``, a ``pg_restore``) ask for ``url_for(tmp_path, name,
empty=True)``.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import itertools
import os
import shutil
import sqlite3
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest

from storage.urls import async_url, is_postgres

SWITCH = "HIRFA_TEST_DATABASE_URL"
SERVER_URL = os.environ.get(SWITCH, "")
ON_POSTGRES = is_postgres(SERVER_URL)

sqlite_only = pytest.mark.skipif(ON_POSTGRES, reason="SQLite-specific (the file, its pragmas or its locks)")
postgres_only = pytest.mark.skipif(not ON_POSTGRES, reason=f"PostgreSQL only: set {SWITCH}")

_T = TypeVar("_T")
_names = itertools.count(1)
_created: dict[str, str] = {}
_template: dict[str, str] = {}
"""The session's migrated template, made on first use: ``{"sqlite": path}`` / ``{"pg": name}``."""


def _in_thread(make: Callable[[], Awaitable[_T]]) -> _T:
    """Run a coroutine to completion from sync code, even while a test's loop is running."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(lambda: asyncio.run(make())).result()  # type: ignore[arg-type]


def _server_dsn(database: str | None = None) -> str:
    """A libpq/asyncpg DSN to the server (its own database, or ``database``)."""
    dsn = async_url(SERVER_URL).replace("postgresql+asyncpg://", "postgresql://", 1)
    if database is None:
        return dsn
    base, _, _ = dsn.partition("?")
    return base.rsplit("/", 1)[0] + "/" + database


async def _admin(*statements: str) -> None:
    import asyncpg

    conn: Any = await asyncpg.connect(_server_dsn())
    try:
        for sql in statements:  # one by one: CREATE/DROP DATABASE refuse a transaction block
            await conn.execute(sql)
    finally:
        await conn.close()


async def _migrate(url: str) -> None:
    """Every migration, as the application runs them; no connection left open afterwards."""
    from storage.database import Database

    db = Database(url)
    try:
        await db.upgrade()
    finally:
        await db.dispose()


def pg_url(database: str) -> str:
    return async_url(_server_dsn(database))


def _create_pg(name: str, template: str | None = None) -> None:
    create = f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else "")
    _in_thread(lambda: _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', create))


def new_pg_database(template: str | None = None) -> str:
    """A new PostgreSQL database on the test server, empty or a copy of ``template``; its name."""
    name = f"hirfa_t{os.getpid()}_{next(_names)}"
    _create_pg(name, template)
    return name


def _pg_template() -> str:
    """The session's migrated PostgreSQL template (a copy needs it free of connections)."""
    if "pg" not in _template:
        name = f"hirfa_tpl{os.getpid()}"
        _create_pg(name)
        _in_thread(lambda: _migrate(pg_url(name)))
        _template["pg"] = name
    return _template["pg"]


def _sqlite_template() -> Path:
    """The session's migrated SQLite file, checkpointed (no ``-wal`` left: one file to copy)."""
    if "sqlite" not in _template:
        path = Path(tempfile.mkdtemp(prefix="hirfa-template-")) / "template.db"
        _in_thread(lambda: _migrate(f"sqlite+aiosqlite:///{path}"))
        with sqlite3.connect(path) as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.close()
        _template["sqlite"] = str(path)
    return Path(_template["sqlite"])


def url_for(tmp_path: Path, name: str = "hirfa", *, empty: bool = False) -> str:
    """The test database ``name`` of this test, the same URL for the same path: a SQLite file
    under ``tmp_path``, or (with the switch) a PostgreSQL database made on first use. Migrated
    (a copy of the session's template), or ``empty`` (no table; for migration tests and copy
    targets). Asking again for an existing database returns it as it is."""
    if not ON_POSTGRES:
        path = tmp_path / f"{name}.db"
        if not empty and not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(_sqlite_template(), path)
        return f"sqlite+aiosqlite:///{path}"
    key = str(tmp_path / name)
    if key not in _created:
        _created[key] = new_pg_database(None if empty else _pg_template())
    return pg_url(_created[key])


def drop_created() -> None:
    """Drop the PostgreSQL databases created since the last call (after each test)."""
    names = list(_created.values())
    _created.clear()
    if names:
        _in_thread(lambda: _admin(*(f'DROP DATABASE IF EXISTS "{n}" WITH (FORCE)' for n in names)))


def drop_templates() -> None:
    """Remove the session's templates (at the end of the session)."""
    if "pg" in _template:
        name = _template.pop("pg")
        _in_thread(lambda: _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    if "sqlite" in _template:
        shutil.rmtree(Path(_template.pop("sqlite")).parent, ignore_errors=True)
