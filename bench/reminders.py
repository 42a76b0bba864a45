"""Reminder scan at scale: 100,000 enrolments over 5,000 sessions.

Prints:
- the time of one scheduler tick that finds what is due (steady state: nothing new; and a tick
  that queues reminders), with the query plan of the scan's queries (indexes, not table scans);
- the start-up time of ``hirfa run`` on that database (process start → "hirfa started"), against
  the fake Bot API over loopback HTTP, and that process's peak memory.

Targets (issue 7): tick < 50 ms, start-up < 2 s, peak memory < 150 MB.

    python bench/reminders.py            # 5,000 sessions, 100,000 enrolments
    python bench/reminders.py --quick    # 500 sessions, 10,000 enrolments
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("PTB_TIMEDELTA", "true")

from bot.app import Hirfa  # noqa: E402
from bot.clock import FakeClock  # noqa: E402
from bot.settings import load_settings  # noqa: E402
from handlers.sessions.reminders import send_reminders  # noqa: E402
from storage.schema import artisans, identities  # noqa: E402
from storage.sessions_schema import enrolments, sessions  # noqa: E402
from tests.fakes.telegram import FakeBotAPI, FakeBotAPIServer  # noqa: E402

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


async def populate(app: Hirfa, n_sessions: int, n_enrolments: int) -> None:
    rng = random.Random(1)
    n_artisans = max(1, n_enrolments // 5)
    async with app.db.transaction() as conn:
        rows = [{"id": i + 1, "full_name": f"Artisan {i}", "phone": f"+2126{i:08d}",
                 "phone_verified": True, "region": "MS", "craft": "zellige",
                 "locale": rng.choice(["ar", "fr", "en"]), "opted_out": i % 20 == 0,
                 "consent_at": NOW, "created_at": NOW, "updated_at": NOW} for i in range(n_artisans)]
        await conn.execute(artisans.insert(), rows)
        await conn.execute(identities.insert(), [
            {"channel": "telegram", "external_id": str(10_000 + r["id"]), "artisan_id": r["id"],
             "chat_id": str(10_000 + r["id"]), "blocked": False, "last_inbound_at": NOW,
             "created_at": NOW} for r in rows])
        session_rows = []
        for i in range(n_sessions):
            # Spread over a year: a few start in the next day, most later, some are over.
            start = NOW + timedelta(minutes=rng.randrange(-30 * 24 * 60, 365 * 24 * 60))
            session_rows.append({
                "id": i + 1, "title": {"fr": f"Formation {i}"}, "description": {"fr": ""},
                "venue": "Chambre, Marrakech", "starts_at": start, "ends_at": start + timedelta(hours=3),
                "capacity": 40, "status": "scheduled", "version": 1, "created_by": "bench",
                "created_at": NOW - timedelta(days=60), "updated_at": NOW - timedelta(days=60)})
        await conn.execute(sessions.insert(), session_rows)
        per_session = max(1, n_enrolments // n_sessions)
        enrol_rows = []
        for s in range(n_sessions):
            for k in rng.sample(range(n_artisans), min(per_session, n_artisans)):
                enrol_rows.append({"session_id": s + 1, "artisan_id": k + 1, "status": "enrolled",
                                   "created_at": NOW - timedelta(days=40),
                                   "updated_at": NOW - timedelta(days=40)})
        for start in range(0, len(enrol_rows), 20_000):
            await conn.execute(enrolments.insert(), enrol_rows[start:start + 20_000])


def query_plans(db: Path) -> list[str]:
    queries = {
        "sessions starting in the next 24 h":
            "SELECT * FROM sessions WHERE status = 'scheduled' AND starts_at > ? AND starts_at <= ?",
        "enrolled artisans of those sessions":
            "SELECT * FROM enrolments JOIN artisans ON artisans.id = enrolments.artisan_id "
            "WHERE enrolments.session_id IN (1, 2, 3) AND enrolments.status = 'enrolled'",
        "reminders already queued": "SELECT idem_key FROM outbox WHERE idem_key IN ('a', 'b')",
        "due outbox rows": "SELECT id FROM outbox WHERE channel = 'telegram' AND status = 'pending' "
                           "AND next_attempt_at <= ? ORDER BY priority DESC, id LIMIT 64",
    }
    lines = []
    with sqlite3.connect(db) as conn:
        for name, sql in queries.items():
            params = [NOW.isoformat(), (NOW + timedelta(days=1)).isoformat()][: sql.count("?")]
            plan = conn.execute("EXPLAIN QUERY PLAN " + sql, params).fetchall()
            lines.append(f"  {name}:")
            lines += [f"      {row[-1]}" for row in plan]
    return lines


async def ticks(app: Hirfa, clock: FakeClock, repeat: int) -> tuple[list[float], list[float], int]:
    """First tick queues what is due; later ticks (same minute + n) find nothing new."""
    first: list[float] = []
    start = time.perf_counter()
    stats = await send_reminders(app.services)
    first.append((time.perf_counter() - start) * 1000)
    steady = []
    for _ in range(repeat):
        clock.advance(60)
        start = time.perf_counter()
        await send_reminders(app.services)
        steady.append((time.perf_counter() - start) * 1000)
    return first, steady, stats.queued


def startup(db: Path) -> tuple[float, float]:
    """Seconds from process start to "hirfa started", and that process's peak RSS (MB)."""
    with FakeBotAPIServer(FakeBotAPI(), max_long_poll=0.2) as server:
        env = {**os.environ, "HIRFA_TELEGRAM__TOKEN": "123456:TEST",
               "HIRFA_TELEGRAM__API_URL": server.base_url, "HIRFA_DATABASE_URL": f"sqlite:///{db}"}
        begin = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-m", "bot", "run"], cwd=ROOT, env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        assert proc.stdout is not None
        elapsed = float("nan")
        for line in proc.stdout:
            if "hirfa started" in line:
                elapsed = time.perf_counter() - begin
                break
        time.sleep(3)  # let the first scheduler tick and the outbox drain run
        peak = high_water_mb(proc.pid)
        proc.terminate()
        proc.communicate(timeout=30)
    return elapsed, peak


def high_water_mb(pid: int) -> float:
    """Peak resident memory of a running process (Linux ``VmHWM``)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.db"
        clock = FakeClock(NOW)
        settings = load_settings(database_url=f"sqlite+aiosqlite:///{db}")
        app = Hirfa(settings, clock=clock)
        await app.prepare()
        t0 = time.perf_counter()
        await populate(app, args.sessions, args.enrolments)
        print(f"{args.sessions} sessions, {args.enrolments} enrolments "
              f"(built in {time.perf_counter() - t0:.1f} s)")
        first, steady, queued = await ticks(app, clock, 20)
        await app.db.dispose()
        print(f"tick that queues {queued} reminders: {first[0]:.1f} ms")
        print(f"steady tick (nothing new): median {statistics.median(steady):.1f} ms, "
              f"max {max(steady):.1f} ms   (target < 50 ms)")
        print("query plans:")
        print("\n".join(query_plans(db)))
        elapsed, peak = startup(db)
        print(f"hirfa run start-up: {elapsed:.2f} s (target < 2 s); peak memory {peak:.0f} MB "
              f"(target < 150 MB)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=5000)
    parser.add_argument("--enrolments", type=int, default=100_000)
    parser.add_argument("--quick", action="store_true")
    arguments = parser.parse_args()
    if arguments.quick:
        arguments.sessions, arguments.enrolments = 500, 10_000
    asyncio.run(main(arguments))
