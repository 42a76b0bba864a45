"""A lean fake Bot API for throughput benchmarks (uvicorn + Starlette, run in its own process).

``tests/fakes/telegram/`` validates everything like Telegram and records every message; that
costs a few milliseconds per request, which is more than the bots being measured. This one only
answers what a bot needs (valid ``Message`` objects, ``getMe``, callback answers, command menus)
and counts requests, so the benchmark measures the bot, not the fake.

    python -m bench.fast_fake_bot --port 8081     # serve until killed
"""

from __future__ import annotations

import argparse
import itertools
import json
import multiprocessing
import time
from typing import Any
from urllib.parse import parse_qs

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

BOT = {"id": 123456, "is_bot": True, "first_name": "Hirfa", "username": "hirfa_test_bot",
       "can_join_groups": True, "can_read_all_group_messages": False,
       "supports_inline_queries": False}


def build_app() -> Starlette:
    ids = itertools.count(1)

    async def method(request: Request) -> Response:
        name = request.path_params["method"].lower()
        body = await request.body()
        params: dict[str, Any] = {}
        kind = request.headers.get("content-type", "")
        if body and kind.startswith("application/json"):
            params = json.loads(body)
        elif body and kind.startswith("application/x-www-form-urlencoded"):
            params = {k: v[0] for k, v in parse_qs(body.decode()).items()}
        result: Any = True
        if name == "getme":
            result = BOT
        elif name.startswith("send"):
            chat = int(params.get("chat_id", 0) or 0)
            result = {"message_id": next(ids), "date": int(time.time()), "from": BOT,
                      "chat": {"id": chat, "type": "private", "first_name": "A"},
                      "text": str(params.get("text", ""))[:4096]}
        elif name == "getupdates" or name in ("getmycommands",):
            result = []
        payload = json.dumps({"ok": True, "result": result}).encode()
        return Response(payload, media_type="application/json")

    return Starlette(routes=[Route("/bot{token}/{method}", method, methods=["GET", "POST"])])


def serve(port: int) -> None:
    uvicorn.run(build_app(), host="127.0.0.1", port=port, log_level="error", access_log=False)


def start_in_process(port: int) -> multiprocessing.Process:
    """Start the fake in a child process and wait until it answers."""
    import httpx

    process = multiprocessing.Process(target=serve, args=(port,), daemon=True)
    process.start()
    for _ in range(200):
        try:
            httpx.post(f"http://127.0.0.1:{port}/bot123456:TEST/getMe", timeout=0.5)
            return process
        except httpx.HTTPError:
            time.sleep(0.05)
    raise RuntimeError("the fake Bot API did not start")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8081)
    serve(parser.parse_args().port)
