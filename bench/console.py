"""Benchmark: every console page with 50,000 artisans and 500,000 enrolments.

    python -m bench.console            # 50,000 artisans, 2,000 sessions, 500,000 enrolments,
                                       # 2,000 questions, feedback on past sessions
    python -m bench.console --quick    # 5,000 / 200 / 50,000

The database is the real migrated SQLite file, filled in bulk; the pages are served by the real
console (``console.web``) through the ASGI interface (no network), signed in as an admin. The
baseline, in the same process and through the same transport, is a bare Starlette page that reads
one row from the same database. Printed: median and p95 per page in ms, and the ratio of the
median to the baseline's.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from sqlalchemy import text  # noqa: E402
from starlette.applications import Starlette  # noqa: E402
from starlette.requests import Request  # noqa: E402
from starlette.responses import HTMLResponse, Response  # noqa: E402
from starlette.routing import Route  # noqa: E402

from bot.app import Hirfa  # noqa: E402
from bot.clock import FakeClock  # noqa: E402
from bot.settings import load_settings  # noqa: E402
from handlers.catalog import CRAFTS, REGIONS  # noqa: E402
from storage import console as console_repo  # noqa: E402
from storage import staff as staff_repo  # noqa: E402

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def fill(path: Path, artisans: int, sessions: int, enrolments: int) -> None:
    """Bulk rows straight into the migrated file (what years of use would leave)."""
    rng = random.Random(7)
    db = sqlite3.connect(path)
    stamp = (NOW - timedelta(days=400)).strftime("%Y-%m-%d %H:%M:%S.%f")
    db.executemany(
        "INSERT INTO artisans (id, full_name, phone, phone_verified, cnie, region, craft, locale, opted_out,"
        " created_at, updated_at) VALUES (?, ?, ?, 1, ?, ?, ?, ?, 0, ?, ?)",
        [(i, f"Artisan {i} {rng.choice(['Benali', 'Alaoui', 'Idrissi', 'Tazi'])}", f"+2126{i:08d}",
          f"AB{i:06d}", rng.choice(REGIONS), rng.choice(CRAFTS), rng.choice(["ar", "fr", "en"]),
          (NOW - timedelta(minutes=i)).strftime("%Y-%m-%d %H:%M:%S.%f"), stamp)
         for i in range(1, artisans + 1)])
    db.executemany(
        "INSERT INTO identities (channel, external_id, artisan_id, chat_id, blocked, created_at)"
        " VALUES (?, ?, ?, ?, 0, ?)",
        [(rng.choice(["telegram", "whatsapp"]), str(100000 + i), i, str(100000 + i), stamp)
         for i in range(1, artisans + 1)])
    db.executemany(
        "INSERT INTO sessions (id, title, description, craft, region, venue, starts_at, ends_at, capacity,"
        " status, version, created_by, created_at, updated_at) VALUES (?, ?, '{}', ?, ?, 'Dar', ?, ?, 300,"
        " 'scheduled', 1, 'bench', ?, ?)",
        [(s, f'{{"fr": "Formation {s}"}}', rng.choice(CRAFTS), rng.choice(REGIONS),
          (NOW + timedelta(days=s - sessions // 2)).strftime("%Y-%m-%d %H:%M:%S.%f"),
          (NOW + timedelta(days=s - sessions // 2, hours=2)).strftime("%Y-%m-%d %H:%M:%S.%f"), stamp, stamp)
         for s in range(1, sessions + 1)])
    per = enrolments // sessions
    rows = []
    for s in range(1, sessions + 1):
        for k, a in enumerate(rng.sample(range(1, artisans + 1), per)):
            status = "waitlisted" if k >= 250 else rng.choice(["enrolled", "attended", "no_show"])
            rows.append((s, a, status, k if status == "waitlisted" else None, stamp, stamp))
    db.executemany("INSERT INTO enrolments (session_id, artisan_id, status, position, created_at, updated_at)"
                   " VALUES (?, ?, ?, ?, ?, ?)", rows)
    # Questions to the chamber (one per 25 artisans, half answered) and feedback on past sessions.
    questions, messages = [], []
    for q in range(1, artisans // 25 + 1):
        opened = NOW - timedelta(hours=q)
        answered = q % 2 == 0
        at = opened.strftime("%Y-%m-%d %H:%M:%S.%f")
        later = (opened + timedelta(hours=3)).strftime("%Y-%m-%d %H:%M:%S.%f")
        questions.append((q, q * 25, "answered" if answered else "open", "menu", at,
                          later if answered else None, later if answered else None))
        messages.append((q, "in", None, "text", f"Question {q} about the VAEP file", at, at))
        if answered:
            messages.append((q, "out", "telegram:9000", "text", "Bring your CNIE.", later, later))
    db.executemany("INSERT INTO questions (id, artisan_id, status, source, opened_at, answered_at,"
                   " first_answer_at) VALUES (?, ?, ?, ?, ?, ?, ?)", questions)
    db.executemany("INSERT INTO question_messages (question_id, direction, author, kind, text, created_at,"
                   " relayed_at) VALUES (?, ?, ?, ?, ?, ?, ?)", messages)
    feedback = [(s, a, rng.randint(1, 5), stamp, stamp)
                for s, a, status, *_ in rows if status == "attended" and s < sessions // 2 and a % 3 == 0]
    db.executemany("INSERT OR IGNORE INTO feedback (session_id, artisan_id, rating, created_at, updated_at)"
                   " VALUES (?, ?, ?, ?, ?)", feedback)
    db.commit()
    db.execute("ANALYZE")
    db.close()


async def timed(client: httpx.AsyncClient, path: str, rounds: int) -> list[float]:
    out = []
    for _ in range(rounds):
        start = time.perf_counter()
        answer = await client.get(path)
        out.append((time.perf_counter() - start) * 1000)
        assert answer.status_code == 200, (path, answer.status_code, answer.text[:200])
    return out


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    artisans, sessions = (5_000, 200) if args.quick else (50_000, 2_000)
    enrolments = sessions * 250
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite+aiosqlite:///{Path(folder) / 'bench.db'}"
        settings = load_settings(database_url=url, console={"base_url": "https://bench.test"})
        app = Hirfa(settings, clock=FakeClock(NOW))
        await app.prepare()
        started = time.perf_counter()
        await asyncio.to_thread(fill, Path(folder) / "bench.db", artisans, sessions, enrolments)
        print(f"filled {artisans:,} artisans, {sessions:,} sessions, {enrolments:,} enrolments "
              f"in {time.perf_counter() - started:.0f} s")
        async with app.db.transaction() as conn:
            await staff_repo.grant(conn, "telegram", "9000", "admin", NOW, "bench")
            cookie = await console_repo.open_session(conn, console_repo.Staffer("telegram", "9000"), "fr",
                                                     NOW, timedelta(hours=12))
        assert app.http is not None

        async def bare(_request: Request) -> Response:
            async with app.db.read() as conn:
                name = (await conn.execute(text("SELECT full_name FROM artisans WHERE id = 1"))).scalar_one()
            return HTMLResponse(f"<!doctype html><p>{name}</p>")

        baseline_app = Starlette(routes=[Route("/bare", bare)])
        middle = sessions // 2 + 1
        pages = [
            "/console/", "/console/artisans", "/console/artisans?sort=name",
            "/console/artisans?q=Tazi&region=MS", "/console/artisans?craft=zellige&channel=whatsapp",
            "/console/artisans?sort=old&after=40000", "/console/artisans/123", "/console/sessions",
            "/console/sessions?past=1", f"/console/sessions/{middle}", "/console/broadcasts",
            "/console/broadcasts/new", "/console/broadcasts/count?regions=MS", "/console/broadcasts/count",
            "/console/staff", "/console/report", "/console/import/certifications",
            f"/console/sessions/{middle - 10}", "/console/questions",
            "/console/questions?view=answered&page=20",
            "/console/questions/101",
        ]
        base_client = httpx.AsyncClient(transport=httpx.ASGITransport(app=baseline_app), base_url="http://b")
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app.http.app()),
                                   base_url="https://bench.test", cookies={"hirfa_console": cookie})
        async with base_client, client:
            await timed(base_client, "/bare", 3)
            baseline = statistics.median(await timed(base_client, "/bare", args.rounds * 2))
            print(f"\nbaseline (bare Starlette page, one row): {baseline:.2f} ms median\n")
            print(f"{'page':58} {'median ms':>10} {'p95 ms':>8} {'x baseline':>11}")
            for path in pages:
                await timed(client, path, 1)
                times = sorted(await timed(client, path, args.rounds))
                median = statistics.median(times)
                p95 = times[min(len(times) - 1, int(len(times) * 0.95))]
                print(f"{path:58} {median:10.1f} {p95:8.1f} {median / baseline:11.1f}")
        await app.db.dispose()


if __name__ == "__main__":
    asyncio.run(main())
