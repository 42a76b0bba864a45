"""Sample sessions for ``hirfa shell --demo`` (a temporary database): one for each common case
(matching the demo artisan's craft, full with a wait-list, text only in French)."""

from __future__ import annotations

from datetime import time, timedelta

from bot.dialogue import Services
from handlers.sessions.parsing import local_to_utc
from storage import artisans as artisan_repo
from storage import enrolments as enrolment_repo
from storage import sessions as session_repo

SAMPLES = (
    {
        "days": 3, "at": time(10, 0), "minutes": 180, "capacity": 12, "craft": "zellige", "region": "MS",
        "venue": "Dar Al Maâlem, Marrakech", "lat": 31.6295, "lon": -7.9811,
        "title": {"ar": "تقنيات تقطيع الزليج", "fr": "Techniques de taille du zellige",
                  "en": "Zellige cutting techniques"},
        "description": {"ar": "ورشة تطبيقية مع معلم زلايجي.", "fr": "Atelier pratique avec un maâlem.",
                        "en": "Hands-on workshop with a master craftsman."},
    },
    {
        "days": 6, "at": time(9, 30), "minutes": 120, "capacity": 2, "craft": "pottery", "region": "FM",
        "venue": "Complexe artisanal, Fès", "lat": None, "lon": None, "full": True,
        "title": {"ar": "السلامة في ورشات الفخار", "fr": "Sécurité dans l'atelier de poterie",
                  "en": "Safety in the pottery workshop"},
        "description": {},
    },
    {
        "days": 10, "at": time(15, 0), "minutes": 90, "capacity": 30, "craft": None, "region": None,
        "venue": "Chambre d'artisanat, Casablanca", "lat": None, "lon": None,
        "title": {"fr": "Vendre ses produits en ligne"},
        "description": {"fr": "Photos, prix, livraison : les bases du commerce en ligne."},
    },
)


async def seed_demo(services: Services) -> None:
    now = services.clock.now()
    zone = services.zone
    today = now.astimezone(zone).date()
    async with services.db.transaction() as conn:
        for sample in SAMPLES:
            starts_at = local_to_utc(today + timedelta(days=int(str(sample["days"]))),
                                     sample["at"], zone)  # type: ignore[arg-type]
            session_id = await session_repo.create(
                conn, now, title=sample["title"], description=sample["description"],
                craft=sample["craft"], region=sample["region"], venue=sample["venue"],
                latitude=sample["lat"], longitude=sample["lon"], starts_at=starts_at,
                ends_at=starts_at + timedelta(minutes=int(str(sample["minutes"]))),
                capacity=sample["capacity"], created_by="demo",
            )
            if sample.get("full"):
                for number in (1, 2):
                    artisan_id = await artisan_repo.create(
                        conn, now, full_name=f"Artisan démo {number}", locale="fr", craft="pottery",
                        region="FM", consent_at=now,
                    )
                    await enrolment_repo.enrol(conn, session_id, artisan_id, now)
