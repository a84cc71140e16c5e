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
    # Dispensing is reported back to outpatient.
    "pms": (REVOCATIONS, "oms:dispensing:write"),
}
