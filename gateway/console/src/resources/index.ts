import { otherResources } from './oms'
import type { FieldDef, MessageKey, ResourceConfig } from './types'

// The 13 master-data resources of docs/master-data.md. Each drives the generic
// ResourcePage: its form fields, its table columns and its search box. Every text is an i18n
// key of src/i18n/resources.*.ts.

const code = (label = 'res.common.code', maxLength = 20): FieldDef => ({ name: 'code', label, type: 'text', required: true, maxLength })
const name = (label = 'res.common.name', maxLength = 50): FieldDef => ({ name: 'name', label, type: 'text', required: true, maxLength })
const description = (label = 'res.common.description'): FieldDef => ({
  name: 'description',
  label,
  type: 'textarea',
  maxLength: 500,
})
const phone = (format: 'phone' | 'mobile' = 'phone', label = 'res.common.phone'): FieldDef => ({
  name: 'phone',
  label,
  type: 'text',
  format,
  maxLength: 20,
})
const ref = (fieldName: string, label: MessageKey, refPath: string, required = true): FieldDef => ({
  name: fieldName,
  label,
  type: 'ref',
  ref: refPath,
  required,
})

/** A resource that is only a name and a description (origins, drug types, units, …). */
function simple(path: string, key: string, label: MessageKey, itemName: MessageKey, icon: string): ResourceConfig {
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
    searchPlaceholder: 'res.common.searchName',
  }
}

export const resources: ResourceConfig[] = [
  {
    path: 'departments',
    itemName: 'res.departments.item',
    key: 'department',
    label: 'res.departments.label',
    description: 'res.departments.description',
    icon: 'OfficeBuilding',
    fields: [
      code('res.departments.f.code'),
      name('res.departments.f.name'),
      {
        name: 'kind',
        label: 'res.departments.f.kind',
        type: 'enum',
        required: true,
        options: [
          { value: 'outpatient', label: 'res.departments.o.kind.outpatient' },
          { value: 'inpatient', label: 'res.departments.o.kind.inpatient' },
          { value: 'medical_tech', label: 'res.departments.o.kind.medicalTech' },
          { value: 'administrative', label: 'res.departments.o.kind.administrative' },
        ],
      },
      phone('phone'),
      { name: 'location', label: 'res.departments.f.location', type: 'text', maxLength: 100 },
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
    searchPlaceholder: 'res.departments.search',
  },
  {
    path: 'registration-types',
    itemName: 'res.registrationTypes.item',
    key: 'registration_type',
    label: 'res.registrationTypes.label',
    description: 'res.registrationTypes.description',
    icon: 'Tickets',
    fields: [
      name('res.registrationTypes.f.name'),
      { name: 'fee', label: 'res.registrationTypes.f.fee', type: 'money', required: true, min: 0 },
      description(),
    ],
    columns: [
      { field: 'name', sortable: true, minWidth: 160 },
      { field: 'fee', sortable: true, width: 140 },
      { field: 'description', minWidth: 220 },
      { field: 'updated_at', sortable: true, width: 150 },
    ],
    searchPlaceholder: 'res.registrationTypes.search',
  },
  {
    path: 'doctors',
    itemName: 'res.doctors.item',
    key: 'doctor',
    label: 'res.doctors.label',
    description: 'res.doctors.description',
    icon: 'Avatar',
    fields: [
      code('res.doctors.f.code'),
      name('res.doctors.f.name'),
      {
        name: 'sex',
        label: 'res.doctors.f.sex',
        type: 'enum',
        required: true,
        options: [
          { value: 'male', label: 'res.doctors.o.sex.male' },
          { value: 'female', label: 'res.doctors.o.sex.female' },
        ],
      },
      {
        name: 'title',
        label: 'res.doctors.f.title',
        type: 'enum',
        required: true,
        options: [
          { value: 'chief', label: 'res.doctors.o.title.chief' },
          { value: 'associate_chief', label: 'res.doctors.o.title.associateChief' },
          { value: 'attending', label: 'res.doctors.o.title.attending' },
          { value: 'resident', label: 'res.doctors.o.title.resident' },
        ],
      },
      ref('department_id', 'res.doctors.f.departmentId', 'departments'),
      ref('registration_type_id', 'res.doctors.f.registrationTypeId', 'registration-types'),
      phone('mobile', 'res.doctors.f.phone'),
      // 出诊时间 (the legacy system's): registration for a shift closes when it ends.
      { name: 'am_start', label: 'res.doctors.f.amStart', type: 'time', required: true, default: '08:00' },
      { name: 'am_end', label: 'res.doctors.f.amEnd', type: 'time', required: true, default: '12:00' },
      { name: 'pm_start', label: 'res.doctors.f.pmStart', type: 'time', required: true, default: '14:00' },
      { name: 'pm_end', label: 'res.doctors.f.pmEnd', type: 'time', required: true, default: '18:00' },
      { name: 'introduction', label: 'res.doctors.f.introduction', type: 'textarea', maxLength: 1000 },
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
    searchPlaceholder: 'res.doctors.search',
  },
  simple('drug-origins', 'drug_origin', 'res.drugOrigins.label', 'res.drugOrigins.item', 'Location'),
  simple('drug-types', 'drug_type', 'res.drugTypes.label', 'res.drugTypes.item', 'CollectionTag'),
  simple('units', 'unit', 'res.units.label', 'res.units.item', 'Odometer'),
  {
    path: 'drugs',
    itemName: 'res.drugs.item',
    key: 'drug',
    label: 'res.drugs.label',
    description: 'res.drugs.description',
    icon: 'FirstAidKit',
    fields: [
      code('res.drugs.f.code', 30),
      name('res.drugs.f.name', 100),
      { name: 'spec', label: 'res.drugs.f.spec', type: 'text', maxLength: 100 },
      ref('type_id', 'res.drugs.f.typeId', 'drug-types'),
      ref('origin_id', 'res.drugs.f.originId', 'drug-origins'),
      ref('unit_id', 'res.drugs.f.unitId', 'units'),
      { name: 'price', label: 'res.drugs.f.price', type: 'money', required: true, min: 0, minExclusive: true },
      {
        name: 'low_stock_threshold',
        label: 'res.drugs.f.lowStockThreshold',
        type: 'int',
        min: 0,
        default: 30,
        hint: 'res.drugs.hint.lowStockThreshold',
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
    searchPlaceholder: 'res.drugs.search',
  },
  simple('item-categories', 'item_category', 'res.itemCategories.label', 'res.itemCategories.item', 'Files'),
  {
    path: 'charge-items',
    itemName: 'res.chargeItems.item',
    key: 'charge_item',
    label: 'res.chargeItems.label',
    description: 'res.chargeItems.description',
    icon: 'PriceTag',
    fields: [
      code('res.chargeItems.f.code', 30),
      name('res.chargeItems.f.name', 100),
      ref('category_id', 'res.chargeItems.f.categoryId', 'item-categories'),
      ref('unit_id', 'res.chargeItems.f.unitId', 'units'),
      { name: 'price', label: 'res.chargeItems.f.price', type: 'money', required: true, min: 0 },
      {
        name: 'scope',
        label: 'res.chargeItems.f.scope',
        type: 'enum',
        required: true,
        options: [
          { value: 'outpatient', label: 'res.chargeItems.o.scope.outpatient' },
          { value: 'inpatient', label: 'res.chargeItems.o.scope.inpatient' },
          { value: 'both', label: 'res.chargeItems.o.scope.both' },
        ],
      },
      { name: 'needs_exam', label: 'res.chargeItems.f.needsExam', type: 'bool', default: false },
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
    searchPlaceholder: 'res.chargeItems.search',
  },
  {
    path: 'charge-types',
    itemName: 'res.chargeTypes.item',
    key: 'charge_type',
    label: 'res.chargeTypes.label',
    description: 'res.chargeTypes.description',
    icon: 'Wallet',
    fields: [
      name('res.chargeTypes.f.name'),
      {
        name: 'reimbursement_ratio',
        label: 'res.chargeTypes.f.reimbursementRatio',
        type: 'ratio',
        required: true,
        min: 0,
        max: 1,
        hint: 'res.chargeTypes.hint.reimbursementRatio',
      },
      description(),
    ],
    columns: [
      { field: 'name', sortable: true, minWidth: 160 },
      { field: 'reimbursement_ratio', sortable: true, width: 140 },
      { field: 'description', minWidth: 220 },
      { field: 'updated_at', sortable: true, width: 150 },
    ],
    searchPlaceholder: 'res.chargeTypes.search',
  },
  {
    path: 'warehouses',
    itemName: 'res.warehouses.item',
    key: 'warehouse',
    label: 'res.warehouses.label',
    icon: 'Box',
    fields: [
      name('res.warehouses.f.name'),
      { name: 'location', label: 'res.warehouses.f.location', type: 'text', maxLength: 100 },
      description(),
    ],
    columns: [
      { field: 'name', sortable: true, minWidth: 160 },
      { field: 'location', minWidth: 180 },
      { field: 'description', minWidth: 200 },
      { field: 'updated_at', sortable: true, width: 150 },
    ],
    searchPlaceholder: 'res.warehouses.search',
  },
  {
    path: 'handlers',
    itemName: 'res.handlers.item',
    key: 'handler',
    label: 'res.handlers.label',
    description: 'res.handlers.description',
    icon: 'Stamp',
    fields: [
      name('res.handlers.f.name'),
      phone('mobile', 'res.handlers.f.phone'),
      ref('department_id', 'res.handlers.f.departmentId', 'departments', false),
    ],
    columns: [
      { field: 'name', sortable: true, minWidth: 140 },
      { field: 'phone', width: 150 },
      { field: 'department_id', minWidth: 150 },
      { field: 'updated_at', sortable: true, width: 150 },
    ],
    searchPlaceholder: 'res.handlers.search',
  },
  {
    path: 'suppliers',
    itemName: 'res.suppliers.item',
    key: 'supplier',
    label: 'res.suppliers.label',
    icon: 'Van',
    fields: [
      name('res.suppliers.f.name', 100),
      { name: 'contact', label: 'res.suppliers.f.contact', type: 'text', maxLength: 50 },
      phone('phone', 'res.suppliers.f.phone'),
      { name: 'address', label: 'res.suppliers.f.address', type: 'text', maxLength: 200, wide: true },
      description(),
    ],
    columns: [
      { field: 'name', sortable: true, minWidth: 180 },
      { field: 'contact', width: 110 },
      { field: 'phone', width: 150 },
      { field: 'address', minWidth: 200 },
      { field: 'updated_at', sortable: true, width: 150 },
    ],
    searchPlaceholder: 'res.suppliers.search',
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
