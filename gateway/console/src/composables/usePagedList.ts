import { getCurrentInstance, onBeforeUnmount, provide, ref, shallowRef, useTemplateRef, type Ref, type ShallowRef } from 'vue'

import { recordRequest } from '@/api/http'
import type { Page } from '@/resources/types'
import { showError } from '@/utils/errors'
import { EXPORT_SOURCE, type ExportOptions, type ExportSource, type ExportTable } from '@/utils/exports'

export const PAGE_SIZES = [10, 20, 50, 100]

const offering = new WeakSet<object>()

export interface PagedList<T> {
  items: ShallowRef<T[]>
  total: Ref<number>
  page: Ref<number>
  size: Ref<number>
  loading: Ref<boolean>
  /** Reads the current page again (a newer call cancels an older one still running). */
  load: () => Promise<void>
  /** Back to page 1 with the current filters. */
  search: () => void
  onSizeChange: () => void
}

/**
 * The list state of a paged table: `fetch(page, size, signal)` asks the API with the
 * page's own filters. A page past the end (after deletes elsewhere) falls back to the last.
 *
 * It also offers the list to 导出 (components/list/ExportButton.vue, shown by the page's
 * PageHeader): the request the last load sent, with its filters, and the columns of the page's
 * el-table marked `ref="table"`.
 */
export function usePagedList<T>(
  fetch: (page: number, size: number, signal: AbortSignal) => Promise<Page<T>>,
  initialSize = 20,
  exportOptions: ExportOptions = {},
): PagedList<T> {
  const items = shallowRef<T[]>([])
  const total = ref(0)
  const page = ref(1)
  const size = ref(initialSize)
  const loading = ref(false)
  const source: ExportSource = { request: shallowRef(null), table: shallowRef(null), options: exportOptions }
  // The first list of a page is the one its header exports.
  const instance = getCurrentInstance()
  if (instance && !offering.has(instance)) {
    offering.add(instance)
    source.table = useTemplateRef<ExportTable>('table')
    provide(EXPORT_SOURCE, source)
  }
  let inflight: AbortController | null = null

  async function load(): Promise<void> {
    inflight?.abort()
    const controller = new AbortController()
    inflight = controller
    loading.value = true
    try {
      const started = recordRequest(() => fetch(page.value, size.value, controller.signal))
      if (started.request) source.request.value = started.request
      const answer = await started.result
      if (inflight !== controller) return
      if (answer.items.length === 0 && answer.total > 0 && page.value > 1) {
        page.value = Math.max(1, Math.ceil(answer.total / size.value))
        inflight = null
        return load()
      }
      items.value = answer.items
      total.value = answer.total
    } catch (error) {
      if (inflight === controller) showError(error)
    } finally {
      if (inflight === controller) {
        loading.value = false
        inflight = null
      }
    }
  }

  function search(): void {
    page.value = 1
    void load()
  }

  function onSizeChange(): void {
    page.value = 1
    void load()
  }

  onBeforeUnmount(() => inflight?.abort())

  return { items, total, page, size, loading, load, search, onSizeChange }
}
