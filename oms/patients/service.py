"""The rules of the patient library beyond the generic ones of shared.crud.

The ID card is unique only when given (many patients have none, so shared.crud's `unique`,
which treats a missing value as a value, cannot hold it) and must carry the patient's birth
date. Both are checked against the number as it will be stored: on an edit by someone who
sees it masked, that is the stored number.
"""

from __future__ import annotations

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from oms.db import audit_log
from oms.patients.models import Patient, PatientIn, PatientOut, Sex
from shared import audit, crud, fieldcrypt
from shared.errors import Conflict, Invalid, field_error
from shared.i18n import Text
from shared.id_card import birth_date_of, is_male, is_masked
from shared.pii import mask_id_card

FIELDS = {
    "name": Text("姓名", "name"),
    "sex": Text("性别", "sex"),
    "birth_date": Text("出生日期", "birth date"),
    "id_card": Text("身份证号", "ID card number"),
    "phone": Text("电话", "phone"),
    "address": Text("地址", "address"),
}

patients = crud.Resource(
    key="patient",
    label=Text("患者", "patient"),
    table=Patient,
    create_schema=PatientIn,
    read_schema=PatientOut,
    audit_table=audit_log,
    # The ID card and phone are encrypted: shared.crud finds them by the full number only.
    search=("name",),
    unique=(),
    field_labels=FIELDS,
    pii={"id_card": "id_card", "phone": "phone"},
)

# Masked in the audit log too, for readers without pii:read; encrypted there like in the table.
PERSONAL = {patients.key: patients.pii}
audit.encrypt_personal(audit_log, PERSONAL)


def _id_card_to_store(sent: str | None, stored: Patient | None) -> str | None:
    """The number the record will hold; None also for a masked value shared.crud will refuse."""
    if not is_masked(sent):
        return sent
    if stored is not None and stored.id_card and sent == mask_id_card(stored.id_card):
        return stored.id_card
    return None


def _with_id_card_facts(data: PatientIn, id_card: str | None) -> PatientIn:
    """Sex and birth date are read from the ID card when left out, and may not contradict it;
    without an ID card both must be given."""
    if id_card is not None:
        born, sex = birth_date_of(id_card), Sex.MALE if is_male(id_card) else Sex.FEMALE
        data = data.model_copy(update={"birth_date": data.birth_date or born, "sex": data.sex or sex})
        if data.birth_date != born:
            raise _contradiction(
                "birth_date",
                Text("出生日期与身份证号不一致", "The birth date does not match the ID card number"),
                Text("与身份证号中的出生日期不一致", "differs from the birth date in the ID card number"),
                Text("其中的出生日期与填写的出生日期不一致", "holds another birth date"),
            )
        if data.sex != sex:
            raise _contradiction(
                "sex",
                Text("性别与身份证号不一致", "The sex does not match the ID card number"),
                Text("与身份证号中的性别不一致", "differs from the sex in the ID card number"),
                Text("其中的性别与填写的性别不一致", "holds the other sex"),
            )
    missing = [name for name in ("sex", "birth_date") if getattr(data, name) is None]
    if missing:
        raise Invalid(
            Text("请填写性别和出生日期，或填写身份证号", "Give the sex and birth date, or the ID card number"),
            code="validation_failed",
            errors=[
                field_error(name, Text("未填身份证号时必填", "required without an ID card number"), "missing")
                for name in missing
            ],
        )
    return data


def _contradiction(field: str, detail: Text, message: Text, id_card_message: Text) -> Invalid:
    return Invalid(
        detail,
        code=f"{field}_mismatch",
        errors=[
            field_error(field, message, f"{field}_mismatch"),
            field_error("id_card", id_card_message, f"{field}_mismatch"),
        ],
    )


async def _check_id_card_unique(session: AsyncSession, id_card: str | None, exclude_id: int | None) -> None:
    if id_card is None:
        return
    indexes = fieldcrypt.keyring_of(session).indexes("id_card", id_card)
    query = select(Patient.id).where(Patient.id_card_index.in_(indexes))
    if exclude_id is not None:
        query = query.where(Patient.id != exclude_id)
    if (await session.execute(query.limit(1))).first() is not None:
        raise Conflict(
            Text("该身份证号的患者已存在", "A patient with this ID card number exists"),
            code="duplicate",
            errors=[field_error("id_card", Text("已存在", "already exists"), "duplicate")],
        )


async def create_patient(session: AsyncSession, data: PatientIn, viewer: crud.Viewer) -> BaseModel:
    id_card = _id_card_to_store(data.id_card, None)
    data = _with_id_card_facts(data, id_card)
    await _check_id_card_unique(session, id_card, None)
    return await crud.create_record(session, patients, data, viewer)


async def update_patient(session: AsyncSession, patient_id: int, data: PatientIn, viewer: crud.Viewer) -> BaseModel:
    stored = await session.get(Patient, patient_id)
    if stored is not None:
        id_card = _id_card_to_store(data.id_card, stored)
        data = _with_id_card_facts(data, id_card)
        await _check_id_card_unique(session, id_card, patient_id)
    return await crud.update_record(session, patients, patient_id, data, viewer)
