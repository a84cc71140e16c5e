import { flushPromises, mount } from '@vue/test-utils'
import ElementPlus from 'element-plus'
import { createPinia, setActivePinia } from 'pinia'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { createMemoryHistory, createRouter } from 'vue-router'

import type { User } from '@/api/auth'
import { i18n } from '@/i18n'
import { useAuthStore } from '@/stores/auth'

import HomePage from './HomePage.vue'

const today = {
  key: 'outpatient-today',
  title: '门诊当天统计',
  filters: { date: '2026-11-24' },
  columns: [
    { key: 'hour', label: '时段', kind: 'text' },
    { key: 'visits', label: '挂号人次', kind: 'count' },
    { key: 'revenue', label: '收入', kind: 'money' },
  ],
  rows: [{ hour: '08:00', visits: 3, revenue: '45.00' }],
  total: { hour: '合计', visits: 3, revenue: '45.00' },
  summary: [],
  chart: { type: 'line', x: 'hour', series: ['revenue', 'visits'] },
  filter_labels: {},
  as_of: null,
}

function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'content-type': status < 400 ? 'application/json' : 'application/problem+json' } })
}

async function home(permissions: string[], answer: (url: string) => Response) {
  const pinia = createPinia()
  setActivePinia(pinia)
  const auth = useAuthStore()
  auth.user = { id: 1, username: 'boss', real_name: '院长', permissions } as unknown as User
  const calls: string[] = []
  vi.stubGlobal('fetch', (url: string) => {
    calls.push(url)
    return Promise.resolve(answer(url))
  })
  const router = createRouter({ history: createMemoryHistory(), routes: [{ path: '/:any(.*)*', component: { template: '<div />' } }] })
  const wrapper = mount(HomePage, { global: { plugins: [pinia, i18n, ElementPlus, router] } })
  await flushPromises()
  await flushPromises()
  return { wrapper, calls }
}

afterEach(() => {
  vi.unstubAllGlobals()
})

describe('the 首页 dashboard', () => {
  it("shows today's visits and revenue, and 暂不可用 for a card whose service does not answer", async () => {
    const { wrapper, calls } = await home(['tms:report:read', 'hms:ward:read', 'system:outbox:read'], (url) => {
      if (url.startsWith('/api/tms/reports/outpatient-today')) return json(today)
      if (url.startsWith('/api/system/outbox')) return json({ items: [], total: 2, page: 1, size: 1 })
      return json({ status: 503, title: 'Service Unavailable' }, 503)
    })
    const card = wrapper.get('[data-testid="dash-today"]')
    expect(card.attributes('data-state')).toBe('ready')
    expect(card.get('[data-testid="dash-today-visits"]').text()).toContain('3')
    expect(card.get('[data-testid="dash-today-revenue"]').text()).toContain('¥45.00')
    expect(wrapper.get('[data-testid="dash-today-link"]').attributes('href')).toBe('/tms/outpatient-today')
    expect(wrapper.get('[data-testid="dash-beds"]').attributes('data-state')).toBe('unavailable')
    expect(wrapper.get('[data-testid="dash-beds-unavailable"]').text()).toBe('暂不可用')
    expect(wrapper.get('[data-testid="dash-outbox-stuck"]').text()).toContain('2')
    expect(calls.some((u) => u.includes('status=rejected'))).toBe(true)
    // The page itself goes on: the welcome is there.
    expect(wrapper.get('[data-testid="welcome"]').text()).toContain('院长')
  })

  it('shows only the cards the user holds the permission of, and asks nothing else', async () => {
    const { wrapper, calls } = await home(['dms:schedule:read'], () => json({ items: [] }))
    expect(wrapper.findAll('.dash-card').map((c) => c.attributes('data-testid'))).toEqual(['dash-roster'])
    expect(calls.every((u) => u.startsWith('/api/dms/schedules'))).toBe(true)
    expect(wrapper.get('[data-testid="dash-roster-shifts"]').text()).toContain('0')
  })
})
