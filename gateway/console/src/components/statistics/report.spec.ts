import { describe, expect, it } from 'vitest'

import { filterQuery, type Report, REPORT_KEYS, tmsApi } from '@/api/tms'
import { i18n, LOCALES } from '@/i18n'

import {
  chartOption,
  filtersFromQuery,
  filtersOf,
  filtersToQuery,
  formatCell,
  groupDigits,
  normalizeCatalogue,
  REPORT_FILTERS,
  REPORT_TITLES,
  reportFileName,
  seriesNames,
} from './report'

// Fixtures in the shape of docs/statistics.md (as tms answers them).
const monthly: Report = {
  key: 'outpatient-monthly',
  title: '门诊月度统计',
  filters: { date_from: '2026-01-01', date_to: '2026-03-31', department_id: null, doctor_id: null, method: null, year: null },
  columns: [
    { key: 'month', label: '月份', kind: 'text' },
    { key: 'visits', label: '就诊人次', kind: 'count' },
    { key: 'registration', label: '挂号费', kind: 'money' },
    { key: 'revenue', label: '净收入', kind: 'money' },
  ],
  rows: [
    { month: '2026-01', visits: 1200, registration: '12000.00', revenue: '1234567.50' },
    { month: '2026-02', visits: 0, registration: '0.00', revenue: '-20.00' },
    { month: '2026-03', visits: 3, registration: '30.00', revenue: '45.10' },
  ],
  total: { month: '合计', visits: 1203, registration: '12030.00', revenue: '1234592.60' },
  summary: [],
  chart: { type: 'line', x: 'month', series: ['revenue', 'registration', 'visits'] },
  filter_labels: {},
  as_of: '2026-03-31T02:00:00Z',
}

const yearly: Report = {
  ...monthly,
  key: 'outpatient-yearly',
  title: '门诊年度统计',
  filters: { year: 2026 },
  columns: [
    { key: 'month', label: '月份', kind: 'text' },
    { key: 'visits', label: '本年人次', kind: 'count' },
    { key: 'visits_last_year', label: '上年人次', kind: 'count' },
    { key: 'growth', label: '增长', kind: 'percent' },
  ],
  rows: [
    { month: '1月', visits: 10, visits_last_year: 0, growth: null },
    { month: '2月', visits: 12, visits_last_year: 8, growth: '50.0' },
  ],
  chart: { type: 'line', x: 'month', series: ['visits', 'visits_last_year'] },
}

const pharmacy: Report = {
  ...monthly,
  key: 'pharmacy',
  title: '药房统计',
  columns: [
    { key: 'month', label: '月份', kind: 'text' },
    { key: 'dispensed', label: '发药金额', kind: 'money' },
  ],
  rows: [{ month: '2026-01', dispensed: '88.5' }],
  total: null,
  summary: [{ key: 'stock_value', label: '库存金额', kind: 'money', value: '8800.00' }],
  chart: { type: 'bar', x: 'month', series: ['dispensed', 'no_such_column'] },
}

const texts = { moneyAxis: '金额（元）', countAxis: '数量', saveImage: '保存图片', fileName: 'x' }

describe('cells', () => {
  it('shows money with two decimals and grouped thousands, never through a float', () => {
    expect(formatCell('1234567.50', 'money')).toBe('1,234,567.50')
    expect(formatCell('88.5', 'money')).toBe('88.50')
    expect(formatCell('-20.00', 'money')).toBe('-20.00')
    expect(formatCell('90071992547409.99', 'money')).toBe('90,071,992,547,409.99')
  })

  it('shows percent with %, counts grouped, and nothing to compare with as —', () => {
    expect(formatCell('12.5', 'percent')).toBe('12.5%')
    expect(formatCell(null, 'percent')).toBe('—')
    expect(formatCell(12345, 'count')).toBe('12,345')
    expect(formatCell(0, 'count')).toBe('0')
    expect(formatCell(31, 'days')).toBe('31')
    expect(formatCell('2026-01', 'text')).toBe('2026-01')
    expect(groupDigits('-1234')).toBe('-1,234')
  })
})

describe('the chart', () => {
  it('draws a series per column named by its label, lines for line, counts on the second axis', () => {
    const option = chartOption(monthly, texts)
    expect(option.series.map((s) => s.name)).toEqual(['净收入', '挂号费', '就诊人次'])
    expect(option.series.every((s) => s.type === 'line')).toBe(true)
    expect(option.series.map((s) => s.yAxisIndex)).toEqual([0, 0, 1])
    expect(option.yAxis).toHaveLength(2)
    expect(option.xAxis.data).toEqual(['2026-01', '2026-02', '2026-03'])
    expect(option.series[0]!.data).toEqual([1234567.5, -20, 45.1])
    expect(option.legend.data).toEqual(seriesNames(monthly))
    expect(option.toolbox.feature.saveAsImage.title).toBe('保存图片')
  })

  it('keeps one axis when only counts are drawn, a gap for nothing, and drops a series naming no column', () => {
    const option = chartOption(yearly, texts)
    expect(option.yAxis).toHaveLength(1)
    expect(option.yAxis[0]!.name).toBe('数量')
    expect(option.series.map((s) => s.yAxisIndex)).toEqual([0, 0])
    const bars = chartOption(pharmacy, texts)
    expect(bars.series.map((s) => [s.name, s.type])).toEqual([['发药金额', 'bar']])
    expect(seriesNames(pharmacy)).toEqual(['发药金额'])
  })

  it('shows the exact values of the table in its tooltip', () => {
    const option = chartOption(monthly, texts)
    const html = option.tooltip.formatter([
      { dataIndex: 0, seriesIndex: 0, marker: '' },
      { dataIndex: 0, seriesIndex: 2, marker: '' },
    ])
    expect(html).toBe('2026-01<br/>净收入：1,234,567.50<br/>就诊人次：1,200')
  })
})

describe('filters', () => {
  it('takes the catalogue as tms lists it, aliases understood, else the documented filters', () => {
    const catalogue = normalizeCatalogue([
      { key: 'doctors', title: '医生统计对比', filters: ['date_from', 'date_to', 'department_id', 'method'], chart: 'bar' },
      { key: 'pharmacy', title: '药房统计', filters: ['dates'] },
      { title: 'no key' },
    ])
    expect(catalogue.map((r) => r.key)).toEqual(['doctors', 'pharmacy'])
    expect(filtersOf('doctors', catalogue)).toEqual(['date_from', 'date_to', 'department_id', 'method'])
    expect(filtersOf('pharmacy', catalogue)).toEqual(['date_from', 'date_to'])
    expect(filtersOf('outpatient-today', catalogue)).toEqual(['day', 'department_id', 'doctor_id', 'method'])
    expect(normalizeCatalogue({ items: [{ key: 'cashiers', title: 'x' }] })[0]!.filters).toEqual(REPORT_FILTERS.cashiers)
    expect(normalizeCatalogue(null)).toEqual([])
  })

  it('reads a deep link, keeping only what the report takes and what is well formed', () => {
    const take = REPORT_FILTERS['outpatient-monthly']
    expect(filtersFromQuery({ date_from: '2026-01-01', date_to: 'yesterday', department_id: '3', year: '2026', doctor_id: 'x', method: 'cash' }, take)).toEqual({
      date_from: '2026-01-01',
      department_id: 3,
      method: 'cash',
    })
    expect(filtersFromQuery({ year: ['2025', '2026'] }, REPORT_FILTERS['inpatient-yearly'])).toEqual({ year: 2025 })
    expect(filtersToQuery({ date_from: '2026-01-01', department_id: 3, method: null, year: undefined })).toEqual({ date_from: '2026-01-01', department_id: '3' })
  })

  it('sends the filters to print and export, and only the filled ones', () => {
    const filters = { date_from: '2026-01-01', date_to: '2026-01-31', department_id: 4, method: null }
    expect(filterQuery(filters)).toEqual({ date_from: '2026-01-01', date_to: '2026-01-31', department_id: 4 })
    expect(tmsApi.pdfUrl('doctors', filters)).toBe('/api/tms/reports/doctors/pdf?date_from=2026-01-01&date_to=2026-01-31&department_id=4')
    expect(tmsApi.exportUrl('doctors', 'csv', filters)).toBe(
      '/api/tms/reports/doctors/export?format=csv&date_from=2026-01-01&date_to=2026-01-31&department_id=4',
    )
  })
})

describe('names', () => {
  it('names every report in both languages and the files after the report and its period', () => {
    for (const key of REPORT_KEYS) {
      for (const locale of LOCALES) {
        expect(i18n.global.te(REPORT_TITLES[key], locale), `${locale} ${key}`).toBe(true)
        expect(i18n.global.te(REPORT_TITLES[key].replace('.report.', '.intro.'), locale), `${locale} intro ${key}`).toBe(true)
      }
    }
    expect(reportFileName(monthly)).toBe('门诊月度统计_2026-01-01_2026-03-31')
    expect(reportFileName(yearly)).toBe('门诊年度统计_2026')
  })
})
