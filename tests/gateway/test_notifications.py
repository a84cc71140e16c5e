"""System notifications (消息通知): each occurrence raised once however often it is polled,
delivered only to the users holding its permission, closed when its thing is gone and raised
anew when it comes back; a locked account told to the security administrators, not to a clerk.

The gateway runs in process; the modules' alert lists are what a fake client answers, in the
shapes the modules' own routes answer (the routes and the gateway's grants on them are checked
against the modules' OpenAPI below), and the poll is driven by the test instead of the clock.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import insert, select

import hms.main
import pms.main
import sms.main
from gateway.auth.service_grants import SERVICE_GRANTS
from gateway.system.models import RolePermission
from gateway.system.notifications import sources
from gateway.system.notifications.models import Notification
from gateway.system.notifications.poller import poll_once
from hms.settings import HmsSettings
from pms.settings import PmsSettings
from shared.errors import Unavailable
from shared.i18n import Text
from sms.settings import SmsSettings
from tests.gateway.inprocess import in_process_gateway
from tests.security.conftest import ISOLATED, InProcessGateway, User

AMOXICILLIN = {
    "drug_id": 12, "drug_code": "XY0012", "drug_name": "阿莫西林胶囊", "drug_spec": "0.25g*24粒",
    "unit_name": "盒", "quantity": 8, "threshold": 30, "shortfall": 22,
}  # fmt: skip
LOW_STAY = {
    "id": 5, "number": "ZY20261128-00005", "patient_name": "张三", "department_id": 2, "ward_name": "内科一病区",
    "bed_number": "03", "balance": "-120.50", "low_balance": True,
}  # fmt: skip


class Modules:
    """Answers the gateway's polls as the modules would; a module in `down` does not answer."""

    def __init__(self) -> None:
        self.lists: dict[str, list[dict[str, Any]]] = {}
        self.down: set[str] = set()
        self.identities: set[str] = set()

    async def request(
        self, app: str, method: str, path: str, *, params: dict[str, Any] | None = None, identity: str = "caller"
    ) -> Any:
        self.identities.add(identity)
        if app in self.down:
            raise Unavailable(Text("服务不可用", "down"), code="dependency_unavailable")
        rows = self.lists.get(path, [])
        page, size = int((params or {})["page"]), int((params or {})["size"])
        return _Answer({"items": rows[(page - 1) * size : page * size], "total": len(rows), "page": page, "size": size})


class _Answer:
    status_code = 200

    def __init__(self, body: dict[str, Any]) -> None:
        self.body = body

    def json(self) -> Any:
        return self.body


@pytest.fixture(scope="module")
def gw(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessGateway]:
    with in_process_gateway(tmp_path_factory.mktemp("gateway"), lockout_failures=2) as gateway:
        yield gateway


def _holder(gw: InProcessGateway, permissions: list[str]) -> User:
    """A user whose one role holds `permissions` — modules' permissions that this gateway's
    catalogue cannot offer (no module runs here), so written to the role directly."""
    role = gw.create_role([])
    with gw.engine.begin() as conn:
        for permission in permissions:
            conn.execute(insert(RolePermission).values(role_id=role["id"], permission=permission))
    created, initial = gw.create_user([role["id"]])
    return gw.first_login(created["username"], initial)


def _poll(gw: InProcessGateway, modules: Modules) -> None:
    assert gw.app is not None
    gw.client.portal.call(poll_once, gw.app.state.db, modules, gw.settings)  # type: ignore[union-attr]


def _mine(gw: InProcessGateway, user: User, **params: Any) -> list[dict[str, Any]]:
    answer = gw.request("GET", "/api/system/notifications", user.access, params=params)
    assert answer.status_code == 200, answer.text
    return answer.json()["items"]


def _unread(gw: InProcessGateway, user: User) -> int:
    answer = gw.request("GET", "/api/system/notifications/unread-count", user.access)
    assert answer.status_code == 200, answer.text
    count: int = answer.json()["notifications"]
    return count


def _occurrences(gw: InProcessGateway, key: str) -> list[tuple[int, bool]]:
    """(seq, open) of each occurrence of a thing, in order."""
    with gw.engine.connect() as conn:
        rows = conn.execute(
            select(Notification.seq, Notification.closed_at).where(Notification.key == key).order_by(Notification.seq)
        )
        return [(seq, closed is None) for seq, closed in rows]


def test_low_stock_is_raised_once_for_its_holders_and_anew_after_it_cleared(gw: InProcessGateway) -> None:
    keeper = _holder(gw, ["sms:alert:read"])
    ward_clerk = _holder(gw, ["hms:deposit:read"])
    modules = Modules()
    modules.lists["/api/sms/alerts/low-stock"] = [AMOXICILLIN]

    for _ in range(3):
        _poll(gw, modules)
    assert modules.identities == {"service"}, "the gateway polls as itself, not as a user"
    assert _occurrences(gw, "sms:low_stock:12") == [(1, True)]
    [told] = _mine(gw, keeper)
    assert (told["kind"], told["link"]) == ("low_stock", "/sms/low-stock")
    assert told["title"] == "库存不足：阿莫西林胶囊 0.25g*24粒"
    assert "8盒" in told["body"] and told["read_at"] is None
    assert _unread(gw, keeper) == 1
    assert _mine(gw, ward_clerk) == [] and _unread(gw, ward_clerk) == 0
    assert gw.request("POST", f"/api/system/notifications/{told['id']}/read", ward_clerk.access).status_code == 404
    assert [n["id"] for n in _mine(gw, gw.admin)] == [told["id"]], "the superadmin holds everything"

    english = gw.request("GET", "/api/system/notifications", keeper.access, headers={"Accept-Language": "en"})
    assert english.json()["items"][0]["title"] == "Low stock: 阿莫西林胶囊 0.25g*24粒"

    read = gw.request("POST", f"/api/system/notifications/{told['id']}/read", keeper.access)
    assert read.status_code == 200 and read.json()["read_at"] is not None
    assert _unread(gw, keeper) == 0 and _mine(gw, keeper, unread=True) == []

    # sms down: its list says nothing of what is gone, so nothing closes.
    modules.lists["/api/sms/alerts/low-stock"] = []
    modules.down.add("sms")
    _poll(gw, modules)
    assert _occurrences(gw, "sms:low_stock:12") == [(1, True)]

    modules.down.clear()
    _poll(gw, modules)
    assert _occurrences(gw, "sms:low_stock:12") == [(1, False)]
    assert _mine(gw, keeper)[0]["closed_at"] is not None

    modules.lists["/api/sms/alerts/low-stock"] = [AMOXICILLIN]
    _poll(gw, modules)
    _poll(gw, modules)
    assert _occurrences(gw, "sms:low_stock:12") == [(1, False), (2, True)]
    assert _unread(gw, keeper) == 1 and len(_mine(gw, keeper)) == 2

    marked = gw.request("POST", "/api/system/notifications/read-all", keeper.access)
    assert marked.status_code == 200 and marked.json() == 1 and _unread(gw, keeper) == 0


def test_gateways_polling_at_once_raise_one_occurrence(gw: InProcessGateway) -> None:
    modules = Modules()
    modules.lists["/api/sms/alerts/expiry"] = [
        {"batch_id": 41, "drug_name": "头孢克肟片", "drug_spec": "0.1g", "batch_no": "B41", "expiry_date": "2026-12-20",
         "quantity": 15, "status": "expiring"},
    ]  # fmt: skip

    async def together() -> None:
        assert gw.app is not None
        await asyncio.gather(*(poll_once(gw.app.state.db, modules, gw.settings) for _ in range(4)))

    gw.client.portal.call(together)  # type: ignore[union-attr]
    assert _occurrences(gw, "sms:expiry:41:expiring") == [(1, True)]


def test_a_low_deposit_names_the_stay_and_bed_and_reaches_its_department_only(gw: InProcessGateway) -> None:
    in_department = _holder(gw, ["hms:deposit:read"])
    role = gw.create_role([], data_scope="departments", department_ids=[7])
    with gw.engine.begin() as conn:
        conn.execute(insert(RolePermission).values(role_id=role["id"], permission="hms:deposit:read"))
    created, initial = gw.create_user([role["id"]])
    elsewhere = gw.first_login(created["username"], initial)
    modules = Modules()
    modules.lists["/api/hms/low-balance"] = [LOW_STAY]

    _poll(gw, modules)
    [told] = [n for n in _mine(gw, in_department) if n["kind"] == "low_deposit"]
    assert told["title"] == "预交款不足：ZY20261128-00005（内科一病区 03床）"
    assert "-120.50" in told["body"]
    assert "张三" not in told["title"] + told["body"], "no patient's name in a notification"
    assert [n for n in _mine(gw, elsewhere) if n["kind"] == "low_deposit"] == []


def test_a_locked_account_is_told_to_security_administrators_not_to_a_clerk(gw: InProcessGateway) -> None:
    roles = gw.as_admin("GET", "/api/system/roles", params={"size": 100}).json()["items"]
    security = next(r for r in roles if r["builtin"] == "security_admin")
    created, initial = gw.create_user([security["id"]])
    guard = gw.first_login(created["username"], initial)
    clerk = _holder(gw, ["sms:alert:read"])
    victim = gw.ready_user([])
    before = _unread(gw, guard)

    for _ in range(2):
        assert gw.login(victim.username, "wrong-password-1").status_code == 401
    assert gw.login(victim.username, victim.password).json()["code"] == "account_locked"

    locked = [n for n in _mine(gw, guard) if n["kind"] == "account_locked"]
    assert len(locked) == 1 and victim.username in locked[0]["title"]
    assert locked[0]["link"] == "/system/users"
    assert _unread(gw, guard) == before + 1
    assert [n for n in _mine(gw, clerk) if n["kind"] == "account_locked"] == []
    key = f"system:account_locked:{victim.id}"

    _poll(gw, Modules())  # still locked: the same occurrence, nothing new
    assert _occurrences(gw, key) == [(1, True)]
    assert gw.request("POST", f"/api/system/users/{victim.id}/unlock", guard.access).status_code == 200
    _poll(gw, Modules())
    assert _occurrences(gw, key) == [(1, False)]


# The routes the gateway polls, as each module declares them, and the gateway's grants on them.
POLLED = {
    "sms": ["/api/sms/alerts/low-stock", "/api/sms/alerts/expiry", "/api/sms/outbox"],
    "pms": ["/api/pms/stock", "/api/pms/outbox"],
    "hms": ["/api/hms/low-balance", "/api/hms/outbox"],
}


def test_the_gateway_holds_exactly_the_read_permissions_of_the_lists_it_polls() -> None:
    apps = {
        "sms": sms.main.create_app(SmsSettings(**ISOLATED)),
        "pms": pms.main.create_app(PmsSettings(**ISOLATED)),
        "hms": hms.main.create_app(HmsSettings(**ISOLATED)),
    }
    needed = {"oms:outbox:read"}  # oms's outbox route is shared/outbox_admin.py's, as the others'
    for module, paths in POLLED.items():
        document = apps[module].openapi()["paths"]
        needed |= {document[p]["get"]["x-permission"] for p in paths}
    assert set(SERVICE_GRANTS["gateway"]) == needed
    assert all(p.endswith(":read") for p in needed)
    assert {s.module for s in sources.SOURCES} == {"sms", "pms", "hms", "oms"}
