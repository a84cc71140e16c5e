import { describe, expect, it } from 'vitest'

import { bedFigures, rosterFigures, todayFigures } from './dashboard'

describe('the 首页 cards', () => {
  it("reads today's visits and revenue from 门诊当天统计's total", () => {
    const report = {
      columns: [
        { key: 'hour', label: '时段', kind: 'text' as const },
        { key: 'visits', label: '挂号人次', kind: 'count' as const },
        { key: 'revenue', label: '收入', kind: 'money' as const },
        { key: 'visits_last_week', label: '上周同日人次', kind: 'count' as const },
      ],
      total: { hour: '合计', visits: 1234, revenue: '56789.5', visits_last_week: 9 },
    }
    expect(todayFigures(report)).toEqual({ visits: '1,234', revenue: '¥56,789.50' })
    expect(todayFigures({ ...report, total: null })).toEqual({ visits: '0', revenue: '—' })
  })

  it("adds up the bed board's wards", () => {
    expect(bedFigures([{ counts: { free: 3, occupied: 5, cleaning: 1 } }, { counts: { occupied: 2 } }])).toEqual({ occupied: 7, free: 3 })
    expect(bedFigures([])).toEqual({ occupied: 0, free: 0 })
  })

  it("counts this week's open shifts, their doctors and today's", () => {
    const schedules = [
      { doctor_id: 1, date: '2026-11-23', status: 'open' as const },
      { doctor_id: 1, date: '2026-11-24', status: 'open' as const },
      { doctor_id: 2, date: '2026-11-24', status: 'closed' as const },
      { doctor_id: 3, date: '2026-11-24', status: 'open' as const },
    ]
    expect(rosterFigures(schedules, '2026-11-24')).toEqual({ shifts: 3, doctors: 2, today: 2 })
  })
})
