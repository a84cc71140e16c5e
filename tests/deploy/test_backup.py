"""`hamp backup` and `hamp restore`, as docs/backup.md tells IT to run them.

Embedded profile: the outpatient desk's writes through a running platform's gateway, `./hamp backup`
while it runs, `./hamp restore` into an empty var directory, a second platform started on it: the
visit, its payments, the exam report's bytes, the patient's ID card, the admin's password, a token
the first gateway signed, and the audit chains are all there. A tampered backup and a var directory
that holds data are refused with nothing written.

Production profile: two services' MariaDB databases (dumped with mariadb-dump) and MinIO buckets,
keys from settings as from Kubernetes Secrets: backed up, wiped, restored, equal; a restore with a
different field key is refused before anything is written.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import re
import signal
import subprocess
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
import pytest
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from shared import components
from shared.cli import main as cli
from shared.fieldcrypt import new_key
from shared.migrations import sync_url
from shared.storage import MinioObjectStore
from tests.oms.outpatient_desk import Desk
from tests.support.clerks import login
from tests.support.databases import MYSQL_URL, mysql_database
from tests.support.minio import client, minio_url  # noqa: F401 — the fixture
from tests.support.servers import ROOT, free_port, require, running_platform, wait_http
from tests.support.stack import Stack

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\n% a blood test, backed up\ntrailer<<>>\n%%EOF\n"
ID_CARD = "44030419900307123X"
HAMP = str(ROOT / "hamp")  # README's entry point, as IT runs it


def hamp(*args: str, var_dir: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """`./hamp <args>` with only these HAMP_* settings (the test run's own are not IT's)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("HAMP_")}
    clean.update(HAMP_VAR_DIR=str(var_dir), **env)
    return subprocess.run([HAMP, *args], cwd=ROOT, env=clean, capture_output=True, text=True, timeout=180)


@contextmanager
def hamp_up(var_dir: Path, **env: str) -> Iterator[str]:
    """`hamp up` on this var directory, every component on a free port (as tests/e2e/test_hamp_up.py
    runs README's first command, minus the console build `./hamp` adds); answers the gateway's URL."""
    ports = {name: free_port() for name in components.available()}
    clean = {k: v for k, v in os.environ.items() if not k.startswith("HAMP_")}
    clean.update({f"HAMP_{name.upper()}_PORT": str(port) for name, port in ports.items()})
    clean.update(
        HAMP_VAR_DIR=str(var_dir),
        HAMP_REGISTRY_URLS=f"http://127.0.0.1:{ports['registry']}/eureka/",
        HAMP_JWKS_URL=f"http://127.0.0.1:{ports['gateway']}/api/auth/jwks",
        **env,
    )
    process = subprocess.Popen(
        [str(ROOT / ".venv" / "bin" / "hamp"), "up"],
        cwd=ROOT,
        env=clean,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
    )
    lines: list[str] = []
    try:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line)
            if "console: http://" in line:
                break
        else:
            raise AssertionError("hamp up did not become ready:\n" + "".join(lines))
        threading.Thread(target=lambda: lines.extend(process.stdout or ()), daemon=True).start()
        base = f"http://127.0.0.1:{ports['gateway']}"
        # Ready is each component's own probe; the gateway learns the services from the registry after.
        for name in components.SERVICES:
            wait_http(f"{base}/api/{name}/openapi.json", timeout=60)
        yield base
        # Not a first start: no new superadmin password is made, and no demo data is loaded.
        assert not any(re.search(r"login:\s+\S+ / \S+", line) for line in lines), lines
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def refused(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], var_dir: Path, *args: str,
            **env: str) -> str:  # fmt: skip
    """`hamp <args>` in this process (a refusal needs no process of its own): it must fail; what it printed."""
    for name in [k for k in os.environ if k.startswith("HAMP_")]:
        monkeypatch.delenv(name)
    for name, value in {"HAMP_VAR_DIR": str(var_dir), **env}.items():
        monkeypatch.setenv(name, value)
    capsys.readouterr()
    with pytest.raises(SystemExit) as exited:
        cli([*args])
    assert exited.value.code not in (0, None)
    printed = capsys.readouterr()
    return printed.out + str(exited.value.code) + printed.err


def files_of(folder: Path) -> dict[str, str]:
    """Every file under a folder by relative path, with its SHA-256."""
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


class _Gateway:
    """What a Desk needs of a Stack: the gateway's URL and a bearer token (here the admin's)."""

    def __init__(self, url: str, token: str) -> None:
        self._url, self._token = url, token

    def url(self, _name: str) -> str:
        return self._url

    def bearer(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._token}"}


# --- embedded ----------------------------------------------------------------------------------------


@dataclass
class Made:
    backup: Path
    var_dir: Path
    password: str
    token: str
    patient: dict[str, Any]
    visit: dict[str, Any]
    payments: list[dict[str, Any]]
    exam_file_id: int
    later_patient_id: int


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> Made:
    """An outpatient visit registered, priced, paid and examined through a running platform's gateway;
    backed up while the platform runs; then one more patient, after the backup."""
    var_dir, backups = tmp_path_factory.mktemp("var"), tmp_path_factory.mktemp("backups")
    password = f"Pw-{uuid.uuid4().hex[:12]}"
    names = ["registry", "dbs", "dms", "oms", "gateway"]
    with running_platform(var_dir, names, password, HAMP_DBS_DEMO_DATA="true") as running:
        admin = login(running["gateway"].url, "admin", password)
        token = str(admin.headers["Authorization"]).removeprefix("Bearer ")
        desk = Desk(_Gateway(running["gateway"].url, token), {})  # type: ignore[arg-type]
        try:
            patient = desk.patient("赵六", birth_date="1990-03-07", id_card=ID_CARD, phone="13912345678")
            schedule = desk.schedule("D001", quota=5)
            registered = desk.register(patient["id"], schedule["id"], "cash")
            assert registered.status_code == 201, registered.text
            visit = registered.json()
            desk.ok("POST", f"/api/oms/visits/{visit['id']}/state", json={"to": "in_consultation"})
            drug, blood = desk.drug("YP0001"), desk.item("XM0002")
            prescription = desk.ok(
                "POST",
                f"/api/oms/visits/{visit['id']}/prescriptions",
                201,
                json={"lines": [{"drug_id": drug["id"], "quantity": 2}]},
            )
            items = desk.ok(
                "POST",
                f"/api/oms/visits/{visit['id']}/item-orders",
                201,
                json={"lines": [{"charge_item_id": blood["id"], "quantity": 1}]},
            )
            for order in (prescription, items):
                paid = desk.pay(visit["id"], order["id"], "wechat")
                assert paid.status_code == 201, paid.text
            exam = desk.ok(
                "POST",
                f"/api/oms/exams/{items['lines'][0]['id']}/result",
                201,
                data={"text": "白细胞计数正常"},
                files=[("files", ("report.pdf", PDF, "application/pdf"))],
            )
            payments = desk.ok("GET", "/api/oms/payments", params={"visit_id": visit["id"]})["items"]
            visit = desk.ok("GET", f"/api/oms/visits/{visit['id']}")

            done = hamp("backup", "--to", str(backups), var_dir=var_dir)
            assert done.returncode == 0, done.stderr
            later = desk.patient("钱七")
        finally:
            desk.close()
            admin.close()
    backup = Path(done.stdout.strip().splitlines()[-1])
    assert backup.parent == backups and backup.name.startswith("hamp-")
    return Made(
        backup, var_dir, password, token, patient, visit, payments, exam["result"]["files"][0]["id"], later["id"]
    )


def test_a_backup_restored_into_an_empty_var_dir_starts_with_all_the_data(
    made: Made, tmp_path_factory: pytest.TempPathFactory
) -> None:
    manifest = json.loads((made.backup / "manifest.json").read_text())
    listed = {entry["path"] for entry in manifest["files"]}
    assert {"databases/oms.db", "databases/gateway.db", "keys/field-keys.json", "keys/audit-key"} <= listed
    assert {"keys/service-secret", "keys/gateway-signing.pem"} <= listed
    assert any(path.startswith("objects/oms/exams/") for path in listed)
    assert manifest["services"]["oms"]["database"]["migration_heads"]
    # The ID card is sealed under the key file's key, which the backup carries.
    assert manifest["services"]["oms"]["database"]["field_key_ids"]
    assert ID_CARD.encode() not in (made.backup / "databases" / "oms.db").read_bytes()

    var_dir = tmp_path_factory.mktemp("restored")
    done = hamp("restore", "--from", str(made.backup), var_dir=var_dir)
    assert done.returncode == 0, done.stderr
    assert (var_dir / ".initialized").exists()  # `hamp up` will not treat it as a first start

    with hamp_up(var_dir, HAMP_GATEWAY_TOTP_REQUIRED_PERMISSIONS="[]") as base:
        # The admin's password is the one in the backup, not the one this platform was started with.
        admin = login(base, "admin", made.password)
        try:
            visit = admin.get(f"/api/oms/visits/{made.visit['visit']['id']}")
            assert visit.status_code == 200 and visit.json() == made.visit, visit.text
            assert visit.json()["visit"]["state"] == "paid"
            payments = admin.get("/api/oms/payments", params={"visit_id": made.visit["visit"]["id"]})
            assert payments.json()["items"] == made.payments and len(made.payments) >= 2
            report = admin.get(f"/api/oms/exam-files/{made.exam_file_id}")
            assert report.status_code == 200 and report.content == PDF
            # Decrypted with the restored field key, for a holder of pii:read.
            patient = admin.get(f"/api/oms/patients/{made.patient['id']}").json()
            assert patient["id_card"] == ID_CARD and patient["phone"] == "13912345678"
            # Written after the backup: not in it.
            assert admin.get(f"/api/oms/patients/{made.later_patient_id}").status_code == 404
        finally:
            admin.close()
        # Signed by the first gateway before the backup: the restored signing key still verifies it.
        old = httpx2.get(
            f"{base}/api/oms/patients/{made.patient['id']}", headers={"Authorization": f"Bearer {made.token}"}
        )
        assert old.status_code == 200, old.text

    verified = hamp("audit", "verify", var_dir=var_dir)
    assert verified.returncode == 0, verified.stdout + verified.stderr


def test_a_tampered_backup_is_refused_and_nothing_is_written(
    made: Made, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    copy = tmp_path_factory.mktemp("tampered") / made.backup.name
    subprocess.run(["cp", "-a", str(made.backup), str(copy)], check=True)
    (report,) = (copy / "objects" / "oms").rglob("*.pdf")
    report.write_bytes(report.read_bytes().replace(b"blood", b"bl00d"))
    var_dir = tmp_path_factory.mktemp("untouched")

    message = refused(monkeypatch, capsys, var_dir, "restore", "--from", str(copy))
    assert "校验和不符" in message and report.relative_to(copy).as_posix() in message
    assert files_of(var_dir) == {}


def test_a_var_dir_holding_data_is_refused_and_left_as_it_was(
    made: Made, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    before = files_of(made.var_dir)
    message = refused(monkeypatch, capsys, made.var_dir, "restore", "--from", str(made.backup))
    assert "已存在" in message and "oms.db" in message and "keys: 已有文件" in message
    assert files_of(made.var_dir) == before
    # Naming the folder that holds the backups instead of one backup is explained.
    message = refused(monkeypatch, capsys, made.var_dir, "restore", "--from", str(made.backup.parent))
    assert made.backup.name in message


def test_a_restore_failing_half_way_removes_what_it_wrote(
    made: Made, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    real = Path.rename

    def rename(self: Path, target: Any) -> Path:
        # The databases and objects are in place when the disk fills up as the keys' turn comes.
        if Path(target).name == "keys":
            raise OSError(28, "No space left on device")
        return real(self, target)

    monkeypatch.setattr(Path, "rename", rename)
    var_dir = tmp_path / "var"
    message = refused(monkeypatch, capsys, var_dir, "restore", "--from", str(made.backup))
    assert "已写入的内容已撤销" in message and "No space left on device" in message
    assert "已恢复" in message  # some parts had been moved into place ...
    assert files_of(var_dir) == {}  # ... and are gone again


# --- production: MariaDB and MinIO --------------------------------------------------------------------


def _tables(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, in primary-key order: what equality of two databases means here."""
    engine = create_engine(sync_url(url))
    try:
        with engine.connect() as conn:
            return {
                table: [tuple(row) for row in conn.execute(text(f"SELECT * FROM `{table}` ORDER BY 1"))]
                for table in sorted(inspect(conn).get_table_names())
            }
    finally:
        engine.dispose()


def _objects(url: str, bucket: str) -> dict[str, tuple[bytes, str]]:
    minio = client(url)
    if not minio.bucket_exists(bucket):
        return {}
    found = {}
    for item in minio.list_objects(bucket, recursive=True):
        response = minio.get_object(bucket, item.object_name)
        try:
            found[item.object_name] = (response.read(), response.headers["Content-Type"])
        finally:
            response.close()
            response.release_conn()
    return found


def _wipe(url: str, drop: bool) -> None:
    database = make_url(url).database
    engine = create_engine(mysql_database("x")[1])
    with engine.begin() as conn:
        conn.execute(text(f"DROP DATABASE `{database}`"))
        if not drop:
            conn.execute(text(f"CREATE DATABASE `{database}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"))
    engine.dispose()


def _empty_bucket(url: str, bucket: str, remove: bool) -> None:
    minio = client(url)
    for item in minio.list_objects(bucket, recursive=True):
        minio.remove_object(bucket, item.object_name)
    if remove:
        minio.remove_bucket(bucket)


@pytest.fixture(scope="module")
def production(tmp_path_factory: pytest.TempPathFactory, minio_url: str) -> Iterator[dict[str, str]]:  # noqa: F811
    """oms and hms on fresh MariaDB databases and MinIO, every key from settings (as from Secrets);
    answers the environment `hamp backup` runs with in the chart's CronJob."""
    require(bool(MYSQL_URL), "HAMP_TEST_MYSQL_URL is not set (no MariaDB to test against)")
    names = {svc: f"hamp_backup_{svc}_{uuid.uuid4().hex[:8]}" for svc in ("oms", "hms")}
    admin = create_engine(mysql_database("x")[1])
    with admin.begin() as conn:
        for name in names.values():
            conn.execute(text(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"))
    urls = {svc: mysql_database(name)[0] for svc, name in names.items()}
    env = {
        "HAMP_OMS_DATABASE_URL": urls["oms"],
        "HAMP_HMS_DATABASE_URL": urls["hms"],
        "HAMP_STORAGE_URL": minio_url,
        "HAMP_FIELD_ENCRYPTION_KEYS": json.dumps({"k2026": new_key()}),
        "HAMP_FIELD_INDEX_KEY": new_key(),
        "HAMP_AUDIT_KEY": new_key(),
    }
    keys = {
        "field_encryption_keys": json.loads(env["HAMP_FIELD_ENCRYPTION_KEYS"]),
        "field_index_key": env["HAMP_FIELD_INDEX_KEY"],
        "audit_key": env["HAMP_AUDIT_KEY"],
        "storage_url": minio_url,
        # Alone, without a gateway to learn revocations from; tokens minted by the Stack's key.
        "check_revocations": False,
    }
    try:
        with Stack(tmp_path_factory.mktemp("production-var"), urls) as stack:
            stack.start("oms", **keys)
            stack.start("hms", **keys)
            answer = httpx2.post(
                f"{stack.url('oms')}/api/oms/patients",
                json={"name": "孙八", "sex": "male", "birth_date": "1990-03-07", "id_card": ID_CARD},
                headers=stack.bearer(),
            )
            assert answer.status_code == 201, answer.text
        for svc, content in (("oms", PDF), ("hms", b"\x89PNG\r\n\x1a\n scanned form")):
            store = MinioObjectStore(minio_url, svc)
            kind = "application/pdf" if svc == "oms" else "image/png"
            asyncio.run(store.put(f"scans/2026/{svc}-1.bin", content, kind))
        yield env
    finally:
        with admin.begin() as conn:
            for name in names.values():
                conn.execute(text(f"DROP DATABASE IF EXISTS `{name}`"))
        admin.dispose()


def test_production_databases_and_buckets_come_back_equal(
    production: dict[str, str],
    minio_url: str,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: Any,
) -> None:
    urls = {svc: production[f"HAMP_{svc.upper()}_DATABASE_URL"] for svc in ("oms", "hms")}
    before = {svc: _tables(url) for svc, url in urls.items()}
    assert before["oms"]["patients"] and ID_CARD not in str(before["oms"]["patients"])
    buckets = {svc: MinioObjectStore(minio_url, svc).bucket for svc in urls}
    objects = {svc: _objects(minio_url, bucket) for svc, bucket in buckets.items()}
    assert all(objects.values())
    var_dir, backups = tmp_path / "var", tmp_path / "backups"
    for older in ("hamp-20200101T000000Z", "hamp-20200102T000000Z"):  # two earlier nights' backups
        (backups / older).mkdir(parents=True)
        (backups / older / "manifest.json").write_text("{}")

    done = hamp("backup", "--to", str(backups), "--keep", "2", var_dir=var_dir, **production)
    assert done.returncode == 0, done.stderr
    backup = Path(done.stdout.strip().splitlines()[-1])
    assert sorted(p.name for p in backups.iterdir()) == ["hamp-20200102T000000Z", backup.name]
    manifest = json.loads((backup / "manifest.json").read_text())
    assert manifest["services"]["oms"]["database"]["kind"] == "mysql"
    assert manifest["services"]["oms"]["database"]["field_key_ids"] == ["k2026"]
    assert manifest["keys"]["in_backup"] is False and "HAMP_AUDIT_KEY" in manifest["keys"]["from_settings"]
    assert "Kubernetes Secret" in done.stdout
    # Credentials stay out of what the command prints and writes.
    password = str(make_url(urls["oms"]).password)
    assert password not in done.stdout + done.stderr
    assert all(password not in p.read_text(errors="replace") for p in backup.rglob("*") if p.is_file())

    _wipe(urls["oms"], drop=True)
    _wipe(urls["hms"], drop=False)
    for svc, bucket in buckets.items():
        _empty_bucket(minio_url, bucket, remove=svc == "oms")

    # The Secret restored with another field key under the same id: the data could not be opened.
    other_key = {**production, "HAMP_FIELD_ENCRYPTION_KEYS": json.dumps({"k2026": new_key()})}
    message = refused(monkeypatch, capsys, var_dir, "restore", "--from", str(backup), **other_key)
    assert "字段密钥 'k2026' 与备份时的不同" in message
    assert _tables(urls["hms"]) == {} and not client(minio_url).bucket_exists(buckets["oms"])

    done = hamp("restore", "--from", str(backup), var_dir=var_dir, **production)
    assert done.returncode == 0, done.stderr
    assert {svc: _tables(url) for svc, url in urls.items()} == before
    assert {svc: _objects(minio_url, bucket) for svc, bucket in buckets.items()} == objects
    # A second restore finds the databases full and refuses.
    message = refused(monkeypatch, capsys, var_dir, "restore", "--from", str(backup), **production)
    assert "不是空的" in message and make_url(urls["oms"]).database in message and password not in message
