"""The in-memory lease store: Eureka's registry rules in one place.

Register, renew, cancel, status override, metadata, eviction of expired leases, the queue of
recent changes behind GET /apps/delta, and the reconcile hash. Every public method takes one
lock and does no I/O, so the store is safe from the event loop and from threads alike, and
every answer is an immutable snapshot.

Times are epoch milliseconds from an injectable clock, so the rules can be tested without
waiting.
"""

from __future__ import annotations

import random
import threading
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from enum import Enum

from registry.model import (
    Action,
    Application,
    Applications,
    InstanceInfo,
    LeaseInfo,
    Status,
    now_ms,
    reconcile_hash,
)

Clock = Callable[[], int]
MINUTE_MS = 60_000


class InvalidRegistration(ValueError):
    """A registration Eureka refuses with 400 and this text."""


class PeerRenewal(Enum):
    """A heartbeat a peer passed on, as Eureka's InstanceResource.renewLease answers it."""

    RENEWED = "renewed"  # 200
    MISSING = "missing"  # 404: no lease (or its status is UNKNOWN); the peer sends the registration
    SENDER_NEWER = "sender_newer"  # 404: renewed, but the peer's registration is newer; it sends that
    HERE_NEWER = "here_newer"  # 409: renewed, and the registration here is newer; the peer takes it


@dataclass(frozen=True)
class Change:
    """One entry of the recent-changes queue, as the dashboard lists it."""

    at: int
    app: str
    instance_id: str
    action: Action


@dataclass(frozen=True)
class Summary:
    """The registry's own state, for the dashboard."""

    started_at: int
    now: int
    instance_count: int
    self_preservation: bool
    lease_expiration_enabled: bool
    expected_clients: int
    renewal_threshold: int
    renews_last_minute: int
    recent_changes: tuple[Change, ...]


@dataclass(frozen=True)
class LeaseView:
    """An instance with the time its lease expires if it is not renewed."""

    instance: InstanceInfo
    expires_at: int


class _Lease:
    """Eureka's Lease: `last_update` is renewal time, or renewal + duration with the 2x quirk."""

    def __init__(self, info: InstanceInfo, duration_ms: int, now: int) -> None:
        self._info = info
        self._published: InstanceInfo | None = None
        self.duration_ms = duration_ms
        self.registration_ts = now
        self.last_update = now
        self.eviction_ts = 0
        self.service_up_ts = 0

    @property
    def info(self) -> InstanceInfo:
        """The latest state; replaced (never mutated) on every change."""
        return self._info

    @info.setter
    def info(self, info: InstanceInfo) -> None:
        self._info = info
        self._published = None

    def renew(self, now: int, double_duration: bool) -> None:
        self.last_update = now + self.duration_ms if double_duration else now

    def expires_at(self) -> int:
        return self.last_update + self.duration_ms

    def is_expired(self, now: int, compensation_ms: int = 0) -> bool:
        return self.eviction_ts > 0 or now > self.expires_at() + compensation_ms

    def published(self) -> InstanceInfo:
        """The snapshot fetches show: made once per change, not per renewal, so the one object
        stands for this state until it changes (the response cache keys its encodings on it).
        Its lastRenewalTimestamp is therefore that of the last change; `snapshot` is live."""
        if self._published is None:
            self._published = self.snapshot()
        return self._published

    def snapshot(self) -> InstanceInfo:
        lease = replace(
            self.info.lease,
            registration_ts=self.registration_ts,
            last_renewal_ts=self.last_update,
            eviction_ts=self.eviction_ts,
            service_up_ts=self.service_up_ts,
        )
        return replace(self.info, lease=lease)


class _MinuteRate:
    """Eureka's MeasuredRate: the count of the last complete minute."""

    def __init__(self, now: int) -> None:
        self._start = now
        self._current = 0
        self._last = 0

    def _roll(self, now: int) -> None:
        elapsed = now - self._start
        if elapsed >= MINUTE_MS:
            self._last = self._current if elapsed < 2 * MINUTE_MS else 0
            self._current = 0
            self._start = now - elapsed % MINUTE_MS

    def increment(self, now: int) -> None:
        self._roll(now)
        self._current += 1

    def last_minute(self, now: int) -> int:
        self._roll(now)
        return self._last


class LeaseStore:
    def __init__(
        self,
        *,
        clock: Clock = now_ms,
        default_lease_seconds: int = 90,
        double_duration: bool = False,
        self_preservation: bool = False,
        renewal_percent_threshold: float = 0.85,
        expected_renewal_interval_seconds: int = 30,
        renewal_threshold_update_seconds: float = 900.0,
        delta_retention_seconds: float = 180.0,
    ) -> None:
        self._clock = clock
        self._default_duration_ms = default_lease_seconds * 1000
        self._double_duration = double_duration
        self._self_preservation = self_preservation
        self._percent = renewal_percent_threshold
        self._expected_interval = expected_renewal_interval_seconds
        self._threshold_update_ms = int(renewal_threshold_update_seconds * 1000)
        self._retention_ms = int(delta_retention_seconds * 1000)

        self._lock = threading.Lock()
        now = clock()
        self._started_at = now
        self._apps: dict[str, dict[str, _Lease]] = {}
        self._overrides: dict[str, Status] = {}
        self._changes: deque[tuple[int, _Lease, Action]] = deque()
        # The delta's version, +1 per change. Starting at the start time (ms) it never equals
        # a full fetch's "1", and hardly a version a client kept from before a restart.
        self._delta_version = now
        self._pruned = 0  # changes dropped from the delta so far: with the version, names a delta
        self._renews = _MinuteRate(now)
        self._expected_clients = 1  # as Spring's server opens for traffic with an empty registry
        self._threshold_updated_at = now

    # ---- writes ---------------------------------------------------------------------------

    def register(self, path_app: str, info: InstanceInfo, *, replicated: bool = False) -> None:
        """POST /apps/{APP}, or a registration a peer passed on (its status is taken as the peer
        resolved it). Raises InvalidRegistration with Eureka's 400 text."""
        check_registration(path_app, info)
        with self._lock:
            self._register(info, self._clock(), replicated)

    def renew(self, app: str, instance_id: str, last_dirty_ts: int | None = None) -> bool:
        """PUT /apps/{APP}/{id}. False (404: the client must register again) when there is no
        lease, when the status resolves to UNKNOWN, or when the client's lastDirtyTimestamp is
        newer than the one registered (the lease is still renewed first, as Eureka does)."""
        with self._lock:
            lease = self._renewed(app, instance_id, replicated=False)
            if lease is None:
                return False
            return last_dirty_ts is None or last_dirty_ts <= lease.info.last_dirty_ts

    def renew_from_peer(
        self, app: str, instance_id: str, last_dirty_ts: int | None, overridden: Status | None
    ) -> tuple[PeerRenewal, InstanceInfo | None]:
        """A heartbeat a peer passed on; with HERE_NEWER, the registration the peer must take."""
        with self._lock:
            lease = self._renewed(app, instance_id, replicated=True)
            if lease is None:
                return PeerRenewal.MISSING, None
            here = lease.info.last_dirty_ts
            if last_dirty_ts is None or last_dirty_ts == here:
                return PeerRenewal.RENEWED, None
            if last_dirty_ts > here:
                if overridden not in (None, Status.UNKNOWN):
                    self._overrides[instance_id] = overridden  # the peer's node wins, its override too
                return PeerRenewal.SENDER_NEWER, None
            return PeerRenewal.HERE_NEWER, lease.snapshot()

    def cancel(self, app: str, instance_id: str) -> bool:
        """DELETE /apps/{APP}/{id}. False (404) when there is no such lease."""
        with self._lock:
            self._overrides.pop(instance_id, None)
            lease = self._find(app, instance_id)
            if lease is None:
                return False
            self._remove(lease, self._clock())
            if self._expected_clients > 0:
                self._expected_clients -= 1
            return True

    def set_status_override(self, app: str, instance_id: str, status: Status, last_dirty_ts: int | None = None) -> bool:
        """PUT /apps/{APP}/{id}/status?value=. False (404) when unknown. Renews the lease."""
        with self._lock:
            lease = self._find(app, instance_id)
            if lease is None:
                return False
            now = self._clock()
            lease.renew(now, self._double_duration)
            info = lease.info
            if info.status != status:  # Eureka stores nothing when the status is already it
                if status == Status.UP and not lease.service_up_ts:
                    lease.service_up_ts = now
                self._overrides[instance_id] = status
                lease.info = replace(
                    info,
                    status=status,
                    overridden_status=status,
                    last_dirty_ts=max(info.last_dirty_ts, last_dirty_ts or 0),
                    action_type=Action.MODIFIED,
                    last_updated_ts=now,
                )
                self._record(lease, now)
            return True

    def delete_status_override(
        self,
        app: str,
        instance_id: str,
        status: Status = Status.UNKNOWN,
        last_dirty_ts: int | None = None,
    ) -> bool:
        """DELETE /apps/{APP}/{id}/status[?value=]. The status becomes `status`; UNKNOWN makes
        the next heartbeat answer 404, so the client registers again."""
        with self._lock:
            lease = self._find(app, instance_id)
            if lease is None:
                return False
            now = self._clock()
            lease.renew(now, self._double_duration)
            if self._overrides.pop(instance_id, None) is not None:
                info = lease.info
                lease.info = replace(
                    info,
                    status=status,
                    overridden_status=Status.UNKNOWN,
                    last_dirty_ts=max(info.last_dirty_ts, last_dirty_ts or 0),
                    action_type=Action.MODIFIED,
                    last_updated_ts=now,
                )
                self._record(lease, now)
            return True

    def update_metadata(self, app: str, instance_id: str, entries: Mapping[str, str]) -> bool:
        """PUT /apps/{APP}/{id}/metadata?k=v. Like Eureka, goes through register (ADDED)."""
        with self._lock:
            lease = self._find(app, instance_id)
            if lease is None:
                return False
            info = replace(lease.info, metadata={**lease.info.metadata, **entries})
            self._register(info, self._clock(), False)
            return True

    def evict(self, compensation_ms: int = 0) -> list[str]:
        """Remove expired leases; returns their ids. With self-preservation, nothing is evicted
        while renewals are below the threshold, and at most (1 - threshold) of the registry
        per run, chosen at random, as Eureka does."""
        with self._lock:
            now = self._clock()
            self._update_threshold(now)
            if not self._lease_expiration_enabled(now):
                return []
            leases = [lease for app in self._apps.values() for lease in app.values()]
            expired = [lease for lease in leases if lease.is_expired(now, compensation_ms)]
            if self._self_preservation:
                limit = len(leases) - int(len(leases) * self._percent)
                if len(expired) > limit:
                    expired = random.sample(expired, limit)
            for lease in expired:
                self._overrides.pop(lease.info.instance_id, None)
                self._remove(lease, now)
            self._prune_changes(now)
            return [lease.info.instance_id for lease in expired]

    # ---- reads ----------------------------------------------------------------------------

    @property
    def version(self) -> int:
        """Moves on every change a fetch shows (register, cancel, eviction, status, metadata),
        never on a plain renewal: a payload encoded at one version stays right until it moves."""
        with self._lock:
            return self._delta_version

    def delta_version(self) -> tuple[int, int]:
        """What names the delta's content: the version and how many changes aged out of it."""
        with self._lock:
            self._prune_changes(self._clock())
            return self._delta_version, self._pruned

    def applications(self) -> Applications:
        """GET /apps: every instance, whatever its status; version "1" as Eureka writes it."""
        with self._lock:
            apps = tuple(
                Application(name, tuple(leases[i].published() for i in sorted(leases)))
                for name, leases in sorted(self._apps.items())
            )
            return Applications("1", self._hash(), apps)

    def delta(self) -> Applications:
        """GET /apps/delta: the latest state of every instance changed within the retention
        time, with the hash of the whole registry so clients can check their merge."""
        with self._lock:
            self._prune_changes(self._clock())
            latest: dict[str, dict[str, _Lease]] = {}
            for _, lease, _ in self._changes:
                latest.setdefault(lease.info.app, {})[lease.info.instance_id] = lease
            apps = tuple(
                Application(name, tuple(lease.published() for lease in leases.values()))
                for name, leases in sorted(latest.items())
            )
            return Applications(str(self._delta_version), self._hash(), apps)

    def application(self, app: str) -> Application | None:
        with self._lock:
            leases = self._apps.get(app.upper())
            if not leases:
                return None
            return Application(app.upper(), tuple(leases[i].published() for i in sorted(leases)))

    def instance(self, app: str, instance_id: str) -> InstanceInfo | None:
        with self._lock:
            lease = self._find(app, instance_id)
            return lease.snapshot() if lease is not None else None

    def find_instance(self, instance_id: str) -> InstanceInfo | None:
        """GET /instances/{id}: the first app holding that id."""
        with self._lock:
            for name in sorted(self._apps):
                lease = self._apps[name].get(instance_id)
                if lease is not None:
                    return lease.snapshot()
            return None

    def vip(self, name: str, *, secure: bool = False) -> Applications:
        """GET /vips/{vip}, /svips/{svip}: instances whose comma-separated (secure) VIP address
        contains `name`; version "-1" and the hash of those instances, as Eureka builds it."""
        with self._lock:
            apps: list[Application] = []
            for app_name, leases in sorted(self._apps.items()):
                matched = []
                for instance_id in sorted(leases):
                    info = leases[instance_id].info
                    vip = info.secure_vip_address if secure else info.vip_address
                    if vip is not None and name in vip.split(","):
                        matched.append(leases[instance_id].published())
                if matched:
                    apps.append(Application(app_name, tuple(matched)))
            statuses = [i.status for app in apps for i in app.instances]
            return Applications("-1", reconcile_hash(statuses), tuple(apps))

    def leases(self) -> list[LeaseView]:
        with self._lock:
            return [
                LeaseView(leases[i].snapshot(), leases[i].expires_at())
                for _, leases in sorted(self._apps.items())
                for i in sorted(leases)
            ]

    def summary(self) -> Summary:
        with self._lock:
            now = self._clock()
            self._prune_changes(now)
            changes = tuple(
                Change(at, lease.info.app, lease.info.instance_id, action)
                for at, lease, action in reversed(self._changes)
            )
            return Summary(
                started_at=self._started_at,
                now=now,
                instance_count=sum(len(app) for app in self._apps.values()),
                self_preservation=self._self_preservation,
                lease_expiration_enabled=self._lease_expiration_enabled(now),
                expected_clients=self._expected_clients,
                renewal_threshold=self._renewal_threshold(),
                renews_last_minute=self._renews.last_minute(now),
                recent_changes=changes,
            )

    # ---- rules (called with the lock held) -------------------------------------------------

    def _renewed(self, app: str, instance_id: str, *, replicated: bool) -> _Lease | None:
        """Renews the lease; None when there is none or its status resolves to UNKNOWN."""
        lease = self._find(app, instance_id)
        if lease is None:
            return None
        now = self._clock()
        status = self._resolve_status(lease.info, lease, replicated)
        if status == Status.UNKNOWN:
            return None
        if status != lease.info.status:
            lease.info = replace(lease.info, status=status, action_type=Action.MODIFIED, last_updated_ts=now)
            self._record(lease, now)
        self._renews.increment(now)
        lease.renew(now, self._double_duration)
        return lease

    def _register(self, info: InstanceInfo, now: int, replicated: bool = False) -> None:
        leases = self._apps.setdefault(info.app, {})
        existing = leases.get(info.instance_id)
        if existing is not None and existing.info.last_dirty_ts > info.last_dirty_ts:
            info = existing.info  # Eureka keeps the newer registration it already has
        elif existing is None and self._expected_clients > 0:
            self._expected_clients += 1
        duration_s = info.lease.duration_secs if info.lease.duration_secs > 0 else self._default_duration_ms // 1000
        lease = _Lease(info, duration_s * 1000, now)
        if existing is not None:
            lease.service_up_ts = existing.service_up_ts
        if info.overridden_status != Status.UNKNOWN:
            self._overrides.setdefault(info.instance_id, info.overridden_status)
        override = self._overrides.get(info.instance_id)
        if override is not None:
            info = replace(info, overridden_status=override)
        status = self._resolve_status(info, existing, replicated)
        lease.info = replace(
            info,
            status=status,
            lease=LeaseInfo(info.lease.renewal_interval_secs, duration_s),
            action_type=Action.ADDED,
            last_updated_ts=now,
        )
        if status == Status.UP and not lease.service_up_ts:
            lease.service_up_ts = now
        leases[info.instance_id] = lease
        self._record(lease, now)

    def _resolve_status(self, info: InstanceInfo, existing: _Lease | None, replicated: bool) -> Status:
        """Eureka's FirstMatchWinsCompositeRule; a peer's call skips LeaseExistsRule (the peer
        resolved the status already)."""
        if info.status not in (Status.UP, Status.OUT_OF_SERVICE):
            return info.status  # DownOrStartingRule
        override = self._overrides.get(info.instance_id)
        if override is not None:
            return override  # OverrideExistsRule
        if not replicated and existing is not None and existing.info.status in (Status.UP, Status.OUT_OF_SERVICE):
            return existing.info.status  # LeaseExistsRule
        return info.status

    def _find(self, app: str, instance_id: str) -> _Lease | None:
        return self._apps.get(app.upper(), {}).get(instance_id)

    def _remove(self, lease: _Lease, now: int) -> None:
        app = self._apps.get(lease.info.app, {})
        if app.get(lease.info.instance_id) is lease:
            del app[lease.info.instance_id]
        if not app:
            self._apps.pop(lease.info.app, None)
        lease.eviction_ts = now
        lease.info = replace(lease.info, action_type=Action.DELETED, last_updated_ts=now)
        self._record(lease, now)

    def _record(self, lease: _Lease, now: int) -> None:
        self._changes.append((now, lease, lease.info.action_type or Action.ADDED))
        self._delta_version += 1
        self._prune_changes(now)

    def _prune_changes(self, now: int) -> None:
        while self._changes and self._changes[0][0] < now - self._retention_ms:
            self._changes.popleft()
            self._pruned += 1

    def _hash(self) -> str:
        return reconcile_hash([lease.info.status for app in self._apps.values() for lease in app.values()])

    def _renewal_threshold(self) -> int:
        return int(self._expected_clients * (60 / self._expected_interval) * self._percent)

    def _lease_expiration_enabled(self, now: int) -> bool:
        if not self._self_preservation:
            return True
        threshold = self._renewal_threshold()
        return threshold > 0 and self._renews.last_minute(now) > threshold

    def _update_threshold(self, now: int) -> None:
        if now - self._threshold_updated_at < self._threshold_update_ms:
            return
        self._threshold_updated_at = now
        count = sum(len(app) for app in self._apps.values())
        if count > self._percent * self._expected_clients or not self._self_preservation:
            self._expected_clients = count


def check_registration(path_app: str, info: InstanceInfo) -> None:
    """ApplicationResource.addInstance's checks, with its messages (InvalidRegistration)."""
    path_app = path_app.upper()
    if not info.instance_id:
        raise InvalidRegistration("Missing instanceId")
    if not info.host_name:
        raise InvalidRegistration("Missing hostname")
    if not info.ip_addr:
        raise InvalidRegistration("Missing ip address")
    if not info.app:
        raise InvalidRegistration("Missing appName")
    if info.app != path_app:
        raise InvalidRegistration(f"Mismatched appName, expecting {path_app} but was {info.app}")
    if info.data_center is None:
        raise InvalidRegistration("Missing dataCenterInfo")
    if not info.data_center.name:
        raise InvalidRegistration("Missing dataCenterInfo Name")
