"""The Spring fixtures (tests/fixtures/spring, built by `.ci/spring.sh build`) as real JVM processes:
a Spring Eureka server and a Spring Boot app with Spring Cloud Netflix's Eureka client."""

from __future__ import annotations

import glob
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import httpx2

from tests.support.servers import ROOT, free_port, require

# The JIT's first tier only, one GC thread, small stacks and heap: a fixture does little work once up.
# With the class-data archive .ci/spring.sh makes of each fixture, the app is ready in about 1.5 s and
# the server in about 2 s on this 2-core machine (the plain fat jar without these flags: 5-6 s).
JVM_FLAGS = (
    "-XX:TieredStopAtLevel=1",
    "-XX:+UseSerialGC",
    "-Xshare:auto",
    "-Xss512k",
    "-Xmx256m",
    "-Djava.security.egd=file:/dev/urandom",
)
START_TIMEOUT = 90.0
# What the Spring server's fixture accepts unless told otherwise (application.yml).
SPRING_USER = "hamp"

_built: Path | str | None = None


def _java() -> str | None:
    found = sorted(glob.glob("/usr/lib/jvm/java-17-openjdk-*/bin/java"))
    return found[0] if found else shutil.which("java")


def spring_jars() -> Path:
    """The directory holding eureka-server.jar and eureka-app.jar, built once per test session (a warm
    build is a lookup). Outside CI a machine without a JDK or Maven Central skips; under CI it fails."""
    global _built
    if _built is None:
        if _java() is None:
            _built = "no Java 17 (openjdk-17-jdk-headless)"
        else:
            run = subprocess.run(
                ["bash", str(ROOT / ".ci" / "spring.sh"), "build"], capture_output=True, text=True, timeout=1200
            )
            if run.returncode == 0:
                _built = Path(run.stdout.strip().splitlines()[-1])
            else:
                _built = f".ci/spring.sh build failed:\n{run.stderr[-3000:]}"
    require(isinstance(_built, Path), str(_built))
    assert isinstance(_built, Path)
    return _built


class _SpringProcess:
    """`java -jar <fixture>.jar --name=value…` on a free loopback port, with its own temp dir (its
    working directory and java.io.tmpdir) and log; `with` starts it and stops it, and shows the end of
    its log when the block fails."""

    jar: str
    ready_path = "/actuator/health"

    def __init__(self, name: str, properties: dict[str, object], port: int | None = None) -> None:
        self.name = name
        self.port = port or free_port()
        self.properties = {"server.port": self.port, "server.address": "127.0.0.1", **properties}
        self.dir = Path(tempfile.mkdtemp(prefix=f"hamp-spring-{name}-"))
        self.log = self.dir / f"{name}.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.start_seconds = 0.0

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        java = _java()
        assert java is not None
        built = spring_jars()
        name = self.jar.removesuffix(".jar")
        archive, extracted = built / f"{name}.jsa", built / name / self.jar
        # The training run's class-data archive (.ci/spring.sh) with the extracted jar it was made from.
        run = (
            [f"-XX:SharedArchiveFile={archive}", "-Xlog:cds=off", "-Xlog:cds+dynamic=off", "-jar", str(extracted)]
            if archive.is_file() and extracted.is_file()
            else ["-jar", str(built / self.jar)]
        )
        arguments = [f"--{key}={value}" for key, value in self.properties.items()]
        return [java, *JVM_FLAGS, f"-Djava.io.tmpdir={self.dir}", *run, *arguments]

    def start(self, wait: bool = True) -> Self:
        command = self.command()
        began = time.monotonic()
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                command, cwd=self.dir, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )
        if wait:
            self.wait_ready()
            self.start_seconds = time.monotonic() - began
        return self

    def ready(self) -> bool:
        try:
            return httpx2.get(self.base + self.ready_path, timeout=2).status_code == 200
        except httpx2.HTTPError:
            return False

    def wait_ready(self, timeout: float = START_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while not self.ready():
            if self.process is None or self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited before it was ready\n{self.tail()}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.name} not ready in {timeout} s\n{self.tail()}")
            time.sleep(0.2)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20.0) -> int | None:
        """Stop it (SIGTERM: Spring's graceful shutdown; SIGKILL after `timeout`); its exit code."""
        process, self.process = self.process, None
        if process is None:
            return None
        if process.poll() is None:
            process.send_signal(sig)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        return process.returncode

    def tail(self, lines: int = 60) -> str:
        """The end of its log, less the registry-fetch chatter Netflix's client logs every second."""
        try:
            text = self.log.read_text(errors="replace").splitlines()
        except FileNotFoundError:
            return "(no log)"
        kept = [line for line in text if "[reshExecutor" not in line and not line.startswith("\tat ")]
        return f"== {self.name} ({self.log})\n" + "\n".join(kept[-lines:])

    def __enter__(self) -> Self:
        if self.process is None:
            try:
                self.start()
            except BaseException:
                self.__exit__(None, None, None)
                raise
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if kind is not None:
            print(self.tail())
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


class SpringEurekaServer(_SpringProcess):
    """Spring Cloud Netflix's Eureka server, writes and reads behind HTTP Basic (user `hamp`), no
    self-preservation, with its eviction and read-only response cache on fast timers; standalone
    unless `peers` (Eureka URLs, credentials in them) are given. `port`: for servers that name each other
    as peers (free_port() each first); else a free one."""

    jar = "eureka-server.jar"

    def __init__(
        self,
        password: str,
        *,
        peers: list[str] | None = None,
        eviction_ms: int = 500,
        cache_update_ms: int = 500,
        port: int | None = None,
        properties: dict[str, object] | None = None,
    ) -> None:
        values: dict[str, object] = {
            "hamp.registry.username": SPRING_USER,
            "hamp.registry.password": password,
            "eureka.server.eviction-interval-timer-in-ms": eviction_ms,
            "eureka.server.response-cache-update-interval-ms": cache_update_ms,
        }
        if peers:
            values["eureka.client.service-url.defaultZone"] = ",".join(peers)
            values["eureka.client.registry-fetch-interval-seconds"] = 1
        super().__init__("spring-eureka-server", values | (properties or {}), port)
        self.password = password

    @property
    def url(self) -> str:
        return f"{self.base}/eureka/"

    @property
    def url_with_credentials(self) -> str:
        return f"http://{SPRING_USER}:{self.password}@127.0.0.1:{self.port}/eureka/"

    @property
    def auth(self) -> tuple[str, str]:
        return SPRING_USER, self.password


class SpringApp(_SpringProcess):
    """A Spring Boot service with the Eureka client (tests/fixtures/spring/eureka-app): registers as
    `name` with instance id `127.0.0.1:<name>:<port>` at `registry_url` (credentials in it), renews
    and fetches every `interval` seconds. `warm_up_ms`: it registers as STARTING first and turns UP
    that much later."""

    jar = "eureka-app.jar"

    def __init__(
        self,
        registry_url: str,
        *,
        name: str = "lab",
        interval: int = 1,
        lease_seconds: int = 30,
        warm_up_ms: int = 0,
        properties: dict[str, object] | None = None,
    ) -> None:
        values: dict[str, object] = {
            "hamp.app.name": name,
            "hamp.registry.url": registry_url,
            "eureka.instance.lease-renewal-interval-in-seconds": interval,
            "eureka.instance.lease-expiration-duration-in-seconds": lease_seconds,
            "eureka.client.registry-fetch-interval-seconds": interval,
            "eureka.client.initial-instance-info-replication-interval-seconds": interval,
            "eureka.client.instance-info-replication-interval-seconds": interval,
        }
        if warm_up_ms:
            values["hamp.app.warm-up-ms"] = warm_up_ms
            values["eureka.client.should-enforce-registration-at-init"] = "true"
        super().__init__(f"spring-app-{name}", values | (properties or {}))
        self.app = name

    @property
    def instance_id(self) -> str:
        return f"127.0.0.1:{self.app}:{self.port}"

    def discovered(self, app: str) -> list[dict[str, Any]]:
        """The instances of `app` its DiscoveryClient knows now (UP ones: Spring filters the rest)."""
        answer = httpx2.get(f"{self.base}/discovered/{app}", timeout=5)
        answer.raise_for_status()
        seen: list[dict[str, Any]] = answer.json()
        return seen
