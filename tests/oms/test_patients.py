"""门诊患者库: ID-card rules, search, uniqueness, masking, audit and permissions, on SQLite and MariaDB."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError

from shared.i18n import Text
from shared.id_card import IdCard, birth_date_of, check_character, validate_id_card
from tests.oms.conftest import OmsApi

# Computed by hand with GB 11643 (weights 7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2, check "10X98765432"),
# independently of shared.id_card; the first is the standard's own example.
VALID = {
    "11010519491231002X": date(1949, 12, 31),
    "44030419900307123X": date(1990, 3, 7),
    "31011519850815422X": date(1985, 8, 15),
    "510107200002290037": date(2000, 2, 29),
    "65010219751102556X": date(1975, 11, 2),
    "370203198811110079": date(1988, 11, 11),
    "110101201701010016": date(2017, 1, 1),
    "330106196207048894": date(1962, 7, 4),
}

WANG = {
    "name": "王小明",
    "sex": "male",
    "birth_date": "1990-03-07",
    "id_card": "44030419900307123X",
    "phone": "13812345678",
    "address": "深圳市福田区",
}
LI = {
    "name": "李梅",
    "sex": "female",
    "birth_date": "1985-08-15",
    "id_card": "31011519850815422X",
    "phone": "021-62345678",
}
ZHANG = {"name": "张三", "sex": "male", "birth_date": "2017-01-01"}


def reason_of(value: str) -> Text:
    with pytest.raises(ValueError) as caught:
        validate_id_card(value)
    reason = caught.value.args[0]
    assert isinstance(reason, Text)
    return reason


def field_errors(answer: Any) -> dict[str, str]:
    return {e["field"]: e["code"] for e in answer.json()["errors"]}


# --- shared.id_card -----------------------------------------------------------------------------


@pytest.mark.parametrize(("number", "born"), VALID.items())
def test_sample_numbers_are_valid_and_carry_their_birth_date(number: str, born: date) -> None:
    assert check_character(number[:17]) == number[-1]
    assert validate_id_card(number) == number
    assert birth_date_of(number) == born


def test_lower_case_x_is_normalised() -> None:
    assert validate_id_card("11010519491231002x") == "11010519491231002X"
    assert TypeAdapter(IdCard).validate_python(" 11010519491231002x ") == "11010519491231002X"


@pytest.mark.parametrize(
    ("number", "reason"),
    [
        ("11010519491231002", "18 characters"),
        ("11010519491231002X1", "18 characters"),
        ("1101051949123100XX", "17 digits"),
        ("11010519491231002A", "17 digits"),
        ("00010519491231002X", "region"),
        ("110000194912310021", "region"),
        ("110105194902300020", "birth date"),  # 30 February
        ("110105190002290026", "birth date"),  # 1900 was no leap year
        ("110105299912310023", "birth date"),  # in the future
        ("110105194912310021", "check character"),
        ("44030419900307123Y", "17 digits"),
    ],
)
def test_invalid_numbers_say_why(number: str, reason: str) -> None:
    message = reason_of(number)
    assert reason in message.en
    assert "身份证号" in message.zh


def test_wrong_check_character_for_every_other_character() -> None:
    first17 = "11010519491231002"
    for wrong in "0123456789":
        assert "check character" in reason_of(first17 + wrong).en


def test_type_lets_empty_and_masked_values_through() -> None:
    adapter = TypeAdapter(IdCard)
    assert adapter.validate_python(None) is None
    assert adapter.validate_python("") is None
    assert adapter.validate_python("4403**********123x") == "4403**********123X"
    with pytest.raises(ValidationError):
        adapter.validate_python("440304199003071231")


# --- the API --------------------------------------------------------------------------------------


def test_create_and_search_by_name_id_card_and_phone(oms_api: OmsApi) -> None:
    wang = oms_api.create("patients", WANG)
    assert wang["id_card"] == WANG["id_card"] and wang["phone"] == WANG["phone"]
    assert wang["birth_date"] == "1990-03-07" and wang["enabled"] is True
    oms_api.create("patients", LI)
    zhang = oms_api.create("patients", ZHANG)
    assert zhang["id_card"] is None and zhang["phone"] is None

    def names(q: str) -> list[str]:
        return sorted(p["name"] for p in oms_api.items("patients", q=q))

    assert names("小明") == ["王小明"]
    assert names("44030419900307123X") == ["王小明"]
    assert names("44030419900307123x") == ["王小明"], "the ID card is found whatever the case of its X"
    assert names("13812345678") == ["王小明"]
    assert names("021-62345678") == names("02162345678") == ["李梅"], "a phone is found by its digits"
    # Encrypted numbers are found by the full number only: no part of one ever matches.
    for part in ("19900307123x", "310115", "1381234", "62345678", "5678", "4403**********123X", "138****5678"):
        assert names(part) == [], part
    assert names("") == ["张三", "李梅", "王小明"]
    assert oms_api.get(f"patients/{wang['id']}").json()["name"] == "王小明"


def test_patients_without_id_card_or_with_the_same_name_are_allowed(oms_api: OmsApi) -> None:
    oms_api.create("patients", ZHANG)
    oms_api.create("patients", ZHANG)
    oms_api.create("patients", {**ZHANG, "id_card": "", "phone": ""})
    assert oms_api.count("patients") == 3


@pytest.mark.parametrize(
    ("change", "field", "code"),
    [
        ({"id_card": "440304199003071231"}, "id_card", "value_error"),  # wrong check character
        ({"id_card": "4403041990030712"}, "id_card", "value_error"),  # too short
        ({"id_card": "440304199002301233"}, "id_card", "value_error"),  # 30 February
        ({"id_card": "4403**********123X"}, "id_card", "masked_value"),  # a mask, on create
        ({"birth_date": "1990-03-08"}, "birth_date", "birth_date_mismatch"),
        ({"phone": "1381234567"}, "phone", "value_error"),
        ({"phone": "电话"}, "phone", "value_error"),
        ({"sex": "unknown"}, "sex", "enum"),
        ({"name": ""}, "name", "string_too_short"),
        ({"name": "名" * 51}, "name", "string_too_long"),
        ({"address": "址" * 201}, "address", "string_too_long"),
    ],
)
def test_invalid_patient_is_refused_naming_the_field(oms_api: OmsApi, change: dict, field: str, code: str) -> None:
    answer = oms_api.post("patients", {**WANG, **change})
    assert answer.status_code == 422, answer.text
    assert field_errors(answer).get(field) == code, answer.json()
    assert oms_api.count("patients") == 0
    assert oms_api.audit_rows() == []


def test_birth_date_mismatch_names_both_fields_in_both_languages(oms_api: OmsApi) -> None:
    answer = oms_api.post("patients", {**WANG, "birth_date": "1990-07-03"}, headers={"Accept-Language": "en"})
    assert answer.status_code == 422
    body = answer.json()
    assert body["code"] == "birth_date_mismatch"
    assert set(field_errors(answer)) == {"birth_date", "id_card"}
    assert "birth date" in body["detail"]
    answer = oms_api.post("patients", {**WANG, "id_card": "440304199003071231"})
    assert "校验位" in answer.json()["errors"][0]["message"]


def test_sex_and_birth_date_are_read_from_the_id_card(oms_api: OmsApi) -> None:
    """Found by a new user: they were neither filled in from the ID card nor checked against it."""
    only_the_card = {k: v for k, v in WANG.items() if k not in ("sex", "birth_date")}
    created = oms_api.create("patients", only_the_card)
    assert (created["sex"], created["birth_date"]) == ("male", "1990-03-07")
    woman = oms_api.create("patients", {"name": "李梅", "id_card": LI["id_card"]})
    assert woman["sex"] == "female"


def test_a_sex_contradicting_the_id_card_is_refused(oms_api: OmsApi) -> None:
    answer = oms_api.post("patients", {**WANG, "sex": "female"})
    assert answer.status_code == 422 and answer.json()["code"] == "sex_mismatch"
    assert set(field_errors(answer)) == {"sex", "id_card"}
    assert "性别" in answer.json()["detail"]
    assert oms_api.count("patients") == 0


def test_without_an_id_card_sex_and_birth_date_are_required(oms_api: OmsApi) -> None:
    answer = oms_api.post("patients", {"name": "张三"})
    assert answer.status_code == 422
    assert set(field_errors(answer)) == {"sex", "birth_date"}
    assert oms_api.count("patients") == 0


def test_birth_date_in_the_future_is_refused(oms_api: OmsApi) -> None:
    tomorrow = date.today() + timedelta(days=2)
    answer = oms_api.post("patients", {**ZHANG, "birth_date": tomorrow.isoformat()})
    assert answer.status_code == 422
    assert "birth_date" in field_errors(answer)


@pytest.mark.parametrize("second", ["44030419900307123X", "44030419900307123x"])
def test_duplicate_id_card_is_a_conflict(oms_api: OmsApi, second: str) -> None:
    oms_api.create("patients", WANG)
    answer = oms_api.post("patients", {**WANG, "name": "王二", "id_card": second})
    assert answer.status_code == 409, answer.text
    assert answer.json()["code"] == "duplicate"
    assert field_errors(answer) == {"id_card": "duplicate"}
    assert oms_api.count("patients") == 1


def test_update_to_another_patients_id_card_is_a_conflict(oms_api: OmsApi) -> None:
    oms_api.create("patients", WANG)
    li = oms_api.create("patients", LI)
    body = {**LI, "sex": WANG["sex"], "birth_date": WANG["birth_date"], "id_card": WANG["id_card"]}
    answer = oms_api.put(f"patients/{li['id']}", body)
    assert answer.status_code == 409
    # Keeping one's own number is no conflict.
    assert oms_api.put(f"patients/{li['id']}", {**LI, "address": "上海"}).status_code == 200


def test_id_card_and_phone_are_masked_without_pii_read(oms_api: OmsApi) -> None:
    wang = oms_api.create("patients", WANG)
    li = oms_api.create("patients", LI)
    clerk = oms_api.token("oms:patient:read")
    seen = {p["name"]: p for p in oms_api.get("patients", token=clerk).json()["items"]}
    assert seen["王小明"]["id_card"] == "4403**********123X"
    assert seen["王小明"]["phone"] == "138****5678"
    assert seen["李梅"]["phone"] == "021*****5678"
    assert oms_api.get(f"patients/{wang['id']}", token=clerk).json()["id_card"] == "4403**********123X"
    # Part of a number is not searched: the search would tell its hidden digits.
    assert oms_api.get("patients", params={"q": "19900307"}, token=clerk).json()["total"] == 0
    assert oms_api.get("patients", params={"q": "李"}, token=clerk).json()["total"] == 1
    # The full number finds the patient, still masked.
    for number in (WANG["id_card"], WANG["phone"]):
        found = oms_api.get("patients", params={"q": number}, token=clerk).json()["items"]
        assert [(p["name"], p["id_card"], p["phone"]) for p in found] == [
            ("王小明", "4403**********123X", "138****5678")
        ]

    trusted = oms_api.token("oms:patient:read", "pii:read")
    full = oms_api.get(f"patients/{li['id']}", token=trusted).json()
    assert (full["id_card"], full["phone"]) == (LI["id_card"], LI["phone"])
    assert oms_api.get("patients", params={"q": "19900307"}, token=trusted).json()["total"] == 0
    found = oms_api.get("patients", params={"q": WANG["id_card"]}, token=trusted).json()["items"]
    assert [(p["name"], p["id_card"]) for p in found] == [("王小明", WANG["id_card"])]


def test_masked_values_sent_back_keep_the_stored_numbers(oms_api: OmsApi) -> None:
    wang = oms_api.create("patients", WANG)
    clerk = oms_api.token("oms:patient:read", "oms:patient:write")
    shown = oms_api.get(f"patients/{wang['id']}", token=clerk).json()
    answer = oms_api.put(f"patients/{wang['id']}", {**shown, "address": "深圳市南山区"}, token=clerk)
    assert answer.status_code == 200, answer.text
    stored = oms_api.rows("patients")[0]
    assert (stored["id_card"], stored["phone"], stored["address"]) == (WANG["id_card"], WANG["phone"], "深圳市南山区")

    # The hidden number still holds its birth date: it cannot be edited away behind the mask.
    answer = oms_api.put(f"patients/{wang['id']}", {**shown, "birth_date": "1990-03-08"}, token=clerk)
    assert answer.status_code == 422
    assert answer.json()["code"] == "birth_date_mismatch"
    # A mask of some other number is not taken for the stored one.
    answer = oms_api.put(f"patients/{wang['id']}", {**shown, "id_card": "1101**********002X"}, token=clerk)
    assert answer.status_code == 422
    assert field_errors(answer) == {"id_card": "masked_value"}
    assert oms_api.rows("patients")[0]["birth_date"] == date(1990, 3, 7)


def test_every_write_leaves_an_audit_row(oms_api: OmsApi) -> None:
    wang = oms_api.create("patients", WANG)
    path = f"patients/{wang['id']}"
    assert oms_api.put(path, {**WANG, "address": "广州"}).status_code == 200
    assert oms_api.post(f"{path}/disable").status_code == 200
    assert oms_api.post(f"{path}/enable").status_code == 200
    assert oms_api.delete(path).status_code == 204
    rows = oms_api.audit_rows()
    assert [(r["action"], r["entity"], r["entity_id"]) for r in rows] == [
        (action, "patient", str(wang["id"])) for action in ("create", "update", "disable", "enable", "delete")
    ]
    assert rows[1]["before"]["address"] == "深圳市福田区" and rows[1]["after"]["address"] == "广州"
    assert all(r["actor"] == "tester" for r in rows)

    # The operation log masks personal fields for readers without pii:read.
    auditor = oms_api.token("oms:audit:read")
    entries = oms_api.get("audit-log", params={"entity": "patient"}, token=auditor).json()["items"]
    created = next(e for e in entries if e["action"] == "create")
    assert created["after"]["id_card"] == "4403**********123X"
    assert created["after"]["phone"] == "138****5678"


def test_permissions_are_enforced(oms_api: OmsApi) -> None:
    wang = oms_api.create("patients", WANG)
    reader = oms_api.token("oms:patient:read")
    assert oms_api.post("patients", LI, token=reader).status_code == 403
    assert oms_api.put(f"patients/{wang['id']}", WANG, token=reader).status_code == 403
    assert oms_api.delete(f"patients/{wang['id']}", token=reader).status_code == 403
    nobody = oms_api.token("oms:visit:read")
    assert oms_api.get("patients", token=nobody).status_code == 403
    assert oms_api.get(f"patients/{wang['id']}", token=nobody).status_code == 403
    assert oms_api.get("patients", token=None).status_code == 401
    assert oms_api.count("patients") == 1
    assert oms_api.post("patients", LI, token=oms_api.token("oms:patient:write")).status_code == 201
