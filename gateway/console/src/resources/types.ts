/** A phrase in both console languages. */
export interface Localized {
  zh: string
  en: string
}

export type FieldType = 'text' | 'textarea' | 'money' | 'ratio' | 'int' | 'bool' | 'enum' | 'ref' | 'date' | 'time'

export interface EnumOption {
  value: string
  label: Localized
}

export interface FieldDef {
  /** The API field name (`department_id` for a reference). */
  name: string
  label: Localized
  type: FieldType
  required?: boolean
  /** Options of an `enum` field. */
  options?: EnumOption[]
  /** Referenced resource path (`departments`) of a `ref` field. */
  ref?: string
  /** Value a new record starts with. */
  default?: string | number | boolean | null
  /** Lower bound: `int`, `money` and `ratio`. */
  min?: number
  /** Whether `min` itself is excluded (money > 0). */
  minExclusive?: boolean
  /** Upper bound: `int` and `ratio`. */
  max?: number
  maxLength?: number
  /** Extra client check. */
  format?: 'phone' | 'mobile' | 'idcard'
  /** Help text shown under the input. */
  hint?: Localized
  /** Field takes the whole dialog row (textareas do by default). */
  wide?: boolean
}

export interface ColumnDef {
  /** A field name of the resource, or `created_at` / `updated_at`. */
  field: string
  sortable?: boolean
  width?: number
  minWidth?: number
}

export interface ResourceConfig {
  /** URL segment: `/api/<module>/<path>` and `/<module>/<path>`. */
  path: string
  /** Service of the resource; `dbs` (master data) when absent. 患者库 is `oms`. */
  module?: string
  /** Permission key: `<module>:<key>:read` / `<module>:<key>:write`. */
  key: string
  label: Localized
  description?: Localized
  /** Element Plus icon name for the menu. */
  icon: string
  fields: FieldDef[]
  columns: ColumnDef[]
  searchPlaceholder: Localized
  /** One record, for dialog titles ("新增科室", "New department"). */
  itemName: Localized
}

/** Any master-data record as the API answers it. */
export interface ResourceRecord {
  id: number
  enabled: boolean
  created_at: string
  updated_at: string
  [field: string]: unknown
}

export interface Page<T> {
  items: T[]
  total: number
  page: number
  size: number
}
