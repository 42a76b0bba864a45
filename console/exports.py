"""Spreadsheets the console hands out, written by the one formula-safe writer
(:mod:`bot.spreadsheets`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.spreadsheets import CSV_MIME, XLSX_MIME, to_csv, to_workbook

__all__ = ["XLSX_MIME", "spreadsheet"]


def spreadsheet(
    kind: str, sheets: Sequence[tuple[str, Sequence[str], Sequence[Sequence[Any]]]]
) -> tuple[bytes, str]:
    """``(content, mime type)`` of a ``csv`` (first sheet only) or ``xlsx`` file made of
    ``(sheet name, header, rows)``."""
    if kind == "csv":
        _, header, rows = sheets[0]
        return to_csv(header, (["" if v is None else v for v in row] for row in rows)), CSV_MIME
    return to_workbook(sheets), XLSX_MIME
