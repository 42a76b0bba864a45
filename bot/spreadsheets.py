"""Every spreadsheet Hirfa reads or writes: ``.csv`` and ``.xlsx``, in one place.

Reading (the sessions import, the certification register) is **bounded before it is parsed**:

- the file size (:data:`MAX_BYTES`) from ``stat`` before a byte is read;
- for ``.xlsx``, the uncompressed size of the zip's members from its directory
  (:data:`MAX_UNPACKED`): a zip bomb is refused without inflating it (Python's ``zipfile`` never
  inflates more than a member declares, so the directory can be trusted);
- the XML is parsed through ``defusedxml`` (openpyxl uses it when it is installed): entity
  expansion and external entities are refused, and any parse error is a file error;
- rows (:data:`MAX_ROWS`), columns per row (:data:`MAX_COLUMNS`), cells (:data:`MAX_CELLS`) and
  characters per cell (:data:`MAX_CELL`) are counted while reading, so reading stops at once;
- a CSV's encoding (UTF-8 with or without a byte-order mark, UTF-16 with one) and delimiter
  (``,`` ``;`` or tab) are detected; another encoding is refused (guessing would store garbage);
- control characters (NUL and the rest of C0 except tab and new line) never leave a cell.

Every problem with the file as a whole is a :class:`SheetError` whose ``key`` is a catalog key
(``locales/*/sheets.po``); importers report it and exit with status 2. Problems of one row are the
importer's (status 1).

Writing (the enrolment list, the deliveries of a broadcast) goes through :func:`to_csv` and
:func:`to_xlsx` only: every text cell that a spreadsheet would take for a formula (starting with
``=``, ``+``, ``-``, ``@``, tab or carriage return, as OWASP lists them) gets a leading
apostrophe, and ``.xlsx`` text cells are typed as strings, never formulas.

Headers: :func:`map_columns` reads a header row whose names may be in English, French or Arabic,
with any case, accents or punctuation, from the aliases each importer declares.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.dialogue import normalize

MAX_BYTES = 20 * 1024 * 1024
MAX_UNPACKED = 100 * 1024 * 1024
MAX_ROWS = 20_000
MAX_COLUMNS = 100
MAX_CELLS = 1_000_000
MAX_CELL = 32_767  # Excel's own limit for one cell
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class SheetError(Exception):
    """The file as a whole cannot be read: ``key`` (``sheet.*``) and ``params`` say why."""

    def __init__(self, key: str, **params: Any) -> None:
        super().__init__(key)
        self.key = key
        self.params = params


@dataclass(frozen=True)
class Sheet:
    """A file's header and its non-empty rows, each with its line number in the file."""

    header: list[str]
    rows: list[tuple[int, list[Any]]]


# -- reading -----------------------------------------------------------------------------------

def read_sheet(path: Path) -> Sheet:
    """The first sheet of a ``.csv`` or ``.xlsx`` file, bounded and cleaned (see the module)."""
    if not path.is_file():
        raise SheetError("sheet.not_found")
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".xlsx", ".xlsm"):
        raise SheetError("sheet.bad_type")
    if path.stat().st_size > MAX_BYTES:
        raise SheetError("sheet.too_big", max=MAX_BYTES // (1024 * 1024))
    rows = _csv_rows(path.read_bytes()) if suffix == ".csv" else _xlsx_rows(path)
    bounded = _bounded(rows)
    try:
        _, header = next(bounded)
    except StopIteration:
        raise SheetError("sheet.empty") from None
    return Sheet([str(h if h is not None else "").strip() for h in header], list(bounded))


def decode(data: bytes) -> str:
    """Text of a CSV: UTF-8 (a byte-order mark or not) or UTF-16 with its byte-order mark."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            raise SheetError("sheet.not_utf8") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise SheetError("sheet.not_utf8") from None


def delimiter_of(text: str) -> str:
    """The separator of a CSV: whichever of ``,`` ``;`` tab the header line uses most."""
    first = text.split("\n", 1)[0]
    return max(",;\t", key=first.count)


def _csv_rows(data: bytes) -> Iterator[list[Any]]:
    text = decode(data)
    # The csv module's own field limit (131,072) is larger than ours; it is left alone (it is
    # process-wide) and our smaller limit is checked on each cell by _bounded().
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter_of(text))
    try:
        yield from reader
    except csv.Error:
        raise SheetError("sheet.cell_too_long", line=reader.line_num, max=MAX_CELL) from None


def _check_zip(path: Path) -> None:
    """Refuse a workbook whose members would inflate past :data:`MAX_UNPACKED` (zip bomb)."""
    try:
        with zipfile.ZipFile(path) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError):
        raise SheetError("sheet.unreadable") from None
    if unpacked > MAX_UNPACKED:
        raise SheetError("sheet.unpacked_too_big", max=MAX_UNPACKED // (1024 * 1024))


def _xlsx_rows(path: Path) -> Iterator[list[Any]]:
    _check_zip(path)
    from openpyxl import load_workbook  # imported here: only imports need it

    # The file is opened here (not by openpyxl) so that it is closed whatever openpyxl raises.
    with path.open("rb") as handle:
        try:
            book = load_workbook(handle, read_only=True, data_only=True)
        except Exception:  # openpyxl raises many types (zip, XML, KeyError...) for a broken file
            raise SheetError("sheet.unreadable") from None
        try:
            sheet = book.worksheets[0]
            # A workbook may declare a huge dimension (A1:XFD1048576): forget it so that rows
            # are not padded with empty cells up to that width.
            reset = getattr(sheet, "reset_dimensions", None)
            if reset is not None:
                reset()
            for values in sheet.iter_rows(values_only=True):
                yield list(values)
        except SheetError:
            raise
        except Exception:  # defusedxml's refusals, XML syntax errors, broken cells
            raise SheetError("sheet.unreadable") from None
        finally:
            book.close()


def _bounded(rows: Iterator[list[Any]]) -> Iterator[tuple[int, list[Any]]]:
    """Non-empty rows with their line numbers, cleaned, stopping at the first limit passed."""
    cells = 0
    kept = 0
    for line, row in enumerate(rows, 1):
        if len(row) > MAX_COLUMNS:
            # Trailing empty cells (a sheet formatted far to the right) are not columns.
            while len(row) > MAX_COLUMNS and row[-1] in (None, ""):
                row.pop()
            if len(row) > MAX_COLUMNS:
                raise SheetError("sheet.too_many_columns", line=line, max=MAX_COLUMNS)
        cleaned = [clean_cell(value, line) for value in row]
        if not any(value not in (None, "") and str(value).strip() for value in cleaned):
            continue
        kept += 1
        cells += len(cleaned)
        if kept > MAX_ROWS + 1:  # + the header
            raise SheetError("sheet.too_many_rows", max=MAX_ROWS)
        if cells > MAX_CELLS:
            raise SheetError("sheet.too_many_cells", max=MAX_CELLS)
        yield line, cleaned


def clean_cell(value: Any, line: int = 0) -> Any:
    """A cell as stored: text without control characters (NUL...), refused past MAX_CELL."""
    if isinstance(value, str):
        if len(value) > MAX_CELL:
            raise SheetError("sheet.cell_too_long", line=line, max=MAX_CELL)
        return _CONTROL.sub("", value.replace("\r\n", "\n").replace("\r", "\n"))
    return value


def fold_header(text: str) -> str:
    """A header name as matched: ``N° dossier`` → ``n dossier``, ``Date_étape`` → ``date etape``."""
    return re.sub(r"[\W_]+", " ", normalize(str(text))).strip()


def map_columns(header: Sequence[str], aliases: Mapping[str, Iterable[str]]) -> dict[str, int]:
    """Column name → index in ``header``, from each column's name and aliases (any language);
    unknown headers are ignored; the first of two headers naming one column wins."""
    names = {fold_header(alias): column for column, words in aliases.items()
             for alias in (column, *words)}
    found: dict[str, int] = {}
    for index, title in enumerate(header):
        column = names.get(fold_header(title))
        if column is not None and column not in found:
            found[column] = index
    return found


# -- writing -----------------------------------------------------------------------------------

def safe_cell(value: Any) -> Any:
    """A cell that no spreadsheet will run: text that could start a formula gets a ``'``."""
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def to_csv(header: Iterable[str], rows: Iterable[Sequence[Any]]) -> bytes:
    """UTF-8 with a byte-order mark (so that Excel shows Arabic names), formula-safe."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([safe_cell(h) for h in header])
    for row in rows:
        writer.writerow([safe_cell(v) for v in row])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_MIME = "text/csv; charset=utf-8"

# A sheet of a workbook: (name, header, rows).
SheetData = tuple[str, Iterable[str], Iterable[Sequence[Any]]]


def to_xlsx(header: Iterable[str], rows: Iterable[Sequence[Any]], sheet: str = "export") -> bytes:
    """One sheet; text cells are typed as strings (never formulas) and formula-safe."""
    return to_workbook([(sheet, header, rows)])


def to_workbook(sheets: Iterable[SheetData]) -> bytes:
    """Several sheets in one XLSX file, each cell as :func:`to_xlsx` writes it."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    book = Workbook(write_only=True)
    for name, header, rows in sheets:
        ws = book.create_sheet(name[:31] or "sheet")

        def cells(values: Iterable[Any], ws: Any = ws) -> list[Any]:
            out = []
            for value in values:
                cell = WriteOnlyCell(ws, value=safe_cell(value))
                if isinstance(cell.value, str):
                    cell.data_type = "s"
                out.append(cell)
            return out

        ws.append(cells(header))
        for row in rows:
            ws.append(cells(row))
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
