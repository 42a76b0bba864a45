"""Issue 12 item 3: personal data on disk and in debug logs.

The database and backups are created 0600; deleted rows are overwritten (``secure_delete``) and
"delete my data" empties the write-ahead log, so the name is in no file; the Bot API library's
DEBUG lines carry no name, phone number or CNIE.

On PostgreSQL the data lives in the server's own files (its owner's business, not ours): what
Hirfa writes to disk there is the ``hirfa backup`` archive (``pg_dump``), created 0600 as well.
"""

from __future__ import annotations

import argparse
import io
import logging
import os
import sqlite3
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.backup import run as run_backup
from bot.logs import Redact
from tests.databases import postgres_only, sqlite_only
from tests.harness import Harness

NAME = "Zoubida Quelquechose"


@pytest.fixture
def open_umask() -> Iterator[None]:
    old = os.umask(0o022)  # the usual umask: files would be 0644
    try:
        yield
    finally:
        os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@sqlite_only  # the database file and its -wal; PostgreSQL: the next test
async def test_database_wal_and_backup_are_private(tmp_path: Path, open_umask: None) -> None:
    async with Harness.open(tmp_path) as h:
        await h.register(101, "fr", name=NAME)
        db = tmp_path / "hirfa.db"
        assert mode(db) == 0o600
        assert mode(tmp_path / "hirfa.db-wal") == 0o600
        copy = tmp_path / "backups" / "copy.db"
        assert await run_backup(h.app.services, argparse.Namespace(path=copy)) == 0
        assert mode(copy) == 0o600


@postgres_only
async def test_pg_backup_archive_is_private(tmp_path: Path, open_umask: None) -> None:
    async with Harness.open(tmp_path) as h:
        await h.register(101, "fr", name=NAME)
        archive = tmp_path / "backups" / "hirfa.dump"
        assert await run_backup(h.app.services, argparse.Namespace(path=archive)) == 0
        assert mode(archive) == 0o600


@sqlite_only  # the SQLite file and its -wal, and SQLite's secure_delete; on PostgreSQL dead rows
# stay in the server's own files until VACUUM, which no test of ours can read
async def test_deleted_name_is_in_no_file_while_the_bot_runs(tmp_path: Path) -> None:
    async with Harness.open(tmp_path) as h:
        await h.register(101, "fr", name=NAME)
        await h.send(101, "/delete")
        await h.press(101, "del:yes")
        assert "supprim" in h.last_text(101).lower()
        for suffix in ("", "-wal"):
            path = tmp_path / f"hirfa.db{suffix}"
            data = path.read_bytes() if path.exists() else b""
            assert NAME.encode() not in data, suffix
            assert b"Quelquechose" not in data, suffix
        with sqlite3.connect(tmp_path / "hirfa.db") as conn:
            assert conn.execute("PRAGMA secure_delete").fetchone()[0] in (0, 1)  # a fresh connection
        async with h.app.db.transaction() as conn:
            from sqlalchemy import text

            assert (await conn.execute(text("PRAGMA secure_delete"))).scalar() == 1


def test_bot_api_debug_lines_carry_no_personal_data() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(Redact(["123456:SECRET"]))
    logger = logging.getLogger("telegram.ext.ExtBot")
    old_level, old_disabled = logger.level, logger.disabled
    logger.setLevel(logging.DEBUG)
    logger.disabled = False
    logger.addHandler(handler)
    try:
        logger.debug("Calling Bot API endpoint `%s` with parameters `%s`", "sendMessage",
                     {"chat_id": 101, "text": "Bienvenue, Amina Benali ! CNIE BK123456, tel 0612345678"})
        logger.debug("Call to Bot API endpoint `getUpdates` returned: %s",
                     "({'update_id': 1, 'message': {'from': {'first_name': 'Amina', 'last_name': "
                     "'Benali', 'id': 101}, 'contact': {'phone_number': '+212612345678'}, "
                     "'text': \"Amina's number\"}},)")
        logging.getLogger("hirfa.test").debug("artisan %s", "kept in our own logs: BK1")
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)
        logger.disabled = old_disabled
    out = stream.getvalue()
    for secret in ("Amina", "Benali", "BK123456", "0612345678", "612345678"):
        assert secret not in out, out
    assert "sendMessage" in out and "getUpdates" in out
