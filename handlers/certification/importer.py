"""Importing the chamber's register of applications (``hirfa import certifications FILE``).

A register is a ``.csv`` (UTF-8, comma or semicolon) or ``.xlsx`` sheet with one application per
row; ``templates/certifications.csv`` shows the columns. Headers may be in English, French or
Arabic (``N° dossier``, ``رقم الملف`` ...). Every row is checked on its own: good rows are applied,
bad rows are listed in the report with the reason, nothing half-done.

Applying is idempotent: an application is matched on its number; a row that says what the
database already says changes nothing and sends nothing. A row that moves an application to a new
stage (or gives a summons a new date or place) appends to its history and queues one notice for
the artisan it belongs to (see :mod:`handlers.certification.changes`).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from pathlib import Path
from typing import Any

from bot.dialogue import Services, strip_invisible
from bot.errors import InvalidInput
from bot.i18n import Msg, Raw, Text
from bot.spreadsheets import SheetError, fold_header, map_columns, read_sheet
from bot.timezones import load_zone
from handlers.catalog import CRAFTS
from handlers.certification import parsing
from handlers.certification.changes import SOURCE_IMPORT, Change, moves, record
from handlers.certification.stages import matcher, read_stage, stage
from handlers.validation import clean_cnie, name_character, parse_phone
from storage import certifications as repo
from storage.certifications import Application
from storage.database import Conn

CHUNK = 200
NAME_MAX = 120
CRAFT_MAX = 80

COLUMNS: dict[str, tuple[str, ...]] = {
    "application_number": ("application number", "number", "numero dossier", "n dossier",
                           "no dossier", "numero", "dossier", "رقم الملف", "رقم الطلب"),
    "cnie": ("cnie", "cin", "national id", "رقم البطاقة الوطنية", "البطاقة الوطنية"),
    "phone": ("phone", "telephone", "tel", "gsm", "mobile", "الهاتف", "رقم الهاتف"),
    "full_name": ("full name", "name", "nom complet", "nom et prenom", "nom", "الاسم الكامل",
                  "الاسم"),
    "craft": ("craft", "trade", "metier", "activite", "الحرفة"),
    "stage": ("stage", "status", "etape", "statut", "المرحلة", "الحالة"),
    "stage_date": ("stage date", "date", "date etape", "date statut", "تاريخ المرحلة"),
    "note": ("note", "notes", "remarque", "observation", "motif", "ملاحظة", "ملاحظات"),
    "summons_date": ("summons date", "date convocation", "تاريخ الاستدعاء"),
    "summons_time": ("summons time", "heure convocation", "heure", "ساعة الاستدعاء", "الساعة"),
    "summons_place": ("summons place", "place", "lieu", "lieu convocation", "مكان الاستدعاء",
                      "المكان"),
}
REQUIRED = ("application_number", "cnie", "full_name", "stage")


class FileProblem(Exception):
    """The file as a whole cannot be imported; ``key``/``params`` say why."""

    def __init__(self, key: str, **params: Any) -> None:
        super().__init__(key)
        self.key = key
        self.params = params


@dataclass(frozen=True)
class Problem:
    """What is wrong with one cell (or one row): shown in the report, never applied."""

    line: int
    column: str
    message: Msg
    value: str = ""


@dataclass(frozen=True)
class Entry:
    """A valid row: an application as the register gives it."""

    line: int
    number: str
    cnie: str
    phone: str | None
    full_name: str
    craft: str | None
    change: Change


@dataclass
class Report:
    """The outcome of one import, by row."""

    file: str
    rows: int = 0
    created: int = 0
    moved: int = 0
    rescheduled: int = 0
    updated: int = 0
    unchanged: int = 0
    notified: int = 0
    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    dry_run: bool = False
    # Row by row (line, application number, outcome, notice queued): what a preview shows.
    outcomes: list[tuple[int, str, str, bool]] = field(default_factory=list)

    @property
    def rejected(self) -> int:
        return len({p.line for p in self.problems})


# -- reading -----------------------------------------------------------------------------------

def read_rows(path: Path) -> tuple[list[str], list[tuple[int, list[Any]]]]:
    """The header and the non-empty rows (with their line number in the file), read and bounded
    by :mod:`bot.spreadsheets`."""
    try:
        sheet = read_sheet(path)
    except SheetError as err:
        raise FileProblem(err.key, **err.params) from None
    return sheet.header, sheet.rows


def map_header(header: list[str]) -> dict[str, int]:
    """Column name → index; unknown headers are ignored, required ones must be there."""
    found = map_columns(header, COLUMNS)
    missing = [c for c in REQUIRED if c not in found]
    if missing:
        raise FileProblem("cert.import.missing_columns", columns=", ".join(missing))
    return found


# -- checking one row ----------------------------------------------------------------------------

class _Row:
    """Cells of one row by column name, collecting the problems found."""

    def __init__(self, line: int, cells: list[Any], columns: dict[str, int], header: list[str]):
        self.line = line
        self.cells = cells
        self.columns = columns
        self.header = header
        self.problems: list[Problem] = []

    def raw(self, column: str) -> Any:
        index = self.columns.get(column)
        if index is None or index >= len(self.cells):
            return None
        value = self.cells[index]
        if isinstance(value, str):
            value = value.strip()
            return value or None
        return value

    def title(self, column: str) -> str:
        index = self.columns.get(column)
        return self.header[index] if index is not None else column

    def fail(self, column: str, key: str, **params: Any) -> None:
        value = self.raw(column)
        shown = "" if value is None else strip_invisible(str(value))[:60]
        self.problems.append(Problem(self.line, self.title(column), Msg(key, **params), shown))

    def take(self, column: str, read: Any, key: str | None = None, *, text: bool = True) -> Any:
        """``read(cell)``, or None with a problem recorded (``key`` overrides the reason).
        ``text``: hand the cell over as text (a phone typed as a number in a spreadsheet cell
        arrives as ``612345678``)."""
        value = self.raw(column)
        if value is None:
            return None
        if text and not isinstance(value, str):
            value = _as_text(value)
        try:
            return read(value)
        except InvalidInput as err:
            self.fail(column, key or err.key, **({} if key else err.params))
            return None


def _as_text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.strftime("%d/%m/%Y")
    return str(value)


def _name(value: Any) -> str:
    text = re.sub(r"\s+", " ", strip_invisible(str(value))).strip()
    if len(text) > NAME_MAX:
        raise InvalidInput("common.text_too_long", max=NAME_MAX)
    # Letters, marks, spaces, ' - . as in any name (digits too: registers number homonyms);
    # never =, +, @, quotes or brackets, which no person's name contains.
    if sum(1 for ch in text if unicodedata.category(ch).startswith("L")) < 2 or not all(
        name_character(ch) or ch in "0123456789" for ch in text
    ) or not unicodedata.category(text[0]).startswith("L"):
        raise InvalidInput("cert.import.name_invalid")
    return text


class Checker:
    """Turns rows into :class:`Entry` objects or :class:`Problem` lists."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.stages = matcher(services.settings, services.translator)
        self.zone = load_zone(services.settings.timezone)
        self.crafts = self._craft_words()
        self.seen: dict[str, int] = {}

    def _craft_words(self) -> dict[str, str]:
        t = self.services.translator
        words = {}
        for code in CRAFTS:
            if code == "other":
                continue
            words[fold_header(code)] = code
            for lang in t.languages:
                words[fold_header(t.plain(Msg(f"craft.{code}"), lang, self.zone))] = code
        return words

    def _craft(self, value: Any) -> str:
        text = re.sub(r"\s+", " ", strip_invisible(str(value))).strip()
        code = self.crafts.get(fold_header(text))
        if code is not None:
            return code
        if len(text) > CRAFT_MAX:
            raise InvalidInput("common.text_too_long", max=CRAFT_MAX)
        return text

    def check(self, line: int, cells: list[Any], columns: dict[str, int], header: list[str],
              now: datetime) -> tuple[Entry | None, list[Problem], list[Problem]]:
        row = _Row(line, cells, columns, header)
        for column in REQUIRED:
            if row.raw(column) is None:
                row.fail(column, "cert.import.required")
        number = row.take("application_number", parsing.clean_number)
        cnie = row.take("cnie", clean_cnie, "cert.import.cnie_invalid")
        phone = row.take("phone", parse_phone, "cert.import.phone_invalid")
        name = row.take("full_name", _name)
        craft = row.take("craft", self._craft)
        code = row.take("stage", lambda v: self._stage(str(v)))
        stage_date: date | None = row.take("stage_date", parsing.parse_day, text=False)
        note = row.take("note", parsing.clean_note)
        warnings: list[Problem] = []
        summons_at, place = None, None
        if code is not None and stage(code).appointment:
            summons_at, place = self._appointment(row, code, now, warnings)
        if number is not None and number in self.seen:
            row.fail("application_number", "cert.import.duplicate", line=self.seen[number])
        if row.problems:
            return None, row.problems, warnings
        assert number is not None and cnie is not None and name is not None and code is not None
        self.seen[number] = line
        change = Change(code, stage_date, note, summons_at, place)
        return Entry(line, number, cnie, phone, name, craft, change), [], warnings

    def _stage(self, text: str) -> str:
        code = read_stage(text, self.stages)
        if code is None:
            names = ", ".join(s for s in self.services.settings.certification.stages)
            raise InvalidInput("cert.import.stage_unknown", stages=names)
        return code

    def _appointment(self, row: _Row, code: str, now: datetime,
                     warnings: list[Problem]) -> tuple[datetime | None, str | None]:
        day = row.take("summons_date", parsing.parse_day, text=False)
        clock = row.take("summons_time", parsing.parse_clock, text=False)
        place = row.take("summons_place", lambda v: parsing.clean_note(v, parsing.PLACE_MAX))
        missing = [c for c in ("summons_date", "summons_time", "summons_place")
                   if row.raw(c) is None]
        if stage(code).time_required and missing:
            row.fail(missing[0], "cert.import.summons_required")
            return None, None
        if row.raw("summons_place") is None:
            row.fail("summons_place", "cert.import.place_required")
            return None, None
        if (row.raw("summons_date") is None) != (row.raw("summons_time") is None):
            row.fail("summons_date" if row.raw("summons_date") is None else "summons_time",
                     "cert.import.date_and_time")
            return None, None
        when = parsing.to_utc(day, clock, self.zone) if day is not None and clock is not None else None
        if when is not None and when < now:
            warnings.append(Problem(row.line, row.title("summons_date"),
                                    Msg("cert.import.past_appointment"), str(row.raw("summons_date"))))
        return when, place


# -- applying ----------------------------------------------------------------------------------

async def apply_entry(
    conn: Conn, services: Services, entry: Entry, existing: Application | None,
    author: str, report: Report,
) -> None:
    """Create, move, correct or leave one application; count what happened."""
    now = services.clock.now()
    change = entry.change.normalized()
    details: dict[str, Any] = {"cnie": entry.cnie, "phone": entry.phone,
                               "full_name": entry.full_name, "craft": entry.craft}
    if existing is None:
        fields = change.columns()
        app_id = await repo.create(conn, now, number=entry.number, **fields, **details)
        created = Application(id=app_id, number=entry.number, artisan_id=None, link_method=None,
                              created_at=now, updated_at=now, **fields, **details)
        _, queued = await record(conn, services, created, change, author=author,
                                 source=SOURCE_IMPORT, new=True)
        report.created += 1
        report.notified += int(queued)
        report.outcomes.append((entry.line, entry.number, "created", queued))
        return
    if (existing.phone != entry.phone and existing.link_method == repo.LINK_PHONE) or (
        existing.cnie != entry.cnie and existing.link_method == repo.LINK_CNIE
    ):
        # The register corrected what the link was proven with: the link no longer holds.
        await repo.unlink(conn, existing.id)
        existing = replace(existing, artisan_id=None, link_method=None)
    changed_details = any(getattr(existing, k) != v for k, v in details.items())
    if changed_details:
        await repo.update_fields(conn, existing.id, now, **details)
    if moves(existing, change):
        app = replace(existing, **details)
        _, queued = await record(conn, services, app, change, author=author, source=SOURCE_IMPORT)
        outcome = "rescheduled" if change.stage == existing.stage else "moved"
        setattr(report, outcome, getattr(report, outcome) + 1)
        report.notified += int(queued)
        report.outcomes.append((entry.line, entry.number, outcome, queued))
        return
    if (change.stage_date, change.note) != (existing.stage_date, existing.note):
        await repo.update_fields(conn, existing.id, now, stage_date=change.stage_date,
                                 note=change.note)
        changed_details = True
    outcome = "updated" if changed_details else "unchanged"
    setattr(report, outcome, getattr(report, outcome) + 1)
    report.outcomes.append((entry.line, entry.number, outcome, False))


class _Rollback(Exception):
    """Raised inside a dry run's transaction so that nothing is kept."""


async def import_file(services: Services, path: Path, *, dry_run: bool = False,
                      author: str | None = None, name: str | None = None) -> Report:
    """Check every row of ``path`` and apply the good ones (nothing is written on a dry run).

    ``author`` goes into each application's history (default ``import:<file name>``; the console
    gives the staff member); ``name`` is the file's name as the user knows it.

    Raises :class:`FileProblem` when the file as a whole cannot be read.
    """
    report = Report(name or path.name, dry_run=dry_run)
    header, rows = read_rows(path)
    columns = map_header(header)
    checker = Checker(services)
    now = services.clock.now()
    entries: list[Entry] = []
    for line, cells in rows:
        report.rows += 1
        entry, problems, warnings = checker.check(line, cells, columns, header, now)
        report.problems += problems
        report.warnings += warnings
        if entry is not None:
            entries.append(entry)
    author = author or f"import:{path.name}"
    if dry_run:
        await _dry_run(services, entries, author, report)
        return report
    for start in range(0, len(entries), CHUNK):
        # One transaction per chunk, and a pause between them: the bot's writes (in this
        # process or another) get the lock between chunks.
        if start:
            await services.db.let_writers_in()
        async with services.db.transaction() as conn:
            await _apply_all(conn, services, entries[start:start + CHUNK], author, report)
    services.outbox.wake()
    return report


async def _dry_run(services: Services, entries: list[Entry], author: str, report: Report) -> None:
    """Apply everything to a scratch copy of the database (SQLite: the bot's write lock is never
    taken), or else in one transaction rolled back at the end; nothing is kept either way."""
    async with services.db.scratch_copy() as scratch:
        target = replace(services, db=scratch) if scratch is not None else services
        try:
            async with target.db.transaction() as conn:
                await _apply_all(conn, target, entries, author, report)
                raise _Rollback
        except _Rollback:
            pass


async def _apply_all(conn: Conn, services: Services, entries: list[Entry], author: str,
                     report: Report) -> None:
    existing = await repo.by_numbers(conn, [e.number for e in entries])
    for entry in entries:
        await apply_entry(conn, services, entry, existing.get(entry.number), author, report)


def _shown(value: str) -> Text:
    return Msg("cert.import.value", value=value) if value else Raw("")


def report_lines(report: Report) -> list[Msg]:
    """The report, line by line: what was done, then every rejected cell, then warnings."""
    lines = [Msg("cert.import.summary", file=report.file, rows=report.rows, created=report.created,
                 moved=report.moved, rescheduled=report.rescheduled, updated=report.updated,
                 unchanged=report.unchanged, rejected=report.rejected)]
    if report.notified:
        lines.append(Msg("cert.import.notified", count=report.notified))
    for problem in report.problems:
        lines.append(Msg("cert.import.row_problem", line=problem.line, column=problem.column,
                         problem=problem.message, value=_shown(problem.value)))
    for warning in report.warnings:
        lines.append(Msg("cert.import.row_warning", line=warning.line, column=warning.column,
                         problem=warning.message, value=_shown(warning.value)))
    if report.dry_run:
        lines.append(Msg("cert.import.dry_run"))
    return lines
