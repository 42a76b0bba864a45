"""The activity report as a PDF (fpdf2, text shaped by HarfBuzz, charts by matplotlib) and as an
XLSX workbook (one sheet per section, formula-safe), in the reader's language.

Arabic is shaped and laid right to left by fpdf2's text shaping (``uharfbuzz``) in the PDF, and by
:func:`handlers.charts.shape` in the charts. The font is matplotlib's bundled DejaVu Sans, which
covers Arabic and Latin, so nothing beyond what pip installs is needed.
"""

from __future__ import annotations

import io
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from babel.dates import format_date

from bot.i18n import Msg, Translator
from bot.languages import BABEL_LOCALE
from handlers.catalog import CRAFTS, REGIONS
from handlers.charts import Panel, render_panels
from storage.report import ActivityReport, Breakdown, Section

PDF_MIME = "application/pdf"
CHANNEL_NAMES = {"telegram": "Telegram", "whatsapp": "WhatsApp", "shell": "Shell"}


class Words:
    """Catalog texts and code names in one language."""

    def __init__(self, translator: Translator, lang: str, zone: ZoneInfo) -> None:
        self.t, self.lang, self.zone = translator, lang, zone

    def __call__(self, key: str, **params: object) -> str:
        return self.t.plain(Msg(key, **params), self.lang, self.zone)

    def day(self, value: date) -> str:
        return format_date(value, "long", locale=BABEL_LOCALE.get(self.lang, self.lang))

    def name(self, kind: str, code: str) -> str:
        if not code:
            return self("report.unknown")
        if kind == "region" and code in REGIONS:
            return self(f"region.{code}")
        if kind == "craft" and code in CRAFTS:
            return self(f"craft.{code}")
        if kind == "lang" and code in ("ar", "fr", "en"):
            return self(f"console.lang_{code}")
        if kind == "channel":
            return CHANNEL_NAMES.get(code, code)
        if kind == "stage" and self.t.catalogs.has(self.lang, f"cert.stage_word.{code}"):
            return self(f"cert.stage_word.{code}")
        if kind == "rating":
            return self("report.rating_of", stars=code)
        if kind in ("reason", "wait"):
            return self(f"report.{kind}_{code}")
        if kind == "month":
            year, month = (int(p) for p in code.split("-"))
            return format_date(date(year, month, 1), "MMMM y", locale=BABEL_LOCALE.get(self.lang, self.lang))
        return code


Figure = int | float | str


def key_figures(report: ActivityReport) -> list[tuple[str, Figure]]:
    """The cover's figures: the first of each collected section, and the main attendance ones."""
    wanted = (
        "report.fig_sessions",
        "report.fig_enrolled",
        "report.fig_attended",
        "report.fig_validated",
        "report.fig_delivered",
        "report.fig_reached",
        "report.fig_registered",
        "report.fig_rating_avg",
        "report.fig_questions",
        "report.fig_answer_hours",
    )
    found = {k: v for s in report.sections for k, v in s.figures}
    return [(k, found[k]) for k in wanted if k in found]


def section_chart(words: Words, section: Section) -> bytes | None:
    panels = [
        Panel(
            words(b.title),
            [words.name(b.kind, c) for c, _ in b.rows[:12]],
            [float(n) for _, n in b.rows[:12]],
            horizontal=b.kind != "month",
        )
        for b in section.breakdowns
        if b.rows
    ]
    if not panels:
        return None
    return render_panels(panels, words(section.key))


def _font_dir() -> Path:
    import matplotlib

    return Path(matplotlib.get_data_path()) / "fonts" / "ttf"


def pdf(translator: Translator, report: ActivityReport, lang: str, zone: ZoneInfo, now: datetime) -> bytes:
    from fpdf import FPDF

    words = Words(translator, lang, zone)
    rtl = lang == "ar"
    doc = FPDF(format="A4")
    doc.set_auto_page_break(True, margin=15)
    doc.add_font("dejavu", "", str(_font_dir() / "DejaVuSans.ttf"))
    doc.add_font("dejavu", "B", str(_font_dir() / "DejaVuSans-Bold.ttf"))
    doc.set_text_shaping(True)
    doc.set_title(words("report.title"))
    align = "R" if rtl else "L"

    def line(
        text: str, size: float = 11, bold: bool = False, height: float = 7, where: str | None = None
    ) -> None:
        doc.set_font("dejavu", "B" if bold else "", size)
        doc.multi_cell(doc.epw, height, text, align=where or align, new_x="LMARGIN", new_y="NEXT")

    def row(label: str, value: str, shaded: bool) -> None:
        doc.set_font("dejavu", "", 10)
        doc.set_fill_color(243, 238, 228)
        wide, narrow = doc.epw * 0.75, doc.epw * 0.25
        if rtl:
            doc.cell(narrow, 7, value, align="L", fill=shaded)
            doc.cell(wide, 7, label, align="R", fill=shaded, new_x="LMARGIN", new_y="NEXT")
        else:
            doc.cell(wide, 7, label, align="L", fill=shaded)
            doc.cell(narrow, 7, value, align="R", fill=shaded, new_x="LMARGIN", new_y="NEXT")

    def number(value: Figure) -> str:
        return words.t.plain_param(value, lang, zone) if not isinstance(value, str) else value

    # Cover
    doc.add_page()
    doc.ln(45)
    line(words("report.chamber"), 14, where="C")
    doc.ln(4)
    line(words("report.title"), 26, bold=True, height=13, where="C")
    doc.ln(4)
    line(words("report.period", start=words.day(report.start), end=words.day(report.end)), 14, where="C")
    doc.ln(18)
    line(words("report.key_figures"), 15, bold=True)
    for n, (key, value) in enumerate(key_figures(report)):
        row(words(key), number(value), n % 2 == 0)
    doc.ln(10)
    line(words("report.generated", when=words.day(now.astimezone(zone).date())), 9, where="C")

    for section in report.sections:
        doc.add_page()
        line(words(section.key), 17, bold=True, height=10)
        doc.ln(2)
        if not section.collected:
            line(words("report.not_collected"), 11)
            continue
        for n, (key, value) in enumerate(section.figures):
            row(words(key), number(value), n % 2 == 0)
        chart = section_chart(words, section)
        if chart is not None:
            doc.ln(4)
            doc.image(io.BytesIO(chart), w=doc.epw)
        for breakdown in section.breakdowns:
            if doc.will_page_break(30):
                doc.add_page()
            doc.ln(3)
            line(words(breakdown.title), 12, bold=True)
            if not breakdown.rows:
                line(words("report.none"), 10)
            for n, (code, value) in enumerate(breakdown.rows):
                row(words.name(breakdown.kind, code), number(value), n % 2 == 0)
    return bytes(doc.output())


def _sheet(words: Words, section: Section) -> tuple[str, list[str], list[list[object]]]:
    rows: list[list[object]] = []
    if not section.collected:
        rows.append([words("report.not_collected"), ""])
    rows += [[words(k), v] for k, v in section.figures]
    for b in section.breakdowns:
        rows.append(["", ""])
        rows.append([words(b.title), ""])
        rows += [[words.name(b.kind, c), n] for c, n in b.rows]
    return words(section.key)[:31], [words("report.col_item"), words("report.col_count")], rows


def xlsx(translator: Translator, report: ActivityReport, lang: str, zone: ZoneInfo) -> bytes:
    from bot.spreadsheets import to_workbook

    words = Words(translator, lang, zone)
    cover = (
        words("report.key_figures")[:31],
        [words("report.col_item"), words("report.col_count")],
        [[words("report.period", start=words.day(report.start), end=words.day(report.end)), ""]]
        + [[words(k), v] for k, v in key_figures(report)],
    )
    return to_workbook([cover, *(_sheet(words, s) for s in report.sections)])


__all__ = ["Breakdown", "PDF_MIME", "pdf", "xlsx"]
