"""日志查询: every component's application log lines, searched by request id, user, service, level,
time and text, newest first.

Two backends behind one interface: with `log_elasticsearch_url` set (production) the lines every
component shipped (shared/log_shipping.py) are searched in Elasticsearch; without it (embedded) the
JSON files under var/logs are read, the newest SCAN_BYTES of each component's log. The lines were
scrubbed when written; each line is scrubbed again on the way out, so a line from before scrubbing
existed, or put there by anything else, cannot show an ID card, a phone or a secret either.
"""

from __future__ import annotations

import asyncio
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol

from elastic_transport import TransportError
from elasticsearch import ApiError, Elasticsearch
from fastapi import Request
from pydantic import BaseModel, Field

from shared.errors import Invalid, Unavailable, field_error
from shared.i18n import Text
from shared.logging import scrub_value
from shared.paging import Page, PageParams
from shared.settings import HampSettings

# Per component, the newest this many bytes of its log (the current file, then the rotated ones):
# about 10,000-20,000 lines, read in well under a second. Older lines are in the files themselves.
SCAN_BYTES = 4 * 1024 * 1024
# Elasticsearch pages no deeper than its max_result_window (10,000); the files are held to the same.
MAX_WINDOW = 10_000
_TS = b'{"ts": "'
_ROTATED = re.compile(r"^(?P<name>[a-z]+)\.log(?:\.(?P<n>\d+))?$")


class LogLevel(StrEnum):
    DEBUG = "DEBUG"
    INFO = "INFO"
    WARNING = "WARNING"
    ERROR = "ERROR"
    CRITICAL = "CRITICAL"


@dataclass(frozen=True)
class AppLogFilters:
    request_id: str = ""
    user: str = ""
    service: str = ""
    level: str = ""
    start: datetime | None = None
    end: datetime | None = None
    q: str = ""


class AppLogEntry(BaseModel):
    id: str = Field(description="Unique within the answer (the line's place), for the table's rows")
    ts: datetime
    level: str
    service: str = Field(description="The component that wrote the line (its `component`)")
    logger: str
    message: str
    request_id: str
    user: str = Field(description="The signed-in user of the request, or the account a login was for")
    line: dict[str, Any] = Field(description="The whole JSON line, as written (scrubbed)")


class AppLogBackend(Protocol):
    """Where the lines are read from; `search` answers the lines of `filters` newest first,
    from `offset`, and how many there are in all."""

    async def search(self, filters: AppLogFilters, offset: int, size: int) -> tuple[list[AppLogEntry], int]: ...


async def search(backend: AppLogBackend, filters: AppLogFilters, paging: PageParams) -> Page[AppLogEntry]:
    if filters.start and filters.end and filters.start >= filters.end:
        raise Invalid(
            Text("结束时间必须晚于开始时间", "The end must be after the start"),
            errors=[field_error("to", Text("结束时间必须晚于开始时间", "must be after the start"))],
        )
    if paging.offset + paging.size > MAX_WINDOW:
        raise Invalid(
            Text(
                f"只能翻看最新的 {MAX_WINDOW} 条日志，请缩小筛选范围",
                f"Only the newest {MAX_WINDOW} lines can be paged through; narrow the filters",
            ),
            code="window_too_deep",
            errors=[field_error("page", Text("页码过大", "page too far"))],
        )
    items, total = await backend.search(filters, paging.offset, paging.size)
    return Page(items=items, total=total, page=paging.page, size=paging.size)


# What JsonFormatter itself puts in a line: not personal data, and a request id of hex digits must
# stay as it is to be searched for.
_OWN_FIELDS = ("ts", "level", "component", "logger", "request_id")


def _entry(key: str, line: dict[str, Any]) -> AppLogEntry:
    line = {k: v if k in _OWN_FIELDS else scrub_value(v, k) for k, v in line.items()}
    return AppLogEntry(
        id=key,
        ts=_parse_ts(line.get("ts")) or datetime.fromtimestamp(0, UTC),
        level=str(line.get("level", "")),
        service=str(line.get("component", "")),
        logger=str(line.get("logger", "")),
        message=str(line.get("message", "")),
        request_id=str(line.get("request_id", "")),
        user=str(line.get("user") or line.get("username") or ""),
        line=line,
    )


def _parse_ts(value: Any) -> datetime | None:
    try:
        ts = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return ts if ts.tzinfo else ts.replace(tzinfo=UTC)


def _ts_text(moment: datetime) -> str:
    """As JsonFormatter writes `ts`, so that the texts compare like the instants."""
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")


class FileLogs:
    """The JSON lines under var/logs: `<component>.log` and its rotated `.log.1` … `.log.5`."""

    def __init__(self, log_dir: Path, scan_bytes: int = SCAN_BYTES) -> None:
        self.log_dir = log_dir
        self.scan_bytes = scan_bytes

    async def search(self, filters: AppLogFilters, offset: int, size: int) -> tuple[list[AppLogEntry], int]:
        return await asyncio.to_thread(self._search, filters, offset, size)

    def _search(self, filters: AppLogFilters, offset: int, size: int) -> tuple[list[AppLogEntry], int]:
        found: list[tuple[str, str, bytes]] = []
        for component, files in sorted(self._files().items()):
            if filters.service and component != filters.service:
                continue
            for place, line in self._tail(files):
                ts = self._matches(line, filters)
                if ts is not None:
                    found.append((ts, place, line))
        # Newest first; lines of one millisecond in the order they were read (newest first too).
        found.sort(key=lambda item: item[0], reverse=True)
        page = [_entry(place, _load(line, ts)) for ts, place, line in found[offset : offset + size]]
        return page, len(found)

    def _files(self) -> dict[str, list[Path]]:
        chains: dict[str, list[tuple[int, Path]]] = {}
        if self.log_dir.is_dir():
            for path in self.log_dir.iterdir():
                match = _ROTATED.match(path.name)
                if match and path.is_file():
                    chains.setdefault(match["name"], []).append((int(match["n"] or 0), path))
        return {name: [path for _, path in sorted(chain)] for name, chain in chains.items()}

    def _tail(self, files: list[Path]) -> list[tuple[str, bytes]]:
        """The newest lines of one component, up to scan_bytes, newest first, each with its place."""
        lines: list[tuple[str, bytes]] = []
        budget = self.scan_bytes
        for path in files:
            if budget <= 0:
                break
            try:
                with path.open("rb") as file:
                    end = file.seek(0, 2)
                    start = max(0, end - budget)
                    file.seek(start)
                    data = file.read(end - start)
            except OSError:  # rotated away while read: the next search sees the new file
                continue
            budget -= len(data)
            position = start
            parts = data.split(b"\n")
            if start > 0:  # the first part is the end of a line begun before the window
                position += len(parts[0]) + 1
                parts = parts[1:]
            found = []
            for part in parts:
                if part.strip():
                    found.append((f"{path.name}:{position}", part))
                position += len(part) + 1
            lines.extend(reversed(found))
        return lines

    @staticmethod
    def _matches(line: bytes, filters: AppLogFilters) -> str | None:
        """The line's `ts` when it passes the filters, else None. Cheap tests on the bytes first
        (JsonFormatter writes `"key": "value"`), the JSON parsed only for what they cannot tell."""
        if filters.level and f'"level": "{filters.level}"'.encode() not in line:
            return None
        for value in (filters.request_id, filters.user):
            if value and json.dumps(value, ensure_ascii=False).encode() not in line:
                return None
        if filters.q:
            # As JSON writes it (quotes escaped); bytes lower only ASCII, so only ASCII is lowered.
            needle = json.dumps(filters.q, ensure_ascii=False)[1:-1].encode()
            haystack = line
            if filters.q.isascii():
                needle, haystack = needle.lower(), line.lower()
            if needle not in haystack:
                return None
        if not (filters.level or filters.request_id or filters.user or filters.q) and line.startswith(_TS):
            # Nothing to look for inside: the `ts` JsonFormatter writes first will do.
            ts = line[len(_TS) : line.find(b'"', len(_TS))].decode(errors="replace")
        else:
            try:
                entry = json.loads(line)
            except ValueError:
                return None
            if not isinstance(entry, dict) or not _wanted(entry, filters):
                return None
            ts = str(entry.get("ts", ""))
        if filters.start and ts < _ts_text(filters.start):
            return None
        if filters.end and ts >= _ts_text(filters.end):
            return None
        return ts


def _load(line: bytes, ts: str) -> dict[str, Any]:
    try:
        entry = json.loads(line)
    except ValueError:
        entry = None
    # A line cut short (a crash mid-write) is still shown, as text, at the time it began with.
    return entry if isinstance(entry, dict) else {"ts": ts, "message": line.decode(errors="replace")}


def _wanted(entry: dict[str, Any], filters: AppLogFilters) -> bool:
    if filters.level and entry.get("level") != filters.level:
        return False
    if filters.request_id and entry.get("request_id") != filters.request_id:
        return False
    if filters.user and filters.user not in (entry.get("user"), entry.get("username")):
        return False
    text = f"{entry.get('message', '')}\n{entry.get('exc', '')}".lower()
    return not filters.q or filters.q.lower() in text


class ElasticsearchLogs:
    """The lines shipped to `<log_elasticsearch_index>-*`."""

    def __init__(self, settings: HampSettings) -> None:
        from shared.log_shipping import client

        self.client: Elasticsearch = client(settings)
        self.pattern = f"{settings.log_elasticsearch_index}-*"

    async def search(self, filters: AppLogFilters, offset: int, size: int) -> tuple[list[AppLogEntry], int]:
        return await asyncio.to_thread(self._search, filters, offset, size)

    def _search(self, filters: AppLogFilters, offset: int, size: int) -> tuple[list[AppLogEntry], int]:
        conditions: list[dict[str, Any]] = []
        if filters.request_id:
            conditions.append({"term": {"request_id": filters.request_id}})
        if filters.user:
            user_is = [{"term": {"user": filters.user}}, {"term": {"username": filters.user}}]
            conditions.append({"bool": {"should": user_is, "minimum_should_match": 1}})
        if filters.service:
            conditions.append({"term": {"component": filters.service}})
        if filters.level:
            conditions.append({"term": {"level": filters.level}})
        if filters.start or filters.end:
            bounds = {"gte": _ts_text(filters.start)} if filters.start else {}
            if filters.end:
                bounds["lt"] = _ts_text(filters.end)
            conditions.append({"range": {"ts": bounds}})
        if filters.q:
            # A phrase: Chinese text is indexed a character at a time, and "挂号失败" means those four in a row.
            conditions.append({"multi_match": {"query": filters.q, "type": "phrase", "fields": ["message", "exc"]}})
        try:
            answer = self.client.search(
                index=self.pattern,
                query={"bool": {"filter": conditions}},
                sort=[{"ts": {"order": "desc", "unmapped_type": "date"}}],
                from_=offset,
                size=size,
                track_total_hits=True,
                ignore_unavailable=True,
                allow_no_indices=True,
            )
        except (TransportError, ApiError) as exc:
            raise Unavailable(
                Text(
                    "日志服务（Elasticsearch）暂时无法查询，请稍后再试",
                    "The log store (Elasticsearch) cannot be searched now",
                )
            ) from exc
        hits = answer["hits"]
        items = [_entry(f"{hit['_index']}/{hit['_id']}", hit["_source"]) for hit in hits["hits"]]
        return items, int(hits["total"]["value"])


def make_backend(settings: HampSettings) -> AppLogBackend:
    if settings.log_elasticsearch_url:
        return ElasticsearchLogs(settings)
    return FileLogs(settings.log_dir)


async def backend(request: Request) -> AppLogBackend:
    """The gateway's backend, made on first use and kept (the Elasticsearch client holds its connections);
    async: FastAPI would run a plain function in a worker thread."""
    state = request.app.state
    found: AppLogBackend | None = getattr(state, "app_logs", None)
    if found is None:
        found = state.app_logs = make_backend(state.settings)
    return found
