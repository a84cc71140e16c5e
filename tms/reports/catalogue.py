"""Every report tms answers, in the order the console lists them."""

from __future__ import annotations

from tms.outpatient.reports import REPORTS as OUTPATIENT
from tms.reports.shape import Definition

REPORTS: tuple[Definition, ...] = (*OUTPATIENT,)
