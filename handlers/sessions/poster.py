"""A printable poster (PNG) for a session: its texts and a QR code of the deep link.

The QR code (``qrcode``) opens the session link that a channel builds (Telegram's
``https://t.me/<bot>?start=s<ID>``, see :mod:`bot.channel_services`): the artisan lands on the
session card, registering first if needed. Text is drawn with Pillow; a system font with Arabic
glyphs is used when one is found (DejaVu Sans), and Pillow's own font otherwise. Arabic is shaped
right to left when Pillow has libraqm (the usual wheels do).
"""

from __future__ import annotations

import io
import textwrap
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import qrcode
from PIL import Image, ImageDraw, ImageFont
from qrcode.constants import ERROR_CORRECT_M

from bot.i18n import Msg
from storage.sessions import SessionStatus

if TYPE_CHECKING:
    from bot.i18n import Translator
    from storage.sessions import Session

WIDTH, HEIGHT = 1240, 1754  # A4 at 150 dpi
MARGIN = 90
FONT_PATHS = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans{bold}.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans{bold}.ttf",
    "/usr/local/share/fonts/DejaVuSans{bold}.ttf",
    "/Library/Fonts/DejaVuSans{bold}.ttf",
)

Font = ImageFont.FreeTypeFont | ImageFont.ImageFont


@lru_cache(maxsize=16)
def font(size: int, bold: bool = False) -> Font:
    for pattern in FONT_PATHS:
        path = Path(pattern.format(bold="-Bold" if bold else ""))
        if path.exists():
            return ImageFont.truetype(str(path), size)
    return ImageFont.load_default(size)


def qr_image(link: str, box: int = 12) -> Image.Image:
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, box_size=box, border=2)
    code.add_data(link)
    code.make(fit=True)
    image = code.make_image(fill_color="black", back_color="white")
    return image.get_image().convert("RGB")


def _rtl(text: str) -> bool:
    return any("\u0600" <= ch <= "\u06ff" for ch in text)


def _draw_block(draw: ImageDraw.ImageDraw, y: int, text: str, size: int, bold: bool) -> int:
    face = font(size, bold)
    width = max(10, int((WIDTH - 2 * MARGIN) / (size * 0.55)))
    for line in textwrap.wrap(text, width=width) or [""]:
        box = draw.textbbox((0, 0), line, font=face)
        line_width = box[2] - box[0]
        x = (WIDTH - line_width) // 2
        draw.text((x, y), line, font=face, fill=(30, 30, 30),
                  direction="rtl" if _rtl(line) and _has_raqm() else None)
        y += int(size * 1.35)
    return y


@lru_cache(maxsize=1)
def _has_raqm() -> bool:
    from PIL import features

    return bool(features.check("raqm"))


CANCELLED_RED = (178, 34, 52)


def make_poster(blocks: Sequence[tuple[str, int, bool]], link: str, footer: str,
                cancelled: Sequence[str] = ()) -> bytes:
    """A PNG: each block ``(text, size, bold)`` centred and wrapped, then the QR code and
    ``footer`` (the link spelled out). ``cancelled``: the session is cancelled; a red band with
    these lines (one per language) crosses the poster, so a printed copy cannot mislead."""
    image = Image.new("RGB", (WIDTH, HEIGHT), "white")
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, WIDTH, 28), fill=(178, 34, 52))
    draw.rectangle((0, HEIGHT - 28, WIDTH, HEIGHT), fill=(0, 98, 51))
    y = MARGIN
    for text, size, bold in blocks:
        y = _draw_block(draw, y, text, size, bold) + size // 2
    qr = qr_image(link)
    side = min(700, WIDTH - 2 * MARGIN, max(300, HEIGHT - y - 220))
    qr = qr.resize((side, side), Image.Resampling.NEAREST)
    qr_y = y + max(20, (HEIGHT - 200 - y - side) // 2)
    image.paste(qr, ((WIDTH - side) // 2, qr_y))
    _draw_block(draw, qr_y + side + 30, footer, 30, False)
    if cancelled:
        height = 40 + 90 * len(cancelled)
        top = (HEIGHT - height) // 2
        draw.rectangle((0, top, WIDTH, top + height), fill=CANCELLED_RED)
        face = font(64, True)
        for index, line in enumerate(cancelled):
            box = draw.textbbox((0, 0), line, font=face)
            draw.text(((WIDTH - (box[2] - box[0])) // 2, top + 20 + 90 * index), line, font=face,
                      fill="white", direction="rtl" if _rtl(line) and _has_raqm() else None)
    buffer = io.BytesIO()
    image.save(buffer, "PNG", optimize=True)
    return buffer.getvalue()


def session_poster(session: Session, link: str, translator: Translator, zone: ZoneInfo, lang: str,
                   languages: Sequence[str] = ("ar", "fr", "en")) -> bytes:
    """The poster of ``session`` as the chat and the console both give it: title and date in
    each of ``languages`` the session has a title in, the venue, the QR code of ``link`` and a
    footer in ``lang``. A cancelled session gets the red "cancelled" band in those languages."""
    blocks: list[tuple[str, int, bool]] = []
    cancelled: list[str] = []
    for each in languages:
        title = session.title.get(each)
        if not title:
            continue
        if session.status == SessionStatus.CANCELLED:
            cancelled.append(translator.plain(Msg("sess.poster_cancelled"), each, zone))
        blocks.append((title, 64, True))
        when = translator.plain(Msg("sess.poster_when", when=session.starts_at), each, zone)
        blocks.append((when, 36, False))
    blocks.append((session.venue, 40, False))
    footer = translator.plain(Msg("sess.poster_scan"), lang, zone) + "  " + link
    return make_poster(blocks, link, footer, cancelled)
