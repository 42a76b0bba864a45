"""Issue 12 item 8: a certification ``--dry-run`` never takes the bot's write lock.

Before, the dry run applied every row inside one write transaction (rolled back at the end):
19,000 rows held SQLite's write lock for 6.4 s, close to the bot's 10 s busy limit. It now runs
on a scratch copy taken under a read lock, so it completes even while another process holds the
write lock, and the real database is untouched.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from tests.certification_support import applications, cli_import, notices, phone_of, row, write_csv
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
