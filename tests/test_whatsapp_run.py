"""``hirfa run`` with WhatsApp: settings it needs, the real HTTP server, ``hirfa whatsapp``."""

from __future__ import annotations

import asyncio
import json
import signal
import socket
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot import cli
from bot.errors import ConfigError
from bot.settings import Settings, load_settings, require_runnable
from tests import databases
from tests.fakes.graph import APP_SECRET, VERIFY_TOKEN, FakeGraphAPI
from tests.whatsapp_harness import whatsapp_settings


def settings_for(tmp_path: Path, port: int = 8080, **whatsapp: Any) -> Settings:
    return load_settings(
        database_url=databases.url_for(tmp_path),
        telegram={"token": None},
        whatsapp=whatsapp_settings(**whatsapp),
        http={"host": "127.0.0.1", "port": port},
    )


@pytest.mark.parametrize("missing", ["phone_id", "token", "app_secret", "verify_token"])
def test_run_refuses_an_incomplete_whatsapp_setup(tmp_path: Path, missing: str) -> None:
    unset: dict[str, Any] = {missing: None}
    settings = settings_for(tmp_path, **unset)  # (phone id or token enables it)
    with pytest.raises(ConfigError) as err:
        require_runnable(settings)
    assert str(err.value).startswith(f"HIRFA_WHATSAPP__{missing.upper()}: required")


def test_whatsapp_alone_is_enough_to_run(tmp_path: Path) -> None:
    require_runnable(settings_for(tmp_path))


def test_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HIRFA_WHATSAPP__PHONE_ID", "106540352242922")
    monkeypatch.setenv("HIRFA_WHATSAPP__ADMIN_NUMBERS", '["+212 600-000001", "00212611111111"]')
    monkeypatch.setenv("HIRFA_WHATSAPP__TEMPLATES",
                       '{"reminder": {"name": "session_reminder", "params": ["title", "when"]}}')
    monkeypatch.setenv("HIRFA_WHATSAPP__API_URL", "http://127.0.0.1:9000/v21.0/")
    monkeypatch.setenv("HIRFA_WHATSAPP__RATE_PER_SECOND", "20")
    wa = load_settings().whatsapp
    assert wa.admin_numbers == ["212600000001", "212611111111"]
    assert wa.api_url == "http://127.0.0.1:9000/v21.0" and wa.rate_per_second == 20
    reminder = wa.template_for("reminder")
    assert reminder is not None and reminder.params == ["title", "when"]
    assert wa.template_for("broadcast") is None  # the JSON replaced the default set


@pytest.mark.parametrize(
    ("name", "value"),
    [("HIRFA_WHATSAPP__ADMIN_NUMBERS", '["not a number"]'),
     ("HIRFA_WHATSAPP__TEMPLATES", '{"reminder": {"name": "Has Spaces"}}'),
     ("HIRFA_WHATSAPP__API_URL", "graph.facebook.com")],
)
def test_bad_whatsapp_values_name_the_setting(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as err:
        load_settings()
    assert str(err.value).startswith(name)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_hirfa_run_serves_healthz_and_the_webhook(tmp_path: Path) -> None:
    """The real wiring of ``hirfa run``: uvicorn on 127.0.0.1, both routes, clean stop."""
    port = free_port()
    settings = settings_for(tmp_path, port)
    running = asyncio.create_task(cli.run(settings))
    base = f"http://127.0.0.1:{port}"
    async with httpx.AsyncClient(base_url=base, timeout=5) as client:
        for _ in range(500):  # the server comes up in a few tens of milliseconds
            try:
                health = await client.get("/healthz")
                break
            except httpx.TransportError:
                assert not running.done(), running
                await asyncio.sleep(0.01)
        assert health.status_code == 200 and health.json()["status"] == "ok"
        role = health.json()["role"]  # the only process: it runs the clock and sends on WhatsApp
        assert role["channels"] == ["whatsapp"] and role["clock"] is True
        verified = await client.get("/whatsapp/webhook", params={
            "hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "42"})
        assert verified.status_code == 200 and verified.text == "42"
        graph = FakeGraphAPI(app_secret=APP_SECRET)
        body = json.dumps(graph.status_post([])).encode()
        assert (await client.post("/whatsapp/webhook", content=body)).status_code == 401
        wrong = await client.post("/whatsapp/webhook", content=body,
                                  headers={"X-Hub-Signature-256": "sha256=" + "0" * 64})
        assert wrong.status_code == 403
        signed = await client.post("/whatsapp/webhook", content=body,
                                   headers={"X-Hub-Signature-256": graph.sign(body)})
        assert signed.status_code == 200
    signal.raise_signal(signal.SIGTERM)  # what systemd or Ctrl-C does; run_forever stops cleanly
    await asyncio.wait_for(running, timeout=20)
    with pytest.raises(httpx.TransportError):
        async with httpx.AsyncClient(base_url=base, timeout=1) as client:
            await client.get("/healthz")


async def test_templates_command_prints_what_to_submit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = cli.parser().parse_args(["whatsapp", "templates"])
    assert await cli.feature_command(settings_for(tmp_path), args) == 0
    out = capsys.readouterr().out
    for name in ("hirfa_reminder", "hirfa_certification", "hirfa_announcement", "hirfa_notice"):
        assert f"Template name:   {name}" in out
    assert "Category:        MARKETING" in out
    assert "تذكير من غرفة الصناعة التقليدية" in out and "{{1}}" in out
    assert "Rappel de la Chambre d'artisanat" in out and "Language: fr" in out
    assert "Sample for {{1}}: Your training session" in out
