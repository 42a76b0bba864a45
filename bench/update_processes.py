"""Update throughput with real processes: ``hirfa run`` workers behind a load balancer, against
a bare PTB bot served the same way (``python -m bench.updates --database URL --workers 1,2,4``).

Every bot is its own process, as in production, and gets its updates the way Telegram delivers
them: HTTP POSTs to its webhook (uvicorn + Starlette), at most ``--connections`` at a time (40,
Telegram's default ``max_connections``) and one at a time per chat. The load driver spreads the
POSTs over the workers round-robin, as a load balancer would; the bare bot is python-telegram-bot
on the same transport as Hirfa (aiohttp) and webhook server, answering every update with one
message. All reply to the same lean fake Bot API (``bench/fast_fake_bot.py``, its own process).

When is an update done? For Hirfa, when its reply has been sent: read from the database
afterwards (``inbound_updates.handled_at``, and the ``sent_at`` of the update's reply rows), so
the workers run unmodified. For the bare bot, when its handler (which sends the reply) returned.

Configurations, in one run: SQLite with one worker, then PostgreSQL (``--database``: the bench
creates its own database on that server for each configuration, and drops it) with each count
of ``--workers``. Each is fed the same load twice: as fast as it takes it (updates/s), then at
``--rate`` updates/s (reply latency p50/p99). CPU is the bots' own (user + system time of their
processes, PostgreSQL's excluded), per update: on a shared machine the steadier figure.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import aiohttp

from bench.fast_fake_bot import start_in_process
from bench.updates import TOKEN, free_port, fresh_copy, percentile, seed_artisans, workload

ROOT = Path(__file__).resolve().parent.parent
# The workers' code: this checkout, or another one (``--worker-tree``, before/after comparisons).
TREE = {"root": ROOT}
SECRET = "bench-secret-0123456789"
HEADER = "X-Telegram-Bot-Api-Secret-Token"


@dataclass
class Figures:
    name: str
    rate: float  # updates/s, fed as fast as taken
    cpu_ms: float  # the bot processes' CPU per update (that run)
    p50: float  # reply latency at the paced rate, ms
    p99: float


# -- processes ---------------------------------------------------------------------------------

def cpu_seconds(pids: list[int]) -> float:
    """User + system time of ``pids`` so far (Linux ``/proc``)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
    return total / ticks


async def wait_ready(url: str, within: float = 60.0) -> None:
    deadline = time.monotonic() + within
    async with aiohttp.ClientSession() as session:
        while True:
            with contextlib.suppress(aiohttp.ClientError, OSError):
                async with session.get(url) as response:
                    if response.status == 200:
                        return
            if time.monotonic() > deadline:
                raise RuntimeError(f"{url} did not answer within {within:.0f} s")
            await asyncio.sleep(0.2)


def stop_all(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def spawn_workers(database_url: str, api_url: str, ports: list[int],
                  concurrency: int) -> list[subprocess.Popen[bytes]]:
    """``hirfa run`` in webhook mode, one process per port."""
    return [subprocess.Popen([sys.executable, "-m", "bot", "run"], cwd=TREE["root"],
                             env=hirfa_env(database_url, api_url, port, concurrency))
            for port in ports]


def hirfa_env(database_url: str, api_url: str, port: int, concurrency: int) -> dict[str, str]:
    return {
        **os.environ,
        "HIRFA_DATABASE_URL": database_url,
        "HIRFA_TELEGRAM__TOKEN": TOKEN,
        "HIRFA_TELEGRAM__API_URL": api_url,
        "HIRFA_TELEGRAM__WEBHOOK_URL": "https://hirfa.example/telegram/webhook",
        "HIRFA_TELEGRAM__WEBHOOK_SECRET": SECRET,
        "HIRFA_TELEGRAM__CONCURRENT_UPDATES": str(concurrency),
        "HIRFA_HTTP__PORT": str(port),
        # Like the bare bot: no pacing (the synthetic users write faster than 1 message a second).
        "HIRFA_OUTBOX__TELEGRAM_RATE": "1000",
        "HIRFA_OUTBOX__PER_CHAT_INTERVAL": "0",
        "HIRFA_LOG_LEVEL": "WARNING",
    }


# -- the bare bot: PTB behind the same webhook server -------------------------------------------

def bare_bot_main(api_url: str, port: int) -> None:
    """A bare PTB echo bot with a Starlette webhook (PTB's "custom webhook" example), on
    Hirfa's aiohttp transport; ``GET /done`` says when each update's handler returned."""
    import uvicorn
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse, PlainTextResponse, Response
    from starlette.routing import Route
    from telegram import Update
    from telegram.error import TelegramError
    from telegram.ext import ApplicationBuilder, ContextTypes, TypeHandler

    from bot.channels.telegram_http import AiohttpRequest

    done: dict[int, float] = {}

    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        if update.callback_query is not None:
            with contextlib.suppress(TelegramError):
                await update.callback_query.answer()
            await context.bot.send_message(update.callback_query.from_user.id, "ok")
        elif update.message is not None and update.message.text is not None:
            await update.message.reply_text(update.message.text[:100])

    async def record(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        done[update.update_id] = time.time()

    app = (ApplicationBuilder().token(TOKEN).base_url(api_url).updater(None)
           .request(AiohttpRequest()).build())
    app.add_handler(TypeHandler(Update, echo))
    app.add_handler(TypeHandler(Update, record), group=1)

    async def webhook(request: Request) -> Response:
        if request.headers.get(HEADER) != SECRET:
            return PlainTextResponse("forbidden", status_code=403)
        await app.update_queue.put(Update.de_json(await request.json(), app.bot))
        return PlainTextResponse("ok")

    async def report(_request: Request) -> Response:
        return JSONResponse({str(k): v for k, v in done.items()})

    async def healthz(_request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> Any:
        async with app:
            await app.start()
            yield
            await app.stop()

    server = Starlette(routes=[Route("/telegram/webhook", webhook, methods=["POST"]),
                               Route("/done", report), Route("/healthz", healthz)],
                       lifespan=lifespan)
    uvicorn.run(server, host="127.0.0.1", port=port, log_level="error", access_log=False)


# -- the load driver ---------------------------------------------------------------------------

Done = Callable[[set[int]], Awaitable[dict[int, float] | None]]


async def feed(ports: list[int], updates: list[dict[str, Any]], rate: float | None,
               connections: int) -> dict[int, float]:
    """POST ``updates`` to the webhooks (round-robin over ``ports``), at most ``connections``
    at once and one at a time per chat; at ``rate`` per second, or as fast as acknowledged.
    Returns when each was sent (``time.time()``, comparable with the bots' clocks)."""
    sent: dict[int, float] = {}
    slots = asyncio.Semaphore(connections)
    chats: dict[int, asyncio.Lock] = {}
    targets = itertools.cycle([f"http://127.0.0.1:{p}/telegram/webhook" for p in ports])
    start = time.perf_counter()
    connector = aiohttp.TCPConnector(limit=connections)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def post(data: dict[str, Any], url: str) -> None:
            chat = (data.get("message") or data.get("callback_query") or {}).get("from", {}).get("id", 0)
            lock = chats.setdefault(chat, asyncio.Lock())
            async with lock, slots:
                sent[int(data["update_id"])] = time.time()
                for _ in range(20):  # a refused delivery is sent again, as Telegram does
                    async with session.post(url, data=json.dumps(data),
                                            headers={HEADER: SECRET,
                                                     "Content-Type": "application/json"}) as reply:
                        await reply.read()
                        if reply.status == 200:
                            return
                    await asyncio.sleep(0.1)
                raise RuntimeError(f"update {data['update_id']} refused")

        tasks = []
        for index, data in enumerate(updates):
            if rate:
                delay = start + index / rate - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
            else:
                await slots.acquire()  # no more tasks than connections waiting at once
                slots.release()
            tasks.append(asyncio.create_task(post(data, next(targets))))
        await asyncio.gather(*tasks)
    return sent


async def measure(name: str, ports: list[int], pids: list[int], done: Done,
                  updates: list[dict[str, Any]], rate: float, connections: int) -> Figures:
    """The load as fast as taken (throughput, CPU), then at ``rate`` (latency)."""
    load = fresh_copy(updates)
    cpu = cpu_seconds(pids)
    sent = await feed(ports, load, None, connections)
    finished = await wait_done(done, set(sent))
    used = cpu_seconds(pids) - cpu
    elapsed = max(finished.values()) - min(sent.values())
    load = fresh_copy(updates)
    sent_paced = await feed(ports, load, rate, connections)
    paced = await wait_done(done, set(sent_paced))
    latency = [(paced[u] - t) * 1000 for u, t in sent_paced.items()]
    figures = Figures(name, len(load) / elapsed, used * 1000 / len(load),
                      percentile(latency, 50), percentile(latency, 99))
    print(f"  {name:<22} {figures.rate:7.1f} updates/s  CPU {figures.cpu_ms:5.2f} ms/update   "
          f"@{rate:.0f}/s: p50 {figures.p50:6.1f} ms  p99 {figures.p99:7.1f} ms", flush=True)
    return figures


async def wait_done(done: Done, ids: set[int], within: float = 600.0) -> dict[int, float]:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        found = await done(ids)
        if found is not None:
            return found
        await asyncio.sleep(0.25)
    raise TimeoutError(f"{len(ids)} updates not all answered after {within:.0f} s")


def hirfa_done(database_url: str) -> tuple[Done, Callable[[], Awaitable[None]]]:
    """Done times from the database: an update is done when it is handled and every part of
    its reply was sent (``None`` until all of ``ids`` are)."""
    from sqlalchemy import text

    from storage.database import Database

    db = Database(database_url)

    async def done(ids: set[int]) -> dict[int, float] | None:
        async with db.read() as conn:
            busy = (await conn.execute(text(
                "SELECT count(*) FROM outbox WHERE kind = 'reply' AND status IN ('pending', 'sending')"
            ))).scalar()
            rows: Sequence[Any] = (await conn.execute(text(
                "SELECT external_id, handled_at FROM inbound_updates WHERE handled_at IS NOT NULL"
            ))).all()
            handled = {int(r[0]): _stamp(r[1]) for r in rows if int(r[0]) in ids}
            if busy or len(handled) < len(ids):
                return None
            replies: Sequence[Any] = (await conn.execute(text(
                "SELECT idem_key, sent_at FROM outbox WHERE kind = 'reply' AND sent_at IS NOT NULL"
            ))).all()
            for row in replies:
                update_id = int(str(row[0]).split(":")[2])
                if update_id in handled:
                    handled[update_id] = max(handled[update_id], _stamp(row[1]))
        return handled

    return done, db.dispose


def _stamp(value: Any) -> float:
    """A stored UTC instant (text on SQLite, an aware datetime on PostgreSQL) as a timestamp."""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return float(moment.timestamp())


def bare_done(port: int) -> Done:
    async def done(ids: set[int]) -> dict[int, float] | None:
        async with aiohttp.ClientSession() as session, \
                session.get(f"http://127.0.0.1:{port}/done") as reply:
            found = {int(k): float(v) for k, v in (await reply.json()).items()}
        return found if ids <= set(found) else None

    return done


# -- databases ---------------------------------------------------------------------------------

def _admin_dsn(url: str) -> str:
    parts = urlsplit(url.replace("postgresql+asyncpg://", "postgresql://", 1))
    return urlunsplit(parts)


async def create_pg(url: str, name: str) -> str:
    """A new database ``name`` on the server of ``url``; its URL."""
    import asyncpg

    conn: Any = await asyncpg.connect(_admin_dsn(url))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


async def drop_pg(url: str, name: str) -> None:
    import asyncpg

    conn: Any = await asyncpg.connect(_admin_dsn(url))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


async def seed(database_url: str, api_url: str, artisans: int) -> None:
    """Migrate, then the registered artisans and the demo data (as ``bench.updates`` does)."""
    import random

    from bot.app import Hirfa
    from bot.settings import load_settings

    hirfa = Hirfa(load_settings(database_url=database_url, telegram={"token": TOKEN, "api_url": api_url}))
    await seed_artisans(hirfa, artisans, random.Random(3))
    await hirfa.db.dispose()


# -- one run -----------------------------------------------------------------------------------

async def run_bare(api_url: str, updates: list[dict[str, Any]], rate: float,
                   connections: int) -> Figures:
    import multiprocessing

    port = free_port()
    process = multiprocessing.get_context("spawn").Process(
        target=bare_bot_main, args=(api_url, port), daemon=True)
    process.start()
    try:
        await wait_ready(f"http://127.0.0.1:{port}/healthz")
        assert process.pid is not None
        return await measure("bare PTB (aiohttp)", [port], [process.pid], bare_done(port),
                             updates, rate, connections)
    finally:
        process.terminate()
        process.join(10)


async def run_hirfa(name: str, database_url: str, workers: int, api_url: str, artisans: int,
                    updates: list[dict[str, Any]], rate: float, connections: int,
                    concurrency: int) -> Figures:
    await seed(database_url, api_url, artisans)
    ports = [free_port() for _ in range(workers)]
    processes = spawn_workers(database_url, api_url, ports, concurrency)
    done, close = hirfa_done(database_url)
    try:
        for port in ports:
            await wait_ready(f"http://127.0.0.1:{port}/healthz")
        return await measure(name, ports, [p.pid for p in processes], done, updates, rate,
                             connections)
    finally:
        stop_all(processes)
        await close()


async def main(args: argparse.Namespace) -> None:
    if args.worker_tree:
        TREE["root"] = Path(args.worker_tree)
    port = free_port()
    server = start_in_process(port)
    api_url = f"http://127.0.0.1:{port}/bot"
    updates = workload(args.artisans, args.updates)
    print(f"{len(updates)} updates, {args.artisans} registered artisans, webhooks at most "
          f"{args.connections} at once (one per chat), paced run at {args.rate:.0f}/s; "
          f"fake Bot API in its own process; {os.cpu_count()} CPUs; workers run {TREE['root']}",
          flush=True)
    results: list[Figures] = []
    try:
        results.append(await run_bare(api_url, updates, args.rate, args.connections))
        with tempfile.TemporaryDirectory() as tmp:
            results.append(await run_hirfa(
                "Hirfa SQLite x1", f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}", 1, api_url,
                args.artisans, updates, args.rate, args.connections, args.concurrency))
        if args.database:
            for workers in args.workers:
                name = f"hirfa_bench_updates_{workers}"
                url = await create_pg(args.database, name)
                try:
                    results.append(await run_hirfa(
                        f"Hirfa PostgreSQL x{workers}", url, workers, api_url, args.artisans,
                        updates, args.rate, args.connections, args.concurrency))
                finally:
                    await drop_pg(args.database, name)
    finally:
        server.terminate()
        server.join(timeout=5)
    bare = results[0]
    print("ratio to the bare bot (same transport, same webhook server, same load):")
    for figures in results[1:]:
        print(f"  {figures.name:<22} updates/s {figures.rate / bare.rate:5.2f}   "
              f"CPU/update {figures.cpu_ms / bare.cpu_ms:5.2f}   "
              f"p50 {figures.p50 / bare.p50:5.2f}   p99 {figures.p99 / bare.p99:5.2f}")
