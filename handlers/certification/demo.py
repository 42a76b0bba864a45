"""Sample applications for ``hirfa shell --demo``: several stages, one with the demo phone.

The demo user shares ``+212612345678`` (``/share``) while registering; that verified phone is
the one on application ``VAEP-2026-0001``, so "My certification" shows it at once, summoned to
the practical test in ten days. The others can be found as staff (the demo user is an admin):
``/certs VAEP-2026-0002`` or ``/certs BE654321``.
"""

from __future__ import annotations

from datetime import time, timedelta

from bot.demo import DEMO_PHONE
from bot.dialogue import Services
from handlers.certification.changes import SOURCE_IMPORT, Change
from handlers.certification.parsing import to_utc
from storage import certifications as repo

AUTHOR = "import:demo-register.xlsx"


async def seed(services: Services) -> None:
    """Create the sample applications (once: numbers already there are left alone)."""
    now = services.clock.now()
    zone = services.zone
    today = now.astimezone(zone).date()
    tests_at = to_utc(today + timedelta(days=10), time(9, 0), zone)
    collect_at = to_utc(today + timedelta(days=5), time(10, 0), zone)
    samples = [
        ("VAEP-2026-0001", "BK123456", DEMO_PHONE, "Amina Benali", "zellige",
         [("submitted", 60, None), ("eligible", 30, None)],
         Change("summoned", today - timedelta(days=3),
                "Apportez vos outils et une pièce de votre travail.", tests_at,
                "Institut de formation aux métiers de l'artisanat, Salé")),
        ("VAEP-2026-0002", "BE654321", "+212661234567", "Youssef El Idrissi", "pottery",
         [("submitted", 20, None)], Change("eligible", today - timedelta(days=2))),
        ("VAEP-2026-0003", "JA112233", "+212662345678", "Fatima Zahra Alaoui", "embroidery",
         [("submitted", 45, None)],
         Change("ineligible", today - timedelta(days=10),
                "Moins de 3 ans d'expérience justifiée.")),
        ("VAEP-2026-0004", "CD445566", "+212663456789", "Hassan Ouali", "joinery",
         [("submitted", 90, None), ("eligible", 60, None), ("summoned", 30, None),
          ("assessed", 15, None), ("passed", 7, None)],
         Change("certificate_ready", today - timedelta(days=1), None, collect_at,
                "Chambre d'artisanat, bureau 3, Rabat")),
        ("VAEP-2026-0005", "EE778899", "+212664567890", "Khadija Tazi", "tailoring",
         [("submitted", 10, None)], Change("submitted", today - timedelta(days=10))),
    ]
    async with services.db.transaction() as conn:
        for number, cnie, phone, name, craft, earlier, current in samples:
            if await repo.by_number(conn, number) is not None:
                continue
            app_id = await repo.create(
                conn, now, number=number, cnie=cnie, phone=phone, full_name=name, craft=craft,
                stage=current.stage, stage_date=current.stage_date, note=current.note,
                summons_at=current.summons_at, summons_place=current.summons_place,
            )
            for code, days_ago, note in earlier:
                await repo.add_history(
                    conn, app_id, stage=code, stage_date=today - timedelta(days=days_ago),
                    at=now - timedelta(days=days_ago), note=note, author=AUTHOR,
                    source=SOURCE_IMPORT,
                )
            await repo.add_history(
                conn, app_id, stage=current.stage, stage_date=current.stage_date, at=now,
                note=current.note, summons_at=current.summons_at,
                summons_place=current.summons_place, author=AUTHOR, source=SOURCE_IMPORT,
            )
