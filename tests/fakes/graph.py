"""An offline fake of Meta's WhatsApp Cloud API (Graph API), and the webhook posts Meta makes.

Nothing here talks to Meta. Two halves:

**The API** — :class:`FakeGraphAPI` answers ``POST /{version}/{phone_id}/messages`` and
``/media`` like ``graph.facebook.com`` through an ``httpx.MockTransport``::

    graph = FakeGraphAPI(clock=clock.now)
    client = httpx.AsyncClient(transport=httpx.MockTransport(graph.async_handler))

It checks what Meta checks (bearer token, text <= 4096, 1-3 reply buttons with titles <= 20
characters, lists of <= 10 rows with titles <= 24 and descriptions <= 72, unique ids and titles,
approved templates and their parameter count, uploaded media ids) and answers with Meta's error
shape ``{"error": {"code": ..., "message": ..., "error_data": {"details": ...}}}``. It records
every accepted message (:attr:`sent`) and queues the status callbacks Meta would post
(:attr:`statuses`). Failures on demand: :meth:`fail_next` (an error answer: 130429, 131056,
131026, 190, 132000, ...), :meth:`fail_async` (accepted, then a ``failed`` status, as Meta does
for 131047 and 131026), ``token_valid = False`` (every call → 190). With ``enforce_window`` on,
a free-form message to someone silent for 24 hours is accepted and then fails with 131047, like
the real thing; the fake learns when users last wrote from the payloads it builds.

**The webhook** — :meth:`FakeGraphAPI.text`, :meth:`button_reply`, :meth:`list_reply`,
:meth:`contact`, :meth:`voice`, :meth:`image`, :meth:`location`, :meth:`status_post` build
real-shaped posts (``contacts[]`` with ``wa_id`` *and* the business-scoped ``user_id``;
``messages[]`` with ``from`` and ``from_user_id``), and :meth:`sign` gives their
``X-Hub-Signature-256`` header.

Where the fake knowingly differs: lengths are counted in code points; a status ``sent`` is queued
for every accepted message but ``delivered``/``read`` only when a test asks (:meth:`receipts`).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import itertools
import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

JSONDict = dict[str, Any]

PHONE_ID = "106540352242922"
DISPLAY_NUMBER = "212522000000"
WABA_ID = "102290129340398"
TOKEN = "EAAG-test-token-not-real"
APP_SECRET = "fake-app-secret"
VERIFY_TOKEN = "fake-verify-token"
WINDOW = timedelta(hours=24)

# Meta's errors the fake can give: code → (HTTP status, message, details)
ERRORS: dict[int, tuple[int, str, str]] = {
    4: (400, "(#4) Application request limit reached", "Too many calls"),
    100: (400, "(#100) Invalid parameter", "Invalid parameter"),
    190: (401, "Error validating access token: Session has expired.", "Access token expired"),
    130429: (400, "(#130429) Rate limit hit",
             "Cloud API message throughput has been reached."),
    131026: (400, "(#131026) Message undeliverable", "Unable to deliver message."),
    131047: (400, "(#131047) Re-engagement message",
             "More than 24 hours have passed since the recipient last replied."),
    131051: (400, "(#131051) Unsupported message type", "Message type is not currently supported."),
    131056: (400, "(#131056) (Business Account, Consumer Account) pair rate limit hit",
             "Too many messages sent from this phone number to the same phone number."),
    131000: (500, "(#131000) Something went wrong", "Something went wrong"),
    132000: (400, "(#132000) Number of parameters does not match the expected number of params",
             "body: number of localizable_params does not match the expected number of params"),
    132001: (404, "(#132001) Template name does not exist in the translation",
             "template name does not exist in the translation"),
    132015: (400, "(#132015) Template is paused", "Template is paused due to low quality"),
    132018: (400, "(#132018) There was an issue with the parameters in your template.",
             "Param text cannot have new-line/tab characters or more than 4 consecutive spaces"),
}

_wamids = itertools.count(1)


_RUN = uuid.uuid4().hex[:8].upper()  # ids differ between processes, as Meta's do


def wamid() -> str:
    """A fresh message id shaped like Meta's."""
    return f"wamid.HBgMMjEy{_RUN}{next(_wamids):08d}FQIAERgSQUQ="


def bsuid(user: str) -> str:
    """The business-scoped user id Meta gives a number (stable per number)."""
    return "MA." + str(int(hashlib.sha256(user.encode()).hexdigest()[:15], 16))


class GraphError(Exception):
    def __init__(self, code: int, details: str | None = None) -> None:
        status, message, default = ERRORS.get(code, (400, f"(#{code}) Error", "Error"))
        super().__init__(message)
        self.code, self.status, self.message = code, status, message
        self.details = details or default

    def response(self) -> httpx.Response:
        return httpx.Response(self.status, json={"error": {
            "message": self.message, "type": "OAuthException", "code": self.code,
            "error_data": {"messaging_product": "whatsapp", "details": self.details},
            "fbtrace_id": "AbCdEfGh123",
        }})


@dataclass
class SentWA:
    """One message the bot sent (as accepted by the fake)."""

    to: str
    body: JSONDict
    id: str
    at: datetime

    @property
    def type(self) -> str:
        return str(self.body["type"])

    @property
    def interactive_type(self) -> str | None:
        return self.body["interactive"]["type"] if self.type == "interactive" else None

    @property
    def text(self) -> str:
        """What the reader sees as the message text (body, caption or template parameters)."""
        if self.type == "text":
            return str(self.body["text"]["body"])
        if self.type == "interactive":
            return str(self.body["interactive"]["body"]["text"])
        if self.type == "template":
            return " | ".join(self.template_params)
        return str(self.body.get(self.type, {}).get("caption", ""))

    @property
    def buttons(self) -> list[tuple[str, str]]:
        """(id, title) of the reply buttons or list rows."""
        if self.interactive_type == "button":
            return [(b["reply"]["id"], b["reply"]["title"])
                    for b in self.body["interactive"]["action"]["buttons"]]
        if self.interactive_type == "list":
            return [(r["id"], r["title"]) for s in self.body["interactive"]["action"]["sections"]
                    for r in s["rows"]]
        return []

    @property
    def rows(self) -> list[JSONDict]:
        if self.interactive_type != "list":
            return []
        return [r for s in self.body["interactive"]["action"]["sections"] for r in s["rows"]]

    @property
    def template_name(self) -> str | None:
        return self.body["template"]["name"] if self.type == "template" else None

    @property
    def template_language(self) -> str | None:
        return self.body["template"]["language"]["code"] if self.type == "template" else None

    @property
    def template_params(self) -> list[str]:
        if self.type != "template":
            return []
        return [p["text"] for c in self.body["template"].get("components", [])
                for p in c.get("parameters", [])]


@dataclass
class _Failure:
    code: int
    times: int
    to: str | None
    asynchronous: bool


@dataclass
class FakeGraphAPI:
    """The fake server. ``handler`` is what ``httpx.MockTransport`` calls."""

    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    phone_id: str = PHONE_ID
    token: str = TOKEN
    app_secret: str = APP_SECRET
    token_valid: bool = True
    enforce_window: bool = True
    # (template name, language code) → number of body parameters, as approved by Meta
    templates: dict[tuple[str, str], int] = field(default_factory=dict)
    sent: list[SentWA] = field(default_factory=list)
    refused: list[tuple[JSONDict, int]] = field(default_factory=list)
    calls: int = 0
    uploads: dict[str, tuple[str, str, bytes]] = field(default_factory=dict)
    statuses: list[JSONDict] = field(default_factory=list)
    last_inbound: dict[str, datetime] = field(default_factory=dict)
    gate: asyncio.Event | None = None  # set to a cleared Event to hold every answer
    _failures: list[_Failure] = field(default_factory=list)
    _media_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    # -- configuring ---------------------------------------------------------------------
    def approve(self, name: str, languages: tuple[str, ...] = ("ar", "fr", "en"), params: int = 1) -> None:
        for language in languages:
            self.templates[(name, language)] = params

    def fail_next(self, code: int, times: int = 1, *, to: str | None = None) -> None:
        """The next ``times`` sends (to ``to``, or anyone) get Meta's error ``code``."""
        self._failures.append(_Failure(code, times, to, asynchronous=False))

    def fail_async(self, code: int, times: int = 1, *, to: str | None = None) -> None:
        """The next sends are accepted, then reported ``failed`` with ``code`` in a status."""
        self._failures.append(_Failure(code, times, to, asynchronous=True))

    # -- reading what was sent -------------------------------------------------------------
    def to(self, user: str) -> list[SentWA]:
        return [m for m in self.sent if m.to in (user, bsuid(user))]

    def last_to(self, user: str) -> SentWA:
        messages = self.to(user)
        if not messages:
            raise LookupError(f"nothing was sent to {user}")
        return messages[-1]

    def texts_to(self, user: str) -> list[str]:
        return [m.text for m in self.to(user)]

    def find_choice(self, user: str, choice: str) -> tuple[SentWA, str, str]:
        """The latest message to ``user`` offering ``choice`` (an id or a title)."""
        for message in reversed(self.to(user)):
            for choice_id, title in message.buttons:
                if choice in (choice_id, title):
                    return message, choice_id, title
        raise LookupError(f"no button or row {choice!r} in what {user} received")

    # -- the API -----------------------------------------------------------------------------
    async def async_handler(self, request: httpx.Request) -> httpx.Response:
        """The handler for ``httpx.MockTransport``; waits while :attr:`gate` is closed."""
        if self.gate is not None:
            await self.gate.wait()
        return self.handler(request)

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.calls += 1
        try:
            return self._handle(request)
        except GraphError as err:
            return err.response()

    def _handle(self, request: httpx.Request) -> httpx.Response:
        if request.headers.get("authorization") != f"Bearer {self.token}" or not self.token_valid:
            raise GraphError(190)
        match = re.fullmatch(r"/v\d+\.\d+/(\w+)/(messages|media)", request.url.path)
        if request.method != "POST" or match is None:
            raise GraphError(100, f"Unknown path {request.method} {request.url.path}")
        if match.group(1) != self.phone_id:
            raise GraphError(100, f"Object with ID '{match.group(1)}' does not exist")
        if match.group(2) == "media":
            return self._upload(request)
        body = json.loads(request.content)
        to = self._recipient(body)
        failure = self._take_failure(to)
        if failure is not None and not failure.asynchronous:
            self.refused.append((body, failure.code))
            raise GraphError(failure.code)
        try:
            self._check(body)
        except GraphError as err:
            self.refused.append((body, err.code))
            raise
        message = SentWA(to, body, wamid(), self.clock())
        self.sent.append(message)
        self._queue_status(message, "sent")
        late = failure.code if failure is not None else None
        if late is None and self.enforce_window and body["type"] != "template":
            last = self.last_inbound.get(to)
            if last is None or self.clock() - last >= WINDOW:
                late = 131047
        if late is not None:
            self._queue_status(message, "failed", code=late)
        answer: JSONDict = {"messaging_product": "whatsapp",
                            "contacts": [{"input": to, "wa_id": to}],
                            "messages": [{"id": message.id}]}
        if body["type"] == "template":
            answer["messages"][0]["message_status"] = "accepted"
        return httpx.Response(200, json=answer)

    def _take_failure(self, to: str) -> _Failure | None:
        for failure in self._failures:
            if failure.to in (None, to):
                failure.times -= 1
                if failure.times <= 0:
                    self._failures.remove(failure)
                return failure
        return None

    def _upload(self, request: httpx.Request) -> httpx.Response:
        content_type = request.headers.get("content-type", "")
        if not content_type.startswith("multipart/form-data"):
            raise GraphError(100, "media upload must be multipart/form-data")
        raw = request.content
        if b'name="messaging_product"' not in raw:
            raise GraphError(100, "messaging_product is required")
        name = re.search(rb'filename="([^"]*)"', raw)
        mime = re.search(rb'name="type"\r\n\r\n([^\r]*)', raw)
        if name is None or mime is None:
            raise GraphError(100, "file and type are required")
        media_id = f"{next(self._media_ids):015d}"
        self.uploads[media_id] = (name.group(1).decode(), mime.group(1).decode(), raw)
        return httpx.Response(200, json={"id": media_id})

    @staticmethod
    def _recipient(body: JSONDict) -> str:
        if body.get("messaging_product") != "whatsapp":
            raise GraphError(100, "messaging_product must be whatsapp")
        to = body.get("to") or body.get("recipient")
        if not isinstance(to, str) or not to:
            raise GraphError(100, "to or recipient is required")
        return to

    def _check(self, body: JSONDict) -> None:
        kind = body.get("type")
        if kind == "text":
            text = body["text"]["body"]
            _length(text, 1, 4096, "text.body")
        elif kind == "interactive":
            self._check_interactive(body["interactive"])
        elif kind == "template":
            self._check_template(body["template"])
        elif kind in ("document", "image", "audio"):
            media = body[kind]
            if media.get("id") not in self.uploads:
                raise GraphError(100, f"{kind}.id is not an uploaded media id")
            if kind == "audio" and "caption" in media:
                raise GraphError(100, "audio messages take no caption")
            if "caption" in media:
                _length(media["caption"], 1, 1024, f"{kind}.caption")
        elif kind == "location":
            float(body["location"]["latitude"])
            float(body["location"]["longitude"])
        else:
            raise GraphError(131051)

    @staticmethod
    def _check_interactive(interactive: JSONDict) -> None:
        _length(interactive["body"]["text"], 1, 1024, "interactive.body.text")
        action = interactive["action"]
        if interactive["type"] == "button":
            buttons = action["buttons"]
            if not 1 <= len(buttons) <= 3:
                raise GraphError(100, "buttons: 1 to 3 reply buttons")
            ids = [b["reply"]["id"] for b in buttons]
            titles = [b["reply"]["title"] for b in buttons]
            for i, t in zip(ids, titles, strict=True):
                _length(i, 1, 256, "button id")
                _length(t, 1, 20, "button title")
            if len(set(ids)) != len(ids) or len(set(titles)) != len(titles):
                raise GraphError(100, "button ids and titles must be unique")
        elif interactive["type"] == "list":
            _length(action["button"], 1, 20, "action.button")
            sections = action["sections"]
            rows = [r for s in sections for r in s["rows"]]
            if not 1 <= len(sections) <= 10 or not 1 <= len(rows) <= 10:
                raise GraphError(100, "list: 1-10 sections, 1-10 rows in total")
            if len(sections) > 1 and not all(s.get("title") for s in sections):
                raise GraphError(100, "sections need titles when there are several")
            for row in rows:
                _length(row["id"], 1, 200, "row id")
                _length(row["title"], 1, 24, "row title")
                if "description" in row:
                    _length(row["description"], 1, 72, "row description")
            if len({r["id"] for r in rows}) != len(rows):
                raise GraphError(100, "row ids must be unique")
        else:
            raise GraphError(100, f"unknown interactive type {interactive['type']!r}")

    def _check_template(self, template: JSONDict) -> None:
        key = (template["name"], template["language"]["code"])
        if key not in self.templates:
            raise GraphError(132001)
        params = [p for c in template.get("components", []) for p in c.get("parameters", [])]
        if len(params) != self.templates[key]:
            raise GraphError(132000)
        for p in params:
            text = p.get("text", "")
            if "\n" in text or "\t" in text or "     " in text:
                raise GraphError(132018)

    def _queue_status(self, message: SentWA, status: str, *, code: int | None = None) -> None:
        raw: JSONDict = {
            "id": message.id, "status": status,
            "timestamp": str(int(self.clock().timestamp())),
            "recipient_id": message.to, "recipient_user_id": bsuid(message.to),
        }
        if code is not None:
            _, title, details = ERRORS.get(code, (400, f"(#{code})", ""))
            raw["errors"] = [{"code": code, "title": re.sub(r"^\(#\d+\) ", "", title),
                              "message": title, "error_data": {"details": details}}]
        self.statuses.append(raw)

    def receipts(self, message: SentWA, *states: str) -> JSONDict:
        """A status post saying ``message`` was delivered/read/... (in the order given)."""
        saved = self.statuses
        self.statuses = []
        for state in states:
            self._queue_status(message, state)
        post, self.statuses = self.status_post(), saved
        return post

    # -- the webhook -------------------------------------------------------------------------
    def sign(self, body: bytes) -> str:
        return "sha256=" + hmac.new(self.app_secret.encode(), body, hashlib.sha256).hexdigest()

    def _post(self, value: JSONDict) -> JSONDict:
        return {"object": "whatsapp_business_account", "entry": [{"id": WABA_ID, "changes": [{
            "value": {"messaging_product": "whatsapp",
                      "metadata": {"display_phone_number": DISPLAY_NUMBER,
                                   "phone_number_id": self.phone_id},
                      **value},
            "field": "messages",
        }]}]}

    def inbound(self, user: str, kind: str, content: JSONDict, *, name: str = "Amina",
                context: JSONDict | None = None, message_id: str | None = None) -> JSONDict:
        """A post carrying one message of ``kind`` from ``user`` (a number such as 2126...)."""
        now = self.clock()
        self.last_inbound[user] = self.last_inbound[bsuid(user)] = now
        message: JSONDict = {"from": user, "from_user_id": bsuid(user), "id": message_id or wamid(),
                             "timestamp": str(int(now.timestamp())), "type": kind, kind: content}
        if context:
            message["context"] = context
        contact = {"profile": {"name": name}, "wa_id": user, "user_id": bsuid(user),
                   "country_code": "MA"}
        return self._post({"contacts": [contact], "messages": [message]})

    def text(self, user: str, body: str, **kw: Any) -> JSONDict:
        return self.inbound(user, "text", {"body": body}, **kw)

    def _reply(self, user: str, kind: str, choice_id: str, title: str,
               answered: SentWA | None) -> JSONDict:
        context = {"from": DISPLAY_NUMBER, "id": answered.id} if answered else None
        return self.inbound(user, "interactive",
                            {"type": kind, kind: {"id": choice_id, "title": title}},
                            context=context)

    def button_reply(self, user: str, choice_id: str, title: str = "",
                     answered: SentWA | None = None) -> JSONDict:
        return self._reply(user, "button_reply", choice_id, title, answered)

    def list_reply(self, user: str, choice_id: str, title: str = "",
                   answered: SentWA | None = None) -> JSONDict:
        return self._reply(user, "list_reply", choice_id, title, answered)

    def tap(self, user: str, choice: str) -> JSONDict:
        """The user taps the button or list row ``choice`` (id or title) last offered to them."""
        message, choice_id, title = self.find_choice(user, choice)
        if message.interactive_type == "list":
            return self.list_reply(user, choice_id, title, message)
        return self.button_reply(user, choice_id, title, message)

    def contact(self, user: str, phone: str, owner_wa_id: str | None = None) -> JSONDict:
        phones: JSONDict = {"phone": phone, "type": "CELL"}
        if owner_wa_id:
            phones["wa_id"] = owner_wa_id
        card = {"name": {"formatted_name": "Amina Benali", "first_name": "Amina"},
                "phones": [phones]}
        post = self.inbound(user, "text", {"body": ""})
        message = post["entry"][0]["changes"][0]["value"]["messages"][0]
        del message["text"]
        message["type"] = "contacts"
        message["contacts"] = [card]
        return post

    def voice(self, user: str) -> JSONDict:
        return self.inbound(user, "audio", {"mime_type": "audio/ogg; codecs=opus",
                                            "sha256": "abc", "id": "1003456789", "voice": True})

    def image(self, user: str, caption: str | None = None) -> JSONDict:
        content: JSONDict = {"mime_type": "image/jpeg", "sha256": "def", "id": "1009876543"}
        if caption:
            content["caption"] = caption
        return self.inbound(user, "image", content)

    def sticker(self, user: str) -> JSONDict:
        return self.inbound(user, "sticker", {"mime_type": "image/webp", "id": "1007", "animated": False})

    def location(self, user: str) -> JSONDict:
        return self.inbound(user, "location", {"latitude": 31.6295, "longitude": -7.9811,
                                               "name": "Marrakech"})

    def status_post(self, statuses: list[JSONDict] | None = None) -> JSONDict:
        """A post carrying status callbacks (by default every queued one, which are taken)."""
        if statuses is None:
            statuses, self.statuses = self.statuses, []
        return self._post({"statuses": statuses})


def _length(text: Any, low: int, high: int, what: str) -> None:
    if not isinstance(text, str) or not low <= len(text) <= high:
        raise GraphError(100, f"{what}: {low}-{high} characters (got {len(str(text))})")


# --------------------------------------------------------------------------------------------
# A local stand-in over real HTTP, and a way to post signed webhooks by hand
# --------------------------------------------------------------------------------------------

class FakeGraphServer:
    """Serve a :class:`FakeGraphAPI` on 127.0.0.1 for ``hirfa run`` (``HIRFA_WHATSAPP__API_URL``
    = :attr:`base_url`). ``GET /sent`` lists what was sent, as JSON."""

    def __init__(self, api: FakeGraphAPI | None = None, *, host: str = "127.0.0.1", port: int = 0,
                 echo: bool = False) -> None:
        import http.server
        import threading

        self.api = api or FakeGraphAPI()
        fake, lock = self.api, threading.Lock()

        class Handler(http.server.BaseHTTPRequestHandler):
            def _answer(self, response: httpx.Response) -> None:
                body = response.content
                self.send_response(response.status_code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                length = int(self.headers.get("Content-Length") or 0)
                request = httpx.Request("POST", f"http://fake{self.path}",
                                        headers=dict(self.headers.items()),
                                        content=self.rfile.read(length))
                with lock:
                    before = len(fake.sent)
                    response = fake.handler(request)
                    new = fake.sent[before:]
                if echo:
                    for m in new:
                        print(f"→ {m.to} {m.type}/{m.interactive_type or '-'}: "
                              f"{m.text[:70]!r} {[i for i, _ in m.buttons]}", flush=True)
                self._answer(response)

            def do_GET(self) -> None:  # noqa: N802
                with lock:
                    sent = [{"to": m.to, "id": m.id, "body": m.body} for m in fake.sent]
                self._answer(httpx.Response(200 if self.path == "/sent" else 404, json=sent))

            def log_message(self, *args: Any) -> None:
                pass

        self._httpd = http.server.ThreadingHTTPServer((host, port), Handler)
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}/v21.0"

    def wait(self) -> None:
        self._thread.join()

    def __enter__(self) -> FakeGraphServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


def main(argv: list[str] | None = None) -> int:
    """``python -m tests.fakes.graph serve --port 8999`` runs the stand-in (every template approved
    unless ``--strict``); ``python -m tests.fakes.graph post URL --text salam`` posts a signed
    message (``--button ID``, ``--row ID``, ``--voice``, ``--raw FILE``)."""
    import argparse
    import sys

    parser = argparse.ArgumentParser(prog="python -m tests.fakes.graph")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve")
    serve.add_argument("--port", type=int, default=8999)
    serve.add_argument("--strict", action="store_true", help="approve no template")
    post = sub.add_parser("post")
    post.add_argument("url")
    post.add_argument("--sender", default="212612345678")
    post.add_argument("--secret", default=APP_SECRET)
    post.add_argument("--phone-id", default=PHONE_ID)
    what = post.add_mutually_exclusive_group(required=True)
    what.add_argument("--text")
    what.add_argument("--button")
    what.add_argument("--row")
    what.add_argument("--voice", action="store_true")
    what.add_argument("--raw", help="a JSON file to post as it is")
    args = parser.parse_args(argv)
    if args.command == "serve":
        api = FakeGraphAPI(enforce_window=False)
        if not args.strict:
            for name in ("hirfa_reminder", "hirfa_certification", "hirfa_announcement",
                         "hirfa_notice"):
                api.approve(name)
        with FakeGraphServer(api, port=args.port, echo=True) as server:
            print(f"fake Graph API at {server.base_url} (phone id {PHONE_ID}, token {TOKEN})",
                  flush=True)
            with contextlib.suppress(KeyboardInterrupt):
                server.wait()
        return 0
    graph = FakeGraphAPI(app_secret=args.secret, phone_id=args.phone_id)
    if args.raw:
        with open(args.raw, encoding="utf-8") as fh:
            payload = json.load(fh)
    elif args.text is not None:
        payload = graph.text(args.sender, args.text)
    elif args.button:
        payload = graph.button_reply(args.sender, args.button)
    elif args.row:
        payload = graph.list_reply(args.sender, args.row)
    else:
        payload = graph.voice(args.sender)
    body = json.dumps(payload).encode()
    response = httpx.post(args.url, content=body, headers={
        "Content-Type": "application/json", "X-Hub-Signature-256": graph.sign(body)})
    print(response.status_code, response.text, file=sys.stderr)
    return 0 if response.is_success else 1


if __name__ == "__main__":
    raise SystemExit(main())
