"""``hirfa import sessions FILE`` and ``hirfa export enrolments --session ID``.

The import report lists rows accepted and rejected (with the reason, in ``--lang``); files of
more than a few hundred rows show a progress bar on stderr. The export writes .xlsx or .csv
(from the output file's extension, or ``--format``).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import TextIO

from bot.dialogue import Services
from bot.i18n import Msg
from bot.languages import LANGUAGES
from bot.subcommands import Subparsers, subgroup
from handlers.sessions.files import (
    FileError,
    ImportReport,
    enrolment_export,
    import_rows,
    read_table,
)
from storage import sessions as session_repo

PROGRESS_FROM = 200


def register(subparsers: Subparsers) -> None:
    imports = subgroup(subparsers, "import", "import records from a .csv or .xlsx file")
    p = imports.add_parser("sessions", help="training sessions (template: templates/sessions_template.csv)")
    p.add_argument("file", type=Path)
    p.add_argument("--lang", choices=LANGUAGES, default="en", help="language of the report")
    p.set_defaults(func=import_sessions)
    exports = subgroup(subparsers, "export", "export records to a .csv or .xlsx file")
    e = exports.add_parser("enrolments", help="the enrolment list of one session")
    e.add_argument("--session", type=int, required=True, metavar="ID")
    e.add_argument("--output", "-o", type=Path, help="file to write (default enrolments-session-ID.xlsx)")
    e.add_argument("--format", choices=["xlsx", "csv"], help="default: from --output, else xlsx")
    e.add_argument("--lang", choices=LANGUAGES, default="en",
                   help="language of the messages and titles (titles fall back to another language)")
    e.set_defaults(func=export_enrolments)


class ProgressBar:
    """A one-line ``[#####.....] 120/500`` bar, redrawn in place."""

    def __init__(self, out: TextIO, width: int = 30) -> None:
        self.out = out
        self.width = width

    def __call__(self, done: int, total: int) -> None:
        if total < PROGRESS_FROM or (done % 10 and done != total):
            return
        filled = self.width * done // total
        self.out.write(f"\r[{'#' * filled}{'.' * (self.width - filled)}] {done}/{total}")
        if done == total:
            self.out.write("\n")
        self.out.flush()


def format_report(services: Services, report: ImportReport, lang: str) -> str:
    t = services.translator
    zone = services.zone
    lines = [t.plain(Msg("sess.import_summary", accepted=report.accepted, created=report.created,
                         updated=report.updated, unchanged=report.unchanged,
                         rejected=len(report.rejected)), lang, zone)]
    for number, reason in report.rejected:
        lines.append(t.plain(Msg("sess.import_rejected_row", row=number, reason=reason), lang, zone))
    return "\n".join(lines)


async def import_sessions(services: Services, args: argparse.Namespace) -> int:
    t = services.translator
    zone = services.zone
    path: Path = args.file
    if not await asyncio.to_thread(path.exists):
        print(t.plain(Msg("sess.import_no_file", name=str(path)), args.lang, zone), file=sys.stderr)
        return 2
    try:
        rows = await asyncio.to_thread(read_table, path)
    except FileError as err:
        print(t.plain(err.message, args.lang, zone), file=sys.stderr)
        return 2
    report = await import_rows(services, rows, author=f"cli:{path.name}",
                               progress=ProgressBar(sys.stderr))
    print(format_report(services, report, args.lang))
    return 1 if report.rejected else 0


async def export_enrolments(services: Services, args: argparse.Namespace) -> int:
    t = services.translator
    zone = services.zone
    async with services.db.read() as conn:
        session = await session_repo.get(conn, args.session)
        if session is None:
            print(t.plain(Msg("sess.export_no_session", id=args.session), args.lang, zone), file=sys.stderr)
            return 2
        output: Path = args.output or Path(f"enrolments-session-{session.id}.{args.format or 'xlsx'}")
        kind = args.format or ("csv" if output.suffix.lower() == ".csv" else "xlsx")
        data, count = await enrolment_export(conn, session, args.lang, zone, kind)
    await asyncio.to_thread(output.write_bytes, data)
    print(t.plain(Msg("sess.export_written", count=count, path=str(output)), args.lang, zone))
    return 0
