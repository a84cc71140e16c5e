"""What the platform writes under var/ (databases with their -wal/-shm files, logs, keys, objects)
is its user's only: files 0600, folders 0700 — including what an older install left readable."""

from __future__ import annotations

import asyncio
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

import dbs.main
from dbs.settings import DbsSettings
from shared.storage import LocalObjectStore
from shared.var_files import tighten
from tests.security.conftest import ISOLATED
from tests.support.servers import ROOT
from tests.support.tokens import SigningKey


@pytest.fixture
def loose_umask() -> Iterator[None]:
    """A umask that lets everyone read (the usual 022): what the platform must not rely on. The
    suite's own umask is restored afterwards (starting an app sets a private one)."""
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def _open_to_others(var_dir: Path) -> list[str]:
    loose = []
    for path in [var_dir, *var_dir.rglob("*")]:
        if path.is_symlink():
            continue
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            loose.append(f"{path.relative_to(var_dir.parent)} {oct(mode)}")
    return loose


def _an_older_install(var_dir: Path) -> None:
    """What a release before this one left: world-readable data and folders."""
    (var_dir / "logs").mkdir(parents=True)
    (var_dir / "logs").chmod(0o755)
    var_dir.chmod(0o755)
    for name in ("dbs.db.bak", "logs/dbs.log.1"):
        (var_dir / name).write_text("old")
        (var_dir / name).chmod(0o644)
    (var_dir / "objects" / "oms").mkdir(parents=True)
    (var_dir / "objects" / "oms" / "report.pdf").write_bytes(b"%PDF")
    (var_dir / "objects" / "oms" / "report.pdf").chmod(0o664)


def test_an_embedded_service_keeps_var_private(tmp_path: Path, signing_key: SigningKey, loose_umask: None) -> None:
    var_dir = tmp_path / "var"
    _an_older_install(var_dir)
    assert _open_to_others(var_dir)
    settings = DbsSettings(**{**ISOLATED, "log_to_file": True, "log_level": "INFO"}, var_dir=var_dir)
    settings.jwks = signing_key.jwks_json
    with TestClient(dbs.main.create_app(settings)) as client:
        # The database is open (so SQLite has its -wal and -shm files); an object, as oms stores one.
        assert client.get("/health/ready").json()["checks"]["database"] == "UP"
        asyncio.run(LocalObjectStore(var_dir / "objects", "oms").put("new/scan.pdf", b"%PDF", "application/pdf"))
        created = {p.name for p in var_dir.rglob("*")}
        assert {"dbs.db", "dbs.db-wal", "dbs.db-shm", "dbs.log", "scan.pdf"} <= created, created
        assert _open_to_others(var_dir) == []
    assert _open_to_others(var_dir) == []


def test_the_cli_creates_var_private(tmp_path: Path) -> None:
    var_dir = tmp_path / "var"
    env = {**os.environ, "HAMP_VAR_DIR": str(var_dir), "HAMP_DBS_DATABASE_URL": ""}
    # `hamp migrate dbs` from a shell whose umask lets everyone read.
    subprocess.run(
        ["sh", "-c", f"umask 022 && {sys.executable} -m shared.cli migrate dbs"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )
    assert (var_dir / "dbs.db").exists()
    assert _open_to_others(var_dir) == []


def test_tighten_keeps_the_owners_bits_and_leaves_links_alone(tmp_path: Path) -> None:
    var_dir = tmp_path / "var"
    (var_dir / "bin").mkdir(parents=True)
    tool = var_dir / "bin" / "tool"
    tool.write_text("#!/bin/sh\n")
    tool.chmod(0o755)
    outside = tmp_path / "outside.txt"
    outside.write_text("not ours")
    outside.chmod(0o644)
    (var_dir / "link").symlink_to(outside)
    # Folders as an older install left them (whatever umask this test process has by now).
    var_dir.chmod(0o755)
    (var_dir / "bin").chmod(0o755)
    assert tighten(var_dir) == 3
    assert stat.S_IMODE(var_dir.stat().st_mode) == 0o700
    assert stat.S_IMODE(tool.stat().st_mode) == 0o700
    assert stat.S_IMODE(outside.stat().st_mode) == 0o644
    assert tighten(var_dir) == 0
