import { afterEach, describe, expect, it } from 'vitest'

import { MOVEMENTS } from '@/api/sms'
import { i18n } from '@/i18n'

import { daysBetween, daysLeftText, expiryState, lineAmount, movementLabel, signedQuantity, splitFieldErrors, sumAmounts } from './warehouse'

afterEach(() => {
  i18n.global.locale.value = 'zh-CN'
})

describe('movementLabel', () => {
  it('names every kind of the ledger in Chinese, never the code', () => {
    expect(movementLabel('inbound')).toBe('入库')
    expect(movementLabel('inbound_reversal')).toBe('冲销入库')
    expect(movementLabel('disposal')).toBe('报损销毁')
    for (const kind of MOVEMENTS) {
      const label = movementLabel(kind)
      expect(label).not.toBe(kind)
      expect(label).toMatch(/[\u4e00-\u9fa5]/)
    }
  })

  it('names them in English when chosen', () => {
    i18n.global.locale.value = 'en'
    expect(movementLabel('inbound_reversal')).toBe('Inbound reversal')
  })

  it('falls back to the server label, then to 其他, for a kind it does not know', () => {
    expect(movementLabel('transfer', '调拨')).toBe('调拨')
    expect(movementLabel('transfer', 'transfer')).toBe('其他')
    expect(movementLabel('transfer')).toBe('其他')
    expect(movementLabel('other')).toBe('其他')
  })
})

describe('expiry', () => {
  it('counts calendar days, negative once passed', () => {
    expect(daysBetween('2026-11-28', '2026-12-01')).toBe(3)
    expect(daysBetween('2026-11-28', '2026-11-28')).toBe(0)
    expect(daysBetween('2026-11-28', '2026-11-20')).toBe(-8)
    expect(daysBetween('2026-12-31', '2027-01-01')).toBe(1)
  })

  it('keeps the expiry day itself usable, marks the window as expiring', () => {
    expect(expiryState('2026-11-27', '2026-11-28')).toBe('expired')
    expect(expiryState('2026-11-28', '2026-11-28')).toBe('expiring')
    expect(expiryState('2027-02-25', '2026-11-28')).toBe('expiring')
    expect(expiryState('2027-02-26', '2026-11-28')).toBe('ok')
    expect(expiryState('2026-12-10', '2026-11-28', 10)).toBe('ok')
    expect(expiryState('2026-12-07', '2026-11-28', 10)).toBe('expiring')
  })

  it('says how many days are left in words', () => {
    expect(daysLeftText(-3)).toBe('已过期 3 天')
    expect(daysLeftText(0)).toBe('今天到期')
    expect(daysLeftText(12)).toBe('还剩 12 天')
  })
})

describe('signedQuantity', () => {
  it('shows the sign of a ledger row', () => {
    expect(signedQuantity(20)).toBe('+20')
    expect(signedQuantity(-5)).toBe('−5')
    expect(signedQuantity(0)).toBe('0')
  })
})

describe('money of a line', () => {
  it('multiplies in cents, never through a float', () => {
    expect(lineAmount('0.10', 3)).toBe('0.30')
    expect(lineAmount('12.5', 4)).toBe('50.00')
    expect(lineAmount('1.15', 100)).toBe('115.00')
    expect(lineAmount('19999999.99', 1000000)).toBe('19999999990000.00')
  })

  it('gives nothing while the price or quantity is not valid', () => {
    expect(lineAmount('-5', 1)).toBeNull()
    expect(lineAmount('1.234', 1)).toBeNull()
    expect(lineAmount('1.00', null)).toBeNull()
    expect(lineAmount('1.00', 2.5)).toBeNull()
  })

  it('adds amounts', () => {
    expect(sumAmounts(['0.10', '0.20', null])).toBe('0.30')
    expect(sumAmounts([])).toBe('0.00')
  })
})

describe('splitFieldErrors', () => {
  it('puts a line problem under its row and field, a header problem under the header', () => {
    const split = splitFieldErrors(
      [
        { field: 'lines.1.drug_id', message: '所选药品已停用' },
        { field: 'lines.1.drug_id', message: '再说一次' },
        { field: 'lines.0.expiry_date', message: '有效期必须晚于生产日期' },
        { field: 'supplier_id', message: '所选供货商已停用' },
        { field: 'lines', message: '同一药品的同一批号出现了两次' },
      ],
      ['warehouse_id', 'supplier_id', 'handler_id', 'remark', 'lines'] as const,
      ['drug_id', 'batch_no', 'production_date', 'expiry_date', 'purchase_price', 'quantity'] as const,
    )
    expect(split.header).toEqual({ supplier_id: '所选供货商已停用', lines: '同一药品的同一批号出现了两次' })
    expect(split.lines).toEqual({ 1: { drug_id: '所选药品已停用；再说一次' }, 0: { expiry_date: '有效期必须晚于生产日期' } })
  })

  it('leaves out paths the form has no field for', () => {
    const split = splitFieldErrors([{ field: 'lines.0.colour', message: 'x' }, { field: 'body', message: 'y' }], ['remark'] as const, ['quantity'] as const)
    expect(split).toEqual({ header: {}, lines: {} })
  })
})
