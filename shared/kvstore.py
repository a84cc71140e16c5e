"""The shared key-value store: token revocation, login-failure counters and rate limits.

One interface, two parts (ARCHITECTURE.md, "Two profiles, one code path"):

- `MemoryStore`, in process, for the embedded profile (one gateway process on one machine);
- `RedisStore`, Redis reached directly by URL or through Sentinel, for production, where every
  gateway replica must see the same revocations, counters and buckets.

`kv_store(settings)` chooses between them. A Redis that cannot answer raises `KeyValueUnavailable`
within the store's timeout; what to do then is the caller's decision (the gateway fails closed
for revocation checks). See docs/kvstore.md.
"""

from __future__ import annotations

import asyncio
import heapq
import logging
import math
import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, cast, runtime_checkable

# redis-py (a third of a second and 16 MB per process) is imported by RedisStore alone: every
# process imports this module, most of them for MemoryStore (`hamp up`, the tests).
if TYPE_CHECKING:
    from redis.asyncio import Redis
    from redis.asyncio.sentinel import Sentinel

log = logging.getLogger("hamp.kvstore")

T = TypeVar("T")


class KeyValueUnavailable(Exception):
    """The store did not answer (down, unreachable, timed out, failing over) or refused the command."""


@runtime_checkable
class KeyValueStore(Protocol):
    async def get(self, key: str) -> str | None:
        """The value, or None when the key is absent or expired. A counter reads as its decimal count."""
        ...

    async def set(self, key: str, value: str, ttl_seconds: float) -> None:
        """Store `value`, replacing any earlier value and TTL; it expires after `ttl_seconds` (> 0)."""
        ...

    async def delete(self, key: str) -> None:
        """Remove the key; removing an absent key is not an error."""
        ...

    async def incr(self, key: str, window_seconds: float) -> int:
        """Add one to a fixed-window counter and return the new count. The counter starts at 1 and
        expires `window_seconds` after its first increment; later increments do not extend it."""
        ...

    async def take(self, key: str, rate_per_second: float, burst: int, tokens: int = 1) -> float:
        """Token bucket holding at most `burst` tokens, refilled at `rate_per_second`, full when new.
        Returns 0.0 when `tokens` were taken; otherwise takes nothing and returns the seconds to wait
        until `tokens` would be available. `tokens` must not exceed `burst`."""
        ...

    async def ping(self) -> bool:
        """True when the store answers (for readiness checks); never raises."""
        ...

    async def aclose(self) -> None: ...


# ---------------------------------------------------------------------------------------------
# Argument checks, the same for both stores so that a mistake fails in the embedded profile too.


def _positive(name: str, value: float) -> float:
    value = float(value)
    if not (value > 0 and math.isfinite(value)):
        raise ValueError(f"{name} must be a positive number of seconds, not {value!r}")
    return value


def _bucket_args(rate_per_second: float, burst: int, tokens: int) -> tuple[float, int, int]:
    rate = float(rate_per_second)
    if not (rate > 0 and math.isfinite(rate)):
        raise ValueError(f"rate_per_second must be positive, not {rate_per_second!r}")
    if int(burst) != burst or burst < 1:
        raise ValueError(f"burst must be a whole number >= 1, not {burst!r}")
    if int(tokens) != tokens or not 1 <= tokens <= burst:
        raise ValueError(f"tokens must be a whole number from 1 to burst ({burst}), not {tokens!r}")
    return rate, int(burst), int(tokens)


def _millis(seconds: float) -> int:
    """Redis expiry in whole milliseconds, never 0 (PEXPIRE 0 would delete at once)."""
    return max(1, math.ceil(seconds * 1000))


# The smallest wait answered for a refusal, so that a refusal is never mistaken for 0.0 (allowed).
_MIN_WAIT = 1e-6


# ---------------------------------------------------------------------------------------------
# In process


@dataclass(slots=True)
class _Bucket:
    tokens: float
    at: float  # the store's clock when `tokens` was computed


@dataclass(slots=True)
class _Entry:
    value: str | int | _Bucket
    expires: float  # on the store's clock
    scheduled: float  # when this key is due in the purge heap


class MemoryStore:
    """The embedded profile's store: one process, no server.

    Every operation runs without awaiting, so it is atomic under asyncio; a lock also makes it safe
    from several threads. Expired keys are purged as time passes (a heap ordered by expiry, one
    item per key), so memory is bounded by the keys that are still live.

    `clock` (seconds, never going back) is time.monotonic; a test passes its own to see TTLs,
    windows and refills without waiting for them."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._entries: dict[str, _Entry] = {}
        self._heap: list[tuple[float, str]] = []
        self._lock = threading.Lock()

    def __len__(self) -> int:
        """Keys held, expired ones included until they are purged."""
        return len(self._entries)

    # -- the interface

    async def get(self, key: str) -> str | None:
        with self._lock:
            entry = self._live(key, self._purge())
            if entry is None:
                return None
            if isinstance(entry.value, _Bucket):
                raise TypeError(f"key {key!r} holds a token bucket (used by take), not a value")
            return str(entry.value)

    async def set(self, key: str, value: str, ttl_seconds: float) -> None:
        ttl = _positive("ttl_seconds", ttl_seconds)
        with self._lock:
            now = self._purge()
            self._put(key, str(value), now + ttl)

    async def delete(self, key: str) -> None:
        with self._lock:
            self._purge()
            self._entries.pop(key, None)

    async def incr(self, key: str, window_seconds: float) -> int:
        window = _positive("window_seconds", window_seconds)
        with self._lock:
            now = self._purge()
            entry = self._live(key, now)
            if entry is None:
                self._put(key, 1, now + window)
                return 1
            if isinstance(entry.value, _Bucket):
                raise TypeError(f"key {key!r} holds a token bucket (used by take), not a counter")
            count = int(entry.value) + 1  # a value set() as a whole number counts on, as in Redis
            entry.value = count
            return count

    async def take(self, key: str, rate_per_second: float, burst: int, tokens: int = 1) -> float:
        rate, burst, tokens = _bucket_args(rate_per_second, burst, tokens)
        with self._lock:
            now = self._purge()
            entry = self._live(key, now)
            if entry is None:
                available = float(burst)
            elif isinstance(entry.value, _Bucket):
                bucket = entry.value
                available = min(float(burst), bucket.tokens + max(0.0, now - bucket.at) * rate)
            else:
                raise TypeError(f"key {key!r} holds a value or counter, not a token bucket")
            if available < tokens:
                return max((tokens - available) / rate, _MIN_WAIT)
            left = available - tokens
            # The key lives until the bucket is full again: from then on, absent and full are the same.
            self._put(key, _Bucket(left, now), now + max((burst - left) / rate, 1e-3))
            return 0.0

    async def ping(self) -> bool:
        return True

    async def aclose(self) -> None:
        with self._lock:
            self._entries.clear()
            self._heap.clear()

    # -- expiry

    def _live(self, key: str, now: float) -> _Entry | None:
        entry = self._entries.get(key)
        if entry is not None and entry.expires <= now:
            del self._entries[key]
            return None
        return entry

    def _put(self, key: str, value: str | int | _Bucket, expires: float) -> None:
        entry = self._entries.get(key)
        if entry is None:
            self._entries[key] = _Entry(value, expires, expires)
            heapq.heappush(self._heap, (expires, key))
            return
        entry.value, entry.expires = value, expires
        if expires < entry.scheduled:  # due earlier than its heap item says: schedule again
            entry.scheduled = expires
            heapq.heappush(self._heap, (expires, key))
        # A later expiry keeps the earlier heap item; when it comes due, the key is rescheduled.

    def _purge(self) -> float:
        """Drop the keys that have expired; returns the time now."""
        now = self._clock()
        heap = self._heap
        while heap and heap[0][0] <= now:
            due, key = heapq.heappop(heap)
            entry = self._entries.get(key)
            if entry is None or entry.scheduled != due:
                continue  # deleted, or rescheduled: a stale heap item
            if entry.expires <= now:
                del self._entries[key]
            else:
                entry.scheduled = entry.expires
                heapq.heappush(heap, (entry.expires, key))
        # Stale heap items (keys deleted or set to expire sooner) are few; rebuild if they pile up.
        if len(heap) > 2 * len(self._entries) + 1024:
            self._heap = [(e.scheduled, k) for k, e in self._entries.items()]
            heapq.heapify(self._heap)
        return now


# ---------------------------------------------------------------------------------------------
# Redis

# KEYS[1] counter; ARGV[1] window in ms. The expiry is set by the first increment only; a counter
# found without expiry (written by something else) gets one, so it can never lock out for ever.
_INCR = """
local n = redis.call('INCR', KEYS[1])
if n == 1 or redis.call('PTTL', KEYS[1]) < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
end
return n
"""

# KEYS[1] bucket (a hash: tokens, ts); ARGV: rate per second, burst, tokens wanted.
# The server's clock is used, so gateway replicas with different clocks share one bucket fairly.
# Returns {1, "0"} when taken, else {0, "<seconds to wait>"} and writes nothing.
_TAKE = """
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local wanted = tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1])
local ts = tonumber(state[2])
if tokens == nil or ts == nil then
  tokens = burst
elseif now > ts then
  tokens = math.min(burst, tokens + (now - ts) * rate)
end
if tokens < wanted then
  return {0, string.format('%.17g', (wanted - tokens) / rate)}
end
tokens = tokens - wanted
redis.call('HSET', KEYS[1], 'tokens', string.format('%.17g', tokens), 'ts', string.format('%.6f', now))
redis.call('PEXPIRE', KEYS[1], string.format('%d', math.max(1, math.ceil((burst - tokens) / rate * 1000))))
return {1, '0'}
"""


def parse_sentinels(text: str) -> list[tuple[str, int]]:
    """'host:port,host:port' (an IPv6 host in brackets: '[::1]:26379') -> [(host, port), ...]."""
    found: list[tuple[str, int]] = []
    for item in text.split(","):
        item = item.strip()
        if not item:
            continue
        host, sep, port = item.rpartition(":")
        if not sep or not host or not port.isdigit():
            raise ValueError(f"sentinel {item!r} is not host:port")
        found.append((host.strip("[]"), int(port)))
    return found


class RedisStore:
    """Redis through redis-py's asyncio client, directly (`from_url`) or through Sentinel
    (`from_sentinel`). Every key is stored under `prefix`. `incr` and `take` are Lua scripts, one
    atomic round trip each. Every call answers or raises `KeyValueUnavailable` within
    `timeout_seconds`. Through Sentinel, the master is looked up again at most every
    `master_check_seconds` during calls, and connections to a master that is no longer the master
    are dropped, so after a failover the store writes to the new master."""

    def __init__(
        self,
        client: Redis,
        *,
        prefix: str = "hamp:",
        timeout_seconds: float = 1.0,
        sentinel: Sentinel | None = None,
        master_name: str = "",
        master_check_seconds: float = 1.0,
        description: str = "redis",
    ) -> None:
        self.prefix = prefix
        self.timeout_seconds = _positive("timeout_seconds", timeout_seconds)
        self.description = description
        self._client = client
        self._sentinel = sentinel
        self._master_name = master_name
        self._master_check_seconds = master_check_seconds
        self._next_master_check = 0.0
        self._master: tuple[str, int] | None = None
        self._incr = client.register_script(_INCR)
        self._take = client.register_script(_TAKE)

    # -- construction

    @staticmethod
    def _connection_options(timeout_seconds: float) -> dict[str, Any]:
        from redis.asyncio.retry import Retry
        from redis.backoff import NoBackoff
        from redis.exceptions import ConnectionError as RedisConnectionError

        return {
            "decode_responses": True,
            "socket_timeout": timeout_seconds,
            "socket_connect_timeout": timeout_seconds,
            # One immediate retry on a broken connection: after a failover the first command on an
            # old connection fails, and the retry connects afresh (to the new master).
            "retry": Retry(NoBackoff(), 1, supported_errors=(RedisConnectionError,)),
        }

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        password: str | None = None,
        db: int = 0,
        prefix: str = "hamp:",
        timeout_seconds: float = 1.0,
    ) -> RedisStore:
        """redis://[:password@]host:port/db (or rediss://). A password or db in the URL wins over
        the arguments, which serve when the URL has none (e.g. the password from a Secret)."""
        from redis.asyncio import Redis

        options = cls._connection_options(timeout_seconds)
        client = Redis.from_url(url, password=password or None, db=db, **options)
        kwargs = client.connection_pool.connection_kwargs
        where = f"redis {kwargs.get('host')}:{kwargs.get('port')}/{kwargs.get('db')}"
        return cls(client, prefix=prefix, timeout_seconds=timeout_seconds, description=where)

    @classmethod
    def from_sentinel(
        cls,
        sentinels: Sequence[tuple[str, int]],
        master_name: str,
        *,
        password: str | None = None,
        db: int = 0,
        prefix: str = "hamp:",
        timeout_seconds: float = 1.0,
        master_check_seconds: float = 1.0,
    ) -> RedisStore:
        """The master that `sentinels` know as `master_name`. `password` is the Redis servers'
        (the sentinels themselves are reached without one)."""
        from redis.asyncio.retry import Retry
        from redis.asyncio.sentinel import Sentinel
        from redis.backoff import NoBackoff

        if not sentinels:
            raise ValueError("no sentinels given")
        # Sentinels answer at once or not at all: a shorter timeout each, so that one silent
        # sentinel leaves time to ask the next within the call's timeout.
        sentinel_timeout = max(timeout_seconds / 4, 0.05)
        sentinel = Sentinel(  # type: ignore[no-untyped-call]  # redis-py leaves Sentinel.__init__ unannotated
            list(sentinels),
            sentinel_kwargs={
                "socket_timeout": sentinel_timeout,
                "socket_connect_timeout": sentinel_timeout,
                "retry": Retry(NoBackoff(), 0),  # a sentinel that does not answer: ask the next one
            },
        )
        client = sentinel.master_for(
            master_name, password=password or None, db=db, **cls._connection_options(timeout_seconds)
        )
        where = f"sentinel master {master_name!r} via " + ",".join(f"{h}:{p}" for h, p in sentinels)
        return cls(
            client,
            prefix=prefix,
            timeout_seconds=timeout_seconds,
            sentinel=sentinel,
            master_name=master_name,
            master_check_seconds=master_check_seconds,
            description=where,
        )

    # -- the interface

    async def get(self, key: str) -> str | None:
        value = await self._call("GET", lambda: self._client.get(self.prefix + key))
        return cast(str | None, value)  # decode_responses=True: str, though redis-py types it bytes | str

    async def set(self, key: str, value: str, ttl_seconds: float) -> None:
        ms = _millis(_positive("ttl_seconds", ttl_seconds))
        await self._call("SET", lambda: self._client.set(self.prefix + key, value, px=ms))

    async def delete(self, key: str) -> None:
        await self._call("DEL", lambda: self._client.delete(self.prefix + key))

    async def incr(self, key: str, window_seconds: float) -> int:
        ms = _millis(_positive("window_seconds", window_seconds))
        return int(await self._call("INCR", lambda: self._incr(keys=[self.prefix + key], args=[ms])))

    async def take(self, key: str, rate_per_second: float, burst: int, tokens: int = 1) -> float:
        rate, burst, tokens = _bucket_args(rate_per_second, burst, tokens)
        allowed, wait = await self._call(
            "take", lambda: self._take(keys=[self.prefix + key], args=[repr(rate), burst, tokens])
        )
        return 0.0 if int(allowed) else max(float(wait), _MIN_WAIT)

    async def ping(self) -> bool:
        try:
            return bool(await self._call("PING", self._client.ping))
        except KeyValueUnavailable as exc:
            log.warning("%s", exc)
            return False

    async def aclose(self) -> None:
        from redis.exceptions import RedisError

        try:
            await self._client.aclose()
            if self._sentinel is not None:
                await self._sentinel.aclose()
        except (RedisError, OSError) as exc:
            log.warning("closing %s: %s", self.description, exc)

    # -- plumbing

    async def _call(self, command: str, send: Callable[[], Awaitable[T]]) -> T:
        from redis.exceptions import RedisError

        try:
            async with asyncio.timeout(self.timeout_seconds):
                await self._follow_master()
                return await send()
        except TimeoutError as exc:  # the call's deadline (redis-py's own timeouts are RedisErrors)
            raise KeyValueUnavailable(
                f"{self.description}: {command} got no answer within {self.timeout_seconds} s"
            ) from exc
        except (RedisError, OSError) as exc:
            raise KeyValueUnavailable(f"{self.description}: {command} failed: {exc}") from exc

    async def _follow_master(self) -> None:
        """Through Sentinel: at most every master_check_seconds, ask the sentinels for the master;
        when it moved, drop every connection (idle and in use) so that none writes to the old one."""
        from redis.exceptions import ConnectionError as RedisConnectionError

        if self._sentinel is None or time.monotonic() < self._next_master_check:
            return
        self._next_master_check = time.monotonic() + self._master_check_seconds
        try:
            master = await self._sentinel.discover_master(self._master_name)
        except RedisConnectionError as exc:
            # Keep using the connections there are; a call that needs a new one fails on its own.
            log.warning("%s: cannot ask the sentinels for the master: %s", self.description, exc)
            return
        master = (str(master[0]), int(master[1]))
        if self._master is not None and master != self._master:
            log.warning("%s: master moved from %s:%s to %s:%s", self.description, *self._master, *master)
            await self._client.connection_pool.disconnect(inuse_connections=True)
        self._master = master


def kv_store(settings: Any) -> KeyValueStore:
    """The store the settings choose: Sentinel when `redis_sentinels` (and `redis_master_name`) are
    set, else Redis at `redis_url`, else in process."""
    sentinels = parse_sentinels(getattr(settings, "redis_sentinels", "") or "")
    master_name = getattr(settings, "redis_master_name", "hamp") or ""
    url = getattr(settings, "redis_url", "") or ""
    password = getattr(settings, "redis_password", "") or None
    db = int(getattr(settings, "redis_db", 0) or 0)
    prefix = getattr(settings, "redis_prefix", "hamp:")
    if sentinels and master_name:
        return RedisStore.from_sentinel(sentinels, master_name, password=password, db=db, prefix=prefix)
    if sentinels:
        log.warning("redis_sentinels is set but redis_master_name is empty: sentinels not used")
    if url:
        return RedisStore.from_url(url, password=password, db=db, prefix=prefix)
    return MemoryStore()
