"""Reading another service's records with this service's own identity (its service token).

Answers are frozen pydantic models validated from the JSON, so a caller reads `drug.price`, not
`drug["price"]`, and a field the other service stopped sending fails here, named, not as a
KeyError later. They are translated into the caller's errors: a record the caller named that does
not exist there is the caller's mistake (422 on that field); a service that does not answer is a
503 that says which one.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict

from shared.errors import Invalid, Unavailable, field_error
from shared.i18n import Text
from shared.service_client import ServiceClient


class Remote(BaseModel):
    """What another service answered: read-only, fields the caller does not use ignored."""

    model_config = ConfigDict(frozen=True, extra="ignore")


Model = TypeVar("Model", bound=Remote)


# What dbs answers of the records the desks price with (docs/master-data.md), as every caller reads them.
class ChargeType(Remote):
    id: int
    name: str
    reimbursement_ratio: Decimal
    description: str | None = None
    enabled: bool = True


class Drug(Remote):
    id: int
    code: str
    name: str
    spec: str | None = None
    unit_name: str | None = None
    price: Decimal
    enabled: bool = True


class ChargeItem(Remote):
    id: int
    code: str
    name: str
    unit_name: str | None = None
    category_name: str | None = None
    price: Decimal
    scope: str
    needs_exam: bool = False
    enabled: bool = True


def unavailable(service: str) -> Unavailable:
    return Unavailable(
        Text(f"{service} 服务暂时无法访问", f"The {service} service is not reachable"), code="dependency_unavailable"
    )


async def get_json(client: ServiceClient, app: str, path: str, params: dict[str, Any] | None = None) -> Any | None:
    """The JSON answer, or None for a 404."""
    answer = await client.request(app, "GET", path, params=params, identity="service")
    if answer.status_code == 404:
        return None
    if answer.status_code != 200:
        raise unavailable(app.lower())
    return answer.json()


async def items(client: ServiceClient, app: str, path: str, params: dict[str, Any], model: type[Model]) -> list[Model]:
    return [model.model_validate(item) for item in ((await get_json(client, app, path, params)) or {}).get("items", [])]


def bad_reference(field: str, label: Text, state: Text) -> Invalid:
    return Invalid(
        Text(f"{label.zh}{state.zh}", f"The {label.en} {state.en}"),
        code="bad_reference",
        errors=[field_error(field, state, "bad_reference")],
    )


MISSING = Text("不存在", "does not exist")
DISABLED = Text("已停用", "is disabled")


async def enabled_record(
    client: ServiceClient, app: str, path: str, field: str, label: Text, model: type[Model]
) -> Model:
    """A record the caller chose by id: it must exist and be enabled (else 422 on `field`)."""
    record = await get_json(client, app, path)
    if record is None or not record.get("enabled", True):
        raise bad_reference(field, label, MISSING if record is None else DISABLED)
    return model.model_validate(record)
