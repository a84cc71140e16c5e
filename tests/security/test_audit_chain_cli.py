"""`hamp audit verify` / `hamp audit archive` against the services' own databases, the chain routes
(each service's and the gateway's merged ones), rows from before chaining sealed at the first
start, and no route that could rewrite the logs."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

import dbs.main
import shared.clock
from dbs.settings import DbsSettings
from shared import components
from shared.cli import main as hamp
from shared.clock import utcnow
from shared.migrations import sync_url, upgrade
from tests.dbs import resources
from tests.dbs.conftest import Api
from tests.security.conftest import ISOLATED, Gateway, GatewayFactory, Live, unique


def run_hamp(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    with pytest.raises(SystemExit) as exited:
        hamp(list(argv))
    return int(exited.value.code or 0), capsys.readouterr().out


def point_at(monkeypatch: pytest.MonkeyPatch, component: str, settings: Any) -> None:
    """The CLI reads its settings from the environment, as `hamp migrate` does."""
    prefix = f"HAMP_{component.upper()}_"
    monkeypatch.setenv(prefix + "DATABASE_URL", settings.effective_database_url)
    monkeypatch.setenv(prefix + "VAR_DIR", str(settings.var_dir))


# --- a service's audit_log ------------------------------------------------------------------


def test_verify_names_an_edited_then_a_deleted_row(
    dbs_api: Api, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for _ in range(4):
        dbs_api.create("departments", resources.department(dbs_api, unique("d").split("_")[1]))
    point_at(monkeypatch, "dbs", dbs_api.client.app.state.settings)
    code, out = run_hamp(capsys, "audit", "verify", "dbs")
    assert code == 0, out
    assert "dbs audit_log: intact" in out

    rows = dbs_api.audit_rows()
    edited, deleted = rows[-3], rows[-2]
    with dbs_api.engine.begin() as conn:
        conn.execute(text("UPDATE audit_log SET actor = 'mallory' WHERE id = :id"), {"id": edited["id"]})
    code, out = run_hamp(capsys, "audit", "verify", "dbs")
    assert code == 1
    assert f"row {edited['id']} was edited" in out and f"第 {edited['id']} 条记录被修改" in out

    with dbs_api.engine.begin() as conn:
        conn.execute(text("UPDATE audit_log SET actor = :a WHERE id = :id"), {"a": edited["actor"], "id": edited["id"]})
        conn.execute(text("DELETE FROM audit_log WHERE id = :id"), {"id": deleted["id"]})
    code, out = run_hamp(capsys, "audit", "verify", "dbs")
    assert code == 1
    assert f"rows before row {rows[-1]['id']} were deleted" in out

    # The service's own route says the same, to whoever may read its log, and only to them.
    answer = dbs_api.get("audit-log/chain")
    assert answer.status_code == 200, answer.text
    assert answer.json() | {"at": None} == {
        "module": "dbs",
        "chain": "audit_log",
        "status": "broken",
        "rows": 0,
        "archived_through": None,
        "problem": "deleted",
        "row_id": rows[-1]["id"],
        "at": None,
    }
    assert dbs_api.get("audit-log/chain", token=dbs_api.token("dbs:department:read")).status_code == 403
    # Put back for the other tests of this module: the chain is whole again.
    with dbs_api.engine.begin() as conn:
        conn.execute(dbs_api.metadata.tables["audit_log"].insert().values(**_stored(deleted)))
    assert dbs_api.get("audit-log/chain").json()["status"] == "intact"


def _stored(row: dict[str, Any]) -> dict[str, Any]:
    """An audit row as read by ServiceApi.audit_rows, back to its stored form."""
    values = {k: v for k, v in row.items() if k != "raw"}
    for key in ("before", "after"):
        if isinstance(values.get(key), dict):
            values[key] = json.dumps(values[key], ensure_ascii=False, sort_keys=True)
    return values


def test_rows_from_before_the_chain_are_sealed_at_first_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], signing_key: Any
) -> None:
    settings = DbsSettings(**{**ISOLATED, "var_dir": tmp_path}, jwks=signing_key.jwks_json)
    upgrade(settings, dbs.main.MIGRATIONS, "0001")  # an install from before the chain
    engine = create_engine(sync_url(settings.effective_database_url))
    with engine.begin() as conn:
        for i in range(3):
            conn.execute(
                text(
                    "INSERT INTO audit_log (at, actor, action, entity, entity_id, route, request_id) "
                    "VALUES ('2026-01-02 03:04:05.000000', 'old', 'create', 'department', :i, '', '')"
                ),
                {"i": str(i)},
            )
    engine.dispose()
    point_at(monkeypatch, "dbs", settings)
    with TestClient(dbs.main.create_app(settings)):
        pass  # starting migrates to the chain and seals what was there
    code, out = run_hamp(capsys, "audit", "verify", "dbs")
    assert code == 0, out
    assert "dbs audit_log: intact, 4 rows" in out  # the three old rows and the seal row


# --- the gateway: its login log -------------------------------------------------------------


def test_login_log_rows_are_chained_and_a_deleted_one_is_named(
    gateway_factory: GatewayFactory, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    gw = gateway_factory()
    for _ in range(3):
        assert gw.login("admin", "wrong-password-1").status_code == 401
    gw.login_user("admin", "Sec-admin-pass-1")
    chain = gw.as_admin("GET", "/api/system/login-log/chain")
    assert chain.status_code == 200, chain.text
    assert (chain.json()["status"], chain.json()["rows"]) == ("intact", 5)  # the fixture's login and these four

    point_at(monkeypatch, "gateway", gw.settings)
    code, out = run_hamp(capsys, "audit", "verify", "gateway")
    assert code == 0, out
    assert "gateway login_log: intact, 5 rows" in out

    with gw.engine.begin() as conn:
        conn.execute(text("DELETE FROM login_log WHERE id = 3"))
    code, out = run_hamp(capsys, "audit", "verify", "gateway")
    assert code == 1
    assert "gateway login_log: BROKEN, rows before row 4 were deleted" in out
    assert "gateway audit_log: intact" in out
    chain = gw.as_admin("GET", "/api/system/login-log/chain").json()
    assert (chain["status"], chain["problem"], chain["row_id"]) == ("broken", "deleted", 4)

    with gw.engine.begin() as conn:
        conn.execute(text("UPDATE login_log SET result = 'success' WHERE id = 2"))
    chain = gw.as_admin("GET", "/api/system/login-log/chain").json()
    assert (chain["status"], chain["problem"], chain["row_id"]) == ("broken", "edited", 2)

    # Reading the chain's state takes the permission that reads the log.
    reader = gw.ready_user(["system:user:read"])
    assert gw.request("GET", "/api/system/login-log/chain", reader.access).status_code == 403


def test_archive_refuses_a_chain_that_does_not_verify(
    gateway_factory: GatewayFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    gw = gateway_factory()
    gw.login("admin", "wrong-password-1")
    with gw.engine.begin() as conn:  # backdated by hand: the rows no longer match their hashes
        conn.execute(text("UPDATE login_log SET at = '2020-01-01 00:00:00.000000'"))
    point_at(monkeypatch, "gateway", gw.settings)
    with pytest.raises(RuntimeError, match="nothing deleted"):
        hamp(["audit", "archive", "gateway"])
    with gw.engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM login_log")).scalar() == 2


def test_archive_then_verify_with_archives(
    gateway_factory: GatewayFactory, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    gw = gateway_factory()
    for _ in range(3):  # (five failures would lock the account)
        gw.login("admin", "wrong-password-1")
    point_at(monkeypatch, "gateway", gw.settings)
    with monkeypatch.context() as patch:
        # Archive as if 200 days had passed: every row so far is past the 180 days kept.
        later = utcnow() + timedelta(days=200)
        patch.setattr(shared.clock, "utcnow", lambda: later)
        hamp(["audit", "archive", "gateway"])
    out = capsys.readouterr().out
    assert "gateway login_log: 已归档 4 条 / archived 4 rows (1-4)" in out
    assert len(list((gw.settings.var_dir / "archive" / "gateway").glob("login_log-*.jsonl.gz"))) == 1
    with gw.engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM login_log")).scalar() == 0
    gw.login("admin", "wrong-password-2")  # the chain goes on from the archive's last row

    code, out = run_hamp(capsys, "audit", "verify", "gateway", "--archives")
    assert code == 0, out
    assert "gateway login_log archives: intact, 4 rows" in out
    assert "gateway login_log: intact, 1 rows; archived through row 4" in out
    answer = gw.as_admin("GET", "/api/system/login-log/chain")
    assert answer.status_code == 200, answer.text
    assert answer.json()["archived_through"] == 4
    # The archiving is in the operation log.
    entries = gw.as_admin("GET", "/api/system/operation-log", params={"module": "system"}).json()["items"]
    assert any(e["action"] == "archive" and e["entity"] == "login_log" for e in entries)


# --- the merged view --------------------------------------------------------------------------


def test_the_gateway_merges_every_running_modules_chain(live: Live, live_gateway: Gateway) -> None:
    # At least one dbs row to edit, whichever tests ran before.
    unit = live_gateway.as_admin("POST", "/api/dbs/units", json={"name": unique("盒")})
    assert unit.status_code == 201, unit.text
    answer = live_gateway.as_admin("GET", "/api/system/operation-log/chain")
    assert answer.status_code == 200, answer.text
    states = {s["module"]: s for s in answer.json()}
    assert {states["system"]["status"], states["dbs"]["status"]} == {"intact"}
    with live.dbs_engine.begin() as conn:
        first = conn.execute(text("SELECT id, actor FROM audit_log ORDER BY id LIMIT 1")).one()
        conn.execute(text("UPDATE audit_log SET actor = 'mallory' WHERE id = :id"), {"id": first.id})
    try:
        states = {s["module"]: s for s in live_gateway.as_admin("GET", "/api/system/operation-log/chain").json()}
        assert (states["dbs"]["status"], states["dbs"]["problem"], states["dbs"]["row_id"]) == (
            "broken",
            "edited",
            first.id,
        )
        assert states["system"]["status"] == "intact"
    finally:
        with live.dbs_engine.begin() as conn:
            conn.execute(text("UPDATE audit_log SET actor = :a WHERE id = :id"), {"a": first.actor, "id": first.id})


# --- append-only ------------------------------------------------------------------------------


def test_no_route_rewrites_an_audit_or_login_log() -> None:
    """The logs are written only as a side effect of other work: no route edits or deletes them."""
    offending = []
    for name in components.available():
        module = components.load(name)
        if getattr(module, "MIGRATIONS", None) is None:
            continue
        document = module.create_app(module.settings_class(**ISOLATED)).openapi()
        for path, operations in document["paths"].items():
            if "audit" in path or "login-log" in path:
                offending += [f"{m.upper()} {path}" for m in operations if m in ("post", "put", "patch", "delete")]
    assert offending == []
