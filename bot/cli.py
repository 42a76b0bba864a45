"""The ``hirfa`` command: ``shell``, ``run``, ``db``, the tools (``backup``, ``whatsapp``,
``translations``) and the features' commands, which each feature declares on its router
(``router.cli``, see :mod:`bot.subcommands`)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from bot import backup, translations_cli, whatsapp_templates
from bot.app import Hirfa
from bot.channels.shell import CHANNEL as SHELL
from bot.channels.shell import ShellChannel, ShellTransport
from bot.errors import ConfigError
from bot.languages import LANGUAGES
from bot.logs import setup as setup_logging
from bot.pacing import Pacer
from bot.settings import Settings, load_settings, require_runnable
from bot.subcommands import Register
from bot.workers import Seat, refusal, supervise
from handlers import build_router
from storage import staff as staff_repo
from storage.copy import copy_database
from storage.database import Database
from storage.urls import redacted


def _secrets(settings: Settings) -> list[str]:
    values = [settings.telegram.token, settings.telegram.webhook_secret, settings.whatsapp.token,
              settings.whatsapp.app_secret, settings.whatsapp.verify_token]
    return [v.get_secret_value() for v in values if v is not None]


def _offline(settings: Settings) -> Settings:
    """Settings for commands that must not reach Telegram or WhatsApp (shell, db, features)."""
    return settings.model_copy(update={
        "telegram": settings.telegram.model_copy(update={"token": None}),
        "whatsapp": settings.whatsapp.model_copy(update={"phone_id": None, "token": None}),
    })


async def shell(settings: Settings, demo: bool, language: str | None, artisan: bool = False) -> None:
    """Chat in the terminal. ``demo``: a temporary database with sample data, where you are an
    admin, or (``artisan``) an artisan like any other, to see their side only."""
    app = Hirfa(_offline(settings))
    channel = ShellChannel(app.engine, language=language)
    app.outbox.add_transport(ShellTransport(sys.stdout), Pacer(50, app.clock))
    await app.prepare()
    if demo:
        if not artisan:
            async with app.db.transaction() as conn:
                await staff_repo.grant(conn, SHELL, channel.user_id, "admin", app.clock.now(), "demo")
        for seed in app.router.demo:
            await seed(app.services)
        who = "an artisan (no staff menus)" if artisan else "an admin (--artisan: an artisan's view)"
        print(f"Hirfa demo: a temporary database with sample data; you are {who} here.")
    print("Reply with a number or type your answer. /share shares your phone number, "
          "'menu' shows the menu, /quit leaves.\n")
    await app.start(scheduler=True, senders=True)
    try:
        await channel.run()
    finally:
        await app.stop()


async def run(settings: Settings, seat: Seat | None = None) -> None:
    require_runnable(settings)
    await Hirfa(settings, seat=seat).run_forever()


def run_command(settings: Settings, args: argparse.Namespace) -> int:
    """``hirfa run``: one process; ``--workers N``: a supervisor and N workers
    (``bot/workers.py``); ``--worker I --listen-fd FD``: one of those workers."""
    if args.worker is not None:
        if args.listen_fd is None:
            raise ConfigError("--worker needs --listen-fd (it is started by `hirfa run --workers N`)")
        asyncio.run(run(settings, Seat(args.worker, args.listen_fd, os.getppid())))
        return 0
    require_runnable(settings)
    problem = refusal(settings, args.workers)
    if problem is not None:
        print(f"hirfa: {problem}", file=sys.stderr)
        return 2
    if args.workers > 1:
        return supervise(settings, args.workers)
    asyncio.run(run(settings))
    return 0


async def db_copy(settings: Settings, to: str | None) -> int:
    """``hirfa db copy --to URL``: every table of this database into another (safe to re-run)."""
    if not to:
        print("hirfa: db copy needs --to postgresql://...", file=sys.stderr)
        return 2
    source = Database(settings.database_url)
    target = Database(load_settings(database_url=to).database_url)
    try:
        await source.upgrade()
        report = await copy_database(source, target)
    finally:
        await source.dispose()
        await target.dispose()
    for line in report:
        print(f"{line.table:32} {line.source:>9} -> {line.target:>9} {'ok' if line.ok else 'MISMATCH'}")
    bad = [line.table for line in report if not line.ok]
    if bad:
        print("hirfa: counts differ in " + ", ".join(bad), file=sys.stderr)
        return 1
    print(f"copied {sum(line.source for line in report)} rows into {redacted(to)}; counts verified")
    return 0


async def db_upgrade(settings: Settings) -> None:
    app = Hirfa(_offline(settings))
    await app.db.upgrade()
    print("database at", redacted(settings.database_url).split("///")[-1], "is up to date:",
          ", ".join(sorted(await app.db.current_revisions())))
    await app.db.dispose()


def parser(features: Sequence[Register] | None = None) -> argparse.ArgumentParser:
    """The whole command line; ``features``: the subcommands declared on the router."""
    p = argparse.ArgumentParser(prog="hirfa", description="Hirfa, the artisans' assistant.")
    sub = p.add_subparsers(dest="command", required=True)
    sh = sub.add_parser("shell", help="chat with the bot in this terminal")
    sh.add_argument("--demo", action="store_true", help="temporary database with sample data")
    sh.add_argument("--lang", choices=LANGUAGES, help="your language hint")
    sh.add_argument("--artisan", action="store_true",
                    help="with --demo: be an artisan, not an admin (see what artisans see)")
    run_parser = sub.add_parser("run", help="run the configured channels, scheduler and outbox")
    run_parser.add_argument(
        "--workers", type=int, default=1, metavar="N",
        help="N worker processes sharing the port, the sending and the clock (PostgreSQL and "
             "webhooks only; see README, 'Several workers')")
    # Given by the supervisor to each worker it starts:
    run_parser.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    run_parser.add_argument("--listen-fd", type=int, help=argparse.SUPPRESS)
    db = sub.add_parser("db", help="database maintenance")
    db.add_argument("action", choices=["upgrade", "copy"],
                    help="upgrade: apply migrations; copy: copy every table to --to")
    db.add_argument("--to", metavar="URL", help="copy: the target, e.g. postgresql://hirfa@db/hirfa")
    # The tools of no feature (database copy, WhatsApp templates, translation sheets) around the
    # features' own subcommands.
    features = build_router().cli if features is None else features
    for register in (backup.register, *features, whatsapp_templates.register, translations_cli.register):
        register(sub)
    return p


async def feature_command(settings: Settings, args: argparse.Namespace) -> int:
    """Run a feature subcommand against the migrated database, without starting channels."""
    app = Hirfa(_offline(settings))
    await app.prepare()
    try:
        return int(await args.func(app.services, args) or 0)
    finally:
        await app.db.dispose()


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    overrides: dict[str, object] = {}
    tmp: tempfile.TemporaryDirectory[str] | None = None
    if args.command == "shell" and args.demo:
        tmp = tempfile.TemporaryDirectory(prefix="hirfa-demo-")
        overrides["database_url"] = f"sqlite+aiosqlite:///{Path(tmp.name) / 'demo.db'}"
    try:
        settings = load_settings(**overrides)
        level = settings.log_level if args.command == "run" else "WARNING"
        setup_logging(level, _secrets(settings))
        if args.command == "shell":
            asyncio.run(shell(settings, args.demo, args.lang, args.artisan))
        elif args.command == "run":
            code = run_command(settings, args)
            if code:
                return code
        elif args.command == "db" and args.action == "copy":
            return asyncio.run(db_copy(settings, args.to))
        elif args.command == "db":
            asyncio.run(db_upgrade(settings))
        elif hasattr(args, "func"):
            return asyncio.run(feature_command(settings, args))
    except ConfigError as err:
        print(f"hirfa: configuration error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    finally:
        if tmp is not None:
            tmp.cleanup()
    logging.shutdown()
    return 0
