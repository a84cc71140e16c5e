import { describe, expect, it } from 'vitest'

import { integerProblem, isIntegerIn, parseNumber, quantityProblem, QUANTITY } from './validate'

describe('parseNumber', () => {
  it('reads what was typed without rounding or dropping the sign', () => {
    expect(parseNumber('2.5')).toBe(2.5)
    expect(parseNumber(' -3 ')).toBe(-3)
    expect(parseNumber('+7')).toBe(7)
    expect(parseNumber('0')).toBe(0)
  })

  it('is null when empty and NaN when it is no number', () => {
    expect(parseNumber('')).toBeNull()
    expect(parseNumber('   ')).toBeNull()
    for (const text of ['abc', '1e3', '1,5', '.5', '5.', '--1', '0x10']) expect(parseNumber(text)).toBeNaN()
  })
})

describe('integer checks', () => {
  it('accepts whole numbers in range only', () => {
    expect(isIntegerIn(1, 1, 9999)).toBe(true)
    expect(isIntegerIn(9999, 1, 9999)).toBe(true)
    for (const value of [0, -3, 2.5, 10000, NaN, null, undefined]) expect(isIntegerIn(value, 1, 9999)).toBe(false)
  })

  it("names the field and the bounds, and says nothing of a good value", () => {
    expect(integerProblem(0, '号源数', 1, 500)).toBe('号源数须为 1–500 的整数')
    expect(integerProblem(501, '号源数', 1, 500)).toBe('号源数须为 1–500 的整数')
    expect(integerProblem(12, '号源数', 1, 500)).toBeNull()
  })

  it("bounds a line's quantity as the server does (oms OrderLine: 1–9999)", () => {
    expect(QUANTITY).toEqual({ min: 1, max: 9999 })
    expect(quantityProblem(2.5)).toBe('数量须为 1–9999 的整数')
    expect(quantityProblem(-3)).toBe('数量须为 1–9999 的整数')
    expect(quantityProblem(null)).toBe('数量须为 1–9999 的整数')
    expect(quantityProblem(3)).toBeNull()
  })
})
