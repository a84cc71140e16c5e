import { describe, expect, it } from 'vitest'

import { insuredSplit } from '@/api/oms'

import { addDays, hospitalTimeToIso, mondayOf, weekdayIndex } from './time'

describe('hospital calendar days', () => {
  it('adds days across months and years without a time zone', () => {
    expect(addDays('2026-11-29', 3)).toBe('2026-12-02')
    expect(addDays('2026-12-31', 1)).toBe('2027-01-01')
    expect(addDays('2026-03-01', -1)).toBe('2026-02-28')
  })

  it('counts weeks from Monday', () => {
    expect(weekdayIndex('2026-11-23')).toBe(0)
    expect(weekdayIndex('2026-11-29')).toBe(6)
    expect(mondayOf('2026-11-29')).toBe('2026-11-23')
    expect(mondayOf('2026-11-23')).toBe('2026-11-23')
  })
})

describe('hospitalTimeToIso', () => {
  it('sends a picked hospital time with its offset', () => {
    expect(hospitalTimeToIso('2026-11-22 14:19:00')).toBe('2026-11-22T14:19:00+08:00')
    expect(hospitalTimeToIso('2026-11-22 14:19')).toBe('2026-11-22T14:19:00+08:00')
    expect(hospitalTimeToIso('not a time')).toBe('not a time')
  })
})

describe('insuredSplit', () => {
  it('splits in whole cents, half up, as the server does', () => {
    expect(insuredSplit('100.00', '0.30')).toEqual({ insured: '30.00', self: '70.00' })
    expect(insuredSplit('0.05', '0.50')).toEqual({ insured: '0.03', self: '0.02' })
    expect(insuredSplit('12.34', '0')).toEqual({ insured: '0.00', self: '12.34' })
  })
})
