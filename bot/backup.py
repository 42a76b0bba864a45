"""``hirfa backup PATH``: a consistent copy of the database, taken while the bot runs.

SQLite: the online backup API copies pages under a read transaction and restarts if a writer
changes the source meanwhile, so the copy is always a consistent snapshot. To restore, stop the
bot and put the copy in place of the database file (or point ``HIRFA_DATABASE_URL`` at it).

PostgreSQL: ``pg_dump --format=custom`` (one consistent snapshot; the ``pg_dump`` binary of the
server's major version or newer must be on the PATH). To restore into an empty database::

    createdb hirfa_restored
    pg_restore --no-owner --dbname=postgresql://user@host/hirfa_restored PATH
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sqlite3
import subprocess
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from bot.dialogue import Services
from bot.subcommands import Subparsers
from storage.urls import is_memory, is_postgres, is_sqlite, plain_url


def register(sub: Subparsers) -> None:
    parser = sub.add_parser("backup", help="copy the database consistently while the bot runs")
    parser.add_argument("path", type=Path,
                        help="where to write the copy (a .db file; a pg_dump archive on PostgreSQL)")
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


def pg_dump(url: str, target: Path) -> int:
    """``pg_dump --format=custom`` of ``url`` into ``target``; the archive's size in bytes.

    The password, if the URL has one, travels in ``PGPASSWORD`` rather than on the command line
    (where other users of the machine could read it)."""
    binary = shutil.which("pg_dump")
    if binary is None:
        raise RuntimeError("pg_dump is not installed (Debian: apt-get install postgresql-client)")
    parts = urlsplit(plain_url(url))
    env = dict(os.environ)
    netloc = parts.netloc
    if parts.password is not None:
        env["PGPASSWORD"] = parts.password
        netloc = netloc.replace(f":{parts.password}@", "@", 1)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(target.suffix + ".partial")
    partial.unlink(missing_ok=True)
    # Personal data: 0600. pg_dump truncates the file we create and keeps its mode (its own
    # would follow the umask, usually 0644).
    os.close(os.open(partial, os.O_CREAT | os.O_WRONLY | os.O_EXCL, 0o600))
    done = subprocess.run(
        [binary, "--format=custom", "--no-owner", f"--file={partial}",
         f"--dbname={urlunsplit(parts._replace(netloc=netloc))}"],
        env=env, capture_output=True, text=True, check=False,
    )
    if done.returncode != 0:
        partial.unlink(missing_ok=True)
        raise RuntimeError(f"pg_dump failed: {done.stderr.strip()}")
    partial.replace(target)
    return target.stat().st_size


async def run(services: Services, args: argparse.Namespace) -> int:
    url = services.settings.database_url
    if is_postgres(url):
        size = await asyncio.to_thread(pg_dump, url, args.path)
        print(f"backup written to {args.path} (pg_dump custom format, {size} bytes);"
              " restore with: pg_restore --no-owner --dbname=URL_OF_AN_EMPTY_DATABASE " + str(args.path))
        return 0
    source = sqlite_path(url)
    pages = await asyncio.to_thread(backup_file, source, args.path)
    print(f"backup written to {args.path} ({pages} pages, integrity ok)")
    return 0
