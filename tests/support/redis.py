"""Real Redis for tests: a Sentinel group (master, replica, three sentinels, quorum 2) and single servers.

`redis_group` (session) uses the group named by HAMP_TEST_REDIS_SENTINELS when it is set (e.g. started
by `.ci/redis.sh`), else starts one with `.ci/redis.sh` on free loopback ports in a temp dir and stops
it afterwards. Without redis-server/redis-sentinel it skips, except under CI=true, where it fails.

Environment: HAMP_TEST_REDIS_SENTINELS (host:port,…), HAMP_TEST_REDIS_MASTER (default hamp),
HAMP_TEST_REDIS_PASSWORD (default hamp-test, as .ci/redis.sh sets it).
"""

from __future__ import annotations

import os
import random
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis

from tests.support.servers import ROOT, free_port, require

SCRIPT = ROOT / ".ci" / "redis.sh"


def _installed(*programs: str) -> bool:
    return all(shutil.which(p) for p in programs)


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _free_port_run(count: int) -> int:
    """The first of `count` consecutive free loopback ports (for .ci/redis.sh's PORT..PORT+4)."""
    for _ in range(200):
        base = random.randint(20000, 60000 - count)
        if all(_port_free(base + i) for i in range(count)):
            return base
    raise RuntimeError(f"no {count} consecutive free ports")


@dataclass(frozen=True)
class RedisGroup:
    sentinels: tuple[tuple[str, int], ...]
    master_name: str
    password: str

    @property
    def sentinels_text(self) -> str:
        """As the setting redis_sentinels takes them."""
        return ",".join(f"{h}:{p}" for h, p in self.sentinels)

    def sentinel(self, index: int = 0) -> redis.Redis:
        host, port = self.sentinels[index]
        return redis.Redis(host=host, port=port, decode_responses=True, socket_timeout=2)

    def server(self, address: tuple[str, int]) -> redis.Redis:
        """A plain client of one server of the group (master or replica)."""
        return redis.Redis(
            host=address[0], port=address[1], password=self.password, decode_responses=True, socket_timeout=2
        )

    def masters_seen(self) -> list[tuple[str, int] | None]:
        """What each sentinel says the master is (None: no answer)."""
        seen: list[tuple[str, int] | None] = []
        for i in range(len(self.sentinels)):
            try:
                with self.sentinel(i) as s:
                    host, port = s.sentinel_get_master_addr_by_name(self.master_name)
                seen.append((host, int(port)))
            except (redis.RedisError, TypeError, ValueError):
                seen.append(None)
        return seen

    def master(self, within: float = 15.0, *, other_than: tuple[str, int] | None = None) -> tuple[str, int]:
        """The master every sentinel names and that says it is one (waits out a failover);
        `other_than`: wait until it is not that one."""
        deadline = time.monotonic() + within
        while True:
            seen = self.masters_seen()
            if seen[0] is not None and len(set(seen)) == 1 and seen[0] != other_than:
                try:
                    with self.server(seen[0]) as server:
                        if server.role()[0] == "master":
                            return seen[0]
                except redis.RedisError:
                    pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"the sentinels do not agree on a master within {within} s: {seen}")
            time.sleep(0.1)

    def master_url(self, db: int = 0) -> str:
        host, port = self.master()
        return f"redis://:{self.password}@{host}:{port}/{db}"

    def wait_replica_online(self, within: float = 20.0) -> tuple[str, int]:
        """Until the master has a replica in sync that the first sentinel knows (a failover needs
        one); returns the replica's address."""
        deadline = time.monotonic() + within
        while True:
            with self.sentinel() as s:
                replicas = s.sentinel_slaves(self.master_name)
            for replica in replicas:
                if "s_down" in replica.get("flags", "") or replica.get("master-link-status") != "ok":
                    continue
                address = (replica["ip"], int(replica["port"]))
                try:
                    with self.server(address) as server:
                        if server.info("replication").get("master_link_status") == "up":
                            return address
                except redis.RedisError:
                    pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"no replica in sync within {within} s: {replicas}")
            time.sleep(0.2)

    def wait_replicated(self, replica: tuple[str, int], keys: dict[str, str], within: float = 10.0) -> None:
        """Until `replica` holds every key with its value."""
        deadline = time.monotonic() + within
        with self.server(replica) as server:
            while [server.get(k) for k in keys] != list(keys.values()):
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{replica} does not hold {keys} within {within} s")
                time.sleep(0.05)


def _parse(text: str) -> tuple[tuple[str, int], ...]:
    return tuple((h, int(p)) for h, _, p in (item.strip().rpartition(":") for item in text.split(",") if item.strip()))


class _StartedGroup:
    """The group started by .ci/redis.sh, shared by every module that imports `redis_group`
    (each import is a fixture of its own to pytest): started by the first, stopped after the last."""

    group: RedisGroup | None = None
    directory: Path | None = None
    users = 0

    @classmethod
    def acquire(cls, tmp_path_factory: pytest.TempPathFactory, password: str) -> RedisGroup:
        if cls.group is None:
            directory = tmp_path_factory.mktemp("redis")
            env = {**os.environ, "REDIS_PASSWORD": password}
            command = [str(SCRIPT), "start", str(directory), str(_free_port_run(5))]
            started = subprocess.run(command, capture_output=True, text=True, timeout=90, env=env)
            if started.returncode != 0:
                subprocess.run([str(SCRIPT), "stop", str(directory)], capture_output=True, timeout=60)
                raise RuntimeError(f".ci/redis.sh start failed:\n{started.stdout}\n{started.stderr}")
            # .ci/redis.sh names its master "hamp".
            cls.group = RedisGroup(_parse(started.stdout.strip().splitlines()[-1]), "hamp", password)
            cls.directory = directory
        cls.users += 1
        return cls.group

    @classmethod
    def release(cls) -> None:
        cls.users -= 1
        if cls.users == 0 and cls.directory is not None:
            subprocess.run([str(SCRIPT), "stop", str(cls.directory)], capture_output=True, timeout=60)
            cls.group = cls.directory = None


@pytest.fixture(scope="session")
def redis_group(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisGroup]:
    """A Redis Sentinel group: HAMP_TEST_REDIS_SENTINELS's, or one started with .ci/redis.sh."""
    master_name = os.environ.get("HAMP_TEST_REDIS_MASTER", "hamp")
    password = os.environ.get("HAMP_TEST_REDIS_PASSWORD", "hamp-test")
    given = os.environ.get("HAMP_TEST_REDIS_SENTINELS", "")
    if given:
        yield RedisGroup(_parse(given), master_name, password)
        return
    require(
        _installed("redis-server", "redis-sentinel", "redis-cli"),
        "redis-server/redis-sentinel not installed (apt-get install redis-server redis-sentinel) "
        "and HAMP_TEST_REDIS_SENTINELS not set",
    )
    group = _StartedGroup.acquire(tmp_path_factory, password)
    try:
        yield group
    finally:
        _StartedGroup.release()


class RedisServer:
    """One redis-server of our own, in the foreground, on a fixed port: stop() and start() again."""

    def __init__(self, directory: Path, password: str = "") -> None:
        self.directory = directory
        self.password = password
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        auth = f":{self.password}@" if self.password else ""
        return f"redis://{auth}127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        args = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        args += ["--dir", str(self.directory)]
        if self.password:
            args += ["--requirepass", self.password]
        with (self.directory / "redis.log").open("ab") as log:
            self.process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 15
        while True:
            try:
                with redis.Redis(port=self.port, password=self.password or None, socket_timeout=1) as client:
                    client.ping()
                return self
            except redis.RedisError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise RuntimeError(f"redis-server on {self.port} did not start") from None
                time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A single redis-server (no password) that the test may stop and start again; stopped after it."""
    require(_installed("redis-server"), "redis-server not installed (apt-get install redis-server)")
    server = RedisServer(tmp_path).start()
    try:
        yield server
    finally:
        server.stop()
