"""Every component's JSON log lines, shipped to Elasticsearch in bulk as well as written to its file.

The handler only turns a record into the same JSON its file gets (after `ScrubbingFilter`, so what
reaches Elasticsearch is scrubbed exactly like the file) and puts it on a bounded queue: a request
never waits for Elasticsearch. One background thread sends the queue in bulk. While Elasticsearch
is down or slow the batch in hand is retried every few seconds and the queue fills; once full, new
lines are dropped and counted (`hamp_log_records_dropped_total{reason="queue_full"}` on /metrics),
so a long outage costs memory of `log_elasticsearch_queue_size` lines and nothing else. Lines
Elasticsearch refuses one by one are dropped as `rejected`; what is still queued when the process
stops is sent within a few seconds, else counted as `shutdown`.

Lines go to daily indices `<log_elasticsearch_index>-YYYY.MM.DD` (the UTC date of `ts`), shaped by
an index template put on the first connection (the integ-test server has no data streams or ILM;
retention is IT's policy on the indices). docs/logging.md has the rest.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

from elastic_transport import ConnectionError as TransportConnectionError
from elastic_transport import TransportError
from elasticsearch import ApiError, Elasticsearch
from prometheus_client import Counter

from shared.settings import HampSettings

DROPPED = Counter(
    "hamp_log_records_dropped_total",
    "Log lines not shipped to Elasticsearch (the file still has them)",
    ["reason"],
)
SHIPPED = Counter("hamp_log_records_shipped_total", "Log lines Elasticsearch accepted")

# Loggers whose lines never go to Elasticsearch: the client's own (each bulk request would log a
# line that ships in the next one, forever) and this module's complaints about Elasticsearch.
QUIET = ("elastic_transport", "elasticsearch", __name__)

BATCH = 500
FLUSH_SECONDS = 1.0
RETRY_SECONDS = (0.5, 1.0, 2.0, 5.0)
SHUTDOWN_SECONDS = 5.0
REQUEST_TIMEOUT = 10.0

# Fields the 日志查询 page filters by, typed; any other field of a line is kept in `_source` but not
# indexed, so two components' extras of one name and different types can never make a line refused.
MAPPINGS: dict[str, Any] = {
    "dynamic": False,
    "properties": {
        "ts": {"type": "date"},
        "level": {"type": "keyword"},
        "component": {"type": "keyword"},
        "logger": {"type": "keyword"},
        "request_id": {"type": "keyword"},
        "user": {"type": "keyword"},
        "username": {"type": "keyword"},
        "message": {"type": "text"},
        "exc": {"type": "text"},
    },
}

log = logging.getLogger(__name__)


def client(settings: HampSettings) -> Elasticsearch:
    """A client of the Elasticsearch the settings name; it connects on first use."""
    hosts = [h.strip() for h in settings.log_elasticsearch_url.split(",") if h.strip()]
    auth = (
        (settings.log_elasticsearch_username, settings.log_elasticsearch_password)
        if settings.log_elasticsearch_username
        else None
    )
    # Retries are the shipper's (it keeps its batch); the client gives up on the first failure.
    return Elasticsearch(hosts, basic_auth=auth, request_timeout=REQUEST_TIMEOUT, max_retries=0)


def index_name(prefix: str, entry: dict[str, Any]) -> str:
    """The daily index of a line: its `ts` date (UTC, as written)."""
    day = str(entry.get("ts", ""))[:10]
    return f"{prefix}-{day.replace('-', '.')}" if len(day) == 10 else f"{prefix}-undated"


class ElasticsearchHandler(logging.Handler):
    """Queues each record's JSON entry for the shipping thread; never blocks, never raises."""

    ships_logs = True  # configure_logging() closes it when it replaces the handlers

    def __init__(
        self,
        settings: HampSettings,
        entry: Callable[[logging.LogRecord], dict[str, Any]],
        *,
        retry_seconds: tuple[float, ...] = RETRY_SECONDS,
    ) -> None:
        super().__init__()
        self.entry = entry
        self.prefix = settings.log_elasticsearch_index
        self.client = client(settings)
        self.queue: queue.Queue[dict[str, Any]] = queue.Queue(settings.log_elasticsearch_queue_size)
        self.retry_seconds = retry_seconds
        self._stop = threading.Event()
        self._template_put = False
        self._thread = threading.Thread(target=self._run, name="log-shipping", daemon=True)
        self._thread.start()

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.startswith(QUIET):
            return
        try:
            # Formatted here, not in the thread: the request id and user are this task's context.
            self.queue.put_nowait(self.entry(record))
        except queue.Full:
            DROPPED.labels("queue_full").inc()
        except Exception:
            self.handleError(record)

    def close(self) -> None:
        """Sends what is queued (for at most SHUTDOWN_SECONDS) and stops the thread."""
        if not self._stop.is_set():
            self._stop.set()
            # A hung Elasticsearch does not hold the process up: the thread is a daemon.
            self._thread.join(SHUTDOWN_SECONDS + 1)
            left = self.queue.qsize()
            if left:
                DROPPED.labels("shutdown").inc(left)
            self.client.close()
        super().close()

    def _run(self) -> None:
        batch: list[dict[str, Any]] = []
        failures = 0
        deadline: float | None = None
        while True:
            if self._stop.is_set():
                deadline = deadline or time.monotonic() + SHUTDOWN_SECONDS
                if time.monotonic() > deadline or (not batch and self.queue.empty()):
                    DROPPED.labels("shutdown").inc(len(batch))
                    return
            if not batch:
                batch = self._take()
                if not batch:
                    continue
            if self._send(batch):
                if failures:
                    log.warning("Elasticsearch is reachable again; log shipping resumed")
                batch, failures = [], 0
            else:
                if failures == 0:
                    log.warning("cannot ship logs to Elasticsearch; retrying, lines queue up to the limit")
                failures += 1
                if self._stop.is_set():  # stopping: try again soon, until the deadline
                    time.sleep(0.2)
                else:
                    self._stop.wait(self.retry_seconds[min(failures, len(self.retry_seconds)) - 1])

    def _take(self) -> list[dict[str, Any]]:
        """Up to BATCH queued entries, waiting up to FLUSH_SECONDS for the first."""
        try:
            batch = [self.queue.get(timeout=FLUSH_SECONDS)]
        except queue.Empty:
            return []
        while len(batch) < BATCH:
            try:
                batch.append(self.queue.get_nowait())
            except queue.Empty:
                break
        return batch

    def _send(self, batch: list[dict[str, Any]]) -> bool:
        """True once Elasticsearch has answered for the batch (refused lines are dropped and
        counted); False when it could not be reached, to try the same batch again."""
        try:
            self._put_template()
            operations: list[dict[str, Any]] = []
            for entry in batch:
                operations += [{"create": {"_index": index_name(self.prefix, entry)}}, entry]
            answer = self.client.bulk(operations=operations)
        except (TransportConnectionError, TransportError):
            return False
        except ApiError as exc:
            if exc.meta.status in (429, 502, 503, 504):
                return False
            log.warning("Elasticsearch refused a bulk of %d log lines: %s", len(batch), exc.meta.status)
            DROPPED.labels("rejected").inc(len(batch))
            return True
        refused = sum(1 for item in answer.get("items", []) if item.get("create", {}).get("status", 500) >= 300)
        if refused:
            DROPPED.labels("rejected").inc(refused)
        SHIPPED.inc(len(batch) - refused)
        return True

    def _put_template(self) -> None:
        if self._template_put:
            return
        try:
            self.client.indices.put_index_template(
                name=self.prefix,
                index_patterns=[f"{self.prefix}-*"],
                template={"mappings": MAPPINGS},
            )
        except ApiError as exc:
            # A user allowed to write but not to manage templates still ships (mapped dynamically).
            log.warning("cannot put the index template %s: %s", self.prefix, exc.meta.status)
        self._template_put = True
