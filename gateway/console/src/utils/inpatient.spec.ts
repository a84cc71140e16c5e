import { describe, expect, it } from 'vitest'

import type { Charge, DrugOrder } from '@/api/hms'

import { cancellableItem, categorySum, cents, figuresAddUp, fromCents, isPositiveAmount, returnableLines, settlementOutcome, stayDays } from './inpatient'

const charge = (id: number, state: Charge['state'], kind: Charge['kind'] = 'drug'): Charge => ({ id, state, kind }) as Charge

describe('cents', () => {
  it('reads the API strings without floats', () => {
    expect(cents('12.50')).toBe(1250)
    expect(cents('0.1')).toBe(10)
    expect(cents('-3.5')).toBe(-350)
    expect(cents('100')).toBe(10000)
    // 0.1 + 0.2 in floats is 0.30000000000000004; in cents it is 30.
    expect((cents('0.10') ?? 0) + (cents('0.20') ?? 0)).toBe(30)
  })

  it('refuses what is no amount', () => {
    expect(cents('12.345')).toBeNull()
    expect(cents('abc')).toBeNull()
    expect(cents('')).toBeNull()
    expect(cents(null)).toBeNull()
  })

  it('writes cents back with two decimals and a sign', () => {
    expect(fromCents(1250)).toBe('12.50')
    expect(fromCents(5)).toBe('0.05')
    expect(fromCents(-350)).toBe('-3.50')
    expect(fromCents(0)).toBe('0.00')
  })
})

describe('deposit amounts', () => {
  it('must be more than zero with at most two decimals', () => {
    expect(isPositiveAmount('500')).toBe(true)
    expect(isPositiveAmount('0.01')).toBe(true)
    expect(isPositiveAmount('0')).toBe(false)
    expect(isPositiveAmount('0.00')).toBe(false)
    expect(isPositiveAmount('-5')).toBe(false)
    expect(isPositiveAmount('2.555')).toBe(false)
    expect(isPositiveAmount('')).toBe(false)
  })
})

describe('the settlement outcome', () => {
  it('refunds the deposits left over', () => {
    expect(settlementOutcome({ deposits: '1000.00', self_pay: '312.40' })).toEqual({ kind: 'refund', amount: '687.60' })
  })

  it('collects what the deposits do not cover', () => {
    expect(settlementOutcome({ deposits: '200.00', self_pay: '312.40' })).toEqual({ kind: 'collect', amount: '112.40' })
  })

  it('is even when they match', () => {
    expect(settlementOutcome({ deposits: '312.40', self_pay: '312.40' })).toEqual({ kind: 'even', amount: '0.00' })
  })

  it("takes the server's own figures when it sends them", () => {
    // A preview: refund / due.
    expect(settlementOutcome({ deposits: '1000.00', self_pay: '300.00', refund: '700.00', due: '0.00' })).toEqual({ kind: 'refund', amount: '700.00' })
    expect(settlementOutcome({ deposits: '0.00', self_pay: '300.00', refund: '0.00', due: '300.00' })).toEqual({ kind: 'collect', amount: '300.00' })
    // A settlement: refunded / collected; a reversal carries them negative.
    expect(settlementOutcome({ deposits: '1000.00', self_pay: '300.00', refunded: '-700.00', collected: '0.00' })).toEqual({ kind: 'refund', amount: '700.00' })
    expect(settlementOutcome({ deposits: '300.00', self_pay: '300.00', refunded: '0.00', collected: '0.00' })).toEqual({ kind: 'even', amount: '0.00' })
  })

  it('checks insured + self-pay = total to the cent', () => {
    expect(figuresAddUp({ total: '100.01', insured: '70.01', self_pay: '30.00' })).toBe(true)
    expect(figuresAddUp({ total: '100.01', insured: '70.00', self_pay: '30.00' })).toBe(false)
  })

  it('adds the category totals in cents', () => {
    expect(categorySum([{ amount: '0.10' }, { amount: '0.20' }, { amount: '-0.05' }])).toBe('0.25')
    expect(categorySum([])).toBe('0.00')
  })
})

describe('lines that may be credited', () => {
  it('returns or cancels only booked or dispensed drug lines', () => {
    const order = { lines: [charge(1, 'booked'), charge(2, 'dispensed'), charge(3, 'returned'), charge(4, 'cancelled'), charge(5, 'credit')] } as DrugOrder
    expect(returnableLines(order).map((l) => l.id)).toEqual([1, 2])
  })

  it('cancels only an item still booked (not examined, not a drug or a bed-day)', () => {
    expect(cancellableItem(charge(1, 'booked', 'item'))).toBe(true)
    expect(cancellableItem(charge(2, 'examined', 'item'))).toBe(false)
    expect(cancellableItem(charge(3, 'booked', 'drug'))).toBe(false)
    expect(cancellableItem(charge(4, 'booked', 'bed_day'))).toBe(false)
  })
})

describe('days in hospital', () => {
  it('counts hospital days, at least one', () => {
    // 23:30 in Beijing on the 1st (15:30 UTC), still in on the 4th: three nights.
    expect(stayDays('2026-03-01T15:30:00Z', null, '2026-03-04')).toBe(3)
    // Admitted today: one day.
    expect(stayDays('2026-03-04T01:00:00Z', null, '2026-03-04')).toBe(1)
    // 00:30 Beijing on the 2nd is 16:30 UTC on the 1st: the hospital's day is the 2nd.
    expect(stayDays('2026-03-01T16:30:00Z', '2026-03-05T02:00:00Z')).toBe(3)
  })
})
