"""The patient's charge type (费别) for an insured payment, read from master data as oms itself.

A clerk who holds only the outpatient module must still choose one, so oms offers the list under
its own permission instead of sending the console to dbs (which would need `dbs:charge_type:read`).
"""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel

from oms import remote
from oms.payments.models import InsuredShare, PaymentIn
from shared.errors import Invalid, field_error
from shared.i18n import Text
from shared.remote import ChargeType, enabled_record
from shared.service_client import ServiceClient

LABEL = Text("费别", "charge type")


def no_charge_type() -> Invalid:
    return Invalid(
        Text("医保支付须选择患者的费别", "An insurance payment needs the patient's charge type"),
        errors=[field_error("charge_type_id", Text("请选择费别", "choose a charge type"), "missing")],
    )


class ChargeTypeChoice(BaseModel):
    id: int
    name: str
    reimbursement_ratio: Decimal
    description: str | None = None


async def choices(client: ServiceClient) -> list[ChargeTypeChoice]:
    return [ChargeTypeChoice.model_validate(t.model_dump()) for t in await remote.charge_types(client)]


async def insured_share(client: ServiceClient, body: PaymentIn) -> InsuredShare | None:
    """The charge type an insurance payment names, enabled, with today's ratio; None for other
    methods (a charge type sent along with cash is ignored: nothing of it is reimbursed)."""
    if body.method != "insurance":
        return None
    if body.charge_type_id is None:
        raise no_charge_type()
    found = await enabled_record(
        client, "DBS", f"/api/dbs/charge-types/{body.charge_type_id}", "charge_type_id", LABEL, ChargeType
    )
    return InsuredShare(charge_type_id=found.id, charge_type_name=found.name, ratio=found.reimbursement_ratio)
