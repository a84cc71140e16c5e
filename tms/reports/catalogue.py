"""Every report tms answers, in the order the console lists them."""

from __future__ import annotations

from tms.inpatient.reports import REPORTS as INPATIENT
from tms.outpatient.reports import REPORTS as OUTPATIENT
from tms.reports.shape import Definition
from tms.stores.reports import REPORTS as STORES

REPORTS: tuple[Definition, ...] = (*OUTPATIENT, *INPATIENT, *STORES)
