// The figures of the 首页 cards, computed from what each service answers (pure, for the spec).
import type { Schedule } from '@/api/dms'
import type { BoardWard } from '@/api/hms'
import type { Cell, Report, ReportColumn } from '@/api/tms'

import { formatCell } from './report'

/** One number on a card; `to` when it opens a page of its own. */
export interface Figure {
  key: string
  /** An i18n key (the card follows the console's language). */
  label: string
  value: string
  to?: string
}

function pick(report: Pick<Report, 'columns'>, key: string, kind: ReportColumn['kind']): ReportColumn | undefined {
  return report.columns.find((c) => c.key === key) ?? report.columns.find((c) => c.kind === kind)
}

/** 门诊当天统计's total: today's visits and revenue (`¥1,234.50`); — when the report has no total. */
export function todayFigures(report: Pick<Report, 'columns' | 'total'>): { visits: string; revenue: string } {
  const visits = pick(report, 'visits', 'count')
  const revenue = pick(report, 'revenue', 'money')
  const total = report.total ?? {}
  const cell = (c: ReportColumn | undefined): Cell => (c ? (total[c.key] ?? null) : null)
  const money = formatCell(cell(revenue), 'money')
  return { visits: formatCell(cell(visits) ?? 0, 'count'), revenue: money === '—' ? money : `¥${money}` }
}

/** The bed board's wards added up: patients in a bed now, and beds free to admit into. */
export function bedFigures(board: readonly Pick<BoardWard, 'counts'>[]): { occupied: number; free: number } {
  let occupied = 0
  let free = 0
  for (const ward of board) {
    occupied += ward.counts.occupied ?? 0
    free += ward.counts.free ?? 0
  }
  return { occupied, free }
}

/** This week's roster: open shifts, doctors on them, and today's open shifts. */
export function rosterFigures(schedules: readonly Pick<Schedule, 'doctor_id' | 'date' | 'status'>[], today: string) {
  const open = schedules.filter((s) => s.status === 'open')
  return {
    shifts: open.length,
    doctors: new Set(open.map((s) => s.doctor_id)).size,
    today: open.filter((s) => s.date === today).length,
  }
}
