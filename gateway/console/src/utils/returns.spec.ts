import { afterEach, describe, expect, it } from 'vitest'

import type { DispensingLine, DispensingOrder, DrugReturn, PharmacyStock } from '@/api/pms'
import { i18n } from '@/i18n'

import {
  destinationLabel,
  destinationProblem,
  lineFate,
  returnableLines,
  returnedLineIds,
  returnReasonProblem,
  warehouseReturnLineProblems,
  type WarehouseReturnDraftLine,
} from './returns'

afterEach(() => {
  i18n.global.locale.value = 'zh-CN'
})

const line = (lineId: number, cancelled = false): DispensingLine =>
  ({ id: lineId * 10, line_id: lineId, drug_id: 1, code: 'D1', name: '阿莫西林', spec: '0.25g', unit: '盒', quantity: 2, cancelled, batches: [] }) as DispensingLine

const order = (state: DispensingOrder['state'], lines: DispensingLine[]): DispensingOrder => ({ id: 1, state, lines }) as unknown as DispensingOrder

const drugReturn = (lineIds: number[]): DrugReturn => ({ id: 1, lines: lineIds.map((id) => ({ line_id: id })) }) as unknown as DrugReturn

const batch = (id: number, quantity: number, expired = false): PharmacyStock =>
  ({ batch_id: id, quantity, expired, expiring: false, expiry_date: '2027-01-01', name: '阿莫西林', spec: '0.25g', unit: '盒', batch_no: `B${id}` }) as PharmacyStock

const draft = (b: PharmacyStock | null, quantity: number | null, reason = '滞销'): WarehouseReturnDraftLine => ({ batch: b, quantity, reason })

describe('退药', () => {
  it('offers only dispensed lines not yet returned nor refunded', () => {
    const returned = returnedLineIds([drugReturn([2])])
    const o = order('dispensed', [line(1), line(2), line(3, true)])
    expect(returnableLines(o, returned).map((l) => l.line_id)).toEqual([1])
    expect(lineFate(line(2), returned)).toBe('returned')
    expect(lineFate(line(3, true), returned)).toBe('refunded')
    expect(returnableLines(order('pending', [line(1)]), new Set())).toEqual([])
  })

  it('needs a reason of at most 200 characters', () => {
    expect(returnReasonProblem('  ')).toBe('请填写退药原因')
    expect(returnReasonProblem('x'.repeat(201))).toContain('200')
    expect(returnReasonProblem('医生停药')).toBeNull()
  })
})

describe('退库', () => {
  it('checks each line as pms does', () => {
    const problems = warehouseReturnLineProblems([draft(null, 1), draft(batch(1, 5), 6), draft(batch(1, 5), 1, ''), draft(batch(2, 5), 0)])
    expect(problems[0]?.batch_id).toBe('请选择批号')
    expect(problems[1]?.quantity).toBe('超过该批号库存（5）')
    expect(problems[2]?.batch_id).toBe('同一批号出现了两次，请合并数量')
    expect(problems[2]?.reason).toBe('请填写原因')
    expect(problems[3]?.quantity).toBeTruthy()
    expect(warehouseReturnLineProblems([draft(batch(1, 5), 5)])).toEqual({})
  })

  it('sends an expired batch only to disposal (pms 422 on destination)', () => {
    const lines = [draft(batch(1, 5), 1), draft(batch(2, 5, true), 1)]
    expect(destinationProblem('stock', lines)).toContain('销毁')
    expect(destinationProblem('disposal', lines)).toBeNull()
    expect(destinationProblem('stock', [lines[0]!])).toBeNull()
  })

  it('names the destination, in both languages', () => {
    expect(destinationLabel('stock')).toBe('入库')
    expect(destinationLabel('disposal')).toBe('销毁')
    i18n.global.locale.value = 'en'
    expect(destinationLabel('disposal')).toBe('Disposal')
  })
})
