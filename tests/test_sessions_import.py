"""``hirfa import sessions FILE`` and ``hirfa export enrolments``, through the real CLI."""

from __future__ import annotations

import asyncio
import csv
from datetime import UTC, datetime
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook

from bot.cli import main
from bot.settings import load_settings
from handlers.sessions.files import COLUMNS
from storage import enrolments as enrolment_repo
from storage import sessions as session_repo
from storage.database import Database

TEMPLATE = Path(__file__).resolve().parent.parent / "templates" / "sessions_template.csv"
HEADER = list(COLUMNS)
GOOD = ["REF-1", "", "Zellige avancé", "", "", "Atelier", "", "zellige", "Marrakech-Safi",
        "Dar Al Maâlem", "31.63", "-7.98", "15/01/2030 10:00", "180", "20"]


def row(**changes: str) -> list[str]:
    values = dict(zip(HEADER, GOOD, strict=True))
    values.update(changes)
    return [values[c] for c in HEADER]


@pytest.fixture
def db_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("HIRFA_DATABASE_URL", url)
    monkeypatch.chdir(tmp_path)
    return url


def write_csv(path: Path, rows: list[list[str]], delimiter: str = ",") -> Path:
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, delimiter=delimiter)
        writer.writerow(HEADER)
        writer.writerows(rows)
    return path


def sessions_in(url: str) -> list[session_repo.Session]:
    async def read() -> list[session_repo.Session]:
        db = Database(url)
        try:
            async with db.read() as conn:
                found = [await session_repo.get(conn, i) for i in range(1, 50)]
            return [s for s in found if s is not None]
        finally:
            await db.dispose()

    return asyncio.run(read())


def test_template_imports_cleanly(db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    year = datetime.now(UTC).year + 2  # the template's example dates, moved into the future
    template = tmp_path / "template.csv"
    template.write_text(TEMPLATE.read_text(encoding="utf-8").replace("2027", str(year)), encoding="utf-8")
    assert main(["import", "sessions", str(template)]) == 0
    out = capsys.readouterr().out
    assert "Rows accepted: 2 (new: 2, updated: 0, unchanged: 0). Rows rejected: 0." in out
    first, second = sessions_in(db_url)
    assert first.ext_ref == f"MS-{year}-001" and first.title["ar"] == "تقنيات تقطيع الزليج"
    assert first.starts_at == datetime(year, 1, 15, 10, 0, tzinfo=UTC)  # UTC+0 since 2026
    assert second.craft == "pottery" and second.region == "FM"  # labels are understood
    assert (second.ends_at - second.starts_at).total_seconds() == 7200


def test_good_and_bad_rows_are_each_reported(db_url: str, tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    path = write_csv(tmp_path / "s.csv", [
        row(),
        row(ext_ref="REF-2", craft="plumbing"),
        row(ext_ref="REF-3", start="tomorrow"),
        row(ext_ref="REF-4", capacity="-3"),
        row(ext_ref="", venue="x"),
        row(ext_ref="REF-1"),
        row(ext_ref="REF-6", title_fr=""),
        row(ext_ref="REF-7", start="15/01/2020 10:00"),
        row(ext_ref="REF-8", latitude="200"),
        row(ext_ref="REF-9", region="Atlantis"),
        row(ext_ref="REF-10", duration_minutes="5 min"),
        row(ext_ref="REF-11", title_fr="<script>é</script> 🎉"),
    ])
    assert main(["import", "sessions", str(path)]) == 1
    out = capsys.readouterr().out
    assert "Rows accepted: 2 (new: 2" in out and "Rows rejected: 10." in out
    for expected in ("row 3: unknown craft “plumbing”", "row 4: I could not read that date",
                     "row 5: Please type a whole number of seats", "row 6: the column ext_ref is empty",
                     "row 7: the reference REF-1 is already used on row 2", "row 8: no title",
                     "row 9: That time", "row 10: I could not read that location",
                     "row 11: unknown region “Atlantis”", "row 12: Please give a duration"):
        assert expected in out, expected
    titles = [s.title["fr"] for s in sessions_in(db_url)]
    assert titles == ["Zellige avancé", "<script>é</script> 🎉"]


def test_importing_the_same_file_twice_changes_nothing(db_url: str, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    path = write_csv(tmp_path / "s.csv", [row(), row(ext_ref="REF-2")], delimiter=";")
    assert main(["import", "sessions", str(path)]) == 0
    before = sessions_in(db_url)
    capsys.readouterr()
    assert main(["import", "sessions", str(path), "--lang", "fr"]) == 0
    assert "Lignes acceptées : 2 (nouvelles : 0, mises à jour : 0, inchangées : 2)" in capsys.readouterr().out
    assert sessions_in(db_url) == before


def test_changed_time_in_a_reimport_reschedules(db_url: str, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["import", "sessions", str(write_csv(tmp_path / "a.csv", [row()]))]) == 0
    assert main(["import", "sessions", str(write_csv(tmp_path / "b.csv",
                                                     [row(start="16/01/2030 11:00", capacity="25")]))]) == 0
    assert "updated: 1" in capsys.readouterr().out
    [session] = sessions_in(db_url)
    assert session.version == 2 and session.capacity == 25
    assert session.starts_at == datetime(2030, 1, 16, 11, 0, tzinfo=UTC)


def test_xlsx_import_with_date_cells(db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(HEADER)
    values = row()
    values[HEADER.index("start")] = datetime(2030, 3, 1, 9, 30)  # type: ignore[call-overload]
    values[HEADER.index("capacity")] = 12  # type: ignore[call-overload]
    sheet.append(values)
    sheet.append(row(ext_ref="X-2", venue=""))
    path = tmp_path / "s.xlsx"
    book.save(path)
    assert main(["import", "sessions", str(path)]) == 1
    out = capsys.readouterr().out
    assert "new: 1" in out and "row 3: the column venue is empty" in out
    [session] = sessions_in(db_url)
    assert session.starts_at == datetime(2030, 3, 1, 9, 30, tzinfo=UTC) and session.capacity == 12


def test_unreadable_files_are_refused_clearly(db_url: str, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    odt = tmp_path / "s.ods"
    odt.write_text("x")
    assert main(["import", "sessions", str(odt)]) == 2
    assert "only .csv and .xlsx" in capsys.readouterr().err
    bad = tmp_path / "s.csv"
    bad.write_text("name,phone\nA,1\n", encoding="utf-8")
    assert main(["import", "sessions", str(bad)]) == 2
    assert "Missing columns: ext_ref, venue, start" in capsys.readouterr().err
    latin = tmp_path / "l.csv"
    latin.write_bytes(",".join(HEADER).encode() + "\nréf".encode("latin-1"))
    assert main(["import", "sessions", str(latin)]) == 2
    assert "UTF-8" in capsys.readouterr().err
    assert main(["import", "sessions", str(tmp_path / "missing.csv")]) == 2


def test_progress_bar_on_large_files(db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rows = [row(ext_ref=f"R-{i}") for i in range(250)]
    assert main(["import", "sessions", str(write_csv(tmp_path / "big.csv", rows))]) == 0
    captured = capsys.readouterr()
    assert "] 250/250" in captured.err and "new: 250" in captured.out


def test_export_enrolments_xlsx_and_csv(db_url: str, tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["import", "sessions", str(write_csv(tmp_path / "a.csv", [row(capacity="1")]))]) == 0

    async def enrol() -> None:
        from storage import artisans as artisan_repo

        settings = load_settings()
        db = Database(settings.database_url)
        now = datetime(2029, 1, 1, tzinfo=UTC)
        async with db.transaction() as conn:
            for name in ("Amina", "سلمى"):
                who = await artisan_repo.create(conn, now, full_name=name, phone="+212612345678", locale="fr")
                await enrolment_repo.enrol(conn, 1, who, now)
        await db.dispose()

    asyncio.run(enrol())
    assert main(["export", "enrolments", "--session", "1"]) == 0
    assert "(2 rows)" in capsys.readouterr().out
    sheet = load_workbook(tmp_path / "enrolments-session-1.xlsx").active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    assert [r[5] for r in rows[1:]] == ["Amina", "سلمى"]
    assert [r[7] for r in rows[1:]] == ["enrolled", "waitlisted"] and rows[2][8] == 1
    assert main(["export", "enrolments", "--session", "1", "-o", str(tmp_path / "e.csv")]) == 0
    assert "سلمى" in (tmp_path / "e.csv").read_text(encoding="utf-8-sig")
    assert main(["export", "enrolments", "--session", "7"]) == 2


def test_xlsx_template_has_the_import_columns() -> None:
    from handlers.sessions.files import read_table

    rows = read_table(TEMPLATE.with_suffix(".xlsx"))
    assert len(rows) == 2 and set(rows[0][1]) == set(COLUMNS)
