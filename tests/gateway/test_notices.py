"""通知公告 through a gateway in process: a notice to one role reaches that role's holders only,
opening it records one receipt however often it is opened, the publisher sees who read it, a
withdrawn notice leaves the inboxes, and bad input is refused naming the field with nothing written."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.gateway.inprocess import in_process_gateway
from tests.security.conftest import InProcessGateway, User, problem_code

PUBLISHER = ["system:notice:read", "system:notice:write"]


@pytest.fixture(scope="module")
def gw(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessGateway]:
    with in_process_gateway(tmp_path_factory.mktemp("gateway")) as gateway:
        yield gateway


def _inbox(gw: InProcessGateway, user: User, **params: object) -> list[dict]:
    answer = gw.request("GET", "/api/system/notices/inbox", user.access, params=params)
    assert answer.status_code == 200, answer.text
    return answer.json()["items"]


def _unread(gw: InProcessGateway, user: User) -> dict:
    answer = gw.request("GET", "/api/system/notifications/unread-count", user.access)
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_a_notice_to_one_role_reaches_its_holders_only_and_counts_each_reader_once(gw: InProcessGateway) -> None:
    nurses = gw.create_role([])
    clerks = gw.create_role([])
    first, second = (gw.first_login(*_created(gw, nurses["id"])) for _ in range(2))
    clerk = gw.first_login(*_created(gw, clerks["id"]))
    publisher = gw.ready_user(PUBLISHER)
    body = {"title": "护理部例会", "body": "周五下午三点，护理部会议室。", "audience": "chosen"}
    body["role_ids"] = [nurses["id"]]

    created = gw.request("POST", "/api/system/notices", publisher.access, json={**body, "publish": True})
    assert created.status_code == 201, created.text
    notice = created.json()
    assert (notice["status"], notice["audience_count"], notice["read_count"]) == ("published", 2, 0)

    assert [n["title"] for n in _inbox(gw, first)] == ["护理部例会"]
    assert _inbox(gw, clerk) == []
    assert _unread(gw, first)["notices"] == 1 and _unread(gw, clerk)["notices"] == 0
    # Not addressed to the clerk: not even by its number.
    assert gw.request("POST", f"/api/system/notices/inbox/{notice['id']}/read", clerk.access).status_code == 404

    opened = [gw.request("POST", f"/api/system/notices/inbox/{notice['id']}/read", first.access) for _ in range(3)]
    assert all(a.status_code == 200 for a in opened)
    assert len({a.json()["read_at"] for a in opened}) == 1, "the first opening is the receipt"
    assert _unread(gw, first)["notices"] == 0 and _inbox(gw, first, unread=True) == []

    receipts = gw.request("GET", f"/api/system/notices/{notice['id']}/receipts", publisher.access).json()
    assert (receipts["audience_count"], receipts["read_count"]) == (2, 1)
    assert [r["username"] for r in receipts["read"]] == [first.username]
    assert [r["username"] for r in receipts["unread"]] == [second.username]

    audit = [r for r in gw.audit_rows() if r["entity"] == "notice" and r["entity_id"] == str(notice["id"])]
    assert [r["action"] for r in audit] == ["create"] and audit[0]["actor"] == publisher.username

    withdrawn = gw.request("POST", f"/api/system/notices/{notice['id']}/withdraw", publisher.access)
    assert withdrawn.status_code == 200 and withdrawn.json()["status"] == "withdrawn"
    assert _inbox(gw, second) == [] and _unread(gw, second)["notices"] == 0
    again = gw.request("POST", f"/api/system/notices/{notice['id']}/withdraw", publisher.access)
    assert (again.status_code, problem_code(again)) == (409, "notice_not_published")


def test_a_draft_reaches_nobody_until_published_to_everyone(gw: InProcessGateway) -> None:
    reader = gw.first_login(*_created(gw, gw.create_role([])["id"]))
    draft = gw.as_admin("POST", "/api/system/notices", json={"title": "系统升级", "body": "今晚 22:00 停机一小时。"})
    assert draft.status_code == 201 and draft.json()["status"] == "draft"
    assert "系统升级" not in [n["title"] for n in _inbox(gw, reader)]

    published = gw.as_admin("POST", f"/api/system/notices/{draft.json()['id']}/publish")
    assert published.status_code == 200, published.text
    assert "系统升级" in [n["title"] for n in _inbox(gw, reader)]


def test_bad_input_names_the_field_and_writes_nothing(gw: InProcessGateway) -> None:
    publisher = gw.ready_user(PUBLISHER)
    before = gw.as_admin("GET", "/api/system/notices").json()["total"]

    nobody = gw.request(
        "POST", "/api/system/notices", publisher.access, json={"title": "通知", "body": "内容", "audience": "chosen"}
    )
    assert nobody.status_code == 422
    assert nobody.headers["content-type"].startswith("application/problem+json")
    assert [e["field"] for e in nobody.json()["errors"]] == ["role_ids"]

    unknown = gw.request(
        "POST",
        "/api/system/notices",
        publisher.access,
        json={"title": "通知", "body": "内容", "audience": "chosen", "role_ids": [999999]},
    )
    assert unknown.status_code == 422 and [e["field"] for e in unknown.json()["errors"]] == ["role_ids"]

    empty = gw.request("POST", "/api/system/notices", publisher.access, json={"title": "", "body": "内容"})
    assert empty.status_code == 422 and "title" in str(empty.json()["errors"])
    assert gw.as_admin("GET", "/api/system/notices").json()["total"] == before


def test_only_publishers_write_and_a_department_scoped_one_only_to_their_departments(gw: InProcessGateway) -> None:
    reader = gw.first_login(*_created(gw, gw.create_role([])["id"]))
    refused = gw.request("POST", "/api/system/notices", reader.access, json={"title": "t", "body": "b"})
    assert (refused.status_code, problem_code(refused)) == (403, "permission_denied")

    scoped = gw.ready_user(PUBLISHER, data_scope="departments", department_ids=[3])
    to_all = gw.request("POST", "/api/system/notices", scoped.access, json={"title": "t", "body": "b"})
    assert to_all.status_code == 403 and [e["field"] for e in to_all.json()["errors"]] == ["audience"]
    other = {"title": "t", "body": "b", "audience": "chosen", "department_ids": [4]}
    assert gw.request("POST", "/api/system/notices", scoped.access, json=other).status_code == 403
    own = gw.request("POST", "/api/system/notices", scoped.access, json={**other, "department_ids": [3]})
    assert own.status_code == 201, own.text


def _created(gw: InProcessGateway, role_id: int) -> tuple[str, str]:
    user, initial = gw.create_user([role_id])
    return user["username"], initial
