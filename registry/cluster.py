"""The lease store with its peers: what a client writes here is passed on to every peer, what a
peer passed on is not passed on again (Eureka's PeerAwareInstanceRegistryImpl).

Evictions are not passed on: each registry evicts the leases nobody renews, on its own clock.
"""

from __future__ import annotations

from collections.abc import Mapping

from registry.eureka.replication import Operation, Result, Task
from registry.leases import InvalidRegistration, LeaseStore, PeerRenewal
from registry.model import InstanceInfo, Status
from registry.peers import Peers

RENEWAL_CODES = {
    PeerRenewal.RENEWED: 200,
    PeerRenewal.MISSING: 404,
    PeerRenewal.SENDER_NEWER: 404,
    PeerRenewal.HERE_NEWER: 409,
}


class Cluster:
    def __init__(self, store: LeaseStore, peers: Peers) -> None:
        self.store = store
        self.peers = peers

    def register(self, path_app: str, info: InstanceInfo, *, replicated: bool = False) -> None:
        self.store.register(path_app, info, replicated=replicated)
        if not replicated:
            self._pass_on(Operation.REGISTER, info.app, info.instance_id)

    def renew(self, app: str, instance_id: str, last_dirty_ts: int | None, *, replicated: bool = False) -> bool:
        renewed = self.store.renew(app, instance_id, last_dirty_ts)
        if renewed and not replicated:
            self._pass_on(Operation.HEARTBEAT, app, instance_id)
        return renewed

    def cancel(self, app: str, instance_id: str, *, replicated: bool = False) -> bool:
        cancelled = self.store.cancel(app, instance_id)
        if cancelled and not replicated:
            self.peers.replicate(Task(Operation.CANCEL, app.upper(), instance_id))
        return cancelled

    def set_status_override(
        self, app: str, instance_id: str, status: Status, last_dirty_ts: int | None, *, replicated: bool = False
    ) -> bool:
        done = self.store.set_status_override(app, instance_id, status, last_dirty_ts)
        if done and not replicated:
            self._pass_on(Operation.STATUS_UPDATE, app, instance_id)
        return done

    def delete_status_override(
        self, app: str, instance_id: str, status: Status, last_dirty_ts: int | None, *, replicated: bool = False
    ) -> bool:
        done = self.store.delete_status_override(app, instance_id, status, last_dirty_ts)
        if done and not replicated:
            info = self.store.instance(app, instance_id)
            if info is not None:
                self.peers.replicate(
                    Task(Operation.DELETE_STATUS_OVERRIDE, info.app, instance_id, info.last_dirty_ts, status)
                )
        return done

    def update_metadata(
        self, app: str, instance_id: str, entries: Mapping[str, str], *, replicated: bool = False
    ) -> bool:
        done = self.store.update_metadata(app, instance_id, entries)
        if done and not replicated:
            self._pass_on(Operation.REGISTER, app, instance_id)  # as Eureka: metadata goes through register
        return done

    def apply(self, tasks: list[Task]) -> list[Result]:
        """A peer's batch, in order; each answered as Eureka's PeerReplicationResource does."""
        return [self._apply(task) for task in tasks]

    def _apply(self, task: Task) -> Result:
        app, instance_id = task.app, task.instance_id
        match task.operation:
            case Operation.REGISTER:
                assert task.info is not None  # decode_batch refuses a Register without one
                try:
                    self.register(app, task.info, replicated=True)
                except InvalidRegistration:
                    return Result(400)
                return Result(200)
            case Operation.HEARTBEAT:
                renewal, newer = self.store.renew_from_peer(
                    app, instance_id, task.last_dirty_ts, task.overridden_status
                )
                return Result(RENEWAL_CODES[renewal], newer)
            case Operation.CANCEL:
                return Result(200 if self.cancel(app, instance_id, replicated=True) else 404)
            case Operation.STATUS_UPDATE:
                assert task.status is not None  # decode_batch refuses a StatusUpdate without one
                done = self.set_status_override(app, instance_id, task.status, task.last_dirty_ts, replicated=True)
                return Result(200 if done else 404)
            case Operation.DELETE_STATUS_OVERRIDE:
                status = task.status or Status.UNKNOWN
                done = self.delete_status_override(app, instance_id, status, task.last_dirty_ts, replicated=True)
                return Result(200 if done else 404)

    def _pass_on(self, operation: Operation, app: str, instance_id: str) -> None:
        if not self.peers.nodes:
            return  # a registry alone: no snapshot made on every heartbeat
        # What is stored, not what was sent: the status as resolved here, the override kept here.
        info = self.store.instance(app, instance_id)
        if info is not None:
            self.peers.replicate(Task.of(operation, info))
