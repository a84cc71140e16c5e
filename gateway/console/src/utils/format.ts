/** `2026-11-22T06:19:00Z` → `2026-11-22 14:19` in the browser's time zone. */
export function formatDateTime(value: unknown): string {
  if (typeof value !== 'string' || !value) return ''
  const date = new Date(value)
  if (Number.isNaN(date.getTime())) return value
  const pad = (n: number) => String(n).padStart(2, '0')
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ${pad(date.getHours())}:${pad(date.getMinutes())}`
}

const DECIMAL = /^\d+(\.\d{1,2})?$/

/** Whether the text is a non-negative decimal with at most two places (`12`, `12.5`, `12.50`). */
export function isDecimal2(text: string): boolean {
  return DECIMAL.test(text.trim())
}

/**
 * Money and ratios stay strings with two decimals, as the API sends them; the number is
 * never round-tripped through a float: `12` → `12.00`, `3.5` → `3.50`, `0012.30` → `12.30`.
 */
export function normalizeDecimal2(text: string): string {
  const trimmed = text.trim()
  if (!isDecimal2(trimmed)) return trimmed
  const [whole = '0', fraction = ''] = trimmed.split('.')
  const integer = whole.replace(/^0+(?=\d)/, '')
  return `${integer}.${fraction.padEnd(2, '0')}`
}

/** Compares two decimal strings without floats: negative, zero or positive. */
export function compareDecimal(a: string, b: string): number {
  const [ai = '0', af = ''] = normalizeDecimal2(a).split('.')
  const [bi = '0', bf = ''] = normalizeDecimal2(b).split('.')
  const aw = ai.replace(/^0+(?=\d)/, '')
  const bw = bi.replace(/^0+(?=\d)/, '')
  if (aw.length !== bw.length) return aw.length - bw.length
  if (aw !== bw) return aw < bw ? -1 : 1
  const a2 = af.padEnd(2, '0')
  const b2 = bf.padEnd(2, '0')
  return a2 === b2 ? 0 : a2 < b2 ? -1 : 1
}

export const MOBILE = /^1[3-9]\d{9}$/
export const LANDLINE = /^0\d{2,3}-?\d{7,8}$/

const ID_CARD_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
const ID_CARD_CHECK = '10X98765432'

/** A resident ID card number (GB 11643): 18 characters, the last one a checksum (`X` allowed). */
export function isIdCard(text: string): boolean {
  const value = text.trim().toUpperCase()
  if (!/^\d{17}[\dX]$/.test(value)) return false
  let sum = 0
  for (let i = 0; i < 17; i++) sum += Number(value[i]) * ID_CARD_WEIGHTS[i]!
  return ID_CARD_CHECK[sum % 11] === value[17]
}

/** `"12.50"` → `¥12.50` (the API's string, never a float); empty for no value. */
export function money(value: string | number | null | undefined): string {
  if (value === null || value === undefined || value === '') return ''
  const text = String(value)
  return text.startsWith('-') ? `-¥${text.slice(1)}` : `¥${text}`
}
