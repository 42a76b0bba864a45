"""``hirfa translations export|import``: the chamber's people review a language in a spreadsheet.

    hirfa translations export --lang ary -o ary.xlsx
    hirfa translations import ary.xlsx [--dry-run]

The sheet has one row per text (key, English, French, the language, note, status, plural form).
Import checks every changed row (placeholders, Telegram markup, plural forms) and writes only
the rows that pass into ``locales/<lang>/*.po``, printing a row-level report. Exit status: 0 all
rows accepted, 1 some refused (the others were saved), 2 the file could not be read. Restart the
bot to use the new texts.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path
from typing import TextIO

from bot.dialogue import Services
from bot.i18n import LOCALES_DIR
from bot.languages import LANGUAGES
from bot.subcommands import Subparsers
from bot.translations import export_rows, import_rows, read_xlsx, write_xlsx


def register(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser("translations", help="review translations in a spreadsheet")
    verbs = parser.add_subparsers(dest="translations_verb", required=True, metavar="VERB")
    export = verbs.add_parser("export", help="write a language's texts to an .xlsx sheet")
    export.add_argument("--lang", required=True, choices=[c for c in LANGUAGES if c != "en"])
    export.add_argument("-o", "--output", type=Path, required=True, help="the .xlsx file to write")
    export.add_argument("--locales", type=Path, default=LOCALES_DIR, help=argparse.SUPPRESS)
    export.set_defaults(func=run_export)
    take = verbs.add_parser("import", help="check a reviewed sheet and save the good rows")
    take.add_argument("file", type=Path, help="the .xlsx sheet made by `translations export`")
    take.add_argument("--dry-run", action="store_true", help="check and report only, save nothing")
    take.add_argument("--locales", type=Path, default=LOCALES_DIR, help=argparse.SUPPRESS)
    take.set_defaults(func=run_import)


async def run_export(services: Services, args: argparse.Namespace, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    rows = export_rows(args.lang, args.locales)
    write_xlsx(rows, args.lang, args.output)
    drafts = sum(1 for row in rows if row.status == "draft")
    out.write(f"Written: {args.output} ({len(rows)} rows, {drafts} still draft).\n")
    return 0


async def run_import(services: Services, args: argparse.Namespace, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    try:
        lang, rows = read_xlsx(args.file)
    except Exception as err:  # openpyxl raises many kinds for a file that is not a workbook
        out.write(f"Cannot read {args.file}: {err}\n")
        return 2
    if lang not in LANGUAGES or lang == "en" or not (args.locales / lang).is_dir():
        out.write(f"Cannot import {args.file}: the 4th column must be named after a language "
                  f"({', '.join(c for c in LANGUAGES if c != 'en')}), not {lang!r}.\n")
        return 2
    if args.dry_run:
        with tempfile.TemporaryDirectory() as scratch:
            copy = Path(scratch) / "locales"
            shutil.copytree(args.locales, copy)
            report = import_rows(lang, rows, copy)
    else:
        report = import_rows(lang, rows, args.locales)
    for line in report.lines():
        out.write(line + "\n")
    if args.dry_run:
        out.write("Dry run: nothing was saved.\n")
    elif report.changed:
        out.write(f"Saved in {args.locales / lang}. Restart the bot to use the new texts.\n")
    return 1 if report.refused else 0
