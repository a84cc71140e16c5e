"""Every dbs resource: create, get, list, update, disable/enable, delete; 404s; 422 for bad input."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from tests.dbs.conftest import Api
from tests.dbs.resources import BY_PATH, KINDS, Kind

MISSING_ID = 987654


def utc(value: str) -> datetime:
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    assert parsed.utcoffset() == timedelta(0), value
    return parsed


def assert_echoes(record: dict[str, Any], kind: Kind, payload: dict[str, Any]) -> None:
    expected = kind.expected(payload)
    assert {k: record.get(k) for k in expected} == expected


def reference_names(api: Api, kind: Kind, payload: dict[str, Any]) -> dict[str, Any]:
    """`<x>_name` of every reference in `payload`, as the referenced records are named now."""
    names = {}
    for ref_field, name_field in kind.ref_fields().items():
        ref_id = payload.get(ref_field)
        names[name_field] = None if ref_id is None else api.get(f"{kind.references[ref_field]}/{ref_id}").json()["name"]
    return names


@pytest.mark.parametrize("kind", KINDS, ids=str)
def test_lifecycle(api: Api, kind: Kind) -> None:
    payload = kind.build(api, "Alpha")
    created = api.create(kind.path, payload)
    assert_echoes(created, kind, payload)
    assert isinstance(created["id"], int)
    assert created["enabled"] is True
    assert utc(created["updated_at"]) >= utc(created["created_at"])
    names = reference_names(api, kind, payload)
    assert all(names.values())
    assert {k: created[k] for k in names} == names
    record_url = f"{kind.path}/{created['id']}"

    fetched = api.get(record_url)
    assert fetched.status_code == 200
    assert_echoes(fetched.json(), kind, payload)
    assert {k: fetched.json()[k] for k in names} == names

    listed = api.get(kind.path).json()
    assert (listed["total"], listed["page"], listed["size"]) == (1, 1, 20)
    assert [item["id"] for item in listed["items"]] == [created["id"]]
    assert_echoes(listed["items"][0], kind, payload)
    assert {k: listed["items"][0][k] for k in names} == names

    changed = {**payload, **kind.edit}
    updated = api.put(record_url, changed)
    assert updated.status_code == 200, updated.text
    assert updated.json()["id"] == created["id"]
    assert_echoes(updated.json(), kind, changed)
    assert_echoes(api.get(record_url).json(), kind, changed)
    assert {k: updated.json()[k] for k in names} == reference_names(api, kind, changed)
    assert api.count(kind.table) == 1

    disabled = api.post(f"{record_url}/disable")
    assert disabled.status_code == 200
    assert disabled.json()["enabled"] is False
    assert api.get(record_url).json()["enabled"] is False
    assert [r["id"] for r in api.items(kind.path, enabled="false")] == [created["id"]]
    assert api.items(kind.path, enabled="true") == []
    assert [r["id"] for r in api.items(kind.path)] == [created["id"]]  # no filter: both

    enabled = api.post(f"{record_url}/enable")
    assert enabled.status_code == 200
    assert enabled.json()["enabled"] is True
    assert [r["id"] for r in api.items(kind.path, enabled="true")] == [created["id"]]
    assert api.items(kind.path, enabled="false") == []

    deleted = api.delete(record_url)
    assert deleted.status_code == 204
    assert deleted.content == b""
    assert api.get(record_url).status_code == 404
    assert api.delete(record_url).status_code == 404
    assert api.get(kind.path).json()["total"] == 0
    assert api.count(kind.table) == 0


@pytest.mark.parametrize("kind", KINDS, ids=str)
def test_unknown_id_is_404(api: Api, kind: Kind) -> None:
    payload = kind.build(api, "Alpha")
    url = f"{kind.path}/{MISSING_ID}"
    for method, path, body in [
        ("GET", url, None),
        ("PUT", url, payload),
        ("DELETE", url, None),
        ("POST", f"{url}/disable", None),
        ("POST", f"{url}/enable", None),
    ]:
        answer = api.request(method, path, json=body)
        assert answer.status_code == 404, (method, path, answer.text)
        assert answer.json()["code"] == "not_found"
    assert api.count(kind.table) == 0  # a PUT to an unknown id creates nothing


def assert_invalid(answer: Any, fields: dict[str, str]) -> None:
    """A 422 naming exactly `fields` ({field: pydantic error code, or "" for any})."""
    assert answer.status_code == 422, answer.text
    body = answer.json()
    assert body["code"] == "validation_failed"
    errors = {e["field"]: e["code"] for e in body["errors"]}
    assert errors.keys() == fields.keys()
    assert all(errors[f] == code for f, code in fields.items() if code)
    assert all(e["message"] for e in body["errors"])


@pytest.mark.parametrize("kind", KINDS, ids=str)
def test_missing_required_fields_are_named(api: Api, kind: Kind) -> None:
    assert_invalid(api.post(kind.path, {}), dict.fromkeys(kind.required, "missing"))
    payload = kind.build(api, "Alpha")
    assert_invalid(api.post(kind.path, {**payload, kind.required[0]: None}), {kind.required[0]: ""})
    assert api.count(kind.table) == 0


@pytest.mark.parametrize("kind", KINDS, ids=str)
def test_too_long_text_is_named(api: Api, kind: Kind) -> None:
    payload = {**kind.build(api, "Alpha"), **{name: "科" * (n + 1) for name, n in kind.max_lengths.items()}}
    assert_invalid(api.post(kind.path, payload), dict.fromkeys(kind.max_lengths, "string_too_long"))
    assert_invalid(
        api.post(kind.path, {**payload, "name": "   "}),
        {**dict.fromkeys(kind.max_lengths, "string_too_long"), "name": "string_too_short"},
    )
    assert api.count(kind.table) == 0


BAD_VALUES = [
    pytest.param(kind, name, value, id=f"{kind}-{name}-{value!r}") for kind in KINDS for name, value in kind.bad
]


@pytest.mark.parametrize(("kind", "field", "value"), BAD_VALUES)
def test_bad_value_is_422_naming_the_field(api: Api, kind: Kind, field: str, value: Any) -> None:
    answer = api.post(kind.path, {**kind.build(api, "Alpha"), field: value})
    assert_invalid(answer, {field: ""})
    assert api.count(kind.table) == 0


@pytest.mark.parametrize("kind", KINDS, ids=str)
def test_update_is_validated_like_create(api: Api, kind: Kind) -> None:
    payload = kind.build(api, "Alpha")
    created = api.create(kind.path, payload)
    url = f"{kind.path}/{created['id']}"
    missing = {k: v for k, v in payload.items() if k != kind.required[-1]}
    # PUT takes every editable field: a missing one is an error, not "leave as it is".
    assert_invalid(api.put(url, missing), {kind.required[-1]: "missing"})
    bad_field, bad_value = kind.bad[0]
    assert_invalid(api.put(url, {**payload, bad_field: bad_value}), {bad_field: ""})
    assert_echoes(api.get(url).json(), kind, payload)


@pytest.mark.parametrize("kind", KINDS, ids=str)
def test_longest_allowed_text_is_stored_whole(api: Api, kind: Kind) -> None:
    # Chinese text at the limit: the limit counts characters, and MariaDB stores them (utf8mb4).
    payload = {**kind.build(api, "Alpha"), **{name: "科" * n for name, n in kind.max_lengths.items()}}
    created = api.create(kind.path, payload)
    assert_echoes(api.get(f"{kind.path}/{created['id']}").json(), kind, payload)


@pytest.mark.parametrize(
    ("body", "field"),
    [(None, "body"), ([1, 2], "body"), ("text", "body")],
    ids=["no-body", "array", "string"],
)
def test_body_that_is_not_an_object_is_422(api: Api, body: Any, field: str) -> None:
    answer = api.post("units", body)
    assert answer.status_code == 422
    assert [e["field"] for e in answer.json()["errors"]] == [field]


def test_non_integer_id_in_path_is_422(api: Api) -> None:
    answer = api.get("units/abc")
    assert answer.status_code == 422
    assert [e["field"] for e in answer.json()["errors"]] == ["record_id"]


# --- money and ratios --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sent", "answered"),
    [
        ("12.5", "12.50"),
        ("0", "0.00"),
        (12, "12.00"),
        (0.1, "0.10"),
        (19.9, "19.90"),
        ("9999999999.99", "9999999999.99"),
    ],
)
def test_money_is_answered_as_a_two_decimal_string(api: Api, sent: Any, answered: str) -> None:
    created = api.create("registration-types", {"name": "专家号", "fee": sent})
    assert created["fee"] == answered
    assert api.get(f"registration-types/{created['id']}").json()["fee"] == answered
    assert api.items("registration-types")[0]["fee"] == answered


@pytest.mark.parametrize(("sent", "answered"), [("0", "0.00"), ("1", "1.00"), ("0.55", "0.55"), (0.7, "0.70")])
def test_ratio_is_answered_as_a_two_decimal_string(api: Api, sent: Any, answered: str) -> None:
    created = api.create("charge-types", {"name": "城乡居民医保", "reimbursement_ratio": sent})
    assert created["reimbursement_ratio"] == answered
    assert api.get(f"charge-types/{created['id']}").json()["reimbursement_ratio"] == answered


def test_drug_price_must_be_positive_but_charge_item_price_may_be_zero(api: Api) -> None:
    drug = BY_PATH["drugs"].build(api, "Alpha")
    answer = api.post("drugs", {**drug, "price": "0.00"})
    assert answer.status_code == 422
    assert [e["field"] for e in answer.json()["errors"]] == ["price"]
    item = BY_PATH["charge-items"].build(api, "Alpha")
    assert api.create("charge-items", {**item, "price": "0"})["price"] == "0.00"


# --- defaults and what the server does with what it is sent ------------------------------------


def test_defaults_of_optional_fields(api: Api) -> None:
    drug = BY_PATH["drugs"].build(api, "Alpha")
    del drug["spec"], drug["low_stock_threshold"]
    created = api.create("drugs", drug)
    assert (created["spec"], created["low_stock_threshold"]) == ("", 30)
    item = BY_PATH["charge-items"].build(api, "Alpha")
    del item["needs_exam"]
    assert api.create("charge-items", item)["needs_exam"] is False
    department = api.create("departments", {"code": "EK", "name": "儿科", "kind": "outpatient"})
    assert (department["phone"], department["location"], department["description"]) == (None, None, None)
    handler = api.create("handlers", {"name": "高峰"})
    assert (handler["phone"], handler["department_id"], handler["department_name"]) == (None, None, None)


def test_text_is_trimmed_and_an_empty_phone_is_no_phone(api: Api) -> None:
    created = api.create("departments", {"code": "  NK ", "name": " 内科  ", "kind": "outpatient", "phone": ""})
    assert (created["code"], created["name"], created["phone"]) == ("NK", "内科", None)
    supplier = api.create("suppliers", {"name": "上海医药", "phone": "021 6280 1234"})
    assert supplier["phone"] == "02162801234"


def test_a_record_as_answered_can_be_sent_back(api: Api) -> None:
    """The console PUTs what it got: read-only fields in the body are ignored, not applied."""
    payload = BY_PATH["doctors"].build(api, "Alpha")
    doctor = api.create("doctors", payload)
    other = api.create("doctors", BY_PATH["doctors"].build(api, "Beta"))
    api.post(f"doctors/{doctor['id']}/disable")
    sent = {
        **api.get(f"doctors/{doctor['id']}").json(),
        "name": "王主任",
        "id": other["id"],
        "enabled": True,
        "department_name": "假科室",
        "created_at": "2000-01-01T00:00:00Z",
    }
    answer = api.put(f"doctors/{doctor['id']}", sent)
    assert answer.status_code == 200, answer.text
    saved = api.get(f"doctors/{doctor['id']}").json()
    assert saved["name"] == "王主任"
    assert saved["enabled"] is False  # only /enable enables
    assert saved["department_name"] == "内科Alphad"
    assert abs(utc(saved["created_at"]) - utc(doctor["created_at"])) < timedelta(seconds=2)
    assert api.get(f"doctors/{other['id']}").json()["name"] == other["name"]


def test_answer_of_create_equals_what_is_read_back(api: Api) -> None:
    # Times keep their microseconds on MariaDB too (DATETIME(6)), so nothing shifts on reading.
    created = api.create("units", {"name": "盒"})
    assert api.get(f"units/{created['id']}").json() == created
    assert api.items("units") == [created]
