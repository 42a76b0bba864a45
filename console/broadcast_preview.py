"""A broadcast as each channel shows it, for the console's broadcast page.

Telegram gets the message's HTML (the few tags Telegram knows are kept; everything else is shown
as text). WhatsApp gets what :func:`bot.channels.whatsapp_render.render` makes of the very same
message: the Cloud API parts (text with WhatsApp's ``*bold*`` markup, an image or document with
its caption, buttons), so the preview cannot drift from what is sent.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from typing import Any

from markupsafe import Markup

from bot.channels.whatsapp_render import Labels, render
from bot.dialogue import Services
from bot.i18n import Msg, Raw
from handlers.broadcasts import delivery as broadcast_delivery
from storage.broadcasts import Broadcast

_TELEGRAM_TAG = re.compile(r"&lt;(/?)(b|strong|i|em|u|ins|s|strike|del|code|pre|blockquote)&gt;")
_TELEGRAM_LINK = re.compile(r"&lt;a href=&quot;(https?://[^&\s]+)&quot;&gt;(.*?)&lt;/a&gt;", re.S)


def telegram_html(text: str) -> Markup:
    """Telegram's HTML subset made safe for the page: all escaped, then its tags restored."""
    escaped = html.escape(text, quote=True)
    escaped = _TELEGRAM_TAG.sub(r"<\1\2>", escaped)
    escaped = _TELEGRAM_LINK.sub(r'<a href="\1" rel="noreferrer">\2</a>', escaped)
    return Markup(escaped.replace("\n", "<br>"))


@dataclass
class ChannelView:
    """One message of a channel's preview: its kind (text, image, document, interactive), its
    text as the reader sees it, and any button titles."""

    kind: str
    text: str | Markup
    buttons: list[str] = field(default_factory=list)
    filename: str = ""


@dataclass
class LangPreview:
    lang: str
    used: str
    telegram: list[ChannelView]
    whatsapp: list[ChannelView]


def _labels(services: Services, lang: str) -> Labels:
    t, zone = services.translator, services.zone
    return Labels(
        choose=t.plain(Msg("wa.choose"), lang, zone),
        pick_below=t.plain(Msg("wa.pick_below"), lang, zone),
        more_choices=t.plain(Msg("wa.more_choices", page=Raw("{page}"), pages=Raw("{pages}")), lang, zone),
        reply_number=t.plain(Msg("wa.reply_number"), lang, zone),
    )


def _whatsapp_view(body: dict[str, Any]) -> ChannelView:
    kind = str(body["type"])
    if kind == "text":
        return ChannelView("text", str(body["text"]["body"]))
    if kind in ("image", "document", "audio"):
        media = body[kind]
        return ChannelView(kind, str(media.get("caption", "")), filename=str(media.get("filename", "")))
    if kind == "interactive":
        box = body["interactive"]
        if box["type"] == "button":
            titles = [str(b["reply"]["title"]) for b in box["action"]["buttons"]]
        else:
            titles = [str(r["title"]) for s in box["action"]["sections"] for r in s["rows"]]
        return ChannelView("interactive", str(box["body"]["text"]), titles)
    return ChannelView(kind, "")


def preview(services: Services, b: Broadcast, photo: bytes | None, document: Any) -> list[LangPreview]:
    """The broadcast in each language it has a text for, on each channel. ``photo``/``document``:
    its attachment (bytes for a photo, a Document), so the WhatsApp parts carry the caption as
    they will."""
    out = []
    for lang in ("ar", "fr", "en"):
        message = broadcast_delivery.artisan_message(services, b, lang)
        message.photo, message.document = photo, document
        _, used = b.text_for(lang)
        telegram = [ChannelView("image" if photo else "document" if document else "text",
                                telegram_html(message.text),
                                filename=document.filename if document else "")]
        whatsapp = [_whatsapp_view(part.body) for part in render(message, _labels(services, lang))]
        out.append(LangPreview(lang, used, telegram, whatsapp))
    return out
