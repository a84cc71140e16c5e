"""The container image (Dockerfile), proved without a Docker engine as docs/image.md says.

`.ci/image.sh build` builds the project's Dockerfile with buildah against stand-ins for the public base
images (Debian bookworm from debootstrap; that plus this machine's Node 20), every layer cached under
~/.cache/hamp. Here, once per module: the image runs as its non-root user; it holds the project's code,
the built console and nothing private (no key, secret, database, var data, tests or console sources); a
component started from it the way the chart starts one (`run gateway`, read-only root, empty var dir and
/tmp) answers /health and serves the console; its HEALTHCHECK passes; a one-off command (`migrate`)
works; SIGTERM stops it cleanly.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
import pytest

from shared import components
from shared.settings import HampSettings
from tests.support.servers import ROOT, free_port, require, wait_http

IMAGE_SH = ROOT / ".ci" / "image.sh"
DOC = ROOT / "docs" / "image.md"
DOCKERFILE = ROOT / "Dockerfile"
# The working containers' names (`.ci/image.sh run --name`).
GATEWAY = "hamp-image-test-gateway"
JOB = "hamp-image-test-job"
# The project's own packages: all the image may add to site-packages besides its dependencies.
PACKAGES = {"shared", *components.ALL}
PRIVATE_KEY = re.compile(rb"-----BEGIN [A-Z ]*PRIVATE KEY-----\s+[A-Za-z0-9+/=]{40}")
# What embedded state and keys are called on disk (shared/settings.py, the gateway's var/keys).
PRIVATE_NAMES = re.compile(
    r"\.(db|sqlite3?|key|p12|pfx)$|^(id_rsa|id_ed25519|\.env|service-secret|audit-key)|^field-keys"
)


def image_sh(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(IMAGE_SH), *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout, check=True
    )


@pytest.fixture(scope="module")
def config() -> dict[str, Any]:
    """The image's configuration (Docker format), built or rebuilt from the cached layers."""
    for tool in ("buildah", "debootstrap", "unshare", "nsenter", "node"):
        require(shutil.which(tool) is not None, f"{tool} is not installed")
    require(os.geteuid() == 0, "building and running the image here needs root (chroot, namespaces)")
    subprocess.run(["bash", str(IMAGE_SH), "build"], cwd=ROOT, check=True, timeout=1800)
    config: dict[str, Any] = json.loads(image_sh("inspect").stdout)["Docker"]["config"]
    return config


@pytest.fixture(scope="module")
def rootfs(config: dict[str, Any]) -> Iterator[Path]:
    """The image's files."""
    root = Path(image_sh("mount").stdout.strip())
    try:
        yield root
    finally:
        image_sh("umount")


@pytest.fixture(scope="module")
def site_packages(rootfs: Path) -> Path:
    (path,) = (rootfs / "app" / ".venv" / "lib").glob("python3*/site-packages")
    return path


@dataclass
class Running:
    process: subprocess.Popen[bytes]
    url: str
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@pytest.fixture(scope="module")
def gateway(config: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    """`<image> run gateway` as the chart runs it: root file system read-only, var dir and /tmp empty;
    on a free loopback port, not registering anywhere (the machine may run a platform on the defaults)."""
    port = free_port()
    log = tmp_path_factory.mktemp("image") / "gateway.log"
    command = ["bash", str(IMAGE_SH), "run", "--read-only", "--name", GATEWAY, "-e", f"HAMP_PORT={port}"]
    with log.open("wb") as out:
        process = subprocess.Popen(
            [*command, "-e", "HAMP_REGISTRY_URLS=", "run", "gateway"], cwd=ROOT, stdout=out, stderr=subprocess.STDOUT
        )
    running = Running(process, f"http://127.0.0.1:{port}", log)
    try:
        wait_http(f"{running.url}/health", timeout=90)
        yield running
    except TimeoutError:
        pytest.fail(f"the gateway did not start from the image:\n{running.output()[-3000:]}")
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=60)


def test_runs_as_its_non_root_user(config: dict[str, Any], rootfs: Path, gateway: Running) -> None:
    # Numeric, so that Kubernetes' runAsNonRoot can check it; the chart's runAsUser is the same.
    assert config["User"] == "10001:10001"
    status = Path(f"/proc/{image_sh('pid', GATEWAY).stdout.strip()}/status").read_text()
    uids = re.search(r"^Uid:\s+(.*)$", status, re.M)
    assert uids is not None and set(uids.group(1).split()) == {"10001"}
    assert config["Entrypoint"] == ["hamp"] and config["Cmd"] == ["run", "gateway"]
    var = rootfs / "var" / "lib" / "hamp"
    assert "HAMP_VAR_DIR=/var/lib/hamp" in config["Env"] and config["WorkingDir"] == "/var/lib/hamp"
    assert (var.stat().st_uid, var.stat().st_mode & 0o777) == (10001, 0o700)


def test_nothing_private_or_extra_inside(config: dict[str, Any], rootfs: Path, site_packages: Path) -> None:
    # No var data: the image's var dir is empty, and no database, key or secret file is anywhere.
    assert not any((rootfs / "var" / "lib" / "hamp").iterdir())
    found = []
    for directory, subdirectories, files in os.walk(rootfs):
        if directory == str(rootfs):
            subdirectories[:] = [d for d in subdirectories if d not in ("proc", "sys", "dev")]
        for name in files:
            path = Path(directory, name)
            if path.is_symlink():  # the CA certificates' links: absolute, they would lead out of the image
                continue
            if PRIVATE_NAMES.search(name) or (name.endswith(".pem") and PRIVATE_KEY.search(path.read_bytes())):
                found.append(str(path.relative_to(rootfs)))
    assert found == []
    # The project adds its packages and its `hamp` command, nothing else: no tests, bench, docs, tooling.
    (record,) = site_packages.glob("hamp-*.dist-info/RECORD")
    tops = {line.split(",")[0].split("/")[0] for line in record.read_text().splitlines()}
    assert tops - {record.parent.name, ".."} == PACKAGES
    for package in PACKAGES:
        for path in (site_packages / package).rglob("*"):
            assert path.is_dir() or not PRIVATE_KEY.search(path.read_bytes()), path
    # Of the console, only the build: no sources, no node_modules.
    console = site_packages / "gateway" / "console"
    assert sorted(p.name for p in console.iterdir()) == ["dist"]
    assert not list(rootfs.glob("**/node_modules"))
    # No credential in the configuration either: no environment variable or label carries one.
    names = [entry.partition("=")[0] for entry in config["Env"]] + list(config["Labels"])
    assert not [name for name in names if re.search(r"PASSWORD|SECRET|TOKEN|KEY", name, re.I)]


def test_serves_the_console_it_carries(site_packages: Path, gateway: Running) -> None:
    index = site_packages / "gateway" / "console" / "dist" / "index.html"
    answer = httpx2.get(f"{gateway.url}/", timeout=10)
    assert answer.status_code == 200 and answer.text == index.read_text()
    # The bundle that page loads is there too.
    (script,) = re.findall(r'src="(/assets/[^"]+\.js)"', answer.text)
    assert httpx2.get(f"{gateway.url}{script}", timeout=10).status_code == 200


def test_answers_health_and_its_healthcheck_passes(gateway: Running) -> None:
    answer = httpx2.get(f"{gateway.url}/health", timeout=10)
    assert answer.status_code == 200
    # The image's own HEALTHCHECK command, run inside the container as Docker would run it.
    done = subprocess.run(
        ["bash", str(IMAGE_SH), "healthcheck", GATEWAY], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr


def test_one_off_commands_run_from_the_same_image(config: dict[str, Any], rootfs: Path) -> None:
    # `hamp backup` / `hamp restore` of a production database run these (shared/backup.py).
    assert (rootfs / "usr/bin/mariadb-dump").is_file() and (rootfs / "usr/bin/mariadb").is_file()
    # The chart's migration Job: `<image> migrate`, read-only root, into an empty var dir.
    done = image_sh("run", "--read-only", "--name", JOB, "migrate", "dbs", timeout=180)
    assert "dbs: migrated" in done.stdout


def test_sigterm_stops_it_cleanly(gateway: Running) -> None:
    # What `docker stop` and Kubernetes do: SIGTERM to the entrypoint, which finishes and exits 0.
    gateway.process.send_signal(signal.SIGTERM)
    assert gateway.process.wait(timeout=60) == 0
    assert "gateway stopped" in gateway.output()


def test_docs_commands_fit_the_image() -> None:
    """docs/image.md's docker commands are what CI ran with buildah and .ci/image.sh: the build arguments and
    secret it names are the Dockerfile's, the settings it passes are real, the commands are hamp's."""
    dockerfile = DOCKERFILE.read_text()
    arguments = set(re.findall(r"^ARG (\w+)", dockerfile, re.M))
    secrets = set(re.findall(r"--mount=type=secret,id=([\w-]+)", dockerfile))
    settings = {f"HAMP_{name.upper()}" for name in HampSettings.model_fields} | {
        f"HAMP_{name.upper()}" for c in components.ALL for name in components.settings_class(c).model_fields
    }
    blocks = re.findall(r"```bash\n(.*?)```", DOC.read_text(), re.S)
    lines = [line for block in blocks for line in block.replace("\\\n", " ").splitlines() if line.strip()]
    builds = [line for line in lines if line.startswith(("docker build", "buildah bud"))]
    runs = [line for line in lines if line.startswith("docker run")]
    assert builds and runs
    for line in builds:
        assert set(re.findall(r"--build-arg (\w+)=", line)) <= arguments, line
        assert set(re.findall(r"--secret id=([\w-]+)", line)) <= secrets, line
    for line in runs:
        assert set(re.findall(r"-e (\w+)=", line)) <= settings, line
        # What follows the image: a hamp command, the component a real one.
        command = re.split(r" hamp:[\w.]+ ", line)[1].split()
        assert command[0] in {"run", "migrate"} and command[1] in components.ALL, line
