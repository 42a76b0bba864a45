"""Helpers for the console tests: a harness with the console on, and browsers signed in through
the real ``/console`` link the bot sends (no shortcut into the session table)."""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx

from tests.harness import Harness

BASE = "https://hirfa.test"
LINK = re.compile(r"https://hirfa\.test(/console/signin/[A-Za-z0-9_.-]+)")
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@contextlib.asynccontextmanager
async def console_harness(tmp_path: Path, **overrides: Any) -> AsyncIterator[Harness]:
    async with Harness.open(tmp_path, console={"base_url": BASE}, **overrides) as h:
        yield h


def client(h: Harness) -> httpx.AsyncClient:
    """A browser on the console (in this event loop, through the ASGI interface)."""
    assert h.app.http is not None
    transport = httpx.ASGITransport(app=h.app.http.app())
    return httpx.AsyncClient(transport=transport, base_url=BASE)


async def link_for(h: Harness, user: int) -> str:
    """Ask the bot for a link as ``user`` (a chat message) and return its path."""
    await h.send(user, "/console")
    match = LINK.search(h.last_text(user))
    assert match, h.last_text(user)
    return match.group(1)


async def sign_in(h: Harness, browser: httpx.AsyncClient, user: int) -> None:
    path = await link_for(h, user)
    page = await browser.get(path)
    assert page.status_code == 200
    answer = await browser.post(path)
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == "/console/"


def csrf_of(html: str) -> str:
    match = CSRF.search(html)
    assert match, "no CSRF token on the page"
    return match.group(1)


async def csrf(browser: httpx.AsyncClient, path: str = "/console/") -> str:
    return csrf_of((await browser.get(path)).text)
