"""The channel-agnostic dialogue engine: routing by state, one transaction per update.

How an :class:`~bot.messages.Incoming` is handled (see DESIGN.md, "How a message flows"):

1. A repeat of an update already handled is dropped: a stored update (``inbound_updates``,
   see :mod:`bot.inbox`) is marked handled in its own transaction; in memory
   (:meth:`Engine.handle`: the terminal, tests) by id in ``processed_updates``.
2. One database transaction is opened; the user's conversation (state + data), artisan record
   and staff role are loaded into a :class:`Context`.
3. Routing, in this order: ``/commands``; words that work everywhere (menu, stop, cancel, back,
   ...); navigation buttons; a button or number that answers the choices the bot last offered;
   buttons that stay valid outside a state (menu entries, reminders), re-checked by their handler;
   otherwise the current state's handler, or the default one.
4. Role and registration requirements are checked on *every* step, not just at the entry command.
5. State, data, everything the handler wrote, the replies (rendered in the reader's language,
   written to the outbox already claimed) and the mark "handled" on the stored update commit
   together; then the channel sends the replies at once from the outbox (``Engine.answer``).

Handlers live in ``handlers/`` and register on a :class:`Router`; they never import a platform.
"""

from __future__ import annotations

import asyncio
import logging
import re
import unicodedata
import uuid
import weakref
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Literal, overload
from zoneinfo import ZoneInfo

from bot.clock import Clock
from bot.errors import InvalidInput
from bot.i18n import Msg, Text, Translator
from bot.messages import Choice, Document, Incoming, OutMessage, Reply, render
from bot.settings import Settings
from bot.timezones import load_zone
from storage import artisans as artisan_repo
from storage import conversations as conversation_repo
from storage import inbound as inbound_repo
from storage import updates as updates_repo
from storage.artisans import Artisan
from storage.database import Conn, Database

if TYPE_CHECKING:
    from bot.outbox import AttachmentLoader, Outbox
    from bot.sender import Delivery

log = logging.getLogger(__name__)

Handler = Callable[["Context"], Awaitable[None]]
MAX_TEXT = 4096

NAV_BACK = "nav:back"
NAV_CANCEL = "nav:cancel"
NAV_MENU = "nav:menu"
REGISTER = "nav:register"

ROLE_RANK = {None: 0, "staff": 1, "admin": 2}
# How fresh identities.last_inbound_at must be (it opens WhatsApp's 24-hour window); writing it
# on every message would cost a statement per update for nothing.
TOUCH_EVERY = timedelta(seconds=60)


@dataclass(frozen=True)
class State:
    """A step of a conversation: ``prompt`` asks, ``handle`` takes the answer.

    ``back`` names the step that "back" returns to; ``role`` (``"staff"`` or ``"admin"``) and
    ``registered`` are checked before every answer is handled. ``files=True`` lets a photo or
    document (``Incoming.file``) reach ``handle``; elsewhere media get "not supported".
    """

    name: str
    prompt: Handler
    handle: Handler
    back: str | None = None
    role: str | None = None
    registered: bool = False
    on_back: Handler | None = None
    files: bool = False


@dataclass(frozen=True)
class Action:
    """A button that stays valid outside any state (``prefix`` matches its choice id)."""

    prefix: str
    handler: Handler
    role: str | None = None
    registered: bool = False


@dataclass(frozen=True)
class Command:
    name: str
    handler: Handler
    role: str | None = None
    registered: bool = False
    describe: str | None = None  # catalog key of the command menu description


@dataclass(frozen=True)
class MenuItem:
    """An entry of the main menu.

    Items without ``role`` are the artisan's: shown to registered artisans. Items with ``role``
    (``"staff"`` or ``"admin"``) are shown to staff of that rank, registered or not, and their
    handler is only ever called for them. ``visible`` may hide an item further.
    """

    id: str
    label: str
    handler: Handler
    order: int = 50
    visible: Callable[[Context], bool] | None = None
    role: str | None = None

    def shown_to(self, ctx: Context) -> bool:
        allowed = ctx.is_staff(self.role) if self.role is not None else ctx.artisan is not None
        return allowed and (self.visible is None or self.visible(ctx))


@dataclass(frozen=True)
class Job:
    """A periodic job (APScheduler is only the clock; what is due comes from the database)."""

    id: str
    run: Callable[[Services], Awaitable[None]]
    seconds: float


@dataclass
class Router:
    """What one feature adds: commands, states, actions, keywords, menu entries, deep links,
    jobs, demo data, and loaders of stored attachments (``OutMessage.media_ref`` prefixes)."""

    commands: dict[str, Command] = field(default_factory=dict)
    states: dict[str, State] = field(default_factory=dict)
    actions: list[Action] = field(default_factory=list)
    keywords: dict[str, Handler] = field(default_factory=dict)
    menu: list[MenuItem] = field(default_factory=list)
    deeplinks: dict[str, Handler] = field(default_factory=dict)
    jobs: list[Job] = field(default_factory=list)
    demo: list[Callable[[Services], Awaitable[None]]] = field(default_factory=list)
    # Called with (ctx, artisan_id) when an artisan deletes their data, before the erasure, in
    # the same transaction (e.g. to free their seats).
    erase_hooks: list[Callable[[Context, int], Awaitable[None]]] = field(default_factory=list)
    attachments: dict[str, AttachmentLoader] = field(default_factory=dict)
    fallback: Handler | None = None

    def command(
        self, name: str, *, role: str | None = None, registered: bool = False,
        describe: str | None = None,
    ) -> Callable[[Handler], Handler]:
        def register(fn: Handler) -> Handler:
            self.commands[name] = Command(name, fn, role, registered, describe)
            return fn

        return register

    def state(self, state: State) -> State:
        if state.name in self.states:
            raise ValueError(f"state {state.name!r} registered twice")
        self.states[state.name] = state
        return state

    def action(
        self, prefix: str, *, role: str | None = None, registered: bool = False
    ) -> Callable[[Handler], Handler]:
        def register(fn: Handler) -> Handler:
            self.actions.append(Action(prefix, fn, role, registered))
            return fn

        return register

    def keyword(self, words: Iterable[str], handler: Handler) -> None:
        for word in words:
            self.keywords[normalize(word)] = handler

    def menu_item(self, item: MenuItem) -> None:
        self.menu.append(item)

    def include(self, other: Router) -> None:
        for name, cmd in other.commands.items():
            self.commands.setdefault(name, cmd)
        for state in other.states.values():
            self.state(state)
        self.actions.extend(other.actions)
        for word, handler in other.keywords.items():
            self.keywords.setdefault(word, handler)
        self.menu.extend(other.menu)
        self.deeplinks.update(other.deeplinks)
        self.jobs.extend(other.jobs)
        self.demo.extend(other.demo)
        self.erase_hooks.extend(other.erase_hooks)
        self.attachments.update(other.attachments)
        if other.fallback is not None:
            self.fallback = other.fallback

    def find_action(self, choice_id: str) -> Action | None:
        matches = [a for a in self.actions if choice_id.startswith(a.prefix)]
        return max(matches, key=lambda a: len(a.prefix)) if matches else None


@dataclass
class Services:
    """Everything handlers may use, built once by the application and handed down."""

    db: Database
    clock: Clock
    settings: Settings
    translator: Translator
    outbox: Outbox
    router: Router
    bot_username: str | None = None
    extras: dict[str, Any] = field(default_factory=dict)

    @property
    def zone(self) -> ZoneInfo:
        return load_zone(self.settings.timezone)


class Context:
    """One update being handled: the user, their state, the open transaction, the replies."""

    def __init__(
        self,
        services: Services,
        conn: Conn,
        incoming: Incoming,
        state: str | None,
        data: dict[str, Any],
        artisan: Artisan | None,
        role: str | None,
    ) -> None:
        self.services = services
        self.conn = conn
        self.incoming = incoming
        self.state = state
        self.data = data
        self.artisan = artisan
        self.role = role
        self.replies: list[Reply] = []
        self.choice_id: str | None = incoming.choice_id
        self.args: str = ""

    # -- who and where -------------------------------------------------------------------
    @property
    def lang(self) -> str:
        if self.artisan is not None and self.artisan.erased_at is None:
            return self.artisan.locale
        chosen = self.data.get("lang")
        if isinstance(chosen, str) and chosen in self.services.translator.languages:
            return chosen
        hinted = self.services.translator.supported(self.incoming.language_hint)
        return hinted or self.services.settings.default_locale

    @property
    def zone(self) -> ZoneInfo:
        if self.artisan is not None and self.artisan.time_zone:
            return load_zone(self.artisan.time_zone)
        return self.services.zone

    @property
    def now(self) -> Any:
        return self.services.clock.now()

    @property
    def text(self) -> str:
        return self.incoming.text

    def choice_number(self, prefix: str) -> int | None:
        """The id after ``prefix`` in the pressed button (``s:open:42`` → 42); None when the
        button was forged (not digits, or too long to be one of our ids)."""
        tail = (self.choice_id or "").removeprefix(prefix)
        return int(tail) if tail.isdigit() and len(tail) < 10 else None

    def is_staff(self, role: str = "staff") -> bool:
        return ROLE_RANK.get(self.role, 0) >= ROLE_RANK[role]

    # -- answering -------------------------------------------------------------------------
    def say(
        self,
        text: Text,
        choices: Iterable[Choice] = (),
        *,
        ask_contact: bool = False,
        remove_keyboard: bool = False,
        document: Document | None = None,
        photo: bytes | None = None,
        location: tuple[float, float] | None = None,
        numbered: bool = True,
    ) -> None:
        """Queue a reply. ``numbered=False`` when the question wants free text that could be a
        number (a capacity, a quantity): then typed numbers are not read as button answers."""
        offered = list(choices)
        self.replies.append(
            Reply(text, offered, ask_contact, remove_keyboard, document, photo, location, numbered)
        )
        if offered:
            self.data["_offer"] = [[c.id, self._label_text(c.label)] for c in offered]
            self.data["_numbered"] = numbered

    def _label_text(self, label: Text) -> str:
        return self.services.translator.plain(label, self.lang, self.zone)

    def render(self, text: Text) -> str:
        return self.services.translator.render(text, self.lang, self.zone)

    async def goto(self, state: str, **data: Any) -> None:
        """Move to ``state`` and ask its question (refused if the user lacks the state's role)."""
        target = self.services.router.states[state]
        if target.role is not None and not self.is_staff(target.role):
            log.warning("refused entry to %s for %s/%s (role %s)", state, self.incoming.channel,
                        self.incoming.user_id, self.role)
            self.finish()
            self.say(Msg("common.not_allowed"))
            return
        self.data.pop("_offer", None)
        self.data.pop("_numbered", None)
        self.data.update(data)
        self.state = state
        await target.prompt(self)

    async def reprompt(self) -> None:
        if self.state and self.state in self.services.router.states:
            await self.services.router.states[self.state].prompt(self)
        else:
            await show_menu(self)

    def finish(self) -> None:
        """Leave any flow; keep only what outlives it (language choice, pending deep link)."""
        keep: dict[str, Any] = {k: self.data[k] for k in ("lang", "deeplink") if k in self.data}
        self.state = None
        self.data = keep

    async def refresh_artisan(self) -> None:
        inc = self.incoming
        self.artisan = await artisan_repo.by_identity(self.conn, inc.channel, inc.user_id)


# -- text normalisation ----------------------------------------------------------------------

_INVISIBLE = re.compile("[\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff\u061c]")
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# Arabic-Indic and Persian digits → 0-9 (typed numbers, phones, dates, capacities).
LATIN_DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "01234567890123456789")
_NUMBER = re.compile(r"^\s*(\d{1,3})\s*[.)-]?\s*$")


def clean_text(text: str) -> str:
    """Remove NUL and control characters; cap the length at what a platform can carry."""
    return _CONTROL.sub("", text)[: MAX_TEXT * 3]


def normalize(text: str) -> str:
    """Fold a word for matching keywords and labels: case, accents, bidi marks, spacing."""
    text = _INVISIBLE.sub("", text).translate(LATIN_DIGITS)
    text = unicodedata.normalize("NFKD", text)
    # Accents, emoji and other symbols go: "👤 Mon profil" is matched by "mon profil".
    text = "".join(ch for ch in text
                   if not unicodedata.combining(ch) and unicodedata.category(ch) not in ("So", "Sk"))
    text = re.sub(r"[\s\u0640]+", " ", text).strip(" .!?،,;:").casefold()
    return text


def strip_invisible(text: str) -> str:
    return _INVISIBLE.sub("", text)


# -- the main menu (always available) ---------------------------------------------------------

async def show_menu(ctx: Context, intro: Text | None = None) -> None:
    """Leave any flow and show the main menu (or start registration for a new user).

    Staff who are not registered as artisans get their staff entries and an offer to register.
    """
    ctx.finish()
    if ctx.artisan is None and ctx.role is None:
        fallback = ctx.services.router.fallback
        if fallback is not None:
            await fallback(ctx)
        return
    items = [item for item in sorted(ctx.services.router.menu, key=lambda i: i.order)
             if item.shown_to(ctx)]
    choices = [Choice(f"m:{item.id}", Msg(item.label)) for item in items]
    if ctx.artisan is None:
        choices.append(Choice(REGISTER, Msg("menu.register")))
    ctx.say(intro or Msg("menu.title"), choices)


async def go_back(ctx: Context) -> None:
    """Return to the previous step of the current flow (or ask the current one again)."""
    state = ctx.services.router.states.get(ctx.state or "")
    if state is not None and state.on_back is not None:
        await state.on_back(ctx)
    elif state is not None and state.back is not None:
        await ctx.goto(state.back)
    else:
        await ctx.reprompt()


async def cancel(ctx: Context) -> None:
    """Leave the current flow, say so, and show the main menu."""
    if ctx.state is None:
        await show_menu(ctx)
        return
    ctx.finish()
    ctx.data.pop("deeplink", None)
    if ctx.artisan is None and ctx.role is None:
        ctx.say(Msg("common.cancelled_unregistered"), remove_keyboard=True)
        return
    ctx.say(Msg("common.cancelled"), remove_keyboard=True)
    await show_menu(ctx)


def nav_choices(*, back: bool = True, cancel: bool = True) -> list[Choice]:
    out = []
    if back:
        out.append(Choice(NAV_BACK, Msg("nav.back")))
    if cancel:
        out.append(Choice(NAV_CANCEL, Msg("nav.cancel")))
    return out


# -- the engine ----------------------------------------------------------------------------

_COMMAND = re.compile(r"^/([A-Za-z0-9_]{1,32})(?:@\w+)?(?:\s+(.*))?$", re.S)


class Engine:
    """Turns :class:`Incoming` into rendered replies, one database transaction per update."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.router = services.router
        self._locks: weakref.WeakValueDictionary[tuple[str, str], asyncio.Lock] = (
            weakref.WeakValueDictionary()
        )

    def _lock(self, key: tuple[str, str]) -> asyncio.Lock:
        lock = self._locks.get(key)
        if lock is None:
            lock = asyncio.Lock()
            self._locks[key] = lock
        return lock

    async def handle(self, incoming: Incoming) -> list[OutMessage]:
        """Handle one update; return the replies to send (empty for a duplicate).

        The replies live only in memory: for the terminal and tests. Channels use
        :meth:`answer`, which writes them to the outbox with the update's effects."""
        incoming = _sanitize(incoming)
        async with self._lock((incoming.channel, incoming.user_id)):
            try:
                ctx = await self._run(incoming)
            except Exception:
                log.exception("update %s from %s failed", incoming.update_id, incoming.channel)
                return [self._apology(incoming)]
            if ctx is None:
                return []
            out = [self.render(reply, ctx.lang, ctx.zone) for reply in ctx.replies]
        self.services.outbox.wake_if_queued()
        return out

    async def answer(self, incoming: Incoming) -> list[Delivery]:
        """Handle one stored update: its effects, the parts of its reply (in the outbox) and
        the mark "handled" on the stored update commit together. Returns the reply's rows,
        already claimed, for the channel to send at once (``Outbox.send_now``)."""
        incoming = _sanitize(incoming)
        outbox = self.services.outbox
        async with self._lock((incoming.channel, incoming.user_id)):
            try:
                deliveries = await self._run(incoming, durable=True)
            except Exception:
                log.exception("update %s from %s failed", incoming.update_id, incoming.channel)
                async with self.services.db.transaction() as conn:
                    await self._handled(conn, incoming, "failed")
                    deliveries = await outbox.claim_replies(
                        conn, incoming.channel, incoming.chat_id, self._reply_key(incoming),
                        [self._apology(incoming)])
        outbox.wake_if_queued()
        return deliveries or []

    @overload
    async def _run(self, incoming: Incoming) -> Context | None: ...

    @overload
    async def _run(self, incoming: Incoming, durable: Literal[True]) -> list[Delivery] | None: ...

    async def _run(self, incoming: Incoming, durable: bool = False) -> Any:
        services = self.services
        now = services.clock.now()
        async with services.db.transaction() as conn:
            # A repeat is dropped: a stored update is handled once (durable), any other by id.
            if incoming.update_id is not None and not await (
                updates_repo.mark_handled(conn, incoming.channel, incoming.update_id, now)
                if durable else
                conversation_repo.mark_processed(conn, incoming.channel, incoming.update_id, now)
            ):
                log.info("dropped repeated update %s/%s", incoming.channel, incoming.update_id)
                return None
            seen = await inbound_repo.load(conn, incoming.channel, incoming.user_id)
            if seen.artisan is not None and (
                seen.blocked or seen.last_inbound_at is None
                or now - seen.last_inbound_at > TOUCH_EVERY
            ):
                await artisan_repo.touch_identity(conn, incoming.channel, incoming.user_id, now)
            ctx = Context(services, conn, incoming, seen.state, dict(seen.data), seen.artisan, seen.role)
            await self._route(ctx)
            if ctx.state is None and not ctx.data:
                if seen.has_conversation:
                    await conversation_repo.forget(conn, incoming.channel, incoming.user_id)
            elif not seen.has_conversation or (ctx.state, ctx.data) != (seen.state, seen.data):
                await conversation_repo.save(
                    conn, incoming.channel, incoming.user_id, ctx.state, ctx.data, now,
                    exists=seen.has_conversation,
                )
            if not durable:
                return ctx
            artisan_id = ctx.artisan.id if ctx.artisan is not None else None
            return await services.outbox.claim_replies(
                conn, incoming.channel, incoming.chat_id, self._reply_key(incoming),
                [self.render(reply, ctx.lang, ctx.zone) for reply in ctx.replies],
                artisan_id=artisan_id,
            )

    async def _handled(self, conn: Conn, incoming: Incoming, outcome: str) -> None:
        if incoming.update_id is not None:
            await updates_repo.mark_handled(conn, incoming.channel, incoming.update_id,
                                            self.services.clock.now(), outcome)

    @staticmethod
    def _reply_key(incoming: Incoming) -> str:
        return incoming.update_id or f"{incoming.chat_id}:{uuid.uuid4().hex}"

    async def drop(self, incoming: list[Incoming], *, notify: bool) -> list[Delivery]:
        """A chat sends faster than it can be answered (a forward of many messages): these
        updates are not handled; with ``notify``, the sender is told once, in their language.
        Returns the notice's row, claimed, to send like a reply."""
        if not incoming:
            return []
        first = _sanitize(incoming[0])
        services = self.services
        async with services.db.transaction() as conn:
            for item in incoming:
                await self._handled(conn, item, "dropped")
            if not notify:
                return []
            seen = await inbound_repo.load(conn, first.channel, first.user_id)
            ctx = Context(services, conn, first, seen.state, dict(seen.data), seen.artisan, seen.role)
            notice = self.render(Reply(Msg("common.flood")), ctx.lang, ctx.zone)
            artisan_id = ctx.artisan.id if ctx.artisan is not None else None
            return await services.outbox.claim_replies(
                conn, first.channel, first.chat_id, self._reply_key(first), [notice],
                artisan_id=artisan_id)

    async def settle_update(
        self, channel: str, update_id: str, *, unreachable: str | None = None
    ) -> None:
        """A stored update with nothing to answer (a group message, a "bot blocked" notice for
        chat ``unreachable``): its effect and the mark "handled" commit together."""
        now = self.services.clock.now()
        async with self.services.db.transaction() as conn:
            if unreachable is not None:
                await artisan_repo.mark_blocked(conn, channel, unreachable, now)
            await updates_repo.mark_handled(conn, channel, update_id, now, "ignored")

    async def chat_unreachable(self, channel: str, chat_id: str) -> None:
        """The platform says this chat blocked us: stop sending there (keep the record)."""
        async with self.services.db.transaction() as conn:
            await artisan_repo.mark_blocked(conn, channel, chat_id, self.services.clock.now())
        log.info("%s chat %s is unreachable (blocked the bot)", channel, chat_id)

    def _apology(self, incoming: Incoming) -> OutMessage:
        lang = self.services.translator.supported(incoming.language_hint)
        lang = lang or self.services.settings.default_locale
        return self.render(Reply(Msg("common.error")), lang, self.services.zone)

    # -- routing ------------------------------------------------------------------------
    async def _route(self, ctx: Context) -> None:
        inc = ctx.incoming
        if inc.kind == "command" or (inc.kind == "text" and inc.text.startswith("/")):
            await self._command(ctx)
            return
        if inc.kind == "text":
            word = normalize(inc.text)
            keyword = self.router.keywords.get(word)
            if keyword is not None:
                await keyword(ctx)
                return
            offered = self._match_offer(ctx, inc.text)
            if offered is not None:
                ctx.choice_id = offered
                await self._choice(ctx, offered)
                return
        if inc.kind == "choice" and inc.choice_id is not None:
            await self._choice(ctx, inc.choice_id)
            return
        if inc.kind == "unsupported":
            state = self.router.states.get(ctx.state or "")
            if inc.file is not None and state is not None and state.files:
                await self._in_state(ctx)
                return
            key = "common.voice_unsupported" if inc.media == "voice" else "common.media_unsupported"
            ctx.say(Msg(key))
            await ctx.reprompt()
            return
        await self._in_state(ctx)

    async def _command(self, ctx: Context) -> None:
        match = _COMMAND.match(ctx.incoming.text.strip())
        name = match.group(1).lower() if match else ""
        ctx.args = (match.group(2) or "").strip() if match else ""
        if name == "cancel":
            await cancel(ctx)
            return
        command = self.router.commands.get(name)
        if command is None:
            ctx.say(Msg("common.unknown_command"))
            await ctx.reprompt()
            return
        if await self._refused(ctx, command.role, command.registered):
            return
        await command.handler(ctx)

    async def _choice(self, ctx: Context, choice_id: str) -> None:
        if choice_id == NAV_CANCEL:
            await cancel(ctx)
            return
        if choice_id == NAV_MENU:
            await show_menu(ctx)
            return
        if choice_id == REGISTER and ctx.artisan is None and self.router.fallback is not None:
            ctx.finish()
            await self.router.fallback(ctx)
            return
        if choice_id == NAV_BACK:
            await go_back(ctx)
            return
        offered_ids = [pair[0] for pair in ctx.data.get("_offer", [])]
        state = self.router.states.get(ctx.state or "")
        if state is not None and choice_id in offered_ids:
            await self._in_state(ctx)
            return
        action = self.router.find_action(choice_id)
        if action is not None:
            if await self._refused(ctx, action.role, action.registered):
                return
            await action.handler(ctx)
            return
        log.info("stale or forged button %r from %s", choice_id, ctx.incoming.user_id)
        ctx.say(Msg("common.stale"))
        await ctx.reprompt()

    async def _in_state(self, ctx: Context) -> None:
        state = self.router.states.get(ctx.state or "")
        if state is None:
            if ctx.state is not None:
                log.warning("unknown state %r; resetting", ctx.state)
            if ctx.artisan is None and self.router.fallback is not None:
                await self.router.fallback(ctx)
                return
            if ctx.incoming.kind == "contact":
                ctx.say(Msg("common.contact_not_needed"))
            else:
                ctx.say(Msg("common.not_understood"))
            await show_menu(ctx)
            return
        if await self._refused(ctx, state.role, state.registered):
            return
        try:
            await state.handle(ctx)
        except InvalidInput as err:
            ctx.say(Msg(err.key, **err.params))
            await ctx.reprompt()

    async def _refused(self, ctx: Context, role: str | None, registered: bool) -> bool:
        """Check rights for this step; say why and leave the flow when they are missing."""
        if role is not None and not ctx.is_staff(role):
            log.warning(
                "refused %s action to %s/%s (role %s)",
                role, ctx.incoming.channel, ctx.incoming.user_id, ctx.role,
            )
            ctx.finish()
            ctx.say(Msg("common.not_allowed"))
            return True
        if registered and ctx.artisan is None:
            if self.router.fallback is not None:
                await self.router.fallback(ctx)
            return True
        return False

    def _match_offer(self, ctx: Context, text: str) -> str | None:
        """A typed number ("2", "٢") or a button's label answers the choices last offered."""
        offer = ctx.data.get("_offer") or []
        if not offer:
            return None
        folded = normalize(text)
        number = _NUMBER.match(folded)
        if number and ctx.data.get("_numbered", True):
            index = int(number.group(1)) - 1
            return str(offer[index][0]) if 0 <= index < len(offer) else None
        for choice_id, label in offer:
            if normalize(str(label)) == folded:
                return str(choice_id)
        return None

    def render(self, reply: Reply, lang: str, zone: ZoneInfo) -> OutMessage:
        return render(reply, self.services.translator, lang, zone)


def _sanitize(incoming: Incoming) -> Incoming:
    if not incoming.text:
        return incoming
    return replace(incoming, text=clean_text(incoming.text))
