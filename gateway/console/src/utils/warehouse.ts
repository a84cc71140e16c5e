// What the warehouse pages show instead of codes and raw dates: a ledger row's kind in words,
// how far a batch is from its expiry date, and a signed quantity.
import type { FieldProblem } from '@/api/http'
import type { Movement } from '@/api/sms'
import { i18n } from '@/i18n'

import { isDecimal2 } from './format'
import { addDays } from './time'

/**
 * The default window of 即将过期 on 库存查询 (sms's `expiry_warning_days` setting, 90 by default):
 * the stock query only says whether a batch has expired, so the page marks the near ones itself.
 */
export const EXPIRY_WARNING_DAYS = 90

/**
 * A ledger row's kind in the console's language. A kind the console has no words for reads as
 * the server's own label (already in the reader's language), and failing that 其他: never the code.
 */
export function movementLabel(movement: Movement | string, serverLabel?: string | null): string {
  const { t, te } = i18n.global
  const key = `sms.movement.${movement}`
  if (movement !== 'other' && te(key)) return t(key)
  if (serverLabel && !/^[a-z_]+$/.test(serverLabel)) return serverLabel
  return t('sms.movement.other')
}

/** The tag colour of a kind: green in, orange out, grey for corrections. */
export function movementTagType(movement: Movement | string): 'success' | 'warning' | 'info' | 'danger' {
  if (movement === 'inbound' || movement === 'delivery' || movement === 'patient_return' || movement === 'return_in') return 'success'
  if (movement === 'disposal') return 'danger'
  if (movement === 'adjustment' || movement === 'inbound_reversal') return 'info'
  return 'warning'
}

/** Whole days from `today` to `day` (both `YYYY-MM-DD`): negative once passed. */
export function daysBetween(today: string, day: string): number {
  const ms = Date.parse(`${day}T00:00:00Z`) - Date.parse(`${today}T00:00:00Z`)
  return Math.round(ms / 86_400_000)
}

export type ExpiryState = 'expired' | 'expiring' | 'ok'

/**
 * A batch's state on `today`: expired after its expiry date (the expiry day itself is still
 * usable, as sms takes it), expiring within `window` days, otherwise fine.
 */
export function expiryState(expiryDate: string, today: string, window = EXPIRY_WARNING_DAYS): ExpiryState {
  if (expiryDate < today) return 'expired'
  if (expiryDate < addDays(today, window)) return 'expiring'
  return 'ok'
}

/** 已过期 3 天 / 今天到期 / 还剩 12 天. */
export function daysLeftText(daysLeft: number): string {
  const { t } = i18n.global
  if (daysLeft < 0) return t('sms.expiry.expiredDays', { n: -daysLeft })
  if (daysLeft === 0) return t('sms.expiry.expiresToday')
  return t('sms.expiry.daysLeft', { n: daysLeft })
}

/** A ledger quantity with its sign: +20, −5. */
export function signedQuantity(quantity: number): string {
  return quantity > 0 ? `+${quantity}` : quantity < 0 ? `−${-quantity}` : '0'
}

/** `"12.50"` → 1250n: money as whole cents, never through a float; null when not an amount. */
export function toCents(text: string | null | undefined): bigint | null {
  const value = (text ?? '').trim()
  if (!isDecimal2(value)) return null
  const [whole = '0', fraction = ''] = value.split('.')
  return BigInt(whole) * 100n + BigInt(fraction.padEnd(2, '0'))
}

/** 1250n → `"12.50"`. */
export function fromCents(cents: bigint): string {
  const sign = cents < 0n ? '-' : ''
  const abs = cents < 0n ? -cents : cents
  return `${sign}${abs / 100n}.${String(abs % 100n).padStart(2, '0')}`
}

/** A line's value, price × quantity, as the server computes it; null while either is not valid. */
export function lineAmount(price: string | null | undefined, quantity: number | null | undefined): string | null {
  const cents = toCents(price)
  if (cents === null || typeof quantity !== 'number' || !Number.isInteger(quantity)) return null
  return fromCents(cents * BigInt(quantity))
}

/** The sum of amounts (the invalid ones left out). */
export function sumAmounts(amounts: (string | null)[]): string {
  return fromCents(amounts.reduce<bigint>((sum, a) => sum + (toCents(a) ?? 0n), 0n))
}

/**
 * A server's field problems split for a form with lines: `lines.2.batch_no` goes under row 2's
 * batch field, `supplier_id` under the header's; two problems of one field are joined. A path
 * the form has no field for is left out here (showError still lists it, in words).
 */
export function splitFieldErrors<H extends string, L extends string>(
  problems: FieldProblem[],
  headerFields: readonly H[],
  lineFields: readonly L[],
): { header: Partial<Record<H, string>>; lines: Record<number, Partial<Record<L, string>>> } {
  const header: Partial<Record<H, string>> = {}
  const lines: Record<number, Partial<Record<L, string>>> = {}
  const join = (before: string | undefined, message: string) => (before ? `${before}；${message}` : message)
  for (const problem of problems) {
    const match = /^lines\.(\d+)\.(\w+)$/.exec(problem.field)
    if (match) {
      const field = match[2] as L
      if (!lineFields.includes(field)) continue
      const row = (lines[Number(match[1])] ??= {})
      row[field] = join(row[field], problem.message)
    } else if (headerFields.includes(problem.field as H)) {
      const field = problem.field as H
      header[field] = join(header[field], problem.message)
    }
  }
  return { header, lines }
}

// --- shortage requests, outbound, purchases, stock-takes ------------------------------------------

/** What a shortage line still waits for: requested − sent, never below 0. */
export function remainingOf(line: { quantity: number; sent: number }): number {
  return Math.max(0, line.quantity - line.sent)
}

/** A shortage line's unexpired stock in one warehouse (0 when the warehouse has none). */
export function stockIn(line: { stock: { warehouse_id: number; quantity: number }[] }, warehouseId: number | null | undefined): number {
  if (warehouseId == null) return 0
  return line.stock.find((s) => s.warehouse_id === warehouseId)?.quantity ?? 0
}

/**
 * The warehouse to send a shortage request from: the one that covers most of what is still
 * waiting (each line counts up to its remainder), the lowest id on a tie; null when no warehouse
 * holds any of it. Only warehouses in `allowed` (the enabled ones) are proposed when given.
 */
export function bestWarehouse(
  lines: { quantity: number; sent: number; stock: { warehouse_id: number; quantity: number }[] }[],
  allowed?: number[],
): number | null {
  const cover = new Map<number, number>()
  for (const line of lines) {
    const left = remainingOf(line)
    if (!left) continue
    for (const s of line.stock) {
      if (allowed && !allowed.includes(s.warehouse_id)) continue
      cover.set(s.warehouse_id, (cover.get(s.warehouse_id) ?? 0) + Math.min(left, s.quantity))
    }
  }
  let best: number | null = null
  let most = 0
  for (const [id, units] of [...cover.entries()].sort((a, b) => a[0] - b[0])) {
    if (units > most) {
      best = id
      most = units
    }
  }
  return best
}

/**
 * The lines of an outbound order for a shortage request: each drug still waited for, at what is
 * waited for. The quantity is the remainder even when the warehouse holds less: the store-keeper
 * sees the stock beside it and lowers it, rather than the form sending less than asked unseen.
 */
export function outboundLinesFor<L extends { drug_id: number; quantity: number; sent: number }>(lines: L[]): { line: L; quantity: number }[] {
  return lines.filter((l) => remainingOf(l) > 0).map((line) => ({ line, quantity: remainingOf(line) }))
}

/** A stock-take difference: counted − book, null until counted. */
export function countDifference(book: number, counted: number | null | undefined): number | null {
  return typeof counted === 'number' && Number.isInteger(counted) ? counted - book : null
}

/** The batch ids a 409 `stock_moved` names (`batch_ids` in the problem); empty for anything else. */
export function movedBatchIds(problem: { code?: string } & Record<string, unknown>): number[] {
  if (problem.code !== 'stock_moved' || !Array.isArray(problem.batch_ids)) return []
  return problem.batch_ids.filter((id): id is number => typeof id === 'number')
}

/** The drug ids that appear on more than one line (a purchase or outbound order takes each once). */
export function duplicateDrugIds(drugIds: (number | null | undefined)[]): Set<number> {
  const seen = new Set<number>()
  const twice = new Set<number>()
  for (const id of drugIds) {
    if (id == null) continue
    if (seen.has(id)) twice.add(id)
    seen.add(id)
  }
  return twice
}
