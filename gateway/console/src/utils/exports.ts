// 导出: a list as XLSX or CSV through the gateway's GET /api/system/exports (docs/exports.md).
// usePagedList offers its list (the request of its last load and its el-table); the page's
// PageHeader shows ExportButton when the user may export that module's data.
import type { InjectionKey, Ref } from 'vue'

import type { Query, RecordedRequest } from '@/api/http'
import { withQuery } from '@/api/http'

export type ExportFormat = 'xlsx' | 'csv'

/** One column of the file: a field of the list's items (dotted path allowed) and its label. */
export interface ExportColumn {
  key: string
  label: string
  /** The text shown for each code, e.g. { cash: '现金' }. */
  values?: Record<string, string>
}

export interface ExportOptions {
  /** Texts for coded columns, by the column's key; a function so it follows the language. */
  values?: () => Record<string, Record<string, string>>
  /** The field a column's file cell is read from when not its own `prop` (an id shown by its name). */
  keys?: () => Record<string, string>
  /**
   * A column the screen draws from several fields (a ward and its bed, a date and its shift), by
   * its `prop`: the file columns it becomes, in order, in place of the one.
   */
  parts?: () => Record<string, ExportColumn[]>
  /** The template ref of the list's el-table (default `table`): a page with two lists names each. */
  table?: string
  /** Whether this list is the one the page shows now (a page of tabs); the first that is, is exported. */
  shown?: () => boolean
}

/** What of an el-table instance 导出 reads: its columns as Element Plus keeps them. */
export interface ExportTable {
  store?: { states?: { columns?: { value?: TableColumn[] } } }
}

interface TableColumn {
  property?: string
  label?: string
  type?: string
}

export interface ExportSource {
  request: Readonly<Ref<RecordedRequest | null>>
  table: Readonly<Ref<ExportTable | null>>
  options: ExportOptions
}

export const EXPORT_SOURCE: InjectionKey<ExportSource> = Symbol('hamp.export')

/** `/api/oms/visits` → `oms`; null for an address that is not a module's API. */
export function moduleOf(url: string): string | null {
  return /^\/api\/([a-z]+)\//.exec(url)?.[1] ?? null
}

export function exportPermission(module: string): string {
  return `${module}:data:export`
}

/**
 * The table's data columns as shown, in order: those with a field (`prop`) and a label; a column
 * of buttons or one drawn from several fields has no `prop` and is left out.
 */
export function tableColumns(table: ExportTable | null, options: ExportOptions = {}): ExportColumn[] {
  const columns = table?.store?.states?.columns?.value ?? []
  const values = options.values?.() ?? {}
  const keys = options.keys?.() ?? {}
  const parts = options.parts?.() ?? {}
  return columns
    .filter((c) => c.property && c.label && (!c.type || c.type === 'default'))
    .flatMap((c) => {
      const prop = c.property as string
      if (parts[prop]) return parts[prop]
      const key = keys[prop] ?? prop
      const label = c.label as string
      return [values[prop] ? { key, label, values: values[prop] } : { key, label }]
    })
}

const OWN = new Set(['page', 'size'])

/** The address of the export of `request` (its filters without paging) in `format`. */
export function exportUrl(request: RecordedRequest, format: ExportFormat, columns: ExportColumn[], title: string): string {
  const query: Query = {}
  for (const [key, value] of Object.entries(request.query)) {
    if (!OWN.has(key)) query[key] = value
  }
  const own: Query = { path: request.url, format, title, columns: columns.length ? JSON.stringify(columns) : undefined }
  return withQuery('/api/system/exports', { ...query, ...own })
}

/** `就诊记录_20261128.xlsx`: the name the gateway gives, for the browser's save. */
export function exportFilename(title: string, format: ExportFormat, today: string): string {
  return `${title}_${today.replaceAll('-', '')}.${format}`
}
