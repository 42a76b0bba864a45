"""How fast the WhatsApp webhook acknowledges, and how many messages a second it then handles.

    python -m bench.whatsapp_webhook [--messages 300]

Runs the real application on an ephemeral 127.0.0.1 port (uvicorn, SQLite in a temporary folder)
with the fake Graph API in process, posts signed "salam" messages from distinct senders one after
the other, and prints the acknowledgement latency (what Meta waits for) and the handling rate.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import statistics
import tempfile
import time
from pathlib import Path

import httpx

from bot.app import Hirfa
from bot.settings import load_settings
from tests.fakes.graph import FakeGraphAPI
from tests.whatsapp_harness import whatsapp_settings


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def main(count: int) -> None:
    graph = FakeGraphAPI(enforce_window=False)
    with tempfile.TemporaryDirectory() as folder:
        port = free_port()
        settings = load_settings(
            database_url=f"sqlite+aiosqlite:///{Path(folder) / 'bench.db'}",
            telegram={"token": None}, whatsapp=whatsapp_settings(),
            http={"host": "127.0.0.1", "port": port}, log_level="WARNING",
        )
        app = Hirfa(settings, whatsapp_transport=httpx.MockTransport(graph.async_handler))
        await app.start(scheduler=False)
        assert app.whatsapp is not None
        acks: list[float] = []
        started = time.perf_counter()
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            for n in range(count):
                body = json.dumps(graph.text(f"2126{n:08d}", "salam")).encode()
                t0 = time.perf_counter()
                response = await client.post("/whatsapp/webhook", content=body,
                                             headers={"X-Hub-Signature-256": graph.sign(body)})
                acks.append((time.perf_counter() - t0) * 1000)
                assert response.status_code == 200
        await app.whatsapp.idle()
        elapsed = time.perf_counter() - started
        await app.stop()
    acks.sort()
    print(f"{count} signed posts, one sender each, sent one after the other")
    print(f"acknowledged: median {statistics.median(acks):.1f} ms, "
          f"p99 {acks[int(len(acks) * 0.99) - 1]:.1f} ms, max {acks[-1]:.1f} ms")
    print(f"handled and answered ({len(graph.sent)} replies) in {elapsed:.2f} s: "
          f"{count / elapsed:.0f} messages/s")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=300)
    parser.add_argument("--quick", action="store_true", help="100 messages")
    args = parser.parse_args()
    asyncio.run(main(100 if args.quick else args.messages))
