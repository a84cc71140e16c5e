"""The registry beside the Spring Eureka server, at 1,000 and 10,000 instances, in one run.

For each instance count and each server in turn (ours, the Spring server secured as the fixture is,
the same Spring server without its password check): start the server as a real process on a free
loopback port, register the instances in bulk (Eureka's peer-replication batches of what a Spring
client registers: 100 apps, 90 s leases), renew them for a warm-up, then measure two phases of
`--seconds` each:

- alone: `--concurrency` async clients sending heartbeats (`PUT /eureka/apps/{APP}/{id}`) for the
  registered instances round robin, as fast as the server answers;
- with fetchers: the same while two clients fetch the full registry (`GET /eureka/apps/`) and the
  delta (`/eureka/apps/delta`) back to back, JSON, `Accept-Encoding: gzip`, as Spring clients do.

Then, with the instances renewed at Eureka's pace (each every 30 s) in the background: how long
after a change is acknowledged the full fetch shows it (a new instance registered, then a status
override), polled back to back for at most 40 s; and the leases lost (instances registered at the
start missing from the registry at the end). Prints one table.

Credentials on every request (ours: HAMP_REGISTRY_PASSWORD; Spring: HTTP Basic as
tests/support/spring.py sets it), self-preservation off, eviction on at Eureka's 60 s with the
instances' 90 s leases. The Spring server runs the fixture of tests/fixtures/spring (`bash
.ci/spring.sh build`) on the JVM's defaults, its response cache at Spring's default 30 s. The load
generator is this process (aiohttp on uvloop); it shares the machine's cores with the server, so its
CPU seconds are printed beside the server's, and so are the other processes' (the machine is shared).
Not a test: it prints figures.

    .venv/bin/python bench/registry.py [--instances 1000,10000] [--seconds 20] [--only ours,spring,spring-open]
"""

from __future__ import annotations

import sys
from pathlib import Path

# This script's folder comes first on sys.path, and its name is the registry package's: without this,
# `import registry` anywhere below would find this file.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]

import argparse  # noqa: E402
import asyncio  # noqa: E402
import base64  # noqa: E402
import gzip  # noqa: E402
import itertools  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import re  # noqa: E402
import secrets  # noqa: E402
import shutil  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections import Counter  # noqa: E402
from collections.abc import Callable, Coroutine, Iterator  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from typing import Any, Protocol  # noqa: E402

import aiohttp  # noqa: E402
import uvloop  # noqa: E402
from yarl import URL  # noqa: E402

from tests.support.servers import ROOT, free_port  # noqa: E402
from tests.support.spring import JVM_FLAGS, SPRING_USER, SpringEurekaServer  # noqa: E402

REGISTRATION_BATCH = 250
APPS = 100  # instances spread over this many apps: 10 or 100 instances each
LEASE_SECONDS = 90  # what Spring and HAMP clients announce by default
EUREKA_RENEWAL_SECONDS = 30  # a Eureka client's heartbeat interval: the background pace
VISIBLE_CAP_SECONDS = 40.0  # Spring's read-only cache refreshes every 30 s
POLL_PAUSE_SECONDS = 0.05
USER = SPRING_USER  # ours accepts any user it is told; both are told this one
CLK_TCK = os.sysconf("SC_CLK_TCK")
JSON_GZIP = {"Accept": "application/json", "Accept-Encoding": "gzip"}
JSON_PLAIN = {"Accept": "application/json", "Accept-Encoding": "identity"}
Work = Coroutine[Any, Any, None]


# --- the processes ---------------------------------------------------------------------------


def process_cpu(pid: int) -> float:
    """User + system CPU seconds of a process (all its threads) so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def process_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def machine_cpu() -> float:
    """CPU seconds spent by the whole machine so far (every state but idle and iowait)."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(values[:8]) - values[3] - values[4]) / CLK_TCK


class Server(Protocol):
    label: str

    @property
    def base(self) -> str: ...
    @property
    def pid(self) -> int: ...

    def start(self) -> object: ...
    def stop(self) -> object: ...
    def tail(self) -> str: ...


class OurRegistry:
    """`python -m shared.cli run registry` in a scratch var dir."""

    label = "ours"

    def __init__(self, password: str) -> None:
        self.password = password
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.dir = Path(tempfile.mkdtemp(prefix="hamp-bench-registry-"))
        self.log = self.dir / "registry.out"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def start(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("HAMP_")}
        env.update(
            HAMP_REGISTRY_PORT=str(self.port),
            HAMP_VAR_DIR=str(self.dir / "var"),
            HAMP_LOG_TO_FILE="false",
            HAMP_LOG_LEVEL="WARNING",
            HAMP_REGISTRY_USERNAME=USER,
            HAMP_REGISTRY_PASSWORD=self.password,
            # Its defaults, said here so that a changed default does not change what is compared.
            HAMP_REGISTRY_SELF_PRESERVATION="false",
            HAMP_REGISTRY_EVICTION_INTERVAL_SECONDS="60",
        )
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "shared.cli", "run", "registry"],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        deadline = time.monotonic() + 60
        while not _answers(f"{self.base}/health"):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the registry did not start\n{self.tail()}")
            time.sleep(0.1)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.dir, ignore_errors=True)

    def tail(self) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-40:])
        except FileNotFoundError:
            return "(no log)"


class SpringServer(SpringEurekaServer):
    """The fixture's Spring Eureka server with Spring's own timers (eviction every 60 s, the read-only
    response cache refreshed every 30 s) on the JVM's defaults: the fixture's flags (first JIT tier
    only, serial GC, 256 MB heap) make a test's JVM start fast, not serve fast.

    Secured as the fixture is (HTTP Basic on every request, Spring Boot's in-memory user), Spring
    Security checks the password with BCrypt on every request: the `{noop}` password Boot configures
    is re-encoded with BCrypt at the first successful login (Spring Security upgrades a stored
    password's encoding, and InMemoryUserDetailsManager lets it), after which every check costs about
    60 ms of CPU here (a wrong password before that first login: about 8 ms in all). So a second
    one, `open=True`, keeps Spring Security's filter off plain requests
    (`spring.security.filter.dispatcher-types=async`): the same server without the password check,
    to compare the registries themselves."""

    def __init__(self, password: str, *, open: bool = False) -> None:
        unsecured: dict[str, object] = {"spring.security.filter.dispatcher-types": "async"} if open else {}
        super().__init__(password, eviction_ms=60_000, cache_update_ms=30_000, properties=unsecured)
        self.label = "Spring, no auth" if open else "Spring"

    @property
    def pid(self) -> int:
        assert self.process is not None
        pid: int = self.process.pid
        return pid

    def command(self) -> list[str]:
        return [str(part) for part in super().command() if part not in JVM_FLAGS]

    def stop(self, *args: Any, **kwargs: Any) -> int | None:
        try:
            code: int | None = super().stop(*args, **kwargs)
            return code
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)


def _answers(url: str) -> bool:
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=2) as answer:
            return bool(answer.status == 200)
    except (OSError, urllib.error.URLError):
        return False


# --- the fleet ---------------------------------------------------------------------------------


@dataclass
class Fleet:
    """`count` instances as a Spring client would register them, and their heartbeat URLs."""

    base: str
    count: int
    dirty: int = field(default_factory=lambda: int(time.time() * 1000))

    def __post_init__(self) -> None:
        self.apps = [f"BENCH-{i % APPS:03d}" for i in range(self.count)]
        self.ips = [f"10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}" for i in range(self.count)]
        self.ids = [f"{ip}:{app.lower()}:8080" for ip, app in zip(self.ips, self.apps, strict=True)]
        # Built once: a yarl URL per heartbeat, so the generator does not parse 5,000 URLs a second.
        self.renew_urls = [
            URL(f"{self.base}/eureka/apps/{app}/{iid}?status=UP&lastDirtyTimestamp={self.dirty}", encoded=True)
            for app, iid in zip(self.apps, self.ids, strict=True)
        ]

    def instance(self, i: int) -> dict[str, Any]:
        return instance(self.apps[i], self.ids[i], self.ips[i], self.dirty)


def instance(app: str, instance_id: str, ip: str, dirty: int) -> dict[str, Any]:
    """An instance as Spring Cloud Netflix's client registers it (EurekaJacksonCodec's field order
    and forms)."""
    vip = app.lower()
    url = f"http://{ip}:8080"
    return {
        "instanceId": instance_id,
        "hostName": ip,
        "app": app,
        "ipAddr": ip,
        "status": "UP",
        "overriddenStatus": "UNKNOWN",
        "port": {"$": 8080, "@enabled": "true"},
        "securePort": {"$": 443, "@enabled": "false"},
        "countryId": 1,
        "dataCenterInfo": {"@class": "com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo", "name": "MyOwn"},
        "leaseInfo": {
            "renewalIntervalInSecs": EUREKA_RENEWAL_SECONDS,
            "durationInSecs": LEASE_SECONDS,
            "registrationTimestamp": 0,
            "lastRenewalTimestamp": 0,
            "evictionTimestamp": 0,
            "serviceUpTimestamp": 0,
        },
        "metadata": {"management.port": "8080"},
        "homePageUrl": f"{url}/",
        "statusPageUrl": f"{url}/actuator/info",
        "healthCheckUrl": f"{url}/actuator/health",
        "vipAddress": vip,
        "secureVipAddress": vip,
        "isCoordinatingDiscoveryServer": "false",
        "lastUpdatedTimestamp": str(dirty),
        "lastDirtyTimestamp": str(dirty),
    }


async def register_all(session: aiohttp.ClientSession, fleet: Fleet, concurrency: int) -> float:
    """Every instance registered in Eureka's peer-replication batches (250 a batch, as Netflix's
    batcher sends; both servers take them), `concurrency` batches at a time; the seconds it took.
    One request per batch: a secured Spring server checks the password once per request."""
    began = time.monotonic()
    batches = iter(range(0, fleet.count, REGISTRATION_BATCH))
    headers = {"Content-Type": "application/json", "Accept": "application/json"}

    async def registrar() -> None:
        for first in batches:
            items = [
                {
                    "appName": fleet.apps[i],
                    "id": fleet.ids[i],
                    "lastDirtyTimestamp": fleet.dirty,
                    "overriddenStatus": "UNKNOWN",
                    "status": "UP",
                    "instanceInfo": fleet.instance(i),
                    "action": "Register",
                }
                for i in range(first, min(first + REGISTRATION_BATCH, fleet.count))
            ]
            body = json.dumps({"replicationList": items}, separators=(",", ":")).encode()
            url = f"{fleet.base}/eureka/peerreplication/batch/"
            async with session.post(url, data=body, headers=headers) as answer:
                text = await answer.text()
            codes = Counter(item["statusCode"] for item in json.loads(text)["responseList"]) if answer.ok else None
            if codes is None or set(codes) - {200, 204} or codes.total() != len(items):
                raise SystemExit(f"registering a batch: {answer.status} {codes or text[:300]}")

    await asyncio.gather(*(registrar() for _ in range(concurrency)))
    return time.monotonic() - began


# --- the load ----------------------------------------------------------------------------------


class Gaps:
    """Per instance, the longest it went without a successful heartbeat (registration counts as
    one): over the lease's 90 s, the server would have been right to evict it."""

    def __init__(self, count: int, since: float) -> None:
        self.last = [since] * count
        self.longest = [0.0] * count

    def renewed(self, i: int, at: float) -> None:
        gap = at - self.last[i]
        if gap > self.longest[i]:
            self.longest[i] = gap
        self.last[i] = at

    def worst(self, now: float) -> float:
        return max(max(self.longest), max(now - t for t in self.last))


@dataclass
class Tally:
    renewals: list[float] = field(default_factory=list)  # latencies of the 200s
    errors: Counter[str] = field(default_factory=Counter)
    full: list[float] = field(default_factory=list)
    delta: list[float] = field(default_factory=list)
    full_gzip_bytes: int = 0


async def renewer(
    session: aiohttp.ClientSession,
    fleet: Fleet,
    cursor: Iterator[int],
    stop: Callable[[], bool],
    tally: Tally,
    gaps: Gaps,
    pause: float = 0.0,
) -> None:
    """Heartbeats for the next instance in turn (the cursor is shared) until `stop()`; `pause`
    seconds between two of this worker's heartbeats (0: back to back)."""
    next_at = time.monotonic()
    while not stop():
        if pause:
            next_at += pause
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))
        i = next(cursor)
        started = time.perf_counter()
        try:
            async with session.put(fleet.renew_urls[i]) as answer:
                await answer.read()
                status = answer.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            tally.errors[type(exc).__name__] += 1
            continue
        if status == 200:
            tally.renewals.append(time.perf_counter() - started)
            gaps.renewed(i, time.monotonic())
        else:
            tally.errors[str(status)] += 1


async def fetcher(session: aiohttp.ClientSession, base: str, stop: Callable[[], bool], tally: Tally) -> None:
    """The full registry then the delta, back to back, as a Spring client's refresh does (the body
    read, not unzipped: a client's parsing is its own cost, not the server's)."""
    while not stop():
        for url, latencies in ((f"{base}/eureka/apps/", tally.full), (f"{base}/eureka/apps/delta", tally.delta)):
            started = time.perf_counter()
            async with session.get(url, headers=JSON_GZIP) as answer:
                body = await answer.read()
                if answer.status != 200:
                    tally.errors[f"fetch {answer.status}"] += 1
                    continue
            latencies.append(time.perf_counter() - started)
            if latencies is tally.full:
                tally.full_gzip_bytes = len(body)


@dataclass
class Phase:
    seconds: float
    tally: Tally
    server_cpu: float
    server_rss_mb: float
    generator_cpu: float
    other_cpu: float

    @property
    def renewals_per_second(self) -> float:
        return len(self.tally.renewals) / self.seconds


async def measure(server: Server, seconds: float, run: Callable[[Callable[[], bool], Tally], list[Work]]) -> Phase:
    """`run(stop, tally)`'s coroutines for `seconds`, with the CPU each party spent meanwhile."""
    me = os.getpid()
    tally = Tally()
    at = (process_cpu(server.pid), process_cpu(me), machine_cpu())
    began = time.monotonic()
    stop_at = began + seconds
    await asyncio.gather(*run(lambda: time.monotonic() >= stop_at, tally))
    elapsed = time.monotonic() - began
    server_cpu = process_cpu(server.pid) - at[0]
    generator_cpu = process_cpu(me) - at[1]
    other = machine_cpu() - at[2] - server_cpu - generator_cpu
    return Phase(elapsed, tally, server_cpu, process_rss_mb(server.pid), generator_cpu, max(0.0, other))


# --- a change, until a fetch shows it ---------------------------------------------------------


async def full_text(session: aiohttp.ClientSession, base: str, headers: dict[str, str]) -> tuple[str, int]:
    """The full registry as text, and its size as sent."""
    async with session.get(f"{base}/eureka/apps/", headers=headers) as answer:
        body = await answer.read()
        if answer.status != 200:
            raise SystemExit(f"GET /eureka/apps/: {answer.status} {body[:300]!r}")
        sent = len(body)
        if answer.headers.get("Content-Encoding", "") == "gzip":
            body = gzip.decompress(body)
    return body.decode(), sent


def status_of(text: str, instance_id: str) -> str | None:
    """The instance's status in a full fetch (both servers write instanceId before status)."""
    found = re.search(
        rf'"instanceId"\s*:\s*"{re.escape(instance_id)}".*?"status"\s*:\s*"([A-Z_]+)"', text, flags=re.DOTALL
    )
    return found.group(1) if found else None


async def until_shown(session: aiohttp.ClientSession, base: str, shown: Callable[[str], bool]) -> float | None:
    """Seconds until a full fetch shows it (the fetch's answer included); None past the cap."""
    began = time.monotonic()
    while time.monotonic() - began < VISIBLE_CAP_SECONDS:
        text, _ = await full_text(session, base, JSON_GZIP)
        if shown(text):
            return time.monotonic() - began
        await asyncio.sleep(POLL_PAUSE_SECONDS)
    return None


async def changes_shown(session: aiohttp.ClientSession, base: str) -> tuple[float | None, float | None]:
    """A new instance registered, then its status overridden: how long until a full fetch shows each."""
    app, ip = "BENCH-PROBE", "10.255.255.254"
    probe = f"{ip}:bench-probe:{secrets.token_hex(4)}"
    body = json.dumps({"instance": instance(app, probe, ip, int(time.time() * 1000))}).encode()
    async with session.post(f"{base}/eureka/apps/{app}", data=body, headers={"Content-Type": "application/json"}) as a:
        await a.read()
        if a.status not in (200, 204):
            raise SystemExit(f"registering the probe: {a.status}")
    registered = await until_shown(session, base, lambda text: status_of(text, probe) is not None)
    async with session.put(f"{base}/eureka/apps/{app}/{probe}/status?value=OUT_OF_SERVICE") as a:
        await a.read()
        if a.status != 200:
            raise SystemExit(f"overriding the probe's status: {a.status}")
    overridden = await until_shown(session, base, lambda text: status_of(text, probe) == "OUT_OF_SERVICE")
    return registered, overridden


# --- one server at one size --------------------------------------------------------------------


@dataclass
class Result:
    label: str
    instances: int
    start_seconds: float
    registration_seconds: float
    alone: Phase
    fetching: Phase
    full_plain_bytes: int
    new_shown: float | None
    status_shown: float | None
    lost: int
    longest_gap: float
    errors: Counter[str]


async def bench_server(server: Server, count: int, args: argparse.Namespace, password: str) -> Result:
    auth = {"Authorization": "Basic " + base64.b64encode(f"{USER}:{password}".encode()).decode()}
    timeout = aiohttp.ClientTimeout(total=60)

    def session(limit: int) -> aiohttp.ClientSession:
        # Not unzipped by aiohttp: a fetch's gzipped size is what the server sent.
        connector = aiohttp.TCPConnector(limit=limit, ttl_dns_cache=None)
        return aiohttp.ClientSession(connector=connector, headers=auth, timeout=timeout, auto_decompress=False)

    fleet = Fleet(server.base, count)
    async with session(args.concurrency) as renewals, session(2) as fetches, session(1) as probe:
        registration_seconds = await register_all(renewals, fleet, args.concurrency)
        gaps = Gaps(count, time.monotonic())
        cursor = itertools.cycle(range(count))

        def flat_out(stop: Callable[[], bool], tally: Tally) -> list[Work]:
            return [renewer(renewals, fleet, cursor, stop, tally, gaps) for _ in range(args.concurrency)]

        def with_fetchers(stop: Callable[[], bool], tally: Tally) -> list[Work]:
            return [*flat_out(stop, tally), *(fetcher(fetches, server.base, stop, tally) for _ in range(2))]

        await measure(server, args.warm_up, flat_out)
        alone = await measure(server, args.seconds, flat_out)
        fetching = await measure(server, args.seconds, with_fetchers)
        _, full_plain_bytes = await full_text(probe, server.base, JSON_PLAIN)

        # Each instance every 30 s, as clients renew, while the changes are watched: the leases are
        # checked after, so they must stay alive meanwhile.
        done = asyncio.Event()
        background = Tally()
        workers = 8
        pace = workers * EUREKA_RENEWAL_SECONDS / count
        paced = [
            asyncio.create_task(renewer(renewals, fleet, cursor, done.is_set, background, gaps, pause=pace))
            for _ in range(workers)
        ]
        try:
            new_shown, status_shown = await changes_shown(probe, server.base)
        finally:
            done.set()
            await asyncio.gather(*paced)
        text, _ = await full_text(probe, server.base, JSON_PLAIN)
        present = {
            inst["instanceId"] for app in json.loads(text)["applications"]["application"] for inst in app["instance"]
        }
        lost = sum(1 for iid in fleet.ids if iid not in present)
        errors = alone.tally.errors + fetching.tally.errors + background.errors
        return Result(
            server.label,
            count,
            getattr(server, "start_seconds", 0.0),
            registration_seconds,
            alone,
            fetching,
            full_plain_bytes,
            new_shown,
            status_shown,
            lost,
            gaps.worst(time.monotonic()),
            errors,
        )


def run_one(make: Callable[[str], Server], count: int, args: argparse.Namespace) -> Result:
    password = secrets.token_urlsafe(18)
    server = make(password)
    began = time.monotonic()
    try:
        server.start()
        started = time.monotonic() - began
        result = uvloop.run(bench_server(server, count, args, password))
        result.start_seconds = started
        return result
    except BaseException:
        print(server.tail(), file=sys.stderr)
        raise
    finally:
        server.stop()


# --- the table ---------------------------------------------------------------------------------


def ms(values: list[float], pct: int) -> str:
    if not values:
        return "-"
    if len(values) == 1:
        return f"{values[0] * 1000:.1f}"
    return f"{statistics.quantiles(values, n=100, method='inclusive')[pct - 1] * 1000:.1f}"


def shown(seconds: float | None) -> str:
    return f">{VISIBLE_CAP_SECONDS:.0f} s" if seconds is None else f"{seconds:.2f} s"


def rows(r: Result) -> list[tuple[str, str]]:
    a, f = r.alone, r.fetching
    return [
        ("renewals/s alone", f"**{a.renewals_per_second:,.0f}**"),
        ("renewal p50 / p99 alone (ms)", f"{ms(a.tally.renewals, 50)} / {ms(a.tally.renewals, 99)}"),
        ("renewals/s with fetchers", f"**{f.renewals_per_second:,.0f}**"),
        ("renewal p50 / p99 with fetchers (ms)", f"{ms(f.tally.renewals, 50)} / {ms(f.tally.renewals, 99)}"),
        ("full fetches / delta fetches (with fetchers)", f"{len(f.tally.full):,} / {len(f.tally.delta):,}"),
        ("full-fetch p50 / delta p50 (ms)", f"**{ms(f.tally.full, 50)}** / {ms(f.tally.delta, 50)}"),
        ("full fetch size gzip / plain (bytes)", f"{f.tally.full_gzip_bytes:,} / {r.full_plain_bytes:,}"),
        ("server CPU s alone / with fetchers", f"{a.server_cpu:.1f} / {f.server_cpu:.1f}"),
        (
            "server CPU ms per renewal alone / with fetchers",
            f"{a.server_cpu * 1000 / max(1, len(a.tally.renewals)):.3f}"
            f" / {f.server_cpu * 1000 / max(1, len(f.tally.renewals)):.3f}",
        ),
        ("server RSS MB after alone / with fetchers", f"{a.server_rss_mb:.0f} / {f.server_rss_mb:.0f}"),
        ("load generator CPU s alone / with fetchers", f"{a.generator_cpu:.1f} / {f.generator_cpu:.1f}"),
        ("other processes' CPU s alone / with fetchers", f"{a.other_cpu:.1f} / {f.other_cpu:.1f}"),
        ("new instance shown by a full fetch after", shown(r.new_shown)),
        ("status change shown by a full fetch after", shown(r.status_shown)),
        ("leases lost", f"**{r.lost}**"),
        ("longest without a renewal (lease 90 s)", f"{r.longest_gap:.1f} s"),
        ("failed renewals and fetches", ", ".join(f"{k}: {v}" for k, v in r.errors.most_common()) or "0"),
        ("start / bulk registration (s)", f"{r.start_seconds:.1f} / {r.registration_seconds:.1f}"),
    ]


def print_table(results: list[Result]) -> None:
    head = ["", *(f"{r.instances:,} {r.label}" for r in results)]
    table = [list(col) for col in zip(*(rows(r) for r in results), strict=True)]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for line in table:
        print(f"| {line[0][0]} | " + " | ".join(value for _, value in line) + " |")


def java_version() -> str:
    from tests.support.spring import _java

    java = _java()
    if java is None:
        return "no java"
    run = subprocess.run([java, "-version"], capture_output=True, text=True)
    return run.stderr.splitlines()[0] if run.stderr else "?"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", default="1000,10000", help="comma-separated instance counts")
    parser.add_argument("--seconds", type=float, default=20.0, help="length of each measured phase")
    parser.add_argument(
        "--only",
        default="ours,spring,spring-open",
        help="servers, comma-separated: ours, spring (secured as the fixture is), spring-open (no password check)",
    )
    parser.add_argument("--concurrency", type=int, default=32, help="async clients sending heartbeats")
    parser.add_argument("--warm-up", type=float, default=10.0, help="seconds of heartbeats before measuring")
    args = parser.parse_args()
    counts = [int(n.replace("_", "")) for n in args.instances.split(",") if n.strip()]
    servers: dict[str, Callable[[str], Server]] = {
        "ours": OurRegistry,
        "spring": SpringServer,
        "spring-open": lambda password: SpringServer(password, open=True),
    }
    chosen = [name.strip() for name in args.only.split(",")]
    if unknown := set(chosen) - set(servers):
        parser.error(f"--only: unknown {', '.join(sorted(unknown))} (ours, spring, spring-open)")
    makers = [servers[name] for name in chosen]

    load = os.getloadavg()
    print(
        f"machine: {os.cpu_count()} cores, load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} at the start; "
        f"Python {sys.version.split()[0]}; {java_version()}"
    )
    print(
        f"{args.concurrency} heartbeat clients, {args.seconds:.0f} s per phase after {args.warm_up:.0f} s warm-up; "
        f"{APPS} apps; leases {LEASE_SECONDS} s; changes watched for at most {VISIBLE_CAP_SECONDS:.0f} s",
        flush=True,
    )
    results = []
    for count in counts:
        for make in makers:
            result = run_one(make, count, args)
            print(
                f"  {count:,} {result.label}: {result.alone.renewals_per_second:,.0f} renewals/s alone, "
                f"{result.fetching.renewals_per_second:,.0f} with fetchers",
                flush=True,
            )
            results.append(result)
    print()
    print_table(results)


if __name__ == "__main__":
    main()
