"""Peer registries: every write taken here is passed on to each peer, as Eureka's PeerEurekaNode does.

Each peer has a queue of tasks, sent in batches of at most 250 after at most `batch_delay`
(`POST {peer}/peerreplication/batch/`, Eureka's form, HTTP Basic). A newer task for the same
instance and operation replaces one still waiting, so a peer that was away receives each
instance's latest heartbeat once, not every one it missed. A batch the peer could not take
(unreachable, a timeout, 503) is sent again after a growing pause; one it refused (400, 401 …)
is dropped and the refusal shown on the dashboard, since sending it again cannot help.

The peer's answers settle conflicts by lastDirtyTimestamp, as in Eureka: a heartbeat answered
404 (the peer has no lease, or an older registration) is followed by the registration; one
answered 409 carries the peer's newer registration, which is taken here.

A registry listed among its own peers (a StatefulSet gives every pod the whole list) finds out
from the node id each registry puts on its answers, and skips itself. At start, the registry
fills itself from the first peer that answers with its registry (Eureka's syncUp), so a
restarted node serves what its peers know at once rather than after every client's next
heartbeat.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

import aiohttp

from registry.eureka import jsoncodec
from registry.eureka.fields import MalformedInstance
from registry.eureka.replication import (
    MalformedBatch,
    Operation,
    Result,
    Task,
    decode_results,
    encode_batch,
)
from registry.leases import InvalidRegistration, LeaseStore
from registry.model import now_ms
from shared.registry_auth import basic_header, without_credentials
from shared.tasks import stop_tasks

log = logging.getLogger("hamp.registry.peers")

NODE_HEADER = "X-Hamp-Registry-Node"
REPLICATION_HEADER = "x-netflix-discovery-replication"
BATCH_SIZE = 250  # Netflix's PeerEurekaNode
MAX_PENDING = 50_000  # beyond this the oldest heartbeats go: the next ones replace them anyway
MAX_PAUSE_SECONDS = 10.0


@dataclass(frozen=True)
class PeerState:
    """What the dashboard shows of a peer."""

    url: str  # without credentials
    state: str  # "starting", "ok", "unreachable", "refused", "self"
    detail: str
    last_success_at: int | None
    pending: int
    sent: int
    dropped: int


class PeerNode:
    def __init__(self, url: str, peers: Peers) -> None:
        self.url = url if url.endswith("/") else url + "/"
        self.shown_url = without_credentials(self.url)
        self._auth = basic_header(self.url)
        self._bare = without_credentials(self.url)
        self._peers = peers
        self._pending: dict[tuple[str, str, str], Task] = {}
        self._wake = asyncio.Event()
        self.state = "starting"
        self.detail = ""
        self.last_success_at: int | None = None
        self.sent = 0
        self.dropped = 0

    def enqueue(self, task: Task) -> None:
        if self.state == "self":
            return
        self._pending.pop(task.key, None)  # the newer one goes to the end: after what it follows
        self._pending[task.key] = task
        if len(self._pending) > MAX_PENDING:
            oldest = next((k for k in self._pending if k[0] == Operation.HEARTBEAT.value), next(iter(self._pending)))
            del self._pending[oldest]
            self.dropped += 1
        self._wake.set()

    def status(self) -> PeerState:
        return PeerState(
            self.shown_url, self.state, self.detail, self.last_success_at, len(self._pending), self.sent, self.dropped
        )

    async def run(self) -> None:
        pause = 0.0
        while True:
            if not self._pending:
                self._wake.clear()
                await self._wake.wait()
            await asyncio.sleep(max(pause, self._peers.batch_delay))
            batch = [self._pending.pop(key) for key in list(self._pending)[:BATCH_SIZE]]
            try:
                delivered = await self._send(batch)
            except Exception:
                log.exception("replication to %s failed", self.shown_url)
                delivered = False
            if delivered:
                pause = 0.0
            else:
                self._put_back(batch)
                pause = min(MAX_PAUSE_SECONDS, max(0.5, pause * 2))

    def _put_back(self, batch: list[Task]) -> None:
        # Ahead of what came meanwhile, unless a newer task for the same instance did.
        waiting = self._pending
        self._pending = {t.key: t for t in batch if t.key not in waiting}
        self._pending.update(waiting)

    async def _send(self, batch: list[Task]) -> bool:
        """True when the batch is settled (taken, or refused for good); False to send it again."""
        headers = {
            **self._auth,
            "Content-Type": "application/json",
            "Accept": "application/json",
            REPLICATION_HEADER: "true",
            NODE_HEADER: self._peers.node_id,
        }
        try:
            async with self._peers.session.post(
                self._bare + "peerreplication/batch/",
                data=encode_batch(batch),
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=self._peers.timeout),
            ) as response:
                if response.headers.get(NODE_HEADER) == self._peers.node_id:
                    self._become_self()
                    return True
                body = await response.read()
                status = response.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            self._failed("unreachable", f"{type(exc).__name__}: {exc}")
            return False
        if status == 503:
            self._failed("unreachable", "HTTP 503")
            return False
        if status // 100 != 2:
            self._failed("refused", f"HTTP {status}: {body[:200].decode('utf-8', 'replace')}")
            self.dropped += len(batch)
            return True
        try:
            results = decode_results(body, len(batch))
        except MalformedBatch as exc:
            self._failed("refused", str(exc))
            self.dropped += len(batch)
            return True
        self.state, self.detail, self.last_success_at = "ok", "", now_ms()
        self.sent += len(batch)
        for task, result in zip(batch, results, strict=True):
            self._settle(task, result)
        return True

    def _settle(self, task: Task, result: Result) -> None:
        store = self._peers.store
        if task.operation == Operation.HEARTBEAT and result.status_code == 404:
            # The peer lacks the lease or holds an older registration: it gets ours.
            info = store.instance(task.app, task.instance_id)
            if info is not None:
                self.enqueue(Task.of(Operation.REGISTER, info))
        elif task.operation == Operation.HEARTBEAT and result.status_code == 409 and result.entity is not None:
            # The peer's registration is newer: take it (not passed on again).
            with contextlib.suppress(InvalidRegistration):
                store.register(result.entity.app, result.entity, replicated=True)
        elif result.status_code // 100 != 2 and task.operation != Operation.CANCEL:
            log.warning(
                "%s answered %d to %s of %s", self.shown_url, result.status_code, task.operation, task.instance_id
            )

    def _failed(self, state: str, detail: str) -> None:
        if (state, detail) != (self.state, self.detail):
            log.warning("peer %s: %s (%s)", self.shown_url, state, detail)
        self.state, self.detail = state, detail

    def _become_self(self) -> None:
        log.info("%s is this registry itself; not replicating to it", self.shown_url)
        self.state, self.detail = "self", ""
        self._pending.clear()

    async def fetch_registry(self) -> int | None:
        """Registers here what this peer holds; how many, or None when it could not tell."""
        try:
            async with self._peers.session.get(
                self._bare + "apps/",
                headers={**self._auth, "Accept": "application/json", NODE_HEADER: self._peers.node_id},
                timeout=aiohttp.ClientTimeout(total=self._peers.timeout),
            ) as response:
                if response.headers.get(NODE_HEADER) == self._peers.node_id:
                    self._become_self()
                    return None
                if response.status != 200:
                    self._failed("refused", f"HTTP {response.status}")
                    return None
                body = await response.read()
        except (aiohttp.ClientError, TimeoutError) as exc:
            self._failed("unreachable", f"{type(exc).__name__}: {exc}")
            return None
        try:
            instances = jsoncodec.decode_applications(body)
        except MalformedInstance as exc:
            self._failed("refused", f"its registry is unreadable: {exc}")
            return None
        taken = 0
        for info in instances:
            try:
                self._peers.store.register(info.app, info, replicated=True)
                taken += 1
            except InvalidRegistration as exc:
                log.warning("not taking %s from %s: %s", info.instance_id, self.shown_url, exc)
        self.state, self.detail, self.last_success_at = "ok", "", now_ms()
        return taken


class Peers:
    def __init__(
        self,
        store: LeaseStore,
        urls: Iterable[str],
        *,
        batch_delay: float = 0.5,
        timeout: float = 5.0,
        sync_attempts: int = 3,
    ) -> None:
        self.store = store
        self.node_id = uuid.uuid4().hex
        self.batch_delay = batch_delay
        self.timeout = timeout
        self.sync_attempts = sync_attempts
        self.nodes = [PeerNode(url, self) for url in urls]
        self._session: aiohttp.ClientSession | None = None
        self._tasks: list[asyncio.Task[None]] = []

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession()
        return self._session

    def replicate(self, task: Task) -> None:
        for node in self.nodes:
            node.enqueue(task)

    def states(self) -> list[PeerState]:
        return [node.status() for node in self.nodes]

    async def start(self) -> None:
        self._tasks = [asyncio.create_task(node.run(), name=f"peer {node.shown_url}") for node in self.nodes]
        if self.nodes:
            self._tasks.append(asyncio.create_task(self._sync(), name="peer sync"))

    async def stop(self) -> None:
        await stop_tasks(*self._tasks)
        if self._session is not None:
            await self._session.close()

    async def _sync(self) -> None:
        """Eureka's syncUp: what the first peer to answer holds, registered here."""
        for attempt in range(self.sync_attempts):
            for node in self.nodes:
                if node.state == "self":
                    continue
                started = time.monotonic()
                taken = await node.fetch_registry()
                if taken is not None:
                    log.info(
                        "took %d instance(s) from peer %s in %.2f s", taken, node.shown_url, time.monotonic() - started
                    )
                    return
            if attempt + 1 < self.sync_attempts:
                await asyncio.sleep(1.0 * (attempt + 1))
        log.warning("no peer answered with its registry; starting from what clients register")
