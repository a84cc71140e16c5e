import { otherResources } from './oms'
import type { FieldDef, Localized, ResourceConfig } from './types'

// The 13 master-data resources of docs/master-data.md. Each drives the generic
// ResourceView: its form fields, its table columns and its search box.

const L = (zh: string, en: string): Localized => ({ zh, en })

const code = (label = L('编码', 'Code'), maxLength = 20): FieldDef => ({ name: 'code', label, type: 'text', required: true, maxLength })
const name = (label = L('名称', 'Name'), maxLength = 50): FieldDef => ({ name: 'name', label, type: 'text', required: true, maxLength })
const description = (label = L('描述', 'Description')): FieldDef => ({
  name: 'description',
  label,
  type: 'textarea',
  maxLength: 500,
})
const phone = (format: 'phone' | 'mobile' = 'phone', label = L('电话', 'Phone')): FieldDef => ({
  name: 'phone',
  label,
  type: 'text',
  format,
  maxLength: 20,
})
const ref = (fieldName: string, label: Localized, refPath: string, required = true): FieldDef => ({
  name: fieldName,
  label,
  type: 'ref',
  ref: refPath,
  required,
})

/** A resource that is only a name and a description (origins, drug types, units, …). */
function simple(path: string, key: string, label: Localized, itemName: Localized, icon: string): ResourceConfig {
  return {
    path,
    key,
    label,
    itemName,
    icon,
    fields: [name(), description()],
    columns: [
      { field: 'name', sortable: true, minWidth: 160 },
      { field: 'description', minWidth: 240 },
      { field: 'updated_at', sortable: true, width: 150 },
    ],
    searchPlaceholder: L('搜索名称', 'Search by name'),
  }
}

export const resources: ResourceConfig[] = [
  {
    path: 'departments',
    itemName: L('科室', 'department'),
    key: 'department',
    label: L('科室', 'Departments'),
    description: L('医院的门诊、住院、医技与行政科室', 'Outpatient, inpatient, medical-technology and administrative departments'),
    icon: 'OfficeBuilding',
    fields: [
      code(L('科室编码', 'Code')),
      name(L('科室名称', 'Name')),
      {
        name: 'kind',
        label: L('科室类别', 'Kind'),
        type: 'enum',
        required: true,
        options: [
          { value: 'outpatient', label: L('门诊', 'Outpatient') },
          { value: 'inpatient', label: L('住院', 'Inpatient') },
          { value: 'medical_tech', label: L('医技', 'Medical technology') },
          { value: 'administrative', label: L('行政', 'Administrative') },
        ],
      },
      phone('phone'),
      { name: 'location', label: L('位置', 'Location'), type: 'text', maxLength: 100 },
      description(),
    ],
    columns: [
      { field: 'code', sortable: true, width: 120 },
      { field: 'name', sortable: true, minWidth: 140 },
      { field: 'kind', width: 130 },
      { field: 'phone', width: 140 },
      { field: 'location', minWidth: 120 },
      { field: 'updated_at', sortable: true, width: 150 },
    ],
    searchPlaceholder: L('搜索科室编码、名称', 'Search by code or name'),
  },
  {
    path: 'registration-types',
    itemName: L('挂号类型', 'registration type'),
    key: 'registration_type',
    label: L('挂号类型', 'Registration types'),
    description: L('挂号类别及其挂号费', 'Kinds of registration and their fees'),
    icon: 'Tickets',
    fields: [
      name(L('类型名称', 'Name')),
      { name: 'fee', label: L('挂号费（元）', 'Fee (CNY)'), type: 'money', required: true, min: 0 },
      description(),
    ],
    columns: [
      { field: 'name', sortable: true, minWidth: 160 },
      { field: 'fee', sortable: true, width: 140 },
      { field: 'description', minWidth: 220 },
      { field: 'updated_at', sortable: true, width: 150 },
    ],
    searchPlaceholder: L('搜索类型名称', 'Search by name'),
  },
  {
    path: 'doctors',
    itemName: L('医生', 'doctor'),
    key: 'doctor',
    label: L('医生', 'Doctors'),
    description: L('医生档案：工号、职称、所属科室与挂号类型', 'Doctors with staff number, title, department and registration type'),
    icon: 'Avatar',
    fields: [
      code(L('工号', 'Staff no.')),
      name(L('姓名', 'Name')),
      {
        name: 'sex',
        label: L('性别', 'Sex'),
        type: 'enum',
        required: true,
        options: [
          { value: 'male', label: L('男', 'Male') },
          { value: 'female', label: L('女', 'Female') },
        ],
      },
      {
        name: 'title',
        label: L('职称', 'Title'),
        type: 'enum',
        required: true,
        options: [
          { value: 'chief', label: L('主任医师', 'Chief physician') },
          { value: 'associate_chief', label: L('副主任医师', 'Associate chief physician') },
          { value: 'attending', label: L('主治医师', 'Attending physician') },
          { value: 'resident', label: L('住院医师', 'Resident physician') },
        ],
      },
      ref('department_id', L('所属科室', 'Department'), 'departments'),
      ref('registration_type_id', L('挂号类型', 'Registration type'), 'registration-types'),
      phone('mobile', L('手机号', 'Mobile')),
      // 出诊时间 (the legacy system's): registration for a shift closes when it ends.
      { name: 'am_start', label: L('上午开始', 'Morning starts'), type: 'time', required: true, default: '08:00' },
      { name: 'am_end', label: L('上午结束', 'Morning ends'), type: 'time', required: true, default: '12:00' },
      { name: 'pm_start', label: L('下午开始', 'Afternoon starts'), type: 'time', required: true, default: '14:00' },
      { name: 'pm_end', label: L('下午结束', 'Afternoon ends'), type: 'time', required: true, default: '18:00' },
      { name: 'introduction', label: L('简介', 'Introduction'), type: 'textarea', maxLength: 1000 },
    ],
    columns: [
      { field: 'code', sortable: true, width: 100 },
      { field: 'name', sortable: true, width: 100 },
      { field: 'sex', width: 70 },
      { field: 'title', width: 120 },
      { field: 'department_id', minWidth: 110 },
      { field: 'registration_type_id', minWidth: 110 },
      { field: 'phone', width: 130 },
    ],
    searchPlaceholder: L('搜索工号、姓名', 'Search by staff no. or name'),
  },
  simple('drug-origins', 'drug_origin', L('产地', 'Drug origins'), L('产地', 'drug origin'), 'Location'),
  simple('drug-types', 'drug_type', L('药品类型', 'Drug types'), L('药品类型', 'drug type'), 'CollectionTag'),
  simple('units', 'unit', L('计量单位', 'Units'), L('计量单位', 'unit'), 'Odometer'),
  {
    path: 'drugs',
    itemName: L('药品', 'drug'),
    key: 'drug',
    label: L('药品字典', 'Drug dictionary'),
    description: L('药品的规格、类型、产地、单位与零售价', 'Drugs with spec, type, origin, unit and retail price'),
    icon: 'FirstAidKit',
    fields: [
      code(L('药品编码', 'Code'), 30),
      name(L('药品名称', 'Name'), 100),
      { name: 'spec', label: L('规格', 'Spec'), type: 'text', maxLength: 100 },
      ref('type_id', L('药品类型', 'Drug type'), 'drug-types'),
      ref('origin_id', L('产地', 'Origin'), 'drug-origins'),
      ref('unit_id', L('计量单位', 'Unit'), 'units'),
      { name: 'price', label: L('零售价（元）', 'Retail price (CNY)'), type: 'money', required: true, min: 0, minExclusive: true },
      {
        name: 'low_stock_threshold',
        label: L('库存预警阈值', 'Low-stock threshold'),
        type: 'int',
        min: 0,
        default: 30,
        hint: L('库存低于此数量时提醒', 'Warn when stock falls below this quantity'),
      },
    ],
    columns: [
      { field: 'code', sortable: true, width: 120 },
      { field: 'name', sortable: true, minWidth: 150 },
      { field: 'spec', minWidth: 120 },
      { field: 'type_id', width: 110 },
      { field: 'origin_id', minWidth: 120 },
      { field: 'unit_id', width: 90 },
      { field: 'price', sortable: true, width: 120 },
      { field: 'low_stock_threshold', width: 130 },
    ],
    searchPlaceholder: L('搜索药品编码、名称', 'Search by code or name'),
  },
  simple('item-categories', 'item_category', L('项目大类', 'Item categories'), L('项目大类', 'item category'), 'Files'),
  {
    path: 'charge-items',
    itemName: L('收费项目', 'charge item'),
    key: 'charge_item',
    label: L('收费项目', 'Charge items'),
    description: L('门诊与住院的收费项目价目表', 'Outpatient and inpatient price list'),
    icon: 'PriceTag',
    fields: [
      code(L('项目编码', 'Code'), 30),
      name(L('项目名称', 'Name'), 100),
      ref('category_id', L('项目大类', 'Category'), 'item-categories'),
      ref('unit_id', L('计量单位', 'Unit'), 'units'),
      { name: 'price', label: L('单价（元）', 'Price (CNY)'), type: 'money', required: true, min: 0 },
      {
        name: 'scope',
        label: L('适用范围', 'Scope'),
        type: 'enum',
        required: true,
        options: [
          { value: 'outpatient', label: L('门诊', 'Outpatient') },
          { value: 'inpatient', label: L('住院', 'Inpatient') },
          { value: 'both', label: L('通用', 'Both') },
        ],
      },
      { name: 'needs_exam', label: L('需要检查', 'Needs examination'), type: 'bool', default: false },
    ],
    columns: [
      { field: 'code', sortable: true, width: 120 },
      { field: 'name', sortable: true, minWidth: 150 },
      { field: 'category_id', minWidth: 120 },
      { field: 'unit_id', width: 90 },
      { field: 'price', sortable: true, width: 120 },
      { field: 'scope', width: 100 },
      { field: 'needs_exam', width: 110 },
    ],
    searchPlaceholder: L('搜索项目编码、名称', 'Search by code or name'),
  },
  {
    path: 'charge-types',
    itemName: L('收费类型', 'charge type'),
    key: 'charge_type',
    label: L('收费类型', 'Charge types'),
    description: L('自费、医保等收费类型及报销比例', 'Self-pay and insurance types with their reimbursement ratio'),
    icon: 'Wallet',
    fields: [
      name(L('类型名称', 'Name')),
      {
        name: 'reimbursement_ratio',
        label: L('报销比例', 'Reimbursement ratio'),
        type: 'ratio',
        required: true,
        min: 0,
        max: 1,
        hint: L('0.00–1.00，例如 0.30 表示报销 30%', '0.00–1.00, e.g. 0.30 reimburses 30%'),
      },
      description(),
    ],
    columns: [
      { field: 'name', sortable: true, minWidth: 160 },
      { field: 'reimbursement_ratio', sortable: true, width: 140 },
      { field: 'description', minWidth: 220 },
      { field: 'updated_at', sortable: true, width: 150 },
    ],
    searchPlaceholder: L('搜索类型名称', 'Search by name'),
  },
  {
    path: 'warehouses',
    itemName: L('仓库', 'warehouse'),
    key: 'warehouse',
    label: L('仓库', 'Warehouses'),
    icon: 'Box',
    fields: [
      name(L('仓库名称', 'Name')),
      { name: 'location', label: L('位置', 'Location'), type: 'text', maxLength: 100 },
      description(),
    ],
    columns: [
      { field: 'name', sortable: true, minWidth: 160 },
      { field: 'location', minWidth: 180 },
      { field: 'description', minWidth: 200 },
      { field: 'updated_at', sortable: true, width: 150 },
    ],
    searchPlaceholder: L('搜索仓库名称', 'Search by name'),
  },
  {
    path: 'handlers',
    itemName: L('经办人', 'handler'),
    key: 'handler',
    label: L('经办人', 'Handlers'),
    description: L('办理出入库等业务的经办人', 'People who handle inbound and outbound orders'),
    icon: 'Stamp',
    fields: [
      name(L('姓名', 'Name')),
      phone('mobile', L('手机号', 'Mobile')),
      ref('department_id', L('所属科室', 'Department'), 'departments', false),
    ],
    columns: [
      { field: 'name', sortable: true, minWidth: 140 },
      { field: 'phone', width: 150 },
      { field: 'department_id', minWidth: 150 },
      { field: 'updated_at', sortable: true, width: 150 },
    ],
    searchPlaceholder: L('搜索姓名、手机号', 'Search by name or mobile'),
  },
  {
    path: 'suppliers',
    itemName: L('供货商', 'supplier'),
    key: 'supplier',
    label: L('供货商', 'Suppliers'),
    icon: 'Van',
    fields: [
      name(L('供货商名称', 'Name'), 100),
      { name: 'contact', label: L('联系人', 'Contact'), type: 'text', maxLength: 50 },
      phone('phone', L('联系电话', 'Phone')),
      { name: 'address', label: L('地址', 'Address'), type: 'text', maxLength: 200, wide: true },
      description(),
    ],
    columns: [
      { field: 'name', sortable: true, minWidth: 180 },
      { field: 'contact', width: 110 },
      { field: 'phone', width: 150 },
      { field: 'address', minWidth: 200 },
      { field: 'updated_at', sortable: true, width: 150 },
    ],
    searchPlaceholder: L('搜索名称、联系人', 'Search by name or contact'),
  },
]

const byPath = new Map([...resources, ...otherResources].map((r) => [`${r.module ?? 'dbs'}/${r.path}`, r]))

export function findResource(path: string, module = 'dbs'): ResourceConfig | undefined {
  return byPath.get(`${module}/${path}`)
}

/** `department_id` → `department_name`: the read-only name the API answers beside a reference. */
export function refNameField(fieldName: string): string {
  return fieldName.replace(/_id$/, '') + '_name'
}

export const readPermission = (r: ResourceConfig) => `${r.module ?? 'dbs'}:${r.key}:read`
export const writePermission = (r: ResourceConfig) => `${r.module ?? 'dbs'}:${r.key}:write`
