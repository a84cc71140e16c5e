"""What each service may do on the others with its own token: the least each needs, named here once.

A service absent from this map gets no token at all.
"""

from __future__ import annotations

# Every service refuses revoked user tokens; without a shared Redis it reads the gateway's markers.
REVOCATIONS = "system:revocation:read"

SERVICE_GRANTS: dict[str, tuple[str, ...]] = {
    "dbs": (REVOCATIONS,),
    # Schedules name their doctor, department and registration type.
    "dms": (REVOCATIONS, "dbs:doctor:read", "dbs:department:read", "dbs:registration_type:read"),
    # Registration books slots and freezes fees; pricing freezes drug and item prices; paid
    # prescriptions go to the pharmacy.
    "oms": (
        REVOCATIONS,
        "dbs:department:read",
        "dbs:doctor:read",
        "dbs:registration_type:read",
        "dbs:drug:read",
        "dbs:charge_item:read",
        # A 医保 payment freezes the patient's charge type and its reimbursement ratio.
        "dbs:charge_type:read",
        "dbs:unit:read",
        "dms:schedule:read",
        "dms:booking:write",
        "pms:dispensing:write",
    ),
    # Inbound orders name their drug, supplier, warehouse and handler; stock lists show drug names
    # and selling prices. Outbound orders reach pharmacy stock as deliveries.
    "sms": (
        REVOCATIONS,
        "dbs:drug:read",
        "dbs:supplier:read",
        "dbs:warehouse:read",
        "dbs:handler:read",
        "pms:delivery:write",
    ),
    # Dispensing is reported back to outpatient and inpatient; shortage requests and returns (退库)
    # go to the warehouse.
    "pms": (REVOCATIONS, "oms:dispensing:write", "hms:dispensing:write", "sms:shortage:write", "sms:return:write"),
    # Admissions freeze the department, doctor, patient and charge type; an outpatient transfer is
    # read from oms and reported admitted; drug orders go to the pharmacy and are claimed back there.
    "hms": (
        REVOCATIONS,
        "dbs:department:read",
        "dbs:doctor:read",
        "dbs:charge_type:read",
        "dbs:drug:read",
        "dbs:charge_item:read",
        "oms:patient:read",
        "oms:visit:read",
        "oms:admission:write",
        "pms:dispensing:write",
    ),
    # Statistics read the four change feeds, and dbs for the names of departments and doctors.
    "tms": (
        REVOCATIONS,
        "oms:feed:read",
        "hms:feed:read",
        "pms:feed:read",
        "sms:feed:read",
        "dbs:department:read",
        "dbs:doctor:read",
    ),
    # The gateway itself (its own token, signed in process: gateway/main.py) reads the alert lists
    # and outboxes it turns into system notifications (gateway/system/notifications/sources.py).
    "gateway": (
        "sms:alert:read",
        "pms:stock:read",
        "hms:deposit:read",
        "oms:outbox:read",
        "hms:outbox:read",
        "sms:outbox:read",
        "pms:outbox:read",
    ),
}
