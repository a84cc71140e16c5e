"""The printable report (检查报告单) of an outpatient examination, once its result is recorded
(the layout, shared with the inpatient one: shared/exam_report.py)."""

from __future__ import annotations

from fastapi import Response
from sqlalchemy.ext.asyncio import AsyncSession

from oms.exams import service
from oms.orders.models import Order
from oms.printing import sex_and_age
from oms.settings import OmsSettings
from oms.visits import service as visits
from shared.clock import local_time
from shared.errors import Conflict
from shared.exam_report import ExamReport, printed, render_exam_report
from shared.i18n import Text
from shared.pdf import pdf_response


async def report_pdf(session: AsyncSession, line_id: int, settings: OmsSettings) -> Response:
    """检查报告单 of an examined line; one still waiting for its result has none (409)."""
    exam = await service.get_exam(session, line_id)
    if exam.result is None:
        raise Conflict(
            Text("该项目尚未检查，没有检查报告单", "This examination has no result yet"), code="not_examined"
        )
    visit = await visits.get_visit(session, exam.visit_id)
    order = await session.get(Order, exam.order_id)
    sex, age = await sex_and_age(session, visit)
    details = [
        ("就诊号", visit.number), ("姓名", visit.patient_name), ("性别", sex), ("年龄", age),
        ("科室", visit.department_name), ("申请医生", visit.doctor_name),
        ("项目单号", order.number if order else ""), ("就诊日期", visit.visit_date.isoformat()),
    ]  # fmt: skip
    report = ExamReport(
        hospital_name=settings.hospital_name, title="门诊检查报告单", number=visit.number,
        details=[(label, printed(value)) for label, value in details], item_name=exam.name,
        result=exam.result.text, files=[f.filename for f in exam.result.files], examined_by=exam.result.examined_by,
        examined_at_local=local_time(exam.result.examined_at, settings.timezone),
    )  # fmt: skip
    return pdf_response(render_exam_report(report), f"{visit.number}-{line_id}.pdf")
