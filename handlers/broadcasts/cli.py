"""The staff's numbers on the command line: ``hirfa export deliveries --broadcast ID`` and
``hirfa stats`` (the same tables and chart as ``/stats`` and a broadcast's report in the chat).

    hirfa export deliveries --broadcast 12                 → deliveries-12.csv
    hirfa export deliveries --broadcast 12 --out d.xlsx    → an Excel workbook
    hirfa stats [--lang fr] [--chart stats.png]            → the numbers, and the chart image
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from bot.dialogue import Router, Services
from bot.i18n import html_to_plain
from bot.languages import LANGUAGES
from bot.spreadsheets import to_csv, to_xlsx
from bot.subcommands import Subparsers, subgroup
from handlers.broadcasts.exports import delivery_table
from handlers.broadcasts.stats import stats_chart, stats_text
from storage import broadcasts as broadcast_repo
from storage.stats import collect

router = Router()


def register(sub: Subparsers) -> None:
    deliveries = subgroup(sub, "export", "export records to a .csv or .xlsx file").add_parser(
        "deliveries", help="who got a broadcast: one row per recipient with status and error")
    deliveries.add_argument("--broadcast", type=int, required=True, metavar="ID")
    deliveries.add_argument("--out", type=Path, help="file to write (.csv or .xlsx); default "
                            "deliveries-ID.csv")
    deliveries.set_defaults(func=export_deliveries)
    stats = sub.add_parser("stats", help="registrations, sessions and broadcast deliveries")
    stats.add_argument("--lang", choices=LANGUAGES, default=None)
    stats.add_argument("--chart", type=Path, help="also save the chart as a PNG file")
    stats.set_defaults(func=print_stats)


async def export_deliveries(services: Services, args: argparse.Namespace) -> int:
    out: Path = args.out or Path(f"deliveries-{args.broadcast}.csv")
    if out.suffix.lower() not in (".csv", ".xlsx"):
        print("hirfa: --out must end in .csv or .xlsx", file=sys.stderr)
        return 2
    async with services.db.read() as conn:
        if await broadcast_repo.get(conn, args.broadcast) is None:
            print(f"hirfa: no broadcast {args.broadcast}", file=sys.stderr)
            return 1
        header, rows = await delivery_table(conn, args.broadcast, services.zone)
    data = to_xlsx(header, rows, "deliveries") if out.suffix.lower() == ".xlsx" else to_csv(header, rows)
    await asyncio.to_thread(out.write_bytes, data)
    print(f"{len(rows)} deliveries of broadcast {args.broadcast} written to {out}")
    return 0


async def print_stats(services: Services, args: argparse.Namespace) -> int:
    lang = args.lang or services.settings.default_locale
    zone = services.zone
    async with services.db.read() as conn:
        stats = await collect(conn, services.clock.now(), zone)
    print(html_to_plain(stats_text(services.translator, stats, lang, zone)))
    if args.chart is not None:
        png = await asyncio.to_thread(stats_chart, services.translator, stats, lang, zone)
        await asyncio.to_thread(args.chart.write_bytes, png)
        print(f"\nchart written to {args.chart}")
    return 0


router.cli.append(register)
