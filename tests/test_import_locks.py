"""Issue 12 item 8: a certification ``--dry-run`` never takes the bot's write lock.

Before, the dry run applied every row inside one write transaction (rolled back at the end):
19,000 rows held SQLite's write lock for 6.4 s, close to the bot's 10 s busy limit. It now runs
on a scratch copy taken under a read lock, so it completes even while another process holds the
write lock, and the real database is untouched.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

from tests.certification_support import applications, cli_import, notices, phone_of, row, write_csv
from tests.databases import sqlite_only
from tests.harness import Harness


async def test_dry_run_completes_while_another_process_holds_the_write_lock(
    h: Harness, tmp_path: Path
) -> None:
    await h.register(101, "fr")
    path = write_csv(tmp_path / "r.csv", [row(f"D-{i}", f"BK{i:04d}", phone_of(101) if i == 1 else "")
                                          for i in range(1, 300)])
    writer = sqlite3.connect(tmp_path / "hirfa.db", timeout=0.1, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")  # another process writing, and not letting go
    try:
        code, text = await cli_import(h, path, dry_run=True)
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    assert code == 0, text
    assert "New: 299" in text and "1 notice queued" in text and "Dry run" in text
    assert await applications(h) == {} and await notices(h) == []


@sqlite_only
async def test_another_process_writes_between_the_chunks_of_a_real_import(
    h: Harness, tmp_path: Path
) -> None:
    """A real import commits per chunk, but took the lock again at once: SQLite's lock is not a
    queue, and a writer in another process (the bot, while ``hirfa import`` runs) polls it every
    100 ms or so, so it waited for the whole import (bench/import_lock.py: 5.5 s for 2,000 rows,
    past the bot's 10 s limit for 19,000). Between chunks the lock is now left free long enough."""
    total = 800  # four chunks
    path = write_csv(tmp_path / "r.csv", [row(f"C-{i}", f"BK{i:04d}") for i in range(total)])
    seen: list[int] = []

    def other_process() -> None:
        conn = sqlite3.connect(tmp_path / "hirfa.db", timeout=60, isolation_level=None)
        try:
            count = "SELECT count(*) FROM certifications"
            while conn.execute(count).fetchone()[0] == 0:  # the import is under way
                time.sleep(0.001)
            conn.execute("BEGIN IMMEDIATE")  # waits for the lock, as the bot would
            seen.append(conn.execute(count).fetchone()[0])
            conn.execute("COMMIT")
        finally:
            conn.close()

    writer = threading.Thread(target=other_process)
    writer.start()
    try:
        code, text = await cli_import(h, path)
    finally:
        writer.join(timeout=120)
    assert code == 0, text
    assert len(await applications(h)) == total
    assert seen and seen[0] < total  # it wrote during the import, not after it
