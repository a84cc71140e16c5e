import { describe, expect, it } from 'vitest'

import type { CatalogueModule } from '@/api/system'

import { joinPermissions, splitPermissions } from './permissionTree'
import { grants, hasModule, hasPermission, permissionLabel } from './permissions'

describe('grants', () => {
  it('matches exactly, by `*`, and by a wildcard ending in `:*`', () => {
    expect(grants('dbs:drug:read', 'dbs:drug:read')).toBe(true)
    expect(grants('*', 'oms:visit:write')).toBe(true)
    expect(grants('dbs:*', 'dbs:drug:write')).toBe(true)
    expect(grants('dbs:drug:*', 'dbs:drug:write')).toBe(true)
    expect(grants('dbs:drug:*', 'dbs:drug_type:read')).toBe(false)
    expect(grants('dbs:*', 'dms:schedule:read')).toBe(false)
    expect(grants('dbs:drug:read', 'dbs:drug:write')).toBe(false)
  })

  it('hasPermission and hasModule look through every held permission', () => {
    expect(hasPermission(['oms:visit:read', 'dbs:*'], 'dbs:unit:write')).toBe(true)
    expect(hasPermission([], 'dbs:unit:read')).toBe(false)
    expect(hasModule(['oms:visit:read'], 'oms')).toBe(true)
    expect(hasModule(['oms:visit:read'], 'om')).toBe(false)
    expect(hasModule(['*'], 'pms')).toBe(true)
  })
})

describe('permissionLabel', () => {
  it('names module, resource and action in words, never the string', () => {
    expect(permissionLabel('dbs:doctor:read')).toBe('数据中心 · 医生 · 查看')
    expect(permissionLabel('pms:*')).toBe('药房 · 全部')
    expect(permissionLabel('xyz:thing:fly')).toBe('其他 · 其他 · 其他')
  })
})

const catalogue: CatalogueModule[] = [
  {
    module: 'dbs',
    resources: [
      { key: 'drug', permissions: [{ key: 'dbs:drug:read', action: 'read' }, { key: 'dbs:drug:write', action: 'write' }] },
      { key: 'unit', permissions: [{ key: 'dbs:unit:read', action: 'read' }] },
    ],
  },
]

describe('the role editor: permissions ⇄ boxes', () => {
  it('checks every box a wildcard grants and keeps what is not a box aside', () => {
    expect(splitPermissions(catalogue, ['dbs:*', 'sms:stock:read'])).toEqual({
      checked: ['dbs:drug:read', 'dbs:drug:write', 'dbs:unit:read'],
      extras: ['dbs:*', 'sms:stock:read'],
    })
  })

  it('keeps a wildcard while all its boxes stay checked, and drops it when one is unticked', () => {
    const all = ['dbs:drug:read', 'dbs:drug:write', 'dbs:unit:read']
    expect(joinPermissions(catalogue, all, ['dbs:*', 'sms:stock:read'])).toEqual(['dbs:*', 'sms:stock:read'])
    expect(joinPermissions(catalogue, ['dbs:drug:read', 'dbs:unit:read'], ['dbs:*'])).toEqual(['dbs:drug:read', 'dbs:unit:read'])
  })
})
