"""The activity report for the chamber's session: ``/report`` in the chat (staff), ``hirfa report``
on the command line, and the console's report page; all three call :func:`build_report`.

    /report                          → the last four months and this one, PDF and XLSX
    /report 2026-06-01 2026-10-31    → that period
    hirfa report --from 2026-06-01 --to 2026-10-31 --lang ar -o report.pdf   (or .xlsx)
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import date, timedelta
from pathlib import Path

from bot.dialogue import Context, Router, Services
from bot.i18n import Msg
from bot.messages import Document
from bot.spreadsheets import XLSX_MIME
from bot.subcommands import Subparsers
from handlers.report import render
from storage.report import collect

router = Router()
MAX_DAYS = 3 * 366


async def build_report(
    services: Services, start: date, end: date, lang: str, kind: str
) -> tuple[bytes, str, str]:
    """``(content, mime type, file name)`` of the report for ``[start, end]`` (local days)."""
    zone = services.zone
    async with services.db.read() as conn:
        report = await collect(conn, start, end, zone)
    name = f"hirfa-report-{start.isoformat()}-{end.isoformat()}-{lang}.{kind}"
    if kind == "pdf":
        content = await asyncio.to_thread(
            render.pdf, services.translator, report, lang, zone, services.clock.now()
        )
        return content, render.PDF_MIME, name
    content = await asyncio.to_thread(render.xlsx, services.translator, report, lang, zone)
    return content, XLSX_MIME, name


def default_period(today: date) -> tuple[date, date]:
    """This month and the four before it."""
    start = today.replace(day=1)
    for _ in range(4):
        start = (start - timedelta(days=1)).replace(day=1)
    return start, today


def parse_period(text: str, today: date) -> tuple[date, date] | None:
    parts = text.split()
    if not parts:
        return default_period(today)
    if len(parts) != 2:
        return None
    try:
        start, end = date.fromisoformat(parts[0]), date.fromisoformat(parts[1])
    except ValueError:
        return None
    return (start, end) if start <= end and (end - start).days <= MAX_DAYS else None


@router.command("report", role="staff", describe="cmd.report")
async def cmd_report(ctx: Context) -> None:
    ctx.finish()
    period = parse_period(ctx.args, ctx.now.astimezone(ctx.services.zone).date())
    if period is None:
        ctx.say(Msg("report.chat_usage"))
        return
    start, end = period
    for kind in ("pdf", "xlsx"):
        content, mime, name = await build_report(ctx.services, start, end, ctx.lang, kind)
        ctx.say(Msg("report.chat_caption", start=start, end=end), document=Document(name, content, mime))


def register_cli(sub: Subparsers) -> None:
    p = sub.add_parser("report", help="the activity report for a period (.pdf or .xlsx)")
    p.add_argument("--from", dest="start", type=date.fromisoformat, required=True, metavar="YYYY-MM-DD")
    p.add_argument("--to", dest="end", type=date.fromisoformat, required=True, metavar="YYYY-MM-DD")
    p.add_argument("--lang", choices=["ar", "fr", "en"], default=None)
    p.add_argument("-o", "--out", type=Path, required=True, help="file to write: .pdf or .xlsx")
    p.set_defaults(func=write_report)


async def write_report(services: Services, args: argparse.Namespace) -> int:
    kind = args.out.suffix.lower().lstrip(".")
    if kind not in ("pdf", "xlsx"):
        print("hirfa: -o must end in .pdf or .xlsx", file=sys.stderr)
        return 2
    if args.start > args.end or (args.end - args.start).days > MAX_DAYS:
        print("hirfa: --from must be before --to, at most three years apart", file=sys.stderr)
        return 2
    lang = args.lang or services.settings.default_locale
    content, _, _ = await build_report(services, args.start, args.end, lang, kind)
    await asyncio.to_thread(args.out.write_bytes, content)
    print(f"report {args.start} .. {args.end} ({lang}) written to {args.out}")
    return 0


router.cli.append(register_cli)
