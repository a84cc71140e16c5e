import { flushPromises, mount } from '@vue/test-utils'
import ElementPlus from 'element-plus'
import { afterEach, describe, expect, it, vi } from 'vitest'

import type { Order } from '@/api/oms'
import { i18n } from '@/i18n'

import OrdersTable from './OrdersTable.vue'

function order(id: number, kind: 'drug' | 'item', state: Order['state']): Order {
  return {
    id, number: `${kind === 'drug' ? 'CF' : 'XM'}20261122-0000${id}`, visit_id: 1, visit_number: 'MZ20261122-00042', kind, state,
    total: '12.50', lines: [], created_by: 'doctor', created_at: '2026-11-22T02:30:00Z', paid_at: null,
  }
}

const ORDERS = [order(1, 'drug', 'paid'), order(2, 'drug', 'cancelled'), order(3, 'item', 'paid')]

function table(printable: boolean) {
  return mount(OrdersTable, { props: { orders: ORDERS, printable }, global: { plugins: [i18n, ElementPlus] }, attachTo: document.body })
}

afterEach(() => {
  vi.unstubAllGlobals()
  document.body.innerHTML = ''
})

describe("a visit's orders", () => {
  it('print the 处方笺 of a live prescription only, fetched with the token into a new tab', async () => {
    const tab = { closed: false, location: { href: '' }, close: () => undefined }
    const calls: string[] = []
    vi.stubGlobal('open', () => tab)
    vi.stubGlobal('URL', Object.assign(URL, { createObjectURL: () => 'blob:prescription', revokeObjectURL: () => undefined }))
    vi.stubGlobal('fetch', (url: string) => {
      calls.push(url)
      return Promise.resolve(new Response('%PDF', { status: 200, headers: { 'content-type': 'application/pdf' } }))
    })
    const wrapper = table(true)
    await flushPromises()
    const buttons = wrapper.findAll('[data-testid="row-print-prescription"]')
    expect(buttons).toHaveLength(1)
    expect(buttons[0].text()).toBe('打印处方')
    await buttons[0].trigger('click')
    await flushPromises()
    expect(calls).toEqual(['/api/oms/orders/1/prescription.pdf'])
    await vi.waitFor(() => expect(tab.location.href).toBe('blob:prescription'))
  })

  it('show no print button where the caller may not read orders', async () => {
    const wrapper = table(false)
    await flushPromises()
    expect(wrapper.findAll('[data-testid="row-print-prescription"]')).toHaveLength(0)
  })
})
