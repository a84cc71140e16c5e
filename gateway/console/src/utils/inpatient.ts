// What the inpatient pages compute from hms's figures: always in whole cents from the API's
// strings, never floats (docs/console.md, "Money").
import type { Charge, DrugOrder, SettlementFigures } from '@/api/hms'
import { isDecimal2 } from '@/utils/format'
import { formatHospitalTime, hospitalToday } from '@/utils/time'

/** `"12.50"` → 1250, `"-3.5"` → -350; null when the text is no amount. */
export function cents(text: string | null | undefined): number | null {
  if (text === null || text === undefined) return null
  const trimmed = String(text).trim()
  const negative = trimmed.startsWith('-')
  const body = negative ? trimmed.slice(1) : trimmed
  if (!isDecimal2(body)) return null
  const [whole = '0', fraction = ''] = body.split('.')
  const value = Number(whole) * 100 + Number(fraction.padEnd(2, '0'))
  return negative ? -value : value
}

/** 1250 → `"12.50"`, -350 → `"-3.50"`. */
export function fromCents(value: number): string {
  const sign = value < 0 ? '-' : ''
  const abs = Math.abs(value)
  return `${sign}${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, '0')}`
}

/** A deposit amount as hms takes it: more than zero, at most two decimals. */
export function isPositiveAmount(text: string | null | undefined): boolean {
  const value = cents(text)
  return value !== null && value > 0 && !String(text).trim().startsWith('-')
}

export type Outcome = { kind: 'refund' | 'collect' | 'even'; amount: string }

/**
 * What the discharge desk does with the money: refund the deposits left over or collect what the
 * deposits do not cover. The server's own figures decide when it sends them (a preview's `refund` /
 * `due`, a settlement's `refunded` / `collected`, negative on a reversal); otherwise deposits − self-pay.
 */
export function settlementOutcome(figures: Pick<SettlementFigures, 'deposits' | 'self_pay'> & Partial<SettlementFigures>): Outcome {
  const refunded = Math.abs(cents(figures.refund ?? figures.refunded) ?? 0)
  const collected = Math.abs(cents(figures.due ?? figures.collected) ?? 0)
  if (refunded > 0) return { kind: 'refund', amount: fromCents(refunded) }
  if (collected > 0) return { kind: 'collect', amount: fromCents(collected) }
  if (figures.refund !== undefined || figures.refunded !== undefined) return { kind: 'even', amount: '0.00' }
  const left = (cents(figures.deposits) ?? 0) - (cents(figures.self_pay) ?? 0)
  if (left > 0) return { kind: 'refund', amount: fromCents(left) }
  if (left < 0) return { kind: 'collect', amount: fromCents(-left) }
  return { kind: 'even', amount: '0.00' }
}

/** Whether the figures add up as a cashier checks them: insured + self-pay = total. */
export function figuresAddUp(figures: Pick<SettlementFigures, 'total' | 'insured' | 'self_pay'>): boolean {
  const total = cents(figures.total)
  const insured = cents(figures.insured)
  const self = cents(figures.self_pay)
  return total !== null && insured !== null && self !== null && insured + self === total
}

/** The sum of the category totals, in cents (the 费用明细 footer). */
export function categorySum(rows: readonly { amount: string }[]): string {
  return fromCents(rows.reduce((sum, r) => sum + (cents(r.amount) ?? 0), 0))
}

/** The i18n key of a drug line's state as the ward reads it: 待发药 / 已发药 / 已退. */
export function drugLineStateKey(line: Pick<Charge, 'state'>): string {
  return `hms.drugLineState.${line.state}`
}

/** The lines of a drug order that may still be returned or cancelled (credit rows and credited lines may not). */
export function returnableLines(order: Pick<DrugOrder, 'lines'>): Charge[] {
  return order.lines.filter((l) => l.state === 'booked' || l.state === 'dispensed')
}

/** An item line that may be cancelled (撤销): an item still booked, not examined, not a credit. */
export function cancellableItem(charge: Pick<Charge, 'kind' | 'state'>): boolean {
  return charge.kind === 'item' && charge.state === 'booked'
}

/**
 * Days in hospital as the ward counts them (算入不算出, at least one): hospital days from the
 * admission to the discharge, or to `today` while the patient is in.
 */
export function stayDays(admittedAt: string, dischargedAt: string | null | undefined, today: string = hospitalToday()): number {
  const from = formatHospitalTime(admittedAt).slice(0, 10)
  const to = dischargedAt ? formatHospitalTime(dischargedAt).slice(0, 10) : today
  if (!from || !to) return 1
  const days = Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / 86_400_000)
  return Math.max(1, days)
}
