"""End-to-end update throughput and latency: Hirfa versus a bare PTB echo bot, in one run.

Both bots run the real python-telegram-bot ``Application`` against the same fake Bot API served
over HTTP on loopback from a separate process (``bench/fast_fake_bot.py``, uvicorn, so the fake
neither shares our GIL nor costs more than the bots it serves). Hirfa runs its
whole stack, updates entering as from its webhook: stored (``inbound_updates``) → engine →
replies written to the outbox in the update's transaction → sent from there over HTTP. An
update counts as done when its reply has left (for the bare bot: when its handler returned).

The load is a realistic mix from 1,000 registered artisans (open the menu, open their profile,
press buttons, ask for help, every other feature the menu offers) plus 10% new users going
through registration. It is fed twice: as fast as the bot can take it (throughput), then at a
fixed rates (default 100 and 200 updates/s) to measure reply latency percentiles.

    python bench/updates.py            # full size
    python bench/updates.py --quick    # CI-sized

With ``--workers`` (and ``--database postgresql://...``) it measures real processes instead:
``hirfa run`` workers behind a load balancer, SQLite with one worker and PostgreSQL with each
count of workers, against the bare bot in its own process (``bench/update_processes.py``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import resource
import socket
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("PTB_TIMEDELTA", "true")

from telegram import Update  # noqa: E402
from telegram.error import TelegramError  # noqa: E402
from telegram.ext import Application, ApplicationBuilder, ContextTypes, TypeHandler  # noqa: E402

from bench.fast_fake_bot import start_in_process  # noqa: E402
from bot.app import Hirfa  # noqa: E402
from bot.channels.telegram_http import AiohttpRequest  # noqa: E402
from bot.settings import load_settings  # noqa: E402
from storage import artisans as artisan_repo  # noqa: E402
from tests import factories  # noqa: E402

TOKEN = "123456:TEST"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def workload(artisans: int, count: int, seed: int = 7) -> list[dict[str, Any]]:
    """Update dicts, each user's in order: mostly registered users, 10% registering."""
    rng = random.Random(seed)
    updates: list[dict[str, Any]] = []
    newcomers = iter(range(500_000, 600_000))
    registering: list[tuple[int, list[tuple[str, str]]]] = []
    while len(updates) < count:
        if rng.random() < 0.10:
            # One update in ten comes from someone registering (several interleaved at once).
            if not registering or rng.random() < 0.3:
                uid = next(newcomers)
                steps = [("cmd", "start"), ("cb", "lang:fr"), ("cb", "consent:yes"),
                         ("text", "Nouveau Venu"), ("text", f"06{uid % 100_000_000:08d}"),
                         ("cb", "region:CS"), ("cb", "craft:pottery"), ("cb", "cnie:skip"),
                         ("cb", "reg:confirm")]
                registering.append((uid, steps))
            uid, steps = registering[rng.randrange(len(registering))]
            kind, value = steps.pop(0)
            if not steps:
                registering.remove((uid, steps))
        else:
            uid = 100_000 + rng.randrange(artisans)
            kind, value = rng.choice([("text", "menu"), ("cb", "m:profile"), ("cmd", "help"),
                                      ("cb", "m:language"), ("text", "2"), ("cmd", "menu"),
                                      ("cb", "m:trainings"), ("cb", "m:certification")])
        if kind == "cmd":
            updates.append(factories.command_update(uid, value))
        elif kind == "cb":
            updates.append(factories.callback_update(uid, value))
        else:
            updates.append(factories.text_update(uid, value))
    return updates


class Recorder:
    """Records when each update finished: for the bare bot a group-1 handler (runs after its
    own handler, which sent the reply); for Hirfa when the update's reply left the outbox."""

    def __init__(self) -> None:
        self.done: dict[int, float] = {}
        self.event = asyncio.Event()
        self.expected = 0

    def mark(self, update_id: int) -> None:
        self.done[update_id] = time.perf_counter()
        if len(self.done) >= self.expected:
            self.event.set()

    async def __call__(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        self.mark(update.update_id)


Feed = Callable[[dict[str, Any]], Awaitable[None]]


def ptb_feed(app: Application[Any, Any, Any, Any, Any, Any]) -> Feed:
    async def feed(data: dict[str, Any]) -> None:
        await app.update_queue.put(Update.de_json(data, app.bot))
    return feed


async def drive(feed: Feed, recorder: Recorder,
                updates: list[dict[str, Any]], rate: float | None) -> tuple[float, list[float]]:
    """Feed ``updates`` (at ``rate`` per second, or all at once); return (seconds, latencies)."""
    recorder.done.clear()
    recorder.event.clear()
    recorder.expected = len(updates)
    sent: dict[int, float] = {}
    start = time.perf_counter()
    for index, data in enumerate(updates):
        if rate:
            due = start + index / rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
        sent[int(data["update_id"])] = time.perf_counter()
        await feed(data)
    await asyncio.wait_for(recorder.event.wait(), timeout=600)
    elapsed = max(recorder.done.values()) - start
    latencies = [(recorder.done[u] - t) * 1000 for u, t in sent.items() if u in recorder.done]
    return elapsed, latencies


PTBApp = Application[Any, Any, Any, Any, Any, Any]


async def echo_bot(base_url: str, concurrency: int, token: str = TOKEN,
                   aiohttp: bool = False) -> tuple[PTBApp, Recorder]:
    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        if update.callback_query is not None:
            with contextlib.suppress(TelegramError):  # a strict stand-in may not know the query
                await update.callback_query.answer()
            await context.bot.send_message(update.callback_query.from_user.id, "ok")
        elif update.message is not None and update.message.text is not None:
            await update.message.reply_text(update.message.text[:100])

    builder = (ApplicationBuilder().token(token).base_url(base_url).updater(None)
               .concurrent_updates(concurrency))
    if aiohttp:
        builder = builder.request(AiohttpRequest())
    app = builder.build()
    recorder = Recorder()
    app.add_handler(TypeHandler(Update, echo))
    app.add_handler(TypeHandler(Update, recorder), group=1)
    await app.initialize()
    await app.start()
    return app, recorder


async def seed_artisans(hirfa: Hirfa, artisans: int, rng: random.Random) -> None:
    """Migrate, then ``artisans`` registered artisans on Telegram (user ids from 100,000, the
    ones :func:`workload` writes as) and every feature's demo data."""
    await hirfa.prepare()
    now = hirfa.clock.now()
    async with hirfa.db.transaction() as conn:
        for i in range(artisans):
            uid = 100_000 + i
            aid = await artisan_repo.create(
                conn, now, full_name=f"Artisan {i}", phone=f"+2126{uid:08d}", region="MS",
                craft="zellige", locale=rng.choice(["ar", "fr", "en"]), consent_at=now,
            )
            await artisan_repo.link_identity(conn, aid, "telegram", str(uid), str(uid), now)
    for seed in hirfa.router.demo:
        await seed(hirfa.services)


async def hirfa_bot(base_url: str, folder: Path, artisans: int, concurrency: int,
                    token: str = TOKEN) -> tuple[Hirfa, Feed, Recorder]:
    settings = load_settings(
        database_url=f"sqlite+aiosqlite:///{folder / 'bench.db'}",
        telegram={"token": token, "api_url": base_url, "concurrent_updates": concurrency},
        # Like the bare bot: no pacing (the synthetic users write faster than 1 message a second).
        outbox={"telegram_rate": 1000, "per_chat_interval": 0},
    )
    hirfa = Hirfa(settings)
    await seed_artisans(hirfa, artisans, random.Random())
    assert hirfa.telegram is not None
    channel = hirfa.telegram
    await channel.application.initialize()
    await channel.application.start()
    recorder = Recorder()
    # Done when the update's reply has left the outbox (what the user waits for): the inbox
    # hands each update's reply rows to ``Outbox.send_now``.
    handle, send_now = channel.inbox.handle, hirfa.outbox.send_now
    waiting: dict[int, int] = {}

    async def handled(row: Any) -> Any:
        replies = await handle(row)
        waiting[id(replies)] = int(row.external_id)
        return replies

    async def sent(name: str, items: Any) -> None:
        await send_now(name, items)
        update_id = waiting.pop(id(items), None)
        if update_id is not None:
            recorder.mark(update_id)

    channel.inbox.handle = handled
    hirfa.outbox.send_now = sent  # type: ignore[method-assign]
    return hirfa, channel.feed, recorder


class RecordingRequest(AiohttpRequest):
    """Hirfa's own transport, noting when the first message reached each chat (the user sees it)."""

    def __init__(self) -> None:
        super().__init__()
        self.first_reply: dict[str, float] = {}

    async def do_request(self, url: str, method: str, request_data: Any = None,
                         *args: Any, **kwargs: Any) -> tuple[int, bytes]:
        result = await super().do_request(url, method, request_data, *args, **kwargs)
        if url.endswith("/sendMessage") and request_data is not None:
            chat = str(request_data.json_parameters.get("chat_id"))
            self.first_reply.setdefault(chat, time.perf_counter())
        return result


async def flood(base_url: str, folder: Path, concurrency: int, burst: int, others: int,
                give_up: float, token: str = TOKEN) -> None:
    """One chat sends ``burst`` messages at once (a forward of many messages does it), then
    ``others`` registered artisans write once each: how long do they wait for an answer?

    Real pacing here (29/s overall, 1 message a second per chat), as in production; updates
    enter through the webhook path (``TelegramChannel.feed``)."""
    settings = load_settings(
        database_url=f"sqlite+aiosqlite:///{folder / 'flood.db'}",
        telegram={"token": token, "api_url": base_url, "concurrent_updates": concurrency,
                  "webhook_url": "https://hirfa.example/telegram/webhook",
                  "webhook_secret": "bench-secret-0123456789"},
        http={"port": free_port()},
    )
    request = RecordingRequest()
    hirfa = Hirfa(settings, telegram_request=request)
    await hirfa.prepare()
    now = hirfa.clock.now()
    flooder, normal = 700_000, [700_001 + i for i in range(others)]
    async with hirfa.db.transaction() as conn:
        for uid in [flooder, *normal]:
            aid = await artisan_repo.create(
                conn, now, full_name=f"Artisan {uid}", phone=f"+2126{uid:08d}", region="MS",
                craft="zellige", locale="fr", consent_at=now,
            )
            await artisan_repo.link_identity(conn, aid, "telegram", str(uid), str(uid), now)
    await hirfa.start(scheduler=False)
    assert hirfa.telegram is not None
    channel = hirfa.telegram
    try:
        for _ in range(burst):
            await channel.feed(factories.text_update(flooder, "menu"))
        await asyncio.sleep(0.05)
        sent: dict[str, float] = {}
        for uid in normal:
            sent[str(uid)] = time.perf_counter()
            await channel.feed(factories.text_update(uid, "menu"))
        deadline = time.perf_counter() + give_up
        # Polling what another task records, with a deadline:
        while time.perf_counter() < deadline and not all(c in request.first_reply for c in sent):  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        waits = [(request.first_reply.get(c, float("inf")) - t) * 1000 for c, t in sent.items()]
        answered = [w for w in waits if w != float("inf")]
        unanswered = len(waits) - len(answered)
        p50, p99 = percentile(waits, 50), percentile(waits, 99)
        shown = [f"{v:8.1f} ms" if v != float("inf") else f"> {give_up:.0f} s" for v in (p50, p99)]
        print(f"  flood: 1 chat x {burst} messages, then {others} other chats once each: "
              f"their wait p50 {shown[0]}, p99 {shown[1]}"
              + (f"  ({unanswered} of {others} unanswered after {give_up:.0f} s)" if unanswered else ""))
    finally:
        stopping = time.perf_counter()
        await hirfa.stop()
        print(f"  graceful stop with the backlog: {time.perf_counter() - stopping:.1f} s")


def fresh_copy(updates: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The same load with new update ids and callback ids (as if sent again by the users)."""
    copies = []
    for data in updates:
        copy = {**data, "update_id": factories.next_update_id()}
        if "callback_query" in data:
            query = data["callback_query"]
            copy["callback_query"] = {**query, "id": f"{query['id']}-{copy['update_id']}"}
        copies.append(copy)
    return copies


def report(name: str, count: int, elapsed: float, lat: list[float]) -> dict[str, float]:
    rate = count / elapsed
    figures = {"rate": rate, "p50": percentile(lat, 50), "p95": percentile(lat, 95),
               "p99": percentile(lat, 99)}
    print(f"  {name:<10} {rate:8.1f} updates/s   latency p50 {figures['p50']:6.1f} ms  "
          f"p95 {figures['p95']:6.1f} ms  p99 {figures['p99']:6.1f} ms")
    return figures


async def measure(name: str, feed: Feed, recorder: Recorder, updates: list[dict[str, Any]],
                  rates: list[float]) -> tuple[dict[str, float], dict[float, dict[str, float]]]:
    elapsed, lat = await drive(feed, recorder, updates, None)
    burst = report(f"{name} max", len(updates), elapsed, lat)
    paced = {}
    for rate in rates:
        elapsed, lat = await drive(feed, recorder, fresh_copy(updates), rate)
        paced[rate] = report(f"{name} @{rate:.0f}/s", len(updates), elapsed, lat)
    return burst, paced


async def main(args: argparse.Namespace) -> None:
    server = None
    if args.api_url:
        base_url = args.api_url
        where = "given by --api-url"
    else:
        port = free_port()
        server = start_in_process(port)
        base_url = f"http://127.0.0.1:{port}/bot"
        where = "bench/fast_fake_bot.py, separate process"
    updates = workload(args.artisans, args.updates)
    print(f"{len(updates)} updates, {args.artisans} registered artisans, fake Bot API at "
          f"{base_url} ({where})")
    try:
        if args.flood_only:
            with tempfile.TemporaryDirectory() as tmp:
                await flood(base_url, Path(tmp), args.concurrency, args.flood, 20,
                            args.flood_timeout, args.token)
            return
        # The bare bot at its best: PTB's default (sequential) and the same concurrency as Hirfa.
        bare: dict[int, tuple[dict[str, float], dict[float, dict[str, float]]]] = {}
        for concurrency in sorted({1, args.concurrency}):
            echo_app, echo_rec = await echo_bot(base_url, concurrency, args.token)
            bare[concurrency] = await measure(f"bare PTB c{concurrency}", ptb_feed(echo_app), echo_rec,
                                              fresh_copy(updates), args.rates)
            await echo_app.stop()
            await echo_app.shutdown()
        # For context only (not the baseline): the same bare bot on Hirfa's aiohttp transport.
        same_app, same_rec = await echo_bot(base_url, 1, args.token, aiohttp=True)
        same = await measure("bare PTB c1 + aiohttp", ptb_feed(same_app), same_rec,
                             fresh_copy(updates), [])
        await same_app.stop()
        await same_app.shutdown()
        with tempfile.TemporaryDirectory() as tmp:
            hirfa, feed, rec = await hirfa_bot(base_url, Path(tmp), args.artisans,
                                               args.concurrency, args.token)
            ours = await measure(f"Hirfa c{args.concurrency}", feed, rec, fresh_copy(updates),
                                 args.rates)
            await hirfa.stop()
        with tempfile.TemporaryDirectory() as tmp:
            await flood(base_url, Path(tmp), args.concurrency, args.flood, 20,
                        args.flood_timeout, args.token)
    finally:
        if server is not None:
            server.terminate()
            server.join(timeout=5)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    best = max(bare, key=lambda c: bare[c][0]["rate"])
    print(f"ratio Hirfa/bare (max throughput, against the faster bare run, c{best}): "
          f"{ours[0]['rate'] / bare[best][0]['rate']:.2f}   (target >= 0.5)")
    print(f"  (for context: Hirfa / bare PTB on Hirfa's aiohttp transport: "
          f"{ours[0]['rate'] / same[0]['rate']:.2f})")
    for rate in args.rates:
        print(f"p99 at {rate:.0f}/s: Hirfa {ours[1][rate]['p99']:.1f} ms, bare PTB "
              f"{bare[best][1][rate]['p99']:.1f} ms   (target at 200/s: Hirfa < 50 ms)")
    print(f"peak memory (whole benchmark process): {peak:.0f} MB")


def cli(argv: list[str] | None = None, run: Callable[[argparse.Namespace], Any] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--artisans", type=int, default=1000)
    parser.add_argument("--updates", type=int, default=4000)
    parser.add_argument("--rates", type=lambda v: [float(x) for x in v.split(",")],
                        default=[100.0, 200.0], help="paced rates, e.g. 100,200")
    parser.add_argument("--concurrency", type=int, default=8,
                        help="Hirfa's concurrent updates (its default); the bare bot runs "
                             "sequentially and at this concurrency")
    parser.add_argument("--api-url", help="an external Bot API stand-in, e.g. "
                        "http://127.0.0.1:8081/bot (default: start bench/fast_fake_bot.py)")
    parser.add_argument("--token", default=TOKEN, help="bot token the stand-in accepts")
    parser.add_argument("--flood", type=int, default=200,
                        help="messages the flooding chat sends in one burst")
    parser.add_argument("--flood-timeout", type=float, default=300.0,
                        help="give up waiting for the other chats' answers after this long")
    parser.add_argument("--flood-only", action="store_true", help="only the flood scenario")
    parser.add_argument("--quick", action="store_true", help="small, CI-friendly sizes")
    processes = parser.add_argument_group(
        "processes", "measure `hirfa run` workers fed over their webhooks, SQLite x1 and "
        "PostgreSQL x N, against the bare bot (bench/update_processes.py)")
    processes.add_argument("--workers", type=lambda v: [int(x) for x in v.split(",")],
                           help="worker counts on PostgreSQL, e.g. 1,2,4 (needs --database)")
    processes.add_argument("--database", metavar="URL",
                           help="a PostgreSQL server, e.g. postgresql://postgres@127.0.0.1:5432/"
                                "test: the bench creates (and drops) its own database there")
    processes.add_argument("--rate", type=float, default=100.0,
                           help="the paced run's updates/s (reply latency)")
    processes.add_argument("--connections", type=int, default=40,
                           help="webhook requests at once (Telegram's default max_connections)")
    processes.add_argument("--worker-tree", metavar="DIR",
                           help="run the workers from another checkout of Hirfa (before/after)")
    args = parser.parse_args(argv)
    if args.quick:
        args.artisans, args.updates = 200, 600
    if args.workers or args.database:
        from bench.update_processes import main as processes_main

        if args.workers and not args.database:
            parser.error("--workers needs --database postgresql://...")
        args.workers = args.workers or [1]
        asyncio.run(processes_main(args))
        return
    asyncio.run(main(args))


if __name__ == "__main__":
    cli()
