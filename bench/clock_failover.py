"""The clock's failover time: two worker processes on one PostgreSQL database, SIGKILL the one
that runs the scheduled jobs, measure until the other runs them.

Each worker builds the real application (no channels), runs the real ``Scheduler`` with the real
clock and prints a line when it takes the ``clock`` lease. Expected: at most
``LEASE_PERIOD + CAMPAIGN_EVERY`` (25 s) after the kill; on average about 20 s minus the time
since the holder's last renewal, plus up to one campaign period.

    python -m bench.clock_failover postgresql://postgres@127.0.0.1:5432/hirfa_bench [--rounds 2]

The database must exist (``createdb``); its ``leases`` table is used as is.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


async def worker(url: str, name: str) -> None:
    from bot.app import Hirfa
    from bot.scheduler import CAMPAIGN_EVERY, Scheduler
    from bot.settings import load_settings

    app = Hirfa(load_settings(database_url=url, telegram={"token": None}, log_level="WARNING"))
    await app.prepare()
    scheduler = Scheduler(app.services, holder=name)
    leading = False
    while True:
        now = await scheduler.campaign()
        if now and not leading:
            print(f"LEADING {name} {time.time():.3f}", flush=True)
        leading = now
        await asyncio.sleep(CAMPAIGN_EVERY)


def spawn(url: str, name: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "bench.clock_failover", url, "--worker", name],
                            cwd=ROOT, stdout=subprocess.PIPE, text=True, env={**os.environ})


def wait_leader(procs: dict[str, subprocess.Popen[str]], timeout: float = 60) -> tuple[str, float]:
    import selectors

    sel = selectors.DefaultSelector()
    for name, proc in procs.items():
        assert proc.stdout is not None
        sel.register(proc.stdout, selectors.EVENT_READ, name)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            for key, _ in sel.select(timeout=1):
                line = key.fileobj.readline()  # type: ignore[union-attr]
                if line.startswith("LEADING"):
                    _, who, at = line.split()
                    return who, float(at)
    finally:
        sel.close()
    raise TimeoutError("no process took the clock")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("--worker")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    if args.worker:
        asyncio.run(worker(args.url, args.worker))
        return
    procs = {"w1": spawn(args.url, "w1"), "w2": spawn(args.url, "w2")}
    try:
        leader, _ = wait_leader(procs)
        times = []
        for n in range(args.rounds):
            killed = time.time()
            procs[leader].send_signal(signal.SIGKILL)
            procs[leader].wait()
            dead = leader
            survivors = {k: p for k, p in procs.items() if k != dead}
            leader, took = wait_leader(survivors)
            times.append(took - killed)
            print(f"round {n + 1}: killed {dead}, {leader} runs the clock after {took - killed:.1f} s")
            procs[dead] = spawn(args.url, dead)  # a replacement comes up meanwhile
        print(f"failover: max {max(times):.1f} s, mean {sum(times) / len(times):.1f} s"
              f" over {len(times)} kills (bound 25 s, goal < 30 s)")
    finally:
        for proc in procs.values():
            proc.kill()
            proc.wait()


if __name__ == "__main__":
    main()
