"""Eureka's peer replication batch, both ways: `POST /eureka/peerreplication/batch/`.

Request: `{"replicationList": [{"appName", "id", "lastDirtyTimestamp", "overriddenStatus",
"status", "instanceInfo"?, "action"}]}`, action one of Register, Heartbeat, Cancel,
StatusUpdate, DeleteStatusOverride; `instanceInfo` (a plain InstanceInfo, not root-wrapped)
only with Register. Answer: `{"responseList": [{"statusCode", "responseEntity"?}]}` in the same
order, the entity (an InstanceInfo) only with a heartbeat's 409. This is what Netflix's
PeerEurekaNode sends (Spring's server too), so a Spring Eureka server can be one of the peers.

A batch is read whole before anything is applied: one malformed item refuses the batch with
400 and its reason, and nothing of it enters the registry.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from registry.eureka.fields import MalformedInstance
from registry.eureka.jsoncodec import instance_dict, instance_from_dict
from registry.leases import InvalidRegistration, check_registration
from registry.model import InstanceInfo, Status

MAX_BATCH_BYTES = 8 * 1024 * 1024
# Netflix's batcher sends at most 250; a little room for other senders.
MAX_BATCH_ITEMS = 1000


class Operation(StrEnum):
    REGISTER = "Register"
    HEARTBEAT = "Heartbeat"
    CANCEL = "Cancel"
    STATUS_UPDATE = "StatusUpdate"
    DELETE_STATUS_OVERRIDE = "DeleteStatusOverride"


@dataclass(frozen=True)
class Task:
    """One write passed on to a peer."""

    operation: Operation
    app: str
    instance_id: str
    last_dirty_ts: int | None = None
    status: Status | None = None
    overridden_status: Status | None = None
    info: InstanceInfo | None = None  # Register only

    @property
    def key(self) -> tuple[str, str, str]:
        """A newer task with the same key replaces one still waiting (a heartbeat the last)."""
        return self.operation.value, self.app, self.instance_id

    @classmethod
    def of(cls, operation: Operation, info: InstanceInfo) -> Task:
        return cls(
            operation,
            info.app,
            info.instance_id,
            info.last_dirty_ts,
            info.status,
            info.overridden_status,
            info if operation == Operation.REGISTER else None,
        )


@dataclass(frozen=True)
class Result:
    status_code: int
    entity: InstanceInfo | None = None


class MalformedBatch(ValueError):
    """A batch refused whole (400, with this text)."""


def encode_batch(tasks: list[Task]) -> bytes:
    items = []
    for task in tasks:
        item: dict[str, Any] = {"appName": task.app, "id": task.instance_id}
        if task.last_dirty_ts is not None:
            item["lastDirtyTimestamp"] = task.last_dirty_ts
        if task.overridden_status is not None:
            item["overriddenStatus"] = task.overridden_status.value
        if task.status is not None:
            item["status"] = task.status.value
        if task.info is not None:
            item["instanceInfo"] = instance_dict(task.info)
        item["action"] = task.operation.value
        items.append(item)
    return json.dumps({"replicationList": items}, ensure_ascii=False).encode()


def decode_batch(body: bytes) -> list[Task]:
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MalformedBatch(f"not JSON: {exc}") from None
    items = document.get("replicationList") if isinstance(document, dict) else None
    if not isinstance(items, list):
        raise MalformedBatch('expected {"replicationList": [...]}')
    if len(items) > MAX_BATCH_ITEMS:
        raise MalformedBatch(f"too many items: {len(items)} (at most {MAX_BATCH_ITEMS})")
    tasks = []
    for index, item in enumerate(items):
        try:
            tasks.append(_task(item))
        except (MalformedBatch, MalformedInstance) as exc:
            raise MalformedBatch(f"replicationList[{index}]: {exc}") from None
    return tasks


def _task(item: Any) -> Task:
    if not isinstance(item, dict):
        raise MalformedBatch("not an object")
    try:
        operation = Operation(str(item.get("action")))
    except ValueError:
        raise MalformedBatch(f"unknown action {item.get('action')!r}") from None
    app, instance_id = item.get("appName"), item.get("id")
    if not isinstance(app, str) or not app.strip():
        raise MalformedBatch("missing appName")
    if not isinstance(instance_id, str) or not instance_id.strip():
        raise MalformedBatch("missing id")
    info = None
    if operation == Operation.REGISTER:
        node = item.get("instanceInfo")
        if isinstance(node, dict) and isinstance(node.get("instance"), dict):
            node = node["instance"]  # root-wrapped, as some writers send it
        if not isinstance(node, dict):
            raise MalformedBatch("Register without instanceInfo")
        info = instance_from_dict(node)
        try:
            check_registration(app, info)
        except InvalidRegistration as exc:
            raise MalformedBatch(str(exc)) from None
    status = _status(item, "status")
    if operation == Operation.STATUS_UPDATE and status is None:
        raise MalformedBatch("StatusUpdate without status")
    return Task(operation, app.upper(), instance_id, _timestamp(item), status, _status(item, "overriddenStatus"), info)


def _timestamp(item: dict[str, Any]) -> int | None:
    value = item.get("lastDirtyTimestamp")
    if value is None or value == "":
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise MalformedBatch(f"lastDirtyTimestamp is not a number: {value!r}") from None


def _status(item: dict[str, Any], name: str) -> Status | None:
    value = item.get(name)
    if value is None or value == "":
        return None
    try:
        return Status(str(value).upper())
    except ValueError:
        raise MalformedBatch(f"unknown {name} {value!r}") from None


def encode_results(results: list[Result]) -> bytes:
    items: list[dict[str, Any]] = []
    for result in results:
        item: dict[str, Any] = {"statusCode": result.status_code}
        if result.entity is not None:
            item["responseEntity"] = instance_dict(result.entity)
        items.append(item)
    return json.dumps({"responseList": items}, ensure_ascii=False).encode()


def decode_results(body: bytes, count: int) -> list[Result]:
    """A peer's answer to `count` tasks; MalformedBatch when it is no such answer."""
    try:
        items = json.loads(body).get("responseList")
    except (UnicodeDecodeError, json.JSONDecodeError, AttributeError) as exc:
        raise MalformedBatch(f"not a replication answer: {exc}") from None
    if not isinstance(items, list) or len(items) != count:
        raise MalformedBatch(f"expected {count} results")
    results = []
    for item in items:
        entity = item.get("responseEntity") if isinstance(item, dict) else None
        code = item.get("statusCode") if isinstance(item, dict) else None
        if not isinstance(code, int):
            raise MalformedBatch("a result without statusCode")
        try:
            info = instance_from_dict(entity) if isinstance(entity, dict) else None
        except MalformedInstance:
            info = None
        results.append(Result(code, info))
    return results
