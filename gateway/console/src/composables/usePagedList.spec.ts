import { mount } from '@vue/test-utils'
import { beforeEach, describe, expect, it, vi } from 'vitest'
import { defineComponent, h, inject, ref } from 'vue'

import { http } from '@/api/http'
import type { Page } from '@/resources/types'
import { EXPORT_SOURCE, type ExportSource } from '@/utils/exports'

import { usePagedList, type PagedList } from './usePagedList'

const showError = vi.hoisted(() => vi.fn())
vi.mock('@/utils/errors', () => ({ showError }))

type Fetch = (page: number, size: number, signal: AbortSignal) => Promise<Page<number>>

/** The composable inside a component, as a page uses it (it aborts on unmount). */
function mountList(fetch: Fetch) {
  let list!: PagedList<number>
  const wrapper = mount(
    defineComponent({
      setup() {
        list = usePagedList(fetch, 10)
        return () => h('div')
      },
    }),
  )
  return { list, wrapper }
}

const page = (items: number[], total: number, p = 1): Page<number> => ({ items, total, page: p, size: 10 })

/** A fetch whose answers the test releases one by one. */
function deferredFetch() {
  const calls: { page: number; signal: AbortSignal; resolve: (p: Page<number>) => void; reject: (e: unknown) => void }[] = []
  const fetch: Fetch = (p, _size, signal) =>
    new Promise((resolve, reject) => calls.push({ page: p, signal, resolve, reject }))
  return { fetch, calls }
}

beforeEach(() => showError.mockReset())

describe('usePagedList', () => {
  it('loads the page asked for with the size, and shows what came back', async () => {
    const fetch = vi.fn<Fetch>().mockResolvedValue(page([1, 2], 12, 2))
    const { list } = mountList(fetch)
    list.page.value = 2
    const loading = list.load()
    expect(list.loading.value).toBe(true)
    await loading
    expect(fetch).toHaveBeenCalledWith(2, 10, expect.any(AbortSignal))
    expect(list.items.value).toEqual([1, 2])
    expect(list.total.value).toBe(12)
    expect(list.loading.value).toBe(false)
  })

  it('falls back to the last page when the page asked for is past the end', async () => {
    const fetch = vi
      .fn<Fetch>()
      .mockResolvedValueOnce(page([], 25, 5))
      .mockResolvedValueOnce(page([21, 22, 23, 24, 25], 25, 3))
    const { list } = mountList(fetch)
    list.page.value = 5
    await list.load()
    expect(fetch.mock.calls.map((c) => c[0])).toEqual([5, 3])
    expect(list.page.value).toBe(3)
    expect(list.items.value).toEqual([21, 22, 23, 24, 25])
  })

  it('keeps an empty first page empty (no endless reload)', async () => {
    const fetch = vi.fn<Fetch>().mockResolvedValue(page([], 0))
    const { list } = mountList(fetch)
    await list.load()
    expect(fetch).toHaveBeenCalledTimes(1)
    expect(list.items.value).toEqual([])
  })

  it('cancels an older request when a newer one starts, and ignores its late answer', async () => {
    const { fetch, calls } = deferredFetch()
    const { list } = mountList(fetch)
    const first = list.load()
    const second = list.load()
    expect(calls[0]!.signal.aborted).toBe(true)
    expect(calls[1]!.signal.aborted).toBe(false)
    calls[1]!.resolve(page([2], 1))
    await second
    calls[0]!.resolve(page([1], 1))
    await first
    expect(list.items.value).toEqual([2])
    expect(list.loading.value).toBe(false)
  })

  it('search and a new page size go back to page 1', async () => {
    const fetch = vi.fn<Fetch>().mockResolvedValue(page([1], 1))
    const { list } = mountList(fetch)
    list.page.value = 4
    list.search()
    expect(list.page.value).toBe(1)
    list.page.value = 3
    list.onSizeChange()
    expect(list.page.value).toBe(1)
    expect(fetch.mock.calls.map((c) => c[0])).toEqual([1, 1])
  })

  it('shows a failure once and stops loading; a cancelled one is not shown', async () => {
    const { fetch, calls } = deferredFetch()
    const { list } = mountList(fetch)
    const failed = list.load()
    calls[0]!.reject(new Error('boom'))
    await failed
    expect(showError).toHaveBeenCalledTimes(1)
    expect(list.loading.value).toBe(false)

    const older = list.load()
    const newer = list.load()
    calls[1]!.reject(new DOMException('aborted', 'AbortError'))
    calls[2]!.resolve(page([], 0))
    await Promise.all([older, newer])
    expect(showError).toHaveBeenCalledTimes(1)
  })

  it('aborts the request in flight when the page goes away', () => {
    const { fetch, calls } = deferredFetch()
    const { list, wrapper } = mountList(fetch)
    void list.load()
    wrapper.unmount()
    expect(calls[0]!.signal.aborted).toBe(true)
  })
})

describe('usePagedList offers the list the page shows to 导出', () => {
  it('exports the shown tab’s list, and none while the page shows a list of another component', async () => {
    vi.stubGlobal('fetch', vi.fn(async () => new Response(JSON.stringify(page([], 0)), { headers: { 'Content-Type': 'application/json' } })))
    const tab = ref<'first' | 'second' | 'other'>('first')
    let offered!: ExportSource
    // A functional header: it reads what the page offers, as PageHeader does.
    const Header = () => {
      offered = inject(EXPORT_SOURCE)!
      return h('div')
    }
    const lists: PagedList<number>[] = []
    mount({
      setup() {
        lists.push(usePagedList(() => http.get<Page<number>>('/api/hms/deposits'), 10, { shown: () => tab.value === 'first' }))
        lists.push(usePagedList(() => http.get<Page<number>>('/api/hms/low-balance'), 10, { table: 'lowTable', shown: () => tab.value === 'second' }))
        return () => h(Header)
      },
    })
    await Promise.all(lists.map((l) => l.load()))
    expect(offered.request.value?.url).toBe('/api/hms/deposits')
    tab.value = 'second'
    expect(offered.request.value?.url).toBe('/api/hms/low-balance')
    tab.value = 'other'
    expect(offered.request.value).toBeNull()
    vi.unstubAllGlobals()
  })
})
