"""Issue 12 item 5: hostile spreadsheets get a bounded, reported refusal from both importers.

A zip bomb (refused from the zip's directory, before anything is inflated), XML entity expansion,
a 200,000-character CSV field, control characters and a capacity of "²". Each is a file error
(exit status 2) or a row error (exit status 1, the good rows imported), never a traceback.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from openpyxl import Workbook

from bot import spreadsheets
from bot.cli import main
from bot.spreadsheets import SheetError, read_sheet
from handlers.certification.importer import COLUMNS as CERT_COLUMNS
from tests.certification_support import applications, cli_import, row, write_csv
from tests.harness import Harness
from tests.test_sessions_import import HEADER, db_url, sessions_in  # noqa: F401 (fixture)
from tests.test_sessions_import import row as session_row
from tests.test_sessions_import import write_csv as write_sessions_csv

BILLION_LAUGHS = (
    '<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
    + "".join(f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">'
              for i in range(1, 10))
    + ']>\n<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
    '<row r="1"><c r="A1" t="inlineStr"><is><t>&lol9;</t></is></c></row></sheetData></worksheet>'
)
EXTERNAL_ENTITY = (
    '<?xml version="1.0"?>\n<!DOCTYPE x [<!ENTITY ext SYSTEM "file:///etc/passwd">]>\n'
    '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
    '<row r="1"><c r="A1" t="inlineStr"><is><t>&ext;</t></is></c></row></sheetData></worksheet>'
)


def workbook_bytes(header: list[str], rows: list[list[str]]) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(header)
    for r in rows:
        sheet.append(r)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def replace_member(data: bytes, member: str, content: bytes | None, *, padding: int = 0) -> bytes:
    """The workbook ``data`` with ``member`` replaced by ``content`` (or, with ``padding``, by a
    member of that many highly compressible bytes: a zip bomb)."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            if info.filename != member:
                target.writestr(info, source.read(info.filename))
                continue
            if content is not None:
                target.writestr(member, content)
            else:
                with target.open(member, "w", force_zip64=True) as fh:
                    chunk = b" " * (1024 * 1024)
                    for _ in range(padding // len(chunk)):
                        fh.write(chunk)
    return out.getvalue()


def zip_bomb(path: Path, header: list[str]) -> Path:
    data = workbook_bytes(header, [])
    bomb = replace_member(data, "xl/worksheets/sheet1.xml", None,
                          padding=spreadsheets.MAX_UNPACKED + 8 * 1024 * 1024)
    assert len(bomb) < 1024 * 1024  # about 100 MB inflated from a few hundred kilobytes
    path.write_bytes(bomb)
    return path


# -- the shared reader ------------------------------------------------------------------------

def test_zip_bomb_is_refused_from_the_directory_before_inflating(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    path = zip_bomb(tmp_path / "bomb.xlsx", ["a"])

    def no_parsing(*args: object, **kwargs: object) -> None:
        raise AssertionError("the workbook was opened")

    monkeypatch.setattr("openpyxl.load_workbook", no_parsing)
    with pytest.raises(SheetError) as err:
        read_sheet(path)
    assert err.value.key == "sheet.unpacked_too_big"


@pytest.mark.parametrize("xml", [BILLION_LAUGHS, EXTERNAL_ENTITY])
def test_entities_in_a_workbook_are_refused(tmp_path: Path, xml: str) -> None:
    path = tmp_path / "entities.xlsx"
    path.write_bytes(replace_member(workbook_bytes(["a"], [["b"]]), "xl/worksheets/sheet1.xml",
                                    xml.encode()))
    with pytest.raises(SheetError) as err:
        read_sheet(path)
    assert err.value.key == "sheet.unreadable"


def test_csv_field_past_the_csv_module_limit_is_a_file_error_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "long.csv"
    path.write_text("a,b\nx,y\nz," + "w" * 200_000 + "\n", encoding="utf-8")
    with pytest.raises(SheetError) as err:
        read_sheet(path)
    assert err.value.key == "sheet.cell_too_long" and err.value.params["line"] == 3


def test_rows_and_columns_are_bounded_while_reading(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(spreadsheets, "MAX_ROWS", 5)
    path = tmp_path / "many.csv"
    path.write_text("a\n" + "x\n" * 6, encoding="utf-8")
    with pytest.raises(SheetError) as err:
        read_sheet(path)
    assert err.value.key == "sheet.too_many_rows"
    wide = tmp_path / "wide.csv"
    wide.write_text("a\n" + ",".join("x" * (spreadsheets.MAX_COLUMNS + 1)) + "\n", encoding="utf-8")
    with pytest.raises(SheetError) as err:
        read_sheet(wide)
    assert err.value.key == "sheet.too_many_columns"


def test_encodings_and_delimiters_are_detected(tmp_path: Path) -> None:
    path = tmp_path / "utf16.csv"
    path.write_bytes("nom;téléphone\nأمينة;0612\n".encode("utf-16"))
    sheet = read_sheet(path)
    assert sheet.header == ["nom", "téléphone"] and sheet.rows == [(2, ["أمينة", "0612"])]


# -- the sessions import -------------------------------------------------------------------------

def test_sessions_zip_bomb_is_refused_at_once(db_url: str, tmp_path: Path,  # noqa: F811
                                              capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["import", "sessions", str(zip_bomb(tmp_path / "bomb.xlsx", HEADER))]) == 2
    assert "once unpacked" in capsys.readouterr().err
    assert sessions_in(db_url) == []


def test_sessions_capacity_superscript_is_a_row_error_not_an_abort(
    db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]  # noqa: F811
) -> None:
    path = write_sessions_csv(tmp_path / "s.csv", [
        session_row(ext_ref="A-1", capacity="²"), session_row(ext_ref="A-2", capacity="١٢"),
    ])
    assert main(["import", "sessions", str(path)]) == 1
    out = capsys.readouterr().out
    assert "new: 1" in out and "row 2:" in out
    [session] = sessions_in(db_url)
    assert session.ext_ref == "A-2" and session.capacity == 12


def test_sessions_control_characters_are_never_stored(db_url: str, tmp_path: Path) -> None:  # noqa: F811
    path = write_sessions_csv(tmp_path / "s.csv", [
        session_row(ext_ref="C-\x001", title_fr="Zel\x00lige\x07 avancé", venue="Dar\x1b Al Maâlem"),
    ])
    assert main(["import", "sessions", str(path)]) == 0
    [session] = sessions_in(db_url)
    assert session.ext_ref == "C-1" and session.title["fr"] == "Zellige avancé"
    assert session.venue == "Dar Al Maâlem"


def test_sessions_field_of_200000_characters_is_refused_cleanly(
    db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]  # noqa: F811
) -> None:
    path = write_sessions_csv(tmp_path / "s.csv", [session_row(description_fr="x" * 200_000)])
    assert main(["import", "sessions", str(path)]) == 2
    assert "line 2 has a cell longer than" in capsys.readouterr().err


# -- the certification import ----------------------------------------------------------------------

async def test_certification_zip_bomb_entities_and_long_fields_are_refused(
    h: Harness, tmp_path: Path
) -> None:
    header = list(CERT_COLUMNS)
    code, text = await cli_import(h, zip_bomb(tmp_path / "bomb.xlsx", header))
    assert code == 2 and "once unpacked" in text, text
    entities = tmp_path / "entities.xlsx"
    entities.write_bytes(replace_member(workbook_bytes(header, [["x"] * len(header)]),
                                        "xl/worksheets/sheet1.xml", BILLION_LAUGHS.encode()))
    code, text = await cli_import(h, entities)
    assert code == 2 and "not a readable .xlsx file" in text, text
    long = write_csv(tmp_path / "long.csv", [row("L-1", "BK1", note="n" * 200_000)])
    code, text = await cli_import(h, long)
    assert code == 2 and "longer than" in text, text
    assert await applications(h) == {}


async def test_certification_control_characters_are_never_stored(h: Harness, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "r.csv", [row("N-1", "BK1", name="Ami\x00na Be\x07nali", note="ok\x00")])
    code, text = await cli_import(h, path)
    assert code == 0, text
    app = (await applications(h))["N-1"]
    assert app["full_name"] == "Amina Benali" and app["note"] == "ok"


async def test_certification_formula_name_is_a_row_error(h: Harness, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "r.csv", [row("F-1", "BK1", name='=HYPERLINK("http://x","Voir")'),
                                          row("F-2", "BK2")])
    code, text = await cli_import(h, path)
    assert code == 1 and "not a name" in text, text
    assert set(await applications(h)) == {"F-2"}
