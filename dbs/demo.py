"""Demo master data for a small but plausible hospital, loaded into an empty dbs on first start."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from dbs.charges import service as charges
from dbs.db import audit_log, metadata
from dbs.drugs import service as drugs
from dbs.logistics import service as logistics
from dbs.organization import service as organization
from shared import crud
from shared.audit_chain import HEADS
from shared.crud import Resource

DEPARTMENTS = [
    ("NK", "内科", "outpatient", "门诊楼二层"),
    ("WK", "外科", "outpatient", "门诊楼三层"),
    ("EK", "儿科", "outpatient", "门诊楼一层东"),
    ("FCK", "妇产科", "outpatient", "门诊楼四层"),
    ("YK", "眼科", "outpatient", "门诊楼五层"),
    ("KQK", "口腔科", "outpatient", "门诊楼五层"),
    ("JZK", "急诊科", "outpatient", "急诊楼一层"),
    ("NKBQ", "内科病区", "inpatient", "住院楼六层"),
    ("WKBQ", "外科病区", "inpatient", "住院楼七层"),
    ("JYK", "检验科", "medical_tech", "医技楼一层"),
    ("FSK", "放射科", "medical_tech", "医技楼负一层"),
    ("YJK", "药剂科", "administrative", "门诊楼一层"),
]
REGISTRATION_TYPES = [("普通号", "10.00"), ("专家号", "30.00"), ("主任专家号", "50.00"), ("急诊号", "15.00")]
DOCTORS = [
    ("D001", "王建国", "male", "chief", "内科", "主任专家号", "13801010001"),
    ("D002", "李秀英", "female", "attending", "内科", "普通号", "13801010002"),
    ("D003", "张伟", "male", "associate_chief", "外科", "专家号", "13801010003"),
    ("D004", "刘洋", "male", "resident", "外科", "普通号", "13801010004"),
    ("D005", "陈静", "female", "attending", "儿科", "普通号", "13801010005"),
    ("D006", "杨帆", "male", "chief", "儿科", "主任专家号", "13801010006"),
    ("D007", "赵敏", "female", "associate_chief", "妇产科", "专家号", "13801010007"),
    ("D008", "黄磊", "male", "attending", "眼科", "普通号", "13801010008"),
    ("D009", "周娜", "female", "attending", "口腔科", "普通号", "13801010009"),
    ("D010", "吴强", "male", "attending", "急诊科", "急诊号", "13801010010"),
    ("D011", "孙丽", "female", "resident", "急诊科", "急诊号", "13801010011"),
    ("D012", "郑海", "male", "associate_chief", "内科", "专家号", "13801010012"),
]
# The legacy hospital's hours (morning 8–12, afternoon 14–18); the emergency room never closes.
LEGACY_HOURS = {"am_start": "08:00", "am_end": "12:00", "pm_start": "14:00", "pm_end": "18:00"}
HOURS = {"急诊科": {"am_start": "00:00", "am_end": "12:00", "pm_start": "12:00", "pm_end": "23:59"}}
ORIGINS = ["华北制药", "哈药集团", "扬子江药业", "北京同仁堂", "云南白药集团", "石药集团"]
DRUG_TYPES = ["西药", "中成药", "中草药", "生物制品"]
UNITS = ["盒", "瓶", "支", "片", "袋", "粒", "克", "次", "天", "项"]
DRUGS = [
    ("YP0001", "阿莫西林胶囊", "0.25g×24粒", "西药", "华北制药", "盒", "18.50"),
    ("YP0002", "头孢克肟片", "0.1g×6片", "西药", "石药集团", "盒", "26.80"),
    ("YP0003", "布洛芬缓释胶囊", "0.3g×20粒", "西药", "哈药集团", "盒", "15.20"),
    ("YP0004", "奥美拉唑肠溶胶囊", "20mg×14粒", "西药", "扬子江药业", "盒", "22.00"),
    ("YP0005", "硝苯地平缓释片", "20mg×30片", "西药", "石药集团", "盒", "19.90"),
    ("YP0006", "0.9%氯化钠注射液", "250ml", "西药", "石药集团", "瓶", "4.50"),
    ("YP0007", "六味地黄丸", "200丸", "中成药", "北京同仁堂", "瓶", "32.00"),
    ("YP0008", "板蓝根颗粒", "10g×20袋", "中成药", "扬子江药业", "盒", "16.00"),
    ("YP0009", "云南白药气雾剂", "85g+30g", "中成药", "云南白药集团", "瓶", "48.00"),
    ("YP0010", "黄芪", "饮片", "中草药", "北京同仁堂", "克", "0.12"),
    ("YP0011", "重组人胰岛素注射液", "3ml:300IU", "生物制品", "扬子江药业", "支", "58.00"),
    ("YP0012", "维生素C片", "0.1g×100片", "西药", "华北制药", "瓶", "3.50"),
]
CATEGORIES = ["诊查费", "检验费", "检查费", "治疗费", "手术费", "床位费", "护理费"]
CHARGE_ITEMS = [
    ("XM0001", "门诊诊查费", "诊查费", "次", "10.00", "outpatient", False),
    ("XM0002", "血常规", "检验费", "项", "25.00", "both", True),
    ("XM0003", "尿常规", "检验费", "项", "15.00", "both", True),
    ("XM0004", "肝功能", "检验费", "项", "60.00", "both", True),
    ("XM0005", "胸部DR", "检查费", "次", "90.00", "both", True),
    ("XM0006", "头颅CT", "检查费", "次", "280.00", "both", True),
    ("XM0007", "心电图", "检查费", "次", "30.00", "both", True),
    ("XM0008", "腹部B超", "检查费", "次", "120.00", "both", True),
    ("XM0009", "胃镜", "检查费", "次", "300.00", "outpatient", True),
    ("XM0010", "静脉输液", "治疗费", "次", "12.00", "both", False),
    ("XM0011", "清创缝合", "治疗费", "次", "80.00", "outpatient", False),
    ("XM0012", "阑尾切除术", "手术费", "次", "1500.00", "inpatient", False),
    ("XM0013", "普通病房床位费", "床位费", "天", "40.00", "inpatient", False),
    ("XM0014", "一级护理", "护理费", "天", "30.00", "inpatient", False),
]
CHARGE_TYPES = [
    ("自费", "0.00", "全部由患者自付"),
    ("城镇职工医保", "0.70", "统筹基金支付 70%"),
    ("城乡居民医保", "0.55", "统筹基金支付 55%"),
    ("军队人员", "1.00", "军队人员医疗费用全额保障"),
]
WAREHOUSES = [("西药库", "后勤楼一层"), ("中药库", "后勤楼二层"), ("医用耗材库", "后勤楼负一层")]
HANDLERS = [
    ("刘强", "13902020001", "药剂科"),
    ("马丽", "13902020002", "药剂科"),
    ("高峰", "13902020003", None),
]
SUPPLIERS = [
    ("国药控股股份有限公司", "周经理", "010-65001234", "北京市"),
    ("九州通医药集团", "吴经理", "027-84683001", "湖北省武汉市"),
    ("上海医药集团", "钱经理", "021-62801234", "上海市"),
]


async def _add(session: AsyncSession, resource: Resource, **values: object) -> int:
    record = await crud.create_record(session, resource, resource.create_schema.model_validate(values))
    return record.id


async def load(session: AsyncSession) -> bool:
    """Add the demo data if dbs is still empty; False (and nothing written) otherwise."""
    for table in metadata.sorted_tables:
        # Any master data at all (not only departments): the demo's names would collide with it.
        # The audit trail and its chain head are not master data (the head is written at start).
        if table.name in (audit_log.name, HEADS):
            continue
        if (await session.execute(select(table).limit(1))).first() is not None:
            return False
    dept = {
        name: await _add(session, organization.departments, code=code, name=name, kind=kind, location=loc)
        for code, name, kind, loc in DEPARTMENTS
    }
    reg = {
        name: await _add(session, organization.registration_types, name=name, fee=fee)
        for name, fee in REGISTRATION_TYPES
    }
    for code, name, sex, title, department, registration, phone in DOCTORS:
        await _add(
            session,
            organization.doctors,
            code=code,
            name=name,
            sex=sex,
            title=title,
            department_id=dept[department],
            registration_type_id=reg[registration],
            phone=phone,
            **HOURS.get(department, LEGACY_HOURS),
        )
    origin = {n: await _add(session, drugs.drug_origins, name=n) for n in ORIGINS}
    kind = {n: await _add(session, drugs.drug_types, name=n) for n in DRUG_TYPES}
    unit = {n: await _add(session, drugs.units, name=n) for n in UNITS}
    for code, name, spec, type_, origin_, unit_, price in DRUGS:
        await _add(
            session,
            drugs.drugs,
            code=code,
            name=name,
            spec=spec,
            type_id=kind[type_],
            origin_id=origin[origin_],
            unit_id=unit[unit_],
            price=price,
        )
    category = {n: await _add(session, charges.item_categories, name=n) for n in CATEGORIES}
    for code, name, category_, unit_, price, scope, exam in CHARGE_ITEMS:
        await _add(
            session,
            charges.charge_items,
            code=code,
            name=name,
            category_id=category[category_],
            unit_id=unit[unit_],
            price=price,
            scope=scope,
            needs_exam=exam,
        )
    for name, ratio, description in CHARGE_TYPES:
        await _add(session, charges.charge_types, name=name, reimbursement_ratio=ratio, description=description)
    for name, location in WAREHOUSES:
        await _add(session, logistics.warehouses, name=name, location=location)
    for name, phone, department in HANDLERS:
        await _add(
            session,
            organization.handlers,
            name=name,
            phone=phone,
            department_id=dept[department] if department else None,
        )
    for name, contact, phone, address in SUPPLIERS:
        await _add(session, logistics.suppliers, name=name, contact=contact, phone=phone, address=address)
    return True
