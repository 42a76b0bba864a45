"""Spreadsheets the console hands out: one function, formula-safe (CSV injection neutralised).

Kept in one place so that a project-wide spreadsheet writer can replace it in one edit.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Any

XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """A text that a spreadsheet would run as a formula gets a leading apostrophe."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def spreadsheet(
    kind: str, sheets: Sequence[tuple[str, Sequence[str], Sequence[Sequence[Any]]]]
) -> tuple[bytes, str]:
    """``(content, mime type)`` of a ``csv`` (first sheet only, UTF-8 with BOM for Excel) or
    ``xlsx`` file made of ``(sheet name, header, rows)``."""
    if kind == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        _, header, rows = sheets[0]
        writer.writerow([safe_cell(h) for h in header])
        for row in rows:
            writer.writerow(["" if v is None else safe_cell(v) for v in row])
        return ("\ufeff" + buffer.getvalue()).encode("utf-8"), "text/csv; charset=utf-8"
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    for title, header, rows in sheets:
        sheet = book.create_sheet(title[:31] or "sheet")
        sheet.append([safe_cell(h) for h in header])
        for row in rows:
            sheet.append([safe_cell(v) for v in row])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue(), XLSX_MIME
