"""Issue 12 item 12: the terminal demo speaks the user's language after "delete my data", and
``--artisan`` shows the artisan's view (no staff entries)."""

from __future__ import annotations

import io
import sys

import pytest

from bot.channels.shell import CHANNEL, ShellChannel
from bot.cli import main
from storage import staff as staff_repo
from tests.harness import Harness


async def test_delete_confirmation_and_menu_after_it_stay_in_french(h: Harness) -> None:
    out = io.StringIO()
    shell = ShellChannel(h.app.engine, language=None, out=out)  # the terminal gives no hint
    async with h.app.db.transaction() as conn:
        await staff_repo.grant(conn, CHANNEL, shell.user_id, "admin", h.clock.now(), "demo")
    for line in ("/start", "Français", "1", "Amina Benali", "/share", "7", "1", "BK123456", "1"):
        await shell.say(line)
    assert "Bienvenue" in out.getvalue()
    await shell.say("/delete")
    deleted = await shell.say("1")
    assert "supprim" in deleted[-1].text.lower(), deleted[-1].text
    menu = await shell.say("menu")
    assert all("ال" not in m.text for m in menu), [m.text for m in menu]


def test_demo_as_an_artisan_has_no_staff_entries(monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    views = {}
    for flags in ([], ["--artisan"]):
        monkeypatch.setattr(sys, "stdin", io.StringIO("/staff\n/quit\n"))
        assert main(["shell", "--demo", "--lang", "en", *flags]) == 0
        views[bool(flags)] = capsys.readouterr().out
    # (the replies go to the terminal's own stream; the role is what the header announces)
    assert "you are an admin" in views[False] and "you are an artisan" in views[True]
