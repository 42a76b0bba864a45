"""The staff console: server-rendered pages under ``/console`` on Hirfa's HTTP server.

Every request goes through :meth:`Console.guard`: the session cookie must name an open browser
session, the staff member must still hold the page's role (checked in the ``staff`` table on
every request, as the chat does on every step), and every POST must carry the session's CSRF
token. Changes reuse the chat's own logic (sessions, certification import, broadcasts) inside one
transaction, and are written to the console's history with their author.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from bot.dialogue import ROLE_RANK, Services
from bot.i18n import Msg, Text
from console import calendar, certifications, door, pages, questions
from storage import console as console_repo
from storage import staff as staff_repo
from storage.audience import has_table

log = logging.getLogger(__name__)

COOKIE = "hirfa_console"
LANGS = ("ar", "fr", "en")
HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; "
    "frame-ancestors 'none'; form-action 'self'",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}


@dataclass
class Req:
    """One signed-in request: who, in which language, with the parsed form of a POST."""

    console: Console
    request: Request
    session: console_repo.BrowserSession
    token: str
    role: str
    form: FormData | None = None
    nav_questions: bool = False

    @property
    def services(self) -> Services:
        return self.console.services

    @property
    def lang(self) -> str:
        return self.session.lang if self.session.lang in LANGS else "ar"

    @property
    def author(self) -> str:
        return self.session.staffer.author

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    def t(self, key: str, **params: Any) -> str:
        return self.console.text(Msg(key, **params), self.lang)

    def text(self, text: Text) -> str:
        return self.console.text(text, self.lang)

    def field(self, name: str, default: str = "") -> str:
        if self.form is None:
            return default
        value = self.form.get(name)
        return value.strip() if isinstance(value, str) else default

    def fields(self, name: str) -> list[str]:
        return [v for v in (self.form.getlist(name) if self.form else []) if isinstance(v, str)]

    def upload(self, name: str) -> UploadFile | None:
        value = self.form.get(name) if self.form else None
        return value if isinstance(value, UploadFile) else None

    def when(self, moment: datetime | None) -> str:
        if moment is None:
            return "—"
        return self.services.translator.format_datetime(moment, self.lang, self.services.zone)

    def day(self, value: date | None) -> str:
        return self.services.translator.format_date(value, self.lang) if value else "—"

    def render(self, template: str, status: int = 200, **values: Any) -> HTMLResponse:
        return self.console.page(template, self, status, **values)


Endpoint = Callable[[Req], Awaitable[Response]]


class Console:
    """Builds the routes and holds the templates."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.env = Environment(
            loader=PackageLoader("console", "templates"),
            autoescape=select_autoescape(default=True),
            trim_blocks=True,
            lstrip_blocks=True,
        )

    # -- building blocks ---------------------------------------------------------------------
    def text(self, text: Text, lang: str) -> str:
        return self.services.translator.plain(text, lang, self.services.zone)

    @property
    def now(self) -> datetime:
        return self.services.clock.now()

    def page(
        self, template: str, req: Req | None, status: int = 200, *, lang: str | None = None, **values: Any
    ) -> HTMLResponse:
        lang = req.lang if req is not None else (lang or self.services.settings.default_locale)

        def t(key: str, **params: Any) -> str:
            return self.text(Msg(key, **params), lang)

        html = self.env.get_template(template).render(
            req=req,
            t=t,
            lang=lang,
            dir="rtl" if lang == "ar" else "ltr",
            langs=LANGS,
            csrf=req.session.csrf if req else "",
            **values,
        )
        return HTMLResponse(html, status_code=status, headers=HEADERS)

    def message(
        self, key: str, status: int, *, req: Req | None = None, lang: str | None = None, **params: Any
    ) -> HTMLResponse:
        return self.page("message.html", req, status, lang=lang, message_key=key, params=params)

    def _cookie(self, response: Response, value: str, max_age: int) -> None:
        response.set_cookie(
            COOKIE,
            value,
            max_age=max_age,
            path="/console",
            httponly=True,
            secure=self.services.settings.console.secure,
            samesite="strict",
        )

    def guard(self, endpoint: Endpoint, role: str = "staff") -> Callable[[Request], Awaitable[Response]]:
        """The checks every page runs: session, role (from the database, now), CSRF on POST."""

        async def run(request: Request) -> Response:
            token = request.cookies.get(COOKIE, "")
            lang_hint = self.services.settings.default_locale
            async with self.services.db.read() as conn:
                session = await console_repo.session_of(conn, token, self.now)
                current = (
                    await staff_repo.role_of(conn, session.staffer.channel, session.staffer.external_id)
                    if session is not None
                    else None
                )
                questions = await has_table(conn, "questions")
            if session is None or current is None:
                if session is not None:
                    log.warning("console: %s has no staff role any more", session.staffer.author)
                return self.message("console.signed_out", 401, lang=lang_hint)
            req = Req(self, request, session, token, current, nav_questions=questions)
            if ROLE_RANK.get(current, 0) < ROLE_RANK[role]:
                log.warning("console: refused %s page %s to %s", role, request.url.path, req.author)
                return self.message("console.not_allowed", 403, req=req)
            if request.method == "POST":
                req.form = await request.form(max_files=2, max_fields=500)
                sent = req.field("csrf")
                if not sent or not hmac.compare_digest(sent, session.csrf):
                    log.warning("console: POST %s without a valid CSRF token", request.url.path)
                    return self.message("console.csrf_failed", 403, req=req)
            try:
                return await endpoint(req)
            finally:
                if req.form is not None:
                    await req.form.close()  # uploaded files' temporary copies

        return run

    async def record(self, req: Req, action: str, subject: str, **details: Any) -> None:
        async with self.services.db.transaction() as conn:
            await console_repo.record(conn, self.now, req.author, action, subject, **details)

    # -- sign-in -----------------------------------------------------------------------------
    async def signin_page(self, request: Request) -> Response:
        token = str(request.path_params["token"])
        async with self.services.db.read() as conn:
            owner = await console_repo.link_owner(conn, token)
            current = await console_repo.session_of(conn, request.cookies.get(COOKIE, ""), self.now)
        lang = self.services.settings.default_locale
        if current is not None and owner is not None and current.staffer != owner:
            return self.message("console.link_other_staff", 403, lang=current.lang)
        return self.page("signin.html", None, lang=lang, token=token)

    async def signin(self, request: Request) -> Response:
        token = str(request.path_params["token"])
        now = self.now
        settings = self.services.settings.console
        lang: str = self.services.settings.default_locale
        async with self.services.db.transaction() as conn:
            current = await console_repo.session_of(conn, request.cookies.get(COOKIE, ""), now)
            owner = await console_repo.link_owner(conn, token)
            if current is not None and owner is not None and current.staffer != owner:
                return self.message("console.link_other_staff", 403, lang=current.lang)
            redeemed = await console_repo.redeem_link(conn, token, now)
            staffer = redeemed.staffer
            role = (
                await staff_repo.role_of(conn, staffer.channel, staffer.external_id)
                if staffer is not None
                else None
            )
            if staffer is None or role is None:
                reason = redeemed.reason or "invalid"
                log.warning("console: sign-in link refused (%s)", reason)
                return self.message(f"console.link_{reason}", 403, lang=lang)
            lang = redeemed.lang if redeemed.lang in LANGS else lang
            cookie = await console_repo.open_session(
                conn, staffer, lang, now, timedelta(hours=settings.session_hours)
            )
            await console_repo.record(conn, now, staffer.author, "signin", staffer.author)
        response = RedirectResponse("/console/", status_code=303, headers=HEADERS)
        self._cookie(response, cookie, int(settings.session_hours * 3600))
        return response

    async def signout(self, req: Req) -> Response:
        async with self.services.db.transaction() as conn:
            await console_repo.close_session(conn, req.token)
        response = self.message("console.signed_out_done", 200, lang=req.lang)
        response.delete_cookie(COOKIE, path="/console")
        return response

    async def set_lang(self, req: Req) -> Response:
        lang = req.field("lang")
        if lang in LANGS:
            async with self.services.db.transaction() as conn:
                await console_repo.set_lang(conn, req.token, lang)
        back = req.field("next", "/console/")
        return RedirectResponse(back if back.startswith("/console") else "/console/", status_code=303)

    # -- routes ------------------------------------------------------------------------------
    def routes(self) -> list[BaseRoute]:
        g = self.guard
        static = StaticFiles(packages=[("console", "static")])
        return [
            Mount(
                "/console",
                routes=[
                    Route("/signin/{token}", self.signin_page, methods=["GET"]),
                    Route("/signin/{token}", self.signin, methods=["POST"]),
                    Route("/signout", g(self.signout), methods=["POST"]),
                    Route("/lang", g(self.set_lang), methods=["POST"]),
                    Mount("/static", app=static, name="static"),
                    *pages.routes(self),
                    *questions.routes(self),
                    *certifications.routes(self),
                    *door.routes(self),
                    *calendar.routes(self),
                ],
            )
        ]


def mount(services: Services, add: Callable[[BaseRoute], None]) -> Console:
    """Add the console's routes to the HTTP server (``add`` appends one route)."""
    console = Console(services)
    for route in console.routes():
        add(route)
    return console
