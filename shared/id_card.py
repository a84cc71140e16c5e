"""Resident ID-card numbers (居民身份证号码, GB 11643-1999): validation and the birth date inside.

18 characters: a 6-digit region code, the birth date YYYYMMDD, a 3-digit sequence number and
a check character (ISO 7064 MOD 11-2, `X` standing for 10).
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone
from typing import Annotated

from pydantic import AfterValidator

from shared.i18n import Text

LENGTH = 18
WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARACTERS = "10X98765432"

# Provinces (11-65), Taiwan (71), Hong Kong and Macau residence permits (81, 82), Taiwan
# residents' residence permits (83).
_PROVINCES = frozenset(
    {"11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37"}
    | {"41", "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64", "65"}
    | {"71", "81", "82", "83"}
)
# The 2023 foreigner's permanent residence ID card puts 9 before the province code.
_FOREIGNER_PREFIX = "9"
_EARLIEST_BIRTH = date(1800, 1, 1)
_SHAPE = re.compile(r"^\d{17}[\dX]$")
# What shared.pii.mask_id_card shows a viewer without pii:read; sent back on an edit it keeps the
# stored number (shared.crud), so the type lets it through unchecked.
_MASKED = re.compile(r"^\d{4}\*+[\dX]{4}$")


def latest_today() -> date:
    """The latest calendar date anywhere on earth (UTC+14): a birth "today" is never refused
    because the server's clock is in another time zone than the hospital."""
    return datetime.now(timezone(timedelta(hours=14))).date()


def check_character(first17: str) -> str:
    """The 18th character of a number whose first 17 digits are given."""
    total = sum(int(digit) * weight for digit, weight in zip(first17, WEIGHTS, strict=True))
    return CHECK_CHARACTERS[total % 11]


def _region_is_valid(number: str) -> bool:
    if number.startswith(_FOREIGNER_PREFIX):
        return number[1:3] in _PROVINCES
    return number[:2] in _PROVINCES and number[2:6] != "0000"


def _birth_date(number: str) -> date | None:
    try:
        born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return None
    return born if _EARLIEST_BIRTH <= born <= latest_today() else None


def validate_id_card(value: str) -> str:
    """The number normalised (upper-case `X`), or ValueError(Text) saying what is wrong with it."""
    number = value.strip().upper()
    if len(number) != LENGTH:
        raise ValueError(
            Text(f"身份证号应为 18 位，实际为 {len(number)} 位", f"must have 18 characters, not {len(number)}")
        )
    if not _SHAPE.match(number):
        raise ValueError(Text("身份证号只能由数字组成，最后一位可为 X", "must be 17 digits followed by a digit or X"))
    if not _region_is_valid(number):
        raise ValueError(Text("身份证号的地区码无效", "has an invalid region code"))
    if _birth_date(number) is None:
        raise ValueError(Text("身份证号中的出生日期无效", "has an invalid birth date"))
    if number[-1] != check_character(number[:17]):
        raise ValueError(Text("身份证号校验位不正确", "has a wrong check character"))
    return number


def birth_date_of(id_card: str) -> date:
    """The birth date inside a valid number."""
    number = validate_id_card(id_card)
    return date(int(number[6:10]), int(number[10:12]), int(number[12:14]))


def is_male(id_card: str) -> bool:
    """The 17th character (the sequence number's last digit) is odd for a man, even for a woman."""
    return int(validate_id_card(id_card)[16]) % 2 == 1


def is_masked(value: str | None) -> bool:
    return value is not None and bool(_MASKED.match(value.upper()))


def _id_card(value: str | None) -> str | None:
    if value is None or value.strip() == "":
        return None
    if is_masked(value.strip()):
        return value.strip().upper()
    return validate_id_card(value)


# Optional ID-card number of an input schema: validated and normalised; a masked value passes.
IdCard = Annotated[str | None, AfterValidator(_id_card)]
