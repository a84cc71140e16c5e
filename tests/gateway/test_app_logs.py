"""日志查询 (GET /api/system/app-logs) through a gateway in process, on both backends: the JSON
files under var/logs (embedded) and a real Elasticsearch the gateway ships its own lines to
(production). The audit and security administrators may search, nobody else; the filters narrow;
nothing comes back unscrubbed, whoever wrote the line."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gateway.system.applogs.service import AppLogFilters, ElasticsearchLogs, FileLogs
from shared.errors import Unavailable
from shared.i18n import Text
from shared.settings import HampSettings
from tests.gateway.inprocess import in_process_gateway
from tests.security.conftest import InProcessGateway, User, problem_code
from tests.support.elasticsearch import ElasticsearchServer, elasticsearch_server, index_name  # noqa: F401 — the fixture
from tests.support.servers import free_port

READ = "system:applog:read"
ID_CARD = "11010519491231002X"
MOBILE = "13912345678"


@pytest.fixture(scope="module")
def restored_logging() -> Iterator[None]:
    """The gateway's configure_logging() takes over the root logger: put it back afterwards."""
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    yield
    for handler in list(root.handlers):
        root.removeHandler(handler)
        if getattr(handler, "ships_logs", False):
            handler.close()
    for handler in saved[0]:
        root.addHandler(handler)
    root.setLevel(saved[1])


def _line(ts: str, level: str, component: str, message: str, **extra: Any) -> str:
    entry = {"ts": ts, "level": level, "component": component, "logger": f"hamp.{component}", "message": message}
    return json.dumps({**entry, **extra}, ensure_ascii=False)


# Lines other components wrote, older than anything the gateway writes during the test. The last
# one was written before scrubbing existed (or by a hand): it must still come back masked.
OMS = [
    _line("2026-01-02T08:00:00.000+00:00", "INFO", "oms", "挂号成功 MZ0001", request_id="r-1", user="doctor.li"),
    _line("2026-01-02T09:00:00.000+00:00", "ERROR", "oms", "收费失败 MZ0002", request_id="r-2", user="cashier.wu"),
    _line("2026-01-02T10:00:00.000+00:00", "WARNING", "oms", f"patient {ID_CARD} phone {MOBILE}", request_id="r-3"),
]
OMS_ROTATED = [_line("2026-01-01T23:00:00.000+00:00", "INFO", "oms", "yesterday's line", request_id="r-0")]
DBS = [
    _line("2026-01-02T09:30:00.000+00:00", "INFO", "dbs", "科室已保存", request_id="r-9", username="doctor.li"),
    '{"ts": "2026-01-02T09:45:00.000+00:00", "level": "ERROR", "comp',  # cut short by a crash
]


@pytest.fixture(scope="module")
def files_gw(tmp_path_factory: pytest.TempPathFactory, restored_logging: None) -> Iterator[InProcessGateway]:
    var_dir = tmp_path_factory.mktemp("gateway")
    logs = var_dir / "logs"
    logs.mkdir()
    (logs / "oms.log").write_text("\n".join(OMS) + "\n")
    (logs / "oms.log.1").write_text("\n".join(OMS_ROTATED) + "\n")
    (logs / "dbs.log").write_text("\n".join(DBS) + "\n")
    (logs / "gateway.out").write_text("not a log line\n")
    with in_process_gateway(var_dir, log_to_file=True, log_level="INFO") as gateway:
        yield gateway


def _search(gw: InProcessGateway, token: str, **params: Any) -> dict[str, Any]:
    answer = gw.request("GET", "/api/system/app-logs", token, params=params)
    assert answer.status_code == 200, answer.text
    page: dict[str, Any] = answer.json()
    return page


def _messages(page: dict[str, Any]) -> list[str]:
    return [item["message"] for item in page["items"]]


def _builtin_holder(gw: InProcessGateway, key: str) -> User:
    roles = gw.as_admin("GET", "/api/system/roles", params={"size": 100}).json()["items"]
    role = next(r for r in roles if r["builtin"] == key)
    created, initial = gw.create_user([role["id"]])
    return gw.first_login(created["username"], initial)


def test_the_audit_and_security_administrators_may_search_the_logs_and_nobody_else(files_gw: InProcessGateway) -> None:
    for key in ("audit_admin", "security_admin"):
        holder = _builtin_holder(files_gw, key)
        assert _search(files_gw, holder.access, service="oms")["total"] == 4
    other = files_gw.ready_user(["system:login_log:read", "system:audit:read"])
    answer = files_gw.request("GET", "/api/system/app-logs", other.access)
    assert answer.status_code == 403 and problem_code(answer) == "permission_denied"
    assert files_gw.request("GET", "/api/system/app-logs").status_code == 401


def test_embedded_the_page_reads_every_component_s_files_newest_first_with_the_filters(
    files_gw: InProcessGateway,
) -> None:
    token = files_gw.ready_user([READ]).access
    # The gateway's own file: the login just made, found by the request id it answered with.
    login = files_gw.login("admin", files_gw.admin.password)
    found = _search(files_gw, token, request_id=login.headers["x-request-id"])
    assert [(i["service"], i["level"], i["user"], i["message"]) for i in found["items"]] == [
        ("gateway", "INFO", "admin", "login ok")
    ]
    assert found["items"][0]["line"]["ip"] == "127.0.0.1"

    # oms.log then its rotated oms.log.1, and dbs.log, merged newest first; the cut line as text.
    old = _search(files_gw, token, to="2026-01-03T00:00:00Z")
    assert old["total"] == 6 and _messages(old)[-1] == "yesterday's line"
    assert _messages(old)[0] == "patient 1101**********002X phone 139****5678"
    assert '"comp' in _messages(old)[1] and old["items"][1]["ts"].startswith("2026-01-02T09:45")
    assert _messages(old)[2:5] == ["科室已保存", "收费失败 MZ0002", "挂号成功 MZ0001"]

    assert _messages(_search(files_gw, token, service="oms", level="ERROR")) == ["收费失败 MZ0002"]
    assert _messages(_search(files_gw, token, user="doctor.li")) == ["科室已保存", "挂号成功 MZ0001"]
    assert _messages(_search(files_gw, token, q="挂号")) == ["挂号成功 MZ0001"]
    assert _messages(_search(files_gw, token, q="mz0002")) == ["收费失败 MZ0002"]
    window = {"from": "2026-01-02T08:30:00+00:00", "to": "2026-01-02T09:45:00+00:00"}
    assert _messages(_search(files_gw, token, **window)) == ["科室已保存", "收费失败 MZ0002"]
    paged = _search(files_gw, token, service="oms", page=2, size=3)
    assert paged["total"] == 4 and _messages(paged) == ["yesterday's line"]


def test_a_line_written_unscrubbed_comes_back_masked_in_the_row_and_the_raw_line(files_gw: InProcessGateway) -> None:
    token = files_gw.ready_user([READ]).access
    item = _search(files_gw, token, request_id="r-3")["items"][0]
    text = json.dumps(item, ensure_ascii=False)
    assert ID_CARD not in text and MOBILE not in text
    assert item["line"]["message"] == "patient 1101**********002X phone 139****5678"


def test_bad_filters_are_refused_naming_the_field(files_gw: InProcessGateway) -> None:
    token = files_gw.ready_user([READ]).access
    cases = [
        ({"from": "2026-01-02T10:00:00Z", "to": "2026-01-02T09:00:00Z"}, "to"),
        ({"page": 60, "size": 200}, "page"),
        ({"level": "LOUD"}, "level"),
    ]
    for params, field in cases:
        answer = files_gw.request("GET", "/api/system/app-logs", token, params=params)
        assert answer.status_code == 422, answer.text
        assert field in json.dumps(answer.json()["errors"]), answer.text


def test_the_file_scan_is_bounded_to_the_newest_bytes_of_each_component(tmp_path: Path) -> None:
    lines = [_line(f"2026-01-02T08:{m:02d}:00.000+00:00", "INFO", "oms", f"line {m}") for m in range(60)]
    (tmp_path / "oms.log.1").write_text("\n".join(lines[:30]) + "\n")
    (tmp_path / "oms.log").write_text("\n".join(lines[30:]) + "\n")
    size = len(lines[0]) + 1
    found, total = FileLogs(tmp_path, scan_bytes=40 * size)._search(AppLogFilters(), 0, 100)
    # The whole current file and the newest 10 lines of the rotated one (the 11th is cut at the window).
    assert total == 39 and found[0].message == "line 59" and found[-1].message == "line 21"


def test_an_unreachable_elasticsearch_is_a_503_in_chinese() -> None:
    backend = ElasticsearchLogs(HampSettings(log_elasticsearch_url=f"http://127.0.0.1:{free_port()}"))
    with pytest.raises(Unavailable) as refused:
        backend._search(AppLogFilters(), 0, 20)
    assert "日志服务" in Text.render_any(refused.value.detail, "zh")


@pytest.fixture(scope="module")
def es_gw(
    tmp_path_factory: pytest.TempPathFactory,
    restored_logging: None,
    elasticsearch_server: ElasticsearchServer,  # noqa: F811
) -> Iterator[tuple[InProcessGateway, str]]:
    index = index_name()
    settings = elasticsearch_server.platform_user().settings(index)
    with in_process_gateway(tmp_path_factory.mktemp("gateway"), log_level="INFO", **settings) as gateway:
        yield gateway, index


def _until(gw: InProcessGateway, token: str, count: int, **params: Any) -> dict[str, Any]:
    deadline = time.monotonic() + 20
    while True:
        page = _search(gw, token, **params)
        if page["total"] >= count or time.monotonic() > deadline:
            return page
        time.sleep(0.3)


def test_in_production_the_page_searches_what_every_component_shipped_to_elasticsearch(
    es_gw: tuple[InProcessGateway, str],
    elasticsearch_server: ElasticsearchServer,  # noqa: F811
) -> None:
    gw, index = es_gw
    token = gw.ready_user([READ]).access
    login = gw.login("admin", gw.admin.password)
    found = _until(gw, token, 1, request_id=login.headers["x-request-id"])
    assert [(i["service"], i["level"], i["user"], i["message"]) for i in found["items"]] == [
        ("gateway", "INFO", "admin", "login ok")
    ]
    # Another component's lines, one put there unscrubbed by some other writer.
    with elasticsearch_server.client() as es:
        for raw in OMS:
            es.index(index=f"{index}-2026.01.02", document=json.loads(raw))
        es.indices.refresh(index=f"{index}-*")

    assert _messages(_search(gw, token, service="oms", level="ERROR")) == ["收费失败 MZ0002"]
    assert _messages(_search(gw, token, user="doctor.li")) == ["挂号成功 MZ0001"]
    assert _messages(_search(gw, token, q="收费失败")) == ["收费失败 MZ0002"]
    window = {"service": "oms", "from": "2026-01-02T08:30:00+00:00", "to": "2026-01-02T10:00:00+00:00"}
    assert _messages(_search(gw, token, **window)) == ["收费失败 MZ0002"]
    oms = _search(gw, token, service="oms", size=2)
    assert oms["total"] == 3 and _messages(oms) == ["patient 1101**********002X phone 139****5678", "收费失败 MZ0002"]
    assert ID_CARD not in json.dumps(oms, ensure_ascii=False) and MOBILE not in json.dumps(oms, ensure_ascii=False)


def test_the_list_exports_like_every_list_with_the_filters_and_masked(files_gw: InProcessGateway) -> None:
    token = files_gw.ready_user([READ, "system:data:export"]).access
    columns = [{"key": "message", "label": "内容"}, {"key": "level", "label": "级别", "values": {"ERROR": "错误"}}]
    params = {"path": "/api/system/app-logs", "format": "csv", "columns": json.dumps(columns), "service": "oms"}
    answer = files_gw.request("GET", "/api/system/exports", token, params=params)
    assert answer.status_code == 200, answer.text
    rows = answer.content.decode("utf-8-sig").splitlines()
    assert rows[0] == "内容,级别" and "收费失败 MZ0002,错误" in rows and len(rows) == 5
    assert ID_CARD not in answer.text
