"""Migrations from empty and from every earlier revision; online backup while writing."""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path

from alembic.script import ScriptDirectory
from sqlalchemy import inspect, select

from bot.backup import backup_file
from storage.database import Database, alembic_config
from storage.schema import metadata, processed_updates
from tests import databases
from tests.databases import sqlite_only

ROOT = Path(__file__).resolve().parent.parent


def revisions() -> list[str]:
    script = ScriptDirectory.from_config(alembic_config())
    return [r.revision for r in script.walk_revisions()]


async def test_upgrade_from_empty_creates_every_table(tmp_path: Path) -> None:
    db = Database(databases.url_for(tmp_path, "a", empty=True))
    await db.upgrade()
    heads = await db.current_revisions()
    async with db.read() as conn:
        tables = set(await conn.run_sync(lambda sync: inspect(sync).get_table_names()))
    await db.dispose()
    assert set(metadata.tables) <= tables
    script = ScriptDirectory.from_config(alembic_config())
    assert heads == set(script.get_heads())


@sqlite_only
async def test_sqlite_runs_in_wal_mode(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'a.db'}")
    await db.upgrade()
    await db.dispose()
    with sqlite3.connect(tmp_path / "a.db") as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


async def test_upgrade_from_every_earlier_revision(tmp_path: Path) -> None:
    for index, revision in enumerate(revisions()):
        db = Database(databases.url_for(tmp_path, f"r{index}", empty=True))
        await db.upgrade(revision)
        await db.upgrade()  # and from there to the newest
        script = ScriptDirectory.from_config(alembic_config())
        assert await db.current_revisions() == set(script.get_heads())
        await db.dispose()


@sqlite_only
def test_backup_is_consistent_while_the_bot_writes(tmp_path: Path) -> None:
    source = tmp_path / "live.db"
    with sqlite3.connect(source) as conn:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, a INTEGER, b INTEGER)")
    stop = threading.Event()

    def writer() -> None:
        conn = sqlite3.connect(source, timeout=30)
        i = 0
        while not stop.is_set():
            with conn:  # each transaction writes a pair that must stay equal
                conn.execute("INSERT INTO t (a, b) VALUES (?, ?)", (i, i))
                conn.execute("UPDATE t SET b = b + 1, a = a + 1 WHERE id = 1")
            i += 1
        conn.close()

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        for n in range(3):
            target = tmp_path / f"copy{n}.db"
            backup_file(source, target)
            with sqlite3.connect(target) as copy:
                assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
                bad = copy.execute("SELECT count(*) FROM t WHERE a != b").fetchone()[0]
                assert bad == 0
    finally:
        stop.set()
        thread.join()


@sqlite_only
def test_backup_command_and_restore(tmp_path: Path) -> None:
    env = {"HIRFA_DATABASE_URL": f"sqlite:///{tmp_path / 'hirfa.db'}", "PATH": ""}
    done = subprocess.run([sys.executable, "-m", "bot", "backup", str(tmp_path / "b.db")],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert "integrity ok" in done.stdout
    restored = {"HIRFA_DATABASE_URL": f"sqlite:///{tmp_path / 'b.db'}", "PATH": ""}
    again = subprocess.run([sys.executable, "-m", "bot", "db", "upgrade"], cwd=ROOT, env=restored,
                           capture_output=True, text=True, timeout=60, check=False)
    assert again.returncode == 0 and "up to date" in again.stdout


@sqlite_only
async def test_a_writer_in_another_process_is_waited_for_without_freezing_the_bot(
    tmp_path: Path,
) -> None:
    """Write transactions run on the event loop; while another process (a CLI import) holds the
    write lock, ours waits with ``asyncio.sleep`` (the loop keeps serving others) and then
    commits; results read inside a transaction can still be read after it ended."""
    path = tmp_path / "busy.db"
    db = Database(f"sqlite+aiosqlite:///{path}")
    await db.upgrade()
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # the other process is writing
    ticks = 0

    async def heartbeat() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.01)

    async def write() -> None:
        async with db.transaction() as conn:
            await conn.execute(processed_updates.insert().values(
                channel="telegram", update_id="1", processed_at=datetime.now(UTC)))

    beating = asyncio.create_task(heartbeat())
    writing = asyncio.create_task(write())
    await asyncio.sleep(0.3)
    assert not writing.done() and ticks >= 10  # waiting, and the loop was free meanwhile
    other.execute("COMMIT")
    await asyncio.wait_for(writing, timeout=5)
    async with db.transaction() as conn:
        result = await conn.execute(select(processed_updates.c.update_id))
    assert [r[0] for r in result] == ["1"]  # read after the transaction closed
    beating.cancel()
    other.close()
    await db.dispose()


async def test_cnie_migration_keeps_every_child_row_and_lets_profiles_share_a_cnie(tmp_path: Path) -> None:
    """0019 drops the unique CNIE constraint; on SQLite that rebuilds ``artisans``, whose DROP
    would cascade into identities and enrolments if foreign keys were on during the upgrade."""
    from storage.schema import artisans, identities

    db = Database(databases.url_for(tmp_path, "cnie", empty=True))
    for head in ScriptDirectory.from_config(alembic_config()).get_heads():
        if head != "0019":
            await db.upgrade(head)
    now = datetime.now(UTC)
    person = {"locale": "fr", "created_at": now, "updated_at": now, "phone_verified": False,
              "opted_out": False}
    async with db.transaction() as conn:
        await conn.execute(artisans.insert().values(id=1, full_name="Amina", cnie="BK1", **person))
        await conn.execute(identities.insert().values(
            channel="telegram", external_id="1", artisan_id=1, chat_id="1", blocked=False,
            created_at=now))
    await db.upgrade()
    async with db.transaction() as conn:  # a second profile may now claim the same CNIE
        await conn.execute(artisans.insert().values(id=2, full_name="Karim", cnie="BK1", **person))
    async with db.read() as conn:
        linked = (await conn.execute(select(identities.c.artisan_id))).scalars().all()
        indexes = await conn.run_sync(lambda sync: inspect(sync).get_indexes("artisans"))
    assert linked == [1]  # the identity survived the rebuild
    assert any(ix["column_names"] == ["cnie"] and not ix["unique"] for ix in indexes)
    async with db.transaction() as conn:  # and still follows its artisan (ON DELETE CASCADE)
        await conn.execute(artisans.delete().where(artisans.c.id == 1))
    async with db.read() as conn:
        assert (await conn.execute(select(identities.c.artisan_id))).scalars().all() == []
    await db.dispose()
