// What the statistics pages compute from a report (docs/statistics.md): the filters a report takes,
// its cells in words, and the ECharts option of its chart. Pure, so the spec can hold them to the contract.
import {
  type Cell,
  type ColumnKind,
  FILTER_NAMES,
  type FilterName,
  type Report,
  type ReportColumn,
  type ReportFilters,
  type ReportInfo,
  REPORT_KEYS,
  type ReportKey,
  type ReportRow,
} from '@/api/tms'

/** The i18n key of each report's title (menu, tab, breadcrumb). */
export const REPORT_TITLES: Record<ReportKey, string> = {
  'outpatient-today': 'statistics.report.outpatientToday',
  'outpatient-monthly': 'statistics.report.outpatientMonthly',
  'outpatient-yearly': 'statistics.report.outpatientYearly',
  doctors: 'statistics.report.doctors',
  'inpatient-monthly': 'statistics.report.inpatientMonthly',
  'inpatient-yearly': 'statistics.report.inpatientYearly',
  pharmacy: 'statistics.report.pharmacy',
  warehouse: 'statistics.report.warehouse',
  cashiers: 'statistics.report.cashiers',
}

/** The menu icon of each report (src/utils/icons.ts). */
export const REPORT_ICONS: Record<ReportKey, string> = {
  'outpatient-today': 'Odometer',
  'outpatient-monthly': 'TrendCharts',
  'outpatient-yearly': 'DataLine',
  doctors: 'Histogram',
  'inpatient-monthly': 'TrendCharts',
  'inpatient-yearly': 'DataLine',
  pharmacy: 'FirstAidKit',
  warehouse: 'Box',
  cashiers: 'Wallet',
}

const DATES: FilterName[] = ['date_from', 'date_to']

/** The filters of each report as docs/statistics.md lists them; the catalogue, when it answers, has the last word. */
export const REPORT_FILTERS: Record<ReportKey, FilterName[]> = {
  'outpatient-today': ['day', 'department_id', 'doctor_id', 'method'],
  'outpatient-monthly': [...DATES, 'department_id', 'doctor_id', 'method'],
  'outpatient-yearly': ['year', 'department_id', 'doctor_id', 'method'],
  doctors: [...DATES, 'department_id', 'method'],
  'inpatient-monthly': [...DATES, 'department_id'],
  'inpatient-yearly': ['year', 'department_id'],
  pharmacy: [...DATES],
  warehouse: [...DATES],
  cashiers: [...DATES, 'method'],
}

export function isReportKey(key: string): key is ReportKey {
  return (REPORT_KEYS as readonly string[]).includes(key)
}

// The catalogue may name a filter by its parameter (`department_id`) or by what it is (`department`, `dates`).
const FILTER_ALIASES: Record<string, FilterName[]> = {
  dates: DATES,
  date_range: DATES,
  department: ['department_id'],
  doctor: ['doctor_id'],
  payment_method: ['method'],
}

function filterNames(raw: unknown): FilterName[] {
  const names = Array.isArray(raw) ? raw : raw && typeof raw === 'object' ? Object.keys(raw) : []
  const out: FilterName[] = []
  for (const name of names) {
    const text = typeof name === 'string' ? name : name && typeof name === 'object' && 'key' in name ? String(name.key) : ''
    const mapped = FILTER_ALIASES[text] ?? ((FILTER_NAMES as readonly string[]).includes(text) ? [text as FilterName] : [])
    for (const m of mapped) if (!out.includes(m)) out.push(m)
  }
  return out
}

/** `GET /api/tms/reports` as a list of reports (a bare list, or a page's `items`); entries without a key are dropped. */
export function normalizeCatalogue(raw: unknown): ReportInfo[] {
  const list = Array.isArray(raw) ? raw : raw && typeof raw === 'object' && Array.isArray((raw as { items?: unknown }).items) ? (raw as { items: unknown[] }).items : []
  const out: ReportInfo[] = []
  for (const entry of list) {
    if (!entry || typeof entry !== 'object') continue
    const e = entry as { key?: unknown; title?: unknown; filters?: unknown }
    if (typeof e.key !== 'string') continue
    const known = isReportKey(e.key) ? REPORT_FILTERS[e.key] : []
    const filters = e.filters === undefined ? known : filterNames(e.filters)
    out.push({ key: e.key, title: typeof e.title === 'string' ? e.title : e.key, filters })
  }
  return out
}

/** The filters the page shows for a report: the catalogue's, else the documented ones. */
export function filtersOf(key: string, catalogue: readonly ReportInfo[]): FilterName[] {
  const entry = catalogue.find((r) => r.key === key)
  if (entry) return entry.filters
  return isReportKey(key) ? REPORT_FILTERS[key] : []
}

/** The filters of a report read from the page's URL (`?date_from=…&department_id=3`): a deep link. */
export function filtersFromQuery(query: Record<string, unknown>, take: readonly FilterName[]): ReportFilters {
  const out: ReportFilters = {}
  for (const name of take) {
    const raw = Array.isArray(query[name]) ? (query[name] as unknown[])[0] : query[name]
    if (typeof raw !== 'string' || raw === '') continue
    if (name === 'department_id' || name === 'doctor_id' || name === 'year') {
      if (/^\d+$/.test(raw)) out[name] = Number(raw)
    } else if (name === 'method') {
      out[name] = raw
    } else if (/^\d{4}-\d{2}-\d{2}$/.test(raw)) {
      out[name] = raw
    }
  }
  return out
}

/** The filters as the page's URL query (strings; empty ones left out). */
export function filtersToQuery(filters: ReportFilters): Record<string, string> {
  const out: Record<string, string> = {}
  for (const name of FILTER_NAMES) {
    const value = filters[name]
    if (value !== null && value !== undefined && value !== '') out[name] = String(value)
  }
  return out
}

/** `1234567.5` / `"1234567.50"` → `1,234,567.50` style grouping of the whole part, on the text (no float). */
export function groupDigits(text: string): string {
  const negative = text.startsWith('-')
  const body = negative ? text.slice(1) : text
  const [whole = '', fraction] = body.split('.')
  const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ',')
  return `${negative ? '-' : ''}${grouped}${fraction !== undefined ? `.${fraction}` : ''}`
}

/** Money as the server sends it, always two decimals, without going through a float. */
function twoDecimals(text: string): string {
  if (!/^-?\d+(\.\d+)?$/.test(text)) return text
  const negative = text.startsWith('-')
  const [whole = '0', fraction = ''] = (negative ? text.slice(1) : text).split('.')
  return `${negative ? '-' : ''}${whole}.${fraction.padEnd(2, '0').slice(0, 2)}`
}

/** A cell as the table and the cards show it: money `1,234.50`, percent `12.5%`, counts grouped, nothing as —. */
export function formatCell(value: Cell | undefined, kind: ColumnKind): string {
  if (value === null || value === undefined || value === '') return '—'
  const text = String(value)
  switch (kind) {
    case 'money':
      return groupDigits(twoDecimals(text))
    case 'percent':
      return `${text}%`
    case 'count':
    case 'days':
      return /^-?\d+$/.test(text) ? groupDigits(text) : text
    default:
      return text
  }
}

/** Right-aligned in the table: everything but text. */
export function isNumeric(kind: ColumnKind): boolean {
  return kind !== 'text'
}

export function columnOf(report: Pick<Report, 'columns'>, key: string): ReportColumn | undefined {
  return report.columns.find((c) => c.key === key)
}

/** The columns the chart draws, in the chart's order (a series naming no column is left out). */
export function seriesColumns(report: Pick<Report, 'columns' | 'chart'>): ReportColumn[] {
  return report.chart.series.map((key) => columnOf(report, key)).filter((c): c is ReportColumn => Boolean(c))
}

/** The names of the chart's series: their columns' labels (what the browser test reads). */
export function seriesNames(report: Pick<Report, 'columns' | 'chart'>): string[] {
  return seriesColumns(report).map((c) => c.label)
}

const COUNTED: ReadonlySet<ColumnKind> = new Set(['count', 'days'])

/** A number for the chart only (the table and the tooltip keep the server's exact text). */
function plotted(value: Cell | undefined): number | null {
  if (value === null || value === undefined || value === '') return null
  const n = Number(value)
  return Number.isFinite(n) ? n : null
}

export interface ChartTexts {
  /** The axis of money (¥). */
  moneyAxis: string
  /** The axis of counts (人次, 天). */
  countAxis: string
  /** The toolbox's 保存图片. */
  saveImage: string
  /** The PNG's name, without extension. */
  fileName: string
}

/**
 * The ECharts option of a report: lines for `line`, bars for `bar`, a series per column named by its
 * label; counts on a second y axis when money is drawn too (they differ by orders of magnitude).
 * The tooltip shows each value as the table does, from the server's text.
 */
export function chartOption(report: Pick<Report, 'columns' | 'rows' | 'chart'>, texts: ChartTexts) {
  const columns = seriesColumns(report)
  const xColumn = columnOf(report, report.chart.x)
  const categories = report.rows.map((row) => formatCell(row[report.chart.x], xColumn?.kind ?? 'text'))
  const twoAxes = columns.some((c) => COUNTED.has(c.kind)) && columns.some((c) => !COUNTED.has(c.kind))
  const axisOf = (c: ReportColumn) => (twoAxes && COUNTED.has(c.kind) ? 1 : 0)
  const allCounted = columns.length > 0 && columns.every((c) => COUNTED.has(c.kind))
  const yAxis = [
    { type: 'value' as const, name: allCounted ? texts.countAxis : texts.moneyAxis, minInterval: allCounted ? 1 : undefined },
    ...(twoAxes ? [{ type: 'value' as const, name: texts.countAxis, minInterval: 1, splitLine: { show: false } }] : []),
  ]
  const rows: ReportRow[] = report.rows
  return {
    animation: false,
    grid: { left: 56, right: twoAxes ? 56 : 24, top: 56, bottom: 40, containLabel: true },
    legend: { top: 8, data: columns.map((c) => c.label) },
    toolbox: {
      right: 8,
      feature: { saveAsImage: { title: texts.saveImage, name: texts.fileName, pixelRatio: 2, backgroundColor: '#fff' } },
    },
    tooltip: {
      trigger: 'axis' as const,
      formatter: (params: unknown) => {
        const list = (Array.isArray(params) ? params : [params]) as { dataIndex: number; seriesIndex: number; marker: string }[]
        const first = list[0]
        if (!first) return ''
        const lines = list.map((p) => {
          const column = columns[p.seriesIndex]
          return column ? `${p.marker}${escapeHtml(column.label)}：${escapeHtml(formatCell(rows[p.dataIndex]?.[column.key], column.kind))}` : ''
        })
        return [escapeHtml(categories[first.dataIndex] ?? ''), ...lines].join('<br/>')
      },
    },
    xAxis: { type: 'category' as const, data: categories, axisLabel: { interval: 0, rotate: categories.length > 12 ? 40 : 0 } },
    yAxis,
    series: columns.map((c) => ({
      name: c.label,
      type: report.chart.type,
      yAxisIndex: axisOf(c),
      data: rows.map((row) => plotted(row[c.key])),
      connectNulls: false,
      ...(report.chart.type === 'line' ? { smooth: false, symbolSize: 6 } : { barMaxWidth: 28 }),
    })),
  }
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`)
}

/** A file name for what leaves the page: `门诊月度统计_2026-01-01_2026-11-29`. */
export function reportFileName(report: Pick<Report, 'title' | 'filters'>): string {
  const f = report.filters
  const span = f.date_from || f.date_to ? [f.date_from, f.date_to].filter(Boolean).join('_') : (f.year ?? f.day ?? '')
  const name = span ? `${report.title}_${span}` : report.title
  return name.replace(/[\\/:*?"<>|\s]+/g, '_')
}
