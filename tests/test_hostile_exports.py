"""Issue 12 item 4: every CSV and XLSX that Hirfa writes is formula-safe.

Names that were stored before names refused such characters, and session titles and references
that staff import, are written into every export Hirfa has (the enrolment list from the CLI and
from the staff buttons, the deliveries of a broadcast from the button and from the CLI, as CSV
and XLSX); each file is opened and no cell is a formula or starts like one.
"""

from __future__ import annotations

import argparse
import csv
import io
import zipfile
from collections.abc import Sequence
from pathlib import Path

from openpyxl import load_workbook
from sqlalchemy import insert

from bot.spreadsheets import FORMULA_STARTS, safe_cell, to_csv, to_xlsx
from handlers.broadcasts.cli import export_deliveries
from handlers.sessions.cli import export_enrolments
from storage import enrolments as enrolment_repo
from storage.schema import artisans, identities
from tests.harness import ADMIN, Harness
from tests.sessions_support import make_session
from tests.test_broadcasts import compose, finish_sending

HOSTILE_NAMES = [
    '=HYPERLINK("http://evil.example/x","Voir")', "=cmd|' /C calc'!A", "+212 cmd", "@SUM(A1)",
    "-2+3+cmd|' /C calc'!A", "\tTab Name", "\rCarriage",
]
HOSTILE_TITLE = '=1+HYPERLINK("http://evil.example","Voir")'
HOSTILE_REF = "-2+3+cmd|' /C calc'!A0"


def looks_like_formula(value: object) -> bool:
    return isinstance(value, str) and value.startswith(FORMULA_STARTS)


def csv_cells(data: bytes) -> list[str]:
    return [cell for row in csv.reader(io.StringIO(data.decode("utf-8-sig"))) for cell in row]


def xlsx_cells(data: bytes) -> list[object]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for name in archive.namelist():
            if name.startswith("xl/worksheets/"):
                assert b"<f>" not in archive.read(name) and b"<f " not in archive.read(name), name
    book = load_workbook(io.BytesIO(data))  # formulas kept as formulas (not data_only)
    out: list[object] = []
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (cell.coordinate, cell.value)
                out.append(cell.value)
    return out


def assert_safe(cells: Sequence[object], expected_fragments: list[str]) -> None:
    assert not [c for c in cells if looks_like_formula(c)]
    joined = "\n".join(str(c) for c in cells)
    for fragment in expected_fragments:  # the text is still there, only neutralised
        assert fragment.strip() in joined, fragment


async def seed_hostile(h: Harness) -> int:
    """Artisans with hostile names (as an older version stored them), enrolled in a session with
    a hostile title and reference; returns the session id."""
    now = h.clock.now()
    session_id = await make_session(h, capacity=3, title={"fr": HOSTILE_TITLE, "en": HOSTILE_TITLE},
                                    ext_ref=HOSTILE_REF)
    async with h.app.db.transaction() as conn:
        for i, name in enumerate(HOSTILE_NAMES):
            chat = 70_000 + i
            result = await conn.execute(insert(artisans).values(
                full_name=name, phone=f"+2126{chat:08d}", phone_verified=True, region="MS",
                craft="pottery", locale="fr", consent_at=now, opted_out=False, created_at=now,
                updated_at=now))
            assert result.inserted_primary_key is not None
            artisan_id = int(result.inserted_primary_key[0])
            await conn.execute(insert(identities).values(
                channel="telegram", external_id=str(chat), artisan_id=artisan_id, chat_id=str(chat),
                blocked=False, created_at=now, last_inbound_at=now))
            await enrolment_repo.enrol(conn, session_id, artisan_id, now)
    return session_id


async def test_every_export_is_formula_free_with_hostile_names_and_titles(
    h: Harness, tmp_path: Path
) -> None:
    session_id = await seed_hostile(h)
    expected = [*HOSTILE_NAMES, HOSTILE_TITLE, HOSTILE_REF]
    # The enrolment list, from the CLI, in both formats.
    for suffix in ("csv", "xlsx"):
        out = tmp_path / f"enrolments.{suffix}"
        args = argparse.Namespace(session=session_id, output=out, format=None, lang="fr")
        assert await export_enrolments(h.app.services, args) == 0
        cells = csv_cells(out.read_bytes()) if suffix == "csv" else xlsx_cells(out.read_bytes())
        assert_safe(cells, expected)
    # The enrolment list, from the staff buttons.
    h.languages[ADMIN] = "fr"
    await h.send(ADMIN, "/start")
    for kind in ("csv", "xlsx"):
        await h.press_data(ADMIN, f"sa:{kind}:{session_id}")
        document = h.api.messages_to(ADMIN)[-1]
        assert document.method == "sendDocument" and document.document is not None
        cells = csv_cells(document.document) if kind == "csv" else xlsx_cells(document.document)
        assert_safe(cells, expected)
    # The deliveries of a broadcast: the button (CSV) and the CLI (CSV and XLSX).
    await compose(h)
    await h.press(ADMIN, "bc:preview")
    await h.press(ADMIN, "bc:send:1")
    await finish_sending(h)
    await h.press(ADMIN, "bc:csv:1")
    document = h.api.messages_to(ADMIN)[-1]
    assert document.method == "sendDocument" and document.document is not None
    assert_safe(csv_cells(document.document), HOSTILE_NAMES)
    for suffix in ("csv", "xlsx"):
        out = tmp_path / f"deliveries.{suffix}"
        assert await export_deliveries(h.app.services, argparse.Namespace(broadcast=1, out=out)) == 0
        cells = csv_cells(out.read_bytes()) if suffix == "csv" else xlsx_cells(out.read_bytes())
        assert_safe(cells, HOSTILE_NAMES)


def test_values_whose_second_character_is_a_digit_are_neutralised_too() -> None:
    # The old enrolment writer skipped "=1+..." and "-2+3+...": the digit did not make it safe.
    assert safe_cell("=1+HYPERLINK(\"x\")") == "'=1+HYPERLINK(\"x\")"
    assert safe_cell("-2+3+cmd|' /C calc'!A0") == "'-2+3+cmd|' /C calc'!A0"
    assert safe_cell("\t=1") == "'\t=1" and safe_cell("\r=1") == "'\r=1"
    assert safe_cell(-5) == -5 and safe_cell(None) == "" and safe_cell("Amina") == "Amina"


def test_xlsx_text_cells_are_strings_even_without_the_apostrophe() -> None:
    data = to_xlsx(["a"], [["=SUM(1,2)"], ["plain"], [42]])
    values = xlsx_cells(data)
    assert values == ["a", "'=SUM(1,2)", "plain", 42]
    assert csv_cells(to_csv(["a"], [["@x"]])) == ["a", "'@x"]
