// Returns in the pharmacy (docs/pharmacy.md): 退药 (a patient's whole dispensed lines back onto the
// shelf) and 退库 (pharmacy batches back to the warehouse, into stock or to disposal). What pms
// would refuse is found here first, so the form shows it under its field and sends nothing.
import type { DispensingLine, DispensingOrder, DrugReturn, PharmacyStock, ReturnDestination } from '@/api/pms'
import { i18n } from '@/i18n'

import { integerProblem } from './validate'

/** pms's limits (pms/returns/models.py). */
export const RETURN_REASON_MAX = 200
export const RETURN_REMARK_MAX = 500
export const RETURN_MAX_LINES = 200
export const RETURN_QUANTITY_MAX = 999_999

/** The sender's line ids already given back, over the returns of one dispensing order. */
export function returnedLineIds(returns: DrugReturn[]): Set<number> {
  return new Set(returns.flatMap((r) => r.lines.map((l) => l.line_id)))
}

/** What a line of a dispensed order is now: refunded before the dispense, returned, or still with the patient. */
export function lineFate(line: DispensingLine, returned: ReadonlySet<number>): 'refunded' | 'returned' | 'dispensed' {
  if (line.cancelled) return 'refunded'
  return returned.has(line.line_id) ? 'returned' : 'dispensed'
}

/** The lines the patient may still give back: dispensed and not yet returned. */
export function returnableLines(order: DispensingOrder, returned: ReadonlySet<number>): DispensingLine[] {
  if (order.state !== 'dispensed') return []
  return order.lines.filter((l) => lineFate(l, returned) === 'dispensed')
}

/** The problem of a 退药's reason (required, ≤ 200), or null. */
export function returnReasonProblem(reason: string): string | null {
  const { t } = i18n.global
  const text = reason.trim()
  if (!text) return t('pms.drugReturns.reasonRequired')
  if (text.length > RETURN_REASON_MAX) return t('pms.drugReturns.reasonTooLong', { n: RETURN_REASON_MAX })
  return null
}

export interface WarehouseReturnDraftLine {
  batch: PharmacyStock | null
  quantity: number | null
  reason: string
}

export type WarehouseReturnLineProblems = Partial<Record<'batch_id' | 'quantity' | 'reason', string>>

/** What pms would refuse in a 退库's lines, by row: a batch, each once, 1–its stock, a reason ≤ 200. */
export function warehouseReturnLineProblems(lines: WarehouseReturnDraftLine[]): Record<number, WarehouseReturnLineProblems> {
  const { t } = i18n.global
  const problems: Record<number, WarehouseReturnLineProblems> = {}
  const seen = new Set<number>()
  lines.forEach((line, index) => {
    const row: WarehouseReturnLineProblems = {}
    if (!line.batch) row.batch_id = t('pms.warehouseReturns.pickBatch')
    else if (seen.has(line.batch.batch_id)) row.batch_id = t('pms.warehouseReturns.duplicateBatch')
    else seen.add(line.batch.batch_id)
    const quantity = integerProblem(line.quantity, t('pms.f.quantity'), 1, RETURN_QUANTITY_MAX)
    if (quantity) row.quantity = quantity
    else if (line.batch && (line.quantity ?? 0) > line.batch.quantity) row.quantity = t('pms.warehouseReturns.exceeds', { n: line.batch.quantity })
    const reason = line.reason.trim()
    if (!reason) row.reason = t('pms.warehouseReturns.reasonRequired')
    else if (reason.length > RETURN_REASON_MAX) row.reason = t('pms.warehouseReturns.reasonTooLong', { n: RETURN_REASON_MAX })
    if (Object.keys(row).length) problems[index] = row
  })
  return problems
}

/** pms's 422 on `destination`: an expired batch goes back only for disposal. */
export function destinationProblem(destination: ReturnDestination, lines: WarehouseReturnDraftLine[]): string | null {
  if (destination === 'stock' && lines.some((l) => l.batch?.expired)) return i18n.global.t('pms.warehouseReturns.expiredToStock')
  return null
}

/** 入库 / 销毁. */
export function destinationLabel(destination: ReturnDestination): string {
  return i18n.global.t(`pms.destination.${destination}`)
}

/** The tag colour of a destination. */
export function destinationType(destination: ReturnDestination): 'success' | 'danger' {
  return destination === 'disposal' ? 'danger' : 'success'
}
