"""``hirfa import certifications FILE``: good, bad and repeated registers, through the real app."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pytest
from openpyxl import Workbook

from bot.cli import parser
from handlers.certification.importer import FileProblem
from tests.certification_support import (
    applications,
    cli_import,
    do_import,
    history_rows,
    notices,
    outbox_count,
    phone_of,
    row,
    write_csv,
)
from tests.harness import Harness

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


async def test_good_csv_creates_applications_with_their_first_history_row(
    h: Harness, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "register.csv", [
        row("VAEP-2026-0001", "bk 123456", "0612345678", stage="submitted", stage_date="02/10/2026"),
        row("vaep-2026-0002", "BE654321", "", name="Youssef El Idrissi", stage="Éligible",
            craft="Poterie"),
        row("VAEP-2026-0003", "JA112233", "+212661234567", stage="convoqué",
            summons_date="15/12/2026", summons_time="9h30", summons_place="Institut, Salé"),
    ])
    code, text = await cli_import(h, path)
    assert code == 0, text
    assert "3 rows read. New: 3" in text
    apps = await applications(h)
    assert set(apps) == {"VAEP-2026-0001", "VAEP-2026-0002", "VAEP-2026-0003"}
    first = apps["VAEP-2026-0001"]
    assert first["cnie"] == "BK123456" and first["phone"] == "+212612345678"
    assert first["stage"] == "submitted" and first["stage_date"].isoformat() == "2026-10-02"
    assert apps["VAEP-2026-0002"]["stage"] == "eligible" and apps["VAEP-2026-0002"]["craft"] == "pottery"
    summoned = apps["VAEP-2026-0003"]
    # 15 December 2026 09:30 in Casablanca is 09:30 UTC (Morocco is UTC+0 since 2026-09-20).
    assert summoned["summons_at"] == datetime(2026, 12, 15, 9, 30, tzinfo=UTC)
    assert summoned["summons_place"] == "Institut, Salé"
    rows = await history_rows(h)
    assert [(r["stage"], r["source"], r["author"]) for r in rows] == [
        ("submitted", "import", "import:register.csv"),
        ("eligible", "import", "import:register.csv"),
        ("summoned", "import", "import:register.csv"),
    ]


async def test_summons_before_the_2026_change_is_stored_at_utc_plus_one(
    h: Harness, tmp_path: Path
) -> None:
    h.clock.set(datetime(2026, 3, 30, 9, 0, tzinfo=UTC))
    path = write_csv(tmp_path / "r.csv", [row("A1", "BK1", stage="summoned", summons_date="10/06/2026",
                                              summons_time="09:00", summons_place="Rabat")])
    await do_import(h, path)
    assert (await applications(h))["A1"]["summons_at"] == datetime(2026, 6, 10, 8, 0, tzinfo=UTC)


async def test_xlsx_with_french_headers_and_spreadsheet_cell_types(h: Harness, tmp_path: Path) -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["N° dossier", "CIN", "Téléphone", "Nom complet", "Métier", "Étape", "Date étape",
                  "Remarque", "Date convocation", "Heure convocation", "Lieu", "Colonne interne"])
    sheet.append([4242, "ab12345", 612345678, "Hassan Ouali", "Menuiserie d'art", "Convoqué(e) aux épreuves",
                  datetime(2026, 10, 1), None, datetime(2026, 12, 3), time(14, 0), "Salle 2, Fès", "x"])
    sheet.append([None, None, None, None, None, None, None, None, None, None, None, None])
    sheet.append(["A-2", "CD445566", "0661234567", "Khadija Tazi", "Couture", "مستدعى", "01/10/2026",
                  "Apportez vos outils", "03/12/2026", 0.5, "Salle 2, Fès", None])
    path = tmp_path / "registre.xlsx"
    book.save(path)
    report = await do_import(h, path)
    assert report.problems == [] and report.created == 2
    apps = await applications(h)
    first = apps["4242"]
    assert first["cnie"] == "AB12345" and first["phone"] == "+212612345678"
    assert first["craft"] == "joinery" and first["stage"] == "summoned"
    assert first["summons_at"] == datetime(2026, 12, 3, 14, 0, tzinfo=UTC)
    second = apps["A-2"]
    assert second["craft"] == "Couture" and second["summons_at"] == datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


async def test_bad_rows_are_reported_one_by_one_and_good_rows_are_kept(
    h: Harness, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "bad.csv", [
        row("OK-1", "BK1"),                                                  # line 2: good
        row("OK-2", "123", phone="12345"),                                   # 3: CNIE and phone
        row("OK-3", "BK3", stage="lost in the mail"),                        # 4: unknown stage
        row("OK-4", "BK4", stage="summoned", summons_date="15/12/2026"),     # 5: no time/place
        row("OK-1", "BK5"),                                                  # 6: duplicate number
        row("OK-6", "BK6", name=""),                                         # 7: no name
        row("OK-7", "BK7", stage_date="31/02/2026"),                         # 8: impossible date
        row("BAD NUMBER!", "BK8"),                                           # 9: number
        row("OK-9", "BK9", stage="certificate_ready"),                       # 10: no place
        row("OK-10", "BK10", name="Ali Ben-Haddou O'Neil"),                  # 11: good, kept as typed
    ])
    code, text = await cli_import(h, path)
    assert code == 1
    assert "10 rows read. New: 2" in text and "rejected: 8" in text
    expected = [
        "Row 3, «cnie»: not a CNIE number", "Row 3, «phone»: not a valid phone number (“12345”)",
        "Row 4, «stage»: unknown stage; use one of: submitted, eligible",
        "Row 5, «summons_time»: a summons needs a date, a time and a place",
        "Row 6, «application_number»: this application number is already on row 2",
        "Row 7, «full_name»: required", "Row 8, «stage_date»: That date is not valid",
        "Row 9, «application_number»: That does not look like an application number",
        "Row 10, «summons_place»: give the place where the certificate is collected",
    ]
    for line in expected:
        assert line in text, (line, text)
    apps = await applications(h)
    assert set(apps) == {"OK-1", "OK-10"}
    assert apps["OK-1"]["cnie"] == "BK1" and apps["OK-10"]["full_name"] == "Ali Ben-Haddou O'Neil"


async def test_the_report_speaks_the_staff_language(h: Harness, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "r.csv", [row("X1", "BK1"), row("X2", "??")])
    _, french = await cli_import(h, path, lang="fr", dry_run=True)
    assert "Ligne 3, «cnie» : pas un numéro de CNIE" in french and "Essai à blanc" in french
    _, arabic = await cli_import(h, path, lang="ar", dry_run=True)
    assert "السطر 3" in arabic and "ليس رقم بطاقة وطنية" in arabic


async def test_same_file_twice_changes_nothing_and_sends_nothing(h: Harness, tmp_path: Path) -> None:
    await h.register(101, "fr")
    path = write_csv(tmp_path / "register.csv", [
        row("N-1", "BK1", phone_of(101), stage="summoned", summons_date="15/12/2026",
            summons_time="09:00", summons_place="Salé", note="Apportez vos outils"),
        row("N-2", "BK2", "0661234567", stage="ineligible", note="Moins de 3 ans"),
    ])
    first = await do_import(h, path)
    assert (first.created, first.notified) == (2, 1)
    before = (await applications(h), await history_rows(h), await outbox_count(h))
    h.clock.advance(timedelta(hours=3))
    again = await do_import(h, path)
    assert (again.created, again.moved, again.rescheduled, again.updated, again.unchanged) == (0, 0, 0, 0, 2)
    assert again.notified == 0
    assert (await applications(h), await history_rows(h), await outbox_count(h)) == before


async def test_a_later_file_moves_corrects_and_reschedules(h: Harness, tmp_path: Path) -> None:
    await h.register(101, "en")
    await do_import(h, write_csv(tmp_path / "1.csv", [
        row("M-1", "BK1", phone_of(101), stage="eligible"),
        row("M-2", "BK2", stage="summoned", summons_date="15/12/2026", summons_time="09:00",
            summons_place="Salé"),
        row("M-3", "BK3", name="Typo Nmae"),
    ]))
    report = await do_import(h, write_csv(tmp_path / "2.csv", [
        row("M-1", "BK1", phone_of(101), stage="summoned", summons_date="15/12/2026",
            summons_time="09:00", summons_place="Salé"),
        row("M-2", "BK2", stage="summoned", summons_date="16/12/2026", summons_time="09:00",
            summons_place="Salé"),
        row("M-3", "BK3", name="Typo Name"),
    ]))
    assert (report.moved, report.rescheduled, report.updated, report.unchanged) == (1, 1, 1, 0)
    apps = await applications(h)
    assert apps["M-3"]["full_name"] == "Typo Name"
    assert [r["stage"] for r in await history_rows(h) if r["certification_id"] == apps["M-1"]["id"]] == [
        "eligible", "summoned"]
    assert len(await notices(h)) == 2  # M-1 created, M-1 summoned (M-2 has nobody to tell)


async def test_semicolon_csv_from_french_excel_with_bom(h: Harness, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "excel.csv", [row("S-1", "BK1", note="a; b")], delimiter=";", bom=True)
    report = await do_import(h, path)
    assert report.created == 1 and (await applications(h))["S-1"]["note"] == "a; b"


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("missing.csv", "application_number,cnie,full_name\nA,BK1,Ali\n", "missing columns: stage"),
        ("latin1.csv", "application_number,cnie,full_name,stage\nA,BK1,Médard,déposé\n", "not in UTF-8"),
        ("fake.xlsx", "this is not a spreadsheet", "not a readable .xlsx file"),
        ("notes.txt", "hello", "use a .csv (UTF-8) or .xlsx file"),
        ("empty.csv", "\n\n", "the file is empty"),
    ],
)
async def test_unreadable_files_are_refused_whole(
    h: Harness, tmp_path: Path, name: str, content: str, expected: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content.encode("latin-1" if "latin1" in name else "utf-8"))
    code, text = await cli_import(h, path)
    assert code == 2 and expected in text, text
    assert await applications(h) == {}


async def test_dry_run_checks_everything_and_keeps_nothing(h: Harness, tmp_path: Path) -> None:
    await h.register(101, "fr")
    path = write_csv(tmp_path / "r.csv", [row("D-1", "BK1", phone_of(101)), row("D-2", "BK2")])
    code, text = await cli_import(h, path, dry_run=True)
    assert code == 0 and "New: 2" in text and "1 notice queued" in text and "Dry run" in text
    assert await applications(h) == {} and await notices(h) == []


async def test_shipped_templates_import_cleanly(h: Harness) -> None:
    for template in ("certifications.csv", "certifications.xlsx"):
        report = await do_import(h, TEMPLATES / template)
        assert (report.rows, report.problems) == (0, [])
    example = await do_import(h, TEMPLATES / "certifications-example.csv")
    assert example.problems == [] and example.created == 5


async def test_import_command_is_wired_into_the_cli() -> None:
    args = parser().parse_args(["import", "certifications", "register.xlsx", "--dry-run", "--lang", "fr"])
    assert args.file == Path("register.xlsx") and args.dry_run and args.lang == "fr"
    assert callable(args.func)


async def test_too_long_note_is_rejected_not_truncated(h: Harness, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "r.csv", [row("L-1", "BK1", note="x" * 501)])
    report = await do_import(h, path)
    assert report.created == 0 and report.rejected == 1


async def test_file_problem_for_a_missing_file(h: Harness, tmp_path: Path) -> None:
    with pytest.raises(FileProblem):
        await do_import(h, tmp_path / "nowhere.csv")


async def test_register_correcting_the_phone_takes_the_file_away_from_the_wrong_artisan(
    h: Harness, tmp_path: Path
) -> None:
    await h.register(101, "fr")
    await h.register(102, "en", name="Karim Alaoui")
    await do_import(h, write_csv(tmp_path / "a.csv", [row("P-1", "BK1", phone_of(101), stage="eligible")]))
    assert (await applications(h))["P-1"]["link_method"] == "phone"
    # The chamber had typed the wrong number: the file is Karim's, and it moves on the same day.
    report = await do_import(h, write_csv(tmp_path / "b.csv", [
        row("P-1", "BK1", phone_of(102), stage="summoned", summons_date="15/12/2026",
            summons_time="09:00", summons_place="Salé")]))
    assert report.moved == 1 and report.notified == 1
    rows = await notices(h)
    assert [r["chat_id"] for r in rows] == ["101", "102"]
    await h.press_data(101, "m:certification")
    assert "P-1" not in h.last_text(101)
