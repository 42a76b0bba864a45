"""``hirfa backup PATH``: a consistent copy of the SQLite database, taken while the bot runs.

Uses SQLite's online backup API, which copies pages under a read transaction and restarts if a
writer changes the source meanwhile, so the copy is always a consistent snapshot. To restore, stop
the bot and put the copy in place of the database file (or point ``HIRFA_DATABASE_URL`` at it).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sqlite3
from pathlib import Path
from typing import Any

from storage.urls import is_memory, is_sqlite


def register(sub: Any) -> None:
    parser = sub.add_parser("backup", help="copy the database consistently while the bot runs")
    parser.add_argument("path", type=Path, help="where to write the copy (a .db file)")
    parser.set_defaults(func=run)


def sqlite_path(url: str) -> Path:
    if not is_sqlite(url) or is_memory(url):
        raise ValueError("backup works on a SQLite database file")
    return Path(url.split("///", 1)[1])


def backup_file(source: Path, target: Path) -> int:
    """Copy ``source`` to ``target`` with the online backup API; return the page count."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(target.suffix + ".partial")
    partial.unlink(missing_ok=True)
    os.close(os.open(partial, os.O_CREAT | os.O_WRONLY | os.O_EXCL, 0o600))  # personal data: 0600
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=30)
    dst = sqlite3.connect(partial)
    try:
        src.backup(dst, pages=256)
        pages = int(dst.execute("PRAGMA page_count").fetchone()[0])
        check = dst.execute("PRAGMA integrity_check").fetchone()[0]
        if check != "ok":
            raise RuntimeError(f"the copy failed its integrity check: {check}")
    finally:
        dst.close()
        src.close()
    partial.replace(target)
    return pages


async def run(app: Any, args: argparse.Namespace) -> int:
    source = sqlite_path(app.settings.database_url)
    pages = await asyncio.to_thread(backup_file, source, args.path)
    print(f"backup written to {args.path} ({pages} pages, integrity ok)")
    return 0
