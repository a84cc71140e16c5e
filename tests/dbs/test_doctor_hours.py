"""A doctor's hours (上午/下午 开始与结束): the legacy defaults, "HH:MM" times, and the day's order
am_start < am_end <= pm_start < pm_end, refused with a 422 that names the field to correct."""

from __future__ import annotations

import pytest

from tests.dbs.conftest import Api
from tests.dbs.resources import doctor

LEGACY = {"am_start": "08:00", "am_end": "12:00", "pm_start": "14:00", "pm_end": "18:00"}


def test_a_new_doctor_has_the_legacy_hours(api: Api) -> None:
    created = api.create("doctors", doctor(api, "a"))
    assert {k: created[k] for k in LEGACY} == LEGACY
    assert {k: api.rows("doctors")[0][k] for k in LEGACY} == LEGACY


def test_hours_are_stored_as_typed_and_changed_by_an_update(api: Api) -> None:
    body = {**doctor(api, "b"), "am_start": "7:30", "am_end": "11:30", "pm_start": "11:30", "pm_end": "16:45"}
    created = api.create("doctors", body)
    # 7:30 is kept as 07:30, so that stored times compare as text.
    assert (created["am_start"], created["am_end"], created["pm_start"], created["pm_end"]) == (
        "07:30",
        "11:30",
        "11:30",
        "16:45",
    )
    answer = api.put(f"doctors/{created['id']}", {**body, "am_start": "00:00", "am_end": "00:01"})
    assert answer.status_code == 200, answer.text
    assert api.get(f"doctors/{created['id']}").json()["am_end"] == "00:01"


@pytest.mark.parametrize(
    ("hours", "field"),
    [
        pytest.param({"am_end": "08:00"}, "am_end", id="morning-ends-as-it-starts"),
        pytest.param({"am_end": "07:59"}, "am_end", id="morning-ends-before-it-starts"),
        pytest.param({"pm_start": "11:59"}, "pm_start", id="afternoon-before-morning-ends"),
        pytest.param({"pm_end": "14:00"}, "pm_end", id="afternoon-ends-as-it-starts"),
        pytest.param({"pm_end": "13:00"}, "pm_end", id="afternoon-ends-before-it-starts"),
        pytest.param({"am_start": "24:00"}, "am_start", id="no-such-hour"),
        pytest.param({"pm_end": "18:60"}, "pm_end", id="no-such-minute"),
        pytest.param({"am_start": "eight"}, "am_start", id="not-a-time"),
    ],
)
def test_hours_out_of_order_are_422_on_the_field(api: Api, hours: dict[str, str], field: str) -> None:
    answer = api.post("doctors", {**doctor(api, "c"), **hours})
    assert answer.status_code == 422, answer.text
    errors = answer.json()["errors"]
    assert [e["field"] for e in errors] == [field]
    # The message is the rule in words, in Chinese by default.
    assert any("\u4e00" <= ch <= "\u9fff" for ch in errors[0]["message"])
    assert api.count("doctors") == 0


def test_an_update_out_of_order_is_refused_and_changes_nothing(api: Api) -> None:
    body = doctor(api, "d")
    created = api.create("doctors", body)
    answer = api.put(f"doctors/{created['id']}", {**body, "pm_start": "10:00"})
    assert answer.status_code == 422, answer.text
    assert [e["field"] for e in answer.json()["errors"]] == ["pm_start"]
    assert api.get(f"doctors/{created['id']}").json()["pm_start"] == "14:00"
