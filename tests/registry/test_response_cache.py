"""The response cache: a fetch costs a lookup, yet a fetch after any change shows it.

At 10,000 instances a fetch that encodes the whole registry costs about a second of CPU, and two
clients fetching back to back starved every renewal (issue 15's measurement); Eureka's cache
answers in milliseconds but shows a change up to 30 s late. Here neither.
"""

from __future__ import annotations

import gzip
import json
from dataclasses import replace

import pytest

from registry.eureka import jsoncodec, xmlcodec
from registry.eureka.cache import ResponseCache
from registry.leases import LeaseStore
from registry.model import Status
from tests.registry.test_registry_leases import Clock, instance

VARIANTS = [("json", False), ("json", True), ("xml", False), ("xml", True)]


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(clock: Clock) -> LeaseStore:
    s = LeaseStore(clock=clock, delta_retention_seconds=180)
    for n in range(1, 4):
        s.register("OMS", instance("OMS", n, duration=90))
    s.register("DBS", instance("DBS", 1, duration=90))
    return s


def _plain(body: bytes, gzipped: bool) -> str:
    return (gzip.decompress(body) if gzipped else body).decode()


def _statuses(cache: ResponseCache) -> dict[str, str]:
    apps = json.loads(cache.applications("json", False))["applications"]["application"]
    return {i["instanceId"]: i["status"] for a in apps for i in a["instance"]}


@pytest.mark.parametrize(("fmt", "gzipped"), VARIANTS)
def test_every_variant_is_what_encoding_the_registry_now_gives(store: LeaseStore, fmt: str, gzipped: bool) -> None:
    cache = ResponseCache(store)
    codec = jsoncodec if fmt == "json" else xmlcodec
    for _ in range(2):  # built, then served
        assert _plain(cache.applications(fmt, gzipped), gzipped) == codec.encode_applications(store.applications())  # type: ignore[arg-type]
        assert _plain(cache.delta(fmt, gzipped), gzipped) == codec.encode_applications(store.delta())  # type: ignore[arg-type]
        app = cache.application("oms", fmt, gzipped)  # type: ignore[arg-type]
        assert app is not None and _plain(app, gzipped) == codec.encode_application(store.application("OMS"))  # type: ignore[arg-type]
    assert cache.application("NOPE", fmt, gzipped) is None  # type: ignore[arg-type]


def test_fetches_without_a_change_are_lookups_and_renewals_change_nothing(store: LeaseStore, clock: Clock) -> None:
    cache = ResponseCache(store)
    first = cache.applications("json", True)
    builds = cache.builds
    for _ in range(5):
        clock.advance(1)
        assert store.renew("OMS", "127.0.0.1:oms:8101")
        assert cache.applications("json", True) is first
    assert cache.builds == builds


def test_a_fetch_after_any_change_shows_it(store: LeaseStore, clock: Clock) -> None:
    cache = ResponseCache(store)
    assert len(_statuses(cache)) == 4
    store.register("HMS", instance("HMS", 1, duration=90))
    assert "127.0.0.1:hms:8101" in _statuses(cache)
    store.set_status_override("OMS", "127.0.0.1:oms:8102", Status.OUT_OF_SERVICE)
    assert _statuses(cache)["127.0.0.1:oms:8102"] == "OUT_OF_SERVICE"
    store.update_metadata("OMS", "127.0.0.1:oms:8103", {"zone": "b"})
    apps = json.loads(cache.application("OMS", "json", False) or b"")["application"]["instance"]
    assert [i["metadata"] for i in apps if i["instanceId"] == "127.0.0.1:oms:8103"] == [{"zone": "b"}]
    store.cancel("DBS", "127.0.0.1:dbs:8101")
    assert "127.0.0.1:dbs:8101" not in _statuses(cache)
    assert cache.application("DBS", "xml", True) is None
    # Eviction: every lease but one stops renewing.
    clock.advance(60)
    store.renew("HMS", "127.0.0.1:hms:8101")
    clock.advance(40)
    store.evict()
    assert list(_statuses(cache)) == ["127.0.0.1:hms:8101"]


def test_the_delta_forgets_changes_older_than_the_retention(store: LeaseStore, clock: Clock) -> None:
    cache = ResponseCache(store)
    delta = json.loads(cache.delta("json", False))["applications"]
    assert sum(len(a["instance"]) for a in delta["application"]) == 4
    clock.advance(181)
    store.renew("OMS", "127.0.0.1:oms:8101")  # a renewal is no change: the version stays
    delta = json.loads(cache.delta("json", False))["applications"]
    assert delta["application"] == [] and delta["apps__hashcode"] == "UP_4_"


def test_a_change_encodes_only_the_instance_that_changed(clock: Clock) -> None:
    store = LeaseStore(clock=clock)
    for n in range(1, 201):
        store.register("OMS", instance("OMS", n, duration=90))
    cache = ResponseCache(store)
    encoded: list[str] = []
    fragments = cache._fragments["json"]
    original = fragments._encode
    fragments._encode = lambda info: encoded.append(info.instance_id) or original(info)  # type: ignore[method-assign]
    cache.applications("json", False)
    assert len(encoded) == 200
    encoded.clear()
    store.register("OMS", replace(instance("OMS", 7, duration=90), status=Status.DOWN))
    body = json.loads(cache.applications("json", False))
    assert encoded == ["127.0.0.1:oms:8107"]
    assert body["applications"]["apps__hashcode"] == "DOWN_1_UP_199_"
