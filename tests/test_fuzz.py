"""Hostile input, property-based: random sequences of texts, commands, contacts and button
presses from several users, in every state. Nothing crashes, every reply fits the platforms,
the database stays consistent, and nobody sees anyone else's data."""

from __future__ import annotations

import asyncio
import logging
import re
import sqlite3
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.app import Hirfa
from bot.clock import FakeClock
from bot.messages import Contact, Incoming, OutMessage
from bot.settings import load_settings
from tests.databases import ON_POSTGRES

pytestmark = pytest.mark.skipif(ON_POSTGRES, reason="SQLite-specific: PRAGMA integrity checks")

USERS = ("7001", "7002", "7003")
SECRET_NAMES = {"7001": "Zineb Alpha", "7002": "Omar Bravo", "7003": "Salma Charlie"}
KNOWN_IDS = ["lang:ar", "lang:fr", "lang:en", "consent:yes", "consent:no", "nav:back", "nav:cancel",
             "nav:menu", "region:MS", "region:XX", "craft:zellige", "craft:other", "cnie:skip",
             "reg:confirm", "reg:edit:name", "reg:edit:phone", "link:yes", "m:profile", "m:delete",
             "m:stop", "m:resume", "prof:edit:name", "prof:edit:lang", "del:yes", "del:no"]

texts = st.one_of(
    st.text(max_size=60),
    st.text(min_size=4000, max_size=10000, alphabet=st.characters(codec="utf-8")),
    st.sampled_from(["", "\x00\x00", "\u200f\u202eAmina\u202c", "<b>x</b>", "<script>", "' OR 1=1 --",
                     "**bold** _it_", "1", "2", "99", "٣", "menu", "STOP", "start", "annuler",
                     "back", "0612345678", "+212700000000", "BK123456", "delete my data",
                     "Amina Benali", "&amp;", "{name}", "%s"]),
)
commands = st.sampled_from(["/start", "/start s42", "/start <b>", "/menu", "/cancel", "/profile",
                            "/language", "/stop", "/delete", "/whoami", "/help", "/nope",
                            "/start " + "x" * 80])
choices = st.one_of(st.sampled_from(KNOWN_IDS), st.text(min_size=1, max_size=20).filter(
    lambda s: 1 <= len(s.encode()) <= 64))
actions = st.tuples(
    st.sampled_from(USERS),
    st.one_of(
        st.tuples(st.just("text"), texts),
        st.tuples(st.just("command"), commands),
        st.tuples(st.just("choice"), choices),
        st.tuples(st.just("contact"), st.sampled_from(["own", "other", "bad"])),
        st.tuples(st.just("unsupported"), st.sampled_from(["voice", "media"])),
    ),
)


def incoming(user: str, action: tuple[str, str], n: int) -> Incoming:
    kind, value = action
    base = {"channel": "telegram", "user_id": user, "chat_id": user, "update_id": f"u{n}"}
    if kind == "text":
        return Incoming(kind="text", text=value, **base)  # type: ignore[arg-type]
    if kind == "command":
        return Incoming(kind="command", text=value, **base)  # type: ignore[arg-type]
    if kind == "choice":
        return Incoming(kind="choice", choice_id=value, **base)  # type: ignore[arg-type]
    if kind == "contact":
        phone = {"own": f"+2126{user}0000"[:13], "other": "+212611111111", "bad": "12"}[value]
        owner = user if value != "other" else "999"
        return Incoming(kind="contact", contact=Contact(phone, owner), **base)  # type: ignore[arg-type]
    return Incoming(kind="unsupported", media=value, **base)  # type: ignore[arg-type]


def check_reply(user: str, message: OutMessage) -> None:
    assert message.text.strip()
    plain = re.sub(r"<[^>]+>", "", message.text)
    assert len(plain) <= 4096 * 4  # the channel splits anything over 4096
    for button in message.buttons:
        assert 1 <= len(button.id.encode()) <= 64
        assert button.label.strip()
    for other, name in SECRET_NAMES.items():
        if other != user:
            assert name not in message.text, f"{user} saw {other}'s name"


async def scenario(path: Path, steps: list[tuple[str, tuple[str, str]]]) -> None:
    settings = load_settings(database_url=f"sqlite+aiosqlite:///{path}")
    app = Hirfa(settings, clock=FakeClock())
    await app.prepare()
    try:
        # Everyone registers first, so there is private data to leak.
        for user in USERS:
            for i, line in enumerate(["/start", "lang:fr", "consent:yes", SECRET_NAMES[user],
                                      f"06{user}0000"[:10], "region:MS", "craft:zellige",
                                      "cnie:skip", "reg:confirm"]):
                kind = "choice" if ":" in line and not line.startswith("/") else (
                    "command" if line.startswith("/") else "text")
                inc = incoming(user, (kind, line), 0)
                await app.engine.handle(Incoming(**{**inc.__dict__, "update_id": f"r{user}{i}"}))
        for n, (user, action) in enumerate(steps):
            for message in await app.engine.handle(incoming(user, action, n)):
                check_reply(user, message)
    finally:
        await app.db.dispose()
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        phones = [r[0] for r in conn.execute("SELECT phone FROM artisans WHERE phone IS NOT NULL")]
        assert all(re.fullmatch(r"\+\d{8,15}", p) for p in phones)
        live = conn.execute("SELECT count(*), count(DISTINCT phone) FROM artisans WHERE erased_at IS NULL"
                            " AND phone IS NOT NULL").fetchone()
        assert live[0] == live[1]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.data_too_large])
@given(st.lists(actions, min_size=1, max_size=25))
def test_random_conversations_never_break_anything(steps: list[tuple[str, tuple[str, str]]]) -> None:
    records: list[logging.LogRecord] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if record.levelno >= logging.ERROR:
                records.append(record)

    handler = Collect()
    logging.getLogger().addHandler(handler)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            asyncio.run(scenario(Path(tmp) / "fuzz.db", steps))
    finally:
        logging.getLogger().removeHandler(handler)
    assert [r.getMessage() for r in records] == []


@pytest.mark.parametrize("lang", ["ar", "fr", "en"])
def test_numbers_in_arabic_digits_answer_choices(lang: str) -> None:
    from bot.dialogue import normalize

    assert normalize("٢") == "2" and normalize("۲ ") == "2"
