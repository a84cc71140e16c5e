"""The patients of named visits with their phones, as the caller may see them.

dms knows a booking only by its visit number (it holds no personal data), so the leave result
asks oms who to call. A visit outside the caller's departments, or unknown, is left out: its
existence is not told.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from oms.contacts.models import VisitContact
from oms.patients.models import Patient
from oms.visits.models import Visit
from shared.crud import Viewer
from shared.pii import mask_phone
from shared.scope import restrict


async def contacts(session: AsyncSession, numbers: list[str], viewer: Viewer) -> list[VisitContact]:
    """In the order the numbers were given (the order of the leave's list)."""
    query = (
        select(Visit, Patient.phone).join(Patient, Patient.id == Visit.patient_id).where(Visit.number.in_(set(numbers)))
    )
    rows = await session.execute(restrict(query, Visit.department_id, viewer.departments))
    found = {
        visit.number: VisitContact(
            visit_number=visit.number,
            patient_name=visit.patient_name,
            phone=phone if viewer.reveal_pii else mask_phone(phone),
            state=visit.state,
        )
        for visit, phone in rows.all()
    }
    return [found[n] for n in dict.fromkeys(numbers) if n in found]
