"""Which handler applies which feed's entity (tms/ingest/service.py calls them)."""

from __future__ import annotations

from tms.ingest.context import Handler
from tms.inpatient.facts import HANDLERS as INPATIENT
from tms.outpatient.facts import HANDLERS as OUTPATIENT
from tms.stores.facts import HANDLERS as STORES

HANDLERS: dict[tuple[str, str], Handler] = {**OUTPATIENT, **INPATIENT, **STORES}
