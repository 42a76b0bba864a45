"""Time ``hirfa import certifications`` on a generated register (prints figures; not a test).

    python -m bench.certification_import [ROWS]

Builds a temporary database, ROWS/2 registered artisans whose verified phones are on the
register, then imports the register (all new), the same file again (nothing to do), and a file
moving a tenth of the applications to "summoned" (one notice each).
"""

from __future__ import annotations

import asyncio
import csv
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("PTB_TIMEDELTA", "true")

from bot.app import Hirfa  # noqa: E402
from bot.clock import FakeClock  # noqa: E402
from bot.settings import load_settings  # noqa: E402
from handlers.certification.importer import import_file  # noqa: E402
from storage import artisans as artisan_repo  # noqa: E402

HEADER = ["application_number", "cnie", "phone", "full_name", "craft", "stage", "summons_date",
          "summons_time", "summons_place"]


def write(path: Path, rows: int, summoned: int) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(HEADER)
        for i in range(rows):
            moved = i < summoned
            out.writerow([f"VAEP-{i:05d}", f"BK{i:06d}", f"+2126610{i:05d}", f"Artisan Numero {i}",
                          "zellige", "summoned" if moved else "eligible",
                          "15/12/2026" if moved else "", "09:00" if moved else "",
                          "Institut, Salé" if moved else ""])


async def seed_artisans(app: Hirfa, rows: int) -> None:
    """Half the register's people already registered (every other row), each on Telegram."""
    now = app.clock.now()
    async with app.db.transaction() as conn:
        for i in range(0, rows, 2):
            artisan = await artisan_repo.create(
                conn, now, full_name=f"Artisan {i}", phone=f"+2126610{i:05d}",
                phone_verified=True, locale=("ar", "fr", "en")[i % 3], region="MS",
                craft="zellige", consent_at=now)
            await artisan_repo.link_identity(conn, artisan, "telegram", str(10_000 + i),
                                             str(10_000 + i), now)


async def main(rows: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(database_url=f"sqlite:///{tmp}/bench.db",
                                 telegram={"token": None})
        app = Hirfa(settings, clock=FakeClock())
        await app.prepare()
        await seed_artisans(app, rows)
        first, moved = Path(tmp) / "first.csv", Path(tmp) / "moved.csv"
        write(first, rows, 0)
        write(moved, rows, rows // 10)
        for label, path in (("new register", first), ("same file again", first),
                            (f"{rows // 10} moved to summoned", moved), ("same file again", moved)):
            start = time.perf_counter()
            report = await import_file(app.services, path)
            took = time.perf_counter() - start
            print(f"{label:<24} {rows} rows: {took:6.2f} s ({rows / took:6.0f} rows/s) "
                  f"created={report.created} moved={report.moved} unchanged={report.unchanged} "
                  f"notices={report.notified}")
        await app.db.dispose()


if __name__ == "__main__":
    arguments = [a for a in sys.argv[1:] if a != "--quick"]
    default = 300 if "--quick" in sys.argv else 3000
    asyncio.run(main(int(arguments[0]) if arguments else default))
