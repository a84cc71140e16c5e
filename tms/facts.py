"""Which handler applies which feed's entity (tms/ingest/service.py calls them)."""

from __future__ import annotations

from tms.ingest.context import Handler
from tms.outpatient.facts import HANDLERS as OUTPATIENT

HANDLERS: dict[tuple[str, str], Handler] = {**OUTPATIENT}
