"""python-telegram-bot's HTTP transport on aiohttp instead of httpx.

PTB sends every Bot API call through a :class:`telegram.request.BaseRequest`; its default,
``HTTPXRequest``, costs about 1 ms of CPU per call on this project's machines, which made the
HTTP client the largest single cost of answering an update (two calls for a button press: the
answer to the callback query and the reply). aiohttp does the same work in about a quarter of
that (bench/README.md has the figures), so Hirfa plugs it in here. Everything above the
transport (retries, 429 handling, JSON parsing of the answers) stays PTB's.

What it sends is what ``HTTPXRequest`` sends: form-encoded parameters, or multipart when there
are files; the same ``User-Agent``; the same timeouts, except that aiohttp has no separate write
timeout (a request's body is written within the overall ``connect + write + read`` budget).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any
from urllib.parse import urlencode, urlsplit
from urllib.request import getproxies, proxy_bypass

import aiohttp
from telegram._utils.defaultvalue import DefaultValue
from telegram._utils.types import ODVInput
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData


class AiohttpRequest(BaseRequest):
    """A :class:`BaseRequest` over one :class:`aiohttp.ClientSession` (keep-alive pool)."""

    def __init__(
        self,
        connection_pool_size: int = 256,
        read_timeout: float | None = 5.0,
        write_timeout: float | None = 5.0,
        connect_timeout: float | None = 5.0,
        pool_timeout: float | None = 1.0,
        media_write_timeout: float | None = 20.0,
    ) -> None:
        self._pool_size = connection_pool_size
        self._read = read_timeout
        self._write = write_timeout
        self._connect = connect_timeout
        self._pool = pool_timeout
        self._media_write = media_write_timeout
        self._session: aiohttp.ClientSession | None = None

    @property
    def read_timeout(self) -> float | None:
        return self._read

    async def initialize(self) -> None:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._pool_size),
                cookie_jar=aiohttp.DummyCookieJar(),
                headers={"User-Agent": self.USER_AGENT},
            )

    async def shutdown(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        if self._session is None or self._session.closed:
            raise RuntimeError("This AiohttpRequest is not initialized!")
        files = request_data.multipart_data if request_data else None
        read = _given(read_timeout, self._read)
        write = _given(write_timeout, self._media_write if files else self._write)
        connect = _given(connect_timeout, self._connect)
        pool = _given(pool_timeout, self._pool)
        timeout = aiohttp.ClientTimeout(
            total=_sum(connect, pool, write, read),
            connect=_sum(connect, pool),  # aiohttp counts the wait for a free connection here
            sock_read=read,
        )
        kwargs: dict[str, Any] = {"proxy": _env_proxy(url)}
        if request_data is not None:
            if files:
                form = aiohttp.FormData()
                for name, value in request_data.json_parameters.items():
                    form.add_field(name, value)
                for name, (filename, content, mime) in files.items():
                    form.add_field(name, content, filename=filename, content_type=mime)
                kwargs["data"] = form
            else:
                kwargs["data"] = urlencode(request_data.json_parameters)
                kwargs["headers"] = {"Content-Type": "application/x-www-form-urlencoded"}
        try:
            async with self._session.request(method, url, timeout=timeout, **kwargs) as response:
                return response.status, await response.read()
        except (TimeoutError, aiohttp.ServerTimeoutError) as err:
            raise TimedOut from err
        except aiohttp.ClientError as err:
            raise NetworkError(f"aiohttp.{err.__class__.__name__}: {err}") from err


def _env_proxy(url: str) -> str | None:
    """The proxy HTTP(S)_PROXY / NO_PROXY name for ``url``, as httpx would use it.

    Looked up here once per host (aiohttp's own ``trust_env`` reads the environment and .netrc
    in a worker thread on every request)."""
    parts = urlsplit(url)
    return _proxy_for(parts.scheme, parts.hostname or "")


@lru_cache(maxsize=32)
def _proxy_for(scheme: str, host: str) -> str | None:
    if not host or proxy_bypass(host):
        return None
    return getproxies().get(scheme)


def _given(value: ODVInput[float], default: float | None) -> float | None:
    return default if isinstance(value, DefaultValue) else value


def _sum(*parts: float | None) -> float | None:
    """The sum of the timeouts, or None (no limit) when any of them is unlimited."""
    if any(part is None for part in parts):
        return None
    return sum(part for part in parts if part is not None)
