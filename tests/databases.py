"""Which database the tests run on: SQLite files by default, PostgreSQL with one switch.

    HIRFA_TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test .venv/bin/pytest

With the switch, every test database is a fresh PostgreSQL database created for it on that
server (named ``hirfa_t<pid>_<n>``, dropped when the test ends), so each test starts from an
empty schema exactly as it does with a new SQLite file. ``url_for(tmp_path)`` is the one place
tests get a database URL from.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import itertools
import os
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


def pg_url(database: str) -> str:
    return async_url(_server_dsn(database))


def new_pg_database() -> str:
    """A new empty PostgreSQL database on the test server; its name."""
    name = f"hirfa_t{os.getpid()}_{next(_names)}"
    _in_thread(lambda: _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}"'))
    return name


def url_for(tmp_path: Path, name: str = "hirfa") -> str:
    """The test database ``name`` of this test: a SQLite file under ``tmp_path``, or (with the
    switch) a PostgreSQL database created on first use, the same URL for the same path."""
    if not ON_POSTGRES:
        return f"sqlite+aiosqlite:///{tmp_path / f'{name}.db'}"
    key = str(tmp_path / name)
    if key not in _created:
        _created[key] = new_pg_database()
    return pg_url(_created[key])


def plain_url_for(tmp_path: Path, name: str = "hirfa") -> str:
    """As :func:`url_for`, in the form people write (``sqlite:///`` / ``postgresql://``)."""
    url = url_for(tmp_path, name)
    return url.replace("+aiosqlite", "").replace("+asyncpg", "")


def drop_created() -> None:
    """Drop the PostgreSQL databases created since the last call (after each test)."""
    names = list(_created.values())
    _created.clear()
    if names:
        _in_thread(lambda: _admin(*(f'DROP DATABASE IF EXISTS "{n}" WITH (FORCE)' for n in names)))
