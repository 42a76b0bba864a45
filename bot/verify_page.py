"""``GET /verify/<signed reference>``: is this attestation (or VAEP certificate) genuine?

Served by Hirfa's HTTP server when ``HIRFA_CHAMBER__SIGNING_KEY`` is set. The page is bilingual
(French, Arabic), cacheable by nobody, and shows only the name and what the paper is for.
"""

from __future__ import annotations

import html

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from bot.dialogue import Services
from bot.http import Endpoint
from handlers.verification import verify

PAGE = """<!doctype html><html lang="fr"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex"><title>{title}</title>
<style>body{{font-family:sans-serif;max-width:36rem;margin:2rem auto;padding:0 1rem}}
.ok{{color:#176b2c}}.ko{{color:#a11}}[dir=rtl]{{text-align:right}}</style></head>
<body>{body}</body></html>"""


def endpoint(services: Services) -> Endpoint:
    async def page(request: Request) -> Response:
        key = services.settings.chamber.signing_key
        token = str(request.path_params.get("token", ""))
        found = None
        if key is not None:
            async with services.db.read() as conn:
                found = await verify(conn, token, key.get_secret_value())
        headers = {"Cache-Control": "no-store"}
        if found is None:
            body = ('<h1 class="ko">✗ Référence inconnue ou falsifiée</h1>'
                    '<p dir="rtl" lang="ar" class="ko">✗ مرجع غير معروف أو مزور</p>')
            return HTMLResponse(PAGE.format(title="Hirfa", body=body), 404, headers=headers)
        name, subject = html.escape(found.name), html.escape(found.subject)
        ref = html.escape(found.reference)
        zone = services.zone
        if found.kind == "attestation":
            assert found.start is not None
            when = found.start.astimezone(zone).strftime("%d/%m/%Y")
            body = (f'<h1 class="ok">✓ Attestation authentique</h1>'
                    f"<p>{name} a participé à la formation « {subject} » le {when}.</p>"
                    f'<p dir="rtl" lang="ar" class="ok">✓ شهادة صحيحة: {name} شارك في التكوين '
                    f"«{subject}» بتاريخ {when}.</p><p>Réf. {ref}</p>")
        else:
            when = found.delivered.strftime("%d/%m/%Y") if found.delivered else ""
            body = (f'<h1 class="ok">✓ Certificat VAEP authentique</h1>'
                    f"<p>{name} · {subject} · délivré le {when}</p>"
                    f'<p dir="rtl" lang="ar" class="ok">✓ شهادة المصادقة على مكتسبات التجربة '
                    f"صحيحة: {name}</p><p>Réf. {ref}</p>")
        return HTMLResponse(PAGE.format(title="Hirfa", body=body), headers=headers)

    return page
