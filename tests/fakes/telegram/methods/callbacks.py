"""``answerCallbackQuery``: stops the spinner on the button the user pressed."""

from __future__ import annotations

from typing import Any

from tests.fakes.telegram.errors import QUERY_TOO_OLD, bad_request
from tests.fakes.telegram.limits import MAX_CALLBACK_ANSWER_LENGTH, utf16_len
from tests.fakes.telegram.params import as_bool, as_int, opt_str
from tests.fakes.telegram.state import State

JSONDict = dict[str, Any]


def answer_callback_query(state: State, params: JSONDict) -> bool:
    """Each query can be answered once (400 ``query is too old`` after); a notification text
    is at most 200 UTF-16 units."""
    query_id = opt_str(params, "callback_query_id")
    if not query_id or query_id in state.answered_ids:
        raise bad_request(QUERY_TOO_OLD)
    text = opt_str(params, "text")
    if text is not None and utf16_len(text) > MAX_CALLBACK_ANSWER_LENGTH:
        raise bad_request("MESSAGE_TOO_LONG")
    state.answered_ids.add(query_id)
    state.answered_callbacks.append(
        {
            "callback_query_id": query_id,
            "text": text,
            "show_alert": as_bool(params.get("show_alert") or False),
            "cache_time": as_int(params.get("cache_time") or 0, "cache_time"),
        }
    )
    return True
