/**
 * A phrase in both languages as a service sends it (module names, the permission catalogue).
 * The console's own texts are never written this way: they are vue-i18n messages (src/i18n).
 */
export interface Localized {
  zh: string
  en: string
}

/** A key of the console's vue-i18n messages (`res.doctors.f.title`, src/i18n/resources.*.ts). */
export type MessageKey = string

export type FieldType = 'text' | 'textarea' | 'money' | 'ratio' | 'int' | 'bool' | 'enum' | 'ref' | 'date' | 'time'

export interface EnumOption {
  value: string
  label: MessageKey
}

export interface FieldDef {
  /** The API field name (`department_id` for a reference). */
  name: string
  label: MessageKey
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
  hint?: MessageKey
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
  label: MessageKey
  description?: MessageKey
  /** Element Plus icon name for the menu. */
  icon: string
  fields: FieldDef[]
  columns: ColumnDef[]
  searchPlaceholder: MessageKey
  /** One record, for dialog titles ("新增科室", "New department"). */
  itemName: MessageKey
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
