"""``/staff``: admins list, add and remove staff members (by their channel user id).

A new member's id is what ``/whoami`` shows them. Admins listed in the settings
(``HIRFA_TELEGRAM__ADMIN_IDS``, ``HIRFA_WHATSAPP__ADMIN_NUMBERS``) are granted again at every
start, so removing one here only lasts until the next restart: the list says so (each channel
knows its own, see :meth:`bot.channel_services.Channel.settings_admin`). Nobody can remove
themselves. Everything requires the ``admin`` role, re-checked at every step.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import ClassVar

from bot.dialogue import Context, MenuItem, Router, State, Step, nav_choices
from bot.errors import InvalidInput
from bot.i18n import Msg, Raw
from bot.messages import Choice
from bot.payloads import Payload
from storage import staff as staff_repo

router = Router()
ADMIN = "admin"


class Staff(Step):
    ADD_ID = "staff.add_id"
    ADD_ROLE = "staff.add_role"
    REMOVE = "staff.remove"


_USER_ID = re.compile(r"^\+?\d{3,20}$")


@dataclass(frozen=True)
class AddMember(Payload):
    prefix: ClassVar[str] = "st:add"


@dataclass(frozen=True)
class RemoveMember(Payload):
    """Remove a member (asks to confirm): their channel and user id there."""

    prefix: ClassVar[str] = "st:rm"
    channel: str
    user_id: str


async def show_staff(ctx: Context, intro: Msg | None = None) -> None:
    ctx.finish()
    if intro is not None:
        ctx.say(intro)
    members = sorted(await staff_repo.members(ctx.conn), key=lambda m: (m[2] != ADMIN, m[0], m[1]))
    lines = []
    choices = [Choice(AddMember(), Msg("staff.add_button"))]
    me = (ctx.incoming.channel, ctx.incoming.user_id)
    for channel, external_id, role in members:
        from_settings = ctx.services.channels.settings_admin(channel, external_id)
        lines.append(ctx.render(Msg(
            "staff.line", channel=channel, user_id=external_id, role=Msg(f"core.role_{role}"),
            note=Msg("staff.from_settings") if from_settings else "",
        )))
        if (channel, external_id) != me:
            choices.append(Choice(RemoveMember(channel, external_id),
                                  Msg("staff.remove_button", user_id=external_id)))
    ctx.say(Msg("staff.list", n=len(members), members=Raw("\n".join(lines))), choices)


def _announce(ctx: Context, channel: str, user_id: str, role: str | None) -> None:
    """Tell the channels a role changed (Telegram updates that chat's "/" menu)."""
    ctx.services.channels.role_changed(channel, user_id, role)


@router.command("staff", role=ADMIN, describe="cmd.staff")
async def cmd_staff(ctx: Context) -> None:
    await show_staff(ctx)


@router.action(AddMember, role=ADMIN)
async def start_add(ctx: Context, _: AddMember) -> None:
    ctx.finish()
    await ctx.goto(Staff.ADD_ID)


async def ask_id(ctx: Context) -> None:
    ctx.say(Msg("staff.ask_id"), nav_choices(), numbered=False)


async def take_id(ctx: Context) -> None:
    value = re.sub(r"\s", "", ctx.text) if ctx.incoming.kind == "text" else ""
    if not _USER_ID.match(value):
        raise InvalidInput("staff.id_invalid")
    await ctx.goto(Staff.ADD_ROLE, staff_id=value.lstrip("+"))


async def ask_role(ctx: Context) -> None:
    ctx.say(Msg("staff.ask_role", user_id=str(ctx.data.get("staff_id", ""))),
            [Choice("st:role:staff", Msg("core.role_staff")), Choice("st:role:admin", Msg("core.role_admin")),
             *nav_choices()])


async def take_role(ctx: Context) -> None:
    role = (ctx.choice_id or "").removeprefix("st:role:")
    user_id = str(ctx.data.get("staff_id", ""))
    if role not in staff_repo.ROLES or not _USER_ID.match(user_id):
        raise InvalidInput("common.use_buttons")
    by = f"{ctx.incoming.channel}:{ctx.incoming.user_id}"
    await staff_repo.grant(ctx.conn, ctx.incoming.channel, user_id, role, ctx.now, by)
    _announce(ctx, ctx.incoming.channel, user_id, role)
    await show_staff(ctx, Msg("staff.added", user_id=user_id, role=Msg(f"core.role_{role}")))


router.state(State(Staff.ADD_ID, ask_id, take_id, role=ADMIN))
router.state(State(Staff.ADD_ROLE, ask_role, take_role, back=Staff.ADD_ID, role=ADMIN))


@router.action(RemoveMember, role=ADMIN)
async def start_remove(ctx: Context, button: RemoveMember) -> None:
    channel, external_id = button.channel, button.user_id
    role = await staff_repo.role_of(ctx.conn, channel, external_id)
    if role is None or (channel, external_id) == (ctx.incoming.channel, ctx.incoming.user_id):
        ctx.say(Msg("common.stale"))
        await show_staff(ctx)
        return
    ctx.finish()
    await ctx.goto(Staff.REMOVE, staff_channel=channel, staff_id=external_id)


async def ask_remove(ctx: Context) -> None:
    ctx.say(Msg("staff.remove_confirm", user_id=str(ctx.data.get("staff_id", ""))),
            [Choice("st:rmok", Msg("staff.remove_yes")), *nav_choices(back=False)])


async def take_remove(ctx: Context) -> None:
    if ctx.choice_id != "st:rmok":
        raise InvalidInput("common.use_buttons")
    channel, user_id = str(ctx.data.get("staff_channel", "")), str(ctx.data.get("staff_id", ""))
    if (channel, user_id) == (ctx.incoming.channel, ctx.incoming.user_id):
        raise InvalidInput("staff.not_yourself")
    removed = await staff_repo.revoke(ctx.conn, channel, user_id)
    if removed:
        _announce(ctx, channel, user_id, None)
    await show_staff(ctx, Msg("staff.removed" if removed else "common.stale", user_id=user_id))


router.state(State(Staff.REMOVE, ask_remove, take_remove, role=ADMIN))


router.menu_item(MenuItem("staff", "bc.menu_team", cmd_staff, order=75, role=ADMIN))
