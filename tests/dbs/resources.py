"""The 13 dbs resources as data: how to make a valid record of each, and what each must refuse.

`build(api, tag)` returns a valid create payload whose unique values all derive from `tag`
(so two tags never collide), creating whatever the record references first.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tests.dbs.conftest import Api

Payload = dict[str, Any]


def mobile(tag: str) -> str:
    """A valid mainland mobile number, different for every tag (deterministic)."""
    return f"139{int.from_bytes(tag.encode(), 'big') % 10**8:08d}"


def _named(name: str) -> Callable[[Api, str], Payload]:
    return lambda api, tag: {"name": f"{name}{tag}", "description": f"{name}说明"}


def department(api: Api, tag: str) -> Payload:
    return {
        "code": f"K{tag.upper()}",
        "name": f"内科{tag}",
        "kind": "outpatient",
        "phone": "010-62001234",
        "location": "门诊楼二层",
        "description": "常见病与多发病",
    }


def registration_type(api: Api, tag: str) -> Payload:
    return {"name": f"普通号{tag}", "fee": "12.5", "description": "普通门诊"}


def doctor(api: Api, tag: str) -> Payload:
    dept = api.create("departments", department(api, f"{tag}d"))
    reg = api.create("registration-types", registration_type(api, f"{tag}r"))
    return {
        "code": f"D{tag.upper()}",
        "name": f"王医生{tag}",
        "sex": "male",
        "title": "attending",
        "department_id": dept["id"],
        "registration_type_id": reg["id"],
        "phone": mobile(tag),
        "introduction": "擅长心血管疾病",
    }


def drug(api: Api, tag: str) -> Payload:
    kind = api.create("drug-types", {"name": f"西药{tag}"})
    origin = api.create("drug-origins", {"name": f"华北制药{tag}"})
    unit = api.create("units", {"name": f"盒{tag}"})
    return {
        "code": f"YP{tag.upper()}",
        "name": f"阿莫西林胶囊{tag}",
        "spec": f"0.25g×24粒{tag}",
        "type_id": kind["id"],
        "origin_id": origin["id"],
        "unit_id": unit["id"],
        "price": "18.5",
        "low_stock_threshold": 50,
    }


def charge_item(api: Api, tag: str) -> Payload:
    category = api.create("item-categories", {"name": f"检验费{tag}"})
    unit = api.create("units", {"name": f"项{tag}"})
    return {
        "code": f"XM{tag.upper()}",
        "name": f"血常规{tag}",
        "category_id": category["id"],
        "unit_id": unit["id"],
        "price": "25",
        "scope": "both",
        "needs_exam": True,
    }


def charge_type(api: Api, tag: str) -> Payload:
    return {"name": f"城镇职工医保{tag}", "reimbursement_ratio": "0.7", "description": "统筹支付"}


def warehouse(api: Api, tag: str) -> Payload:
    return {"name": f"西药库{tag}", "location": "后勤楼一层", "description": "常温库"}


def handler(api: Api, tag: str) -> Payload:
    dept = api.create("departments", department(api, f"{tag}h"))
    return {"name": f"刘强{tag}", "phone": mobile(tag), "department_id": dept["id"]}


def supplier(api: Api, tag: str) -> Payload:
    return {
        "name": f"国药控股{tag}",
        "contact": "周经理",
        "phone": "010-65001234",
        "address": "北京市",
        "description": "药品配送",
    }


@dataclass(frozen=True)
class Kind:
    path: str
    key: str  # permission and audit key
    table: str
    build: Callable[[Api, str], Payload]
    edit: Payload  # what a PUT changes (merged over a valid payload)
    required: tuple[str, ...]
    unique: tuple[tuple[str, ...], ...]
    max_lengths: dict[str, int]
    references: dict[str, str] = field(default_factory=dict)  # field -> path of the referenced resource
    decimals: tuple[str, ...] = ()  # money and ratios: answered as two-decimal strings
    bad: tuple[tuple[str, Any], ...] = ()  # (field, value) pairs that must be refused with 422

    def __str__(self) -> str:
        return self.path

    def expected(self, payload: Payload) -> Payload:
        """What the answer must echo for `payload`."""
        return {k: f"{Decimal(str(v)):.2f}" if k in self.decimals and v is not None else v for k, v in payload.items()}

    def ref_fields(self) -> dict[str, str]:
        return {f: f.removesuffix("_id") + "_name" for f in self.references}


NAMED_MAX = {"name": 50, "description": 500}
NAMED_BAD = (("name", 123), ("description", ["x"]))

KINDS = [
    Kind(
        "departments",
        "department",
        "departments",
        department,
        edit={"name": "心内科", "kind": "inpatient", "phone": "13800138000", "location": "住院楼六层"},
        required=("code", "name", "kind"),
        unique=(("code",), ("name",)),
        max_lengths={"code": 20, "name": 50, "location": 100, "description": 500},
        bad=(
            ("kind", "clinic"),
            ("kind", 1),
            ("phone", "12345"),
            ("phone", "12800138000"),
            ("name", 123),
            ("code", None),
        ),
    ),
    Kind(
        "registration-types",
        "registration_type",
        "registration_types",
        registration_type,
        edit={"fee": "30", "description": "专家门诊"},
        required=("name", "fee"),
        unique=(("name",),),
        max_lengths=NAMED_MAX,
        decimals=("fee",),
        bad=(
            ("fee", "-0.01"),
            ("fee", "10.005"),
            ("fee", "abc"),
            ("fee", [1]),
            ("fee", "10000000000"),
            ("name", 123),
        ),
    ),
    Kind(
        "doctors",
        "doctor",
        "doctors",
        doctor,
        edit={"name": "王主任", "title": "chief", "sex": "female", "phone": None, "introduction": None},
        required=("code", "name", "sex", "title", "department_id", "registration_type_id"),
        unique=(("code",),),
        max_lengths={"code": 20, "name": 50, "introduction": 1000},
        references={"department_id": "departments", "registration_type_id": "registration-types"},
        bad=(
            ("sex", "unknown"),
            ("title", "professor"),
            ("phone", "010-62001234"),
            ("phone", "12345678901"),
            ("department_id", "abc"),
            ("department_id", 0),
            ("registration_type_id", -3),
        ),
    ),
    Kind(
        "drug-origins",
        "drug_origin",
        "drug_origins",
        _named("华北制药"),
        edit={"name": "哈药集团"},
        required=("name",),
        unique=(("name",),),
        max_lengths=NAMED_MAX,
        bad=NAMED_BAD,
    ),
    Kind(
        "drug-types",
        "drug_type",
        "drug_types",
        _named("西药"),
        edit={"name": "中成药"},
        required=("name",),
        unique=(("name",),),
        max_lengths=NAMED_MAX,
        bad=NAMED_BAD,
    ),
    Kind(
        "units",
        "unit",
        "units",
        _named("盒"),
        edit={"name": "瓶", "description": None},
        required=("name",),
        unique=(("name",),),
        max_lengths=NAMED_MAX,
        bad=NAMED_BAD,
    ),
    Kind(
        "drugs",
        "drug",
        "drugs",
        drug,
        edit={"name": "头孢克肟片", "spec": "0.1g×6片", "price": "26.8", "low_stock_threshold": 0},
        required=("code", "name", "type_id", "origin_id", "unit_id", "price"),
        unique=(("code",), ("name", "spec", "origin_id")),
        max_lengths={"code": 30, "name": 100, "spec": 100},
        references={"type_id": "drug-types", "origin_id": "drug-origins", "unit_id": "units"},
        decimals=("price",),
        bad=(
            ("price", "0"),
            ("price", "1.999"),
            ("price", 1.999),
            ("price", "12345678901.00"),
            ("low_stock_threshold", -1),
            ("low_stock_threshold", "many"),
            ("unit_id", "abc"),
        ),
    ),
    Kind(
        "item-categories",
        "item_category",
        "item_categories",
        _named("检验费"),
        edit={"name": "检查费"},
        required=("name",),
        unique=(("name",),),
        max_lengths=NAMED_MAX,
        bad=NAMED_BAD,
    ),
    Kind(
        "charge-items",
        "charge_item",
        "charge_items",
        charge_item,
        edit={"name": "尿常规", "price": "0", "scope": "inpatient", "needs_exam": False},
        required=("code", "name", "category_id", "unit_id", "price", "scope"),
        unique=(("code",), ("name", "scope")),
        max_lengths={"code": 30, "name": 100},
        references={"category_id": "item-categories", "unit_id": "units"},
        decimals=("price",),
        bad=(("scope", "all"), ("price", "-0.5"), ("price", "3.141"), ("needs_exam", "maybe"), ("category_id", "x")),
    ),
    Kind(
        "charge-types",
        "charge_type",
        "charge_types",
        charge_type,
        edit={"reimbursement_ratio": "1", "description": None},
        required=("name", "reimbursement_ratio"),
        unique=(("name",),),
        max_lengths=NAMED_MAX,
        decimals=("reimbursement_ratio",),
        bad=(
            ("reimbursement_ratio", "1.01"),
            ("reimbursement_ratio", "-0.1"),
            ("reimbursement_ratio", "0.555"),
            ("reimbursement_ratio", "seventy"),
        ),
    ),
    Kind(
        "warehouses",
        "warehouse",
        "warehouses",
        warehouse,
        edit={"name": "中药库", "location": "后勤楼二层"},
        required=("name",),
        unique=(("name",),),
        max_lengths={"name": 50, "location": 100, "description": 500},
        bad=NAMED_BAD,
    ),
    Kind(
        "handlers",
        "handler",
        "handlers",
        handler,
        edit={"name": "马丽", "phone": "13902020002", "department_id": None},
        required=("name",),
        unique=(("name", "phone"),),
        max_lengths={"name": 50},
        references={"department_id": "departments"},
        bad=(("phone", "010-62001234"), ("phone", "2345"), ("department_id", "abc"), ("name", 5)),
    ),
    Kind(
        "suppliers",
        "supplier",
        "suppliers",
        supplier,
        edit={"name": "九州通医药集团", "phone": "13812345678", "contact": None},
        required=("name",),
        unique=(("name",),),
        max_lengths={"name": 100, "contact": 50, "address": 200, "description": 500},
        bad=(("phone", "abc"), ("phone", "123-4567"), ("name", True)),
    ),
]

BY_PATH = {k.path: k for k in KINDS}

# (referenced resource, resource that references it, field)
REFERENCES = [(target, kind.path, ref_field) for kind in KINDS for ref_field, target in kind.references.items()]
