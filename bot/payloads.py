"""What a button carries: small typed classes packed into its id and read back checked.

A button that stays valid outside a step (a session card's "Enrol", a reminder's "I'll come")
carries what its handler needs in its id, e.g. ``s:enrol:42``. Each kind of button is one
:class:`Payload` subclass, a frozen dataclass with a ``prefix`` and typed fields (``int`` or
``str``)::

    @dataclass(frozen=True)
    class Enrol(Payload):
        prefix: ClassVar[str] = "s:enrol"
        session_id: int

    Choice(Enrol(42), Msg("sess.btn_enrol"))      # the id "s:enrol:42"

    @router.action(Enrol, registered=True)
    async def ask_enrol(ctx: Context, button: Enrol) -> None: ...

The engine unpacks a pressed id before calling the handler, so a handler only ever sees a
well-formed value; a malformed, forged or outdated id (``s:enrol:abc``, ``s:enrol:``,
``s:enrol:1:2``) gets "this button is no longer available" from the engine. Well-formed does
not mean allowed: handlers still re-check the ids against the database and the user's rights.

The id is the prefix and the fields joined by ``:``. An int is digits only (``0`` … ``ID_MAX``,
:mod:`bot.numbers`); a str is non-empty and without ``:``. Packing checks what the platforms
carry: Telegram's ``callback_data`` is 1-64 bytes of UTF-8 (WhatsApp's reply ids allow more), so
a payload that would not fit raises when it is packed, at the place that built it.
"""

from __future__ import annotations

import dataclasses
import typing
from typing import ClassVar, Self

from bot.messages import MAX_CHOICE_ID_BYTES
from bot.numbers import ID_MAX, parse_int

SEPARATOR = ":"


class PayloadError(ValueError):
    """A payload that cannot be packed: a field of the wrong kind, or an id too long."""


@dataclasses.dataclass(frozen=True)
class Payload:
    """Base of button payloads: subclasses set ``prefix`` and declare int/str fields."""

    prefix: ClassVar[str]

    def pack(self) -> str:
        """The button id: ``prefix:field:field``; raises :class:`PayloadError` if it cannot be
        read back or is longer than a Telegram button carries."""
        parts = [self.prefix]
        for name, kind in fields_of(type(self)):
            value = getattr(self, name)
            if kind is int:
                if type(value) is not int or not 0 <= value <= ID_MAX:
                    raise PayloadError(f"{type(self).__name__}.{name}={value!r}: not an id")
            elif not isinstance(value, str) or not value or SEPARATOR in value:
                raise PayloadError(f"{type(self).__name__}.{name}={value!r}: empty or has {SEPARATOR!r}")
            parts.append(str(value))
        packed = SEPARATOR.join(parts)
        if len(packed.encode()) > MAX_CHOICE_ID_BYTES:
            raise PayloadError(f"button id {packed!r} is longer than {MAX_CHOICE_ID_BYTES} bytes")
        return packed

    @classmethod
    def matches(cls, packed: str) -> bool:
        """Whether ``packed`` is an id of this kind of button (well-formed or not)."""
        return packed == cls.prefix or packed.startswith(cls.prefix + SEPARATOR)

    @classmethod
    def unpack(cls, packed: str) -> Self | None:
        """The payload an id carries, or None when it is not one of ours: another prefix, too
        long, too few or too many fields, a field that is not a (canonical) number, ..."""
        if not cls.matches(packed) or len(packed.encode()) > MAX_CHOICE_ID_BYTES:
            return None
        own = fields_of(cls)
        rest = packed[len(cls.prefix) + 1:]
        raw = rest.split(SEPARATOR) if own else []
        if len(raw) != len(own) or (not own and packed != cls.prefix):
            return None
        values: list[int | str] = []
        for (_, kind), text in zip(own, raw, strict=True):
            if kind is int:
                number = parse_int(text, 0, ID_MAX)
                if number is None or str(number) != text:  # "٤٢", " 42" and "042" are forged
                    return None
                values.append(number)
            elif text:
                values.append(text)
            else:
                return None
        return cls(*values)


_FIELDS: dict[type[Payload], tuple[tuple[str, type], ...]] = {}


def fields_of(cls: type[Payload]) -> tuple[tuple[str, type], ...]:
    """The fields of a payload class with their kind (int or str), in order; raises TypeError
    for a class that cannot be packed (called when a handler is registered for it)."""
    known = _FIELDS.get(cls)
    if known is not None:
        return known
    prefix = getattr(cls, "prefix", "")
    if not isinstance(prefix, str) or not prefix or prefix.endswith(SEPARATOR):
        raise TypeError(f"{cls!r}: a payload class needs a prefix not ending in {SEPARATOR!r}")
    hints = typing.get_type_hints(cls)
    out = []
    for f in dataclasses.fields(cls):
        kind = hints[f.name]
        if kind not in (int, str):
            raise TypeError(f"{cls.__name__}.{f.name}: a payload field is an int or a str")
        out.append((f.name, kind))
    _FIELDS[cls] = tuple(out)
    return _FIELDS[cls]
