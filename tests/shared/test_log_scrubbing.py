"""The loggers' scrubber: ID cards, phones and secrets never reach a log line, whichever way
they travel in a record (message, arguments, extra fields, traceback), nor through what the
supervisor copies from a child's output; and validation errors do not send the input back."""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import APIRouter
from fastapi.testclient import TestClient
from pydantic import BaseModel, field_validator

from shared.app import create_app
from shared.logging import JsonFormatter, ScrubbingFilter, configure_logging, scrub
from shared.settings import HampSettings
from shared.supervisor import Child

ID_CARD = "44030419900307123X"
OLD_ID_CARD = "440304900307123"
MOBILE = "13812345678"
LANDLINE = "021-62345678"
PASSWORD = "Sec-walk-pass-9"


class Settings(HampSettings):
    component = "scrubtest"


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        (f"GET /api/oms/patients?q={ID_CARD}&page=1", "q=4403**********123X&page=1"),
        (f"q={ID_CARD.lower()}", "4403**********123x"),
        (f"/patients/{ID_CARD}/visits", "/patients/4403**********123X/visits"),
        (f"old card {OLD_ID_CARD}.", "old card 4403*******7123."),
        (f"q={ID_CARD}{ID_CARD}{MOBILE}", "q=4403*"),  # pasted together: still masked
        (f"phone={MOBILE}", "phone=138****5678"),
        (f"q=%2B86{MOBILE}", "5678"),
        (f"tel:+86 {MOBILE}", "5678"),
        (f"landline {LANDLINE}", "021*****5678"),
        (f'{{"username": "wang", "password": "{PASSWORD}"}}', '"password": "***"'),
        (f"{{'new_password': '{PASSWORD}', 'current_password': 'x'}}", "'new_password': \"***\""),
        (f"username=wang&password={PASSWORD}&x=1", "password=***&x=1"),
        (f"client_secret%3D{PASSWORD}", "client_secret%3D***"),
        (f"refresh_token={PASSWORD}", "refresh_token=***"),
        (f"user 'admin' password '{PASSWORD}'", "password '***'"),
        (f"Authorization: Bearer {PASSWORD}", "Bearer ***"),
        # py-eureka-client names the registry URL, credentials and all, when a registry is down.
        (f"Eureka server [http://hamp:{PASSWORD}@10.0.0.5:8761/eureka/] is down", "http://hamp:***@10.0.0.5:8761"),
    ],
)
def test_scrub_masks_numbers_and_secrets(text: str, shown: str) -> None:
    scrubbed = scrub(text)
    for secret in (ID_CARD, ID_CARD.lower(), OLD_ID_CARD, MOBILE, LANDLINE, PASSWORD):
        assert secret not in scrubbed
    assert shown in scrubbed
    assert scrub(scrubbed) == scrubbed  # every handler may scrub the same record again


@pytest.mark.parametrize(
    "text",
    ["request 5f0c2a9e took 12.5 ms", "order MZ20261122-00042 paid 120.50", "at 1732780000000 ms", "page=2&size=20"],
)
def test_scrub_leaves_ordinary_text_alone(text: str) -> None:
    assert scrub(text) == text


@pytest.fixture
def log_file(tmp_path: Path) -> Iterator[Path]:
    """configure_logging() writing to a file under tmp_path; the root logger restored afterwards."""
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    settings = Settings(var_dir=tmp_path, log_to_file=True, log_level="INFO")
    configure_logging(settings)
    try:
        yield settings.log_dir / "scrubtest.log"
    finally:
        for handler in list(root.handlers):
            root.removeHandler(handler)
            handler.close()
        for handler in saved[0]:
            root.addHandler(handler)
        root.setLevel(saved[1])


def _lines(path: Path) -> list[dict]:
    for handler in logging.getLogger().handlers:
        handler.flush()
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _assert_clean(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    for secret in (ID_CARD, ID_CARD.lower(), MOBILE, LANDLINE, PASSWORD):
        assert secret not in text, f"{secret} in {text}"


def test_message_args_extra_and_traceback_are_scrubbed(log_file: Path) -> None:
    log = logging.getLogger("hamp.test")
    log.info(f"searched q={ID_CARD}")
    log.info("patient %s phone %s", ID_CARD, MOBILE)
    log.info(
        "login",
        extra={
            "password": PASSWORD,
            "new_password": PASSWORD,
            "query": f"q={MOBILE}",
            "body": {"id_card": ID_CARD, "nested": [LANDLINE], "token": PASSWORD},
            "number": int(MOBILE),
        },
    )
    try:
        raise ValueError(f"duplicate id_card {ID_CARD}, password={PASSWORD}")
    except ValueError:
        log.exception("insert failed")
    log.warning("stack", stack_info=True, extra={"note": ID_CARD})

    lines = _lines(log_file)
    _assert_clean(log_file)
    assert lines[0]["message"] == "searched q=4403**********123X"
    assert lines[1]["message"] == "patient 4403**********123X phone 138****5678"
    extra = lines[2]
    assert extra["password"] == extra["new_password"] == "***"
    assert extra["query"] == "q=138****5678"
    assert extra["body"] == {"id_card": "4403**********123X", "nested": ["021*****5678"], "token": "***"}
    assert extra["number"] == "138****5678"
    assert "ValueError: duplicate id_card 4403**********123X, password=***" in lines[3]["exc"]
    assert lines[4]["note"] == "4403**********123X" and "stack" in lines[4]


def test_every_handler_scrubs(log_file: Path) -> None:
    handlers = [h for h in logging.getLogger().handlers if isinstance(h.formatter, JsonFormatter)]
    assert len(handlers) == 2  # stdout and the file
    for handler in handlers:
        assert any(isinstance(f, ScrubbingFilter) for f in handler.filters), handler
        record = logging.makeLogRecord({"msg": "phone %s", "args": (MOBILE,), "levelno": logging.INFO})
        assert handler.filter(record)
        assert json.loads(handler.format(record))["message"] == "phone 138****5678"


def test_http_client_request_lines_are_quiet(log_file: Path) -> None:
    for name in ("httpx", "httpx2", "httpcore"):
        assert not logging.getLogger(name).isEnabledFor(logging.INFO)
    # Quiet is not the guarantee: whatever such a line says still goes through the filter.
    logging.getLogger("httpx2").warning(f'HTTP Request: GET http://dbs/api/oms/patients?q={ID_CARD} "200 OK"')
    _assert_clean(log_file)
    assert "q=4403**********123X" in log_file.read_text(encoding="utf-8")


def _chatty_child(name: str) -> None:
    print(f"created patient {ID_CARD} phone {MOBILE}", flush=True)
    print(f"password={PASSWORD}", file=sys.stderr, flush=True)
    raise RuntimeError(f"lookup {ID_CARD.lower()} failed")


def test_the_supervisor_scrubs_what_a_child_prints(tmp_path: Path) -> None:
    out = tmp_path / "logs" / "child.out"
    child = Child("child", 0, "/health", dict(os.environ), out, target=_chatty_child)
    child.start()
    assert child.process is not None
    child.process.join(20)
    assert child.exit_code == 1
    deadline = time.monotonic() + 10
    while "RuntimeError" not in (out.read_text() if out.exists() else ""):
        assert time.monotonic() < deadline, "the child's output never reached its .out file"
        time.sleep(0.05)
    child.stop()
    text = out.read_text()
    for secret in (ID_CARD, ID_CARD.lower(), MOBILE, PASSWORD):
        assert secret not in text
    assert "created patient 4403**********123X phone 138****5678" in text
    assert "password=***" in text and "RuntimeError: lookup 4403**********123x failed" in text


class _Card(BaseModel):
    id_card: str
    phone: str = ""
    password: str = ""

    @field_validator("id_card", "phone", "password")
    @classmethod
    def _chatty(cls, value: str) -> str:
        # A validator that quotes what it refuses, as third-party ones often do.
        if value and not value.startswith("ok"):
            raise ValueError(f"{value} is not acceptable")
        return value


def test_validation_errors_do_not_send_the_input_back(tmp_path: Path) -> None:
    router = APIRouter()

    @router.post("/cards")
    async def create(card: _Card) -> dict:
        return {}

    app = create_app(Settings(var_dir=tmp_path, log_to_file=False), title="t", routers=[router], api_prefix="/api")
    umask = os.umask(0o022)  # the app's start sets a private one; the rest of the suite keeps its own
    try:
        with TestClient(app) as client:
            answer = client.post("/cards", json={"id_card": ID_CARD, "phone": MOBILE, "password": PASSWORD})
    finally:
        os.umask(umask)
    assert answer.status_code == 422
    for secret in (ID_CARD, MOBILE, PASSWORD):
        assert secret not in answer.text
    assert {e["field"] for e in answer.json()["errors"]} == {"id_card", "phone", "password"}
