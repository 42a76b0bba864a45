"""The channel-agnostic dialogue engine: routing by state, one transaction per update.

How an :class:`~bot.messages.Incoming` is handled (see DESIGN.md, "How a message flows"):

1. A repeat of an update already handled is dropped: a stored update (``inbound_updates``,
   see :mod:`bot.inbox`) is marked handled in its own transaction; in memory
   (:meth:`Engine.handle`: the terminal, tests) by id in ``processed_updates``.
2. One database transaction is opened; the user's conversation (state + data), artisan record
   and staff role are loaded into a :class:`Context`.
3. Routing, in this order: ``/commands``; words that work everywhere (menu, stop, cancel, back,
   ...); navigation buttons; a button or number that answers the choices the bot last offered;
   buttons that stay valid outside a state (menu entries, reminders): their id is unpacked
   (:mod:`bot.payloads`; a malformed one is "no longer available"), then their handler
   re-checks it;
   otherwise the current state's handler, or the default one.
4. Role and registration requirements are checked on *every* step, not just at the entry command.
5. State, data, everything the handler wrote, the replies (rendered in the reader's language,
   written to the outbox already claimed) and the mark "handled" on the stored update commit
   together; then the channel sends the replies at once from the outbox (``Engine.answer``).

Handlers live in ``handlers/`` and register on a :class:`Router`; they never import a platform.
"""

from __future__ import annotations

import asyncio
import html
import logging
import re
import time
import unicodedata
import uuid
import weakref
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Literal, TypeAlias, TypeVar, overload
from zoneinfo import ZoneInfo

from bot import graph
from bot.channel_services import Channels
from bot.clock import Clock
from bot.errors import InvalidInput
from bot.i18n import Msg, Raw, Text, Translator
from bot.messages import Choice, Document, Incoming, OutMessage, Reply, render
from bot.numbers import LATIN_DIGITS
from bot.payloads import Payload, fields_of
from bot.settings import Settings
from bot.timezones import load_zone
from bot.understanding import (
    FREE_TEXT,
    Lexicon,
    choice_concepts,
    default_lexicon,
    number_concepts,
)
from storage import artisans as artisan_repo
from storage import conversations as conversation_repo
from storage import inbound as inbound_repo
from storage import updates as updates_repo
from storage.artisans import Artisan
from storage.database import Conn, Database
from storage.updates import Turn

if TYPE_CHECKING:
    from bot.metrics import Metrics
    from bot.outbox import AttachmentLoader, Outbox
    from bot.sender import Delivery
    from bot.subcommands import Register

log = logging.getLogger(__name__)

Handler = Callable[["Context"], Awaitable[None]]
P = TypeVar("P", bound=Payload)
# The handler of a button: called with the payload its id carried, already unpacked.
ButtonHandler: TypeAlias = Callable[["Context", P], Awaitable[None]]
VoiceFinder = Callable[[Conn, int, str, str], Awaitable[str | None]]
MAX_TEXT = 4096

NAV_BACK = "nav:back"
NAV_CANCEL = "nav:cancel"
NAV_MENU = "nav:menu"
REGISTER = "nav:register"
# Offered after two answers in a row were not understood (see Engine._missed).
ASK_CHAMBER = "help:chamber"
SWITCH_LANGUAGE = "help:lang"

ROLE_RANK = {None: 0, "staff": 1, "admin": 2}
# How fresh identities.last_inbound_at must be (it opens WhatsApp's 24-hour window); writing it
# on every message would cost a statement per update for nothing.
TOUCH_EVERY = timedelta(seconds=60)
# How long an update waits for an earlier one of its chat that another worker is handling (see
# ``storage.updates.take_turn``); an earlier update older than this is stuck and holds no one.
TURN_PATIENCE = timedelta(seconds=5)


class Step(StrEnum):
    """The names of a feature's steps: each feature declares its own subclass, e.g.
    ``class Reg(Step): LANG = "reg.lang"``, and ``State``, ``back=`` and ``Context.goto`` take
    its members, so a misspelt step is a mypy error rather than a user's dead end. The value is
    what the ``conversations`` table stores (``Context.state`` is that plain string); changing
    one strands the conversations stored at that step. Every member must be registered as a
    :class:`State` (checked at start-up by :func:`bot.graph.check`)."""


@dataclass(frozen=True)
class State:
    """A step of a conversation: ``prompt`` asks, ``handle`` takes the answer.

    ``back`` names the step that "back" returns to; ``role`` (``"staff"`` or ``"admin"``) and
    ``registered`` are checked before every answer is handled. ``files=True`` lets a photo or
    document (``Incoming.file``) reach ``handle``; ``voice=True`` lets a voice note reach it.
    Elsewhere a voice note goes to ``Router.voice_note`` and other media get "not supported".
    """

    name: Step
    prompt: Handler
    handle: Handler
    back: Step | None = None
    role: str | None = None
    registered: bool = False
    on_back: Handler | None = None
    files: bool = False
    voice: bool = False


@dataclass(frozen=True)
class Action(Generic[P]):
    """A button that stays valid outside any state: ids of ``payload``'s kind (its prefix)
    reach ``handler`` unpacked (see :mod:`bot.payloads`)."""

    payload: type[P]
    handler: ButtonHandler[P]
    role: str | None = None
    registered: bool = False

    @property
    def prefix(self) -> str:
        return self.payload.prefix


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
    jobs, demo data, ``hirfa`` subcommands, and loaders of stored attachments
    (``OutMessage.media_ref`` prefixes)."""

    commands: dict[str, Command] = field(default_factory=dict)
    states: dict[str, State] = field(default_factory=dict)
    actions: list[Action[Any]] = field(default_factory=list)
    keywords: dict[str, Handler] = field(default_factory=dict)
    # Words that work at every step, by concept of bot/understanding.py ("menu", "stop", ...).
    concepts: dict[str, Handler] = field(default_factory=dict)
    menu: list[MenuItem] = field(default_factory=list)
    deeplinks: dict[str, Handler] = field(default_factory=dict)
    jobs: list[Job] = field(default_factory=list)
    demo: list[Callable[[Services], Awaitable[None]]] = field(default_factory=list)
    # ``hirfa`` subcommands of the feature (bot/subcommands.py).
    cli: list[Register] = field(default_factory=list)
    # Called with (ctx, artisan_id) when an artisan deletes their data, before the erasure, in
    # the same transaction (e.g. to free their seats).
    erase_hooks: list[Callable[[Context, int], Awaitable[None]]] = field(default_factory=list)
    attachments: dict[str, AttachmentLoader] = field(default_factory=dict)
    # Loaders that need the running services (e.g. a channel's file fetcher), built at start.
    attachment_factories: dict[str, Callable[[Services], AttachmentLoader]] = field(
        default_factory=dict)
    fallback: Handler | None = None
    # A message in a topic of the staff group (``Incoming.thread_id``); it checks the sender.
    group: Handler | None = None
    # Free text from a registered artisan outside any flow that nothing understood.
    unplaced: Handler | None = None
    # "Talk to the chamber" (offered after two misunderstandings); the questions feature may
    # point it at its own flow.
    ask_chamber: Handler | None = None
    # A voice note sent where no step takes one (kept for the chamber by the voice feature).
    voice_note: Handler | None = None
    # Run after every update, in its transaction, once the replies are known (voice help).
    after_update: list[Handler] = field(default_factory=list)
    # The stored voice note of a message for an artisan who wants one: (conn, artisan id,
    # language, catalog key) → a ``voice_ref``; used by the outbox for notices and reminders.
    voice_of: VoiceFinder | None = None

    def command(
        self, name: str, *, role: str | None = None, registered: bool = False,
        describe: str | None = None,
    ) -> Callable[[Handler], Handler]:
        def register(fn: Handler) -> Handler:
            graph.claim("command", f"/{name}", fn, _handler(self.commands.get(name)))
            self.commands[name] = Command(name, fn, role, registered, describe)
            return fn

        return register

    def state(self, state: State) -> State:
        if state.name in self.states:
            raise ValueError(f"state {state.name.value!r} registered twice")
        self.states[state.name] = state
        return state

    def action(
        self, payload: type[P], *, role: str | None = None, registered: bool = False
    ) -> Callable[[ButtonHandler[P]], ButtonHandler[P]]:
        """Register the handler of a kind of button; it is called with the pressed button's
        payload, after the role and registration checks."""
        fields_of(payload)  # a class that cannot be packed fails here, at start-up

        def register(fn: ButtonHandler[P]) -> ButtonHandler[P]:
            mine = next((a for a in self.actions if a.prefix == payload.prefix), None)
            graph.claim("button prefix", payload.prefix, fn, _handler(mine))
            self.actions.append(Action(payload, fn, role, registered))
            return fn

        return register

    def keyword(self, words: Iterable[str], handler: Handler) -> None:
        for word in words:
            key = normalize(word)
            graph.claim("keyword", key, handler, self.keywords.get(key))
            self.keywords[key] = handler

    def menu_item(self, item: MenuItem) -> None:
        mine = next((i for i in self.menu if i.id == item.id), None)
        graph.claim("menu item", item.id, item.handler, mine.handler if mine else None)
        self.menu.append(item)

    def include(self, other: Router) -> None:
        """Add a feature's router; two features claiming the same command, deep-link prefix,
        menu item, keyword or button prefix raise :class:`bot.graph.GraphError` (one line)."""
        for name, cmd in other.commands.items():
            graph.claim("command", f"/{name}", cmd.handler, _handler(self.commands.get(name)))
            self.commands[name] = cmd
        for state in other.states.values():
            self.state(state)
        for action in other.actions:
            mine = next((a for a in self.actions if a.prefix == action.prefix), None)
            graph.claim("button prefix", action.prefix, action.handler, _handler(mine))
            self.actions.append(action)
        for word, handler in other.keywords.items():
            graph.claim("keyword", word, handler, self.keywords.get(word))
            self.keywords[word] = handler
        for concept, handler in other.concepts.items():
            self.concepts.setdefault(concept, handler)
        if other.ask_chamber is not None:
            self.ask_chamber = other.ask_chamber
        self.voice_note = other.voice_note or self.voice_note
        self.voice_of = other.voice_of or self.voice_of
        self.after_update.extend(other.after_update)
        for item in other.menu:
            self.menu_item(item)
        for prefix, handler in other.deeplinks.items():
            graph.claim("deep-link prefix", prefix, handler, self.deeplinks.get(prefix))
            self.deeplinks[prefix] = handler
        self.jobs.extend(other.jobs)
        self.demo.extend(other.demo)
        self.cli.extend(other.cli)
        self.erase_hooks.extend(other.erase_hooks)
        self.attachments.update(other.attachments)
        self.attachment_factories.update(other.attachment_factories)
        if other.fallback is not None:
            self.fallback = other.fallback
        if other.group is not None:
            self.group = other.group
        if other.unplaced is not None:
            self.unplaced = other.unplaced

    def check(self, packages: tuple[str, ...] = ("handlers",)) -> Router:
        """Check the whole graph once every feature is included (see :mod:`bot.graph`):
        every ``back=`` target exists and every :class:`Step` of the packages is registered."""
        graph.check(self, packages)
        return self

    def find_action(self, choice_id: str) -> Action[Any] | None:
        """The action whose payload prefix is the longest to match ``choice_id``."""
        matches = [a for a in self.actions if a.payload.matches(choice_id)]
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
    # The messaging channels running in this process: what handlers may ask of them.
    channels: Channels = field(default_factory=Channels)
    lexicon: Lexicon = field(default_factory=default_lexicon)
    metrics: Metrics | None = None
    # Run a periodic job (by its id) now, without waiting for its period; the scheduler sets it
    # (see bot.scheduler.Scheduler.wake). Called by the engine once an update has committed.
    wake_job: Callable[[str], None] = field(default=lambda job_id: None)

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
        # Answers not understood in a row just before this one (see Engine._missed).
        self.misses = int(self.data.pop("_misses", 0) or 0)
        # Periodic jobs to run as soon as this update's transaction has committed (work that
        # needs a network call outside the transaction, e.g. opening a staff-group topic).
        self.wake: set[str] = set()

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

    async def goto(self, state: Step, **data: Any) -> None:
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
        self.state = state.value
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
_NUMBER = re.compile(r"^\s*([0-9]{1,3})\s*[.)-]?\s*$")


def _handler(entry: Command | Action[Any] | None) -> object | None:
    return entry.handler if entry is not None else None


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
    choices = [Choice(MenuButton(item.id), Msg(item.label)) for item in items]
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
        started = time.perf_counter()
        incoming = _sanitize(incoming)
        async with self._lock((incoming.channel, incoming.user_id)):
            try:
                ctx = await self._run(incoming)
            except Exception:
                log.exception("update %s from %s failed", incoming.update_id, incoming.channel)
                return [await self._apology(incoming)]
            if ctx is None:
                return []
            out = [self.render(reply, ctx.lang, ctx.zone) for reply in ctx.replies]
        if self.services.metrics is not None:
            self.services.metrics.handled(incoming.channel, started)
        self.services.outbox.wake_if_queued()
        for job_id in sorted(ctx.wake):  # committed: the job sees what this update wrote
            self.services.wake_job(job_id)
        return out

    async def answer(self, incoming: Incoming) -> list[Delivery]:
        """Handle one stored update: its effects, the parts of its reply (in the outbox) and
        the mark "handled" on the stored update commit together. Returns the reply's rows,
        already claimed, for the channel to send at once (``Outbox.send_now``)."""
        started = time.perf_counter()
        incoming = _sanitize(incoming)
        outbox = self.services.outbox
        async with self._lock((incoming.channel, incoming.user_id)):
            try:
                deliveries = await self._in_turn(incoming)
            except Exception:
                log.exception("update %s from %s failed", incoming.update_id, incoming.channel)
                apology = await self._apology(incoming)
                async with self.services.db.transaction() as conn:
                    await self._handled(conn, incoming, "failed")
                    deliveries = await outbox.claim_replies(
                        conn, incoming.channel, incoming.chat_id, self._reply_key(incoming),
                        _in_thread(incoming, [apology]))
            else:
                if deliveries is not None and self.services.metrics is not None:
                    self.services.metrics.handled(incoming.channel, started)
        outbox.wake_if_queued()
        return deliveries or []

    async def _in_turn(self, incoming: Incoming) -> list[Delivery] | None:
        """Handle a stored update once the earlier updates of its chat are handled.

        Only with several workers can an earlier one still be in hand (another worker received
        it at the same moment): then this one waits a few milliseconds at a time, holding no
        lock meanwhile, for at most ``TURN_PATIENCE`` (real time: this is about processes, not
        the calendar; ``take_turn`` also stops waiting for an update older than that)."""
        pause, waited = 0.005, 0.0
        patience: timedelta | None = TURN_PATIENCE
        while True:
            result = await self._run(incoming, durable=True, patience=patience)
            if result is not Turn.WAIT:
                if waited:
                    log.info("update %s/%s waited %.2f s for an earlier update of its chat",
                             incoming.channel, incoming.update_id, waited)
                return result
            if not waited:
                log.info("update %s/%s waits for an earlier update of its chat",
                         incoming.channel, incoming.update_id)
            if waited >= TURN_PATIENCE.total_seconds():  # the clock stands still (tests)
                log.warning("update %s/%s goes before an earlier update of its chat, which is "
                            "still not handled", incoming.channel, incoming.update_id)
                patience = None
                continue
            await asyncio.sleep(pause)
            waited += pause
            pause = min(pause * 2, 0.2)

    @overload
    async def _run(self, incoming: Incoming) -> Context | None: ...

    @overload
    async def _run(
        self, incoming: Incoming, durable: Literal[True], patience: timedelta | None,
    ) -> list[Delivery] | Literal[Turn.WAIT] | None: ...

    async def _run(
        self, incoming: Incoming, durable: bool = False, patience: timedelta | None = None,
    ) -> Any:
        services = self.services
        now = services.clock.now()
        async with services.db.transaction() as conn:
            # One user's updates in order across workers (PostgreSQL; a no-op on SQLite).
            await conversation_repo.lock(conn, incoming.channel, incoming.user_id)
            # A repeat is dropped: a stored update is handled once (durable), in its turn
            # among its chat's updates; any other update once by id.
            if incoming.update_id is None:
                handled = True
            elif durable:
                turn = await updates_repo.take_turn(
                    conn, incoming.channel, incoming.update_id, now, patience)
                if turn is Turn.WAIT:
                    return turn
                handled = turn is Turn.TAKEN
            else:
                handled = await conversation_repo.mark_processed(
                    conn, incoming.channel, incoming.update_id, now)
            if not handled:
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
            for hook in self.router.after_update:
                await hook(ctx)
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
            deliveries = await services.outbox.claim_replies(
                conn, incoming.channel, incoming.chat_id, self._reply_key(incoming),
                _in_thread(incoming, [self.render(reply, ctx.lang, ctx.zone) for reply in ctx.replies]),
                artisan_id=artisan_id,
            )
        for job_id in sorted(ctx.wake):  # committed: the job sees what this update wrote
            services.wake_job(job_id)
        return deliveries

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
                conn, first.channel, first.chat_id, self._reply_key(first), _in_thread(first, [notice]),
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

    async def _apology(self, incoming: Incoming) -> OutMessage:
        """"Something went wrong", in the language the user chose (their profile's, or the one
        picked at the first step of registration), else their app's, else the chamber's."""
        chosen: object = None
        try:
            async with self.services.db.read() as conn:
                seen = await inbound_repo.load(conn, incoming.channel, incoming.user_id)
            chosen = seen.artisan.locale if seen.artisan is not None else seen.data.get("lang")
        except Exception:  # the apology must not fail in turn
            log.warning("apology: the user's language could not be read", exc_info=True)
        lang = chosen if isinstance(chosen, str) and chosen in self.services.translator.languages \
            else self.services.translator.supported(incoming.language_hint)
        lang = lang or self.services.settings.default_locale
        return self.render(Reply(Msg("common.error")), lang, self.services.zone)

    # -- routing ------------------------------------------------------------------------
    async def _route(self, ctx: Context) -> None:
        inc = ctx.incoming
        if inc.thread_id is not None:
            if self.router.group is not None:
                await self.router.group(ctx)
            return
        if inc.kind == "command" or (inc.kind == "text" and inc.text.startswith("/")):
            await self._command(ctx)
            return
        if inc.kind == "text":
            word = normalize(inc.text)
            keyword = self.router.keywords.get(word)
            if keyword is not None:
                await keyword(ctx)
                return
            meaning = self.interpret(ctx, inc.text)
            if meaning is not None:
                await self._act(ctx, meaning)
                return
        if inc.kind == "choice" and inc.choice_id is not None:
            await self._choice(ctx, inc.choice_id)
            return
        if inc.kind == "unsupported":
            state = self.router.states.get(ctx.state or "")
            if inc.file is not None and inc.file.kind == "voice":
                if state is not None and state.voice:
                    await self._in_state(ctx)
                    return
                if self.router.voice_note is not None:
                    await self.router.voice_note(ctx)
                    return
            elif inc.file is not None and state is not None and state.files:
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
        if choice_id in (ASK_CHAMBER, SWITCH_LANGUAGE):  # valid in any step that offered them
            action = self.router.find_action(choice_id)
            payload = action.payload.unpack(choice_id) if action is not None else None
            if action is not None and payload is not None:
                await action.handler(ctx, payload)
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
            payload = action.payload.unpack(choice_id)
            if payload is not None:
                await action.handler(ctx, payload)
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
            elif (ctx.incoming.kind == "text" and ctx.artisan is not None
                  and self.router.unplaced is not None and _is_sentence(ctx.text)
                  and _on_menu(ctx)):
                # A sentence nothing understood ("I can't come on the 15th") is something to
                # say to the chamber: offered as a question, never lost.
                await self.router.unplaced(ctx)
                return
            elif ctx.incoming.kind == "text" and ctx.data.get("_offer"):
                # A question asked outside a step (a confirmation, the menu, a card) stays on
                # screen until it is answered or cancelled.
                self._missed(ctx)
                return
            elif (ctx.incoming.kind == "text" and ctx.artisan is not None
                  and self.router.unplaced is not None):
                await self.router.unplaced(ctx)
                return
            else:
                ctx.say(Msg("common.not_understood"))
            await show_menu(ctx)
            return
        if await self._refused(ctx, state.role, state.registered):
            return
        try:
            await state.handle(ctx)
        except InvalidInput as err:
            if err.key == "common.use_buttons" and ctx.incoming.kind == "text" \
                    and ctx.data.get("_offer"):
                self._missed(ctx)
                return
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
        """What answers the choices last offered: a typed number ("2", "٢", "joj", "trois"),
        a button's label, a word that means one of them ("iyeh" → yes, "Fès" → Fès-Meknès,
        "زرابي" → carpets, see bot/understanding.py), or a label with a typo or in part
        (a training's topic)."""
        offer = [(str(pair[0]), str(pair[1])) for pair in ctx.data.get("_offer") or []]
        if not offer:
            return None
        numbered = ctx.data.get("_numbered", True)
        folded = normalize(text)
        number = _NUMBER.match(folded)
        if number and numbered:
            index = int(number.group(1)) - 1
            return offer[index][0] if 0 <= index < len(offer) else None
        for choice_id, label in offer:
            if normalize(label) == folded:
                return choice_id
        lexicon = self.services.lexicon
        if numbered:
            numbers = number_concepts(len(offer))
            said = lexicon.read(text, numbers, whole_only=True)
            if said is not None:
                return offer[numbers[said] - 1][0]
        meanings = _meanings(offer, lexicon)
        # A step that takes free text offers only back/cancel/skip: there a word must be the
        # whole answer ("retour"), never the start of a name or a title ("Retour aux sources").
        free_text = not numbered or all(m <= FREE_TEXT for m in meanings.values())
        by_concept: dict[str, set[str]] = {}
        for choice_id, concepts in meanings.items():
            for concept in concepts:
                by_concept.setdefault(concept, set()).add(choice_id)
        said = lexicon.read(text, by_concept, whole_only=free_text)
        if said is not None and len(by_concept[said]) == 1:
            return next(iter(by_concept[said]))
        if free_text:
            return None
        return lexicon.closest_label(text, [(i, label) for i, label in offer
                                            if not i.startswith("nav:")])

    def interpret(self, ctx: Context, text: str) -> tuple[str, str] | None:
        """What typed ``text`` means here, without acting on it: ``("choice", id)`` for one of
        the choices on screen (looked at first), ``("word", concept)`` for a word that works at
        every step ("annuler", "3awni"; "wakha" is not one), ``("feature", concept)`` for a
        main-menu entry named loosely outside a flow ("formation", "تكوين", "chahada")."""
        offered = self._match_offer(ctx, text)
        if offered is not None:
            return ("choice", offered)
        lexicon = self.services.lexicon
        said = lexicon.read(text, self.router.concepts, whole_only=True)
        if said is not None:
            return ("word", said)
        if ctx.state is not None or (ctx.artisan is None and ctx.role is None):
            return None
        said = lexicon.read(text, self._features(ctx))
        return ("feature", said) if said is not None else None

    def _features(self, ctx: Context) -> dict[str, Handler]:
        entries: dict[str, Handler] = {f"feature:{item.id}": item.handler
                                       for item in self.router.menu if item.shown_to(ctx)}
        if self.router.ask_chamber is not None and ctx.artisan is not None:
            entries.setdefault("feature:ask", self.router.ask_chamber)
        return entries

    async def _act(self, ctx: Context, meaning: tuple[str, str]) -> None:
        kind, value = meaning
        if kind == "choice":
            ctx.choice_id = value
            await self._choice(ctx, value)
        elif kind == "word":
            await self.router.concepts[value](ctx)
        else:
            ctx.finish()
            await self._features(ctx)[value](ctx)

    def _missed(self, ctx: Context) -> None:
        """An answer that matches nothing: the choices again, short and numbered (no apology
        paragraph, no long question); after two misses in a row, also offer to talk to the
        chamber or to switch language."""
        offer = [(str(i), str(label)) for i, label in ctx.data.get("_offer") or []
                 if i not in (ASK_CHAMBER, SWITCH_LANGUAGE)]
        choices: list[Choice] = [Choice(i, label) for i, label in offer]
        misses = ctx.misses + 1
        if misses >= 2:
            choices += [Choice(ASK_CHAMBER, Msg("understand.ask_chamber")),
                        Choice(SWITCH_LANGUAGE, Msg("understand.switch_language"))]
        labels = [ctx._label_text(c.label) for c in choices]
        lines = "\n".join(f"{n}. {html.escape(label, quote=False)}" for n, label in enumerate(labels, 1))
        key = "understand.still_not" if misses >= 2 else "understand.again"
        ctx.say(Msg(key, choices=Raw(lines)), choices, numbered=ctx.data.get("_numbered", True))
        ctx.data["_misses"] = misses

    def render(self, reply: Reply, lang: str, zone: ZoneInfo) -> OutMessage:
        return render(reply, self.services.translator, lang, zone)


def _meanings(offer: list[tuple[str, str]], lexicon: Lexicon) -> dict[str, set[str]]:
    """Each offered choice's concepts; "Darija" picks Arabic while Darija has no catalog."""
    meanings = {i: choice_concepts(i, label, lexicon) for i, label in offer}
    if "lang:ar" in meanings and "lang:ary" not in meanings:
        meanings["lang:ar"] = meanings["lang:ar"] | {"lang:ary"}
    return meanings


def _in_thread(incoming: Incoming, messages: list[OutMessage]) -> list[OutMessage]:
    """An answer to a message in a topic (of the staff group) stays in that topic."""
    if incoming.thread_id is None:
        return messages
    return [replace(m, thread_id=incoming.thread_id) for m in messages]


def _sanitize(incoming: Incoming) -> Incoming:
    if not incoming.text:
        return incoming
    return replace(incoming, text=clean_text(incoming.text))


def _is_sentence(text: str) -> bool:
    """Three words or more: a message meant for a person, not a mistyped choice."""
    return len(text.split()) >= 3


@dataclass(frozen=True)
class MenuButton(Payload):
    """A main-menu entry's button (``m:trainings``), handled in handlers/core.py."""

    prefix: ClassVar[str] = "m"
    item: str


def _on_menu(ctx: Context) -> bool:
    """The main menu is what is on screen (or nothing is): not a question awaiting its answer."""
    offered = [str(pair[0]) for pair in ctx.data.get("_offer") or []]
    return not offered or any(MenuButton.matches(choice) for choice in offered)
