"""What every answer shares: problem+json errors with the request id, language, auth, audit."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from tests.dbs.conftest import Api
from tests.dbs.resources import BY_PATH, KINDS, Kind
from tests.support.tokens import SigningKey

CJK = re.compile(r"[\u4e00-\u9fff]")
DEPARTMENT = {"code": "NK", "name": "内科", "kind": "outpatient", "location": "门诊楼二层"}


def _duplicate(api: Api, headers: dict[str, str]) -> httpx.Response:
    api.create("departments", DEPARTMENT)
    return api.post("departments", DEPARTMENT, headers=headers)


def _referenced(api: Api, headers: dict[str, str]) -> httpx.Response:
    doctor = BY_PATH["doctors"].build(api, "Alpha")
    api.create("doctors", doctor)
    return api.delete(f"departments/{doctor['department_id']}", headers=headers)


def _bad_reference(api: Api, headers: dict[str, str]) -> httpx.Response:
    return api.post("doctors", {**BY_PATH["doctors"].build(api, "Alpha"), "department_id": 987654}, headers=headers)


ERRORS: dict[str, tuple[int, Callable[[Api, dict[str, str]], httpx.Response]]] = {
    "not_found": (404, lambda api, h: api.get("departments/987654", headers=h)),
    "validation_failed": (422, lambda api, h: api.post("departments", {"kind": "clinic"}, headers=h)),
    "duplicate": (409, _duplicate),
    "referenced": (409, _referenced),
    "bad_reference": (422, _bad_reference),
    "bad_sort": (422, lambda api, h: api.get("departments", params={"sort": "bogus"}, headers=h)),
    "not_authenticated": (401, lambda api, h: api.get("departments", token=None, headers=h)),
    "permission_denied": (
        403,
        lambda api, h: api.post("departments", DEPARTMENT, token=api.token("dbs:department:read"), headers=h),
    ),
}


@pytest.mark.parametrize("code", ERRORS)
def test_errors_are_problem_json_with_the_request_id(api: Api, code: str) -> None:
    status, call = ERRORS[code]
    answer = call(api, {})
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    body = answer.json()
    assert body["status"] == status
    assert body["code"] == code
    assert body["type"].endswith(f"/{code}")
    assert body["request_id"]
    assert body["request_id"] == answer.headers["x-request-id"]
    # Chinese unless the caller asks otherwise.
    assert CJK.search(body["detail"]) and CJK.search(body["title"])
    assert all(CJK.search(e["message"]) for e in body["errors"])


@pytest.mark.parametrize("code", ERRORS)
def test_errors_in_english_on_request(api: Api, code: str) -> None:
    status, call = ERRORS[code]
    answer = call(api, {"Accept-Language": "en-US,en;q=0.9"})
    assert answer.status_code == status
    body = answer.json()
    assert body["detail"] and not CJK.search(body["detail"]), body["detail"]
    assert not CJK.search(body["title"])
    assert all(e["message"] and not CJK.search(e["message"]) for e in body["errors"])


@pytest.mark.parametrize(
    ("accept", "detail"),
    [
        (None, "科室（编号 987654）不存在"),
        ("zh-CN,zh;q=0.9", "科室（编号 987654）不存在"),
        ("de, fr", "科室（编号 987654）不存在"),
        ("en", "department 987654 not found"),
        ("fr-FR, en;q=0.5, zh;q=0.1", "department 987654 not found"),
    ],
)
def test_language_follows_accept_language(api: Api, accept: str | None, detail: str) -> None:
    headers = {"Accept-Language": accept} if accept else {}
    assert api.get("departments/987654", headers=headers).json()["detail"] == detail


def test_callers_request_id_is_kept(api: Api) -> None:
    answer = api.get("departments/987654", headers={"X-Request-ID": "req-42.a"})
    assert answer.headers["x-request-id"] == "req-42.a"
    assert answer.json()["request_id"] == "req-42.a"
    # An id that could break logs is replaced, and the answer says by what.
    answer = api.get("departments/987654", headers={"X-Request-ID": "bad id\twith spaces"})
    assert answer.headers["x-request-id"] not in ("", "bad id\twith spaces")
    assert answer.json()["request_id"] == answer.headers["x-request-id"]
    assert api.get("departments").headers["x-request-id"]


def test_unknown_path_is_problem_json_404(api: Api) -> None:
    answer = api.get("no-such-resource")
    assert answer.status_code == 404
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert answer.json()["request_id"] == answer.headers["x-request-id"]


# --- authentication and permissions ----------------------------------------------------------


def _operations(api: Api) -> list[tuple[str, str, str]]:
    """(method, path, declared permission) of every dbs operation, from the OpenAPI document."""
    paths = api.client.get("/api/dbs/openapi.json").json()["paths"]
    return [
        (method.upper(), path, operation.get("x-permission", ""))
        for path, operations in paths.items()
        if path.startswith("/api/dbs/")
        for method, operation in operations.items()
    ]


def test_every_route_declares_its_permission_and_needs_a_token(api: Api) -> None:
    everything = _operations(api)
    assert ("GET", "/api/dbs/audit-log", "dbs:audit:read") in everything
    assert ("GET", "/api/dbs/audit-log/chain", "dbs:audit:read") in everything
    operations = [o for o in everything if not o[1].startswith("/api/dbs/audit-log")]
    assert len(operations) == 7 * len(KINDS)  # list, get, create, update, disable, enable, delete
    keys = {f"/api/dbs/{kind.path}": kind.key for kind in KINDS}
    for method, path, permission in operations:
        resource = "/".join(path.split("/")[:4])
        action = "read" if method == "GET" else "write"
        assert permission == f"dbs:{keys[resource]}:{action}", (method, path)
        answer = api.request(method, path.removeprefix("/api/dbs/").replace("{record_id}", "1"), token=None, json={})
        assert answer.status_code == 401, (method, path, answer.status_code)
        assert answer.json()["code"] == "not_authenticated"
        assert answer.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize(
    ("make_token", "code"),
    [
        (lambda key: SigningKey.generate(kid=key.kid).token(["*"]), "token_invalid"),  # someone else's key
        (lambda key: SigningKey.generate().token(["*"]), "token_invalid"),  # unknown key id
        (lambda key: key.token(["*"], expires_in=-60), "token_expired"),
        (lambda key: key.token(["*"], audience="other"), "token_invalid"),
        (lambda key: key.token(["*"], issuer="someone"), "token_invalid"),
        (lambda key: key.token(["*"], typ="refresh"), "token_invalid"),
        (lambda key: "not-a-jwt", "token_invalid"),
    ],
    ids=["forged", "unknown-kid", "expired", "audience", "issuer", "refresh-token", "garbage"],
)
def test_bad_tokens_are_401(api: Api, make_token: Callable[[SigningKey], str], code: str) -> None:
    answer = api.get("departments", token=make_token(api.signing_key))
    assert answer.status_code == 401
    assert answer.json()["code"] == code


def test_read_permission_of_one_resource(api: Api) -> None:
    department = api.create("departments", DEPARTMENT)
    token = api.token("dbs:department:read")
    assert api.get("departments", token=token).json()["total"] == 1
    assert api.get(f"departments/{department['id']}", token=token).status_code == 200
    refused = [
        api.post("departments", {**DEPARTMENT, "code": "WK", "name": "外科"}, token=token),
        api.put(f"departments/{department['id']}", {**DEPARTMENT, "name": "外科"}, token=token),
        api.post(f"departments/{department['id']}/disable", token=token),
        api.delete(f"departments/{department['id']}", token=token),
        api.get("doctors", token=token),
        api.get("units", token=token),
    ]
    for answer in refused:
        assert answer.status_code == 403, answer.request.url
        assert answer.json()["code"] == "permission_denied"
    assert [(d["name"], d["enabled"]) for d in api.items("departments")] == [("内科", True)]
    assert [r["action"] for r in api.audit_rows()] == ["create"]


@pytest.mark.parametrize("kind", KINDS, ids=str)
def test_permissions_are_per_resource(api: Api, kind: Kind) -> None:
    payload = kind.build(api, "Alpha")
    read, write = api.token(f"dbs:{kind.key}:read"), api.token(f"dbs:{kind.key}:write")
    assert api.get(kind.path, token=read).status_code == 200
    assert api.post(kind.path, payload, token=read).status_code == 403
    assert api.get(kind.path, token=write).status_code == 403
    created = api.post(kind.path, payload, token=write)
    assert created.status_code == 201
    assert api.delete(f"{kind.path}/{created.json()['id']}", token=write).status_code == 204
    others = [k for k in KINDS if k is not kind]
    assert api.get(others[0].path, token=read).status_code == 403


def test_wildcard_permissions(api: Api) -> None:
    department = api.token("dbs:department:*")
    assert api.post("departments", DEPARTMENT, token=department).status_code == 201
    assert api.get("departments", token=department).status_code == 200
    assert api.get("doctors", token=department).status_code == 403
    everything = api.token("dbs:*")
    assert api.get("doctors", token=everything).status_code == 200
    assert api.post("units", {"name": "盒"}, token=everything).status_code == 201
    assert api.get("units", token=api.token("oms:*")).status_code == 403


def test_health_needs_no_token(api: Api) -> None:
    assert api.client.get("/health").status_code == 200
    assert api.client.get("/health/ready").json()["status"] == "UP"


# --- audit ---------------------------------------------------------------------------------


def test_every_write_is_audited_with_before_and_after(api: Api) -> None:
    started = datetime.now(UTC) - timedelta(seconds=2)
    answer = api.post("departments", DEPARTMENT)
    department_id = answer.json()["id"]
    url = f"departments/{department_id}"
    rows = api.audit_rows()
    assert len(rows) == 1
    row = rows[0]
    assert (row["action"], row["entity"], row["entity_id"]) == ("create", "department", str(department_id))
    assert (row["actor"], row["actor_id"]) == ("tester", 1)
    assert row["request_id"] == answer.headers["x-request-id"]
    assert row["route"] == "POST /api/dbs/departments"
    assert row["before"] is None
    assert {k: row["after"][k] for k in DEPARTMENT} == DEPARTMENT
    assert row["after"]["id"] == department_id and row["after"]["enabled"] is True
    assert started <= row["at"] <= datetime.now(UTC) + timedelta(seconds=2)

    api.put(url, {**DEPARTMENT, "name": "心内科"})
    api.post(f"{url}/disable")
    api.post(f"{url}/disable")  # already disabled: nothing changes, nothing to audit
    api.post(f"{url}/enable")
    api.delete(url)
    rows = api.audit_rows()
    assert [r["action"] for r in rows] == ["create", "update", "disable", "enable", "delete"]
    assert {r["entity_id"] for r in rows} == {str(department_id)}
    update, disable, enable, delete = rows[1:]
    assert (update["before"]["name"], update["after"]["name"]) == ("内科", "心内科")
    assert update["before"]["code"] == update["after"]["code"] == "NK"
    assert (disable["before"]["enabled"], disable["after"]["enabled"]) == (True, False)
    assert (enable["before"]["enabled"], enable["after"]["enabled"]) == (False, True)
    assert delete["before"]["name"] == "心内科" and delete["after"] is None
    assert delete["route"] == f"DELETE /api/dbs/{url}"
    assert [r["at"] for r in rows] == sorted(r["at"] for r in rows)


def test_audit_names_the_caller_and_keeps_money_exact(api: Api) -> None:
    token = api.signing_key.token(["dbs:registration_type:write"], user_id=7, username="cashier")
    answer = api.post("registration-types", {"name": "专家号", "fee": "30.5"}, token=token)
    assert answer.status_code == 201
    [row] = api.audit_rows()
    assert (row["actor"], row["actor_id"], row["entity"]) == ("cashier", 7, "registration_type")
    assert row["after"]["fee"] == "30.50"


def _duplicate_create(api: Api) -> Callable[[], httpx.Response]:
    api.create("departments", DEPARTMENT)
    return lambda: api.post("departments", {**DEPARTMENT, "code": "nk", "name": "内科二"})


def _duplicate_update(api: Api) -> Callable[[], httpx.Response]:
    api.create("departments", DEPARTMENT)
    other = api.create("departments", {**DEPARTMENT, "code": "WK", "name": "外科"})
    return lambda: api.put(f"departments/{other['id']}", {**DEPARTMENT, "code": "WK"})


def _referenced_delete(api: Api) -> Callable[[], httpx.Response]:
    doctor = BY_PATH["doctors"].build(api, "Alpha")
    api.create("doctors", doctor)
    return lambda: api.delete(f"departments/{doctor['department_id']}")


def _bad_reference_create(api: Api) -> Callable[[], httpx.Response]:
    handler = BY_PATH["handlers"].build(api, "Alpha")
    return lambda: api.post("handlers", {**handler, "department_id": 987654})


def _invalid_update(api: Api) -> Callable[[], httpx.Response]:
    department = api.create("departments", DEPARTMENT)
    return lambda: api.put(f"departments/{department['id']}", {**DEPARTMENT, "name": "外科", "phone": "not a phone"})


def _forbidden_delete(api: Api) -> Callable[[], httpx.Response]:
    department = api.create("departments", DEPARTMENT)
    return lambda: api.delete(f"departments/{department['id']}", token=api.token("dbs:department:read"))


FAILED_WRITES: dict[str, tuple[Callable[[Api], Callable[[], httpx.Response]], int]] = {
    "duplicate-create": (_duplicate_create, 409),
    "duplicate-update": (_duplicate_update, 409),
    "referenced-delete": (_referenced_delete, 409),
    "bad-reference": (_bad_reference_create, 422),
    "invalid-update": (_invalid_update, 422),
    "forbidden-delete": (_forbidden_delete, 403),
}


@pytest.mark.parametrize("case", FAILED_WRITES)
def test_failed_write_changes_nothing_and_audits_nothing(api: Api, case: str) -> None:
    set_up, status = FAILED_WRITES[case]
    failing_call = set_up(api)
    tables = ["departments", "registration_types", "doctors", "handlers", "audit_log"]
    counts = {t: api.count(t) for t in tables}
    departments = api.items("departments", sort="id")
    answer = failing_call()
    assert answer.status_code == status, answer.text
    assert {t: api.count(t) for t in tables} == counts
    assert api.items("departments", sort="id") == departments
