"""How updates reach the bot: ``getUpdates`` (long polling) or a webhook (``setWebhook``,
``deleteWebhook``). The webhook is recorded, never called: tests POST to Hirfa's endpoint."""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from tests.fakes.telegram.errors import WEBHOOK_CONFLICT, ApiError, bad_request
from tests.fakes.telegram.params import as_bool, as_int, as_json, opt_str
from tests.fakes.telegram.state import State

JSONDict = dict[str, Any]


@dataclass
class Described:
    """A result with the top-level ``description`` Telegram adds to some answers."""

    value: Any
    description: str


def get_updates(state: State, params: JSONDict) -> list[JSONDict]:
    """Updates from ``offset`` on (which confirms the earlier ones), ``limit`` at most 100;
    409 while a webhook is set. Long polling is the transports' business."""
    if state.webhook is not None:
        raise ApiError(409, WEBHOOK_CONFLICT)
    offset = as_int(params.get("offset") or 0, "offset")
    limit = min(max(as_int(params.get("limit") or 100, "limit"), 1), 100)
    if offset > 0:
        state.updates = [u for u in state.updates if u["update_id"] >= offset]
    elif offset < 0:
        state.updates = state.updates[offset:]
    state.updates_changed.notify_all()
    return copy.deepcopy(state.updates[:limit])


def set_webhook(state: State, params: JSONDict) -> Described:
    """Like Telegram: HTTPS on port 443, 80, 88 or 8443; a secret token of 1-256 of
    ``A-Za-z0-9_-``; an empty URL removes the webhook."""
    url = opt_str(params, "url") or ""
    if not url:
        state.webhook = None
        return Described(True, "Webhook was deleted")
    parts = urlsplit(url)
    if parts.scheme != "https":
        raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
    if (parts.port or 443) not in (80, 88, 443, 8443):
        raise bad_request("bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443")
    secret = opt_str(params, "secret_token")
    if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", secret):
        raise bad_request("bad webhook: secret token contains unallowed characters")
    allowed = params.get("allowed_updates")
    state.webhook = {
        "url": url,
        "secret_token": secret,
        "allowed_updates": as_json(allowed, "allowed updates") if allowed else None,
        "drop_pending_updates": as_bool(params.get("drop_pending_updates") or False),
    }
    if state.webhook["drop_pending_updates"]:
        state.updates.clear()
    return Described(True, "Webhook was set")


def delete_webhook(state: State, params: JSONDict) -> Described:
    existed = state.webhook is not None
    state.webhook = None
    if as_bool(params.get("drop_pending_updates") or False):
        state.updates.clear()
    return Described(True, "Webhook was deleted" if existed else "Webhook is already deleted")
