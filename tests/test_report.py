"""The activity report: figures of a period, a PDF read as pictures, the XLSX, /report and the CLI."""

from __future__ import annotations

import argparse
import io
from datetime import date, timedelta
from pathlib import Path

import pypdfium2
from openpyxl import load_workbook

from handlers import aftercare
from handlers.report import build_report, write_report
from storage.report import collect
from tests.certification_support import do_import, row, write_csv
from tests.harness import ADMIN, Harness
from tests.sessions_support import make_session

AMINA, KARIM, SALMA = 5201, 5202, 5203
START, END = date(2026, 10, 1), date(2026, 11, 30)
SHOTS = Path(__file__).resolve().parent.parent / "docs" / "screenshots"


async def seed(h: Harness, tmp_path: Path) -> None:
    """Three artisans, a session they attended, an application validated, an announcement."""
    await h.register(AMINA, "ar", name="أمينة بنعلي", region="region:MS", craft="craft:zellige")
    await h.register(KARIM, "fr", name="Karim Alaoui", region="region:FM", craft="craft:pottery")
    await h.register(SALMA, "fr", name="Salma Idrissi", region="region:MS", craft="craft:carpets")
    session = await make_session(h, starts_at=h.clock.now() + timedelta(days=2), capacity=2)
    for user in (AMINA, KARIM, SALMA):
        await h.press_data(user, f"s:enrolok:{session}")
    h.clock.advance(timedelta(days=2))
    await h.send(ADMIN, "/sessions")
    await h.press_data(ADMIN, f"sa:allp:{session}")
    await do_import(
        h,
        write_csv(
            tmp_path / "r.csv",
            [row("V-1", "AB123456", stage="passed"), row("V-2", "CD123456", stage="delivered")],
        ),
    )
    await h.send(ADMIN, "/broadcast")
    await seed_feedback_and_a_question(h, session)


async def seed_feedback_and_a_question(h: Harness, session: int) -> None:
    """After the training: Amina rates it 5, Karim 4; Salma asks the chamber, answered 2 hours later."""
    h.clock.advance(timedelta(hours=3))
    await aftercare.ask_feedback(h.app.services)
    await h.deliver_all()
    await h.press_data(AMINA, f"fb:r:{session}:5")
    await h.press_data(KARIM, f"fb:r:{session}:4")
    await h.press(SALMA, "m:ask")
    await h.send(SALMA, "Quand est la prochaine formation ?")
    h.clock.advance(timedelta(hours=2))
    await h.press_data(ADMIN, "qs:answer:1")
    await h.send(ADMIN, "Le mois prochain.")


def pages_as_pictures(pdf: bytes, folder: Path, prefix: str) -> list[Path]:
    document = pypdfium2.PdfDocument(pdf)
    paths = []
    for index in range(len(document)):
        image = document[index].render(scale=1.2).to_pil()
        path = folder / f"{prefix}-{index + 1}.png"
        image.save(path)
        paths.append(path)
    return paths


def ink(path: Path, box: tuple[float, float, float, float] = (0, 0, 1, 1)) -> float:
    """Share of non-white pixels in a part of a page (0..1)."""
    from PIL import Image

    with Image.open(path) as image:
        w, hgt = image.size
        part = image.convert("L").crop(
            (int(box[0] * w), int(box[1] * hgt), int(box[2] * w), int(box[3] * hgt))
        )
        histogram = part.histogram()
    return sum(histogram[:200]) / max(1, sum(histogram))


async def test_figures_of_the_period(h: Harness, tmp_path: Path) -> None:
    await seed(h, tmp_path)
    async with h.app.db.read() as conn:
        report = await collect(conn, START, END, h.app.services.zone)
    trainings = dict(report.section("report.sec_trainings").figures)
    assert trainings["report.fig_sessions"] == 1
    attendance = dict(report.section("report.sec_attendance").figures)
    assert attendance == {
        "report.fig_enrolled": 2,
        "report.fig_attended": 2,
        "report.fig_no_show": 0,
        "report.fig_waitlisted": 1,
        "report.fig_withdrawn": 0,
    }
    cert = dict(report.section("report.sec_certification").figures)
    assert cert["report.fig_validated"] == 1 and cert["report.fig_delivered"] == 1
    regs = report.section("report.sec_registrations")
    assert dict(regs.figures)["report.fig_registered"] == 3
    assert dict(regs.breakdowns[0].rows) == {"MS": 2, "FM": 1}
    feedback = report.section("report.sec_feedback")
    assert dict(feedback.figures)["report.fig_feedback"] == 2
    assert dict(feedback.figures)["report.fig_rating_avg"] == 4.5
    assert dict(feedback.breakdowns[0].rows) == {"5": 1, "4": 1, "3": 0, "2": 0, "1": 0}
    asked = dict(report.section("report.sec_questions").figures)
    assert asked["report.fig_questions"] == 1 and asked["report.fig_answered"] == 1
    assert asked["report.fig_answered_share"] == 100 and asked["report.fig_answer_hours"] == 2.0
    assert dict(report.section("report.sec_questions").breakdowns[1].rows)["4h"] == 1
    async with h.app.db.read() as conn:
        before = await collect(conn, date(2025, 1, 1), date(2025, 12, 31), h.app.services.zone)
    assert dict(before.section("report.sec_registrations").figures)["report.fig_registered"] == 0


async def test_pdf_in_arabic_and_french_has_pages_and_charts(h: Harness, tmp_path: Path) -> None:
    await seed(h, tmp_path)
    shots = SHOTS
    for lang in ("ar", "fr"):
        content, mime, name = await build_report(h.app.services, START, END, lang, "pdf")
        assert mime == "application/pdf" and content.startswith(b"%PDF") and lang in name
        pictures = pages_as_pictures(content, tmp_path, f"report-{lang}")
        assert len(pictures) >= 8  # cover + seven sections
        assert ink(pictures[0]) > 0.01  # the cover has its title and figures
        trainings = pictures[1]
        assert ink(trainings, (0.05, 0.25, 0.95, 0.7)) > 0.03  # the chart under the figures is drawn
        SHOTS.mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240 (a test writing its pictures)
        for index in (0, 1, 3):  # the cover, trainings and certification pages, for the docs
            (shots / f"report-{lang}-page{index + 1}.png").write_bytes(pictures[index].read_bytes())


async def test_xlsx_has_a_sheet_per_section(h: Harness, tmp_path: Path) -> None:
    await seed(h, tmp_path)
    content, _, _ = await build_report(h.app.services, START, END, "fr", "xlsx")
    book = load_workbook(io.BytesIO(content))
    assert book.sheetnames[:3] == ["Chiffres clés", "Formations tenues", "Inscriptions et présence"]
    values = {r[0]: r[1] for r in book["Inscriptions et présence"].iter_rows(values_only=True)}
    assert values["Artisans formés (présents)"] == 2
    feedback = {r[0]: r[1] for r in book["Avis des participants"].iter_rows(values_only=True)}
    assert feedback["Note moyenne (sur 5)"] == 4.5 and feedback["5 / 5"] == 1
    asked = {r[0]: r[1] for r in book["Questions à la chambre"].iter_rows(values_only=True)}
    assert asked["Questions reçues"] == 1 and asked["Délai médian de la première réponse (heures)"] == 2
    assert asked["1 à 4 heures"] == 1


async def test_report_in_the_chat_sends_the_pdf_and_the_xlsx(h: Harness, tmp_path: Path) -> None:
    await seed(h, tmp_path)
    sent = await h.send(ADMIN, "/report 2026-10-01 2026-11-30")
    documents = [m for m in sent if m.document]
    assert len(documents) == 2
    assert documents[0].document is not None and documents[0].document.startswith(b"%PDF")
    await h.send(ADMIN, "/report yesterday")
    assert "/report 2026-06-01 2026-10-31" in h.last_text(ADMIN)
    await h.register(KARIM + 50)
    await h.send(KARIM + 50, "/report")
    assert not [m for m in h.api.messages_to(KARIM + 50) if m.document]


async def test_report_on_the_command_line(h: Harness, tmp_path: Path) -> None:
    await seed(h, tmp_path)
    out = tmp_path / "report.pdf"
    args = argparse.Namespace(start=START, end=END, lang="ar", out=out)
    assert await write_report(h.app.services, args) == 0
    assert out.read_bytes().startswith(b"%PDF")
    bad = argparse.Namespace(start=END, end=START, lang="ar", out=out)
    assert await write_report(h.app.services, bad) == 2


def test_arabic_chart_labels_were_reversed_by_a_second_bidi_pass() -> None:
    """Matplotlib 3.11 joins and orders Arabic itself; reordering it before (as for older
    versions) drew every label of /stats and of the report backwards."""
    import matplotlib
    import pytest
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from handlers.charts import shape

    if tuple(int(p) for p in matplotlib.__version__.split(".")[:2]) < (3, 11):
        pytest.skip("matplotlib before 3.11 needs the text pre-shaped")

    def drawn(text: str) -> bytes:
        figure = Figure(figsize=(3, 1), dpi=80)
        canvas = FigureCanvasAgg(figure)
        figure.text(0.05, 0.4, text, fontsize=14)
        canvas.draw()  # type: ignore[no-untyped-call]
        return bytes(canvas.buffer_rgba())  # type: ignore[no-untyped-call]

    import arabic_reshaper

    label = "التكوينات المنجزة"
    assert drawn(shape(label)) == drawn(arabic_reshaper.reshape(label))  # joined, right to left
