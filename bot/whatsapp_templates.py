"""``hirfa whatsapp templates``: the message templates to submit to Meta, in every language.

Outside WhatsApp's 24-hour window only templates approved by Meta can be sent (see
:mod:`bot.channels.whatsapp_outbox`). This prints, for each kind of message configured in
``HIRFA_WHATSAPP__TEMPLATES``, the name, category, language code and body text to enter in
WhatsApp Manager (Message templates → Create template), with a sample for each variable, which
Meta asks for during review.
"""

from __future__ import annotations

import argparse
from typing import Any

from bot.dialogue import Services
from bot.i18n import Msg, Raw, Translator, html_to_whatsapp
from bot.settings import WhatsAppSettings, WhatsAppTemplate
from bot.subcommands import Subparsers
from bot.timezones import load_zone

TEXT_PARAM = "$text"


def register(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser("whatsapp", help="WhatsApp channel tools")
    actions = parser.add_subparsers(dest="whatsapp_command", required=True)
    templates = actions.add_parser(
        "templates", help="print the message templates to submit to Meta for approval"
    )
    templates.set_defaults(func=print_templates)


def _body(spec: WhatsAppTemplate, translator: Translator, lang: str, zone: Any) -> str | None:
    if spec.body is None or not translator.catalogs.has(lang, spec.body):
        return None
    variables = {name.removeprefix("$"): Raw(f"{{{{{i}}}}}") for i, name in enumerate(spec.params, 1)}
    return html_to_whatsapp(translator.render(Msg(spec.body, **variables), lang, zone))


def _sample(
    spec: WhatsAppTemplate, name: str, translator: Translator, lang: str, zone: Any
) -> str:
    sample = f"{spec.body}.sample"
    if name == TEXT_PARAM and spec.body and translator.catalogs.has(lang, sample):
        return translator.plain(Msg(sample), lang, zone)
    return f"(a sample of {'the whole message' if name == TEXT_PARAM else repr(name)})"


def template_sheet(settings: WhatsAppSettings, translator: Translator, timezone: str) -> str:
    """The text printed by ``hirfa whatsapp templates``."""
    zone = load_zone(timezone)
    lines = [
        "WhatsApp message templates to submit in WhatsApp Manager (Message templates → Create).",
        "They carry reminders, notices and announcements to artisans who have not written in the",
        "last 24 hours. Use exactly these names and language codes; '*' serves every other kind.",
        "",
    ]
    for kind, spec in settings.templates.items():
        lines += [
            "=" * 78,
            f"Kind of message: {kind}",
            f"Template name:   {spec.name}",
            f"Category:        {spec.category}",
            "Variables:       " + ", ".join(
                f"{{{{{i}}}}} = {'the whole message' if p == TEXT_PARAM else p}"
                for i, p in enumerate(spec.params, 1)
            ),
        ]
        served: dict[str, str] = {}
        for lang in translator.languages:
            code = settings.template_languages.get(lang)
            if code is None:
                continue
            if code in served:  # one template per code: this language fills its variables only
                lines += ["-" * 78, f"Language {lang}: uses the {code} template above "
                          f"({served[code]}); its variables carry the {lang} text."]
                continue
            served[code] = lang
            lines += ["-" * 78, f"Language: {code}"]
            body = _body(spec, translator, lang, zone)
            if body is None:
                lines.append("Body: (write your own; it must use the variables above, in order)")
            else:
                lines += ["Body:", *(f"  {line}" for line in body.splitlines())]
            for i, name in enumerate(spec.params, 1):
                lines.append(f"Sample for {{{{{i}}}}}: {_sample(spec, name, translator, lang, zone)}")
        lines.append("")
    return "\n".join(lines)


async def print_templates(services: Services, args: argparse.Namespace) -> int:
    settings = services.settings
    print(template_sheet(settings.whatsapp, services.translator, settings.timezone))
    return 0
