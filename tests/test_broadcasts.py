"""Staff broadcasts through the real application: compose, preview, send, progress, report."""

from __future__ import annotations

from sqlalchemy import func, select

from handlers import broadcast_delivery
from storage.schema import outbox
from tests.harness import ADMIN, Harness

ARTISANS = (201, 202, 203)


async def send_all(h: Harness) -> None:
    """Run the job and the outbox until nothing is left (moving the fake clock as needed)."""
    for _ in range(200):
        await broadcast_delivery.tick(h.app.services)
        done = await h.drain()
        async with h.app.db.read() as conn:
            waiting = (await conn.execute(select(func.count()).select_from(outbox).where(
                outbox.c.status.in_(("pending", "sending"))))).scalar()
        if not waiting and not done:
            await broadcast_delivery.tick(h.app.services)
            await h.drain()
            return
        h.clock.advance(1.1)
    raise AssertionError("the outbox never emptied")


async def compose(h: Harness, text: str = "Salon de l'artisanat le 12 décembre") -> None:
    await h.send(ADMIN, "/broadcast")
    await h.press(ADMIN, "bc:l:fr")
    await h.send(ADMIN, text)


async def test_smoke(h: Harness) -> None:
    for user, lang in zip(ARTISANS, ("fr", "ar", "en"), strict=True):
        await h.register(user, lang)
    h.languages[ADMIN] = "fr"
    await compose(h)
    await h.press(ADMIN, "bc:preview")
    for t in h.texts(ADMIN)[-8:]:
        print("----", t)
    await h.press(ADMIN, "bc:send:1")
    await send_all(h)
    for user in ARTISANS:
        print(user, h.texts(user)[-1])
    for t in h.texts(ADMIN)[-4:]:
        print("----", t)
    print(h.api.edits)
    async with h.app.db.read() as conn:
        for r in await conn.execute(select(outbox.c.idem_key, outbox.c.status, outbox.c.last_error, outbox.c.platform_message_id, outbox.c.kind)):
            print(r)
