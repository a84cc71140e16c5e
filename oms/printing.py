"""What oms's printed documents (处方笺, 挂号单, 检查报告单) say of the patient: sex and age, nothing more.

The ID card and phone are never selected, so they cannot reach a page whoever prints it.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from oms.patients.models import Patient
from oms.visits.models import Visit

SEX_LABELS = {"male": "男", "female": "女"}


def age_on(birth: date, day: date) -> int:
    """Whole years on `day` (the visit's), as a form asks for 年龄."""
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


async def sex_and_age(session: AsyncSession, visit: Visit) -> tuple[str, str]:
    """(性别, 年龄) of the visit's patient as printed: 男/女 and 45岁, empty when unknown."""
    found = (
        await session.execute(select(Patient.sex, Patient.birth_date).where(Patient.id == visit.patient_id))
    ).first()
    if found is None:
        return "", ""
    sex, birth = found
    return SEX_LABELS.get(sex, ""), f"{age_on(birth, visit.visit_date)}岁"
