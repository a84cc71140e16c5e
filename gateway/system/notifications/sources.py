"""Where occurrences come from: the modules' own alert lists, read with the gateway's service
token (its grants: gateway/auth/service_grants.py, "gateway"), and the gateway's locked accounts.

Each source answers the things it shows now, or raises `Unanswered` when it could not be read
(module down, refused, an unexpected answer): then nothing of it is closed, since a list not read
says nothing about what is gone.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.settings import GatewaySettings
from gateway.system.models import User
from gateway.system.modules import MODULES
from gateway.system.notifications.models import Kind
from gateway.system.notifications.service import Occurrence, locked_account
from shared.clock import utcnow
from shared.errors import Unavailable
from shared.i18n import Text

log = logging.getLogger("hamp.gateway.notifications")

PAGE_SIZE = 200
# A list longer than this many pages is read this far: a bound on one poll, not a business rule.
MAX_PAGES = 50
# The modules with an outbox (shared/outbox_admin.py): whose stuck messages are told.
OUTBOX_MODULES = ("oms", "hms", "sms", "pms")


class Unanswered(Exception):
    pass


class Answer(Protocol):
    status_code: int

    def json(self) -> Any: ...


class Caller(Protocol):
    """What the sources need of shared.service_client.ServiceClient."""

    async def request(
        self, app: str, method: str, path: str, *, params: dict[str, Any] | None = ..., identity: Any = ...
    ) -> Answer: ...


async def _page(client: Caller, module: str, path: str, params: dict[str, Any]) -> dict[str, Any]:
    try:
        answer = await client.request(module, "GET", path, params=params, identity="service")
    except Unavailable as exc:
        raise Unanswered(module) from exc
    if answer.status_code != 200:
        if answer.status_code in (401, 403):
            log.warning("%s refused the gateway's poll of %s (%s)", module, path, answer.status_code)
        raise Unanswered(module)
    page: dict[str, Any] = answer.json()
    return page


async def _all(client: Caller, module: str, path: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    for number in range(1, MAX_PAGES + 1):
        page = await _page(client, module, path, {**(params or {}), "page": number, "size": PAGE_SIZE})
        items += page["items"]
        if not page["items"] or len(items) >= page["total"]:
            return items
    # Read in part, the rest would look gone and be closed: better not to judge this round.
    log.warning("%s %s has more than %d rows; not polled", module, path, MAX_PAGES * PAGE_SIZE)
    raise Unanswered(module)


def _drug(row: dict[str, Any], name: str, spec: str) -> str:
    return f"{row[name]} {row[spec]}".strip() if row.get(spec) else str(row[name])


async def sms_low_stock(client: Caller, settings: GatewaySettings) -> list[Occurrence]:
    rows = await _all(client, "sms", "/api/sms/alerts/low-stock")
    found = []
    for r in rows:
        drug, unit = _drug(r, "drug_name", "drug_spec"), r.get("unit_name") or ""
        found.append(
            Occurrence(
                kind=Kind.LOW_STOCK,
                key=f"sms:low_stock:{r['drug_id']}",
                permission="sms:alert:read",
                title=Text(f"库存不足：{drug}", f"Low stock: {drug}"),
                body=Text(
                    f"仓库现有 {r['quantity']}{unit}，低于下限 {r['threshold']}{unit}。",
                    f"{r['quantity']} {unit} in the warehouses, below the threshold of {r['threshold']}.",
                ),
                link="/sms/low-stock",
            )
        )
    return found


def _expiry(module: str, row: dict[str, Any], drug: str, expired: bool, link: str, permission: str) -> Occurrence:
    place = ("仓库", "warehouse") if module == "sms" else ("药房", "pharmacy")
    state = "expired" if expired else "expiring"
    title = (
        Text(f"{place[0]}药品已过期：{drug}", f"Expired in the {place[1]}: {drug}")
        if expired
        else Text(f"{place[0]}药品即将过期：{drug}", f"Expiring in the {place[1]}: {drug}")
    )
    return Occurrence(
        kind=Kind.EXPIRING,
        # Expiring and then expired are two occurrences: the second asks for something else (disposal).
        key=f"{module}:expiry:{row['batch_id']}:{state}",
        permission=permission,
        title=title,
        body=Text(
            f"批号 {row['batch_no']}，有效期至 {row['expiry_date']}，剩余 {row['quantity']}。",
            f"Batch {row['batch_no']}, expires {row['expiry_date']}, {row['quantity']} left.",
        ),
        link=link,
    )


async def sms_expiry(client: Caller, settings: GatewaySettings) -> list[Occurrence]:
    rows = await _all(client, "sms", "/api/sms/alerts/expiry")
    return [
        _expiry("sms", r, _drug(r, "drug_name", "drug_spec"), r["status"] == "expired", "/sms/expiry", "sms:alert:read")
        for r in rows
    ]


async def pms_expiry(client: Caller, settings: GatewaySettings) -> list[Occurrence]:
    params = {"expiring_within_days": settings.notifications_pms_expiry_days}
    rows = await _all(client, "pms", "/api/pms/stock", params)
    return [
        _expiry("pms", r, _drug(r, "name", "spec"), bool(r["expired"]), "/pms/stock", "pms:stock:read") for r in rows
    ]


async def hms_low_deposit(client: Caller, settings: GatewaySettings) -> list[Occurrence]:
    """The stay's ZY number and its ward and bed: enough to act on, and no patient's name."""
    rows = await _all(client, "hms", "/api/hms/low-balance")
    found = []
    for r in rows:
        where = f"{r['ward_name']} {r['bed_number']}床"
        found.append(
            Occurrence(
                kind=Kind.LOW_DEPOSIT,
                key=f"hms:low_deposit:{r['id']}",
                permission="hms:deposit:read",
                title=Text(f"预交款不足：{r['number']}（{where}）", f"Low deposit: {r['number']} ({where})"),
                body=Text(
                    f"预交款余额 {r['balance']} 元，请通知补交。",
                    f"Deposit balance {r['balance']} yuan; ask for a further deposit.",
                ),
                link="/hms/deposits",
                department_id=r.get("department_id"),
            )
        )
    return found


def _stuck_messages(module: str) -> Callable[[Caller, GatewaySettings], Awaitable[list[Occurrence]]]:
    """One occurrence per module while any of its messages is refused or pending too long: a
    receiver that is down strands messages by the dozen, and the operator acts once for them."""

    async def fetch(client: Caller, settings: GatewaySettings) -> list[Occurrence]:
        path = f"/api/{module}/outbox"
        rejected = (await _page(client, module, path, {"status": "rejected", "page": 1, "size": 1}))["total"]
        since = utcnow() - timedelta(minutes=settings.outbox_stuck_minutes)
        pending = await _all(client, module, path, {"status": "pending"})
        waiting = sum(1 for m in pending if datetime.fromisoformat(m["created_at"]) < since)
        if not rejected and not waiting:
            return []
        name = MODULES[module]
        minutes = settings.outbox_stuck_minutes
        return [
            Occurrence(
                kind=Kind.STUCK_MESSAGES,
                key=f"{module}:stuck_messages:",
                permission=f"{module}:outbox:read",
                title=Text(f"{name['zh']}模块有消息积压", f"Messages stuck in {name['en']}"),
                body=Text(
                    f"被拒收 {rejected} 条，等待超过 {minutes} 分钟 {waiting} 条，请在消息队列中重发或处理。",
                    f"{rejected} refused, {waiting} waiting over {minutes} minutes; retry or resolve them "
                    "in the message queue.",
                ),
                link="/system/outbox",
            )
        ]

    return fetch


@dataclass(frozen=True)
class Source:
    # Every key of the source starts with it: what it no longer shows is closed under it.
    prefix: str
    module: str
    fetch: Callable[[Caller, GatewaySettings], Awaitable[list[Occurrence]]]


SOURCES: tuple[Source, ...] = (
    Source("sms:low_stock:", "sms", sms_low_stock),
    Source("sms:expiry:", "sms", sms_expiry),
    Source("pms:expiry:", "pms", pms_expiry),
    Source("hms:low_deposit:", "hms", hms_low_deposit),
    *(Source(f"{m}:stuck_messages:", m, _stuck_messages(m)) for m in OUTBOX_MODULES),
)

LOCKED_PREFIX = "system:account_locked:"


async def locked_accounts(session: AsyncSession, settings: GatewaySettings) -> list[Occurrence]:
    """The accounts locked now. A lock is raised as it happens (gateway/auth/service.py); this
    closes it once unlocked or run out, and raises one a crash may have lost."""
    now = utcnow()
    users = (await session.execute(select(User).where(User.locked_until > now))).scalars()
    return [locked_account(u, settings.timezone) for u in users]
