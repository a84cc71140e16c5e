import { flushPromises, mount } from '@vue/test-utils'
import ElementPlus from 'element-plus'
import { createPinia, setActivePinia } from 'pinia'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { createMemoryHistory, createRouter } from 'vue-router'

import type { User } from '@/api/auth'
import { i18n } from '@/i18n'
import { useAuthStore } from '@/stores/auth'

import ReportPage from './ReportPage.vue'

const doctors = {
  key: 'doctors',
  title: '医生统计对比',
  filters: { date_from: '2026-11-01', date_to: '2026-11-24', department_id: null, doctor_id: null, method: null, year: null, date: null },
  columns: [
    { key: 'doctor', label: '医生', kind: 'text' },
    { key: 'visits', label: '就诊人次', kind: 'count' },
    { key: 'revenue', label: '收入', kind: 'money' },
    { key: 'share', label: '占比', kind: 'percent' },
  ],
  rows: [
    { doctor: '王医生', visits: 1200, revenue: '12345.5', share: '60.0' },
    { doctor: '李医生', visits: 800, revenue: '8000.00', share: null },
  ],
  total: { doctor: '合计', visits: 2000, revenue: '20345.50', share: null },
  summary: [{ key: 'per_visit', label: '次均', kind: 'money', value: '10.17' }],
  chart: { type: 'bar', x: 'doctor', series: ['revenue', 'visits'] },
  filter_labels: {},
  as_of: '2026-11-24T02:00:00Z',
}

async function open(permissions: string[], path = '/tms/doctors') {
  const pinia = createPinia()
  setActivePinia(pinia)
  useAuthStore().user = { id: 1, username: 'boss', real_name: '院长', permissions } as unknown as User
  const calls: string[] = []
  vi.stubGlobal('fetch', (url: string) => {
    calls.push(url)
    if (url.startsWith('/api/tms/reports/doctors')) return Promise.resolve(new Response(JSON.stringify(doctors), { headers: { 'content-type': 'application/json' } }))
    if (url === '/api/tms/reports')
      return Promise.resolve(new Response(JSON.stringify([{ key: 'doctors', title: '医生统计对比', filters: ['date_from', 'date_to', 'department_id', 'method'] }]), { headers: { 'content-type': 'application/json' } }))
    if (url.startsWith('/api/tms/reports/pharmacy')) return Promise.resolve(new Response('{"status":503}', { status: 503, headers: { 'content-type': 'application/problem+json' } }))
    return Promise.resolve(new Response('{"status":403}', { status: 403, headers: { 'content-type': 'application/problem+json' } }))
  })
  const opened: string[] = []
  vi.stubGlobal('open', () => ({ closed: false, location: { set href(v: string) { opened.push(v) } }, close: () => {} }))
  const router = createRouter({
    history: createMemoryHistory(),
    routes: [{ path: '/tms/:key', component: ReportPage, props: (r) => ({ reportKey: r.params.key }), meta: { module: 'tms' } }],
  })
  await router.push(path)
  const wrapper = mount({ template: '<router-view />' }, { global: { plugins: [pinia, i18n, ElementPlus, router], stubs: { ReportChart: true } }, attachTo: document.body })
  await flushPromises()
  await flushPromises()
  return { wrapper, calls, router }
}

afterEach(() => {
  vi.unstubAllGlobals()
  document.body.innerHTML = ''
})

describe('a report page', () => {
  it('asks for the filters of its deep link and shows the table with its total, summary and filters', async () => {
    const { wrapper, calls } = await open(['tms:report:read'], '/tms/doctors?date_from=2026-11-01&date_to=2026-11-24&doctor_id=7')
    // doctor_id is not a filter of 医生统计对比: not sent.
    expect(calls).toContain('/api/tms/reports/doctors?date_from=2026-11-01&date_to=2026-11-24')
    const text = wrapper.get('[data-testid="report-table"]').text()
    expect(text).toContain('12,345.50')
    expect(text).toContain('60.0%')
    expect(text).toContain('合计')
    expect(text).toContain('20,345.50')
    expect(wrapper.get('[data-testid="summary-per_visit"]').text()).toContain('¥10.17')
    expect(wrapper.find('[data-testid="filter-dates"]').exists()).toBe(true)
    expect(wrapper.find('[data-testid="filter-department"]').exists()).toBe(true)
    expect(wrapper.find('[data-testid="filter-method"]').exists()).toBe(true)
    expect(wrapper.find('[data-testid="filter-doctor"]').exists()).toBe(false)
    expect(wrapper.find('[data-testid="filter-year"]').exists()).toBe(false)
    // Money columns right-aligned, the doctor's name not.
    const header = wrapper.findAll('.el-table__header th')
    expect(header[0]!.classes()).not.toContain('is-right')
    expect(header[2]!.classes()).toContain('is-right')
  })

  it('offers 导出 only with the export permission, and prints what is shown', async () => {
    const reader = await open(['tms:report:read'])
    expect(reader.wrapper.find('[data-testid="report-export"]').exists()).toBe(false)
    await reader.wrapper.get('[data-testid="report-print"]').trigger('click')
    await flushPromises()
    expect(reader.calls).toContain('/api/tms/reports/doctors/pdf?date_from=2026-11-01&date_to=2026-11-24')
    reader.wrapper.unmount()

    const exporter = await open(['tms:report:read', 'tms:data:export'])
    expect(exporter.wrapper.find('[data-testid="report-export"]').exists()).toBe(true)
  })

  it('says the statistics service is unavailable when it does not answer', async () => {
    const { wrapper } = await open(['tms:report:read'], '/tms/pharmacy')
    expect(wrapper.find('[data-testid="report-table"]').exists()).toBe(false)
    expect(wrapper.get('[data-testid="report-error"]').text()).toBe('统计服务暂不可用，请稍后再试')
  })
})
