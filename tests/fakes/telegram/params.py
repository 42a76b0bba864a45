"""Reading request parameters the way Telegram does.

Values arrive as JSON natives (JSON bodies) or as strings (form and multipart bodies, PTB's
``RequestData.json_parameters``, where lists and objects are JSON-encoded); Telegram accepts
both, so every reader here does too.
"""

from __future__ import annotations

import json
from typing import Any

from tests.fakes.telegram.errors import ApiError, bad_request

JSONDict = dict[str, Any]


def as_int(value: Any, name: str) -> int:
    """An integer parameter (``"42"`` or ``42``); 400 ``invalid <name> specified`` else."""
    if isinstance(value, bool):
        raise bad_request(f"invalid {name} specified")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            pass
    raise bad_request(f"invalid {name} specified")


def as_float(value: Any) -> float | None:
    """A number parameter, or ``None`` if it is not one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def as_bool(value: Any) -> bool:
    """A boolean parameter (``"true"``/``"1"`` or a JSON boolean)."""
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1")
    return bool(value)


def as_json(value: Any, what: str) -> Any:
    """A list or object parameter, JSON-encoded or not; 400 ``can't parse <what> JSON object``."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            raise bad_request(f"can't parse {what} JSON object") from None
    return value


def opt_str(params: JSONDict, name: str) -> str | None:
    """A string parameter, or ``None`` when absent."""
    value = params.get(name)
    if value is None:
        return None
    return value if isinstance(value, str) else str(value)


def chat_id(params: JSONDict) -> int:
    """The numeric ``chat_id`` (no ``@channel`` usernames: Hirfa only writes to known chats)."""
    value = params.get("chat_id")
    if value is None or value == "":
        raise bad_request("chat_id is empty")
    if isinstance(value, str) and value.startswith("@"):
        raise bad_request("chat not found")
    try:
        return as_int(value, "chat_id")
    except ApiError:
        raise bad_request("chat not found") from None
