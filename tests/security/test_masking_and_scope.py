"""Personal data masked without `pii:read`, and a role's data scope (the token's `dept` claim)
limiting records that carry a department: in dbs directly (minted tokens), at the gateway
(users' phones, the claim a role gives) and end to end through the live gateway."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from jose import jwt
from sqlalchemy import text

from tests.dbs import resources
from tests.dbs.conftest import Api
from tests.security.conftest import (
    Gateway,
    GatewayFactory,
    InProcessGateway,
    Minter,
    problem_code,
    unique,
)

PHONE = "13812345678"
MASKED = "138****5678"
HIDDEN = "1234"  # the digits the mask hides


def _tag() -> str:
    return unique("t").split("_")[1]


@dataclass
class Org:
    d1: int
    d2: int
    doctors: dict[int, list[dict]]  # department -> doctors
    handlers: dict[int | None, list[dict]]


@pytest.fixture(scope="module")
def org(dbs_api: Api) -> Org:
    """Two departments, doctors and handlers in each (and a handler in none), phones set."""
    d1 = dbs_api.create("departments", resources.department(dbs_api, _tag()))["id"]
    d2 = dbs_api.create("departments", resources.department(dbs_api, _tag()))["id"]
    doctors: dict[int, list[dict]] = {d1: [], d2: []}
    handlers: dict[int | None, list[dict]] = {d1: [], d2: [], None: []}
    for dept, count in ((d1, 2), (d2, 1)):
        for _ in range(count):
            tag = _tag()
            doctors[dept].append(
                dbs_api.create("doctors", {**resources.doctor(dbs_api, tag), "department_id": dept, "phone": PHONE})
            )
    for dept in (d1, d2, None):
        tag = _tag()
        handlers[dept].append(
            dbs_api.create("handlers", {**resources.handler(dbs_api, tag), "department_id": dept, "phone": PHONE})
        )
    return Org(d1, d2, doctors, handlers)


# --- masking in dbs -------------------------------------------------------------------------

RESOURCES = ["doctors", "handlers"]
READ = {"doctors": "dbs:doctor:read", "handlers": "dbs:handler:read"}
WRITE = {"doctors": "dbs:doctor:write", "handlers": "dbs:handler:write"}


def _records(org: Org, path: str) -> list[dict]:
    groups = org.doctors if path == "doctors" else org.handlers
    return [r for records in groups.values() for r in records]


@pytest.mark.parametrize("path", RESOURCES)
def test_phones_are_masked_without_pii_read(dbs_api: Api, mint: Minter, org: Org, path: str) -> None:
    token = mint([READ[path]])
    listed = dbs_api.get(path, token=token, params={"size": 100}).json()["items"]
    ids = {r["id"] for r in _records(org, path)}
    assert {r["phone"] for r in listed if r["id"] in ids} == {MASKED}
    assert all("*" in r["phone"] for r in listed if r["phone"])
    one = _records(org, path)[0]
    assert dbs_api.get(f"{path}/{one['id']}", token=token).json()["phone"] == MASKED


@pytest.mark.parametrize("path", RESOURCES)
def test_phones_are_shown_with_pii_read(dbs_api: Api, mint: Minter, org: Org, path: str) -> None:
    token = mint([READ[path], "pii:read"])
    listed = dbs_api.get(path, token=token, params={"size": 100}).json()["items"]
    ids = {r["id"] for r in _records(org, path)}
    assert {r["phone"] for r in listed if r["id"] in ids} == {PHONE}
    one = _records(org, path)[0]
    assert dbs_api.get(f"{path}/{one['id']}", token=token).json()["phone"] == PHONE


def _editable(record: dict, path: str) -> dict:
    fields = (*resources.BY_PATH[path].required, "phone", "introduction", "registration_type_id", "department_id")
    return {k: v for k, v in record.items() if k in fields}


@pytest.mark.parametrize("path", RESOURCES)
def test_sending_the_masked_phone_back_keeps_the_stored_number(dbs_api: Api, mint: Minter, org: Org, path: str) -> None:
    token = mint([READ[path], WRITE[path]])
    record = _records(org, path)[0]
    seen = dbs_api.get(f"{path}/{record['id']}", token=token).json()
    assert seen["phone"] == MASKED
    last = dbs_api.audit_rows()[-1]["id"]
    answer = dbs_api.put(f"{path}/{record['id']}", {**_editable(seen, path), "name": f"{seen['name']}改"}, token=token)
    assert answer.status_code == 200, answer.text
    assert answer.json()["phone"] == MASKED
    assert dbs_api.get(f"{path}/{record['id']}").json()["phone"] == PHONE  # as the superadmin sees it
    (row,) = [r for r in dbs_api.audit_rows() if r["id"] > last]
    assert row["before"]["phone"] == row["after"]["phone"] == PHONE


@pytest.mark.parametrize("path", RESOURCES)
def test_another_masked_value_is_refused(dbs_api: Api, mint: Minter, org: Org, path: str) -> None:
    token = mint([READ[path], WRITE[path]])
    record = _records(org, path)[0]
    seen = dbs_api.get(f"{path}/{record['id']}", token=token).json()
    answer = dbs_api.put(f"{path}/{record['id']}", {**_editable(seen, path), "phone": "139****5678"}, token=token)
    assert answer.status_code == 422, answer.text
    assert [e["field"] for e in answer.json()["errors"]] == ["phone"]
    assert dbs_api.get(f"{path}/{record['id']}").json()["phone"] == PHONE


@pytest.mark.parametrize("path", RESOURCES)
def test_a_masked_value_on_create_is_refused(dbs_api: Api, mint: Minter, org: Org, path: str) -> None:
    payload = getattr(resources, path.rstrip("s"))(dbs_api, _tag())
    before = dbs_api.count(path)
    for token in (mint([WRITE[path]]), mint([WRITE[path], "pii:read"]), dbs_api.superadmin_token):
        answer = dbs_api.post(path, {**payload, "phone": MASKED}, token=token)
        assert answer.status_code == 422, answer.text
        assert [e["field"] for e in answer.json()["errors"]] == ["phone"]
    assert dbs_api.count(path) == before


def test_searching_does_not_reveal_masked_digits(dbs_api: Api, mint: Minter, org: Org) -> None:
    assert dbs_api.get("handlers", params={"q": HIDDEN}).json()["total"] >= 1  # the superadmin finds them
    found = dbs_api.get("handlers", token=mint(["dbs:handler:read"]), params={"q": HIDDEN}).json()
    assert found["total"] == 0


def test_the_audit_log_masks_phones_without_pii_read(dbs_api: Api, mint: Minter, org: Org) -> None:
    rows = dbs_api.get("audit-log", token=mint(["dbs:audit:read"]), params={"entity": "doctor", "size": 100})
    phones = {(r["after"] or {}).get("phone") for r in rows.json()["items"]}
    assert PHONE not in phones


# --- data scope in dbs ----------------------------------------------------------------------


def _scoped(mint: Minter, departments: list[int], *permissions: str) -> str:
    return mint(list(permissions), user_id=5, username="scoped", dept=departments)


def test_lists_show_only_the_departments_in_scope(dbs_api: Api, mint: Minter, org: Org) -> None:
    token = _scoped(mint, [org.d1], "dbs:doctor:read", "dbs:handler:read")
    doctors = dbs_api.get("doctors", token=token, params={"size": 100}).json()
    assert {d["id"] for d in doctors["items"]} == {d["id"] for d in org.doctors[org.d1]}
    assert doctors["total"] == len(org.doctors[org.d1])
    handlers = dbs_api.get("handlers", token=token, params={"size": 100}).json()
    assert {h["id"] for h in handlers["items"]} == {h["id"] for h in org.handlers[org.d1]}
    # Filters and search stay inside the scope.
    other = org.doctors[org.d2][0]
    assert dbs_api.get("doctors", token=token, params={"q": other["code"]}).json()["total"] == 0
    # Without a dept claim: every department.
    everyone = dbs_api.get("doctors", token=mint(["dbs:doctor:read"]), params={"size": 100}).json()
    assert everyone["total"] == sum(len(v) for v in org.doctors.values())
    # An empty scope sees nothing; records without a department are not scoped.
    assert dbs_api.get("doctors", token=_scoped(mint, [], "dbs:doctor:read")).json()["total"] == 0
    departments = dbs_api.get("departments", token=_scoped(mint, [org.d1], "dbs:department:read")).json()
    assert {org.d1, org.d2} <= {d["id"] for d in departments["items"]}


def test_a_record_outside_the_scope_is_not_found(dbs_api: Api, mint: Minter, org: Org) -> None:
    token = _scoped(mint, [org.d1], "dbs:doctor:read", "dbs:doctor:write")
    other = org.doctors[org.d2][0]
    last = dbs_api.audit_rows()[-1]["id"]
    for method, suffix, body in (
        ("GET", "", None),
        ("PUT", "", {**_editable(other, "doctors"), "department_id": org.d1}),
        ("POST", "/disable", None),
        ("POST", "/enable", None),
        ("DELETE", "", None),
    ):
        answer = dbs_api.request(method, f"doctors/{other['id']}{suffix}", token=token, json=body)
        assert answer.status_code == 404, f"{method} {suffix}: {answer.text}"
        assert problem_code(answer) == "not_found"
    assert dbs_api.get(f"doctors/{other['id']}").json() | {"updated_at": None} == other | {"updated_at": None}
    assert [r for r in dbs_api.audit_rows() if r["id"] > last] == []


def test_writing_into_another_department_is_refused(dbs_api: Api, mint: Minter, org: Org) -> None:
    token = _scoped(mint, [org.d1], "dbs:doctor:read", "dbs:doctor:write", "dbs:handler:write")
    payload = {**resources.doctor(dbs_api, _tag()), "department_id": org.d2}
    last = dbs_api.audit_rows()[-1]["id"]  # after the payload's own references were made
    refused = dbs_api.post("doctors", payload, token=token)
    assert refused.status_code == 403, refused.text
    assert problem_code(refused) == "outside_data_scope"
    assert [e["field"] for e in refused.json()["errors"]] == ["department_id"]

    mine = org.doctors[org.d1][0]
    moved = dbs_api.put(f"doctors/{mine['id']}", {**_editable(mine, "doctors"), "department_id": org.d2}, token=token)
    assert moved.status_code == 403 and problem_code(moved) == "outside_data_scope"
    assert dbs_api.get(f"doctors/{mine['id']}").json()["department_id"] == org.d1

    nowhere = dbs_api.post("handlers", {"name": f"无科室{_tag()}", "department_id": None}, token=token)
    assert nowhere.status_code == 403 and problem_code(nowhere) == "outside_data_scope"
    assert [r for r in dbs_api.audit_rows() if r["id"] > last] == []

    created = dbs_api.post("doctors", {**payload, "department_id": org.d1}, token=token)
    assert created.status_code == 201, created.text


# --- at the gateway -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def gw(gateway_factory: GatewayFactory) -> InProcessGateway:
    return gateway_factory(api_burst=1000)


def _viewer(gw: InProcessGateway, *permissions: str) -> str:
    return gw.ready_user(list(permissions)).access


@pytest.fixture(scope="module")
def person(gw: InProcessGateway) -> dict:
    created, _ = gw.create_user([], phone=PHONE, real_name="有电话的人")
    return created


def test_users_phones_are_masked_without_pii_read(gw: InProcessGateway, person: dict) -> None:
    assert person["phone"] == PHONE  # the creator (superadmin) sees it
    plain = _viewer(gw, "system:user:read")
    listed = gw.request("GET", "/api/system/users", plain, params={"q": person["username"]}).json()["items"]
    assert [u["phone"] for u in listed] == [MASKED]
    assert gw.request("GET", f"/api/system/users/{person['id']}", plain).json()["phone"] == MASKED

    revealing = _viewer(gw, "system:user:read", "pii:read")
    listed = gw.request("GET", "/api/system/users", revealing, params={"q": person["username"]}).json()["items"]
    assert [u["phone"] for u in listed] == [PHONE]
    assert gw.request("GET", f"/api/system/users/{person['id']}", revealing).json()["phone"] == PHONE


def test_a_users_masked_phone_sent_back_keeps_the_number(gw: InProcessGateway, person: dict) -> None:
    editor = _viewer(gw, "system:user:read", "system:user:write")
    seen = gw.request("GET", f"/api/system/users/{person['id']}", editor).json()
    body = {"real_name": "改了名字", "phone": seen["phone"], "department_id": None, "role_ids": []}
    answer = gw.request("PUT", f"/api/system/users/{person['id']}", editor, json=body)
    assert answer.status_code == 200, answer.text
    assert answer.json()["phone"] == MASKED
    assert gw.as_admin("GET", f"/api/system/users/{person['id']}").json()["phone"] == PHONE
    refused = gw.request("PUT", f"/api/system/users/{person['id']}", editor, json={**body, "phone": "139****5678"})
    assert refused.status_code == 422
    assert [e["field"] for e in refused.json()["errors"]] == ["phone"]


def test_searching_users_does_not_reveal_masked_digits(gw: InProcessGateway, person: dict) -> None:
    plain = _viewer(gw, "system:user:read")
    assert gw.request("GET", "/api/system/users", plain, params={"q": HIDDEN}).json()["total"] == 0


def test_users_phones_are_encrypted_and_found_by_the_full_number_only(gw: InProcessGateway, person: dict) -> None:
    with gw.engine.connect() as connection:
        stored = connection.execute(text("SELECT phone FROM users WHERE id = :id"), {"id": person["id"]}).scalar_one()
        audit = connection.execute(text("SELECT before, after FROM audit_log WHERE entity = 'user'")).all()
    assert stored.startswith("e1:") and PHONE not in stored
    assert PHONE not in str(audit)
    for permissions, shown in ((("system:user:read",), MASKED), (("system:user:read", "pii:read"), PHONE)):
        viewer = _viewer(gw, *permissions)
        found = gw.request("GET", "/api/system/users", viewer, params={"q": PHONE}).json()["items"]
        assert [(u["id"], u["phone"]) for u in found] == [(person["id"], shown)]
        for part in (MASKED, PHONE[:-1], HIDDEN):
            assert gw.request("GET", "/api/system/users", viewer, params={"q": part}).json()["total"] == 0, part


def test_the_operation_log_masks_users_phones_without_pii_read(gw: InProcessGateway, person: dict) -> None:
    auditor = _viewer(gw, "system:audit:read")
    rows = gw.request("GET", "/api/system/audit-log", auditor, params={"entity": "user", "size": 100}).json()
    assert rows["items"]
    assert PHONE not in str([(r["before"], r["after"]) for r in rows["items"]])


def _dept_claim(gw: InProcessGateway, roles: list[dict[str, Any]], **fields: Any) -> list[int] | None:
    created, initial = gw.create_user([r["id"] for r in roles], **fields)
    user = gw.first_login(created["username"], initial)
    return jwt.get_unverified_claims(user.access).get("dept")


def test_a_roles_data_scope_becomes_the_tokens_dept_claim(gw: InProcessGateway) -> None:
    every = gw.create_role(["system:user:read"], "all")
    chosen = gw.create_role(["system:user:read"], "departments", [7, 5])
    own = gw.create_role(["system:user:read"], "own")
    assert _dept_claim(gw, [every], department_id=3) is None
    assert _dept_claim(gw, [chosen], department_id=3) == [5, 7]
    assert _dept_claim(gw, [own], department_id=3) == [3]
    assert _dept_claim(gw, [own]) == []  # "own" without a department: nothing
    assert _dept_claim(gw, [own, chosen], department_id=3) == [3, 5, 7]
    assert _dept_claim(gw, [chosen, every], department_id=3) is None  # one "all" role wins


def test_a_departments_scope_needs_departments(gw: InProcessGateway) -> None:
    body = {"name": unique("role"), "permissions": ["system:user:read"], "data_scope": "departments"}
    answer = gw.as_admin("POST", "/api/system/roles", json=body)
    assert answer.status_code == 422
    assert [e["field"] for e in answer.json()["errors"]] == ["department_ids"]


# --- end to end through the live gateway ----------------------------------------------------


def _create(gw: Gateway, path: str, body: dict) -> dict:
    answer = gw.as_admin("POST", f"/api/dbs/{path}", json=body)
    assert answer.status_code == 201, answer.text
    return answer.json()


def test_scope_and_masking_through_the_gateway(live_gateway: Gateway) -> None:
    gw = live_gateway
    depts = [
        _create(gw, "departments", {"code": f"S{_tag()}", "name": f"科{_tag()}", "kind": "outpatient"}) for _ in "ab"
    ]
    reg = _create(gw, "registration-types", {"name": f"号{_tag()}", "fee": "10"})
    doctors = {
        d["id"]: _create(
            gw,
            "doctors",
            {
                "code": f"D{_tag()}",
                "name": "医生",
                "sex": "male",
                "title": "attending",
                "department_id": d["id"],
                "registration_type_id": reg["id"],
                "phone": PHONE,
            },
        )
        for d in depts
    }
    mine, theirs = depts[0]["id"], depts[1]["id"]
    user = gw.ready_user(["dbs:doctor:read"], data_scope="departments", department_ids=[mine])
    assert jwt.get_unverified_claims(user.access)["dept"] == [mine]
    listed = gw.request("GET", "/api/dbs/doctors", user.access, params={"size": 100}).json()["items"]
    assert [d["id"] for d in listed] == [doctors[mine]["id"]]
    assert listed[0]["phone"] == MASKED
    assert gw.request("GET", f"/api/dbs/doctors/{doctors[theirs]['id']}", user.access).status_code == 404
    assert gw.as_admin("GET", f"/api/dbs/doctors/{doctors[theirs]['id']}").json()["phone"] == PHONE
