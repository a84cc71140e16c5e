"""Validated input fields with the platform's rules: Decimal money to the cent, phones, times of day.

Each error is a Chinese-first Text, so the problem+json answer names the field in the user's language."""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field

from shared.i18n import Text

CENT = Decimal("0.01")
# The largest amount NUMERIC(12,2) holds; MySQL refuses more (SQLite would store it anyway).
MAX_MONEY = Decimal("9999999999.99")


def _no_float_noise(value: Any) -> Any:
    # 0.1 as a float is not 0.1; go through its shortest repr, as a person typed it.
    return str(value) if isinstance(value, float) else value


def _to_cents(value: Decimal) -> Decimal:
    if not value.is_finite():
        raise ValueError(Text("必须是有限的数字", "must be a finite number"))
    if value != value.quantize(CENT, rounding=ROUND_HALF_UP):
        raise ValueError(Text("最多两位小数", "must have at most two decimals"))
    return value.quantize(CENT)


def _fits_column(value: Decimal) -> Decimal:
    if abs(value) > MAX_MONEY:
        raise ValueError(Text("金额过大", "is too large"))
    return value


def _non_negative(value: Decimal) -> Decimal:
    if value < 0:
        raise ValueError(Text("不能为负数", "must not be negative"))
    return value


def _positive(value: Decimal) -> Decimal:
    if value <= 0:
        raise ValueError(Text("必须大于 0", "must be greater than 0"))
    return value


def _ratio(value: Decimal) -> Decimal:
    if not Decimal(0) <= value <= Decimal(1):
        raise ValueError(Text("必须在 0 到 1 之间", "must be between 0 and 1"))
    return value


_MoneyBase = [
    BeforeValidator(_no_float_noise),
    Field(max_digits=12),
    AfterValidator(_to_cents),
    AfterValidator(_fits_column),
]
Money = Annotated[Decimal, *_MoneyBase, AfterValidator(_non_negative)]
PositiveMoney = Annotated[Decimal, *_MoneyBase, AfterValidator(_positive)]
Ratio = Annotated[Decimal, BeforeValidator(_no_float_noise), AfterValidator(_to_cents), AfterValidator(_ratio)]

_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_LANDLINE = re.compile(r"^0\d{2,3}-?\d{7,8}$")


# What a viewer without pii:read received (138****5678) and may send back unchanged on an edit;
# the record service keeps the stored number then (shared.crud).
_MASKED = re.compile(r"^[\d-]{2,5}\*+\d{4}$")


def _phone(value: str | None) -> str | None:
    if value is None or value == "":
        return None
    compact = value.replace(" ", "")
    if _MASKED.match(compact):
        return compact
    if not (_MOBILE.match(compact) or _LANDLINE.match(compact)):
        raise ValueError(Text("电话号码格式不正确", "is not a valid phone number"))
    return compact


def _mobile(value: str | None) -> str | None:
    if value is None or value == "":
        return None
    compact = value.replace(" ", "")
    if _MASKED.match(compact):
        return compact
    if not _MOBILE.match(compact):
        raise ValueError(Text("手机号格式不正确", "is not a valid mobile number"))
    return compact


Phone = Annotated[str | None, AfterValidator(_phone)]
Mobile = Annotated[str | None, AfterValidator(_mobile)]

_HOUR_MINUTE = re.compile(r"^(\d{1,2}):(\d{2})$")


def _hour_minute(value: str) -> str:
    """A time of day as "HH:MM" (8:00 is taken as 08:00), so that stored times compare as text."""
    found = _HOUR_MINUTE.match(value.strip())
    if not found or int(found[1]) > 23 or int(found[2]) > 59:
        raise ValueError(Text("须为 00:00 至 23:59 之间的时间", "must be a time between 00:00 and 23:59"))
    return f"{int(found[1]):02d}:{found[2]}"


HourMinute = Annotated[str, AfterValidator(_hour_minute)]
