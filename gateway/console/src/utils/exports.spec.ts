import { describe, expect, it } from 'vitest'

import { exportUrl, moduleOf, tableColumns, type ExportTable } from './exports'

const table: ExportTable = {
  store: {
    states: {
      columns: {
        value: [
          { type: 'selection' },
          { property: 'number', label: '就诊号' },
          { property: 'state', label: '状态' },
          { property: 'department_id', label: '科室' },
          { label: '操作' },
        ],
      },
    },
  },
}

describe('exports', () => {
  it('takes the columns that show a field, with their labels, codes in words and references by name', () => {
    const columns = tableColumns(table, {
      values: () => ({ state: { paid: '已缴费' } }),
      keys: () => ({ department_id: 'department_name' }),
    })
    expect(columns).toEqual([
      { key: 'number', label: '就诊号' },
      { key: 'state', label: '状态', values: { paid: '已缴费' } },
      { key: 'department_name', label: '科室' },
    ])
  })

  it('splits a column drawn from several fields into the file columns the page names', () => {
    const columns = tableColumns(table, {
      parts: () => ({ state: [{ key: 'state', label: '状态', values: { paid: '已缴费' } }, { key: 'paid_at', label: '缴费时间' }] }),
    })
    expect(columns.map((c) => c.key)).toEqual(['number', 'state', 'paid_at', 'department_id'])
  })

  it('exports the list with its filters but not its paging', () => {
    const url = exportUrl({ url: '/api/oms/visits', query: { page: 3, size: 20, date: '2026-11-28', q: '张' } }, 'csv', [], '就诊记录')
    const query = new URLSearchParams(url.split('?')[1])
    expect(url.startsWith('/api/system/exports?')).toBe(true)
    expect(Object.fromEntries(query)).toEqual({ path: '/api/oms/visits', format: 'csv', title: '就诊记录', date: '2026-11-28', q: '张' })
    expect(moduleOf('/api/oms/visits')).toBe('oms')
  })
})
