"""Moving a chamber to PostgreSQL and backing it up: ``hirfa db copy --to`` and ``hirfa backup``."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot import cli
from bot.backup import pg_dump
from bot.settings import load_settings
from storage.schema import artisans, identities
from storage.sessions_schema import enrolments
from tests import databases
from tests.databases import postgres_only
from tests.harness import Harness
from tests.sessions_support import make_session

AMINA, KARIM, SALMA = 101, 102, 103


async def names(h: Harness) -> list[str]:
    async with h.app.db.read() as conn:
        return list((await conn.execute(select(artisans.c.full_name).order_by(artisans.c.id))).scalars())


async def test_db_copy_moves_every_table_verifies_counts_and_is_safe_to_rerun(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source_url = f"sqlite:///{tmp_path / 'chamber.db'}"
    async with Harness.open(tmp_path, database_url=source_url) as h:
        await h.register(AMINA, "ar", name="أمينة بنعلي")
        await h.register(KARIM, "fr", name="Karim Alaoui")
        session = await make_session(h, capacity=5)
        await h.press_data(AMINA, f"s:enrolok:{session}")
        before = await names(h)
    target_url = databases.url_for(tmp_path, "target", empty=True)  # a new server: no table yet
    settings = load_settings(database_url=source_url)
    assert await cli.db_copy(settings, target_url) == 0
    first = capsys.readouterr().out
    assert "counts verified" in first and "MISMATCH" not in first
    assert await cli.db_copy(settings, target_url) == 0  # again: nothing doubles
    assert "counts verified" in capsys.readouterr().out

    async with Harness.open(tmp_path / "moved", database_url=target_url) as moved:
        assert await names(moved) == before
        async with moved.app.db.read() as conn:
            assert (await conn.execute(select(func.count()).select_from(enrolments))).scalar() == 1
        moved.languages[AMINA] = "ar"
        await moved.send(AMINA, "/start")  # a known artisan: the menu, no new registration
        assert "اختر لغتك" not in moved.last_text(AMINA)
        await moved.register(SALMA, "en", name="Salma Idrissi")  # new ids follow the copied ones
        assert await names(moved) == [*before, "Salma Idrissi"]
        async with moved.app.db.read() as conn:
            linked = (await conn.execute(select(func.count()).select_from(identities))).scalar()
        assert linked == 3


async def test_db_copy_without_a_target_says_how(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert await cli.db_copy(load_settings(database_url=f"sqlite:///{tmp_path / 'x.db'}"), None) == 2
    assert "--to postgresql://" in capsys.readouterr().err


@postgres_only
async def test_pg_backup_restores_into_an_empty_database(h: Harness, tmp_path: Path) -> None:
    await h.register(AMINA, "ar", name="أمينة بنعلي")
    archive = tmp_path / "hirfa.dump"
    assert pg_dump(h.app.db.url, archive) > 0
    restored = databases.url_for(tmp_path, "restored", empty=True)
    plain = restored.replace("+asyncpg", "")
    pg_restore = shutil.which("pg_restore")
    assert pg_restore is not None
    done = await asyncio.to_thread(subprocess.run, [pg_restore, "--no-owner", f"--dbname={plain}",
                                                    str(archive)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    async with Harness.open(tmp_path / "r", database_url=restored) as back:
        assert await names(back) == ["أمينة بنعلي"]
        assert "0016" in await back.app.db.current_revisions()
