"""The audience count the console shows is the database's count of exactly the recipients a
broadcast would go to: one chat per artisan, the most recently active one that has not blocked
the bot (a regression guard for moving that rule into SQL for the 50,000-artisan count)."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import insert

from storage.audience import Audience, reach, recipients
from storage.schema import artisans, identities
from tests.harness import Harness


async def test_count_and_recipients_pick_the_same_chat_for_each_artisan(tmp_path: Path) -> None:
    async with Harness.open(tmp_path) as h:
        now = h.clock.now()
        earlier = now - timedelta(days=3)
        # (region, opted out, identities: (channel, blocked, last active))
        people: list[tuple[str, bool, list[tuple[str, bool, datetime | None]]]] = [
            ("MS", False, [("telegram", False, earlier), ("whatsapp", False, now)]),  # → whatsapp
            ("MS", False, [("telegram", False, earlier), ("whatsapp", True, now)]),  # → telegram
            ("MS", False, [("telegram", True, now)]),  # → nobody (unreachable)
            ("MS", False, [("whatsapp", False, None), ("telegram", False, None)]),  # → newest: telegram
            ("MS", True, [("telegram", False, now)]),  # opted out
            ("FM", False, [("telegram", False, now)]),  # another region
        ]
        async with h.app.db.transaction() as conn:
            for n, (region, opted_out, chats) in enumerate(people, start=1):
                result = await conn.execute(
                    insert(artisans).values(
                        full_name=f"A{n}",
                        region=region,
                        locale="fr",
                        opted_out=opted_out,
                        created_at=now,
                        updated_at=now,
                    )
                )
                key = result.inserted_primary_key
                assert key is not None
                artisan_id = int(key[0])
                for k, (channel, blocked, active) in enumerate(chats):
                    await conn.execute(
                        insert(identities).values(
                            channel=channel,
                            external_id=f"{n}{k}",
                            artisan_id=artisan_id,
                            chat_id=f"{n}{k}",
                            blocked=blocked,
                            created_at=now,
                            last_inbound_at=active,
                        )
                    )
        async with h.app.db.read() as conn:
            audience = Audience.from_json({"regions": ["MS"]})
            chosen = await recipients(conn, audience)
            counted = await reach(conn, audience)
            everyone = await reach(conn, Audience())
        assert [(r.artisan_id, r.channel, r.chat_id) for r in chosen] == [
            (1, "whatsapp", "11"),
            (2, "telegram", "20"),
            (3, "", ""),
            (4, "telegram", "41"),
        ]
        assert counted.by_channel == {"telegram": 2, "whatsapp": 1}
        assert counted.unreachable == 1 and counted.opted_out == 1 and counted.total == 4
        assert everyone.total == 5 and everyone.by_channel == {"telegram": 3, "whatsapp": 1}
