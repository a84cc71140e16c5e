"""Per-request context: request id, language and caller, readable from anywhere (logs, audit)."""

from __future__ import annotations

import re
import uuid
from contextvars import ContextVar
from typing import Any

request_id_var: ContextVar[str] = ContextVar("request_id", default="")
language_var: ContextVar[str] = ContextVar("language", default="zh")
# The authenticated caller (shared.auth.Principal) of the current request, for audit and logs.
principal_var: ContextVar[Any] = ContextVar("principal", default=None)
route_var: ContextVar[str] = ContextVar("route", default="")
# The caller's bearer token, passed on when this service calls another on their behalf.
token_var: ContextVar[str] = ContextVar("token", default="")

_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


def new_request_id(incoming: str | None = None) -> str:
    """Keep a caller's well-formed X-Request-ID so one id follows a request across services."""
    if incoming and _VALID_REQUEST_ID.match(incoming):
        return incoming
    return uuid.uuid4().hex


def current_request_id() -> str:
    return request_id_var.get()


def current_language() -> str:
    return language_var.get()


def current_route() -> str:
    return route_var.get()
