"""The broadcast buttons that stay valid outside a step (see :mod:`bot.payloads`): the staff's
list, progress and report messages. Each carries a broadcast id, re-checked by its handler."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from bot.payloads import Payload


@dataclass(frozen=True)
class BroadcastButton(Payload):
    """A button about one broadcast."""

    broadcast_id: int


@dataclass(frozen=True)
class CancelScheduled(BroadcastButton):
    prefix: ClassVar[str] = "bc:cancel"


@dataclass(frozen=True)
class Stop(BroadcastButton):
    """Asks to confirm stopping a running broadcast."""

    prefix: ClassVar[str] = "bc:stop"


@dataclass(frozen=True)
class ConfirmStop(BroadcastButton):
    prefix: ClassVar[str] = "bc:stopok"


@dataclass(frozen=True)
class KeepRunning(Payload):
    prefix: ClassVar[str] = "bc:keep"


@dataclass(frozen=True)
class Report(BroadcastButton):
    prefix: ClassVar[str] = "bc:report"


@dataclass(frozen=True)
class DeliveriesCsv(BroadcastButton):
    prefix: ClassVar[str] = "bc:csv"


@dataclass(frozen=True)
class AnyBroadcast(Payload):
    """Every other ``bc:`` id (the composer's answers, pressed outside their step) is matched
    by this prefix, so that the engine refuses it to non-staff before calling it stale."""

    prefix: ClassVar[str] = "bc"
