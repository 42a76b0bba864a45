"""Tests of the fake Telegram Bot API (tests/fakes/telegram/) and the update factories.

They double as examples: how to wire PTB to the fake, in-process and over real HTTP.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest
from telegram import (
    BotCommand,
    BotCommandScopeAllPrivateChats,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputFile,
    KeyboardButton,
    ReplyKeyboardMarkup,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest, Conflict, Forbidden, NetworkError, RetryAfter
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    ExtBot,
)

from tests.factories import (
    as_update,
    callback_update,
    command_update,
    contact_update,
    document_update,
    edited_message_update,
    location_update,
    my_chat_member_update,
    photo_update,
    text_update,
    voice_update,
)
from tests.fakes.telegram import (
    BOT_ID,
    BOT_USERNAME,
    TOKEN,
    FakeBotAPI,
    FakeBotAPIServer,
    FakeRequest,
    parse_body,
)

USER = 5550001
PNG_1x1 = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
    "0000000d49444154789c6360000002000001e221bc330000000049454e44ae426082"
)


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(autouse=True)
def _ptb_timedelta(monkeypatch: pytest.MonkeyPatch) -> None:
    # PTB 22.2+ warns (PTBDeprecationWarning) whenever a duration attribute is read as int,
    # including inside RetryAfter.__init__; with filterwarnings=error that warning would replace
    # the RetryAfter. Opting in to timedelta values avoids it.
    monkeypatch.setenv("PTB_TIMEDELTA", "true")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def api(clock: FakeClock) -> FakeBotAPI:
    return FakeBotAPI(time_fn=clock)


@pytest.fixture
async def bot(api: FakeBotAPI) -> AsyncIterator[ExtBot[None]]:
    bot = ExtBot(TOKEN, request=FakeRequest(api), get_updates_request=FakeRequest(api))
    async with bot:
        yield bot


def keyboard(*pairs: tuple[str, str]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(label, callback_data=data)] for label, data in pairs]
    )


async def wait_for(predicate: Callable[[], bool], within: float = 3.0) -> None:
    deadline = time.monotonic() + within
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.01)


# ------------------------------------------------------------------------------------------
# In-process transport
# ------------------------------------------------------------------------------------------


async def test_get_me(bot: ExtBot[None], api: FakeBotAPI) -> None:
    me = await bot.get_me()
    assert (me.id, me.username, me.first_name, me.is_bot) == (BOT_ID, BOT_USERNAME, "Hirfa", True)
    assert bot.username == BOT_USERNAME  # initialize() called getMe already
    assert api.calls[0][0] == "getMe"


async def test_send_message_with_inline_keyboard_is_recorded(
    bot: ExtBot[None], api: FakeBotAPI, clock: FakeClock
) -> None:
    markup = keyboard(("Oui", "confirm:yes"), ("Non", "confirm:no"))
    message = await bot.send_message(
        USER, "<b>Confirmer ?</b>", parse_mode=ParseMode.HTML, reply_markup=markup
    )

    assert message.chat.id == USER
    assert message.chat.type == "private"
    assert message.from_user is not None
    assert message.from_user.id == BOT_ID
    assert message.text == "Confirmer ?"  # Telegram returns the parsed text + entities
    assert message.entities[0].type == "bold"
    assert message.reply_markup == markup

    sent = api.last_to(USER)
    assert sent.method == "sendMessage"
    assert sent.text == "<b>Confirmer ?</b>"
    assert sent.plain_text == "Confirmer ?"
    assert sent.parse_mode == "HTML"
    assert sent.at == clock.now
    assert api.buttons(sent) == [("Oui", "confirm:yes"), ("Non", "confirm:no")]
    assert api.texts_to(USER) == ["<b>Confirmer ?</b>"]
    assert api.texts_to(USER, plain=True) == ["Confirmer ?"]


async def test_message_ids_increase_per_chat(bot: ExtBot[None]) -> None:
    first = await bot.send_message(USER, "un")
    second = await bot.send_message(USER, "deux")
    other = await bot.send_message(USER + 1, "autre")
    assert second.message_id == first.message_id + 1
    assert other.message_id == 1


async def test_bot_message_ids_follow_user_messages(bot: ExtBot[None], api: FakeBotAPI) -> None:
    api.push_update(text_update(USER, "salam", message_id=41))
    reply = await bot.send_message(USER, "Bonjour")
    assert reply.message_id == 42


async def test_reply_keyboard_buttons_and_request_contact(
    bot: ExtBot[None], api: FakeBotAPI
) -> None:
    markup = ReplyKeyboardMarkup(
        [
            [KeyboardButton("Partager mon numéro", request_contact=True)],
            [KeyboardButton("Annuler")],
        ],
        one_time_keyboard=True,
    )
    message = await bot.send_message(USER, "Votre numéro ?", reply_markup=markup)
    assert message.reply_markup is None  # Telegram never echoes reply keyboards
    assert api.buttons(api.last_to(USER)) == [
        ("Partager mon numéro", "request_contact"),
        ("Annuler", None),
    ]


async def test_text_length_is_counted_in_utf16(bot: ExtBot[None], api: FakeBotAPI) -> None:
    await bot.send_message(USER, "a" * 4096)
    await bot.send_message(USER, "😀" * 2048)  # 2 UTF-16 units each: exactly 4096
    with pytest.raises(BadRequest, match="Message is too long"):
        await bot.send_message(USER, "a" * 4097)
    with pytest.raises(BadRequest, match="Message is too long"):
        await bot.send_message(USER, "😀" * 2049)  # only 2049 Python characters
    assert len(api.sent) == 2


async def test_html_length_is_counted_after_parsing(bot: ExtBot[None]) -> None:
    await bot.send_message(USER, "<b>" + "a" * 4096 + "</b>", parse_mode=ParseMode.HTML)


async def test_empty_text_is_rejected(bot: ExtBot[None]) -> None:
    with pytest.raises(BadRequest, match="Message text is empty"):
        await bot.send_message(USER, "")
    with pytest.raises(BadRequest, match="Message text is empty"):
        await bot.send_message(USER, "<b> </b>", parse_mode=ParseMode.HTML)


async def test_caption_limit(bot: ExtBot[None]) -> None:
    with pytest.raises(BadRequest, match="Message caption is too long"):
        await bot.send_document(USER, InputFile(b"x", filename="a.txt"), caption="c" * 1025)


@pytest.mark.parametrize("data", ["x" * 65, "é" * 33, ""])
async def test_invalid_callback_data_is_rejected(
    bot: ExtBot[None], api: FakeBotAPI, data: str
) -> None:
    with pytest.raises(BadRequest, match="Button_data_invalid"):
        await bot.send_message(USER, "Choisir", reply_markup=keyboard(("A", data)))
    assert api.sent == []


async def test_callback_data_limit_is_in_bytes(bot: ExtBot[None]) -> None:
    await bot.send_message(USER, "Choisir", reply_markup=keyboard(("A", "é" * 32)))  # 64 bytes


async def test_more_than_100_inline_buttons_is_rejected(bot: ExtBot[None]) -> None:
    rows = [[InlineKeyboardButton(str(i), callback_data=str(i))] for i in range(101)]
    with pytest.raises(BadRequest, match="Reply markup is too long"):
        await bot.send_message(USER, "Trop", reply_markup=InlineKeyboardMarkup(rows))


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("<b>gras", "find end tag"),
        ("<p>paragraphe</p>", 'unsupported start tag "p"'),
        ("<b>x</i>", "unmatched end tag"),
        ("Prix < 100 dh", "unsupported start tag"),
        ("Fès & Meknès", 'unescaped "&"'),
        ("<span>x</span>", "tg-spoiler"),
    ],
)
async def test_bad_html_is_rejected(bot: ExtBot[None], text: str, reason: str) -> None:
    with pytest.raises(BadRequest, match="Can't parse entities") as info:
        await bot.send_message(USER, text, parse_mode=ParseMode.HTML)
    assert reason in info.value.message.lower()


async def test_good_html_is_accepted(bot: ExtBot[None], api: FakeBotAPI) -> None:
    text = (
        "<b>Fès</b> &amp; <i>Meknès</i> &lt;3 &#128512; <a href='https://x.ma/?a=1&b=2'>lien</a> "
        '<span class="tg-spoiler">s</span> <tg-spoiler>t</tg-spoiler> <u>u</u> <s>s</s> '
        '<code>c</code> <pre><code class="language-python">p</code></pre> '
        "<blockquote>q</blockquote>"
    )
    message = await bot.send_message(USER, text, parse_mode=ParseMode.HTML)
    assert message.text is not None
    assert message.text.startswith("Fès & Meknès <3 😀 lien")
    kinds = [entity.type for entity in message.entities]
    assert "text_link" in kinds
    assert "pre" in kinds
    assert "spoiler" in kinds
    api.strict_html_ampersand = False  # real Telegram tolerates a lone "&"
    await bot.send_message(USER, "Fès & Meknès", parse_mode=ParseMode.HTML)


async def test_unknown_parse_mode(bot: ExtBot[None]) -> None:
    with pytest.raises(BadRequest, match="Unsupported parse_mode"):
        await bot.send_message(USER, "x", parse_mode="Textile")
    with pytest.raises(BadRequest, match="(?i)checks HTML only"):  # Hirfa sends HTML only
        await bot.send_message(USER, "x", parse_mode=ParseMode.MARKDOWN_V2)


async def test_blocked_chat_is_forbidden(bot: ExtBot[None], api: FakeBotAPI) -> None:
    await bot.send_message(987654321, "a chat that never talked to the bot is fine")
    api.block(USER)
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await bot.send_message(USER, "Bonjour")
    assert api.messages_to(USER) == []
    api.unblock(USER)
    await bot.send_message(USER, "Bonjour")


async def test_global_rate_limit(bot: ExtBot[None], api: FakeBotAPI, clock: FakeClock) -> None:
    api.enforce_limits(global_per_second=30, per_chat_per_second=1, window=1.0)
    for i in range(30):
        await bot.send_message(USER + i, f"annonce {i}")
        clock.now += 0.01
    with pytest.raises(RetryAfter) as info:
        await bot.send_message(USER + 30, "la 31e")
    retry_after = info.value.retry_after
    assert not isinstance(retry_after, int)
    assert retry_after.total_seconds() >= 1
    assert api.too_many_requests == 1
    assert len(api.sent) == 30
    assert api.messages_to(USER + 30) == []
    clock.now += 1.0
    await bot.send_message(USER + 30, "la 31e, plus tard")


async def test_per_chat_rate_limit_and_edits_do_not_count(
    bot: ExtBot[None], api: FakeBotAPI, clock: FakeClock
) -> None:
    api.enforce_limits()
    first = await bot.send_message(USER, "un", reply_markup=keyboard(("A", "a")))
    await bot.edit_message_text("un (modifié)", chat_id=USER, message_id=first.message_id)
    clock.now += 0.5
    with pytest.raises(RetryAfter):
        await bot.send_message(USER, "deux")
    clock.now += 0.6
    await bot.send_message(USER, "deux")
    assert api.texts_to(USER) == ["un (modifié)", "deux"]


async def test_fault_injection(bot: ExtBot[None], api: FakeBotAPI) -> None:
    api.fail_next("sendMessage", 502, "Bad Gateway")
    with pytest.raises(NetworkError, match="Bad Gateway"):
        await bot.send_message(USER, "x")
    api.fail_next("sendmessage", 429, "Too Many Requests: retry after 7", retry_after=7)
    with pytest.raises(RetryAfter):
        await bot.send_message(USER, "x")
    api.fail_network_next(2)
    for _ in range(2):
        with pytest.raises(NetworkError, match="ConnectError"):
            await bot.send_message(USER, "x")
    await bot.send_message(USER, "enfin")
    assert api.texts_to(USER) == ["enfin"]


async def test_edit_and_not_modified(bot: ExtBot[None], api: FakeBotAPI) -> None:
    message = await bot.send_message(USER, "Choisir", reply_markup=keyboard(("A", "a")))
    edited = await bot.edit_message_text(
        "Choisi : A", chat_id=USER, message_id=message.message_id, reply_markup=keyboard(("B", "b"))
    )
    assert not isinstance(edited, bool)
    assert edited.edit_date is not None
    sent = api.last_to(USER)
    assert sent.text == "Choisi : A"
    assert api.buttons(sent) == [("B", "b")]
    assert sent.edits[0]["text"] == "Choisir"
    with pytest.raises(BadRequest, match="Message is not modified"):
        await bot.edit_message_text(
            "Choisi : A",
            chat_id=USER,
            message_id=message.message_id,
            reply_markup=keyboard(("B", "b")),
        )
    # Like Telegram, an edit without reply_markup removes the inline keyboard.
    await bot.edit_message_text("Choisi : A", chat_id=USER, message_id=message.message_id)
    assert api.buttons(sent) == []
    assert [(e["method"], e["text"]) for e in api.edits] == [
        ("editMessageText", "Choisi : A"),
        ("editMessageText", "Choisi : A"),
    ]
    with pytest.raises(BadRequest, match="Message to edit not found"):
        await bot.edit_message_text("x", chat_id=USER, message_id=message.message_id + 1)


async def test_click_and_answer_callback(bot: ExtBot[None], api: FakeBotAPI) -> None:
    await bot.send_message(USER, "Confirmer ?", reply_markup=keyboard(("Oui", "yes")))
    pushed = api.click(api.last_to(USER), "Oui")
    (update,) = await bot.get_updates()
    assert update.update_id == pushed["update_id"]
    query = update.callback_query
    assert query is not None
    assert query.data == "yes"
    assert query.from_user.id == USER
    assert query.message is not None
    assert query.message.message_id == api.last_to(USER).message_id
    assert api.unanswered_callbacks() == [query.id]
    await bot.answer_callback_query(query.id, text="C'est noté")
    assert api.answered_callbacks[0]["text"] == "C'est noté"
    assert api.unanswered_callbacks() == []
    with pytest.raises(BadRequest, match="Query is too old"):
        await bot.answer_callback_query(query.id)
    with pytest.raises(LookupError):
        api.click(api.last_to(USER), "Peut-être")


async def test_commands_per_language_and_scope(bot: ExtBot[None], api: FakeBotAPI) -> None:
    await bot.set_my_commands([BotCommand("start", "Commencer")], language_code="fr")
    await bot.set_my_commands([BotCommand("start", "Start")])
    await bot.set_my_commands(
        [BotCommand("aide", "Aide")], scope=BotCommandScopeAllPrivateChats(), language_code="fr"
    )
    assert api.commands == {
        "fr": [{"command": "start", "description": "Commencer"}],
        "": [{"command": "start", "description": "Start"}],
    }
    assert api.scoped_commands[("all_private_chats", "fr")][0]["command"] == "aide"
    await bot.delete_my_commands(language_code="fr")
    assert "fr" not in api.commands
    assert ("default", "fr") not in api.scoped_commands
    with pytest.raises(BadRequest, match="Bot_command_invalid"):
        await bot.set_my_commands([BotCommand("Start", "Majuscule")])


async def test_webhook_lifecycle(bot: ExtBot[None], api: FakeBotAPI) -> None:
    with pytest.raises(BadRequest, match="(?i)https url must be provided"):
        await bot.set_webhook("http://example.org/telegram/webhook")
    await bot.set_webhook(
        "https://example.org/telegram/webhook", secret_token="s3cret", allowed_updates=["message"]
    )
    assert api.webhook is not None
    assert api.webhook["secret_token"] == "s3cret"
    assert api.webhook["allowed_updates"] == ["message"]
    with pytest.raises(Conflict, match="webhook is active"):
        await bot.get_updates()
    await bot.delete_webhook()
    assert api.webhook is None
    await bot.get_updates()


async def test_get_updates_offset_limit_and_timeout(bot: ExtBot[None], api: FakeBotAPI) -> None:
    pushed = [api.push_update(text_update(USER, f"message {i}")) for i in range(3)]
    ids = [u["update_id"] for u in pushed]
    updates = await bot.get_updates()
    assert [u.update_id for u in updates] == ids
    assert updates[0].message is not None
    assert updates[0].message.text == "message 0"
    assert [u.update_id for u in await bot.get_updates(offset=ids[1], limit=1)] == [ids[1]]
    assert [u["update_id"] for u in api.pending_updates] == ids[1:]  # ids[0] confirmed
    assert [u.update_id for u in await bot.get_updates(offset=ids[2] + 1)] == []
    assert api.pending_updates == []
    started = time.monotonic()
    assert await bot.get_updates(timeout=30) == ()
    assert time.monotonic() - started < 0.5  # long polling is capped at 0.05 s in-process


async def test_long_poll_returns_when_an_update_arrives(bot: ExtBot[None], api: FakeBotAPI) -> None:
    poll = asyncio.create_task(bot.get_updates(timeout=30))
    await asyncio.sleep(0.01)
    api.push_update(text_update(USER, "coucou"))
    updates = await poll
    assert [u.message.text for u in updates if u.message] == ["coucou"]


async def test_document_upload_and_download(bot: ExtBot[None], api: FakeBotAPI) -> None:
    payload = b"%PDF-1.4\r\n\x00\xff binary \r\n--boundary-lookalike\r\n"
    message = await bot.send_document(
        USER,
        InputFile(payload, filename="devis_été.pdf"),
        caption="<i>Votre devis</i>",
        parse_mode="HTML",
    )
    assert message.document is not None
    assert message.document.file_name == "devis_été.pdf"
    assert message.document.mime_type == "application/pdf"
    assert message.caption == "Votre devis"
    sent = api.last_to(USER)
    assert (sent.method, sent.document, sent.filename) == ("sendDocument", payload, "devis_été.pdf")
    assert sent.caption == "<i>Votre devis</i>"
    file = await bot.get_file(message.document.file_id)
    assert bytes(await file.download_as_bytearray()) == payload
    # re-sending by file_id reuses the stored bytes
    await bot.send_document(USER + 1, message.document.file_id)
    assert api.last_to(USER + 1).document == payload


async def test_photo_must_be_an_image(bot: ExtBot[None], api: FakeBotAPI) -> None:
    with pytest.raises(BadRequest, match="Image_process_failed"):
        await bot.send_photo(USER, b"not an image")
    message = await bot.send_photo(USER, PNG_1x1, caption="Atelier")
    assert message.photo[-1].width == 1
    assert message.caption == "Atelier"
    assert api.last_to(USER).document == PNG_1x1


async def test_location(bot: ExtBot[None], api: FakeBotAPI) -> None:
    api.push_update(text_update(USER, "salam", first_name="Youssef"))
    message = await bot.send_location(USER, latitude=31.63, longitude=-8.0)
    assert message.location is not None
    assert message.location.latitude == 31.63
    assert message.chat.first_name == "Youssef"  # learned from the pushed update
    assert api.last_to(USER).location == (31.63, -8.0)
    with pytest.raises(BadRequest, match="Wrong latitude"):
        await bot.send_location(USER, latitude=91.0, longitude=-8.0)


def test_handle_directly() -> None:
    api = FakeBotAPI()
    status, body = api.handle("SENDMESSAGE", {"chat_id": "42", "text": "hi"})
    assert status == 200
    assert body["ok"] is True
    assert body["result"]["text"] == "hi"
    assert api.handle("sendDice", {}) == (
        404,
        {"ok": False, "error_code": 404, "description": "Not Found"},
    )
    status, body = api.handle(
        "sendMessage",
        {"chat_id": 42, "text": "x", "reply_markup": {"inline_keyboard": [[{"text": "A"}]]}},
    )
    assert status == 400
    assert "Text buttons are unallowed" in body["description"]
    api.enforce_limits()
    api.handle("sendMessage", {"chat_id": 7, "text": "a"})
    status, body = api.handle("sendMessage", {"chat_id": 7, "text": "b"})
    assert status == 429
    assert body["parameters"]["retry_after"] >= 1
    assert (
        body["description"] == f"Too Many Requests: retry after {body['parameters']['retry_after']}"
    )


# ------------------------------------------------------------------------------------------
# Applications
# ------------------------------------------------------------------------------------------


async def _start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.effective_message is not None
    await update.effective_message.reply_text(
        "Bienvenue !", reply_markup=keyboard(("Commencer", "go"))
    )


async def _go(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None
    await query.answer()
    await query.edit_message_text("C'est parti")


def build_app(api: FakeBotAPI, *, with_updater: bool) -> Application[Any, Any, Any, Any, Any, Any]:
    builder = (
        ApplicationBuilder()
        .token(TOKEN)
        .base_url("http://127.0.0.1:8081/bot")
        .request(FakeRequest(api))
        .get_updates_request(FakeRequest(api))
    )
    if not with_updater:
        builder = builder.updater(None)
    app = builder.build()
    app.add_handler(CommandHandler("start", _start))
    app.add_handler(CallbackQueryHandler(_go, pattern="^go$"))
    return app


async def test_application_process_update(api: FakeBotAPI) -> None:
    app = build_app(api, with_updater=False)
    async with app:
        await app.process_update(as_update(command_update(USER, "start"), app.bot))
        sent = api.last_to(USER)
        assert sent.text == "Bienvenue !"
        await app.process_update(
            as_update(callback_update(USER, "go", message=sent.message), app.bot)
        )
    assert sent.text == "C'est parti"
    assert api.buttons(sent) == []
    assert len(api.answered_callbacks) == 1
    request = app.bot.request
    assert isinstance(request, FakeRequest)
    assert all(
        url.startswith("http://127.0.0.1:8081/bot123456:TEST/") for _, url in request.requests
    )


async def test_observed_callback_message_can_be_edited(api: FakeBotAPI) -> None:
    app = build_app(api, with_updater=False)
    async with app:
        # A message the fake never sent, known only from the callback query's "message".
        update = api.observe(callback_update(USER, "go", message_id=77, message_text="Menu"))
        await app.process_update(as_update(update, app.bot))
    assert api.sent == []
    assert api.edits[0]["message_id"] == 77
    assert api.edits[0]["text"] == "C'est parti"
    assert api.pending_updates == []


async def test_application_polling(api: FakeBotAPI) -> None:
    app = build_app(api, with_updater=True)
    async with app:
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0.0, timeout=10)
        await app.start()
        try:
            api.push_update(command_update(USER, "start"))
            await wait_for(lambda: bool(api.messages_to(USER)))
            api.click(api.last_to(USER), "Commencer")
            await wait_for(lambda: api.last_to(USER).text == "C'est parti")
        finally:
            await app.updater.stop()
            await app.stop()
    assert api.pending_updates == []
    assert api.unanswered_callbacks() == []
    assert "deleteWebhook" in [name for name, _ in api.calls]  # the Updater's bootstrap


# ------------------------------------------------------------------------------------------
# Real HTTP on loopback
# ------------------------------------------------------------------------------------------


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeBotAPIServer]:
    for name in (
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "http_proxy",
        "https_proxy",
        "all_proxy",
    ):
        monkeypatch.delenv(name, raising=False)
    with FakeBotAPIServer(max_long_poll=1.0) as server:
        yield server


@pytest.fixture
async def http_bot(server: FakeBotAPIServer) -> AsyncIterator[ExtBot[None]]:
    bot = ExtBot(TOKEN, base_url=server.base_url, base_file_url=server.base_file_url)
    async with bot:
        yield bot


async def test_http_get_me_and_send_message(
    server: FakeBotAPIServer, http_bot: ExtBot[None]
) -> None:
    assert server.base_url == f"http://127.0.0.1:{server.port}/bot"
    me = await http_bot.get_me()
    assert me.username == BOT_USERNAME
    message = await http_bot.send_message(
        USER,
        "Bonjour <b>Amina</b> 😀",
        parse_mode=ParseMode.HTML,
        reply_markup=keyboard(("Oui", "oui")),
    )
    assert message.text == "Bonjour Amina 😀"
    sent = server.api.last_to(USER)
    assert api_buttons(server.api, USER) == [("Oui", "oui")]
    assert sent.params["chat_id"] == str(USER)  # form-encoded on the wire, like HTTPXRequest
    with pytest.raises(BadRequest, match="Message is too long"):
        await http_bot.send_message(USER, "a" * 4097)


def api_buttons(api: FakeBotAPI, chat_id: int) -> list[tuple[str, str | None]]:
    return api.buttons(api.last_to(chat_id))


async def test_http_send_document_multipart(
    server: FakeBotAPIServer, http_bot: ExtBot[None]
) -> None:
    payload = bytes(range(256)) * 20 + b"\r\n--\r\n"
    message = await http_bot.send_document(
        USER, InputFile(payload, filename='facture "mai" é.pdf'), caption="Facture"
    )
    sent = server.api.last_to(USER)
    assert sent.document == payload
    assert sent.filename == 'facture "mai" é.pdf'
    assert sent.caption == "Facture"
    assert message.document is not None
    assert message.document.file_size == len(payload)
    file = await http_bot.get_file(message.document.file_id)
    assert bytes(await file.download_as_bytearray()) == payload


async def test_http_get_updates_offset_and_long_poll(
    server: FakeBotAPIServer, http_bot: ExtBot[None]
) -> None:
    api = server.api
    first = api.push_update(text_update(USER, "un"))["update_id"]
    second = api.push_update(text_update(USER, "deux"))["update_id"]
    assert [u.update_id for u in await http_bot.get_updates()] == [first, second]
    assert [u.update_id for u in await http_bot.get_updates(offset=second)] == [second]
    assert await http_bot.get_updates(offset=second + 1, timeout=0) == ()

    timer = threading.Timer(0.1, lambda: api.push_update(text_update(USER, "trois")))
    started = time.monotonic()
    timer.start()
    try:
        updates = await http_bot.get_updates(offset=second + 1, timeout=5)
    finally:
        timer.cancel()
    assert [u.message.text for u in updates if u.message] == ["trois"]
    assert time.monotonic() - started < 0.9  # returned when pushed, not after the timeout


async def test_http_errors(server: FakeBotAPIServer, http_bot: ExtBot[None]) -> None:
    server.api.block(USER)
    with pytest.raises(Forbidden):
        await http_bot.send_message(USER, "x")
    server.api.fail_network_next(1)
    with pytest.raises(NetworkError):
        await http_bot.send_message(USER + 1, "x")
    await http_bot.send_message(USER + 1, "ok")


def test_http_raw_json_form_and_query(server: FakeBotAPIServer) -> None:
    def call(method: str, body: bytes | None, content_type: str | None, query: str = "") -> Any:
        url = f"{server.base_url}{TOKEN}/{method}{query}"
        request = urllib.request.Request(url, data=body, method="POST" if body else "GET")
        if content_type:
            request.add_header("Content-Type", content_type)
        with urllib.request.urlopen(request, timeout=5) as response:
            return json.loads(response.read())

    markup = {"inline_keyboard": [[{"text": "A", "callback_data": "a"}]]}
    body = json.dumps({"chat_id": USER, "text": "json", "reply_markup": markup}).encode()
    assert call("sendMessage", body, "application/json")["result"]["reply_markup"] == markup
    form = f"chat_id={USER}&text=form&reply_markup={json.dumps(markup)}".encode()
    assert call("sendMessage", form, "application/x-www-form-urlencoded")["ok"] is True
    assert call("getMe", None, None)["result"]["id"] == BOT_ID
    assert call("sendMessage", None, None, f"?chat_id={USER}&text=query")["ok"] is True
    assert server.api.texts_to(USER) == ["json", "form", "query"]
    assert server.api.buttons(server.api.messages_to(USER)[1]) == [("A", "a")]


CHILD_BOT = """
import sys
from telegram.ext import ApplicationBuilder, CommandHandler

async def start(update, context):
    await update.effective_message.reply_text("pong from a subprocess")

app = ApplicationBuilder().token(sys.argv[1]).base_url(sys.argv[2]).build()
app.add_handler(CommandHandler("start", start))
app.run_polling(poll_interval=0.0, timeout=1)
"""


def test_http_server_with_a_bot_in_a_subprocess(server: FakeBotAPIServer) -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD_BOT, TOKEN, server.base_url],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        server.api.push_update(command_update(USER, "start"))
        deadline = time.monotonic() + 20
        while not server.api.messages_to(USER):
            assert child.poll() is None, child.stderr.read().decode() if child.stderr else ""
            assert time.monotonic() < deadline, "the subprocess bot never answered"
            time.sleep(0.02)
        assert server.api.texts_to(USER) == ["pong from a subprocess"]
    finally:
        child.terminate()
        try:
            child.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            child.kill()
            child.communicate()


def test_parse_body_multipart_by_hand() -> None:
    body = (
        b"--XyZ\r\n"
        b'Content-Disposition: form-data; name="chat_id"\r\n\r\n'
        b"42\r\n"
        b"--XyZ\r\n"
        b'Content-Disposition: form-data; name="document"; '
        b"filename*=UTF-8''r%C3%A9sum%C3%A9.txt\r\n"
        b"Content-Type: text/plain\r\n\r\n"
        b"line1\r\nline2\r\n"
        b"--XyZ--\r\n"
    )
    params = parse_body("multipart/form-data; boundary=XyZ", body)
    assert params["chat_id"] == "42"
    assert params["document"].filename == "résumé.txt"
    assert params["document"].content == b"line1\r\nline2"
    assert params["document"].mime_type == "text/plain"


# ------------------------------------------------------------------------------------------
# Factories
# ------------------------------------------------------------------------------------------


def test_factories_build_valid_updates() -> None:
    text = as_update(text_update(USER, "salam"))
    assert text.effective_user is not None
    assert text.effective_user.language_code == "fr"
    assert text.effective_chat is not None
    assert text.effective_chat.type == "private"

    command = as_update(command_update(USER, "start", "ref42"))
    assert command.message is not None
    assert command.message.text == "/start ref42"
    assert command.message.entities[0].type == "bot_command"
    assert command.message.entities[0].length == len("/start")

    callback = as_update(callback_update(USER, "menu:1", message_id=7, message_text="Menu"))
    assert callback.callback_query is not None
    assert callback.callback_query.message is not None
    assert callback.callback_query.message.message_id == 7

    contact = as_update(contact_update(USER, "+212600000000"))
    assert contact.message is not None
    assert contact.message.contact is not None
    assert contact.message.contact.user_id == USER
    stranger = as_update(contact_update(USER, "+212600000001", contact_user_id=None))
    assert stranger.message is not None
    assert stranger.message.contact is not None
    assert stranger.message.contact.user_id is None

    location = as_update(location_update(USER))
    assert location.message is not None
    assert location.message.location is not None
    photo = as_update(photo_update(USER, caption="Zellige"))
    assert photo.message is not None
    assert photo.message.photo[-1].width == 1280
    voice = as_update(voice_update(USER))
    assert voice.message is not None
    assert voice.message.voice is not None
    document = as_update(document_update(USER))
    assert document.message is not None
    assert document.message.document is not None

    kicked = as_update(my_chat_member_update(USER))
    assert kicked.my_chat_member is not None
    assert kicked.my_chat_member.new_chat_member.status == "kicked"

    edited = as_update(edited_message_update(USER, "corrigé", message_id=3))
    assert edited.edited_message is not None
    assert edited.edited_message.edit_date is not None

    ids = [text_update(USER, "a")["update_id"], text_update(USER, "b")["update_id"]]
    assert ids[1] == ids[0] + 1


async def test_pushed_files_can_be_downloaded(bot: ExtBot[None], api: FakeBotAPI) -> None:
    update = api.push_update(voice_update(USER))
    file_id = update["message"]["voice"]["file_id"]
    api.add_file(b"OggS fake voice", file_id=file_id, mime_type="audio/ogg")
    file = await bot.get_file(file_id)
    assert bytes(await file.download_as_bytearray()) == b"OggS fake voice"
