"""Demo patients for the outpatient desk, loaded into an empty oms on first start.

The ID-card numbers are made up (region 110101, Beijing Dongcheng) with a valid GB 11643
check character, so the desk can search by them; they belong to nobody.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from oms.patients.models import Patient, PatientIn
from oms.patients.service import create_patient
from shared import crud
from shared.id_card import check_character

# name, sex, birth date, mobile, address, sequence digits of the ID card
PATIENTS = [
    ("张伟", "male", date(1975, 3, 14), "13800138001", "北京市东城区东四十条1号", "011"),
    ("王芳", "female", date(1982, 7, 2), "13900139002", "北京市东城区和平里2号", "022"),
    ("李娜", "female", date(1990, 11, 23), "13700137003", "北京市朝阳区望京3号", "042"),
    ("刘洋", "male", date(1968, 1, 30), "13600136004", "北京市海淀区中关村4号", "051"),
    ("陈静", "female", date(2001, 5, 9), "13500135005", "北京市西城区金融街5号", "062"),
    ("杨帆", "male", date(2015, 9, 18), "13400134006", "北京市丰台区六里桥6号", "071"),
    ("赵敏", "female", date(1956, 12, 1), "13300133007", "北京市石景山区古城7号", "082"),
    ("黄磊", "male", date(1988, 4, 27), "13200132008", "北京市通州区梨园8号", "091"),
]


def demo_id_card(birth: date, sequence: str) -> str:
    first17 = f"110101{birth:%Y%m%d}{sequence}"
    return first17 + check_character(first17)


async def load(session: AsyncSession) -> bool:
    """Adds the demo patients when there are none; answers whether it did."""
    if (await session.execute(select(func.count()).select_from(Patient))).scalar_one():
        return False
    for name, sex, birth, phone, address, sequence in PATIENTS:
        data = PatientIn(
            name=name, sex=sex, birth_date=birth, id_card=demo_id_card(birth, sequence), phone=phone, address=address
        )
        await create_patient(session, data, crud.EVERYTHING)
    return True
