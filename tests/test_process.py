"""``hirfa run`` as a real process against the fake Bot API over loopback HTTP.

Two artisans register (French and Arabic) with only the buttons and prompts the bot shows; the
process is killed with SIGKILL in the middle of a third registration and restarted; that user
finishes where they were and nothing is lost.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests import factories
from tests.databases import ON_POSTGRES
from tests.fakes.telegram import FakeBotAPI, FakeBotAPIServer, SentMessage

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(ON_POSTGRES, reason="SQLite-specific: `hirfa run` on a file read with sqlite3"),
]
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def server() -> Iterator[FakeBotAPIServer]:
    with FakeBotAPIServer(FakeBotAPI(), max_long_poll=0.2) as srv:
        yield srv


def start_bot(server: FakeBotAPIServer, db: Path | str, **extra: str) -> subprocess.Popen[bytes]:
    """``hirfa run`` on the SQLite file ``db`` (or the database URL ``db``)."""
    env = {**extra,
        "PATH": os.environ.get("PATH", ""),
        "HIRFA_TELEGRAM__TOKEN": "123456:TEST",
        "HIRFA_TELEGRAM__API_URL": server.base_url,
        "HIRFA_DATABASE_URL": db if isinstance(db, str) else f"sqlite:///{db}",
        "PTB_TIMEDELTA": "true",
        # A dead process's claimed messages are resent after this lease (60 s by default; the
        # lease itself is tested with the fake clock): short, so that restarts are not waited on.
        "HIRFA_OUTBOX__CLAIM_LEASE": "4",
    }
    return subprocess.Popen([sys.executable, "-m", "bot", "run"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def wait_for(what: Callable[[], object], timeout: float = 20.0, every: float = 0.02) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if what():
            return
        time.sleep(every)
    raise AssertionError("timed out waiting")


class User:
    """A person on Telegram who reads the last message and presses what it shows.

    Their updates are queued on the fake for a polling bot; with ``post`` (webhook mode) each is
    also handed to ``post``, which delivers it to the bot's webhook as Telegram would."""

    def __init__(self, api: FakeBotAPI, user_id: int, lang: str,
                 post: Callable[[dict[str, object]], object] | None = None) -> None:
        self.api, self.id, self.lang, self.post = api, user_id, lang, post

    def last(self) -> SentMessage:
        return self.api.last_to(self.id)

    def _count(self) -> int:
        return len(self.api.messages_to(self.id))

    def _after(self, act: Callable[[], object], expect: str | None) -> None:
        before = self._count()
        act()
        def arrived() -> bool:
            new = self.api.messages_to(self.id)[before:]
            return bool(new) and (expect is None or any(expect in (m.plain_text or "") for m in new))

        wait_for(arrived)

    def push(self, update: dict[str, object]) -> None:
        """Queue an update; the fake numbers it (ids keep increasing, as Telegram's do)."""
        update.pop("update_id", None)
        self._deliver(self.api.push_update(update))

    def _deliver(self, queued: dict[str, object]) -> None:
        if self.post is not None:
            self.post(queued)

    def type(self, text: str, expect: str | None = None) -> None:
        if text.startswith("/"):
            update = factories.command_update(self.id, text[1:], language_code=self.lang)
        else:
            update = factories.text_update(self.id, text, language_code=self.lang)
        self._after(lambda: self.push(update), expect)

    def with_button(self, label: str) -> SentMessage | None:
        return next((m for m in reversed(self.api.messages_to(self.id))
                     if any(label == b[0] for b in m.buttons)), None)

    def press(self, label: str, expect: str | None = None) -> None:
        wait_for(lambda: self.with_button(label))
        message = self.with_button(label)
        assert message is not None
        self._after(lambda: self._deliver(
            self.api.click(message, label, user_id=self.id, language_code=self.lang)), expect)

    def share_contact(self, phone: str, expect: str | None = None) -> None:
        update = factories.contact_update(self.id, phone, language_code=self.lang)
        self._after(lambda: self.push(update), expect)


def register_fatima(api: FakeBotAPI, post: Callable[[dict[str, object]], object] | None = None) -> User:
    """User 11 registers in French with buttons only, sharing her number (Telegram's button)."""
    fr = User(api, 11, "fr", post)
    fr.type("/start", expect="Choisissez votre langue")
    fr.press("Français", expect="Vos données")
    fr.press("✅ J'accepte", expect="nom complet")
    fr.type("Fatima Zahra", expect="numéro de téléphone")
    assert fr.last().buttons[0] == ("📱 Partager mon numéro", "request_contact")
    fr.share_contact("+212661000011", expect="quelle région")
    fr.press("Fès-Meknès", expect="métier")
    fr.press("Broderie", expect="CNIE")
    fr.press("Passer", expect="Vérifiez vos informations")
    fr.press("✅ Confirmer", expect="Menu principal")
    return fr


def registered(db: Path) -> list[tuple[str, str, str]]:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT full_name, phone, locale FROM artisans ORDER BY id").fetchall()


def test_register_kill_restart_and_finish(server: FakeBotAPIServer, tmp_path: Path) -> None:
    db = tmp_path / "hirfa.db"
    api = server.api
    bot = start_bot(server, db)
    try:
        register_fatima(api)

        ar = User(api, 22, "ar")
        ar.type("السلام عليكم", expect="اختر لغتك")
        ar.press("العربية", expect="معطياتك")
        ar.press("✅ أوافق", expect="اسمك الكامل")
        ar.type("محمد الأمين", expect="رقم هاتفك")
        ar.type("0662000022", expect="جهة")
        ar.press("سوس ماسة", expect="حرفتك")
        ar.press("النحاس", expect="البطاقة الوطنية")
        ar.type("JB445566", expect="التحقق من معلوماتك")
        ar.press("✅ تأكيد", expect="القائمة الرئيسية")

        en = User(api, 33, "en")
        en.type("/start", expect="Choose your language")
        en.press("English", expect="Your data")
        en.press("✅ I agree", expect="full name")
        en.type("Youssef Amrani", expect="phone number")
        bot.send_signal(signal.SIGKILL)
        bot.wait(timeout=10)
        if bot.stdout:
            bot.stdout.close()
        bot = start_bot(server, db)
        en.type("0663000033", expect="Number saved")  # resumes at the phone step
        en.press("Casablanca-Settat", expect="craft")
        en.press("Jewellery", expect="CNIE")
        en.press("Skip", expect="check your details")
        en.press("✅ Confirm", expect="Main menu")
    finally:
        bot.send_signal(signal.SIGTERM)
        try:
            bot.wait(timeout=15)
        except subprocess.TimeoutExpired:
            bot.kill()
    assert registered(db) == [
        ("Fatima Zahra", "+212661000011", "fr"),
        ("محمد الأمين", "+212662000022", "ar"),
        ("Youssef Amrani", "+212663000033", "en"),
    ]
    assert bot.returncode == 0
    assert bot.stdout is not None
    output = bot.stdout.read().decode()
    bot.stdout.close()
    assert "123456:TEST" not in output


def test_hostile_input_gets_clear_answers(server: FakeBotAPIServer, tmp_path: Path) -> None:
    db = tmp_path / "hirfa.db"
    api = server.api
    bot = start_bot(server, db)
    try:
        u = User(api, 44, "fr")
        u.type("/start", expect="Choisissez")
        forged = factories.callback_update(44, "admin:delete:everything", language_code="fr")
        before = len(api.messages_to(44))
        u.push(forged)
        wait_for(lambda: len(api.messages_to(44)) > before)
        assert any("plus disponible" in (m.plain_text or "") for m in api.messages_to(44)[before:])
        u.press("Français", expect="Vos données")
        u.press("✅ J'accepte", expect="nom complet")
        u.type("x" * 5000, expect="trop long")
        u.type("<script>alert(1)</script>", expect="ne ressemble pas")
        u.type("<b>Ben</b> & Ali", expect="ne ressemble pas")  # no name has tags (issue 12)
        u.type("Ben Ali", expect="numéro")
        u.type("12", expect="n'est pas valide")
        other = factories.contact_update(44, "+212661999999", contact_user_id=999)
        before = len(api.messages_to(44))
        u.push(other)
        wait_for(lambda: any("quelqu'un d'autre" in (m.plain_text or "")
                             for m in api.messages_to(44)[before:]))
        assert bot.poll() is None  # still running
    finally:
        bot.send_signal(signal.SIGTERM)
        bot.wait(timeout=15)
        if bot.stdout:
            bot.stdout.close()
    assert registered(db) == []


def seed_artisans_and_session(db: Path, users: list[int], capacity: int) -> None:
    env = {"PATH": os.environ.get("PATH", ""), "HIRFA_DATABASE_URL": f"sqlite:///{db}"}
    subprocess.run([sys.executable, "-m", "bot", "db", "upgrade"], cwd=ROOT, env=env, check=True,
                   capture_output=True, timeout=60)
    now = "2026-01-01 00:00:00"
    with sqlite3.connect(db) as conn:
        for uid in users:
            cur = conn.execute(
                "INSERT INTO artisans (full_name, phone, phone_verified, region, craft, locale,"
                " opted_out, consent_at, created_at, updated_at) VALUES (?, ?, 1, 'MS', 'zellige',"
                " 'fr', 0, ?, ?, ?)", (f"Artisan {uid}", f"+2126610{uid:05d}", now, now, now))
            conn.execute(
                "INSERT INTO identities (channel, external_id, artisan_id, chat_id, blocked,"
                " created_at) VALUES ('telegram', ?, ?, ?, 0, ?)", (str(uid), cur.lastrowid, str(uid), now))
        conn.execute(
            "INSERT INTO sessions (id, title, description, venue, starts_at, ends_at, capacity, status,"
            " version, created_by, created_at, updated_at) VALUES (1, '{\"fr\": \"Zellige avancé\"}',"
            " '{}', 'Marrakech', '2099-03-01 09:00:00', '2099-03-01 12:00:00', ?, 'scheduled', 1,"
            " 'test', ?, ?)", (capacity, now, now))


def test_enrolments_survive_kills_without_duplicates(server: FakeBotAPIServer, tmp_path: Path) -> None:
    """Ten artisans race for five seats while the bot is killed twice: nobody is enrolled twice,
    capacity holds, and everyone who confirmed ends up enrolled or on the wait-list."""
    import random

    db = tmp_path / "hirfa.db"
    users = list(range(51, 61))
    seed_artisans_and_session(db, users, capacity=5)
    api = server.api
    rng = random.Random(4)
    bot = start_bot(server, db)
    pending = [(uid, data) for uid in users for data in ("s:enrol:1", "s:enrolok:1")]
    kills = {7, 14}
    try:
        for step, (uid, data) in enumerate(pending):
            update = factories.callback_update(uid, data)
            update.pop("update_id")
            api.push_update(update)
            if step in kills:
                time.sleep(rng.uniform(0.0, 0.3))
                bot.send_signal(signal.SIGKILL)
                bot.wait(timeout=10)
                if bot.stdout:
                    bot.stdout.close()
                bot = start_bot(server, db)
        wait_for(lambda: not api.pending_updates, timeout=30)
        # Anyone whose confirmation was lost with a killed process presses it again.
        for uid in users:
            update = factories.callback_update(uid, "s:enrolok:1")
            update.pop("update_id")
            api.push_update(update)
        wait_for(lambda: not api.pending_updates, timeout=30)
        time.sleep(0.5)
    finally:
        bot.send_signal(signal.SIGTERM)
        bot.wait(timeout=15)
        if bot.stdout:
            bot.stdout.close()
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT artisan_id, status, position FROM enrolments").fetchall()
    by_artisan = [r[0] for r in rows]
    assert len(by_artisan) == len(set(by_artisan)) == len(users)
    enrolled = [r for r in rows if r[1] == "enrolled"]
    waiting = [r for r in rows if r[1] == "waitlisted"]
    assert len(enrolled) == 5 and len(waiting) == 5
    positions = [r[2] for r in waiting]
    assert len(set(positions)) == len(positions)


def test_broadcast_survives_a_kill_with_no_loss(server: FakeBotAPIServer, tmp_path: Path) -> None:
    """A staff broadcast to 60 artisans, SIGKILL mid-delivery, restart: every artisan gets it,
    and at most the messages in flight at the kill (``max_in_flight`` = 8) come twice."""
    db = tmp_path / "hirfa.db"
    users = list(range(2001, 2061))
    seed_artisans_and_session(db, users, capacity=5)
    api = server.api
    api.enforce_limits(30, 1)
    admin = User(api, 9000, "fr")
    text = "Réunion d'information le 5 décembre"
    env = {"HIRFA_TELEGRAM__ADMIN_IDS": "[9000]"}
    bot = start_bot(server, db, **env)

    def delivered() -> list[int]:
        return [m.chat_id for m in api.sent if m.chat_id in users and text in (m.text or "")]

    try:
        admin.type("/broadcast")
        admin.push(factories.callback_update(9000, "bc:l:fr"))
        wait_for(lambda: len(api.messages_to(9000)) >= 2)
        admin.type(text)
        admin.push(factories.callback_update(9000, "bc:preview"))
        wait_for(lambda: any(b[1] == "bc:send:1" for m in api.messages_to(9000) for b in m.buttons))
        admin.push(factories.callback_update(9000, "bc:send:1"))
        wait_for(lambda: len(delivered()) >= 15, timeout=30)
        bot.send_signal(signal.SIGKILL)
        bot.wait(timeout=10)
        at_kill = len(set(delivered()))
        assert at_kill < len(users)  # the kill really was mid-broadcast
        if bot.stdout:
            bot.stdout.close()
        bot = start_bot(server, db, **env)
        wait_for(lambda: set(delivered()) == set(users), timeout=60)
    finally:
        bot.send_signal(signal.SIGTERM)
        bot.wait(timeout=15)
        if bot.stdout:
            bot.stdout.close()
    counts = [delivered().count(u) for u in users]
    assert min(counts) == 1
    assert sum(counts) - len(users) <= 8
    assert api.too_many_requests == 0
