"""Who may hold a phone number: the one rule shared by registration, the profile and the
certification's "verify my number".

A number typed by hand is a claim; a number proven (Telegram's "share my number" button, the
WhatsApp number itself) is ownership. A claim never links one account to another profile, and
never reveals whether someone else holds the number: several profiles may carry one typed number
(a family sharing a phone). When the owner proves the number, every profile that only claimed it
loses it and is told, in its own language; so a claim can never borrow the owner's certification
file or notices.
"""

from __future__ import annotations

from bot.dialogue import Context
from bot.i18n import Msg
from bot.messages import Reply
from storage import artisans as artisan_repo


async def proven(ctx: Context, artisan_id: int, phone: str) -> int:
    """``artisan_id`` proved it owns ``phone``: take the number off the profiles that only typed
    it, and tell each of them. Returns how many lost it."""
    holders = await artisan_repo.unverified_holders(ctx.conn, phone, besides=artisan_id)
    for holder in holders:
        await artisan_repo.update_fields(ctx.conn, holder.id, ctx.now, phone=None)
        await ctx.services.outbox.notify(
            ctx.conn, holder.id, Reply(Msg("reg.phone_claim_lost")), kind="phone_claim_lost",
            key=f"phone_claim_lost:{holder.id}:{artisan_id}:{int(ctx.now.timestamp())}",
        )
    return len(holders)
