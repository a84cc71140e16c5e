"""JSON-lines logs on stdout and under var/logs, each line carrying the request id.

No log line may carry an ID-card number, a phone number or a secret (GB/T 22239 level 3, and
the logs go on to Elasticsearch where many more people read them). `scrub()` masks them in any
text; `ScrubbingFilter` applies it to every record on every handler `configure_logging()` makes,
and the supervisor passes what its children print through the same function.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import traceback
from datetime import UTC, datetime
from logging.handlers import RotatingFileHandler
from typing import Any

from shared.context import current_request_id, principal_var
from shared.settings import HampSettings

_STANDARD_ATTRS = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}

# ID cards (18 characters, or the old 15 digits) and any longer run of digits: numbers pasted
# together ("…123X4403…") are still ID cards, and no run this long is worth keeping in a log.
# Only a digit bounds the start: a URL-encoded `%3D` or `%2B` may stand right before it.
_ID_CARD = re.compile(r"(?<!\d)\d[\dXx]{14,}")
# Mobiles (optionally +86 / 86), then landlines written with their area code (010-12345678).
_MOBILE = re.compile(r"(?<!\d)(?:\+?86[- ]?)?1[3-9]\d{9}(?!\d)")
_LANDLINE = re.compile(r"(?<!\d)0\d{2,3}[- ]?\d{7,8}(?!\d)")
_BEARER = re.compile(r"(?i)\b(bearer)\s+[\w.~+/=-]+")
# Key names whose values are secrets: password, new_password, client_secret, refresh_token …
_SECRET_KEY = r"[\w-]*(?:password|passwd|secret|token)[\w-]*"
_SECRET_QUOTED = re.compile(
    rf"""(?ix)(["']{_SECRET_KEY}["'] \s* : \s*)   # "password": or 'password':
        (?: "(?:\\.|[^"\\])*" | '(?:\\.|[^'\\])*' | [^\s,}}\]]+ )"""
)
_SECRET_ASSIGNED = re.compile(rf"(?i)\b({_SECRET_KEY}(?:=|%3D))[^&\s,;'\"]*")
_SECRET_NAMED = re.compile(rf"""(?i)\b({_SECRET_KEY}\s+)(?:"[^"]*"|'[^']*')""")
_SECRET_KEY_NAME = re.compile(rf"(?i)^{_SECRET_KEY}$")
# http://user:password@host: a registry URL as py-eureka-client logs it when a server is down.
_URL_PASSWORD = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^/\s:@]*:)[^@\s/]*@")
MASK = "***"


def _mask_id_card(match: re.Match[str]) -> str:
    value = match.group(0)
    return value[:4] + "*" * (len(value) - 8) + value[-4:]


def _mask_phone(match: re.Match[str]) -> str:
    value = match.group(0)
    return value[:3] + "*" * (len(value) - 7) + value[-4:]


def scrub(text: str) -> str:
    """`text` with ID cards and phones masked the way the API masks them (1101**********1234,
    138****5678) and the values of secret-looking keys replaced by ***."""
    text = _ID_CARD.sub(_mask_id_card, text)
    text = _MOBILE.sub(_mask_phone, text)
    text = _LANDLINE.sub(_mask_phone, text)
    text = _BEARER.sub(rf"\1 {MASK}", text)
    text = _URL_PASSWORD.sub(rf"\1{MASK}@", text)
    text = _SECRET_QUOTED.sub(rf'\1"{MASK}"', text)
    text = _SECRET_ASSIGNED.sub(rf"\1{MASK}", text)
    return _SECRET_NAMED.sub(rf"\1'{MASK}'", text)


def scrub_value(value: Any, key: str = "") -> Any:
    """A structured value (an `extra` field) scrubbed: secret keys wholly, text by `scrub`."""
    if key and _SECRET_KEY_NAME.match(key) and value not in (None, ""):
        return MASK
    if value is None or isinstance(value, bool | float):
        return value
    if isinstance(value, dict):
        return {k: scrub_value(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [scrub_value(v) for v in value]
    text = value if isinstance(value, str) else str(value)
    scrubbed = scrub(text)
    # A number (or any object) that held nothing to mask stays as it was, for the JSON line.
    return value if scrubbed == text else scrubbed


class ScrubbingFilter(logging.Filter):
    """Masks personal data and secrets in a record's message, arguments, extra fields, traceback
    and stack before any handler formats it. It changes the record in place (every handler sees
    the same record, and scrubbing twice changes nothing) and never drops one."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed call: keep what can be shown of it
            message = f"{record.msg!r} {record.args!r}"
        record.msg, record.args = scrub(message), None
        for key, value in list(record.__dict__.items()):
            if key not in _STANDARD_ATTRS and not key.startswith("_"):
                record.__dict__[key] = scrub_value(value, key)
        if record.exc_info and not record.exc_text:
            record.exc_text = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
        if record.exc_text:
            record.exc_text = scrub(record.exc_text)
        if record.stack_info:
            record.stack_info = scrub(record.stack_info)
        return True


class JsonFormatter(logging.Formatter):
    def __init__(self, component: str) -> None:
        super().__init__()
        self.component = component

    def format(self, record: logging.LogRecord) -> str:
        return json.dumps(self.entry(record), ensure_ascii=False, default=str)

    def entry(self, record: logging.LogRecord) -> dict[str, Any]:
        """The line as a dict: what the file gets, and what goes to Elasticsearch."""
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "component": self.component,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = current_request_id()
        if request_id:
            entry["request_id"] = request_id
        # Who the request is for: the 日志查询 page filters by it. Scrubbed like a `username` extra
        # (the filter has run before this): an account named by a phone number is still a phone number.
        user = getattr(principal_var.get(), "username", None)
        if user:
            entry["user"] = scrub(str(user))
        for key, value in record.__dict__.items():
            if key not in _STANDARD_ATTRS and not key.startswith("_"):
                entry[key] = value
        if record.exc_text:
            entry["exc"] = record.exc_text
        elif record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = record.stack_info
        # What json.dumps(default=str) would write, so that Elasticsearch gets the file's line.
        return {key: _jsonable(value) for key, value in entry.items()}


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return str(value)


def configure_logging(settings: HampSettings) -> None:
    formatter = JsonFormatter(settings.component or "hamp")
    handlers: list[logging.Handler] = []
    # With no file, stdout is the only place a line can go.
    if settings.log_to_stdout or not settings.log_to_file:
        handlers.append(logging.StreamHandler(sys.stdout))
    if settings.log_to_file:
        settings.log_dir.mkdir(parents=True, exist_ok=True)
        handlers.append(
            RotatingFileHandler(
                settings.log_dir / f"{settings.component or 'hamp'}.log",
                maxBytes=20 * 1024 * 1024,
                backupCount=5,
                encoding="utf-8",
            )
        )
    if settings.log_elasticsearch_url:
        # Imported here: only a process that ships pays for the client.
        from shared.log_shipping import ElasticsearchHandler

        handlers.append(ElasticsearchHandler(settings, formatter.entry))
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
        if getattr(handler, "ships_logs", False):
            handler.close()  # its thread, and what it still holds, go
    for handler in handlers:
        handler.setFormatter(formatter)
        handler.addFilter(ScrubbingFilter())
        root.addHandler(handler)
    root.setLevel(settings.log_level.upper())
    # uvicorn's own handlers would print plain text next to ours.
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers = []
        logger.propagate = True
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)
    # The HTTP clients log every request URL at INFO, query string and all: noise, and the
    # place an ID card searched for would land. The filter above is the guarantee; this is quiet.
    for name in ("httpx", "httpx2", "httpcore", "httpcore2"):
        logging.getLogger(name).setLevel(logging.WARNING)
    # The Elasticsearch client logs each request at INFO and each failed retry at WARNING; the
    # shipper says once when Elasticsearch goes away and once when it is back.
    logging.getLogger("elastic_transport").setLevel(logging.ERROR)
