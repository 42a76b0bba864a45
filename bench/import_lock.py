"""How long another process waits for SQLite's write lock during a certification import.

    python -m bench.import_lock [ROWS]        # default 19,000 (issue 12 item 8); --quick: 2,000

A probe process writes one row at a time in a loop (``BEGIN IMMEDIATE`` … ``COMMIT``, busy
timeout 600 s), as the bot does for every update, while this process imports a generated register
(ROWS applications, ROWS/2 registered artisans whose verified phones are on it) into a temporary
database. Printed per phase: the probe's longest write, its median, and the longest as a ratio to
the baseline (the median single-row write with nothing else running, same process, same file).

Phases: the baseline; the old dry run (every row in one transaction rolled back, reproduced here
by taking the scratch copy away); ``--dry-run`` as shipped (on a scratch copy); the real import
(one transaction per chunk of rows).
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("PTB_TIMEDELTA", "true")

from bench.certification_import import seed_artisans, write  # noqa: E402
from bot.app import Hirfa  # noqa: E402
from bot.clock import FakeClock  # noqa: E402
from bot.settings import load_settings  # noqa: E402
from handlers.certification.importer import CHUNK, import_file  # noqa: E402

PROBE = r"""
import json, sqlite3, sys, time
path, stop = sys.argv[1], sys.argv[2]
conn = sqlite3.connect(path, timeout=600, isolation_level=None)
waits = []
import os
while not os.path.exists(stop):
    start = time.perf_counter()
    try:
        conn.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError:  # gave up after the timeout: counted as that long a wait
        waits.append(time.perf_counter() - start)
        continue
    conn.execute("INSERT INTO bench_probe (at) VALUES (?)", (time.time(),))
    conn.execute("COMMIT")
    waits.append(time.perf_counter() - start)
    time.sleep(0.002)
print(json.dumps(waits))
"""


async def probed(db_path: Path, work: Callable[[], Awaitable[Any]]) -> tuple[list[float], float]:
    """Run ``work`` while the probe process writes; the probe's write times and the work's."""
    stop = db_path.with_suffix(".stop")
    stop.unlink(missing_ok=True)
    probe = await asyncio.create_subprocess_exec(sys.executable, "-c", PROBE, str(db_path), str(stop),
                                                 stdout=asyncio.subprocess.PIPE)
    await asyncio.sleep(0.5)  # the probe is writing before the work starts
    start = time.perf_counter()
    await work()
    took = time.perf_counter() - start
    await asyncio.sleep(0.2)
    stop.touch()
    out, _ = await asyncio.wait_for(probe.communicate(), timeout=900)
    return json.loads(out), took


async def main(rows: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        db_path = Path(tmp) / "bench.db"
        settings = load_settings(database_url=f"sqlite:///{db_path}", telegram={"token": None})
        app = Hirfa(settings, clock=FakeClock())
        await app.prepare()
        await seed_artisans(app, rows)
        import sqlite3

        with sqlite3.connect(db_path) as raw:
            raw.execute("CREATE TABLE bench_probe (id INTEGER PRIMARY KEY, at REAL)")
        register = Path(tmp) / "register.csv"
        write(register, rows, rows // 10)

        @asynccontextmanager
        async def no_scratch() -> AsyncIterator[None]:
            yield None  # as on PostgreSQL: the dry run is one transaction, rolled back

        async def idle() -> None:
            await asyncio.sleep(2.0)

        async def old_dry_run() -> None:
            shipped = app.db.scratch_copy
            app.db.scratch_copy = no_scratch  # type: ignore[method-assign]
            try:
                await import_file(app.services, register, dry_run=True)
            finally:
                app.db.scratch_copy = shipped  # type: ignore[method-assign]

        async def dry_run() -> None:
            await import_file(app.services, register, dry_run=True)

        async def real_import() -> None:
            await import_file(app.services, register)

        print(f"{rows} rows, {rows // 2} registered artisans, SQLite WAL on disk, real import in "
              f"chunks of {CHUNK} rows; the probe is another process writing one row at a time")
        baseline_waits, _ = await probed(db_path, idle)
        baseline = statistics.median(baseline_waits)
        print(f"{'baseline (nothing else)':<34} {len(baseline_waits):5d} writes  median "
              f"{baseline * 1000:7.2f} ms  longest {max(baseline_waits) * 1000:8.1f} ms  "
              f"= {max(baseline_waits) / baseline:7.0f}x baseline")
        for label, work in (("old dry run (one transaction)", old_dry_run),
                            ("--dry-run (scratch copy)", dry_run),
                            ("real import (chunks)", real_import)):
            waits, took = await probed(db_path, work)
            print(f"{label:<34} {len(waits):5d} writes  median {statistics.median(waits) * 1000:7.2f} ms"
                  f"  longest {max(waits) * 1000:8.1f} ms  = {max(waits) / baseline:7.0f}x baseline"
                  f"  (import took {took:5.1f} s)")
        await app.db.dispose()


if __name__ == "__main__":
    arguments = [a for a in sys.argv[1:] if a != "--quick"]
    default = 2000 if "--quick" in sys.argv else 19_000
    asyncio.run(main(int(arguments[0]) if arguments else default))
