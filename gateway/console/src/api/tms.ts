// tms — statistics (docs/statistics.md): the report catalogue, one report in the shape every report
// shares (columns, rows, total, summary, chart), its print view and export, and the feeds' lag.
import { http, type Query, withQuery } from './http'
import type { TmsSchema } from './schema'

/** The nine reports, in the menu's order (a manager's: outpatient, inpatient, then the stores and the tills). */
export const REPORT_KEYS = [
  'outpatient-today',
  'outpatient-monthly',
  'outpatient-yearly',
  'doctors',
  'inpatient-monthly',
  'inpatient-yearly',
  'pharmacy',
  'warehouse',
  'cashiers',
] as const
export type ReportKey = (typeof REPORT_KEYS)[number]

export type ColumnKind = 'text' | 'count' | 'money' | 'percent' | 'days'
export interface ReportColumn {
  key: string
  label: string
  kind: ColumnKind
}

/** A cell: text, a whole number (count, days), or a decimal string (money "12.50", percent "12.5"); null = nothing to show. */
export type Cell = string | number | null
export type ReportRow = Record<string, Cell>

/** A figure that is not per row (stock value now). */
export interface SummaryFigure {
  key: string
  label: string
  kind: ColumnKind
  value: Cell
}

export interface ReportChartSpec {
  type: 'line' | 'bar'
  /** The column along the x axis. */
  x: string
  /** The columns drawn, each a series named by its column's label. */
  series: string[]
}

/** The query parameters a report takes (those it does not take are ignored). */
export const FILTER_NAMES = ['date_from', 'date_to', 'day', 'year', 'department_id', 'doctor_id', 'method'] as const
export type FilterName = (typeof FILTER_NAMES)[number]
export type ReportFilters = Partial<Record<FilterName, string | number | null>>

export interface Report {
  key: string
  title: string
  /** The filters applied, the server's defaults included (what the page shows in its controls). */
  filters: ReportFilters
  /** The names of the department and doctor filtered by ({department_id: "内科"}). */
  filter_labels: Record<string, string>
  columns: ReportColumn[]
  rows: ReportRow[]
  total: ReportRow | null
  summary: SummaryFigure[]
  chart: ReportChartSpec
  /** The oldest last successful poll among the report's sources: how current it is. */
  as_of: string | null
}

// The report's cells are typed closer than tms's OpenAPI can say (`Cell`); this fails the type check
// if tms's answer gains, loses or renames a field.
type SameKeys<A, B> = [keyof A] extends [keyof B] ? ([keyof B] extends [keyof A] ? true : never) : never
export const reportShapeMatches: SameKeys<Report, TmsSchema<'ReportOut'>> = true

/** An entry of the catalogue: the report and the filters it takes. */
export interface ReportInfo {
  key: string
  title: string
  filters: FilterName[]
}

/** One source's feed as tms follows it (数据同步): cursor, head, changes behind, last poll, last failure in words. */
export type FeedState = TmsSchema<'FeedState'>

export type ExportFormat = 'xlsx' | 'csv'

const B = '/api/tms'

/** The filters as query parameters: empty ones left out. */
export function filterQuery(filters: ReportFilters): Query {
  const query: Query = {}
  for (const name of FILTER_NAMES) {
    const value = filters[name]
    if (value !== null && value !== undefined && value !== '') query[name] = value
  }
  return query
}

export const tmsApi = {
  catalogue: (signal?: AbortSignal) => http.get<unknown>(`${B}/reports`, undefined, { signal }),
  report: (key: string, filters: ReportFilters, signal?: AbortSignal, background = false) =>
    http.get<Report>(`${B}/reports/${encodeURIComponent(key)}`, filterQuery(filters), { signal, background }),
  pdfUrl: (key: string, filters: ReportFilters) => withQuery(`${B}/reports/${encodeURIComponent(key)}/pdf`, filterQuery(filters)),
  exportUrl: (key: string, format: ExportFormat, filters: ReportFilters) =>
    withQuery(`${B}/reports/${encodeURIComponent(key)}/export`, { format, ...filterQuery(filters) }),
  feeds: (background = false) => http.get<FeedState[]>(`${B}/feeds`, undefined, { background }),
}
