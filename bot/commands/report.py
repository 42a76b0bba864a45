"""``hirfa report``: the activity report for a period, as a PDF or an XLSX file.

hirfa report --from 2026-06-01 --to 2026-10-31 --lang ar -o report.pdf
hirfa report --from 2026-06-01 --to 2026-10-31 --lang fr -o report.xlsx
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import date
from pathlib import Path
from typing import Any

from bot.app import Hirfa
from handlers.report import MAX_DAYS, build_report


def register(sub: Any) -> None:
    p = sub.add_parser("report", help="the activity report for a period (.pdf or .xlsx)")
    p.add_argument("--from", dest="start", type=date.fromisoformat, required=True, metavar="YYYY-MM-DD")
    p.add_argument("--to", dest="end", type=date.fromisoformat, required=True, metavar="YYYY-MM-DD")
    p.add_argument("--lang", choices=["ar", "fr", "en"], default=None)
    p.add_argument("-o", "--out", type=Path, required=True, help="file to write: .pdf or .xlsx")
    p.set_defaults(func=write_report)


async def write_report(app: Hirfa, args: argparse.Namespace) -> int:
    kind = args.out.suffix.lower().lstrip(".")
    if kind not in ("pdf", "xlsx"):
        print("hirfa: -o must end in .pdf or .xlsx", file=sys.stderr)
        return 2
    if args.start > args.end or (args.end - args.start).days > MAX_DAYS:
        print("hirfa: --from must be before --to, at most three years apart", file=sys.stderr)
        return 2
    lang = args.lang or app.settings.default_locale
    content, _, _ = await build_report(app.services, args.start, args.end, lang, kind)
    await asyncio.to_thread(args.out.write_bytes, content)
    print(f"report {args.start} .. {args.end} ({lang}) written to {args.out}")
    return 0
