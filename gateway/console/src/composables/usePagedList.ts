import { computed, getCurrentInstance, onBeforeUnmount, provide, ref, shallowRef, useTemplateRef, type Ref, type ShallowRef } from 'vue'

import { recordRequest, type RecordedRequest } from '@/api/http'
import type { Page } from '@/resources/types'
import { showError } from '@/utils/errors'
import { EXPORT_SOURCE, type ExportOptions, type ExportSource, type ExportTable } from '@/utils/exports'

export const PAGE_SIZES = [10, 20, 50, 100]

// The lists each page (component instance) offers to its header's 导出, in the order they were made.
const offered = new WeakMap<object, ExportSource[]>()

/** What the header exports: the first list the page shows now (`shown`); none while it shows none. */
function pageSource(lists: ExportSource[]): ExportSource {
  const current = computed(() => lists.find((l) => l.options.shown?.() ?? true))
  return {
    request: computed(() => current.value?.request.value ?? null),
    table: computed(() => current.value?.table.value ?? null),
    get options() {
      return current.value?.options ?? {}
    },
  }
}

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
  const request = shallowRef<RecordedRequest | null>(null)
  const source: ExportSource = { request, table: shallowRef(null), options: exportOptions }
  const instance = getCurrentInstance()
  if (instance) {
    let lists = offered.get(instance)
    if (!lists) {
      lists = []
      offered.set(instance, lists)
      provide(EXPORT_SOURCE, pageSource(lists))
    }
    // The page's first list reads the table marked ref="table"; another names its own.
    const name = exportOptions.table ?? (lists.length === 0 ? 'table' : null)
    if (name) source.table = useTemplateRef<ExportTable>(name)
    lists.push(source)
  }
  let inflight: AbortController | null = null

  async function load(): Promise<void> {
    inflight?.abort()
    const controller = new AbortController()
    inflight = controller
    loading.value = true
    try {
      const started = recordRequest(() => fetch(page.value, size.value, controller.signal))
      if (started.request) request.value = started.request
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
