"""The rules of master data: unique values (409 duplicate), references that must exist and be
enabled (422 bad_reference), and referenced data that cannot be deleted (409 referenced)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.dbs.conftest import Api
from tests.dbs.resources import BY_PATH, KINDS, REFERENCES, Kind

UNIQUE_RULES = [pytest.param(kind, fields, id=f"{kind}-{'+'.join(fields)}") for kind in KINDS for fields in kind.unique]


def _other_case(name: str, value: Any) -> Any:
    """The same free text typed differently: other letter case, surrounding blanks."""
    return f"  {value.swapcase()} " if name in ("code", "name", "spec") else value


def assert_duplicate(answer: Any, fields: tuple[str, ...]) -> None:
    assert answer.status_code == 409, answer.text
    body = answer.json()
    assert body["code"] == "duplicate"
    assert sorted(e["field"] for e in body["errors"]) == sorted(fields)
    assert {e["code"] for e in body["errors"]} == {"duplicate"}


@pytest.mark.parametrize("variant", ["same", "other-case"])
@pytest.mark.parametrize(("kind", "fields"), UNIQUE_RULES)
def test_duplicate_on_create_is_409(api: Api, kind: Kind, fields: tuple[str, ...], variant: str) -> None:
    first = kind.build(api, "Alpha")
    api.create(kind.path, first)
    second = kind.build(api, "Beta")
    copy = _other_case if variant == "other-case" else (lambda name, value: value)
    # Only the rule's fields are copied: `second` by itself is acceptable (checked below).
    assert_duplicate(api.post(kind.path, {**second, **{f: copy(f, first[f]) for f in fields}}), fields)
    assert api.count(kind.table) == 1
    api.create(kind.path, second)


@pytest.mark.parametrize(("kind", "fields"), UNIQUE_RULES)
def test_duplicate_on_update_is_409(api: Api, kind: Kind, fields: tuple[str, ...]) -> None:
    alpha = kind.build(api, "Alpha")
    alpha_id = api.create(kind.path, alpha)["id"]
    beta = kind.build(api, "Beta")
    beta_id = api.create(kind.path, beta)["id"]
    assert_duplicate(api.put(f"{kind.path}/{beta_id}", {**beta, **{f: alpha[f] for f in fields}}), fields)
    assert kind.expected(beta).items() <= api.get(f"{kind.path}/{beta_id}").json().items()
    # Saving a record with its own unique values again is no conflict with itself.
    assert api.put(f"{kind.path}/{alpha_id}", alpha).status_code == 200
    assert (
        api.put(f"{kind.path}/{alpha_id}", {**alpha, **{f: _other_case(f, alpha[f]) for f in fields}}).status_code
        == 200
    )


def _new_origin(api: Api, drug: dict[str, Any]) -> dict[str, Any]:
    return {"origin_id": api.create("drug-origins", {"name": "石药集团"})["id"]}


@pytest.mark.parametrize(
    ("path", "change"),
    [
        pytest.param("drugs", lambda api, d: {"spec": "0.5g×12粒"}, id="drug-other-spec"),
        pytest.param("drugs", lambda api, d: {"spec": ""}, id="drug-no-spec"),
        pytest.param("drugs", _new_origin, id="drug-other-origin"),
        pytest.param("charge-items", lambda api, d: {"scope": "inpatient"}, id="charge-item-other-scope"),
        pytest.param("handlers", lambda api, d: {"phone": "13700001111"}, id="handler-other-phone"),
        pytest.param("handlers", lambda api, d: {"phone": None}, id="handler-no-phone"),
    ],
)
def test_composite_rules_allow_a_difference_in_one_part(
    api: Api, path: str, change: Callable[[Api, dict[str, Any]], dict[str, Any]]
) -> None:
    kind = BY_PATH[path]
    first = kind.build(api, "Alpha")
    api.create(kind.path, first)
    second = {**first, **change(api, first)}
    if "code" in second:
        second["code"] = "OTHER1"
    api.create(kind.path, second)
    assert api.count(kind.table) == 2


@pytest.mark.parametrize("spec", [None, "", "  "])
def test_drug_without_spec_is_a_duplicate_of_another_without_spec(api: Api, spec: str | None) -> None:
    first = BY_PATH["drugs"].build(api, "Alpha")
    del first["spec"]
    api.create("drugs", first)
    assert_duplicate(api.post("drugs", {**first, "code": "OTHER1", "spec": spec}), ("name", "spec", "origin_id"))


def test_handlers_with_the_same_name_and_no_phone_are_duplicates(api: Api) -> None:
    api.create("handlers", {"name": "高峰"})
    assert_duplicate(api.post("handlers", {"name": "高峰", "phone": ""}), ("name", "phone"))


def test_duplicate_error_names_the_field_in_both_languages(api: Api) -> None:
    api.create("departments", {"code": "NK", "name": "内科", "kind": "outpatient"})
    zh = api.post("departments", {"code": "NK2", "name": "内科", "kind": "outpatient"}).json()
    assert "名称" in zh["detail"]
    en = api.post(
        "departments", {"code": "nk", "name": "外科", "kind": "outpatient"}, headers={"Accept-Language": "en"}
    ).json()
    assert "code" in en["detail"]
    assert [e["field"] for e in en["errors"]] == ["code"]


# --- deleting referenced data ------------------------------------------------------------------

REFERENCE_CASES = [pytest.param(t, p, f, id=f"{t}-used-by-{p}.{f}") for t, p, f in REFERENCES]


@pytest.mark.parametrize(("target", "path", "field"), REFERENCE_CASES)
def test_deleting_referenced_data_is_409(api: Api, target: str, path: str, field: str) -> None:
    payload = BY_PATH[path].build(api, "Alpha")
    user = api.create(path, payload)
    api.post(f"{path}/{user['id']}/disable")  # a disabled record still holds on to what it uses
    audit_before = len(api.audit_rows())

    answer = api.delete(f"{target}/{payload[field]}")
    assert answer.status_code == 409, answer.text
    assert answer.json()["code"] == "referenced"
    assert api.get(f"{target}/{payload[field]}").status_code == 200
    assert len(api.audit_rows()) == audit_before

    # Once nothing uses it any more, it can go.
    assert api.delete(f"{path}/{user['id']}").status_code == 204
    assert api.delete(f"{target}/{payload[field]}").status_code == 204


# --- references must exist and be enabled ------------------------------------------------------


def assert_bad_reference(answer: Any, field: str, code: str) -> None:
    assert answer.status_code == 422, answer.text
    body = answer.json()
    assert body["code"] == "bad_reference"
    assert [(e["field"], e["code"]) for e in body["errors"]] == [(field, code)]


@pytest.mark.parametrize(("target", "path", "field"), REFERENCE_CASES)
def test_reference_to_missing_record_is_422(api: Api, target: str, path: str, field: str) -> None:
    payload = BY_PATH[path].build(api, "Alpha")
    assert api.delete(f"{target}/{payload[field]}").status_code == 204
    assert_bad_reference(api.post(path, payload), field, "reference_missing")
    assert_bad_reference(api.post(path, {**payload, field: 987654}), field, "reference_missing")
    assert api.count(BY_PATH[path].table) == 0


@pytest.mark.parametrize(("target", "path", "field"), REFERENCE_CASES)
def test_reference_to_disabled_record_is_422(api: Api, target: str, path: str, field: str) -> None:
    payload = BY_PATH[path].build(api, "Alpha")
    api.post(f"{target}/{payload[field]}/disable")
    assert_bad_reference(api.post(path, payload), field, "reference_disabled")
    assert api.count(BY_PATH[path].table) == 0
    api.post(f"{target}/{payload[field]}/enable")
    api.create(path, payload)


@pytest.mark.parametrize(("target", "path", "field"), REFERENCE_CASES)
def test_update_may_keep_a_disabled_reference_but_not_pick_one(api: Api, target: str, path: str, field: str) -> None:
    kind = BY_PATH[path]
    payload = kind.build(api, "Alpha")
    record = api.create(path, payload)
    url = f"{path}/{record['id']}"
    name_field = kind.ref_fields()[field]
    api.post(f"{target}/{payload[field]}/disable")

    # Disabled data stays on old records: the record is still shown with it and can be edited.
    assert api.get(url).json()[name_field] == record[name_field]
    kept = api.put(url, {**payload, "name": "改过的名字"})
    assert kept.status_code == 200, kept.text
    assert (kept.json()[field], kept.json()[name_field]) == (payload[field], record[name_field])

    other = api.create(target, BY_PATH[target].build(api, "Beta"))
    api.post(f"{target}/{other['id']}/disable")
    assert_bad_reference(api.put(url, {**payload, field: other["id"]}), field, "reference_disabled")
    assert api.get(url).json()[field] == payload[field]


@pytest.mark.parametrize(("target", "path", "field"), REFERENCE_CASES)
def test_reference_name_follows_the_referenced_record(api: Api, target: str, path: str, field: str) -> None:
    kind = BY_PATH[path]
    payload = kind.build(api, "Alpha")
    record = api.create(path, payload)
    referenced = api.get(f"{target}/{payload[field]}").json()
    assert api.put(f"{target}/{referenced['id']}", {**referenced, "name": "新名字"}).status_code == 200
    name_field = kind.ref_fields()[field]
    assert api.get(f"{path}/{record['id']}").json()[name_field] == "新名字"
    assert api.items(path)[0][name_field] == "新名字"


def test_several_bad_references_are_all_named(api: Api) -> None:
    payload = BY_PATH["drugs"].build(api, "Alpha")
    api.post(f"units/{payload['unit_id']}/disable")
    answer = api.post("drugs", {**payload, "type_id": 987654})
    assert answer.status_code == 422
    assert sorted((e["field"], e["code"]) for e in answer.json()["errors"]) == [
        ("type_id", "reference_missing"),
        ("unit_id", "reference_disabled"),
    ]
