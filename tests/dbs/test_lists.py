"""Lists: paging, sorting, searching with `q`, filtering by `enabled`."""

from __future__ import annotations

from typing import Any

import pytest

from tests.dbs.conftest import Api
from tests.dbs.resources import BY_PATH, KINDS, Kind


def names(api: Api, path: str, **params: Any) -> list[str]:
    return [item["name"] for item in api.items(path, **params)]


def test_pages_split_the_list_and_total_counts_all(api: Api) -> None:
    expected = [f"单位{i:02d}" for i in range(7)]
    for name in [expected[i] for i in (3, 0, 6, 1, 5, 2, 4)]:
        api.create("units", {"name": name})
    pages = [api.get("units", params={"page": p, "size": 3, "sort": "name"}).json() for p in (1, 2, 3, 4)]
    assert [(p["total"], p["page"], p["size"]) for p in pages] == [(7, 1, 3), (7, 2, 3), (7, 3, 3), (7, 4, 3)]
    assert [[i["name"] for i in p["items"]] for p in pages] == [expected[:3], expected[3:6], expected[6:], []]


def test_default_page_and_size_and_stable_paging_without_sort(api: Api) -> None:
    ids = {api.create("units", {"name": f"单位{i}"})["id"] for i in range(5)}
    first = api.get("units").json()
    assert (first["total"], first["page"], first["size"], len(first["items"])) == (5, 1, 20, 5)
    seen = [i["id"] for p in (1, 2, 3) for i in api.get("units", params={"page": p, "size": 2}).json()["items"]]
    assert sorted(seen) == sorted(ids)  # every record once, none twice


@pytest.mark.parametrize(
    ("param", "value"),
    [("size", 0), ("size", 201), ("size", -1), ("size", "ten"), ("page", 0), ("page", -2), ("q", "x" * 101)],
)
def test_paging_parameters_out_of_bounds_are_422(api: Api, param: str, value: Any) -> None:
    answer = api.get("units", params={param: value})
    assert answer.status_code == 422
    assert answer.json()["code"] == "validation_failed"
    assert [e["field"] for e in answer.json()["errors"]] == [param]


def test_largest_page_size_is_accepted(api: Api) -> None:
    api.create("units", {"name": "盒"})
    answer = api.get("units", params={"size": 200})
    assert answer.status_code == 200
    assert (answer.json()["size"], answer.json()["total"]) == (200, 1)


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("name", ["单位A", "单位B", "单位C"]),
        ("-name", ["单位C", "单位B", "单位A"]),
        ("created_at", ["单位B", "单位C", "单位A"]),
        ("-created_at", ["单位A", "单位C", "单位B"]),
        ("id", ["单位B", "单位C", "单位A"]),
        ("-id", ["单位A", "单位C", "单位B"]),
    ],
)
def test_sort(api: Api, sort: str, expected: list[str]) -> None:
    for name in ("单位B", "单位C", "单位A"):  # created in this order
        api.create("units", {"name": name})
    assert names(api, "units", sort=sort) == expected


def test_sort_applies_before_paging(api: Api) -> None:
    for name in ("单位B", "单位D", "单位A", "单位C"):
        api.create("units", {"name": name})
    assert names(api, "units", sort="-name", size=2, page=2) == ["单位B", "单位A"]
    assert names(api, "units", sort="-created_at", size=2, page=1) == ["单位C", "单位A"]


def test_money_sorts_by_amount(api: Api) -> None:
    for price in ("9", "100", "12.5"):
        drug = BY_PATH["drugs"].build(api, f"P{price.replace('.', '')}")
        api.create("drugs", {**drug, "price": price})
    assert [d["price"] for d in api.items("drugs", sort="price")] == ["9.00", "12.50", "100.00"]
    assert [d["price"] for d in api.items("drugs", sort="-price")] == ["100.00", "12.50", "9.00"]


@pytest.mark.parametrize(
    ("path", "sort"),
    [("units", "bogus"), ("units", "-bogus"), ("doctors", "department_name"), ("units", "metadata")],
)
def test_unknown_sort_field_is_422(api: Api, path: str, sort: str) -> None:
    answer = api.get(path, params={"sort": sort})
    assert answer.status_code == 422
    assert answer.json()["code"] == "bad_sort"
    assert [e["field"] for e in answer.json()["errors"]] == ["sort"]


def test_a_list_in_a_fixed_order_refuses_sort_rather_than_ignoring_it(api: Api) -> None:
    api.create("units", {"name": "单位A"})
    answer = api.get("audit-log", params={"sort": "-created_at"})
    assert (answer.status_code, answer.json()["code"]) == (422, "bad_sort")
    assert [e["field"] for e in answer.json()["errors"]] == ["sort"]
    assert api.get("audit-log").status_code == 200


# --- search --------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS, ids=str)
def test_search_matches_name_and_code_ignoring_case(api: Api, kind: Kind) -> None:
    alpha = api.create(kind.path, kind.build(api, "Alpha"))
    api.create(kind.path, kind.build(api, "Beta"))

    def found(q: str) -> list[int]:
        answer = api.get(kind.path, params={"q": q}).json()
        assert answer["total"] == len(answer["items"])
        return [item["id"] for item in answer["items"]]

    assert found(alpha["name"].swapcase()) == [alpha["id"]]  # the whole name, other case
    assert found("LPH") == [alpha["id"]]  # part of it
    assert found(" lph ") == [alpha["id"]]  # surrounding blanks do not count
    if "code" in alpha:
        assert alpha["code"].lower() not in alpha["name"].lower()
        assert found(alpha["code"][:-1].lower()) == [alpha["id"]]
    assert found("没有这个") == []
    assert len(found("")) == 2


@pytest.mark.parametrize(
    ("path", "field", "value", "q"),
    [
        ("departments", "location", "急诊楼一层东", "急诊楼"),
        ("drugs", "spec", "85g+30g", "85G+"),
        ("warehouses", "location", "后勤楼负一层", "负一"),
        ("suppliers", "contact", "钱经理", "钱"),
        ("suppliers", "phone", "021-62801234", "6280"),
        ("handlers", "phone", "13712345678", "1371234"),
    ],
)
def test_search_also_matches_other_text_fields(api: Api, path: str, field: str, value: str, q: str) -> None:
    kind = BY_PATH[path]
    alpha = api.create(path, {**kind.build(api, "Alpha"), field: value})
    api.create(path, kind.build(api, "Beta"))
    assert [item["id"] for item in api.items(path, q=q)] == [alpha["id"]]


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("%", ["100%纯"]),
        ("0%", ["100%纯"]),
        ("_", ["A_B"]),
        ("a_b", ["A_B"]),
        ("\\", ["C\\D"]),
        ("%%", []),
    ],
)
def test_search_wildcards_are_literal(api: Api, q: str, expected: list[str]) -> None:
    for name in ("100%纯", "100纯", "A_B", "AXB", "C\\D", "CD"):
        api.create("units", {"name": name})
    assert names(api, "units", q=q, sort="name") == expected


def test_search_enabled_filter_and_paging_combine(api: Api) -> None:
    ids = [api.create("units", {"name": f"片剂{i}"})["id"] for i in range(5)]
    api.create("units", {"name": "胶囊"})
    for record_id in ids[:3]:
        api.post(f"units/{record_id}/disable")
    answer = api.get("units", params={"q": "片剂", "enabled": "false", "size": 2, "sort": "name"}).json()
    assert answer["total"] == 3
    assert [i["name"] for i in answer["items"]] == ["片剂0", "片剂1"]
    assert names(api, "units", q="片剂", enabled="true", sort="name") == ["片剂3", "片剂4"]
    assert api.get("units", params={"enabled": "true"}).json()["total"] == 3


def test_bad_enabled_filter_is_422(api: Api) -> None:
    answer = api.get("units", params={"enabled": "maybe"})
    assert answer.status_code == 422
    assert [e["field"] for e in answer.json()["errors"]] == ["enabled"]
