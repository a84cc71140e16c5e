"""Registration (挂号): one call to dms, then the visit and its payment in one transaction, once per
Idempotency-Key.

Its cost is budgeted (issue 10; tests/oms/test_registration_cost.py): behind the gateway one HTTP
call (dms books the place and answers the schedule and the fee; dms asks dbs only when its copy has
expired) and at most 20 SQL statements in oms. Nothing here reads back what it has just written:
the answer is built from the rows as inserted.
"""

from __future__ import annotations

from datetime import date

from fastapi.encoders import jsonable_encoder
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from oms import remote
from oms.db import idempotency_keys
from oms.payments import charge_types
from oms.payments import service as payments
from oms.payments.models import PaymentIn
from oms.visits import service
from oms.visits.models import RegistrationIn, Visit, VisitOut
from shared.auth import Principal
from shared.db import Database
from shared.idempotency import Answer, run_once
from shared.outbox import OutboxRelay
from shared.service_client import ServiceClient

SCOPE = "POST /api/oms/visits"


async def register(
    db: Database,
    client: ServiceClient,
    relay: OutboxRelay,
    body: RegistrationIn,
    key: str | None,
    principal: Principal,
    today: date,
    timezone: str,
) -> Answer:
    """Today's shift of a doctor, in the caller's departments, for a patient not registered there
    yet; paid at once when `payment_method` is given."""
    method = body.payment_method
    # A 医保 registration's charge type is checked before a place is booked.
    charge = PaymentIn(visit_id=1, method=method or "cash", charge_type_id=body.charge_type_id)
    insured = await charge_types.insured_share(client, charge)
    booking_key = service.booking_key(key)
    patient_name, number = await service.prepare_registration(db, body, booking_key, today)
    # dms refuses another day's shift, a department outside the caller's scope and a shift that
    # has ended before it takes a place; a repeated key answers the first booking and number.
    place = await remote.book(client, booking_key, body.schedule_id, number, today, principal.departments)

    async def work(session: AsyncSession) -> Answer:
        visit = service.new_visit(
            body, place, patient_name, number, booking_key, method is not None, principal.username
        )
        await service.record_registration(session, visit)
        if method is not None:
            paid = PaymentIn(visit_id=visit.id, method=method, self_method=body.self_method)  # type: ignore[arg-type]
            await payments.pay_registration(session, visit, paid, principal, timezone, insured)
        return Answer(201, jsonable_encoder(VisitOut.model_validate(visit)))

    try:
        return await run_once(db, idempotency_keys, key, SCOPE, body.model_dump(mode="json"), work)
    except IntegrityError:
        # Another registration of the same patient, doctor and shift committed meanwhile.
        won = await _holder(db, service.active_key(body.patient_id, place.doctor_id, place.date, place.shift))
        await _release(db, relay, booking_key)
        if won is None:
            raise
        raise service.already_registered(won) from None
    except BaseException:
        await _release(db, relay, booking_key)
        raise


async def _holder(db: Database, active_key: str) -> Visit | None:
    async with db.transaction() as session:
        return await service.active_registration(session, active_key)


async def _release(db: Database, relay: OutboxRelay, booking_key: str) -> None:
    """The place is booked at dms but no visit holds it: free it again (through the outbox, woken
    now, so it happens even if dms is down at this moment)."""
    async with db.transaction() as session:
        await service.release_unless_held(session, booking_key)
    relay.wake()
