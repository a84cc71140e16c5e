import { describe, expect, it } from 'vitest'

import { bestWarehouse, countDifference, duplicateDrugIds, movedBatchIds, outboundLinesFor, remainingOf, stockIn } from './warehouse'

const line = (drug_id: number, quantity: number, sent: number, stock: [number, number][] = []) => ({
  drug_id,
  quantity,
  sent,
  stock: stock.map(([warehouse_id, q]) => ({ warehouse_id, quantity: q })),
})

describe('shortage requests', () => {
  it('counts what is still waited for, never below zero', () => {
    expect(remainingOf(line(1, 50, 0))).toBe(50)
    expect(remainingOf(line(1, 50, 20))).toBe(30)
    expect(remainingOf(line(1, 50, 60))).toBe(0)
  })

  it('reads one warehouse of a line', () => {
    const l = line(1, 5, 0, [[1, 40], [2, 3]])
    expect(stockIn(l, 2)).toBe(3)
    expect(stockIn(l, 9)).toBe(0)
    expect(stockIn(l, null)).toBe(0)
  })

  it('proposes the warehouse covering most of the remainder, each line up to its remainder', () => {
    // warehouse 1 has lots of drug 1 (only 10 wanted); warehouse 2 covers both lines
    const lines = [line(1, 10, 0, [[1, 500], [2, 10]]), line(2, 30, 0, [[2, 30]])]
    expect(bestWarehouse(lines)).toBe(2)
    expect(bestWarehouse(lines, [1])).toBe(1)
    expect(bestWarehouse([line(1, 10, 10, [[1, 5]])])).toBeNull()
    expect(bestWarehouse([line(1, 10, 0, [[3, 10], [2, 10]])])).toBe(2)
  })

  it('prefills an outbound order with the lines still waited for, at their remainder', () => {
    const lines = [line(1, 10, 10), line(2, 30, 5), line(3, 4, 0)]
    expect(outboundLinesFor(lines).map((l) => [l.line.drug_id, l.quantity])).toEqual([
      [2, 25],
      [3, 4],
    ])
  })
})

describe('stock-takes', () => {
  it('gives counted − book once counted', () => {
    expect(countDifference(10, 12)).toBe(2)
    expect(countDifference(10, 7)).toBe(-3)
    expect(countDifference(10, 10)).toBe(0)
    expect(countDifference(10, null)).toBeNull()
    expect(countDifference(10, 2.5)).toBeNull()
  })

  it('reads the moved batches of a stock_moved problem only', () => {
    expect(movedBatchIds({ code: 'stock_moved', batch_ids: [3, 'x', 7] })).toEqual([3, 7])
    expect(movedBatchIds({ code: 'own_stocktake', batch_ids: [3] })).toEqual([])
    expect(movedBatchIds({ code: 'stock_moved' })).toEqual([])
  })
})

describe('duplicateDrugIds', () => {
  it('names the drugs on more than one line, ignoring empty lines', () => {
    expect([...duplicateDrugIds([1, 2, null, 1, undefined, 3, 2, 1])].sort()).toEqual([1, 2])
    expect(duplicateDrugIds([null, null]).size).toBe(0)
  })
})
