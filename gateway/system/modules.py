"""The seven modules the console can show, keyed by service."""

from __future__ import annotations

MODULES: dict[str, dict[str, str]] = {
    "oms": {"zh": "门诊", "en": "Outpatient"},
    "hms": {"zh": "住院", "en": "Inpatient"},
    "tms": {"zh": "统计", "en": "Statistics"},
    "dbs": {"zh": "数据中心", "en": "Master data"},
    "dms": {"zh": "排班", "en": "Scheduling"},
    "sms": {"zh": "仓库", "en": "Warehouse"},
    "pms": {"zh": "药房", "en": "Pharmacy"},
}
