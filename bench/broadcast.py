"""Benchmark: a broadcast to N artisans through the real application, against Telegram's limits.

    python bench/broadcast.py                    # 10,000 recipients (about 6 + 2 x 6.5 minutes)
    python bench/broadcast.py --recipients 2000  # a CI-sized run
    python bench/broadcast.py --workers 2 --database postgresql://postgres@127.0.0.1:5432/hirfa_bench
                                                 # two `hirfa run` processes (bench/broadcast_workers.py)

What runs:

1. The fake Bot API (``tests/fakes/telegram/``) served over real loopback HTTP in a child
   process, with ``enforce_limits(30 per second overall, 1 per second per chat)``: a send over
   either limit gets 429 and is not delivered.
2. Hirfa itself (``bot.app.Hirfa``: PTB polling, engine, SQLite file, outbox sender, scheduler)
   with N registered artisans. An admin writes ``/broadcast`` → language → text → preview →
   "send now", as pushed updates; the outbox delivers. Meanwhile one artisan chats with the bot
   ("menu" every 2.5 s) and the time from their message to the bot's reply is measured.
3. In the same run, the baseline: python-telegram-bot's own ``AIORateLimiter`` sending the same
   message to N chats on the same fake, with ``max_retries=0`` (its default) and with retries.

Printed: messages per second as a fraction of the 30/s limit, 429s, duplicates, losses and, for
Hirfa, the latency of direct replies during the broadcast (p50/p99).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import multiprocessing as mp
import os
import statistics
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("PTB_TIMEDELTA", "true")

LIMIT = 30
ADMIN = 9000
FIRST_CHAT = 10_000_001
MARK = "Hirfa-bench"
TEXT = f"{MARK}: Salon national de l'artisanat, inscriptions ouvertes jusqu'au 15 décembre."


# -- the fake Bot API, in its own process ----------------------------------------------------

def serve(conn: Any) -> None:
    """Child process: serve the fake Bot API and answer control commands on ``conn``."""
    from tests.fakes.telegram import FakeBotAPI, FakeBotAPIServer

    server = FakeBotAPIServer(max_long_poll=1.0).start()
    pushes: list[tuple[int, float]] = []

    def fresh() -> None:
        api = FakeBotAPI()
        api.strict_html_ampersand = False
        api.enforce_limits(LIMIT, 1)
        server.api = api
        pushes.clear()

    fresh()
    conn.send(server.base_url)
    while True:
        command, arg = conn.recv()
        if command == "push":
            update = server.api.push_update(arg)
            message = update.get("message") or {}
            pushes.append((int((message.get("from") or {}).get("id", 0)), time.monotonic()))
            conn.send(None)
        elif command == "observe":  # an update posted to a webhook: the fake learns its chat
            conn.send(server.api.observe(arg))
        elif command == "count_to":
            with server.api.lock:
                conn.send(sum(1 for m in server.api.sent if m.chat_id == arg))
        elif command == "texts_to":
            with server.api.lock:
                conn.send([m.plain_text or "" for m in server.api.sent if m.chat_id == arg])
        elif command == "count_mark":
            with server.api.lock:
                conn.send(sum(1 for m in server.api.sent if MARK in (m.text or "")))
        elif command == "report":
            with server.api.lock:
                sent = [(m.chat_id, m.at, MARK in (m.text or "")) for m in server.api.sent]
                conn.send({"sent": sent, "pushes": list(pushes),
                           "too_many": server.api.too_many_requests})
        elif command == "reset":
            fresh()
            conn.send(None)
        elif command == "stop":
            server.stop()
            conn.send(None)
            return


class Server:
    def __init__(self) -> None:
        ctx = mp.get_context("spawn")
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(target=serve, args=(child,), daemon=True)
        self.process.start()
        self.base_url: str = self.conn.recv()
        self._lock = asyncio.Lock()

    async def call(self, command: str, arg: Any = None) -> Any:
        async with self._lock:
            self.conn.send((command, arg))
            return await asyncio.to_thread(self.conn.recv)

    def stop(self) -> None:
        self.conn.send(("stop", None))
        self.conn.recv()
        self.process.join(timeout=10)


# -- measuring ----------------------------------------------------------------------------------

@dataclass
class Result:
    name: str
    recipients: int
    delivered: int = 0
    duplicates: int = 0
    too_many: int = 0
    seconds: float = 0.0
    errors: int = 0
    everything: int = 0  # every message the bot got through meanwhile (replies, progress, ...)
    latencies: list[float] = field(default_factory=list)

    @property
    def losses(self) -> int:
        return self.recipients - self.delivered

    @property
    def rate(self) -> float:
        return self.delivered / self.seconds if self.seconds else 0.0

    @property
    def total_rate(self) -> float:
        return self.everything / self.seconds if self.seconds else 0.0


def measure(name: str, report: dict[str, Any], recipients: int, chats: range) -> Result:
    broadcast = [(chat, at) for chat, at, marked in report["sent"] if marked and chat in chats]
    per_chat = Counter(chat for chat, _ in broadcast)
    result = Result(name, recipients, delivered=len(per_chat),
                    duplicates=sum(n - 1 for n in per_chat.values()), too_many=report["too_many"])
    if len(broadcast) > 1:
        times = sorted(at for _, at in broadcast)
        # N messages over the span between the first and the last: N - 1 intervals.
        result.seconds = (times[-1] - times[0]) * len(broadcast) / (len(broadcast) - 1)
        result.everything = sum(1 for _, at, _ in report["sent"] if times[0] <= at <= times[-1])
    return result


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


# -- Hirfa ----------------------------------------------------------------------------------------

async def seed(app: Any, count: int, chatter: int) -> None:
    from sqlalchemy import insert

    from handlers.catalog import CRAFTS, REGIONS
    from storage.schema import artisans, identities

    now = datetime.now(UTC)
    langs = ("ar", "fr", "en")
    async with app.db.transaction() as conn:
        rows = [
            {"id": i + 1, "full_name": f"Artisan {i + 1}", "phone": f"+2126{i:08d}", "phone_verified": True,
             "region": REGIONS[i % len(REGIONS)], "craft": CRAFTS[i % len(CRAFTS)], "locale": langs[i % 3],
             "consent_at": now, "opted_out": False, "created_at": now, "updated_at": now}
            for i in range(count)
        ]
        links = [
            {"channel": "telegram", "external_id": str(FIRST_CHAT + i), "artisan_id": i + 1,
             "chat_id": str(FIRST_CHAT + i), "blocked": False, "created_at": now,
             "last_inbound_at": now}
            for i in range(count)
        ]
        for start in range(0, count, 1000):
            await conn.execute(insert(artisans), rows[start:start + 1000])
            await conn.execute(insert(identities), links[start:start + 1000])
    assert FIRST_CHAT <= chatter < FIRST_CHAT + count


async def wait_for(server: Server, command: str, arg: Any, at_least: int, within: float = 30) -> None:
    deadline = time.monotonic() + within
    while await server.call(command, arg) < at_least:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{command} {arg} stayed below {at_least}")
        await asyncio.sleep(0.05)


async def run_hirfa(server: Server, recipients: int, folder: Path) -> Result:
    from bot.app import Hirfa
    from bot.settings import load_settings
    from tests import factories

    settings = load_settings(
        database_url=f"sqlite+aiosqlite:///{folder / 'bench.db'}", log_level="WARNING",
        telegram={"token": "123456:BENCH", "admin_ids": [ADMIN], "api_url": server.base_url},
    )
    app = Hirfa(settings)
    chatter = FIRST_CHAT + recipients // 2
    await app.prepare()
    await seed(app, recipients, chatter)
    await app.start()
    chats = range(FIRST_CHAT, FIRST_CHAT + recipients)
    try:
        seen = await server.call("count_to", ADMIN)

        async def staff(update: dict[str, Any]) -> None:
            nonlocal seen
            await server.call("push", update)
            await wait_for(server, "count_to", ADMIN, seen + 1)
            await asyncio.sleep(0.3)  # let the whole reply go out
            seen = await server.call("count_to", ADMIN)

        await staff(factories.command_update(ADMIN, "broadcast"))
        await staff(factories.callback_update(ADMIN, "bc:l:fr"))
        await staff(factories.text_update(ADMIN, TEXT))
        await staff(factories.callback_update(ADMIN, "bc:preview"))
        started = time.monotonic()
        await server.call("push", factories.callback_update(ADMIN, "bc:send:1"))

        async def chat() -> None:
            while True:
                await asyncio.sleep(2.5)
                await server.call("push", factories.text_update(chatter, "menu"))

        chatting = asyncio.create_task(chat())
        last = -1
        while True:
            await asyncio.sleep(5)
            done = await server.call("count_mark")
            print(f"  hirfa: {done}/{recipients} delivered after {time.monotonic() - started:.0f} s",
                  file=sys.stderr)
            if done >= recipients or (done == last and done > 0):
                break
            last = done
        chatting.cancel()
        await asyncio.sleep(6)  # the progress job's last tick and the report
        report = await server.call("report")
    finally:
        await app.stop()
    if os.environ.get("BENCH_DUMP"):
        import json

        await asyncio.to_thread(Path(os.environ["BENCH_DUMP"]).write_text, json.dumps(report))
    result = measure("Hirfa outbox", report, recipients, chats)
    window = [at for chat, at, marked in report["sent"] if marked and chat in chats]
    begin, end = (min(window), max(window)) if window else (0.0, 0.0)
    replies = sorted(at for chat, at, marked in report["sent"] if chat == chatter and not marked)
    for user, pushed in report["pushes"]:
        if user != chatter or not begin <= pushed <= end:
            continue
        answer = next((at for at in replies if at >= pushed), None)
        if answer is not None:
            result.latencies.append(answer - pushed)
    return result


# -- the baseline: python-telegram-bot's AIORateLimiter -------------------------------------------

async def run_ptb(server: Server, recipients: int, retries: int) -> Result:
    from telegram import Bot
    from telegram.error import RetryAfter, TelegramError
    from telegram.ext import AIORateLimiter, ExtBot
    from telegram.request import HTTPXRequest

    logging.getLogger("telegram").setLevel(logging.CRITICAL)  # it logs every lost message
    await server.call("reset")
    bot: Bot = ExtBot("123456:BENCH", base_url=server.base_url,
                      request=HTTPXRequest(connection_pool_size=64, pool_timeout=60),
                      rate_limiter=AIORateLimiter(max_retries=retries))
    errors = 0

    async def one(chat: int) -> None:
        nonlocal errors
        try:
            await bot.send_message(chat, TEXT)
        except (RetryAfter, TelegramError):
            errors += 1

    started = time.monotonic()
    async with bot:
        tasks = [asyncio.create_task(one(FIRST_CHAT + i)) for i in range(recipients)]
        pending = set(tasks)
        while pending:
            _, pending = await asyncio.wait(pending, timeout=10)
            print(f"  ptb (max_retries={retries}): {recipients - len(pending)}/{recipients} settled after "
                  f"{time.monotonic() - started:.0f} s", file=sys.stderr)
    report = await server.call("report")
    result = measure(f"PTB AIORateLimiter, max_retries={retries}", report, recipients,
                     range(FIRST_CHAT, FIRST_CHAT + recipients))
    result.errors = errors
    return result


# -- main -----------------------------------------------------------------------------------------

def show(results: list[Result]) -> None:
    print()
    print(f"{'':38} {'msg/s':>7} {'of 30/s':>8} {'all/s':>7} {'of 30/s':>8} {'429s':>6} {'dups':>5} "
          f"{'lost':>6} {'time':>7}")
    for r in results:
        print(f"{r.name:38} {r.rate:7.2f} {r.rate / LIMIT:8.3f} {r.total_rate:7.2f} "
              f"{r.total_rate / LIMIT:8.3f} {r.too_many:6d} {r.duplicates:5d} {r.losses:6d} "
              f"{r.seconds:6.0f}s")
    print("(msg/s: the broadcast's own messages; all/s: everything the bot sent meanwhile,"
          " direct replies included)")
    ours = results[0]
    if ours.latencies:
        print(f"\nHirfa direct replies during the broadcast ({len(ours.latencies)} measured): "
              f"p50 {1000 * statistics.median(ours.latencies):.0f} ms, "
              f"p99 {1000 * percentile(ours.latencies, 0.99):.0f} ms, "
              f"max {1000 * max(ours.latencies):.0f} ms")
    for base in results[1:]:
        if base.rate:
            print(f"Hirfa vs {base.name}: {ours.rate / base.rate:.3f}x the throughput, "
                  f"{ours.too_many} vs {base.too_many} 429s, {ours.losses} vs {base.losses} lost")


async def main(args: argparse.Namespace) -> None:
    server = Server()
    try:
        with tempfile.TemporaryDirectory(prefix="hirfa-bench-") as folder:
            print(f"Broadcast to {args.recipients} artisans, fake Bot API at {server.base_url} "
                  f"(limits: {LIMIT}/s overall, 1/s per chat)", file=sys.stderr)
            results = [await run_hirfa(server, args.recipients, Path(folder))]
        baseline = args.baseline_recipients or args.recipients
        if not args.no_baseline:
            results.append(await run_ptb(server, baseline, 0))
            results.append(await run_ptb(server, baseline, args.retries))
        show(results)
    finally:
        server.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--recipients", type=int, default=10_000)
    parser.add_argument("--baseline-recipients", type=int, default=0,
                        help="recipients for the PTB baseline (default: the same)")
    parser.add_argument("--retries", type=int, default=5, help="max_retries of the retrying baseline")
    parser.add_argument("--no-baseline", action="store_true", help="skip the PTB baseline")
    parser.add_argument("--quick", action="store_true", help="1,000 recipients (CI-sized)")
    several = parser.add_argument_group("several workers (bench/broadcast_workers.py)")
    several.add_argument("--workers", type=int, default=1,
                         help="2 or more: that many `hirfa run` processes on --database")
    several.add_argument("--database", help="postgresql://... (dropped and created again: its name "
                                            "must contain 'bench')")
    several.add_argument("--lease", type=float, default=10.0, help="HIRFA_OUTBOX__CLAIM_LEASE, seconds")
    several.add_argument("--no-kill", action="store_true", help="skip the round with a worker SIGKILLed")
    several.add_argument("--keep-logs", action="store_true", help="keep the workers' logs")
    arguments = parser.parse_args()
    if arguments.quick:
        arguments.recipients = 1000
    if arguments.workers > 1:
        if not arguments.database:
            parser.error("--workers needs --database postgresql://...")
        from bench import broadcast_workers

        asyncio.run(broadcast_workers.main(arguments))
    else:
        asyncio.run(main(arguments))
