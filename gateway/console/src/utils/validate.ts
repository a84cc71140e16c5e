// Checks of typed values that refuse instead of correcting: the input keeps what was typed and
// the form shows the field's message (docs/console.md, "No clamping inputs").
import { i18n } from '@/i18n'

/** The number a text spells (`2.5`, `-3`), null when empty, NaN when it is no number at all. */
export function parseNumber(text: string): number | null {
  const trimmed = text.trim()
  if (trimmed === '') return null
  return /^[+-]?\d+(\.\d+)?$/.test(trimmed) ? Number(trimmed) : NaN
}

export function isIntegerIn(value: number | null | undefined, min: number, max: number): boolean {
  return typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max
}

/** "数量须为 1–9999 的整数" when the value is not a whole number in range; null when it is. */
export function integerProblem(value: number | null | undefined, field: string, min: number, max: number): string | null {
  return isIntegerIn(value, min, max) ? null : i18n.global.t('validation.integer', { field, min, max })
}

/** A line's quantity on a prescription or item order (oms OrderLine: 1–9999). */
export const QUANTITY = { min: 1, max: 9999 } as const

export function quantityProblem(value: number | null | undefined): string | null {
  return integerProblem(value, i18n.global.t('opd.f.quantity'), QUANTITY.min, QUANTITY.max)
}
