"""``hirfa translations export|import``: the review sheet goes out and comes back checked."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from openpyxl import load_workbook

from bot.cli import main
from bot.i18n import LOCALES_DIR, Catalogs, Msg, Translator
from bot.timezones import load_zone


@pytest.fixture
def locales(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HIRFA_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'hirfa.db'}")
    monkeypatch.chdir(tmp_path)
    copy = tmp_path / "locales"
    shutil.copytree(LOCALES_DIR, copy)
    return copy


def export(locales: Path, lang: str, path: Path) -> None:
    assert main(["translations", "export", "--lang", lang, "-o", str(path), "--locales", str(locales)]) == 0


def sheet_rows(path: Path) -> dict[str, list[object]]:
    sheet = load_workbook(path).active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    assert list(rows[0]) == ["key", "English", "French", "ary", "note", "status", "plural form"]
    return {str(r[0]): list(r) for r in rows[1:]}


def test_export_gives_every_text_with_english_french_and_its_status(locales: Path, tmp_path: Path) -> None:
    path = tmp_path / "ary.xlsx"
    export(locales, "ary", path)
    rows = sheet_rows(path)
    assert rows["reg.consent_yes"][1:6] == ["✅ I agree", "✅ J'accepte", "✅ موافق", None, "draft"]
    # One row per plural form, with the numbers it serves and the matching English form.
    assert rows["sess.hours[2]"][1] == "{count} hours" and rows["sess.hours[2]"][3] == "جوج ساعات"
    assert rows["sess.hours[1]"][1] == "{count} hour" and rows["sess.hours[1]"][6] == "n = 1"
    assert str(rows["sess.hours[4]"][6]).startswith("n = 11 (11, 12, 13, 14")
    english_keys = Catalogs(locales).keys("en")
    assert {k.split("[")[0] for k in rows} == set(english_keys)


def test_import_saves_good_rows_refuses_broken_ones_and_reports_each(
    locales: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    path = tmp_path / "ary.xlsx"
    export(locales, "ary", path)
    book = load_workbook(path)
    sheet = book.active
    assert sheet is not None
    line = {str(row[0].value): int(row[0].row or 0) for row in sheet.iter_rows(min_row=2)}

    def put(key: str, text: str, status: str = "reviewed", note: str = "") -> None:
        sheet.cell(line[key], 4).value = text
        sheet.cell(line[key], 4).data_type = "s"
        sheet.cell(line[key], 5).value = note
        sheet.cell(line[key], 6).value = status

    put("reg.consent_yes", "✅ واخا", note="reviewed by the Marrakech chamber")
    put("reg.done", "🎉 مرحبا، {nom}!")  # a placeholder renamed
    put("menu.title", "<b>القائمة: شنو بغيتي؟")  # a tag left open
    put("common.text_too_long", "<script>x</script> {max}")  # markup Telegram refuses
    put("sess.hours[2]", "")  # a plural form emptied: the whole text is refused
    put("reg.cnie_skip", "=1+1")  # kept as text, never a formula
    book.save(path)

    assert main(["translations", "import", str(path), "--locales", str(locales)]) == 1
    out = capsys.readouterr().out
    assert (f"row {line['reg.done']}: reg.done: refused: "
            "unknown placeholder {nom}; missing placeholder {name}") in out
    assert f"row {line['menu.title']}: menu.title: refused: <b> is never closed" in out
    assert "common.text_too_long: refused: markup other than" in out
    assert f"row {line['sess.hours[2]']}: sess.hours: refused: empty" in out
    assert f"row {line['reg.consent_yes']}: reg.consent_yes: saved" in out
    assert "2 saved" in out and "4 refused" in out

    catalogs = Catalogs(locales)
    t = Translator(catalogs, "ar")
    zone = load_zone("Africa/Casablanca")
    assert t.render(Msg("reg.consent_yes"), "ary", zone) == "✅ واخا"
    assert t.render(Msg("reg.cnie_skip"), "ary", zone) == "=1+1"
    assert t.render(Msg("reg.done", name="Amina"), "ary", zone) == "🎉 مرحبا بيك، Amina! راك تسجلتي."
    assert t.render(Msg("sess.hours", count=2), "ary", zone) == "جوج ساعات"
    po = (locales / "ary" / "core.po").read_text(encoding="utf-8")
    assert "# note: reviewed by the Marrakech chamber\nmsgid \"reg.consent_yes\"" in po

    # The sheet exported again carries the review: status and note.
    export(locales, "ary", path)
    rows = sheet_rows(path)
    assert rows["reg.consent_yes"][3:6] == ["✅ واخا", "reviewed by the Marrakech chamber", "reviewed"]
    assert rows["reg.done"][5] == "draft"
    cell = load_workbook(path).active["D" + str(line["reg.cnie_skip"])]  # type: ignore[index]
    assert cell.data_type == "s" and cell.value == "=1+1"


def test_import_of_something_else_is_refused_whole(locales: Path, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    junk = tmp_path / "junk.xlsx"
    junk.write_bytes(b"not a workbook")
    assert main(["translations", "import", str(junk), "--locales", str(locales)]) == 2
    assert "Cannot read" in capsys.readouterr().out


def test_dry_run_checks_without_saving(locales: Path, tmp_path: Path) -> None:
    path = tmp_path / "zgh.xlsx"
    export(locales, "zgh", path)
    book = load_workbook(path)
    sheet = book.active
    assert sheet is not None
    sheet["D2"] = "ⵜⴰⵎⴰⵣⵉⵖⵜ ⵜⴰⵏⴰⵡⴰⵢⵜ"
    book.save(path)
    before = (locales / "zgh" / "core.po").read_bytes()
    assert main(["translations", "import", str(path), "--dry-run", "--locales", str(locales)]) == 0
    assert (locales / "zgh" / "core.po").read_bytes() == before
