// What the pharmacy pages need beyond the warehouse's helpers (utils/warehouse.ts): which drug a
// refused 发药 was short of, a 报缺 prefilled from it, the checks of a 报缺's lines, and the recall
// list as CSV.
import { ApiError } from '@/api/http'
import type { DispensingLine, ShortageState, TraceRow } from '@/api/pms'
import type { PickedDrug } from '@/components/warehouse/DrugSelect.vue'
import { i18n } from '@/i18n'

import { integerProblem } from './validate'
import { formatHospitalTime } from './time'

/** A shortage request's line quantity (pms ShortageLineIn: 1–999 999). */
export const SHORTAGE_QUANTITY = { min: 1, max: 999_999 } as const

export interface Shortfall {
  line: DispensingLine
  /** How many are missing: the server's number when it gave one, else the line's quantity. */
  missing: number
}

/**
 * The drug a 409 `insufficient_stock` of 发药 is about. The server names the drug by the line's
 * name at the start of its message ("布洛芬缓释胶囊 库存不足：需要 3，缺 2") and the shortfall in the
 * `quantity` problem ("库存不足，缺 2" / "2 short"); the longest name that opens the message wins,
 * so 阿莫西林 does not claim a message about 阿莫西林胶囊. Null for any other error.
 */
export function shortfallOf(error: unknown, lines: DispensingLine[]): Shortfall | null {
  if (!(error instanceof ApiError) || error.code !== 'insufficient_stock') return null
  const detail = error.problem.detail ?? ''
  const line = lines
    .filter((l) => !l.cancelled && detail.startsWith(`${l.name} `))
    .sort((a, b) => b.name.length - a.name.length)[0]
  if (!line) return null
  const problem = error.fieldErrors.find((p) => p.field === 'quantity')
  const number = /\d+/.exec(problem?.message ?? '')
  const missing = number ? Number(number[0]) : line.quantity
  return { line, missing: missing >= 1 ? missing : line.quantity }
}

/** The 报缺 page's query that opens a new request for this drug and quantity. */
export function shortageQuery(line: Pick<DispensingLine, 'drug_id' | 'code' | 'name' | 'spec' | 'unit'>, quantity: number): Record<string, string> {
  return {
    drug_id: String(line.drug_id),
    code: line.code,
    name: line.name,
    spec: line.spec ?? '',
    unit: line.unit ?? '',
    quantity: String(quantity),
  }
}

export interface ShortagePrefill {
  drug: PickedDrug
  quantity: number | null
}

/** The drug a 报缺 link carries (shortageQuery), or null when the query names none. */
export function prefillFromQuery(query: Record<string, unknown>): ShortagePrefill | null {
  const text = (key: string): string => {
    const value = query[key]
    return typeof value === 'string' ? value : ''
  }
  const id = Number(text('drug_id'))
  if (!Number.isInteger(id) || id < 1 || !text('code') || !text('name')) return null
  const quantity = Number(text('quantity'))
  return {
    drug: { id, code: text('code'), name: text('name'), spec: text('spec'), unit: text('unit') },
    quantity: Number.isInteger(quantity) && quantity >= 1 ? quantity : null,
  }
}

export interface ShortageDraftLine {
  drug: PickedDrug | null
  quantity: number | null
  remark: string
}

export type ShortageLineProblems = Partial<Record<'drug_id' | 'quantity' | 'remark', string>>

/** What pms would refuse in a 报缺's lines, by row: a drug, 1–999 999, each drug once, remark ≤ 200. */
export function shortageLineProblems(lines: ShortageDraftLine[]): Record<number, ShortageLineProblems> {
  const { t } = i18n.global
  const problems: Record<number, ShortageLineProblems> = {}
  const seen = new Set<number>()
  lines.forEach((line, index) => {
    const row: ShortageLineProblems = {}
    if (!line.drug) row.drug_id = t('pms.shortages.pickDrug')
    else if (seen.has(line.drug.id)) row.drug_id = t('pms.shortages.duplicateDrug')
    else seen.add(line.drug.id)
    const quantity = integerProblem(line.quantity, t('pms.f.quantity'), SHORTAGE_QUANTITY.min, SHORTAGE_QUANTITY.max)
    if (quantity) row.quantity = quantity
    if (line.remark.length > 200) row.remark = t('pms.shortages.remarkTooLong', { n: 200 })
    if (Object.keys(row).length) problems[index] = row
  })
  return problems
}

/** The tag colour of a request's state. */
export function shortageStateType(state: ShortageState): 'primary' | 'success' | 'warning' | 'info' | 'danger' {
  switch (state) {
    case 'open':
      return 'warning'
    case 'sent':
      return 'primary'
    case 'partly_fulfilled':
      return 'warning'
    case 'fulfilled':
      return 'success'
    default:
      return 'info'
  }
}

/** One CSV field: quoted when it holds a comma, quote or line break; a leading =+-@ is defused
 * (a spreadsheet would run it as a formula). */
export function csvField(value: unknown): string {
  let text = value == null ? '' : String(value)
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text
}

/**
 * The recall list as CSV in the console's language: a BOM so Excel reads the Chinese, CRLF line
 * ends, the hospital's time for 发药时间.
 */
export function traceCsv(rows: TraceRow[]): string {
  const { t } = i18n.global
  const header = [
    t('pms.f.batchNo'),
    t('pms.f.drugCode'),
    t('pms.f.drugName'),
    t('pms.f.expiryDate'),
    t('pms.f.quantity'),
    t('pms.f.patient'),
    t('pms.f.visitNumber'),
    t('pms.f.dispensingNumber'),
    t('pms.f.dispensedAt'),
    t('pms.f.dispensedBy'),
  ]
  const body = rows.map((r) => [
    r.batch_no,
    r.code,
    r.name,
    r.expiry_date,
    r.quantity,
    r.patient_name,
    r.visit_number,
    r.dispensing_number,
    r.dispensed_at ? formatHospitalTime(r.dispensed_at) : '',
    r.dispensed_by ?? '',
  ])
  return `\uFEFF${[header, ...body].map((fields) => fields.map(csvField).join(',')).join('\r\n')}\r\n`
}

/** Who made a ledger row or received a delivery: a service's own account (`service:sms`, the
 * relay) reads 仓库（系统自动）, never the code. */
export function personName(person: string | null | undefined): string {
  const { t, te } = i18n.global
  if (!person) return ''
  if (!person.startsWith('service:')) return person
  const key = `labels.modules.${person.slice('service:'.length)}`
  return t('labels.serviceActor', { module: te(key) ? t(key) : t('labels.permissionOther') })
}
