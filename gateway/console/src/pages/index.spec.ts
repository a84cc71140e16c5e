import { createPinia, setActivePinia } from 'pinia'
import { describe, expect, it } from 'vitest'

import { REPORT_KEYS } from '@/api/tms'
import { i18n, LOCALES } from '@/i18n'
import { resources } from '@/resources'
import { otherResources } from '@/resources/oms'
import { router } from '@/router'

import { firstPagePath, MODULES_WITH_PAGES, PAGES, pagesOf } from './index'

setActivePinia(createPinia())

describe('the page list', () => {
  it('gives every page one route with its permission and title, and nothing else lists pages', () => {
    for (const page of PAGES) {
      const route = router.resolve(`/${page.module}/${page.path}`)
      expect(route.name, page.path).toBe(`${page.module}-${page.path}`)
      expect(route.meta.permission).toBe(page.permission)
      expect(route.meta.titleKey).toBe(page.title)
      expect(route.meta.module).toBe(page.module)
    }
    const layoutRoutes = router.getRoutes().filter((r) => r.meta.permission)
    expect(layoutRoutes.map((r) => r.name).sort()).toEqual(PAGES.map((p) => `${p.module}-${p.path}`).sort())
  })

  it('has one master-data page per resource, with its read permission', () => {
    expect(pagesOf('dbs').map((p) => p.path)).toEqual(resources.map((r) => r.path))
    expect(pagesOf('dbs').every((p) => p.permission === `dbs:${resources.find((r) => r.path === p.path)!.key}:read`)).toBe(true)
  })

  it('has no path twice in a module', () => {
    const keys = PAGES.map((p) => `${p.module}/${p.path}`)
    expect(new Set(keys).size).toBe(keys.length)
  })

  it('names every page in both languages', () => {
    for (const locale of LOCALES) for (const page of PAGES) expect(i18n.global.te(page.title, locale), `${locale} ${page.title}`).toBe(true)
  })

  it('opens a module at the first page the user may use', () => {
    const can = (held: string[]) => (p: string) => held.includes(p)
    expect(firstPagePath('oms', can(['oms:visit:read']))).toBe('/oms/queue')
    expect(firstPagePath('system', can(['system:session:read']))).toBe('/system/sessions')
    expect(firstPagePath('dbs', can([]))).toBeNull()
    expect(firstPagePath('sms', can(['sms:alert:read']))).toBe('/sms/low-stock')
    expect(firstPagePath('pms', can(['pms:trace:read']))).toBe('/pms/trace')
    expect(firstPagePath('hms', can(['hms:deposit:read']))).toBe('/hms/deposits')
    expect(firstPagePath('tms', can(['tms:feed:read']))).toBe('/tms/feeds')
    expect([...MODULES_WITH_PAGES].sort()).toEqual(['dbs', 'dms', 'hms', 'oms', 'pms', 'sms', 'tms'])
  })

  it('gives a page reached from another (住院详情) a route with its id but no menu item', () => {
    const route = router.resolve('/hms/stays/12')
    expect(route.meta.permission).toBe('hms:admission:read')
    expect(route.params.id).toBe('12')
    expect(pagesOf('hms').map((p) => p.path)).not.toContain('stays/:id')
    expect(router.resolve('/hms/stays').meta.titleKey).toBe('hms.stays.title')
  })
})

describe('the statistics pages', () => {
  it('give each report its own deep link, all served by one page told its key', () => {
    const reports = pagesOf('tms').filter((p) => p.permission === 'tms:report:read')
    expect(reports.map((p) => p.path)).toEqual([...REPORT_KEYS])
    expect(reports.every((p) => (p.props as { reportKey: string }).reportKey === p.path)).toBe(true)
    expect(new Set(reports.map((p) => p.component)).size).toBe(1)
    expect(router.resolve('/tms/doctors?date_from=2026-01-01').meta.titleKey).toBe('statistics.report.doctors')
  })
})

describe('resource texts', () => {
  it('are all vue-i18n keys present in both languages', () => {
    for (const r of [...resources, ...otherResources]) {
      const keys = [r.label, r.itemName, r.searchPlaceholder, r.description]
      for (const f of r.fields) keys.push(f.label, f.hint, ...(f.options ?? []).map((o) => o.label))
      for (const key of keys.filter((k): k is string => Boolean(k))) {
        for (const locale of LOCALES) expect(i18n.global.te(key, locale), `${locale} ${key}`).toBe(true)
      }
    }
  })
})
