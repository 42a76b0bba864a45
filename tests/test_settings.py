"""Settings: names from DESIGN.md, one clear line on error, secrets never printed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bot.errors import ConfigError
from bot.settings import load_settings, require_runnable

ROOT = Path(__file__).resolve().parent.parent


def test_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HIRFA_TELEGRAM__TOKEN", raising=False)
    settings = load_settings()
    assert settings.timezone == "Africa/Casablanca"
    assert settings.default_locale == "ar"
    assert settings.telegram.api_url == "https://api.telegram.org/bot"
    assert settings.http.host == "127.0.0.1" and settings.http.port == 8080


def test_nested_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HIRFA_TELEGRAM__TOKEN", "123456:TEST")
    monkeypatch.setenv("HIRFA_TELEGRAM__ADMIN_IDS", "[11, 22]")
    monkeypatch.setenv("HIRFA_TELEGRAM__API_URL", "http://127.0.0.1:8081/bot/")
    settings = load_settings()
    assert settings.telegram.admin_ids == [11, 22]
    assert settings.telegram.api_url == "http://127.0.0.1:8081/bot"
    assert "123456:TEST" not in repr(settings)


@pytest.mark.parametrize(
    ("name", "value", "named"),
    [
        ("HIRFA_TELEGRAM__ADMIN_IDS", "not-json", "HIRFA_TELEGRAM__ADMIN_IDS"),
        ("HIRFA_TELEGRAM__TOKEN", "nonsense", "HIRFA_TELEGRAM__TOKEN"),
        ("HIRFA_TIMEZONE", "Mars/Olympus", "HIRFA_TIMEZONE"),
        ("HIRFA_DEFAULT_LOCALE", "de", "HIRFA_DEFAULT_LOCALE"),
        ("HIRFA_HTTP__PORT", "99999", "HIRFA_HTTP__PORT"),
        ("HIRFA_DATABASE_URL", "sqlite:///:memory:", "HIRFA_DATABASE_URL"),
        ("HIRFA_DATABASE_URL", "mysql://x", "HIRFA_DATABASE_URL"),
        ("HIRFA_TELEGRAM__WEBHOOK_SECRET", "has spaces!", "HIRFA_TELEGRAM__WEBHOOK_SECRET"),
    ],
)
def test_malformed_value_names_the_setting(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, named: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as err:
        load_settings()
    assert str(err.value).startswith(named)
    assert "\n" not in str(err.value)


def test_webhook_needs_a_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HIRFA_TELEGRAM__TOKEN", "123456:TEST")
    monkeypatch.setenv("HIRFA_TELEGRAM__WEBHOOK_URL", "https://example.org/telegram/webhook")
    with pytest.raises(ConfigError, match="HIRFA_TELEGRAM__WEBHOOK_SECRET"):
        require_runnable(load_settings())


def test_run_without_any_channel_refuses(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HIRFA_TELEGRAM__TOKEN", raising=False)
    with pytest.raises(ConfigError, match="HIRFA_TELEGRAM__TOKEN"):
        require_runnable(load_settings())


def test_cli_prints_one_line_and_no_secret(tmp_path: object) -> None:
    env = {"HIRFA_TELEGRAM__TOKEN": "123456:SECRETSECRET", "HIRFA_HTTP__PORT": "nope", "PATH": ""}
    result = subprocess.run(
        [sys.executable, "-m", "bot", "run"], env=env, capture_output=True, text=True, timeout=60,
        check=False,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert lines == [lines[0]] and "HIRFA_HTTP__PORT" in lines[0]
    assert "SECRETSECRET" not in result.stderr + result.stdout


def shipped_env_example() -> dict[str, str]:
    """``.env.example`` as compose's ``env_file`` reads it: every line NAME=VALUE, literally."""
    lines = (ROOT / ".env.example").read_text(encoding="utf-8").splitlines()
    return dict(line.split("=", 1) for line in lines if line.strip() and not line.startswith("#"))


def test_the_shipped_env_example_runs_once_the_token_is_filled_in(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The deploy steps say: copy .env.example, fill in the secrets. Its WhatsApp lines are blank
    (WhatsApp is optional): blank means not set, so Hirfa runs on Telegram alone instead of
    refusing to start for a WhatsApp phone id nobody meant to give."""
    example = shipped_env_example()
    assert example["HIRFA_WHATSAPP__PHONE_ID"] == "" and example["HIRFA_TELEGRAM__TOKEN"] == ""
    for name, value in example.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match="HIRFA_TELEGRAM__TOKEN: not set"):
        require_runnable(load_settings())  # the one thing left to fill in, named
    monkeypatch.setenv("HIRFA_TELEGRAM__TOKEN", "123456:TEST")
    settings = load_settings()
    require_runnable(settings)
    assert settings.telegram.webhook_url == "https://hirfa.example.org/telegram/webhook"
    assert not settings.whatsapp.enabled
