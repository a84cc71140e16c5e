"""The security suite's dms audit scenarios (tests/security/dms_scenarios.py), run here so they stay true."""

from __future__ import annotations

import pytest

from tests.dms.conftest import Dms
from tests.security.dms_scenarios import AUDIT_SCENARIOS, dms_routes

ROUTES = dms_routes()
WRITES = [r for r in ROUTES if r.method != "GET"]


def test_every_write_route_has_a_scenario_and_every_route_a_permission() -> None:
    assert sorted(str(r) for r in WRITES) == sorted(AUDIT_SCENARIOS)
    assert [str(r) for r in ROUTES if not r.permission] == []


@pytest.mark.parametrize("route", WRITES, ids=str)
def test_every_dms_write_is_audited(dms: Dms, route: object) -> None:
    from tests.security.dms_scenarios import check_write_is_audited

    check_write_is_audited(dms, route)  # type: ignore[arg-type]
