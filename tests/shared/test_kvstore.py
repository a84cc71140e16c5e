"""The shared key-value store: the same behaviour in process and on real Redis (direct and via
Sentinel), a failover, and a Redis that is down or silent."""

from __future__ import annotations

import asyncio
import socket
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from types import SimpleNamespace

import pytest

from shared.kvstore import KeyValueStore, KeyValueUnavailable, MemoryStore, RedisStore, kv_store, parse_sentinels
from tests.support import redis as real_redis
from tests.support.clock import FakeClock
from tests.support.redis import RedisGroup, RedisServer

redis_group = real_redis.redis_group
redis_server = real_redis.redis_server

pytestmark = pytest.mark.anyio

StoreFactory = Callable[[str], KeyValueStore]
Elapse = Callable[[float], Awaitable[None]]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


# These tests are about what the stores count, not how fast: 50 calls at once on a loaded 2-core CI
# machine overran the default 1 s (timeouts have tests of their own, with their own short limits).
PATIENT = 5.0


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(params=["memory", "redis", "sentinel"])
async def make_store(request: pytest.FixtureRequest, clock: FakeClock) -> AsyncIterator[StoreFactory]:
    """make_store(prefix) -> a store of the parameter's kind; closed after the test. The in-process
    store keeps time by `clock`."""
    made: list[KeyValueStore] = []
    group: RedisGroup | None = None
    if request.param != "memory":
        group = request.getfixturevalue("redis_group")
    url = group.master_url() if request.param == "redis" else ""

    def make(prefix: str) -> KeyValueStore:
        if request.param == "memory":
            store: KeyValueStore = MemoryStore(clock=clock.monotonic)
        elif request.param == "redis":
            store = RedisStore.from_url(url, prefix=prefix, timeout_seconds=PATIENT)
        else:
            store = RedisStore.from_sentinel(
                group.sentinels, group.master_name, password=group.password, prefix=prefix, timeout_seconds=PATIENT
            )
        made.append(store)
        return store

    yield make
    for store in made:
        await store.aclose()


@pytest.fixture
def elapse(request: pytest.FixtureRequest, clock: FakeClock) -> Elapse:
    """Lets `seconds` pass: at once on the in-process store's clock; Redis keeps its server's time,
    so against Redis the test waits."""
    if request.node.callspec.params["make_store"] != "memory":
        return asyncio.sleep

    async def advance(seconds: float) -> None:
        clock.advance(seconds)

    return advance


@pytest.fixture
def store(make_store: StoreFactory) -> KeyValueStore:
    # A prefix of its own, so that runs against long-lived servers never meet old keys.
    return make_store(f"test:{uuid.uuid4().hex[:10]}:")


def close_to(value: float, expected: float, slack: float = 0.06) -> bool:
    """`value` is `expected` less at most `slack` (time passes, and refills, between two calls)."""
    return expected - slack <= value <= expected


# --- the same behaviour everywhere ------------------------------------------------------------


async def test_set_get_expire_and_overwrite(store: KeyValueStore, elapse: Elapse) -> None:
    assert await store.get("absent") is None
    await store.set("a", "1", 0.3)
    await store.set("long", "住院 ZY-1", 30)
    assert await store.get("a") == "1"
    assert await store.get("long") == "住院 ZY-1"
    await store.set("a", "2", 30)  # replaces the value and the TTL
    await store.set("short", "x", 0.3)
    await elapse(0.45)
    assert await store.get("a") == "2"
    assert await store.get("short") is None
    assert await store.get("long") == "住院 ZY-1"
    await store.set("a", "3", 0.3)  # the TTL is shortened again, too
    await elapse(0.45)
    assert await store.get("a") is None


async def test_delete(store: KeyValueStore) -> None:
    await store.set("a", "1", 30)
    await store.set("b", "2", 30)
    await store.delete("a")
    await store.delete("never-there")
    assert await store.get("a") is None
    assert await store.get("b") == "2"


async def test_incr_is_a_fixed_window_from_the_first_increment(store: KeyValueStore, elapse: Elapse) -> None:
    assert [await store.incr("fails", 0.6) for _ in range(3)] == [1, 2, 3]
    assert await store.get("fails") == "3"  # lockout checks read the count without counting
    assert await store.incr("other", 0.6) == 1
    await elapse(0.35)
    assert await store.incr("fails", 0.6) == 4  # within the window; does not extend it
    await elapse(0.35)  # 0.7 s after the first increment, 0.35 s after the last
    assert await store.get("fails") is None
    assert await store.incr("fails", 0.6) == 1


async def test_take_burst_then_refusal_with_the_right_wait(store: KeyValueStore, elapse: Elapse) -> None:
    assert [await store.take("ip", 2, 3) for _ in range(3)] == [0.0, 0.0, 0.0]
    wait = await store.take("ip", 2, 3)
    assert close_to(wait, 0.5)  # one token at 2 per second
    assert close_to(await store.take("ip", 2, 3), 0.5)  # a refusal takes nothing
    await elapse(wait + 0.02)
    assert await store.take("ip", 2, 3) == 0.0
    assert 0 < await store.take("ip", 2, 3) <= 0.5
    assert await store.take("another-ip", 2, 3) == 0.0


async def test_take_refills_over_time_but_never_beyond_burst(store: KeyValueStore, elapse: Elapse) -> None:
    # 2 tokens a second: a busy runner's slow calls (up to 0.25 s for three) cannot refill a third.
    for _ in range(4):
        assert await store.take("k", 2, 4) == 0.0
    assert close_to(await store.take("k", 2, 4), 0.5)
    await elapse(1.25)  # 2.5 tokens come back
    assert [await store.take("k", 2, 4) == 0.0 for _ in range(3)] == [True, True, False]
    await elapse(2.5)  # 5 would come back; the bucket holds 4
    assert [await store.take("k", 2, 4) == 0.0 for _ in range(5)] == [True] * 4 + [False]


async def test_take_several_tokens_and_a_refusal_takes_none(store: KeyValueStore, elapse: Elapse) -> None:
    assert await store.take("k", 10, 5, tokens=5) == 0.0
    assert close_to(await store.take("k", 10, 5, tokens=3), 0.3)
    # Had the refusal taken its 3 tokens, one token would be 0.4 s away.
    assert close_to(await store.take("k", 10, 5, tokens=1), 0.1)
    await elapse(0.32)
    assert await store.take("k", 10, 5, tokens=3) == 0.0
    assert 0 < await store.take("k", 10, 5, tokens=3) <= 0.3


async def test_concurrent_takes_allow_exactly_the_burst(store: KeyValueStore) -> None:
    waits = await asyncio.gather(*(store.take("hot", 0.1, 10) for _ in range(50)))
    assert waits.count(0.0) == 10
    assert all(w > 9 for w in waits if w)  # 0.1 token per second: ~10 s for the next one


async def test_concurrent_increments_each_count_once(store: KeyValueStore) -> None:
    counts = await asyncio.gather(*(store.incr("hot", 30) for _ in range(50)))
    assert sorted(counts) == list(range(1, 51))


async def test_arguments_are_checked_the_same_way(store: KeyValueStore) -> None:
    for call in (
        lambda: store.set("a", "1", 0),
        lambda: store.set("a", "1", -1),
        lambda: store.incr("a", 0),
        lambda: store.take("a", 0, 5),
        lambda: store.take("a", 1, 0),
        lambda: store.take("a", 1, 5, tokens=0),
        lambda: store.take("a", 1, 5, tokens=6),  # could never be granted
    ):
        with pytest.raises(ValueError):
            await call()
    assert await store.get("a") is None


async def test_ping(store: KeyValueStore) -> None:
    assert isinstance(store, KeyValueStore)
    assert await store.ping() is True


async def test_prefixes_keep_stores_apart(make_store: StoreFactory, request: pytest.FixtureRequest) -> None:
    run = uuid.uuid4().hex[:10]
    gateway, other = make_store(f"{run}:gw:"), make_store(f"{run}:other:")
    await gateway.set("k", "gateway", 30)
    await gateway.incr("n", 30)
    await gateway.take("b", 0.01, 1)  # the bucket key lives 100 s
    assert await other.get("k") is None
    assert await other.incr("n", 30) == 1
    assert await other.take("b", 0.01, 1) == 0.0
    await other.delete("k")
    assert await gateway.get("k") == "gateway"
    if isinstance(gateway, RedisStore):
        group: RedisGroup = request.getfixturevalue("redis_group")
        with group.server(group.master()) as raw:
            assert sorted(raw.scan_iter(f"{run}:*")) == sorted(
                [f"{run}:gw:k", f"{run}:gw:n", f"{run}:gw:b", f"{run}:other:n", f"{run}:other:b"]
            )
            assert 0 < raw.pttl(f"{run}:gw:k") <= 30_000


# --- in process only ----------------------------------------------------------------------------


async def test_memory_store_purges_expired_keys(clock: FakeClock) -> None:
    # A clock moved by hand: on a busy machine writing 3000 keys can itself take past 0.5 s.
    store = MemoryStore(clock=clock.monotonic)
    for i in range(1000):
        await store.set(f"s{i}", "x", 1)
        await store.incr(f"c{i}", 1)
        await store.take(f"b{i}", 2, 2)  # full again, so forgotten, after 0.5 s
    await store.set("kept", "x", 30)
    assert len(store) == 3001
    clock.advance(1.1)
    assert await store.get("kept") == "x"
    assert len(store) == 1
    assert len(store._heap) == 1
    # A hot key does not grow the purge heap with every write.
    for _ in range(5000):
        await store.take("hot", 1000, 10)
        await store.incr("n", 30)
        await store.set("v", "x", 30)
    assert len(store) == 4
    assert len(store._heap) <= 8


async def test_memory_store_refuses_mixing_kinds_on_a_key() -> None:
    store = MemoryStore()
    await store.take("b", 1, 1)
    await store.set("v", "abc", 30)
    with pytest.raises(TypeError):
        await store.get("b")
    with pytest.raises(TypeError):
        await store.incr("b", 30)
    with pytest.raises(ValueError):
        await store.incr("v", 30)
    await store.set("n", "41", 30)
    assert await store.incr("n", 30) == 42  # as Redis's INCR


# --- Redis: choosing, failing, recovering ---------------------------------------------------------


def test_parse_sentinels() -> None:
    assert parse_sentinels(" a:1, 10.0.0.2:26379 ,[::1]:5,") == [("a", 1), ("10.0.0.2", 26379), ("::1", 5)]
    assert parse_sentinels("") == []
    for bad in ("a", "a:b", ":1"):
        with pytest.raises(ValueError):
            parse_sentinels(bad)


async def test_kv_store_chooses_by_settings(redis_group: RedisGroup) -> None:
    assert isinstance(kv_store(SimpleNamespace()), MemoryStore)
    assert isinstance(kv_store(SimpleNamespace(redis_url="", redis_sentinels="")), MemoryStore)
    run = uuid.uuid4().hex[:10]
    host, port = redis_group.master()
    chosen = {
        # The password and db from their own settings, as from a Secret.
        "url": SimpleNamespace(
            redis_url=f"redis://{host}:{port}",
            redis_password=redis_group.password,
            redis_db=3,
            redis_prefix=f"{run}:u:",
        ),
        "sentinel": SimpleNamespace(
            redis_url="redis://127.0.0.1:1",  # Sentinel wins over the URL
            redis_sentinels=redis_group.sentinels_text,
            redis_master_name=redis_group.master_name,
            redis_password=redis_group.password,
            redis_db=3,
            redis_prefix=f"{run}:s:",
        ),
    }
    for name, settings in chosen.items():
        store = kv_store(settings)
        try:
            assert isinstance(store, RedisStore)
            assert ("sentinel" in store.description) == (name == "sentinel")
            await store.set("k", name, 30)
            assert await store.get("k") == name
        finally:
            await store.aclose()
    with redis_group.server(redis_group.master()) as raw:
        raw.select(3)
        assert raw.get(f"{run}:u:k") == "url"
        assert raw.get(f"{run}:s:k") == "sentinel"
        raw.delete(f"{run}:u:k", f"{run}:s:k")


async def expect_unavailable(store: KeyValueStore, within: float) -> None:
    """Every operation raises KeyValueUnavailable within `within` seconds; ping answers False."""
    for name, call in (
        ("get", lambda: store.get("k")),
        ("set", lambda: store.set("k", "v", 10)),
        ("delete", lambda: store.delete("k")),
        ("incr", lambda: store.incr("k", 10)),
        ("take", lambda: store.take("k", 1, 1)),
    ):
        started = time.monotonic()
        with pytest.raises(KeyValueUnavailable):
            await call()
        assert time.monotonic() - started < within, name
    started = time.monotonic()
    assert await store.ping() is False
    assert time.monotonic() - started < within


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections and never answers."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(64)
        yield silent.getsockname()[1]


def refused_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again: connections are refused


async def test_redis_down_is_reported_at_once() -> None:
    direct = RedisStore.from_url(f"redis://127.0.0.1:{refused_port()}/0", timeout_seconds=2)
    sentinel = RedisStore.from_sentinel(
        [("127.0.0.1", refused_port()), ("127.0.0.1", refused_port())], "hamp", timeout_seconds=2
    )
    for store in (direct, sentinel):
        try:
            await expect_unavailable(store, within=0.5)
        finally:
            await store.aclose()


async def test_a_silent_redis_times_out(silent_port: int) -> None:
    direct = RedisStore.from_url(f"redis://127.0.0.1:{silent_port}/0", timeout_seconds=0.2)
    sentinel = RedisStore.from_sentinel([("127.0.0.1", silent_port)] * 3, "hamp", timeout_seconds=0.2)
    for store in (direct, sentinel):
        try:
            await expect_unavailable(store, within=0.45)
        finally:
            await store.aclose()


async def test_a_wrong_password_is_reported(redis_group: RedisGroup) -> None:
    host, port = redis_group.master()
    store = RedisStore.from_url(f"redis://:wrong@{host}:{port}/0")
    try:
        with pytest.raises(KeyValueUnavailable, match=r"(?i)pass|auth"):
            await store.get("k")
    finally:
        await store.aclose()


async def test_the_store_recovers_when_redis_comes_back(redis_server: RedisServer) -> None:
    store = RedisStore.from_url(redis_server.url, timeout_seconds=0.5)
    try:
        await store.set("k", "v", 30)
        assert await store.take("b", 1, 2) == 0.0
        redis_server.stop()
        await expect_unavailable(store, within=0.7)
        redis_server.start()  # empty: nothing was saved
        assert await store.get("k") is None
        await store.set("k", "again", 30)
        assert await store.get("k") == "again"
        assert await store.take("b", 1, 2) == 0.0
    finally:
        await store.aclose()


# --- Sentinel failover (last: it moves the group's master) ----------------------------------


async def test_sentinel_failover_the_store_follows_the_new_master(redis_group: RedisGroup) -> None:
    replica = redis_group.wait_replica_online()
    old = redis_group.master()
    store = RedisStore.from_sentinel(
        redis_group.sentinels, redis_group.master_name, password=redis_group.password, prefix=f"fo:{uuid.uuid4().hex}:"
    )
    try:
        # Some connections in the pool, all to the old master.
        await asyncio.gather(*(store.set(f"before{i}", "x", 60) for i in range(5)))
        assert await store.incr("n", 60) == 1
        written = {store.prefix + f"before{i}": "x" for i in range(5)} | {store.prefix + "n": "1"}
        redis_group.wait_replicated(replica, written)  # so that the failover cannot lose them

        with redis_group.sentinel() as sentinel:
            assert sentinel.sentinel_failover(redis_group.master_name)
        new = redis_group.master(within=15, other_than=old)

        # Within a bounded time the store writes to the new master (not to the old one, which
        # Sentinel demotes only later: writes there would be lost).
        key, deadline = f"after-{uuid.uuid4().hex[:6]}", time.monotonic() + 5
        while True:
            try:
                await store.set(key, "y", 60)
                with redis_group.server(new) as raw:
                    if raw.get(store.prefix + key) == "y":
                        break
            except KeyValueUnavailable:
                pass
            assert time.monotonic() < deadline, "the store did not move to the new master"
            await asyncio.sleep(0.1)
        # ... and it keeps working there, with what was written before the failover.
        assert [await store.get(f"before{i}") for i in range(5)] == ["x"] * 5
        assert await store.incr("n", 60) == 2
        assert await store.take("b", 1, 1) == 0.0
        assert await store.take("b", 1, 1) > 0
        with redis_group.server(new) as raw:
            assert raw.get(store.prefix + "n") == "2"
    finally:
        await store.aclose()
