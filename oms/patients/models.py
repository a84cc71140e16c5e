"""门诊患者库: the outpatient desk's patients."""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from pydantic import field_validator
from sqlalchemy import String, UniqueConstraint
from sqlmodel import Field, SQLModel

from oms.db import OmsTable
from shared import fieldcrypt
from shared.fieldcrypt import EncryptedString
from shared.fields import Phone
from shared.i18n import Text
from shared.id_card import IdCard, latest_today
from shared.records import INPUT_CONFIG, RecordColumns, RecordOut


class Sex(StrEnum):
    MALE = "male"
    FEMALE = "female"


class PatientFields(SQLModel):
    name: str = Field(min_length=1, max_length=50, index=True)
    sex: Sex = Field(sa_type=String(10))
    birth_date: date
    id_card: str | None = Field(default=None, max_length=18)
    phone: str | None = Field(default=None, max_length=20)
    address: str | None = Field(default=None, max_length=200)


class Patient(PatientFields, RecordColumns, OmsTable, table=True):
    __tablename__ = "patients"
    # Unique through the blind index (the ciphertexts of one number differ). NULLs are distinct on
    # SQLite and MySQL alike: any number of patients without an ID card.
    __table_args__ = (UniqueConstraint("id_card_index"),)

    # Encrypted at rest, found only by the full number (shared/fieldcrypt.py).
    id_card: str | None = Field(default=None, sa_type=EncryptedString("patients.id_card", 18, index="id_card"))
    phone: str | None = Field(default=None, sa_type=EncryptedString("patients.phone", 20, index="phone"))
    id_card_index: str | None = Field(default=None, max_length=fieldcrypt.INDEX_LENGTH)
    phone_index: str | None = Field(default=None, max_length=fieldcrypt.INDEX_LENGTH, index=True)


fieldcrypt.maintain_indexes(Patient)


class PatientIn(PatientFields):
    model_config = INPUT_CONFIG
    # Both may be left out when an ID card is given: they are read from it (service.py).
    sex: Sex | None = None
    birth_date: date | None = None
    id_card: IdCard = None
    phone: Phone = None

    @field_validator("birth_date")
    @classmethod
    def _not_in_future(cls, value: date | None) -> date | None:
        if value is not None and value > latest_today():
            raise ValueError(Text("出生日期不能晚于今天", "must not be in the future"))
        return value


class PatientOut(PatientFields, RecordOut):
    pass
