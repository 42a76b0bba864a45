"""``hirfa run --workers N``: one supervisor process and N workers that share one port.

The supervisor does no work of its own. It

- refuses, in one line, what several workers cannot do (:func:`refusal`): SQLite (one writer at
  a time: ``hirfa run`` stays one process there) and Telegram long polling (each worker would
  call ``getUpdates``; Telegram answers 409 Conflict to all but one);
- runs the migrations once, so that the workers do not race on them;
- opens the listening socket (``HIRFA_HTTP__HOST:PORT``) and hands it down: each worker inherits
  the descriptor (``--listen-fd``) and serves it with uvicorn, and the kernel gives each
  connection (a webhook post) to one of them;
- starts the workers, ``hirfa run --worker I --listen-fd FD``, and restarts one that dies after
  a back-off (:func:`backoff`: 1, 2, 4 ... 30 s, 1 s again after a minute of good health); a
  worker that exits with a configuration error (2) stops them all;
- forwards SIGTERM and SIGINT to the workers (each stops cleanly: what it has not done stays
  stored) and exits once they have all stopped (SIGKILL after :data:`STOP_GRACE` seconds).

Everything else the workers share lives in the database: updates are stored and handled once,
one user's updates in order (an advisory lock); the clock (``bot/scheduler.py``) and the sender
of each channel (``bot/roles.py``) are leases with one holder each, so the platforms' rates hold
for the whole deployment. A worker whose supervisor is gone stops by itself
(:func:`watch_supervisor`). ``hirfa run`` without ``--workers`` (or with 1) runs no supervisor.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from types import FrameType

from bot.settings import Settings
from storage.urls import is_sqlite

log = logging.getLogger(__name__)

BACKOFF_FIRST = 1.0
BACKOFF_MAX = 30.0
HEALTHY_AFTER = 60.0
"""A worker that ran this long before dying starts its back-off from the first step again."""
STOP_GRACE = 30.0
TICK = 0.1
CONFIG_ERROR = 2


@dataclass(frozen=True)
class Seat:
    """What a worker is told by its supervisor: its number and the shared listening socket."""

    index: int
    fd: int
    supervisor: int

    def listening(self) -> socket.socket:
        return socket.socket(fileno=self.fd)


async def watch_supervisor(seat: Seat, done: asyncio.Event, every: float = 1.0) -> None:
    """Set ``done`` (a clean stop) when the supervisor is gone (this process was re-parented);
    return when ``done`` is set."""
    while not done.is_set():
        if os.getppid() != seat.supervisor:
            log.warning("worker %d: the supervisor (pid %d) is gone; stopping", seat.index,
                        seat.supervisor)
            done.set()
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(done.wait(), every)


def refusal(settings: Settings, workers: int) -> str | None:
    """Why ``hirfa run --workers {workers}`` cannot run with ``settings`` (None: it can)."""
    if workers < 1:
        return "--workers must be 1 or more"
    if workers == 1:
        return None
    if is_sqlite(settings.database_url):
        return (f"--workers {workers} needs PostgreSQL (HIRFA_DATABASE_URL=postgresql://...): "
                "SQLite lets one process write at a time, so on SQLite `hirfa run` stays one process")
    if settings.telegram.enabled and not settings.telegram.webhook_url:
        return (f"--workers {workers} needs the Telegram webhook (HIRFA_TELEGRAM__WEBHOOK_URL): with "
                "long polling every worker would call getUpdates, and Telegram answers 409 Conflict "
                "to all but one")
    return None


def listen(host: str, port: int) -> socket.socket:
    """The listening socket the workers share (inheritable, so that they can be given it)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.create_server((host, port), family=family, backlog=2048)
    sock.set_inheritable(True)
    return sock


def backoff(failures: int) -> float:
    """Seconds before restarting a worker that died ``failures`` times in a row."""
    return float(min(BACKOFF_MAX, BACKOFF_FIRST * 2 ** max(0, failures - 1)))


def _how(code: int) -> str:
    if code < 0:
        with contextlib.suppress(ValueError):
            return f"was killed by {signal.Signals(-code).name}"
    return f"exited with code {code}"


@dataclass
class _Worker:
    index: int
    process: subprocess.Popen[bytes] | None = None
    started: float = 0.0
    failures: int = 0
    restart_at: float | None = None


class Supervisor:
    """Runs ``count`` workers on ``sock`` until SIGTERM/SIGINT (see the module docstring).
    ``command``: how to start ``hirfa run`` (the same Python, by default)."""

    def __init__(self, count: int, sock: socket.socket, command: list[str] | None = None) -> None:
        self.sock = sock
        self.command = command or [sys.executable, "-m", "bot", "run"]
        self.workers = [_Worker(index) for index in range(1, count + 1)]
        self.stopping: int | None = None
        self.exit_code = 0

    def _spawn(self, worker: _Worker) -> None:
        fd = self.sock.fileno()
        worker.process = subprocess.Popen(
            [*self.command, "--worker", str(worker.index), "--listen-fd", str(fd)], pass_fds=(fd,))
        worker.started = time.monotonic()
        worker.restart_at = None
        log.info("workers: worker %d started (pid %d)", worker.index, worker.process.pid)

    def _forward(self, sig: int, _frame: FrameType | None = None) -> None:
        if self.stopping is None:
            log.info("workers: %s: stopping the workers", signal.Signals(sig).name)
        self.stopping = sig
        for worker in self.workers:
            if worker.process is not None and worker.process.poll() is None:
                worker.process.send_signal(sig)

    def _check(self, worker: _Worker, now: float) -> None:
        """Notice a worker's death; restart it when its back-off is over."""
        if worker.process is None:
            if self.stopping is None and worker.restart_at is not None and now >= worker.restart_at:
                self._spawn(worker)
            return
        code = worker.process.poll()
        if code is None:
            return
        pid, worker.process = worker.process.pid, None
        if self.stopping is not None:
            log.info("workers: worker %d (pid %d) stopped", worker.index, pid)
            return
        if code == CONFIG_ERROR:
            log.error("workers: worker %d (pid %d) stopped on a configuration error; stopping all",
                      worker.index, pid)
            self.exit_code = CONFIG_ERROR
            self._forward(signal.SIGTERM)
            return
        worker.failures = 1 if now - worker.started >= HEALTHY_AFTER else worker.failures + 1
        delay = backoff(worker.failures)
        worker.restart_at = now + delay
        log.warning("workers: worker %d (pid %d) %s; restarting it in %.0f s",
                    worker.index, pid, _how(code), delay)

    def run(self) -> int:
        """Start the workers, keep them running, stop them on SIGTERM/SIGINT; the exit code."""
        previous = {sig: signal.signal(sig, self._forward) for sig in (signal.SIGTERM, signal.SIGINT)}
        deadline: float | None = None
        try:
            for worker in self.workers:
                self._spawn(worker)
            while True:
                now = time.monotonic()
                for worker in self.workers:
                    self._check(worker, now)
                running = [w.process for w in self.workers if w.process is not None]
                if self.stopping is not None:
                    if not running:
                        break
                    deadline = deadline or now + STOP_GRACE
                    if now > deadline:
                        log.warning("workers: %d worker(s) still running after %.0f s; killing",
                                    len(running), STOP_GRACE)
                        for process in running:
                            process.kill()
                time.sleep(TICK)
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            self.sock.close()
        log.info("workers: all stopped")
        return self.exit_code


def supervise(settings: Settings, count: int) -> int:
    """``hirfa run --workers N`` (N > 1, :func:`refusal` passed): migrate, listen, supervise."""
    from storage.database import Database

    async def migrate() -> None:
        db = Database(settings.database_url)
        try:
            await db.upgrade()
        finally:
            await db.dispose()

    asyncio.run(migrate())
    try:
        sock = listen(settings.http.host, settings.http.port)
    except OSError as err:
        print(f"hirfa: cannot listen on {settings.http.host}:{settings.http.port}: {err.strerror}",
              file=sys.stderr)
        return 1
    log.info("workers: %d workers on %s:%d", count, settings.http.host, settings.http.port)
    return Supervisor(count, sock).run()
