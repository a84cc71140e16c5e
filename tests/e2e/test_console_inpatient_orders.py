"""A ward's day in a real browser, beyond test_console_inpatient.py (docs/inpatient.md, docs/console.md
"Inpatient (hms)"): 门诊转入, 药品记账 with the pharmacy, 退药, and 转科转床.

An outpatient doctor sends a patient to the wards (a visit registered at oms, seen and transferred,
through the API). The clerk finds the transfer in 入院登记's 门诊转入 list, admits it into a free bed of
内科 (the ward's one doctor chosen, the outpatient visit number on the stay). On the stay, 药品记账 books
a drug: its line is 待发药 until the pharmacy (pms, through the API: stocked as a warehouse delivery
would, then dispensed) hands it out, and after a reload it is 已发药. 退药 of that line is refused in
words (「请先办理退药」); once the drugs came back at the pharmacy, 退药 goes through and 费用明细 shows the
credit. 转科转床 to a bed of 外科's ward (the other department's doctor required): the history shows the
move, and 床位一览 shows the old bed free and the new one occupied. No screen shows a raw state, field
path or permission string.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.test_console_inpatient import RAW as STAY_RAW
from tests.e2e.test_console_inpatient import _bed_board, _confirm, _select
from tests.e2e.test_console_outpatient import ALL_DAY, _admin_api, _create, _option
from tests.e2e.test_console_system import Browsers, _login, launch
from tests.oms.outpatient_desk import hospital_today
from tests.pms.conftest import stock_up
from tests.support.browser import assert_no_codes, assert_no_raw_words, browser_available  # noqa: F401
from tests.support.clerks import module_permissions, user_with

pytestmark = pytest.mark.browser

# The drug lines' and orders' states besides the stay's (test_console_inpatient.RAW).
RAW = re.compile(rf"{STAY_RAW.pattern}|\b(pending|dispensed|returned|cancelled|credit|transferred)\b")
# hms's outbox hands the order to pms, pms's reports the dispensing back: seconds each.
OUTBOX_WAIT_S = 30
DRUG_PRICE, DRUG_QUANTITY, DRUG_AMOUNT = "12.50", 3, "37.50"


@pytest.fixture
def browsers() -> Iterator[Browsers]:
    with launch() as state:
        yield state


def _wait_for(what: str, found: Any) -> Any:
    deadline = time.monotonic() + OUTBOX_WAIT_S
    while not (answer := found()):
        assert time.monotonic() < deadline, f"{what} did not happen within {OUTBOX_WAIT_S}s"
        time.sleep(0.3)
    return answer


def _ok(api: Any, method: str, path: str, status: int = 200, **kwargs: Any) -> Any:
    answer = api.request(method, path, **kwargs)
    assert answer.status_code == status, f"{method} {path}: {answer.status_code} {answer.text}"
    return answer.json()


def _master_data(admin: Any, tag: str) -> dict[str, Any]:
    """Two inpatient departments, each with one doctor and a ward; an outpatient clinic with a shift
    today; a charge type; a drug."""

    def doctor(code: str, name: str, department: dict, reg_type: dict) -> dict:
        return _create(
            admin,
            "/api/dbs/doctors",
            {
                "code": code, "name": name, "sex": "male", "title": "attending", "department_id": department["id"],
                "registration_type_id": reg_type["id"], **ALL_DAY,
            },
        )  # fmt: skip

    reg_type = _create(admin, "/api/dbs/registration-types", {"name": f"普通号{tag}", "fee": "10.00"})
    clinic = _create(
        admin, "/api/dbs/departments", {"code": f"MZ{tag}", "name": f"呼吸门诊{tag}", "kind": "outpatient"}
    )
    medicine = _create(
        admin, "/api/dbs/departments", {"code": f"NK{tag}", "name": f"内科病区{tag}", "kind": "inpatient"}
    )
    surgery = _create(
        admin, "/api/dbs/departments", {"code": f"WK{tag}", "name": f"外科病区{tag}", "kind": "inpatient"}
    )
    sender = doctor(f"M{tag}", f"周医生{tag}", clinic, reg_type)
    internist = doctor(f"N{tag}", f"王医生{tag}", medicine, reg_type)
    surgeon = doctor(f"W{tag}", f"李医生{tag}", surgery, reg_type)
    ward = _create(
        admin, "/api/hms/wards", {"code": f"A{tag}", "name": f"三病区{tag}", "department_id": medicine["id"]}
    )
    bed = _create(admin, "/api/hms/beds", {"ward_id": ward["id"], "number": "01", "daily_price": "50.00"})
    other_ward = _create(
        admin, "/api/hms/wards", {"code": f"B{tag}", "name": f"五病区{tag}", "department_id": surgery["id"]}
    )
    other_bed = _create(admin, "/api/hms/beds", {"ward_id": other_ward["id"], "number": "01", "daily_price": "80.00"})
    charge_type = _create(admin, "/api/dbs/charge-types", {"name": f"自费{tag}", "reimbursement_ratio": "0.00"})
    kind = _create(admin, "/api/dbs/drug-types", {"name": f"西药{tag}"})
    origin = _create(admin, "/api/dbs/drug-origins", {"name": f"华北制药{tag}"})
    box = _create(admin, "/api/dbs/units", {"name": f"盒{tag}"})
    drug = _create(
        admin,
        "/api/dbs/drugs",
        {
            "code": f"YP{tag}", "name": f"头孢呋辛片{tag}", "spec": "0.25g×12片", "type_id": kind["id"],
            "origin_id": origin["id"], "unit_id": box["id"], "price": DRUG_PRICE, "low_stock_threshold": 10,
        },
    )  # fmt: skip
    return {"reg_type": reg_type, "sender": sender, "medicine": medicine, "internist": internist,
            "surgery": surgery, "surgeon": surgeon, "ward": ward, "bed": bed, "other_ward": other_ward,
            "other_bed": other_bed, "charge_type": charge_type, "drug": drug}  # fmt: skip


def _transferred_visit(admin: Any, data: dict[str, Any], name: str) -> dict[str, Any]:
    """Registered with the outpatient doctor today, seen, and sent to the wards (转住院): the visit."""
    patient = _create(admin, "/api/oms/patients", {"name": name, "sex": "female", "birth_date": "1958-03-09"})
    schedule = _create(
        admin,
        "/api/dms/schedules",
        {
            "doctor_id": data["sender"]["id"], "date": hospital_today().isoformat(), "shift": "morning",
            "registration_type_id": data["reg_type"]["id"], "quota": 5,
        },
    )  # fmt: skip
    visit = _ok(
        admin, "POST", "/api/oms/visits", 201,
        json={"patient_id": patient["id"], "schedule_id": schedule["id"], "payment_method": "cash"},
        headers={"Idempotency-Key": uuid.uuid4().hex},
    )  # fmt: skip
    _ok(admin, "POST", f"/api/oms/visits/{visit['id']}/state", json={"to": "in_consultation"})
    moved = _ok(
        admin, "POST", f"/api/oms/visits/{visit['id']}/state", json={"to": "transferred", "reason": "肺炎需住院"}
    )
    assert moved["admission"]["state"] == "pending", moved
    return dict(visit)


def _admit_transfer(page: Any, data: dict[str, Any], patient: str, visit_number: str) -> str:
    """入院登记 of the waiting 门诊转入 into the free bed chosen on the bed board; answers the ZY number."""
    from playwright.sync_api import expect

    bed = _bed_board(page, data["bed"]["id"])
    expect(bed).to_have_attribute("data-state", "free")
    bed.get_by_test_id("bed-admit").click()
    page.wait_for_url("**/hms/admission?bed_id=*")
    expect(page.get_by_test_id("admission-bed")).to_contain_text(f"{data['ward']['name']} · 01")
    expect(page.get_by_test_id("admission-department")).to_contain_text(data["medicine"]["name"])

    # A transfer is waiting, so the page opens on 门诊转入: the visit, its patient, clinic and doctor.
    expect(page.get_by_test_id("admission-source-request")).to_have_class(re.compile(r"\bis-active\b"))
    requests = page.get_by_test_id("admission-requests")
    row = requests.locator("tr.el-table__row").filter(has_text=visit_number)
    expect(row).to_have_count(1)
    for shown in (patient, data["sender"]["name"], "肺炎需住院"):
        expect(row).to_contain_text(shown)
    # Nothing is sent before a transfer is chosen: the message says so.
    page.get_by_test_id("admission-submit").click()
    expect(page.locator(".el-form-item__error").filter(has_text="请选择一条门诊转入")).to_have_count(1)
    row.click()
    expect(row.locator(".el-radio")).to_have_class(re.compile(r"\bis-checked\b"))
    # The clinic's doctor does not work on this ward: its one doctor is chosen instead.
    expect(page.get_by_test_id("admission-doctor")).to_contain_text(data["internist"]["name"])
    page.get_by_test_id("admission-diagnosis").fill("社区获得性肺炎")
    _select(page, page.get_by_test_id("admission-charge-type"), data["charge_type"]["name"])
    page.get_by_test_id("admission-deposit").fill("1000")
    page.get_by_test_id("admission-submit").click()

    page.wait_for_url(re.compile(r".*/hms/stays/\d+$"))
    number = page.get_by_test_id("stay-number")
    expect(number).to_have_text(re.compile(r"^ZY\d{8}-\d{5}$"))
    expect(page.locator(".admission-success")).to_contain_text(number.inner_text())
    expect(page.get_by_test_id("stay-patient")).to_have_text(patient)
    header = page.get_by_test_id("stay-header")
    for shown in (visit_number, data["internist"]["name"], data["medicine"]["name"]):
        expect(header).to_contain_text(shown)
    expect(page.get_by_test_id("stay-bed")).to_have_text(f"{data['ward']['name']} · 01")
    expect(page.get_by_test_id("stay-deposits")).to_have_text("¥1000.00")
    return number.inner_text()


def _drug_order_row(page: Any) -> Any:
    """The stay's one drug order, its lines shown (expanded)."""
    from playwright.sync_api import expect

    orders = page.get_by_test_id("drug-orders")
    row = orders.locator("tr.el-table__row").first
    expect(row).to_contain_text(re.compile(r"YZ\d{8}-\d{5}"))
    expect(page.locator(".el-loading-mask:visible")).to_have_count(0)
    if not page.get_by_test_id("drug-order-lines").is_visible():
        row.locator(".el-table__expand-icon").click()
    expect(page.get_by_test_id("drug-order-lines")).to_be_visible()
    return row


def _book_drug(page: Any, drug: dict) -> str:
    """药品记账 of the drug × 3; answers the YZ number."""
    from playwright.sync_api import expect

    page.locator("#tab-drugs").click()
    editor = page.get_by_test_id("line-editor-drug")
    editor.get_by_test_id("line-search").click()
    editor.get_by_test_id("line-search").locator("input").fill(drug["code"])
    option = _option(page, drug["name"])
    expect(option).to_have_count(1)
    option.click()
    lines = editor.get_by_test_id("new-lines")
    field = lines.get_by_test_id("line-quantity").locator("input")
    field.fill(str(DRUG_QUANTITY))
    field.press("Tab")
    lines.get_by_test_id("line-usage").fill("口服 一日两次")
    page.get_by_test_id("drugs-book").click()
    expect(page.get_by_test_id("drugs-confirm")).to_contain_text(f"{drug['name']} {drug['spec']} × {DRUG_QUANTITY}")
    _confirm(page, "记账并发往药房")
    expect(page.locator(".el-message").filter(has_text="已发往药房")).to_contain_text(re.compile(r"YZ\d{8}-\d{5}"))

    row = _drug_order_row(page)
    expect(row).to_contain_text(f"¥{DRUG_AMOUNT}")
    expect(row.get_by_test_id("drug-order-state")).to_have_text("待发药")
    expect(page.get_by_test_id("drug-order-lines")).to_contain_text(drug["name"])
    expect(page.get_by_test_id("drug-line-state")).to_have_text("待发药")
    expect(page.get_by_test_id("stay-charges")).to_have_text(f"¥{DRUG_AMOUNT}")
    expect(page.get_by_test_id("stay-balance")).to_have_text("¥962.50")
    found = re.search(r"YZ\d{8}-\d{5}", row.inner_text())
    assert found is not None
    return found.group(0)


def _dispense_at_pharmacy(admin: Any, drug: dict, yz_number: str) -> dict[str, Any]:
    """The pharmacy stocks the drug as a warehouse delivery would and dispenses hms's order (pms's API);
    answers the dispensing order."""

    def at_pharmacy() -> Any:
        found = _ok(admin, "GET", "/api/pms/dispensing-orders", params={"q": yz_number})["items"]
        return next((o for o in found if o["source"] == "hms" and o["order_number"] == yz_number), None)

    dispensing: dict[str, Any] = _wait_for(f"{yz_number} at the pharmacy", at_pharmacy)
    stock_up(admin, drug["id"], 20, code=drug["code"], name=drug["name"], batch_no=uuid.uuid4().hex[:12])
    _ok(admin, "POST", f"/api/pms/dispensing-orders/{dispensing['id']}/dispense")
    return dispensing


def _return_line(page: Any, drug: dict) -> Any:
    """Opens 退药 / 撤销 of the order, ticks the drug's line, gives the reason and sends; answers the dialog."""
    from playwright.sync_api import expect

    _drug_order_row(page).get_by_test_id("drug-order-return").click()
    dialog = page.get_by_test_id("drug-return-dialog")
    expect(dialog).to_be_visible()
    line = dialog.get_by_test_id("drug-return-lines").locator("tr.el-table__row").filter(has_text=drug["name"])
    expect(line.get_by_test_id("return-line-state")).to_have_text("已发药")
    # Opened again after a refusal, the dialog starts with nothing ticked.
    expect(dialog.locator(".el-checkbox.is-checked")).to_have_count(0)
    line.locator(".el-checkbox").click()
    dialog.get_by_test_id("drug-return-reason").fill("医嘱调整，患者未服用")
    dialog.get_by_test_id("drug-return-submit").click()
    return dialog


def _drugs_and_returns(page: Any, admin: Any, drug: dict) -> None:
    from playwright.sync_api import expect

    yz_number = _book_drug(page, drug)
    dispensing = _dispense_at_pharmacy(admin, drug, yz_number)

    # pms reports the dispensing back through its outbox; the ward reloads the page and sees it.
    def reported() -> bool:
        orders = _ok(admin, "GET", "/api/hms/drug-orders", params={"q": yz_number})["items"]
        return bool(orders) and orders[0]["state"] == "dispensed"

    _wait_for(f"{yz_number} reported dispensed", reported)
    page.reload()
    page.locator("#tab-drugs").click()
    row = _drug_order_row(page)
    expect(row.get_by_test_id("drug-order-state")).to_have_text("已发药")
    expect(page.get_by_test_id("drug-line-state")).to_have_text("已发药")

    # The drugs are with the patient: no money back before they are returned at the pharmacy.
    dialog = _return_line(page, drug)
    refused = dialog.get_by_test_id("drug-return-refused")
    expect(refused).to_contain_text("请先办理退药")
    assert_no_codes(page, "退药被拒", scope=dialog)
    assert RAW.search(dialog.inner_text()) is None, dialog.inner_text()
    dialog.get_by_role("button", name="取消").click()
    expect(dialog).to_be_hidden()
    expect(page.get_by_test_id("stay-charges")).to_have_text(f"¥{DRUG_AMOUNT}")

    # The ward brings the drugs back to the pharmacy (pms's 退药, by hms's line ids); then 退药 goes through.
    (order,) = _ok(admin, "GET", "/api/hms/drug-orders", params={"q": yz_number})["items"]
    _ok(
        admin, "POST", f"/api/pms/dispensing-orders/{dispensing['id']}/returns", 201,
        json={"line_ids": [line["id"] for line in order["lines"]], "reason": "患者未服用"},
    )  # fmt: skip
    dialog = _return_line(page, drug)
    expect(page.locator(".el-message").filter(has_text="已退 1 项")).to_have_count(1)
    expect(dialog).to_be_hidden()
    row = _drug_order_row(page)
    expect(row.get_by_test_id("drug-order-return")).to_have_count(0)
    expect(page.get_by_test_id("drug-line-state")).to_have_text("已退")
    expect(page.get_by_test_id("stay-charges")).to_have_text("¥0.00")
    expect(page.get_by_test_id("stay-balance")).to_have_text("¥1000.00")

    # 费用明细: the drug's row and its credit, which takes it off.
    page.locator("#tab-account").click()
    rows = page.get_by_test_id("account-rows").locator("tr.el-table__row")
    expect(rows).to_have_count(2)
    credit = rows.filter(has_text="冲减")
    expect(credit).to_contain_text(drug["name"])
    expect(credit.get_by_test_id("account-row-amount")).to_have_text(f"-¥{DRUG_AMOUNT}")
    expect(credit).to_contain_text("医嘱调整，患者未服用")
    expect(rows.filter(has_text="已退").get_by_test_id("account-row-amount")).to_have_text(f"¥{DRUG_AMOUNT}")
    expect(page.get_by_test_id("account-total")).to_have_text("¥0.00")
    assert_no_codes(page, "费用明细")
    assert_no_raw_words(RAW, page, "费用明细")


def _transfer(page: Any, data: dict[str, Any]) -> None:
    """转科转床 to 外科's ward: another department, so its doctor must be chosen."""
    from playwright.sync_api import expect

    page.locator("#tab-transfers").click()
    expect(page.get_by_test_id("transfers-table")).to_contain_text("没有转科转床记录")
    page.get_by_test_id("transfer-open").click()
    dialog = page.get_by_test_id("transfer-dialog")
    expect(dialog).to_be_visible()
    target = f"{data['other_ward']['name']} · 01"
    _select(page, dialog.get_by_test_id("transfer-bed"), target)
    expect(dialog).to_contain_text(data["surgery"]["name"])
    dialog.get_by_test_id("transfer-reason").fill("需手术治疗")
    dialog.get_by_test_id("transfer-submit").click()
    expect(dialog.locator(".el-form-item__error")).to_have_text("请选择主治医生")
    _select(page, dialog.get_by_test_id("transfer-doctor"), data["surgeon"]["name"])
    dialog.get_by_test_id("transfer-submit").click()
    expect(dialog).to_be_hidden()
    expect(page.locator(".el-message").filter(has_text=f"已转到 {data['other_ward']['name']} 01 床")).to_have_count(1)

    expect(page.get_by_test_id("stay-bed")).to_have_text(target)
    expect(page.get_by_test_id("stay-department")).to_have_text(data["surgery"]["name"])
    expect(page.get_by_test_id("stay-header")).to_contain_text(data["surgeon"]["name"])
    rows = page.get_by_test_id("transfers-table").locator("tr.el-table__row")
    expect(rows).to_have_count(1)
    old = f"{data['medicine']['name']} · {data['ward']['name']} · 01 · {data['internist']['name']}"
    new = f"{data['surgery']['name']} · {target} · {data['surgeon']['name']}"
    for shown in (old, new, "需手术治疗"):
        expect(rows.first).to_contain_text(shown)
    assert_no_raw_words(RAW, page, "转科转床")


def run_scenario(base: str, admin_username: str, admin_password: str, browsers: Browsers) -> None:
    from playwright.sync_api import expect

    tag = uuid.uuid4().hex[:6].upper()
    patient = f"转入患者{tag}"
    admin = _admin_api(base, admin_username, admin_password)
    try:
        data = _master_data(admin, tag)
        visit = _transferred_visit(admin, data, patient)
        permissions = [
            *module_permissions(admin, "hms"),
            "dbs:department:read",
            "dbs:doctor:read",
            "dbs:charge_type:read",
            "dbs:drug:read",
        ]
        username, password = user_with(admin, permissions, real_name="住院护士站")

        page = browsers.page("ward")
        _login(page, base, username, password)
        _admit_transfer(page, data, patient, visit["number"])
        assert_no_codes(page, "住院详情")
        _drugs_and_returns(page, admin, data["drug"])
        _transfer(page, data)
    finally:
        admin.close()

    # 床位一览: the patient left 内科's bed for 外科's.
    old = _bed_board(page, data["bed"]["id"])
    expect(old).to_have_attribute("data-state", "free")
    expect(old.get_by_test_id("bed-occupant")).to_have_count(0)
    new = page.get_by_test_id(f"bed-{data['other_bed']['id']}")
    expect(new).to_have_attribute("data-state", "occupied")
    expect(new.get_by_test_id("bed-patient")).to_have_text(patient)
    assert_no_codes(page, "床位一览")
    assert_no_raw_words(RAW, page, "床位一览")

    assert not browsers.errors, f"JavaScript errors on the page: {browsers.errors}"


def test_transfer_admission_drugs_returns_and_a_move(platform: Any, browsers: Browsers) -> None:
    try:
        run_scenario(platform.gateway_url, platform.admin_username, platform.admin_password, browsers)
    except BaseException:
        print(f"screenshots: {browsers.screenshots('inpatient-orders')}")
        raise
