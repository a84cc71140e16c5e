"""The production profile on one machine (.ci/production.sh, docs/production.md): the outpatient
acceptance flow through the gateways' one address against a MariaDB primary and replica, Redis
Sentinel, MinIO and Elasticsearch, two instances of every service, one of oms killed mid-way; and
what production adds to the embedded profile, each checked where it lives.

The platform starts once for the module (about a minute on two cores); the embedded profile's run
of the same flow, for the time printed beside the production one, is stopped before it starts.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
import pytest
from jose import jwt
from minio import Minio
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from shared.migrations import sync_url
from shared.storage import bucket_name
from tests.support.clerks import login
from tests.support.outpatient_flow import PDF, Flow, GatewayDesk, registration_to_dispensed_drugs, wait_for
from tests.support.redis import RedisGroup
from tests.support.servers import ROOT, free_port, require

pytestmark = pytest.mark.e2e

SCRIPT = ROOT / ".ci" / "production.sh"
ADMIN_PASSWORD = f"Prod-{uuid.uuid4().hex[:12]}"
# The flow's duration on each profile, printed by the last test.
SECONDS: dict[str, float] = {}


@dataclass
class Production:
    directory: Path
    urls: dict[str, str]

    def port(self, instance: str) -> int:
        return int((self.directory / "run" / f"{instance}.port").read_text())

    def pid(self, instance: str) -> int:
        return int((self.directory / "run" / f"{instance}.pid").read_text())

    def url(self, instance: str) -> str:
        return f"http://127.0.0.1:{self.port(instance)}"

    @property
    def console(self) -> str:
        return self.urls["console_url"]

    def secret(self, name: str) -> str:
        return (self.directory / "secrets" / name).read_text()

    def sql(self, which: str, database: str, query: str, **params: Any) -> list[Any]:
        """As `hamp` on the primary or the replica (read only there)."""
        url = make_url(self.urls[f"{which}_url"]).set(database=database).render_as_string(hide_password=False)
        engine = create_engine(sync_url(url), poolclass=NullPool)
        try:
            with engine.connect() as conn:
                return list(conn.execute(text(query), params))
        finally:
            engine.dispose()

    def status(self, which: str, variable: str) -> int:
        """A server's global status counter (Com_select …)."""
        return int(self.sql(which, "hamp_oms", "SHOW GLOBAL STATUS LIKE :v", v=variable)[0][1])


def _tools_missing() -> list[str]:
    programs = ["mariadbd", "mariadb-install-db", "redis-server", "redis-sentinel", "openssl", "curl", "java"]
    missing = [p for p in programs if shutil.which(p) is None]
    if not (Path.home() / ".cache/hamp/bin/minio").exists() and shutil.which("minio") is None:
        missing.append("minio (.ci/minio.sh build)")
    return missing


def _running(pid: int) -> bool:
    """Alive and not a zombie waiting to be reaped."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


@pytest.fixture(scope="module")
def production() -> Iterator[Production]:
    missing = _tools_missing()
    require(not missing, f"not installed: {', '.join(missing)}")
    # Short (a unix socket's path is limited) and searchable by Elasticsearch's own user under root.
    directory = Path(tempfile.mkdtemp(prefix="hamp-prod-"))
    directory.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if not k.startswith("HAMP_")}
    env.update(
        HAMP_GATEWAY_SUPERADMIN_PASSWORD=ADMIN_PASSWORD,
        # Two-step login has its own tests (tests/e2e/test_console_second_factor.py).
        HAMP_GATEWAY_TOTP_REQUIRED_PERMISSIONS="[]",
        # The flow's doctors, drugs and items; dms's roster would take the flow's schedule.
        HAMP_DBS_DEMO_DATA="true",
    )
    try:
        started = subprocess.run(
            [str(SCRIPT), "start", str(directory)], env=env, capture_output=True, text=True, timeout=420
        )
        print(started.stdout)
        assert started.returncode == 0, f"{started.stdout}\n{started.stderr}"
        urls = dict(line.split("=", 1) for line in (directory / "run" / "urls").read_text().splitlines())
        yield Production(directory, urls)
    finally:
        # Every process the start left behind it: the platform's and the servers'.
        files = [p for p in directory.rglob("*.pid") if "var" not in p.relative_to(directory).parts]
        pids = [int(text) for text in (p.read_text().strip() for p in files) if text.isdigit()]
        subprocess.run([str(SCRIPT), "stop", str(directory)], capture_output=True, timeout=180)
        left = [pid for pid in pids if _running(pid)]
        shutil.rmtree(directory, ignore_errors=True)
        assert not left, f"still running after `.ci/production.sh stop`: {left}"


def oms_posts(url: str) -> int:
    """POST requests an oms instance has answered, from its /metrics (the flow's writes; no probe POSTs)."""
    metrics = httpx2.get(f"{url}/metrics", timeout=10).text
    counts = re.findall(r'^hamp_http_requests_total\{[^}]*method="POST"[^}]*\} (\S+)$', metrics, re.M)
    return int(sum(float(c) for c in counts))


# What the flow needs of the embedded platform (`hamp up --only`): the registry, the gateway and these.
FLOW_COMPONENTS = ("dbs", "dms", "oms", "pms")


def test_the_flow_on_the_embedded_profile(tmp_path: Path, migrated_var: Path) -> None:
    """The same flow on the embedded profile as README starts it (`hamp up`: SQLite, one process of
    each component, in-process rate limits and revocations), for its time beside the production one."""
    var_dir = tmp_path / "var"
    # Migrated once for the session (tests/conftest.py); marked as started before, so no first-start
    # demo data but dbs's (dms's roster and oms's visits would take the flow's schedule and queue).
    shutil.copytree(migrated_var, var_dir)
    (var_dir / ".initialized").touch()
    ports = {name: free_port() for name in ("registry", "gateway", *FLOW_COMPONENTS)}
    env = {k: v for k, v in os.environ.items() if not k.startswith("HAMP_")}
    env.update({f"HAMP_{name.upper()}_PORT": str(port) for name, port in ports.items()})
    password = f"Pw-{uuid.uuid4().hex[:12]}"
    env.update(
        HAMP_VAR_DIR=str(var_dir),
        HAMP_REGISTRY_URLS=f"http://127.0.0.1:{ports['registry']}/eureka/",
        HAMP_JWKS_URL=f"http://127.0.0.1:{ports['gateway']}/api/auth/jwks",
        HAMP_GATEWAY_SUPERADMIN_PASSWORD=password,
        HAMP_GATEWAY_TOTP_REQUIRED_PERMISSIONS="[]",
        HAMP_DEMO_DATA="false",
        HAMP_DBS_DEMO_DATA="true",
    )
    lines: list[str] = []
    up = subprocess.Popen(
        [sys.executable, "-m", "shared.cli", "up", "--only", "gateway", *FLOW_COMPONENTS],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
    )
    threading.Thread(target=lambda: lines.extend(iter(up.stdout.readline, "")), daemon=True).start()  # type: ignore[union-attr]
    try:
        wait_for(lambda: any("console: http" in line for line in lines) or up.poll() is not None, timeout=240)
        assert up.poll() is None, "".join(lines)
        desk = GatewayDesk(login(f"http://127.0.0.1:{ports['gateway']}", "admin", password))
        try:
            # `hamp up` says ready when every component answers /health/ready, which a service does
            # (and says UP) only once it can check a user's token: the flow starts at once.
            started = time.monotonic()
            registration_to_dispensed_drugs(desk)
            SECONDS["embedded"] = time.monotonic() - started
        finally:
            desk.close()
    finally:
        up.send_signal(signal.SIGINT)
        up.wait(60)


@pytest.fixture(scope="module")
def flow(production: Production) -> Flow:
    """The flow through the gateways' one address; oms-2 is killed once both instances have served."""
    oms_before = {i: oms_posts(production.url(i)) for i in ("oms-1", "oms-2")}
    selects_before = production.status("replica", "Com_select")

    def at(step: str, flow: Flow) -> None:
        if step == "paid":
            served = {i: oms_posts(production.url(i)) - oms_before[i] for i in oms_before}
            # Round robin at the gateway: each instance took its share of the desk's writes.
            assert all(n >= 2 for n in served.values()), served
            os.kill(production.pid("oms-2"), signal.SIGKILL)
            # Dead before the next step (a request already on its way when it dies fails with it, 502).
            wait_for(lambda: not _running(production.pid("oms-2")), timeout=10)

    desk = GatewayDesk(login(production.console, "admin", ADMIN_PASSWORD))
    try:
        started = time.monotonic()
        done = registration_to_dispensed_drugs(desk, at=at)
        SECONDS["production"] = time.monotonic() - started
    finally:
        desk.close()
    # Reads went to the replica: it answered the services' SELECTs while the writes went to the primary.
    assert production.status("replica", "Com_select") - selects_before > 20
    return done


def test_the_outpatient_flow_completes_with_an_oms_instance_killed_midway(production: Production, flow: Flow) -> None:
    with pytest.raises(httpx2.ConnectError):
        httpx2.get(production.url("oms-2") + "/health", timeout=5)
    with closing(login(production.console, "admin", ADMIN_PASSWORD)) as http:
        for _ in range(4):  # the survivor answers each time, whichever instance the gateway tries first
            visit = http.get(f"/api/oms/visits/{flow.visit['id']}")
            assert visit.status_code == 200 and visit.json()["visit"]["state"] == "dispensed"


def test_writes_go_to_the_primary_and_the_replica_has_the_rows(production: Production, flow: Flow) -> None:
    query = "SELECT number, state FROM visits WHERE id = :id"
    primary = production.sql("primary", "hamp_oms", query, id=flow.visit["id"])
    assert [tuple(r) for r in primary] == [(flow.visit["number"], "dispensed")]
    wait_for(lambda: production.sql("replica", "hamp_oms", query, id=flow.visit["id"]) == primary, timeout=30)
    # The replica is read only for the services' account: every write of the flow went to the primary.
    assert production.sql("replica", "hamp_oms", "SELECT @@read_only")[0][0] == 1


def test_exam_files_are_in_minio_and_on_no_instance_disk(production: Production, flow: Flow) -> None:
    storage = make_url(production.urls["storage_url"])
    client = Minio(
        f"{storage.host}:{storage.port}", access_key=storage.username, secret_key=storage.password, secure=False
    )
    bucket = bucket_name("oms")
    contents = [client.get_object(bucket, o.object_name).read() for o in client.list_objects(bucket, recursive=True)]
    assert PDF in contents
    assert not [p for p in (production.directory / "var").glob("oms-*/objects/**/*") if p.is_file()]


def test_a_logout_is_revoked_in_redis_at_every_service_and_gateway(production: Production, flow: Flow) -> None:
    with httpx2.Client(base_url=production.console, timeout=30) as http:
        token = http.post("/api/auth/login", json={"username": "admin", "password": ADMIN_PASSWORD}).json()
        bearer = {"Authorization": f"Bearer {token['access_token']}"}
        oms = production.url("oms-1") + f"/api/oms/visits/{flow.visit['id']}"
        assert httpx2.get(oms, headers=bearer, timeout=10).status_code == 200
        assert http.post("/api/auth/logout", headers=bearer).status_code == 204

    session = jwt.get_unverified_claims(token["access_token"])["sid"]
    group = RedisGroup(
        tuple((h, int(p)) for h, _, p in (s.rpartition(":") for s in production.urls["redis_sentinels"].split(","))),
        "hamp",
        production.secret("redis-password"),
    )
    with group.server(group.master()) as master:
        assert master.exists(f"hamp:revoked:session:{session}")
    refused = httpx2.get(oms, headers=bearer, timeout=10)
    assert refused.status_code == 401 and refused.json()["code"] == "token_revoked"
    # The other gateway, which the logout did not pass through, refuses it too.
    for gateway in ("gateway-1", "gateway-2"):
        answer = httpx2.get(production.url(gateway) + "/api/auth/me", headers=bearer, timeout=10)
        assert answer.status_code == 401, gateway


def test_log_records_of_a_request_reach_elasticsearch(production: Production, flow: Flow) -> None:
    request_id = uuid.uuid4().hex
    answer = httpx2.post(
        production.console + "/api/auth/login",
        json={"username": "admin", "password": ADMIN_PASSWORD},
        headers={"X-Request-ID": request_id},
        timeout=30,
    )
    assert answer.status_code == 200 and answer.headers["x-request-id"] == request_id
    search = f"{production.urls['elasticsearch_url']}/hamp-logs-*/_search"
    auth = ("elastic", production.secret("elastic-password"))
    hits: list[dict[str, Any]] = []

    def found() -> bool:
        body = {"query": {"term": {"request_id": request_id}}}
        answer = httpx2.post(search, json=body, auth=auth, timeout=10)
        hits[:] = [h["_source"] for h in answer.json().get("hits", {}).get("hits", [])]
        return bool(hits)

    wait_for(found, timeout=30)
    assert {h["component"] for h in hits} == {"gateway"}
    assert any(h["message"] == "login ok" for h in hits), hits
    # Scrubbed like the files: no password in any line shipped.
    assert not [h for h in hits if ADMIN_PASSWORD in str(h)]


def test_every_registry_peer_lists_every_instance_and_two_serve_without_the_first(production: Production) -> None:
    """Each instance registered with the first peer; replication put it on all three. With the first
    killed, the other two still list every instance and a gateway finds services through them."""

    def listed(peer: str) -> set[str]:
        apps = httpx2.get(production.url(peer) + "/eureka/apps/", headers={"Accept": "application/json"}, timeout=10)
        return {i["instanceId"] for a in apps.json()["applications"]["application"] for i in a["instance"]}

    wait_for(lambda: listed("registry-2") == listed("registry-1") == listed("registry-3"), timeout=10)
    everyone = listed("registry-1")
    assert {i.split(":")[1] for i in everyone} >= {"gateway", "oms", "hms", "tms", "dbs", "dms", "sms", "pms"}
    os.kill(production.pid("registry-1"), signal.SIGKILL)
    wait_for(lambda: not _running(production.pid("registry-1")), timeout=10)
    assert listed("registry-2") == listed("registry-3") == everyone
    with httpx2.Client(base_url=production.console, timeout=30) as http:
        token = http.post("/api/auth/login", json={"username": "admin", "password": ADMIN_PASSWORD}).json()
        answer = http.get("/api/dbs/departments", headers={"Authorization": f"Bearer {token['access_token']}"})
        assert answer.status_code == 200, answer.text


def test_the_flow_times_side_by_side(flow: Flow) -> None:
    line = ", ".join(f"{profile} {seconds:.1f} s" for profile, seconds in sorted(SECONDS.items()))
    print(f"\noutpatient flow: {line}")
    assert "production" in SECONDS
