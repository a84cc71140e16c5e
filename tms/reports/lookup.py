"""Department and doctor names from dbs, read again at most once a minute: reports are keyed by id
(facts never copy a name that may later change), and a report must not wait on dbs for each one."""

from __future__ import annotations

import logging
import time
from datetime import datetime

from shared.errors import Unavailable
from shared.remote import get_json
from shared.service_client import ServiceClient
from tms.reports.shape import Lookup

log = logging.getLogger("hamp.tms.reports")
FRESH_SECONDS = 60.0
RETRY_SECONDS = 10.0
PAGE = 200


class Names:
    def __init__(self) -> None:
        self._departments: dict[int, str] = {}
        self._doctors: dict[int, str] = {}
        self._read_at = float("-inf")

    async def lookup(self, client: ServiceClient, now: datetime, expiry_warning_days: int = 90) -> Lookup:
        if time.monotonic() - self._read_at > FRESH_SECONDS:
            try:
                self._departments = await _names(client, "/api/dbs/departments")
                self._doctors = await _names(client, "/api/dbs/doctors")
                self._read_at = time.monotonic()
            except Unavailable:
                # Reports still answer, with ids for names (shape.Lookup), until dbs is back; asked
                # again after a while, not by every report (each would wait for dbs to fail).
                log.warning("dbs unreachable: reports name departments and doctors by id")
                self._read_at = time.monotonic() - FRESH_SECONDS + RETRY_SECONDS
        return Lookup(self._departments, self._doctors, now, expiry_warning_days)


async def _names(client: ServiceClient, path: str) -> dict[int, str]:
    names: dict[int, str] = {}
    page = 1
    while True:
        answer = await get_json(client, "DBS", path, {"page": page, "size": PAGE}) or {}
        for item in answer.get("items", []):
            names[int(item["id"])] = str(item["name"])
        if page * PAGE >= int(answer.get("total", 0)):
            return names
        page += 1
