// Times in the hospital's time zone, whatever the browser's own zone is: the API stores
// and answers UTC (`2026-11-22T06:19:00Z`), people read and pick Beijing time.

export const HOSPITAL_TIME_ZONE = 'Asia/Shanghai'

const parts = new Intl.DateTimeFormat('en-CA', {
  timeZone: HOSPITAL_TIME_ZONE,
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
  hourCycle: 'h23',
})

function wallClock(date: Date): Record<string, string> {
  const out: Record<string, string> = {}
  for (const part of parts.formatToParts(date)) out[part.type] = part.value
  return out
}

/** `2026-11-22T06:19:00Z` → `2026-11-22 14:19:00` (Asia/Shanghai); empty for no value. */
export function formatHospitalTime(value: unknown): string {
  if (typeof value !== 'string' || !value) return ''
  const date = new Date(value)
  if (Number.isNaN(date.getTime())) return value
  const p = wallClock(date)
  return `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}:${p.second}`
}

/** Minutes the hospital's zone is ahead of UTC at this instant (+480 for Beijing). */
function offsetMinutes(date: Date): number {
  const p = wallClock(date)
  const asUtc = Date.UTC(Number(p.year), Number(p.month) - 1, Number(p.day), Number(p.hour), Number(p.minute), Number(p.second))
  return Math.round((asUtc - Math.floor(date.getTime() / 1000) * 1000) / 60000)
}

/**
 * A wall-clock time picked in the console (`2026-11-22 14:19:00`, hospital time) → an ISO
 * 8601 instant with its offset (`2026-11-22T14:19:00+08:00`), as the API's `from`/`to` want.
 */
export function hospitalTimeToIso(text: string): string {
  const match = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2})(?::(\d{2}))?$/.exec(text.trim())
  if (!match) return text
  const [, y, mo, d, h, mi, s = '00'] = match
  const guess = new Date(Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s)))
  // The offset at the guessed instant, then once more at the corrected one (DST edges).
  let offset = offsetMinutes(new Date(guess.getTime() - offsetMinutes(guess) * 60000))
  if (!Number.isFinite(offset)) offset = 0
  const sign = offset < 0 ? '-' : '+'
  const abs = Math.abs(offset)
  const pad = (n: number) => String(n).padStart(2, '0')
  return `${y}-${mo}-${d}T${h}:${mi}:${s}${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`
}

// --- calendar dates (`YYYY-MM-DD`, the hospital's days) ----------------------------------

const dayParts = new Intl.DateTimeFormat('en-CA', { timeZone: HOSPITAL_TIME_ZONE, year: 'numeric', month: '2-digit', day: '2-digit' })

/** Today in the hospital (Asia/Shanghai), `YYYY-MM-DD`, whatever the browser's zone. */
export function hospitalToday(): string {
  const p: Record<string, string> = {}
  for (const part of dayParts.formatToParts(new Date())) p[part.type] = part.value
  return `${p.year}-${p.month}-${p.day}`
}

function parseDay(day: string): Date {
  const [y, m, d] = day.split('-').map(Number)
  return new Date(Date.UTC(y ?? 1970, (m ?? 1) - 1, d ?? 1))
}

function formatDay(date: Date): string {
  return date.toISOString().slice(0, 10)
}

/** `2026-11-22` + 3 → `2026-11-25` (pure calendar arithmetic, no time zone involved). */
export function addDays(day: string, n: number): string {
  const date = parseDay(day)
  date.setUTCDate(date.getUTCDate() + n)
  return formatDay(date)
}

/** 0 = Monday … 6 = Sunday. */
export function weekdayIndex(day: string): number {
  return (parseDay(day).getUTCDay() + 6) % 7
}

/** The Monday of the week holding `day`. */
export function mondayOf(day: string): string {
  return addDays(day, -weekdayIndex(day))
}
