"""The lease store's rules, on a fake clock."""

from __future__ import annotations

from dataclasses import replace

import pytest

from registry.leases import InvalidRegistration, LeaseStore
from registry.model import Action, DataCenter, InstanceInfo, LeaseInfo, Status, reconcile_hash


class Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000_000

    def __call__(self) -> int:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += int(seconds * 1000)


def instance(app: str = "OMS", n: int = 1, *, duration: int = 10, dirty: int = 100, **kw: object) -> InstanceInfo:
    return InstanceInfo(
        instance_id=f"127.0.0.1:{app.lower()}:{8100 + n}",
        host_name="127.0.0.1",
        app=app,
        ip_addr="127.0.0.1",
        lease=LeaseInfo(renewal_interval_secs=3, duration_secs=duration),
        last_dirty_ts=dirty,
        **kw,  # type: ignore[arg-type]
    )


@pytest.fixture
def clock() -> Clock:
    return Clock()


def store(clock: Clock, **kw: object) -> LeaseStore:
    return LeaseStore(clock=clock, **kw)  # type: ignore[arg-type]


def ids(s: LeaseStore) -> list[str]:
    return [i.instance_id for app in s.applications().applications for i in app.instances]


def test_register_checks_fields_with_eurekas_messages(clock: Clock) -> None:
    s = store(clock)
    cases = {
        "Missing instanceId": replace(instance(), instance_id="", host_name=""),
        "Missing hostname": replace(instance(), host_name=""),
        "Missing ip address": replace(instance(), ip_addr=""),
        "Missing appName": replace(instance(), app=""),
        "Mismatched appName, expecting OMS but was HMS": instance("HMS"),
        "Missing dataCenterInfo": replace(instance(), data_center=None),
        "Missing dataCenterInfo Name": replace(instance(), data_center=DataCenter(name="")),
    }
    for message, info in cases.items():
        with pytest.raises(InvalidRegistration) as caught:
            s.register("oms", info)
        assert str(caught.value) == message
    assert ids(s) == []


def test_lease_expires_duration_after_the_last_renewal(clock: Clock) -> None:
    s = store(clock)
    s.register("OMS", instance(duration=10))
    clock.advance(8)
    assert s.renew("OMS", "127.0.0.1:oms:8101")
    clock.advance(10)  # exactly at expiry: not yet
    assert s.evict() == []
    clock.advance(0.001)
    assert s.evict() == ["127.0.0.1:oms:8101"]
    assert ids(s) == []
    assert not s.renew("OMS", "127.0.0.1:oms:8101")
    delta = s.delta().applications[0].instances[0]
    assert delta.action_type == Action.DELETED
    assert delta.lease.eviction_ts == clock.now


def test_lease_without_a_duration_uses_the_default(clock: Clock) -> None:
    s = store(clock, default_lease_seconds=5)
    s.register("OMS", instance(duration=0))
    assert s.instance("OMS", "127.0.0.1:oms:8101").lease.duration_secs == 5  # type: ignore[union-attr]
    clock.advance(5.001)
    assert s.evict() == ["127.0.0.1:oms:8101"]


def test_double_duration_quirk_when_asked_for(clock: Clock) -> None:
    s = store(clock, double_duration=True)
    s.register("OMS", instance(duration=10))
    assert s.renew("OMS", "127.0.0.1:oms:8101")
    renewed_at = clock.now
    # Eureka shows renewal + duration as the last renewal time.
    assert s.instance("OMS", "127.0.0.1:oms:8101").lease.last_renewal_ts == renewed_at + 10_000  # type: ignore[union-attr]
    clock.advance(15)
    assert s.evict() == []
    clock.advance(5.001)
    assert s.evict() == ["127.0.0.1:oms:8101"]


def test_eviction_compensation_extends_leases(clock: Clock) -> None:
    s = store(clock)
    s.register("OMS", instance(duration=10))
    clock.advance(12)
    assert s.evict(compensation_ms=3000) == []
    assert s.evict() == ["127.0.0.1:oms:8101"]


def test_self_preservation_stops_eviction_when_renewals_drop(clock: Clock) -> None:
    # 3 clients renewing every 30 s are expected: threshold int((1 + 3) * 2 * 0.85) = 6 per minute.
    s = store(clock, self_preservation=True, expected_renewal_interval_seconds=30)
    for n in (1, 2, 3):
        s.register("OMS", instance(n=n, duration=90))
    assert s.summary().renewal_threshold == 6
    clock.advance(200)  # nobody renewed: every lease expired, but renewals are below the threshold
    assert s.evict() == []
    assert len(ids(s)) == 3
    assert not s.summary().lease_expiration_enabled


def test_self_preservation_caps_evictions_per_run(clock: Clock) -> None:
    s = store(clock, self_preservation=True, expected_renewal_interval_seconds=30)
    for n in range(1, 11):
        s.register("OMS", instance(n=n, duration=90))
    # Minute 1: instances 1-3 keep renewing, often enough to exceed the threshold.
    for _ in range(60):
        clock.advance(1)
        for n in (1, 2, 3):
            s.renew("OMS", f"127.0.0.1:oms:{8100 + n}")
    for _ in range(40):
        clock.advance(1)
        for n in (1, 2, 3):
            s.renew("OMS", f"127.0.0.1:oms:{8100 + n}")
    assert s.summary().lease_expiration_enabled
    evicted = s.evict()
    # 7 expired, but at most 10 - int(10 * 0.85) = 2 go per run.
    assert len(evicted) == 2
    assert not {"127.0.0.1:oms:8101", "127.0.0.1:oms:8102", "127.0.0.1:oms:8103"} & set(evicted)
    assert len(s.evict()) == 2  # 8 left: 8 - int(6.8) = 2


def test_without_self_preservation_every_expired_lease_goes(clock: Clock) -> None:
    s = store(clock)
    for n in range(1, 11):
        s.register("OMS", instance(n=n, duration=90))
    clock.advance(91)
    assert len(s.evict()) == 10


def test_heartbeat_with_a_newer_dirty_timestamp_is_not_found(clock: Clock) -> None:
    s = store(clock)
    s.register("OMS", instance(dirty=100))
    assert s.renew("OMS", "127.0.0.1:oms:8101", 100)
    assert s.renew("OMS", "127.0.0.1:oms:8101", 99)
    assert not s.renew("OMS", "127.0.0.1:oms:8101", 101)
    assert not s.renew("HMS", "127.0.0.1:oms:8101")


def test_register_keeps_a_newer_registration(clock: Clock) -> None:
    s = store(clock)
    s.register("OMS", instance(dirty=200, metadata={"v": "new"}))
    s.register("OMS", instance(dirty=100, metadata={"v": "old"}))
    assert s.instance("OMS", "127.0.0.1:oms:8101").metadata == {"v": "new"}  # type: ignore[union-attr]
    s.register("OMS", instance(dirty=200, metadata={"v": "same time"}))
    assert s.instance("OMS", "127.0.0.1:oms:8101").metadata == {"v": "same time"}  # type: ignore[union-attr]


def test_status_override_wins_over_the_clients_status(clock: Clock) -> None:
    s = store(clock)
    s.register("OMS", instance())
    assert s.set_status_override("OMS", "127.0.0.1:oms:8101", Status.OUT_OF_SERVICE)
    info = s.instance("OMS", "127.0.0.1:oms:8101")
    assert info is not None
    assert (info.status, info.overridden_status, info.action_type) == (
        Status.OUT_OF_SERVICE,
        Status.OUT_OF_SERVICE,
        Action.MODIFIED,
    )
    assert s.renew("OMS", "127.0.0.1:oms:8101")
    s.register("OMS", instance(dirty=300))  # the client registers UP again
    assert s.instance("OMS", "127.0.0.1:oms:8101").status == Status.OUT_OF_SERVICE  # type: ignore[union-attr]
    # A client saying DOWN is believed whatever the override.
    s.register("OMS", instance(dirty=400, status=Status.DOWN))
    assert s.instance("OMS", "127.0.0.1:oms:8101").status == Status.DOWN  # type: ignore[union-attr]


def test_deleting_the_override_without_a_value_forces_a_reregistration(clock: Clock) -> None:
    s = store(clock)
    s.register("OMS", instance())
    s.set_status_override("OMS", "127.0.0.1:oms:8101", Status.OUT_OF_SERVICE)
    assert s.delete_status_override("OMS", "127.0.0.1:oms:8101")
    assert s.instance("OMS", "127.0.0.1:oms:8101").status == Status.UNKNOWN  # type: ignore[union-attr]
    assert not s.renew("OMS", "127.0.0.1:oms:8101")  # 404: register again
    s.register("OMS", instance(dirty=500))
    assert s.instance("OMS", "127.0.0.1:oms:8101").status == Status.UP  # type: ignore[union-attr]
    assert s.renew("OMS", "127.0.0.1:oms:8101")


def test_override_is_forgotten_on_cancel(clock: Clock) -> None:
    s = store(clock)
    s.register("OMS", instance())
    s.set_status_override("OMS", "127.0.0.1:oms:8101", Status.OUT_OF_SERVICE)
    assert s.cancel("OMS", "127.0.0.1:oms:8101")
    assert not s.cancel("OMS", "127.0.0.1:oms:8101")
    s.register("OMS", instance())
    assert s.instance("OMS", "127.0.0.1:oms:8101").status == Status.UP  # type: ignore[union-attr]


def test_delta_holds_each_instances_latest_change_for_the_retention_time(clock: Clock) -> None:
    s = store(clock, delta_retention_seconds=60)
    s.register("OMS", instance(n=1))
    s.register("OMS", instance(n=2))
    clock.advance(30)
    s.cancel("OMS", "127.0.0.1:oms:8101")
    delta = s.delta()
    actions = {i.instance_id: i.action_type for a in delta.applications for i in a.instances}
    assert actions == {"127.0.0.1:oms:8101": Action.DELETED, "127.0.0.1:oms:8102": Action.ADDED}
    assert delta.hash == "UP_1_"  # the whole registry's hash, not the delta's
    clock.advance(31)  # the registrations are older than 60 s now
    delta = s.delta()
    assert [i.instance_id for a in delta.applications for i in a.instances] == ["127.0.0.1:oms:8101"]
    clock.advance(30)
    assert s.delta().applications == ()


def test_delta_version_moves_only_with_changes(clock: Clock) -> None:
    s = store(clock)
    first = s.delta().version
    assert first != "1"
    s.register("OMS", instance())
    second = s.delta().version
    assert int(second) == int(first) + 1
    s.renew("OMS", "127.0.0.1:oms:8101")
    assert s.delta().version == second
    s.cancel("OMS", "127.0.0.1:oms:8101")
    assert int(s.delta().version) == int(second) + 1
    assert s.applications().version == "1"


def test_reconcile_hash() -> None:
    assert reconcile_hash([]) == ""
    statuses = [Status.UP, Status.DOWN, Status.UP, Status.OUT_OF_SERVICE, Status.STARTING, Status.UP]
    assert reconcile_hash(statuses) == "DOWN_1_OUT_OF_SERVICE_1_STARTING_1_UP_3_"


def test_metadata_update_goes_through_register(clock: Clock) -> None:
    s = store(clock)
    s.register("OMS", instance(metadata={"a": "1"}))
    clock.advance(5)
    assert s.update_metadata("oms", "127.0.0.1:oms:8101", {"b": "2"})
    info = s.instance("OMS", "127.0.0.1:oms:8101")
    assert info is not None
    assert info.metadata == {"a": "1", "b": "2"}
    assert info.lease.registration_ts == clock.now
    assert not s.update_metadata("OMS", "nope", {"b": "2"})
