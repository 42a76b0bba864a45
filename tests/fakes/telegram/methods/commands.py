"""The bot itself: ``getMe``, and its command menus (``setMyCommands``, ``deleteMyCommands``) per
scope and language."""

from __future__ import annotations

import re
from typing import Any

from tests.fakes.telegram.errors import bad_request
from tests.fakes.telegram.identity import bot_user
from tests.fakes.telegram.limits import MAX_COMMANDS
from tests.fakes.telegram.params import as_json, opt_str
from tests.fakes.telegram.state import State

JSONDict = dict[str, Any]


def get_me(state: State, params: JSONDict) -> JSONDict:
    return bot_user()


def _menu_key(params: JSONDict) -> tuple[str, str]:
    """``(scope, language)``: ``"default"`` or e.g. ``"chat:42"``; ``""`` for no language."""
    scope = as_json(params.get("scope"), "scope") if params.get("scope") else None
    key = "default"
    if scope:
        if not isinstance(scope, dict) or "type" not in scope:
            raise bad_request("can't parse scope JSON object")
        key = str(scope["type"]) + "".join(
            f":{scope[extra]}" for extra in ("chat_id", "user_id") if extra in scope
        )
    language = opt_str(params, "language_code") or ""
    if language and not re.fullmatch(r"[a-z]{2}", language):  # two-letter ISO 639-1 only
        raise bad_request("LANGUAGE_CODE_INVALID")
    return key, language


def _forget(state: State, key: tuple[str, str]) -> None:
    state.scoped_commands.pop(key, None)
    if key[0] == "default":
        state.commands.pop(key[1], None)


def set_my_commands(state: State, params: JSONDict) -> bool:
    """Commands are 1-32 of ``a-z0-9_``, descriptions 1-256 characters, 100 at most; an empty
    list deletes the menu, like ``deleteMyCommands``."""
    commands = as_json(params.get("commands"), "commands")
    if not isinstance(commands, list):
        raise bad_request("can't parse commands JSON object")
    cleaned: list[JSONDict] = []
    for command in commands:
        if not isinstance(command, dict):
            raise bad_request("can't parse BotCommand JSON object")
        name = command.get("command")
        description = command.get("description")
        if not isinstance(name, str) or not re.fullmatch(r"[a-z0-9_]{1,32}", name):
            raise bad_request("BOT_COMMAND_INVALID")
        if not isinstance(description, str) or not 1 <= len(description.strip()) <= 256:
            raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
        cleaned.append({"command": name, "description": description})
    if len(cleaned) > MAX_COMMANDS:
        raise bad_request("too many commands")
    key = _menu_key(params)
    if not cleaned:
        _forget(state, key)
        return True
    state.scoped_commands[key] = cleaned
    if key[0] == "default":
        state.commands[key[1]] = cleaned
    return True


def delete_my_commands(state: State, params: JSONDict) -> bool:
    _forget(state, _menu_key(params))
    return True
