"""The printable report (检查报告单) of an inpatient examination, once its result is recorded
(the layout, shared with the outpatient one: shared/exam_report.py)."""

from __future__ import annotations

from fastapi import Response
from sqlalchemy.ext.asyncio import AsyncSession

from hms.charges.models import Charge, ChargeKind, ChargeState
from hms.charges.service import no_charge
from hms.settings import HmsSettings
from hms.stays import account
from shared.clock import local_time
from shared.errors import Conflict
from shared.exam_report import ExamReport, printed, render_exam_report
from shared.i18n import Text
from shared.pdf import pdf_response
from shared.scope import Departments

SEX_LABELS = {"male": "男", "female": "女"}


async def report_pdf(
    session: AsyncSession, charge_id: int, settings: HmsSettings, departments: Departments
) -> Response:
    """检查报告单 of an examined item of a stay in the caller's departments; one still waiting for its
    result (or credited before it had one) has none (409)."""
    charge = await session.get(Charge, charge_id)
    if charge is None or not charge.needs_exam or charge.kind != ChargeKind.item:
        raise no_charge()
    stay = await account.visible(session, charge.stay_id, departments)
    if charge.state != ChargeState.examined or charge.examined_at is None:
        raise Conflict(
            Text("该项目尚未检查，没有检查报告单", "This examination has no result yet"), code="not_examined"
        )
    details = [
        ("住院号", stay.number), ("姓名", stay.patient_name), ("性别", SEX_LABELS.get(stay.sex or "", "")),
        ("年龄", f"{stay.age}岁" if stay.age is not None else ""), ("科室", stay.department_name),
        ("病区", stay.ward_name), ("床号", stay.bed_number), ("主治医生", stay.doctor_name),
        ("入院诊断", stay.diagnosis),
    ]  # fmt: skip
    report = ExamReport(
        hospital_name=settings.hospital_name, title="住院检查报告单", number=stay.number,
        details=[(label, printed(value)) for label, value in details], item_name=charge.name,
        result=charge.exam_result or "", files=[charge.report_name] if charge.report_name else [],
        examined_by=charge.examined_by or "", examined_at_local=local_time(charge.examined_at, settings.timezone),
    )  # fmt: skip
    return pdf_response(render_exam_report(report), f"{stay.number}-{charge_id}.pdf")
