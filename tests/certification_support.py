"""Helpers for the certification tests: registers as files, imports, reading the database."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from handlers.certification.cli import run as run_cli
from handlers.certification.importer import Report, import_file
from storage.certification_schema import certification_history, certifications
from storage.schema import outbox
from tests.harness import Harness

HEADER = ["application_number", "cnie", "phone", "full_name", "craft", "stage", "stage_date",
          "note", "summons_date", "summons_time", "summons_place"]


def row(number: str, cnie: str, phone: str = "", name: str = "Amina Benali", stage: str = "submitted",
        **extra: str) -> dict[str, str]:
    values = {"application_number": number, "cnie": cnie, "phone": phone, "full_name": name,
              "craft": extra.pop("craft", "zellige"), "stage": stage}
    values.update(extra)
    return values


def write_csv(path: Path, rows: list[dict[str, str]], *, delimiter: str = ",",
              header: list[str] | None = None, bom: bool = False) -> Path:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=header or HEADER, delimiter=delimiter,
                            extrasaction="ignore")
    writer.writeheader()
    for values in rows:
        writer.writerow(values)
    path.write_text(("\ufeff" if bom else "") + buffer.getvalue(), encoding="utf-8")
    return path


async def do_import(h: Harness, path: Path, **kw: Any) -> Report:
    return await import_file(h.app.services, path, **kw)


class Args:
    def __init__(self, file: Path, lang: str = "en", dry_run: bool = False) -> None:
        self.file = file
        self.lang = lang
        self.dry_run = dry_run


async def cli_import(h: Harness, path: Path, lang: str = "en", dry_run: bool = False) -> tuple[int, str]:
    """``hirfa import certifications PATH``: exit status and the printed report."""
    out = io.StringIO()
    code = await run_cli(h.app.services, Args(path, lang, dry_run), out)  # type: ignore[arg-type]
    return code, out.getvalue()


async def applications(h: Harness) -> dict[str, dict[str, Any]]:
    async with h.app.db.read() as conn:
        rows = (await conn.execute(select(certifications))).mappings().all()
    return {r["number"]: dict(r) for r in rows}


async def history_rows(h: Harness) -> list[dict[str, Any]]:
    async with h.app.db.read() as conn:
        stmt = select(certification_history).order_by(certification_history.c.id)
        return [dict(r) for r in (await conn.execute(stmt)).mappings()]


async def notices(h: Harness) -> list[dict[str, Any]]:
    """The certification rows of the outbox, oldest first."""
    async with h.app.db.read() as conn:
        stmt = select(outbox).where(outbox.c.kind == "certification").order_by(outbox.c.id)
        return [dict(r) for r in (await conn.execute(stmt)).mappings()]


async def outbox_count(h: Harness) -> int:
    async with h.app.db.read() as conn:
        return int((await conn.execute(select(func.count()).select_from(outbox))).scalar_one())


def phone_of(user: int) -> str:
    """The phone ``Harness.register`` shares for ``user``."""
    return f"+2126{user % 100000000:08d}"
