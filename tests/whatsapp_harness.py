"""Drive the real application over WhatsApp: signed posts to the real Starlette app, the real
engine and SQLite, and :class:`~tests.fakes.graph.FakeGraphAPI` in place of Meta.

    async with WhatsAppHarness.open(tmp_path) as h:
        await h.wa_send(AMINA, "salam")          # a signed webhook post, handled to the end
        await h.wa_tap(AMINA, "lang:ar")         # a reply-button or list-row tap (id or title)
        assert "الاسم" in h.graph.last_to(AMINA).text

Telegram stays on (the same :class:`~tests.harness.Harness` methods work), so one artisan can be
followed on both channels. Posts go through ``httpx.ASGITransport`` to ``app.http.app()``;
:meth:`post` waits until the channel has handled them (the endpoint answers before handling).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bot.app import Hirfa
from bot.channels.whatsapp import WEBHOOK_PATH, WhatsAppChannel
from bot.clock import FakeClock
from tests.fakes.graph import APP_SECRET, PHONE_ID, TOKEN, VERIFY_TOKEN, FakeGraphAPI
from tests.fakes.telegram import FakeBotAPI, FakeRequest
from tests.harness import Harness, make_settings

WA_ADMIN = "212600000001"
GRAPH_URL = "http://graph.fake.invalid/v21.0"


def whatsapp_settings(**overrides: Any) -> dict[str, Any]:
    settings: dict[str, Any] = {
        "phone_id": PHONE_ID, "token": TOKEN, "app_secret": APP_SECRET,
        "verify_token": VERIFY_TOKEN, "api_url": GRAPH_URL, "admin_numbers": [WA_ADMIN],
    }
    settings.update(overrides)
    return settings


@dataclass
class WhatsAppHarness(Harness):
    graph: FakeGraphAPI = field(default_factory=FakeGraphAPI)

    def _build(self) -> Hirfa:
        self.graph.clock = self.clock.now
        return Hirfa(
            self.settings, clock=self.clock,
            telegram_request=FakeRequest(self.api), telegram_updates_request=FakeRequest(self.api),
            whatsapp_transport=httpx.MockTransport(self.graph.async_handler),
        )

    @classmethod
    @contextlib.asynccontextmanager
    async def open(cls, tmp_path: Path, clock: FakeClock | None = None,
                   **overrides: Any) -> AsyncIterator[WhatsAppHarness]:
        clock = clock or FakeClock()
        api = FakeBotAPI(time_fn=lambda: clock.now().timestamp(),
                         wall_time_fn=lambda: clock.now().timestamp())
        api.strict_html_ampersand = False
        overrides["whatsapp"] = whatsapp_settings(**overrides.pop("whatsapp", {}))
        harness = cls(make_settings(tmp_path, **overrides), api, clock)
        await harness._start()
        try:
            yield harness
        finally:
            await harness._stop()

    @property
    def wa(self) -> WhatsAppChannel:
        assert self.app.whatsapp is not None
        return self.app.whatsapp

    async def _stop(self) -> None:
        await self.wa.stop()
        await super()._stop()

    async def restart(self) -> None:
        await self.wa.stop()
        await super().restart()

    # -- posting to the webhook ----------------------------------------------------------
    async def request(self, method: str, *, content: bytes = b"", headers: dict[str, str] | None = None,
                      params: dict[str, str] | None = None) -> httpx.Response:
        assert self.app.http is not None
        transport = httpx.ASGITransport(app=self.app.http.app())
        async with httpx.AsyncClient(transport=transport, base_url="http://hirfa.test") as client:
            response = await client.request(method, WEBHOOK_PATH, content=content,
                                            headers=headers, params=params)
        await self.wa.idle()
        return response

    async def post(self, payload: dict[str, Any], *, signature: str | None = "valid") -> httpx.Response:
        """POST ``payload`` as Meta would (signed), wait until it is handled."""
        body = json.dumps(payload).encode()
        headers = {"Content-Type": "application/json"}
        if signature == "valid":
            headers["X-Hub-Signature-256"] = self.graph.sign(body)
        elif signature is not None:
            headers["X-Hub-Signature-256"] = signature
        return await self.request("POST", content=body, headers=headers)

    async def wa_send(self, user: str, text: str) -> httpx.Response:
        return await self.post(self.graph.text(user, text))

    async def wa_tap(self, user: str, choice: str) -> httpx.Response:
        return await self.post(self.graph.tap(user, choice))

    async def deliver_statuses(self) -> httpx.Response:
        """Post every status callback the fake has queued (sent, failed, ...)."""
        return await self.post(self.graph.status_post())

    def wa_texts(self, user: str) -> list[str]:
        return self.graph.texts_to(user)

    async def wa_register(self, user: str, lang: str = "ar", *, name: str = "Amina Benali",
                          region: str = "region:MS", craft: str = "craft:zellige",
                          alerts: bool = True) -> None:
        """Register ``user`` over WhatsApp with taps only (and their name); ``alerts=False`` taps
        "turn off alerts" on the summary before confirming."""
        await self.wa_send(user, "salam")
        await self.wa_tap(user, f"lang:{lang}")
        await self.wa_tap(user, "consent:yes")
        await self.wa_send(user, name)
        await self.wa_tap(user, region)
        await self.wa_tap(user, craft)
        await self.wa_tap(user, "cnie:skip")
        if not alerts:
            await self.wa_tap(user, "reg:alerts")
        await self.wa_tap(user, "reg:confirm")
