"""``hirfa import certifications FILE [--dry-run] [--lang fr]``: import the chamber's register.

Prints the report (rows created, moved, corrected, unchanged, rejected with the reason) in the
chosen language. Exit status: 0 all rows imported, 1 some rows rejected (the others were
imported), 2 the file could not be read at all. Notices go into the outbox; the running bot
(``hirfa run``) delivers them.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TextIO

from bot.dialogue import Services
from bot.i18n import Msg
from bot.settings import SUPPORTED_LOCALES
from bot.subcommands import Subparsers, subgroup
from handlers.certification.importer import FileProblem, import_file, report_lines


def register(subparsers: Subparsers) -> None:
    kinds = subgroup(subparsers, "import", "import a CSV/XLSX file")
    parser = kinds.add_parser(
        "certifications", help="the register of certification (VAEP) applications",
        description="Import the chamber's register of certification applications "
                    "(template: templates/certifications.csv).",
    )
    parser.add_argument("file", type=Path, help=".csv (UTF-8) or .xlsx")
    parser.add_argument("--dry-run", action="store_true",
                        help="check and report only: nothing saved, nobody notified")
    parser.add_argument("--lang", choices=SUPPORTED_LOCALES, help="language of the report")
    parser.set_defaults(func=run)


async def run(services: Services, args: argparse.Namespace, out: TextIO = sys.stdout) -> int:
    lang = args.lang or services.settings.default_locale
    plain = services.translator.plain
    zone = services.zone
    try:
        report = await import_file(services, args.file, dry_run=args.dry_run)
    except FileProblem as problem:
        message = Msg(problem.key, **problem.params)
        out.write(plain(Msg("cert.import.file_problem", file=str(args.file), problem=message),
                        lang, zone) + "\n")
        return 2
    for line in report_lines(report):
        out.write(plain(line, lang, zone) + "\n")
    return 1 if report.problems else 0
