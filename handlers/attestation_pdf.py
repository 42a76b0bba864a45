"""The attestation of participation as a PDF: Arabic (right to left, letters joined by HarfBuzz
shaping) and French, the artisan's name, the session, its dates and hours, the chamber, the
reference, and a QR code to the verification page. Fonts: matplotlib's bundled DejaVu Sans
(it covers Arabic and Latin)."""

from __future__ import annotations

import io
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import matplotlib
from fpdf import FPDF

from handlers.sessions.poster import qr_image

FONT = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"
FONT_BOLD = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans-Bold.ttf"
MONTHS_FR = ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août",
             "septembre", "octobre", "novembre", "décembre")
MONTHS_AR = ("يناير", "فبراير", "مارس", "أبريل", "ماي", "يونيو", "يوليوز", "غشت", "شتنبر",
             "أكتوبر", "نونبر", "دجنبر")


def _date(moment: datetime, months: tuple[str, ...]) -> str:
    return f"{moment.day} {months[moment.month - 1]} {moment.year}"


def qr_png(url: str) -> bytes:
    out = io.BytesIO()
    qr_image(url, box=8).save(out, format="PNG")
    return out.getvalue()


def render(
    *, name: str, title_ar: str, title_fr: str, venue: str, starts_at: datetime,
    ends_at: datetime, zone: ZoneInfo, chamber: str, reference: str, url: str,
) -> bytes:
    """The PDF bytes (A4 landscape)."""
    start, end = starts_at.astimezone(zone), ends_at.astimezone(zone)
    pdf = FPDF(orientation="L", format="A4")
    pdf.set_auto_page_break(False)
    pdf.add_page()
    pdf.add_font("DejaVu", "", str(FONT))
    pdf.add_font("DejaVu", "B", str(FONT_BOLD))
    pdf.set_text_shaping(True)
    pdf.set_draw_color(150, 90, 40)
    pdf.set_line_width(1.2)
    pdf.rect(8, 8, 281, 194)
    width = 281 - 20

    def line(text: str, size: int, *, bold: bool = False, rtl: bool = False, gap: float = 2) -> None:
        pdf.set_font("DejaVu", "B" if bold else "", size)
        pdf.set_x(18)
        pdf.multi_cell(width, size * 0.5, text, align="C", new_x="LMARGIN", new_y="NEXT")
        pdf.ln(gap)

    pdf.set_y(18)
    line(chamber, 14, bold=True, gap=4)
    # Arabic block.
    line("شهادة المشاركة", 22, bold=True)
    line(f"تشهد الغرفة بأن {name}", 13)
    line(f"شارك(ت) في التكوين: {title_ar}", 13)
    if start.date() == end.date():
        when_ar = f"يوم {_date(start, MONTHS_AR)}، من {start:%H:%M} إلى {end:%H:%M}"
        when_fr = f"le {_date(start, MONTHS_FR)}, de {start:%H:%M} à {end:%H:%M}"
    else:  # a training over several days
        when_ar = f"من {_date(start, MONTHS_AR)} إلى {_date(end, MONTHS_AR)}"
        when_fr = f"du {_date(start, MONTHS_FR)} au {_date(end, MONTHS_FR)}"
    line(f"{when_ar}، {venue}", 12, gap=6)
    # French block.
    line("Attestation de participation", 20, bold=True)
    line(f"La chambre atteste que {name}", 13)
    line(f"a participé à la formation : {title_fr}", 13)
    line(f"{when_fr}, {venue}", 12, gap=4)
    pdf.set_font("DejaVu", "", 10)
    pdf.set_xy(18, 170)
    pdf.cell(180, 6, f"Référence / المرجع : {reference}")
    pdf.set_xy(18, 177)
    pdf.cell(180, 6, f"Vérifier / للتحقق : {url}")
    pdf.image(io.BytesIO(qr_png(url)), x=245, y=150, w=38, h=38)
    return bytes(pdf.output())
