"""Money, ratio and phone validation as every dbs form uses it; the hospital's day."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError

from shared import clock
from shared.clock import local_date, local_day, local_today
from shared.fields import Mobile, Money, Phone, PositiveMoney, Ratio

money = TypeAdapter(Money)
positive = TypeAdapter(PositiveMoney)
ratio = TypeAdapter(Ratio)
phone = TypeAdapter(Phone)
mobile = TypeAdapter(Mobile)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("12.5", "12.50"),
        ("0", "0.00"),
        (12, "12.00"),
        (0.1, "0.10"),  # the float as typed, not 0.1000000000000000055…
        (19.99, "19.99"),
        ("1.500", "1.50"),  # trailing zeros are not extra decimals
        ("9999999999.99", "9999999999.99"),
    ],
)
def test_money_becomes_exact_cents(value: Any, expected: str) -> None:
    result = money.validate_python(value)
    assert isinstance(result, Decimal)
    assert str(result) == expected


@pytest.mark.parametrize("value", ["-0.01", "1.005", 0.125, "10000000000", "10000000000.00", "abc", "NaN", "Infinity"])
def test_money_refuses(value: Any) -> None:
    with pytest.raises(ValidationError):
        money.validate_python(value)


def test_positive_money_refuses_zero() -> None:
    with pytest.raises(ValidationError):
        positive.validate_python("0.00")
    assert str(positive.validate_python("0.01")) == "0.01"


@pytest.mark.parametrize(("value", "expected"), [("0", "0.00"), ("1", "1.00"), (0.7, "0.70"), ("0.55", "0.55")])
def test_ratio_accepts_zero_to_one(value: Any, expected: str) -> None:
    assert str(ratio.validate_python(value)) == expected


@pytest.mark.parametrize("value", ["1.01", "-0.01", "0.555", "2"])
def test_ratio_refuses(value: str) -> None:
    with pytest.raises(ValidationError):
        ratio.validate_python(value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("13800138000", "13800138000"),
        ("199 1234 5678", "19912345678"),
        ("010-62001234", "010-62001234"),
        ("0755-1234567", "0755-1234567"),
        ("02162801234", "02162801234"),
        ("", None),
        (None, None),
    ],
)
def test_phone_accepts_mobiles_and_landlines(value: str | None, expected: str | None) -> None:
    assert phone.validate_python(value) == expected


@pytest.mark.parametrize("value", ["12345", "12800138000", "1380013800", "138001380000", "010-123", "62001234", "abc"])
def test_phone_refuses(value: str) -> None:
    with pytest.raises(ValidationError):
        phone.validate_python(value)


def test_mobile_refuses_landlines() -> None:
    assert mobile.validate_python("139 0202 0001") == "13902020001"
    assert mobile.validate_python("") is None
    with pytest.raises(ValidationError):
        mobile.validate_python("010-62001234")


def test_today_is_the_hospital_s_whatever_the_server_s_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    late = datetime(2026, 11, 22, 16, 30, tzinfo=UTC)  # already half past midnight in Shanghai
    monkeypatch.setattr(clock, "utcnow", lambda: late)
    assert (local_today("Asia/Shanghai"), local_today("UTC")) == (date(2026, 11, 23), date(2026, 11, 22))
    assert local_date(late, "Asia/Shanghai") == date(2026, 11, 23)


def test_a_hospital_day_runs_from_its_midnight_to_the_next() -> None:
    start, end = local_day(date(2026, 11, 23), "Asia/Shanghai")
    assert (start, end) == (datetime(2026, 11, 22, 16, tzinfo=UTC), datetime(2026, 11, 23, 16, tzinfo=UTC))
    # Where clocks change, a day is not 24 hours long.
    start, end = local_day(date(2026, 3, 29), "Europe/Berlin")
    assert end.astimezone(UTC) - start.astimezone(UTC) == timedelta(hours=23)
