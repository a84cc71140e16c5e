"""Real MinIO for tests: `minio_url` (module scope) starts a server with `.ci/minio.sh start` in a temp
dir on free loopback ports, yields its storage_url (http://user:secret@127.0.0.1:port) and stops it.

The binary is the one `.ci/minio.sh build` puts in ~/.cache/hamp/bin (or a `minio` on PATH). Without
it the tests skip, except under CI=true, where they fail.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from minio import Minio

from tests.support.servers import ROOT, free_port, require

SCRIPT = ROOT / ".ci" / "minio.sh"
BUILT = Path(os.environ.get("HAMP_BIN_DIR", Path.home() / ".cache" / "hamp" / "bin")) / "minio"


def installed() -> bool:
    return BUILT.is_file() or shutil.which("minio") is not None


def client(url: str) -> Minio:
    """A plain client of the server a storage_url names, to look into buckets behind a store's back."""
    parts = urlsplit(url)
    return Minio(
        parts.netloc.rpartition("@")[2],
        access_key=unquote(parts.username or ""),
        secret_key=unquote(parts.password or ""),
        secure=parts.scheme == "https",
    )


@pytest.fixture(scope="module")
def minio_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    require(installed(), f"no MinIO server at {BUILT} or on PATH (run: .ci/minio.sh build)")
    directory = tmp_path_factory.mktemp("minio")
    command = [str(SCRIPT), "start", str(directory), str(free_port()), str(free_port())]
    started = subprocess.run(command, capture_output=True, text=True, timeout=90)
    if started.returncode != 0:
        subprocess.run([str(SCRIPT), "stop", str(directory)], capture_output=True, timeout=30)
        raise RuntimeError(f".ci/minio.sh start failed:\n{started.stdout}\n{started.stderr}")
    try:
        yield started.stdout.strip().splitlines()[-1]
    finally:
        subprocess.run([str(SCRIPT), "stop", str(directory)], capture_output=True, timeout=30)
