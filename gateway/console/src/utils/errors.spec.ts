import { afterEach, describe, expect, it } from 'vitest'

import { ApiError, type Problem } from '@/api/http'
import { i18n } from '@/i18n'

import { errorText, fieldErrorsOf, fieldLabel, fieldProblemText } from './errors'

const problem = (extra: Partial<Problem>): ApiError => new ApiError({ status: 422, title: 'Unprocessable', ...extra })

afterEach(() => {
  i18n.global.locale.value = 'zh-CN'
})

describe('fieldLabel', () => {
  it('reads a list path as the row and the field, without the list name', () => {
    expect(fieldLabel('lines.0.quantity')).toBe('第 1 行 · 数量')
    expect(fieldLabel('lines.11.drug_id')).toBe('第 12 行 · 药品')
  })

  it('reads a plain field by its label', () => {
    expect(fieldLabel('department_id')).toBe('科室')
  })

  it("reads the inpatient service's fields, a nested one with its parent", () => {
    expect(fieldLabel('bed_id')).toBe('床位')
    expect(fieldLabel('charge_type_id')).toBe('费别')
    expect(fieldLabel('deposit.amount')).toBe('预交款 · 金额')
    expect(fieldLabel('lines.1.charge_item_id')).toBe('第 2 行 · 收费项目')
    i18n.global.locale.value = 'en'
    expect(fieldLabel('deposit.amount')).toBe('Deposit · Amount')
  })

  it('gives nothing when any part has no label, so no raw path is ever shown', () => {
    expect(fieldLabel('lines.0.no_such_field')).toBeNull()
    expect(fieldLabel('no_such_field')).toBeNull()
    expect(fieldLabel('')).toBeNull()
  })

  it('follows the console language', () => {
    i18n.global.locale.value = 'en'
    expect(fieldLabel('lines.0.quantity')).toBe('Line 1 · Quantity')
  })
})

describe('fieldProblemText', () => {
  it('puts the label before the message, or the message alone', () => {
    expect(fieldProblemText({ field: 'lines.1.quantity', message: '不能小于 1' })).toBe('第 2 行 · 数量：不能小于 1')
    expect(fieldProblemText({ field: 'body.x.y', message: '格式不对' })).toBe('格式不对')
  })
})

describe('errorText', () => {
  it('lists the fields of a validation problem in words instead of the summary', () => {
    const error = problem({
      code: 'validation_failed',
      detail: 'lines.0.quantity: bad',
      errors: [
        { field: 'lines.0.quantity', message: '不能小于 1' },
        { field: 'reason', message: '不能为空' },
      ],
    })
    expect(errorText(error)).toBe('第 1 行 · 数量：不能小于 1；原因：不能为空')
  })

  it('names a missing permission in words, never its string', () => {
    const error = new ApiError({ status: 403, code: 'permission_denied', detail: '没有权限：dbs:drug:read', permission: 'dbs:drug:read' })
    const text = errorText(error)
    expect(text).toBe('没有权限：数据中心 · 药品字典 · 查看')
    expect(text).not.toContain('dbs:')
  })

  it("shows any other problem's detail, then its title, then the status", () => {
    expect(errorText(problem({ status: 409, detail: '名称已存在' }))).toBe('名称已存在')
    expect(errorText(problem({ status: 409, title: 'Conflict' }))).toBe('Conflict')
    expect(errorText(new ApiError({ status: 502 }))).toContain('502')
  })

  it('shows a plain error by its message', () => {
    expect(errorText(new Error('网络不可用'))).toBe('网络不可用')
    expect(errorText('text')).toBe('text')
  })
})

describe('fieldErrorsOf', () => {
  it("maps a refusal's field problems by path for the form items, the first message of each", () => {
    const error = problem({ code: 'validation_failed', errors: [
      { field: 'bed_id', message: '床位不在该科室的病区' },
      { field: 'deposit.amount', message: '须大于 0' },
      { field: 'bed_id', message: 'second' },
    ] })
    expect(fieldErrorsOf(error)).toEqual({ bed_id: '床位不在该科室的病区', 'deposit.amount': '须大于 0' })
    expect(fieldErrorsOf(new Error('x'))).toEqual({})
  })
})
