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
from tests.fakes.telegram import FakeBotAPI, FakeBotAPIServer, SentMessage

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def server() -> Iterator[FakeBotAPIServer]:
    with FakeBotAPIServer(FakeBotAPI(), max_long_poll=0.2) as srv:
        yield srv


def start_bot(server: FakeBotAPIServer, db: Path) -> subprocess.Popen[bytes]:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HIRFA_TELEGRAM__TOKEN": "123456:TEST",
        "HIRFA_TELEGRAM__API_URL": server.base_url,
        "HIRFA_DATABASE_URL": f"sqlite:///{db}",
        "PTB_TIMEDELTA": "true",
    }
    return subprocess.Popen([sys.executable, "-m", "bot", "run"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def wait_for(what: Callable[[], object], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if what():
            return
        time.sleep(0.02)
    raise AssertionError("timed out waiting")


class User:
    """A person on Telegram who reads the last message and presses what it shows."""

    def __init__(self, api: FakeBotAPI, user_id: int, lang: str) -> None:
        self.api, self.id, self.lang = api, user_id, lang

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
        self.api.push_update(update)

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
        self._after(lambda: self.api.click(message, label, user_id=self.id, language_code=self.lang),
                    expect)

    def share_contact(self, phone: str, expect: str | None = None) -> None:
        update = factories.contact_update(self.id, phone, language_code=self.lang)
        self._after(lambda: self.push(update), expect)


def registered(db: Path) -> list[tuple[str, str, str]]:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT full_name, phone, locale FROM artisans ORDER BY id").fetchall()


def test_register_kill_restart_and_finish(server: FakeBotAPIServer, tmp_path: Path) -> None:
    db = tmp_path / "hirfa.db"
    api = server.api
    bot = start_bot(server, db)
    try:
        fr = User(api, 11, "fr")
        fr.type("/start", expect="Choisissez votre langue")
        fr.press("Français", expect="Avant de commencer")
        fr.press("✅ J'accepte", expect="nom complet")
        fr.type("Fatima Zahra", expect="numéro de téléphone")
        assert fr.last().buttons[0] == ("📱 Partager mon numéro", "request_contact")
        fr.share_contact("+212661000011", expect="quelle région")
        fr.press("Fès-Meknès", expect="métier")
        fr.press("Broderie", expect="CNIE")
        fr.press("Passer", expect="Vérifiez vos informations")
        fr.press("✅ Confirmer", expect="Menu principal")

        ar = User(api, 22, "ar")
        ar.type("السلام عليكم", expect="اختر لغتك")
        ar.press("العربية", expect="قبل أن نبدأ")
        ar.press("✅ أوافق", expect="اسمك الكامل")
        ar.type("محمد الأمين", expect="رقم هاتفك")
        ar.type("0662000022", expect="جهة")
        ar.press("سوس ماسة", expect="حرفتك")
        ar.press("النحاس", expect="البطاقة الوطنية")
        ar.type("JB445566", expect="التحقق من معلوماتك")
        ar.press("✅ تأكيد", expect="القائمة الرئيسية")

        en = User(api, 33, "en")
        en.type("/start", expect="Choose your language")
        en.press("English", expect="Before we start")
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
        u.press("Français", expect="Avant de commencer")
        u.press("✅ J'accepte", expect="nom complet")
        u.type("x" * 5000, expect="trop long")
        u.type("<script>alert(1)</script>", expect="ne ressemble pas")
        u.type("<b>Ben</b> & Ali", expect="numéro")
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
