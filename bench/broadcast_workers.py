"""The broadcast benchmark with several ``hirfa run`` worker processes on one PostgreSQL database.

    python -m bench.broadcast --workers 2 --database postgresql://postgres@127.0.0.1:5432/hirfa_bench_broadcast
    python -m bench.broadcast --workers 2 --database ... --quick      # 1,000 recipients

Two rounds, each on a fresh database (the one named is DROPPED and created again for each round:
its name must contain ``bench``):

1. **steady**: N registered artisans (on Telegram), ``--workers`` real ``hirfa run`` processes
   (webhook mode, each on its own HTTP port) against the fake Bot API of ``bench/broadcast.py``
   (its own process; 30 messages/s overall and 1/s per chat, 429 beyond). Staff write
   ``/broadcast`` → French → text → preview → "send now" to the first worker's webhook, as
   Telegram would post it; every worker's outbox sends. Printed: the broadcast's rate as a
   fraction of the 30/s limit, 429s, duplicates, losses.
2. **kill**: the same, and half-way a worker that sends on Telegram (not the one running the
   clock, when there is a choice) is SIGKILLed. The broadcast rows it had claimed and not
   settled (``sending`` in the outbox at the kill, with the survivors' own) come back to the
   queue after ``HIRFA_OUTBOX__CLAIM_LEASE`` (``--lease``, 10 s here, 60 s by default): 0 lost is
   expected, and at most those rows sent twice. The rate of this round includes that wait.

Each worker's log is kept in a temporary folder whose path is printed (``--keep-logs``).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy.engine import make_url

from bench.broadcast import ADMIN, FIRST_CHAT, LIMIT, TEXT, Result, Server, measure
from storage import outbox as outbox_repo
from storage.database import Database
from storage.urls import async_url, plain_url
from tests import factories
from tests.recipients import seed_recipients

ROOT = Path(__file__).resolve().parent.parent
SECRET = "bench-workers_1"
HOOK = "/telegram/hook"


# -- the database -------------------------------------------------------------------------------

async def fresh_database(url: str) -> None:
    """Drop and create the database ``url`` names (on its server's ``postgres`` database)."""
    import asyncpg

    target = make_url(plain_url(url))
    name = target.database or ""
    if "bench" not in name:
        raise SystemExit(f"refusing to drop {name!r}: the benchmark's database name must contain 'bench'")
    admin = target.set(drivername="postgresql", database="postgres")
    conn = await asyncpg.connect(admin.render_as_string(hide_password=False))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


async def prepare(url: str, recipients: int) -> None:
    await fresh_database(url)
    db = Database(url)
    try:
        await db.upgrade()
        seeded = await seed_recipients(db, recipients, datetime.now(UTC), first_chat=FIRST_CHAT)
        assert len(seeded.telegram) == recipients
    finally:
        await db.dispose()


async def broadcast_rows(url: str, status: str) -> int:
    db = Database(url)
    try:
        async with db.read() as conn:
            return (await outbox_repo.counts(conn, kind="broadcast")).get(status, 0)
    finally:
        await db.dispose()


# -- the workers --------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Worker:
    name: str
    port: int
    process: subprocess.Popen[bytes]

    @classmethod
    def spawn(cls, name: str, url: str, api_url: str, lease: float, logs: Path) -> Worker:
        port = free_port()
        env = {
            "PATH": os.environ.get("PATH", ""), "PTB_TIMEDELTA": "true",
            "HIRFA_DATABASE_URL": url, "HIRFA_LOG_LEVEL": "WARNING",
            "HIRFA_TELEGRAM__TOKEN": "123456:BENCH", "HIRFA_TELEGRAM__API_URL": api_url,
            "HIRFA_TELEGRAM__ADMIN_IDS": f"[{ADMIN}]",
            "HIRFA_TELEGRAM__WEBHOOK_URL": f"https://hirfa.example.org{HOOK}",
            "HIRFA_TELEGRAM__WEBHOOK_SECRET": SECRET,
            "HIRFA_HTTP__PORT": str(port), "HIRFA_OUTBOX__CLAIM_LEASE": str(lease),
        }
        with (logs / f"{name}.log").open("ab") as log:
            process = subprocess.Popen([sys.executable, "-m", "bot", "run"], cwd=ROOT, env=env,
                                       stdout=log, stderr=subprocess.STDOUT)
        return cls(name, port, process)

    async def health(self, client: httpx.AsyncClient) -> dict[str, Any] | None:
        try:
            answer = await client.get(f"http://127.0.0.1:{self.port}/healthz")
        except httpx.TransportError:
            return None
        return answer.json() if answer.status_code == 200 else None

    async def up(self, client: httpx.AsyncClient, within: float = 120) -> dict[str, Any]:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.process.returncode} (see its log)")
            if (health := await self.health(client)) is not None:
                return health
            await asyncio.sleep(0.2)
        raise TimeoutError(f"{self.name} did not come up")

    async def post(self, client: httpx.AsyncClient, update: dict[str, Any]) -> None:
        answer = await client.post(f"http://127.0.0.1:{self.port}{HOOK}", json=update,
                                   headers={"X-Telegram-Bot-Api-Secret-Token": SECRET})
        answer.raise_for_status()

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


# -- one round ----------------------------------------------------------------------------------

@dataclass
class Round:
    result: Result
    killed: str | None = None
    killed_at: int = 0  # broadcast messages delivered when the worker was killed
    claimed_at_kill: int = 0  # broadcast rows ``sending`` right after the kill (every worker's)


async def staff_sends(server: Server, worker: Worker, client: httpx.AsyncClient) -> None:
    """Staff compose and send the broadcast in the chat (in French), each update posted to
    ``worker``; each step waits for what the bot answers to it."""
    steps = [(factories.command_update(ADMIN, "broadcast"), "Dans quelle langue"),
             (factories.callback_update(ADMIN, "bc:l:fr"), "Envoyez le texte"),
             (factories.text_update(ADMIN, TEXT), "Diffusion n°"),
             (factories.callback_update(ADMIN, "bc:preview"), "Prêt à envoyer"),
             (factories.callback_update(ADMIN, "bc:send:1"), "🚀")]
    for update, expect in steps:
        seen = len(await server.call("texts_to", ADMIN))
        await worker.post(client, await server.call("observe", update))
        deadline = time.monotonic() + 60
        while not any(expect in text for text in (await server.call("texts_to", ADMIN))[seen:]):
            if time.monotonic() > deadline:
                raise TimeoutError(f"staff waited for {expect!r} in vain")
            await asyncio.sleep(0.1)


async def run_round(server: Server, args: argparse.Namespace, logs: Path, kill: bool) -> Round:
    url = async_url(args.database)
    label = f"{args.workers} workers" + (", one SIGKILLed" if kill else "")
    await prepare(url, args.recipients)
    await server.call("reset")
    stem = "kill" if kill else "steady"
    workers = [Worker.spawn(f"{stem}-w{n + 1}", url, server.base_url, args.lease, logs)
               for n in range(args.workers)]
    outcome = Round(Result(label, args.recipients))
    try:
        async with httpx.AsyncClient(timeout=30) as client:
            roles = [(await w.up(client))["role"] for w in workers]
            shown_roles = [(w.name, r["channels"], r["clock"]) for w, r in zip(workers, roles, strict=True)]
            print(f"  {label}: up (name, channels, clock): {shown_roles}", file=sys.stderr)
            await staff_sends(server, workers[0], client)
            started = stalled_since = shown = time.monotonic()
            last = -1
            victim: Worker | None = None
            if kill:
                sending = [(r["clock"], n) for n, r in enumerate(roles) if "telegram" in r["channels"]]
                victim = workers[min(sending)[1]] if sending else workers[-1]
            while True:
                await asyncio.sleep(1)
                done = await server.call("count_mark")
                for worker in workers:
                    if worker.process.poll() is not None and worker.name != outcome.killed:
                        raise RuntimeError(f"{worker.name} exited by itself ({worker.process.returncode}); "
                                           f"its log: {logs / (worker.name + '.log')}")
                if victim is not None and victim.process.poll() is None and done >= args.recipients // 2:
                    victim.kill()
                    outcome.killed, outcome.killed_at = victim.name, done
                    outcome.claimed_at_kill = await broadcast_rows(url, "sending")
                    print(f"  {label}: SIGKILLed {victim.name} at {done} delivered; "
                          f"{outcome.claimed_at_kill} broadcast rows claimed, not settled", file=sys.stderr)
                now = time.monotonic()
                if done != last:
                    stalled_since, last = now, done
                if now - shown >= 10:
                    shown = now
                    print(f"  {label}: {done}/{args.recipients} after {now - started:.0f} s", file=sys.stderr)
                if not await broadcast_rows(url, "pending") and not await broadcast_rows(url, "sending"):
                    break  # every delivery settled: nothing more can go out
                if now - stalled_since > args.lease * 3 + 30:
                    print(f"  {label}: no progress for {now - stalled_since:.0f} s; stopping",
                          file=sys.stderr)
                    break
            await asyncio.sleep(2)  # anything sent twice shows by now
    finally:
        for worker in workers:
            worker.stop()
    report = await server.call("report")
    outcome.result = measure(label, report, args.recipients,
                             range(FIRST_CHAT, FIRST_CHAT + args.recipients))
    return outcome


def show(rounds: list[Round]) -> None:
    print()
    print(f"{'':34} {'msg/s':>7} {'of 30/s':>8} {'429s':>6} {'dups':>5} {'lost':>6} {'time':>7}")
    for r in rounds:
        res = r.result
        print(f"{res.name:34} {res.rate:7.2f} {res.rate / LIMIT:8.3f} {res.too_many:6d} "
              f"{res.duplicates:5d} {res.losses:6d} {res.seconds:6.0f}s")
    for r in rounds:
        if r.killed:
            bound = "within" if r.result.duplicates <= r.claimed_at_kill else "ABOVE"
            print(f"kill: {r.killed} SIGKILLed at {r.killed_at} delivered; {r.claimed_at_kill} broadcast "
                  f"rows were claimed and unsettled then (every worker's): {r.result.duplicates} sent twice "
                  f"({bound} that bound), {r.result.losses} lost")


async def main(args: argparse.Namespace) -> None:
    server = Server()
    logs = Path(tempfile.mkdtemp(prefix="hirfa-bench-workers-"))
    try:
        print(f"Broadcast to {args.recipients} artisans by {args.workers} `hirfa run` workers on "
              f"{make_url(plain_url(args.database)).render_as_string()}, fake Bot API at {server.base_url} "
              f"(limits: {LIMIT}/s overall, 1/s per chat); claim lease {args.lease:g} s; logs in {logs}",
              file=sys.stderr)
        rounds = [await run_round(server, args, logs, kill=False)]
        if not args.no_kill:
            rounds.append(await run_round(server, args, logs, kill=True))
        show(rounds)
    finally:
        server.stop()
        if not args.keep_logs:
            shutil.rmtree(logs, ignore_errors=True)
