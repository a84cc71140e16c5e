import { afterEach, describe, expect, it } from 'vitest'

import { ApiError } from '@/api/http'
import { PHARMACY_MOVEMENTS, SHORTAGE_STATES, type DispensingLine, type TraceRow } from '@/api/pms'
import { i18n } from '@/i18n'

import {
  csvField,
  personName,
  prefillFromQuery,
  shortageLineProblems,
  shortageQuery,
  shortageStateType,
  shortfallOf,
  traceCsv,
} from './pharmacy'
import { movementLabel } from './warehouse'

afterEach(() => {
  i18n.global.locale.value = 'zh-CN'
})

const line = (over: Partial<DispensingLine>): DispensingLine => ({
  id: 1,
  line_id: 1,
  drug_id: 7,
  code: 'YP007',
  name: '阿莫西林',
  spec: '0.25g*24粒',
  unit: '盒',
  quantity: 3,
  cancelled: false,
  batches: [],
  ...over,
})

const short = (detail: string, message = '库存不足，缺 2') =>
  new ApiError({ status: 409, code: 'insufficient_stock', detail, errors: [{ field: 'quantity', message, code: 'insufficient_stock' }] })

describe('shortfallOf', () => {
  const lines = [line({}), line({ id: 2, line_id: 2, drug_id: 8, code: 'YP008', name: '阿莫西林胶囊', quantity: 5 })]

  it('finds the drug the server named, the longest name first, and the number missing', () => {
    const found = shortfallOf(short('阿莫西林胶囊 库存不足：需要 5，缺 2'), lines)
    expect(found?.line.drug_id).toBe(8)
    expect(found?.missing).toBe(2)
    expect(shortfallOf(short('阿莫西林 库存不足：需要 3，缺 3', '库存不足，缺 3'), lines)?.line.drug_id).toBe(7)
  })

  it('reads the English message too', () => {
    const found = shortfallOf(short('阿莫西林 库存不足', '4 short'), lines)
    expect(found?.missing).toBe(4)
  })

  it('falls back to the line quantity without a number, and ignores other errors and refunded lines', () => {
    expect(shortfallOf(short('阿莫西林 库存不足', 'short'), lines)?.missing).toBe(3)
    expect(shortfallOf(new ApiError({ status: 409, code: 'already_dispensed', detail: '阿莫西林 x' }), lines)).toBeNull()
    expect(shortfallOf(new Error('阿莫西林 库存不足'), lines)).toBeNull()
    expect(shortfallOf(short('阿莫西林 库存不足'), [line({ cancelled: true })])).toBeNull()
    expect(shortfallOf(short('布洛芬 库存不足'), lines)).toBeNull()
  })
})

describe('the 报缺 link from 发药', () => {
  it('carries the drug and quantity there and back', () => {
    const query = shortageQuery(line({ spec: '', unit: '盒' }), 2)
    expect(prefillFromQuery(query)).toEqual({ drug: { id: 7, code: 'YP007', name: '阿莫西林', spec: '', unit: '盒' }, quantity: 2 })
  })

  it('opens nothing for a query without a drug, and drops a quantity that is no whole number', () => {
    expect(prefillFromQuery({})).toBeNull()
    expect(prefillFromQuery({ drug_id: 'x', code: 'a', name: 'b' })).toBeNull()
    expect(prefillFromQuery({ drug_id: '7', code: 'a', name: 'b', quantity: '2.5' })?.quantity).toBeNull()
  })
})

describe('shortageLineProblems', () => {
  const drug = { id: 7, code: 'YP007', name: '阿莫西林', spec: '', unit: '盒' }

  it('refuses instead of correcting: no drug, 0, 2.5, too many, the same drug twice', () => {
    const problems = shortageLineProblems([
      { drug: null, quantity: 1, remark: '' },
      { drug, quantity: 0, remark: '' },
      { drug, quantity: 2.5, remark: '' },
      { drug: { ...drug, id: 9 }, quantity: 1_000_000, remark: 'x'.repeat(201) },
    ])
    expect(problems[0]).toEqual({ drug_id: '请选择药品' })
    expect(problems[1]?.quantity).toBe('数量须为 1–999999 的整数')
    expect(problems[2]).toEqual({ drug_id: '同一药品出现了两次，请合并数量', quantity: '数量须为 1–999999 的整数' })
    expect(problems[3]?.quantity).toBeTruthy()
    expect(problems[3]?.remark).toBe('备注最多 200 个字')
  })

  it('accepts good lines', () => {
    expect(shortageLineProblems([{ drug, quantity: 999_999, remark: '' }])).toEqual({})
  })
})

describe('labels', () => {
  it('names every state and pharmacy movement in words, in both languages', () => {
    for (const locale of ['zh-CN', 'en'] as const) {
      i18n.global.locale.value = locale
      for (const state of SHORTAGE_STATES) {
        const label = i18n.global.t(`pms.shortages.state.${state}`)
        expect(label).not.toBe(state)
        expect(label).not.toContain('pms.')
        expect(shortageStateType(state)).toBeTruthy()
      }
      for (const kind of PHARMACY_MOVEMENTS) expect(movementLabel(kind)).not.toBe(kind)
    }
    i18n.global.locale.value = 'zh-CN'
    expect(i18n.global.t('pms.shortages.state.partly_fulfilled')).toBe('部分到货')
  })

  it('names a service account by its module, never the code', () => {
    expect(personName('service:sms')).toBe('仓库（系统自动）')
    expect(personName('zhang')).toBe('zhang')
    expect(personName(null)).toBe('')
  })
})

describe('the recall list as CSV', () => {
  const row: TraceRow = {
    batch_id: 1,
    batch_no: 'B2026',
    code: 'YP007',
    name: '阿莫西林, "胶囊"',
    expiry_date: '2027-01-31',
    quantity: 2,
    patient_name: '=张三',
    visit_number: 'MZ20261128-00001',
    dispensing_number: 'FY20261128-00001',
    dispensing_order_id: 3,
    drug_id: 7,
    dispensed_at: '2026-11-28T02:00:00Z',
    dispensed_by: 'pharmacist',
  }

  it('quotes and defuses fields', () => {
    expect(csvField('a,b')).toBe('"a,b"')
    expect(csvField('say "hi"')).toBe('"say ""hi"""')
    expect(csvField('=1+1')).toBe("'=1+1")
    expect(csvField(null)).toBe('')
    expect(csvField(3)).toBe('3')
  })

  it('has a BOM, a header in the reader language, the hospital time and one line per row', () => {
    const csv = traceCsv([row])
    expect(csv.startsWith('\uFEFF批号,药品编码,药品名称,有效期至,数量,患者,就诊号,发药单号,发药时间,发药人\r\n')).toBe(true)
    expect(csv).toContain('B2026,YP007,"阿莫西林, ""胶囊""",2027-01-31,2,\'=张三,MZ20261128-00001,FY20261128-00001,2026-11-28 10:00:00,pharmacist\r\n')
    expect(csv.split('\r\n')).toHaveLength(3)
    i18n.global.locale.value = 'en'
    expect(traceCsv([]).startsWith('\uFEFFBatch,Drug code')).toBe(true)
  })
})
