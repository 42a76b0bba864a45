"""Facts the demo shares between its seeders and the terminal channel.

``hirfa shell`` offers :data:`DEMO_PHONE` when the user types ``/share``, and the demo seeders
(e.g. the certification file of ``handlers/certification/demo.py``) are written for that number,
so a person trying the shell finds their demo data at once.
"""

from __future__ import annotations

DEMO_PHONE = "+212612345678"
