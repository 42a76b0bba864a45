"""Keyboards: checking a ``reply_markup`` like Telegram, and flattening one for assertions."""

from __future__ import annotations

import re
from typing import Any, Final

from tests.fakes.telegram.errors import bad_request
from tests.fakes.telegram.limits import MAX_CALLBACK_DATA_BYTES, MAX_INLINE_BUTTONS
from tests.fakes.telegram.params import as_json

JSONDict = dict[str, Any]

_BUTTON_ACTIONS: Final = frozenset(
    {
        "url",
        "callback_data",
        "web_app",
        "login_url",
        "switch_inline_query",
        "switch_inline_query_current_chat",
        "switch_inline_query_chosen_chat",
        "copy_text",
        "callback_game",
        "pay",
    }
)


def reply_markup(params: JSONDict) -> JSONDict | None:
    """The request's ``reply_markup``, checked: inline keyboards (at most 100 buttons, each with
    an action; ``callback_data`` 1-64 bytes; ``url`` http(s) or tg), reply keyboards (every
    button has a text), ``remove_keyboard`` or ``force_reply``. Raises 400 like Telegram."""
    if params.get("reply_markup") in (None, ""):
        return None
    markup = as_json(params["reply_markup"], "reply keyboard markup")
    if not isinstance(markup, dict):
        raise bad_request("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" in markup:
        rows = markup["inline_keyboard"]
        if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
            raise bad_request("can't parse inline keyboard button: Array expected")
        buttons = [button for row in rows for button in row]
        for button in buttons:
            _check_inline_button(button)
        if len(buttons) > MAX_INLINE_BUTTONS:
            raise bad_request("reply markup is too long")
    elif "keyboard" in markup:
        rows = markup["keyboard"]
        if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
            raise bad_request("can't parse keyboard button: Array expected")
        for row in rows:
            for button in row:
                label = button if isinstance(button, str) else button.get("text")
                if not isinstance(label, str) or not label:
                    raise bad_request(
                        'can\'t parse keyboard button: Field "text" must be of type String'
                    )
    elif not ({"remove_keyboard", "force_reply"} & markup.keys()):
        raise bad_request("can't parse reply keyboard markup JSON object")
    return markup


def _check_inline_button(button: Any) -> None:
    if not isinstance(button, dict):
        raise bad_request(
            "can't parse inline keyboard button: InlineKeyboardButton must be an Object"
        )
    if not isinstance(button.get("text"), str):
        raise bad_request(
            'can\'t parse inline keyboard button: Field "text" must be of type String'
        )
    if not _BUTTON_ACTIONS & button.keys():
        raise bad_request(
            "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"
        )
    if "callback_data" in button:
        data = button["callback_data"]
        if (
            not isinstance(data, str)
            or not data
            or len(data.encode("utf-8")) > MAX_CALLBACK_DATA_BYTES
        ):
            raise bad_request("BUTTON_DATA_INVALID")
    if "url" in button:
        url = button["url"]
        if not isinstance(url, str) or not re.match(r"^(https?|tg)://\S+$", url, re.I):
            raise bad_request("BUTTON_URL_INVALID")


def buttons_of(markup: JSONDict | None) -> list[tuple[str, str | None]]:
    """Flatten a keyboard into ``[(label, data), ...]``, row by row.

    For an inline keyboard ``data`` is the ``callback_data`` (``None`` for URL buttons and the
    like). For a reply keyboard it is ``"request_contact"`` / ``"request_location"`` when the
    button asks for it, else ``None``.
    """
    if not markup:
        return []
    result: list[tuple[str, str | None]] = []
    for row in markup.get("inline_keyboard") or []:
        for button in row:
            result.append((str(button.get("text", "")), button.get("callback_data")))
    for row in markup.get("keyboard") or []:
        for button in row:
            if isinstance(button, str):  # Telegram accepts bare strings as reply buttons
                result.append((button, None))
                continue
            asks = next((k for k in ("request_contact", "request_location") if button.get(k)), None)
            result.append((str(button.get("text", "")), asks))
    return result
