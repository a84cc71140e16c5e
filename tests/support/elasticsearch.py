"""Real Elasticsearch for tests: `elasticsearch_server` (session) is the one HAMP_TEST_ELASTICSEARCH_URL
names (with HAMP_TEST_ELASTICSEARCH_USERNAME / _PASSWORD), else one started with `.ci/elasticsearch.sh`
on a free loopback port (about 20-30 s on the 2-core test machine) and stopped after the session.

Without Java 17, or without the zip (cached in ~/.cache/hamp/elasticsearch, else downloaded from
Maven Central), the tests skip, except under CI=true, where they fail.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch

from tests.support.servers import ROOT, free_port, require

SCRIPT = ROOT / ".ci" / "elasticsearch.sh"
PASSWORD = "hamp-test-secret"  # .ci/elasticsearch.sh's default for user elastic


@dataclass(frozen=True)
class ElasticsearchServer:
    url: str
    username: str
    password: str

    def settings(self, index: str) -> dict[str, str]:
        """The HAMP_* settings (as keyword arguments) of a component shipping to `index`."""
        return {
            "log_elasticsearch_url": self.url,
            "log_elasticsearch_username": self.username,
            "log_elasticsearch_password": self.password,
            "log_elasticsearch_index": index,
        }

    def client(self) -> Elasticsearch:
        auth = (self.username, self.password) if self.username else None
        return Elasticsearch(self.url, basic_auth=auth, request_timeout=30)

    def platform_user(self) -> ElasticsearchServer:
        """This server as user `hamp`, whom .ci/elasticsearch.sh gives the role docs/logging.md asks
        IT for (write and read hamp-logs-*; test indices are named within it); the server itself
        when it came from HAMP_TEST_ELASTICSEARCH_URL."""
        if os.environ.get("HAMP_TEST_ELASTICSEARCH_URL"):
            return self
        return ElasticsearchServer(self.url, "hamp", self.password)


def index_name() -> str:
    """A test's own index prefix, within the hamp-logs-* that user `hamp` may use."""
    return f"hamp-logs-t{uuid.uuid4().hex[:8]}"


def _java() -> bool:
    return bool(os.environ.get("ES_JAVA_HOME")) or any(Path("/usr/lib/jvm").glob("java-17-openjdk-*/bin/java"))


class _Started:
    """The server .ci/elasticsearch.sh started, shared by every module that imports the fixture."""

    server: ElasticsearchServer | None = None
    directory: Path | None = None
    users = 0

    @classmethod
    def acquire(cls) -> ElasticsearchServer:
        if cls.server is None:
            built = subprocess.run([str(SCRIPT), "build"], capture_output=True, text=True, timeout=900)
            require(built.returncode == 0, f"no Elasticsearch zip (.ci/elasticsearch.sh build): {built.stderr[-500:]}")
            # Run as root, the script runs the server as `nobody`, who must reach the directory:
            # not under pytest's tmp, which only its owner may enter.
            directory = Path(tempfile.mkdtemp(prefix="hamp-es-"))
            directory.chmod(0o755)
            command = [str(SCRIPT), "start", str(directory), str(free_port())]
            env = {**os.environ, "ELASTIC_PASSWORD": PASSWORD}
            started = subprocess.run(command, capture_output=True, text=True, timeout=180, env=env)
            if started.returncode != 0:
                subprocess.run([str(SCRIPT), "stop", str(directory)], capture_output=True, timeout=60)
                shutil.rmtree(directory, ignore_errors=True)
                raise RuntimeError(f".ci/elasticsearch.sh start failed:\n{started.stdout}\n{started.stderr}")
            cls.server = ElasticsearchServer(started.stdout.strip().splitlines()[-1], "elastic", PASSWORD)
            cls.directory = directory
        cls.users += 1
        return cls.server

    @classmethod
    def release(cls) -> None:
        cls.users -= 1
        if cls.users == 0 and cls.directory is not None:
            subprocess.run([str(SCRIPT), "stop", str(cls.directory)], capture_output=True, timeout=60)
            shutil.rmtree(cls.directory, ignore_errors=True)
            cls.server = cls.directory = None


@pytest.fixture(scope="session")
def elasticsearch_server() -> Iterator[ElasticsearchServer]:
    given = os.environ.get("HAMP_TEST_ELASTICSEARCH_URL", "")
    if given:
        username = os.environ.get("HAMP_TEST_ELASTICSEARCH_USERNAME", "")
        yield ElasticsearchServer(given, username, os.environ.get("HAMP_TEST_ELASTICSEARCH_PASSWORD", ""))
        return
    require(_java(), "no Java 17 for Elasticsearch (apt-get install openjdk-17-jre-headless)")
    require(shutil.which("unzip") is not None, "no unzip for the Elasticsearch zip (apt-get install unzip)")
    server = _Started.acquire()
    try:
        yield server
    finally:
        _Started.release()
