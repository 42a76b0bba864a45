"""Broadcasts: staff write a notice to many artisans; artisans read it again from their menu.

Modules:

- :mod:`~handlers.broadcasts.compose`       ``/broadcast``: language, text, photo, audience, schedule, send
- :mod:`~handlers.broadcasts.delivery`      THE sending of a broadcast: bulk enqueue in one transaction,
  progress, stop, report (the outbox rows themselves are written by ``storage/outbox.py``)
- :mod:`~handlers.broadcasts.listing`       ``/broadcasts``: scheduled, running, done; cancel, stop, report
- :mod:`~handlers.broadcasts.announcements` the artisans' "Announcements" menu: recent notices, read again
- :mod:`~handlers.broadcasts.exports`       a broadcast's deliveries as a spreadsheet table
- :mod:`~handlers.broadcasts.stats`         ``/stats``: the chart and the same numbers as text
- :mod:`~handlers.broadcasts.cli`           ``hirfa export deliveries`` and ``hirfa stats``

Charts are drawn by :mod:`handlers.charts` (shared with the chamber's report). Storage:
``storage/broadcasts.py``, ``storage/audience.py``, ``storage/stats.py``.
"""

from __future__ import annotations

from bot.dialogue import Router
from handlers.broadcasts import announcements, cli, compose, listing, stats

router = Router()
for _part in (compose.router, listing.router, announcements.router, stats.router, cli.router):
    router.include(_part)
