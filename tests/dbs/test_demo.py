"""Demo data: a plausible small hospital on an empty dbs, loaded once."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest

import dbs.main
from dbs.db import metadata
from dbs.main import load_demo_data
from dbs.settings import DbsSettings
from tests.dbs.conftest import Api
from tests.dbs.resources import KINDS
from tests.support.service_api import COMMITS

# Loaded by its own engine, as `hamp demo-data` does: the app must see what that committed.
pytestmark = getattr(pytest.mark, COMMITS)


def load_demo(url: str) -> bool:
    """What `hamp demo-data dbs` runs: migrate, load in a committed transaction."""
    return asyncio.run(load_demo_data(DbsSettings(database_url=url, registry_urls="", log_to_file=False)))


def table_counts(api: Api) -> dict[str, int]:
    return {table: api.count(table) for table in metadata.tables}


def everything(api: Api, path: str) -> list[dict]:
    answer = api.get(path, params={"size": 200}).json()
    assert answer["total"] == len(answer["items"])
    return answer["items"]


def test_demo_data_is_loaded_once_into_an_empty_dbs(api: Api) -> None:
    assert load_demo(api.database_url) is True

    for kind in KINDS:
        assert everything(api, kind.path), f"no demo {kind.path}"
    departments = {d["id"]: d for d in everything(api, "departments")}
    assert {d["kind"] for d in departments.values()} >= {"outpatient", "inpatient"}
    doctors = everything(api, "doctors")
    assert len(doctors) >= 5
    for doctor in doctors:
        assert departments[doctor["department_id"]]["name"] == doctor["department_name"]
        assert doctor["registration_type_name"]
        # The legacy hospital's hours; the emergency room's doctors work around the clock.
        emergency = doctor["department_name"] == "急诊科"
        hours = ("00:00", "12:00", "12:00", "23:59") if emergency else ("08:00", "12:00", "14:00", "18:00")
        assert (doctor["am_start"], doctor["am_end"], doctor["pm_start"], doctor["pm_end"]) == hours
    for drug in everything(api, "drugs"):
        assert drug["type_name"] and drug["origin_name"] and drug["unit_name"]
        assert Decimal(drug["price"]) > 0
    for item in everything(api, "charge-items"):
        assert item["category_name"] and item["unit_name"]
    ratios = [Decimal(t["reimbursement_ratio"]) for t in everything(api, "charge-types")]
    assert all(Decimal(0) <= r <= Decimal(1) for r in ratios)
    assert {h["department_name"] for h in everything(api, "handlers") if h["department_id"]} <= {
        d["name"] for d in departments.values()
    }
    # What the demo made follows the same rules as what the API makes.
    some_doctor = doctors[0]
    assert api.delete(f"departments/{some_doctor['department_id']}").json()["code"] == "referenced"
    assert api.put(f"doctors/{some_doctor['id']}", some_doctor).status_code == 200

    counts = table_counts(api)
    assert load_demo(api.database_url) is False
    assert table_counts(api) == counts


@pytest.mark.parametrize(
    ("path", "payload"),
    [("departments", {"code": "NK", "name": "内科", "kind": "outpatient"}), ("units", {"name": "盒"})],
)
def test_demo_data_is_not_loaded_into_a_dbs_in_use(api: Api, path: str, payload: dict) -> None:
    api.create(path, payload)
    counts = table_counts(api)
    assert load_demo(api.database_url) is False
    assert table_counts(api) == counts


def test_demo_data_command_commits(api: Api, dbs_settings: DbsSettings) -> None:
    """`hamp demo-data` (dbs.main.load_demo_data) must leave the data in the database."""
    assert asyncio.run(dbs.main.load_demo_data(dbs_settings)) is True
    assert api.get("departments").json()["total"] > 0
    assert asyncio.run(dbs.main.load_demo_data(dbs_settings)) is False
